# shellcheck shell=bash
# The prelude of the bench scripts (gateway.sh, food.sh, build.sh): they `cd` to the repository
# root and source this file. It defines functions and one PATH tweak, and runs nothing else.
#
#   bench_need CMD...          installs the missing commands with apt-get (see bench_package)
#   bench_sudo CMD...          runs CMD as root: directly when root, else through sudo
#   bench_setup                builds target/release/rfaas (RFAAS; RFAAS_BIN=/path measures that
#                              binary instead, without building), makes the work directory WORK
#                              (STATE=$WORK/state), points OPENFAAS_CONFIG into it, unsets
#                              OPENFAAS_URL and installs the EXIT trap bench_cleanup
#   bench_on_exit FUNC...      FUNC runs at exit (last registered first), after the gateway stops
#                              and before WORK is removed
#   bench_gateway_start        starts an isolated gateway on a free port with its state in STATE
#                              and logs in to it; sets GW (its URL), GW_ID and GW_PID
#   bench_report_lua           prints wrk's done() that writes the RESULT line
#   bench_test_env             starts the tests/env services (tests/env/setup.sh) and exports
#                              their settings (RFAAS_TEST_*)
#   bench_mariadb ARGS...      the mariadb client, as the test environment's admin user
#   bench_database DB          a fresh database DB with a user DB whose password is written to
#                              $WORK/db-password (mode 0600); both are dropped at exit
#   bench_food_lua PACE_MS     writes $WORK/delivery.lua and $WORK/order.lua, the food-delivery
#                              request mix (benches/food.sh, benches/templates.sh)
#   bench_wrk C SECS SCRIPT URL [ARGS...]
#                              runs wrk; prints "p50_us p99_us req_per_s socket_errors non_2xx requests"
#   median [FMT]  percentile P  ok EXPR  fail MSG
#
# Variables set here are read by the sourcing script.
# shellcheck disable=SC2034

# nginx lives in /usr/sbin, which a non-root PATH often lacks.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_ON_EXIT=()

fail() { echo "error: $*" >&2; exit 1; }

# "ok" when the bc expression $1 holds, else "MISSED".
ok() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo "ok"; else echo "MISSED"; fi; }

# Median of the numbers on stdin, printed as is or with the printf format $1 (e.g. %.3f).
median() {
    sort -g | awk -v fmt="${1:-}" '{a[NR] = $1}
        END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
             if (fmt == "") print m; else printf fmt "\n", m}'
}

# Nearest-rank percentile $1 (0-100) of the numbers on stdin.
percentile() { sort -g | awk -v p="$1" '{a[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; print a[i]}'; }

bench_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The Debian package that provides command $1.
bench_package() {
    case "$1" in
        wrk | hyperfine | jq | bc | curl) echo "$1" ;;
        nginx) echo nginx-light ;;
        redis-cli) echo redis-tools ;;
        mariadb) echo mariadb-client ;;
        *) return 1 ;;
    esac
}

