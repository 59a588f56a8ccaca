/* mtd_log: structured one-line logging to stderr. */
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_level = MTD_LOG_INFO;

void mtd_log_init(void)
{
    mtd_log_init_level(MTD_LOG_INFO);
}

void mtd_log_init_level(int default_level)
{
    const char *e = getenv("MTD_LOG");
    g_level = default_level;
    if (!e)
        return;
    if (!strcmp(e, "info")) g_level = MTD_LOG_INFO;
    if (!strcmp(e, "debug")) g_level = MTD_LOG_DEBUG;
    else if (!strcmp(e, "warn")) g_level = MTD_LOG_WARN;
    else if (!strcmp(e, "error")) g_level = MTD_LOG_ERROR;
}

void mtd_log(int level, const char *component, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < g_level)
        return;
    char ts[MTD_TIME_LEN], raw[2048], line[2048];
    mtd_time_now_rfc3339(ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* values come from requests (a path decoded from %0a or %1b): one line, no escapes */
    mtd_escape_ctl(raw, strlen(raw), line, sizeof line);
    /* one fprintf so that lines from several threads do not interleave */
    fprintf(stderr, "%s %s %s %s\n", ts, names[level], component, line);
}
