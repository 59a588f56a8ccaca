/* mtd_err: generic texts of the MTD_E* codes. */
#include "common/mtd_err.h"

const char *mtd_strerror(int err)
{
    switch (err) {
    case MTD_OK: return "success";
    case MTD_ENOMEM: return "out of memory";
    case MTD_EIO: return "input/output error";
    case MTD_ENOENT: return "not found";
    case MTD_EINVAL: return "invalid input";
    case MTD_ETOOBIG: return "too large";
    case MTD_ETRUNC: return "truncated input";
    case MTD_EAUTH: return "authentication failed";
    case MTD_EPERM: return "not permitted";
    case MTD_ENET: return "network error";
    case MTD_EPROTO: return "protocol error";
    case MTD_EEXIST: return "already exists";
    case MTD_EPOLICY: return "forbidden by policy or consent";
    case MTD_ESCHEMA: return "not declared in the schema";
    case MTD_EBUSY: return "busy";
    case MTD_ENOSPC: return "no space left";
    case MTD_ECORRUPT: return "corrupt data";
    case MTD_EUNSUP: return "unsupported";
    case MTD_EACCES: return "permission denied";
    case MTD_EUNAVAIL: return "the database cannot be reached";
    }
    return "unknown error";
}
