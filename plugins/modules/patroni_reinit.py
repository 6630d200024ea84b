#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_reinit
short_description: Rebuild a Patroni replica from the leader
version_added: 0.1.0
description:
  - Reinitializes a replica with C(POST /reinitialize) sent to that member's own REST API. Patroni wipes its data
    directory and clones it again from the leader.
  - Refuses to act on the leader.
  - This is an action, so every successful run reports a change; a failed run reports none.
author:
  - pgha engineers (@pgha)
options:
  member:
    description:
      - Replica to reinitialize.
    type: str
    required: true
  force:
    description:
      - Ask Patroni to cancel an operation already running on the member (C(force) in the request).
    type: bool
    default: false
  member_api_urls:
    description:
      - Base REST API URL per member name, for example C(pg-node-2) mapped to V(http://127.0.0.1:28008).
      - By default the member's registered C(api_url) without C(/patroni) is used.
    type: dict
    default: {}
  wait:
    description:
      - Wait until the member streams from the leader again.
      - Patroni publishes member states every C(loop_wait), so the module only accepts C(streaming) after it has
        seen the member in another state, or after 15 seconds.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true). A large database takes as long as a full copy.
    type: int
    default: 600
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
attributes:
  diff_mode:
    support: none
  idempotent:
    support: none
seealso:
  - module: pgha.cluster.patroni_cluster_info
'''

EXAMPLES = r'''
- name: Rebuild a broken replica
  pgha.cluster.patroni_reinit:
    api_url: "{{ patroni_api_urls }}"
    member: pg-node-3
    wait_timeout: 1800
'''

RETURN = r'''
member:
  description: Member reinitialized.
  returned: always
  type: str
  sample: pg-node-3
state:
  description: Member state at the end.
  returned: always
  type: str
  sample: streaming
message:
  description: Patroni's answer, or what would happen in check mode.
  returned: always
  type: str
  sample: reinitialize started
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
    patroni_module,
    timeout_message,
    unknown_member_msg,
    wait_until,
)

# A member keeps its old 'streaming' state in /cluster until its next HA loop.
SETTLE_SECONDS = 15


def wait_streaming(module, client, name):
    started = time.monotonic()
    seen = {'transition': False, 'state': None}

    def streaming():
        member = find_member(client.fetch_cluster(), name)
        seen['state'] = member.get('state') if member else None
        if seen['state'] != 'streaming':
            seen['transition'] = True
            return False
        return seen['transition'] or time.monotonic() - started >= SETTLE_SECONDS

    ok, error = wait_until(streaming, module.params['wait_timeout'])
    return ok, seen['state'], error


def main():
    module, client = patroni_module(
        member=dict(type='str', required=True),
        force=dict(type='bool', default=False),
        member_api_urls=dict(type='dict', default={}),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=600),
    )
    p = module.params
    name = p['member']

    cluster = fetch_cluster_or_fail(module, client)
    member = find_member(cluster, name)
    if member is None:
        fail(module, unknown_member_msg(name, cluster))
    if member.get('role') in LEADER_ROLES:
        fail(module, '%s is the leader and cannot be reinitialized; switch over first' % name)
    result = dict(changed=False, member=name, state=member.get('state'))
    if module.check_mode:
        result.update(changed=True, message='would reinitialize %s' % name)
        module.exit_json(**result)

    url = member_base_url(member, p['member_api_urls'])
    if not url:
        fail(module, 'member %s has no api_url; set member_api_urls' % name, **result)
    try:
        answer = client.post('/reinitialize', {'force': p['force']}, endpoint=url, timeout=blocking_timeout(p))
    except PatroniApiError as e:
        fail_from_error(module, e, **result)
    result['message'] = str(answer).strip() if answer else 'reinitialize started'

    if p['wait']:
        ok, state, error = wait_streaming(module, client, name)
        result['state'] = state
        if not ok:
            fail(module, timeout_message('%s was reinitialized but is not streaming' % name, p['wait_timeout'], error,
                                         'state: %s' % state), **result)
    result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
