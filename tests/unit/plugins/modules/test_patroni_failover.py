# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pgha.cluster.plugins.modules import patroni_failover as mod

from helpers import N1, FakeResponse, cluster

NO_LEADER = cluster(leader=None, pg_node_1={'state': 'stopped'})
PROMOTED = cluster(leader='pg-node-2', pg_node_1={'state': 'stopped'})


def test_failover_without_leader(api, run_module):
    api.cluster(NO_LEADER, NO_LEADER, PROMOTED)
    api.add('POST', N1 + '/failover', FakeResponse(200, 'Successfully failed over to "pg-node-2"'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'), diff=True)
    assert not failed, result
    assert result['changed'] is True and result['previous_leader'] is None and result['leader'] == 'pg-node-2'
    assert result['diff'] == {'before': {'leader': None}, 'after': {'leader': 'pg-node-2'}}
    assert api.sent('POST')[0]['json'] == {'candidate': 'pg-node-2'}


def test_refuses_with_healthy_leader(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert failed and 'use pgha.cluster.patroni_switchover' in result['msg'] and 'pg-node-1' in result['msg']
    assert not api.sent('POST')


def test_force_with_healthy_leader(api, run_module):
    api.cluster(cluster(), PROMOTED)
    api.add('POST', N1 + '/failover', FakeResponse(200, 'Successfully failed over to "pg-node-2"'))
    result, failed = run_module(mod, dict(candidate='pg-node-2', force=True))
    assert not failed and result['leader'] == 'pg-node-2' and result['previous_leader'] == 'pg-node-1'


def test_candidate_already_leads(api, run_module):
    api.cluster(PROMOTED)
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert not failed and result['changed'] is False
    assert not api.sent('POST')


def test_check_mode(api, run_module):
    api.cluster(NO_LEADER)
    result, failed = run_module(mod, dict(candidate='pg-node-3'), check_mode=True)
    assert not failed and result['changed'] is True and result['message'] == 'would fail over to pg-node-3'
    assert not api.sent('POST')


def test_unknown_candidate(api, run_module):
    api.cluster(NO_LEADER)
    result, failed = run_module(mod, dict(candidate='nope'))
    assert failed and 'members are: pg-node-1, pg-node-2, pg-node-3' in result['msg']


@pytest.mark.parametrize('status,reason', [
    (400, 'Failover could be performed only to a specific candidate'),
    (412, 'candidate name does not match with sync_standby'),
    (412, 'Failover is not possible: cluster is in maintenance mode'),
    (503, 'Failover failed'),
    (503, 'Failover status unknown'),
])
def test_refusals(api, run_module, status, reason):
    api.cluster(NO_LEADER)
    api.add('POST', N1 + '/failover', FakeResponse(status, reason))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert failed and reason in result['msg'] and result['status'] == status


def test_wait_timeout(api, run_module):
    api.cluster(NO_LEADER)
    api.add('POST', N1 + '/failover', FakeResponse(200, 'Successfully failed over'))
    result, failed = run_module(mod, dict(candidate='pg-node-2', wait_timeout=10))
    assert failed and 'does not lead after 10s' in result['msg']
