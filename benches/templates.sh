#!/usr/bin/env bash
# The templates' CPU per request (issue 13, target 3), measured from each function container's
# own cgroup (CPU used / requests answered), for today's python3-http and node18 templates
# against the same templates at BASELINE, built and deployed side by side in the same run and
# called in interleaved rounds through one gateway:
#   hello-python, hello-node     the starters of `rfaas new` (no CPU limit)
#   delivery-analytics (python3-http) and order-completion (node18) from stacks/food-delivery,
#   with the stack's limits (cpu 500m), wrk at c=1 and c=16 (the food bench's request mix)
# Targets: CPU per request today <= 0.5x BASELINE's for every function; with the limits on,
# delivery-analytics p99 < 150 ms at c=16 and < 12.5 ms at c=1, order-completion p99 < 300 ms
# at c=16 and < 25 ms at c=1 (today's templates).
# Usage: bash benches/templates.sh   (DURATION=5 seconds per wrk run, ROUNDS=3 interleaved rounds,
#        BASELINE=b4c4d4d: the last revision with the waitress/Flask and Express templates)
# The BASELINE templates exist only in this run's temporary directory (`git archive`), as
# ./template/<lang> of the copies being built. Starts the tests/env services (Docker, Redis,
# MariaDB) and installs wrk, curl, jq, bc, redis-tools and mariadb-client when they are missing.
# Isolated like benches/food.sh: its own gateway and state, database tpl_bench, Redis DB 9,
# images tagged :tpl-now and :tpl-base (kept, so later runs build from cache).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib.sh
. benches/lib.sh
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-3}"
BASELINE="${BASELINE:-b4c4d4d}"
DB=tpl_bench
REDIS_DB=9

bench_need wrk curl jq bc redis-cli mariadb
bench_test_env
BASE_REV="$(git rev-parse --short "$BASELINE^{commit}")" || fail "BASELINE=$BASELINE is not a git revision"
bench_setup

sql() { bench_mariadb -e "USE $DB; $1"; }
bench_food_data

# --- two copies of every function: today's templates (bundled) and BASELINE's -------------------
# prepare VARIANT: $WORK/<variant> holds the food stack and the two starters, with function names
# suffixed "-<variant>", images tagged :tpl-<variant> and ./template/<lang> from this tree (now)
# or from BASELINE (base).
prepare() {
    local v="$1" dir="$WORK/$1" lang
    cp -r stacks/food-delivery "$dir"
    rm -rf "$dir/build" "$dir/.secrets"
    sed -i '/^ *topic: cron-function/d; /^ *schedule: /d' "$dir/stack.yaml"
    sed -i "s/^  \(delivery-analytics\|order-completion\|auto-close-orders\):$/  \1-$v:/" "$dir/stack.yaml"
    (cd "$dir" && "$RFAAS" new "hello-python-$v" --lang python3-http -q --append stack.yaml >/dev/null 2>&1 \
        && "$RFAAS" new "hello-node-$v" --lang node18 -q --append stack.yaml >/dev/null 2>&1) \
        || fail "rfaas new failed in $dir"
    sed -i "s|image: hello-\(python\|node\)-$v:latest|image: rfaas-bench/hello-\1:tpl-$v|" "$dir/stack.yaml"
    mkdir -p "$dir/template"
    for lang in python3-http node18; do
        if [ "$v" = base ]; then
            git archive "$BASE_REV" "templates/$lang" | tar -x -C "$WORK" \
                || fail "BASELINE $BASE_REV has no templates/$lang"
            mv "$WORK/templates/$lang" "$dir/template/$lang"
        else
            cp -r "templates/$lang" "$dir/template/$lang"   # this tree's, whatever the binary bundles
        fi
    done
}
prepare now
prepare base
grep -q "hello-python-now:" "$WORK/now/stack.yaml" || fail "the starters were not added to the stack copy"

export MYSQL_DATABASE="$DB" MYSQL_USER="$DB" REDIS_DB \
    MYSQL_PORT="$RFAAS_TEST_MYSQL_PORT" REDIS_PORT="$RFAAS_TEST_REDIS_PORT"
