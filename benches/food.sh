#!/usr/bin/env bash
# Food-delivery stack speed through rfaas's gateway (issue 5). Starts the tests/env services
# (Docker, Redis, MariaDB) with tests/env/setup.sh and installs wrk, curl, jq, bc, redis-tools and
# mariadb-client with apt-get when they are missing (benches/lib.sh).
#   delivery-analytics  POST /, a new delivery per request, wrk c=16       target p99 < 15 ms
#   order-completion    POST /, a different seeded order per request, c=16  target p99 < 30 ms
#   auto-close-orders   POST /, closing 100 DELIVERED orders per run (re-seeded before each of
#                       20 timed runs)                                        target p99 < 200 ms
#   memory of each function container (docker stats --no-stream), idle and after the load
# and compares with the seed platform's published p50/p99.
# Usage: bash benches/food.sh            (DURATION=10 seconds per wrk run, RUNS=20 auto-close runs;
#        CONC=16 wrk connections, CONC=1 for latency without queueing; PACE_MS=0, or a pause
#        each connection makes between requests for a load below saturation;
#        CPU_LIMITS=off deploys without the stack's `limits.cpu`, to see what the CPU cap costs)
# Isolated from the developer setup: its own gateway on a free port with a temporary state
# directory, images tagged :bench, database food_bench (user food_bench), Redis DB 8, and the
# auto-close cron trigger removed from the deployed copy of the stack so that it cannot close
# seeded orders mid-run. Images are kept (later runs skip the build); the rest is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
DURATION="${DURATION:-10}"
RUNS="${RUNS:-20}"
CONC="${CONC:-16}"   # wrk connections; CONC=1 measures latency without queueing
# Each connection waits PACE_MS between requests instead of sending back to back: CONC clients
# offering about CONC * 1000 / PACE_MS req/s, to see latency at a load below saturation.
PACE_MS="${PACE_MS:-0}"
DB=food_bench
REDIS_DB=8

bench_need wrk curl jq bc redis-cli mariadb
bench_test_env
bench_setup

# --- database and Redis -------------------------------------------------------------------
sql() { bench_mariadb -e "USE $DB; $1"; }
bench_food_data

# --- images and gateway -------------------------------------------------------------------
echo "==> building the three images (:bench) and starting a gateway" >&2
cp -r stacks/food-delivery "$WORK/stack"
rm -rf "$WORK/stack/build" "$WORK/stack/.secrets"
sed -i '/^ *topic: cron-function/d; /^ *schedule: /d' "$WORK/stack/stack.yaml"
CPU_LIMITS="${CPU_LIMITS:-on}"
if [ "$CPU_LIMITS" = off ]; then
    # Only under `limits:` (the line after `memory:`); `requests.cpu` has no effect on Docker.
    sed -i '/^    limits:$/,/^    requests:$/{/^      cpu: /d}' "$WORK/stack/stack.yaml"
fi
export TAG=bench MYSQL_DATABASE="$DB" MYSQL_USER="$DB" REDIS_DB \
    MYSQL_PORT="$RFAAS_TEST_MYSQL_PORT" REDIS_PORT="$RFAAS_TEST_REDIS_PORT"
(cd "$WORK/stack" && "$RFAAS" build -f stack.yaml --quiet >/dev/null 2>"$WORK/build.log") \
    || { cat "$WORK/build.log" >&2; fail "build failed"; }
bench_gateway_start
"$RFAAS" secret create food-db-password -g "$GW" --from-file "$WORK/db-password" >/dev/null 2>&1
(cd "$WORK/stack" && "$RFAAS" deploy -f stack.yaml -g "$GW" --wait >/dev/null 2>"$WORK/deploy.log") \
    || { cat "$WORK/deploy.log" >&2; fail "deploy failed"; }
for fn in delivery-analytics order-completion auto-close-orders; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "$GW/function/$fn/health")"
    [ "$code" = 200 ] || fail "$fn/health answered $code"
done

