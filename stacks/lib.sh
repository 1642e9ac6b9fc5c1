# shellcheck shell=bash
# The shared start of the reference stacks' run.sh scripts: they set HERE (their folder), ROOT
# (the repository root), `cd "$ROOT"` and source this file. It defines functions and runs nothing.
#
#   stack_services              starts what the stacks need (tests/env/setup.sh: Docker, the base
#                               image, Redis, MariaDB), exports its settings (RFAAS_TEST_*),
#                               builds rfaas and sets RFAAS to the binary
#   stack_secret NAME           $HERE/.secrets/NAME (folder 0700, file 0600), 32 random base64
#                               characters the first time, kept afterwards; prints its value
#   stack_database DB USER PW GRANTS FILE...
#                               creates DB (utf8mb4) and USER@127.0.0.1 with password PW and the
#                               GRANTS on DB (idempotent: the password is reset), then runs each
#                               FILE (schema, seed) as USER

stack_services() {
    if [ "$(id -u)" -eq 0 ]; then bash tests/env/setup.sh; else sudo bash tests/env/setup.sh; fi
    set -a
    # shellcheck disable=SC1091
    . "${RFAAS_TEST_STATE:-/var/lib/rfaas-test}/env"
    set +a
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
    local db="$1" user="$2" pw="$3" grants="$4" file
    shift 4
    echo "==> preparing MariaDB database $db" >&2
    MYSQL_PWD="$RFAAS_TEST_MYSQL_PASSWORD" mariadb --protocol=tcp -h "$RFAAS_TEST_MYSQL_HOST" \
        -P "$RFAAS_TEST_MYSQL_PORT" -u "$RFAAS_TEST_MYSQL_USER" <<SQL
CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER '$user'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT $grants ON $db.* TO '$user'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
    for file in "$@"; do
        MYSQL_PWD="$pw" mariadb --protocol=tcp -h 127.0.0.1 -P "$RFAAS_TEST_MYSQL_PORT" -u "$user" "$db" <"$file"
    done
}
