#!/usr/bin/env bash
# The main job (README "Run the food-delivery stack"): on a fresh Debian bookworm machine, start
# what the stack needs (Docker engine, base image, Redis, MariaDB), prepare its database and its
# secret, then `rfaas up --local` builds the three images, starts rfaas's local gateway, deploys,
# waits until every function is ready, and prints each function's URL; finally each function is
# invoked once. Idempotent: run it again to rebuild (unchanged functions are skipped) and redeploy.
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

# The database: a `food` user with its own password, kept (mode 0600) where `rfaas up --local`
# picks up secrets: ./.secrets/<name>, as faas-cli's local-run and `secret apply` do.
SECRETS="$HERE/.secrets"
mkdir -p "$SECRETS" && chmod 0700 "$SECRETS"
PW_FILE="$SECRETS/food-db-password"
if [ ! -s "$PW_FILE" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$PW_FILE")
fi
FOOD_PW="$(cat "$PW_FILE")"
echo "==> preparing MariaDB database food_delivery" >&2
MYSQL_PWD="$RFAAS_TEST_MYSQL_PASSWORD" mariadb --protocol=tcp -h "$RFAAS_TEST_MYSQL_HOST" -P "$RFAAS_TEST_MYSQL_PORT" \
    -u "$RFAAS_TEST_MYSQL_USER" <<EOF
CREATE DATABASE IF NOT EXISTS food_delivery CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'food'@'127.0.0.1' IDENTIFIED BY '$FOOD_PW';
ALTER USER 'food'@'127.0.0.1' IDENTIFIED BY '$FOOD_PW';
GRANT ALL PRIVILEGES ON food_delivery.* TO 'food'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
MYSQL_PWD="$FOOD_PW" mariadb --protocol=tcp -h 127.0.0.1 -P "$RFAAS_TEST_MYSQL_PORT" -u food food_delivery \
    <"$HERE/schema.sql"
MYSQL_PWD="$FOOD_PW" mariadb --protocol=tcp -h 127.0.0.1 -P "$RFAAS_TEST_MYSQL_PORT" -u food food_delivery \
    <"$HERE/seed.sql"

export MYSQL_PORT="$RFAAS_TEST_MYSQL_PORT" REDIS_PORT="$RFAAS_TEST_REDIS_PORT"
cd "$HERE"
echo "==> rfaas up --local" >&2
"$RFAAS" up --local -f stack.yaml

echo "==> invoking each function once" >&2
"$RFAAS" invoke delivery-analytics --content-type application/json <payloads/delivery-analytics.json
echo
"$RFAAS" invoke order-completion --content-type application/json <payloads/order-completion.json
echo
"$RFAAS" invoke auto-close-orders --content-type application/json <payloads/auto-close-orders.json
echo
"$RFAAS" list
