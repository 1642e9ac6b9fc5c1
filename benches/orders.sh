#!/usr/bin/env bash
# Order-pipeline speed end to end (issue 11 §2): orders through all six functions, chained by the
# gateway's async queue, with the stack's own settings (stack.yaml as it is: limits.cpu 500m,
# payment latency 50 ms, the queues' default 4 workers each). Starts the tests/env services with
# tests/env/setup.sh and installs wrk, curl, jq, bc and mariadb-client when they are missing.
#   1. latency, one order at a time (LATENCY_ORDERS=40): POST /orders, then wait for the final
#      state; p50/p99 of created_at -> completed_at as the database recorded them
#   2. throughput: wrk posts orders at c=$CONC for $DURATION s, then the backlog drains;
#      orders/s = orders / (last completion - first creation), and p50/p99 under that load
# Reference, measured in the same run: the same five functions called in a row synchronously by
# the client (`/function/order-validator`, `inventory/reserve`, `payment/charge`, `fulfilment`,
# `notification`) for a fresh order id: the work of an order without the queue, the callbacks
# and order-api's bookkeeping. Printed: each figure and its ratio to the reference.
# Usage: bash benches/orders.sh     (DURATION=10, CONC=8, LATENCY_ORDERS=40)
# Isolated: its own gateway on a free port with a temporary state directory, images tagged
# :bench, database orders_bench (user orders_bench), all removed on exit except the images.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
DURATION="${DURATION:-10}"
CONC="${CONC:-8}"
LATENCY_ORDERS="${LATENCY_ORDERS:-40}"
DB=orders_bench

bench_need wrk curl jq bc mariadb
bench_test_env
bench_setup

sql() { bench_mariadb --batch --skip-column-names "$DB" -e "$1"; }

echo "==> preparing database $DB" >&2
bench_database "$DB"
(umask 077 && head -c 32 /dev/urandom | base64 >"$WORK/callback-key")
bench_mariadb "$DB" <stacks/order-pipeline/schema.sql
bench_mariadb "$DB" <stacks/order-pipeline/seed.sql
# Enough stock that no order of the run is refused.
sql "UPDATE stock SET available = 100000000"

echo "==> building the six images (:bench) and starting a gateway" >&2
cp -r stacks/order-pipeline "$WORK/stack"
rm -rf "$WORK/stack/build" "$WORK/stack/.secrets"
export TAG=bench MYSQL_DATABASE="$DB" MYSQL_USER="$DB" MYSQL_PORT="$RFAAS_TEST_MYSQL_PORT"
(cd "$WORK/stack" && "$RFAAS" build -f stack.yaml --quiet >/dev/null 2>"$WORK/build.log") \
    || { cat "$WORK/build.log" >&2; fail "build failed"; }
bench_gateway_start
export GATEWAY_URL="$GW"
"$RFAAS" secret create orders-db-password -g "$GW" --from-file "$WORK/db-password" >/dev/null 2>&1
"$RFAAS" secret create orders-callback-key -g "$GW" --from-file "$WORK/callback-key" >/dev/null 2>&1
(cd "$WORK/stack" && "$RFAAS" deploy -f stack.yaml -g "$GW" --wait >/dev/null 2>"$WORK/deploy.log") \
    || { cat "$WORK/deploy.log" >&2; fail "deploy failed"; }
code="$(curl -s -o /dev/null -w '%{http_code}' "$GW/function/order-api/health/detailed")"
[ "$code" = 200 ] || fail "order-api/health/detailed answered $code"

ORDER='{"customer":{"id":"cust-bench","name":"Bench","email":"bench@example.com"},"items":[{"sku":"KB-101","quantity":1},{"sku":"CB-404","quantity":2}],"shippingAddress":{"line1":"1 Bench St","city":"Berlin","postalCode":"10115","country":"DE"},"paymentMethod":{"type":"card"}}'
post() { curl -fsS -H 'Content-Type: application/json' -d "$ORDER" "$GW/function/order-api/orders"; }
# Waits until order $1 is final (polling every 20 ms, at most 60 s).
wait_final() {
    local _
    for _ in $(seq 3000); do
        curl -fsS "$GW/function/order-api/orders/$1" | grep -q '"final": *true' && return 0
        sleep 0.02
    done
    fail "order $1 is not final after 60 s"
}
# "p50 p99" in ms of created_at -> completed_at of the orders matching the SQL condition $1.
latencies() {
    sql "SELECT TIMESTAMPDIFF(MICROSECOND, created_at, completed_at) / 1000 FROM orders WHERE $1" \
        >"$WORK/lat"
    echo "$(percentile 50 <"$WORK/lat") $(percentile 99 <"$WORK/lat")"
}
# The reference: the five step functions called in a row for order id $1; prints the ms it took.
sync_chain() {
    local id="$1" t0 t1 items='[{"sku":"KB-101","quantity":1},{"sku":"CB-404","quantity":2}]'
    local address='{"line1":"1 Bench St","city":"Berlin","postalCode":"10115","country":"DE"}'
    t0="$(date +%s%N)"
    {
        curl -fsS -d "{\"orderId\":\"$id\",\"items\":$items,\"currency\":\"EUR\",\"shippingAddress\":$address,\"paymentMethod\":{\"type\":\"card\"}}" "$GW/function/order-validator"
        curl -fsS -d "{\"orderId\":\"$id\",\"items\":$items}" "$GW/function/inventory/reserve"
        curl -fsS -d "{\"orderId\":\"$id\",\"amountCents\":10700,\"currency\":\"EUR\",\"method\":\"card\"}" "$GW/function/payment/charge"
        curl -fsS -d "{\"orderId\":\"$id\",\"items\":$items,\"shippingAddress\":$address}" "$GW/function/fulfilment"
        curl -fsS -d "{\"orderId\":\"$id\",\"kind\":\"shipped\",\"email\":\"bench@example.com\",\"name\":\"Bench\"}" "$GW/function/notification"
    } >/dev/null || fail "sync chain for $id failed"
    t1="$(date +%s%N)"
    echo "scale=3; ($t1 - $t0) / 1000000" | bc -l
}
export -f sync_chain fail
export GW