bench_gateway_start
"$RFAAS" secret create food-db-password -g "$GW" --from-file "$WORK/db-password" >/dev/null 2>&1
for v in now base; do
    echo "==> building and deploying the $v copies (templates: $([ $v = now ] && echo this tree || echo "$BASE_REV"))" >&2
    (cd "$WORK/$v" && TAG="tpl-$v" "$RFAAS" build -f stack.yaml --quiet >/dev/null 2>"$WORK/build-$v.log") \
        || { cat "$WORK/build-$v.log" >&2; fail "build ($v) failed"; }
    (cd "$WORK/$v" && TAG="tpl-$v" "$RFAAS" deploy -f stack.yaml -g "$GW" --wait >/dev/null 2>"$WORK/deploy-$v.log") \
        || { cat "$WORK/deploy-$v.log" >&2; fail "deploy ($v) failed"; }
done

# CPU microseconds used so far by function $1's container (cgroup v2 or v1).
usage_us() {
    local id f
    id="$(docker ps -q --no-trunc --filter "label=com.rfaas.gateway=$GW_ID" --filter "label=com.rfaas.function=$1")"
    [ -n "$id" ] || fail "no container for $1"
    for f in /sys/fs/cgroup/system.slice/docker-"$id".scope/cpu.stat /sys/fs/cgroup/docker/"$id"/cpu.stat; do
        [ -r "$f" ] && { awk '$1 == "usage_usec" {print $2}' "$f"; return; }
    done
    for f in /sys/fs/cgroup/cpuacct/docker/"$id"/cpuacct.usage /sys/fs/cgroup/cpu,cpuacct/docker/"$id"/cpuacct.usage; do
        [ -r "$f" ] && { echo $(($(cat "$f") / 1000)); return; }
    done
    fail "no CPU accounting file for the container of $1"
}

# --- wrk scripts: the food bench's request mix; plain GETs for the starters ---------------------
bench_food_lua 0
# Seeds orders <prefix>0 .. <prefix>N-1, status DELIVERED (what order-completion completes).
seed_orders() {
    sql "INSERT INTO orders (id, customer_id, customer_email, status, total, delivered_at)
         SELECT CONCAT('$1', seq), CONCAT('cust-', seq % 500), CONCAT('c', seq % 500, '@example.com'),
                'DELIVERED', 22.25, NOW() FROM seq_0_to_$(($2 - 1));"
}

FUNCTIONS=(hello-python hello-node delivery-analytics order-completion)
declare -A R
# run FUNCTION VARIANT C SECONDS TAG: one wrk run through the gateway; appends
# "cpu_us_per_req p50_us p99_us rps" to R[FUNCTION,VARIANT,C] unless TAG is "warm".
SEQ=0
run() {
    local fn="$1" v="$2" c="$3" secs="$4" tag="$5" name="$1-$2" script args u0 u1 res p50 p99 rps errors non2xx n
    SEQ=$((SEQ + 1))
    case "$fn" in
        hello-*) script="$WORK/report.lua"; args=() ;;
        delivery-analytics) script="$WORK/delivery.lua"; args=("r$SEQ" "$(( c < 2 ? c : 2 ))") ;;
        order-completion)
            # enough DELIVERED orders for the run: 3,000 req/s at most
            seed_orders "o$SEQ-" $((3000 * secs))
            script="$WORK/order.lua"; args=("o$SEQ-" "$(( c < 2 ? c : 2 ))") ;;
    esac
    u0="$(usage_us "$name")"
    res="$(bench_wrk "$c" "$secs" "$script" "$GW/function/$name" "${args[@]}")"
    u1="$(usage_us "$name")"
    read -r p50 p99 rps errors non2xx n <<<"$res"
    [ "$non2xx" = 0 ] || fail "$name: wrk saw $non2xx non-2xx answers"
    # Socket errors (wrk's 2 s timeout under the CPU limit) are counted, not fatal.
    [ "$tag" = warm ] || R[$fn,$v,$c]+="$(((u1 - u0) / n)) $p50 $p99 $(printf '%.0f' "$rps") $errors"$'\n'
}

