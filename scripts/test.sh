#!/usr/bin/env bash
# The test suite. With no argument it runs every tier:
#   lint      yamllint, ansible-lint (production profile), promtool on the alert rules
#   unit      pytest for plugins/
#   preflight a table of bad inventories and extra vars through site.yml and the
#             other playbooks, each refused by preflight (no containers)
#   sanity    ansible-test sanity for plugins/ and ansible-doc for every module
#   collection  the built tarball installed into an empty collections path:
#             ansible-doc of every module and role, a project playbook that
#             imports pgha.cluster.site (scripts/collection.sh)
#   molecule  the Molecule scenarios backup, scale, default, failover (real
#             containers; PGHA_SCENARIOS="..." or arguments choose some;
#             PGHA_MOLECULE_JOBS scenarios at a time, default 2, 1 = serial
#             with the output on the terminal)
#
#   scripts/test.sh            all tiers
#   scripts/test.sh quick      lint, unit, preflight, sanity and collection (no containers)
#   scripts/test.sh molecule [scenario...]
#   scripts/test.sh lint|unit|preflight|sanity|collection
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"
ensure_venv

run_lint() {
    say "tier lint"
    yamllint -s .
    ansible-lint --profile production
    # promtool check rules + promtool test rules (tests/alert_rules).
    python3 "$PGHA_ROOT/tests/alert_rules/run.py"
}
run_unit() { say "tier unit"; "$PGHA_ROOT/scripts/unit.sh"; }
run_preflight() { say "tier preflight"; "$PGHA_ROOT/scripts/unit.sh" tests/preflight; }
run_sanity() { say "tier sanity"; "$PGHA_ROOT/scripts/sanity.sh"; }
run_collection() { say "tier collection"; "$PGHA_ROOT/scripts/collection.sh"; }
run_molecule() {
    ensure_docker; ensure_debootstrap
    # The default scenario drives a real browser against DBHub's Workbench.
    "$PGHA_ROOT/scripts/install_test_browser.sh" >/dev/null \
        || die "Chromium is missing: run scripts/install_test_browser.sh as root"
    # Build the lab image once, here: scenarios that start together would
    # otherwise race to build the same image.
    "$PGHA_ROOT/lab/image/build.sh" >/dev/null \
        || die "the lab image did not build: see .lab/image-build.log"
    local scenarios=("$@") jobs=${PGHA_MOLECULE_JOBS:-2}
    if [ ${#scenarios[@]} -eq 0 ]; then
        # Longest first, so that two at a time finish close together.
        read -r -a scenarios <<< "${PGHA_SCENARIOS:-backup scale default failover}"
    fi
    if [ "$jobs" -le 1 ] || [ ${#scenarios[@]} -eq 1 ]; then
        run_scenarios_serially "${scenarios[@]}"
    else
        run_scenarios_in_parallel "$jobs" "${scenarios[@]}"
    fi
}

run_scenarios_serially() {
    local s start failed=()
    for s in "$@"; do
        say "tier molecule: scenario $s"
        start=$(date +%s)
        if molecule test -s "$s"; then
            say "scenario $s passed in $(( $(date +%s) - start )) s"
        else
            say "scenario $s FAILED after $(( $(date +%s) - start )) s"
            failed+=("$s")
        fi
    done
    [ ${#failed[@]} -eq 0 ] || die "failed scenarios: ${failed[*]}"
}

# Scenarios are independent (own containers, network and Molecule state), and
# each waits on containers more than it computes, so two at a time fit a
# 2-core machine: about 36 minutes instead of 55 serially. Each writes its
# own log; a failed one's tail is printed at the end, where CI shows it.
run_scenarios_in_parallel() {
    local jobs=$1; shift
    local dir=$PGHA_ROOT/tests/output/molecule s failed=()
    rm -rf "$dir"; mkdir -p "$dir"
    say "tier molecule: $* ($jobs at a time; logs in tests/output/molecule/)"
    for s in "$@"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
        say "scenario $s started"
        (
            start=$(date +%s)
            if molecule test -s "$s" >"$dir/$s.log" 2>&1; then
                echo "passed in $(( $(date +%s) - start )) s" >"$dir/$s.status"
            else
                echo "FAILED after $(( $(date +%s) - start )) s" >"$dir/$s.status"
            fi
            say "scenario $s $(cat "$dir/$s.status")"
        ) &
    done
    wait
    for s in "$@"; do
        grep -q '^passed' "$dir/$s.status" 2>/dev/null || failed+=("$s")
    done
    for s in "${failed[@]}"; do
        say "---- the last 300 lines of scenario $s ($dir/$s.log) ----"
        tail -n 300 "$dir/$s.log" >&2
    done
    for s in "$@"; do say "scenario $s $(cat "$dir/$s.status" 2>/dev/null || echo 'did not finish')"; done
    [ ${#failed[@]} -eq 0 ] || die "failed scenarios: ${failed[*]}"
}

tier=${1:-all}
shift || true
case $tier in
    all) run_lint; run_unit; run_preflight; run_sanity; run_collection; run_molecule ;;
    quick) run_lint; run_unit; run_preflight; run_sanity; run_collection ;;
    lint) run_lint ;;
    unit) run_unit ;;
    preflight) run_preflight ;;
    sanity) run_sanity ;;
    collection) run_collection ;;
    molecule) run_molecule "$@" ;;
    *) die "unknown tier '$tier': use all, quick, lint, unit, preflight, sanity, collection or molecule" ;;
esac
say "tests passed ($tier)"
