/* mtd_oidc_cfg: a tenant's OpenID Connect configuration, checked whole when an admin
 * sets it (mtd_oidc.h), and the mapping of an ID token's role claim. */
#include "oidc/mtd_oidc.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int mtd_oidc_url_ok(const char *url)
{
    if (!strncmp(url, "https://", 8))
        return url[8] != 0 && mtd_text_is_plain(url) && !strchr(url, ' ');
    static const char *const loop[] = {"http://127.0.0.1", "http://[::1]", "http://localhost"};
    for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++) {
        size_t n = strlen(loop[i]);
        if (!strncmp(url, loop[i], n) && (url[n] == 0 || url[n] == ':' || url[n] == '/'))
            return mtd_text_is_plain(url) && !strchr(url, ' ');
    }
    return 0;
}

/* A string member of at most max-1 bytes, without control characters, into out;
 * required or not. */
static int text_member(const json_t *j, const char *name, int required, char *out, size_t max, char *why,
                       size_t wl)
{
    json_t *v = json_object_get(j, name);
    out[0] = 0;
    if ((!v || json_is_null(v)) && !required)
        return 0;
    const char *s = json_string_value(v);
    if (!s || !s[0] || strlen(s) >= max || !mtd_text_is_plain(s)) {
        snprintf(why, wl, "\"%s\" must be a string of 1 to %zu bytes without control characters", name, max - 1);
        return MTD_EINVAL;
    }
    snprintf(out, max, "%s", s);
    return 0;
}

/* 1 when the space-separated scope holds "openid". */
static int has_openid(const char *scope)
{
    for (const char *p = scope; (p = strstr(p, "openid")) != NULL; p += 6)
        if ((p == scope || p[-1] == ' ') && (p[6] == 0 || p[6] == ' '))
            return 1;
    return 0;
}

static int read_map(const json_t *m, mtd_oidc_cfg *c, char *why, size_t wl)
{
    const char *k;
    json_t *v;
    if (!json_is_object(m) || json_object_size(m) == 0 || json_object_size(m) > MTD_OIDC_ROLE_MAP_MAX) {
        snprintf(why, wl, "\"role_map\" must be an object of 1 to %d VALUE: ROLE pairs", MTD_OIDC_ROLE_MAP_MAX);
        return MTD_EINVAL;
    }
    c->nmap = 0;
    json_object_foreach((json_t *)m, k, v) {
        mtd_oidc_role_rule *r = &c->map[c->nmap];
        const char *role = json_string_value(v);
        if (!k[0] || strlen(k) >= sizeof r->value || !mtd_text_is_plain(k)) {
            snprintf(why, wl, "a \"role_map\" value must be 1 to %zu bytes without control characters",
                     sizeof r->value - 1);
            return MTD_EINVAL;
        }
        if (!role || mtd_role_parse(role, &r->role) != 0 || r->role == MTD_ROLE_ENROLL) {
            snprintf(why, wl, "\"role_map\" maps \"%.100s\" to %s; the roles are admin, analyst and privacy", k,
                     role ? "an unknown role" : "a non-string");
            return MTD_EINVAL;
        }
        snprintf(r->value, sizeof r->value, "%s", k);
        c->nmap++;
    }
    return 0;
}

