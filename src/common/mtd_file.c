/* mtd_file: whole-file reads with caps, atomic writes, directory helpers. */
#include "common/mtd_file.h"
#include "common/mtd_err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The code of a failed system call's errno: a read-only or forbidden directory is
 * "permission denied" for the person who reads the message, not an I/O error. */
int mtd_errno_code(int e)
{
    switch (e) {
    case ENOENT: return MTD_ENOENT;
    case EACCES: case EPERM: case EROFS: return MTD_EACCES;
    case ENOSPC: case EDQUOT: return MTD_ENOSPC;
    case EEXIST: return MTD_EEXIST;
    case EMFILE: case ENFILE: return MTD_EBUSY; /* out of descriptors: try later */
    default: return MTD_EIO;
    }
}

/* Reads until EOF rather than trusting st_size: /proc and /sys files report 0, and a
 * file may grow while it is read. The cap holds either way. */
int mtd_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mtd_errno_code(errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return MTD_EINVAL;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        close(fd);
        return MTD_ETOOBIG;
    }
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    uint8_t *p = malloc(cap + 1);
    size_t got = 0;
    int rc = p ? 0 : MTD_ENOMEM;
    while (rc == 0) {
        if (got == cap) {
            if (cap > max) {
                rc = MTD_ETOOBIG;
                break;
            }
            uint8_t *q = realloc(p, cap * 2 + 1);
            if (!q) {
                rc = MTD_ENOMEM;
                break;
            }
            p = q;
            cap *= 2;
        }
        ssize_t r = read(fd, p + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = MTD_EIO;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (rc == 0 && got > max)
        rc = MTD_ETOOBIG;
    if (rc) {
        free(p);
        return rc;
    }
    p[got] = 0;
    *out = p;
    *len = got;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return mtd_errno_code(errno);
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int mtd_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return MTD_EIO;
    int r = fsync(fd) == 0 ? 0 : MTD_EIO;
    close(fd);
    return r;
}

int mtd_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return MTD_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return mtd_errno_code(errno);
    int r = write_all(fd, data, len);
    if (r == 0 && fsync(fd) != 0)
        r = MTD_EIO;
    close(fd);
    if (r == 0 && rename(tmp, path) != 0)
        r = mtd_errno_code(errno);
    if (r != 0) {
        unlink(tmp);
        return r;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    return mtd_fsync_dir(slash ? (dir[0] ? dir : "/") : ".");
}

int mtd_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return MTD_EINVAL;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return mtd_errno_code(errno);
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return mtd_errno_code(errno);
    struct stat st; /* an existing file of that name is no directory */
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return MTD_EEXIST;
    return 0;
}

int mtd_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : MTD_EIO;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : MTD_EIO;
    DIR *d = opendir(path);
    if (!d)
        return MTD_EIO;
    struct dirent *e;
    int r = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        if (mtd_path_join(sub, sizeof sub, path, e->d_name) != 0) {
            r = MTD_EINVAL;
            continue;
        }
        int rr = mtd_rm_rf(sub);
        if (rr)
            r = rr;
    }
    closedir(d);
    if (rmdir(path) != 0)
        r = MTD_EIO;
    return r;
}

int mtd_file_read_line(const char *path, char *out, size_t outlen)
{
    uint8_t *data;
    size_t len;
    int r = mtd_file_read(path, 1 << 16, &data, &len);
    if (r)
        return r;
    size_t i = 0;
    while (i < len && data[i] != '\n' && data[i] != '\r' && i + 1 < outlen) {
        out[i] = (char)data[i];
        i++;
    }
    out[i] = 0;
    free(data);
    return 0;
}

int mtd_path_join(char *out, size_t outlen, const char *a, const char *b)
{
    int n = snprintf(out, outlen, "%s/%s", a, b);
    return (n < 0 || (size_t)n >= outlen) ? MTD_EINVAL : 0;
}
