#!/usr/bin/env bash
# Pooling benchmark on a live lab (a script, not a test: figures go to the
# docs). From the first member, through HAProxy on the haproxy host:
#   - 2,000 concurrent clients on 5000 (PgBouncer), max_connections = 100;
#   - pgbench -S (read-only) and TPC-B-like, PgBouncer (5000) against direct (5002),
#     same clients and duration, PGHA_BENCH_RUNS runs each, medians printed.
#
#   scripts/bench_pool.sh                      the lab (inventories/lab)
#   PGHA_BENCH_RUNS=5 PGHA_BENCH_CLIENTS=32 PGHA_BENCH_SECONDS=20 scripts/bench_pool.sh
# It creates the pgbench tables in the app database (scale 10) and drops them at the end.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"

inv=${PGHA_INVENTORY:-inventories/lab}
runs=${PGHA_BENCH_RUNS:-3}
clients=${PGHA_BENCH_CLIENTS:-32}
seconds=${PGHA_BENCH_SECONDS:-15}
lab=$(sed -n 's/^ *pgha_lab_name: *//p' "$inv/hosts.yml" | head -n1)
node=$lab-pg-node-1
haproxy=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$lab-dbhub-1")
password=$(cat ".lab/$lab/secrets/pgadmin")
bin=/usr/lib/postgresql/18/bin

pgb() { docker exec -e PGPASSWORD="$password" "$node" sh -c "$bin/pgbench -h $haproxy -U pgadmin $*" 2>&1; }
tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

say "initialising pgbench tables (scale 10) through the direct endpoint"
pgb -p 5002 -i -s 10 -q app >/dev/null

docker exec "$node" sh -c "echo 'SELECT 1;' > /var/tmp/pgha-select1.sql"
out=$(pgb -p 5000 -n -c 2000 -j 8 -T 10 -C -f /var/tmp/pgha-select1.sql app) || { echo "$out" >&2; die "2,000 clients through 5000 failed"; }
echo "2000 clients via PgBouncer (5000), new connection per transaction:"
echo "$out" | grep -E 'number of clients|failed transactions|average connection time|^tps' | sed 's/^/  /'

for mode in "-S" ""; do
    name=${mode:-tpcb}
    for port in 5000 5002; do
        results=()
        for _ in $(seq "$runs"); do
            results+=("$(pgb -p "$port" -n $mode -c "$clients" -j 4 -T "$seconds" app | tps)")
        done
        printf '%-5s port %s (%s): median tps %s over %s runs [%s]\n' "$name" "$port" \
            "$([ "$port" = 5000 ] && echo PgBouncer || echo direct)" \
            "$(printf '%s\n' "${results[@]}" | median)" "$runs" "${results[*]}"
    done
done

pgb -p 5002 -i -I d app >/dev/null 2>&1 || true
