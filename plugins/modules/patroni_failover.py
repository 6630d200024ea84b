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
  - Meant for a cluster whose leader is down. While the leader's PostgreSQL may still run (any state but
    C(stopped), C(crashed), C(start failed), C(restart failed) and the like, so C(starting), C(restarting) and
    C(stopping) too) the module refuses, because M(pgha.cluster.patroni_switchover) is the safe way to move it,
    unless O(force=true).
  - Before promoting, checks what Patroni's manual failover does not - the candidate's lag must be known and
    at most O(maximum_lag_bytes), and in synchronous mode (some member is a synchronous standby) the candidate
    must be a synchronous standby. Each refusal names its override.
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
      - Fail over even though the leader may still run, the candidate lags or its lag is unknown, or it is not a
        synchronous standby in synchronous mode. Writes the candidate has not received are lost.
    type: bool
    default: false
  maximum_lag_bytes:
    description:
      - Refuse a candidate lagging more than this many bytes behind the last position the leader reported.
      - The default is Patroni's own C(maximum_lag_on_failover), 1 MiB.
    type: int
    default: 1048576
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
  diff_mode:
    support: full
    details:
      - Shows the leader before and after.
  idempotent:
    support: full
notes:
  - Patroni's refusals are reported with its own reason in C(msg) and the HTTP status in C(status).
  - When Patroni answers C(Failover status unknown) (HTTP 503), the module reads C(GET /cluster) until O(candidate)
    leads, for at most O(wait_timeout) seconds.
  - A failed run never reports a change; RV(leader) is the leader last read from the cluster.
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

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    DEFAULT_FAILOVER_MAX_LAG_BYTES,
    SYNC_ROLES,
    PatroniApiError,
    blocking_timeout,
    current_state,
    fail,
    exit_with_leader_diff,
    fail_from_error,
    fetch_cluster_or_fail,
    find_leader,
    find_member,
    is_status_unknown,
    leader_name,
    member_is_alive,
    member_is_up,
    member_lag,
    patroni_module,
    timeout_message,
    unknown_member_msg,
    wait_for_leader,
)


def refusal(cluster, leader, candidate, p):
    """Why promoting `candidate` could lose writes or split the cluster, or None."""
    if p['force']:
        return None
    if leader is not None and member_is_alive(leader):
        return ("leader %s is in state '%s', so its PostgreSQL may still accept writes; use "
                "pgha.cluster.patroni_switchover, or force=true to fail over anyway"
                % (leader.get('name'), leader.get('state')))
    if leader is not None and leader is candidate:
        return None
    name = candidate.get('name')
    lag = member_lag(candidate)
    if lag is None:
        return ('the lag of %s is unknown, so it may miss acknowledged writes; set force=true to promote it anyway'
                % name)
    if lag > p['maximum_lag_bytes']:
        return ('%s lags %d bytes behind the leader (maximum_lag_bytes=%d); pick a closer replica, raise '
                'maximum_lag_bytes, or set force=true to promote it anyway' % (name, lag, p['maximum_lag_bytes']))
    sync = sorted(m.get('name') for m in cluster['members'] if m.get('role') in SYNC_ROLES)
    if sync and candidate.get('role') not in SYNC_ROLES:
        return ('the cluster is in synchronous mode and %s is not a synchronous standby (synchronous standbys: %s); '
                'promote one of them, or set force=true to promote it anyway' % (name, ', '.join(sync)))
    return None


def main():
    module, client = patroni_module(
        candidate=dict(type='str', required=True),
        force=dict(type='bool', default=False),
        maximum_lag_bytes=dict(type='int', default=DEFAULT_FAILOVER_MAX_LAG_BYTES),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=120),
    )
    p = module.params
    name = p['candidate']

    cluster = fetch_cluster_or_fail(module, client)
    candidate = find_member(cluster, name)
    if candidate is None:
        fail(module, 'candidate ' + unknown_member_msg(name, cluster))
    leader = find_leader(cluster)
    current = leader_name(cluster)
    result = dict(changed=False, previous_leader=current, leader=current, candidate=name)

    if leader is not None and current == name and member_is_up(leader):
        result['message'] = '%s already leads the cluster' % name
        module.exit_json(**result)
    why_not = refusal(cluster, leader, candidate, p)
    if why_not:
        fail(module, why_not, **result)

    if module.check_mode:
        result['message'] = 'would fail over to %s' % name
        result['changed'] = True
        exit_with_leader_diff(module, result, current, name)

    try:
        answer = client.post('/failover', dict(candidate=name), timeout=blocking_timeout(p))
    except PatroniApiError as e:
        if not is_status_unknown(e):
            fail_from_error(module, e, **result)
        # Patroni stopped waiting for its own failover: the outcome shows in /cluster.
        answer = '%s leads; Patroni had answered: %s' % (name, e.body)
        if wait_for_leader(client, name, p['wait_timeout'])[0] is None:
            result['leader'] = leader_name(current_state(client) or {})
            fail_from_error(module, PatroniApiError(
                timeout_message('%s; %s does not lead' % (e, name), p['wait_timeout']),
                status=e.status, body=e.body, endpoint=e.endpoint), **result)
    result['message'] = str(answer).strip() if answer else 'failover requested'

    if p['wait']:
        cluster, error = wait_for_leader(client, name, p['wait_timeout'])
        if cluster is None:
            result['leader'] = leader_name(current_state(client) or {})
            fail(module, timeout_message('failover to %s requested, but it does not lead' % name,
                                         p['wait_timeout'], error), **result)
    else:
        cluster = fetch_cluster_or_fail(module, client, **result)
    result['changed'] = True
    result['leader'] = leader_name(cluster)
    exit_with_leader_diff(module, result, current, result['leader'])


if __name__ == '__main__':
    main()
