#!/usr/bin/env bash
# Collection tier: pgha.cluster as a user gets it, no containers.
#   1. ansible-galaxy collection build gives a tarball with no checkout state
#      in it (lab state, test output, virtualenv, Molecule, reports, scripts);
#   2. ansible-galaxy collection install puts it into an empty collections path;
#   3. ansible-doc documents every module and every role from that installed copy;
#   4. a project directory holding only an inventory and a two-line playbook
#      (import_playbook: pgha.cluster.site) passes --syntax-check and
#      --list-tasks, with pgha.cluster found in the installed copy alone.
# The default Molecule scenario deploys the lab from such an installed copy.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"
ensure_venv

work=$(mktemp -d "${TMPDIR:-/tmp}/pgha-collection.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "collection: build"
ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(echo "$work"/dist/pgha-cluster-*.tar.gz)
[ -f "$tarball" ] || die "collection: no tarball in $work/dist"

# Top-level entries that belong to a checkout, never to the collection.
leaks=$(tar tzf "$tarball" | grep -E \
    '^(\.lab|\.venv|\.collections|\.ansible|\.pytest_cache|\.git|\.ci|\.config|lab|molecule|reports|scripts|tests/output|inventories/lab)(/|$)|(^|/)__pycache__(/|$)|\.tar\.gz$' \
    || true)
[ -z "$leaks" ] || die "collection: the tarball holds checkout files (galaxy.yml build_ignore):
$leaks"

say "collection: install into an empty collections path"
# Nothing of this checkout may leak in: no ansible.cfg (its collections_path
# holds .collections), no roles path; the dependencies come from the `ansible`
# package on Python's path, so --no-deps (Galaxy is not reachable from CI).
unset ANSIBLE_CONFIG ANSIBLE_ROLES_PATH
export ANSIBLE_COLLECTIONS_PATH=$work/collections
mkdir -p "$work/project"
cd "$work/project"
ansible-galaxy collection install --no-deps -p "$ANSIBLE_COLLECTIONS_PATH" "$tarball" >/dev/null
installed=$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pgha/cluster
found=$(ansible-galaxy collection list pgha.cluster --format json \
    | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)))')
[ "$found" = "$ANSIBLE_COLLECTIONS_PATH/ansible_collections" ] \
    || die "collection: pgha.cluster found in '$found', expected only the installed copy"

say "collection: ansible-doc of every module and role, from the installed copy"
modules=$(cd "$PGHA_ROOT/plugins/modules" && for f in *.py; do echo "pgha.cluster.${f%.py}"; done)
roles=$(cd "$PGHA_ROOT/roles" && for d in */; do echo "pgha.cluster.${d%/}"; done)
check_docs() {  # <type> <names...>: every name documented, from $installed
    local type=$1; shift
    ansible-doc -t "$type" --json "$@" | python3 -c '
import json, sys
kind, installed, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
docs = json.load(sys.stdin)
bad = []
for name in wanted:
    doc = docs.get(name) or {}
    # A module has "doc" (with its filename), a role "entry_points" and "path".
    where = doc.get("path") or (doc.get("doc") or {}).get("filename") or ""
    if not (doc.get("doc") or doc.get("entry_points")) or not (where + "/").startswith(installed + "/"):
        bad.append("%s (%s)" % (name, where or "not found"))
if bad:
    sys.exit("collection: ansible-doc -t %s failed for: %s" % (kind, ", ".join(bad)))
sys.stderr.write("pgha: collection: %d %ss documented\n" % (len(wanted), kind))
' "$type" "$installed" "$@"
}
# shellcheck disable=SC2086  # one name per word
check_docs module $modules
# shellcheck disable=SC2086
check_docs role $roles

say "collection: a project playbook importing pgha.cluster.site"
cp -r "$installed/inventories/production.example" inventory
printf -- '---\n- name: Deploy the pgha cluster\n  ansible.builtin.import_playbook: pgha.cluster.site\n' > site.yml
ansible-playbook -i inventory site.yml --syntax-check >/dev/null
ansible-playbook -i inventory site.yml --list-tasks >/dev/null
say "collection: tarball $(basename "$tarball") builds, installs, documents and imports"
