/* Unit tests of the spool: round trips, persistence across reopen, a torn tail cut at
 * every byte, a corrupted record skipped with its neighbours kept, the disk cap's
 * eviction order, consent purge, encryption at rest, a full disk, the lock, and
 * sequence numbers that keep increasing; recovery that opens only the records it must
 * (the key check, records from before payload checksums), forged records dropped when
 * read, and a compacted segment larger than recovery's read buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_bytes.h"
#include "common/mtd_crc32c.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_util.h"
#include "spool/mtd_spool.h"

#include <openssl/evp.h>

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

/* The spool's own record layout, restated for the tests that forge records: header
 * {magic, length, seq, class, CRC-32C}, then the sealed payload {nonce, ciphertext, tag}
 * with the first 17 header bytes as AAD. */
#define HDR 21
#define SEAL 28

/* Appends one sealed record to the file at path, as the spool would write it, with a
 * checksum over the header only (payload_crc 0: how records were written before the
 * checksum covered sealed payloads) or over header and payload. */
static void append_sealed(const char *file, uint64_t seq, const char *txt, int payload_crc)
{
    char kp[128], hex[80];
    uint8_t key[32];
    snprintf(kp, sizeof kp, "%s/spool.key", dir);
    assert_int_equal(mtd_file_read_line(kp, hex, sizeof hex), 0);
    assert_int_equal(mtd_unhex(hex, key, 32), 0);
    size_t len = strlen(txt), plen = len + SEAL;
    uint8_t rec[HDR + 256 + SEAL];
    assert_true(len <= 256);
    mtd_put_le32(rec, 0x4c4f4f53u);
    mtd_put_le32(rec + 4, (uint32_t)plen);
    mtd_put_le64(rec + 8, seq);
    rec[16] = 0;
    uint8_t *nonce = rec + HDR, *ct = nonce + 12, *tag = ct + len;
    memset(nonce, 7, 4);
    memcpy(nonce + 4, rec + 8, 8);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;
    assert_true(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) &&
                EVP_EncryptUpdate(c, NULL, &n, rec, HDR - 4) &&
                EVP_EncryptUpdate(c, ct, &n, (const uint8_t *)txt, (int)len) &&
                EVP_EncryptFinal_ex(c, ct + n, &n) &&
                EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag));
    EVP_CIPHER_CTX_free(c);
    uint32_t crc = mtd_crc32c(0, rec, HDR - 4);
    mtd_put_le32(rec + 17, payload_crc ? mtd_crc32c(crc, rec + HDR, plen) : crc);
    int fd = open(file, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, rec, HDR + plen), (ssize_t)(HDR + plen));
    close(fd);
}

/* Recovery checks every record by its checksum and opens only the first live one (the
 * key check): a spool of 1,000 records is read back whole with one record decrypted,
 * and a ciphertext byte changed on disk is caught by the checksum alone. */
static void recovery_decrypts_only_the_key_check(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    char txt[32], c[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(txt, sizeof txt, "record-%04d", i);
        add(s, 0, txt);
    }
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    mtd_spool_recovery rec;
    s = open_spool(1, 0, &rec);
    assert_int_equal(rec.records, 1000);
    assert_int_equal(rec.decrypted, 1);
    assert_int_equal(rec.corrupt_records, 0);
    mtd_spool_close(s);
    char p[128];
    log_path(p, sizeof p);
    int fd = open(p, O_RDWR);
    size_t one = HDR + strlen("record-0000") + SEAL;
    assert_int_equal(pwrite(fd, "X", 1, (off_t)(500 * one + HDR + 14)), 1); /* record 500's ciphertext */
    close(fd);
    s = open_spool(1, 0, &rec);
    assert_int_equal(rec.records, 999);
    assert_int_equal(rec.corrupt_records, 1);
    assert_int_equal(rec.decrypted, 1);
    mtd_spool_batch b;
    assert_int_equal(mtd_spool_peek(s, SIZE_MAX, SIZE_MAX, &b), 0);
    assert_int_equal(b.n, 999);
    snprintf(c, sizeof c, "%.*s", (int)b.recs[500].len, (char *)b.recs[500].data);
    assert_string_equal(c, "record-0501");
    mtd_spool_batch_free(&b);
    mtd_spool_close(s);
}

/* A record whose checksum was forged over changed ciphertext passes recovery, and its
 * tag fails when a peek opens it: it is left out, counted and never sent. */
