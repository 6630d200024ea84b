# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
import requests

from ansible_collections.pgha.cluster.plugins.modules import patroni_switchover as mod

from helpers import N1, N2, SECRET, FakeResponse, cluster

BEFORE = cluster(leader='pg-node-1')
AFTER = cluster(leader='pg-node-2')
SWITCHING = cluster(leader='pg-node-2', pg_node_1={'state': 'stopped'})


def ok_switchover(api, *after):
    api.cluster(BEFORE, *(after or (AFTER,)))
    api.add('POST', N1 + '/switchover', FakeResponse(200, 'Successfully switched over to "pg-node-2"'))


def test_switchover_to_candidate_waits_for_replicas(api, run_module):
    ok_switchover(api, SWITCHING, SWITCHING, AFTER)
    result, failed = run_module(mod, dict(candidate='pg-node-2', api_password=SECRET, api_username='u'), diff=True)
    assert not failed, result
    assert result['changed'] is True
    assert result['previous_leader'] == 'pg-node-1' and result['leader'] == 'pg-node-2'
    assert result['candidate'] == 'pg-node-2'
    assert result['message'] == 'Successfully switched over to "pg-node-2"'
    assert result['diff'] == {'before': {'leader': 'pg-node-1'}, 'after': {'leader': 'pg-node-2'}}
    post = api.sent('POST', '/switchover')
    assert len(post) == 1
    assert post[0]['json'] == {'leader': 'pg-node-1', 'candidate': 'pg-node-2'}
    assert post[0]['kwargs']['timeout'] >= 90
    assert len(api.sent('GET', '/cluster')) == 4


def test_best_replica_when_candidate_omitted(api, run_module):
    c = cluster(pg_node_2={'lag': 4096}, pg_node_3={'lag': 0})
    api.cluster(c, cluster(leader='pg-node-3'))
    api.add('POST', N1 + '/switchover', FakeResponse(200, 'Successfully switched over to "pg-node-3"'))
    result, failed = run_module(mod, {})
    assert not failed and result['candidate'] == 'pg-node-3' and result['leader'] == 'pg-node-3'


def test_no_healthy_replica(api, run_module):
    api.cluster(cluster(pg_node_2={'state': 'stopped'}, pg_node_3={'tags': {'nofailover': True}}))
    result, failed = run_module(mod, {})
    assert failed and result['msg'].startswith('no healthy replica to switch over to')
    assert not api.sent('POST')


def test_candidate_already_leader_is_noop(api, run_module):
    api.cluster(AFTER)
    result, failed = run_module(mod, dict(candidate='pg-node-2'), diff=True)
    assert not failed and result['changed'] is False and result['leader'] == 'pg-node-2'
    assert 'diff' not in result
    assert not api.sent('POST')


