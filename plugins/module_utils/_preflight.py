# -*- coding: utf-8 -*-
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The preflight rules: every role's argument spec and the rules between variables.

PRIVATE to the pgha.cluster collection (hence the leading underscore): any name in it may
change in any release. The action plugin pgha.cluster.preflight_check gathers the values
(templated inventory and extra vars, host facts) and calls the functions here; they are pure
(no Ansible runtime, no I/O), so tests/unit/plugins/module_utils/test_preflight.py covers each
rule with a passing and a refused case.

Every refusal is one line that names the variable (or host), its value and the fix.
"""

from __future__ import annotations

import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

HIDDEN = '********'

# Spec keys that document rather than validate.
_DOC_KEYS = ('description', 'short_description', 'version_added', 'default')


# --------------------------------------------------------------------------- sizes

_UNITS = {'b': 1, 'kb': 1024, 'mb': 1024 ** 2, 'gb': 1024 ** 3, 'tb': 1024 ** 4}


def parse_size(value, default_unit='mb'):
    """Bytes of a PostgreSQL size ('256MB', '2GB', 1024), None for -1, '' or None.

    A bare number is in default_unit (max_wal_size and wal_keep_size count in MB).
    """
    if value is None or value == '':
        return None
    text = str(value).strip().lower().replace(' ', '')
    if text == '-1':
        return None
    match = re.match(r'^([0-9]+(?:\.[0-9]+)?)([kmgt]?b)?$', text)
    if not match:
        raise ValueError('%r is no size (use for example 512MB or 4GB)' % (value,))
    return int(float(match.group(1)) * _UNITS[match.group(2) or default_unit])


def _human(size):
    for unit in ('TB', 'GB', 'MB', 'kB'):
        if size >= _UNITS[unit.lower()]:
            return '%.1f %s' % (size / _UNITS[unit.lower()], unit)
    return '%d B' % size


# --------------------------------------------------------------------------- argument specs

def _shown(value, option):
    return HIDDEN if option.get('no_log') else repr(value)


def _what_is_allowed(option):
    if option.get('choices') is not None:
        return 'must be one of: %s' % ', '.join(str(c) for c in option['choices'])
    if option.get('type') == 'list' and option.get('elements'):
        return 'must be a list of %s' % option['elements']
    return 'must be of type %s' % option.get('type', 'str')


def check_role_arguments(role, options, values, required=True):
    """Check the values a user gave against one role's argument spec options.

    options: the role's spec (argument_specs.<entry>.options); values: {name: value} for the
    names the user set. Only given values are checked (a role's defaults are its own), plus
    the required options when required is true.
    Returns ({name: converted value}, [refusal, ...]).
    """
    converted = {}
    problems = []
    for name in sorted(options):
        option = {k: v for k, v in options[name].items() if k not in _DOC_KEYS}
        if not required:
            option.pop('required', None)
        if name not in values:
            if option.get('required'):
                problems.append('%s is required (role %s) and not set: set it in the inventory (a vault for secrets).'
                                % (name, role))
            continue
        value = values[name]
        result = ArgumentSpecValidator({name: option}).validate({name: value}, validate_role_argument_spec=True)
        if result.error_messages:
            problems.append('%s = %s %s (role %s).' % (name, _shown(value, option), _what_is_allowed(option), role))
        else:
            converted[name] = result.validated_parameters.get(name, value)
    return converted, problems


# --------------------------------------------------------------------------- cluster model
#
# cluster = {
#   'groups': {group: [host, ...]},
#   'hosts': {host: {'vars': {name: value}}},   # effective values (given or role default)
#   'request': {name: value},                   # the operation's extra vars
#   'operation': 'site' | 'remove_node' | 'restore' | 'drills' | 'rolling_restart' | 'rolling_update',
# }

def _group(cluster, name):
    return list(cluster.get('groups', {}).get(name) or [])


def _var(cluster, host, name, default=None):
    value = cluster['hosts'].get(host, {}).get('vars', {}).get(name)
    return default if value is None else value


def _first(cluster, group, name, default=None):
    hosts = _group(cluster, group)
    return _var(cluster, hosts[0], name, default) if hosts else default


def _patroni_group(cluster):
    return _first_any(cluster, 'patroni_group', 'patroni')


def _etcd_group(cluster):
    return _first_any(cluster, 'etcd_group', 'etcd')


def _first_any(cluster, name, default):
    for host in sorted(cluster['hosts']):
        value = _var(cluster, host, name)
        if value is not None:
            return value
    return default


def _bool(value):
    return str(value).strip().lower() in ('1', 'true', 'yes', 'on', 'y', 't')


def rule_sync_standbys(cluster):
    """Synchronous mode asks for no more standbys than the cluster has replicas."""
    members = _group(cluster, _patroni_group(cluster))
    if not members or not _bool(_first(cluster, _patroni_group(cluster), 'patroni_synchronous_mode', False)):
        return []
    count = int(_first(cluster, _patroni_group(cluster), 'patroni_synchronous_node_count', 1))
    replicas = len(members) - 1
    problems = []
    if count < 1:
        problems.append('patroni_synchronous_node_count = %d: synchronous mode needs at least 1 synchronous standby; '
                        'set it to 1 or turn patroni_synchronous_mode off.' % count)
    elif count > replicas:
        problems.append('patroni_synchronous_node_count = %d but the %d-member cluster has %d replica(s): every replica '
                        'would be a synchronous standby and one more would never come; set patroni_synchronous_node_count '
                        'to at most %d (1 is usual).' % (count, len(members), replicas, max(replicas, 1)))
    if replicas < 1 and _bool(_first(cluster, _patroni_group(cluster), 'patroni_synchronous_mode_strict', False)):
        problems.append('patroni_synchronous_mode_strict = true on a single-member cluster refuses every write: add a '
                        'replica or set patroni_synchronous_mode_strict: false.')
    return problems


def rule_etcd_membership(cluster):
    """An odd etcd group, and Patroni pointed at that group on etcd's port and scheme."""
    etcd_group = _etcd_group(cluster)
    etcd = _group(cluster, etcd_group)
    members = _group(cluster, _patroni_group(cluster))
    problems = []
    if len(etcd) % 2 == 0:
        problems.append("The '%s' group has %d hosts (%s): etcd needs an odd number (1, 3 or 5) to keep a majority. "
                        'Add or remove a host in the inventory.' % (etcd_group, len(etcd), ', '.join(etcd) or 'none'))
    if not members:
        return problems
    patroni_etcd_group = _first(cluster, _patroni_group(cluster), 'patroni_etcd_group', 'etcd')
    if sorted(_group(cluster, patroni_etcd_group)) != sorted(etcd):
        problems.append("patroni_etcd_group = '%s' (hosts: %s) but etcd runs on group '%s' (hosts: %s): Patroni would "
                        'look for the DCS elsewhere; set patroni_etcd_group: %s.'
                        % (patroni_etcd_group, ', '.join(_group(cluster, patroni_etcd_group)) or 'none', etcd_group,
                           ', '.join(etcd) or 'none', etcd_group))
    if etcd:
        pairs = (('patroni_etcd_client_port', 'etcd_client_port', 2379),)
        for patroni_name, etcd_name, default in pairs:
            theirs = int(_var(cluster, etcd[0], etcd_name, default))
            ours = int(_first(cluster, _patroni_group(cluster), patroni_name, default))
            if ours != theirs:
                problems.append('%s = %d but etcd listens on %s = %d: Patroni could not reach the DCS; set both to '
                                'the same port.' % (patroni_name, ours, etcd_name, theirs))
        etcd_tls = _var(cluster, etcd[0], 'etcd_tls_enabled', True)
        patroni_tls = _first(cluster, _patroni_group(cluster), 'patroni_etcd_tls', etcd_tls)
        if _bool(etcd_tls) != _bool(patroni_tls):
            problems.append('patroni_etcd_tls = %s but etcd_tls_enabled = %s: Patroni would speak the wrong scheme to '
                            'etcd; leave patroni_etcd_tls unset (it follows etcd_tls_enabled).'
                            % (str(_bool(patroni_tls)).lower(), str(_bool(etcd_tls)).lower()))
    return problems


def rule_unique_members(cluster):
    """Member names and cluster addresses are unique."""
    members = _group(cluster, _patroni_group(cluster))
    problems = []
    names = {}
    for host in members:
        names.setdefault(str(_var(cluster, host, 'patroni_name', host)), []).append(host)
    for name, hosts in sorted(names.items()):
        if len(hosts) > 1:
            problems.append("Hosts %s share the Patroni member name '%s': give each host its own patroni_name."
                            % (', '.join(hosts), name))
    addresses = {}
    for host in sorted(cluster['hosts']):
        address = _var(cluster, host, 'pgha_node_address')
        if address:
            addresses.setdefault(str(address), []).append(host)
    for address, hosts in sorted(addresses.items()):
        if len(hosts) > 1:
            problems.append('Hosts %s share pgha_node_address %s: give each host its own address.'
                            % (', '.join(hosts), address))
    return problems


# Ports each role opens on its hosts: (role group variable, default group, variable, default).
PORTS = (
    ('patroni', 'patroni_postgresql_port', 5432),
    ('patroni', 'patroni_restapi_port', 8008),
    ('patroni', 'pgbouncer_port', 6432),
    ('etcd', 'etcd_client_port', 2379),
    ('etcd', 'etcd_peer_port', 2380),
    ('haproxy', 'haproxy_primary_port', 5000),
    ('haproxy', 'haproxy_replica_port', 5001),
    ('haproxy', 'haproxy_direct_primary_port', 5002),
    ('haproxy', 'haproxy_direct_replica_port', 5003),
    ('haproxy', 'haproxy_stats_port', 7000),
    ('dbhub', 'dbhub_port', 9090),
    ('pgbackrest', 'pgbackrest_tls_port', 8432),
)


def _port_owners(cluster, host):
    groups = {
        'patroni': _patroni_group(cluster),
        'etcd': _etcd_group(cluster),
        'haproxy': _first_any(cluster, 'haproxy_group', 'haproxy'),
        'dbhub': 'dbhub',
        'pgbackrest': None,
    }
    owners = []
    for kind, name, default in PORTS:
        if kind == 'pgbackrest':
            on_host = host in _group(cluster, _first_any(cluster, 'pgbackrest_repo_group', 'pgbackrest')) \
                or host in _group(cluster, _first_any(cluster, 'pgbackrest_pg_group', 'patroni'))
        else:
            on_host = host in _group(cluster, groups[kind])
        if on_host:
            port = int(_var(cluster, host, name, default))
            if port != 0:  # 0 leaves HAProxy's direct endpoints out
                owners.append((name, port))
    return owners


def rule_ports(cluster):
    """No two services on one host share a port, and each port is a real one."""
    problems = []
    for host in sorted(cluster['hosts']):
        seen = {}
        for name, port in _port_owners(cluster, host):
            if not 0 < port < 65536:
                problems.append('%s = %d on %s is no TCP port: use 1-65535.' % (name, port, host))
            seen.setdefault(port, []).append(name)
        for port, names in sorted(seen.items()):
            if len(names) > 1:
                problems.append('Port %d on %s is claimed by %s: give each service its own port.'
                                % (port, host, ' and '.join(names)))
    return problems


def rule_ports_agree(cluster):
    """The ports one role connects to are the ports another role listens on."""
    members = _group(cluster, _patroni_group(cluster))
    if not members:
        return []
    pg_port = int(_var(cluster, members[0], 'patroni_postgresql_port', 5432))
    api_port = int(_var(cluster, members[0], 'patroni_restapi_port', 8008))
    bouncer_port = int(_var(cluster, members[0], 'pgbouncer_port', 6432))
    expect = [(members[0], 'pgbouncer_postgresql_port', 5432, pg_port, 'patroni_postgresql_port')]
    problems = []
    for host in _group(cluster, _first_any(cluster, 'haproxy_group', 'haproxy')):
        expect.append((host, 'haproxy_postgresql_port', 5432, pg_port, 'patroni_postgresql_port'))
        expect.append((host, 'haproxy_patroni_restapi_port', 8008, api_port, 'patroni_restapi_port'))
        pooled = int(_var(cluster, host, 'haproxy_pooled_port', 6432))
        if pooled not in (bouncer_port, pg_port):
            problems.append('haproxy_pooled_port = %d on %s but PgBouncer listens on pgbouncer_port = %d (and '
                            'PostgreSQL on %d): set haproxy_pooled_port to one of them.'
                            % (pooled, host, bouncer_port, pg_port))
    for host, name, default, wanted, source in expect:
        value = int(_var(cluster, host, name, default))
        if value != wanted:
            problems.append('%s = %d on %s but %s = %d: set %s: %d.' % (name, value, host, source, wanted, name, wanted))
    return problems


_LSN = re.compile(r'^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$')


def rule_restore_request(cluster):
    """A restore names at most one target, a well-formed LSN, a member, and has a repository."""
    if cluster.get('operation') != 'restore':
        return []
    request = cluster.get('request', {})
    problems = []
    targets = [n for n in ('restore_target_time', 'restore_target_lsn', 'restore_target_name') if request.get(n)]
    if len(targets) > 1:
        problems.append('give one of restore_target_time, restore_target_lsn, restore_target_name (or none for the end '
                        'of the archive), not %s.' % ' and '.join(targets))
    lsn = request.get('restore_target_lsn')
    if lsn and not _LSN.match(str(lsn)):
        problems.append("restore_target_lsn = '%s' is no LSN: write it as PostgreSQL prints it, e.g. 0/5000028." % lsn)
    members = _group(cluster, _first_any(cluster, 'pgbackrest_pg_group', 'patroni'))
    node = request.get('restore_node')
    if node and node not in members:
        problems.append("restore_node = '%s' is not a member of the cluster (%s): name one of them."
                        % (node, ', '.join(members)))
    repo_group = _first_any(cluster, 'pgbackrest_repo_group', 'pgbackrest')
    if len(_group(cluster, repo_group)) != 1:
        problems.append("A restore needs the one pgBackRest repository host of group '%s' (found %d): add it to the "
                        'inventory.' % (repo_group, len(_group(cluster, repo_group))))
    return problems


def rule_remove_request(cluster):
    """remove_node names a host of this inventory."""
    if cluster.get('operation') != 'remove_node':
        return []
    node = cluster.get('request', {}).get('node') or ''
    if not node:
        return ['Name the member to remove: -e node=<inventory host>.']
    if node not in cluster['hosts'] and node not in _group(cluster, 'all'):
        return ['%s is not a host of this inventory (hosts: %s). Check the name.'
                % (node, ', '.join(sorted(cluster['hosts'])))]
    return []


def rule_drills_request(cluster):
    """A drill's target is a member of the cluster."""
    if cluster.get('operation') != 'drills':
        return []
    target = cluster.get('request', {}).get('drills_target') or ''
    members = _group(cluster, _patroni_group(cluster))
    names = [str(_var(cluster, h, 'patroni_name', h)) for h in members]
    if target and target not in names:
        return ["drills_target = '%s' is not a member (members: %s): name one of them or leave it empty."
                % (target, ', '.join(names))]
    return []


INVENTORY_RULES = (
    rule_sync_standbys,
    rule_etcd_membership,
    rule_unique_members,
    rule_ports,
    rule_ports_agree,
    rule_restore_request,
    rule_remove_request,
    rule_drills_request,
)


def check_inventory(cluster):
    """Every inventory rule's refusals, in rule order."""
    problems = []
    for rule in INVENTORY_RULES:
        problems.extend(rule(cluster))
    return problems


# --------------------------------------------------------------------------- host facts
#
# facts = {host: {'memtotal_mb': int, 'epoch': float, 'mounts': [{'mount': str, 'size_available': int}]}}

def _parameters(cluster, host, profiles):
    profile = str(_var(cluster, host, 'patroni_tuning_profile', 'small'))
    params = dict(profiles.get(profile, {}))
    slot = _var(cluster, host, 'patroni_max_slot_wal_keep_size')
    if slot not in (None, ''):
        params['max_slot_wal_keep_size'] = slot
    params.update(_var(cluster, host, 'patroni_postgresql_parameters', {}) or {})
    return profile, params


def rule_memory(cluster, facts, profiles):
    """shared_buffers, maintenance_work_mem and one work_mem per connection fit in the host's memory."""
    problems = []
    for host in _group(cluster, _patroni_group(cluster)):
        mem = facts.get(host, {}).get('memtotal_mb')
        if not mem:
            continue
        profile, params = _parameters(cluster, host, profiles)
        shared = parse_size(params.get('shared_buffers', '128MB')) or 0
        maint = parse_size(params.get('maintenance_work_mem', '64MB')) or 0
        work = parse_size(params.get('work_mem', '4MB')) or 0
        conns = int(params.get('max_connections', 100))
        need = shared + maint + conns * work
        if need > mem * 1024 ** 2:
            problems.append('%s has %s of memory but patroni_tuning_profile = %s asks for %s (shared_buffers %s + '
                            'maintenance_work_mem %s + max_connections %d x work_mem %s): choose a smaller profile or '
                            'lower them in patroni_postgresql_parameters.'
                            % (host, _human(mem * 1024 ** 2), profile, _human(need), _human(shared), _human(maint),
                               conns, _human(work)))
    return problems


def _mount_of(path, mounts):
    best = None
    for mount in mounts:
        point = mount.get('mount', '')
        if path == point or path.startswith(point.rstrip('/') + '/') or point == '/':
            if best is None or len(point) > len(best.get('mount', '')):
                best = mount
    return best


def rule_wal_space(cluster, facts, profiles):
    """The data directory's file system holds the WAL the configured limits let PostgreSQL keep."""
    problems = []
    for host in _group(cluster, _patroni_group(cluster)):
        mounts = facts.get(host, {}).get('mounts')
        if not mounts:
            continue
        data_dir = str(_var(cluster, host, 'patroni_data_dir', '/var/lib/postgresql/18/main'))
        mount = _mount_of(data_dir, mounts)
        if mount is None or mount.get('size_available') is None:
            continue
        profile, params = _parameters(cluster, host, profiles)
        parts = [(n, parse_size(params.get(n, d))) for n, d in
                 (('max_wal_size', '1GB'), ('wal_keep_size', '0'), ('max_slot_wal_keep_size', '-1'))]
        need = sum(size for dummy, size in parts if size)
        free = int(mount['size_available'])
        if need > free:
            problems.append('%s has %s free on %s (holding %s) but the WAL limits let pg_wal grow to %s (%s): free '
                            'space there, or lower patroni_max_slot_wal_keep_size / max_wal_size.'
                            % (host, _human(free), mount.get('mount'), data_dir, _human(need),
                               ', '.join('%s %s' % (n, _human(s)) for n, s in parts if s)))
    return problems


def rule_clock_skew(facts, started, finished, max_skew):
    """Every host's clock reads the controller's time, within max_skew seconds.

    started/finished: the controller's clock before and after the hosts read theirs.
    """
    problems = []
    for host in sorted(facts):
        epoch = facts[host].get('epoch')
        if epoch is None:
            continue
        epoch = float(epoch)
        if epoch < started - max_skew or epoch > finished + max_skew:
            off = epoch - started if epoch < started else epoch - finished
            problems.append("%s's clock is %+.0f s off the controller's (more than %d s): Patroni's leader lease and "
                            'TLS certificates need agreeing clocks; enable NTP (systemd-timesyncd or chrony) there.'
                            % (host, off, max_skew))
    return problems


_IPV4 = re.compile(r'^[0-9]{1,3}([.][0-9]{1,3}){3}$')


def member_names(cluster):
    """{name: host} of the members registered under a host name (patroni_address) rather than an address."""
    names = {}
    for host in _group(cluster, _patroni_group(cluster)):
        address = _var(cluster, host, 'patroni_address') or _var(cluster, host, 'pgha_node_address')
        if address and not _IPV4.match(str(address)):
            names[str(address)] = host
    return names


def rule_names_resolve(cluster, resolved):
    """Every member resolves the host names the others are registered under.

    resolved: {member: {name: True when it resolves there}}.
    """
    problems = []
    names = member_names(cluster)
    for host in sorted(resolved):
        for name, ok in sorted((resolved[host] or {}).items()):
            if not ok:
                problems.append("%s cannot resolve '%s' (patroni_address of %s): replication and Patroni's REST API "
                                'would fail; add it to DNS or /etc/hosts on every member, or use the IP address.'
                                % (host, name, names.get(name, 'a member')))
    return problems


def check_hosts(cluster, facts, profiles, started, finished, max_skew, resolved=None):
    """Every host-fact rule's refusals."""
    return (rule_memory(cluster, facts, profiles) + rule_wal_space(cluster, facts, profiles)
            + rule_clock_skew(facts, started, finished, max_skew) + rule_names_resolve(cluster, resolved or {}))


# --------------------------------------------------------------------------- connections

def explain_connection(host, address, connection, user, result, become=False):
    """One line naming an unreachable or unusable host, how it was reached and the likely fix."""
    text = ' '.join(str(result.get(k, '')) for k in ('module_stderr', 'stderr', 'msg', 'module_stdout'))
    lower = text.lower()
    how = '%s (address %s, connection %s%s)' % (host, address, connection, ', user %s' % user if user else '')
    if become and ('password is required' in lower or 'missing sudo password' in lower
                   or 'incorrect sudo password' in lower or 'sorry, try again' in lower):
        fix = ('sudo asks for a password: run with --ask-become-pass (-K), or give the operator passwordless sudo '
               '(NOPASSWD) for Ansible')
    elif 'python' in lower and ('not found' in lower or 'no such file' in lower):
        fix = ('python3 is missing there: install it (apt-get install python3), or point ansible_python_interpreter '
               'at the host\'s Python 3')
    elif connection.endswith('docker') and ('no such container' in lower or 'is not running' in lower
                                            or 'not found' in lower):
        fix = ('its container does not exist or is stopped: start the lab (scripts/lab.sh up) or fix ansible_host '
               '(the container\'s name)')
    elif 'permission denied' in lower or 'authentication' in lower:
        fix = ('the login was refused: check ansible_user and its SSH key (ssh-copy-id), then ssh %s by hand'
               % (address,))
    elif 'host key' in lower:
        fix = 'its SSH host key is unknown or changed: check it and add it to known_hosts'
    elif 'connection refused' in lower:
        fix = 'nothing listens for SSH there: start sshd, or fix ansible_host / ansible_port'
    elif 'timed out' in lower or 'no route' in lower or 'could not resolve' in lower \
            or 'name or service not known' in lower:
        fix = 'the address does not answer: fix ansible_host, the route or the firewall'
    else:
        fix = 'check that the host is up and that ansible_host, ansible_user and ansible_connection are right'
    first = text.strip().splitlines()[0][:200] if text.strip() else 'no answer'
    return 'Cannot use %s: %s. (Ansible said: %s)' % (how, fix, first)
