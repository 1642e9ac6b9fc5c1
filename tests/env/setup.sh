#!/usr/bin/env bash
# Install and start everything the rfaas tests need on a Debian bookworm host
# (run as root): Docker engine, a debian:bookworm-slim base image built locally
# with debootstrap, an htpasswd-protected registry, Redis and MariaDB, all on
# loopback.  Idempotent: a re-run reuses what is installed and running.
# Writes $STATE/env (KEY=VALUE lines) for the tests.  See tests/env/README.md.
# Opt-in second engine: `--podman` (or RFAAS_TEST_ENGINE=podman) also installs Debian's podman
# and starts its Docker-compatible API on $PODMAN_SOCK, with its own storage, and loads the
# base image into it; `RFAAS_TEST_ENGINE=podman bash tests/run.sh ...` runs tests against it.
set -euo pipefail

WITH_PODMAN=0
[ "${RFAAS_TEST_ENGINE:-docker}" = podman ] && WITH_PODMAN=1
for arg in "$@"; do
    case "$arg" in
        --podman) WITH_PODMAN=1 ;;
        *) echo "setup: ERROR: unknown argument $arg (only --podman)" >&2; exit 2 ;;
    esac
done
PODMAN_SOCK="/run/podman/podman.sock"

STATE="${RFAAS_TEST_STATE:-/var/lib/rfaas-test}"
CACHE="${RFAAS_TEST_CACHE:-/var/cache/rfaas-test}"
BASE_IMAGE="debian:bookworm-slim"
# Bump BASE_VERSION when the rootfs recipe changes: the image and the cached tarball are rebuilt.
BASE_VERSION=2
BASE_TAR="$CACHE/bookworm-slim-v$BASE_VERSION.tar"
# Ports may be overridden (e.g. to run a second instance); hosts stay loopback.
REGISTRY_PORT="${RFAAS_TEST_REGISTRY_PORT:-5000}"
REGISTRY_ADDR="127.0.0.1:$REGISTRY_PORT"
REGISTRY_USER="rfaas"
REDIS_HOST="127.0.0.1"
REDIS_PORT="${RFAAS_TEST_REDIS_PORT:-6379}"
MYSQL_HOST="127.0.0.1"
MYSQL_PORT="${RFAAS_TEST_MYSQL_PORT:-3306}"
MYSQL_USER="rfaas"
MYSQL_DATABASE="rfaas_test"
DOCKER_SOCK="/var/run/docker.sock"

# RFAAS_TEST_ARM64=0 leaves out the arm64 base image (the multi-platform publish tests then fail
# with a hint); anything else builds it once (a cold debootstrap under emulation takes minutes)
# and reuses the cached rootfs afterwards.
ARM64="${RFAAS_TEST_ARM64:-1}"
PACKAGES=(docker.io docker-registry apache2-utils redis-server redis-tools
          mariadb-server mariadb-client debootstrap curl ca-certificates tar
          procps prometheus chromium)
[ "$ARM64" = 0 ] || PACKAGES+=(qemu-user-static binfmt-support)
# The browser tests run Playwright under Node; a machine may already have a Node with its own npm
# (e.g. nodesource's, which conflicts with Debian's npm package), so Debian's is only the fallback.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
# Rootful podman on the host network needs nothing from its recommends (slirp4netns, uidmap...).
if [ "$WITH_PODMAN" -eq 1 ]; then PACKAGES+=(podman); fi

log() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive
export DOCKER_HOST="unix://$DOCKER_SOCK"

mkdir -p "$STATE" "$STATE/run" "$STATE/logs" "$CACHE"
chmod 0755 "$STATE"

