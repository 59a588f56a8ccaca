/* mtd_yara: YARA rules through libyara (Debian's libyara-dev), over buffers the
 * scanner decompressed in memory.
 *
 * Rule files compile into one rule set, each file in its own namespace (its base
 * name). A file that does not compile is refused with its name, the line and
 * libyara's message; `include` is disabled, since rule files come from feeds and must
 * not read other files of the device. A rule may say what it finds in its meta:
 * threat_name, category (a threat.detection category), severity (info..critical); a
 * meta value outside the schema's lists refuses the file too. Rules see two external
 * string variables: entry_name (the path of the entry inside the APK) and package.
 *
 * A mtd_yara is shared read-only by every scanning thread; a mtd_yara_scanner is one
 * thread's (libyara's scanner, with the time limit). */
#ifndef MTD_YARA_H
#define MTD_YARA_H

#include <stddef.h>
#include <stdint.h>

typedef struct mtd_yara mtd_yara;
typedef struct mtd_yara_scanner mtd_yara_scanner;

typedef struct {
    const char *ns, *rule;   /* namespace (file base name) and rule identifier */
    const char *threat_name; /* meta threat_name, else the rule identifier */
    const char *category;    /* meta category, else "malware" */
    const char *severity;    /* meta severity, else "high" */
} mtd_yara_hit;

/* Returns non-zero to stop the scan. */
typedef int (*mtd_yara_fn)(void *ctx, const mtd_yara_hit *hit);

int mtd_yara_compile(const char *const *files, size_t n, mtd_yara **out, char *why, size_t whylen);
void mtd_yara_free(mtd_yara *y);
size_t mtd_yara_rules(const mtd_yara *y);

int mtd_yara_scanner_new(const mtd_yara *y, mtd_yara_scanner **out);
void mtd_yara_scanner_free(mtd_yara_scanner *s);
/* Scans buf with at most timeout_s seconds (>= 1). MTD_EBUSY when the time ran out,
 * MTD_EIO for another libyara error; hits go to fn. */
int mtd_yara_scan(mtd_yara_scanner *s, const uint8_t *buf, size_t len, const char *entry_name,
                  const char *package, int timeout_s, mtd_yara_fn fn, void *ctx);

#endif
