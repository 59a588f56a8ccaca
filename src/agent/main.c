/* mtd-agent: the on-device agent: inventory, privacy gate, spool and uplink. */
#include "agent/mtd_agent.h"
#include "common/mtd_log.h"
#include "common/mtd_usage.h"
#include "usage/mtd_crash.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every command, as `mtd-agent --help` lists them and `mtd-agent COMMAND --help` shows
 * one; docs/man/mtd-agent.1 and README.md follow it (test_docs compares them). */
#define INVENTORY "Inventory (shown locally, nothing is sent; the output is JSON):"
#define REPORTING "Enrollment and reporting:"
#define WEBPROT "Web protection (every lookup on this device; only detections are reported):"
#define SCAN "App scanning (shown locally, nothing is sent; exit 0 found or not):"
#define YOURDATA "Your data:"
static const mtd_usage_cmd commands[] = {
    {INVENTORY, "inventory device",
     "inventory device [--android-root DIR | --ios-backup DIR] [--state DIR]\n"
     "                 [--json]",
     "this device's OS, model, CPU and which identifier it would use\n"
     "(--state: the state directory whose GUID it uses when there is no other)"},
    {INVENTORY, "inventory apps",
     "inventory apps (--apk PATH... | --android-root DIR | --ios-backup DIR)\n"
     "               [--json]",
     "one JSON object per app: package, versions, permissions, signers, source"},
    {INVENTORY, "adb-pull", "adb-pull DIR",
     "a snapshot directory of the device on adb"},
    {INVENTORY, "ios-pull", "ios-pull DIR",
     "an iOS snapshot (lockdown values, backup, crash logs) from the device\n"
     "connected by USB, with libimobiledevice's tools"},
    {INVENTORY, "posture",
     "posture [--android-root DIR | --ios-backup DIR] [--vulns FILE...]\n"
     "        [--state DIR] [--json]",
     "root or jailbreak, integrity, OS support and patch level, vulnerable apps:\n"
     "one JSON object per finding; --vulns: OSV records; --state: the enrolled\n"
     "device, its policy and its organization's records"},
    {REPORTING, "enroll",
     "enroll --state DIR --server URL --token TOKEN [--user UPN] [--device-id ID]\n"
     "       [--ca-file PEM] [--pin sha256//KEY]\n"
     "       [--android-root DIR | --ios-backup DIR] [--replace-user]",
     "--user is the directory user (UPN), --device-id the directory device ID,\n"
     "as an MDM passes them; both are pseudonymized before anything is stored or\n"
     "sent (the UPN in its normal form: NFC, lowercase). Enrolling again keeps the\n"
     "stored user unless --replace-user. --pin: the collector's public key\n"
     "(SHA-256, base64); --android-root, --ios-backup: the device is that snapshot\n"
     "directory or iOS backup"},
    {REPORTING, "run",
     "run --state DIR [--once] [--interval SECONDS] [--no-upload]\n"
     "    [--dns-listen ADDR:PORT --dns-upstream ADDR:PORT\n"
     "     [--api-listen 127.0.0.1:PORT]] [--vulns FILE...]\n"
     "    [--scan-interval SECONDS]",
     "collect, gate, queue and upload; --once: one round, --no-upload: queue\n"
     "only; --interval: seconds between rounds; --dns-listen: host the DNS\n"
     "filter and URL check API while web protection is on; --vulns: OSV records\n"
     "for the posture checks, besides the organization's; --scan-interval:\n"
     "seconds between scans of every app (default a day; new and updated apps\n"
     "are scanned at once)"},
    {WEBPROT, "feed compile", "feed compile --out FILE [--policy FILE] [--quiet] FEED...",
     "threat feeds (hosts, domain or URL lists, URLhaus, PhishTank, OpenPhish,\n"
     "STIX 2.1) into the reputation database; --policy adds its web_allow and\n"
     "web_block lists; --quiet: no per-feed report on stderr"},
    {WEBPROT, "url-check", "url-check --feed FILE... URL... [--json] [--state DIR]",
     "verdicts (url, verdict, threat_name, category, matched); --state reports\n"
     "blocks"},
    {WEBPROT, "dns-filter",
     "dns-filter --listen ADDR:PORT --upstream ADDR:PORT --feed FILE...\n"
     "           [--state DIR] [--api-socket PATH] [--api-listen 127.0.0.1:PORT]\n"
     "           [--timeout-ms MS]",
     "a DNS filter over UDP and TCP until SIGTERM, and the browsers' URL check\n"
     "API; --timeout-ms: how long to wait for the upstream (default 2000)"},
    {SCAN, "scan",
     "scan [--indicators FILE]... [--rules FILE]... [--android-root DIR] [PATH...]\n"
     "     [--trusted-store PKG]... [--timeout SECONDS] [--no-heuristics] [--stats]\n"
     "     [--state DIR] [--json]",
     "threats among apps: PATH is an APK or a directory of them; FILE a plain\n"
     "list (SHA-256, certificate digest or package a line) or a STIX 2.1 bundle;\n"
     "--rules: YARA files; one finding a line (path, package, threat_name,\n"
     "category, severity, evidence, rule); --state: the enrolled device's scan\n"
     "(its snapshot, the organization's feeds and trusted stores), counted as a\n"
     "scan_requested action"},
    {WEBPROT, "vpn",
     "vpn --tun NAME --address CIDR --dns ADDR [--route CIDR...] [--dns-only]\n"
     "    --upstream ADDR:PORT --feed FILE... [--state DIR] [--mtu N] [--window S]\n"
     "    [--canary NAME] [--tls-trust FILE]",
     "the self-looping VPN on a TUN device until SIGTERM (needs root): DNS to --dns\n"
     "answered by the DNS filter, TCP and UDP relayed with TLS server_name, HTTP\n"
     "Host and QUIC checks; --dns-only routes only --dns into the tunnel; --window:\n"
     "seconds per connection record (default 300); --canary: a host name whose TLS\n"
     "chain must verify (also the policy's tls_canaries and the collector's name),\n"
     "against --tls-trust (default: the system's store)"},
    {YOURDATA, "threats", "threats --state DIR [--json]",
     "the threats active on this device, as last reported"},
    {YOURDATA, "consent", "consent (grant|revoke|status) --state DIR",
     "give or take back your consent to optional data, or see it"},
    {YOURDATA, "feedback",
     "feedback --state DIR --type (smile|frown|idea) [--comment TEXT] [--email ADDR]\n"
     "         [--with-diagnostics]",
     "send feedback; --with-diagnostics attaches a diagnostic bundle"},
    {YOURDATA, "privacy statement",
     "privacy statement [--format md|xcprivacy|datasafety|schema] [--state DIR]",
     "what this product can ever send, and why; with --state, what your\n"
     "organization's current settings send"},
    {YOURDATA, "privacy ledger", "privacy ledger --state DIR",
     "every record that left this device, as sent"},
    {YOURDATA, "privacy queued", "privacy queued --state DIR", "what waits to be sent"},
};