# MiB used by each function container, "name MiB" lines.
memory() {
    local ids
    mapfile -t ids < <(docker ps -q --filter "label=com.rfaas.gateway=$GW_ID")
    docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' "${ids[@]}" | awk '{
            v = $2; n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
            if (u == "KiB") n /= 1024; else if (u == "GiB") n *= 1024; else if (u == "B") n /= 1048576
            name = $1; sub(/^rfaas-openfaas-fn-/, "", name); sub(/-[0-9a-f]+$/, "", name)
            printf "%s %.1f\n", name, n }'
}
memory >"$WORK/mem-idle"

# "nr_periods nr_throttled" of a function container's CPU cgroup (v1 or v2), "0 0" if unknown.
cfs() {
    local id f
    id="$(docker ps -q --no-trunc --filter "label=com.rfaas.gateway=$GW_ID" --filter "label=com.rfaas.function=$1")"
    for f in /sys/fs/cgroup/cpu/docker/"$id"/cpu.stat /sys/fs/cgroup/cpu,cpuacct/docker/"$id"/cpu.stat \
        /sys/fs/cgroup/system.slice/docker-"$id".scope/cpu.stat /sys/fs/cgroup/docker/"$id"/cpu.stat; do
        [ -r "$f" ] && { awk '$1 == "nr_periods" {p = $2} $1 == "nr_throttled" {t = $2} END {print p + 0, t + 0}' "$f"; return; }
    done
    echo "0 0"
}
# Percentage of CFS periods in which the function was throttled between two cfs() readings.
throttled() { echo "$1 $2" | awk '{p = $3 - $1; printf "%s", (p > 0 ? sprintf("%.0f%%", 100 * ($4 - $2) / p) : "-")}'; }

# --- wrk scripts --------------------------------------------------------------------------
bench_food_lua "$PACE_MS"

# wrk_run SCRIPT URL SECONDS ARGS... -> "p50_us p99_us rps errors non2xx"
wrk_run() {
    local script="$1" url="$2" secs="$3"
    shift 3
    bench_wrk "$CONC" "$secs" "$script" "$url" "$@" | cut -d' ' -f1-5
}
# Seeds orders <prefix>0 .. <prefix>N-1 (status DELIVERED, delivered $3 hours ago).
seed_orders() {
    sql "INSERT INTO orders (id, customer_id, customer_email, status, total, delivered_at)
         SELECT CONCAT('$1', seq), CONCAT('cust-', seq % 500), CONCAT('c', seq % 500, '@example.com'),
                'DELIVERED', 22.25, NOW() - INTERVAL $3 HOUR FROM seq_0_to_$(($2 - 1));"
}

# --- delivery-analytics -------------------------------------------------------------------
echo "==> delivery-analytics: warm-up 3 s, then ${DURATION} s at c=$CONC" >&2
wrk_run "$WORK/delivery.lua" "$GW/function/delivery-analytics" 3 warm 2 >/dev/null
cfs0="$(cfs delivery-analytics)"
res="$(wrk_run "$WORK/delivery.lua" "$GW/function/delivery-analytics" "$DURATION" run 2)"
read -r da_p50 da_p99 da_rps da_err da_non2xx <<<"$res"
da_throttled="$(throttled "$cfs0" "$(cfs delivery-analytics)")"
da_stored="$(bench_redis hget platform:stats count 2>/dev/null || echo '?')"

# --- order-completion ---------------------------------------------------------------------
# 2,000 orders for the warm-up and up to 2,500 req/s for the measured run.
ORDERS=$((2500 * DURATION))
echo "==> order-completion: seeding $ORDERS + 2000 orders; warm-up 2 s, then ${DURATION} s at c=$CONC" >&2
seed_orders ow- 2000 0
seed_orders om- "$ORDERS" 0
wrk_run "$WORK/order.lua" "$GW/function/order-completion" 2 ow- 2 >/dev/null
cfs0="$(cfs order-completion)"
res="$(wrk_run "$WORK/order.lua" "$GW/function/order-completion" "$DURATION" om- 2)"
read -r oc_p50 oc_p99 oc_rps oc_err oc_non2xx <<<"$res"
oc_throttled="$(throttled "$cfs0" "$(cfs order-completion)")"
oc_done="$(sql "SELECT COUNT(*) FROM orders WHERE id LIKE 'om-%' AND status = 'COMPLETED';" | tail -1)"
oc_receipts="$(sql "SELECT COUNT(*) FROM receipts WHERE order_id LIKE 'om-%';" | tail -1)"
oc_sent="$(printf '%.0f' "$(echo "$oc_rps * $DURATION" | bc -l)")"
[ "$oc_done" -lt "$ORDERS" ] || echo "warning: every seeded order was used; later requests were 404s" >&2

