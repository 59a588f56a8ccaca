/* cmd_ios: `mtd-agent ios-pull DIR`: an iOS snapshot (see ios/mtd_ios.h) made from the
 * device connected over USB with Debian's libimobiledevice tools, the way adb-pull
 * does for Android: DIR/ideviceinfo.plist (ideviceinfo -x: the lockdown values, with
 * the Wi-Fi MAC), DIR/backup/<device>/ (idevicebackup2 backup) and DIR/crashes/
 * (idevicecrashreport -k: copied, left on the device). The tools run without a shell
 * (fork and exec), so no part of DIR is ever interpreted. The snapshot stays on this
 * machine; the agent reads it like any backup, and only what the gate lets through is
 * ever sent. */
#include "agent/mtd_agent.h"
#include "common/mtd_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv[0] (looked up in PATH), stdout to out_path (NULL: discarded), stderr
 * discarded. Returns its exit status, or -1 when it could not run. */
static int run_tool(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_RDWR);
        if (out < 0 || null < 0)
            _exit(127);
        dup2(null, 0);
        dup2(out, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The UDIDs idevice_id lists (0 when none, or when usbmuxd is not even running). */
static int connected_devices(const char *tmp)
{
    char *argv[] = {"idevice_id", "-l", NULL};
    if (run_tool(argv, tmp) != 0)
        return 0;
    FILE *f = fopen(tmp, "r");
    char line[256];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strlen(line) > 20; /* a UDID is 25 or 40 characters */
    if (f)
        fclose(f);
    unlink(tmp);
    return n;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

int mtd_cmd_ios_pull(int argc, char **argv)
{
    static const mtd_optspec specs[] = {{NULL, 0}};
    mtd_args a;
    if (mtd_agent_args(argc, argv, specs, &a))
        return 1;
    if (a.npos != 1)
        return mtd_agent_fail("ios-pull needs the snapshot directory to create");
    const char *dir = a.pos[0];
    char *probe[] = {"ideviceinfo", "--help", NULL};
    int pr = run_tool(probe, NULL);
    if (pr < 0 || pr == 127)
        return mtd_agent_fail("ios-pull: ideviceinfo is not installed (Debian package libimobiledevice-utils)");
    char tmp[] = "/tmp/mtd-idevice.XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0)
        return mtd_agent_fail("ios-pull: cannot create a temporary file");
    close(fd);
    int n = connected_devices(tmp);
    unlink(tmp);
    if (n == 0)
        return mtd_agent_fail("ios-pull: no iOS device is connected (idevice_id -l lists none;"
                              " connect it by USB, unlock it and trust this computer)");
    if (n > 1)
        return mtd_agent_fail("ios-pull: %d iOS devices are connected; leave one connected", n);
    char p[4200], backup[4200], crashes[4200], missing[256] = "";
    snprintf(backup, sizeof backup, "%s/backup", dir);
    snprintf(crashes, sizeof crashes, "%s/crashes", dir);
    if (mtd_mkdir_p(backup, 0700) != 0 || mtd_mkdir_p(crashes, 0700) != 0)
        return mtd_agent_fail("ios-pull: cannot create %s", dir);
    snprintf(p, sizeof p, "%s/ideviceinfo.plist", dir);
    char *info[] = {"ideviceinfo", "-x", NULL};
    if (run_tool(info, p) != 0) {
        unlink(p);
        strcat(missing, " ideviceinfo.plist");
    }
    char *bk[] = {"idevicebackup2", "backup", "--full", backup, NULL};
    if (run_tool(bk, NULL) != 0) /* e.g. a backup password the agent does not have */
        strcat(missing, " backup");
    char *cr[] = {"idevicecrashreport", "-k", crashes, NULL};
    if (run_tool(cr, NULL) != 0)
        strcat(missing, " crashes");
    printf("snapshot in %s: %d crash logs%s%s\n", dir, count_files(crashes),
           missing[0] ? "; not available:" : "", missing);
    return 0;
}
