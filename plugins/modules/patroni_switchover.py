#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_switchover
short_description: Switch the Patroni leader over to a replica
version_added: 0.1.0
description:
  - Performs a planned switchover with C(POST /switchover) on the Patroni REST API, now or at a scheduled time.
  - Reads C(GET /cluster) first. When the wanted candidate already leads, nothing is called and nothing changes.
  - After the switchover, reads C(GET /cluster) again and reports the member that actually leads.
author:
  - pgha engineers (@pgha)
options:
  candidate:
    description:
      - Member that should become the leader.
      - When omitted, the best healthy replica is chosen, the same way Patroni would - streaming, not tagged
        C(nofailover), C(failover_priority) above 0, on the leader's timeline, synchronous standbys first,
        then lowest lag, then highest C(failover_priority).
      - When omitted the module is not idempotent, since some replica is always chosen.
    type: str
  leader:
    description:
      - Current leader. When given, the switchover fails unless this member leads now.
      - When O(candidate) already leads, nothing is called and nothing changes, whatever O(leader) says, so a
        task naming both can run again after the switchover.
      - When omitted, the current leader is read from the cluster (Patroni 4 requires it in the request).
    type: str
  scheduled_at:
    description:
      - Schedule the switchover at this ISO 8601 timestamp with a time zone, for example V(2026-01-31T02:00:00+00:00).
      - The module then returns right away with RV(scheduled_at) set; Patroni answers HTTP 202.
      - A switchover already scheduled at the same time to the same candidate is left alone.
    type: str
  wait:
    description:
      - Wait until the candidate leads and is running, and every member that was healthy before streams again.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true).
    type: int
    default: 120
  max_lag_bytes:
    description:
      - Replicas lagging more than this are not picked when O(candidate) is omitted.
    type: int
    default: 16777216
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
attributes:
  diff_mode:
    support: full
    details:
      - Shows the leader before and after.
  idempotent:
    support: partial
    details:
      - Idempotent when O(candidate) is given, with or without O(leader). Without it, every run switches over to
        another replica.
notes:
  - Patroni refuses a switchover for many reasons (no healthy candidate, leader mismatch, synchronous mode,
    maintenance mode, ...). The module fails with Patroni's own reason in C(msg) and the HTTP status in RV(status).
  - When Patroni answers C(Switchover status unknown) (HTTP 503, it stopped waiting while the switchover may still
    be in progress), the module reads C(GET /cluster) until O(candidate) leads, for at most O(wait_timeout) seconds
    and also with O(wait=false). It fails, reporting no change and the member that leads, only when the candidate
    still does not lead by then.
  - A failed run never reports a change; RV(leader) is the leader last read from the cluster.
seealso:
  - module: pgha.cluster.patroni_failover
  - module: pgha.cluster.patroni_cluster_info
'''

EXAMPLES = r'''
- name: Move the leader to pg-node-2
  pgha.cluster.patroni_switchover:
    api_url: ["http://10.0.0.11:8008", "http://10.0.0.12:8008"]
    candidate: pg-node-2

- name: Switch over to the best replica, checking who leads now
  pgha.cluster.patroni_switchover:
    api_url: "{{ patroni_api_urls }}"
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
    leader: pg-node-1
    wait_timeout: 180

- name: Schedule a switchover for the maintenance window
  pgha.cluster.patroni_switchover:
    api_url: "{{ patroni_api_urls }}"
    candidate: pg-node-3
    scheduled_at: "2026-01-31T02:00:00+00:00"
'''

RETURN = r'''
previous_leader:
  description: Member that led before the module ran.
  returned: always
  type: str
  sample: pg-node-1
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
scheduled_at:
  description: Time of the scheduled switchover, when O(scheduled_at) was given.
  returned: always
  type: str
  sample: null
message:
  description: What happened, including Patroni's answer when it was called.
  returned: always
  type: str
  sample: Successfully switched over to "pg-node-2"
status:
  description: HTTP status of a refused request.
  returned: failure
  type: int
  sample: 412
diff:
  description: Leader before and after.
  returned: when diff mode is on
  type: dict
  sample: {"before": {"leader": "pg-node-1"}, "after": {"leader": "pg-node-2"}}
