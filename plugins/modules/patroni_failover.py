#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_failover
short_description: Promote a Patroni replica when the cluster has no healthy leader
version_added: 0.1.0
description:
  - Performs a manual failover with C(POST /failover) on the Patroni REST API, promoting O(candidate).
  - Meant for a cluster without a healthy leader. When a healthy leader exists the module refuses,
    because M(pgha.cluster.patroni_switchover) is the safe way to move it, unless O(force=true).
  - When O(candidate) already leads and is running, nothing is called and nothing changes.
author:
  - pgha engineers (@pgha)
options:
  candidate:
    description:
      - Member to promote.
    type: str
    required: true
  force:
    description:
      - Fail over even though a healthy leader exists.
    type: bool
    default: false
  wait:
    description:
      - Wait until O(candidate) leads and is running.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true).
    type: int
    default: 120
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the leader before and after.
  idempotent:
    support: full
notes:
  - Patroni's refusals are reported with its own reason in C(msg) and the HTTP status in C(status).
seealso:
  - module: pgha.cluster.patroni_switchover
  - module: pgha.cluster.patroni_cluster_info
'''

EXAMPLES = r'''
- name: Promote pg-node-2 after losing the leader
  pgha.cluster.patroni_failover:
    api_url: ["http://10.0.0.12:8008", "http://10.0.0.13:8008"]
    candidate: pg-node-2
'''

RETURN = r'''
previous_leader:
  description: Leader before the module ran; V(null) when there was none.
  returned: always
  type: str
  sample: null
leader:
  description: Member that leads after the module ran, read again from C(GET /cluster).
  returned: always
  type: str
  sample: pg-node-2
candidate:
  description: Member asked to become the leader.
  returned: always
  type: str
  sample: pg-node-2
message:
  description: What happened, including Patroni's answer when it was called.
  returned: always
  type: str
  sample: Successfully failed over to "pg-node-2"
diff:
  description: Leader before and after.
  returned: when diff mode is on
  type: dict
  sample: {"before": {"leader": null}, "after": {"leader": "pg-node-2"}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    PatroniApiError,
    blocking_timeout,
    client_from_module,
    fail_from_error,
    find_leader,
    find_member,
    leader_name,
    member_is_up,
    patroni_common_argument_spec,
    unknown_member_msg,
    wait_until,
)


def main():
    argument_spec = patroni_common_argument_spec()
    argument_spec.update(
        candidate=dict(type='str', required=True),
        force=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=120),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = client_from_module(module)
    p = module.params
    candidate = p['candidate']

    try:
        cluster = client.fetch_cluster()
    except PatroniApiError as e:
        fail_from_error(module, e)
    if find_member(cluster, candidate) is None:
        module.fail_json(msg='candidate ' + unknown_member_msg(candidate, cluster))
    leader = find_leader(cluster)
    current = leader_name(cluster)
    result = dict(changed=False, previous_leader=current, leader=current, candidate=candidate)

    if leader is not None and current == candidate and member_is_up(leader):
        result['message'] = '%s already leads the cluster' % candidate
        module.exit_json(**result)
    if leader is not None and member_is_up(leader) and not p['force']:
        module.fail_json(msg='the cluster has a healthy leader (%s); use pgha.cluster.patroni_switchover, '
                             'or force=true to fail over anyway' % current, **result)

    result['changed'] = True
    if module._diff:
        result['diff'] = dict(before=dict(leader=current), after=dict(leader=candidate))
    if module.check_mode:
        result['message'] = 'would fail over to %s' % candidate
        module.exit_json(**result)

    try:
        answer = client.post('/failover', dict(candidate=candidate), timeout=blocking_timeout(p))
    except PatroniApiError as e:
        fail_from_error(module, e, **result)
    result['message'] = str(answer).strip() if answer else 'failover requested'

    def candidate_leads():
        c = client.fetch_cluster()
        new = find_leader(c)
        return c if new is not None and new.get('name') == candidate and member_is_up(new) else None

    try:
        if p['wait']:
            cluster, error = wait_until(candidate_leads, p['wait_timeout'])
            if cluster is None:
                module.fail_json(msg='failover to %s requested, but it does not lead after %ss%s'
                                 % (candidate, p['wait_timeout'], '; last error: %s' % error if error else ''), **result)
        else:
            cluster = client.fetch_cluster()
    except PatroniApiError as e:
        fail_from_error(module, e, **result)
    result['leader'] = leader_name(cluster)
    if module._diff:
        result['diff']['after'] = dict(leader=result['leader'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
