# Helpers for the demo smoke tests (sourced by the other scripts in this directory).
#
# Every background process is started with start_bg, which records its pid; the EXIT trap ends exactly those
# pids. Waiting is event-driven and bounded: wait_for_line follows a process's log (tail -f, inotify) until a line
# matches or the deadline passes. Nothing sleeps to synchronise.
set -uo pipefail

SMOKE_DIR=$(mktemp -d /tmp/kcpnet-smoke.XXXXXX)
SMOKE_PIDS=()

smoke_cleanup() {
    local pid running
    # Only processes we started and have not waited for yet (bash's own job list), so a pid is never reused.
    running=" $(jobs -p | tr '\n' ' ') "
    for pid in "${SMOKE_PIDS[@]}"; do
        if [[ $running == *" $pid "* ]]; then
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    if [ -n "${SMOKE_KEEP:-}" ]; then
        echo "smoke: logs kept in $SMOKE_DIR"
    else
        rm -rf "$SMOKE_DIR"
    fi
}
trap smoke_cleanup EXIT

# start_bg NAME COMMAND...   runs COMMAND in the background, output in $SMOKE_DIR/NAME.log; sets LAST_PID.
start_bg() {
    local name=$1
    shift
    : >"$SMOKE_DIR/$name.log" # exists before anyone follows it
    "$@" >>"$SMOKE_DIR/$name.log" 2>&1 &
    LAST_PID=$!
    SMOKE_PIDS+=("$LAST_PID")
}

# start_bg_in NAME INPUT COMMAND...   the same, with standard input from INPUT (a file or a FIFO).
start_bg_in() {
    local name=$1 input=$2
    shift 2
    : >"$SMOKE_DIR/$name.log"
    "$@" <"$input" >>"$SMOKE_DIR/$name.log" 2>&1 &
    LAST_PID=$!
    SMOKE_PIDS+=("$LAST_PID")
}

# wait_for_line NAME REGEX SECONDS   succeeds when a line of NAME's log matches REGEX (bash =~); prints the line.
wait_for_line() {
    local log="$SMOKE_DIR/$1.log" regex=$2 deadline=$((SECONDS + $3)) line fd tailpid rc=1
    exec {fd}< <(exec tail -n +1 -f "$log")
    tailpid=$!
    while ((SECONDS < deadline)); do
        if IFS= read -r -t "$((deadline - SECONDS))" -u "$fd" line; then
            if [[ $line =~ $regex ]]; then
                MATCHED_LINE=$line
                rc=0
                break
            fi
        else
            break
        fi
    done
    kill "$tailpid" 2>/dev/null
    exec {fd}<&-
    if [ $rc -ne 0 ]; then
        echo "smoke: timed out waiting for /$regex/ in $1's output:" >&2
        sed 's/^/  | /' "$log" >&2
    fi
    return $rc
}

# show NAME   prints NAME's log, indented.
show() {
    echo "--- $1"
    sed 's/^/  | /' "$SMOKE_DIR/$1.log"
}

# port_of NAME REGEX SECONDS   waits for a line like "... port 1234 ..." and prints the number after "port ".
port_of() {
    wait_for_line "$1" "$2" "$3" || return 1
    [[ $MATCHED_LINE =~ port\ ([0-9]+) ]] || return 1
    echo "${BASH_REMATCH[1]}"
}

fail() {
    echo "smoke: FAIL: $*"
    exit 1
}

# A throwaway PKI for the certificate-mode smoke tests, made with the openssl CLI: EC P-256 keys (instant to
# generate), unencrypted PEM, valid for two days. Files go to DIR as NAME.pem (certificate) and NAME.key.
#
# pki_ca DIR NAME SUBJECT                     a self-signed CA, e.g. pki_ca "$d" ca "/CN=Smoke CA"
# pki_cert DIR NAME CA SUBJECT EXTENSION...   a certificate signed by CA (a pki_ca NAME in DIR); each EXTENSION is
#                                             an x509v3 line, e.g. "subjectAltName=DNS:localhost,IP:127.0.0.1"
pki_ca() {
    local dir=$1 name=$2 subject=$3
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "$subject" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/$name.key" -out "$dir/$name.pem" </dev/null >"$dir/$name.openssl.log" 2>&1 ||
        { cat "$dir/$name.openssl.log"; return 1; }
}

pki_cert() {
    local dir=$1 name=$2 ca=$3 subject=$4
    shift 4
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "$@" >"$dir/$name.ext"
    if ! openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" </dev/null >"$dir/$name.openssl.log" 2>&1 ||
        ! openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" \
            </dev/null >>"$dir/$name.openssl.log" 2>&1; then
        cat "$dir/$name.openssl.log"
        return 1
    fi
}