'''

from datetime import datetime

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    DEFAULT_MAX_LAG_BYTES,
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
    member_is_up,
    patroni_module,
    pick_best_replica,
    summarize_members,
    timeout_message,
    unknown_member_msg,
    wait_for_leader,
    wait_until,
)


def parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace('Z', '+00:00'))
    except ValueError:
        return None


def same_schedule(existing, candidate, scheduled_at):
    if not existing:
        return False
    wanted = parse_time(scheduled_at)
    return existing.get('to') == candidate and wanted is not None and parse_time(existing.get('at')) == wanted


def choose_candidate(module, cluster, current_leader):
    p = module.params
    if p['candidate']:
        if find_member(cluster, p['candidate']) is None:
            fail(module, 'candidate ' + unknown_member_msg(p['candidate'], cluster), previous_leader=current_leader)
        return p['candidate']
    best = pick_best_replica(cluster, p['max_lag_bytes'])
    if best is None:
        fail(module, 'no healthy replica to switch over to (members: %s)' % summarize_members(cluster),
             previous_leader=current_leader)
    return best['name']


def wait_for_new_leader(module, client, candidate, must_stream, result):
    def settled():
        cluster = client.fetch_cluster()
        leader = find_leader(cluster)
        if not leader or leader.get('name') != candidate or not member_is_up(leader):
            return None
        for name in must_stream:
            member = find_member(cluster, name)
            if name != candidate and (member is None or member.get('state') != 'streaming'):
                return None
        return cluster

    cluster, error = wait_until(settled, module.params['wait_timeout'])
    if cluster is None:
        now = current_state(client)
        if now is not None:
            result['leader'] = leader_name(now)
        fail(module, timeout_message('switchover to %s requested, but the cluster has not settled' % candidate,
                                     module.params['wait_timeout'], error,
                                     summarize_members(now) if now is not None else None), **result)
    return cluster


def outcome_of_unknown(module, client, error, candidate, result):
    """Patroni stopped waiting for its own switchover (HTTP 503 "status unknown"); read /cluster until it is known."""
    cluster, dummy = wait_for_leader(client, candidate, module.params['wait_timeout'])
    if cluster is None:
        now = current_state(client)
        leader = leader_name(now) if now is not None else None
        result['leader'] = leader
        fail_from_error(module, PatroniApiError(
            timeout_message('%s; %s still leads' % (error, leader or 'no member'), module.params['wait_timeout']),
            status=error.status, body=error.body, endpoint=error.endpoint), **result)
    return cluster


def main():
    module, client = patroni_module(
        candidate=dict(type='str'),
        leader=dict(type='str'),
        scheduled_at=dict(type='str'),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=120),
        max_lag_bytes=dict(type='int', default=DEFAULT_MAX_LAG_BYTES),
    )
    p = module.params

    cluster = fetch_cluster_or_fail(module, client)
    current = leader_name(cluster)
    if current is None:
        fail(module, 'the cluster has no leader, a switchover is not possible; use pgha.cluster.patroni_failover '
                     '(members: %s)' % summarize_members(cluster))
    result = dict(changed=False, previous_leader=current, leader=current, candidate=p['candidate'],
                  scheduled_at=p['scheduled_at'])
    # The wanted leader already leading wins over a stale `leader`: that is the second run after a switchover.
    if p['candidate'] and p['candidate'] == current:
        result['message'] = '%s already leads the cluster' % current
        module.exit_json(**result)
    if p['leader'] and p['leader'] != current:
        fail(module, 'leader name does not match: expected %s, but %s leads the cluster' % (p['leader'], current),
             **result)
    candidate = result['candidate'] = choose_candidate(module, cluster, current)
    if candidate == current:
        result['message'] = '%s already leads the cluster' % current
        module.exit_json(**result)
    if p['scheduled_at'] and same_schedule(cluster.get('scheduled_switchover'), candidate, p['scheduled_at']):
        result['message'] = 'switchover to %s is already scheduled at %s' % (candidate, p['scheduled_at'])
        module.exit_json(**result)

    when = ' at %s' % p['scheduled_at'] if p['scheduled_at'] else ''
    if module.check_mode:
        result['message'] = 'would switch over from %s to %s%s' % (current, candidate, when)
        result['changed'] = True
        exit_with_leader_diff(module, result, current, candidate)

    body = dict(leader=current, candidate=candidate)
    if p['scheduled_at']:
        body['scheduled_at'] = p['scheduled_at']
    # Healthy members before the switchover must be healthy after it; broken ones are not our doing.
    must_stream = [m.get('name') for m in cluster['members'] if member_is_up(m)]
    try:
        status, answer = client.request('POST', '/switchover', body, timeout=blocking_timeout(p))
    except PatroniApiError as e:
        if p['scheduled_at'] or not is_status_unknown(e):
            fail_from_error(module, e, **result)
        outcome_of_unknown(module, client, e, candidate, result)
        status, answer = e.status, '%s leads; Patroni had answered: %s' % (candidate, e.body)
    result['message'] = str(answer).strip() if answer else 'switchover requested (HTTP %s)' % status
    result['changed'] = True

    if status == 202 or p['scheduled_at']:
        exit_with_leader_diff(module, result, current, current)

    try:
        if p['wait']:
            cluster = wait_for_new_leader(module, client, candidate, must_stream, result)
        else:
            cluster = client.fetch_cluster()
    except PatroniApiError as e:
        fail_from_error(module, e, **result)
    result['leader'] = leader_name(cluster)
    exit_with_leader_diff(module, result, current, result['leader'])


if __name__ == '__main__':
    main()
