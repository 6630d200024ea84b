#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: pgbackrest_info
short_description: Report a pgBackRest stanza's backups and recovery window
version_added: 0.1.0
description:
  - Runs C(pgbackrest info --output=json) for one stanza and returns the raw report, one row per
    backup and a short text table.
  - Computes the recovery window (from the end of the oldest backup to the end of the archive) and,
    when a restore target is given, fails with that window when the target lies outside it.
author:
  - pgha engineers (@pgha)
options:
  stanza:
    description:
      - The stanza to report on.
    type: str
    required: true
  config:
    description:
      - pgBackRest configuration file.
    type: path
    default: /etc/pgbackrest/pgbackrest.conf
  binary:
    description:
      - Path of the pgbackrest executable.
    type: path
    default: /usr/bin/pgbackrest
  require_backup:
    description:
      - Fail unless the stanza has at least one backup and reports status C(ok).
    type: bool
    default: false
  target_time:
    description:
      - A point-in-time restore target, for example V(2025-01-31 12:00:00+00).
      - Must carry a UTC offset, so that the comparison does not depend on any server's time zone.
      - Fails when it is in the future or before the end of the oldest backup.
    type: str
  target_lsn:
    description:
      - An LSN restore target, for example V(0/5000028).
      - Fails when it is before the end of the oldest backup or after the end of the newest archived WAL segment.
    type: str
extends_documentation_fragment:
  - pgha.cluster.attributes
  - pgha.cluster.attributes.INFO_MODULE
notes:
  - Run it where pgBackRest can read the repository, normally the repository host, as the repository owner.
  - A named restore point cannot be checked here (pgBackRest does not list them); use O(require_backup).
'''

EXAMPLES = r'''
- name: Report the backups of stanza pgha
  pgha.cluster.pgbackrest_info:
    stanza: pgha
  become: true
  become_user: pgbackrest
  register: backups

- name: Show them
  ansible.builtin.debug:
    msg: "{{ backups.table }}"

- name: Refuse a restore target outside the recovery window
  pgha.cluster.pgbackrest_info:
    stanza: pgha
    target_time: "2025-01-31 12:00:00+00"
'''

RETURN = r'''
info:
  description: The stanza's entry of C(pgbackrest info --output=json), unchanged.
  returned: success
  type: dict
status:
  description: The stanza status code and message (0 is ok).
  returned: success
  type: dict
  sample: {code: 0, message: ok}
backups:
  description: One row per backup, oldest first.
  returned: success
  type: list
  elements: dict
  sample:
    - label: 20250131-010002F
      type: full
      start: "2025-01-31T01:00:02+00:00"
      stop: "2025-01-31T01:00:09+00:00"
      lsn_start: 0/5000028
      lsn_stop: 0/5000138
      wal_start: "000000010000000000000005"
      wal_stop: "000000010000000000000005"
      size: 23145678
      repo_size: 3145678
      prior: null
      error: false
table:
  description: A short text table of RV(backups), one line per backup after a header.
  returned: success
  type: list
  elements: str
window:
  description:
    - The recovery window. C(time_start)/C(lsn_start) are where the oldest backup became consistent;
      C(lsn_end) is the end of the newest archived WAL segment; C(time_end) is now.
  returned: success
  type: dict
  sample:
    time_start: "2025-01-31T01:00:09+00:00"
    time_end: "2025-02-01T09:12:00+00:00"
    lsn_start: 0/5000138
    lsn_end: 0/A000000
    archive_min: "000000010000000000000005"
    archive_max: "00000002000000000000000A"
