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
        RFAAS="$RFAAS_BIN"
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
