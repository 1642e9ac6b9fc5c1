#!/usr/bin/env bash
# Gateway speed figures on the real engine (issue 4). Needs Docker; installs wrk, hyperfine,
# curl, jq, bc and nginx-light with apt-get when they are missing (benches/lib.sh).
#   a. proxy overhead: a golang-http starter function called on its own port (direct), through
#      nginx and through the gateway's /function/<name>, wrk at c=1 and c=16
#                                      target: added p50 < 100 µs, gateway ≥ 80% of direct req/s
#      nginx is the reference: a mature reverse proxy set up the efficient standard way
#      (worker_processes auto, access_log off, an upstream with keepalive 64, HTTP/1.1 to the
#      upstream). On a small machine wrk, the function and the proxy share the cores, so it shows
#      what a proxy can achieve there; the summary gives the gateway's req/s as % of nginx's too.
#   b. deploy → first 200 for a prebuilt image (median of 5)                      target < 1 s
#   c. `rfaas list` wall time against the gateway (hyperfine)                      target < 10 ms
# Usage: bash benches/gateway.sh        (DURATION=10 seconds per wrk run, ROUNDS=3 interleaved rounds)
#        BASELINE=main bash benches/gateway.sh
#   BASELINE=<git revision> also builds that revision (release, cached in target/bench-baseline)
#   and runs it as a second gateway in front of its own replica of the same image, in the same
#   interleaved rounds, and reports the proxy CPU per request of this tree against it: the cost
#   of a hot-path change (target: within 5 %).
#   BASELINE_BIN=<path to an rfaas binary> does the same with a binary built beforehand (release,
#   same profile), skipping the build; BASELINE then only names it in the report.
# Starts its own gateway on a free port with a temporary state directory and its own nginx (prefix,
# config, pid and logs in the same temporary directory) on a free 127.0.0.1 port; never touches the
# gateway on :8080, ~/.openfaas or the system's nginx. The function image
# (rfaas-bench/gateway-hello:bench) is kept so that later runs skip the build; everything else is
# stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
IMAGE="rfaas-bench/gateway-hello:bench"
bench_need wrk hyperfine curl jq bc nginx
bench_setup

# --- the function image: the golang-http template's starter ------------------------------
(
    cd "$WORK"
    "$RFAAS" new hello --lang golang-http -q >/dev/null 2>&1
    sed -i "s|image: .*|image: $IMAGE|" stack.yaml
    "$RFAAS" build -f stack.yaml --quiet >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 1; }
)

# --- our own gateway ----------------------------------------------------------------------
bench_gateway_start
AUTH="admin:$(cat "$STATE/basic-auth-password")"
"$RFAAS" deploy -g "$GW" --image "$IMAGE" --name hello --wait >/dev/null 2>&1 || fail "deploy failed"
PORT="$(docker ps --filter "label=com.rfaas.gateway=$GW_ID" \
    --filter label=com.rfaas.function=hello --format '{{.Label "com.rfaas.port"}}')"
[ -n "$PORT" ] || fail "no container port for hello"
FN_PID="$(docker inspect --format '{{.State.Pid}}' "$(docker ps -q --filter "label=com.rfaas.gateway=$GW_ID" \
    --filter label=com.rfaas.function=hello)")"
DIRECT="http://127.0.0.1:$PORT/"
VIA="$GW/function/hello"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$VIA")" = 200 ] || fail "$VIA does not answer 200"

# --- the baseline gateway (BASELINE=<revision>) ---------------------------------------------
TARGETS=(direct nginx gateway)
if [ -n "${BASELINE_BIN:-}" ]; then
    [ -x "$BASELINE_BIN" ] || fail "BASELINE_BIN=$BASELINE_BIN is not an executable"
    BASELINE="${BASELINE:-$BASELINE_BIN}"