# Start a command detached (own session, stdio to a log file); prints its pid.
spawn() {
    local logfile="$1"; shift
    setsid nohup "$@" </dev/null >>"$logfile" 2>&1 &
    echo $!
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

# ---------------------------------------------------------------- packages --
missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing packages: ${missing[*]}"
    # Keep package maintainer scripts from starting services: we start our own.
    policy_created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >"$STATE/logs/apt-install.log" 2>&1 \
        || { tail -n 30 "$STATE/logs/apt-install.log" >&2; die "apt-get install failed"; }
    if [ "$policy_created" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
else
    log "packages already installed"
fi

# ----------------------------------------------------------------- secrets --
# Generated once, kept in the state dir (0600), reused afterwards.
secret() {
    local f="$STATE/$1"
    if [ ! -s "$f" ]; then
        (umask 077; head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | cut -c1-32 >"$f.tmp")
        mv "$f.tmp" "$f"
    fi
    chmod 0600 "$f"
    cat "$f"
}
REGISTRY_PASSWORD="$(secret registry-password)"
MYSQL_PASSWORD="$(secret mysql-password)"
if [ -z "$REGISTRY_PASSWORD" ] || [ -z "$MYSQL_PASSWORD" ]; then die "could not generate passwords"; fi

# ------------------------------------------------------------------ docker --
if docker info >/dev/null 2>&1; then
    log "docker already running"
else
    if [ -f /var/run/docker.pid ] && [ "$(cat "/proc/$(cat /var/run/docker.pid)/comm" 2>/dev/null)" = dockerd ]; then
        # A dockerd is running but not answering yet: wait for it, don't start a second.
        pid="$(cat /var/run/docker.pid)"
        log "waiting for running dockerd (pid $pid)"
    else
        log "starting dockerd (log: $STATE/logs/dockerd.log)"
        rm -f /var/run/docker.pid
        pid="$(spawn "$STATE/logs/dockerd.log" dockerd \
            -H "unix://$DOCKER_SOCK" --bridge=none --iptables=false --ip-masq=false)"
        echo "$pid" >"$STATE/run/dockerd.pid"
    fi
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE/logs/dockerd.log" >&2; die "dockerd exited"; }
        sleep 1
    done
    docker info >/dev/null 2>&1 || { tail -n 20 "$STATE/logs/dockerd.log" >&2; die "docker: daemon did not answer within 60 s"; }
    log "docker started"
fi

# -------------------------------------------------------------- base image --
# Mirror URIs from the host's apt sources (deb822 or one-line format).
# The machine's own mirrors only: a hard-coded host would bypass whatever the machine is set up
# to reach (a proxy, a snapshot, an internal mirror).
apt_uri() {  # $1 = regex the URI must match, $2 = what it is, for the error
    local uri
    uri="$( { grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}';
              grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                  | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } \
            | grep -E "$1" | head -n 1 || true)"
    [ -n "$uri" ] || die "no $2 mirror in this machine's apt sources (/etc/apt/sources.list*): add one"
    echo "$uri"
}

build_rootfs_tar() {  # $1 = Debian architecture, $2 = tarball to write
    local arch="$1" tarball="$2" dir="$CACHE/rootfs-$1" MIRROR SECURITY_MIRROR
    MIRROR="$(apt_uri '/debian/?$' 'Debian')"
    SECURITY_MIRROR="$(apt_uri '/debian-security/?$' 'Debian security')"
    # Undo leftovers of an interrupted debootstrap (never rm through a mount).
    if [ -d "$dir" ]; then
        awk -v d="$dir" '$2 ~ "^"d"(/|$)" {print $2}' /proc/mounts | sort -r \
            | while read -r m; do umount -l "$m" || true; done
        rm -rf --one-file-system "$dir"
    fi
    log "debootstrap bookworm ($arch) from $MIRROR (takes a few minutes; log: $STATE/logs/debootstrap-$arch.log)"
    debootstrap --arch="$arch" --variant=minbase bookworm "$dir" "$MIRROR" \
        >"$STATE/logs/debootstrap-$arch.log" 2>&1 \
        || { tail -n 30 "$STATE/logs/debootstrap-$arch.log" >&2; die "debootstrap ($arch) failed"; }
    mkdir -p "$dir/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    # Also as a local CA, so that installing Debian's ca-certificates package in a build (which
    # regenerates the bundle) keeps trusting the host's CAs, including any proxy CA.
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp /etc/ssl/certs/ca-certificates.crt "$dir/usr/local/share/ca-certificates/host-ca-bundle.crt"
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
EOF
    # The host's mirror may be a dated snapshot: carry over its date checks.
    apt-config dump 2>/dev/null | grep -E '^Acquire::Check-(Valid-Until|Date) ' \
        >"$dir/etc/apt/apt.conf.d/99rfaas-test" || true
    [ -s "$dir/etc/apt/apt.conf.d/99rfaas-test" ] || rm -f "$dir/etc/apt/apt.conf.d/99rfaas-test"
    # Slim it like the official image: no package caches, no lists.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
    : >"$dir/etc/resolv.conf"
    echo "$BASE_IMAGE" >"$dir/etc/hostname"
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$dir"
}

