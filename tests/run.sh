#!/usr/bin/env bash
# The project's test command (README "Run the tests"): installs and starts the test services
# (Docker engine, base image, registry, Redis, MariaDB), then runs every test suite.
# RFAAS_TEST_ENGINE=podman runs them against Podman's Docker-compatible API instead (set up by
# `tests/env/setup.sh --podman`), e.g. the engine-facing tests only:
#   RFAAS_TEST_ENGINE=podman bash tests/run.sh --test it -- gateway_ build_ push
set -euo pipefail
cd "$(dirname "$0")/.."
engine="${RFAAS_TEST_ENGINE:-docker}"
case "$engine" in
    docker) setup_args=() ;;
    podman) setup_args=(--podman) ;;
    *) echo "run: RFAAS_TEST_ENGINE must be docker or podman, not $engine" >&2; exit 2 ;;
esac
# shellcheck source=env/lib.sh
. tests/env/lib.sh
test_env_setup "${setup_args[@]}"
if [ "$engine" = podman ]; then export DOCKER_HOST=unix:///run/podman/podman.sock; fi
cargo test --locked "$@"