fi
if [ -n "${BASELINE:-}" ]; then
    if [ -n "${BASELINE_BIN:-}" ]; then
        BASE_REV="$BASELINE"
        BASE_RFAAS="$(realpath "$BASELINE_BIN")"
    else
        BASE_REV="$(git rev-parse --short "$BASELINE^{commit}")" || fail "BASELINE=$BASELINE is not a git revision"
        BASE_SRC="$WORK/baseline-src"
        mkdir -p "$BASE_SRC"
        git archive "$BASE_REV" | tar -x -C "$BASE_SRC"
        echo "building the baseline $BASE_REV (release; cached in target/bench-baseline)..." >&2
        # Seeded from this tree's release build: only the crates that differ are compiled again.
        if [ ! -d "$BENCH_ROOT/target/bench-baseline/release" ]; then
            mkdir -p "$BENCH_ROOT/target/bench-baseline"
            cp -a "$BENCH_ROOT/target/release" "$BENCH_ROOT/target/bench-baseline/"
        fi
        CARGO_TARGET_DIR="$BENCH_ROOT/target/bench-baseline" \
            cargo build --release --quiet --manifest-path "$BASE_SRC/Cargo.toml" || fail "building $BASE_REV failed"
        BASE_RFAAS="$BENCH_ROOT/target/bench-baseline/release/rfaas"
    fi
    BASE_STATE="$WORK/baseline-state"
    BASE_GW="$("$BASE_RFAAS" gateway start --port 0 --state-dir "$BASE_STATE" 2>"$WORK/baseline-start.log")" \
        || { cat "$WORK/baseline-start.log" >&2; fail "the baseline gateway did not start"; }
    baseline_stop() {
        local id
        id="$(cat "$BASE_STATE/gateway-id" 2>/dev/null)" || return 0
        "$BASE_RFAAS" gateway stop --state-dir "$BASE_STATE" >/dev/null 2>&1
        docker ps -aq --filter "label=com.rfaas.gateway=$id" | xargs -r docker rm -f >/dev/null 2>&1
    }
    bench_on_exit baseline_stop
    BASE_PID="$(jq -r .pid "$BASE_STATE/gateway.json")"
    code="$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$(cat "$BASE_STATE/basic-auth-password")" \
        -X POST "$BASE_GW/system/functions" -H 'Content-Type: application/json' \
        -d "{\"service\":\"hello\",\"image\":\"$IMAGE\"}")"
    case "$code" in 200 | 201 | 202) ;; *) fail "deploying hello to the baseline gateway answered $code" ;; esac
    BASE_VIA="$BASE_GW/function/hello"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_VIA")" = 200 ] || fail "$BASE_VIA does not answer 200"
    TARGETS+=(baseline)
fi