base_version() {
    docker image inspect -f '{{index .Config.Labels "org.rfaas.base-version"}}' "$BASE_IMAGE" 2>/dev/null || true
}
if [ "$(base_version)" = "$BASE_VERSION" ]; then
    log "image $BASE_IMAGE already present"
else
    if [ -s "$BASE_TAR" ]; then
        log "reusing cached rootfs $BASE_TAR"
    else
        build_rootfs_tar "$(dpkg --print-architecture)" "$BASE_TAR"
    fi
    log "importing $BASE_IMAGE"
    docker import \
        --change 'CMD ["bash"]' \
        --change "LABEL org.rfaas.base-version=$BASE_VERSION" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi

# ---------------------------------------------------------------- registry --
REG_DIR="$STATE/registry"
REG_HTPASSWD="$REG_DIR/htpasswd"
REG_CONFIG="$REG_DIR/config.yml"
REG_PID="$STATE/run/registry.pid"
mkdir -p "$REG_DIR/data"
chmod 0700 "$REG_DIR"
if ! [ -s "$REG_HTPASSWD" ] || ! htpasswd -vb "$REG_HTPASSWD" "$REGISTRY_USER" "$REGISTRY_PASSWORD" >/dev/null 2>&1; then
    (umask 077; htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$REG_HTPASSWD.tmp")
    mv "$REG_HTPASSWD.tmp" "$REG_HTPASSWD"
fi
chmod 0600 "$REG_HTPASSWD"
reg_config="version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: rfaas-test
    path: $REG_HTPASSWD
"
if ! printf '%s' "$reg_config" | cmp -s - "$REG_CONFIG"; then
    printf '%s' "$reg_config" >"$REG_CONFIG"
    # Config changed: restart our own registry if it runs.
    if pid_alive "$REG_PID"; then kill "$(cat "$REG_PID")"; sleep 1; fi
fi

reg_status() {  # HTTP status of /v2/, with creds if $1 = auth; 000 if down
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
    [ "${1:-}" = auth ] && args+=(-u "$REGISTRY_USER:$REGISTRY_PASSWORD")
    curl "${args[@]}" "http://$REGISTRY_ADDR/v2/" 2>/dev/null || true
}
REGISTRY_BIN="$(command -v docker-registry || echo /usr/bin/docker-registry)"
if [ "$(reg_status auth)" = 200 ]; then
    log "registry already running"
else
    if [ "$(reg_status)" != 000 ]; then
        if pid_alive "$REG_PID"; then
            kill "$(cat "$REG_PID")"; sleep 1
        else
            die "registry: $REGISTRY_ADDR is taken by something that rejects our credentials"
        fi
    fi
    log "starting registry on $REGISTRY_ADDR (log: $STATE/logs/registry.log)"
    spawn "$STATE/logs/registry.log" "$REGISTRY_BIN" serve "$REG_CONFIG" >"$REG_PID"
    for _ in $(seq 1 30); do
        [ "$(reg_status auth)" = 200 ] && break
        pid_alive "$REG_PID" || { tail -n 20 "$STATE/logs/registry.log" >&2; die "registry exited"; }
        sleep 1
    done
fi
s="$(reg_status)"; [ "$s" = 401 ] || die "registry: /v2/ without credentials gave $s, want 401"
s="$(reg_status auth)"; [ "$s" = 200 ] || die "registry: /v2/ with credentials gave $s, want 200"

# ------------------------------------------------------- arm64 base image --
# The base image for two platforms, as the registry serves a multi-platform image: the amd64
# rootfs above and an arm64 one (debootstrap --arch=arm64, run under qemu-user-static), each
# pushed, then an image index over both. Builds for linux/arm64 pull their variant from it
# (the engine's image store keeps one platform per tag, so a local tag cannot hold both).
ARM64_TAR="$CACHE/bookworm-slim-arm64-v$BASE_VERSION.tar"
MULTI_BASE="$REGISTRY_ADDR/rfaas-test/debian:bookworm-slim-v$BASE_VERSION"
multi_base_ok() {  # the index is in the registry with both platforms
    local body
    body="$(curl -s --max-time 10 -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
        -H 'Accept: application/vnd.oci.image.index.v1+json' \
        "http://$REGISTRY_ADDR/v2/rfaas-test/debian/manifests/bookworm-slim-v$BASE_VERSION" 2>/dev/null || true)"
    grep -q '"arm64"' <<<"$body" && grep -q '"amd64"' <<<"$body"
}
enable_binfmt() {
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
        || die "cannot mount binfmt_misc: arm64 binaries cannot run under emulation here"
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "qemu-aarch64 is not registered with binfmt_misc (qemu-user-static installed?)"
}
# `docker import --platform` is no use here: engine 20.10 records its own architecture whatever
# the flag says. So the image is written in `docker save` form with its config spelled out, and
# `docker load`ed.
load_rootfs() {  # $1 = architecture, $2 = rootfs tarball, $3 = tag
    local arch="$1" rootfs="$2" tag="$3" dir diff config cfg
    dir="$(mktemp -d "$CACHE/load.XXXXXX")"
    diff="$(sha256sum "$rootfs" | cut -d' ' -f1)"
    mkdir "$dir/$diff"
    ln "$rootfs" "$dir/$diff/layer.tar" 2>/dev/null || cp "$rootfs" "$dir/$diff/layer.tar"
    config="{\"architecture\":\"$arch\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"bash\"],\"Labels\":{\"org.rfaas.base-version\":\"$BASE_VERSION\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]},\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"debootstrap --arch=$arch --variant=minbase bookworm\"}]}"
    cfg="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
    printf '%s' "$config" >"$dir/$cfg.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$tag" "$diff" >"$dir/manifest.json"
    tar -C "$dir" -cf - manifest.json "$cfg.json" "$diff/layer.tar" | docker load -q >/dev/null \
        || { rm -rf "$dir"; die "docker load of the $arch base image failed"; }
    rm -rf "$dir"
}
if [ "$ARM64" = 0 ]; then
    log "arm64 base image skipped (RFAAS_TEST_ARM64=0)"
    MULTI_BASE=""
