# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action for pgha.cluster.preflight_check: runs on the controller and contacts no host.

It reads each role's meta/argument_specs.yml from this collection, templates the variables
the user set for every host the role runs on (inventory, group_vars, extra vars), and hands
them to the pure rules in module_utils/_preflight.py. Documentation: plugins/modules/preflight_check.py.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19+: only trusted strings are templated
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older cores template every string
    def trust_as_template(value):
        return value

from ansible_collections.pgha.cluster.plugins.module_utils import _preflight

import yaml

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')

# Roles whose entry points get their inputs from playbook vars (cluster_ops_node, drills_drill, ...):
# their required options are the playbooks' business, only the values a user sets are checked.
OPTIONAL_ROLES = ('cluster_ops', 'drills')

# Variables the rules read besides the roles' own options.
EXTRA_NAMES = ('pgha_node_address', 'patroni_group', 'etcd_group', 'haproxy_group', 'pgbackrest_repo_group',
               'pgbackrest_pg_group')


def _load_yaml(path):
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f) or {}


def role_options(role):
    """The options of a role's spec: main's, or every entry point's merged (cluster_ops)."""
    specs = _load_yaml(os.path.join(ROLES_DIR, role, 'meta', 'argument_specs.yml')).get('argument_specs', {})
    if 'main' in specs and role not in OPTIONAL_ROLES:
        return dict(specs['main'].get('options') or {})
    options = {}
    for entry in specs.values():
        options.update(entry.get('options') or {})
    return options


