#!/usr/bin/env bash
# Multi-platform publish on the real engine and registry (needs tests/env/setup.sh services,
# including the arm64 base image and qemu-user-static):
#   reference: two sequential single-platform builds and pushes with the docker CLI
#              (DOCKER_BUILDKIT=0 docker build --pull --platform P && docker push), amd64 then arm64
#   rfaas:     rfaas publish --platforms linux/amd64,linux/arm64 (both builds, both engine pushes
#              of the per-platform tags, their manifests read back, one image index)
# Each run changes a build-arg that the one RUN step depends on, so both sides rebuild that step
# (under emulation for arm64) and push one new layer per platform. Prints medians and the ratio.
# Usage: bash benches/publish.sh [runs]   (median of `runs`, default 3; RFAAS_BIN=path uses that
#        binary instead of building target/release/rfaas)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
RUNS="${1:-3}"
TAG="bench-$$"
bench_need bc curl
bench_setup   # RFAAS_BIN=path: that binary, without the release build
ENV_FILE="${RFAAS_TEST_STATE:-/var/lib/rfaas-test}/env"
[ -r "$ENV_FILE" ] || fail "no $ENV_FILE: run tests/env/setup.sh first"
env_value() { grep -E "^$1=" "$ENV_FILE" | head -n1 | cut -d= -f2-; }
REGISTRY="$(env_value RFAAS_TEST_REGISTRY)"
BASE="$(env_value RFAAS_TEST_MULTIARCH_BASE)"
[ -n "$BASE" ] || fail "no multi-platform base image: run tests/env/setup.sh without RFAAS_TEST_ARM64=0"
IMAGE="$REGISTRY/rfaas-bench/publish"
remove_images() {
    docker image ls --format "{{.Repository}}:{{.Tag}}" | grep -E ":$TAG" | xargs -r docker image rm --no-prune >/dev/null 2>&1
}
bench_on_exit remove_images
cd "$WORK"

export DOCKER_CONFIG="$WORK/docker"
env_value RFAAS_TEST_REGISTRY_PASSWORD | "$RFAAS" registry-login --server "$REGISTRY" \
    -u "$(env_value RFAAS_TEST_REGISTRY_USER)" --password-stdin --config-dir "$DOCKER_CONFIG" >/dev/null 2>&1 \
    || fail "registry-login failed"

mkdir -p fn
cat >fn/Dockerfile <<EOF
FROM $BASE
ARG NONCE=0
RUN echo "\$NONCE" > /nonce && sha256sum /usr/bin/* > /sums
EOF
cat >stack.yaml <<EOF
version: 1.0
provider:
  name: openfaas
functions:
  bench:
    lang: dockerfile
    handler: ./fn
    image: $IMAGE:$TAG
EOF

now() { date +%s.%N; }
# Runs "$@" quietly and prints the seconds it took.
timed() { local t0; t0=$(now); "$@" >/dev/null 2>"$WORK/last.log" || { cat "$WORK/last.log" >&2; exit 1; }; echo "$(now) - $t0" | bc -l; }

reference() {  # $1 = nonce: docker build + push, amd64 then arm64
    local arch
    for arch in amd64 arm64; do
        # --pull: the legacy builder otherwise takes the local base whatever its platform.
        DOCKER_BUILDKIT=0 docker build -q --pull --network host --platform "linux/$arch" --build-arg "NONCE=$1" \
            -t "$IMAGE:$TAG-ref-$arch" fn >/dev/null
        docker push -q "$IMAGE:$TAG-ref-$arch" >/dev/null
    done
}
candidate() {  # $1 = nonce
    "$RFAAS" publish --platforms linux/amd64,linux/arm64 --build-arg "NONCE=$1" --quiet
}

echo "warming up: base image layers for both platforms..." >&2
timed reference "warm-$$" >/dev/null
timed candidate "warm-$$" >/dev/null

ref=() cand=()
for i in $(seq "$RUNS"); do
    ref+=("$(timed reference "r$i-$$-$(date +%s%N)")")
    cand+=("$(timed candidate "c$i-$$-$(date +%s%N)")")
done
ref_m=$(printf '%s\n' "${ref[@]}" | median %.2f)
cand_m=$(printf '%s\n' "${cand[@]}" | median %.2f)
spread() { printf '%s\n' "$@" | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }
ratio=$(echo "$ref_m / $cand_m" | bc -l)
printf 'reference, docker build+push amd64 then arm64:   %s s  (runs %s)\n' "$ref_m" "$(spread "${ref[@]}")"
printf 'rfaas publish --platforms linux/amd64,linux/arm64: %s s  (runs %s)\n' "$cand_m" "$(spread "${cand[@]}")"
printf 'ratio reference/rfaas: %.2fx  (%s runs, %s cores; >1 means rfaas is faster, and it also pushes the index)\n' \
    "$ratio" "$RUNS" "$(nproc)"
