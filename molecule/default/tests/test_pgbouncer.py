"""PgBouncer on every member, behind HAProxy's 5000/5001.

Clients on 5000/5001 reach PostgreSQL through PgBouncer (which talks to the
local server over its Unix socket, so inet_server_port() is NULL there);
5002/5003 go straight to PostgreSQL on 5432. Each proof reads live state:
PgBouncer's own counters, the server's view of the session, a real refusal.
"""

import re
import subprocess
import time

import pytest

from labinfo import CONTAINERS, DBHUB_ADDRESS, PATRONI, leader, secret

NODES = sorted(PATRONI)
PSQL = "/usr/lib/postgresql/18/bin/psql"
PGBENCH = "/usr/lib/postgresql/18/bin/pgbench"


def sh(node, script, env=None, check=True, timeout=120):
    """Run a shell script in a member's container (as root)."""
    cmd = ["docker", "exec"]
    for key, value in (env or {}).items():
        cmd += ["-e", "%s=%s" % (key, value)]
    cmd += [CONTAINERS[node], "sh", "-c", script]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError("%s: %s failed (%d): %s" % (node, script, res.returncode, res.stderr))
    return res


def client(node, port, sql, user="pgadmin", db="app", check=True, host=DBHUB_ADDRESS):
    """psql from a member to an endpoint, as the application would connect."""
    secret_name = {"pgadmin": "pgadmin", "postgres": "postgres_superuser"}[user]
    return sh(node, "%s -XAtq -h %s -p %d -U %s -d %s -c \"%s\"" % (PSQL, host, port, user, db, sql),
              env={"PGPASSWORD": secret(secret_name), "PGCONNECT_TIMEOUT": "10"}, check=check)


def admin(node, command):
    """PgBouncer's admin console: local socket, OS user postgres (peer).
    Returns one dict per row, keyed by the column names PgBouncer prints."""
    out = sh(node, "runuser -u postgres -- %s -XAq -P footer=off -F '|' -h /var/run/postgresql -p 6432 "
                   "-U postgres -d pgbouncer -c '%s'" % (PSQL, command)).stdout
    lines = out.strip().splitlines()
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"))) for line in lines[1:]]


def pools_during_queries(endpoint_port, watch, sessions=1, database="app"):
    """Hold `sessions` queries open through an endpoint and read SHOW POOLS
    on the `watch` members meanwhile. Returns, per member, the (database,
    pgadmin) pool's highest (active clients, active servers): live counts,
    (0, 0) on a member whose PgBouncer did not carry a session."""
    client_cmd = "%s -XAtq -h %s -p %d -U pgadmin -d %s -c 'SELECT pg_sleep(4)'" % (
        PSQL, DBHUB_ADDRESS, endpoint_port, database)
    for _ in range(sessions):
        subprocess.run(["docker", "exec", "-d", "-e", "PGPASSWORD=" + secret("pgadmin"), CONTAINERS[NODES[0]],
                        "sh", "-c", client_cmd], check=True, timeout=30)
    best = {node: (0, 0) for node in watch}
    for _ in range(6):
        time.sleep(0.5)
        for node in watch:
            for row in admin(node, "SHOW POOLS"):
                if row["database"] == database and row["user"] == "pgadmin":
                    best[node] = max(best[node], (int(row["cl_active"]), int(row["sv_active"])))
    time.sleep(3)
    return best


@pytest.mark.parametrize("node", NODES)
def test_pgbouncer_listens_on_the_cluster_address_only(node):
    sh(node, "systemctl is-active pgbouncer && systemctl is-enabled pgbouncer")
    listening = sh(node, "ss -Hltn 'sport = :6432'").stdout
    assert "%s:6432" % PATRONI[node] in listening
    assert "0.0.0.0:6432" not in listening and "*:6432" not in listening


