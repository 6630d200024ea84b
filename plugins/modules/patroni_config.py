#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: patroni_config
short_description: Change Patroni's dynamic configuration
version_added: 0.1.0
description:
  - Reads the dynamic configuration with C(GET /config), computes the smallest patch that makes it match O(config),
    and sends it with C(PATCH /config) only when that patch is not empty.
  - This is how PostgreSQL parameters of a Patroni cluster are changed; Patroni owns C(postgresql.conf).
  - After a change, reports the members that need a restart (RV(pending_restart)); restart them with
    M(pgha.cluster.patroni_restart).
author:
  - pgha engineers (@pgha)
options:
  config:
    description:
      - Wanted dynamic configuration, as a subset. Keys not given are left alone.
      - Nested dictionaries such as C(postgresql.parameters) are compared key by key.
      - A value of V(null) removes the key.
      - Scalars are compared as strings, with V(on)/V(yes)/V(true) and V(off)/V(no)/V(false) taken as equal
        ignoring case, so V(10) matches C("10") and V(true) matches C("on"). Lists are compared element by element
        the same way. The value sent is the one given.
    type: dict
    required: true
  pending_restart_wait:
    description:
      - After a change, poll C(GET /cluster) for up to this many seconds until a member reports C(pending_restart).
      - Patroni notices pending restarts within C(loop_wait) (10 seconds by default), so set this to about
        C(loop_wait + 5) when changing parameters that need a restart, such as C(shared_buffers).
      - V(0) reads the cluster once.
    type: int
    default: 0
extends_documentation_fragment:
  - pgha.cluster.patroni
  - pgha.cluster.attributes
attributes:
  diff_mode:
    support: full
    details:
      - Shows the whole dynamic configuration before and after.
  idempotent:
    support: full
seealso:
  - module: pgha.cluster.patroni_restart
  - name: Patroni dynamic configuration
    description: Settings that live in the DCS and can be changed at runtime.
    link: https://patroni.readthedocs.io/en/latest/dynamic_configuration.html
'''

EXAMPLES = r'''
- name: Tune PostgreSQL through Patroni
  pgha.cluster.patroni_config:
    api_url: "{{ patroni_api_urls }}"
    api_username: patroni
    api_password: "{{ patroni_restapi_password }}"
    config:
      loop_wait: 10
      postgresql:
        parameters:
          shared_buffers: 1GB
          work_mem: 16MB
          old_setting_to_drop: null
    pending_restart_wait: 15
  register: patroni_config

- name: Restart the members that need it
  pgha.cluster.patroni_restart:
    api_url: "{{ patroni_api_urls }}"
  when: patroni_config.pending_restart | length > 0
'''

RETURN = r'''
config:
  description: Dynamic configuration after the module ran (predicted in check mode).
  returned: always
  type: dict
  sample: {"loop_wait": 10, "postgresql": {"parameters": {"shared_buffers": "1GB"}}}
patch:
  description: The patch sent (or that would be sent in check mode); empty when nothing changed.
  returned: always
  type: dict
  sample: {"postgresql": {"parameters": {"shared_buffers": "1GB"}}}
pending_restart:
  description: Names of members that report C(pending_restart).
  returned: always
  type: list
  elements: str
  sample: [pg-node-1, pg-node-2]
diff:
  description: Dynamic configuration before and after.
  returned: when diff mode is on
  type: dict
'''

import copy

from ansible_collections.pgha.cluster.plugins.module_utils._patroni_api import (
    PatroniApiError,
    fail,
    fail_from_error,
    patroni_module,
    wait_until,
)

TRUE_WORDS = ('on', 'true', 'yes')
FALSE_WORDS = ('off', 'false', 'no')


def normalize(value):
    """Comparable form: Patroni hands back 10 where the user wrote "10", "on" where they wrote true."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in TRUE_WORDS:
            return 'true'
        if low in FALSE_WORDS:
            return 'false'
        return value.strip()
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return dict((k, normalize(v)) for k, v in value.items())
    return value


def strip_none(value):
    if isinstance(value, dict):
        return dict((k, strip_none(v)) for k, v in value.items() if v is not None)
    return value


def compute_patch(current, wanted):
    """Smallest JSON merge patch turning current into something that contains wanted."""
    patch = {}
    current = current if isinstance(current, dict) else {}
    for key, want in wanted.items():
        have = current.get(key)
        if want is None:
            if have is not None:
                patch[key] = None
        elif isinstance(want, dict):
            if isinstance(have, dict):
                sub = compute_patch(have, want)
                if sub:
                    patch[key] = sub
            else:
                cleaned = strip_none(want)
                if cleaned:
                    patch[key] = cleaned
        elif have is None or normalize(have) != normalize(want):
            patch[key] = want
    return patch


def apply_patch(current, patch):
    """What Patroni does with a PATCH: merge dicts, null removes."""
    result = copy.deepcopy(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def pending_restart_members(client, wait):
    def pending():
        names = [m.get('name') for m in client.fetch_cluster()['members'] if m.get('pending_restart')]
        return names or None

    if wait > 0:
        names, dummy = wait_until(pending, wait, interval=1.0)
        return names or []
    return pending() or []


def main():
    module, client = patroni_module(
        config=dict(type='dict', required=True),
        pending_restart_wait=dict(type='int', default=0),
    )
    p = module.params

    try:
        before = client.get('/config')
        if not isinstance(before, dict):
            fail(module, 'unexpected answer to GET /config: %r' % (before,))
        patch = compute_patch(before, p['config'])
        result = dict(changed=bool(patch), patch=patch)
        if not patch or module.check_mode:
            after = apply_patch(before, patch)
            pending = pending_restart_members(client, 0)
        else:
            after = client.patch('/config', patch)
            if not isinstance(after, dict):
                after = client.get('/config')
            pending = pending_restart_members(client, p['pending_restart_wait'])
    except PatroniApiError as e:
        fail_from_error(module, e)

    result.update(config=after, pending_restart=pending)
    if module._diff and patch:
        result['diff'] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
