#!/usr/bin/env bash
# `rfaas up --skip-push --skip-deploy` on stacks/food-delivery with every image already built, so
# the run is: fetch the stack, plan, see that nothing changed. Issue 9 asks that the operations
# layer load the stack once per invocation (the implementation before it loaded it 4 times).
#
# The stack is served from loopback (-f http://127.0.0.1:PORT/stack.yaml) by a small server that
# counts the GETs, so the number of stack loads per invocation is measured, not assumed.
#
# Usage: bash benches/up.sh                      current binary vs /bin/true, and the load count
#        BEFORE=/path/to/old/rfaas bash benches/up.sh
#                                                 the same, plus the old binary in the same
#                                                 hyperfine run: its load count and the ratio
# RUNS=N hyperfine runs per command (default 30); RFAAS_BIN=/path/to/rfaas measures that binary
# instead of a fresh target/release/rfaas. Needs the tests/env services (Docker); installs
# hyperfine and jq with apt-get when missing. The images are tagged :bench-up and kept.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
RUNS="${RUNS:-30}"
bench_need hyperfine jq bc
bench_setup
BEFORE="${BEFORE:-}"
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || fail "BEFORE=$BEFORE is not an executable"

# A copy of the stack directory, so build/ and template/ are written in WORK.
cp -r stacks/food-delivery "$WORK/food"
cd "$WORK/food"
export TAG=bench-up REGISTRY=localhost:5000

# The stack server: answers GET /stack.yaml with the file and appends one line per GET to
# $WORK/gets.log.
PORT_FILE="$WORK/port"
python3 - "$WORK/food/stack.yaml" "$WORK/gets.log" "$PORT_FILE" <<'PY' &
import http.server, sys
stack, log, port_file = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(stack, "rb").read()
        with open(log, "a") as f:
            f.write(self.path + "\n")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
SERVER_PID=$!
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; }
bench_on_exit stop_server
for _ in $(seq 50); do [ -s "$PORT_FILE" ] && break; sleep 0.1; done
[ -s "$PORT_FILE" ] || fail "the stack server did not start"
URL="http://127.0.0.1:$(cat "$PORT_FILE")/stack.yaml"

echo "==> building the food-delivery images once (later runs find them unchanged)" >&2
"$RFAAS" build -f "$URL" --quiet >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; fail "build failed"; }

# GETs of the stack made by one `up` run of binary $1.
loads() {
    : >"$WORK/gets.log"
    "$1" up -f "$URL" --skip-push --skip-deploy --quiet >"$WORK/up.log" 2>&1 \
        || { cat "$WORK/up.log" >&2; fail "$1 up failed"; }
    wc -l <"$WORK/gets.log" | tr -d ' '
}
NOW_LOADS="$(loads "$RFAAS")"
echo "stack loads per 'up': current $NOW_LOADS (target 1)"
[ -z "$BEFORE" ] || echo "stack loads per 'up': before  $(loads "$BEFORE")"

UP="up -f $URL --skip-push --skip-deploy --quiet"
CMDS=(-n true /bin/true -n current "$RFAAS $UP")
[ -z "$BEFORE" ] || CMDS+=(-n before "$BEFORE $UP")
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/up.json" "${CMDS[@]}" >&2

# name mean median stddev min max, in ms.
jq -r '.results[] | [.command, .mean, .median, .stddev, .min, .max] | @tsv' "$WORK/up.json" |
    awk -F'\t' '{printf "%-8s mean %7.2f ms  median %7.2f ms  stddev %6.2f ms  min %7.2f  max %7.2f\n",
        $1, $2 * 1000, $3 * 1000, $4 * 1000, $5 * 1000, $6 * 1000}'
median_of() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$WORK/up.json"; }
TRUE_MS="$(median_of true)"
CUR_MS="$(median_of current)"
printf 'current / true:   %.1fx (medians)\n' "$(echo "$CUR_MS / $TRUE_MS" | bc -l)"
if [ -n "$BEFORE" ]; then
    BEF_MS="$(median_of before)"
    printf 'current / before: %.2fx (medians; below 1 is faster)\n' "$(echo "$CUR_MS / $BEF_MS" | bc -l)"
fi
