#!/usr/bin/env bash
# ansible-test sanity for plugins/, plus an ansible-doc render of every module.
#
# ansible-test wants the collection at ansible_collections/<namespace>/<name>, so the
# tracked files (and any uncommitted ones) are copied into a temporary tree first.
# It runs from its own virtualenv: `--requirements` installs pinned linters (pylint,
# pycodestyle, ...) that must not land in the project's .venv, which others share.
#
# Env: PGHA_SANITY_DIR (tree, default /var/tmp/pgha-sanity),
#      PGHA_SANITY_VENV (default /var/tmp/pgha-sanity-venv), extra args go to ansible-test.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${PGHA_SANITY_DIR:-/var/tmp/pgha-sanity}
venv=${PGHA_SANITY_VENV:-/var/tmp/pgha-sanity-venv}
python=${PGHA_SANITY_PYTHON:-python3.11}
pyver=3.11

core_pin=$(grep -E '^ansible-core==' "$repo/requirements.txt")
requests_pin=$(grep -E '^requests==' "$repo/requirements.txt")

if ! "$venv/bin/python" -m pip show -q ansible-core 2>/dev/null \
    || [ "$("$venv/bin/python" -m pip show ansible-core | awk '/^Version:/{print $2}')" != "${core_pin#ansible-core==}" ]; then
  echo "== creating $venv with $core_pin"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$core_pin" "$requests_pin"
fi

# ansible-test bootstraps pip in its per-test virtualenvs with a get-pip.py that it
# downloads from a host this machine cannot reach; give it our stand-in instead.
pip_ver=$("$venv/bin/python" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_ver//./_}.py"
if [ ! -s "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp "$repo/scripts/get_pip_stub.py" "$cache"
fi

dest="$work/ansible_collections/pgha/cluster"
rm -rf "$work"
mkdir -p "$dest"
(
  cd "$repo"
  # Tracked plus untracked-but-not-ignored files, minus the .collections symlink
  # (ansible-test rejects symlinks leaving the tree), a .venv symlink (a worktree's
  # link to a shared venv escapes .gitignore's `.venv/`) and deleted files.
  git ls-files -co --exclude-standard -z \
    | grep -zv '^\.collections/' \
    | grep -zvx '\.venv' \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | xargs -0 cp -P --parents -t "$dest"
)
(
  cd "$dest"
  git init -q
  git add -A
)

tests=(
  action-plugin-docs ansible-doc changelog compile empty-init ignores import line-endings
  no-assert no-get-exception no-illegal-filenames no-smart-quotes pep8 pylint
  replace-urlopen runtime-metadata shebang symlinks use-argspec-type-path use-compat-six
  validate-modules yamllint
)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
if command -v shellcheck >/dev/null; then args+=(--test shellcheck); fi

echo "== ansible-test sanity (${#tests[@]} tests) in $dest"
cd "$dest"
"$venv/bin/ansible-test" sanity --local --python "$pyver" --requirements "${args[@]}" "$@" plugins/ \
  > "$work/ansible-test.log" 2>&1 || { grep -vE "^(WARNING: Location|Looking in|Collecting|  Downloading|Processing|Installing|Successfully|Requirement already| +━)" "$work/ansible-test.log"; exit 1; }
grep -E "^(Running|ERROR|WARNING: Skipping)" "$work/ansible-test.log" || true

echo "== ansible-doc for every module"
cd "$repo"
status=0
for m in plugins/modules/*.py; do
  name=$(basename "$m" .py)
  if out=$(ANSIBLE_COLLECTIONS_PATH="$work" "$venv/bin/ansible-doc" "pgha.cluster.$name" 2>&1) \
      && ! grep -q '^\[ERROR\]\|^ERROR' <<<"$out"; then
    echo "ok   pgha.cluster.$name"
  else
    echo "FAIL pgha.cluster.$name"; echo "$out" | head -20; status=1
  fi
done
exit $status
