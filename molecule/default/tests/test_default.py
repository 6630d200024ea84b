"""The cluster that site.yml deployed: etcd, Patroni, PostgreSQL 18, pgvector.

Each test reads live state from the members, so each fails when the state is
wrong. The leader is asked from Patroni, never taken from inventory order.
"""
import json
import os
import time
import uuid

import pytest
import testinfra

from labinfo import API_ARGS, CONTAINERS

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = ["pg-node-1", "pg-node-2", "pg-node-3"]
APP_DB = "app"


def get(name):
    return testinfra.get_host("ansible://{0}?ansible_inventory={1}".format(name, INVENTORY))


def container(name):
    """Commands the tests run as root on a node, through `docker exec`."""
    return testinfra.get_host("docker://" + CONTAINERS[name])


@pytest.fixture(scope="module")
def hosts():
    return {name: container(name) for name in NODES}


@pytest.fixture(scope="module")
def ansible_node():
    """Modules run on a cluster member, as the roles run them."""
    return get(NODES[0])


@pytest.fixture(scope="module")
def cluster(ansible_node):
    """Patroni's view of the cluster, through the collection's own module."""
    return ansible_node.ansible(
        "pgha.cluster.patroni_cluster_info", API_ARGS + " expected_members=3", check=False)


@pytest.fixture(scope="module")
def leader(hosts, cluster):
    return hosts[cluster["leader"]]


@pytest.fixture(scope="module")
def replicas(hosts, cluster):
    return [hosts[name] for name in cluster["replicas"]]


def psql(host, sql, db="postgres", check=True):
    """Run SQL as postgres over the local socket (peer authentication)."""
    cmd = host.run("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s", db, sql)
    if check:
        assert cmd.rc == 0, cmd.stderr
    return cmd


ETCDCTL = ("etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.crt "
           "--cert=/etc/etcd/pki/server.crt --key=/etc/etcd/pki/server.key")


def test_etcd_three_healthy_members_one_leader(hosts):
    node = hosts[NODES[0]]
    health = node.run(ETCDCTL + " endpoint health --cluster -w json")
    assert health.rc == 0, health.stderr
    members = json.loads(health.stdout)
    assert len(members) == 3
    assert all(m["health"] for m in members), members

    status = node.run(ETCDCTL + " endpoint status --cluster -w json")
    assert status.rc == 0, status.stderr
    statuses = json.loads(status.stdout)
    leaders = {s["Status"]["leader"] for s in statuses}
    assert len(leaders) == 1, statuses
    leader_id = leaders.pop()
    assert [s["Status"]["header"]["member_id"] for s in statuses].count(leader_id) == 1


def test_etcd_speaks_only_tls_to_certificate_holders(hosts):
    node = hosts[NODES[0]]
    members = json.loads(node.run_expect([0], ETCDCTL + " member list -w json").stdout)["members"]
    urls = [u for m in members for u in m["peerURLs"] + m["clientURLs"]]
    assert urls and all(u.startswith("https://") for u in urls), urls
    # Without a client certificate, or in plain text, etcd answers nothing.
    no_cert = node.run("etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.crt "
                       "--dial-timeout=3s --command-timeout=5s get /service --prefix --keys-only")
    assert no_cert.rc != 0, no_cert.stdout
    plain = node.run("etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=3s --command-timeout=5s "
                     "get /service --prefix --keys-only")
    assert plain.rc != 0, plain.stdout
    # Patroni reaches etcd with its own client certificate.
    config = node.file("/etc/patroni/config.yml").content_string
    assert "protocol: https" in config and "cert: /etc/patroni/etcd-pki/client.crt" in config


def test_one_patroni_leader_two_streaming_replicas(cluster):
    assert cluster["healthy"], cluster["health_reasons"]
    roles = [m["role"] for m in cluster["members"]]
    assert roles.count("leader") == 1, cluster["members"]
    streaming = [m for m in cluster["members"] if m["role"] != "leader" and m["state"] == "streaming"]
    assert len(streaming) == 2, cluster["members"]
    assert sorted(m["name"] for m in cluster["members"]) == NODES


