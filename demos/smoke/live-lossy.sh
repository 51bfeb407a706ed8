#!/usr/bin/env bash
# Smoke test for kcpnet-live-lossy (the main job): 4 s across 5 % loss. While it runs, its metrics endpoint must
# serve Prometheus text that names the watched sessions; at the end every client must have moved data and closed.
# Usage: live-lossy.sh KCPNET_LIVE_LOSSY
source "$(dirname "$0")/lib.sh"
live=$1

start_bg live "$live" --duration 4 --loss 5 --delay 5
live_pid=$LAST_PID
wait_for_line live '^metrics: http://127\.0\.0\.1:[0-9]+/metrics' 10 >/dev/null || fail "no metrics endpoint"
[[ $MATCHED_LINE =~ :([0-9]+)/metrics ]] || fail "no metrics port"
port=${BASH_REMATCH[1]}
wait_for_line live '^-- t=2s' 10 >/dev/null || fail "no statistics table"

# Prometheus text over plain bash (no curl needed): the exporter must list the watched sources.
exec {http}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to the metrics endpoint"
printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&"$http"
timeout 5 cat <&"$http" >"$SMOKE_DIR/metrics.txt"
exec {http}>&-
head -n 1 "$SMOKE_DIR/metrics.txt" | grep -q '200' || { cat "$SMOKE_DIR/metrics.txt"; fail "metrics: no 200"; }
grep -q 'client0 fast bulk' "$SMOKE_DIR/metrics.txt" || { head -40 "$SMOKE_DIR/metrics.txt"; fail "metrics: client0 not listed"; }
echo "smoke: /metrics answered ($(wc -l <"$SMOKE_DIR/metrics.txt") lines)"

wait "$live_pid"
rc=$?
show live
[ $rc -eq 0 ] || fail "kcpnet-live-lossy exited with $rc"
grep -q '^-- t=4s' "$SMOKE_DIR/live.log" || fail "the table did not run for 4 s"
grep -q 'kcpnet-live-lossy: OK' "$SMOKE_DIR/live.log" || fail "not OK"
echo "smoke: kcpnet-live-lossy: table, metrics endpoint, clean close: PASS"
