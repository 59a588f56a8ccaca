/* mtd_host: device information and the device identifier of the Linux host itself,
 * which stands in for a managed device on these machines (DESIGN.md section 2).
 *
 * Device information comes from uname, /etc/os-release, /proc/cpuinfo and the DMI
 * attributes in /sys/class/dmi/id where readable. The identifier is the first available
 * of: the MAC address of the first non-loopback interface (by name), the machine-id
 * (standing in for Android's ANDROID_ID), or a random GUID kept in the agent's state
 * directory. The raw identifier is returned for the privacy gate to pseudonymize; it is
 * never stored or sent by this module. Roots are parameters so tests can use a fake
 * /sys or /etc. */
#ifndef MTD_HOST_H
#define MTD_HOST_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *sys_root;  /* "/sys" */
    const char *etc_root;  /* "/etc" */
    const char *proc_root; /* "/proc" */
} mtd_host_roots;

extern const mtd_host_roots mtd_host_default_roots;

/* Fields of a device.info event (os_name, os_version, manufacturer, model, cpu, build,
 * kernel); absent values are left out, never invented. Caller owns the object. */
json_t *mtd_host_device_info(const mtd_host_roots *roots);

/* The raw device identifier and its source ("mac", "android_id", "guid"). state_dir
 * holds the GUID file when neither a MAC nor a machine-id exists. */
int mtd_host_device_identifier(const mtd_host_roots *roots, const char *state_dir,
                               char *raw, size_t rawlen, const char **source);

#endif
