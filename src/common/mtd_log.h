/* mtd_log: one-line structured logs to stderr ("ts level component msg key=value...").
 * The level is set once at start (MTD_LOG=debug|info|warn|error, default info). */
#ifndef MTD_LOG_H
#define MTD_LOG_H

enum { MTD_LOG_DEBUG, MTD_LOG_INFO, MTD_LOG_WARN, MTD_LOG_ERROR };

/* Sets the level from MTD_LOG, else from default_level (the CLI tools are quiet by
 * default, the collector logs every request). */
void mtd_log_init_level(int default_level);
void mtd_log_init(void);
void mtd_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
