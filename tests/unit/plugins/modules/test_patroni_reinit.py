# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pgha.cluster.plugins.modules import patroni_reinit as mod

from helpers import N3, FakeResponse, cluster

REBUILDING = cluster(pg_node_3={'state': 'creating replica', 'lag': 'unknown'})


def test_reinit_waits_for_streaming_again(api, run_module):
    api.cluster(cluster(), REBUILDING, REBUILDING, cluster())
    api.add('POST', N3 + '/reinitialize', FakeResponse(200, 'reinitialize started'))
    result, failed = run_module(mod, dict(member='pg-node-3', force=True))
    assert not failed, result
    assert result['changed'] is True and result['state'] == 'streaming' and result['message'] == 'reinitialize started'
    assert api.sent('POST')[0]['json'] == {'force': True}
    assert len(api.sent('GET', '/cluster')) == 4


def test_stale_streaming_state_is_not_trusted_at_once(api, run_module, clock):
    api.cluster(cluster())
    api.add('POST', N3 + '/reinitialize', FakeResponse(200, 'reinitialize started'))
    start = clock.now
    result, failed = run_module(mod, dict(member='pg-node-3'))
    assert not failed
    assert clock.now - start >= mod.SETTLE_SECONDS


def test_refuses_leader(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(member='pg-node-1'))
    assert failed and 'is the leader' in result['msg']
    assert not api.sent('POST')


def test_unknown_member(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(member='x'))
    assert failed and 'members are: pg-node-1, pg-node-2, pg-node-3' in result['msg']


def test_check_mode(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(member='pg-node-3'), check_mode=True)
    assert not failed and result['changed'] is True
    assert not api.sent('POST')


@pytest.mark.parametrize('status,reason', [
    (503, 'Cluster has no leader, can not reinitialize'),
    (503, 'reinitialize already in progress'),
    (403, 'Access is denied'),
])
def test_refusals(api, run_module, status, reason):
    api.cluster(cluster())
    api.add('POST', N3 + '/reinitialize', FakeResponse(status, reason))
    result, failed = run_module(mod, dict(member='pg-node-3'))
    assert failed and reason in result['msg'] and result['status'] == status and result['changed'] is False


def test_wait_timeout(api, run_module):
    api.cluster(cluster(), REBUILDING)
    api.add('POST', N3 + '/reinitialize', FakeResponse(200, 'reinitialize started'))
    result, failed = run_module(mod, dict(member='pg-node-3', wait_timeout=60))
    assert failed and "not streaming after 60s (state: creating replica)" in result['msg']


def test_wait_timeout_reports_no_change(api, run_module):
    api.cluster(cluster(), cluster(pg_node_3={'state': 'creating replica'}))
    api.add('POST', N3 + '/reinitialize', FakeResponse(200, 'reinitialize started'))
    result, failed = run_module(mod, dict(member='pg-node-3', wait_timeout=30))
    assert failed and result['changed'] is False and result['state'] == 'creating replica'
