# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test doubles shared by the unit tests: canned Patroni documents, a URL-keyed fake of
requests.Session.request, a fake clock and a runner for a module's main().

Tests import them with `from helpers import ...`: conftest.py puts this directory on
sys.path. Fixtures stay in conftest.py."""

from __future__ import annotations

import copy
import json
import os
from unittest import mock

import pytest
import requests
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
except ImportError:  # pragma: no cover - older ansible-core
    import contextlib

    @contextlib.contextmanager
    def patch_module_args(args=None):
        payload = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()
        with mock.patch.object(basic, '_ANSIBLE_ARGS', payload):
            yield

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

N1 = 'http://10.0.0.11:8008'
N2 = 'http://10.0.0.12:8008'
N3 = 'http://10.0.0.13:8008'
SECRET = 's3cr3t-Pa55word'


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


def run_main(module, args, *patches):
    """Call module.main() with args; return (result, failed). Extra context managers are entered too."""
    def _exit(**kwargs):
        raise ModuleExit(kwargs, False)

    def _fail(**kwargs):
        raise ModuleExit(kwargs, True)

    with patch_module_args(dict(args)), \
            mock.patch.object(basic.AnsibleModule, 'exit_json', side_effect=_exit), \
            mock.patch.object(basic.AnsibleModule, 'fail_json', side_effect=_fail):
        for extra in patches:
            extra.start()
        try:
            with pytest.raises(ModuleExit) as exc:
                module.main()
        finally:
            for extra in patches:
                extra.stop()
    return exc.value.result, exc.value.failed


class FakeResponse:
    def __init__(self, status, body='', content_type=None):
        self.status_code = status
        if isinstance(body, (dict, list)):
            self.text = json.dumps(body)
            self.headers = {'Content-Type': content_type or 'application/json'}
        else:
            self.text = body
            self.headers = {'Content-Type': content_type or 'text/html'}
        self.reason = {200: 'OK', 202: 'Accepted', 401: 'Unauthorized'}.get(status, 'Error')


def member(name, role='replica', state='streaming', timeline=1, lag=0, base=None, **extra):
    base = base or {'pg-node-1': N1, 'pg-node-2': N2, 'pg-node-3': N3}.get(name, 'http://10.0.0.99:8008')
    m = dict(name=name, role=role, state=state, api_url=base + '/patroni', host=base.split('//')[1].split(':')[0],
             port=5432, timeline=timeline)
    if role not in ('leader', 'standby_leader'):
        m.update(lag=lag, receive_lag=lag, replay_lag=lag)
    m.update(extra)
    return m


def cluster(leader='pg-node-1', names=('pg-node-1', 'pg-node-2', 'pg-node-3'), **overrides):
    """A healthy three-member cluster; overrides maps member name -> dict of field changes."""
    members = []
    for name in names:
        if name == leader:
            m = member(name, role='leader', state='running')
        else:
            m = member(name)
        m.update(overrides.get(name.replace('-', '_'), {}))
        members.append(m)
    return {'members': members, 'scope': 'pgha'}


class FakeApi:
    """URL-keyed canned answers for requests.Session.request.

    Each (method, url) holds a list of answers used in turn, the last one repeating.
    An answer is a FakeResponse or an exception instance to raise.
    """

    def __init__(self):
        self.routes = {}
        self.calls = []

    def add(self, method, url, *answers):
        self.routes[(method.upper(), url)] = list(answers)

    def json(self, method, url, *bodies, **kw):
        self.add(method, url, *[FakeResponse(kw.get('status', 200), copy.deepcopy(b)) for b in bodies])

    def cluster(self, *clusters, **kw):
        self.json('GET', kw.get('url', N1) + '/cluster', *clusters)

    def __call__(self, session, method, url, **kwargs):
        self.calls.append(dict(method=method, url=url, json=kwargs.get('json'), kwargs=kwargs))
        answers = self.routes.get((method.upper(), url))
        if not answers:
            raise requests.exceptions.ConnectionError('no canned answer for %s %s' % (method, url))
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sent(self, method, path=None):
        return [c for c in self.calls if c['method'] == method and (path is None or c['url'].endswith(path))]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
