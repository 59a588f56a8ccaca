/* cmd_enroll: `mtd-agent enroll`: an enrollment token traded for the tenant key and the
 * policy, the device and user identities pseudonymized with that key, and then a device
 * credential bound by the collector to those pseudonyms. Only pseudonyms are sent and
 * written to the state directory. */
#include "agent/mtd_agent.h"
#include "usage/mtd_actions.h"
#include "android/mtd_snapshot.h"
#include "collect/mtd_host.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "ios/mtd_ios.h"
#include "privacy/mtd_ident.h"
#include "uplink/mtd_uplink.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static int pseudo_opt(const mtd_state *st, const char *purpose, const char *raw, char *out)
{
    char why[200];
    if (!raw || !raw[0]) {
        out[0] = 0;
        return 0;
    }
    return mtd_ident_pseudo(&st->key, purpose, raw, strlen(raw), out, why, sizeof why);
}

/* --user and --device-id, refused before anything is asked of the collector: an empty
 * one, a UPN that is not one (mtd_ident_upn), an ID with a control character. */
static int check_identities(const mtd_args *a)
{
    const char *user = mtd_args_get(a, "--user"), *dev = mtd_args_get(a, "--device-id");
    char norm[MTD_UPN_MAX + 1], why[200];
    if (user && mtd_ident_upn(user, norm, sizeof norm, why, sizeof why) != 0)
        return mtd_agent_fail("enroll --user: %s", why);
    if (dev && (!dev[0] || strlen(dev) > 512))
        return mtd_agent_fail("enroll --device-id: a directory device ID must be 1 to 512 bytes");
    for (const unsigned char *p = (const unsigned char *)(dev ? dev : ""); *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return mtd_agent_fail("enroll --device-id: a directory device ID may not hold a control character");
    return 0;
}

/* Enrolling over an enrolled state directory: said, and the stored identities are kept
 * unless replaced on purpose. A different --user needs --replace-user (a device handed
 * to another person); without --user the stored user stays. Within the same tenant the
 * device keeps its pseudonym, so it stays one device in the reports (also across the
 * normalization of MAC addresses, mtd_ident.h). old is the state found, or NULL. */
static int check_reenroll(const mtd_args *a, const mtd_state *old)
{
    if (!old)
        return 0;
    const char *user = mtd_args_get(a, "--user");
    char ps[MTD_PSEUDO_LEN + 1];
    if (user && old->upn[0] && !mtd_args_has(a, "--replace-user") &&
        (pseudo_opt(old, "upn", user, ps) != 0 || strcmp(ps, old->upn) != 0))
        return mtd_agent_fail("enroll: %s is enrolled for another user; add --replace-user to replace"
                              " the stored user, or leave --user out to keep it", old->dir);
    return 0;
}

/* After the collector answered: what of the old state carries over. */
static void carry_over(mtd_state *st, const mtd_state *old, const mtd_args *a)
{
    if (!old)
        return;
    if (strcmp(old->tenant_id, st->tenant_id) != 0) {
        if (old->upn[0] && !mtd_args_get(a, "--user"))
            fprintf(stderr, "mtd-agent: warning: the stored user belongs to tenant %s and cannot be"
                            " kept in tenant %s; enrolled without a user (give --user)\n",
                    old->tenant_id, st->tenant_id);
        return;
    }
    mtd_strlcpy(st->device_id, old->device_id, sizeof st->device_id);
    mtd_strlcpy(st->device_id_source, old->device_id_source, sizeof st->device_id_source);
    if (!mtd_args_get(a, "--user"))
        mtd_strlcpy(st->upn, old->upn, sizeof st->upn);
    if (!mtd_args_get(a, "--device-id"))
        mtd_strlcpy(st->dir_device_id, old->dir_device_id, sizeof st->dir_device_id);
    if (old->upn[0])
        fprintf(stderr, "mtd-agent: %s the stored user\n",
                mtd_args_get(a, "--user") && strcmp(st->upn, old->upn) ? "replaced" : "kept");
}

/* Fills the state from the collector's first answer (GET /v1/enroll): the key the
 * pseudonyms are made with. */
static int adopt(mtd_state *st, json_t *resp, char *why, size_t wl)
{
    const char *tid = json_string_value(json_object_get(resp, "tenant_id"));
    const char *key = json_string_value(json_object_get(resp, "tenant_key"));
    const char *org = json_string_value(json_object_get(resp, "org_id"));
    if (!tid || !key || mtd_tenant_key_from_hex(&st->key, key) != 0) {
        snprintf(why, wl, "enrollment answer lacks tenant_id or a valid tenant_key");
        return MTD_EPROTO;
    }
    mtd_strlcpy(st->tenant_id, tid, sizeof st->tenant_id);
    mtd_strlcpy(st->org_id, org ? org : "", sizeof st->org_id);
    mtd_policy_default(&st->policy);
    json_t *p = json_object_get(resp, "policy");
    return p ? mtd_policy_from_json(&st->policy, p, why, wl) : 0;
}

/* POST /v1/enroll: a credential bound to the device's pseudonyms, which only then
 * exist (they are made with the tenant key the first answer carried). */
static int bind_credential(mtd_state *st, const mtd_state *old, const char *token, const char *ca_file,
                           const char *pin, char *why, size_t wl)
{
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "device_id", st->device_id, "upn", st->upn,
                             "dir_device_id", st->dir_device_id, "org_id", st->org_id), *resp = NULL;
    /* enrolling this state again: its credential, which the new one replaces */
    if (old && !strcmp(old->tenant_id, st->tenant_id) && !strcmp(old->device_id, st->device_id) && old->credential[0])
        json_object_set_new(body, "credential", json_string(old->credential));
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int r = txt ? mtd_uplink_enroll(st->server, token, ca_file, pin, txt, &resp, why, wl) : MTD_ENOMEM;
    free(txt);
    if (r)
        return r;
    const char *cred = json_string_value(json_object_get(resp, "device_credential"));
    if (!cred) {
        snprintf(why, wl, "enrollment answer lacks device_credential");
        r = MTD_EPROTO;
    } else {
        mtd_strlcpy(st->credential, cred, sizeof st->credential);
    }
    json_decref(resp);
    return r;
}

