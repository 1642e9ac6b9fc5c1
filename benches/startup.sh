#!/usr/bin/env bash
# CLI start-up against the floor (issue 13 target 2), all in one hyperfine run so the ratios
# compare like with like:
#   rfaas --help                                   target <= 3x /bin/true
#   rfaas generate on a 3-function stack           target <= 3x /bin/true
#   rfaas list against a local gateway (no functions; loopback HTTP, basic auth from config.yml)
#                                                  target <= 4x /bin/true
# Usage: bash benches/startup.sh        (RUNS=200 runs per command; RFAAS_BIN=/path/to/rfaas to
#        measure another binary than a fresh target/release/rfaas, e.g. the previous implementation)
# Starts an isolated gateway on a free port (needs Docker: tests/env/setup.sh); installs
# hyperfine, jq and bc with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
RUNS="${RUNS:-200}"
bench_need hyperfine jq
bench_setup
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

# Wall-clock medians are the target's measure; on a loaded machine (other jobs on the cores) the
# minimum and the CPU time (user + sys) are the steadier figures, so all three ratios are shown.
jq -r '.results[] | [.command, .median, .mean, .stddev, .min, (.user // 0), (.system // 0)] | @tsv' \
    "$WORK/startup.json" | awk -F'\t' '
    { name[NR] = $1; med[NR] = $2 * 1000; mean[NR] = $3 * 1000; sd[NR] = $4 * 1000; mn[NR] = $5 * 1000
      cpu[NR] = ($6 + $7) * 1000; usr[NR] = $6 * 1000; sys[NR] = $7 * 1000
      if ($1 == "true") { t = NR } }
    END {
      printf "%-9s %9s %9s %8s %8s %8s %8s   %s\n", "command", "median", "mean", "stddev", "min", "user", "sys",
             "ratios vs /bin/true: median, min, cpu"
      for (i = 1; i <= NR; i++) {
        r = med[i] / med[t]; target = (name[i] == "list") ? 4 : 3
        verdict = (name[i] == "true") ? "reference" : sprintf("target <= %dx: %s", target, (r <= target) ? "ok" : "MISSED")
        printf "%-9s %7.2fms %7.2fms %6.2fms %6.2fms %6.2fms %6.2fms   %5.2fx %5.2fx %5.2fx  %s\n", name[i], med[i], mean[i],
               sd[i], mn[i], usr[i], sys[i], r, mn[i] / mn[t], cpu[i] / cpu[t], verdict
      }
    }'
