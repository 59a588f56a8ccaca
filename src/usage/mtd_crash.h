/* mtd_crash: crash reports, the agent's own and those of its app in a device snapshot
 * (DESIGN.md: "crash reports", the usage.crash event).
 *
 * The agent's own: mtd_crash_arm() installs a handler for the fatal signals that
 * writes a report with async-signal-safe code only (open, write, close, getpid,
 * clock_gettime, sigaction, raise; no allocation, no stdio, no lock): the signal, the
 * fault address, the agent's own frames as offsets in its executable (found by
 * walking frame pointers, each frame checked readable before it is read), its version
 * and build ID. Nothing else: no argument, environment, file name or user data is
 * within its reach. The report lands in STATE/crash/ and the next round sends it as
 * usage.crash through the gate (mtd_crash_collect), once.
 *
 * Snapshot crash logs (iOS .ips, Android tombstones) are parsed into the same struct by
 * mtd_crashlog.h and reduced to the same fields; only the agent's own app's are sent.
 *
 * Structs own no heap memory. */
#ifndef MTD_CRASH_H
#define MTD_CRASH_H

#include "collect/mtd_sources.h"

#include <jansson.h>
#include <stdint.h>

#define MTD_CRASH_FRAMES 32

typedef struct {
    char module[64];  /* file name of the image ("mtd-agent", "libmtd.so") */
    char path[256];   /* its path where the log names one (parsers only) */
    char build_id[48]; /* the image's, where the log gives it */
    uint64_t offset;  /* of the frame's address in that image */
    int own;          /* in the agent's own code */
} mtd_crash_frame;

typedef struct {
    char origin[8];     /* "agent", "ios", "android" */
    char process[256];  /* parsers: process or bundle the log is of */
    char signal[16];    /* "SIGSEGV" */
    char fault[24];     /* "0x10", "" when unknown */
    char version[64];
    char build_id[80];
    char time[32];      /* RFC 3339, "" when unknown */
    int nframes;
    mtd_crash_frame frames[MTD_CRASH_FRAMES];
} mtd_crash;

/* Installs the fatal-signal handler; reports go to STATE/crash/. Call once, early. */
int mtd_crash_arm(const char *state_dir, const char *version);

/* The usage.crash fields of a report: its own frames only, as "module+0xOFFSET". */
json_t *mtd_crash_fields(const mtd_crash *c);

/* Parses a report the handler wrote (a short "key value" text); 0 or MTD_EINVAL. */
int mtd_crash_parse_report(const uint8_t *buf, size_t len, mtd_crash *c);

/* The round's crash reports: the agent's own waiting in STATE/crash/, and those of its
 * app among the snapshot's crash logs not sent before. mtd_crash_commit, called once
 * the round is durable in the spool, forgets the reports sent so they go once. */
int mtd_crash_collect(const mtd_sources_cfg *cfg, mtd_emit_fn emit, void *ctx);
void mtd_crash_commit(const mtd_sources_cfg *cfg);

#endif
