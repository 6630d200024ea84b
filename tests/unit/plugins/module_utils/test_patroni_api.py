# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
import requests

from ansible_collections.pgha.cluster.plugins.module_utils import _patroni_api as pa

from helpers import N1, N2, N3, SECRET, FakeResponse, cluster, member


def client(*endpoints, **kw):
    return pa.PatroniClient(list(endpoints) or [N1], **kw)


def test_get_json(api):
    api.cluster(cluster())
    c = client(N1).fetch_cluster()
    assert pa.leader_name(c) == 'pg-node-1'
    assert api.calls[0]['kwargs']['timeout'] == 10
    assert api.calls[0]['kwargs']['verify'] is True


def test_connection_refused_then_next_endpoint(api):
    api.add('GET', N1 + '/cluster', requests.exceptions.ConnectionError('[Errno 111] Connection refused'))
    api.cluster(cluster(), url=N2)
    c = client(N1, N2)
    assert pa.leader_name(c.fetch_cluster()) == 'pg-node-1'
    assert c.last_endpoint == N2
    assert [x['url'] for x in api.calls] == [N1 + '/cluster', N2 + '/cluster']


def test_all_endpoints_fail_lists_each(api):
    api.add('GET', N1 + '/cluster', requests.exceptions.ConnectionError('[Errno 111] Connection refused'))
    api.add('GET', N2 + '/cluster', requests.exceptions.ConnectTimeout('connect timeout'))
    api.add('GET', N3 + '/cluster', requests.exceptions.ReadTimeout('read timeout'))
    with pytest.raises(pa.PatroniConnectionError) as e:
        client(N1, N2, N3, timeout=3).get('/cluster')
    msg = str(e.value)
    assert N1 + ': connection failed: [Errno 111] Connection refused' in msg
    assert N2 + ': connection timed out after 3s' in msg
    assert N3 + ': timed out after 3s' in msg
    assert len(e.value.errors) == 3


def test_tls_error_moves_on(api):
    api.add('GET', N1 + '/cluster', requests.exceptions.SSLError('certificate verify failed'))
    api.cluster(cluster(), url=N2)
    assert client(N1, N2).fetch_cluster()['members']


def test_post_read_timeout_is_not_retried(api):
    api.add('POST', N1 + '/switchover', requests.exceptions.ReadTimeout('read timeout'))
    api.add('POST', N2 + '/switchover', FakeResponse(200, 'Successfully switched over'))
    with pytest.raises(pa.PatroniConnectionError) as e:
        client(N1, N2).post('/switchover', {'leader': 'a'})
    assert 'may still be carrying it out' in str(e.value)
    assert len(api.calls) == 1


def test_explicit_endpoint_is_the_only_one_tried(api):
    api.add('POST', N2 + '/restart', requests.exceptions.ConnectionError('refused'))
    with pytest.raises(pa.PatroniConnectionError):
        client(N1, N3).post('/restart', {}, endpoint=N2)
    assert [x['url'] for x in api.calls] == [N2 + '/restart']


@pytest.mark.parametrize('status,body,expected', [
    (400, 'Switchover could be performed only from a specific leader', 'HTTP 400: Switchover could be performed'),
    (403, 'Access is denied', 'HTTP 403: Access is denied'),
    (412, 'no good candidates have been found', 'HTTP 412: no good candidates have been found'),
    (503, 'Switchover status unknown', 'HTTP 503: Switchover status unknown'),
    (500, {'message': 'boom'}, 'HTTP 500: boom'),
])
def test_http_errors_carry_status_and_body(api, status, body, expected):
    api.add('POST', N1 + '/switchover', FakeResponse(status, body))
    with pytest.raises(pa.PatroniApiError) as e:
        client(N1, N2).post('/switchover', {})
    assert expected in str(e.value)
    assert e.value.status == status
    assert e.value.endpoint == N1
    assert len(api.calls) == 1, 'HTTP errors must not be retried on another member'


def test_401_message(api):
    api.add('GET', N1 + '/config', FakeResponse(401, 'no auth header received'))
    with pytest.raises(pa.PatroniApiError) as e:
        client(N1, username='patroni', password=SECRET).get('/config')
    assert str(e.value).startswith(pa.AUTH_REFUSED_MSG)
    assert e.value.status == 401
    assert SECRET not in str(e.value)
    assert api.calls[0]['kwargs']['auth'] == ('patroni', SECRET)


def test_invalid_json(api):
    api.add('GET', N1 + '/cluster', FakeResponse(200, '<html>proxy error</html>', content_type='application/json'))
    with pytest.raises(pa.PatroniApiError) as e:
        client().get('/cluster')
    assert 'invalid JSON' in str(e.value)
    assert '<html>proxy error' in str(e.value)


