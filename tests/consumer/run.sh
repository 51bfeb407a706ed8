#!/usr/bin/env bash
# ctest driver: install the build tree into a scratch prefix, then configure, build and run tests/consumer
# against it with find_package(KcpNet), and check the pkg-config file.
set -euo pipefail
build_dir=$1
source_dir=$2
sanitize=${3:-}
extra=()
if [ -n "$sanitize" ]; then extra=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" "${extra[@]}" >/dev/null
cmake --build "$work/build" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib:${LD_LIBRARY_PATH:-}" "$work/build/consumer"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs kcpnet | grep -q -- "-lKcpNet"
echo "consumer: find_package(KcpNet) and pkg-config OK"
