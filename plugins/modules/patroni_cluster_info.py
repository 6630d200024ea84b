#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_cluster_info
short_description: Read the state and health of a Patroni cluster
version_added: 0.1.0
description:
  - Reads C(GET /cluster) from the Patroni REST API and returns members, leader, replicas and a health verdict.
  - Optionally also returns the dynamic configuration (C(GET /config)) and the timeline history (C(GET /history)).
author:
  - pgha engineers (@pgha)
options:
  include_config:
    description:
      - Also return the dynamic configuration from C(GET /config) as RV(config).
    type: bool
    default: false
  include_history:
    description:
      - Also return the timeline history from C(GET /history) as RV(history).
    type: bool
    default: false
  max_lag_bytes:
    description:
      - A streaming replica lagging more than this many bytes behind the leader makes the cluster unhealthy.
      - The default is 16 MiB, one WAL segment; Patroni's own C(maximum_lag_on_failover) default is 1 MiB.
    type: int
    default: 16777216
  expected_members:
    description:
      - Number of members the cluster should have. Fewer members make the cluster unhealthy.
    type: int
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
  - pgha.cluster.attributes.INFO_MODULE
notes:
  - The cluster is healthy when it has a running leader, every other member is C(streaming) on the
    leader's timeline within O(max_lag_bytes), and O(expected_members) (when given) is met.
  - A paused cluster (maintenance mode) can still be healthy; check RV(paused).
seealso:
  - module: pgha.cluster.patroni_switchover
  - name: Patroni REST API
    description: Patroni REST API reference.
    link: https://patroni.readthedocs.io/en/latest/rest_api.html
'''

EXAMPLES = r'''
- name: Read the cluster state
  pgha.cluster.patroni_cluster_info:
    api_url:
      - https://10.0.0.11:8008
      - https://10.0.0.12:8008
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
    ca_path: /etc/pgha/ca.pem
    expected_members: 3
  register: cluster

- name: Fail unless the cluster is healthy
  ansible.builtin.assert:
    that: cluster.healthy
    fail_msg: "{{ cluster.health_reasons | join('; ') }}"
'''

RETURN = r'''
members:
  description: Cluster members as reported by Patroni.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Member name.
      type: str
    role:
      description: V(leader), V(standby_leader), V(replica), V(sync_standby) or V(quorum_standby).
      type: str
    state:
      description: For example V(running), V(streaming), V(starting), V(stopped), V(crashed), V(creating replica).
      type: str
    timeline:
      description: PostgreSQL timeline of the member.
      type: int
    lag:
      description: Replication lag in bytes; V(null) when Patroni reports it as unknown or for the leader.
      type: int
    host:
      description: PostgreSQL host.
      type: str
    port:
      description: PostgreSQL port.
      type: int
    api_url:
      description: Member REST API URL as registered in the DCS (ends with C(/patroni)).
      type: str
    tags:
      description: Member tags such as C(nofailover) or C(failover_priority).
      type: dict
    pending_restart:
      description: Whether PostgreSQL needs a restart to apply changed parameters.
      type: bool
  sample:
    - name: pg-node-1
      role: leader
      state: running
      timeline: 2
      lag: null
      host: 10.0.0.11
      port: 5432
      api_url: http://10.0.0.11:8008/patroni
      tags: {}
      pending_restart: false
leader:
  description: Name of the leader, or V(null) when there is none.
  returned: always
  type: str
  sample: pg-node-1
replicas:
  description: Names of all non-leader members.
  returned: always
  type: list
  elements: str
  sample: [pg-node-2, pg-node-3]
sync_standbys:
  description: Names of synchronous (or quorum) standbys.
  returned: always
  type: list
  elements: str
  sample: []
paused:
  description: Whether the cluster is in maintenance mode.
  returned: always
  type: bool
  sample: false
scheduled_switchover:
  description: The scheduled switchover, if any (keys C(at), C(from), C(to)).
  returned: always
  type: dict
  sample: null
healthy:
  description: Health verdict, see the notes.
  returned: always
  type: bool
  sample: true
health_reasons:
  description: Why the cluster is not healthy; empty when healthy.
  returned: always
  type: list
  elements: str
  sample: ["member pg-node-3 is in state 'stopped', expected 'streaming'"]
config:
  description: Dynamic configuration from C(GET /config).
  returned: when O(include_config=true)
  type: dict
  sample: {"loop_wait": 10, "ttl": 30, "postgresql": {"parameters": {"max_connections": 100}}}
history:
  description: Timeline history from C(GET /history), one list per timeline switch.
  returned: when O(include_history=true)
  type: list
  elements: list
  sample: [[1, 25623960, "no recovery target specified", "2026-01-01T10:00:00+00:00", "pg-node-1"]]
'''

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    DEFAULT_MAX_LAG_BYTES,
    LEADER_ROLES,
    SYNC_ROLES,
    PatroniApiError,
    cluster_health,
    fail_from_error,
    is_paused,
    leader_name,
    member_lag,
    patroni_module,
)


def normalize_member(m):
    return dict(
        name=m.get('name'),
        role=m.get('role'),
        state=m.get('state'),
        timeline=m.get('timeline'),
        lag=None if m.get('role') in LEADER_ROLES else member_lag(m),
        host=m.get('host'),
        port=m.get('port'),
        api_url=m.get('api_url'),
        tags=m.get('tags') or {},
        pending_restart=bool(m.get('pending_restart', False)),
    )


def main():
    module, client = patroni_module(
        include_config=dict(type='bool', default=False),
        include_history=dict(type='bool', default=False),
        max_lag_bytes=dict(type='int', default=DEFAULT_MAX_LAG_BYTES),
        expected_members=dict(type='int'),
    )
    p = module.params

    try:
        cluster = client.fetch_cluster()
        healthy, reasons = cluster_health(cluster, p['max_lag_bytes'], p['expected_members'])
        members = [normalize_member(m) for m in cluster['members']]
        result = dict(
            changed=False,
            members=members,
            leader=leader_name(cluster),
            replicas=[m['name'] for m in members if m['role'] not in LEADER_ROLES],
            sync_standbys=[m['name'] for m in members if m['role'] in SYNC_ROLES],
            paused=is_paused(cluster),
            scheduled_switchover=cluster.get('scheduled_switchover'),
            healthy=healthy,
            health_reasons=reasons,
        )
        if p['include_config']:
            result['config'] = client.get('/config')
        if p['include_history']:
            result['history'] = client.get('/history')
    except PatroniApiError as e:
        fail_from_error(module, e)

    module.exit_json(**result)


if __name__ == '__main__':
    main()