/* The raw identifier: the snapshot's Android ID or the iOS device's Wi-Fi MAC, or
 * this host's MAC or machine-id, or a GUID kept in the state directory. */
static int device_identifier(const mtd_state *st, const char *dir, char *raw, size_t len,
                             const char **source)
{
    static const mtd_host_roots none = {"/nonexistent", "/nonexistent", "/nonexistent"};
    if (st->ios_backup[0]) {
        mtd_ios_backup b;
        char why[600];
        int have = mtd_ios_open(st->ios_backup, &b, why, sizeof why) == 0 && b.wifi_mac[0];
        if (have) {
            snprintf(raw, len, "%s", b.wifi_mac);
            *source = "mac";
        }
        mtd_ios_close(&b); /* open clears b first, so this holds on failure too */
        /* no MAC in the backup: a GUID of this agent, never the host's own MAC */
        return have ? 0 : mtd_host_device_identifier(&none, dir, raw, len, source);
    }
    if (!st->android_root[0])
        return mtd_host_device_identifier(&mtd_host_default_roots, dir, raw, len, source);
    mtd_snapshot snap;
    char why[300];
    if (mtd_snapshot_open(st->android_root, &snap, why, sizeof why) == 0) {
        int have = snap.android_id[0] != 0;
        if (have)
            snprintf(raw, len, "%s", snap.android_id);
        mtd_snapshot_close(&snap);
        if (have) {
            *source = "android_id";
            return 0;
        }
    }
    /* no ID in the snapshot: a GUID of this agent, never the host's own MAC */
    return mtd_host_device_identifier(&none, dir, raw, len, source);
}

