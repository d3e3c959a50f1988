#!/usr/bin/env bash
# Builds the Java binding of zkelect with only the JDK, gcc and cargo:
#
#   bash bindings/java/build.sh         # build/zkelect.jar, build/libzkelect_jni.so
#   bash bindings/java/build.sh test    # then: the JUnit suite (needs junit5 jars)
#
# ZKELECT_LIB_DIR=dir uses libzkelect.a from dir instead of running
# `cargo build --release` (the Rust test tests/java.rs passes its own).
# ZKELECT_JAVA_BUILD_DIR=dir builds there instead of bindings/java/build.
# JUNIT_DIR (default /usr/share/java) holds the JUnit 5 jars.
#
# libzkelect.a is linked statically into libzkelect_jni.so: one native file
# to ship inside the jar, which loads from a temp dir without any rpath or
# LD_LIBRARY_PATH, and whose JNI glue and library can never be of different
# versions. The library's own symbols are hidden (native/exports.map).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ZKELECT_JAVA_BUILD_DIR:-$here/build}
mkdir -p "$build"
build=$(cd "$build" && pwd)

case "$(uname -s)" in
  Linux) os=linux ;;
  *) echo "build.sh: only Linux is supported so far (got $(uname -s))" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) arch=$(uname -m) ;;
esac
platform=$os-$arch

javac_bin=$(command -v javac) || { echo "build.sh: javac not found (install a JDK 17+)" >&2; exit 1; }
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$javac_bin")")")}
[ -f "$java_home/include/jni.h" ] || { echo "build.sh: no jni.h under $java_home/include (set JAVA_HOME)" >&2; exit 1; }

build_all() {
  local lib_dir=${ZKELECT_LIB_DIR:-}
  if [ -z "$lib_dir" ]; then
    (cd "$root" && cargo build --release --lib)
    lib_dir=$root/target/release
  fi
  [ -f "$lib_dir/libzkelect.a" ] || { echo "build.sh: no libzkelect.a in $lib_dir" >&2; exit 1; }

  rm -rf "$build/classes" "$build/include" "$build/jar" "$build/test-classes" \
    "$build/test-reports" "$build/zkelect.jar" "$build/libzkelect_jni.so" "$build"/*.txt
  mkdir -p "$build/classes" "$build/include" "$build/jar/native/$platform"

  # Java, and the JNI header (compiling the glue against it checks every signature).
  find "$here/src/main/java" -name '*.java' >"$build/sources.txt"
  javac --release 17 -Xlint:all -Werror -encoding UTF-8 \
    -d "$build/classes" -h "$build/include" @"$build/sources.txt"

  # The JNI library, with libzkelect.a linked in. Rust's staticlib needs
  # these system libraries (rustc --print native-static-libs).
  gcc -std=c99 -Wall -Wextra -Werror -fPIC -shared -O2 -g \
    -I "$java_home/include" -I "$java_home/include/linux" \
    -I "$build/include" -I "$root/include" \
    "$here/native/zkelect_jni.c" "$lib_dir/libzkelect.a" \
    -Wl,--version-script="$here/native/exports.map" \
    -Wl,--gc-sections -Wl,-z,defs -Wl,-z,noexecstack -Wl,--strip-debug \
    -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc \
    -o "$build/libzkelect_jni.so"

  # Only the JNI entry points are exported, and nothing needs libzkelect.so.
  local bad
  bad=$(nm -D --defined-only "$build/libzkelect_jni.so" | awk '{print $3}' \
    | grep -v -E '^(JNI_OnLoad|JNI_OnUnload|Java_org_zkelect_.*)$' || true)
  [ -z "$bad" ] || { echo "build.sh: unexpected exported symbols: $bad" >&2; exit 1; }
  if readelf -d "$build/libzkelect_jni.so" | grep NEEDED | grep -q libzkelect; then
    echo "build.sh: libzkelect_jni.so must not need libzkelect.so" >&2; exit 1
  fi

  cp "$build/libzkelect_jni.so" "$build/jar/native/$platform/"
  printf 'Automatic-Module-Name: org.zkelect\nImplementation-Title: zkelect\nImplementation-Version: %s\n' \
    "$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)" >"$build/manifest.txt"
  jar --create --file "$build/zkelect.jar" --manifest "$build/manifest.txt" \
    -C "$build/classes" . -C "$build/jar" native
  echo "built $build/zkelect.jar (native/$platform/libzkelect_jni.so inside) and $build/libzkelect_jni.so"
}

run_tests() {
  [ -f "$build/zkelect.jar" ] || { echo "build.sh test: run build.sh first" >&2; exit 1; }
  local junit=${JUNIT_DIR:-/usr/share/java}
  local launcher=$junit/junit-platform-console-standalone.jar
  [ -f "$launcher" ] || { echo "build.sh test: $launcher not found (apt-get install junit5)" >&2; exit 1; }
  local api=$junit/junit-jupiter-api.jar:$junit/apiguardian-api.jar:$junit/opentest4j.jar:$junit/junit-platform-commons.jar
  rm -rf "$build/test-classes" "$build/test-reports"
  mkdir -p "$build/test-classes"
  find "$here/src/test/java" -name '*.java' >"$build/test-sources.txt"
  javac --release 17 -Xlint:all,-processing -Werror -encoding UTF-8 \
    -cp "$build/classes:$api" -d "$build/test-classes" @"$build/test-sources.txt"
  # -Xcheck:jni: the JVM checks every JNI call of the glue.
  java -Xcheck:jni \
    -Dzkelect.library.path="$build/libzkelect_jni.so" \
    -Dzkelect.test.build="$build" \
    -Dzkelect.test.header="$root/include/zkelect.h" \
    -jar "$launcher" \
    --class-path "$build/classes:$build/test-classes" \
    --select-package org.zkelect \
    --reports-dir "$build/test-reports" \
    --fail-if-no-tests --disable-banner --disable-ansi-colors --details=tree
}

case "${1:-build}" in
  build) build_all ;;
  test) run_tests ;;
  *) echo "usage: build.sh [build|test]" >&2; exit 2 ;;
esac
