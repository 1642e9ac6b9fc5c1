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

# shellcheck source=../lib.sh
. stacks/lib.sh
stack_services

# The database: a `food` user with its own password, kept (mode 0600) where `rfaas up --local`
# picks up secrets: ./.secrets/<name>, as faas-cli's local-run and `secret apply` do.
FOOD_PW="$(stack_secret food-db-password)"
stack_database food_delivery food "$FOOD_PW" "ALL PRIVILEGES" "$HERE/schema.sql" "$HERE/seed.sql"

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
