# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.pgha.cluster.plugins.modules import patroni_maintenance as mod

from helpers import N1, FakeResponse, cluster


def paused():
    c = cluster()
    c['pause'] = True
    return c


def test_pause(api, run_module):
    api.cluster(cluster(), cluster(), paused())
    api.json('PATCH', N1 + '/config', {'pause': True, 'ttl': 30})
    result, failed = run_module(mod, dict(state='paused'), diff=True)
    assert not failed and result['changed'] is True and result['paused'] is True
    assert result['diff'] == {'before': {'paused': False}, 'after': {'paused': True}}
    assert api.sent('PATCH')[0]['json'] == {'pause': True}


def test_resume(api, run_module):
    api.cluster(paused(), cluster())
    api.json('PATCH', N1 + '/config', {'pause': False})
    result, failed = run_module(mod, dict(state='resumed'))
    assert not failed and result['changed'] is True and result['paused'] is False
    assert api.sent('PATCH')[0]['json'] == {'pause': False}


def test_idempotent(api, run_module):
    api.cluster(paused())
    result, failed = run_module(mod, dict(state='paused'))
    assert not failed and result['changed'] is False
    assert not api.sent('PATCH')
    api.cluster(cluster())
    result, failed = run_module(mod, dict(state='resumed'))
    assert result['changed'] is False


def test_check_mode(api, run_module):
    api.cluster(cluster())
    result, failed = run_module(mod, dict(state='paused'), check_mode=True)
    assert not failed and result['changed'] is True
    assert not api.sent('PATCH')


def test_wait_timeout(api, run_module):
    api.cluster(cluster())
    api.json('PATCH', N1 + '/config', {'pause': True})
    result, failed = run_module(mod, dict(state='paused', wait_timeout=5))
    assert failed and 'does not report it after 5s' in result['msg']


def test_patch_refused(api, run_module):
    api.cluster(cluster())
    api.add('PATCH', N1 + '/config', FakeResponse(403, 'Access is denied'))
    result, failed = run_module(mod, dict(state='paused'))
    assert failed and result['status'] == 403 and 'Access is denied' in result['msg']


# --- a failed call reports neither a change nor the requested state (issue 14.5) ---

def test_wrong_password_reports_the_real_state(api, run_module):
    api.cluster(cluster())
    api.add('PATCH', N1 + '/config', FakeResponse(401, 'no auth header received'))
    result, failed = run_module(mod, dict(state='paused'), diff=True)
    assert failed and result['status'] == 401
    assert result['changed'] is False and result['paused'] is False
    assert 'check api_username/api_password' in result['msg']
    assert result.get('message') != 'cluster paused'
    assert 'diff' not in result


def test_wait_timeout_reports_the_observed_state(api, run_module):
    api.cluster(cluster())
    api.json('PATCH', N1 + '/config', {'pause': True})
    result, failed = run_module(mod, dict(state='paused', wait_timeout=5))
    assert failed and result['changed'] is False and result['paused'] is False
