/* Unit tests of the spool: round trips, persistence across reopen, a torn tail cut at
 * every byte, a corrupted record skipped with its neighbours kept, the disk cap's
 * eviction order, consent purge, encryption at rest, a full disk, the lock, and
 * sequence numbers that keep increasing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "spool/mtd_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **st)
{
    strcpy(dir, "/tmp/mtd-spool-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    mtd_rm_rf(dir);
    return 0;
}

static mtd_spool *open_spool(int encrypt, uint64_t cap, mtd_spool_recovery *rec)
{
    mtd_spool_opts o = {.max_bytes = cap, .encrypt = encrypt};
    mtd_spool *s = NULL;
    mtd_spool_recovery local;
    int r = mtd_spool_open(dir, &o, &s, rec ? rec : &local);
    if (r)
        fail_msg("mtd_spool_open: %s", mtd_strerror(r));
    return s;
}

static void add(mtd_spool *s, uint8_t cls, const char *txt)
{
    uint64_t seq;
    assert_int_equal(mtd_spool_append(s, cls, txt, strlen(txt), &seq), 0);
}

/* The texts of every queued record, joined by '|'. */
static void contents(mtd_spool *s, char *out, size_t len)
{
    mtd_spool_batch b;
    assert_int_equal(mtd_spool_peek(s, SIZE_MAX, SIZE_MAX, &b), 0);
    out[0] = 0;
    for (size_t i = 0; i < b.n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%.*s", i ? "|" : "", (int)b.recs[i].len,
                 (char *)b.recs[i].data);
    mtd_spool_batch_free(&b);
}

static void round_trip_ack_and_reopen(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    add(s, MTD_SPOOL_REQUIRED, "one");
    add(s, MTD_SPOOL_OPTIONAL, "two");
    char c[256];
    contents(s, c, sizeof c);
    assert_string_equal(c, ""); /* not committed, not visible */
    assert_int_equal(mtd_spool_commit(s), 0);
    add(s, MTD_SPOOL_REQUIRED, "three");
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_batch b;
    assert_int_equal(mtd_spool_peek(s, 2, SIZE_MAX, &b), 0);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.recs[1].cls, MTD_SPOOL_OPTIONAL);
    uint64_t upto = b.recs[0].seq;
    mtd_spool_batch_free(&b);
    assert_int_equal(mtd_spool_ack(s, upto), 0);
    mtd_spool_close(s);
    s = open_spool(1, 0, NULL);
    contents(s, c, sizeof c);
    assert_string_equal(c, "two|three");
    uint64_t seq;
    assert_int_equal(mtd_spool_append(s, 0, "four", 4, &seq), 0);
    assert_int_equal(seq, 4); /* sequence numbers continue across restarts */
    mtd_spool_close(s);
}

/* The spool's current segment (after an open or a commit there is exactly one). */
static void log_path(char *p, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    p[0] = 0;
    while (d && (e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "seg-", 4))
            snprintf(p, n, "%s/%s", dir, e->d_name);
    if (d)
        closedir(d);
    if (!p[0])
        fail_msg("no segment file in %s", dir);
}

static void torn_tail_is_cut_at_every_byte(void **st)
{
    char p[128], c[256];
    mtd_spool *s = open_spool(0, 0, NULL);
    add(s, 0, "alpha");
    add(s, 0, "bravo");
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    log_path(p, sizeof p);
    struct stat sb;
    stat(p, &sb);
    off_t full = sb.st_size, last = full - (21 + 5); /* header 21 + "bravo" */
    for (off_t cut = last + 1; cut < full; cut++) {
        log_path(p, sizeof p); /* each open compacts into a new segment */
        assert_int_equal(truncate(p, cut), 0);
        mtd_spool_recovery rec;
        s = open_spool(0, 0, &rec);
        contents(s, c, sizeof c);
        assert_string_equal(c, "alpha");
        assert_int_equal(rec.torn_bytes, (uint64_t)(cut - last));
        assert_non_null(strstr(rec.detail, "torn bytes cut"));
        add(s, 0, "bravo");
        assert_int_equal(mtd_spool_commit(s), 0);
        mtd_spool_close(s);
        s = open_spool(0, 0, NULL); /* compacted back to the two whole records */
        mtd_spool_close(s);
    }
}

static void segments_roll_and_acknowledged_ones_go(void **st)
{
    mtd_spool *s = open_spool(0, 0, NULL);
    static char big[600 * 1024];
    memset(big, 'z', sizeof big);
    big[sizeof big - 1] = 0;
    uint64_t seq = 0;
    for (int i = 0; i < 40; i++) { /* 24 MB: three or more segments of 8 MiB */
        assert_int_equal(mtd_spool_append(s, 0, big, sizeof big - 1, &seq), 0);
        assert_int_equal(mtd_spool_commit(s), 0);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls %s | grep -c '^seg-') -ge 3", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mtd_spool_ack(s, 30), 0);
    mtd_spool_stats ss;
    mtd_spool_stats_get(s, &ss);
    assert_int_equal(ss.records, 10);
    assert_true(ss.bytes < 20u << 20); /* fully acknowledged segments were deleted */
    mtd_spool_close(s);
    s = open_spool(0, 0, NULL);
    mtd_spool_stats_get(s, &ss);
    assert_int_equal(ss.records, 10);
    mtd_spool_batch b;
    assert_int_equal(mtd_spool_peek(s, 1, SIZE_MAX, &b), 0);
    assert_int_equal(b.recs[0].seq, 31);
    mtd_spool_batch_free(&b);
    mtd_spool_close(s);
}