int mtd_oidc_cfg_parse(const json_t *j, mtd_oidc_cfg *c, char *why, size_t wl)
{
    memset(c, 0, sizeof *c);
    int r;
    if (!json_is_object(j)) {
        snprintf(why, wl, "the OIDC configuration must be a JSON object");
        return MTD_EINVAL;
    }
    if ((r = text_member(j, "issuer", 1, c->issuer, sizeof c->issuer, why, wl)) != 0 ||
        (r = text_member(j, "client_id", 1, c->client_id, sizeof c->client_id, why, wl)) != 0 ||
        (r = text_member(j, "client_secret", 0, c->client_secret, sizeof c->client_secret, why, wl)) != 0 ||
        (r = text_member(j, "role_claim", 1, c->role_claim, sizeof c->role_claim, why, wl)) != 0 ||
        (r = text_member(j, "redirect_uri", 0, c->redirect_uri, sizeof c->redirect_uri, why, wl)) != 0 ||
        (r = text_member(j, "scope", 0, c->scope, sizeof c->scope, why, wl)) != 0)
        return r;
    if (!c->scope[0])
        snprintf(c->scope, sizeof c->scope, "%s", MTD_OIDC_SCOPE);
    if (!has_openid(c->scope)) {
        snprintf(why, wl, "\"scope\" must hold openid (an OpenID Connect sign-in asks for it)");
        return MTD_EINVAL;
    }
    if (!mtd_oidc_url_ok(c->issuer) || (c->redirect_uri[0] && !mtd_oidc_url_ok(c->redirect_uri))) {
        snprintf(why, wl, "\"%s\" must be an https:// URL (http:// only to a loopback address)",
                 mtd_oidc_url_ok(c->issuer) ? "redirect_uri" : "issuer");
        return MTD_EINVAL;
    }
    return read_map(json_object_get(j, "role_map"), c, why, wl);
}

static json_t *map_json(const mtd_oidc_cfg *c)
{
    json_t *m = json_object();
    for (int i = 0; i < c->nmap; i++)
        json_object_set_new(m, c->map[i].value, json_string(mtd_role_name(c->map[i].role)));
    return m;
}

json_t *mtd_oidc_cfg_json(const mtd_oidc_cfg *c)
{
    json_t *j = mtd_oidc_cfg_public(c);
    json_object_del(j, "client_secret_set");
    if (c->client_secret[0])
        json_object_set_new(j, "client_secret", json_string(c->client_secret));
    if (!c->redirect_uri[0])
        json_object_del(j, "redirect_uri");
    return j;
}

json_t *mtd_oidc_cfg_public(const mtd_oidc_cfg *c)
{
    return json_pack("{s:s,s:s,s:b,s:s,s:o,s:s?,s:s}", "issuer", c->issuer, "client_id", c->client_id,
                     "client_secret_set", c->client_secret[0] != 0, "role_claim", c->role_claim, "role_map",
                     map_json(c), "redirect_uri", c->redirect_uri[0] ? c->redirect_uri : NULL, "scope", c->scope);
}

/* Lower is stronger. */
static int strength(mtd_role r)
{
    return r == MTD_ROLE_ADMIN ? 0 : r == MTD_ROLE_PRIVACY ? 1 : 2;
}

static int map_one(const mtd_oidc_cfg *c, const char *v, mtd_role *best, int found)
{
    for (int i = 0; v && i < c->nmap; i++)
        if (!strcmp(c->map[i].value, v) && (!found++ || strength(c->map[i].role) < strength(*best)))
            *best = c->map[i].role;
    return found;
}

/* The claim of that name; else, when the name has dots, the value at that path of
 * objects (Keycloak's realm_access.roles). A name is tried whole first: some
 * providers' claim names are URLs, dots and all. */
static json_t *claim_at(const json_t *claims, const char *name)
{
    json_t *v = json_object_get(claims, name);
    char part[128];
    for (const char *p = name; !v && p && *p;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        if (!(claims = json_object_get(claims, part)))
            return NULL;
        if (!dot)
            return (json_t *)claims;
        p = dot + 1;
    }
    return v;
}

int mtd_oidc_map_role(const mtd_oidc_cfg *c, const json_t *claims, mtd_role *role, char *why, size_t wl)
{
    json_t *v = claim_at(claims, c->role_claim), *e;
    int found = 0;
    size_t i;
    if (json_is_string(v))
        found = map_one(c, json_string_value(v), role, 0);
    else if (json_is_array(v))
        json_array_foreach(v, i, e) found = map_one(c, json_string_value(e), role, found);
    if (found)
        return 0;
    snprintf(why, wl, v ? "no value of the token's \"%s\" claim is mapped to a role"
                        : "the token has no \"%s\" claim to map to a role", c->role_claim);
    return MTD_EPERM;
}