def tuning_profiles():
    """patroni_node's tuning profiles (the values the memory and WAL rules size)."""
    return _load_yaml(os.path.join(ROLES_DIR, 'patroni_node', 'vars', 'main.yml')).get('__patroni_tuning_profiles', {})


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def _value(self, hostvars, name):
        """(found, value, error) of one variable as the host sees it, templated."""
        if name not in hostvars:
            return False, None, None
        try:
            return True, hostvars[name], None
        except Exception as e:  # any templating error is the user's to see, with the variable named
            return True, None, (to_text(e).strip().splitlines() or [type(e).__name__])[0]

    def _default(self, hostvars, given, option):
        default = option.get('default')
        if not isinstance(default, str) or '{{' not in default:
            return default
        try:
            env = dict(given)
            templar = self._templar.copy_with_new_env(available_variables=_Layered(env, hostvars))
            # The spec is the collection's own file: its defaults are as trusted as its roles' defaults.
            return templar.template(trust_as_template(default))
        except Exception:  # a default that cannot be rendered here is left to the role
            return None

    def cluster(self, task_vars, roles, operation, request):
        """(cluster model, problems): every role's given values checked, effective values for the rules."""
        all_hostvars = task_vars['hostvars']
        groups = dict(task_vars.get('groups', {}))
        problems = {}
        hosts = {}
        for role in sorted(roles):
            options = role_options(role)
            for host in roles[role] or []:
                hostvars = all_hostvars[host]
                given = {}
                for name in options:
                    found, value, error = self._value(hostvars, name)
                    if error:
                        problems.setdefault('%s cannot be evaluated (role %s): %s.' % (name, role, error), []).append(host)
                    elif found:
                        given[name] = value
                converted, refused = _preflight.check_role_arguments(role, options, given,
                                                                     required=role not in OPTIONAL_ROLES)
                for problem in refused:
                    problems.setdefault(problem, []).append(host)
                effective = hosts.setdefault(host, {'vars': {}})['vars']
                for name, option in options.items():
                    if name in converted:
                        effective[name] = converted[name]
                    elif name not in effective and name not in given:
                        effective[name] = self._default(hostvars, converted, option)
        for host in list(hosts) + [h for h in groups.get('all', []) if h not in hosts]:
            hostvars = all_hostvars[host]
            entry = hosts.setdefault(host, {'vars': {}})
            for name in EXTRA_NAMES:
                found, value, error = self._value(hostvars, name)
                if found and not error:
                    entry['vars'][name] = value
        model = {'groups': groups, 'hosts': hosts, 'operation': operation, 'request': request}
        messages = []
        for problem, where in problems.items():
            every = sorted(set(where))
            messages.append('%s Hosts: %s.' % (problem, ', '.join(every)))
        return model, messages

    def connection_problems(self, task_vars, args):
        """One line per host of the play that did not answer, or answered without python3 or sudo."""
        problems = []
        may_be_down = args.get('may_be_unreachable') or []
        become_results = args.get('become_results') or {}
        for host, plain in sorted((args.get('results') or {}).items()):
            hostvars = task_vars['hostvars'][host]
            where = [self._value(hostvars, n)[1] for n in ('ansible_host', 'ansible_connection', 'ansible_user')]
            address, connection, user = where[0] or host, where[1] or 'ssh', where[2]
            plain = plain or {}
            become = become_results.get(host) or {}
            # The tasks register with failed_when: false: an answer is a pong, nothing else.
            if plain.get('ping') != 'pong':
                if host not in may_be_down:
                    problems.append(_preflight.explain_connection(host, address, connection, user, plain))
            elif become.get('ping') != 'pong':
                problems.append(_preflight.explain_connection(host, address, connection, user, become, become=True))
        return problems

    def host_facts(self, task_vars):
        """The facts the host rules read, for each host of the play that gathered them."""
        facts = {}
        for host in task_vars.get('ansible_play_hosts') or []:
            hostvars = task_vars['hostvars'][host]
            entry = {}
            for key, name in (('memtotal_mb', 'ansible_memtotal_mb'), ('mounts', 'ansible_mounts'),
                              ('date_time', 'ansible_date_time')):
                found, value, error = self._value(hostvars, name)
                if found and not error:
                    entry[key] = value
            if 'date_time' in entry:
                entry['epoch'] = entry.pop('date_time').get('epoch')
            facts[host] = entry
        return facts

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        stage = args.get('stage', 'inputs')
        roles = args.get('roles') or {}
        if not isinstance(roles, dict):
            raise AnsibleError('roles must map role names to lists of hosts')
        operation = args.get('operation', 'site')
        request = {k: v for k, v in (args.get('request') or {}).items() if v is not None}

        if stage != 'connection':
            model, problems = self.cluster(task_vars, roles, operation, request)
        if stage == 'inputs':
            # Types first: rules between variables only mean something once each value is right.
            if not problems:
                problems = _preflight.check_inventory(model)
            # The host names members must resolve (members registered under a name, not an address).
            result['names'] = sorted(_preflight.member_names(model))
        elif stage == 'hosts':
            facts = self.host_facts(task_vars)
            resolved = {}
            for host, lookup in (args.get('resolved') or {}).items():
                # A skipped lookup (no names, or a host that may be down) says nothing.
                for item in (lookup or {}).get('results', []):
                    resolved.setdefault(host, {})[item['item']] = item.get('rc') == 0
            problems = _preflight.check_hosts(model, facts, tuning_profiles(), float(args['started']),
                                              float(args['finished']), int(args.get('max_clock_skew', 5)), resolved)
        elif stage == 'connection':
            problems = self.connection_problems(task_vars, args)
        else:
            raise AnsibleError('stage must be inputs, connection or hosts, not %r' % (stage,))

        result['changed'] = False
        result['problems'] = problems
        if problems:
            result['failed'] = True
            result['msg'] = 'Preflight refused %d input(s); nothing was changed:\n- %s' % (
                len(problems), '\n- '.join(problems))
        else:
            result['msg'] = 'Preflight: every %s check passed' % stage
        return result


class _Layered(dict):
    """The values a user gave over the host's own variables, for rendering a role default."""

    def __init__(self, given, hostvars):
        super(_Layered, self).__init__(given)
        self._hostvars = hostvars

    def __missing__(self, key):
        return self._hostvars[key]

    def __contains__(self, key):
        return dict.__contains__(self, key) or key in self._hostvars

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default
