#!/bin/sh
# An example MiMoLo agent in POSIX shell: no Python at all.
#
# It speaks the agent protocol by hand: a handshake first, a heartbeat from a background
# loop every MIMOLO_HEARTBEAT_INTERVAL_S seconds, a summary on every flush, ACKs for
# stop/flush/shutdown, a status answer; it exits when stdin closes. Each line is written
# by one printf (shorter than PIPE_BUF), so the two writers never interleave a line.

VERSION="1.0.0"
AGENT_ID="${MIMOLO_AGENT_ID:-sh-heartbeat}"
AGENT_LABEL="${MIMOLO_AGENT_LABEL:-$AGENT_ID}"
BEAT="${MIMOLO_HEARTBEAT_INTERVAL_S:-15}"

# JSON-escape a value: backslashes and double quotes (labels are printable text).
json_escape() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

ID_JSON=$(json_escape "$AGENT_ID")
LABEL_JSON=$(json_escape "$AGENT_LABEL")

now() {
    date -u +%Y-%m-%dT%H:%M:%SZ
}

# emit TYPE EXTRA_JSON_FIELDS: one protocol line on stdout.
emit() {
    printf '{"type":"%s","timestamp":"%s","agent_id":"%s","agent_label":"%s","agent_version":"%s","protocol_version":"0.3"%s}\n' \
        "$1" "$(now)" "$ID_JSON" "$LABEL_JSON" "$VERSION" "$2"
}

heartbeats() {
    while sleep "$BEAT"; do
        emit heartbeat ',"data":{},"metrics":{"cpu_percent_recent":0.0,"cpu_percent_avg_60s":0.0,"cpu_budget_percent":1.0,"cpu_budget_ok":true,"cpu_over_budget_seconds":0.0,"mem_mb":2.0,"queue":0}' || exit 0
    done
}

WINDOW_START=$(now)
FLUSHES=0

summary() {
    end=$(now)
    FLUSHES=$((FLUSHES + 1))
    emit summary ",\"data\":{\"flushes\":$FLUSHES,\"shell\":true,\"window\":{\"start\":\"$WINDOW_START\",\"end\":\"$end\"},\"activity_signal\":{\"mode\":\"passive\",\"keep_alive\":null,\"reason\":\"example shell agent\"}}"
    WINDOW_START=$end
}

ack() {
    emit ack ",\"data\":{},\"ack_command\":\"$1\""
}

# step NAME: one command; returns 1 when the agent should exit.
step() {
    case "$1" in
        flush) summary; ack flush ;;
        stop | start) ack "$1" ;;
        status) emit status ',"data":{},"health":"ok","message":"shell agent running"' ;;
        shutdown) ack shutdown; return 1 ;;
    esac
    return 0
}

# command_name LINE: the value of "cmd" in a compact or spaced JSON command line.
command_name() {
    name=${1#*\"cmd\"}
    name=${name#*\"}
    printf '%s' "${name%%\"*}"
}

emit handshake ',"data":{},"min_app_version":"0.3.0","capabilities":["summary","heartbeat","status"]'
heartbeats &
BEATS=$!
trap 'kill "$BEATS" 2>/dev/null' EXIT

while IFS= read -r line; do
    case "$line" in
        *'"cmd"'*) ;;
        *) continue ;;
    esac
    name=$(command_name "$line")
    if [ "$name" = "sequence" ]; then
        steps=${line#*\"sequence\"}
        steps=${steps#*[}
        steps=${steps%%]*}
        quit=0
        old_ifs=$IFS
        IFS=','
        for item in $steps; do
            IFS=$old_ifs
            item=$(printf '%s' "$item" | tr -d '" ')
            step "$item" || { quit=1; break; }
        done
        IFS=$old_ifs
        [ "$quit" = 1 ] && exit 0
    else
        step "$name" || exit 0
    fi
done
exit 0
