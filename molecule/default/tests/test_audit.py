"""Audit logging with pgaudit: preloaded on every member, DDL logged.

A table created on the primary must leave an AUDIT line naming it in that
member's PostgreSQL log (stderr, collected by the journal of patroni.service).
"""

import subprocess
import uuid

import pytest

from labinfo import CONTAINERS, PATRONI, leader

PSQL = "/usr/lib/postgresql/18/bin/psql"


def sh(node, script):
    res = subprocess.run(["docker", "exec", CONTAINERS[node], "sh", "-c", script],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


def sql(node, query, db="app"):
    return sh(node, "runuser -u postgres -- %s -XAtq -d %s -c \"%s\"" % (PSQL, db, query)).strip()


@pytest.mark.parametrize("node", sorted(PATRONI))
def test_pgaudit_is_preloaded(node):
    assert "pgaudit" in sql(node, "SHOW shared_preload_libraries").split(",")
    assert sql(node, "SHOW pgaudit.log") == "ddl,role"
    assert sql(node, "SHOW pgaudit.log_parameter") == "off"


def test_ddl_leaves_an_audit_line():
    primary = leader()
    table = "pgha_audit_probe_%s" % uuid.uuid4().hex[:8]
    assert sql(primary, "SELECT count(*) FROM pg_extension WHERE extname = 'pgaudit'") == "1"
    sql(primary, "CREATE TABLE public.%s (id int)" % table)
    try:
        log = sh(primary, "journalctl -u patroni --no-pager --since '-5 min' | grep -F 'AUDIT:' | grep -F %s || true" % table)
        assert "CREATE TABLE" in log, "no AUDIT line for %s in the primary's log" % table
    finally:
        sql(primary, "DROP TABLE IF EXISTS public.%s" % table)
