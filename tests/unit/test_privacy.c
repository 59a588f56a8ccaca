/* Unit tests of the privacy core: pseudonyms (against an independent Python hmac
 * computation), the schema validator, the policy parser and the privacy gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/mtd_err.h"
#include "privacy/mtd_gate.h"
#include "privacy/mtd_ident.h"
#include "privacy/mtd_policy_check.h"
#include "privacy/mtd_pseudo.h"
#include "schema/mtd_schema.h"

#include <string.h>

static mtd_tenant_key test_key(void)
{
    mtd_tenant_key k;
    for (int i = 0; i < 32; i++)
        k.key[i] = (uint8_t)i;
    return k;
}

/* Expected values: python3 hmac.new(bytes(range(32)), b'upn\0alice@example.com',
 * sha256).digest()[:16], base64url without padding. */
static void pseudonym_matches_independent_hmac(void **st)
{
    mtd_tenant_key k = test_key();
    char out[MTD_PSEUDO_LEN + 1];
    assert_int_equal(mtd_pseudo(&k, "upn", "alice@example.com", 17, out), 0);
    assert_string_equal(out, "ps_JDUA4_fHcSTK62MKaDrE4Q");
    assert_int_equal(mtd_pseudo(&k, "device", "02:42:ac:11:00:02", 17, out), 0);
    assert_string_equal(out, "ps_3BFya3ttFnaUX3D61iaoEQ");
}

static void pseudonym_depends_on_purpose_and_key(void **st)
{
    mtd_tenant_key k = test_key(), k2 = test_key();
    k2.key[0] ^= 1;
    char a[32], b[32], c[32];
    mtd_pseudo(&k, "upn", "x", 1, a);
    mtd_pseudo(&k, "dir_user", "x", 1, b);
    mtd_pseudo(&k2, "upn", "x", 1, c);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_true(mtd_pseudo_is_valid(a));
    assert_false(mtd_pseudo_is_valid("02:42:ac:11:00:02"));
    assert_false(mtd_pseudo_is_valid("0123456789abcdef0123456789abcdef")); /* a machine-id */
    assert_false(mtd_pseudo_is_valid("ps_JDUA4_fHcSTK62MKaDrE4"));       /* one short */
    assert_false(mtd_pseudo_is_valid("ps_JDUA4_fHcSTK62MKaDrE4!"));
}

/* Issue 13.5: "Demo.User@Example.com" found nothing where the lowercase form found the
 * device. One user, one pseudonym, however the UPN is spelled or composed. */
