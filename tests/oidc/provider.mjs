// The OpenID Connect provider tests/e2e/test_oidc.sh signs in against: the certified
// oidc-provider package on a loopback port, with the collector registered as a client.
//
//   node provider.mjs PORT COLLECTOR_URL
//
// Sign-in pages are replaced by one that signs in the user named by the request's
// login_hint (or, for a request naming none, the user GET /test/user?u=U chose) at once
// (alice: groups mtd-admins; carol: mtd-analysts; bob: staff, which openmtd maps to
// nothing), so curl or a browser can drive the whole code flow with redirects.
// GET /test/mode?m=M makes the next token answers hostile, the way a broken or forged
// provider would be: tamper (a bit of the ID token's signature flipped), aud (re-signed
// with the provider's own key for another audience), expired (re-signed, exp passed),
// none (alg none, unsigned); m=ok restores it. Prints "ready" once listening.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const [port, collector] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (kp, kid, alg) => ({ ...kp.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });

const users = {
  alice: ['mtd-admins', 'staff'],
  carol: ['mtd-analysts'],
  bob: ['staff'],
};

const redirect = `${collector}/v1/auth/oidc/callback`;
const provider = new Provider(issuer, {
  clients: [
    { client_id: 'openmtd', client_secret: 'openmtd-test-secret', redirect_uris: [redirect],
      grant_types: ['authorization_code'], response_types: ['code'] },
    { client_id: 'openmtd-es', client_secret: 'openmtd-es-secret', redirect_uris: [redirect],
      grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256' },
  ],
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  jwks: { keys: [jwk(rsa, 'rsa-1', 'RS256'), jwk(ec, 'ec-1', 'ES256')] },
  claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false, // the groups claim in the ID token itself, not only at userinfo
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    if (!users[id]) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true, groups: users[id] }),
    };
  },
  async loadExistingGrant(ctx) { // first-party: consent is given with the sign-in
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

let mode = 'ok';
let fallbackUser = null;
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function resign(idt, change) {
  const [h, p] = idt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = change(JSON.parse(Buffer.from(p, 'base64url')));
  if (header.alg === 'none') return `${b64(header)}.${b64(claims)}.`;
  const input = `${b64(header)}.${b64(claims)}`;
  const key = header.alg === 'ES256' ? { key: ec.privateKey, dsaEncoding: 'ieee-p1363' } : rsa.privateKey;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}
function hostile(idt) {
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'tamper') {
    const sig = Buffer.from(idt.split('.')[2], 'base64url');
    sig[10] ^= 1;
    return idt.split('.').slice(0, 2).join('.') + '.' + sig.toString('base64url');
  }
  if (mode === 'aud') return resign(idt, (c) => ({ ...c, aud: 'someone-else', azp: undefined }));
  if (mode === 'expired') return resign(idt, (c) => ({ ...c, iat: now - 7200, exp: now - 3600 }));
  if (mode === 'none') {
    const [, p] = idt.split('.');
    return `${b64({ alg: 'none' })}.${p}.`;
  }
  return idt;
}
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token && mode !== 'ok')
    ctx.body = { ...ctx.body, id_token: hostile(ctx.body.id_token) };
});

const app = provider.callback();
http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/test/mode') {
      mode = url.searchParams.get('m');
      res.end(`mode ${mode}\n`);
      return;
    }
    if (url.pathname === '/test/user') { // who signs in when the request names nobody
      fallbackUser = url.searchParams.get('u');
      res.end(`user ${fallbackUser}\n`);
      return;
    }
    const m = url.pathname.match(/^\/interaction\/([\w-]+)$/);
    if (m) {
      const details = await provider.interactionDetails(req, res);
      const login = details.params.login_hint || fallbackUser;
      if (!users[login]) {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'no such user' });
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      return;
    }
    app(req, res);
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
