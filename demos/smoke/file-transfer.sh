#!/usr/bin/env bash
# Smoke test for file-transfer: 20 MB through kcpnet-relay with 5 % loss each way. The relay cuts the link after
# 8 MB for 3 s; with a 1.5 s peer timeout both ends notice, the receiver keeps its partial file, the sender
# reconnects after the link heals and resumes where the partial file ends. The SHA-256 check must pass and the
# received file must equal the original.
# Usage: file-transfer.sh FILE_TRANSFER KCPNET_RELAY
source "$(dirname "$0")/lib.sh"
ft=$1
relay=$2

mkdir -p "$SMOKE_DIR/src" "$SMOKE_DIR/dst"
head -c 20000000 /dev/urandom >"$SMOKE_DIR/src/big.bin" || fail "cannot generate the test file"

start_bg receiver "$ft" receive --dir "$SMOKE_DIR/dst" --port 0 --once --preset turbo --peer-timeout 1500
receiver_pid=$LAST_PID
rport=$(port_of receiver 'on port [0-9]+' 10) || fail "receiver did not start"

start_bg relay "$relay" --target "127.0.0.1:$rport" --loss 5 --seed 7 --cut-after 8000000 --cut-for 3000
relay_pid=$LAST_PID
lport=$(port_of relay 'listening on port [0-9]+' 10) || fail "relay did not start"

start=$SECONDS
timeout 45 "$ft" send "$SMOKE_DIR/src/big.bin" --host 127.0.0.1 --port "$lport" --preset turbo --peer-timeout 1500 \
    --retries 5 >"$SMOKE_DIR/sender.log" 2>&1
rc=$?
show sender
[ $rc -eq 0 ] || fail "sender exited with $rc"
echo "smoke: sender finished in $((SECONDS - start)) s"

wait_for_line receiver 'transfer complete' 15 >/dev/null || fail "receiver did not finish"
wait "$receiver_pid"
rc=$?
show receiver
[ $rc -eq 0 ] || fail "receiver exited with $rc"
kill "$relay_pid" # the relay prints its counters on SIGTERM
wait "$relay_pid"
show relay

grep -q 'link cut after' "$SMOKE_DIR/relay.log" || fail "the relay never cut the link"
grep -q 'connection lost' "$SMOKE_DIR/sender.log" || fail "the sender never lost the connection"
resumed=$(sed -n 's/.*resuming big.bin at byte \([0-9]*\).*/\1/p' "$SMOKE_DIR/sender.log" | head -n 1)
[ -n "$resumed" ] && [ "$resumed" -gt 0 ] || fail "the sender did not resume"
grep -q "resuming big.bin at byte $resumed" "$SMOKE_DIR/receiver.log" || fail "the receiver did not offer the resume"
grep -q 'SHA-256 verified' "$SMOKE_DIR/receiver.log" || fail "the receiver did not verify the hash"
cmp "$SMOKE_DIR/src/big.bin" "$SMOKE_DIR/dst/big.bin" || fail "the received file differs"
[ ! -e "$SMOKE_DIR/dst/big.bin.kcpart" ] || fail "the partial file was left behind"
sha256sum "$SMOKE_DIR/src/big.bin" "$SMOKE_DIR/dst/big.bin" | sed 's/^/smoke: /'
echo "smoke: file-transfer 20 MB, 5 % loss, link cut for 3 s: resumed at byte $resumed, SHA-256 verified: PASS"
