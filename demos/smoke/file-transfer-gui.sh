#!/usr/bin/env bash
# Smoke test for file-transfer-gui (run with QT_QPA_PLATFORM=offscreen): the window sends a folder of three files
# to a console receiver, exits when the receiver has verified them, and saves a screenshot of itself.
# Usage: file-transfer-gui.sh FILE_TRANSFER FILE_TRANSFER_GUI
source "$(dirname "$0")/lib.sh"
ft=$1
gui=$2
shots=${KCPNET_SCREENSHOT_DIR:-$SMOKE_DIR}

mkdir -p "$SMOKE_DIR/album/sub" "$SMOKE_DIR/dst" "$shots"
head -c 3000000 /dev/urandom >"$SMOKE_DIR/album/one.bin"
head -c 100000 /dev/urandom >"$SMOKE_DIR/album/sub/two.bin"
echo "a small text file" >"$SMOKE_DIR/album/three.txt"

start_bg receiver "$ft" receive --dir "$SMOKE_DIR/dst" --port 0 --once
receiver_pid=$LAST_PID
rport=$(port_of receiver 'on port [0-9]+' 10) || fail "receiver did not start"

timeout 40 "$gui" --send "$SMOKE_DIR/album" --host 127.0.0.1 --port "$rport" --quit-when-done \
    --screenshot "$shots/file-transfer-gui.png" >"$SMOKE_DIR/gui.log" 2>&1
rc=$?
show gui
[ $rc -eq 0 ] || fail "file-transfer-gui exited with $rc"
wait "$receiver_pid" || fail "the receiver failed"
show receiver
grep -q 'done: 3 file(s)' "$SMOKE_DIR/gui.log" || fail "the window did not report the transfer"
grep -q 'screenshot .* saved' "$SMOKE_DIR/gui.log" || fail "no screenshot"
diff -r "$SMOKE_DIR/album" "$SMOKE_DIR/dst/album" || fail "the received folder differs"
echo "file-transfer-gui: sent, verified, screenshot taken: PASS"
