/* mtd_yara: libyara compile with precise errors, and scans with a time limit. */
#include "scan/mtd_yara.h"
#include "common/mtd_err.h"
#include "schema/mtd_schema.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yara.h>

struct mtd_yara {
    YR_RULES *rules;
    size_t nrules;
};

struct mtd_yara_scanner {
    YR_SCANNER *sc;
    mtd_yara_fn fn;
    void *ctx;
    int stopped;
};

typedef struct {
    char *why;
    size_t wl;
    int errors;
} compile_ctx;

/* The first error names its file and line; warnings are not errors. */
static void on_compile(int level, const char *file, int line, const YR_RULE *rule, const char *msg,
                       void *user)
{
    compile_ctx *c = user;
    if (level != YARA_ERROR_LEVEL_ERROR || c->errors++)
        return;
    snprintf(c->why, c->wl, "%s:%d: %s", file ? file : "?", line, msg);
}

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* Is v one of the schema's values of threat.detection's field? */
static int schema_value(const char *field, const char *v)
{
    const mtd_field *f = mtd_schema_field(mtd_schema_event("threat.detection"), field);
    json_t *j = json_string(v);
    const char *w;
    int ok = f && j && mtd_schema_check_value(f, j, &w) == 0;
    json_decref(j);
    return ok;
}

/* The line of "rule NAME" in file (for a meta error found after compiling). */
static int rule_line(const char *file, const char *name)
{
    FILE *f = fopen(file, "r");
    char buf[4096];
    int line = 0, found = 0;
    size_t n = strlen(name);
    while (f && !found && fgets(buf, sizeof buf, f)) {
        line++;
        for (char *p = strstr(buf, "rule"); p && !found; p = strstr(p + 1, "rule")) {
            char *q = p + 4;
            while (*q == ' ' || *q == '\t')
                q++;
            found = q > p + 4 && !strncmp(q, name, n) && !(q[n] == '_' || (q[n] >= '0' && q[n] <= '9') ||
                                                          ((q[n] | 32) >= 'a' && (q[n] | 32) <= 'z'));
        }
    }
    if (f)
        fclose(f);
    return found ? line : 0;
}

/* Checks every rule's threat meta against the schema. */
static int check_metas(YR_RULES *rules, const char *const *files, size_t n, size_t *count, char *why, size_t wl)
{
    const YR_RULE *rule;
    *count = 0;
    yr_rules_foreach(rules, rule) {
        (*count)++;
        const YR_META *meta;
        yr_rule_metas_foreach(rule, meta) {
            const char *field = !strcmp(meta->identifier, "category") ? "category"
                              : !strcmp(meta->identifier, "severity") ? "severity"
                              : !strcmp(meta->identifier, "threat_name") ? "threat_name" : NULL;
            if (!field)
                continue;
            if (meta->type == META_TYPE_STRING && schema_value(field, meta->string))
                continue;
            const char *file = "?";
            for (size_t i = 0; i < n; i++)
                if (!strcmp(base_name(files[i]), rule->ns->name))
                    file = files[i];
            char allowed[400] = "";
            const mtd_field *f = mtd_schema_field(mtd_schema_event("threat.detection"), field);
            for (int k = 0; f && f->enum_values && f->enum_values[k]; k++)
                snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
                         k ? ", " : ": one of ", f->enum_values[k]);
            snprintf(why, wl, "%s:%d: rule %s: meta %s must be a string%s", file,
                     rule_line(file, rule->identifier), rule->identifier, field,
                     allowed[0] ? allowed : " of at most 256 bytes");
            return MTD_EINVAL;
        }
    }
    return 0;
}

