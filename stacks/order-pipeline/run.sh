#!/usr/bin/env bash
# The order pipeline end to end (README "Run the order-pipeline stack"): on a fresh Debian
# bookworm machine, start what the stack needs (Docker engine, base image, MariaDB), prepare
# its database, user and secrets, then `rfaas up --local` builds the six images, starts rfaas's
# local gateway, deploys and waits until every function is ready; finally one order is placed
# and followed until it reaches its final state. Idempotent: run it again to rebuild
# (unchanged functions are skipped) and redeploy; the catalogue's stock is kept.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

# shellcheck source=../lib.sh
. stacks/lib.sh
stack_services

# Two secrets (mode 0600) where `rfaas up --local` picks them up: ./.secrets/<name>, as
# faas-cli's local-run and `secret apply` do. The database password, and the key that signs
# the callback URLs order-api gives each step.
DB_PW="$(stack_secret orders-db-password)"
stack_secret orders-callback-key >/dev/null
stack_database order_pipeline orders "$DB_PW" "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES" \
    "$HERE/schema.sql" "$HERE/seed.sql"

export MYSQL_PORT="$RFAAS_TEST_MYSQL_PORT"
export GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
cd "$HERE"
echo "==> rfaas up --local" >&2
"$RFAAS" up --local -f stack.yaml

echo "==> placing an order" >&2
ORDERS="$GATEWAY_URL/function/order-api/orders"
placed="$(curl -fsS -H 'Content-Type: application/json' --data-binary @payloads/order.json "$ORDERS")"
echo "$placed"
order_id="$(printf '%s' "$placed" | sed -n 's/.*"orderId": *"\([^"]*\)".*/\1/p')"
[ -n "$order_id" ] || { echo "error: order-api did not return an order id" >&2; exit 1; }

echo "==> following $order_id" >&2
status=""
for _ in $(seq 1 120); do
    order="$(curl -fsS "$ORDERS/$order_id")"
    status="$(printf '%s' "$order" | sed -n 's/.*"status": *"\([A-Z_]*\)".*/\1/p' | head -n 1)"
    if printf '%s' "$order" | grep -q '"final": *true'; then
        echo "$order"
        echo "==> $order_id is $status" >&2
        "$RFAAS" async list --limit 12
        exit 0
    fi
    sleep 0.5
done
echo "error: $order_id did not reach a final state within 60 s (last: ${status:-unknown}); see rfaas logs order-api" >&2
exit 1