def test_invalid_json_on_text_endpoint_returns_text(api):
    api.add('POST', N1 + '/restart', FakeResponse(200, 'restarted successfully'))
    assert client().post('/restart', {}) == 'restarted successfully'


def test_status_returned_for_scheduled(api):
    # request() hands back the status with the body: no side-channel attribute to read afterwards.
    api.add('POST', N1 + '/switchover', FakeResponse(202, 'Switchover scheduled'))
    c = client()
    assert c.request('POST', '/switchover', {}) == (202, 'Switchover scheduled')
    assert not hasattr(c, 'last_status')


def test_tls_options(api):
    api.cluster(cluster())
    client(N1, ca_path='/ca.pem', client_cert='/c.pem', client_key='/k.pem').get('/cluster')
    kw = api.calls[0]['kwargs']
    assert kw['verify'] == '/ca.pem'
    assert kw['cert'] == ('/c.pem', '/k.pem')
    client(N1, validate_certs=False).get('/cluster')
    assert api.calls[1]['kwargs']['verify'] is False


def test_password_in_url_is_scrubbed(api):
    url = 'http://patroni:%s@10.0.0.11:8008' % SECRET
    api.add('GET', url + '/cluster', requests.exceptions.ConnectionError('failed for %s/cluster' % url))
    with pytest.raises(pa.PatroniConnectionError) as e:
        client(url, password=SECRET).get('/cluster')
    assert SECRET not in str(e.value)
    assert SECRET not in repr(e.value.errors)


def test_empty_endpoints():
    with pytest.raises(ValueError):
        pa.PatroniClient([' '])


def test_redact_url():
    assert pa.redact_url('https://u:p@h:8008/x') == 'https://h:8008/x'
    assert pa.redact_url(N1) == N1


def test_member_base_url():
    m = member('pg-node-2')
    assert pa.member_base_url(m) == N2
    assert pa.member_base_url(m, {'pg-node-2': 'http://127.0.0.1:28008/'}) == 'http://127.0.0.1:28008'


def test_pick_best_replica_lowest_lag():
    c = cluster(pg_node_2={'lag': 5000}, pg_node_3={'lag': 10})
    assert pa.pick_best_replica(c)['name'] == 'pg-node-3'


def test_pick_best_replica_priority_breaks_tie():
    c = cluster(pg_node_2={'tags': {'failover_priority': 1}}, pg_node_3={'tags': {'failover_priority': 5}})
    assert pa.pick_best_replica(c)['name'] == 'pg-node-3'


def test_pick_best_replica_skips_ineligible():
    c = cluster(pg_node_2={'tags': {'nofailover': True}}, pg_node_3={'state': 'starting'})
    assert pa.pick_best_replica(c) is None
    c = cluster(pg_node_2={'tags': {'failover_priority': 0}}, pg_node_3={'lag': 'unknown'})
    assert pa.pick_best_replica(c)['name'] == 'pg-node-3'
    c = cluster(pg_node_2={'lag': 10 ** 9}, pg_node_3={'timeline': 7})
    assert pa.pick_best_replica(c, max_lag_bytes=1024) is None


def test_pick_best_replica_prefers_sync_standby():
    c = cluster(pg_node_2={'lag': 100, 'role': 'sync_standby'})
    assert pa.pick_best_replica(c)['name'] == 'pg-node-2'


def test_health_ok():
    assert pa.cluster_health(cluster(), expected_members=3) == (True, [])


def test_health_reasons():
    c = cluster(pg_node_2={'state': 'stopped'}, pg_node_3={'lag': 10 ** 9, 'timeline': 2})
    healthy, reasons = pa.cluster_health(c, max_lag_bytes=1024, expected_members=4)
    assert not healthy
    assert "member pg-node-2 is in state 'stopped', expected 'streaming'" in reasons
    assert 'member pg-node-3 lags 1000000000 bytes behind the leader (max_lag_bytes=1024)' in reasons
    assert 'member pg-node-3 is on timeline 2, leader pg-node-1 on timeline 1' in reasons
    assert 'cluster has 3 members, expected 4' in reasons


def test_health_no_leader():
    healthy, reasons = pa.cluster_health(cluster(leader=None))
    assert reasons == ['no leader in the cluster']


def test_wait_until_times_out(clock):
    calls = []

    def never():
        calls.append(clock.now)
        raise pa.PatroniConnectionError('down')

    value, error = pa.wait_until(never, 10, interval=2)
    assert value is None and str(error) == 'down'
    assert len(calls) == 6


def test_wait_until_returns_value():
    seq = iter([None, None, 'done'])
    assert pa.wait_until(lambda: next(seq), 30) == ('done', None)

