#!/usr/bin/env bash
# Installs Keycloak (the identity provider the OIDC tests run against) from Maven Central:
# org.keycloak:keycloak-quarkus-dist:<version>:zip, checked against the .sha1 Maven Central
# publishes beside it, unpacked into ${ZAS_TEST_CACHE:-$HOME/.cache/zas-test}/keycloak-<version>
# and pre-built (`kc.sh build`) with the build-time options tests/idp/keycloak.py starts it with,
# so that every start is `kc.sh start --optimized`, skipping Quarkus's re-augmentation.
# Keycloak 26 wants Java 21 or newer (17 still runs, deprecated): the first such JDK found
# (JAVA_HOME, `java`, /usr/lib/jvm) is recorded in <install>/zas-java-home for the tests.
# Idempotent: a finished install (marker file) built with the same options is left alone; one
# built with other options is re-built in place. Prints the install path as its last line.
set -euo pipefail

version="${ZAS_KEYCLOAK_VERSION:-26.7.3}"
cache="${ZAS_TEST_CACHE:-$HOME/.cache/zas-test}"
dest="$cache/keycloak-$version"
# Must match BUILD_OPTIONS in tests/idp/keycloak.py (a start with other build-time options
# would re-augment, or refuse to start with --optimized).
build_options=(--db=dev-mem)

if [ -f "$dest/.zas-installed" ]; then
    if [ "$(printf '%s\n' "${build_options[@]}")" = "$(cat "$dest/zas-build-options" 2>/dev/null)" ]
    then
        echo "$dest"
        exit 0
    fi
    echo "re-building $dest with ${build_options[*]}" >&2
    JAVA_HOME="$(cat "$dest/zas-java-home")" "$dest/bin/kc.sh" build "${build_options[@]}" >&2
    printf '%s\n' "${build_options[@]}" >"$dest/zas-build-options"
    echo "$dest"
    exit 0
fi

java_major() {  # prints the major version of the java binary $1, or 0
    "$1" -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1 || echo 0
}
find_java_home() {  # $1: the lowest acceptable major version
    local candidates=()
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    if command -v java >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
    fi
    for d in /usr/lib/jvm/*; do [ -d "$d" ] && candidates+=("$d"); done
    local home major
    for home in "${candidates[@]}"; do
        [ -x "$home/bin/java" ] || continue
        major=$(java_major "$home/bin/java")
        if [ "${major:-0}" -ge "$1" ]; then
            echo "$home"
            return 0
        fi
    done
    return 1
}

if ! java_home=$(find_java_home 21); then
    # Keycloak 26 still runs on 17 (the tests pass on it), but deprecates it.
    if java_home=$(find_java_home 17); then
        echo "warning: no Java 21+ found; using the deprecated Java 17 at $java_home" >&2
    else
        echo "Keycloak $version needs Java 21 (or at least 17); found none (set JAVA_HOME)" >&2
        exit 1
    fi
fi

base="https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/$version"
zip_name="keycloak-quarkus-dist-$version.zip"
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.keycloak-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "downloading Keycloak $version from Maven Central" >&2
curl -fsSL --retry 3 -o "$tmp/$zip_name" "$base/$zip_name"
expected=$(curl -fsSL --retry 3 "$base/$zip_name.sha1" | awk '{print $1}')
actual=$(sha1sum "$tmp/$zip_name" | awk '{print $1}')
if [ "$expected" != "$actual" ]; then
    echo "checksum mismatch for $zip_name: expected $expected, got $actual" >&2
    exit 1
fi

echo "unpacking and building Keycloak $version (JDK $java_home)" >&2
if command -v unzip >/dev/null 2>&1; then
    (cd "$tmp" && unzip -q "$zip_name")
else  # Python's zipfile drops the exec bits: give them back to the launch scripts
    python3 -m zipfile -e "$tmp/$zip_name" "$tmp"
    chmod +x "$tmp/keycloak-$version"/bin/*.sh
fi
rm "$tmp/$zip_name"
home="$tmp/keycloak-$version"
JAVA_HOME="$java_home" "$home/bin/kc.sh" build "${build_options[@]}" >"$tmp/build.log" 2>&1 || {
    cat "$tmp/build.log" >&2
    exit 1
}
echo "$java_home" >"$home/zas-java-home"
printf '%s\n' "${build_options[@]}" >"$home/zas-build-options"
touch "$home/.zas-installed"
rm -rf "$dest"
mv "$home" "$dest"
echo "$dest"