'''

import datetime
import json

from ansible.module_utils.basic import AnsibleModule

WAL_SEGMENT_SIZE = 16 * 1024 * 1024


def lsn_to_int(lsn):
    """'16/B374D848' -> integer position; ValueError when malformed."""
    high, sep, low = lsn.strip().partition('/')
    if not sep or not high or not low:
        raise ValueError('not an LSN: %r' % lsn)
    return (int(high, 16) << 32) + int(low, 16)


def int_to_lsn(value):
    return '%X/%X' % (value >> 32, value & 0xFFFFFFFF)


def segment_end_lsn(segment, segment_size=WAL_SEGMENT_SIZE):
    """End (exclusive) of a WAL segment named TTTTTTTTXXXXXXXXYYYYYYYY."""
    log_id = int(segment[8:16], 16)
    seg_no = int(segment[16:24], 16)
    segments_per_id = 0x100000000 // segment_size
    return (log_id * segments_per_id + seg_no + 1) * segment_size


def parse_time(text):
    """Parse an ISO-like time with a UTC offset ('2025-01-31 12:00:00+00')."""
    value = text.strip().replace('T', ' ', 1)
    # PostgreSQL style '+00' / '+0530' offsets: make them '+00:00' / '+05:30'.
    for sign in ('+', '-'):
        pos = value.rfind(sign)
        if pos > 10:
            offset = value[pos + 1:]
            if offset.isdigit() and len(offset) in (2, 4):
                value = value[:pos + 1] + offset[:2] + ':' + (offset[2:] or '00')
            break
    if value.endswith('Z'):
        value = value[:-1] + '+00:00'
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError('no UTC offset in %r: write it like 2025-01-31 12:00:00+00' % text)
    return parsed


def epoch_to_iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def summarize(stanza_info, now):
    """Rows, table and window of one stanza entry of `pgbackrest info --output=json`."""
    rows = []
    for backup in stanza_info.get('backup', []):
        ts = backup.get('timestamp', {})
        lsn = backup.get('lsn', {})
        archive = backup.get('archive', {})
        info = backup.get('info', {})
        rows.append({
            'label': backup.get('label'),
            'type': backup.get('type'),
            'start': epoch_to_iso(ts['start']) if 'start' in ts else None,
            'stop': epoch_to_iso(ts['stop']) if 'stop' in ts else None,
            'stop_epoch': ts.get('stop'),
            'lsn_start': lsn.get('start'),
            'lsn_stop': lsn.get('stop'),
            'wal_start': archive.get('start'),
            'wal_stop': archive.get('stop'),
            'size': info.get('size'),
            'repo_size': info.get('repository', {}).get('delta'),
            'prior': backup.get('prior'),
            'error': bool(backup.get('error', False)),
        })
    rows.sort(key=lambda r: r['stop_epoch'] or 0)

    archive_min = archive_max = None
    for archive in stanza_info.get('archive', []):
        if archive.get('min') and (archive_min is None or archive['min'][8:] < archive_min[8:]):
            archive_min = archive['min']
        if archive.get('max') and (archive_max is None or archive['max'][8:] > archive_max[8:]):
            archive_max = archive['max']

    good = [r for r in rows if not r['error']]
    window = {
        'time_start': good[0]['stop'] if good else None,
        'time_end': now.isoformat(),
        'lsn_start': good[0]['lsn_stop'] if good else None,
        'lsn_end': int_to_lsn(segment_end_lsn(archive_max)) if archive_max else None,
        'archive_min': archive_min,
        'archive_max': archive_max,
    }

    table = ['%-26s %-5s %-19s %-19s %-12s %s' % ('label', 'type', 'start (UTC)', 'stop (UTC)', 'size', 'wal')]
    for r in rows:
        table.append('%-26s %-5s %-19s %-19s %-12s %s%s' % (
            r['label'], r['type'],
            (r['start'] or '')[:19].replace('T', ' '), (r['stop'] or '')[:19].replace('T', ' '),
            human_size(r['size']), '%s-%s' % (r['wal_start'], r['wal_stop']),
            ' (error)' if r['error'] else ''))
    for r in rows:
        del r['stop_epoch']
    return rows, table, window


def human_size(size):
    if size is None:
        return '-'
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if size < 1024 or unit == 'TiB':
            return ('%d%s' % (size, unit)) if unit == 'B' else ('%.1f%s' % (size, unit))
        size /= 1024.0


def check_targets(window, now, target_time=None, target_lsn=None):
    """Return an error message when a target lies outside the window, else None."""
    found = 'recovery window: %s .. %s (LSN %s .. %s)' % (
        window['time_start'], window['time_end'], window['lsn_start'], window['lsn_end'])
    if window['time_start'] is None:
        return 'no backup to restore from; %s' % found
    if target_time:
        try:
            target = parse_time(target_time)
        except ValueError as exc:
            return 'target_time: %s' % exc
        if target > now:
            return 'target_time %s is in the future; %s' % (target.isoformat(), found)
        if target < datetime.datetime.fromisoformat(window['time_start']):
            return 'target_time %s is before the end of the oldest backup; %s' % (target.isoformat(), found)
    if target_lsn:
        try:
            target = lsn_to_int(target_lsn)
        except ValueError as exc:
            return 'target_lsn: %s' % exc
        if target < lsn_to_int(window['lsn_start']):
            return 'target_lsn %s is before the end of the oldest backup; %s' % (target_lsn, found)
        if window['lsn_end'] is None or target > lsn_to_int(window['lsn_end']):
            return 'target_lsn %s is past the end of the archive; %s' % (target_lsn, found)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stanza=dict(type='str', required=True),
            config=dict(type='path', default='/etc/pgbackrest/pgbackrest.conf'),
            binary=dict(type='path', default='/usr/bin/pgbackrest'),
            require_backup=dict(type='bool', default=False),
            target_time=dict(type='str'),
            target_lsn=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cmd = [p['binary'], '--config=%s' % p['config'], '--stanza=%s' % p['stanza'], '--output=json', 'info']
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg='pgbackrest info failed (rc %d): %s' % (rc, (err or out).strip()), cmd=cmd)
    try:
        report = json.loads(out)
    except ValueError as exc:
        module.fail_json(msg='pgbackrest info printed no JSON: %s' % exc, stdout=out)
    entry = next((s for s in report if s.get('name') == p['stanza']), None)
    if entry is None:
        module.fail_json(msg='stanza %s is not in the pgbackrest info report' % p['stanza'])

    now = datetime.datetime.now(datetime.timezone.utc)
    rows, table, window = summarize(entry, now)
    result = dict(changed=False, info=entry, status=entry.get('status', {}), backups=rows, table=table, window=window)

    if p['require_backup'] or p['target_time'] or p['target_lsn']:
        if result['status'].get('code') != 0 or not rows:
            module.fail_json(msg='stanza %s has no usable backup: %s' % (
                p['stanza'], result['status'].get('message')), **result)
    error = check_targets(window, now, p['target_time'], p['target_lsn'])
    if error and (p['target_time'] or p['target_lsn'] or p['require_backup']):
        module.fail_json(msg=error, window=window, table=table)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
