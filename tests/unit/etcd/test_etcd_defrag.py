# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The etcd defragmentation script's decisions: refuse unless every member is
healthy, defragment only the local member, clear NOSPACE only when space was
freed. etcdctl is replaced by a table of canned answers."""
import importlib.util
import json
import os
import subprocess

_PATH = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'etcd', 'files', 'pgha_etcd_defrag.py')
_spec = importlib.util.spec_from_file_location('pgha_etcd_defrag', _PATH)
d = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(d)

LOCAL = 'https://127.0.0.1:2379'
URLS = {'a': 'https://10.0.0.1:2379', 'b': 'https://10.0.0.2:2379', 'c': 'https://10.0.0.3:2379'}
QUOTA = 100 * 2 ** 20


def status(db_size, leader=7):
    return json.dumps([{'Endpoint': LOCAL, 'Status': {'header': {'member_id': 1}, 'dbSize': db_size, 'leader': leader}}])


def members():
    return json.dumps({'members': [{'ID': i, 'name': n, 'clientURLs': [u]} for i, (n, u) in enumerate(URLS.items())]})


def health(**errors):
    return json.dumps([{'endpoint': u, 'health': n not in errors, 'error': errors.get(n, '')} for n, u in URLS.items()])


class Etcdctl:
    """Answers by subcommand; records every call. `sizes` are the dbSize of successive status calls."""

    def __init__(self, sizes=(90 * 2 ** 20, 10 * 2 ** 20), health_out=None, alarms='', defrag_rc=0, leader=7):
        self.sizes = list(sizes)
        self.leader = leader
        self.health_out = health_out if health_out is not None else health()
        self.alarms = alarms
        self.defrag_rc = defrag_rc
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        assert argv[0] == 'etcdctl' and argv[1] == '--endpoints=' + LOCAL, argv
        args = [a for a in argv[2:] if not a.startswith('--command-timeout')]
        out, rc = '', 0
        if args[:2] == ['endpoint', 'status']:
            out = status(self.sizes.pop(0), self.leader)
        elif args[:2] == ['member', 'list']:
            out = members()
        elif args[:2] == ['endpoint', 'health']:
            out = self.health_out
            rc = 0 if all(h['health'] for h in json.loads(out or '[]')) else 1
        elif args == ['defrag']:
            rc = self.defrag_rc
        elif args == ['alarm', 'list']:
            out = self.alarms
        elif args == ['alarm', 'disarm']:
            out = self.alarms
        else:
            raise AssertionError('unexpected etcdctl call %s' % argv)
        return subprocess.CompletedProcess(argv, rc, out, 'boom' if rc else '')

    def ran(self, *args):
        return [c for c in self.calls if [a for a in c[2:] if not a.startswith('--command-timeout')] == list(args)]


def run(ctl):
    said = []
    rc = d.defrag(LOCAL, QUOTA, runner=ctl, say=said.append)
    return rc, ' '.join(said)


def test_healthy_cluster_defragments_the_local_member_only():
    ctl = Etcdctl()
    rc, said = run(ctl)
    assert rc == 0
    assert len(ctl.ran('defrag')) == 1
    # Never `defrag --cluster`: only the endpoint given, the local member.
    assert not [c for c in ctl.calls if 'defrag' in c and '--cluster' in c]
    assert '94371840 -> 10485760' in said
    assert not ctl.ran('alarm', 'disarm')


def test_unhealthy_peer_refuses_before_defrag():
    ctl = Etcdctl(health_out=health(b='context deadline exceeded'))
    rc, said = run(ctl)
    assert rc == 1
    assert not ctl.ran('defrag')
    assert 'b not healthy' in said


def test_missing_answer_counts_as_unhealthy():
    # etcdctl printed nothing for member c (say it has no client URL yet).
    answers = [h for h in json.loads(health()) if h['endpoint'] != URLS['c']]
    ctl = Etcdctl(health_out=json.dumps(answers))
    rc, said = run(ctl)
    assert rc == 1 and not ctl.ran('defrag')
    assert 'c not healthy' in said


def test_no_health_output_refuses():
    ctl = Etcdctl(health_out='')
    rc, _ = run(ctl)
    assert rc == 1 and not ctl.ran('defrag')


def test_no_leader_refuses():
    ctl = Etcdctl(leader=0)
    rc, said = run(ctl)
    assert rc == 1 and not ctl.ran('defrag')
    assert 'no leader' in said


def test_nospace_everywhere_is_no_reason_to_wait_and_is_cleared_when_space_was_freed():
    nospace = 'Active Alarm(s): NOSPACE '
    ctl = Etcdctl(health_out=health(a=nospace, b=nospace, c=nospace), alarms='memberID:2 alarm:NOSPACE \n')
    rc, said = run(ctl)
    assert rc == 0
    assert len(ctl.ran('defrag')) == 1
    assert len(ctl.ran('alarm', 'disarm')) == 1
    assert 'NOSPACE cleared' in said


def test_nospace_stays_when_nothing_was_freed():
    ctl = Etcdctl(sizes=(QUOTA, QUOTA), alarms='memberID:2 alarm:NOSPACE \n')
    rc, said = run(ctl)
    assert rc == 1
    assert len(ctl.ran('defrag')) == 1
    assert not ctl.ran('alarm', 'disarm')
    assert 'NOSPACE stays' in said


def test_nospace_stays_when_still_over_the_quota():
    ctl = Etcdctl(sizes=(QUOTA + 3 * 2 ** 20, QUOTA + 2 ** 20), alarms='memberID:2 alarm:NOSPACE \n')
    rc, _ = run(ctl)
    assert rc == 1 and not ctl.ran('alarm', 'disarm')


def test_corrupt_is_never_cleared():
    ctl = Etcdctl(alarms='memberID:2 alarm:NOSPACE \nmemberID:3 alarm:CORRUPT \n')
    rc, said = run(ctl)
    assert rc == 1
    assert not ctl.ran('alarm', 'disarm')
    assert 'CORRUPT' in said


def test_corrupt_member_is_not_healthy():
    ctl = Etcdctl(health_out=health(c='Active Alarm(s): CORRUPT '))
    rc, _ = run(ctl)
    assert rc == 1 and not ctl.ran('defrag')


def test_failed_defrag_fails_the_unit():
    ctl = Etcdctl(defrag_rc=1)
    rc, said = run(ctl)
    assert rc == 1
    assert 'defrag' in said and 'boom' in said


def test_defrag_gets_a_long_timeout():
    ctl = Etcdctl()
    run(ctl)
    defrag_call = [c for c in ctl.calls if 'defrag' in c][0]
    assert '--command-timeout=' + d.DEFRAG_TIMEOUT in defrag_call
