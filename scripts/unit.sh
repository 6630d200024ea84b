#!/usr/bin/env bash
# Unit tier for the collection's Python plugins: pytest on tests/unit, no network.
# Uses the project's .venv when present (see requirements.txt), else python3 on PATH.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi

# The tests import the collection as ansible_collections.pgha.cluster through this symlink.
if [ ! -e .collections/ansible_collections/pgha/cluster/galaxy.yml ]; then
  echo "missing .collections/ansible_collections/pgha/cluster -> repository root" >&2
  exit 1
fi

exec "$py" -m pytest -c pytest.ini "$@"
