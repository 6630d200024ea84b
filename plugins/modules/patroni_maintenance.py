#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_maintenance
short_description: Pause or resume Patroni's automatic failover (maintenance mode)
version_added: 0.1.0
description:
  - Pauses or resumes a Patroni cluster with C(PATCH /config) setting C(pause) to V(true) or V(false).
  - Reads C(GET /cluster) first and changes nothing when the cluster is already in the wanted state.
  - While paused, Patroni neither fails over nor restarts PostgreSQL, so PostgreSQL can be handled by hand.
author:
  - pgha engineers (@pgha)
options:
  state:
    description:
      - V(paused) enters maintenance mode, V(resumed) leaves it.
    type: str
    choices: [paused, resumed]
    required: true
  wait:
    description:
      - Wait until C(GET /cluster) reports the wanted state.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true).
    type: int
    default: 60
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
attributes:
  diff_mode:
    support: full
  idempotent:
    support: full
seealso:
  - module: pgha.cluster.patroni_cluster_info
'''

EXAMPLES = r'''
- name: Pause Patroni before working on PostgreSQL by hand
  pgha.cluster.patroni_maintenance:
    api_url: "{{ patroni_api_urls }}"
    state: paused

- name: Resume automatic failover
  pgha.cluster.patroni_maintenance:
    api_url: "{{ patroni_api_urls }}"
    state: resumed
'''

RETURN = r'''
paused:
  description:
    - Whether the cluster is paused at the end (predicted in check mode).
    - On failure, the state last read from the cluster, never the requested one.
  returned: always
  type: bool
  sample: true
message:
  description: Summary.
  returned: always
  type: str
  sample: cluster paused
diff:
  description: Pause state before and after.
  returned: when diff mode is on and something changed
  type: dict
  sample: {"before": {"paused": false}, "after": {"paused": true}}
'''

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    PatroniApiError,
    current_state,
    fail,
    fail_from_error,
    fetch_cluster_or_fail,
    is_paused,
    patroni_module,
    timeout_message,
    wait_until,
)


def main():
    module, client = patroni_module(
        state=dict(type='str', choices=['paused', 'resumed'], required=True),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=60),
    )
    p = module.params
    want = p['state'] == 'paused'

    before = is_paused(fetch_cluster_or_fail(module, client))
    if before == want:
        module.exit_json(changed=False, paused=before, message='cluster already %s' % p['state'])
    # Until Patroni confirms, the cluster is in the state we read, and a failure says so.
    result = dict(changed=False, paused=before)
    if module.check_mode:
        result.update(changed=True, paused=want, message='would set cluster %s' % p['state'])
    else:
        try:
            client.patch('/config', {'pause': want})
        except PatroniApiError as e:
            fail_from_error(module, e, **result)
        if p['wait']:
            ok, error = wait_until(lambda: is_paused(client.fetch_cluster()) == want, p['wait_timeout'], interval=1.0)
            if not ok:
                now = current_state(client)
                result['paused'] = is_paused(now) if now is not None else before
                fail(module, timeout_message('pause=%s was written but the cluster does not report it' % want,
                                             p['wait_timeout'], error), **result)
        result.update(changed=True, paused=want, message='cluster %s' % p['state'])
    if module._diff:
        result['diff'] = dict(before=dict(paused=before), after=dict(paused=want))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
