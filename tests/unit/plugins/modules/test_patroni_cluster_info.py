# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import requests

from ansible_collections.pgha.cluster.plugins.modules import patroni_cluster_info as mod

from helpers import N1, N2, SECRET, FakeResponse, cluster


def test_healthy_cluster(api, run_module):
    c = cluster(pg_node_2={'role': 'sync_standby', 'pending_restart': True})
    c['scheduled_switchover'] = {'at': '2026-01-31T02:00:00+00:00', 'from': 'pg-node-1', 'to': 'pg-node-3'}
    api.cluster(c)
    result, failed = run_module(mod, dict(expected_members=3), check_mode=True)
    assert not failed and result['changed'] is False
    assert result['leader'] == 'pg-node-1'
    assert result['replicas'] == ['pg-node-2', 'pg-node-3']
    assert result['sync_standbys'] == ['pg-node-2']
    assert result['paused'] is False
    assert result['healthy'] is True and result['health_reasons'] == []
    assert result['scheduled_switchover']['to'] == 'pg-node-3'
    m2 = result['members'][1]
    assert m2['pending_restart'] is True and m2['lag'] == 0 and m2['api_url'] == N2 + '/patroni'
    assert result['members'][0]['lag'] is None
    assert set(m2) == {'name', 'role', 'state', 'timeline', 'lag', 'host', 'port', 'api_url', 'tags', 'pending_restart'}
    assert 'config' not in result and 'history' not in result


def test_unhealthy_and_paused(api, run_module):
    c = cluster(leader=None, pg_node_3={'state': 'crashed'})
    c['pause'] = True
    api.cluster(c)
    result, failed = run_module(mod, dict(expected_members=4))
    assert not failed
    assert result['healthy'] is False and result['paused'] is True and result['leader'] is None
    assert 'no leader in the cluster' in result['health_reasons']
    assert "member pg-node-3 is in state 'crashed', expected 'streaming'" in result['health_reasons']
    assert 'cluster has 3 members, expected 4' in result['health_reasons']


def test_lag_threshold(api, run_module):
    api.cluster(cluster(pg_node_2={'lag': 2048}))
    result, dummy = run_module(mod, dict(max_lag_bytes=1024))
    assert result['health_reasons'] == ['member pg-node-2 lags 2048 bytes behind the leader (max_lag_bytes=1024)']
    result, dummy = run_module(mod, {})
    assert result['healthy'] is True


def test_config_and_history(api, run_module):
    api.cluster(cluster())
    api.json('GET', N1 + '/config', {'ttl': 30, 'loop_wait': 10})
    api.json('GET', N1 + '/history', [[1, 25623960, 'no recovery target specified', '2026-01-01T10:00:00+00:00', 'pg-node-1']])
    result, failed = run_module(mod, dict(include_config=True, include_history=True))
    assert result['config'] == {'ttl': 30, 'loop_wait': 10}
    assert result['history'][0][0] == 1


def test_endpoint_failover(api, run_module):
    api.add('GET', N1 + '/cluster', requests.exceptions.ConnectionError('Connection refused'))
    api.cluster(cluster(), url=N2)
    result, failed = run_module(mod, dict(api_url=[N1, N2]))
    assert not failed and result['leader'] == 'pg-node-1'


def test_all_endpoints_down(api, run_module):
    api.add('GET', N1 + '/cluster', requests.exceptions.ConnectionError('Connection refused'))
    api.add('GET', N2 + '/cluster', requests.exceptions.ConnectTimeout('timeout'))
    result, failed = run_module(mod, dict(api_url=[N1, N2], api_username='patroni', api_password=SECRET))
    assert failed
    assert N1 + ': connection failed: Connection refused' in result['msg']
    assert N2 + ': connection timed out after 10s' in result['msg']
    assert [e['endpoint'] for e in result['endpoint_errors']] == [N1, N2]


def test_auth_refused(api, run_module):
    api.add('GET', N1 + '/cluster', FakeResponse(401, 'no auth header received'))
    result, failed = run_module(mod, dict(api_username='patroni', api_password=SECRET))
    assert failed and result['status'] == 401
    assert 'authentication refused by Patroni REST API (check api_username/api_password)' in result['msg']


def test_invalid_json(api, run_module):
    api.add('GET', N1 + '/cluster', FakeResponse(200, 'not json', content_type='application/json'))
    result, failed = run_module(mod, {})
    assert failed and 'invalid JSON' in result['msg']
    assert 'Traceback' not in result['msg']


def test_alias_endpoints(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(endpoints=[N1]))
    assert not failed
