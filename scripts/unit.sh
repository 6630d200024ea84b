#!/usr/bin/env bash
# Unit tier for the collection's Python plugins: pytest on tests/unit, no network.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"
ensure_venv

# The tests import the collection as ansible_collections.pgha.cluster through this symlink.
[ -e .collections/ansible_collections/pgha/cluster/galaxy.yml ] \
    || die "missing .collections/ansible_collections/pgha/cluster -> repository root (git checkout restores it)"

exec python -m pytest -c pytest.ini "$@"
