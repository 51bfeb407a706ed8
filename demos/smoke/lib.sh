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
