#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: pgbackrest_info
short_description: Report a pgBackRest stanza's backups, its recovery window and whether a restore target lies in it
version_added: 0.1.0
description:
  - Runs C(pgbackrest info --output=json) for one stanza and returns the raw report, one row per
    backup and a short text table.
  - Computes the recovery window, from the end of the oldest backup to the end of the archive. The end of the
    archive is when the newest archived WAL segment reached the repository (read with C(pgbackrest repo-ls)),
    or the newest backup's stop when that is later; it is not "now".
  - When O(require_backup), O(target_time) or O(target_lsn) is given, says in RV(target_error) why the stanza
    cannot serve that restore, or V(null) when it can. The module itself fails only when pgBackRest fails or
    prints something it cannot parse, so the caller decides what to assert.
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
      - Report in RV(target_error) unless the stanza has at least one backup and reports status C(ok).
    type: bool
    default: false
  target_time:
    description:
      - A point-in-time restore target, for example V(2025-01-31 12:00:00+00).
      - Must carry a UTC offset, so that the comparison does not depend on any server's time zone.
      - Reported in RV(target_error) when it is in the future, after the end of the archive, or before the end of
        the oldest backup.
    type: str
  target_lsn:
    description:
      - An LSN restore target, for example V(0/5000028).
      - Reported in RV(target_error) when it is before the end of the oldest backup or after the end of the newest
        archived WAL segment.
    type: str
extends_documentation_fragment:
  - pgha.cluster.attributes
  - pgha.cluster.attributes.INFO_MODULE
notes:
  - Run it where pgBackRest can read the repository, normally the repository host, as the repository owner.
  - A named restore point cannot be checked here (pgBackRest does not list them).
  - The end of the archive is an upper bound - a time target between the last commit in the newest archived
    segment and the moment that segment was archived is not reachable either. A bounded C(archive_timeout)
    keeps that gap short.
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

- name: Check a restore target against the recovery window
  pgha.cluster.pgbackrest_info:
    stanza: pgha
    target_time: "2025-01-31 12:00:00+00"
  register: window

- name: Refuse a target outside it
  ansible.builtin.assert:
    that: window.target_error is none
    fail_msg: "{{ window.target_error | default('', true) }}"
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
      stop_epoch: 1738285209
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
    - The recovery window. C(time_start)/C(lsn_start) are where the oldest backup became consistent.
    - C(lsn_end) is the end of the newest archived WAL segment. C(time_end) is when that segment reached the
      repository, or the newest backup's stop when that is later; C(time_end_source) says which (V(archive) or
      V(backup)).
  returned: success
  type: dict
  sample:
    time_start: "2025-01-31T01:00:09+00:00"
    time_end: "2025-02-01T09:12:00+00:00"
    time_end_source: archive
    lsn_start: 0/5000138
    lsn_end: 0/A000000
    archive_min: "000000010000000000000005"
    archive_max: "00000002000000000000000A"
target_error:
  description:
    - Why the stanza cannot serve the restore asked for with O(require_backup), O(target_time) or O(target_lsn),
      with the window it found; V(null) when it can, or when none of them is given.
  returned: success
  type: str
  sample: "target_time 2025-02-01T10:00:00+00:00 is after the end of the archive; recovery window: ..."
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


def backup_rows(stanza_info):
    """One row per backup of a stanza entry of `pgbackrest info --output=json`, oldest first."""
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
    return rows


def newest_archive(stanza_info):
    """(archive entry holding the newest segment, oldest segment name) across the stanza's archive ids."""
    newest = None
    oldest = None
    for archive in stanza_info.get('archive', []):
        if archive.get('min') and (oldest is None or archive['min'][8:] < oldest[8:]):
            oldest = archive['min']
        if archive.get('max') and (newest is None or archive['max'][8:] > newest['max'][8:]):
            newest = archive
    return newest, oldest


