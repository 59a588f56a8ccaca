/* mtd_state: load and save the agent's state directory. */
#include "agent/mtd_state.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void mtd_state_path(const mtd_state *st, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", st->dir, name);
}

static const struct {
    const char *key;
    size_t off, len;
} str_fields[] = {
#define S(f) {#f, offsetof(mtd_state, f), sizeof(((mtd_state *)0)->f)}
    S(server), S(ca_file), S(pin_sha256), S(tenant_id), S(org_id), S(device_id),
    S(device_id_source), S(dir_device_id), S(dir_user_id), S(upn), S(android_root),
    S(ios_backup),
#undef S
};

static json_t *load_json(const mtd_state *st, const char *name, char *why, size_t wl, int *rc)
{
    char path[1200];
    mtd_state_path(st, name, path, sizeof path);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) {
        struct stat sb;
        *rc = stat(path, &sb) != 0 ? MTD_ENOENT : MTD_ECORRUPT;
        snprintf(why, wl, "%s: %s", path, *rc == MTD_ENOENT ? "missing" : e.text);
    }
    return j;
}

static int load_secrets(mtd_state *st, char *why, size_t wl)
{
    char path[1200], hex[80];
    mtd_state_path(st, "credential", path, sizeof path);
    if (mtd_file_read_line(path, st->credential, sizeof st->credential) != 0) {
        snprintf(why, wl, "%s: missing or unreadable", path);
        return MTD_ENOENT;
    }
    mtd_state_path(st, "tenant.key", path, sizeof path);
    if (mtd_file_read_line(path, hex, sizeof hex) != 0 || mtd_tenant_key_from_hex(&st->key, hex) != 0) {
        snprintf(why, wl, "%s: missing or not a 64-hex-digit key", path);
        return MTD_ECORRUPT;
    }
    return 0;
}

int mtd_state_load(const char *dir, mtd_state *st, char *why, size_t whylen)
{
    memset(st, 0, sizeof *st);
    if (mtd_strlcpy(st->dir, dir, sizeof st->dir) != 0) {
        snprintf(why, whylen, "state directory path too long");
        return MTD_EINVAL;
    }
    int rc = 0;
    json_t *a = load_json(st, "agent.json", why, whylen, &rc);
    if (!a) {
        if (rc == MTD_ENOENT)
            snprintf(why, whylen, "%s is not enrolled (run mtd-agent enroll first)", dir);
        return rc;
    }
    for (size_t i = 0; i < sizeof str_fields / sizeof str_fields[0]; i++) {
        const char *v = json_string_value(json_object_get(a, str_fields[i].key));
        if (v)
            mtd_strlcpy((char *)st + str_fields[i].off, v, str_fields[i].len);
    }
    json_decref(a);
    if ((rc = load_secrets(st, why, whylen)) != 0)
        return rc;
    mtd_policy_default(&st->policy);
    json_t *p = load_json(st, "policy.json", why, whylen, &rc);
    if (p) {
        rc = mtd_policy_from_json(&st->policy, p, why, whylen);
        json_decref(p);
        if (rc)
            return rc;
    }
    json_t *c = load_json(st, "consent.json", why, whylen, &rc);
    st->consent = c && !strcmp(json_string_value(json_object_get(c, "state")) ?: "", "granted");
    json_decref(c);
    why[0] = 0;
    return 0;
}

static int save_json(const mtd_state *st, const char *name, json_t *j)
{
    char path[1200];
    mtd_state_path(st, name, path, sizeof path);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    if (!s)
        return MTD_ENOMEM;
    int r = mtd_file_write_atomic(path, s, strlen(s), 0600);
    free(s);
    return r;
}

int mtd_state_save(const mtd_state *st)
{
    int r;
    if ((r = mtd_mkdir_p(st->dir, 0700)) != 0)
        return r;
    chmod(st->dir, 0700);
    json_t *a = json_object();
    for (size_t i = 0; i < sizeof str_fields / sizeof str_fields[0]; i++) {
        const char *v = (const char *)st + str_fields[i].off;
        if (v[0])
            json_object_set_new(a, str_fields[i].key, json_string(v));
    }
    if ((r = save_json(st, "agent.json", a)) != 0)
        return r;
    char path[1200], line[160];
    mtd_state_path(st, "credential", path, sizeof path);
    snprintf(line, sizeof line, "%s\n", st->credential);
    if ((r = mtd_file_write_atomic(path, line, strlen(line), 0600)) != 0)
        return r;
    char hex[65];
    mtd_tenant_key_to_hex(&st->key, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    mtd_state_path(st, "tenant.key", path, sizeof path);
    if ((r = mtd_file_write_atomic(path, line, strlen(line), 0600)) != 0)
        return r;
    return mtd_state_save_policy(st);
}

int mtd_state_save_policy(const mtd_state *st)
{
    return save_json(st, "policy.json", mtd_policy_to_json(&st->policy));
}

int mtd_state_save_consent(const mtd_state *st)
{
    char t[MTD_TIME_LEN];
    mtd_time_now_rfc3339(t);
    return save_json(st, "consent.json",
                     json_pack("{s:s,s:s}", "state", st->consent ? "granted" : "revoked", "time", t));
}

void mtd_state_gate_ctx(const mtd_state *st, mtd_gate_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->key = st->key;
    mtd_strlcpy(ctx->tenant_id, st->tenant_id, sizeof ctx->tenant_id);
    mtd_strlcpy(ctx->org_id, st->org_id, sizeof ctx->org_id);
    mtd_strlcpy(ctx->device_id, st->device_id, sizeof ctx->device_id);
    mtd_strlcpy(ctx->dir_device_id, st->dir_device_id, sizeof ctx->dir_device_id);
    mtd_strlcpy(ctx->dir_user_id, st->dir_user_id, sizeof ctx->dir_user_id);
    mtd_strlcpy(ctx->upn, st->upn, sizeof ctx->upn);
    ctx->policy = st->policy;
    ctx->consent = st->consent;
}
