#!/usr/bin/env bash
# Smoke test for echo-server + echo-client (or blocking-client): both modes, each over 127.0.0.1, then the
# pre-shared-key mode (--key on both) and a client with the wrong key (refused at once).
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
        >"$SMOKE_DIR/$name-$mode.log" 2>&1
    rc=$?
    show "$name-$mode"
    [ $rc -eq 0 ] || fail "$name ($mode) exited with $rc"
    grep -q "PASS" "$SMOKE_DIR/$name-$mode.log" || fail "$name ($mode) did not pass"

    wait_for_line "server-$mode" '1 client\(s\) served' 15 >/dev/null || fail "server ($mode) did not see the close"
    wait "$server_pid"
    rc=$?
    show "server-$mode"
    [ $rc -eq 0 ] || fail "server ($mode) exited with $rc"
    grep -q "left: echoed" "$SMOKE_DIR/server-$mode.log" || fail "server ($mode) did not report the client"
done
# Encrypted: the same exchange with a pre-shared passphrase; then a client with another one must fail quickly
# with the handshake error (not hang until a timeout).
start_bg "server-key" "$server" --address 127.0.0.1 --port 0 --mode stream --preset turbo --sessions 1 \
    --key "smoke secret"
server_pid=$LAST_PID
port=$(port_of "server-key" 'listening on port [0-9]+' 10) || fail "server (key) did not start"
timeout 40 "$client" --host 127.0.0.1 --port "$port" --mode stream --preset turbo --count 5 --text "smoke key" \
    --key "wrong secret" >"$SMOKE_DIR/$name-wrongkey.log" 2>&1
rc=$?
show "$name-wrongkey"
[ $rc -ne 0 ] || fail "$name with the wrong key succeeded"
grep -qi "handshake" "$SMOKE_DIR/$name-wrongkey.log" || fail "$name with the wrong key did not report the handshake"
timeout 40 "$client" --host 127.0.0.1 --port "$port" --mode stream --preset turbo --count 20 --text "smoke key" \
    --key "smoke secret" >"$SMOKE_DIR/$name-key.log" 2>&1
rc=$?
show "$name-key"
[ $rc -eq 0 ] || fail "$name (key) exited with $rc"
grep -q "PASS" "$SMOKE_DIR/$name-key.log" || fail "$name (key) did not pass"
grep -q "encrypted" "$SMOKE_DIR/$name-key.log" || fail "$name (key) did not say it encrypts"
wait_for_line "server-key" '1 client\(s\) served' 15 >/dev/null || fail "server (key) did not see the close"
wait "$server_pid" || fail "server (key) failed"
echo "smoke: $name against echo-server (plain and encrypted), stream and message mode: PASS"