# --- nginx in front of the same container -------------------------------------------------
NGX="$WORK/nginx"
mkdir -p "$NGX/logs" "$NGX/temp"
# nginx.conf listening on 127.0.0.1:$1; relative paths are under the prefix $NGX.
nginx_conf() {
    cat <<EOF
daemon off;
worker_processes auto;
pid nginx.pid;
error_log logs/error.log;
events {}
http {
    access_log off;
    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    upstream function {
        server 127.0.0.1:$PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://function;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}
# Whether process $1 runs (a zombie does not).
running() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ]
}
# nginx runs in the foreground (daemon off) as this script's child, so that the script knows
# its pid at once, sees it exit if it cannot start, and reaps it when stopping it.
NGINX_MASTER=
nginx_stop() {
    [ -n "$NGINX_MASTER" ] || return 0
    kill "$NGINX_MASTER" 2>/dev/null
    for _ in $(seq 50); do running "$NGINX_MASTER" || break; sleep 0.1; done
    if running "$NGINX_MASTER"; then
        pkill -KILL -P "$NGINX_MASTER"
        kill -KILL "$NGINX_MASTER"
    fi
    wait "$NGINX_MASTER" 2>/dev/null
    NGINX_MASTER=
}
bench_on_exit nginx_stop
# Starts nginx on 127.0.0.1:$1; succeeds once it answers 200 (within 10 s), else stops it.
nginx_start() {
    nginx_conf "$1" >"$NGX/nginx.conf"
    nginx -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" >>"$NGX/logs/start.log" 2>&1 &
    NGINX_MASTER=$!
    for _ in $(seq 100); do
        running "$NGINX_MASTER" || break
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/")" = 200 ] && return 0
        sleep 0.1
    done
    nginx_stop
    return 1
}
# A random port below the ephemeral range (where wrk's own sockets live); if it is taken, nginx
# cannot bind it and exits, and the next try picks another.
NGINX_PORT=
for _ in $(seq 10); do
    port=$((20000 + RANDOM % 12000))
    (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    nginx_start "$port" && { NGINX_PORT=$port; break; }
done
if [ -z "$NGINX_PORT" ]; then
    cat "$NGX/logs/start.log" "$NGX/logs/error.log" >&2 2>/dev/null
    fail "nginx did not start and answer 200 (its logs are above)"
fi
NGINX="http://127.0.0.1:$NGINX_PORT/"

bench_report_lua >"$WORK/report.lua"
# CPU time (user + system, in clock ticks) used so far by the processes given by pid.
ticks() {
    local pid stat f t=0
    for pid in "$@"; do
        read -r stat <"/proc/$pid/stat" || fail "process $pid is gone"
        read -ra f <<<"${stat##*) }"   # fields from the 3rd on: after "pid (comm) "
        t=$((t + f[11] + f[12]))       # utime, stime
    done
    echo "$t"
}
HZ="$(getconf CLK_TCK)"
declare -A R
# wrk_run TARGET URL CONNECTIONS SECONDS [PROXY_PID...] appends to R[TARGET,CONNECTIONS] the line
# "p50_us p99_us rps proxy_cpu_us_per_req function_cpu_us_per_req".
wrk_run() {
    local target="$1" url="$2" c="$3" secs="$4" res p0 f0 p1 f1 p50 p99 rps errors non2xx requests
    shift 4
    p0="$(ticks "$@")"; f0="$(ticks "$FN_PID")"
    res="$(bench_wrk "$c" "$secs" "$WORK/report.lua" "$url")"
    p1="$(ticks "$@")"; f1="$(ticks "$FN_PID")"
    read -r p50 p99 rps errors non2xx requests <<<"$res"
    [ "$((errors + non2xx))" = 0 ] || fail "wrk saw $errors socket errors and $non2xx non-2xx answers from $url"
    R[$target,$c]+="$p50 $p99 $(printf '%.0f' "$rps") $(((p1 - p0) * 1000000 / HZ / requests))"
    R[$target,$c]+=" $(((f1 - f0) * 1000000 / HZ / requests))"$'\n'
}

echo "warming up..." >&2
wrk_run warm-up "$DIRECT" 16 2
wrk_run warm-up "$NGINX" 16 2
wrk_run warm-up "$VIA" 16 2
[ -z "${BASELINE:-}" ] || wrk_run warm-up "$BASE_VIA" 16 2
# The workers are the children of the master named in the pid file (no cache is configured, so
# no cache processes).
mapfile -t NGINX_WORKERS < <(pgrep -P "$(cat "$NGX/nginx.pid")")
[ "${#NGINX_WORKERS[@]}" -gt 0 ] || fail "nginx (pid $NGINX_MASTER) has no worker processes"

# Direct, nginx and gateway runs alternate, so load from elsewhere on the machine hits all alike;
# each figure is the median over the rounds.
for round in $(seq "$ROUNDS"); do
    for c in 1 16; do
        for target in "${TARGETS[@]}"; do
            echo "round $round/$ROUNDS: $target c=$c (${DURATION}s)" >&2
            case "$target" in
                direct) wrk_run direct "$DIRECT" "$c" "$DURATION" ;;
                nginx) wrk_run nginx "$NGINX" "$c" "$DURATION" "${NGINX_WORKERS[@]}" ;;
                gateway) wrk_run gateway "$VIA" "$c" "$DURATION" "$GW_PID" ;;
                baseline) wrk_run baseline "$BASE_VIA" "$c" "$DURATION" "$BASE_PID" ;;
            esac
        done
    done
