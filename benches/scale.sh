#!/usr/bin/env bash
# Scaling figures on the real engine (issue 10 items 1-3). Needs Docker; installs wrk, curl, jq
# and bc with apt-get when they are missing (benches/lib.sh). The function is the golang-http
# template's starter (rfaas-bench/gateway-hello:bench, shared with benches/gateway.sh, built
# when absent and kept).
#   a. cold start from 0 replicas (container removed), first response, p50/p99 over WAKES wakes
#                                                          target p50 <= 400 ms
#      reference: `docker start` of a container of the same image until it answers HTTP
#      (what any wake must at least pay), and a warm request
#   b. resume from paused (the idle tier: docker pause), first response, p50/p99 over WAKES
#                                                          target p50 <= 30 ms
#      reference: a warm request to the same replica
#   c. autoscaling reaction: load start (wrk, rps type) -> a second replica serving, and the
#      replica timeline during LOAD seconds of load and after it (scale-down window 5 s)
#   d. memory of N paused replicas (rfaas_paused_memory_bytes) against the same replicas running
#      idle just before (docker stats), as a ratio
# Usage: bash benches/scale.sh      (WAKES=20, N=5, LOAD=12 seconds)
# Starts its own gateway on a free port with a temporary state directory; everything but the
# image is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
WAKES="${WAKES:-20}"
N="${N:-5}"
LOAD="${LOAD:-12}"
IMAGE="rfaas-bench/gateway-hello:bench"
bench_need wrk curl jq bc
bench_setup

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    (
        cd "$WORK"
        "$RFAAS" new hello --lang golang-http -q >/dev/null 2>&1
        sed -i "s|image: .*|image: $IMAGE|" stack.yaml
        "$RFAAS" build -f stack.yaml --quiet >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 1; }
    )
fi

STATE_FLAGS=(--pause-before-remove 1h --scale-down-window 5s --max-replicas 10)
GW="$("$RFAAS" gateway start --port 0 --state-dir "$STATE" "${STATE_FLAGS[@]}" 2>"$WORK/gateway-start.log")" \
    || { cat "$WORK/gateway-start.log" >&2; fail "rfaas gateway start failed"; }
GW_ID="$(cat "$STATE/gateway-id")"
AUTH="admin:$(cat "$STATE/basic-auth-password")"

api() { curl -sf -u "$AUTH" "$@"; }
deploy() {  # $1 name, $2 labels JSON
    api -X POST "$GW/system/functions" -H 'content-type: application/json' \
        -d "{\"service\":\"$1\",\"image\":\"$IMAGE\",\"labels\":$2}" >/dev/null || fail "deploying $1 failed"
}
scale() { api -X POST "$GW/system/scale-function/$1" -d "{\"serviceName\":\"$1\",\"replicas\":$2}" >/dev/null; }
status() { api "$GW/system/function/$1"; }
containers() { docker ps -aq --filter "label=com.rfaas.gateway=$GW_ID" --filter "label=com.rfaas.function=$1"; }
# Seconds (with ms) of one request that must answer 200.
timed_call() {
    local out
    out="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$GW/function/$1")"
    [ "${out% *}" = 200 ] || fail "$1 answered ${out% *}"
    echo "${out#* }"
}
ms() { awk '{printf "%.1f\n", $1 * 1000}'; }
summary() { # stdin: milliseconds; prints "p50 p99"
    local all
    all="$(cat)"
    echo "$(percentile 50 <<<"$all") $(percentile 99 <<<"$all")"
}

# --- a. cold start from 0 (removed) -------------------------------------------------------
deploy cold '{}'
timed_call cold >/dev/null
warm="$(for _ in $(seq 50); do timed_call cold; done | ms | summary)"
cold="$(for _ in $(seq "$WAKES"); do
    scale cold 0
    while [ -n "$(containers cold)" ]; do sleep 0.05; done
    timed_call cold
done | ms | summary)"

# Reference: docker start of a created container of the same image, until it answers.
ref_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
ref="rfaas-bench-scale-ref-$$"
remove_ref() { docker rm -f "$ref" >/dev/null 2>&1 || true; }
bench_on_exit remove_ref
docker_start="$(for _ in $(seq "$WAKES"); do
    remove_ref
    docker create --name "$ref" --network host -e "port=$ref_port" -e bind_address=127.0.0.1 "$IMAGE" >/dev/null
    t0="$(date +%s.%N)"
    docker start "$ref" >/dev/null
    until curl -s -o /dev/null "http://127.0.0.1:$ref_port/"; do sleep 0.005; done
    echo "$(date +%s.%N) - $t0" | bc -l
