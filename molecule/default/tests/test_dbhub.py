"""Verify HAProxy and DBHub on the default scenario's cluster.

The switchover lives in test_switchover.py, which runs after this module:
pytest groups the tests that use testinfra's `host` fixture, so file order
inside a module is not run order. Everything the controller sends goes to
the scenario's own Docker network (the containers' pgha_node_address).
"""

import os
import re
import subprocess
import time

import pytest
import requests

import browser
from labinfo import DBHUB_ADDRESS, DBHUB_URL, INVENTORY, PROJECT, secret
from mcp_client import McpClient, first_row

ARTIFACTS = os.path.join(PROJECT, "tests", "output", "dbhub")
SOURCES = ("primary", "replica")

testinfra_hosts = ["dbhub-1"]


@pytest.fixture(scope="module")
def mcp():
    client = McpClient(DBHUB_URL)
    client.initialize()
    return client


# --- the host -----------------------------------------------------------

def test_haproxy_listens(host):
    assert host.service("haproxy").is_running
    for port in (5000, 5001):
        assert host.socket("tcp://%s:%d" % (DBHUB_ADDRESS, port)).is_listening
    # The stats page has no login: loopback only.
    assert host.socket("tcp://127.0.0.1:7000").is_listening
    assert not host.socket("tcp://0.0.0.0:7000").is_listening


def test_replica_endpoints_check_replication_lag(host):
    # A replica far behind (catching up after an outage) must leave 5001 and
    # 5003: HAProxy asks Patroni GET /replica?lag=<bound>, not bare /replica.
    cfg = host.file("/etc/haproxy/haproxy.cfg").content_string
    checks = re.findall(r"^listen (\S+)\n(?:.*\n)*?\s+option httpchk GET (\S+)", cfg, re.M)
    replica_checks = {name: path for name, path in checks if name.startswith("replicas")}
    assert set(replica_checks) == {"replicas", "replicas_direct"}, checks
    assert all(path == "/replica?lag=16MB" for path in replica_checks.values()), replica_checks
    # Patroni takes the parameter: both replicas of the healthy cluster are
    # served (a check path it refused would mark every replica down).
    deadline = time.time() + 60
    while True:
        csv = host.check_output(
            "python3 -c \"import urllib.request; "
            "print(urllib.request.urlopen('http://127.0.0.1:7000/;csv').read().decode())\"")
        rows = [line.split(",") for line in csv.splitlines() if line.startswith("replicas,")]
        up = [row[1] for row in rows if row[1] not in ("FRONTEND", "BACKEND") and row[17] == "UP"]
        if len(up) == 2 or time.time() > deadline:
            break
        time.sleep(2)
    assert len(up) == 2, csv


def test_dbhub_service(host):
    service = host.service("dbhub")
    assert service.is_running and service.is_enabled
    pid = host.check_output("systemctl show -P MainPID dbhub")
    assert host.check_output("ps -o user= -p %s" % pid).strip() == "dbhub"


def test_dbhub_secrets_are_private(host):
    env = host.file("/etc/dbhub/dbhub.env")
    assert env.mode == 0o600 and env.user == "root"
    toml = host.file("/etc/dbhub/dbhub.toml")
    assert toml.mode == 0o640
    # The TOML names the variable only; the password is nowhere but dbhub.env.
    assert "${DBHUB_DB_PASSWORD}" in toml.content_string
    password = secret("dbhub")
    assert password not in toml.content_string
    assert password not in host.check_output("journalctl -u dbhub --no-pager")
    # Never the superuser's password on this host.
    superuser = secret("postgres_superuser")
    assert host.run("grep -rlF -- %s /etc/dbhub /etc/haproxy" % superuser).stdout.strip() == ""


# --- HTTP and MCP -------------------------------------------------------

def test_healthz():
    resp = requests.get(DBHUB_URL + "/healthz", timeout=10)
    assert resp.status_code == 200


def test_foreign_host_header_is_refused():
    # DNS-rebinding protection: only loopback and the bind address are served.
    resp = requests.get(DBHUB_URL + "/api/sources", headers={"Host": "evil.example"}, timeout=10)
    assert resp.status_code == 403


def test_tools_per_source(mcp):
    tools = mcp.list_tools()
    for source in SOURCES:
        assert "execute_sql_%s" % source in tools


def test_primary_is_not_in_recovery(mcp):
    assert first_row(mcp.execute_sql("primary", "SELECT pg_is_in_recovery()"))["pg_is_in_recovery"] is False


def test_replica_is_in_recovery(mcp):
    assert first_row(mcp.execute_sql("replica", "SELECT pg_is_in_recovery()"))["pg_is_in_recovery"] is True


def test_dbhub_role_is_least_privilege(mcp):
    row = first_row(mcp.execute_sql(
        "primary",
        "SELECT current_user AS u, r.rolsuper AS su,"
        " pg_has_role(current_user, 'pg_read_all_data', 'member') AS rd,"
        " pg_has_role(current_user, 'pg_write_all_data', 'member') AS wr"
        " FROM pg_roles r WHERE r.rolname = current_user"))
    assert row == {"u": "dbhub", "su": False, "rd": True, "wr": False}


def test_write_through_readonly_source_is_refused(mcp):
    payload = mcp.execute_sql("replica", "CREATE TABLE dbhub_must_not_exist (id int)")
    assert payload["success"] is False
    assert payload["code"] == "READONLY_VIOLATION"


# --- a real browser -----------------------------------------------------

def test_workbench_in_chromium():
    # Fail, not skip: CI must prove the Workbench in a real browser.
    assert browser.chromium_path(), "chromium missing: run scripts/install_test_browser.sh"
    # Wait for the Workbench to list every configured source (its JavaScript
    # fetches /api/sources after the page loads).
    deadline = time.monotonic() + 90
    while True:
        dom = browser.dump_dom(DBHUB_URL + "/")
        missing = [s for s in SOURCES if 'href="/source/%s"' % s not in dom]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert not missing, "Workbench does not list sources %s" % missing
    shot = browser.screenshot(DBHUB_URL + "/source/primary", os.path.join(ARTIFACTS, "workbench.png"))
    assert os.path.getsize(shot) > 10000


# --- bad input ----------------------------------------------------------

def _dbhub_playbook(*extra):
    cmd = ["ansible-playbook", "playbooks/dbhub.yml", "-i", INVENTORY, *extra]
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_FORCE_COLOR"}
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
    # Task failures go to stderr (ansible-core 2.19); the callback wraps long
    # messages, so compare with whitespace collapsed.
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    return proc.returncode, " ".join(out.split())


@pytest.mark.parametrize("extra,message", [
    (["-e", "dbhub_version=1.3.1"], "the minimum is 1.4.0"),
    (["-e", "dbhub_db_password="], "dbhub_db_password is not set"),
])
def test_preflight_refuses_bad_input(extra, message):
    rc, out = _dbhub_playbook(*extra)
    assert rc != 0
    assert message in out
    # It stopped in the preflight play: nothing was installed or changed.
    assert "Install Node.js and npm" not in out
    assert "Create DBHub's PostgreSQL role" not in out
