#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_restart
short_description: Restart PostgreSQL on Patroni members, replicas first
version_added: 0.1.0
description:
  - Restarts PostgreSQL through Patroni with C(POST /restart) sent to each member's own REST API.
  - By default only members reporting C(pending_restart) are restarted, so running it again changes nothing.
  - Replicas are restarted one at a time, the leader last; after each restart the module waits until the
    member has really restarted and is running (leader) or streaming (replica) again before going on.
  - C(GET /cluster) is the DCS copy of each member's state and can still show the state from before the restart,
    so the module reads the member's own C(GET /patroni) and waits for a new C(postmaster_start_time). When that
    cannot be read, it accepts C(GET /cluster) only after seeing the member in another state, or after 15 seconds.
author:
  - pgha engineers (@pgha)
options:
  member:
    description:
      - Restart only this member. When omitted, all members are considered.
    type: str
  pending_only:
    description:
      - Only restart members that report C(pending_restart). Patroni is also asked to skip the restart
        if the member no longer needs one (C(restart_pending)).
    type: bool
    default: true
  force:
    description:
      - Restart the selected members even when nothing is pending. Overrides O(pending_only).
    type: bool
    default: false
  member_api_urls:
    description:
      - Base REST API URL per member name, for example C(pg-node-1) mapped to V(http://127.0.0.1:18008).
      - By default the URL registered by each member (its C(api_url) without C(/patroni)) is used; set this
        when the controller reaches members through other addresses, such as published ports in a container lab.
    type: dict
    default: {}
  wait:
    description:
      - Wait after each restart until the member runs a new postmaster and is running or streaming again.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each member when O(wait=true).
    type: int
    default: 300
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
attributes:
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Not idempotent with O(force=true).
seealso:
  - module: pgha.cluster.patroni_config
'''

EXAMPLES = r'''
- name: Apply parameters that need a restart
  pgha.cluster.patroni_restart:
    api_url: "{{ patroni_api_urls }}"

- name: Restart one member whatever its state, in a lab reached through published ports
  pgha.cluster.patroni_restart:
    api_url: ["http://127.0.0.1:18008"]
    member: pg-node-2
    force: true
    member_api_urls:
      pg-node-1: http://127.0.0.1:18008
      pg-node-2: http://127.0.0.1:28008
      pg-node-3: http://127.0.0.1:38008
'''

RETURN = r'''
restarted:
  description:
    - Members restarted (or that would be in check mode), in order.
    - On failure, those restarted before the failure; a failed run reports no change.
  returned: always
  type: list
  elements: str
  sample: [pg-node-2, pg-node-3, pg-node-1]
pending_restart:
  description: Members still reporting C(pending_restart) at the end.
  returned: always
  type: list
  elements: str
  sample: []
message:
  description: Summary.
  returned: always
  type: str
  sample: restarted pg-node-2, pg-node-3, pg-node-1
'''

import time

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    LEADER_ROLES,
    PatroniApiError,
    blocking_timeout,
    fail,
    fail_from_error,
    fetch_cluster_or_fail,
    find_member,
    member_base_url,
    member_is_up,
    patroni_module,
    timeout_message,
    unknown_member_msg,
    wait_until,
)

# Without the member's own status, a state in /cluster is trusted only after this long:
# the DCS copy is refreshed once per HA loop (loop_wait, 10 s by default).
SETTLE_SECONDS = 15


def select_members(module, cluster):
    p = module.params
    members = cluster['members']
    if p['member']:
        member = find_member(cluster, p['member'])
        if member is None:
            fail(module, unknown_member_msg(p['member'], cluster))
        members = [member]
    if p['pending_only'] and not p['force']:
        members = [m for m in members if m.get('pending_restart')]
    # The leader goes last: restarting replicas first keeps the cluster writable the longest.
    return sorted(members, key=lambda m: (m.get('role') in LEADER_ROLES, m.get('name') or ''))


def postmaster_start(client, url):
    """postmaster_start_time from the member's own GET /patroni, or None when it cannot be read."""
    try:
        status = client.get('/patroni', endpoint=url)
    except PatroniApiError:
        return None
    return status.get('postmaster_start_time') if isinstance(status, dict) else None


def runs_new_postmaster(client, url, old_start):
    """The member's own status shows a postmaster started after old_start, running, and streaming if a replica."""
    status = client.get('/patroni', endpoint=url)
    if not isinstance(status, dict) or status.get('postmaster_start_time') in (None, old_start):
        return False
    if status.get('state') != 'running':
        return False
    return status.get('role') in LEADER_ROLES or status.get('replication_state') in (None, 'streaming')


def wait_restarted(module, client, name, url, old_start):
    started = time.monotonic()
    seen = {'down': False}

    def restarted():
        if old_start and not runs_new_postmaster(client, url, old_start):
            return False
        member = find_member(client.fetch_cluster(), name)
        if member is None or not member_is_up(member):
            seen['down'] = True
            return False
        # With a new postmaster confirmed, an up state is current; without it, it may be the pre-restart one.
        return bool(old_start) or seen['down'] or time.monotonic() - started >= SETTLE_SECONDS

    return wait_until(restarted, module.params['wait_timeout'])


def main():
    module, client = patroni_module(
        member=dict(type='str'),
        pending_only=dict(type='bool', default=True),
        force=dict(type='bool', default=False),
        member_api_urls=dict(type='dict', default={}),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=300),
    )
    p = module.params

    cluster = fetch_cluster_or_fail(module, client)
    targets = select_members(module, cluster)
    result = dict(changed=False, restarted=[], pending_restart=[])
    if not targets:
        result['pending_restart'] = [m.get('name') for m in cluster['members'] if m.get('pending_restart')]
        result['message'] = 'nothing to restart'
        module.exit_json(**result)
    if module.check_mode:
        result['restarted'] = [m.get('name') for m in targets]
        result.update(changed=True, message='would restart %s' % ', '.join(result['restarted']))
        module.exit_json(**result)

    body = {'restart_pending': True} if p['pending_only'] and not p['force'] else {}
    for member in targets:
        name = member.get('name')
        url = member_base_url(member, p['member_api_urls'])
        if not url:
            fail(module, 'member %s has no api_url; set member_api_urls' % name, **result)
        old_start = postmaster_start(client, url) if p['wait'] else None
        try:
            client.post('/restart', body, endpoint=url, timeout=blocking_timeout(p))
        except PatroniApiError as e:
            fail_from_error(module, e, **result)
        result['restarted'].append(name)
        if p['wait']:
            ok, error = wait_restarted(module, client, name, url, old_start)
            if not ok:
                fail(module, timeout_message('%s was restarted but is not running/streaming' % name,
                                             p['wait_timeout'], error), **result)

    cluster = fetch_cluster_or_fail(module, client, **result)
    result['pending_restart'] = [m.get('name') for m in cluster['members'] if m.get('pending_restart')]
    result.update(changed=True, message='restarted %s' % ', '.join(result['restarted']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
