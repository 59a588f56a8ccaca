/* mtd_signin: admin sign-in through the tenant's OpenID Connect provider (authorization
 * code with PKCE; src/oidc/ does the protocol), beside the tokens an admin creates.
 *
 *   GET  /v1/auth/oidc/login?tenant=T[&login_hint=H]  302 to the provider, with state,
 *        nonce and an S256 code challenge, and a cookie binding the sign-in to this
 *        browser; the hash of state and binding, the verifier and the nonce are kept
 *        in the tenant's store for MTD_SIGNIN_PENDING_S, to be taken once, by the
 *        browser that began the sign-in only.
 *   GET  /v1/auth/oidc/callback?state=S&code=C       the code exchanged, the ID token
 *        checked, its role claim mapped; a session made: a token "ses.T.SECRET" of the
 *        mapped role that expires after MTD_SIGNIN_SESSION_S, stored as its hash like
 *        every token, given as the HttpOnly, SameSite=Strict cookie mtd_session (Secure
 *        over TLS); 302 to /console/, or the token in JSON for "Accept:
 *        application/json" (a script's sign-in, to use it as a bearer token).
 *   GET  /v1/auth/oidc/available?tenant=T             {"oidc": true} when T has a
 *        sign-in configured, 404 otherwise (alike for a tenant that does not exist).
 *   POST /v1/auth/oidc/logout                          revokes the session presented.
 *   GET|PUT|DELETE /v1/admin/oidc                      the configuration (admin role).
 *
 * Every failed sign-in (bad or replayed state, the provider's error, a bad signature,
 * audience, nonce or expiry, a role claim that maps to no role) is written to the
 * tenant's audit log with its reason and the client's address (never a code or token),
 * and counted against the client's address and tenant: past MTD_SIGNIN_FAILS_CLIENT
 * from one address for one tenant in MTD_SIGNIN_WINDOW_S, its sign-ins there are
 * answered 429 with Retry-After until the window ends. A successful sign-in clears its
 * address's count. The tenant has no limit of its own, which would let anyone lock its
 * admins out; past MTD_SIGNIN_AUDIT_TENANT failures of the tenant in a window, the rest
 * are refused as ever but not audited one by one. */
#ifndef MTD_SIGNIN_H
#define MTD_SIGNIN_H

#include "collector/mtd_admin_console.h"
#include "collector/mtd_collector.h"

#define MTD_SIGNIN_PENDING_S 600
#define MTD_SIGNIN_SESSION_S (8 * 3600)
#define MTD_SIGNIN_WINDOW_S 300
#define MTD_SIGNIN_FAILS_CLIENT 10
#define MTD_SIGNIN_AUDIT_TENANT 100

typedef struct mtd_signin mtd_signin;
int mtd_signin_create(mtd_signin **out);
void mtd_signin_destroy(mtd_signin *s);

void mtd_handle_signin(mtd_collector *c, mtd_req *rq, mtd_resp *rs);
/* Its /metrics series: mtd_signin_total{result="ok|failed|limited"}. */
void mtd_signin_render(mtd_signin *s, mtd_buf *out);
/* The admin routes of the configuration: 1 when sub is one (answered), else 0. */
int mtd_signin_admin_route(mtd_collector *c, const mtd_admin_ctx *x, const char *sub);

#endif
