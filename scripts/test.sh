#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test: first a normal build (everything, including
# the monitor, demos and their smoke tests), then the library and its tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run).
# Usage: scripts/test.sh [extra cmake args for the normal build...]
#   BUILD_DIR               normal build directory (default: build/test)
#   ASAN_BUILD_DIR          sanitizer build directory (default: build/asan)
#   KCPNET_SKIP_SANITIZERS  set to 1 to skip the sanitizer pass
#   CTEST_ARGS              extra arguments for ctest (e.g. "-R Engine")
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build/test}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build/asan}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
jobs=$(nproc)

echo "== normal build: $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$BUILD_DIR" --parallel "$jobs"
# shellcheck disable=SC2086
ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel "$jobs" ${CTEST_ARGS:-}

if [ "${KCPNET_SKIP_SANITIZERS:-0}" != 1 ]; then
    echo "== sanitizer build (address,undefined): $ASAN_BUILD_DIR"
    cmake -S . -B "$ASAN_BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DKCPNET_SANITIZE=address,undefined \
        -DKCPNET_BUILD_MONITOR=OFF -DKCPNET_BUILD_DEMOS=OFF -DKCPNET_BUILD_BENCHMARKS=OFF
    cmake --build "$ASAN_BUILD_DIR" --parallel "$jobs"
    # Leaks inside system libraries (glibc's resolver) are not ours: scripts/lsan.supp.
    export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    # shellcheck disable=SC2086
    ctest --test-dir "$ASAN_BUILD_DIR" --output-on-failure --parallel "$jobs" ${CTEST_ARGS:-}
fi
