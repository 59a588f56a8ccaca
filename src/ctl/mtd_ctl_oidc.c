/* mtd_ctl_oidc: mtdctl's OpenID Connect sign-in of the tenant: set, show, remove
 * (collector: collector/mtd_signin.c, GET|PUT|DELETE /v1/admin/oidc). */
#include "common/mtd_err.h"
#include "ctl/mtd_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --role-map VALUE=ROLE[,VALUE=ROLE...] as {VALUE: ROLE}; NULL with why. */
static json_t *role_map(const char *s, char *why, size_t wl)
{
    json_t *m = json_object();
    char *copy = strdup(s), *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(p, '=');
        if (!eq || eq == p || !eq[1]) {
            snprintf(why, wl, "--role-map: \"%.100s\" is not VALUE=ROLE", p);
            json_decref(m);
            free(copy);
            return NULL;
        }
        *eq = 0;
        json_object_set_new(m, p, json_string(eq + 1));
    }
    free(copy);
    if (!json_object_size(m)) {
        snprintf(why, wl, "--role-map needs VALUE=ROLE[,VALUE=ROLE...]");
        json_decref(m);
        return NULL;
    }
    return m;
}

static int show(mtd_ctl *c, json_t *j, const char *what)
{
    if (c->json)
        return mtd_ctl_print(c, j, NULL, NULL, 0);
    printf("%sissuer        %s\nclient_id     %s\nclient_secret %s\nrole_claim    %s\nscope         %s\n"
           "redirect_uri  %s\n", what,
           json_string_value(json_object_get(j, "issuer")), json_string_value(json_object_get(j, "client_id")),
           json_is_true(json_object_get(j, "client_secret_set")) ? "(set)" : "(none: a public client, PKCE alone)",
           json_string_value(json_object_get(j, "role_claim")), json_string_value(json_object_get(j, "scope")),
           json_string_value(json_object_get(j, "redirect_uri")) ?: "(the collector's /v1/auth/oidc/callback)");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j, "role_map"), k, v) printf("role_map      %s -> %s\n", k,
                                                                      json_string_value(v));
    json_decref(j);
    return 0;
}

static int set(mtd_ctl *c)
{
    const char *iss = mtd_args_get(&c->a, "--issuer"), *id = mtd_args_get(&c->a, "--client-id");
    const char *claim = mtd_args_get(&c->a, "--role-claim"), *map = mtd_args_get(&c->a, "--role-map");
    char why[300];
    if (!iss || !id || !claim || !map)
        return mtd_ctl_fail("oidc set needs --issuer URL --client-id ID --role-claim CLAIM --role-map VALUE=ROLE,...");
    json_t *m = role_map(map, why, sizeof why);
    if (!m)
        return mtd_ctl_fail(why);
    json_t *b = json_pack("{s:s,s:s,s:s,s:o,s:s?,s:s?,s:s?}", "issuer", iss, "client_id", id, "role_claim", claim,
                          "role_map", m, "client_secret", mtd_args_get(&c->a, "--client-secret"), "redirect_uri",
                          mtd_args_get(&c->a, "--redirect-uri"), "scope", mtd_args_get(&c->a, "--scope"));
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    json_t *j;
    int r = mtd_ctl_call(c, "PUT", "/v1/admin/oidc", body, &j);
    free(body);
    return r ? r : show(c, j, "OpenID Connect sign-in set:\n");
}

int mtd_ctl_oidc(mtd_ctl *c, int np, const char **pos)
{
    json_t *j;
    if (strcmp(pos[0], "oidc"))
        return -1;
    if (np == 2 && !strcmp(pos[1], "set"))
        return set(c);
    if (np == 2 && !strcmp(pos[1], "show"))
        return mtd_ctl_call(c, "GET", "/v1/admin/oidc", NULL, &j) ? 1 : show(c, j, "");
    if (np == 2 && !strcmp(pos[1], "remove")) {
        if (mtd_ctl_call(c, "DELETE", "/v1/admin/oidc", NULL, &j))
            return 1;
        if (c->json)
            return mtd_ctl_print(c, j, NULL, NULL, 0);
        printf("OpenID Connect sign-in removed; %lld session(s) signed in through it revoked\n",
               (long long)json_integer_value(json_object_get(j, "sessions_revoked")));
        json_decref(j);
        return 0;
    }
    return mtd_ctl_fail("oidc needs set, show or remove");
}