int mtd_yara_compile(const char *const *files, size_t n, mtd_yara **out, char *why, size_t wl)
{
    *out = NULL;
    if (yr_initialize() != ERROR_SUCCESS) {
        snprintf(why, wl, "libyara could not start");
        return MTD_EIO;
    }
    YR_COMPILER *c = NULL;
    compile_ctx cc = {.why = why, .wl = wl};
    int r = yr_compiler_create(&c) == ERROR_SUCCESS ? 0 : MTD_ENOMEM;
    if (r == 0) {
        yr_compiler_set_callback(c, on_compile, &cc);
        yr_compiler_set_include_callback(c, NULL, NULL, NULL); /* includes are refused */
        if (yr_compiler_define_string_variable(c, "entry_name", "") != ERROR_SUCCESS ||
            yr_compiler_define_string_variable(c, "package", "") != ERROR_SUCCESS)
            r = MTD_ENOMEM;
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) {
            snprintf(why, wl, "%s: %s", files[i], strerror(errno));
            r = MTD_ENOENT;
            break;
        }
        /* libyara counts every error; the callback kept the first */
        if (yr_compiler_add_file(c, f, base_name(files[i]), files[i]) > 0)
            r = MTD_EINVAL;
        fclose(f);
    }
    YR_RULES *rules = NULL;
    if (r == 0 && yr_compiler_get_rules(c, &rules) != ERROR_SUCCESS) {
        snprintf(why, wl, "libyara could not build the rule set");
        r = MTD_ENOMEM;
    }
    if (c)
        yr_compiler_destroy(c);
    size_t count = 0;
    if (r == 0 && (r = check_metas(rules, files, n, &count, why, wl)) == 0) {
        *out = calloc(1, sizeof **out);
        if (!*out)
            r = MTD_ENOMEM;
    }
    if (r) {
        if (rules)
            yr_rules_destroy(rules);
        yr_finalize();
        return r;
    }
    (*out)->rules = rules;
    (*out)->nrules = count;
    return 0;
}

void mtd_yara_free(mtd_yara *y)
{
    if (!y)
        return;
    yr_rules_destroy(y->rules);
    free(y);
    yr_finalize();
}

size_t mtd_yara_rules(const mtd_yara *y)
{
    return y ? y->nrules : 0;
}

static const char *meta_of(const YR_RULE *rule, const char *key, const char *dflt)
{
    const YR_META *meta;
    yr_rule_metas_foreach(rule, meta)
        if (meta->type == META_TYPE_STRING && !strcmp(meta->identifier, key))
            return meta->string;
    return dflt;
}

static int on_scan(YR_SCAN_CONTEXT *context, int message, void *data, void *user)
{
    mtd_yara_scanner *s = user;
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    const YR_RULE *rule = data;
    mtd_yara_hit h = {.ns = rule->ns->name, .rule = rule->identifier,
                      .threat_name = meta_of(rule, "threat_name", rule->identifier),
                      .category = meta_of(rule, "category", "malware"),
                      .severity = meta_of(rule, "severity", "high")};
    if (s->fn(s->ctx, &h)) {
        s->stopped = 1;
        return CALLBACK_ABORT;
    }
    return CALLBACK_CONTINUE;
}

int mtd_yara_scanner_new(const mtd_yara *y, mtd_yara_scanner **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return MTD_ENOMEM;
    if (yr_scanner_create(y->rules, &(*out)->sc) != ERROR_SUCCESS) {
        free(*out);
        *out = NULL;
        return MTD_ENOMEM;
    }
    yr_scanner_set_callback((*out)->sc, on_scan, *out);
    /* one match of a string is enough to decide a rule: libyara stops looking */
    yr_scanner_set_flags((*out)->sc, SCAN_FLAGS_FAST_MODE);
    return 0;
}

void mtd_yara_scanner_free(mtd_yara_scanner *s)
{
    if (!s)
        return;
    yr_scanner_destroy(s->sc);
    free(s);
}

int mtd_yara_scan(mtd_yara_scanner *s, const uint8_t *buf, size_t len, const char *entry_name,
                  const char *package, int timeout_s, mtd_yara_fn fn, void *ctx)
{
    s->fn = fn, s->ctx = ctx, s->stopped = 0;
    if (yr_scanner_define_string_variable(s->sc, "entry_name", entry_name ? entry_name : "") ||
        yr_scanner_define_string_variable(s->sc, "package", package ? package : ""))
        return MTD_ENOMEM;
    yr_scanner_set_timeout(s->sc, timeout_s < 1 ? 1 : timeout_s);
    int r = yr_scanner_scan_mem(s->sc, buf, len);
    if (r == ERROR_SUCCESS || (r == ERROR_CALLBACK_ERROR && s->stopped))
        return 0;
    return r == ERROR_SCAN_TIMEOUT ? MTD_EBUSY : r == ERROR_INSUFFICIENT_MEMORY ? MTD_ENOMEM : MTD_EIO;
}
