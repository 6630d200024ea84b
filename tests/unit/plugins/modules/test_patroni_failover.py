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


# --- a failed call does not report a change ---

def test_refused_post_reports_no_change(api, run_module):
    api.cluster(NO_LEADER)
    api.add('POST', N1 + '/failover', FakeResponse(500, 'failed to write failover key into DCS'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'), diff=True)
    assert failed and result['changed'] is False
    assert result['leader'] is None and 'diff' not in result


def test_wait_timeout_reports_no_change(api, run_module):
    api.cluster(NO_LEADER)
    api.add('POST', N1 + '/failover', FakeResponse(200, 'Successfully failed over'))
    result, failed = run_module(mod, dict(candidate='pg-node-2', wait_timeout=10))
    assert failed and result['changed'] is False and result['leader'] is None


# --- a leader that is starting, restarting or stopping is still a leader ---

@pytest.mark.parametrize('state', ['starting', 'restarting', 'stopping', 'stop failed', 'running', 'streaming'])
def test_refuses_while_leader_is_alive(api, run_module, state):
    api.cluster(cluster(pg_node_1={'state': state}))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert failed and result['changed'] is False
    assert "leader pg-node-1 is in state '%s'" % state in result['msg']
    assert 'force=true' in result['msg']
    assert not api.sent('POST')


@pytest.mark.parametrize('state', ['stopped', 'crashed', 'start failed', 'restart failed'])
def test_dead_leader_allows_failover(api, run_module, state):
    api.cluster(cluster(pg_node_1={'state': state}), PROMOTED)
    api.add('POST', N1 + '/failover', FakeResponse(200, 'Successfully failed over to "pg-node-2"'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert not failed, result
    assert result['leader'] == 'pg-node-2'


# --- the candidate's lag and synchronous state are checked before promoting ---

def refused(api, run_module, before, args, *words):
    """The module refuses with each of `words` in its message, the override named, nothing posted."""
    api.cluster(before)
    result, failed = run_module(mod, args)
    assert failed and result['changed'] is False, result
    for word in words + ('force=true',):
        assert word in result['msg'], result['msg']
    assert not api.sent('POST')


def promotes(api, run_module, before, args, leader='pg-node-2'):
    api.cluster(before, cluster(leader=leader, pg_node_1={'state': 'stopped'}))
    api.add('POST', N1 + '/failover', FakeResponse(200, 'Successfully failed over to "%s"' % leader))
    result, failed = run_module(mod, args)
    assert not failed, result
    assert result['changed'] is True and result['leader'] == leader


def dead_leader(**overrides):
    return cluster(leader=None, pg_node_1={'state': 'stopped'}, **overrides)


LAGGING = dead_leader(pg_node_2={'lag': 2 * 1024 * 1024})
UNKNOWN_LAG = dead_leader(pg_node_2={'lag': 'unknown'})
SYNC = dead_leader(pg_node_3={'role': 'sync_standby'})


def test_refuses_lagging_candidate(api, run_module):
    refused(api, run_module, LAGGING, dict(candidate='pg-node-2'),
            'pg-node-2 lags 2097152 bytes', 'maximum_lag_bytes=1048576')


def test_lag_limit_can_be_raised(api, run_module):
    promotes(api, run_module, LAGGING, dict(candidate='pg-node-2', maximum_lag_bytes=4 * 1024 * 1024))


def test_refuses_unknown_lag_unless_forced(api, run_module):
    refused(api, run_module, UNKNOWN_LAG, dict(candidate='pg-node-2'), 'lag of pg-node-2 is unknown')
    promotes(api, run_module, UNKNOWN_LAG, dict(candidate='pg-node-2', force=True))


def test_synchronous_mode_needs_a_sync_standby(api, run_module):
    refused(api, run_module, SYNC, dict(candidate='pg-node-2'), 'not a synchronous standby', 'pg-node-3')
    promotes(api, run_module, SYNC, dict(candidate='pg-node-3'), leader='pg-node-3')


# --- Patroni's 503 "status unknown": poll GET /cluster for the outcome ---

def test_status_unknown_polls_until_candidate_leads(api, run_module):
    api.cluster(NO_LEADER, NO_LEADER, NO_LEADER, PROMOTED)
    api.add('POST', N1 + '/failover',
            FakeResponse(503, 'Failover status unknown after 20 seconds; operation may still be in progress'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert not failed, result
    assert result['changed'] is True and result['leader'] == 'pg-node-2'
