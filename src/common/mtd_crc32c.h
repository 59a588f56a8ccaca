/* mtd_crc32c: CRC-32C (Castagnoli), the checksum of spool records.
 *
 * Hand-written because zlib offers only CRC-32 (IEEE), which bench_spool measured at a
 * fifth of the spool's append time; CRC-32C has an instruction on x86-64 (SSE 4.2),
 * used when the CPU has it, with a table-driven fallback giving the same values. */
#ifndef MTD_CRC32C_H
#define MTD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t mtd_crc32c(uint32_t crc, const void *data, size_t len);

#endif
