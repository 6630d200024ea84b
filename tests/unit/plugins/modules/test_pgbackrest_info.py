# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbackrest_info: parsing of `pgbackrest info --output=json` (a report captured from
pgBackRest 2.60 in the backup scenario) and the recovery-window checks. The command
is never run: AnsibleModule.run_command is patched."""

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


class FixedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


def run(args, stdout=None, rc=0, stderr=''):
    stdout = json.dumps(REPORT) if stdout is None else stdout
    cmd = mock.MagicMock(return_value=(rc, stdout, stderr))
    result, failed = run_main(mod, args, mock.patch.object(basic.AnsibleModule, 'run_command', cmd),
                              mock.patch.object(mod.datetime, 'datetime', FixedDatetime))
    return result, failed, cmd


def test_report_table_and_window():
    result, failed, cmd = run(dict(stanza='pgha'))
    assert not failed, result
    assert result['changed'] is False
    assert cmd.call_args[0][0][-2:] == ['--output=json', 'info']
    assert '--stanza=pgha' in cmd.call_args[0][0]
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
])
def test_time_outside_window_fails_with_window(target, words):
    result, failed, dummy = run(dict(stanza='pgha', target_time=target))
    assert failed
    assert words in result['msg']
    if 'offset' not in words and target != 'yesterday':
        assert 'recovery window: 2026-11-27T11:03:41+00:00' in result['msg']


@pytest.mark.parametrize('lsn, ok', [('0/9000050', True), ('0/9FFFFFF', True), ('0/A000000', True),
                                     ('0/8000000', False), ('0/A000001', False), ('1/0', False), ('zz', False)])
def test_lsn_window(lsn, ok):
    result, failed, dummy = run(dict(stanza='pgha', target_lsn=lsn))
    assert failed is not ok, result


def test_no_backup_fails_when_required():
    report = copy.deepcopy(REPORT)
    report[0]['backup'] = []
    report[0]['status'] = {'code': 2, 'message': 'no valid backups'}
    result, failed, dummy = run(dict(stanza='pgha', require_backup=True), stdout=json.dumps(report))
    assert failed and 'no usable backup' in result['msg']
    # Without the requirement it is only a report.
    result, failed, dummy = run(dict(stanza='pgha'), stdout=json.dumps(report))
    assert not failed and result['backups'] == [] and result['window']['time_start'] is None


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
