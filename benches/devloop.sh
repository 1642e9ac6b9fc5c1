#!/usr/bin/env bash
# The dev loop (issue 14): from saving a handler to the first response served by the new code.
#
# For each language (python3-http, node18, golang-http) one function is deployed on an isolated
# local gateway, then:
#   watch  `rfaas up --local --watch` runs; the handler is saved EDITS times (each save changes
#          the answer to a new marker, GAP seconds apart); each latency is from just before the
#          write to the first 200 answer carrying the new marker (curl polling every ~10 ms).
#          python3-http and node18 take the hot path; golang-http is rebuilt and redeployed.
#   full   the faas-cli-style reference in the same run: the same kind of edit, then
#          `rfaas up --local --force` (full rebuild + rolling redeploy), FULL times, timed the
#          same way (write → first answer with the new marker).
# It prints p50/p99 of both and the ratio full/watch of the p50s. Target: watch p50 < 1 s for
# python3-http and node18 (and < 5 s for golang-http's incremental rebuild).
#
# Usage: bash benches/devloop.sh
#   LANGS="python3-http node18"  EDITS=20  FULL=5  GAP=1  RFAAS_BIN=/path/to/rfaas
# Needs the tests/env services (Docker); installs jq, bc and curl with apt-get when missing.
# The images are tagged rfaas-bench/devloop-*:latest and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
EDITS="${EDITS:-20}"
FULL="${FULL:-5}"
GAP="${GAP:-1}"
LANGS="${LANGS:-python3-http node18 golang-http}"
bench_need jq bc curl
bench_setup
bench_gateway_start
IMAGES=()
remove_images() { [ "${#IMAGES[@]}" -eq 0 ] || docker image rm --no-prune "${IMAGES[@]}" >/dev/null 2>&1 || true; }
bench_on_exit remove_images
WATCH_PID=""
stop_watch() { [ -z "$WATCH_PID" ] || kill -INT "$WATCH_PID" 2>/dev/null || true; }
bench_on_exit stop_watch

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The handler file of language $1 and its contents answering $2.
handler_file() {
    case "$1" in
        python3-http) echo handler.py ;;
        node18) echo handler.js ;;
        golang-http) echo handler.go ;;
    esac
}
handler_text() {
    case "$1" in
        python3-http) printf 'def handle(event, context):\n    return {"statusCode": 200, "body": "%s"}\n' "$2" ;;
        node18) printf "'use strict';\nmodule.exports = async (event, context) => context.status(200).succeed('%s');\n" "$2" ;;
        golang-http) printf 'package function\n\nimport (\n\t"fmt"\n\t"net/http"\n)\n\nfunc Handle(w http.ResponseWriter, r *http.Request) {\n\tfmt.Fprint(w, "%s")\n}\n' "$2" ;;
    esac
}

# Polls URL $1 until it answers 200 with body $2 (at most 300 s); prints nothing.
await_answer() {
    local deadline=$(($(date +%s) + 300)) body
    while :; do
        body="$(curl -s -X POST --max-time 5 -w '\n%{http_code}' "$1" 2>/dev/null || true)"
        [ "$body" = "$2"$'\n200' ] && return 0
        [ "$(date +%s)" -lt "$deadline" ] || fail "$1 never answered $2 (last: ${body//$'\n'/ })"
        sleep 0.01
    done
}

# p50 and p99 of the numbers in file $1.
p50() { percentile 50 <"$1"; }
p99() { percentile 99 <"$1"; }

RESULTS=()
for lang in $LANGS; do
    name="devloop-${lang//[^a-z0-9]/}"
    image="rfaas-bench/$name:latest"
    IMAGES+=("$image")
    dir="$WORK/$lang"
    mkdir -p "$dir"
    (cd "$dir" && "$RFAAS" new "$name" --lang "$lang" --quiet >/dev/null) || fail "rfaas new --lang $lang failed"
    file="$dir/$name/$(handler_file "$lang")"
    # Tests off: the template's starter test expects the starter answer.
    cat >"$dir/stack.yaml" <<EOF
version: 1.0
provider:
  name: openfaas
functions:
  $name:
    lang: $lang
    handler: ./$name
    image: $image
    build_args:
      TEST_ENABLED: "false"
EOF
    handler_text "$lang" v0 >"$file"
    url="$GW/function/$name"
    cd "$dir"
    echo "==> $lang: first build and deploy" >&2
    "$RFAAS" up --local --state-dir "$STATE" --quiet >"$WORK/$lang-up.log" 2>&1 \
        || { tail -n 30 "$WORK/$lang-up.log" >&2; fail "rfaas up ($lang) failed"; }
    await_answer "$url" v0

    echo "==> $lang: $EDITS saves under rfaas up --watch" >&2
    "$RFAAS" up --local --state-dir "$STATE" --watch --quiet >"$WORK/$lang-watch.log" 2>&1 &
    WATCH_PID=$!
    for _ in $(seq 600); do grep -q '^Watching ' "$WORK/$lang-watch.log" && break; sleep 0.1; done
    grep -q '^Watching ' "$WORK/$lang-watch.log" || { cat "$WORK/$lang-watch.log" >&2; fail "up --watch did not start"; }
    await_answer "$url" v0
    : >"$WORK/$lang-watch.ms"
    for i in $(seq "$EDITS"); do
        start="$(now_ms)"
        handler_text "$lang" "w$i" >"$file"
        await_answer "$url" "w$i"
        echo $(($(now_ms) - start)) >>"$WORK/$lang-watch.ms"
        sleep "$GAP"
    done
    kill -INT "$WATCH_PID"
    wait "$WATCH_PID" || fail "up --watch ($lang) exited with $?: $(tail -n 20 "$WORK/$lang-watch.log")"
    WATCH_PID=""
    hot="$(grep -c 'changed: reloaded' "$WORK/$lang-watch.log" || true)"

    echo "==> $lang: $FULL saves, each followed by rfaas up --force (the reference)" >&2
    : >"$WORK/$lang-full.ms"
    for i in $(seq "$FULL"); do
        start="$(now_ms)"
        handler_text "$lang" "f$i" >"$file"
        "$RFAAS" up --local --state-dir "$STATE" --force --quiet >"$WORK/$lang-full.log" 2>&1 \
            || { tail -n 30 "$WORK/$lang-full.log" >&2; fail "rfaas up --force ($lang) failed"; }
        await_answer "$url" "f$i"
        echo $(($(now_ms) - start)) >>"$WORK/$lang-full.ms"
    done
    cd "$BENCH_ROOT"
    w50="$(p50 "$WORK/$lang-watch.ms")" w99="$(p99 "$WORK/$lang-watch.ms")"
    f50="$(p50 "$WORK/$lang-full.ms")" f99="$(p99 "$WORK/$lang-full.ms")"
    ratio="$(echo "scale=1; $f50 / $w50" | bc -l)"
    RESULTS+=("$(printf '%-13s watch p50 %6d ms  p99 %6d ms (%2d of %d hot)   up --force p50 %6d ms  p99 %6d ms   ratio %5sx' \
        "$lang" "$w50" "$w99" "$hot" "$EDITS" "$f50" "$f99" "$ratio")")
done

echo
echo "save -> first response from the new code (watch: $EDITS saves, $GAP s apart; up --force: $FULL runs)"
printf '%s\n' "${RESULTS[@]}"
