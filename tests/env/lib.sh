# shellcheck shell=bash
# Using the test environment from a script (tests/run.sh, benches/lib.sh, stacks/lib.sh): source
# this file; it defines functions and runs nothing.
#
#   test_env_setup [ARGS...]   runs tests/env/setup.sh ARGS as root (directly, else through sudo)
#   test_env_load              exports the settings setup.sh wrote (RFAAS_TEST_*)
#   test_env_database DB USER PW GRANTS [FILE...]
#                              creates DB (utf8mb4) and USER@127.0.0.1 with password PW and the
#                              GRANTS on DB (idempotent: the password is reset), then runs each
#                              FILE (schema, seed) as USER

TEST_ENV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

test_env_setup() {
    if [ "$(id -u)" -eq 0 ]; then
        bash "$TEST_ENV_ROOT/tests/env/setup.sh" "$@"
    else
        sudo bash "$TEST_ENV_ROOT/tests/env/setup.sh" "$@"
    fi
}

test_env_load() {
    set -a
    # shellcheck disable=SC1091
    . "${RFAAS_TEST_STATE:-/var/lib/rfaas-test}/env"
    set +a
}

test_env_database() {
    local db="$1" user="$2" pw="$3" grants="$4" file
    shift 4
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
