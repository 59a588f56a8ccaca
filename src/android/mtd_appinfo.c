/* mtd_appinfo: mmap an APK and read it with the ZIP, AXML, ARSC and signature readers. */
#include "android/mtd_appinfo.h"
#include "android/mtd_apkzip.h"
#include "android/mtd_resources.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_APK ((uint64_t)4 << 30)

static int read_manifest(const mtd_apkzip *z, mtd_appinfo *a, char *why, size_t wl)
{
    const mtd_apkzip_entry *e = mtd_apkzip_find(z, "AndroidManifest.xml");
    if (!e) {
        snprintf(why, wl, "no AndroidManifest.xml");
        return MTD_EINVAL;
    }
    uint8_t *d;
    size_t n;
    int r = mtd_apkzip_extract(z, e, &d, &n, why, wl);
    if (r)
        return r;
    r = mtd_binxml_manifest(d, n, &a->m, why, wl);
    free(d);
    if (r || !a->m.version_name_ref)
        return r;
    /* versionName="@string/..." : resolve it as the platform would */
    const mtd_apkzip_entry *rs = mtd_apkzip_find(z, "resources.arsc");
    if (rs && mtd_apkzip_extract(z, rs, &d, &n, why, wl) == 0) {
        char w2[200];
        a->m.version_name = mtd_res_string(d, n, a->m.version_name_ref, w2, sizeof w2);
        free(d);
    }
    return 0;
}

int mtd_appinfo_parse(const uint8_t *buf, size_t len, mtd_appinfo *a, char *why, size_t wl)
{
    memset(a, 0, sizeof *a);
    a->size = len;
    mtd_sha256_hex(buf, len, a->sha256);
    mtd_apkzip z;
    int r = mtd_apkzip_open(&z, buf, len, why, wl);
    if (r)
        return r;
    a->anomalies = z.anomalies;
    memcpy(a->anomaly_detail, z.anomaly_detail, sizeof a->anomaly_detail);
    r = read_manifest(&z, a, why, wl);
    if (r == 0)
        mtd_apksign_read(&z, &a->sig);
    mtd_apkzip_close(&z);
    if (r)
        mtd_appinfo_free(a);
    return r;
}

int mtd_appinfo_map(const char *path, const uint8_t **buf, size_t *len, char *why, size_t wl)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, wl, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? MTD_ENOENT : MTD_EIO;
    }
    struct stat st;
    int r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? 0 : MTD_EINVAL;
    if (r == 0 && ((uint64_t)st.st_size > MAX_APK || st.st_size == 0))
        r = st.st_size ? MTD_ETOOBIG : MTD_ETRUNC;
    void *map = r ? MAP_FAILED : mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (r == 0 && map == MAP_FAILED)
        r = MTD_EIO;
    if (r) {
        snprintf(why, wl, "%s: %s", path, r == MTD_ETRUNC ? "empty file" : r == MTD_ETOOBIG ? "larger than 4 GiB"
                                          : r == MTD_EIO ? strerror(errno) : "not a regular file");
        return r;
    }
    *buf = map;
    *len = (size_t)st.st_size;
    return 0;
}

void mtd_appinfo_unmap(const uint8_t *buf, size_t len)
{
    if (buf)
        munmap((void *)buf, len);
}

int mtd_appinfo_read(const char *path, mtd_appinfo *a, char *why, size_t wl)
{
    memset(a, 0, sizeof *a);
    const uint8_t *buf;
    size_t len;
    int r = mtd_appinfo_map(path, &buf, &len, why, wl);
    if (r)
        return r;
    char inner[300] = "";
    r = mtd_appinfo_parse(buf, len, a, inner, sizeof inner);
    mtd_appinfo_unmap(buf, len);
    if (r)
        snprintf(why, wl, "%s: %s", path, inner);
    return r;
}

void mtd_appinfo_free(mtd_appinfo *a)
{
    mtd_manifest_free(&a->m);
}

static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

json_t *mtd_appinfo_json(const mtd_appinfo *a, const char *apk_path)
{
    json_t *perms = json_array(), *signers = json_array(), *schemes = json_array();
    for (size_t i = 0; i < a->m.nperms; i++)
        json_array_append_new(perms, json_string(a->m.perms[i]));
    for (int i = 0; i < a->sig.nsigners; i++)
        json_array_append_new(signers, json_string(a->sig.signer_sha256[i]));
    if (a->sig.v1) json_array_append_new(schemes, json_string("v1"));
    if (a->sig.v2) json_array_append_new(schemes, json_string("v2"));
    if (a->sig.v3) json_array_append_new(schemes, json_string("v3"));
    if (a->sig.v31) json_array_append_new(schemes, json_string("v3.1"));
    /* Android: an absent targetSdkVersion means the minSdkVersion */
    int target = a->m.target_sdk >= 0 ? a->m.target_sdk : a->m.min_sdk;
    json_t *o = json_object();
    json_object_set_new(o, "package", json_string(a->m.package));
    json_object_set_new(o, "version_code", int_or_null(a->m.version_code));
    json_object_set_new(o, "version_name", a->m.version_name ? json_string(a->m.version_name) : json_null());
    json_object_set_new(o, "min_sdk", int_or_null(a->m.min_sdk));
    json_object_set_new(o, "target_sdk", int_or_null(target));
    json_object_set_new(o, "permissions", perms);
    json_object_set_new(o, "apk_path", json_string(apk_path));
    json_object_set_new(o, "apk_size", json_integer((json_int_t)a->size));
    json_object_set_new(o, "apk_sha256", json_string(a->sha256));
    json_object_set_new(o, "signer_sha256", signers);
    json_object_set_new(o, "signature_schemes", schemes);
    json_object_set_new(o, "signature_verified",
                        a->sig.verified < 0 ? json_null() : json_boolean(a->sig.verified == 1));
    json_object_set_new(o, "install_source", json_null());
    json_object_set_new(o, "first_install_time", json_null());
    json_object_set_new(o, "last_update_time", json_null());
    json_object_set_new(o, "is_system", json_false());
    json_t *an = json_array();
    static const char *names[] = {"prefix_data", "duplicate_entry", "local_header_mismatch",
                                  "overlapping_entries", "data_before_end_record"};
    for (int b = 0; b < 5; b++)
        if (a->anomalies & (1u << b))
            json_array_append_new(an, json_string(names[b]));
    if (a->sig.duplicate_blocks)
        json_array_append_new(an, json_string("duplicate_signing_block"));
    json_object_set_new(o, "zip_anomalies", an);
    return o;
}
