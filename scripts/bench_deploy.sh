#!/usr/bin/env bash
# Wall time of a first site.yml from bare lab hosts to a healthy cluster, and
# of a second, unchanged run. DESTROYS the lab's containers and data.
#   scripts/bench_deploy.sh [extra ansible-playbook args, e.g. --tags preflight,etcd,patroni]
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"
ensure_venv
inv=inventories/lab
log_dir=${PGHA_BENCH_LOG_DIR:-.lab/bench}
mkdir -p "$log_dir"

ansible-playbook lab/down.yml -i "$inv" -e pgha_lab_purge=true >"$log_dir/down.log" 2>&1
ansible-playbook lab/up.yml -i "$inv" >"$log_dir/up.log" 2>&1

run() {
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    ansible-playbook site.yml -i "$inv" "$@" >"$log_dir/$name.log" 2>&1 || { echo "$name run failed, see $log_dir/$name.log" >&2; exit 1; }
    end=$(date +%s.%N)
    printf '%s: %.1f s (%s)\n' "$name" "$(awk "BEGIN{print $end - $start}")" "$(grep -E '^pg-node-1 ' "$log_dir/$name.log" | tr -s ' ')"
}
run first "$@"
run second "$@"
if grep -E 'changed=[1-9]' "$log_dir/second.log" >/dev/null; then
    echo "second run changed something, see $log_dir/second.log" >&2
    exit 1
fi