static void corrupt_record_is_skipped_and_reported(void **st)
{
    char p[128], c[256];
    mtd_spool *s = open_spool(0, 0, NULL);
    add(s, 0, "first");
    add(s, 0, "middle");
    add(s, 0, "last");
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    log_path(p, sizeof p);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 21 + 5 + 21 + 2), 1); /* a byte of "middle" */
    close(fd);
    mtd_spool_recovery rec;
    s = open_spool(0, 0, &rec);
    contents(s, c, sizeof c);
    assert_string_equal(c, "first|last");
    assert_int_equal(rec.corrupt_records, 1);
    assert_non_null(strstr(rec.detail, "1 corrupt records skipped"));
    mtd_spool_close(s);
}

static void cap_evicts_optional_before_required_oldest_first(void **st)
{
    mtd_spool *s = open_spool(0, 4 * (21 + 4), NULL); /* room for four 4-byte records */
    add(s, MTD_SPOOL_REQUIRED, "req1");
    add(s, MTD_SPOOL_OPTIONAL, "opt1");
    add(s, MTD_SPOOL_REQUIRED, "req2");
    add(s, MTD_SPOOL_OPTIONAL, "opt2");
    add(s, MTD_SPOOL_REQUIRED, "req3");
    add(s, MTD_SPOOL_REQUIRED, "req4");
    assert_int_equal(mtd_spool_commit(s), 0);
    char c[256];
    contents(s, c, sizeof c);
    assert_string_equal(c, "req1|req2|req3|req4");
    add(s, MTD_SPOOL_REQUIRED, "req5");
    assert_int_equal(mtd_spool_commit(s), 0);
    contents(s, c, sizeof c);
    assert_string_equal(c, "req2|req3|req4|req5");
    mtd_spool_stats ss;
    mtd_spool_stats_get(s, &ss);
    assert_int_equal(ss.evicted_optional, 2);
    assert_int_equal(ss.evicted_required, 1);
    mtd_spool_close(s);
}

static void purge_removes_only_optional_records(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    add(s, MTD_SPOOL_REQUIRED, "keep");
    add(s, MTD_SPOOL_OPTIONAL, "feedback");
    assert_int_equal(mtd_spool_commit(s), 0);
    add(s, MTD_SPOOL_OPTIONAL, "diag-uncommitted");
    uint64_t n;
    assert_int_equal(mtd_spool_purge_optional(s, &n), 0);
    assert_int_equal(n, 2);
    mtd_spool_close(s);
    s = open_spool(1, 0, NULL);
    char c[256];
    contents(s, c, sizeof c);
    assert_string_equal(c, "keep");
    mtd_spool_close(s);
}

static void records_are_encrypted_at_rest(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    add(s, 0, "{\"comment\":\"secret-marker-4242\"}");
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "grep -rqa secret-marker-4242 %s", dir);
    assert_int_not_equal(system(cmd), 0);
    char key[128];
    snprintf(key, sizeof key, "%s/spool.key", dir);
    struct stat sb;
    assert_int_equal(stat(key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    chmod(key, 0644); /* a key others can read is refused */
    mtd_spool_opts o = {.encrypt = 1};
    mtd_spool_recovery rec;
    mtd_spool *s2;
    assert_int_equal(mtd_spool_open(dir, &o, &s2, &rec), MTD_EPERM);
    chmod(key, 0600);
    /* another key: every record fails its authentication tag and is reported */
    mtd_file_write_atomic(key, "0000000000000000000000000000000000000000000000000000000000000000\n", 65, 0600);
    s = open_spool(1, 0, &rec);
    assert_int_equal(rec.corrupt_records, 1);
    mtd_spool_close(s);
}

static void full_disk_is_a_clear_error_and_loses_nothing(void **st)
{
    mtd_spool *s = open_spool(0, 0, NULL);
    add(s, 0, "before");
    assert_int_equal(mtd_spool_commit(s), 0);
    /* a file size limit stands in for a full disk: writes past it fail with EFBIG */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = (struct rlimit){200, old.rlim_max}; /* only the soft limit: it can be raised back */
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    add(s, 0, big);
    assert_int_equal(mtd_spool_commit(s), MTD_ENOSPC);
    setrlimit(RLIMIT_FSIZE, &old);
    char c[1024];
    contents(s, c, sizeof c);
    assert_string_equal(c, "before");
    assert_int_equal(mtd_spool_commit(s), 0); /* the retry writes the buffered record */
    mtd_spool_close(s);
    s = open_spool(0, 0, NULL);
    contents(s, c, sizeof c);
    assert_int_equal(strncmp(c, "before|xxx", 10), 0);
    assert_int_equal(strlen(c), strlen("before|") + strlen(big));
    mtd_spool_close(s);
}

static void one_process_at_a_time(void **st)
{
    mtd_spool *s = open_spool(0, 0, NULL);
    pid_t p = fork();
    if (p == 0) {
        mtd_spool_opts o = {0};
        mtd_spool *s2;
        mtd_spool_recovery rec;
        _exit(mtd_spool_open(dir, &o, &s2, &rec) == MTD_EBUSY ? 0 : 1);
    }
    int status;
    waitpid(p, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    mtd_spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_ack_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_is_cut_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_record_is_skipped_and_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(segments_roll_and_acknowledged_ones_go, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_evicts_optional_before_required_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(purge_removes_only_optional_records, setup, teardown),
        cmocka_unit_test_setup_teardown(records_are_encrypted_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(full_disk_is_a_clear_error_and_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(one_process_at_a_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
