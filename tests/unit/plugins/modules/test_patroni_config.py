# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pgha.cluster.plugins.modules import patroni_config as mod

from helpers import N1, FakeResponse, cluster

CURRENT = {
    'ttl': 30,
    'loop_wait': 10,
    'postgresql': {
        'use_pg_rewind': True,
        'parameters': {'max_connections': 100, 'shared_buffers': '256MB', 'hot_standby': 'on', 'old': 'x'},
    },
}


@pytest.mark.parametrize('wanted,patch', [
    ({'ttl': 30}, {}),
    ({'ttl': '30'}, {}),
    ({'postgresql': {'parameters': {'max_connections': '100', 'shared_buffers': '256MB', 'hot_standby': True}}}, {}),
    ({'postgresql': {'use_pg_rewind': 'yes'}}, {}),
    ({'postgresql': {'parameters': {'shared_buffers': '1GB'}}}, {'postgresql': {'parameters': {'shared_buffers': '1GB'}}}),
    ({'postgresql': {'parameters': {'old': None, 'gone': None}}}, {'postgresql': {'parameters': {'old': None}}}),
    ({'ttl': None}, {'ttl': None}),
    ({'synchronous_mode': True}, {'synchronous_mode': True}),
    ({'standby_cluster': {'host': 'h', 'port': None}}, {'standby_cluster': {'host': 'h'}}),
    ({'standby_cluster': None}, {}),
    ({'slots': {'s1': {'type': 'physical'}}}, {'slots': {'s1': {'type': 'physical'}}}),
])
def test_compute_patch(wanted, patch):
    assert mod.compute_patch(CURRENT, wanted) == patch


def test_apply_patch():
    after = mod.apply_patch(CURRENT, {'ttl': None, 'postgresql': {'parameters': {'work_mem': '8MB', 'old': None}}})
    assert 'ttl' not in after
    assert after['postgresql']['parameters'] == {'max_connections': 100, 'shared_buffers': '256MB',
                                                 'hot_standby': 'on', 'work_mem': '8MB'}
    assert CURRENT['postgresql']['parameters']['old'] == 'x'


def test_normalize_lists():
    assert mod.normalize([1, 'on', 'x ']) == ['1', 'true', 'x']


def test_change_applied(api, run_module):
    new = mod.apply_patch(CURRENT, {'postgresql': {'parameters': {'shared_buffers': '1GB'}}})
    api.json('GET', N1 + '/config', CURRENT)
    api.json('PATCH', N1 + '/config', new)
    api.cluster(cluster(), cluster(pg_node_1={'pending_restart': True}, pg_node_2={'pending_restart': True}))
    result, failed = run_module(mod, dict(config={'postgresql': {'parameters': {'shared_buffers': '1GB'}}},
                                          pending_restart_wait=20), diff=True)
    assert not failed, result
    assert result['changed'] is True
    assert result['patch'] == {'postgresql': {'parameters': {'shared_buffers': '1GB'}}}
    assert api.sent('PATCH')[0]['json'] == result['patch']
    assert result['pending_restart'] == ['pg-node-1', 'pg-node-2']
    assert result['diff']['before'] == CURRENT and result['diff']['after'] == new
    assert result['config'] == new


def test_no_change_is_idempotent(api, run_module):
    api.json('GET', N1 + '/config', CURRENT)
    api.cluster(cluster(pg_node_3={'pending_restart': True}))
    result, failed = run_module(mod, dict(config={'loop_wait': '10', 'postgresql': {'parameters': {'max_connections': 100}}}),
                                diff=True)
    assert not failed and result['changed'] is False and result['patch'] == {}
    assert 'diff' not in result
    assert result['pending_restart'] == ['pg-node-3']
    assert not api.sent('PATCH')


def test_check_mode(api, run_module):
    api.json('GET', N1 + '/config', CURRENT)
    api.cluster(cluster())
    result, failed = run_module(mod, dict(config={'ttl': 40}), check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['diff']['after']['ttl'] == 40 and result['diff']['before']['ttl'] == 30
    assert not api.sent('PATCH')


def test_pending_restart_wait_gives_up_quietly(api, run_module):
    api.json('GET', N1 + '/config', CURRENT)
    api.json('PATCH', N1 + '/config', dict(CURRENT, ttl=40))
    api.cluster(cluster())
    result, failed = run_module(mod, dict(config={'ttl': 40}, pending_restart_wait=5))
    assert not failed and result['pending_restart'] == []
    assert len(api.sent('GET', '/cluster')) == 6


@pytest.mark.parametrize('status,reason', [
    (400, 'Invalid JSON'),
    (401, 'no auth header received'),
    (403, 'Access is denied'),
    (409, 'Config version mismatch'),
    (503, 'failed to apply config change'),
])
def test_patch_refused(api, run_module, status, reason):
    api.json('GET', N1 + '/config', CURRENT)
    api.add('PATCH', N1 + '/config', FakeResponse(status, reason))
    result, failed = run_module(mod, dict(config={'ttl': 40}))
    assert failed and result['status'] == status


def test_config_invalid_json(api, run_module):
    api.add('GET', N1 + '/config', FakeResponse(200, '{"ttl": ', content_type='application/json'))
    result, failed = run_module(mod, dict(config={'ttl': 40}))
    assert failed and 'invalid JSON' in result['msg']
