/* mtd-agent: the on-device agent: inventory, privacy gate, spool and uplink. */
#include "agent/mtd_agent.h"
#include "common/mtd_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: mtd-agent COMMAND [OPTIONS]\n"
    "\n"
    "Inventory (shown locally, nothing is sent):\n"
    "  inventory device [--android-root DIR | --ios-backup DIR] --json\n"
    "  inventory apps (--apk PATH... | --android-root DIR | --ios-backup DIR) --json\n"
    "  adb-pull DIR    build a snapshot directory from the device connected with adb\n"
    "  ios-pull DIR    build an iOS snapshot (lockdown values, backup, crash logs) from the\n"
    "                  device connected by USB, with libimobiledevice's tools\n"
    "\n"
    "Enrollment and reporting:\n"
    "  enroll --state DIR --server URL --token TOKEN [--user UPN] [--device-id ID]\n"
    "         [--ca-file PEM] [--pin sha256//KEY] [--android-root DIR | --ios-backup DIR]\n"
    "      --user is the directory user (UPN), --device-id the directory device ID, as an\n"
    "      MDM passes them; both are pseudonymized before anything is stored or sent.\n"
    "  run --state DIR [--once] [--interval SECONDS] [--no-upload]\n"
    "      [--dns-listen ADDR:PORT --dns-upstream ADDR:PORT [--api-listen 127.0.0.1:PORT]]\n"
    "      collect, gate, queue and upload; --once: one round, --no-upload: queue only;\n"
    "      --dns-listen: host the DNS filter and URL check API while web protection is on\n"
    "\n"
    "Web protection (every lookup on this device; only detections are reported):\n"
    "  feed compile --out FILE [--policy FILE] FEED...\n"
    "      threat feeds (hosts, domain or URL lists, URLhaus, PhishTank, OpenPhish, STIX 2.1)\n"
    "      into the reputation database; --policy adds its web_allow and web_block lists\n"
    "  url-check --feed FILE... URL... [--json] [--state DIR]\n"
    "      verdicts (url, verdict, threat_name, category, matched); --state reports blocks\n"
    "  dns-filter --listen ADDR:PORT --upstream ADDR:PORT --feed FILE... [--state DIR]\n"
    "             [--api-socket PATH] [--api-listen 127.0.0.1:PORT]\n"
    "      a DNS filter over UDP and TCP until SIGTERM, and the browsers' URL check API\n"
    "\n"
    "Your data:\n"
    "  consent (grant|revoke|status) --state DIR\n"
    "  feedback --state DIR --type (smile|frown|idea) [--comment TEXT] [--email ADDR]\n"
    "           [--with-diagnostics]\n"
    "  privacy statement [--format md|xcprivacy|datasafety|schema] [--state DIR]\n"
    "                                what this product can ever send, and why\n"
    "  privacy ledger --state DIR    every record that left this device, as sent\n"
    "  privacy queued --state DIR    what waits to be sent\n"
    "\n"
    "Every command exits 0 on success, or non-zero with one line on stderr.\n";

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

int mtd_agent_args(int argc, char **argv, const mtd_optspec *specs, mtd_args *a)
{
    char why[256];
    if (mtd_args_parse(argc, argv, specs, a, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    return 0;
}

int mtd_agent_state(const mtd_args *a, mtd_state *st)
{
    const char *dir = mtd_args_get(a, "--state");
    char why[512];
    if (!dir)
        return mtd_agent_fail("--state DIR is required");
    if (mtd_state_load(dir, st, why, sizeof why) != 0)
        return mtd_agent_fail("%s", why);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"inventory", mtd_cmd_inventory}, {"enroll", mtd_cmd_enroll},
        {"run", mtd_cmd_run},             {"consent", mtd_cmd_consent},
        {"privacy", mtd_cmd_privacy},     {"feedback", mtd_cmd_feedback},
        {"adb-pull", mtd_cmd_adb_pull},   {"ios-pull", mtd_cmd_ios_pull},   {"feed", mtd_cmd_feed},
        {"url-check", mtd_cmd_url_check}, {"dns-filter", mtd_cmd_dns_filter},
    };
    mtd_log_init_level(MTD_LOG_WARN);
    umask(077); /* state, spool and ledger are for this user only */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        puts("mtd-agent " MTD_AGENT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 2, argv + 2);
    return mtd_agent_fail("unknown command \"%s\" (see mtd-agent --help)", argv[1]);
}
