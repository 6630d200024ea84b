# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/pki run by ansible-playbook on the controller (connection local, files under tmp).

Issue, install, idempotence, renewal inside the window, renewal on a name change,
key modes, the CA guard and the report. Real community.crypto, no mocks.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys

import pytest

from helpers import REPO

PLAYBOOK = r'''
- hosts: localhost
  gather_facts: false
  handlers:
    - name: Note the handler
      ansible.builtin.copy:
        dest: "{{ pki }}/notified"
        content: "yes"
        mode: "0600"
      listen: svc changed
  tasks:
    - name: Issue and install
      ansible.builtin.include_role:
        name: pgha.cluster.pki
        tasks_from: cert
      vars:
        pki_name: svc
        pki_ca_cert: "{{ ca_dir }}/ca.crt"
        pki_ca_key: "{{ ca_dir }}/ca.key"
        pki_ca_create: true
        pki_cert: "{{ pki }}/leaf/host.crt"
        pki_key: "{{ pki }}/leaf/host.key"
        pki_subject_alt_name: "{{ sans }}"
        pki_usages: [server]
        pki_owner: "{{ owner }}"
        pki_group: "{{ group }}"
        pki_dest_dir: "{{ dest }}"
        pki_keep_ca: true
        pki_notify: svc changed

    - name: Read the installed certificate
      community.crypto.x509_certificate_info:
        path: "{{ dest }}/svc.crt"
      register: info

    - name: Read the key's mode
      ansible.builtin.stat:
        path: "{{ dest }}/svc.key"
      register: key

    - name: Report
      ansible.builtin.include_role:
        name: pgha.cluster.pki
        tasks_from: report
      vars:
        pki_report_hosts: [localhost]

    - name: Save what the test checks
      ansible.builtin.copy:
        dest: "{{ pki }}/result.json"
        mode: "0600"
        content: "{{ {'changed': pki_cert_changed, 'serial': info.serial_number, 'not_after': info.not_after,
                      'san': info.subject_alt_name, 'eku': info.extended_key_usage, 'key_mode': key.stat.mode,
                      'report': pki_report, 'warnings': pki_report_warnings} | to_json }}"
'''


def _playbook():
    return shutil.which('ansible-playbook', path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))


@pytest.mark.skipif(not _playbook(), reason='ansible-playbook not installed')
def test_pki_issues_installs_renews_and_reports(tmp_path):
    (tmp_path / 'play.yml').write_text(PLAYBOOK)
    (tmp_path / 'ansible.cfg').write_text('[defaults]\n')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.collections'),
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_CONFIG=str(tmp_path / 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    base = {'pki': str(tmp_path), 'ca_dir': str(tmp_path / 'ca'), 'dest': str(tmp_path / 'host'),
            'owner': pwd.getpwuid(os.getuid()).pw_name, 'group': grp.getgrgid(os.getgid()).gr_name,
            'sans': ['DNS:one'], '__pki_index_dir': str(tmp_path / 'index')}

    def run(expect_ok=True, **extra):
        notified = tmp_path / 'notified'
        if notified.exists():
            notified.unlink()
        args = dict(base, **extra)
        proc = subprocess.run([_playbook(), '-i', 'localhost,', '-c', 'local', str(tmp_path / 'play.yml'),
                               '-e', json.dumps(args)], env=env, cwd=str(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if not expect_ok:
            assert proc.returncode != 0
            return proc.stdout
        assert proc.returncode == 0, proc.stdout
        # No key material in the output, ever.
        assert 'PRIVATE KEY' not in proc.stdout
        result = json.loads((tmp_path / 'result.json').read_text())
        result['notified'] = notified.exists()
        return result

    first = run()
    assert first['changed'] and first['notified']
    assert first['key_mode'] == '0600'
    assert first['san'] == ['DNS:one'] and first['eku'] == ['TLS Web Server Authentication']
    assert [(r['name'], r['days_left']) for r in first['report']] == [('svc', 396), ('svc-ca', 3649)]
    assert first['warnings'] == []

    again = run()
    assert not again['changed'] and not again['notified'] and again['serial'] == first['serial']

    # Forced renewal with a short validity: the certificate is now inside the window...
    short = run(pki_force_renew=True, pki_cert_days=20)
    assert short['changed'] and short['notified'] and short['serial'] != first['serial']
    assert short['warnings'] == ['localhost svc expires in 19 days']

    # ...so a plain run renews it (issue 13.5 / review H3: this is the run that never renewed).
    renewed = run()
    assert renewed['changed'] and renewed['notified'] and renewed['serial'] != short['serial']
    assert renewed['report'][0]['days_left'] == 396 and renewed['warnings'] == []

    # A name change re-issues too.
    renamed = run(sans=['DNS:one', 'DNS:two'])
    assert renamed['changed'] and renamed['serial'] != renewed['serial'] and renamed['san'] == ['DNS:one', 'DNS:two']

    # A window as long as the validity would renew on every run: refused.
    out = run(expect_ok=False, pki_renew_before_days=400)
    assert 'pki_renew_before_days (400) must be less than' in out

    # Another CA may not replace the one a member-by-member service trusts.
    out = run(expect_ok=False, ca_dir=str(tmp_path / 'other-ca'), sans=['DNS:one', 'DNS:two'])
    assert 'holds another CA than' in out
