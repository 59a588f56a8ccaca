#!/usr/bin/env bash
# bench_scan: the app scanner against the peers a malware analyst would use, on the
# same files in the same run (issue 16).
#   1. Indicators: 1,000 APKs built by aapt (each with its own classes.dex) and 100,000
#      SHA-256 indicators (100 of them true: 50 APK digests and 50 dex digests), through
#      `mtd-agent scan --indicators` and through `clamscan` with the same digests as a
#      .hsb signature database (clamscan also unpacks the APKs to hash their entries).
#      The detections must be identical (the same APKs); reported: files/s of each, and
#      the ratio (target: at least 5).
#   2. YARA: one rule set (91 rules: strings, hex with jumps, regular expressions)
#      through `mtd-agent scan --rules` over the APKs and through the `yara` command over
#      the same entries extracted to files; the matches must be identical. Reported: the
#      agent's time over unzip + yara (target: at most 1.10), over yara alone, and the
#      agent's own split (inflating, libyara), since yara alone skips decompressing.
# Every tool runs on one thread (`yara -p 1`, clamscan is single-threaded); medians of 3.
set -euo pipefail
BIN=${MTD_BIN:?}
N=${MTD_BENCH_APKS:-1000}
W=$(mktemp -d /tmp/mtd-bench-scan.XXXXXX)
trap 'rm -rf "$W"' EXIT
FW=/usr/share/android-framework-res/framework-res.apk
SRC=$(cd "$(dirname "$0")/.." && pwd)
for t in aapt clamscan yara python3; do
    command -v $t >/dev/null || { echo "bench_scan: $t is not installed (scripts/install-deps)"; exit 1; }
done

# the APKs: a manifest and a dex of ~48 KiB whose strings differ per app
mkdir -p "$W/apks" "$W/src"
python3 - "$W/src" "$N" "$SRC/tests/tools" <<'PY'
import os, random, sys
sys.path.insert(0, sys.argv[3])
from mkdex import mkdex
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(16)
words = ["Lcom/app/C%d;" % i for i in range(400)]
for i in range(1, n + 1):
    d = os.path.join(out, str(i), "raw")
    os.makedirs(d)
    strs = rnd.sample(words, 200) + ["app-%d-%s" % (i, "".join(rnd.choice("abcdef0123456789") for _ in range(40))) for _ in range(800)]
    if i % 97 == 0:
        strs.append("OPENMTD-BENCH-MARKER")
    open(os.path.join(d, "classes.dex"), "wb").write(mkdex(strs))
    open(os.path.join(out, str(i), "AndroidManifest.xml"), "w").write(
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.bench.scan%d" '
        'android:versionCode="%d" android:versionName="1.%d"><uses-sdk android:minSdkVersion="21" '
        'android:targetSdkVersion="33"/><uses-permission android:name="android.permission.INTERNET"/>'
        '<application/></manifest>' % (i, i, i))
PY
for i in $(seq 1 "$N"); do
    aapt package -f -M "$W/src/$i/AndroidManifest.xml" -I "$FW" -F "$W/apks/app$i.apk" "$W/src/$i/raw" >/dev/null
done

# 100,000 indicators: 50 APK digests, 50 dex digests, the rest random; and the same as
# ClamAV hash signatures (digest:size:name; a random one gets a size no file has)
python3 - "$W" "$N" <<'PY'
import hashlib, os, random, sys, zipfile
w, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
apks = sorted(os.listdir(os.path.join(w, "apks")))
picks = rnd.sample(range(n), 100)
lines, sigs, want = [], [], set()
for k, i in enumerate(picks):
    p = os.path.join(w, "apks", apks[i])
    if k < 50:
        data = open(p, "rb").read()
    else:
        data = zipfile.ZipFile(p).read("classes.dex")
    h = hashlib.sha256(data).hexdigest()
    lines.append(h)
    sigs.append("%s:%d:Bench.Hit%d" % (h, len(data), k))
    want.add(p)
while len(lines) < 100000:
    h = "%064x" % rnd.getrandbits(256)
    lines.append(h)
    sigs.append("%s:%d:Bench.Rnd" % (h, 7 + rnd.randrange(1000)))
rnd.shuffle(lines)
open(os.path.join(w, "iocs.txt"), "w").write("\n".join(lines) + "\n")
open(os.path.join(w, "iocs.hsb"), "w").write("\n".join(sigs) + "\n")
open(os.path.join(w, "want"), "w").write("\n".join(sorted(want)) + "\n")
PY