def recovery_window(rows, archive, archive_min, archive_pushed):
    """The window from the oldest good backup's consistency point to the end of the archive.

    archive_pushed is the epoch when the newest segment reached the repository, or None.
    """
    good = [r for r in rows if not r['error']]
    ends = [(r['stop_epoch'], 'backup') for r in good if r['stop_epoch'] is not None]
    if archive_pushed is not None:
        ends.append((archive_pushed, 'archive'))
    # On a tie the backup's own stop explains the end best.
    end = max(ends, key=lambda e: (e[0], e[1] == 'backup')) if ends else (None, None)
    archive_max = archive['max'] if archive else None
    return {
        'time_start': good[0]['stop'] if good else None,
        'time_end': epoch_to_iso(end[0]) if end[0] is not None else None,
        'time_end_source': end[1],
        'lsn_start': good[0]['lsn_stop'] if good else None,
        'lsn_end': int_to_lsn(segment_end_lsn(archive_max)) if archive_max else None,
        'archive_min': archive_min,
        'archive_max': archive_max,
    }


def text_table(rows):
    table = ['%-26s %-5s %-19s %-19s %-12s %s' % ('label', 'type', 'start (UTC)', 'stop (UTC)', 'size', 'wal')]
    for r in rows:
        table.append('%-26s %-5s %-19s %-19s %-12s %s%s' % (
            r['label'], r['type'],
            (r['start'] or '')[:19].replace('T', ' '), (r['stop'] or '')[:19].replace('T', ' '),
            human_size(r['size']), '%s-%s' % (r['wal_start'], r['wal_stop']),
            ' (error)' if r['error'] else ''))
    return table


def human_size(size):
    if size is None:
        return '-'
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if size < 1024 or unit == 'TiB':
            return ('%d%s' % (size, unit)) if unit == 'B' else ('%.1f%s' % (size, unit))
        size /= 1024.0


def check_targets(window, now, target_time=None, target_lsn=None):
    """Return why a target lies outside the window, else None."""
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
        # Recovery that runs out of WAL before the target fails, after every member was stopped.
        if target > datetime.datetime.fromisoformat(window['time_end']):
            return 'target_time %s is after the end of the archive; %s' % (target.isoformat(), found)
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


def run_json(module, argv, what):
    """Run a pgbackrest command printing JSON; fail the module when it fails or prints no JSON."""
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg='pgbackrest %s failed (rc %d): %s' % (what, rc, (err or out).strip()), cmd=argv)
    try:
        return json.loads(out)
    except ValueError as exc:
        module.fail_json(msg='pgbackrest %s printed no JSON: %s' % (what, exc), stdout=out, cmd=argv)


def segment_pushed(module, base, stanza, archive):
    """Epoch when the newest segment of `archive` reached the repository, or None when it is not listed."""
    segment = archive['max']
    # --stanza too, so that repository options kept in the stanza's section apply.
    argv = base + ['--stanza=%s' % stanza, '--repo=%s' % ((archive.get('database') or {}).get('repo-key') or 1),
                   '--filter=^%s' % segment, '--output=json',
                   'repo-ls', 'archive/%s/%s/%s' % (stanza, archive['id'], segment[:16])]
    listing = run_json(module, argv, 'repo-ls')
    times = [entry.get('time') for name, entry in (listing or {}).items()
             if name.startswith(segment) and isinstance(entry, dict) and entry.get('type') == 'file']
    times = [t for t in times if isinstance(t, int)]
    return max(times) if times else None


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
    base = [p['binary'], '--config=%s' % p['config']]
    report = run_json(module, base + ['--stanza=%s' % p['stanza'], '--output=json', 'info'], 'info')
    entry = next((s for s in report if isinstance(s, dict) and s.get('name') == p['stanza']), None) \
        if isinstance(report, list) else None
    if entry is None:
        module.fail_json(msg='stanza %s is not in the pgbackrest info report' % p['stanza'])

    rows = backup_rows(entry)
    archive, archive_min = newest_archive(entry)
    pushed = segment_pushed(module, base, p['stanza'], archive) if archive and archive.get('id') else None
    window = recovery_window(rows, archive, archive_min, pushed)
    status = entry.get('status', {})

    target_error = None
    if p['require_backup'] or p['target_time'] or p['target_lsn']:
        if status.get('code') != 0 or not rows:
            target_error = 'stanza %s has no usable backup: %s' % (p['stanza'], status.get('message'))
        else:
            now = datetime.datetime.now(datetime.timezone.utc)
            target_error = check_targets(window, now, p['target_time'], p['target_lsn'])
    module.exit_json(changed=False, info=entry, status=status, backups=rows, table=text_table(rows), window=window,
                     target_error=target_error)


if __name__ == '__main__':
    main()