# --- auto-close-orders --------------------------------------------------------------------
echo "==> auto-close-orders: 1 warm-up + $RUNS timed runs of 100 orders each" >&2
sql "UPDATE orders SET status = 'COMPLETED' WHERE status = 'DELIVERED';"
ac_ms=()
for run in $(seq 0 "$RUNS"); do
    seed_orders "ac-$run-" 100 3
    out="$(curl -s -w '\n%{http_code} %{time_total}' -X POST -H 'Content-Type: application/json' \
        --data-binary @stacks/food-delivery/payloads/auto-close.json "$GW/function/auto-close-orders")"
    read -r code secs <<<"$(tail -1 <<<"$out")"
    closed="$(head -1 <<<"$out" | jq -r .closedCount)"
    if [ "$code" != 200 ] || [ "$closed" != 100 ]; then
        fail "auto-close run $run: HTTP $code, closed $closed (want 100)"
    fi
    [ "$run" = 0 ] || ac_ms+=("$(echo "$secs * 1000" | bc -l)")
done
ac_p50="$(printf '%s\n' "${ac_ms[@]}" | percentile 50)"
ac_p99="$(printf '%s\n' "${ac_ms[@]}" | percentile 99)"
memory >"$WORK/mem-load"

# --- report -------------------------------------------------------------------------------
ms() { echo "scale=2; $1 / 1000" | bc -l | sed 's/^\./0./'; }
x() { echo "scale=1; $1 / $2" | bc -l | sed "s/^\./0./"; }
echo
echo "food-delivery through rfaas gateway ($(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg)); wrk c=$CONC$([ "$PACE_MS" -gt 0 ] && echo " pausing ${PACE_MS} ms between requests"), ${DURATION} s after a warm-up; CPU limits $CPU_LIMITS"
echo
printf '%-22s %9s %9s %9s %6s  %-16s %-14s %s\n' function "p50 ms" "p99 ms" "req/s" errors target "seed p50/p99" "speed-up p50/p99"
printf '%-22s %9s %9s %9s %6s  %-16s %-14s %s\n' delivery-analytics "$(ms "$da_p50")" "$(ms "$da_p99")" "$da_rps" \
    "$((da_err + da_non2xx))" "p99<15 ms $(ok "$da_p99 < 15000")" "150/250 ms" \
    "$(x 150000 "$da_p50")x / $(x 250000 "$da_p99")x"
printf '%-22s %9s %9s %9s %6s  %-16s %-14s %s\n' order-completion "$(ms "$oc_p50")" "$(ms "$oc_p99")" "$oc_rps" \
    "$((oc_err + oc_non2xx))" "p99<30 ms $(ok "$oc_p99 < 30000")" "300/500 ms" \
    "$(x 300000 "$oc_p50")x / $(x 500000 "$oc_p99")x"
printf '%-22s %9.2f %9.2f %9s %6s  %-16s %-14s %s\n' "auto-close (100/run)" "$ac_p50" "$ac_p99" "-" 0 \
    "p99<200 ms $(ok "$ac_p99 < 200")" "2000/5000 ms" \
    "$(x 2000 "$ac_p50")x / $(x 5000 "$ac_p99")x"
echo
echo "delivery-analytics: $da_stored deliveries recorded in Redis DB $REDIS_DB (warm-up included);" \
    "CPU-throttled in $da_throttled of the CFS periods of the measured run"
echo "order-completion: ~$oc_sent requests, $oc_done distinct orders COMPLETED with $oc_receipts receipts" \
    "(one order per request); CPU-throttled in $oc_throttled of the CFS periods"
echo "auto-close-orders: $RUNS runs (ms): $(printf '%.0f ' "${ac_ms[@]}")"
echo
printf '%-22s %12s %16s\n' "memory (MiB)" idle "after the load"
join <(sort "$WORK/mem-idle") <(sort "$WORK/mem-load") | while read -r name idle load; do
    printf '%-22s %12s %16s\n' "$name" "$idle" "$load"
done
