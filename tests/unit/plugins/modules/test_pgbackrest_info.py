# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbackrest_info: parsing of `pgbackrest info --output=json` (a report captured from
pgBackRest 2.60 in the backup scenario), the recovery window and the target checks.
The commands are never run: AnsibleModule.run_command is patched, answering `info` with
the captured report and `repo-ls` with a listing of the newest archived segment."""

from __future__ import annotations

import copy
import datetime
import json
import os
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible_collections.pgha.cluster.plugins.modules import pgbackrest_info as mod

from helpers import run_main

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'pgbackrest_info_full.json')) as f:
    REPORT = json.load(f)
# The captured full backup ended at 1795777421 (2026-11-27 11:03:41 UTC), 0/9000050.
BACKUP_END = datetime.datetime(2026, 11, 27, 11, 3, 41, tzinfo=datetime.timezone.utc)
NOW = BACKUP_END + datetime.timedelta(hours=1)
# The newest archived segment (000000010000000000000009) was pushed 45 minutes after the backup.
ARCHIVE_END = BACKUP_END + datetime.timedelta(minutes=45)


def listing(end=ARCHIVE_END, segment='000000010000000000000009'):
    """`pgbackrest repo-ls --output=json` of the newest segment's directory, filtered to that segment."""
    return json.dumps({'.': {'type': 'path'},
                       segment + '-3f5a1b2c3d4e5f60718293a4b5c6d7e8f9012345.gz':
                           {'type': 'file', 'size': 24312, 'time': int(end.timestamp())}})


class FixedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


def run(args, stdout=None, rc=0, stderr='', ls=None, ls_rc=0):
    stdout = json.dumps(REPORT) if stdout is None else stdout
    ls = listing() if ls is None else ls

    def answer(argv, **kwargs):
        if argv[-1] == 'info':
            return rc, stdout, stderr
        return ls_rc, ls, 'ERROR: [055]: unable to list' if ls_rc else ''
    cmd = mock.MagicMock(side_effect=answer)
    result, failed = run_main(mod, args, mock.patch.object(basic.AnsibleModule, 'run_command', cmd),
                              mock.patch.object(mod.datetime, 'datetime', FixedDatetime))
    return result, failed, cmd


def test_report_table_and_window():
    result, failed, cmd = run(dict(stanza='pgha'))
    assert not failed, result
    assert result['changed'] is False
    info_call = cmd.call_args_list[0][0][0]
    assert info_call[-2:] == ['--output=json', 'info']
    assert '--stanza=pgha' in info_call
    assert result['status']['code'] == 0
    (row,) = result['backups']
    assert row['label'] == '20261127-110337F' and row['type'] == 'full'
    assert row['lsn_stop'] == '0/9000050' and row['stop'] == BACKUP_END.isoformat()
    assert result['table'][0].startswith('label') and '20261127-110337F' in result['table'][1]
    assert result['window']['time_start'] == BACKUP_END.isoformat()
    assert result['window']['lsn_start'] == '0/9000050'
    # 000000010000000000000009 ends at 0/A000000.
    assert result['window']['lsn_end'] == '0/A000000'
    assert result['window']['archive_min'] == '000000010000000000000001'
    # The window ends where the archive ends (the newest segment's push), not at "now".
    assert result['window']['time_end'] == ARCHIVE_END.isoformat()
    assert result['window']['time_end_source'] == 'archive'
    assert result['target_error'] is None
    ls_call = cmd.call_args_list[1][0][0]
    assert ls_call[-2:] == ['repo-ls', 'archive/pgha/18-1/0000000100000000']
    assert '--filter=^000000010000000000000009' in ls_call and '--repo=1' in ls_call


@pytest.mark.parametrize('target', ['2026-11-27 11:30:00+00', '2026-11-27T11:30:00Z', '2026-11-27 12:30:00+01:00',
                                    '2026-11-27 11:03:41+00'])
def test_time_inside_window_passes(target):
    result, failed, dummy = run(dict(stanza='pgha', target_time=target))
    assert not failed, result


