// Bundles the console for the collector, which serves BUILD/console at /console:
// hashed file names under assets/ (cached for good), nothing inlined into the page
// (the Content-Security-Policy allows no inline script or style), and a gzip copy of
// each text file beside it (NAME.gz), which the collector sends to browsers that
// accept it.
import { defineConfig } from 'vite';
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

function gzipFiles() {
  let outDir;
  const walk = (dir) => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  return {
    name: 'openmtd-gzip',
    configResolved(c) { outDir = c.build.outDir; },
    closeBundle() {
      for (const f of walk(outDir)) {
        if (!/\.(html|js|css|svg|json|txt)$/.test(f)) continue;
        const gz = gzipSync(readFileSync(f), { level: constants.Z_BEST_COMPRESSION });
        writeFileSync(f + '.gz', gz);
      }
    },
  };
}

export default defineConfig({
  base: '/console/',
  plugins: [gzipFiles()],
  build: {
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2020',
    reportCompressedSize: false,
  },
});