done | ms | summary)"
remove_ref

# --- b. resume from paused ------------------------------------------------------------------
deploy idler '{"com.openfaas.scale.zero":"true","com.openfaas.scale.zero-duration":"1s"}'
timed_call idler >/dev/null
resume="$(for _ in $(seq "$WAKES"); do
    until [ "$(status idler | jq '.scaling.pausedReplicas')" = 1 ]; do sleep 0.1; done
    timed_call idler
done | ms | summary)"
warm_idler="$(for _ in $(seq 50); do timed_call idler; done | ms | summary)"

# --- c. autoscaling reaction and timeline ---------------------------------------------------
deploy auto '{"com.openfaas.scale.type":"rps","com.openfaas.scale.target":"100","com.openfaas.scale.max":"4"}'
timed_call auto >/dev/null
timeline=()
t0="$(date +%s.%N)"
wrk -t 2 -c 8 -d "${LOAD}s" -s <(echo 'wrk.method = "POST"') "$GW/function/auto" >"$WORK/wrk.txt" 2>&1 &
wrk_pid=$!
reaction=""
end=$(( $(date +%s) + LOAD + 15 ))
while [ "$(date +%s)" -lt "$end" ]; do
    n="$(status auto | jq '.availableReplicas // 0')"
    t="$(echo "$(date +%s.%N) - $t0" | bc -l)"
    if [ -z "$reaction" ] && [ "$n" -ge 2 ]; then reaction="$t"; fi
    timeline+=("$(printf '%.1fs:%s' "$t" "$n")")
    sleep 0.5
done
wait "$wrk_pid" || true
requests="$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")"
non2xx="$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")"
errors="$(awk '/Socket errors/ {print $0}' "$WORK/wrk.txt")"

# --- d. memory of N paused replicas ---------------------------------------------------------
deploy many "{\"com.openfaas.scale.min\":\"$N\",\"com.openfaas.scale.zero\":\"true\",\"com.openfaas.scale.zero-duration\":\"3s\"}"
running_bytes="$(containers many | xargs docker stats --no-stream --format '{{.MemUsage}}' \
    | awk '{v=$1; u=v; gsub(/[0-9.]/,"",u); gsub(/[^0-9.]/,"",v);
            m = (u=="GiB") ? 1073741824 : (u=="MiB") ? 1048576 : (u=="KiB") ? 1024 : 1; s += v*m} END {printf "%d", s}')"
until [ "$(status many | jq '.scaling.pausedReplicas')" = "$N" ]; do sleep 0.2; done
sleep 1
paused_bytes="$(status many | jq '.scaling.pausedMemoryBytes')"
metric="$(curl -s "$GW/metrics" | awk '/^rfaas_paused_memory_bytes\{function_name="many.openfaas-fn"\}/ {print $2}')"

# --- report ----------------------------------------------------------------------------------
read -r cold50 cold99 <<<"$cold"
read -r ds50 ds99 <<<"$docker_start"
read -r res50 res99 <<<"$resume"
read -r warm50 warm99 <<<"$warm"
read -r wi50 wi99 <<<"$warm_idler"
echo "a. cold start from 0 (removed), $WAKES wakes:   p50 ${cold50} ms  p99 ${cold99} ms   (target p50 <= 400 ms: $(ok "$cold50 <= 400"))"
echo "   reference docker start -> first answer:     p50 ${ds50} ms  p99 ${ds99} ms   ratio p50 $(echo "scale=2; $cold50 / $ds50" | bc -l)x"
echo "   warm request:                               p50 ${warm50} ms  p99 ${warm99} ms"
echo "b. resume from paused, $WAKES wakes:            p50 ${res50} ms  p99 ${res99} ms   (target p50 <= 30 ms: $(ok "$res50 <= 30"))"
echo "   warm request (same function):               p50 ${wi50} ms  p99 ${wi99} ms   ratio p50 $(echo "scale=1; $res50 / $wi50" | bc -l)x"
echo "c. autoscaling (rps, target 100, max 4), wrk c=8 for ${LOAD}s: second replica serving after ${reaction:-never} s"
echo "   requests ${requests:-?}, non-2xx ${non2xx:-0}${errors:+, $errors}"
echo "   timeline (time since load start: available replicas): ${timeline[*]}"
echo "d. memory of $N paused replicas: ${paused_bytes} bytes ($(echo "scale=1; $paused_bytes / 1048576" | bc -l) MiB; metric ${metric:-?})"
echo "   the same replicas running idle: ${running_bytes} bytes; paused/running $(echo "scale=2; $paused_bytes / $running_bytes" | bc -l)"
