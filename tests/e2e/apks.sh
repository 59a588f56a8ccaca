# apks.sh: APK fixtures for the scanner's end-to-end tests, built with Debian's aapt and
# signed with apksigner (sourced after lib.sh). Two signing keys, a and b.
FW=/usr/share/android-framework-res/framework-res.apk
for k in a b; do
    keytool -genkeypair -keystore "$WORK/$k.jks" -storepass testpass -keypass testpass -alias k \
        -keyalg RSA -keysize 2048 -validity 30 -dname "CN=scan test $k" >/dev/null 2>&1 || fail "keytool"
done
cert_of() { apksigner verify --print-certs "$1" | sed -n 's/^Signer #1 certificate SHA-256 digest: //p'; }

# build NAME PKG VERSION KEY [manifest body] [extra files as path=source...]: $WORK/NAME.apk
build() {
    local name=$1 pkg=$2 vc=$3 key=$4 body=${5:-} d=$WORK/src/$1
    shift 5 || shift $#
    mkdir -p "$d/res/values"
    echo '<resources><string name="l">L</string></resources>' >"$d/res/values/s.xml"
    cat >"$d/AndroidManifest.xml" <<XML
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="$pkg" android:versionCode="$vc" android:versionName="$vc.0">
  <uses-sdk android:minSdkVersion="24" android:targetSdkVersion="33"/>
  $body
</manifest>
XML
    case "$body" in *"<application"*) ;; *) sed -i 's|</manifest>|<application android:label="@string/l"/></manifest>|' "$d/AndroidManifest.xml" ;; esac
    aapt package -f -M "$d/AndroidManifest.xml" -S "$d/res" -I "$FW" -F "$d/u.apk" >/dev/null 2>"$d/err" || fail "aapt $name: $(cat "$d/err")"
    for f in "$@"; do # entry=file: added under that name
        mkdir -p "$d/add/$(dirname "${f%%=*}")"; cp "${f#*=}" "$d/add/${f%%=*}"
        (cd "$d/add" && aapt add "$d/u.apk" "${f%%=*}" >/dev/null) || fail "aapt add $f"
    done
    apksigner sign --ks "$WORK/$key.jks" --ks-pass pass:testpass --min-sdk-version 24 \
        --out "$WORK/$name.apk" "$d/u.apk" 2>"$d/err" || fail "apksigner $name: $(cat "$d/err")"
}

