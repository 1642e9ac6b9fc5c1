#!/usr/bin/env bash
# Schemathesis against a real `rfaas gateway`, with OpenFaaS's OpenAPI spec (not part of
# `cargo test`). Starts a gateway on a free port with a temporary state directory, deploys the
# echo test function (tests/it/support/echo) as `echo`, runs schemathesis with the exclusions in
# tests/schema/schemathesis.toml, then stops the gateway and removes its containers.
#
#   bash tests/schema/run.sh                       # defaults
#   bash tests/schema/run.sh --max-examples 200 --seed 42   # extra flags go to `schemathesis run`
#
# Reports (JUnit, NDJSON) and schemathesis's cache go to target/schemathesis/. Exit code:
# schemathesis's.
# Environment: SCHEMATHESIS (default /opt/rfaas-schemathesis/bin/schemathesis, installed there
# from PyPI on first use), OPENFAAS_SPEC
# (default ../shared/reference/openfaas-spec.openapi.yml beside the project root).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ST=${SCHEMATHESIS:-/opt/rfaas-schemathesis/bin/schemathesis}
SPEC=${OPENFAAS_SPEC:-$ROOT/../shared/reference/openfaas-spec.openapi.yml}
REPORTS="$ROOT/target/schemathesis"

log() { echo "schema: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ ! -x "$ST" ] && [ -z "${SCHEMATHESIS:-}" ]; then
    # Installs the pinned schemathesis from PyPI into its own virtualenv (once).
    venv=$(dirname "$(dirname "$ST")")
    log "installing schemathesis 4.32.5 into $venv"
    python3 -m venv "$venv" >/dev/null || die "cannot create a virtualenv at $venv (apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet schemathesis==4.32.5 || die "pip install schemathesis==4.32.5 failed"
fi
[ -x "$ST" ] || die "schemathesis not found at $ST (set SCHEMATHESIS)"
[ -f "$SPEC" ] || die "spec not found at $SPEC (set OPENFAAS_SPEC)"
command -v docker >/dev/null || die "docker not found: run 'sudo bash tests/env/setup.sh'"

cargo build --quiet --manifest-path "$ROOT/Cargo.toml" --bin rfaas
RFAAS="$ROOT/target/debug/rfaas"

TMP=$(mktemp -d)
STATE="$TMP/state"
GW_PID=""
cleanup() {
    if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
        kill "$GW_PID" && wait "$GW_PID" 2>/dev/null || true
    fi
    if [ -f "$STATE/gateway-id" ]; then
        ids=$(docker ps -aq --filter "label=com.rfaas.gateway=$(cat "$STATE/gateway-id")")
        [ -z "$ids" ] || docker rm -f $ids >/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# --pull never: schemathesis deploys the spec's example images (functions/nodeinfo...), which
# must not send the engine to a registry on the internet; an absent image is a 424 at once.
"$RFAAS" gateway --port 0 --state-dir "$STATE" --pull never >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
URL=""
for _ in $(seq 1 300); do
    if [ -f "$STATE/gateway.json" ]; then
        URL=$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f["url"] if f["pid"]==int(sys.argv[2]) else "")' \
            "$STATE/gateway.json" "$GW_PID")
        [ -n "$URL" ] && curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
    fi
    kill -0 "$GW_PID" 2>/dev/null || { cat "$TMP/gateway.log" >&2; die "the gateway exited"; }
    sleep 0.1
done
[ -n "$URL" ] || die "the gateway did not start"
RFAAS_GATEWAY_PASSWORD=$(cat "$STATE/basic-auth-password")
export RFAAS_GATEWAY_PASSWORD
log "gateway $URL (pid $GW_PID)"

# The echo image the integration tests build; built here when they have not run yet.
IMAGE=$(docker images --format '{{.Repository}}:{{.Tag}}' 'rfaas-test/echo' | head -n1)
if [ -z "$IMAGE" ]; then
    IMAGE="rfaas-test/echo:schema"
    log "building $IMAGE"
    docker build --quiet --network host -t "$IMAGE" "$ROOT/tests/it/support/echo" >/dev/null
fi
curl -fsS -u "admin:$RFAAS_GATEWAY_PASSWORD" -X POST "$URL/system/functions" \
    -d "{\"service\":\"echo\",\"image\":\"$IMAGE\"}" >/dev/null || die "cannot deploy echo ($IMAGE)"
for _ in $(seq 1 300); do
    curl -fsS -u "admin:$RFAAS_GATEWAY_PASSWORD" "$URL/system/function/echo" | grep -q '"availableReplicas":1' && break
    sleep 0.1
done
log "echo deployed from $IMAGE"

mkdir -p "$REPORTS"
set +e
# From the reports directory, so schemathesis's own cache (.schemathesis/) stays out of the tree.
(cd "$REPORTS" && "$ST" --config-file "$ROOT/tests/schema/schemathesis.toml" run "$SPEC" --url "$URL" \
    --workers 2 --report junit,ndjson --report-dir "$REPORTS" "$@")
status=$?
set -e
if grep -q ' error ' "$TMP/gateway.log"; then
    log "errors in the gateway log:"
    grep ' error ' "$TMP/gateway.log" | tail -n 20 >&2
fi
curl -fs -o /dev/null -u "admin:$RFAAS_GATEWAY_PASSWORD" "$URL/system/function/echo" \
    && log "echo is still deployed" || log "echo was deleted during the run (the stateful phase deletes what it finds)"
exit $status
