/* mtd_schema: the one declaration of every event and field openmtd can send.
 *
 * DESIGN.md section 3: "Adding a field anywhere else must be impossible". The table in
 * mtd_schema.c is read by the privacy gate (what may leave the device and how it is
 * transformed), the collector's validator (what may be accepted), the store (the
 * columns of each event table) and the privacy statement generators. Nothing else
 * names fields: a source that emits a field not declared here has it dropped by the
 * gate, and a collector that receives one rejects the batch.
 *
 * The table is static, read-only data; lookups return pointers into it. */
#ifndef MTD_SCHEMA_H
#define MTD_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#define MTD_SCHEMA_VERSION 1

typedef enum {
    MTD_T_STR,     /* UTF-8 string, at most max_len bytes */
    MTD_T_INT,     /* 64-bit signed integer */
    MTD_T_BOOL,
    MTD_T_TIME,    /* RFC 3339 UTC string */
    MTD_T_ENUM,    /* string from enum_values */
    MTD_T_STRLIST, /* array of strings, at most max_items items of max_len bytes */
} mtd_ftype;

typedef enum {
    MTD_CAT_REQUIRED,   /* needed for the service, from every enrolled device */
    MTD_CAT_DIAGNOSTIC, /* optional: user consent at feedback + tenant policy */
    MTD_CAT_FEEDBACK,   /* optional: what the user submits */
} mtd_category;

typedef enum {
    MTD_SENS_NONE,   /* non-identifying (OS version, package name) */
    MTD_SENS_QUASI,  /* quasi-identifier: IP, URL, domain, free text, timing */
    MTD_SENS_PSEUDO, /* pseudonymous: already a keyed pseudonym or a random ID */
    MTD_SENS_DIRECT, /* direct identifier: never leaves the device raw */
} mtd_sensitivity;

typedef enum {
    MTD_X_KEEP,        /* sent as the source gave it (after type and length checks) */
    MTD_X_PSEUDONYMIZE,/* HMAC-SHA256(tenant key, purpose || value), see mtd_pseudo.h */
    MTD_X_TRUNCATE,    /* cut as the policy asks: URL -> domain, IP -> /24 or /48 */
    MTD_X_DROP,        /* declared so the gate recognises it, never sent */
} mtd_transform;

/* What kind of personal data a field is, for the privacy statements (Apple's
 * NSPrivacyCollectedDataType and Google Play's Data safety types). */
typedef enum {
    MTD_DK_NONE,          /* technical metadata, not personal data */
    MTD_DK_DEVICE_ID,     /* device or other IDs */
    MTD_DK_USER_ID,       /* account / directory identifiers */
    MTD_DK_DEVICE_INFO,   /* OS, model, CPU */
    MTD_DK_INSTALLED_APPS,
    MTD_DK_BROWSING,      /* URLs, domains, DNS names */
    MTD_DK_NETWORK,       /* IP addresses, ports, connection counts */
    MTD_DK_SECURITY,      /* threat detections */
    MTD_DK_INTERACTION,   /* actions taken in the agent */
    MTD_DK_CRASH,
    MTD_DK_PERFORMANCE,   /* memory, CPU, network usage */
    MTD_DK_DIAGNOSTICS,   /* other diagnostic data */
    MTD_DK_FEEDBACK,      /* user-written feedback */
    MTD_DK_EMAIL,
    MTD_DK__COUNT
} mtd_datakind;

/* Which tenant-policy switch governs a field (applied by the gate, checked again by
 * the collector). */
typedef enum {
    MTD_POL_NONE,
    MTD_POL_URL,         /* report_urls: full | domain | none */
    MTD_POL_APP_DETAILS, /* report_app_details: full | minimal */
} mtd_fpolicy;

typedef struct {
    const char *name;
    mtd_ftype type;
    mtd_sensitivity sens;
    mtd_transform xf;
    mtd_datakind kind;
    mtd_fpolicy policy;
    unsigned max_len;               /* bytes per string (STR, TIME, ENUM, list items) */
    unsigned max_items;             /* STRLIST only */
    const char *purpose;            /* pseudonym purpose label (PSEUDONYMIZE only) */
    const char *const *enum_values; /* NULL-terminated (ENUM only) */
    const char *ocsf;               /* OCSF attribute this field maps to */
    const char *label;              /* what a person reads in the privacy statement */
    int required;                   /* the event is invalid without it */
} mtd_field;

/* Which tenant-policy switch governs a whole event. */
typedef enum {
    MTD_EPOL_NONE,
    MTD_EPOL_CONNECTIONS, /* report_connections: off | threats | all */
    MTD_EPOL_OPTIONAL,    /* optional_data + user consent */
    MTD_EPOL_USAGE_EXACT, /* exact usage counts: not under usage_privacy=ldp */
} mtd_epolicy;

typedef struct {
    const char *name;        /* "device.info" */
    mtd_category category;
    mtd_epolicy policy;
    int ocsf_class_uid;      /* OCSF 1.3.0 class; 0 = Base Event (see mtd_ocsf.h) */
    const char *ocsf_class;  /* "Device Inventory Info" */
    int ocsf_category_uid;
    const char *section;     /* DESIGN.md section 1 heading it belongs to */
    const char *title;       /* what a person calls it: "Installed apps" */
    const char *why;         /* why the service needs it, for the statement */
    const mtd_field *fields;
    size_t nfields;
} mtd_event_type;

/* The envelope: fields every event carries (tenant, device, user, time, schema). */
extern const mtd_field mtd_envelope_fields[];
extern const size_t mtd_envelope_nfields;

extern const mtd_event_type mtd_event_types[];
extern const size_t mtd_event_ntypes;

const mtd_event_type *mtd_schema_event(const char *name);
/* Looks a field up in the event's own fields, then in the envelope. */
const mtd_field *mtd_schema_field(const mtd_event_type *ev, const char *name);
const char *mtd_category_name(mtd_category c);
const char *mtd_sensitivity_name(mtd_sensitivity s);
const char *mtd_transform_name(mtd_transform x);
const char *mtd_ftype_name(mtd_ftype t);

/* Checks one value against its field declaration (type, length, enum, pseudonym
 * format). Returns 0 or MTD_EINVAL / MTD_ETOOBIG; *why names the problem. */
int mtd_schema_check_value(const mtd_field *f, const json_t *v, const char **why);

/* Validates a whole event as it arrives at the collector: the event type is declared,
 * every key is declared, every value fits, every required field is present, and
 * direct identifiers are pseudonyms. On failure returns a negative code and writes a
 * one-line reason naming the field into why (size whylen). */
int mtd_schema_validate(const json_t *event, const mtd_event_type **type, char *why,
                        size_t whylen);

#endif
