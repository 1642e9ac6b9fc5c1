#!/usr/bin/env bash
# The project's test command (README "Run the tests"): installs and starts the test services
# (Docker engine, base image, registry, Redis, MariaDB), then runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then bash tests/env/setup.sh; else sudo bash tests/env/setup.sh; fi
cargo test --locked "$@"
