#!/usr/bin/env bash
# bench_apk: inventory of 1,000 APKs built by aapt, by `mtd-agent inventory apps` and by
# `aapt dump badging` over the same files in the same run; the results must agree on
# package, version and permissions. Median of 3 timings each. Then APK hashing
# throughput (the agent's SHA-256 over whole APKs, through OpenSSL) against
# `openssl speed -evp sha256` on one core.
set -euo pipefail
BIN=${MTD_BIN:?}
N=${MTD_BENCH_APKS:-1000}
W=$(mktemp -d /tmp/mtd-bench-apk.XXXXXX)
trap 'rm -rf "$W"' EXIT
FW=/usr/share/android-framework-res/framework-res.apk
mkdir -p "$W/apks"
for i in $(seq 1 "$N"); do
    d=$W/src/$i; mkdir -p "$d/res/values"
    echo "<resources><string name=\"v\">$i.0</string></resources>" >"$d/res/values/s.xml"
    perms=""
    for p in CAMERA INTERNET READ_SMS ACCESS_FINE_LOCATION READ_CONTACTS; do
        [ $(( (i + ${#p}) % 3 )) = 0 ] && perms="$perms<uses-permission android:name=\"android.permission.$p\"/>"
    done
    printf '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.bench.app%d" android:versionCode="%d" android:versionName="@string/v"><uses-sdk android:minSdkVersion="21" android:targetSdkVersion="33"/>%s<application/></manifest>' \
        "$i" "$i" "$perms" >"$d/AndroidManifest.xml"
    aapt package -f -M "$d/AndroidManifest.xml" -S "$d/res" -I "$FW" -F "$W/apks/app$i.apk" >/dev/null
done
rm -rf "$W/src"

median() { local v; mapfile -t v < <(sort -n); echo "${v[$(( ${#v[@]} / 2 ))]}"; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
ours() { "$BIN/mtd-agent" inventory apps --apk "$W"/apks/*.apk --json >"$W/ours.jsonl"; }
theirs() { for f in "$W"/apks/*.apk; do aapt dump badging "$f"; done >"$W/aapt.txt" 2>/dev/null; }
t_ours=$(for r in 1 2 3; do ms ours; done | median)
t_aapt=$(for r in 1 2 3; do ms theirs; done | median)

jq -r '"\(.package) \(.version_code) \(.version_name) \(.permissions | join(","))"' "$W/ours.jsonl" | sort >"$W/a"
awk '/^package:/ { if (p) print p, perms; split($0, f, "\x27"); p = f[2] " " f[4] " " f[6]; perms = "" }
     /^uses-permission: name=/ { split($0, f, "\x27"); perms = perms (perms ? "," : "") f[2] }
     END { if (p) print p, perms }' "$W/aapt.txt" | sed 's/ $//' | sort >"$W/b"
sed -i 's/ $//' "$W/a"
if ! diff -q "$W/a" "$W/b" >/dev/null; then
    echo "bench_apk: results differ from aapt:"; diff "$W/a" "$W/b" | head -5; exit 1
fi
echo "apk: $N APKs: mtd-agent inventory $t_ours ms, aapt dump badging $t_aapt ms (medians of 3), identical package/version/permissions; $(awk -v a="$t_aapt" -v b="$t_ours" 'BEGIN { printf "%.1f", a / b }')x faster (target >= 20x)"

# hashing: the agent hashes every APK whole; compare with OpenSSL's own figure
big=$W/big.apk # a real APK: the first one's entries plus 256 MiB of stored assets
python3 - "$W/apks/app1.apk" "$big" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1:3]
with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as b:
    for i in a.infolist():
        b.writestr(i, a.read(i.filename))
    b.writestr("assets/big.bin", os.urandom(256 << 20))
PY
t_hash=$(for r in 1 2 3; do ms "$BIN/mtd-agent" inventory apps --apk "$big" --json; done | median)
ossl=$(openssl speed -evp sha256 -seconds 2 -bytes 16384 2>/dev/null | awk '/^sha256|^SHA256/ { v = $NF } END { sub("k", "", v); print v }')
size_mb=$(( $(stat -c %s "$big") / 1000000 ))
ours_mbs=$(awk -v t="$t_hash" -v m="$size_mb" 'BEGIN { printf "%.0f", m / (t / 1000) }')
echo "apk: SHA-256 of a 256 MiB APK-sized file: ${ours_mbs} MB/s (whole inventory call, median of 3); openssl speed -evp sha256 (16 KiB blocks, one core): $(awk -v k="$ossl" 'BEGIN { printf "%.0f", k / 1000 }') MB/s; ratio $(awk -v a="$ours_mbs" -v k="$ossl" 'BEGIN { printf "%.2f", a / (k / 1000) }')"
