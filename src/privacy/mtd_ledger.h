/* mtd_ledger: the device's transparency ledger: every record that left the device,
 * exactly as sent, with the time it was acknowledged by the collector and the batch it
 * went in. `mtd-agent privacy ledger` shows it to the user. It is a JSON-lines file in
 * the agent's state directory (0600), appended and fsynced after each acknowledged
 * batch, so what the user reads is what the organization received. */
#ifndef MTD_LEDGER_H
#define MTD_LEDGER_H

#include <stddef.h>
#include <stdint.h>

/* records: n pointers to the JSON text of each record, as sent. */
int mtd_ledger_append(const char *path, const char *batch_key, const uint8_t *const *records,
                      const size_t *lens, size_t n);

#endif
