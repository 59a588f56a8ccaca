/* mtd_schema_table: THE table. Every event type and field openmtd can ever send.
 *
 * Reading guide: each event lists its fields; each field says its type, sensitivity,
 * on-device transform, data kind (for the statements), governing policy, limits, OCSF
 * attribute and the label a person reads. Edit here and only here: the gate, the
 * collector, the store and docs/privacy.md follow (a test fails while docs/privacy.md
 * is out of date). */
#include "schema/mtd_schema.h"

#define F(n, t, s, x, k, len, ocsf_, lbl) \
    { .name = n, .type = t, .sens = s, .xf = x, .kind = k, .max_len = len, .ocsf = ocsf_, .label = lbl }
#define FR(n, t, s, x, k, len, ocsf_, lbl) \
    { .name = n, .type = t, .sens = s, .xf = x, .kind = k, .max_len = len, .ocsf = ocsf_, .label = lbl, .required = 1 }
#define FP(n, purpose_, ocsf_, lbl) \
    { .name = n, .type = MTD_T_STR, .sens = MTD_SENS_DIRECT, .xf = MTD_X_PSEUDONYMIZE, \
      .kind = MTD_DK_USER_ID, .max_len = 512, .purpose = purpose_, .ocsf = ocsf_, .label = lbl }
#define FE(n, vals, ocsf_, lbl) \
    { .name = n, .type = MTD_T_ENUM, .sens = MTD_SENS_NONE, .xf = MTD_X_KEEP, .kind = MTD_DK_NONE, \
      .max_len = 32, .enum_values = vals, .ocsf = ocsf_, .label = lbl, .required = 1 }
#define FL(n, k, items, ocsf_, lbl) \
    { .name = n, .type = MTD_T_STRLIST, .sens = MTD_SENS_NONE, .xf = MTD_X_KEEP, .kind = k, \
      .max_len = 256, .max_items = items, .ocsf = ocsf_, .label = lbl }
#define EV(n, cat, pol, uid, cls, ocat, sec, title_, why_, arr) \
    { .name = n, .category = cat, .policy = pol, .ocsf_class_uid = uid, .ocsf_class = cls, \
      .ocsf_category_uid = ocat, .section = sec, .title = title_, .why = why_, .fields = arr, \
      .nfields = sizeof(arr) / sizeof(arr[0]) }

#define S MTD_T_STR
#define I MTD_T_INT
#define B MTD_T_BOOL
#define T MTD_T_TIME
#define NONE MTD_SENS_NONE
#define QUASI MTD_SENS_QUASI
#define PSEU MTD_SENS_PSEUDO
#define KEEP MTD_X_KEEP

static const char *const v_id_source[] = {"mac", "android_id", "guid", NULL};
static const char *const v_lifecycle[] = {"install", "update", "remove", NULL};
static const char *const v_severity[] = {"info", "low", "medium", "high", "critical", NULL};
static const char *const v_threat_source[] = {"app", "web", "network", "device", NULL};
static const char *const v_threat_status[] = {"active", "resolved", NULL};
static const char *const v_threat_cat[] = {"malware", "phishing", "adware", "spyware",
    "riskware", "pua", "vulnerability", "exploit", "command_and_control", "scam",
    "tampering", "sideload", "policy",
    /* device posture (src/posture/): what `mtd-agent posture` calls its findings */
    "integrity", "os", "app", "network", NULL};
static const char *const v_protocol[] = {"http", "https", "dns", "tcp", "udp", "quic", "tls", NULL};
static const char *const v_dns_verdict[] = {"allow", "block", NULL};
static const char *const v_upgrade[] = {"installed", "updated", "unchanged", NULL};
/* the order is the LDP report's bit order (usage/mtd_actions.h): append only */
static const char *const v_action[] = {"enroll", "consent_grant", "consent_revoke",
    "feedback_sent", "scan_requested", "threat_viewed", "vpn_on", "vpn_off",
    "statement_viewed", "ledger_viewed", NULL};
static const char *const v_crash_origin[] = {"agent", "ios", "android", NULL};
static const char *const v_feedback[] = {"smile", "frown", "idea", NULL};
static const char *const v_consent[] = {"granted", "revoked", NULL};
static const char *const v_url_scope[] = {"full", "domain", "none", NULL};

