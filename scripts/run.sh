#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs kcpnet-live: a QKcpServer echo server with clients of
# different presets over UDP on 127.0.0.1, printing per-session statistics every second.
# Usage: scripts/run.sh [--duration S] [--clients N] [--no-bulk]
# (The Qt-free engine over a simulated lossy link: build/run/demos/engine-transfer --loss 10 --delay 25.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build/run}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKCPNET_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target kcpnet-live engine-transfer

exec "$BUILD_DIR/demos/kcpnet-live" "$@"