def test_same_system_identifier_everywhere(hosts):
    ids = {name: psql(h, "SELECT system_identifier FROM pg_control_system()").stdout.strip()
           for name, h in hosts.items()}
    assert all(ids.values()), ids
    assert len(set(ids.values())) == 1, ids


def test_data_checksums_on(hosts):
    for name, host in hosts.items():
        assert psql(host, "SHOW data_checksums").stdout.strip() == "on", name


def test_row_written_on_leader_is_read_on_replicas(leader, replicas):
    token = uuid.uuid4().hex
    psql(leader, "CREATE TABLE IF NOT EXISTS pgha_verify (token text PRIMARY KEY, at timestamptz DEFAULT now())")
    psql(leader, "INSERT INTO pgha_verify (token) VALUES ('{0}')".format(token))
    for replica in replicas:
        deadline = time.time() + 30
        found = ""
        while time.time() < deadline:
            found = psql(replica, "SELECT token FROM pgha_verify WHERE token = '{0}'".format(token),
                         check=False).stdout.strip()
            if found == token:
                break
            time.sleep(1)
        assert found == token, "row not replicated to " + replica.backend.get_hostname()


def test_replicas_refuse_writes(replicas):
    assert len(replicas) == 2
    for replica in replicas:
        assert psql(replica, "SELECT pg_is_in_recovery()").stdout.strip() == "t"
        write = psql(replica, "CREATE TABLE pgha_must_fail (id int)", check=False)
        assert write.rc != 0
        assert "read-only transaction" in write.stderr


def test_vector_extension_items_table_and_index_everywhere(hosts):
    for name, host in hosts.items():
        version = psql(host, "SELECT extversion FROM pg_extension WHERE extname = 'vector'", db=APP_DB).stdout.strip()
        assert version.startswith("0.8."), (name, version)
        columns = psql(host, "SELECT column_name || '|' || format_type(atttypid, atttypmod) "
                             "FROM information_schema.columns c JOIN pg_attribute a "
                             "ON a.attrelid = 'public.items'::regclass AND a.attname = c.column_name "
                             "WHERE c.table_schema = 'public' AND c.table_name = 'items' ORDER BY c.ordinal_position",
                       db=APP_DB).stdout.splitlines()
        assert columns == ["id|bigint", "name|text", "content|text", "embedding|vector(1536)",
                           "created_at|timestamp with time zone"], (name, columns)
        index = psql(host, "SELECT indexdef FROM pg_indexes WHERE tablename = 'items' "
                           "AND indexname = 'items_embedding_idx'", db=APP_DB).stdout.strip()
        # hnsw, not ivfflat: the table is empty when the index is built, and
        # ivfflat trains its centroids at build time (poor recall until a
        # REINDEX after loading); hnsw has no training step.
        assert "USING hnsw (embedding vector_cosine_ops)" in index, (name, index)
        assert "m='16'" in index and "ef_construction='64'" in index, (name, index)


def test_cosine_distance_query_runs_on_a_replica(replicas):
    vector = "[" + ",".join(["0.01"] * 1536) + "]"
    query = psql(replicas[0], "SELECT id FROM items ORDER BY embedding <=> '{0}' LIMIT 10".format(vector), db=APP_DB,
                 check=False)
    assert query.rc == 0, query.stderr


def test_no_postgresql_server_outside_patroni(hosts):
    """Patroni daemonizes the postmaster (it survives a Patroni restart), so
    its parent is init: what ties it to Patroni is patroni.service's cgroup."""
    for name, host in hosts.items():
        assert not host.service("postgresql@18-main").is_running, name
        pids = host.check_output("pgrep -x postgres || true").split()
        assert pids, name + ": no PostgreSQL process at all"
        for pid in pids:
            cgroup = host.run("cat /proc/%s/cgroup", pid)
            if cgroup.rc != 0:
                continue  # a short-lived backend that has already exited
            assert "/patroni.service" in cgroup.stdout, (name, pid, cgroup.stdout)
        postmasters = host.check_output("pgrep -x -P 1 postgres || true").split()
        assert len(postmasters) == 1, (name, postmasters)
        args = host.check_output("cat /proc/%s/cmdline", postmasters[0]).replace("\0", " ")
        # The production example's data directory (this scenario deploys it).
        assert "-D /var/lib/postgresql/18/main " in args, (name, args)