int mtd_cmd_enroll(int argc, char **argv)
{
    static const mtd_optspec specs[] = {
        {"--state", MTD_ARG_ONE}, {"--server", MTD_ARG_ONE}, {"--token", MTD_ARG_ONE},
        {"--user", MTD_ARG_ONE}, {"--device-id", MTD_ARG_ONE}, {"--ca-file", MTD_ARG_ONE},
        {"--pin", MTD_ARG_ONE}, {"--android-root", MTD_ARG_ONE}, {"--ios-backup", MTD_ARG_ONE},
        {"--replace-user", MTD_ARG_FLAG},
        {NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    const char *dir = mtd_args_get(&a, "--state"), *server = mtd_args_get(&a, "--server");
    const char *token = mtd_args_get(&a, "--token"), *ca = mtd_args_get(&a, "--ca-file");
    if (!dir || !server || !token)
        return mtd_agent_fail("enroll needs --state DIR, --server URL and --token TOKEN");
    if (a.npos)
        return mtd_agent_fail("enroll: unexpected argument \"%s\"", a.pos[0]);
    if (strncmp(server, "http://", 7) && strncmp(server, "https://", 8))
        return mtd_agent_fail("--server %s: expected an http:// or https:// URL", server);
    mtd_state st = {0};
    char why[512], raw[256];
    int r;
    mtd_strlcpy(st.dir, dir, sizeof st.dir);
    mtd_strlcpy(st.server, server, sizeof st.server);
    while (strlen(st.server) && st.server[strlen(st.server) - 1] == '/')
        st.server[strlen(st.server) - 1] = 0;
    if (ca && mtd_file_read_line(ca, raw, sizeof raw) != 0)
        return mtd_agent_fail("--ca-file %s: cannot read it", ca);
    mtd_strlcpy(st.ca_file, ca ? ca : "", sizeof st.ca_file);
    mtd_strlcpy(st.pin_sha256, mtd_args_get(&a, "--pin") ?: "", sizeof st.pin_sha256);
    mtd_strlcpy(st.android_root, mtd_args_get(&a, "--android-root") ?: "", sizeof st.android_root);
    struct stat sb;
    if (st.android_root[0] && (stat(st.android_root, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return mtd_agent_fail("--android-root %s: not a directory", st.android_root);
    const char *ios = mtd_args_get(&a, "--ios-backup");
    char ios_abs[PATH_MAX];
    /* kept absolute: `run` may start from another directory */
    mtd_strlcpy(st.ios_backup, ios ? (realpath(ios, ios_abs) ? ios_abs : ios) : "", sizeof st.ios_backup);
    if (st.ios_backup[0] && st.android_root[0])
        return mtd_agent_fail("enroll takes --android-root or --ios-backup, not both");
    if (st.ios_backup[0]) { /* a backup that cannot be read is refused before enrolling */
        mtd_ios_backup b;
        if (mtd_ios_open(st.ios_backup, &b, why, sizeof why) != 0)
            return mtd_agent_fail("enroll: %s", why);
        mtd_ios_close(&b);
    }
    if (check_identities(&a))
        return 1;
    mtd_state prev;
    char pwhy[512];
    const mtd_state *old = mtd_state_load(dir, &prev, pwhy, sizeof pwhy) == 0 ? &prev : NULL;
    if (check_reenroll(&a, old))
        return 1;
    if ((r = mtd_mkdir_p(dir, 0700)) != 0)
        return mtd_agent_fail("--state %s: cannot create the directory: %s", dir, mtd_strerror(r));
    if (access(dir, W_OK | X_OK) != 0) /* before the token is spent on a state never written */
        return mtd_agent_fail("--state %s: %s", dir, mtd_strerror(mtd_errno_code(errno)));
    if (old) /* said once nothing can refuse it any more but the collector */
        fprintf(stderr, "mtd-agent: warning: %s is already enrolled (tenant %s, device %s); enrolling again\n",
                old->dir, old->tenant_id, old->device_id);
    json_t *resp = NULL;
    const char *ca_file = st.ca_file[0] ? st.ca_file : NULL, *pin = st.pin_sha256[0] ? st.pin_sha256 : NULL;
    r = mtd_uplink_enroll(st.server, token, ca_file, pin, NULL, &resp, why, sizeof why);
    if (r == 0)
        r = adopt(&st, resp, why, sizeof why);
    json_decref(resp);
    if (r)
        return mtd_agent_fail("enroll: %s", why);
    const char *source;
    if (device_identifier(&st, dir, raw, sizeof raw, &source) != 0)
        return mtd_agent_fail("enroll: no device identifier could be read or created");
    mtd_strlcpy(st.device_id_source, source, sizeof st.device_id_source);
    if (pseudo_opt(&st, "device", raw, st.device_id) || pseudo_opt(&st, "upn", mtd_args_get(&a, "--user"), st.upn) ||
        pseudo_opt(&st, "dir_device", mtd_args_get(&a, "--device-id"), st.dir_device_id))
        return mtd_agent_fail("enroll: an identifier is too long to pseudonymize");
    memset(raw, 0, sizeof raw);
    carry_over(&st, old, &a);
    if ((r = bind_credential(&st, old, token, ca_file, pin, why, sizeof why)) != 0)
        return mtd_agent_fail("enroll: %s", why);
    if ((r = mtd_state_save(&st)) != 0)
        return mtd_agent_fail("enroll: cannot write the state in %s: %s", dir, mtd_strerror(r));
    mtd_actions_record(st.dir, MTD_ACTION_ENROLL);
    printf("enrolled in tenant %s as device %s (identifier from %s)\n", st.tenant_id,
           st.device_id, st.device_id_source);
    return 0;
}
