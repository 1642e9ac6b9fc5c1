# shellcheck shell=bash
# The shared start of the reference stacks' run.sh scripts: they set HERE (their folder), ROOT
# (the repository root), `cd "$ROOT"` and source this file. It defines functions and runs nothing.
#
# The test environment's own functions (tests/env/lib.sh) are sourced too.
#
#   stack_services              starts what the stacks need (tests/env/setup.sh: Docker, the base
#                               image, Redis, MariaDB), exports its settings (RFAAS_TEST_*),
#                               builds rfaas and sets RFAAS to the binary
#   stack_secret NAME           $HERE/.secrets/NAME (folder 0700, file 0600), 32 random base64
#                               characters the first time, kept afterwards; prints its value
#   stack_database DB USER PW GRANTS FILE...
#                               test_env_database, announced

# shellcheck source=../tests/env/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/env/lib.sh"

stack_services() {
    test_env_setup
    test_env_load
    echo "==> building rfaas" >&2
    cargo build --release --locked --quiet
    RFAAS="$ROOT/target/release/rfaas"
}

stack_secret() {
    local dir="$HERE/.secrets"
    mkdir -p "$dir" && chmod 0700 "$dir"
    if [ ! -s "$dir/$1" ]; then
        (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=' >"$dir/$1")
    fi
    cat "$dir/$1"
}

stack_database() {
    echo "==> preparing MariaDB database $1" >&2
    test_env_database "$@"
}
