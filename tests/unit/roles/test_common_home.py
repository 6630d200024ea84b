# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/common is the one home of the values more than one role needs.

Read as text and YAML, nothing run: no role redefines a value of the home, the
home's literals (REST port, PostgreSQL port, data directory) appear nowhere else,
no role builds a Patroni REST URL by hand, and every role that reads the home
lists it as a dependency.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from helpers import REPO as _REPO

REPO = pathlib.Path(_REPO)
ROLES = REPO / "roles"
HOME = yaml.safe_load((ROLES / "common" / "defaults" / "main.yml").read_text(encoding="utf-8"))
OTHERS = sorted(p.name for p in ROLES.iterdir() if p.is_dir() and p.name != "common")
# pki issues certificates for any caller and reads nothing of the cluster.
SELF_CONTAINED = {"pki"}
LITERALS = ["8008", "5432", "/var/lib/postgresql/18/main"]


def code_lines(role):
    """(path, line number, line without its comment) of a role's YAML and templates."""
    for sub in ("defaults", "vars", "tasks", "handlers", "templates"):
        for path in sorted((ROLES / role / sub).rglob("*")):
            if not path.is_file():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                yield path.relative_to(REPO), number, re.sub(r"(^|\s)#.*", "", line)


@pytest.mark.parametrize("role", OTHERS)
def test_no_role_redefines_a_value_of_the_home(role):
    defaults = ROLES / role / "defaults" / "main.yml"
    own = set(yaml.safe_load(defaults.read_text(encoding="utf-8")) or {}) if defaults.exists() else set()
    assert not own & set(HOME), "%s redefines role common's %s" % (role, sorted(own & set(HOME)))


@pytest.mark.parametrize("role", OTHERS)
def test_the_home_literals_appear_only_in_the_home(role):
    found = ["%s:%d: %s" % (path, number, line.strip())
             for path, number, line in code_lines(role)
             for literal in LITERALS if literal in line]
    assert not found, "copies of role common's defaults:\n" + "\n".join(found)


@pytest.mark.parametrize("role", OTHERS)
def test_no_role_builds_a_rest_url_by_hand(role):
    # The member REST URLs are role common's pgha_restapi_urls / pgha_restapi_url_of.
    by_hand = re.compile(r"https?://[^\s\"']*(restapi_port|api_port|8008)|map\('extract', hostvars, 'pgha_node_address'\)"
                         r".*regex_replace.*restapi")
    found = ["%s:%d: %s" % (path, number, line.strip())
             for path, number, line in code_lines(role) if by_hand.search(line)]
    assert not found, "REST URLs built by hand:\n" + "\n".join(found)


def test_the_home_builds_the_member_url_list():
    assert "pgha_restapi_scheme" in HOME["pgha_restapi_urls"]
    assert HOME["pgha_patroni_api"]["api_url"] == "{{ pgha_restapi_urls }}"


@pytest.mark.parametrize("role", sorted(set(OTHERS) - SELF_CONTAINED))
def test_every_role_depends_on_the_home(role):
    meta = yaml.safe_load((ROLES / role / "meta" / "main.yml").read_text(encoding="utf-8"))
    deps = [d["role"] if isinstance(d, dict) else d for d in meta.get("dependencies") or []]
    assert "pgha.cluster.common" in deps
