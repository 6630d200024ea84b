#!/usr/bin/env bash
# The test suite. With no argument it runs every tier:
#   lint      yamllint, ansible-lint (production profile), promtool on the alert rules
#   unit      pytest for plugins/
#   sanity    ansible-test sanity for plugins/ and ansible-doc for every module
#   collection  the built tarball installed into an empty collections path:
#             ansible-doc of every module and role, a project playbook that
#             imports pgha.cluster.site (scripts/collection.sh)
#   molecule  the Molecule scenarios default, backup, failover, scale (real
#             containers; PGHA_SCENARIOS="..." or arguments choose some)
#
#   scripts/test.sh            all tiers
#   scripts/test.sh quick      lint, unit, sanity and collection (no containers)
#   scripts/test.sh molecule [scenario...]
#   scripts/test.sh lint|unit|sanity|collection
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
run_sanity() { say "tier sanity"; "$PGHA_ROOT/scripts/sanity.sh"; }
run_collection() { say "tier collection"; "$PGHA_ROOT/scripts/collection.sh"; }
run_molecule() {
    ensure_docker; ensure_debootstrap
    # The default scenario drives a real browser against DBHub's Workbench.
    "$PGHA_ROOT/scripts/install_test_browser.sh" >/dev/null \
        || die "Chromium is missing: run scripts/install_test_browser.sh as root"
    local scenarios=("$@") s start failed=()
    if [ ${#scenarios[@]} -eq 0 ]; then
        # default first: it is the quickest proof that the cluster deploys.
        read -r -a scenarios <<< "${PGHA_SCENARIOS:-default backup failover scale}"
    fi
    for s in "${scenarios[@]}"; do
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

tier=${1:-all}
shift || true
case $tier in
    all) run_lint; run_unit; run_sanity; run_collection; run_molecule ;;
    quick) run_lint; run_unit; run_sanity; run_collection ;;
    lint) run_lint ;;
    unit) run_unit ;;
    sanity) run_sanity ;;
    collection) run_collection ;;
    molecule) run_molecule "$@" ;;
    *) die "unknown tier '$tier': use all, quick, lint, unit, sanity, collection or molecule" ;;
esac
say "tests passed ($tier)"
