/* mtd_host: read this Linux host's device information and raw device identifier. */
#include "collect/mtd_host.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "privacy/mtd_ident.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

const mtd_host_roots mtd_host_default_roots = {"/sys", "/etc", "/proc"};

/* Value of KEY= in an os-release file, unquoted. */
static int os_release(const char *etc, const char *key, char *out, size_t outlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/os-release", etc);
    uint8_t *data;
    size_t len;
    if (mtd_file_read(path, 1 << 16, &data, &len) != 0)
        return MTD_ENOENT;
    int r = MTD_ENOENT;
    size_t kl = strlen(key);
    for (char *line = strtok((char *)data, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, key, kl) != 0 || line[kl] != '=')
            continue;
        char *v = line + kl + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = 0;
            v++;
        }
        mtd_strlcpy(out, v, outlen);
        r = 0;
        break;
    }
    free(data);
    return r;
}

static void set_if(json_t *o, const char *key, const char *val)
{
    if (val && val[0])
        json_object_set_new(o, key, json_string(val));
}

/* DMI attributes hold placeholders on many boards; those are not a model. */
static int dmi_placeholder(const char *s)
{
    static const char *bad[] = {"To Be Filled By O.E.M.", "Default string", "System Product Name",
                                "System manufacturer", "Not Specified", "None", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!strcmp(s, bad[i]))
            return 1;
    return 0;
}

static void dmi(const mtd_host_roots *r, json_t *o, const char *key, const char *attr)
{
    char path[512], v[256];
    snprintf(path, sizeof path, "%s/class/dmi/id/%s", r->sys_root, attr);
    if (mtd_file_read_line(path, v, sizeof v) == 0 && !dmi_placeholder(v))
        set_if(o, key, v);
}

/* "model name" of the first CPU and the number of logical CPUs. */
static void cpu_info(const mtd_host_roots *r, json_t *o)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cpuinfo", r->proc_root);
    uint8_t *data;
    size_t len;
    if (mtd_file_read(path, 4 << 20, &data, &len) != 0)
        return;
    char model[256] = "";
    int n = 0, virt = 0;
    for (char *line = strtok((char *)data, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "processor", 9))
            n++;
        if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
            virt = 1;
        const char *colon = strchr(line, ':');
        if (!model[0] && colon && (!strncmp(line, "model name", 10) || !strncmp(line, "Hardware", 8)))
            mtd_strlcpy(model, colon + 2 <= line + strlen(line) ? colon + 2 : "", sizeof model);
    }
    free(data);
    if (model[0]) {
        char both[300];
        snprintf(both, sizeof both, "%s (%d logical CPUs)", model, n);
        set_if(o, "cpu", both);
    }
    /* A guest without DMI tables (e.g. a microVM) has no model to read; the CPU's
     * hypervisor flag still says truthfully what kind of machine it is. */
    if (virt && !json_object_get(o, "model"))
        set_if(o, "model", "Virtual machine (no DMI data)");
}

json_t *mtd_host_device_info(const mtd_host_roots *r)
{
    json_t *o = json_object();
    char v[256];
    if (os_release(r->etc_root, "NAME", v, sizeof v) == 0)
        set_if(o, "os_name", v);
    if (os_release(r->etc_root, "VERSION_ID", v, sizeof v) == 0 ||
        os_release(r->etc_root, "VERSION", v, sizeof v) == 0)
        set_if(o, "os_version", v);
    if (os_release(r->etc_root, "PRETTY_NAME", v, sizeof v) == 0)
        set_if(o, "build", v);
    struct utsname u;
    if (uname(&u) == 0) {
        set_if(o, "kernel", u.release);
        if (!json_object_get(o, "os_name"))
            set_if(o, "os_name", u.sysname);
    }
    dmi(r, o, "manufacturer", "sys_vendor");
    dmi(r, o, "model", "product_name");
    char path[512];
    snprintf(path, sizeof path, "%s/device-tree/model", r->proc_root);
    if (!json_object_get(o, "model") && mtd_file_read_line(path, v, sizeof v) == 0)
        set_if(o, "model", v); /* ARM boards describe themselves here */
    cpu_info(r, o);
    return o;
}

static int zero_mac(const char *m)
{
    return strspn(m, "0:") == strlen(m);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* MAC of the first non-loopback interface by name that has a real address. */
static int first_mac(const mtd_host_roots *r, char *out, size_t outlen)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/class/net", r->sys_root);
    DIR *d = opendir(dir);
    if (!d)
        return MTD_ENOENT;
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "lo") != 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    int rc = MTD_ENOENT;
    for (size_t i = 0; i < n; i++) {
        char path[1024], mac[64];
        snprintf(path, sizeof path, "%s/%s/address", dir, names[i]);
        if (rc != 0 && mtd_file_read_line(path, mac, sizeof mac) == 0 && strlen(mac) == 17 &&
            !zero_mac(mac) && mtd_ident_mac(mac, out, outlen) == 0) /* "aabbccddeeff" */
            rc = 0;
        free(names[i]);
    }
    return rc;
}

static int guid(const char *state_dir, char *out, size_t outlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/device.guid", state_dir);
    if (mtd_file_read_line(path, out, outlen) == 0 && strlen(out) == 36)
        return 0;
    uint8_t b[16];
    int r = mtd_random(b, sizeof b);
    if (r)
        return r;
    b[6] = (b[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
    b[8] = (b[8] & 0x3f) | 0x80;
    char hex[33];
    mtd_hex(b, 16, hex);
    snprintf(out, outlen, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    char line[40];
    snprintf(line, sizeof line, "%s\n", out);
    return mtd_file_write_atomic(path, line, strlen(line), 0600);
}

int mtd_host_device_identifier(const mtd_host_roots *r, const char *state_dir, char *raw,
                               size_t rawlen, const char **source)
{
    if (first_mac(r, raw, rawlen) == 0) {
        *source = "mac";
        return 0;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/machine-id", r->etc_root);
    if (mtd_file_read_line(path, raw, rawlen) == 0 && strlen(raw) == 32) {
        *source = "android_id";
        return 0;
    }
    *source = "guid";
    return guid(state_dir, raw, rawlen);
}