static const mtd_usage usage = {
    .prog = "mtd-agent",
    .head = "usage: mtd-agent COMMAND [OPTIONS]\n"
            "       mtd-agent COMMAND --help    that command's usage\n",
    .foot = "Every command exits 0 on success, or non-zero with one line on stderr.\n",
    .cmds = commands,
    .ncmds = sizeof commands / sizeof commands[0],
};

/* The words after "mtd-agent", for a command's --help. */
static int cmd_argc;
static char **cmd_argv;

int mtd_agent_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mtd-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int mtd_agent_usage(const char *cmd)
{
    const mtd_usage_cmd *c = mtd_usage_find(&usage, cmd);
    char line[512];
    if (!c)
        return mtd_agent_fail("%s: wrong arguments (see mtd-agent --help)", cmd);
    mtd_usage_line(&usage, c, line, sizeof line);
    return mtd_agent_fail("usage: %s", line);
}

int mtd_agent_args(int argc, char **argv, const mtd_optspec *specs, mtd_args *a)
{
    char why[256];
    int r = mtd_args_parse(argc, argv, specs, a, why, sizeof why);
    if (r == MTD_ARGS_HELP) /* the command's usage, and nothing else happens */
        exit(mtd_usage_help(&usage, cmd_argc, cmd_argv));
    if (r != 0)
        return mtd_agent_fail("%s", why);
    return 0;
}