else
    enable_binfmt
    if multi_base_ok; then
        log "multi-platform base $MULTI_BASE already in the registry"
    else
        if [ -s "$ARM64_TAR" ]; then
            log "reusing cached arm64 rootfs $ARM64_TAR"
        else
            build_rootfs_tar arm64 "$ARM64_TAR"
        fi
        log "pushing $MULTI_BASE (amd64 + arm64)"
        load_rootfs arm64 "$ARM64_TAR" "$MULTI_BASE-arm64"
        docker tag "$BASE_IMAGE" "$MULTI_BASE-amd64"
        # A throw-away client config: root's own ~/.docker is left alone.
        DOCKER_CONFIG="$(mktemp -d)"
        export DOCKER_CONFIG
        printf '%s' "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" --password-stdin "$REGISTRY_ADDR" >/dev/null 2>&1 \
            || die "docker login $REGISTRY_ADDR failed"
        for arch in amd64 arm64; do
            docker push -q "$MULTI_BASE-$arch" >/dev/null || die "docker push $MULTI_BASE-$arch failed"
        done
        docker manifest rm "$MULTI_BASE" >/dev/null 2>&1 || true
        docker manifest create --insecure "$MULTI_BASE" "$MULTI_BASE-amd64" "$MULTI_BASE-arm64" >/dev/null \
            || die "docker manifest create $MULTI_BASE failed"
        docker manifest push --insecure --purge "$MULTI_BASE" >/dev/null || die "docker manifest push $MULTI_BASE failed"
        rm -rf "$DOCKER_CONFIG"
        unset DOCKER_CONFIG
        docker rmi "$MULTI_BASE-amd64" "$MULTI_BASE-arm64" >/dev/null 2>&1 || true
        multi_base_ok || die "the registry does not serve $MULTI_BASE for amd64 and arm64"
    fi