# Installs the packages of the commands that are not on PATH. apt-get's output is kept out of
# the way and shown only when it fails; a failed install is retried once after `apt-get update`.
bench_need() {
    local cmd pkg cmds=() pkgs=() log
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 && continue
        pkg="$(bench_package "$cmd")" || fail "$cmd is not installed and bench_need knows no Debian package for it"
        cmds+=("$cmd")
        pkgs+=("$pkg")
    done
    [ "${#pkgs[@]}" -gt 0 ] || return 0
    [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1 || fail "installing ${pkgs[*]} needs root or sudo"
    echo "==> installing ${pkgs[*]} with apt-get (for ${cmds[*]})" >&2
    log="$(mktemp)"
    if ! bench_apt install -y "${pkgs[@]}" >"$log" 2>&1; then
        echo "==> apt-get install failed; running apt-get update and retrying" >&2
        if ! { bench_apt update && bench_apt install -y "${pkgs[@]}"; } >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            rm -f "$log"
            fail "apt-get install ${pkgs[*]} failed (the end of its output is above)"
        fi
    fi
    rm -f "$log"
    hash -r
    for cmd in "${cmds[@]}"; do
        command -v "$cmd" >/dev/null 2>&1 || fail "installed ${pkgs[*]}, but $cmd is still not on PATH"
    done
}
# apt-get, non-interactive, waiting up to 5 minutes for another apt or dpkg to finish.
bench_apt() { bench_sudo env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@"; }

bench_setup() {
    if [ -n "${RFAAS_BIN:-}" ]; then
        [ -x "$RFAAS_BIN" ] || fail "RFAAS_BIN=$RFAAS_BIN is not an executable"
        RFAAS="$(realpath "$RFAAS_BIN")"   # the scripts run it from other directories
    else
        cargo build --release --quiet --manifest-path "$BENCH_ROOT/Cargo.toml"
        RFAAS="$BENCH_ROOT/target/release/rfaas"
    fi
    WORK="$(mktemp -d)"
    STATE="$WORK/state"
    export OPENFAAS_CONFIG="$WORK/openfaas"   # rfaas login writes here, not to ~/.openfaas
    unset OPENFAAS_URL
    trap bench_cleanup EXIT
}

bench_on_exit() { BENCH_ON_EXIT+=("$@"); }

# Stops the gateway and removes its containers (the ones labelled with its id), then runs the
# bench_on_exit functions and removes WORK. Best effort: every step runs even if one fails.
bench_cleanup() {
    set +e
    local id i
    if [ -n "${STATE:-}" ] && [ -f "$STATE/gateway-id" ]; then
        id="$(cat "$STATE/gateway-id")"
        "$RFAAS" gateway stop --state-dir "$STATE" >/dev/null 2>&1
        docker ps -aq --filter "label=com.rfaas.gateway=$id" | xargs -r docker rm -f >/dev/null 2>&1
    fi
    for ((i = ${#BENCH_ON_EXIT[@]} - 1; i >= 0; i--)); do
        "${BENCH_ON_EXIT[i]}"
    done
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
}

bench_gateway_start() {
    GW="$("$RFAAS" gateway start --port 0 --state-dir "$STATE" 2>"$WORK/gateway-start.log")" \
        || { cat "$WORK/gateway-start.log" >&2; fail "rfaas gateway start failed"; }
    GW_ID="$(cat "$STATE/gateway-id")"
    GW_PID="$(jq -r .pid "$STATE/gateway.json")"
    "$RFAAS" login -g "$GW" --password-stdin <"$STATE/basic-auth-password" >/dev/null 2>&1 \
        || fail "rfaas login to $GW failed"
}

# wrk's done() hook: one line "RESULT p50_us p99_us req_per_s socket_errors non_2xx requests".
# Appended to (or used as) the wrk script of every run.
bench_report_lua() {
    cat <<'EOF'
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.1f %d %d %d\n", latency:percentile(50), latency:percentile(99),
    summary.requests / (summary.duration / 1e6), e.connect + e.read + e.write + e.timeout, e.status,
    summary.requests))
end
EOF
}

# wrk with C connections on min(C, 2) threads for SECS seconds, SCRIPT ending with
# bench_report_lua's done(); ARGS go to the script's init(). Prints the RESULT fields.
bench_wrk() {
    local c="$1" secs="$2" script="$3" url="$4" out
    shift 4
    out="$(wrk -t "$((c < 2 ? c : 2))" -c "$c" -d "${secs}s" -s "$script" "$url" -- "$@")" \
        || fail "wrk on $url failed"
    awk '/^RESULT / {print $2, $3, $4, $5, $6, $7; found = 1} END {exit !found}' <<<"$out" \
        || fail "wrk on $url printed no RESULT line"
}

# shellcheck source=../tests/env/lib.sh
. "$BENCH_ROOT/tests/env/lib.sh"

bench_test_env() {
    local log
    log="$(test_env_setup 2>&1)" || { echo "$log" >&2; exit 1; }
    test_env_load
}

bench_mariadb() {
    MYSQL_PWD="$RFAAS_TEST_MYSQL_PASSWORD" mariadb --protocol=tcp -h "$RFAAS_TEST_MYSQL_HOST" \
        -P "$RFAAS_TEST_MYSQL_PORT" -u "$RFAAS_TEST_MYSQL_USER" "$@"
}

bench_database() {
    local db="$1" pw
    BENCH_DATABASE="$db"
    pw="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    (umask 077 && printf '%s' "$pw" >"$WORK/db-password")
    bench_mariadb -e "DROP DATABASE IF EXISTS $db;"
    test_env_database "$db" "$db" "$pw" "ALL PRIVILEGES"
    bench_on_exit bench_drop_database
}

bench_drop_database() {
    bench_mariadb -e "DROP DATABASE IF EXISTS $BENCH_DATABASE; DROP USER IF EXISTS '$BENCH_DATABASE'@'127.0.0.1';" \
        >/dev/null 2>&1
}

# The food-delivery stack's data for a bench, from the caller's DB and REDIS_DB: database DB
# (bench_database) holding the stack's schema, and Redis database REDIS_DB emptied now and at exit.
bench_food_data() {
    echo "==> preparing database $DB and Redis DB $REDIS_DB" >&2
    bench_on_exit bench_flush_redis
    bench_database "$DB"
    bench_mariadb "$DB" <stacks/food-delivery/schema.sql
    bench_redis flushdb >/dev/null
}

bench_flush_redis() { bench_redis flushdb >/dev/null 2>&1; }

# redis-cli against the test Redis, in database REDIS_DB.
bench_redis() { redis-cli -h "$RFAAS_TEST_REDIS_HOST" -p "$RFAAS_TEST_REDIS_PORT" -n "$REDIS_DB" "$@"; }

# Threads are numbered 0..n-1 from setup(); each connection pauses PACE_MS between requests
# when it is above 0. delivery.lua posts a new delivery (unique deliveryId) for one of 50
# drivers per request; order.lua completes seeded order <prefix><i>, thread t taking i = t,
# t+threads, t+2*threads, ... so every request completes a different order (customer
# cust-<i % 500>, as seeded). Both end with bench_report_lua's RESULT line.
bench_food_lua() {
    local pace="$1"
    bench_report_lua >"$WORK/report.lua"
    cat >"$WORK/threads.lua" <<'EOF'
local count = 0
function setup(thread)
  thread:set("tid", count)
  count = count + 1
end
EOF
    if [ "$pace" -gt 0 ]; then
        printf 'function delay()\n  return %d\nend\n' "$pace" >>"$WORK/threads.lua"
    fi
    cat "$WORK/threads.lua" - "$WORK/report.lua" >"$WORK/delivery.lua" <<'EOF'
local n = 0
function init(args)
  prefix = args[1] .. "-" .. tid
end
function request()
  n = n + 1
  local body = string.format('{"deliveryId":"del-%s-%d","orderId":"ord-%s-%d","driverId":"drv-%d",'
    .. '"estimatedDeliveryTime":1800,"actualDeliveryTime":%d,"distanceKm":%.1f,"customerRating":%d}',
    prefix, n, prefix, n, n % 50, 1200 + (n * 37) % 1200, 1 + (n % 150) / 10, 1 + n % 5)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
EOF
    cat "$WORK/threads.lua" - "$WORK/report.lua" >"$WORK/order.lua" <<'EOF'
function init(args)
  prefix, step, i = args[1], tonumber(args[2]), tid
end
function request()
  local id = i
  i = i + step
  local body = string.format('{"orderId":"%s%d","customerId":"cust-%d","customerEmail":"c%d@example.com",'
    .. '"items":[{"name":"Margherita pizza","quantity":2,"unitPrice":9.5},'
    .. '{"name":"Lemonade","quantity":1,"unitPrice":3.25}],"total":22.25}', prefix, id, id % 500, id % 500)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
EOF
}