median() { local v; mapfile -t v < <(sort -n); echo "${v[$(( ${#v[@]} / 2 ))]}"; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
ours() { "$BIN/mtd-agent" scan --no-heuristics --indicators "$W/iocs.txt" --json "$W/apks" >"$W/ours.jsonl"; }
clam() { clamscan --no-summary --infected --database="$W/iocs.hsb" -r "$W/apks" >"$W/clam.txt" 2>/dev/null; }
t_ours=$(for r in 1 2 3; do ms ours; done | median)
t_clam=$(for r in 1 2 3; do ms clam; done | median)
jq -r .path "$W/ours.jsonl" | sort -u >"$W/a"
sed -n 's/: .* FOUND$//p' "$W/clam.txt" | sort -u >"$W/b"
if ! diff -q "$W/a" "$W/b" >/dev/null || ! diff -q "$W/a" "$W/want" >/dev/null; then
    echo "bench_scan: detections differ (ours, clamscan, expected):"; wc -l "$W/a" "$W/b" "$W/want"; diff "$W/a" "$W/b" | head -5; exit 1
fi
fps() { awk -v n="$N" -v t="$1" 'BEGIN { printf "%.0f", n / (t / 1000) }'; }
ratio=$(awk -v a="$t_clam" -v b="$t_ours" 'BEGIN { printf "%.1f", a / b }')
echo "scan: $N APKs against 100,000 SHA-256 indicators: mtd-agent scan $(fps "$t_ours") files/s ($t_ours ms), clamscan with a .hsb database $(fps "$t_clam") files/s ($t_clam ms), medians of 3; $(wc -l <"$W/a") identical detections; ${ratio}x clamscan (target >= 5x)"

# YARA: the same rules over the same dex files, in the APKs and extracted
python3 - "$W/rules.yar" <<'PY'
import random, sys
rnd = random.Random(3)
out = []
for i in range(60):
    s = "".join(rnd.choice("abcdef0123456789") for _ in range(12))
    out.append('rule Str%d { strings: $a = "%s" $b = "Lcom/none/X%d;" condition: any of them }' % (i, s, i))
for i in range(20):
    h = " ".join("%02x" % rnd.randrange(256) for _ in range(6))
    out.append("rule Hex%d { strings: $h = { %s ?? ?? %02x } condition: $h }" % (i, h, rnd.randrange(256)))
for i in range(10):
    out.append('rule Re%d { strings: $r = /app-%d[0-9a-f]{5}z/ condition: $r }' % (i, i))
out.append('rule BenchMarker { strings: $m = "OPENMTD-BENCH-MARKER" condition: $m and uint32(0) == 0x0a786564 }')
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
# the peer's entries: unzipped with Python's zipfile (zlib, like the agent), timed too
extract() {
    rm -rf "$W/dex"; mkdir -p "$W/dex"
    python3 - "$W/apks" "$W/dex" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1:3]
for f in os.listdir(src):
    with zipfile.ZipFile(os.path.join(src, f)) as z:
        open(os.path.join(dst, f[:-4] + ".dex"), "wb").write(z.read("classes.dex"))
PY
}
ours_y() { "$BIN/mtd-agent" scan --no-heuristics --rules "$W/rules.yar" --stats --json "$W/apks" >"$W/oy.jsonl" 2>"$W/oy.err"; }
yara_y() { yara -p 1 -f "$W/rules.yar" -r "$W/dex" >"$W/yy.txt"; }
t_ex=$(for r in 1 2 3; do ms extract; done | median)
t_oy=$(for r in 1 2 3; do ms ours_y; done | median)
t_yy=$(for r in 1 2 3; do ms yara_y; done | median)
# the agent's own split of its last run: time inflating, time in libyara
split=$(sed -n 's/.*(\([0-9.]*\) ms inflating, \([0-9.]*\) ms in libyara).*/\1 \2/p' "$W/oy.err")
jq -r '"\(.rule | sub("^yara.rules.yar."; "")) \(.path | split("/") | last | sub(".apk$"; ""))"' "$W/oy.jsonl" | sort >"$W/ya"
awk '{ n = split($2, p, "/"); sub(".dex$", "", p[n]); print $1, p[n] }' "$W/yy.txt" | sort >"$W/yb"
if ! diff -q "$W/ya" "$W/yb" >/dev/null || [ ! -s "$W/ya" ]; then
    echo "bench_scan: YARA matches differ:"; wc -l "$W/ya" "$W/yb"; diff "$W/ya" "$W/yb" | head -5; exit 1
fi
r2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "scan: YARA, $(grep -c . "$W/rules.yar") rules over $N dex files, $(wc -l <"$W/ya") identical matches (medians of 3):" \
     "mtd-agent scan $t_oy ms from the APKs; yara -p 1 over the extracted files $t_yy ms, unzipping them (Python zipfile) $t_ex ms"
read -r t_inf t_lib <<<"$split"
echo "scan: YARA: mtd-agent / (unzip + yara) $(r2 "$t_oy" $((t_ex + t_yy)))x (target <= 1.10); mtd-agent / yara alone $(r2 "$t_oy" "$t_yy")x;" \
     "in the agent's last run ${t_inf} ms inflating and ${t_lib} ms in libyara: libyara through the agent / the yara command $(r2 "$t_lib" "$t_yy")x"