static void identifiers_are_normalized_before_pseudonyms(void **st)
{
    mtd_tenant_key k = test_key();
    char out[MTD_UPN_MAX + 1], why[200], a[MTD_PSEUDO_LEN + 1], b[MTD_PSEUDO_LEN + 1];
    assert_int_equal(mtd_ident_upn("Demo.User@Example.COM", out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "demo.user@example.com");
    /* "Jose" + COMBINING ACUTE ACCENT -> NFC "José"; "ÉLODIE" -> "élodie"; the German
     * sharp s stays (lowercase, not case folding) */
    assert_int_equal(mtd_ident_upn("Jose\xcc\x81@EXAMPLE.com", out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "jos\xc3\xa9@example.com");
    assert_int_equal(mtd_ident_upn("\xc3\x89LODIE@x.fr", out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "\xc3\xa9lodie@x.fr");
    assert_int_equal(mtd_ident_upn("stra\xc3\x9f" "e@x.de", out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "stra\xc3\x9f" "e@x.de");
    assert_int_equal(mtd_ident_pseudo(&k, "upn", "Demo.User@Example.com", 21, a, why, sizeof why), 0);
    assert_int_equal(mtd_pseudo(&k, "upn", "demo.user@example.com", 21, b), 0);
    assert_string_equal(a, b);
    assert_int_equal(mtd_ident_pseudo(&k, "upn", "Jose\xcc\x81@example.com", 18, a, why, sizeof why), 0);
    assert_int_equal(mtd_ident_pseudo(&k, "upn", "JOS\xc3\x89@example.com", 17, b, why, sizeof why), 0);
    assert_string_equal(a, b);
    /* other purposes are pseudonymized as given */
    assert_int_equal(mtd_ident_pseudo(&k, "dir_device", "AbC", 3, a, why, sizeof why), 0);
    assert_int_equal(mtd_pseudo(&k, "dir_device", "AbC", 3, b), 0);
    assert_string_equal(a, b);
    /* MAC addresses: lowercase hex without separators */
    static const char *const macs[] = {"02:42:AC:11:00:02", "02-42-ac-11-00-02", "0242.ac11.0002", "0242AC110002"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(mtd_ident_mac(macs[i], out, sizeof out), 0);
        assert_string_equal(out, "0242ac110002");
    }
    assert_int_equal(mtd_ident_mac("02:42:ac:11:00", out, sizeof out), MTD_EINVAL);
    assert_int_equal(mtd_ident_mac("02:42:ac:11:00:0g", out, sizeof out), MTD_EINVAL);
    assert_int_equal(mtd_ident_mac("02:42:ac:11:00:02:03", out, sizeof out), MTD_EINVAL);
}

/* Issue 13.11: an empty UPN, one with a newline or quotes, were accepted. */
static void a_upn_that_is_not_one_is_refused(void **st)
{
    char out[MTD_UPN_MAX + 1], why[200];
    static const struct { const char *in, *why; } bad[] = {
        {"", "a user principal name must be 1 to 512 bytes"},
        {"a@b\nc", "a user principal name may not hold a control character (a newline, a tab...)"},
        {"a\"b@c", "a user principal name may not hold a quote"},
        {"o'brien@c", "a user principal name may not hold a quote"},
        {"a b@c", "a user principal name may not hold a space"},
        {"a\xc2\xa0" "b@c", "a user principal name may not hold a space"},
        {"a\x1b" "[31m@c", "a user principal name may not hold a control character (a newline, a tab...)"},
        {"nobody", "a user principal name has the form name@domain"},
        {"@example.com", "a user principal name has the form name@domain"},
        {"a@", "a user principal name has the form name@domain"},
        {"\xff@x", "a user principal name must be UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        assert_int_equal(mtd_ident_upn(bad[i].in, out, sizeof out, why, sizeof why), MTD_EINVAL);
        assert_string_equal(why, bad[i].why);
    }
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[10] = '@';
    assert_int_equal(mtd_ident_upn(big, out, sizeof out, why, sizeof why), MTD_EINVAL);
}

static json_t *valid_event(void)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s}", "event", "usage.action", "schema", 1,
                     "event_id", "AAAAAAAAAAAAAAAAAAAAAA", "time", "2026-11-24T10:00:00Z",
                     "tenant_id", "0123456789abcdef", "device_id", "ps_JDUA4_fHcSTK62MKaDrE4Q",
                     "action", "enroll");
}

static void schema_accepts_valid_event(void **st)
{
    json_t *e = valid_event();
    const mtd_event_type *t;
    char why[256];
    assert_int_equal(mtd_schema_validate(e, &t, why, sizeof why), 0);
    assert_string_equal(t->name, "usage.action");
    json_decref(e);
}

static void check_rejects(json_t *e, int code, const char *why_part)
{
    const mtd_event_type *t;
    char why[256] = "";
    assert_int_equal(mtd_schema_validate(e, &t, why, sizeof why), code);
    if (!strstr(why, why_part))
        fail_msg("reason \"%s\" lacks \"%s\"", why, why_part);
    json_decref(e);
}

static void schema_rejects_bad_events(void **st)
{
    json_t *e = valid_event();
    json_object_set_new(e, "mac", json_string("aa:bb:cc:dd:ee:ff"));
    check_rejects(e, MTD_ESCHEMA, "field \"mac\" is not declared");

    e = valid_event();
    json_object_set_new(e, "device_id", json_string("aa:bb:cc:dd:ee:ff"));
    check_rejects(e, MTD_EINVAL, "must be a pseudonym");

    e = valid_event();
    json_object_set_new(e, "event", json_string("browser.history"));
    check_rejects(e, MTD_ESCHEMA, "not declared in the schema");

    e = valid_event();
    json_object_set_new(e, "action", json_string("format_disk"));
    check_rejects(e, MTD_EINVAL, "not one of the allowed values");

    e = valid_event();
    json_object_del(e, "tenant_id");
    check_rejects(e, MTD_EINVAL, "required field \"tenant_id\" is missing");

    e = valid_event();
    json_object_set_new(e, "time", json_string("yesterday"));
    check_rejects(e, MTD_EINVAL, "RFC 3339");

    e = valid_event();
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    json_object_set_new(e, "tenant_id", json_string(big));
    check_rejects(e, MTD_ETOOBIG, "too long");
}

static void every_direct_identifier_is_pseudonymized_or_typed_by_user(void **st)
{
    /* The schema's own promise: a direct identifier either becomes a pseudonym on the
     * device, or is the feedback email the user typed (category feedback). */
    for (size_t i = 0; i < mtd_event_ntypes; i++)
        for (size_t j = 0; j < mtd_event_types[i].nfields; j++) {
            const mtd_field *f = &mtd_event_types[i].fields[j];
            if (f->sens != MTD_SENS_DIRECT || f->xf == MTD_X_PSEUDONYMIZE)
                continue;
            if (strcmp(f->name, "email") || mtd_event_types[i].category != MTD_CAT_FEEDBACK)
                fail_msg("%s.%s is a direct identifier sent raw", mtd_event_types[i].name, f->name);
        }
    for (size_t j = 0; j < mtd_envelope_nfields; j++)
        if (mtd_envelope_fields[j].sens == MTD_SENS_DIRECT)
            assert_int_equal(mtd_envelope_fields[j].xf, MTD_X_PSEUDONYMIZE);
}

static void policy_parse_is_strict(void **st)
{
    mtd_policy p;
    mtd_policy_default(&p);
    char why[256];
    json_t *j = json_pack("{s:b,s:s}", "optional_data", 1, "report_urls", "full");
    assert_int_equal(mtd_policy_from_json(&p, j, why, sizeof why), 0);
    assert_true(p.optional_data);
    assert_int_equal(p.report_urls, MTD_URLS_FULL);
    json_decref(j);
    j = json_pack("{s:s}", "report_urls", "everything");
    assert_int_equal(mtd_policy_from_json(&p, j, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "policy key \"report_urls\" must be one of none|domain|full");
    assert_int_equal(p.report_urls, MTD_URLS_FULL); /* unchanged on error */
    json_decref(j);
    j = json_pack("{s:b}", "optionl_data", 1);
    assert_int_equal(mtd_policy_from_json(&p, j, why, sizeof why), MTD_EINVAL);
    assert_string_equal(why, "unknown policy key \"optionl_data\"");
    json_decref(j);
    json_t *round = mtd_policy_to_json(&p);
    mtd_policy q;
    mtd_policy_default(&q);
    assert_int_equal(mtd_policy_from_json(&q, round, why, sizeof why), 0);
    assert_memory_equal(&p, &q, sizeof p);
    json_decref(round);
}

static void gate_init_test(mtd_gate *g, int optional, int consent)
{
    mtd_gate_ctx c;
    memset(&c, 0, sizeof c);
    c.key = test_key();
    strcpy(c.tenant_id, "0123456789abcdef");
    strcpy(c.device_id, "ps_3BFya3ttFnaUX3D61iaoEQ");
    strcpy(c.upn, "ps_JDUA4_fHcSTK62MKaDrE4Q");
    mtd_policy_default(&c.policy);
    c.policy.optional_data = optional;
    c.consent = consent;
    mtd_gate_init(g, &c);
}

static void gate_drops_undeclared_and_adds_envelope(void **st)
{
    mtd_gate g;
    gate_init_test(&g, 0, 0);
    json_t *in = json_pack("{s:s,s:s,s:s,s:s}", "os_name", "Debian GNU/Linux", "os_version", "12",
                           "device_id_source", "mac", "serial_number", "SN-123456");
    json_t *out;
    char why[256];
    assert_int_equal(mtd_gate_pass(&g, "device.info", in, &out, why, sizeof why), 0);
    assert_null(json_object_get(out, "serial_number"));
    assert_int_equal(g.stats.dropped_fields, 1);
    assert_string_equal(json_string_value(json_object_get(out, "os_version")), "12");
    assert_string_equal(json_string_value(json_object_get(out, "device_id")), "ps_3BFya3ttFnaUX3D61iaoEQ");
    assert_string_equal(json_string_value(json_object_get(out, "upn")), "ps_JDUA4_fHcSTK62MKaDrE4Q");
    assert_int_equal(json_integer_value(json_object_get(out, "schema")), MTD_SCHEMA_VERSION);
    json_decref(in);
    json_decref(out);
}

static void gate_refuses_undeclared_event_and_optional_without_consent(void **st)
{
    mtd_gate g;
    gate_init_test(&g, 1, 0);
    json_t *in = json_pack("{s:s}", "type", "smile");
    json_t *out;
    char why[256];
    assert_int_equal(mtd_gate_pass(&g, "feedback.submission", in, &out, why, sizeof why), MTD_EPOLICY);
    assert_string_equal(why, "feedback.submission: optional data without the user's consent");
    assert_null(out);
    gate_init_test(&g, 0, 1);
    assert_int_equal(mtd_gate_pass(&g, "feedback.submission", in, &out, why, sizeof why), MTD_EPOLICY);
    assert_string_equal(why, "feedback.submission: the tenant's policy does not allow optional data");
    gate_init_test(&g, 1, 1);
    assert_int_equal(mtd_gate_pass(&g, "feedback.submission", in, &out, why, sizeof why), 0);
    json_decref(out);
    assert_int_equal(mtd_gate_pass(&g, "browser.history", in, &out, why, sizeof why), MTD_ESCHEMA);
    json_decref(in);
}

static void gate_cuts_urls_by_policy(void **st)
{
    mtd_gate g;
    json_t *in = json_pack("{s:s,s:s,s:s,s:s}", "url", "https://user:pw@evil.example.com:8443/login?id=42",
                           "domain", "evil.example.com", "threat_name", "Phish.Generic", "category", "phishing");
    json_t *out;
    char why[256];
    const char *expect[] = {NULL, "https://evil.example.com:8443/", "https://user:pw@evil.example.com:8443/login?id=42"};
    for (int pol = MTD_URLS_NONE; pol <= MTD_URLS_FULL; pol++) {
        gate_init_test(&g, 0, 0);
        g.ctx.policy.report_urls = (mtd_url_policy)pol;
        assert_int_equal(mtd_gate_pass(&g, "web.detection", in, &out, why, sizeof why), 0);
        const char *url = json_string_value(json_object_get(out, "url"));
        if (expect[pol])
            assert_string_equal(url, expect[pol]);
        else
            assert_null(url);
        /* and the collector's check agrees with what the gate produced */
        const char *reason;
        mtd_fieldview v = mtd_fieldview_json(out);
        assert_int_equal(mtd_policy_check_event(&g.ctx.policy, 0, mtd_schema_event("web.detection"),
                                                &v, &reason, why, sizeof why), 0);
        json_decref(out);
    }
    json_decref(in);
}

static void collector_check_rejects_what_gate_would_cut(void **st)
{
    mtd_policy p;
    mtd_policy_default(&p);
    p.report_urls = MTD_URLS_DOMAIN;
    json_t *e = json_pack("{s:s}", "url", "https://evil.example.com/path/secret");
    const char *reason;
    char why[256];
    mtd_fieldview v = mtd_fieldview_json(e);
    assert_int_equal(mtd_policy_check_event(&p, 0, mtd_schema_event("web.detection"), &v, &reason,
                                            why, sizeof why), MTD_EPOLICY);
    assert_string_equal(reason, "url_forbidden");
    json_decref(e);
    e = json_pack("{s:s,s:b}", "ip", "198.51.100.7", "threat", 0);
    v = mtd_fieldview_json(e);
    p.report_connections = MTD_CONN_THREATS;
    assert_int_equal(mtd_policy_check_event(&p, 0, mtd_schema_event("net.connection"), &v, &reason,
                                            why, sizeof why), MTD_EPOLICY);
    assert_string_equal(reason, "connections_forbidden");
    p.report_connections = MTD_CONN_ALL;
    assert_int_equal(mtd_policy_check_event(&p, 0, mtd_schema_event("net.connection"), &v, &reason,
                                            why, sizeof why), 0);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pseudonym_matches_independent_hmac),
        cmocka_unit_test(pseudonym_depends_on_purpose_and_key),
        cmocka_unit_test(identifiers_are_normalized_before_pseudonyms),
        cmocka_unit_test(a_upn_that_is_not_one_is_refused),
        cmocka_unit_test(schema_accepts_valid_event),
        cmocka_unit_test(schema_rejects_bad_events),
        cmocka_unit_test(every_direct_identifier_is_pseudonymized_or_typed_by_user),
        cmocka_unit_test(policy_parse_is_strict),
        cmocka_unit_test(gate_drops_undeclared_and_adds_envelope),
        cmocka_unit_test(gate_refuses_undeclared_event_and_optional_without_consent),
        cmocka_unit_test(gate_cuts_urls_by_policy),
        cmocka_unit_test(collector_check_rejects_what_gate_would_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
