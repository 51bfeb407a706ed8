#!/usr/bin/env bash
# Smoke test for echo-server + echo-client (or blocking-client): both modes, each over 127.0.0.1.
# Usage: echo.sh ECHO_SERVER CLIENT [CLIENT_NAME]
source "$(dirname "$0")/lib.sh"
server=$1
client=$2
name=${3:-client}

for mode in stream message; do
    # One server per mode; it exits by itself after one client has left (--sessions 1).
    start_bg "server-$mode" "$server" --address 127.0.0.1 --port 0 --mode "$mode" --preset turbo --sessions 1
    server_pid=$LAST_PID
    port=$(port_of "server-$mode" 'listening on port [0-9]+' 10) || fail "server ($mode) did not start"

    timeout 40 "$client" --host 127.0.0.1 --port "$port" --mode "$mode" --preset turbo --count 20 --text "smoke $mode" \
        --key not-yet >"$SMOKE_DIR/$name-$mode.log" 2>&1
    rc=$?
    show "$name-$mode"
    [ $rc -eq 0 ] || fail "$name ($mode) exited with $rc"
    grep -q "PASS" "$SMOKE_DIR/$name-$mode.log" || fail "$name ($mode) did not pass"
    grep -q "NOT encrypted" "$SMOKE_DIR/$name-$mode.log" || fail "$name ($mode) did not explain --key"

    wait_for_line "server-$mode" '1 client\(s\) served' 15 >/dev/null || fail "server ($mode) did not see the close"
    wait "$server_pid"
    rc=$?
    show "server-$mode"
    [ $rc -eq 0 ] || fail "server ($mode) exited with $rc"
    grep -q "left: echoed" "$SMOKE_DIR/server-$mode.log" || fail "server ($mode) did not report the client"
done
echo "smoke: $name against echo-server, stream and message mode: PASS"
