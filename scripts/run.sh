#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a live KCP transfer, printing statistics.
# Until the Qt layer lands this is the Qt-free engine moving data through a simulated lossy link.
# Usage: scripts/run.sh [--loss PERCENT] [--delay MS] [--duration S] [--size MB] [--preset normal|fast|turbo]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build/run}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKCPNET_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target engine-transfer

exec "$BUILD_DIR/demos/engine-transfer" "$@"
