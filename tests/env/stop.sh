#!/usr/bin/env bash
# Stop the services tests/env/setup.sh started (for manual use).  Only
# processes recorded in the state dir's pid files are stopped; a Docker engine
# or service that setup.sh found already running is left alone.  Data, the
# passwords and the cached base-image tarball are kept, so setup.sh brings
# everything back quickly.
set -euo pipefail

STATE="${RFAAS_TEST_STATE:-/var/lib/rfaas-test}"

log() { echo "stop: $*" >&2; }

# stop NAME PIDFILE EXPECTED_COMM
stop() {
    local name="$1" pidfile="$2" comm="$3" pid
    if [ ! -f "$pidfile" ]; then
        log "$name: not started by setup.sh (no $pidfile)"
        return 0
    fi
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != "$comm" ]; then
        log "$name: not running"
        rm -f "$pidfile"
        return 0
    fi
    log "$name: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: still running after 30 s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

stop mariadb  "$STATE/mariadb/run/mariadbd.pid" mariadbd
rm -f "$STATE/run/mariadbd.spawn.pid"
stop redis    "$STATE/run/redis.pid"            redis-server
stop registry "$STATE/run/registry.pid"         docker-registry
stop podman   "$STATE/run/podman.pid"           podman
stop dockerd  "$STATE/run/dockerd.pid"          dockerd
log "done"
