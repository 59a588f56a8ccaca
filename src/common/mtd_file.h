/* mtd_file: small, careful file helpers.
 *
 * mtd_file_read() reads a whole file with a hard size cap (outside files are never
 * trusted to be small). mtd_file_write_atomic() writes to a temporary file, fsyncs it,
 * renames it over the target and fsyncs the directory, so a crash leaves either the old
 * or the new content, never a torn one. Returned memory belongs to the caller. */
#ifndef MTD_FILE_H
#define MTD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int mtd_file_read(const char *path, size_t max, uint8_t **out, size_t *len);
int mtd_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
int mtd_mkdir_p(const char *path, mode_t mode);
int mtd_fsync_dir(const char *dir);
/* Removes a directory tree (no symlinks followed). */
int mtd_rm_rf(const char *path);
/* Reads the first line of a small text file into out (without newline). */
int mtd_file_read_line(const char *path, char *out, size_t outlen);
int mtd_path_join(char *out, size_t outlen, const char *a, const char *b);
/* The MTD_E* code of an errno: ENOENT, EACCES/EPERM/EROFS (MTD_EACCES), ENOSPC,
 * EEXIST; MTD_EIO otherwise. Every helper here returns these. */
int mtd_errno_code(int e);

#endif
