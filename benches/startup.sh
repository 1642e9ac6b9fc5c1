#!/usr/bin/env bash
# CLI start-up against the floor (issue 13 target 2), all in one hyperfine run so the ratios
# compare like with like:
#   rfaas --help                                   target <= 3x /bin/true
#   rfaas generate on a 3-function stack           target <= 3x /bin/true
#   rfaas list against a local gateway (no functions; loopback HTTP, basic auth from config.yml)
#                                                  target <= 4x /bin/true
# Usage: bash benches/startup.sh        (RUNS=200 runs per command; BIN=/path/to/rfaas to measure
#        another binary than target/release/rfaas, e.g. the previous implementation)
# Starts an isolated gateway on a free port (needs Docker: tests/env/setup.sh); installs
# hyperfine, jq and bc with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
RUNS="${RUNS:-200}"
bench_need hyperfine jq bc
bench_setup
[ -z "${BIN:-}" ] || RFAAS="$BIN"
bench_gateway_start

mkdir -p "$WORK/project"
cd "$WORK/project"
{
    printf 'version: 1.0\nprovider:\n  name: openfaas\n  gateway: %s\nfunctions:\n' "$GW"
    for fn in orders payments receipts; do
        printf '  %s:\n    lang: python3-http\n    handler: ./%s\n    image: 127.0.0.1:5000/bench/%s:0.1\n' "$fn" "$fn" "$fn"
        printf '    environment:\n      write_timeout: 10s\n    labels:\n      team: food\n'
    done
} >stack.yaml
"$RFAAS" generate >/dev/null || fail "rfaas generate failed"
"$RFAAS" list -g "$GW" >/dev/null || fail "rfaas list failed"

hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$WORK/startup.json" \
    -n true /bin/true \
    -n help "$RFAAS --help" \
    -n generate "$RFAAS generate" \
    -n list "$RFAAS list -g $GW" >&2

jq -r '.results[] | [.command, .median, .mean, .stddev, .min, (.user // 0), (.system // 0)] | @tsv' \
    "$WORK/startup.json" >"$WORK/rows"
TRUE_MS="$(awk -F'\t' '$1 == "true" {print $2 * 1000}' "$WORK/rows")"
printf '%-9s %9s %9s %8s %8s %8s %8s  %s\n' command median mean stddev min user sys "ratio (median / true)"
while IFS=$'\t' read -r name median mean stddev min user sys; do
    ms() { echo "$1 * 1000" | bc -l; }
    ratio="$(echo "$(ms "$median") / $TRUE_MS" | bc -l)"
    case "$name" in
        help | generate) verdict="target <= 3x: $(ok "$ratio <= 3")" ;;
        list) verdict="target <= 4x: $(ok "$ratio <= 4")" ;;
        *) verdict="reference" ;;
    esac
    printf '%-9s %7.2fms %7.2fms %6.2fms %6.2fms %6.2fms %6.2fms  %5.2fx  %s\n' "$name" "$(ms "$median")" \
        "$(ms "$mean")" "$(ms "$stddev")" "$(ms "$min")" "$(ms "$user")" "$(ms "$sys")" "$ratio" "$verdict"
done <"$WORK/rows"
