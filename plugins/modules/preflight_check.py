#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: preflight_check
short_description: Refuse bad inventories before any host is changed
version_added: 0.1.0
description:
  - Runs on the controller only (an action plugin; it contacts no host).
  - With O(stage=inputs), checks every variable the user set for each host a role runs on against that role's
    C(meta/argument_specs.yml) (type, choices, required), then the rules between variables (synchronous standbys
    against replicas, etcd membership against Patroni, ports that collide on one host or disagree between roles,
    the request of a restore, a removal or a drill).
  - With O(stage=hosts), checks the facts the hosts of the play gathered (C(ansible_memtotal_mb) against the tuning
    profile, C(ansible_mounts) against the WAL limits, C(ansible_date_time.epoch) against the controller's clock),
    and that every member resolves the host names other members are registered under (O(resolved)).
  - With O(stage=connection), names each host of the play that could not be reached or used (no answer, no
    python3, sudo asking for a password) with its address, connection plugin and the likely fix.
  - Each refusal is one line naming the variable or host, its value and the fix. The rules live in the
    collection's C(module_utils/_preflight.py).
author:
  - pgha engineers (@pgha)
options:
  stage:
    description: Which checks to run.
    type: str
    choices: [inputs, connection, hosts]
    default: inputs
  roles:
    description: Role name (a role of this collection) to the list of inventory hosts it runs on.
    type: dict
    required: true
  operation:
    description: The playbook being run; the request rules of that operation apply.
    type: str
    choices: [site, remove_node, restore, drills, rolling_restart, rolling_update]
    default: site
  request:
    description: The operation's extra vars (node, restore_target_time, drills_target, ...); unset ones are null.
    type: dict
    default: {}
  results:
    description: O(stage=connection) only. Host name to the registered result of a ping.
    type: dict
    default: {}
  become_results:
    description: O(stage=connection) only. Host name to the registered result of a ping with become.
    type: dict
    default: {}
  may_be_unreachable:
    description: O(stage=connection) only. Hosts allowed not to answer (the member remove_node takes out).
    type: list
    elements: str
    default: []
  started:
    description: O(stage=hosts) only. The controller's clock (epoch seconds) before the hosts read theirs.
    type: float
  finished:
    description: O(stage=hosts) only. The controller's clock (epoch seconds) after the hosts read theirs.
    type: float
  resolved:
    description:
      - O(stage=hosts) only. Host name to the registered result of a loop of C(getent hosts) over the member names
        O(stage=inputs) returned as RV(names).
    type: dict
    default: {}
  max_clock_skew:
    description: O(stage=hosts) only. Seconds a host's clock may differ from the controller's.
    type: int
    default: 5
extends_documentation_fragment:
  - pgha.cluster.attributes
  - pgha.cluster.attributes.INFO_MODULE
'''

EXAMPLES = r'''
- name: Check every role's variables and the rules between them
  pgha.cluster.preflight_check:
    roles:
      etcd: "{{ groups['etcd'] }}"
      patroni_node: "{{ groups['patroni'] }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
names:
  description: O(stage=inputs) only. Host names members are registered under (patroni_address); each member must resolve them.
  returned: when O(stage=inputs)
  type: list
  elements: str
problems:
  description: The refusals, one line each (empty when every check passed).
  returned: always
  type: list
  elements: str
'''
