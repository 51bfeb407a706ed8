#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs kcpnet-live-lossy (demos/live-lossy): a QKcpServer echo
# server and clients with the Fast, Normal and Turbo presets (one bulk, the others ping-pong) across a lossy UDP
# relay, with the metrics endpoint on.
#   - With a display (DISPLAY or WAYLAND_DISPLAY) and the monitor built, kcpnet-monitor opens attached to the
#     metrics endpoint; the run lasts until its window closes (or --duration S).
#   - Without a display (or with --headless) it prints a live statistics table for --duration seconds (default 30)
#     and exits 0 when every client moved data and closed cleanly.
# Usage: scripts/run.sh [--duration S] [--headless] [--loss PERCENT] [other kcpnet-live-lossy options...]
#   e.g. --delay 25, --jitter 5, --clients 6, --no-bulk, --bulk-rate 10 (see: kcpnet-live-lossy --help)
# (The Qt-free engine over a simulated lossy link: build/run/demos/engine-transfer --loss 10 --delay 25.)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=""
headless=0
loss=5
passthrough=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --duration=*) duration=${1#*=}; shift ;;
    --loss) loss=${2:?--loss needs a percentage}; shift 2 ;;
    --loss=*) loss=${1#*=}; shift ;;
    --headless) headless=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) passthrough+=("$1"); shift ;;
  esac
done

bash scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build/run}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKCPNET_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target kcpnet-live-lossy engine-transfer

live=("$BUILD_DIR/demos/live-lossy/kcpnet-live-lossy" --loss "$loss")
if [ $headless -eq 0 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  monitor="$BUILD_DIR/monitor/kcpnet-monitor"
  if [ -f monitor/CMakeLists.txt ] \
      && cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target kcpnet-monitor && [ -x "$monitor" ]; then
    echo "run: display found: kcpnet-monitor will watch the sessions (close its window to end the run)"
    live+=(--monitor "$monitor" --duration "${duration:-0}")
  else
    echo "run: note: the monitor (kcpnet-monitor) is not available in this build; showing the table only"
    live+=(--duration "${duration:-30}")
  fi
else
  echo "run: no display (or --headless): live statistics table for ${duration:-30} s"
  live+=(--duration "${duration:-30}")
fi

exec "${live[@]}" "${passthrough[@]}"
