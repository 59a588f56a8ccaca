/* mtd_enroll: POST /v1/enroll, an enrollment token traded for a device credential. */
#include "collector/mtd_collector.h"
#include "common/mtd_err.h"
#include "common/mtd_util.h"

#include <string.h>

void mtd_handle_enroll(mtd_collector *c, mtd_req *rq, mtd_resp *rs)
{
    mtd_tenant *tn = rq->tn;
    char cred[160], chash[65], key[65];
    mtd_policy pol;
    if (mtd_token_new("dev", tn->id, cred, sizeof cred, chash) != 0 ||
        mtd_store_cred_add(tn->store, chash) != 0 || mtd_store_policy_get(tn->store, &pol) != 0) {
        mtd_resp_error(rs, 500, "store_error", "could not register the device");
        return;
    }
    mtd_tenant_key_to_hex(&tn->key, key);
    mtd_store_audit(tn->store, rq->actor, "device.enroll", chash);
    mtd_resp_json(rs, 200, json_pack("{s:s,s:s,s:s,s:s,s:o}", "tenant_id", tn->id, "org_id", tn->org_id,
                                     "device_credential", cred, "tenant_key", key, "policy",
                                     mtd_policy_to_json(&pol)));
}