done
# Median over the rounds of field $3 for target $1 at c=$2, as an integer.
pick() { printf '%s' "${R[$1,$2]}" | awk -v f="$3" 'NF {print $f}' | median %.0f; }
# Field $4 of target $1 over target $2 at c=$3, round by round: "median (min-max)". With
# ADDED=1, both minus direct's figure of the same round (the added latency).
round_ratio() {
    paste <(printf '%s' "${R[$1,$3]}" | awk -v f="$4" 'NF {print $f}') \
        <(printf '%s' "${R[$2,$3]}" | awk -v f="$4" 'NF {print $f}') \
        <(printf '%s' "${R[direct,$3]}" | awk -v f="$4" 'NF {print $f}') \
        | awk -v added="${ADDED:-0}" '{a = $1; b = $2; if (added == 1) {a -= $3; b -= $3}
              if (b > 0) printf "%.3f\n", a / b}' \
        | sort -g | awk '{v[NR] = $1} END {if (NR == 0) {print "-"; exit}
              m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.2fx (%.2f-%.2f)\n", m, v[1], v[NR]}'
}

# --- b. deploy -> first 200, against docker run -> first 200 of the same image ---------------
# Interleaved: deploy i, then `docker run` i (host network, a free port, as the gateway runs
# replicas), each timed from the call to the first 200, polling as fast as curl goes.
now_ns() { date +%s%N; }
# Polls URL $1 until it answers 200 (30 s at most).
until_200() {
    local deadline=$(($(now_ns) + 30000000000))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]; do
        [ "$(now_ns)" -lt "$deadline" ] || fail "$1 not answering 200 after 30 s"
    done
}
deploy_ms=()
run_ms=()
RUN_NAME="rfaas-bench-docker-run-$$"
docker_run_rm() { docker rm -f "$RUN_NAME" >/dev/null 2>&1 || true; }
bench_on_exit docker_run_rm
for i in 1 2 3 4 5; do
    name="hello-$i"
    t0="$(now_ns)"
    code="$(curl -s -o /dev/null -w '%{http_code}' -u "$AUTH" -X POST "$GW/system/functions" \
        -H 'Content-Type: application/json' -d "{\"service\":\"$name\",\"image\":\"$IMAGE\"}")"
    case "$code" in 200 | 201 | 202) ;; *) fail "deploy of $name answered $code" ;; esac
    until_200 "$GW/function/$name"
    deploy_ms+=("$((($(now_ns) - t0) / 1000000))")
    curl -s -o /dev/null -u "$AUTH" -X DELETE "$GW/system/functions" -H 'Content-Type: application/json' -d "{\"functionName\":\"$name\"}"
    run_port=$((20000 + RANDOM % 12000))
    t0="$(now_ns)"
    docker run -d --rm --name "$RUN_NAME" --network host -e port="$run_port" -e bind_address=127.0.0.1 \
        "$IMAGE" >/dev/null || fail "docker run $IMAGE failed"
    until_200 "http://127.0.0.1:$run_port/"
    run_ms+=("$((($(now_ns) - t0) / 1000000))")
    docker_run_rm
done
deploy_median="$(printf '%s\n' "${deploy_ms[@]}" | median)"
run_median="$(printf '%s\n' "${run_ms[@]}" | median)"
deploy_ratio="$(paste <(printf '%s\n' "${deploy_ms[@]}") <(printf '%s\n' "${run_ms[@]}") \
    | awk '{printf "%.3f\n", $1 / $2}' | sort -g | awk '{v[NR] = $1} END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.2fx (%.2f-%.2f)", m, v[1], v[NR]}')"

# --- c. rfaas list ------------------------------------------------------------------------
hyperfine -N --warmup 10 --runs 100 --export-json "$WORK/list.json" "$RFAAS list -g $GW" >/dev/null 2>&1 \
    || fail "hyperfine rfaas list failed"
