#!/usr/bin/env bash
# The privacy statement read as an employee would (issue 13, items 1-3): the Markdown
# page, the PrivacyInfo.xcprivacy and the Data safety answers tell one story, derived
# from the schema and, with --state, from the tenant's current policy (what it sends
# now, and what it could send if the admin changed it); it says plainly that the
# organization finds every record of a person by their user name (and the collector
# does exactly that); installed apps are a quasi-identifier; optional items are
# declared optional.
source "$(dirname "$0")/lib.sh"

DATA=$WORK/data
start_collector "$DATA"
ctl() { "$BIN/mtdctl" --server "$URL" "$@"; }
agent() { "$BIN/mtd-agent" "$@"; }
ctl --token "$OPERATOR_TOKEN" tenant create "Statement Co" --json >"$WORK/t.json"
ADMIN=$(jq -r .admin_token "$WORK/t.json"); ENR=$(jq -r .enroll_token "$WORK/t.json")
UPN=dana.statement@statementco.example
ST=$WORK/agent
agent enroll --state "$ST" --server "$URL" --token "$ENR" --user "$UPN" >/dev/null
# the most an admin can turn on
echo '{"report_urls": "full", "report_connections": "all", "optional_data": true}' >"$WORK/p.json"
ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
agent run --state "$ST" --once >/dev/null   # fetches the policy, sends the inventory

agent privacy statement --format schema >"$WORK/schema.json"
for s in generic state; do
    opt=(); [ $s = state ] && opt=(--state "$ST")
    agent privacy statement "${opt[@]}" >"$WORK/$s.md"
    agent privacy statement --format datasafety "${opt[@]}" >"$WORK/$s.csv"
    agent privacy statement --format xcprivacy "${opt[@]}" >"$WORK/$s.plist"
done

# 1. one story: the Markdown's kinds of data are the Data safety rows, with the same
# required/optional answer and the same settings; nothing a store form declares collected
# is listed as never collected; with the policy, each format says what it sends now
check_story() { # $1 = generic | state
    python3 - "$WORK/$1.md" "$WORK/$1.csv" "$WORK/$1.plist" "$1" <<'PY'
import csv, plistlib, re, sys
md, rows = open(sys.argv[1]).read(), list(csv.DictReader(open(sys.argv[2])))
plist, state = plistlib.load(open(sys.argv[3], 'rb')), sys.argv[4] == 'state'
def section(title):
    m = re.search(r'^## ' + title + r'.*?\n(.*?)(?=^## )', md, re.S | re.M)
    assert m, 'no section ' + title
    return m.group(1)
glance = {}
for line in section('Kinds of data at a glance').splitlines():
    cells = [c.strip() for c in line.strip('|').split('|')]
    if len(cells) >= 3 and ': ' in cells[0]:
        glance[tuple(cells[0].split(': ', 1))] = cells
ds = {(r['data_category'], r['data_type']): r for r in rows}
assert set(glance) == set(ds), ('kinds differ', set(glance) ^ set(ds))
for k, r in ds.items():
    g = glance[k]
    assert g[1].split(';')[0] == r['required_or_optional'], (k, g[1], r['required_or_optional'])
    assert (g[1] == 'required; some items optional') == (r['required_or_optional'] == 'required' and r['optional_items'] != ''), (k, g)
    assert g[2] == (r['depends_on'] or 'none'), (k, g[2], r['depends_on'])
    if state:
        assert g[3] == r['sent_now'], (k, g[3], r['sent_now'])
never = section('What is never collected').lower()
for (cat, typ), r in ds.items():
    noun = ' '.join(typ.lower().split()[-2:])  # "browsing history", "installed apps"
    assert noun not in never, 'never collected names "%s", which Data safety declares collected' % noun
browsing = ds[('Web browsing', 'Web browsing history')]
assert 'report_connections' in browsing['depends_on'] and 'report_urls' in browsing['depends_on'], browsing
assert 'NSPrivacyCollectedDataTypeBrowsingHistory' in [t['NSPrivacyCollectedDataType'] for t in plist['NSPrivacyCollectedDataTypes']]
if state:
    assert browsing['sent_now'] == 'sent', browsing
    assert '**Now:** a blocked page\'s address: the full URL; background connections: every background connection and DNS lookup.' in md
    assert '| `report_connections` |' in md and re.search(r'^\| `report_connections` \|.*\| `all` \|$', md, re.M), 'settings table lacks the current value'
    assert '<!-- your organization\'s current settings: sent -->' in open(sys.argv[3]).read()
else:
    assert 'sent_now' not in rows[0]
    assert re.search(r'^\| `report_connections` \|.*\| `threats` \|$', md, re.M), 'settings table lacks the default'
PY
}
check_story generic || fail "the generic statement's formats disagree"
check_story state || fail "the statement with the tenant's policy (full URLs, all connections) disagrees or hides it"
ok "Markdown, Data safety and xcprivacy tell one story, generic and under report_urls=full, report_connections=all"