echo "==> warm-up: 5 orders and 5 sync chains" >&2
for i in $(seq 5); do wait_final "$(post | jq -r .orderId)"; sync_chain "ord-0000000000$(printf '%06x' "$i")" >/dev/null; done

echo "==> reference: $LATENCY_ORDERS sync chains one at a time, then at c=$CONC for ${DURATION} s" >&2
for i in $(seq "$LATENCY_ORDERS"); do sync_chain "ord-1000000000$(printf '%06x' "$i")"; done >"$WORK/ref"
ref_p50="$(percentile 50 <"$WORK/ref")"
ref_p99="$(percentile 99 <"$WORK/ref")"
t0="$(date +%s.%N)"
seq $((CONC * 400)) | awk '{printf "ord-2%015x\n", $1}' | timeout "$DURATION" xargs -P "$CONC" -I{} bash -c 'sync_chain {}' \
    >"$WORK/ref-load" 2>/dev/null || true
t1="$(date +%s.%N)"
ref_rate="$(echo "$(wc -l <"$WORK/ref-load") / ($t1 - $t0)" | bc -l)"

echo "==> latency: $LATENCY_ORDERS orders one at a time" >&2
sql "UPDATE orders SET customer_id = 'warm-up'"
for _ in $(seq "$LATENCY_ORDERS"); do wait_final "$(post | jq -r .orderId)"; done
read -r lat_p50 lat_p99 <<<"$(latencies "customer_id = 'cust-bench' AND status = 'COMPLETED'")"
sql "UPDATE orders SET customer_id = 'latency' WHERE customer_id = 'cust-bench'"

echo "==> throughput: wrk posts orders at c=$CONC for ${DURATION} s, then the backlog drains" >&2
bench_report_lua >"$WORK/report.lua"
{
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$ORDER"
    cat "$WORK/report.lua"
} >"$WORK/post.lua"
read -r _ _ post_rps post_err post_non2xx _ <<<"$(bench_wrk "$CONC" "$DURATION" "$WORK/post.lua" "$GW/function/order-api/orders")"
drain_start="$(date +%s)"
while [ "$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = 'cust-bench' AND status NOT IN ('COMPLETED','REJECTED','OUT_OF_STOCK','PAYMENT_FAILED','FAILED')")" != 0 ]; do
    [ $(($(date +%s) - drain_start)) -lt 600 ] || fail "the backlog did not drain within 10 minutes"
    sleep 0.5
done
# Counted after the drain: requests wrk cut off at the end may still have placed an order.
placed="$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = 'cust-bench'")"
completed="$(sql "SELECT COUNT(*) FROM orders WHERE customer_id = 'cust-bench' AND status = 'COMPLETED'")"
span="$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(created_at), MAX(completed_at)) / 1e6 FROM orders WHERE customer_id = 'cust-bench'")"
rate="$(echo "$completed / $span" | bc -l)"
read -r load_p50 load_p99 <<<"$(latencies "customer_id = 'cust-bench' AND status = 'COMPLETED'")"
calls="$(curl -fsS -u "admin:$(cat "$STATE/basic-auth-password")" "$GW/metrics" | awk '/^rfaas_async_(succeeded|dead)_total/ {s += $2} END {print s + 0}')"

x() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
echo
echo "order pipeline through rfaas's gateway ($(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg)); stack limits as in stack.yaml"
echo
printf '%-44s %10s %10s %10s\n' "" "p50 ms" "p99 ms" "per s"
printf '%-44s %10.1f %10.1f %10s\n' "reference: 5 sync calls in a row, c=1" "$ref_p50" "$ref_p99" "-"
printf '%-44s %10s %10s %10.1f\n' "reference: 5 sync calls in a row, c=$CONC" "-" "-" "$ref_rate"
printf '%-44s %10.1f %10.1f %10s\n' "order POST -> COMPLETED, one at a time" "$lat_p50" "$lat_p99" "-"
printf '%-44s %10.1f %10.1f %10.1f\n' "order POST -> COMPLETED, $placed orders at c=$CONC" "$load_p50" "$load_p99" "$rate"
echo
echo "ratios to the reference: latency p50 $(x "$lat_p50" "$ref_p50")x, p99 $(x "$lat_p99" "$ref_p99")x;" \
    "orders/s $(x "$rate" "$ref_rate")x of sync chains/s"
echo "throughput run: orders posted at $post_rps/s for ${DURATION} s ($((post_err + post_non2xx)) errors), $completed of $placed COMPLETED;" \
    "async calls finished (whole run): $calls"