const mtd_field mtd_envelope_fields[] = {
    FR("event", S, NONE, KEEP, MTD_DK_NONE, 64, "metadata.log_name", "Event type"),
    { .name = "schema", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NONE,
      .ocsf = "metadata.log_version", .label = "Schema version", .required = 1 },
    FR("event_id", S, PSEU, KEEP, MTD_DK_NONE, 32, "metadata.uid", "Random event ID (names one event in the ledger and reports)"),
    FR("time", T, NONE, KEEP, MTD_DK_NONE, 32, "time", "Date and time"),
    FR("tenant_id", S, PSEU, KEEP, MTD_DK_NONE, 64, "metadata.tenant_uid", "Tenant ID"),
    F("org_id", S, PSEU, KEEP, MTD_DK_USER_ID, 128, "actor.user.org.uid", "Organization ID"),
    { .name = "device_id", .type = S, .sens = MTD_SENS_DIRECT, .xf = MTD_X_PSEUDONYMIZE,
      .kind = MTD_DK_DEVICE_ID, .max_len = 512, .purpose = "device", .ocsf = "device.uid",
      .label = "Device identifier (pseudonym of Wi-Fi MAC, Android ID or a random GUID)",
      .required = 1 },
    FP("dir_device_id", "dir_device", "device.uid_alt", "Directory device ID (pseudonym)"),
    FP("dir_user_id", "dir_user", "actor.user.uid_alt", "Directory user ID (pseudonym)"),
    FP("upn", "upn", "actor.user.uid", "User principal name (pseudonym)"),
};
const size_t mtd_envelope_nfields = sizeof(mtd_envelope_fields) / sizeof(mtd_envelope_fields[0]);

static const mtd_field f_device_info[] = {
    FR("os_name", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 128, "device.os.name", "OS name"),
    FR("os_version", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 128, "device.os.version", "OS version"),
    F("manufacturer", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 128, "unmapped.manufacturer", "OEM / manufacturer"),
    F("model", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 128, "unmapped.model", "Model"),
    F("model_id", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 64, "unmapped.model_id", "Model identifier (e.g. iPhone9,3)"),
    F("cpu", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 256, "device.hw_info.cpu_type", "CPU"),
    F("build", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 256, "device.os.build", "OS build"),
    F("kernel", S, NONE, KEEP, MTD_DK_DEVICE_INFO, 128, "unmapped.kernel", "Kernel version"),
    FE("device_id_source", v_id_source, "unmapped.device_id_source", "Source of the device identifier"),
    F("agent_version", S, NONE, KEEP, MTD_DK_NONE, 64, "metadata.product.version", "Agent version"),
};