static void forged_record_is_dropped_when_read(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    add(s, 0, "genuine");
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    char p[128], c[256];
    log_path(p, sizeof p);
    append_sealed(p, 2, "forged", 1); /* sealed under the right key, then changed: */
    uint8_t *d;
    size_t len;
    assert_int_equal(mtd_file_read(p, 1 << 20, &d, &len), 0);
    size_t at = HDR + 7 + SEAL; /* the second record */
    d[at + HDR + 12] ^= 1;      /* its first ciphertext byte */
    mtd_put_le32(d + at + 17, mtd_crc32c(mtd_crc32c(0, d + at, HDR - 4), d + at + HDR, 6 + SEAL));
    assert_int_equal(mtd_file_write_atomic(p, d, len, 0600), 0);
    free(d);
    mtd_spool_recovery rec;
    s = open_spool(1, 0, &rec);
    assert_int_equal(rec.records, 2);
    assert_int_equal(rec.corrupt_records, 0);
    contents(s, c, sizeof c);
    assert_string_equal(c, "genuine");
    mtd_spool_stats ss;
    mtd_spool_stats_get(s, &ss);
    assert_int_equal(ss.corrupt_dropped, 1);
    assert_int_equal(ss.records, 1);
    mtd_spool_close(s);
}

/* Records written before the checksum covered sealed payloads (header only) are still
 * read: each is opened to check its tag. */
static void records_with_header_checksums_are_read(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    mtd_spool_close(s);
    char p[128], c[256];
    log_path(p, sizeof p);
    append_sealed(p, 1, "old-one", 0);
    append_sealed(p, 2, "old-two", 0);
    mtd_spool_recovery rec;
    s = open_spool(1, 0, &rec);
    assert_int_equal(rec.records, 2);
    assert_int_equal(rec.decrypted, 2);
    assert_int_equal(rec.corrupt_records, 0);
    contents(s, c, sizeof c);
    assert_string_equal(c, "old-one|old-two");
    uint64_t seq;
    assert_int_equal(mtd_spool_append(s, 0, "new", 3, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    s = open_spool(1, 0, &rec);
    contents(s, c, sizeof c);
    assert_string_equal(c, "old-one|old-two|new");
    mtd_spool_close(s);
}

/* A compacted segment far larger than recovery's read buffer (8 MiB), with records
 * that straddle its refills, comes back record for record. */
static void large_compacted_segment_is_read_back_whole(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    static char big[700 * 1024];
    uint64_t seq;
    for (int i = 0; i < 40; i++) {
        memset(big, 'a' + i % 26, sizeof big);
        assert_int_equal(mtd_spool_append(s, i == 20 ? MTD_SPOOL_OPTIONAL : 0, big, sizeof big - i, &seq), 0);
        assert_int_equal(mtd_spool_commit(s), 0);
    }
    uint64_t n;
    assert_int_equal(mtd_spool_purge_optional(s, &n), 0); /* compacts into one segment */
    assert_int_equal(n, 1);
    mtd_spool_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls %s | grep -c '^seg-') -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    mtd_spool_recovery rec;
    s = open_spool(1, 0, &rec);
    assert_int_equal(rec.records, 39);
    assert_int_equal(rec.torn_bytes, 0);
    mtd_spool_batch b;
    assert_int_equal(mtd_spool_peek(s, SIZE_MAX, SIZE_MAX, &b), 0);
    assert_int_equal(b.n, 39);
    for (size_t k = 0; k < b.n; k++) {
        int i = (int)b.recs[k].seq - 1;
        assert_int_not_equal(i, 20);
        assert_int_equal(b.recs[k].len, sizeof big - (size_t)i);
        assert_int_equal(b.recs[k].data[0], 'a' + i % 26);
        assert_int_equal(b.recs[k].data[b.recs[k].len - 1], 'a' + i % 26);
    }
    mtd_spool_batch_free(&b);
    mtd_spool_close(s);
}

/* A spool from before segments kept its records in DIR/spool.log: they are taken over
 * into a segment and the old log goes. */
static void log_from_before_segments_is_taken_over(void **st)
{
    mtd_spool *s = open_spool(1, 0, NULL);
    add(s, 0, "kept-one");
    add(s, 0, "kept-two");
    assert_int_equal(mtd_spool_commit(s), 0);
    mtd_spool_close(s);
    char seg[128], old[128], c[256];
    log_path(seg, sizeof seg);
    snprintf(old, sizeof old, "%s/spool.log", dir);
    assert_int_equal(rename(seg, old), 0);
    s = open_spool(1, 0, NULL);
    contents(s, c, sizeof c);
    assert_string_equal(c, "kept-one|kept-two");
    assert_int_not_equal(access(old, F_OK), 0);
    mtd_spool_close(s);
    s = open_spool(1, 0, NULL);
    contents(s, c, sizeof c);
    assert_string_equal(c, "kept-one|kept-two");
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
        cmocka_unit_test_setup_teardown(recovery_decrypts_only_the_key_check, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_record_is_dropped_when_read, setup, teardown),
        cmocka_unit_test_setup_teardown(records_with_header_checksums_are_read, setup, teardown),
        cmocka_unit_test_setup_teardown(large_compacted_segment_is_read_back_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(log_from_before_segments_is_taken_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
