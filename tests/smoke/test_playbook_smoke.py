# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules run by ansible-playbook against a small fake Patroni on 127.0.0.1.

An integration test, not a unit test: scripts/unit.sh runs it through pytest.ini's testpaths.

The other tests call main() with requests mocked; this one goes through Ansible's
real module packaging, argument handling, no_log masking and HTTP on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = 's3cr3t-Pa55word'

PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/pgha.cluster.patroni:
      api_url: ["http://127.0.0.1:1", "{{ url }}"]
      api_username: patroni
      api_password: "{{ password }}"
      timeout: 5
  tasks:
    - pgha.cluster.patroni_cluster_info:
        expected_members: 2
      register: info
    - ansible.builtin.assert:
        that: [info.healthy, info.leader == 'n1', not info.changed]

    - pgha.cluster.patroni_switchover:
        candidate: n2
      register: sw
    - pgha.cluster.patroni_switchover:
        candidate: n2
      register: sw2
    - ansible.builtin.assert:
        that: [sw.changed, sw.leader == 'n2', sw.previous_leader == 'n1', not sw2.changed]

    - pgha.cluster.patroni_config:
        config: {postgresql: {parameters: {max_connections: "200"}}}
      register: cfg
    - pgha.cluster.patroni_config:
        config: {postgresql: {parameters: {max_connections: 200}}}
      register: cfg2
    - ansible.builtin.assert:
        that:
          - cfg.changed
          - not cfg2.changed
          - cfg.pending_restart == ['n1', 'n2']

    - pgha.cluster.patroni_restart:
        member_api_urls: {n1: "{{ url }}", n2: "{{ url }}"}
      register: rs
    - pgha.cluster.patroni_restart:
      register: rs2
    - ansible.builtin.assert:
        that:
          - rs.restarted == ['n1', 'n2']
          - not rs2.changed

    - pgha.cluster.patroni_maintenance:
        state: paused
      register: mt
    - pgha.cluster.patroni_maintenance:
        state: paused
      register: mt2
    - ansible.builtin.assert:
        that: [mt.changed, not mt2.changed]

    - pgha.cluster.patroni_cluster_info:
        api_password: wrong
      register: denied
      ignore_errors: true
    - ansible.builtin.assert:
        that: [denied.failed, "'check api_username/api_password' in denied.msg"]
'''


class FakePatroni:
    def __init__(self):
        self.leader = 'n1'
        self.config = {'ttl': 30, 'loop_wait': 10, 'postgresql': {'parameters': {'max_connections': 100}}}
        self.pending = set()
        self.restarts = 0
        self.lock = threading.Lock()

    def cluster(self, url):
        members = []
        for name in ('n1', 'n2'):
            lead = name == self.leader
            m = {'name': name, 'role': 'leader' if lead else 'replica', 'state': 'running' if lead else 'streaming',
                 'api_url': url + '/patroni', 'host': '127.0.0.1', 'port': 5432, 'timeline': 2}
            if not lead:
                m['lag'] = 0
            if name in self.pending:
                m['pending_restart'] = True
            members.append(m)
        c = {'members': members, 'scope': 'smoke'}
        if self.config.get('pause'):
            c['pause'] = True
        return c


def make_handler(state):
    good = 'Basic ' + base64.b64encode(('patroni:' + SECRET).encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body) if isinstance(body, (dict, list)) else body
            self.send_response(status)
            self.send_header('Content-Type', 'application/json' if isinstance(body, (dict, list)) else 'text/html')
            self.send_header('Content-Length', str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        def body(self):
            n = int(self.headers.get('Content-Length') or 0)
            return json.loads(self.rfile.read(n) or b'{}')

        def authorized(self):
            if self.headers.get('Authorization') != good:
                self.reply(401, 'no auth header received')
                return False
            return True

        def do_GET(self):
            if not self.authorized():
                return
            url = 'http://%s:%s' % self.server.server_address
            with state.lock:
                if self.path == '/cluster':
                    return self.reply(200, state.cluster(url))
                if self.path == '/config':
                    return self.reply(200, state.config)
                if self.path == '/patroni':
                    # patroni_restart waits for a new postmaster_start_time after each restart.
                    return self.reply(200, {'state': 'running', 'role': 'replica', 'replication_state': 'streaming',
                                            'postmaster_start_time': '2026-12-01 10:00:%02d+00:00' % state.restarts})
            self.reply(404, 'not found')

        def do_PATCH(self):
            if not self.authorized():
                return
            patch = self.body()
            with state.lock:
                params = (patch.get('postgresql') or {}).get('parameters') or {}
                if 'max_connections' in params:
                    state.pending = {'n1', 'n2'}
                for k, v in patch.items():
                    if isinstance(v, dict):
                        for k2, v2 in v.items():
                            state.config.setdefault(k, {}).setdefault(k2, {}).update(v2)
                    else:
                        state.config[k] = v
                self.reply(200, state.config)

        def do_POST(self):
            if not self.authorized():
                return
            body = self.body()
            with state.lock:
                if self.path == '/switchover':
                    if body.get('leader') != state.leader:
                        return self.reply(412, 'leader name does not match')
                    state.leader = body['candidate']
                    return self.reply(200, 'Successfully switched over to "%s"' % body['candidate'])
                if self.path == '/restart':
                    # Both fake members share one URL: restart clears one pending member per call.
                    if state.pending:
                        state.pending.discard(sorted(state.pending)[0])
                    state.restarts += 1
                    return self.reply(200, 'restarted successfully')
            self.reply(404, 'not found')

    return Handler


@pytest.mark.skipif(not shutil.which('ansible-playbook', path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', '')),
                    reason='ansible-playbook not installed')
def test_modules_through_ansible_playbook(tmp_path):
    state = FakePatroni()
    server = HTTPServer(('127.0.0.1', 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = 'http://127.0.0.1:%d' % server.server_address[1]
        (tmp_path / 'play.yml').write_text(PLAYBOOK)
        (tmp_path / 'ansible.cfg').write_text('[defaults]\n')
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.collections'),
                   ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_CONFIG=str(tmp_path / 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
        playbook = shutil.which('ansible-playbook', path=os.path.dirname(sys.executable) + os.pathsep + env['PATH'])
        proc = subprocess.run([playbook, '-i', 'localhost,', '-c', 'local', '-v', str(tmp_path / 'play.yml'),
                               '-e', json.dumps({'url': url, 'password': SECRET})],
                              env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
        assert SECRET not in output
        assert state.leader == 'n2' and state.config.get('pause') is True
    finally:
        server.shutdown()
        server.server_close()
