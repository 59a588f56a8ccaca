/* mtd_err: error codes shared by every module.
 *
 * Functions return 0 on success or a negative MTD_E* code; they never hide errors in
 * globals. Messages for people are built once, at the edge (CLI, HTTP response), and
 * name the offending input; mtd_strerror() gives the generic text of a code. */
#ifndef MTD_ERR_H
#define MTD_ERR_H

enum {
    MTD_OK = 0,
    MTD_ENOMEM = -1,    /* allocation failed */
    MTD_EIO = -2,       /* read/write/fsync failed (errno kept by caller) */
    MTD_ENOENT = -3,    /* file, record or key not found */
    MTD_EINVAL = -4,    /* bad argument or malformed input */
    MTD_ETOOBIG = -5,   /* input over a hard cap */
    MTD_ETRUNC = -6,    /* input ended early */
    MTD_EAUTH = -7,     /* missing or wrong credential */
    MTD_EPERM = -8,     /* credential valid but not allowed */
    MTD_ENET = -9,      /* network unreachable / transfer failed */
    MTD_EPROTO = -10,   /* peer answered something we cannot use */
    MTD_EEXIST = -11,   /* already exists */
    MTD_EPOLICY = -12,  /* forbidden by tenant policy or consent */
    MTD_ESCHEMA = -13,  /* not declared in the schema */
    MTD_EBUSY = -14,    /* overloaded, try later */
    MTD_ENOSPC = -15,   /* disk full or cap reached */
    MTD_ECORRUPT = -16, /* checksum or structure mismatch in stored data */
    MTD_EUNSUP = -17,   /* valid input we do not support */
    MTD_EACCES = -18,   /* the file system refused: permission denied or read-only */
    MTD_EUNAVAIL = -19, /* a service we depend on (the database) cannot be reached now;
                           not an answer about the request: retry later */
};

const char *mtd_strerror(int err);

#endif