@pytest.mark.parametrize("node", NODES)
def test_only_the_lookup_password_is_kept(node):
    userlist = sh(node, "stat -c '%a %U' /etc/pgbouncer/userlist.txt && cat /etc/pgbouncer/userlist.txt").stdout
    mode_owner, content = userlist.split("\n", 1)
    assert mode_owner == "640 postgres"
    assert content.strip().startswith('"pgbouncer_auth" ')
    # No application or superuser secret in PgBouncer's files or its log.
    for name in ("pgadmin", "postgres_superuser", "pgbouncer_auth"):
        found = sh(node, "grep -rlF -- '%s' /var/log/postgresql/pgbouncer.log || true" % secret(name)).stdout
        assert found.strip() == ""


def test_primary_endpoint_goes_through_pgbouncer():
    primary = leader()
    out = client(primary, 5000, "SELECT pg_is_in_recovery(), coalesce(inet_server_port()::text, 'socket')").stdout
    assert out.strip() == "f|socket"  # the primary, reached over PgBouncer's Unix socket
    pools = pools_during_queries(5000, NODES)
    cl_active, sv_active = pools[primary]
    assert cl_active >= 1 and sv_active >= 1, pools


def test_replica_endpoint_goes_through_pgbouncer():
    replicas = [n for n in NODES if n != leader()]
    out = client(replicas[0], 5001, "SELECT pg_is_in_recovery(), coalesce(inet_server_port()::text, 'socket')")
    assert out.stdout.strip() == "t|socket"
    # Round-robin: four held sessions land on the replicas' PgBouncers only.
    pools = pools_during_queries(5001, NODES, sessions=4)
    assert sum(pools[n][0] for n in replicas) >= 4, pools
    assert all(pools[n][1] >= 1 for n in replicas), pools
    assert pools[leader()] == (0, 0), pools


def test_direct_endpoints_bypass_pgbouncer():
    primary = leader()
    out = client(primary, 5002, "SELECT pg_is_in_recovery(), inet_server_port()").stdout
    assert out.strip() == "f|5432"
    assert pools_during_queries(5002, [primary]) == {primary: (0, 0)}
    out = client(primary, 5003, "SELECT pg_is_in_recovery(), inet_server_port()").stdout
    assert out.strip() == "t|5432"


def test_superuser_is_refused_by_the_pool():
    res = client(NODES[0], 5000, "SELECT 1", user="postgres", db="postgres", check=False)
    assert res.returncode != 0
    assert re.search(r"rejected|not allowed|no such user|authentication failed", res.stderr), res.stderr


def test_unknown_database_is_refused():
    # PgBouncer answers an unknown database like a failed login (no oracle
    # for which databases exist); its own log names the reason.
    primary = leader()
    res = client(primary, 5000, "SELECT 1", db="not_a_database", check=False)
    assert res.returncode != 0, res.stdout
    log = sh(primary, "grep -c '(nodb)/pgadmin@' /var/log/postgresql/pgbouncer.log", check=False).stdout
    assert int(log.strip() or 0) >= 1


def test_admin_console_is_local_only():
    res = client(NODES[0], 6432, "SHOW POOLS", db="pgbouncer", check=False, host=PATRONI[NODES[0]])
    assert res.returncode != 0, "the admin console answered over TCP"
    assert admin(NODES[0], "SHOW VERSION")[0]["version"].startswith("PgBouncer")


def test_two_thousand_clients_on_a_hundred_connections():
    """2,000 concurrent clients through 5000 with max_connections = 100: every
    client connects and every transaction succeeds (pgbench aborts a run in
    which any client cannot connect)."""
    node = NODES[0]
    max_conn = int(client(node, 5002, "SHOW max_connections").stdout)
    assert max_conn <= 100
    sh(node, "echo 'SELECT 1;' > /var/tmp/pgha-select1.sql")
    res = sh(node, "%s -n -c 2000 -j 8 -T 10 -f /var/tmp/pgha-select1.sql -h %s -p 5000 "
                   "-U pgadmin app" % (PGBENCH, DBHUB_ADDRESS),
             env={"PGPASSWORD": secret("pgadmin")}, check=False, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert re.search(r"number of clients: 2000\b", res.stdout), res.stdout
    assert re.search(r"number of failed transactions: 0 ", res.stdout), res.stdout
    processed = int(re.search(r"number of transactions actually processed: (\d+)", res.stdout).group(1))
    assert processed >= 2000