static const mtd_field f_app_inventory[] = {
    /* one app name identifies nobody; the whole list, with install times, can: it is
     * a quasi-identifier, and the statement says so */
    FR("package", S, QUASI, KEEP, MTD_DK_INSTALLED_APPS, 256, "package.name", "Package name"),
    { .name = "version_code", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.version_code", .label = "Version code" },
    F("version_name", S, NONE, KEEP, MTD_DK_INSTALLED_APPS, 256, "package.version", "Version name"),
    F("install_source", S, NONE, KEEP, MTD_DK_INSTALLED_APPS, 256, "unmapped.install_source", "Install source (installer package)"),
    F("apk_path", S, NONE, KEEP, MTD_DK_INSTALLED_APPS, 1024, "unmapped.apk_path", "Storage location (APK path)"),
    F("first_install_time", T, QUASI, KEEP, MTD_DK_INSTALLED_APPS, 32, "unmapped.first_install_time", "Time of install"),
    F("last_update_time", T, QUASI, KEEP, MTD_DK_INSTALLED_APPS, 32, "unmapped.last_update_time", "Time of last update"),
    { .name = "apk_size", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.apk_size", .label = "Size of the APK" },
    F("apk_sha256", S, NONE, KEEP, MTD_DK_INSTALLED_APPS, 64, "package.hash.value", "SHA-256 of the APK"),
    FL("permissions", MTD_DK_INSTALLED_APPS, 1024, "unmapped.permissions", "Permissions requested"),
    FL("signer_sha256", MTD_DK_INSTALLED_APPS, 16, "unmapped.signer_sha256", "Signer certificate digests"),
    { .name = "is_system", .type = B, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.is_system", .label = "System app" },
    { .name = "upgrade_status", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP,
      .kind = MTD_DK_INSTALLED_APPS, .max_len = 16, .enum_values = v_upgrade,
      .ocsf = "unmapped.upgrade_status", .label = "Upgrade status (installed / updated / unchanged)" },
    { .name = "min_sdk", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.min_sdk", .label = "Minimum Android version the app supports" },
    { .name = "target_sdk", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.target_sdk", .label = "Android version the app targets" },
    FL("signature_schemes", MTD_DK_INSTALLED_APPS, 8, "unmapped.signature_schemes", "APK signature schemes present"),
    { .name = "signature_verified", .type = B, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.signature_verified", .label = "Whether the APK signature verified" },
    FL("granted_permissions", MTD_DK_INSTALLED_APPS, 1024, "unmapped.granted_permissions", "Permissions granted"),
    { .name = "is_updated_system", .type = B, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .ocsf = "unmapped.is_updated_system", .label = "System app updated by the user or store" },
};

static const mtd_field f_app_lifecycle[] = {
    FR("package", S, QUASI, KEEP, MTD_DK_INSTALLED_APPS, 256, "app.name", "Package name"),
    FE("action", v_lifecycle, "unmapped.action", "Install, update or remove"),
    F("old_version", S, NONE, KEEP, MTD_DK_INSTALLED_APPS, 256, "unmapped.old_version", "Previous version"),
    F("new_version", S, NONE, KEEP, MTD_DK_INSTALLED_APPS, 256, "app.version", "New version"),
};

static const mtd_field f_web_detection[] = {
    { .name = "url", .type = S, .sens = QUASI, .xf = MTD_X_TRUNCATE, .kind = MTD_DK_BROWSING,
      .policy = MTD_POL_URL, .max_len = 2048, .ocsf = "evidences[].url.url_string",
      .label = "URL of the blocked page" },
    FR("domain", S, QUASI, KEEP, MTD_DK_BROWSING, 253, "evidences[].url.hostname", "Domain of the blocked page"),
    FR("threat_name", S, NONE, KEEP, MTD_DK_SECURITY, 256, "finding_info.title", "Threat name"),
    { .name = "category", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_SECURITY,
      .max_len = 32, .enum_values = v_threat_cat, .ocsf = "finding_info.types", .label = "Threat category", .required = 1 },
    { .name = "url_scope", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NONE,
      .max_len = 16, .enum_values = v_url_scope, .ocsf = "unmapped.url_scope", .label = "How much of the URL was reported" },
    F("browser", S, NONE, KEEP, MTD_DK_SECURITY, 256, "unmapped.browser", "Browser (package name)"),
};

static const mtd_field f_net_connection[] = {
    FR("ip", S, QUASI, KEEP, MTD_DK_NETWORK, 45, "dst_endpoint.ip", "Remote IP address"),
    F("domain", S, QUASI, KEEP, MTD_DK_BROWSING, 253, "dst_endpoint.domain", "Registrable domain"),
    F("subdomain", S, QUASI, KEEP, MTD_DK_BROWSING, 253, "dst_endpoint.hostname", "Sub-domain"),
    FE("protocol", v_protocol, "connection_info.protocol_name", "Protocol"),
    { .name = "port", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NETWORK,
      .ocsf = "dst_endpoint.port", .label = "Remote port" },
    { .name = "count", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NETWORK,
      .ocsf = "count", .label = "Number of connections" },
    F("first_seen", T, NONE, KEEP, MTD_DK_NETWORK, 32, "start_time", "First seen"),
    F("last_seen", T, NONE, KEEP, MTD_DK_NETWORK, 32, "end_time", "Last seen"),
    { .name = "threat", .type = B, .sens = NONE, .xf = KEEP, .kind = MTD_DK_SECURITY,
      .ocsf = "unmapped.threat", .label = "Whether the connection matched a threat" },
    { .name = "bytes_out", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NETWORK,
      .ocsf = "traffic.bytes_out", .label = "Bytes sent" },
    { .name = "bytes_in", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NETWORK,
      .ocsf = "traffic.bytes_in", .label = "Bytes received" },
    { .name = "packets_out", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NETWORK,
      .ocsf = "traffic.packets_out", .label = "Packets sent" },
    { .name = "packets_in", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NETWORK,
      .ocsf = "traffic.packets_in", .label = "Packets received" },
};

static const mtd_field f_net_dns[] = {
    FR("qname", S, QUASI, KEEP, MTD_DK_BROWSING, 253, "query.hostname", "DNS record name"),
    F("qtype", S, NONE, KEEP, MTD_DK_NETWORK, 16, "query.type", "DNS record type"),
    FE("verdict", v_dns_verdict, "unmapped.verdict", "Verdict (allow or block)"),
    F("threat_name", S, NONE, KEEP, MTD_DK_SECURITY, 256, "unmapped.threat_name", "Threat name, when blocked"),
};

static const mtd_field f_threat_detection[] = {
    FR("threat_name", S, NONE, KEEP, MTD_DK_SECURITY, 256, "finding_info.title", "Threat name"),
    { .name = "category", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_SECURITY,
      .max_len = 32, .enum_values = v_threat_cat, .ocsf = "finding_info.types", .label = "Threat category", .required = 1 },
    { .name = "severity", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_SECURITY,
      .max_len = 16, .enum_values = v_severity, .ocsf = "unmapped.severity", .label = "Severity", .required = 1 },
    FE("source", v_threat_source, "unmapped.source", "Where it was found (app, web, network, device)"),
    F("evidence", S, QUASI, KEEP, MTD_DK_SECURITY, 2048, "evidences[].data", "Evidence (what matched)"),
    { .name = "status", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_SECURITY,
      .max_len = 16, .enum_values = v_threat_status, .ocsf = "unmapped.status", .label = "Status (active or resolved)", .required = 1 },
    { .name = "package", .type = S, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .policy = MTD_POL_APP_DETAILS, .max_len = 256, .ocsf = "resources[].name",
      .label = "App package" },
    { .name = "app_sha256", .type = S, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INSTALLED_APPS,
      .policy = MTD_POL_APP_DETAILS, .max_len = 64, .ocsf = "unmapped.app_sha256",
      .label = "App SHA-256" },
    F("threat_id", S, PSEU, KEEP, MTD_DK_NONE, 64, "finding_info.uid", "Detection ID"),
};

static const mtd_field f_usage_agent[] = {
    FR("package", S, NONE, KEEP, MTD_DK_INTERACTION, 128, "device.agent_list[].name", "Agent package name"),
    FR("version", S, NONE, KEEP, MTD_DK_INTERACTION, 64, "device.agent_list[].version", "Agent version"),
    { .name = "upgrade_status", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INTERACTION,
      .max_len = 16, .enum_values = v_upgrade, .ocsf = "unmapped.upgrade_status",
      .label = "Agent upgrade status", .required = 1 },
};

static const mtd_field f_usage_action[] = {
    { .name = "action", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INTERACTION,
      .max_len = 32, .enum_values = v_action, .ocsf = "activity_name",
      .label = "Action performed in the agent (from a fixed list)", .required = 1 },
    { .name = "count", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_INTERACTION,
      .ocsf = "count", .label = "How many times since the last report" },
};

static const mtd_field f_usage_ldp[] = {
    FR("period", S, NONE, KEEP, MTD_DK_INTERACTION, 10, "unmapped.period", "Day the report is of (UTC)"),
    { .name = "epsilon_milli", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NONE,
      .ocsf = "unmapped.epsilon_milli", .label = "Privacy parameter epsilon of the report (x1000)", .required = 1 },
    FR("bits", S, NONE, KEEP, MTD_DK_INTERACTION, 32, "unmapped.bits",
       "One randomized bit per agent action (local differential privacy): no single bit says what happened"),
};

static const mtd_field f_usage_crash[] = {
    FR("signal", S, NONE, KEEP, MTD_DK_CRASH, 32, "unmapped.signal", "Signal"),
    FL("frames", MTD_DK_CRASH, 64, "unmapped.frames", "Stack frames of the agent's own code (module + offset)"),
    FR("version", S, NONE, KEEP, MTD_DK_CRASH, 64, "metadata.product.version", "Agent version"),
    F("fault_address", S, NONE, KEEP, MTD_DK_CRASH, 24, "unmapped.fault_address", "Address of the faulting access"),
    F("build_id", S, NONE, KEEP, MTD_DK_CRASH, 80, "unmapped.build_id", "Build ID of the agent's code"),
    { .name = "origin", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_CRASH,
      .max_len = 16, .enum_values = v_crash_origin, .ocsf = "unmapped.origin",
      .label = "Where the report comes from (the agent, an iOS or an Android crash log of its app)" },
    F("crash_time", T, NONE, KEEP, MTD_DK_CRASH, 32, "unmapped.crash_time", "When it crashed"),
};

static const mtd_field f_usage_memory[] = {
    { .name = "rss_kb", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_PERFORMANCE,
      .ocsf = "unmapped.rss_kb", .label = "Resident memory of the agent (KiB)", .required = 1 },
    { .name = "peak_kb", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_PERFORMANCE,
      .ocsf = "unmapped.peak_kb", .label = "Peak memory of the agent (KiB)", .required = 1 },
};

static const mtd_field f_diag_bundle[] = {
    F("build_info", S, NONE, KEEP, MTD_DK_DIAGNOSTICS, 256, "unmapped.build_info", "Build information"),
    F("os_version", S, NONE, KEEP, MTD_DK_DIAGNOSTICS, 128, "device.os.version", "OS version"),
    F("model", S, NONE, KEEP, MTD_DK_DIAGNOSTICS, 128, "device.model", "OEM model"),
    F("cpu", S, NONE, KEEP, MTD_DK_DIAGNOSTICS, 256, "device.hw_info.cpu_type", "CPU info"),
    FL("app_usage", MTD_DK_PERFORMANCE, 256, "unmapped.app_usage", "App usage (agent features used, counts)"),
    { .name = "cpu_usage_ms", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_PERFORMANCE,
      .ocsf = "unmapped.cpu_usage_ms", .label = "CPU time used by the agent (ms)" },
    { .name = "net_tx_bytes", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_PERFORMANCE,
      .ocsf = "unmapped.net_tx_bytes", .label = "Network usage of the agent (bytes sent)" },
    { .name = "net_rx_bytes", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_PERFORMANCE,
      .ocsf = "unmapped.net_rx_bytes", .label = "Network usage of the agent (bytes received)" },
    F("scan_status", S, NONE, KEEP, MTD_DK_DIAGNOSTICS, 64, "unmapped.scan_status", "Scan status"),
    { .name = "scan_ms", .type = I, .sens = NONE, .xf = KEEP, .kind = MTD_DK_DIAGNOSTICS,
      .ocsf = "unmapped.scan_ms", .label = "Last scan duration (ms)" },
    FL("agent_permissions", MTD_DK_DIAGNOSTICS, 128, "unmapped.agent_permissions", "Permissions granted to the agent"),
    F("upgrade_status", S, NONE, KEEP, MTD_DK_DIAGNOSTICS, 16, "unmapped.upgrade_status", "Agent upgrade status"),
    FL("features", MTD_DK_DIAGNOSTICS, 32, "unmapped.features", "Features configured by the admin"),
    FL("browsers", MTD_DK_DIAGNOSTICS, 32, "unmapped.browsers", "Browsers on the device (package and version)"),
    F("feedback_id", S, PSEU, KEEP, MTD_DK_NONE, 32, "unmapped.feedback_id", "Feedback it was attached to"),
};

static const mtd_field f_feedback[] = {
    { .name = "type", .type = MTD_T_ENUM, .sens = NONE, .xf = KEEP, .kind = MTD_DK_FEEDBACK,
      .max_len = 8, .enum_values = v_feedback, .ocsf = "unmapped.type",
      .label = "Feedback type (smile, frown, idea)", .required = 1 },
    F("comment", S, QUASI, KEEP, MTD_DK_FEEDBACK, 4000, "message", "Comment, as you typed it"),
    { .name = "email", .type = S, .sens = MTD_SENS_DIRECT, .xf = KEEP, .kind = MTD_DK_EMAIL,
      .max_len = 254, .ocsf = "actor.user.email_addr",
      .label = "Email address, only if you type one" },
    F("feedback_id", S, PSEU, KEEP, MTD_DK_NONE, 32, "metadata.correlation_uid", "Feedback ID"),
};

static const mtd_field f_consent[] = {
    FE("state", v_consent, "activity_name", "Consent granted or revoked"),
    { .name = "delete_optional", .type = B, .sens = NONE, .xf = KEEP, .kind = MTD_DK_NONE,
      .ocsf = "unmapped.delete_optional", .label = "Request to delete optional data already sent" },
};

const mtd_event_type mtd_event_types[] = {
    EV("device.info", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 5001, "Device Inventory Info", 5,
       "Device and account information",
       "This device",
       "to show admins which devices are enrolled, what they run, and whether they are up to date",
       f_device_info),
    EV("app.inventory", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 5020, "Software Inventory Info", 5,
       "App information",
       "Installed apps",
       "to find risky or malicious apps and to tell admins which apps are installed",
       f_app_inventory),
    EV("app.lifecycle", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 6002, "Application Lifecycle", 6,
       "App information",
       "App installs, updates and removals",
       "to report when apps are installed, updated or removed (upgrade status)",
       f_app_lifecycle),
    EV("web.detection", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 2004, "Detection Finding", 2,
       "Web page / network information",
       "Blocked web pages",
       "to report a blocked malicious or phishing page; never a browsing history",
       f_web_detection),
    EV("net.connection", MTD_CAT_REQUIRED, MTD_EPOL_CONNECTIONS, 4001, "Network Activity", 4,
       "Web page / network information",
       "Background connections",
       "to report the device's background connections: those of threats, or every one, as your organization chooses",
       f_net_connection),
    EV("net.dns", MTD_CAT_REQUIRED, MTD_EPOL_CONNECTIONS, 4003, "DNS Activity", 4,
       "Web page / network information",
       "DNS lookups",
       "to report the device's DNS lookups: those of threats, or every one, as your organization chooses",
       f_net_dns),
    EV("threat.detection", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 2004, "Detection Finding", 2,
       "Product and service usage",
       "Threats found",
       "to alert the organization to threats found on the device",
       f_threat_detection),
    EV("usage.agent", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 5001, "Device Inventory Info", 5,
       "Product and service usage",
       "Agent version",
       "to know which agent version runs on each device",
       f_usage_agent),
    EV("usage.action", MTD_CAT_REQUIRED, MTD_EPOL_USAGE_EXACT, 0, "Base Event", 0,
       "Product and service usage",
       "Actions in the agent",
       "to know which agent features are used",
       f_usage_action),
    EV("usage.crash", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 0, "Base Event", 0,
       "Product and service usage",
       "Agent crashes",
       "to find and fix crashes of the agent; holds no user content",
       f_usage_crash),
    EV("usage.memory", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 0, "Base Event", 0,
       "Product and service usage",
       "Agent memory use",
       "to keep the agent's memory use in check",
       f_usage_memory),
    EV("diag.bundle", MTD_CAT_DIAGNOSTIC, MTD_EPOL_OPTIONAL, 0, "Base Event", 0,
       "Optional: diagnostic",
       "Diagnostic bundle",
       "to investigate a problem you reported; sent only when you attach it to feedback",
       f_diag_bundle),
    EV("feedback.submission", MTD_CAT_FEEDBACK, MTD_EPOL_OPTIONAL, 0, "Base Event", 0,
       "Optional: feedback",
       "Your feedback",
       "to read what you tell us; sent only when you submit feedback",
       f_feedback),
    EV("consent.change", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 0, "Base Event", 0,
       "Product and service usage",
       "Your consent choice",
       "to honour your consent choice, including deleting optional data on revocation",
       f_consent),
    EV("usage.ldp", MTD_CAT_REQUIRED, MTD_EPOL_NONE, 0, "Base Event", 0,
       "Product and service usage",
       "Agent actions, under local differential privacy",
       "to count, across all devices, how many use each agent feature, without learning it of any one device",
       f_usage_ldp),
};
const size_t mtd_event_ntypes = sizeof(mtd_event_types) / sizeof(mtd_event_types[0]);