@pytest.mark.parametrize('target, words', [
    ('2999-01-01 00:00:00+00', 'is in the future'),
    ('2026-11-27 11:00:00+00', 'before the end of the oldest backup'),
    ('2026-11-27 11:30:00', 'no UTC offset'),
    ('yesterday', 'target_time'),
    # After the last archived WAL but before now: recovery would end before reaching it.
    ('2026-11-27 11:50:00+00', 'after the end of the archive'),
])
def test_time_outside_window_is_reported_with_window(target, words):
    # An _info module reports; the caller (restore_check.yml) asserts on target_error.
    result, failed, dummy = run(dict(stanza='pgha', target_time=target))
    assert not failed, result
    assert words in result['target_error']
    if 'offset' not in words and target != 'yesterday':
        assert 'recovery window: 2026-11-27T11:03:41+00:00 .. 2026-11-27T11:48:41+00:00' in result['target_error']


def test_time_after_the_archive_end_is_refused():
    """The archive stopped 15 minutes after the backup: a target 30 minutes after it cannot be reached."""
    result, failed, dummy = run(dict(stanza='pgha', target_time='2026-11-27 11:33:41+00'),
                                ls=listing(BACKUP_END + datetime.timedelta(minutes=15)))
    assert not failed, result
    assert 'target_time 2026-11-27T11:33:41+00:00 is after the end of the archive' in result['target_error']
    assert result['window']['time_end'] == '2026-11-27T11:18:41+00:00'


def test_archive_end_is_never_before_the_newest_backup():
    """A segment pushed before the newest backup stopped: the backup's stop is the end."""
    result, failed, dummy = run(dict(stanza='pgha', target_time='2026-11-27 11:03:41+00'),
                                ls=listing(BACKUP_END - datetime.timedelta(minutes=5)))
    assert not failed and result['target_error'] is None
    assert result['window']['time_end'] == BACKUP_END.isoformat()
    assert result['window']['time_end_source'] == 'backup'


def test_newest_segment_gone_from_the_listing_falls_back_to_the_backup_stop():
    result, failed, dummy = run(dict(stanza='pgha', target_time='2026-11-27 11:30:00+00'),
                                ls=json.dumps({'.': {'type': 'path'}}))
    assert not failed, result
    assert result['window']['time_end'] == BACKUP_END.isoformat()
    assert 'after the end of the archive' in result['target_error']


def test_repo_ls_failure_is_a_real_error():
    result, failed, dummy = run(dict(stanza='pgha'), ls='', ls_rc=55)
    assert failed and 'pgbackrest repo-ls failed (rc 55)' in result['msg']


@pytest.mark.parametrize('lsn, ok', [('0/9000050', True), ('0/9FFFFFF', True), ('0/A000000', True),
                                     ('0/8000000', False), ('0/A000001', False), ('1/0', False), ('zz', False)])
def test_lsn_window(lsn, ok):
    result, failed, dummy = run(dict(stanza='pgha', target_lsn=lsn))
    assert not failed, result
    assert (result['target_error'] is None) is ok, result


def test_no_backup_is_reported_when_required():
    report = copy.deepcopy(REPORT)
    report[0]['backup'] = []
    report[0]['status'] = {'code': 2, 'message': 'no valid backups'}
    result, failed, dummy = run(dict(stanza='pgha', require_backup=True), stdout=json.dumps(report))
    assert not failed and 'no usable backup' in result['target_error']
    # Without the requirement it is only a report.
    result, failed, dummy = run(dict(stanza='pgha'), stdout=json.dumps(report))
    assert not failed and result['backups'] == [] and result['window']['time_start'] is None
    assert result['target_error'] is None


def test_missing_stanza_and_command_errors():
    result, failed, dummy = run(dict(stanza='other'))
    assert failed and 'not in the pgbackrest info report' in result['msg']
    result, failed, dummy = run(dict(stanza='pgha'), rc=28, stdout='', stderr='ERROR: [028]: unable to connect')
    assert failed and 'rc 28' in result['msg'] and 'unable to connect' in result['msg']
    result, failed, dummy = run(dict(stanza='pgha'), stdout='not json')
    assert failed and 'no JSON' in result['msg']


def test_segment_and_lsn_helpers():
    assert mod.segment_end_lsn('000000010000000000000009') == 0xA000000
    assert mod.segment_end_lsn('0000000200000001000000FF') == (2 << 32)
    assert mod.int_to_lsn(mod.lsn_to_int('16/B374D848')) == '16/B374D848'
