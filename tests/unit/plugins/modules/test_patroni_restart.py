# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
import requests

from ansible_collections.pgha.cluster.plugins.modules import patroni_restart as mod

from helpers import N1, N2, N3, FakeResponse, cluster

ALL_PENDING = cluster(pg_node_1={'pending_restart': True}, pg_node_2={'pending_restart': True},
                      pg_node_3={'pending_restart': True})


def restart_ok(api, *urls):
    for url in urls:
        api.add('POST', url + '/restart', FakeResponse(200, 'restarted successfully'))


def test_restarts_pending_replicas_first_leader_last(api, run_module):
    api.cluster(ALL_PENDING, cluster())
    restart_ok(api, N1, N2, N3)
    result, failed = run_module(mod, {})
    assert not failed, result
    assert result['changed'] is True
    assert result['restarted'] == ['pg-node-2', 'pg-node-3', 'pg-node-1']
    assert [c['url'] for c in api.sent('POST')] == [N2 + '/restart', N3 + '/restart', N1 + '/restart']
    assert api.sent('POST')[0]['json'] == {'restart_pending': True}
    assert result['pending_restart'] == []


def test_only_pending_members(api, run_module):
    api.cluster(cluster(pg_node_3={'pending_restart': True}), cluster())
    restart_ok(api, N3)
    result, failed = run_module(mod, {})
    assert not failed and result['restarted'] == ['pg-node-3']


def test_nothing_pending_is_noop(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, {})
    assert not failed and result['changed'] is False and result['restarted'] == []
    assert not api.sent('POST')


def test_force_one_member(api, run_module):
    api.cluster(cluster())
    restart_ok(api, N2)
    result, failed = run_module(mod, dict(member='pg-node-2', force=True))
    assert not failed and result['restarted'] == ['pg-node-2']
    assert api.sent('POST')[0]['json'] == {}


def test_member_api_urls_override(api, run_module):
    api.cluster(cluster())
    api.add('POST', 'http://127.0.0.1:28008/restart', FakeResponse(200, 'restarted successfully'))
    result, failed = run_module(mod, dict(member='pg-node-2', force=True,
                                          member_api_urls={'pg-node-2': 'http://127.0.0.1:28008'}))
    assert not failed and api.sent('POST')[0]['url'] == 'http://127.0.0.1:28008/restart'


def test_unknown_member(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(member='pg-node-7'))
    assert failed and result['msg'] == 'member pg-node-7 is not in the cluster; members are: pg-node-1, pg-node-2, pg-node-3'


def test_check_mode(api, run_module):
    api.cluster(ALL_PENDING)
    result, failed = run_module(mod, {}, check_mode=True)
    assert not failed and result['changed'] is True and result['restarted'] == ['pg-node-2', 'pg-node-3', 'pg-node-1']
    assert not api.sent('POST')


def test_waits_until_member_streams(api, run_module, clock):
    starting = cluster(pg_node_2={'state': 'starting', 'pending_restart': True})
    api.cluster(cluster(pg_node_2={'pending_restart': True}), starting, starting, cluster())
    restart_ok(api, N2)
    result, failed = run_module(mod, {})
    assert not failed and len(api.sent('GET', '/cluster')) == 5


def test_wait_timeout(api, run_module):
    api.cluster(cluster(pg_node_2={'pending_restart': True}), cluster(pg_node_2={'state': 'crashed'}))
    restart_ok(api, N2)
    result, failed = run_module(mod, dict(wait_timeout=20))
    assert failed and 'pg-node-2 was restarted but is not running/streaming after 20s' in result['msg']
    assert result['restarted'] == ['pg-node-2']


