#!/usr/bin/env bash
# Build-speed figures on the real engine (needs tests/env/setup.sh services):
#   1. no-op rebuild of a 3-function stack (python3-http, node18, golang-http)   target < 0.5 s
#   2. rebuild after a handler-only change to the python3-http function          target < 3 s
#   3. rebuild of three changed python3-http functions, --parallel 1 vs 3        (speed-up)
#   4. no-op rebuild of one `lang: dockerfile` function against the floor of faas-cli's cached
#      build of it: `docker build` of the same context with every layer cached (the legacy
#      builder; faas-cli adds its own start-up and the copy into ./build on top), one hyperfine
#      run                                                          target >= 10x faster
# Usage: bash benches/build.sh [runs]   (median of `runs`, default 3)
# Installs bc with apt-get if it is missing (benches/lib.sh). The images, tagged bench-<pid>,
# are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
RUNS="${1:-3}"
TAG="bench-$$"
bench_need bc hyperfine jq
bench_setup
remove_images() {
    docker image ls --format "{{.Repository}}:{{.Tag}}" | grep ":$TAG\$" | xargs -r docker image rm --no-prune >/dev/null 2>&1
}
bench_on_exit remove_images
cd "$WORK"

now() { date +%s.%N; }
# Runs "$@" quietly and prints the seconds it took.
timed() { local t0; t0=$(now); "$@" >/dev/null 2>"$WORK/last.log" || { cat "$WORK/last.log" >&2; exit 1; }; echo "$(now) - $t0" | bc -l; }

"$RFAAS" new py --lang python3-http --prefix rfaas-bench -q >/dev/null 2>&1
"$RFAAS" new js --lang node18 --append stack.yaml --prefix rfaas-bench -q >/dev/null 2>&1
"$RFAAS" new go --lang golang-http --append stack.yaml --prefix rfaas-bench -q >/dev/null 2>&1
"$RFAAS" new py2 --lang python3-http --append stack.yaml --prefix rfaas-bench -q >/dev/null 2>&1
"$RFAAS" new py3 --lang python3-http --append stack.yaml --prefix rfaas-bench -q >/dev/null 2>&1
sed -i "s/:latest/:$TAG/" stack.yaml
echo "warming up: first build of 5 functions (uses the engine's layer cache)..." >&2
"$RFAAS" build --parallel 2 --quiet >/dev/null 2>"$WORK/warm.log" || { cat "$WORK/warm.log" >&2; exit 1; }

noop=$(for _ in $(seq "$RUNS"); do timed "$RFAAS" build --regex '^(py|js|go)$'; done | median %.3f)
echo "no-op rebuild, 3 functions:                  ${noop} s   (target < 0.5 s)"

handler=$(for i in $(seq "$RUNS"); do
    echo "# edit $i $$ $(date +%s%N)" >> py/handler.py
    timed "$RFAAS" build --regex '^py$' --quiet
done | median %.3f)
echo "handler-only change, python3-http rebuild:   ${handler} s   (target < 3 s)"

three() {  # $1 = parallelism: change the three python handlers, rebuild them
    for f in py py2 py3; do echo "# $1 $$ $(date +%s%N)" >> "$f/handler.py"; done
    timed "$RFAAS" build --regex '^py[23]?$' --parallel "$1" --quiet
}
p1=$(for _ in $(seq "$RUNS"); do three 1; done | median %.3f)
p3=$(for _ in $(seq "$RUNS"); do three 3; done | median %.3f)
speedup=$(echo "$p1 / $p3" | bc -l)
printf 'three changed functions, --parallel 1:       %s s\n' "$p1"
printf 'three changed functions, --parallel 3:       %s s   (speed-up %.2fx on %s cores)\n' "$p3" "$speedup" "$(nproc)"

mkdir -p df
printf 'FROM debian:bookworm-slim\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n' >df/Dockerfile
echo "static" >df/msg.txt
printf 'version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  df:\n    lang: dockerfile\n    handler: ./df\n    image: rfaas-bench/df:%s\n' "$TAG" >df.yaml
"$RFAAS" build -f df.yaml --quiet >/dev/null 2>"$WORK/df.log" || { cat "$WORK/df.log" >&2; exit 1; }
DOCKER_BUILDKIT=0 docker build -q -t "rfaas-bench/df-docker:$TAG" df >/dev/null
hyperfine -N --warmup 3 --runs "${NOOP_RUNS:-30}" --export-json "$WORK/noop.json" \
    -n rfaas "$RFAAS build -f df.yaml --quiet" \
    -n docker "env DOCKER_BUILDKIT=0 docker build -q -t rfaas-bench/df-docker:$TAG df" >/dev/null
read -r rfaas_ms docker_ms < <(jq -r '[.results[] | .median * 1000 | floor] | @tsv' "$WORK/noop.json")
printf 'no-op rebuild, dockerfile function:          %s ms   (cached docker build: %s ms; %.1fx faster, target >= 10x)\n' \
    "$rfaas_ms" "$docker_ms" "$(echo "$docker_ms / $rfaas_ms" | bc -l)"