# under a narrower policy the page says what is not sent now, and still what could be
echo '{"report_urls": "none", "report_connections": "off", "optional_data": false, "usage_privacy": "ldp"}' >"$WORK/p.json"
ctl --token "$ADMIN" policy set "$WORK/p.json" >/dev/null
agent run --state "$ST" --once >/dev/null
agent privacy statement --state "$ST" >"$WORK/narrow.md"
agent privacy statement --format datasafety --state "$ST" >"$WORK/narrow.csv"
grep -qF -- "- While your organization keeps its current settings, a record of every site and server you use: background connections: not sent." "$WORK/narrow.md" || fail "the narrow policy's page does not say connections are not sent"
grep -qF '**Now:** not sent: your organization does not allow optional data.' "$WORK/narrow.md" || fail "optional data not said to be off"
grep -qF '`all`: every one, that is the servers and sites this device contacts' "$WORK/narrow.md" || fail "the page no longer says what report_connections=all would send"
grep -qF '**Now:** not sent: only a randomized daily report of the actions.' "$WORK/narrow.md" || fail "exact usage counts not said to be off under usage_privacy=ldp"
# every setting of the policy is on the page: described, or said not to change what is sent
ctl --token "$ADMIN" policy get --json | jq -r 'keys[]' >"$WORK/keys"
[ "$(wc -l <"$WORK/keys")" -ge 10 ] || fail "policy get: $(cat "$WORK/keys")"
while read -r k; do
    grep -qF "\`$k\`" "$WORK/narrow.md" || fail "the page does not mention the policy setting $k"
done <"$WORK/keys"
! grep -q "not described by this statement" "$WORK/narrow.md" || fail "a policy setting is not described: $(grep "not described" "$WORK/narrow.md")"
python3 - "$WORK/narrow.csv" <<'PY' || fail "Data safety under the narrow policy"
import csv, sys
rows = {r['data_type']: r for r in csv.DictReader(open(sys.argv[1]))}
assert rows['Email address']['sent_now'] == 'not sent', rows['Email address']
assert rows['Installed apps']['sent_now'] == 'sent', rows['Installed apps']
assert 'usage_privacy' in rows['App interactions']['depends_on'], rows['App interactions']
PY
ok "under report_connections=off and no optional data the page says what is not sent now, and what could be"

# 2. "pseudonymized" is not "anonymous": the page says the organization finds a person's
# records by user name, and the collector does exactly that
grep -qF "**Your organization can find every record about you by your user name.**" "$WORK/generic.md" || fail "the page does not say records are found by user name"
grep -qF "Pseudonymized is not anonymous" "$WORK/generic.md" || fail "the page does not say pseudonymized is not anonymous"
grep -qF '`mtdctl user export`' "$WORK/generic.md" || fail "the page does not name the look-up"
ctl --token "$ADMIN" user export "$UPN" --json >"$WORK/export.json"
assert_eq 1 "$(jq '.devices | length' "$WORK/export.json")" "devices found by the user name"
[ "$(jq '.events["device.info"] | length' "$WORK/export.json")" -ge 1 ] || fail "the user's records are not found by the user name"
! grep -q "Only through a pseudonym" "$WORK/generic.md" || fail "a pseudonym is still presented as not identifying"
ok "the page says plainly the organization finds every record by user name, and user export does"

# installed apps: the list is a quasi-identifier, said in the summary and in the table
grep -qF "it is a quasi-identifier" "$WORK/generic.md" || fail "installed apps not called a quasi-identifier"
awk '/\(`app.inventory`\)/{f=1} f&&/^\| Package name \|/{print; exit}' "$WORK/generic.md" >"$WORK/pkg.row"
grep -qF "| Package name | Possibly: your list of apps, taken together, can single you out |" "$WORK/pkg.row" || fail "installed apps: $(cat "$WORK/pkg.row")"
# the email address is sent as typed: the page must not say it is pseudonymized
grep -qF -- "- **Sent as you typed it, not as a pseudonym:** Email address" "$WORK/generic.md" || fail "the email address is not said to be sent as typed"
! grep -q "(your user name, device identifiers, email) are replaced" "$WORK/generic.md" || fail "the page still says the email is pseudonymized"
ok "installed apps are a quasi-identifier; the email is said to be sent as typed"

# 3. Data safety: every item of an optional event is declared optional, never required
python3 - "$WORK/generic.csv" "$WORK/schema.json" <<'PY' || fail "Data safety lists optional items as required"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
schema = json.load(open(sys.argv[2]))
split = lambda s: [x for x in s.split('; ') if x]
required = {i.split(' (as ')[0] for r in rows for i in split(r['required_items'])}
optional = {i for r in rows for i in split(r['optional_items'])}
n = 0
for ev in schema['events']:
    if ev['category'] == 'required':
        continue
    for f in ev['fields']:
        if f['sensitivity'] == 'pseudonymous':
            continue  # random IDs (feedback ID): no data type of either store
        assert f['label'] in optional, ('not declared optional', ev['name'], f['label'])
        n += 1
for label in ('Build information', 'Scan status', 'CPU time used by the agent (ms)',
              'Network usage of the agent (bytes sent)'):
    assert label in optional and label not in required, label
diag = {r['data_type']: r for r in rows}['Diagnostics']
assert diag['required_or_optional'] == 'required' and 'OS name' in split(diag['required_items']), diag
assert n >= 10, n
PY
ok "Data safety declares the diagnostic and feedback items optional, the device's own info required"

stop_collector
finish