def test_check_mode(api, run_module):
    api.cluster(BEFORE)
    result, failed = run_module(mod, dict(candidate='pg-node-3'), check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['message'] == 'would switch over from pg-node-1 to pg-node-3'
    assert result['diff'] == {'before': {'leader': 'pg-node-1'}, 'after': {'leader': 'pg-node-3'}}
    assert not api.sent('POST')


def test_unknown_candidate_lists_members(api, run_module):
    api.cluster(BEFORE)
    result, failed = run_module(mod, dict(candidate='pg-node-9'))
    assert failed
    assert result['msg'] == 'candidate member pg-node-9 is not in the cluster; members are: pg-node-1, pg-node-2, pg-node-3'
    assert not api.sent('POST')


def test_leader_mismatch(api, run_module):
    api.cluster(BEFORE)
    result, failed = run_module(mod, dict(leader='pg-node-3', candidate='pg-node-2'))
    assert failed and 'expected pg-node-3, but pg-node-1 leads' in result['msg']
    assert not api.sent('POST')


def test_no_leader(api, run_module):
    api.cluster(cluster(leader=None))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert failed and 'patroni_failover' in result['msg']


@pytest.mark.parametrize('status,reason', [
    (400, 'Switchover could be performed only from a specific leader'),
    (400, "Can't schedule switchover in the paused state"),
    (412, 'no good candidates have been found'),
    (412, 'leader name does not match'),
    (412, 'candidate name does not match with sync_standby'),
    (412, 'Switchover is not possible: cluster is in maintenance mode'),
    (503, 'Switchover failed'),
    (503, 'Switchover status unknown'),
    (403, 'Access is denied'),
    (500, 'failed to write failover key into DCS'),
])
def test_patroni_refusals(api, run_module, status, reason):
    api.cluster(BEFORE)
    api.add('POST', N1 + '/switchover', FakeResponse(status, reason))
    result, failed = run_module(mod, dict(candidate='pg-node-2', api_username='patroni', api_password=SECRET))
    assert failed
    assert reason in result['msg'] and 'HTTP %d' % status in result['msg']
    assert result['status'] == status and result['patroni_message'] == reason
    assert result['previous_leader'] == 'pg-node-1'
    assert 'exception' not in result


def test_auth_refused_on_post(api, run_module):
    api.cluster(BEFORE)
    api.add('POST', N1 + '/switchover', FakeResponse(401, 'no auth header received'))
    result, failed = run_module(mod, dict(candidate='pg-node-2', api_username='patroni', api_password=SECRET))
    assert failed and result['status'] == 401
    assert 'check api_username/api_password' in result['msg']


def test_post_timeout_not_repeated_elsewhere(api, run_module):
    api.cluster(BEFORE)
    api.add('POST', N1 + '/switchover', requests.exceptions.ReadTimeout('read timeout'))
    api.add('POST', N2 + '/switchover', FakeResponse(200, 'ok'))
    result, failed = run_module(mod, dict(api_url=[N1, N2], candidate='pg-node-2'))
    assert failed and 'may still be carrying it out' in result['msg']
    assert len(api.sent('POST')) == 1


def test_scheduled(api, run_module):
    api.cluster(BEFORE)
    api.add('POST', N1 + '/switchover', FakeResponse(202, 'Switchover scheduled'))
    at = '2026-01-31T02:00:00+00:00'
    result, failed = run_module(mod, dict(candidate='pg-node-2', scheduled_at=at))
    assert not failed and result['changed'] is True
    assert result['scheduled_at'] == at and result['message'] == 'Switchover scheduled'
    assert result['leader'] == 'pg-node-1'
    assert api.sent('POST')[0]['json'] == {'leader': 'pg-node-1', 'candidate': 'pg-node-2', 'scheduled_at': at}


def test_scheduled_already_is_noop(api, run_module):
    c = cluster()
    c['scheduled_switchover'] = {'at': '2026-01-31T02:00:00+00:00', 'from': 'pg-node-1', 'to': 'pg-node-2'}
    api.cluster(c)
    result, failed = run_module(mod, dict(candidate='pg-node-2', scheduled_at='2026-01-31T02:00:00Z'))
    assert not failed and result['changed'] is False
    assert not api.sent('POST')


def test_wait_timeout_reports_state(api, run_module):
    ok_switchover(api, SWITCHING)
    result, failed = run_module(mod, dict(candidate='pg-node-2', wait_timeout=30))
    assert failed
    assert 'has not settled' in result['msg'] and 'pg-node-1=replica/stopped' in result['msg']


def test_no_wait_reports_actual_leader(api, run_module):
    ok_switchover(api, BEFORE)
    result, failed = run_module(mod, dict(candidate='pg-node-2', wait=False))
    assert not failed and result['changed'] is True and result['leader'] == 'pg-node-1'
    assert len(api.sent('GET', '/cluster')) == 2


def test_broken_replica_before_does_not_block_wait(api, run_module):
    before = cluster(pg_node_3={'state': 'stopped'})
    after = cluster(leader='pg-node-2', pg_node_3={'state': 'stopped'})
    api.cluster(before, after)
    api.add('POST', N1 + '/switchover', FakeResponse(200, 'Successfully switched over to "pg-node-2"'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert not failed and result['leader'] == 'pg-node-2'


def test_connection_lost_while_waiting_is_tolerated(api, run_module):
    api.add('GET', N1 + '/cluster', FakeResponse(200, BEFORE), requests.exceptions.ConnectionError('refused'), FakeResponse(200, AFTER))
    api.add('POST', N1 + '/switchover', FakeResponse(200, 'Successfully switched over to "pg-node-2"'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert not failed and result['leader'] == 'pg-node-2'


# --- leader and candidate together: the second run is a no-op (issue 14.5) ---

def test_leader_and_candidate_when_candidate_already_leads_is_noop(api, run_module):
    api.cluster(AFTER)
    result, failed = run_module(mod, dict(leader='pg-node-1', candidate='pg-node-2'), diff=True)
    assert not failed, result
    assert result['changed'] is False and result['leader'] == 'pg-node-2'
    assert 'already leads' in result['message']
    assert not api.sent('POST')


def test_leader_and_candidate_mismatch_still_refused(api, run_module):
    api.cluster(cluster(leader='pg-node-3'))
    result, failed = run_module(mod, dict(leader='pg-node-1', candidate='pg-node-2'))
    assert failed and 'expected pg-node-1, but pg-node-3 leads' in result['msg']
    assert not api.sent('POST')


# --- Patroni's 503 "status unknown": poll GET /cluster for the outcome ---

UNKNOWN = 'Switchover status unknown after 20 seconds; operation may still be in progress'


def test_status_unknown_polls_until_candidate_leads(api, run_module):
    api.cluster(BEFORE, BEFORE, BEFORE, SWITCHING, AFTER)
    api.add('POST', N1 + '/switchover', FakeResponse(503, UNKNOWN))
    result, failed = run_module(mod, dict(candidate='pg-node-2'), diff=True)
    assert not failed, result
    assert result['changed'] is True and result['leader'] == 'pg-node-2'
    assert result['diff']['after'] == {'leader': 'pg-node-2'}
    assert result['message'] == 'pg-node-2 leads; Patroni had answered: ' + UNKNOWN
    assert len(api.sent('POST')) == 1


def test_status_unknown_without_wait_still_learns_the_outcome(api, run_module):
    api.cluster(BEFORE, BEFORE, SWITCHING)
    api.add('POST', N1 + '/switchover', FakeResponse(503, UNKNOWN))
    result, failed = run_module(mod, dict(candidate='pg-node-2', wait=False))
    assert not failed, result
    assert result['changed'] is True and result['leader'] == 'pg-node-2'


def test_status_unknown_bounded_by_wait_timeout(api, run_module, clock):
    api.cluster(BEFORE)
    api.add('POST', N1 + '/switchover', FakeResponse(503, UNKNOWN))
    start = clock.now
    result, failed = run_module(mod, dict(candidate='pg-node-2', wait_timeout=30))
    assert failed
    assert result['changed'] is False and result['leader'] == 'pg-node-1'
    assert result['status'] == 503 and UNKNOWN in result['msg']
    assert 'pg-node-1 still leads after 30s' in result['msg']
    assert len(api.sent('GET', '/cluster')) > 2
    assert clock.now - start <= 30 + 2
    assert len(api.sent('POST')) == 1


def test_switchover_failed_is_not_polled(api, run_module):
    api.cluster(BEFORE)
    api.add('POST', N1 + '/switchover', FakeResponse(503, 'Switchover failed'))
    result, failed = run_module(mod, dict(candidate='pg-node-2'))
    assert failed and result['changed'] is False
    assert len(api.sent('GET', '/cluster')) == 1
