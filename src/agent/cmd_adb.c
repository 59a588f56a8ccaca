/* cmd_adb: `mtd-agent adb-pull DIR`: build a snapshot directory (DESIGN.md section 2)
 * from the device connected over adb, with Debian's adb. What a device without root
 * refuses (packages.xml and friends) is left out and reported, never invented; the
 * APKs are pulled from the paths `pm list packages -f` gives. The dumpsys services,
 * settings and root-binary probe the posture checks read are pulled too. */
#include "agent/mtd_agent.h"
#include "common/mtd_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

/* Runs an adb command line (arguments already quoted), stdout to out_path (or not). */
static int adb(const char *args, const char *out_path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "adb %s %s%s 2>/dev/null", args, out_path ? "> " : "", out_path ? out_path : "");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int connected_devices(void)
{
    FILE *f = popen("adb devices 2>/dev/null", "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\tdevice"))
            n++;
    return pclose(f) == 0 ? n : -1;
}

/* Pulls every APK that pm list names, into DIR at its device path. */
static int pull_apks(const char *dir, const char *pmlist, int *pulled)
{
    FILE *f = fopen(pmlist, "r");
    char line[4096];
    *pulled = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "package:", 8))
            continue;
        char *eq = strrchr(line + 8, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *path = line + 8;
        if (path[0] != '/' || strstr(path, "..") || strpbrk(path, "'\"`$\\"))
            continue; /* only plain absolute paths reach the shell */
        char local[4200], parent[4200], args[8600];
        snprintf(local, sizeof local, "%s%s", dir, path);
        snprintf(parent, sizeof parent, "%s", local);
        *strrchr(parent, '/') = 0;
        mtd_mkdir_p(parent, 0700);
        snprintf(args, sizeof args, "pull '%s' '%s'", path, local);
        if (adb(args, "/dev/null") == 0)
            (*pulled)++;
    }
    if (f)
        fclose(f);
    return 0;
}

/* root_binaries.json as AndroidQF writes it: the paths `command -v` finds for the
 * names of root binaries, a JSON array. */
static int root_binaries(const char *dir)
{
    char tmp[4200], out[4200];
    snprintf(tmp, sizeof tmp, "%s/.root_binaries.txt", dir);
    snprintf(out, sizeof out, "%s/root_binaries.json", dir);
    if (adb("shell 'for n in su busybox supersu daemonsu magisk magiskhide magiskinit magiskpolicy"
            " ksud apd Superuser.apk SuperSu.apk KingoUser.apk; do command -v $n; done; true'", tmp) != 0)
        return -1;
    FILE *f = fopen(tmp, "r");
    json_t *a = json_array();
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '/')
            json_array_append_new(a, json_string(line));
    }
    if (f)
        fclose(f);
    unlink(tmp);
    char *s = json_dumps(a, JSON_INDENT(4));
    json_decref(a);
    int r = s ? mtd_file_write_atomic(out, s, strlen(s), 0600) : -1;
    free(s);
    return r;
}

int mtd_cmd_adb_pull(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos != 1)
        return mtd_agent_fail("adb-pull needs the snapshot directory to create");
    const char *dir = a.pos[0];
    if (system("command -v adb >/dev/null 2>&1") != 0)
        return mtd_agent_fail("adb-pull: adb is not installed (Debian package adb)");
    int n = connected_devices();
    if (n <= 0)
        return mtd_agent_fail("adb-pull: no Android device is connected (adb devices lists none"
                              " ready; check USB debugging and authorization)");
    if (n > 1)
        return mtd_agent_fail("adb-pull: %d devices are connected; set ANDROID_SERIAL to choose one", n);
    if (mtd_mkdir_p(dir, 0700) != 0)
        return mtd_agent_fail("adb-pull: cannot create %s", dir);
    char p[4096], missing[1024] = "";
    static const struct { const char *args, *file; } outs[] = {
        {"shell getprop", "getprop.txt"},
        {"shell pm list packages -f -i -U", "pm_list_packages.txt"},
        {"shell dumpsys package", "dumpsys_package.txt"},
        /* what the posture checks read (mtd-agent posture) */
        {"shell dumpsys adb", "dumpsys_adb.txt"},
        {"shell dumpsys accessibility", "dumpsys_accessibility.txt"},
        {"shell settings list global", "settings_global.txt"},
        {"shell settings list secure", "settings_secure.txt"},
        {"shell getenforce", "getenforce.txt"},
    };
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, outs[i].file);
        if (adb(outs[i].args, p) != 0)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s", outs[i].file);
    }
    static const char *files[] = {"/data/system/packages.xml", "/data/system/users/0/package-restrictions.xml",
                                  "/data/system/users/0/runtime-permissions.xml"};
    for (size_t i = 0; i < 3; i++) {
        char local[4096], args[8300];
        snprintf(local, sizeof local, "%s%s", dir, files[i]);
        snprintf(p, sizeof p, "%s", local);
        *strrchr(p, '/') = 0;
        mtd_mkdir_p(p, 0700);
        snprintf(args, sizeof args, "pull '%s' '%s'", files[i], local);
        if (adb(args, "/dev/null") != 0) /* needs root on a production device */
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s", files[i]);
    }
    if (root_binaries(dir) != 0)
        snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " root_binaries.json");
    int pulled = 0;
    snprintf(p, sizeof p, "%s/pm_list_packages.txt", dir);
    pull_apks(dir, p, &pulled);
    printf("snapshot in %s: %d APKs%s%s\n", dir, pulled, missing[0] ? "; not available:" : "", missing);
    return 0;
}
