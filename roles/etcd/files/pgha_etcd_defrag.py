#!/usr/bin/python3
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Defragment this etcd member, and only this one, while every member is healthy.

Run by pgha-etcd-defrag.service, which each member's timer starts at the
member's own time (the etcd role staggers them). A member blocks its clients
while it defragments, so it never does while another member is unhealthy: the
cluster keeps its majority (and Patroni an answering member) all the time.

Compaction (etcd's auto-compaction) frees space inside the database file;
defragmentation gives it back to the file system. When etcd has raised the
NOSPACE alarm (every write refused), the alarm is cleared after the
defragmentation, and only when it freed space and the database is back under
its quota: etcd would raise it again at once otherwise. Other alarms (CORRUPT)
are never cleared here.

Exit status: 0 when defragmented, 1 when refused or failed (the unit fails,
so `systemctl --failed` and the journal tell the operator why).
"""
import argparse
import json
import re
import subprocess
import sys

# etcdctl's own default (5 s) is too short for a database of some GiB.
DEFRAG_TIMEOUT = '600s'
# How etcdctl 3.5 `endpoint health` reports a member that answers but has
# alarms raised (they are cluster-wide: every member reports them).
ALARM_ONLY = re.compile(r'^Active Alarm\(s\):( NOSPACE)+ ?$')


class Refused(Exception):
    """Not defragmenting, for the reason given."""


def etcdctl(runner, endpoint, *args, timeout=None):
    """Run etcdctl against the local member; return its stdout or raise Refused."""
    argv = ['etcdctl', '--endpoints=' + endpoint]
    if timeout:
        argv.append('--command-timeout=' + timeout)
    argv.extend(args)
    proc = runner(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise Refused('`%s` failed: %s' % (' '.join(args), (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def own_status(runner, endpoint):
    """Status of the local member: its id, database size, leader."""
    status = json.loads(etcdctl(runner, endpoint, 'endpoint', 'status', '-w', 'json'))[0]['Status']
    return {
        'id': status['header']['member_id'],
        'db_size': status['dbSize'],
        'leader': status.get('leader', 0),
    }


def unhealthy_members(members, health):
    """Names of members that do not answer as healthy.

    A member that answers but only reports the NOSPACE alarm counts as
    healthy: the alarm is the reason to defragment, not a reason to wait.
    A member without a client URL (added, never started) is unhealthy.
    """
    by_url = {h.get('endpoint'): h for h in health}
    bad = []
    for member in members:
        urls = member.get('clientURLs') or []
        answers = [by_url[u] for u in urls if u in by_url]
        ok = any(h.get('health') or ALARM_ONLY.match(h.get('error') or '') for h in answers)
        if not ok:
            bad.append(member.get('name') or str(member.get('ID')))
    return bad


def alarms(runner, endpoint):
    """Raised alarm types (NOSPACE, CORRUPT), from `alarm list`'s lines."""
    out = etcdctl(runner, endpoint, 'alarm', 'list')
    return re.findall(r'alarm:(\S+)', out)


def defrag(endpoint, quota_bytes, runner=subprocess.run, say=print):
    """One run; returns the exit status."""
    try:
        before = own_status(runner, endpoint)
        if not before['leader']:
            raise Refused('this member sees no leader')
        members = json.loads(etcdctl(runner, endpoint, 'member', 'list', '-w', 'json')).get('members', [])
        # `endpoint health` exits non-zero when a member is unhealthy but
        # still prints every answer, which is what is judged here.
        proc = runner(['etcdctl', '--endpoints=' + endpoint, 'endpoint', 'health', '--cluster', '-w', 'json'],
                      capture_output=True, text=True, check=False)
        try:
            health = json.loads(proc.stdout or '[]')
        except ValueError:
            health = []
        bad = unhealthy_members(members, health)
        if bad:
            raise Refused('member(s) %s not healthy: defragmenting now could leave etcd without a majority'
                          % ', '.join(bad))
        etcdctl(runner, endpoint, 'defrag', timeout=DEFRAG_TIMEOUT)
        after = own_status(runner, endpoint)
    except Refused as exc:
        say('not defragmenting: %s' % exc)
        return 1
    say('defragmented member %x: database %d -> %d bytes (quota %d)'
        % (before['id'], before['db_size'], after['db_size'], quota_bytes))
    try:
        raised = alarms(runner, endpoint)
        if not raised:
            return 0
        if set(raised) != {'NOSPACE'}:
            say('alarms %s raised: not clearing them, an operator must look' % ', '.join(sorted(set(raised))))
            return 1
        if after['db_size'] >= before['db_size'] or after['db_size'] >= quota_bytes:
            say('NOSPACE stays: the defragmentation freed no space below the quota; compact the history '
                'or raise the quota (etcd_quota_backend_bytes)')
            return 1
        etcdctl(runner, endpoint, 'alarm', 'disarm')
    except Refused as exc:
        say('alarms: %s' % exc)
        return 1
    say('NOSPACE cleared: space was freed')
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--endpoint', required=True, help="this member's client URL (never another's)")
    parser.add_argument('--quota-bytes', type=int, required=True, help="the member's backend quota")
    args = parser.parse_args(argv)
    return defrag(args.endpoint, args.quota_bytes)


if __name__ == '__main__':
    sys.exit(main())
