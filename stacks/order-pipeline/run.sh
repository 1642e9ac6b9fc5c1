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

if [ "$(id -u)" -eq 0 ]; then bash tests/env/setup.sh; else sudo bash tests/env/setup.sh; fi
set -a
# shellcheck disable=SC1091
. "${RFAAS_TEST_STATE:-/var/lib/rfaas-test}/env"
set +a

echo "==> building rfaas" >&2
cargo build --release --locked --quiet
RFAAS="$ROOT/target/release/rfaas"

# Two secrets (mode 0600) where `rfaas up --local` picks them up: ./.secrets/<name>, as
# faas-cli's local-run and `secret apply` do. The database password, and the key that signs
# the callback URLs order-api gives each step.
SECRETS="$HERE/.secrets"
mkdir -p "$SECRETS" && chmod 0700 "$SECRETS"
for name in orders-db-password orders-callback-key; do
    if [ ! -s "$SECRETS/$name" ]; then
        (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=' >"$SECRETS/$name")
    fi
done
DB_PW="$(cat "$SECRETS/orders-db-password")"

echo "==> preparing MariaDB database order_pipeline" >&2
MYSQL_PWD="$RFAAS_TEST_MYSQL_PASSWORD" mariadb --protocol=tcp -h "$RFAAS_TEST_MYSQL_HOST" -P "$RFAAS_TEST_MYSQL_PORT" \
    -u "$RFAAS_TEST_MYSQL_USER" <<SQL
CREATE DATABASE IF NOT EXISTS order_pipeline CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'orders'@'127.0.0.1' IDENTIFIED BY '$DB_PW';
ALTER USER 'orders'@'127.0.0.1' IDENTIFIED BY '$DB_PW';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON order_pipeline.* TO 'orders'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
for file in schema.sql seed.sql; do
    MYSQL_PWD="$DB_PW" mariadb --protocol=tcp -h 127.0.0.1 -P "$RFAAS_TEST_MYSQL_PORT" -u orders order_pipeline \
        <"$HERE/$file"
done

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
