"""The collection's Patroni modules against the real cluster.

Runs after test_default.py (pytest orders files by name), because the
switchover here changes which member leads.
"""
import os

import pytest
import testinfra

from labinfo import API_ARGS

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = ["pg-node-1", "pg-node-2", "pg-node-3"]


@pytest.fixture(scope="module")
def node():
    """Modules run on a cluster member, as the roles and drills run them."""
    return testinfra.get_host("ansible://pg-node-1?ansible_inventory=" + INVENTORY)


def run(node, module, args=""):
    return node.ansible(module, API_ARGS + " " + args, check=False)


def test_cluster_info_reports_a_healthy_cluster(node):
    info = run(node, "pgha.cluster.patroni_cluster_info", "expected_members=3")
    assert info["healthy"], info["health_reasons"]
    assert info["leader"] in NODES
    assert sorted(info["replicas"]) == sorted(set(NODES) - {info["leader"]})
    assert not info["changed"]


def test_switchover_to_a_named_replica_then_nothing_to_do(node):
    before = run(node, "pgha.cluster.patroni_cluster_info")
    candidate = sorted(before["replicas"])[0]

    first = run(node, "pgha.cluster.patroni_switchover", "candidate=" + candidate)
    assert first["changed"]
    assert first["previous_leader"] == before["leader"]
    assert first["leader"] == candidate

    second = run(node, "pgha.cluster.patroni_switchover", "candidate=" + candidate)
    assert not second["changed"]
    assert second["leader"] == candidate

    after = run(node, "pgha.cluster.patroni_cluster_info", "expected_members=3")
    assert after["leader"] == candidate
    assert after["healthy"], after["health_reasons"]


def test_unknown_candidate_names_the_members(node):
    # testinfra raises on a failed module with some ansible-core releases and
    # hands back the result with others: either way the message must name
    # the members that exist, and nothing may change.
    before = run(node, "pgha.cluster.patroni_cluster_info")
    try:
        result = run(node, "pgha.cluster.patroni_switchover", "candidate=no-such-node")
    except node.ansible.AnsibleException as refused:
        result = refused.result
    assert not result.get("changed")
    assert "no-such-node" in result["msg"]
    for name in NODES:
        assert name in result["msg"]
    assert run(node, "pgha.cluster.patroni_cluster_info")["leader"] == before["leader"]