fi

# ------------------------------------------------------------------- redis --
REDIS_CONF="$STATE/redis/redis.conf"
mkdir -p "$STATE/redis"
redis_ping() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" = PONG ]; }
if redis_ping; then
    log "redis already running"
else
    cat >"$REDIS_CONF" <<EOF
bind $REDIS_HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $STATE/run/redis.pid
logfile $STATE/logs/redis.log
dir $STATE/redis
save ""
appendonly no
EOF
    log "starting redis on $REDIS_HOST:$REDIS_PORT"
    setsid redis-server "$REDIS_CONF" </dev/null >>"$STATE/logs/redis.log" 2>&1
    for _ in $(seq 1 30); do redis_ping && break; sleep 0.5; done
    redis_ping || { tail -n 20 "$STATE/logs/redis.log" >&2; die "redis did not answer PING"; }
fi

# ----------------------------------------------------------------- mariadb --
DB_DIR="$STATE/mariadb"
DB_DATA="$DB_DIR/data"
DB_SOCK="$DB_DIR/run/mysqld.sock"
DB_CNF="$DB_DIR/my.cnf"
mkdir -p "$DB_DIR/run" "$DB_DATA"
chown mysql:mysql "$DB_DIR" "$DB_DIR/run" "$DB_DATA"
cat >"$DB_CNF" <<EOF
[mysqld]
user = mysql
datadir = $DB_DATA
socket = $DB_SOCK
pid-file = $DB_DIR/run/mariadbd.pid
log-error = $DB_DIR/mariadbd.log
bind-address = $MYSQL_HOST
port = $MYSQL_PORT
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb_buffer_pool_size = 128M
max_connections = 200

[client]
socket = $DB_SOCK
EOF
chmod 0644 "$DB_CNF"

db_user_ok() {
    MYSQL_PWD="$MYSQL_PASSWORD" mariadb --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" \
        -u "$MYSQL_USER" -N -e 'SELECT 1' "$MYSQL_DATABASE" >/dev/null 2>&1
}
db_up() {  # something speaks the MySQL protocol on the port (even if it denies us)
    local out
    out="$(mariadb-admin --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u nobody \
        --connect-timeout=3 ping 2>&1)" && return 0
    # A refused/timed-out connection says "Can't connect"; any other error
    # (access denied, host not allowed) came from a running server.
    ! grep -q "Can't connect" <<<"$out"
}
if db_user_ok; then
    log "mariadb already running"
else
    if ! db_up; then
        if [ ! -d "$DB_DATA/mysql" ]; then
            log "initialising mariadb datadir $DB_DATA"
            mariadb-install-db --defaults-file="$DB_CNF" --user=mysql --skip-test-db \
                >"$STATE/logs/mariadb-install-db.log" 2>&1 \
                || { tail -n 30 "$STATE/logs/mariadb-install-db.log" >&2; die "mariadb-install-db failed"; }
        fi
        log "starting mariadb on $MYSQL_HOST:$MYSQL_PORT (log: $DB_DIR/mariadbd.log)"
        spawn "$STATE/logs/mariadbd.out" mariadbd --defaults-file="$DB_CNF" >"$STATE/run/mariadbd.spawn.pid"
        for _ in $(seq 1 60); do
            db_up && break
            pid_alive "$STATE/run/mariadbd.spawn.pid" || { tail -n 20 "$DB_DIR/mariadbd.log" >&2; die "mariadbd exited"; }
            sleep 1
        done
        db_up || die "mariadb did not answer within 60 s"
    fi
    # Administer as root over a unix socket (unix_socket auth): ours, or the
    # Debian default one if some other instance owns the port.
    admin_sock=""
    for s in "$DB_SOCK" /run/mysqld/mysqld.sock; do
        if [ -S "$s" ] && mariadb --protocol=socket -S "$s" -u root -e 'SELECT 1' >/dev/null 2>&1; then
            admin_sock="$s"; break
        fi
    done
    [ -n "$admin_sock" ] || die "mariadb: something answers on $MYSQL_PORT but no root socket to administer it"
    log "creating mariadb database $MYSQL_DATABASE and user $MYSQL_USER"
    mariadb --protocol=socket -S "$admin_sock" -u root <<EOF
CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
ALTER USER '$MYSQL_USER'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
ALTER USER '$MYSQL_USER'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
EOF
fi

# ------------------------------------------------------------------ podman --
# Podman's storage (/var/lib/containers) and socket are its own: the Docker run is untouched.
# Its registries.conf (ours, via CONTAINERS_REGISTRIES_CONF) marks the test registry as plain
# HTTP: unlike Docker, Podman does not treat 127.0.0.0/8 as insecure by itself.
podman_ping() { [ "$(curl -s --max-time 5 --unix-socket "$PODMAN_SOCK" http://podman/_ping 2>/dev/null || true)" = OK ]; }
if [ "$WITH_PODMAN" -eq 1 ]; then
    PODMAN_DIR="$STATE/podman"
    PODMAN_PID="$STATE/run/podman.pid"
    mkdir -p "$PODMAN_DIR" "$(dirname "$PODMAN_SOCK")"
    podman_conf="unqualified-search-registries = [\"docker.io\"]

[[registry]]
location = \"$REGISTRY_ADDR\"
insecure = true
"
    # Podman gives containers RLIMIT_NOFILE = fs.nr_open (1048576) and a raised RLIMIT_NPROC
    # unless told otherwise, which fails ("error setting rlimit type 7" / "type 6") where its
    # own hard limits are lower (it lowers NPROC for itself); Docker passes its own limits on.
    # Pin them to the service's hard limits: start it, read them, restart once if they differ.
    containers_conf() {  # $1 = nofile, $2 = nproc
        printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$1" "$1" "$2" "$2"
    }
    hard_limit() { awk -v n="$2" 'index($0, n) == 1 {print $(NF-1)}' "/proc/$1/limits"; }
    write_if_changed() {  # $1 = file, stdin = content; returns 0 when it changed
        local content; content="$(cat)"
        printf '%s\n' "$content" | cmp -s - "$1" && return 1
        printf '%s\n' "$content" >"$1"
    }
    start_podman() {
        log "starting podman system service on $PODMAN_SOCK (log: $STATE/logs/podman.log)"
        rm -f "$PODMAN_SOCK"
        spawn "$STATE/logs/podman.log" env CONTAINERS_REGISTRIES_CONF="$PODMAN_DIR/registries.conf" \
            CONTAINERS_CONF="$PODMAN_DIR/containers.conf" podman system service --time=0 "unix://$PODMAN_SOCK" \
            >"$PODMAN_PID"
        for _ in $(seq 1 30); do
            podman_ping && return 0
            pid_alive "$PODMAN_PID" || { tail -n 20 "$STATE/logs/podman.log" >&2; die "podman service exited"; }
            sleep 1
        done
        die "podman: $PODMAN_SOCK did not answer /_ping within 30 s"
    }
    stop_podman() { if pid_alive "$PODMAN_PID"; then kill "$(cat "$PODMAN_PID")"; sleep 1; fi; }
    [ -s "$PODMAN_DIR/containers.conf" ] || containers_conf "$(ulimit -Hn)" "$(ulimit -Hu)" >"$PODMAN_DIR/containers.conf"
    if printf '%s' "$podman_conf" | write_if_changed "$PODMAN_DIR/registries.conf"; then stop_podman; fi
    if podman_ping; then log "podman service already running"; else start_podman; fi
    if pid_alive "$PODMAN_PID"; then
        pid="$(cat "$PODMAN_PID")"
        if containers_conf "$(hard_limit "$pid" "Max open files")" "$(hard_limit "$pid" "Max processes")" \
            | write_if_changed "$PODMAN_DIR/containers.conf"; then
            log "podman: pinning container rlimits to the service's: $(tail -n 1 "$PODMAN_DIR/containers.conf")"
            stop_podman
            start_podman
        fi
    fi
    podman_base_version() {
        podman image inspect -f '{{index .Config.Labels "org.rfaas.base-version"}}' "$BASE_IMAGE" 2>/dev/null || true
    }
    if [ "$(podman_base_version)" = "$BASE_VERSION" ]; then
        log "podman: image $BASE_IMAGE already present"
    else
        log "podman: loading $BASE_IMAGE from docker"
        docker save "$BASE_IMAGE" | podman load >"$STATE/logs/podman-load.log" 2>&1 \
            || { tail -n 20 "$STATE/logs/podman-load.log" >&2; die "podman load failed"; }
    fi
