/* mtd_crc32c: CRC-32C (Castagnoli), the checksum of spool records and of the
 * reputation database.
 *
 * Through Intel's ISA-L (crc32_iscsi), which picks the fastest code the CPU runs
 * (three interleaved streams of the SSE 4.2 instruction folded with PCLMULQDQ, AVX-512
 * where present, plain C elsewhere). zlib offers only CRC-32 (IEEE); the single stream
 * of the SSE 4.2 instruction this used to run by hand checked 1.6-2.6 GB/s here, where
 * ISA-L checks 9-10 GB/s of spool-sized records, and spool recovery is bound by it when
 * the files are in the page cache (bench_spool). */
#ifndef MTD_CRC32C_H
#define MTD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of data continuing crc (0 to start): mtd_crc32c(mtd_crc32c(0, a), b) is the
 * CRC of a followed by b. */
uint32_t mtd_crc32c(uint32_t crc, const void *data, size_t len);

#endif