#ifdef MTD_TEST_CRASH_TRIGGER
/* Test builds only (tests/CMakeLists.txt builds mtd-agent-crashtest with this):
 * MTD_TEST_CRASH=segv|abort crashes the agent here, in its own code, so the tests see
 * a real report. The shipped mtd-agent has no such path. */
static volatile uintptr_t test_bad_address = 16; /* volatile: the compiler cannot see it */

__attribute__((noinline, no_sanitize("address", "undefined"))) static void test_crash_segv(void)
{
    *(volatile int *)test_bad_address = 1;
}

__attribute__((noinline)) static void test_crash_trigger(void)
{
    const char *how = getenv("MTD_TEST_CRASH");
    if (how && !strcmp(how, "segv"))
        test_crash_segv();
    if (how && !strcmp(how, "abort"))
        abort();
}
#endif

int mtd_agent_state(const mtd_args *a, mtd_state *st)
{
    const char *dir = mtd_args_get(a, "--state");
    char why[512];
    if (!dir)
        return mtd_agent_fail("--state DIR is required");
    if (mtd_state_load(dir, st, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    mtd_crash_arm(st->dir, MTD_AGENT_VERSION); /* a crash from here on is reported next round */
#ifdef MTD_TEST_CRASH_TRIGGER
    test_crash_trigger();
#endif
    return 0;
}

#ifndef MTD_AGENT_VPN_ONLY
/* `mtd-agent vpn` runs as mtd-agent-vpn, the same main() built with MTD_AGENT_VPN_ONLY
 * and linked with only what the VPN uses (no libcurl, libmicrohttpd, libyara, SQLite,
 * libplist, nor the libraries they load): the VPN runs for days, and its resident
 * libraries were 9.8 of its 23.3 MB. Like Android's VPN service process and iOS's
 * packet tunnel extension (which iOS caps in memory), it is its own executable; exec
 * keeps the process ID, so a supervisor sees one process. Without mtd-agent-vpn beside
 * this program the VPN runs here. */
static int vpn_exec(int argc, char **argv)
{
    char self[4096], path[4096 + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = n > 0 ? (self[n] = '\0', strrchr(self, '/')) : NULL; /* an absolute path */
    if (slash) {
        *slash = '\0';
        snprintf(path, sizeof path, "%s/mtd-agent-vpn", self);
        char **args = argv - 2; /* "mtd-agent", "vpn", then the options */
        args[0] = path;
        execv(path, args);
        mtd_log(MTD_LOG_INFO, "vpn", "%s: %s: the VPN runs in mtd-agent", path, strerror(errno));
    }
    return mtd_cmd_vpn(argc, argv);
}
#endif

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
#ifdef MTD_AGENT_VPN_ONLY
        {"vpn", mtd_cmd_vpn},
#else
        {"inventory", mtd_cmd_inventory}, {"enroll", mtd_cmd_enroll},
        {"run", mtd_cmd_run},             {"consent", mtd_cmd_consent},
        {"privacy", mtd_cmd_privacy},     {"feedback", mtd_cmd_feedback},
        {"adb-pull", mtd_cmd_adb_pull},   {"ios-pull", mtd_cmd_ios_pull},   {"feed", mtd_cmd_feed},
        {"posture", mtd_cmd_posture},     {"threats", mtd_cmd_threats},
        {"url-check", mtd_cmd_url_check}, {"dns-filter", mtd_cmd_dns_filter}, {"scan", mtd_cmd_scan},
        {"vpn", vpn_exec},
#endif
    };
    mtd_log_init_level(MTD_LOG_WARN);
    umask(077); /* state, spool and ledger are for this user only */
    if (argc < 2) {
        mtd_usage_print(stderr, &usage);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
        return mtd_usage_help(&usage, argc - 2, argv + 2); /* help [COMMAND] */
    cmd_argc = argc - 1;
    cmd_argv = argv + 1;
    /* "inventory --help": before a command reads its kind or action */
    if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")))
        return mtd_usage_help(&usage, cmd_argc, cmd_argv);
    if (!strcmp(argv[1], "--version")) {
        puts("mtd-agent " MTD_AGENT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 2, argv + 2);
    return mtd_agent_fail("unknown command \"%s\" (see mtd-agent --help)", argv[1]);
}
