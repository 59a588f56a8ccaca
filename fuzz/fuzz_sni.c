/* fuzz_sni: the first bytes of a flow as a client sends them: TLS ClientHello (one or
 * several records), HTTP request headers, QUIC v1 Initial. */
#include "webprot/mtd_sni.h"

#include <stdint.h>
#include <string.h>

static void check(mtd_sni_result r, const char *name)
{
    if (r == MTD_SNI_FOUND && (strlen(name) == 0 || strlen(name) > MTD_SNI_NAME_MAX))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[MTD_SNI_NAME_MAX + 1];
    check(mtd_sni_tls(data, size, name), name);
    check(mtd_sni_http(data, size, name), name);
    check(mtd_sni_quic(data, size, name), name);
    (void)mtd_sni_sniff(data, size);
    static mtd_sni_quic_ctx qc; /* two halves as two packets of one connection */
    memset(qc.seen, 0, sizeof qc.seen);
    check(mtd_sni_quic_add(&qc, data, size / 2, name), name);
    check(mtd_sni_quic_add(&qc, data + size / 2, size - size / 2, name), name);
    return 0;
}
