#!/usr/bin/env bash
# Smoke test for echo-server + echo-client (or blocking-client): both modes, each over 127.0.0.1, then the
# pre-shared-key mode (--key on both) and a client with the wrong key (refused at once), then certificate mode
# (DTLS) with a throwaway PKI made by the openssl CLI: a trusted CA (--ca), an untrusted one, the wrong name,
# --insecure, and client certificates (--client-ca).
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
grep -q "encryption: pre-shared key" "$SMOKE_DIR/$name-key.log" || fail "$name (key) did not say it encrypts"
wait_for_line "server-key" '1 client\(s\) served' 15 >/dev/null || fail "server (key) did not see the close"
wait "$server_pid" || fail "server (key) failed"

# Certificate mode. A CA and a server certificate for localhost and 127.0.0.1 signed by it, a client certificate
# from the same CA, and a second CA, unrelated, with a client certificate of its own.
command -v openssl >/dev/null || fail "the openssl command is missing (scripts/deps.sh installs it)"
pki=$SMOKE_DIR/pki
mkdir "$pki" || fail "cannot create $pki"
pki_ca "$pki" ca "/CN=kcpnet smoke CA" || fail "openssl: cannot make the CA"
pki_ca "$pki" other-ca "/CN=kcpnet unrelated CA" || fail "openssl: cannot make the unrelated CA"
pki_cert "$pki" server ca "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    "extendedKeyUsage=serverAuth" || fail "openssl: cannot make the server certificate"
pki_cert "$pki" client ca "/CN=smoke client" "extendedKeyUsage=clientAuth" ||
    fail "openssl: cannot make the client certificate"
pki_cert "$pki" stranger other-ca "/CN=smoke stranger" "extendedKeyUsage=clientAuth" ||
    fail "openssl: cannot make the stranger's certificate"

# client_passes LOG ARGS...   the client, with ARGS, must echo everything back and pass.
client_passes() {
    local log=$1 rc
    shift
    timeout 40 "$client" --host 127.0.0.1 --port "$port" --mode stream --preset turbo --count 10 \
        --text "smoke $log" "$@" >"$SMOKE_DIR/$log.log" 2>&1
    rc=$?
    show "$log"
    [ $rc -eq 0 ] || fail "$log exited with $rc"
    grep -q "PASS" "$SMOKE_DIR/$log.log" || fail "$log did not pass"
}

# client_refused LOG REGEX ARGS...   the client, with ARGS, must fail at once (not by a timeout: the connect
# timeout is 10 s) and print a line matching REGEX (grep -E).
client_refused() {
    local log=$1 regex=$2 start=$SECONDS rc
    shift 2
    timeout 30 "$client" --host 127.0.0.1 --port "$port" --mode stream --preset turbo --count 10 \
        --text "smoke $log" "$@" >"$SMOKE_DIR/$log.log" 2>&1
    rc=$?
    show "$log"
    [ $rc -ne 0 ] || fail "$log succeeded"
    ((SECONDS - start < 5)) || fail "$log took $((SECONDS - start)) s to fail; the handshake should end it at once"
    grep -qE "$regex" "$SMOKE_DIR/$log.log" || fail "$log did not report /$regex/"
}

# A server with the certificate; it exits after the two clients that get through (--ca and --insecure).
start_bg "server-cert" "$server" --address 127.0.0.1 --port 0 --mode stream --preset turbo --sessions 2 \
    --certificate "$pki/server.pem" --private-key "$pki/server.key"
server_pid=$LAST_PID
port=$(port_of "server-cert" 'listening on port [0-9]+' 10) || fail "server (certificates) did not start"
grep -q "encryption: certificates" "$SMOKE_DIR/server-cert.log" || fail "server did not say it uses certificates"

client_passes "$name-cert" --encrypted --ca "$pki/ca.pem"
grep -q "encrypted: cipher .*server certificate CN=localhost, issued by CN=kcpnet smoke CA" \
    "$SMOKE_DIR/$name-cert.log" || fail "$name did not report the cipher and the server's certificate"
# Not trusted: the system CAs only, or the unrelated CA. sslErrors() is reported, then the connection fails
# with the certificate errors in its error string.
client_refused "$name-cert-untrusted" "certificate errors: .*issuer certificate" --encrypted
grep -q "certificate did not verify" "$SMOKE_DIR/$name-cert-untrusted.log" ||
    fail "$name (untrusted) did not print the socket's error string"
client_refused "$name-cert-otherca" "certificate errors: .*issuer certificate" --encrypted --ca "$pki/other-ca.pem"
client_refused "$name-cert-wrongname" "certificate errors: .*host name did not match" --encrypted \
    --ca "$pki/ca.pem" --peer-name not-this-server.example
# A plain client meets a certificate server: refused at once too.
client_refused "$name-cert-plain" "disagree about encryption"
# --insecure: the same errors, ignored with a warning; the echo works.
client_passes "$name-cert-insecure" --encrypted --insecure
grep -q "WARNING: --insecure, ignoring certificate errors: .*issuer certificate" \
    "$SMOKE_DIR/$name-cert-insecure.log" || fail "$name (insecure) did not warn"

wait_for_line "server-cert" '2 client\(s\) served' 15 >/dev/null || fail "server (certificates) did not see the closes"
wait "$server_pid"
rc=$?
show "server-cert"
[ $rc -eq 0 ] || fail "server (certificates) exited with $rc"
[ "$(grep -cE 'connected \(.*\), cipher [A-Z0-9-]+, no client certificate' "$SMOKE_DIR/server-cert.log")" -eq 2 ] ||
    fail "server did not report two sessions with their cipher"

# Client certificates required (--client-ca): none, or one from the unrelated CA, is refused on both sides; one
# from the CA gets through and the server names it.
start_bg "server-clientcert" "$server" --address 127.0.0.1 --port 0 --mode stream --preset turbo --sessions 1 \
    --certificate "$pki/server.pem" --private-key "$pki/server.key" --client-ca "$pki/ca.pem"
server_pid=$LAST_PID
port=$(port_of "server-clientcert" 'listening on port [0-9]+' 10) || fail "server (client certificates) did not start"
grep -q "client certificates required, issued by CN=kcpnet smoke CA" "$SMOKE_DIR/server-clientcert.log" ||
    fail "server did not say it requires client certificates"
client_refused "$name-nocert" "DTLS handshake failed" --encrypted --ca "$pki/ca.pem"
client_refused "$name-strangercert" "DTLS handshake failed" --encrypted --ca "$pki/ca.pem" \
    --certificate "$pki/stranger.pem" --private-key "$pki/stranger.key"
client_passes "$name-clientcert" --encrypted --ca "$pki/ca.pem" \
    --certificate "$pki/client.pem" --private-key "$pki/client.key"
wait_for_line "server-clientcert" '1 client\(s\) served' 15 >/dev/null ||
    fail "server (client certificates) did not see the close"
wait "$server_pid"
rc=$?
show "server-clientcert"
[ $rc -eq 0 ] || fail "server (client certificates) exited with $rc"
grep -q "client certificate CN=smoke client" "$SMOKE_DIR/server-clientcert.log" ||
    fail "server did not name the client's certificate"
[ "$(grep -c "a client failed to connect: DTLS handshake with 127.0.0.1 port [0-9]* failed: Client certificate rejected" \
    "$SMOKE_DIR/server-clientcert.log")" -eq 2 ] ||
    fail "server did not report the two refused clients"

echo "smoke: $name against echo-server (plain, pre-shared key, certificates), stream and message mode: PASS"
