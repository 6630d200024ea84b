"""DBHub follows the primary through HAProxy across a Patroni switchover.

A module of its own so it runs after test_dbhub.py (it moves the leader, and
right after a switchover the replica endpoint may still route to the new
primary for up to inter x fall = 2 s).
"""

import time

import requests

from mcp_client import McpClient, first_row
from labinfo import DBHUB_URL, PATRONI, RESTAPI_URLS, leader, secret

testinfra_hosts = ["dbhub-1"]


def test_primary_source_follows_a_switchover(host):
    mcp = McpClient(DBHUB_URL)
    mcp.initialize()
    pid_before = host.check_output("systemctl show -P MainPID dbhub")
    old = leader()
    resp = requests.post(
        RESTAPI_URLS[old] + "/switchover",
        json={"leader": old},
        auth=("patroni", secret("restapi")),
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    # HAProxy marks the old primary down within ~2 s (inter 1s fall 2) and cuts
    # its sessions; DBHub's pool then reconnects through port 5000. A call
    # caught in that window may fail; within 30 s the same call must succeed.
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        try:
            last = mcp.execute_sql("primary", "SELECT pg_is_in_recovery(), coalesce(host(inet_server_addr()), "
                                   "split_part(current_setting('listen_addresses'), ',', 1)) AS addr")
            if last.get("success") and first_row(last)["pg_is_in_recovery"] is False:
                break
        except requests.RequestException as exc:
            last = exc
        time.sleep(1)
    row = first_row(last)
    assert row["pg_is_in_recovery"] is False
    new = leader()
    assert new != old
    assert row["addr"] == PATRONI[new]
    # DBHub survived the dropped connections (the < 1.4.0 crash).
    assert host.check_output("systemctl show -P MainPID dbhub") == pid_before
