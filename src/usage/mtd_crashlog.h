/* mtd_crashlog: crash logs found in a device snapshot, parsed into mtd_crash:
 *
 * - iOS .ips (Apple's JSON crash report: one line of JSON header, then a JSON body
 *   with the exception, the threads and their frames as image index + offset, and the
 *   images used);
 * - Android tombstones (debuggerd's text: the process line ">>> name <<<", the signal
 *   line, and the crashing thread's backtrace "#00 pc OFFSET PATH (...) (BuildId: X)");
 *   a file may hold several, each after a "*** *** ***" line.
 *
 * Parsers take (buf, len), trust no length, and say in why what was wrong. A parsed
 * report keeps every frame; mtd_crashlog_reduce marks the app's own and decides
 * whether the report is the app's at all. */
#ifndef MTD_CRASHLOG_H
#define MTD_CRASHLOG_H

#include "usage/mtd_crash.h"

#include <stddef.h>
#include <stdint.h>

#define MTD_CRASHLOG_MAX_BYTES (4u << 20)

int mtd_crashlog_ips(const uint8_t *buf, size_t len, mtd_crash *c, char *why, size_t whylen);
/* Up to max tombstones of the file into c[]; *n gets how many. */
int mtd_crashlog_tombstones(const uint8_t *buf, size_t len, mtd_crash *c, int max, int *n,
                            char *why, size_t whylen);

/* 1 when the report is of the app package (its process, bundle, or a sub-process
 * "package:name"), its own frames marked (images inside the app's install directory
 * or bundle, or the main executable of an .ips); else 0. */
int mtd_crashlog_reduce(mtd_crash *c, const char *package);

/* The snapshot's crash logs (DIR/data/tombstones/tombstone_* of an Android snapshot,
 * DIR/crashes/ .ips files of an iOS one) not sent before: the app's own reports are
 * emitted as usage.crash; the digest of each file read goes into digests[] (at most
 * max, *n of them) for mtd_crashlog_remember once the round is durable. */
int mtd_crashlog_collect_snapshot(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx,
                                  char (*digests)[65], int max, int *n);
void mtd_crashlog_remember(const mtd_sources_cfg *cfg, char (*digests)[65], int n);

#endif
