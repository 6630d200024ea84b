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
    member is running (leader) or streaming (replica) again before going on.
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
      - Wait after each restart until the member is running or streaming again.
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
  check_mode:
    support: full
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
  description: Members restarted (or that would be in check mode), in order.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    LEADER_ROLES,
    PatroniApiError,
    blocking_timeout,
    client_from_module,
    fail_from_error,
    find_member,
    member_base_url,
    member_is_up,
    patroni_common_argument_spec,
    unknown_member_msg,
    wait_until,
)


def select_members(module, cluster):
    p = module.params
    members = cluster['members']
    if p['member']:
        member = find_member(cluster, p['member'])
        if member is None:
            module.fail_json(msg=unknown_member_msg(p['member'], cluster))
        members = [member]
    if p['pending_only'] and not p['force']:
        members = [m for m in members if m.get('pending_restart')]
    # The leader goes last: restarting replicas first keeps the cluster writable the longest.
    return sorted(members, key=lambda m: (m.get('role') in LEADER_ROLES, m.get('name') or ''))


def wait_member_up(module, client, name):
    def up():
        member = find_member(client.fetch_cluster(), name)
        return member is not None and member_is_up(member)

    ok, error = wait_until(up, module.params['wait_timeout'])
    return ok, error


def main():
    argument_spec = patroni_common_argument_spec()
    argument_spec.update(
        member=dict(type='str'),
        pending_only=dict(type='bool', default=True),
        force=dict(type='bool', default=False),
        member_api_urls=dict(type='dict', default={}),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = client_from_module(module)
    p = module.params

    try:
        cluster = client.fetch_cluster()
    except PatroniApiError as e:
        fail_from_error(module, e)
    targets = select_members(module, cluster)
    result = dict(changed=bool(targets), restarted=[], pending_restart=[])
    if not targets:
        result['pending_restart'] = [m.get('name') for m in cluster['members'] if m.get('pending_restart')]
        result['message'] = 'nothing to restart'
        module.exit_json(**result)
    if module.check_mode:
        result['restarted'] = [m.get('name') for m in targets]
        result['message'] = 'would restart %s' % ', '.join(result['restarted'])
        module.exit_json(**result)

    body = {'restart_pending': True} if p['pending_only'] and not p['force'] else {}
    for member in targets:
        name = member.get('name')
        url = member_base_url(member, p['member_api_urls'])
        if not url:
            module.fail_json(msg='member %s has no api_url; set member_api_urls' % name, **result)
        try:
            client.post('/restart', body, endpoint=url, timeout=blocking_timeout(p))
        except PatroniApiError as e:
            fail_from_error(module, e, **result)
        result['restarted'].append(name)
        if p['wait']:
            ok, error = wait_member_up(module, client, name)
            if not ok:
                module.fail_json(msg='%s was restarted but is not running/streaming after %ss%s'
                                 % (name, p['wait_timeout'], '; last error: %s' % error if error else ''), **result)

    try:
        cluster = client.fetch_cluster()
    except PatroniApiError as e:
        fail_from_error(module, e, **result)
    result['pending_restart'] = [m.get('name') for m in cluster['members'] if m.get('pending_restart')]
    result['message'] = 'restarted %s' % ', '.join(result['restarted'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
