#!/usr/bin/env bash
# Smoke test for the chat: chat-server, bob on chat-cli (his input held open through a FIFO), then a second client
# -- chat-cli carol with piped input, or chat-gui alice (offscreen) -- says something. Bob must see the arrival,
# the message and the departure, and leave cleanly with /quit.
# Usage: chat.sh CHAT_SERVER CHAT_CLI [CHAT_GUI]
source "$(dirname "$0")/lib.sh"
server=$1
cli=$2
gui=${3:-}
shots=${KCPNET_SCREENSHOT_DIR:-$SMOKE_DIR}

start_bg server "$server" --port 0
port=$(port_of server 'listening on port [0-9]+' 10) || fail "chat-server did not start"

# Bob stays online until we close his input.
mkfifo "$SMOKE_DIR/bob.in"
start_bg_in bob "$SMOKE_DIR/bob.in" "$cli" --nick bob --host 127.0.0.1 --port "$port"
bob_pid=$LAST_PID
exec {bob_in}>"$SMOKE_DIR/bob.in"
wait_for_line bob 'joined as bob' 10 >/dev/null || fail "bob could not join"

if [ -z "$gui" ]; then
    # A nickname that is taken is refused.
    printf 'should not be said\n' | timeout 20 "$cli" --nick BOB --host 127.0.0.1 --port "$port" \
        >"$SMOKE_DIR/bob2.log" 2>&1 && fail "a second bob was accepted"
    grep -q 'refused: the nickname BOB is taken' "$SMOKE_DIR/bob2.log" || { show bob2; fail "no refusal"; }

    # Carol says two lines; end of input makes her leave.
    printf 'hello from carol\n/who\nbye now\n' | timeout 20 "$cli" --nick carol --host 127.0.0.1 --port "$port" \
        >"$SMOKE_DIR/carol.log" 2>&1 || { show carol; fail "chat-cli carol failed"; }
    show carol
    grep -q '^\* online: bob, carol' "$SMOKE_DIR/carol.log" || fail "/who did not list bob and carol"
    grep -q '^<carol> bye now' "$SMOKE_DIR/carol.log" || fail "carol did not see her own message"
    wait_for_line bob '^\* carol left' 10 >/dev/null || fail "bob did not see carol leave"
    expected=('^\* carol joined' '^<carol> hello from carol' '^<carol> bye now' '^\* carol left')
    what="chat-cli: join, broadcast, refusal, leave"
else
    timeout 30 "$gui" --nick alice --host 127.0.0.1 --port "$port" --say "hello from the window" \
        --screenshot "$shots/chat-gui.png" >"$SMOKE_DIR/alice.log" 2>&1 || { show alice; fail "chat-gui failed"; }
    show alice
    grep -q 'online: alice, bob' "$SMOKE_DIR/alice.log" || fail "the window did not list alice and bob"
    grep -q 'screenshot .* saved' "$SMOKE_DIR/alice.log" || fail "no screenshot"
    wait_for_line bob '^\* alice left' 10 >/dev/null || fail "bob did not see alice leave"
    expected=('^\* alice joined' '^<alice> hello from the window' '^\* alice left')
    what="chat-gui: joined, said, screenshot, left"
fi

echo "/quit" >&"$bob_in"
exec {bob_in}>&-
wait "$bob_pid"
rc=$?
show bob
show server
[ $rc -eq 0 ] || fail "bob exited with $rc"
for line in "${expected[@]}"; do
    grep -q "$line" "$SMOKE_DIR/bob.log" || fail "bob did not see /$line/"
done
echo "smoke: $what: PASS"