@pytest.mark.parametrize('status,reason', [
    (503, 'restart failed'),
    (503, 'postgres is still starting'),
    (409, 'Cluster is in maintenance mode'),
    (400, 'PostgreSQL version should be in the first.major.minor format'),
])
def test_refusals_stop_the_rolling_restart(api, run_module, status, reason):
    api.cluster(ALL_PENDING)
    api.add('POST', N2 + '/restart', FakeResponse(status, reason))
    result, failed = run_module(mod, {})
    assert failed and reason in result['msg'] and result['status'] == status
    assert len(api.sent('POST')) == 1


def test_member_unreachable(api, run_module):
    api.cluster(ALL_PENDING)
    api.add('POST', N2 + '/restart', requests.exceptions.ConnectionError('Connection refused'))
    result, failed = run_module(mod, {})
    assert failed and N2 in result['msg'] and 'Connection refused' in result['msg']
    assert [c['url'] for c in api.sent('POST')] == [N2 + '/restart']


# --- a failed call does not report a change ---

def test_refused_restart_reports_no_change(api, run_module):
    api.cluster(ALL_PENDING)
    api.add('POST', N2 + '/restart', FakeResponse(503, 'restart failed'))
    result, failed = run_module(mod, {})
    assert failed and result['changed'] is False and result['restarted'] == []


def test_wait_timeout_reports_no_change(api, run_module):
    api.cluster(cluster(pg_node_2={'pending_restart': True}), cluster(pg_node_2={'state': 'crashed'}))
    restart_ok(api, N2)
    result, failed = run_module(mod, dict(wait_timeout=20))
    assert failed and result['changed'] is False


# --- a stale 'streaming' in /cluster is not taken for a finished restart ---

def patroni_status(start, state='running', replication_state='streaming'):
    return dict(state=state, role='replica', postmaster_start_time=start, replication_state=replication_state)


def test_waits_for_the_new_postmaster_before_moving_on(api, run_module):
    two = cluster(pg_node_2={'pending_restart': True}, pg_node_3={'pending_restart': True})
    # /cluster keeps showing both replicas streaming: the DCS has not caught up yet.
    api.cluster(two)
    old = '2026-12-01 10:00:00.000+00:00'
    new = '2026-12-01 12:00:00.000+00:00'
    api.json('GET', N2 + '/patroni', patroni_status(old), patroni_status(old), patroni_status(new, 'starting', None),
             patroni_status(new, 'running', 'stopped'), patroni_status(new))
    api.json('GET', N3 + '/patroni', patroni_status(old), patroni_status(new))
    restart_ok(api, N2, N3)
    result, failed = run_module(mod, {})
    assert not failed, result
    urls = [c['url'] for c in api.calls]
    # Every read of pg-node-2's own status comes before pg-node-3 is restarted.
    assert urls.count(N2 + '/patroni') == 5
    assert max(i for i, u in enumerate(urls) if u == N2 + '/patroni') < urls.index(N3 + '/restart')


def test_new_postmaster_that_never_streams_times_out(api, run_module):
    api.cluster(cluster(pg_node_2={'pending_restart': True}))
    api.json('GET', N2 + '/patroni', patroni_status('t0'), patroni_status('t1', 'running', 'stopped'))
    restart_ok(api, N2)
    result, failed = run_module(mod, dict(wait_timeout=20))
    assert failed and 'pg-node-2 was restarted but is not running/streaming after 20s' in result['msg']


def test_without_member_status_a_stale_state_gets_time_to_settle(api, run_module, clock):
    two = cluster(pg_node_2={'pending_restart': True}, pg_node_3={'pending_restart': True})
    api.cluster(two)
    restart_ok(api, N2, N3)
    times = {}
    real_call = api.__class__.__call__

    def spy(self, session, method, url, **kwargs):
        if method == 'POST':
            times[url] = clock.now
        return real_call(self, session, method, url, **kwargs)

    api.__class__ = type('SpyApi', (api.__class__,), {'__call__': spy})
    result, failed = run_module(mod, {})
    assert not failed, result
    assert times[N3 + '/restart'] - times[N2 + '/restart'] >= mod.SETTLE_SECONDS