echo "==> warm-up" >&2
for fn in "${FUNCTIONS[@]}"; do
    for v in now base; do run "$fn" "$v" 16 2 warm; done
done
for round in $(seq "$ROUNDS"); do
    for c in 1 16; do
        for fn in "${FUNCTIONS[@]}"; do
            for v in now base; do
                echo "round $round/$ROUNDS: $fn ($v) c=$c (${DURATION}s)" >&2
                run "$fn" "$v" "$c" "$DURATION" run
            done
        done
    done
done

# field $4 of R[$1,$2,$3]: median, min and max over the rounds
pick() { printf '%s' "${R[$1,$2,$3]}" | awk -v f="$4" 'NF {print $f}' | median %.0f; }
span() { printf '%s' "${R[$1,$2,$3]}" | awk -v f="$4" 'NF {print $f}' | sort -g | sed -n '1p;$p' | paste -sd- -; }
# ratio now/base of round r's CPU per request: "median (min-max)"
ratios() {
    paste <(printf '%s' "${R[$1,now,$2]}" | awk 'NF {print $1}') <(printf '%s' "${R[$1,base,$2]}" | awk 'NF {print $1}') \
        | awk '{printf "%.3f\n", $1 / $2}' | sort -g | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            printf "%.2fx (%.2f-%.2f)", m, a[1], a[NR]}'
}
ms() { echo "scale=2; $1 / 1000" | bc -l | sed 's/^\./0./'; }
echo
echo "templates' CPU per request, from each container's cgroup ($(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg));"
echo "median of $ROUNDS interleaved rounds of ${DURATION}s wrk runs through one gateway; base = templates at $BASE_REV"
echo
printf '%-20s %4s %14s %14s %22s %10s %10s %10s %10s %7s\n' function c "now CPU µs/req" "base CPU µs/req" \
    "now/base (min-max)" "now p99 ms" "base p99" "now req/s" "base req/s" errors
for c in 1 16; do
    for fn in "${FUNCTIONS[@]}"; do
        errs="$(printf '%s' "${R[$fn,now,$c]}${R[$fn,base,$c]}" | awk 'NF {e += $5} END {print e + 0}')"
        printf '%-20s %4s %14s %14s %22s %10s %10s %10s %10s %7s\n' "$fn" "$c" "$(pick "$fn" now $c 1)" \
            "$(pick "$fn" base $c 1)" "$(ratios "$fn" $c)" "$(ms "$(pick "$fn" now $c 3)")" \
            "$(ms "$(pick "$fn" base $c 3)")" "$(pick "$fn" now $c 4)" "$(pick "$fn" base $c 4)" "$errs"
    done
done
echo
for c in 1 16; do
    for fn in "${FUNCTIONS[@]}"; do
        r="$(ratios "$fn" $c | cut -d' ' -f1 | tr -d x)"
        printf 'c=%-3s %-20s CPU per request now/base %sx (target <= 0.5: %s)\n' "$c" "$fn" "$r" "$(ok "$r <= 0.5")"
    done
done
da1="$(pick delivery-analytics now 1 3)"; da16="$(pick delivery-analytics now 16 3)"
oc1="$(pick order-completion now 1 3)"; oc16="$(pick order-completion now 16 3)"
printf 'delivery-analytics p99 (limits on): c=1 %s ms (target < 12.5: %s), c=16 %s ms (target < 150: %s); spread c=16 %s µs\n' \
    "$(ms "$da1")" "$(ok "$da1 < 12500")" "$(ms "$da16")" "$(ok "$da16 < 150000")" "$(span delivery-analytics now 16 3)"
printf 'order-completion   p99 (limits on): c=1 %s ms (target < 25: %s), c=16 %s ms (target < 300: %s); spread c=16 %s µs\n' \
    "$(ms "$oc1")" "$(ok "$oc1 < 25000")" "$(ms "$oc16")" "$(ok "$oc16 < 300000")" "$(span order-completion now 16 3)"
