#!/usr/bin/env bash
# Drill benchmark: runs the chosen drills N times under each timing profile on a
# live cluster and prints the median figures (the table in docs/drills.md).
#
#   scripts/bench_drills.sh                       lab, profiles default+fast, 3 runs, switchover+crash-primary
#   PGHA_BENCH_RUNS=5 scripts/bench_drills.sh -i molecule/failover/inventory/hosts.yml
#
# Env: PGHA_BENCH_PROFILES ("default fast"), PGHA_BENCH_RUNS (3),
#      PGHA_BENCH_DRILLS ("switchover crash-primary isolate-primary").
# Each profile is applied to the live cluster through Patroni's dynamic
# configuration (pgha.cluster.patroni_config, the same PATCH /config that
# site.yml sends; no restart), then the drills run one at a time.
# Extra args go to ansible and ansible-playbook (for example -i INVENTORY).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"
ensure_venv

profiles=${PGHA_BENCH_PROFILES:-default fast}
runs=${PGHA_BENCH_RUNS:-3}
drills=${PGHA_BENCH_DRILLS:-switchover crash-primary isolate-primary}
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-i inventories/lab)
out=reports/bench-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

for p in $profiles; do
    case $p in
        default) timing='{"ttl": 30, "loop_wait": 10, "retry_timeout": 10}' ;;
        fast) timing='{"ttl": 20, "loop_wait": 5, "retry_timeout": 5}' ;;
        *) die "unknown profile $p: use default or fast" ;;
    esac
    say "profile $p: $timing"
    ansible-playbook scripts/lib/timing_profile.yml "${args[@]}" -e '{"bench_timing": '"$timing"'}' \
        >"$out/config-$p.log" 2>&1 || die "could not apply profile $p (see $out/config-$p.log)"
    # Let every member pick up the new loop_wait before measuring.
    sleep 12
    for i in $(seq 1 "$runs"); do
        for d in $drills; do
            say "profile $p, run $i/$runs: $d"
            ansible-playbook playbooks/drills.yml "${args[@]}" --tags "$d" \
                -e drills_report_dir="$PGHA_ROOT/$out/$p" >"$out/$p-$d-$i.log" 2>&1 \
                || say "drill $d failed (see $out/$p-$d-$i.log)"
        done
    done
done

python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(out, "*", "*.json"))):
    r = json.load(open(f))
    a = r.get("analysis", {})
    k = (os.path.basename(os.path.dirname(f)), r["drill"])
    rows.setdefault(k, []).append((r, a))
def med(vals):
    vals = [v for v in vals if v is not None]
    return "%.2f" % statistics.median(vals) if vals else "-"
print("%-8s %-17s %4s %12s %12s %12s %12s %5s %s" % ("profile", "drill", "runs", "downtime_s", "haproxy_s", "new_leader_s", "rejoin_s", "lost", "verdicts"))
for (p, d), rs in sorted(rows.items()):
    print("%-8s %-17s %4d %12s %12s %12s %12s %5d %s" % (
        p, d, len(rs), med([a.get("downtime_s") for r, a in rs]),
        med([(a.get("paths", {}).get("haproxy") or {}).get("downtime_s") for r, a in rs]),
        med([a.get("new_leader_after_s") for r, a in rs]), med([a.get("rejoin_s") for r, a in rs]),
        sum(a.get("lost", 0) or 0 for r, a in rs), ",".join(r["verdict"] for r, a in rs)))
PY
say "reports in $out"