list_ms="$(jq -r '.results[0].median * 1000' "$WORK/list.json")"
list_mean="$(jq -r '.results[0].mean * 1000' "$WORK/list.json")"

# --- report -------------------------------------------------------------------------------
# $1 as a percentage of $2, one decimal.
pct() { echo "scale=1; 100 * $1 / $2" | bc -l; }
echo
echo "rfaas gateway $("$RFAAS" version --short-version 2>/dev/null || echo)  ($(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg); median of $ROUNDS x ${DURATION}s wrk runs)"
echo
printf '%-18s %9s %9s %9s %16s %16s\n' "a. proxy overhead" "p50 µs" "p99 µs" "req/s" "proxy CPU µs/req" "fn CPU µs/req"
for c in 1 16; do
    for target in "${TARGETS[@]}"; do
        pcpu="$(pick $target $c 4)"; [ "$target" = direct ] && pcpu=-
        # The baseline proxies to its own replica; the function CPU measured is the other one's.
        fcpu="$(pick $target $c 5)"; [ "$target" = baseline ] && fcpu=-
        printf '%-18s %9s %9s %9s %16s %16s\n' "$target c=$c" "$(pick $target $c 1)" "$(pick $target $c 2)" \
            "$(pick $target $c 3)" "$pcpu" "$fcpu"
    done
done
echo
for c in 1 16; do
    added=$(($(pick gateway $c 1) - $(pick direct $c 1)))
    nginx_added=$(($(pick nginx $c 1) - $(pick direct $c 1)))
    gw_pct="$(pct "$(pick gateway $c 3)" "$(pick direct $c 3)")"
    printf 'c=%-3s added p50 vs direct:   gateway %6s µs  (target < 100 µs: %s)   nginx %6s µs\n' \
        "$c" "$added" "$(ok "$added < 100")" "$nginx_added"
    printf '      throughput vs direct: gateway %5s%%    (target >= 80%%: %s)      nginx %5s%%   gateway %5s%% of nginx\n' \
        "$gw_pct" "$(ok "$gw_pct >= 80")" "$(pct "$(pick nginx $c 3)" "$(pick direct $c 3)")" \
        "$(pct "$(pick gateway $c 3)" "$(pick nginx $c 3)")"
done
echo
echo "issue 13 target 1 (gateway / nginx, round by round: median (min-max); target <= 1.00x):"
for c in 1 16; do
    printf 'c=%-3s added p50 %s   proxy CPU/req %s   req/s %s\n' "$c" "$(ADDED=1 round_ratio gateway nginx $c 1)" \
        "$(round_ratio gateway nginx $c 4)" "$(round_ratio gateway nginx $c 3)"
done
if [ -n "${BASELINE:-}" ]; then
    for c in 1 16; do
        ratio="$(pct "$(pick gateway $c 4)" "$(pick baseline $c 4)")"
        printf 'c=%-3s proxy CPU per request vs baseline %s: %s%%  (target <= 105%%: %s)\n' \
            "$c" "$BASE_REV" "$ratio" "$(ok "$ratio <= 105")"
    done
fi
echo
printf 'b. deploy -> first 200 (ms):  %s   median %s ms  (target < 1000 ms: %s)\n' \
    "${deploy_ms[*]}" "$deploy_median" "$(ok "$deploy_median < 1000")"
printf '   docker run -> first 200 (ms):  %s   median %s ms;  deploy / docker run %s  (target <= 1.10x: %s)\n' \
    "${run_ms[*]}" "$run_median" "$deploy_ratio" "$(ok "${deploy_ratio%%x*} <= 1.1")"
printf 'c. rfaas list:  median %.2f ms, mean %.2f ms  (target < 10 ms: %s)\n' \
    "$list_ms" "$list_mean" "$(ok "$list_ms < 10")"
echo "(gateway pid $GW_PID; nginx $(nginx -v 2>&1 | sed 's|.*/||') on port $NGINX_PORT, pid $NGINX_MASTER with" \
    "${#NGINX_WORKERS[@]} workers; direct = the function's own port $PORT)"