fi

# ---------------------------------------------------------------- env file --
ENV_FILE="$STATE/env"
(umask 077; cat >"$ENV_FILE.tmp" <<EOF
RFAAS_TEST_REGISTRY=$REGISTRY_ADDR
RFAAS_TEST_REGISTRY_USER=$REGISTRY_USER
RFAAS_TEST_REGISTRY_PASSWORD=$REGISTRY_PASSWORD
RFAAS_TEST_REDIS_HOST=$REDIS_HOST
RFAAS_TEST_REDIS_PORT=$REDIS_PORT
RFAAS_TEST_MYSQL_HOST=$MYSQL_HOST
RFAAS_TEST_MYSQL_PORT=$MYSQL_PORT
RFAAS_TEST_MYSQL_USER=$MYSQL_USER
RFAAS_TEST_MYSQL_PASSWORD=$MYSQL_PASSWORD
RFAAS_TEST_MYSQL_DATABASE=$MYSQL_DATABASE
RFAAS_TEST_BASE_IMAGE=$BASE_IMAGE
RFAAS_TEST_MULTIARCH_BASE=$MULTI_BASE
DOCKER_HOST=unix://$DOCKER_SOCK
EOF
if [ "$WITH_PODMAN" -eq 1 ]; then echo "RFAAS_TEST_PODMAN_HOST=unix://$PODMAN_SOCK" >>"$ENV_FILE.tmp"; fi
)
mv "$ENV_FILE.tmp" "$ENV_FILE"
chmod 0600 "$ENV_FILE"
log "wrote $ENV_FILE"

# -------------------------------------------------------------- self-check --
failed=()
docker info >/dev/null 2>&1 || failed+=("docker (docker info failed)")
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || failed+=("base image ($BASE_IMAGE missing)")
[ "$(reg_status auth)" = 200 ] || failed+=("registry (authenticated GET /v2/ on $REGISTRY_ADDR not 200)")
redis_ping || failed+=("redis (no PONG from $REDIS_HOST:$REDIS_PORT)")
db_user_ok || failed+=("mariadb (SELECT 1 as $MYSQL_USER on $MYSQL_HOST:$MYSQL_PORT failed)")
if [ "$WITH_PODMAN" -eq 1 ]; then
    podman_ping || failed+=("podman (no OK from $PODMAN_SOCK/_ping)")
    podman image exists "$BASE_IMAGE" || failed+=("podman base image ($BASE_IMAGE missing)")
fi
if [ "${#failed[@]}" -gt 0 ]; then
    for f in "${failed[@]}"; do echo "setup: FAILED: $f" >&2; done
    exit 1
fi
if [ "$WITH_PODMAN" -eq 1 ]; then log "podman ok: DOCKER_HOST=unix://$PODMAN_SOCK"; fi
log "all services ok: docker, $BASE_IMAGE, registry $REGISTRY_ADDR, redis $REDIS_HOST:$REDIS_PORT, mariadb $MYSQL_HOST:$MYSQL_PORT"
