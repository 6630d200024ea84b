# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight rules (plugins/module_utils/_preflight.py): each with a passing and a refused case."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.pgha.cluster.plugins.module_utils import _preflight as pf

PROFILES = {
    'small': {'shared_buffers': '256MB', 'work_mem': '4MB', 'maintenance_work_mem': '64MB',
              'max_slot_wal_keep_size': '2GB'},
    'large': {'shared_buffers': '8GB', 'work_mem': '64MB', 'maintenance_work_mem': '2GB',
              'max_slot_wal_keep_size': '32GB'},
}
GB = 1024 ** 3


def cluster(members=3, **overrides):
    """A healthy lab-like model: members pg-node-N (etcd too), a repository and a HAProxy/DBHub host."""
    names = ['pg-node-%d' % i for i in range(1, members + 1)]
    hosts = {n: {'vars': {'pgha_node_address': '10.0.0.%d' % (10 + i)}} for i, n in enumerate(names, 1)}
    hosts['pgbackrest-1'] = {'vars': {'pgha_node_address': '10.0.0.20'}}
    hosts['dbhub-1'] = {'vars': {'pgha_node_address': '10.0.0.30'}}
    model = {
        'groups': {'all': sorted(hosts), 'patroni': list(names), 'etcd': list(names), 'pgbackrest': ['pgbackrest-1'],
                   'haproxy': ['dbhub-1'], 'dbhub': ['dbhub-1']},
        'hosts': hosts,
        'operation': 'site',
        'request': {},
    }
    for key, value in overrides.items():
        model[key] = value
    return model


def set_var(model, hosts, **values):
    model = copy.deepcopy(model)
    for host in hosts:
        model['hosts'][host]['vars'].update(values)
    return model


MEMBERS = ['pg-node-1', 'pg-node-2', 'pg-node-3']


# --------------------------------------------------------------------------- argument specs

SPEC = {
    'patroni_timing_profile': {'type': 'str', 'choices': ['default', 'fast'], 'default': 'default',
                               'description': 'x'},
    'patroni_synchronous_node_count': {'type': 'int', 'default': 1},
    'patroni_tags': {'type': 'dict', 'default': {}},
    'patroni_hba_client_networks': {'type': 'list', 'elements': 'str', 'default': []},
    'patroni_superuser_password': {'type': 'str', 'required': True, 'no_log': True},
}


def test_arguments_pass_and_convert():
    converted, problems = pf.check_role_arguments('patroni_node', SPEC, {
        'patroni_timing_profile': 'fast', 'patroni_synchronous_node_count': '2',
        'patroni_superuser_password': 's3cret-s3cret'})
    assert problems == []
    assert converted['patroni_synchronous_node_count'] == 2


def test_arguments_refuse_a_choice_naming_value_choices_and_role():
    _, problems = pf.check_role_arguments('patroni_node', SPEC, {'patroni_timing_profile': 'turbo',
                                                                 'patroni_superuser_password': 'x' * 12})
    assert problems == ["patroni_timing_profile = 'turbo' must be one of: default, fast (role patroni_node)."]


@pytest.mark.parametrize('name,value,allowed', [
    ('patroni_synchronous_node_count', 'three', 'must be of type int'),
    ('patroni_tags', 'nofailover', 'must be of type dict'),
    ('patroni_hba_client_networks', {'net': '10.0.0.0/8'}, 'must be a list of str'),
])
def test_arguments_refuse_a_type(name, value, allowed):
    _, problems = pf.check_role_arguments('patroni_node', SPEC, {name: value, 'patroni_superuser_password': 'x' * 12})
    assert len(problems) == 1 and name in problems[0] and allowed in problems[0] and repr(value) in problems[0]


def test_arguments_refuse_a_missing_required_value():
    _, problems = pf.check_role_arguments('patroni_node', SPEC, {})
    assert problems == ['patroni_superuser_password is required (role patroni_node) and not set: '
                        'set it in the inventory (a vault for secrets).']
    # Roles whose inputs come from the playbooks (cluster_ops, drills) check given values only.
    assert pf.check_role_arguments('drills', SPEC, {}, required=False)[1] == []


def test_arguments_never_show_a_secret():
    _, problems = pf.check_role_arguments('patroni_node', {'pw': {'type': 'int', 'no_log': True}}, {'pw': 'hunter2'})
    assert len(problems) == 1 and 'hunter2' not in problems[0] and pf.HIDDEN in problems[0]


# --------------------------------------------------------------------------- inventory rules

def test_sync_standbys():
    assert pf.rule_sync_standbys(set_var(cluster(), MEMBERS, patroni_synchronous_mode=True,
                                         patroni_synchronous_node_count=2)) == []
    # Not in synchronous mode, the count means nothing.
    assert pf.rule_sync_standbys(set_var(cluster(), MEMBERS, patroni_synchronous_node_count=5)) == []
    refused = pf.rule_sync_standbys(set_var(cluster(), MEMBERS, patroni_synchronous_mode=True,
                                            patroni_synchronous_node_count=3))
    assert len(refused) == 1 and 'patroni_synchronous_node_count = 3' in refused[0] and 'at most 2' in refused[0]


def test_sync_strict_single_member():
    one = set_var(cluster(members=1), ['pg-node-1'], patroni_synchronous_mode=True,
                  patroni_synchronous_mode_strict=True, patroni_synchronous_node_count=1)
    refused = pf.rule_sync_standbys(one)
    assert any('patroni_synchronous_mode_strict' in p for p in refused)
    assert pf.rule_sync_standbys(set_var(cluster(members=2), ['pg-node-1', 'pg-node-2'],
                                         patroni_synchronous_mode=True, patroni_synchronous_mode_strict=True)) == []


def test_etcd_group_odd():
    assert pf.rule_etcd_membership(cluster()) == []
    even = cluster()
    even['groups']['etcd'] = MEMBERS[:2]
    even['groups']['patroni'] = MEMBERS[:2]
    refused = pf.rule_etcd_membership(even)
    assert len(refused) == 1 and "'etcd' group has 2 hosts" in refused[0]


def test_patroni_points_at_the_etcd_group():
    moved = cluster()
    moved['groups']['dcs'] = moved['groups'].pop('etcd')
    ok = set_var(moved, list(moved['hosts']), etcd_group='dcs', patroni_etcd_group='dcs')
    assert pf.rule_etcd_membership(ok) == []
    refused = pf.rule_etcd_membership(set_var(moved, list(moved['hosts']), etcd_group='dcs'))
    assert any("patroni_etcd_group = 'etcd'" in p and 'set patroni_etcd_group: dcs' in p for p in refused)


def test_patroni_and_etcd_agree_on_port_and_tls():
    assert pf.rule_etcd_membership(set_var(cluster(), MEMBERS, etcd_client_port=2479,
                                           patroni_etcd_client_port=2479)) == []
    refused = pf.rule_etcd_membership(set_var(cluster(), MEMBERS, etcd_client_port=2479))
    assert refused == ['patroni_etcd_client_port = 2379 but etcd listens on etcd_client_port = 2479: Patroni could not '
                       'reach the DCS; set both to the same port.']
    refused = pf.rule_etcd_membership(set_var(cluster(), MEMBERS, etcd_tls_enabled=False, patroni_etcd_tls=True))
    assert len(refused) == 1 and 'patroni_etcd_tls = true but etcd_tls_enabled = false' in refused[0]


def test_unique_names_and_addresses():
    assert pf.rule_unique_members(cluster()) == []
    refused = pf.rule_unique_members(set_var(cluster(), MEMBERS[:2], patroni_name='db'))
    assert refused == ["Hosts pg-node-1, pg-node-2 share the Patroni member name 'db': give each host its own "
                       'patroni_name.']
    refused = pf.rule_unique_members(set_var(cluster(), ['pg-node-3', 'dbhub-1'], pgha_node_address='10.0.0.99'))
    assert refused == ['Hosts dbhub-1, pg-node-3 share pgha_node_address 10.0.0.99: give each host its own address.']


def test_ports_collide_on_one_host():
    assert pf.rule_ports(cluster()) == []
    refused = pf.rule_ports(set_var(cluster(), MEMBERS, patroni_restapi_port=5432))
    assert refused[0] == ('Port 5432 on pg-node-1 is claimed by patroni_postgresql_port and patroni_restapi_port: '
                          'give each service its own port.')
    assert len(refused) == 3
    # HAProxy and DBHub share dbhub-1.
    refused = pf.rule_ports(set_var(cluster(), ['dbhub-1'], dbhub_port=7000))
    assert refused == ['Port 7000 on dbhub-1 is claimed by haproxy_stats_port and dbhub_port: give each service its '
                       'own port.']
    # 0 leaves HAProxy's direct endpoints out: two of them are no collision.
    assert pf.rule_ports(set_var(cluster(), ['dbhub-1'], haproxy_direct_primary_port=0,
                                 haproxy_direct_replica_port=0)) == []


def test_port_range():
    refused = pf.rule_ports(set_var(cluster(), ['pgbackrest-1'], pgbackrest_tls_port=70000))
    assert refused == ['pgbackrest_tls_port = 70000 on pgbackrest-1 is no TCP port: use 1-65535.']


def test_ports_agree_between_roles():
    moved = set_var(cluster(), MEMBERS, patroni_postgresql_port=5433, pgbouncer_postgresql_port=5433)
    assert pf.rule_ports_agree(set_var(moved, ['dbhub-1'], haproxy_postgresql_port=5433)) == []
    refused = pf.rule_ports_agree(moved)
    assert refused == ['haproxy_postgresql_port = 5432 on dbhub-1 but patroni_postgresql_port = 5433: '
                       'set haproxy_postgresql_port: 5433.']
    refused = pf.rule_ports_agree(set_var(cluster(), ['dbhub-1'], haproxy_pooled_port=6543))
    assert len(refused) == 1 and 'haproxy_pooled_port = 6543 on dbhub-1' in refused[0]


def test_restore_request():
    ok = cluster(operation='restore', request={'restore_target_lsn': '0/5000028', 'restore_node': 'pg-node-2'})
    assert pf.rule_restore_request(ok) == []
    two = cluster(operation='restore', request={'restore_target_lsn': '0/5000028', 'restore_target_name': 'x'})
    assert pf.rule_restore_request(two) == ['give one of restore_target_time, restore_target_lsn, restore_target_name '
                                            '(or none for the end of the archive), not restore_target_lsn and '
                                            'restore_target_name.']
    bad = cluster(operation='restore', request={'restore_target_lsn': 'yesterday', 'restore_node': 'pg-node-9'})
    refused = pf.rule_restore_request(bad)
    assert "restore_target_lsn = 'yesterday' is no LSN" in refused[0]
    assert "restore_node = 'pg-node-9' is not a member" in refused[1]
    norepo = cluster(operation='restore')
    norepo['groups']['pgbackrest'] = []
    assert "group 'pgbackrest' (found 0)" in pf.rule_restore_request(norepo)[0]
    # Other operations ignore the restore variables.
    assert pf.rule_restore_request(cluster(request=bad['request'])) == []


def test_remove_request():
    assert pf.rule_remove_request(cluster(operation='remove_node', request={'node': 'pg-node-3'})) == []
    assert pf.rule_remove_request(cluster(operation='remove_node')) == [
        'Name the member to remove: -e node=<inventory host>.']
    refused = pf.rule_remove_request(cluster(operation='remove_node', request={'node': 'pg-node-9'}))
    assert len(refused) == 1 and 'pg-node-9 is not a host of this inventory' in refused[0]


def test_drills_request():
    assert pf.rule_drills_request(cluster(operation='drills', request={'drills_target': 'pg-node-2'})) == []
    refused = pf.rule_drills_request(cluster(operation='drills', request={'drills_target': 'pg-node-7'}))
    assert refused == ["drills_target = 'pg-node-7' is not a member (members: pg-node-1, pg-node-2, pg-node-3): "
                       'name one of them or leave it empty.']


def test_check_inventory_runs_every_rule():
    assert pf.check_inventory(cluster()) == []
    bad = set_var(cluster(), MEMBERS, patroni_synchronous_mode=True, patroni_synchronous_node_count=3,
                  patroni_restapi_port=5432)
    assert len(pf.check_inventory(bad)) == 1 + 3 + 1  # sync, 3 collisions, haproxy's REST API port


# --------------------------------------------------------------------------- host facts

def facts(mem=4096, free=50 * GB, epoch=1000.0, mount='/'):
    return {h: {'memtotal_mb': mem, 'epoch': epoch, 'mounts': [{'mount': mount, 'size_available': free}]}
            for h in MEMBERS}


def test_memory_fits_the_profile():
    assert pf.rule_memory(cluster(), facts(mem=2048), PROFILES) == []
    refused = pf.rule_memory(set_var(cluster(), MEMBERS, patroni_tuning_profile='large'), facts(mem=4096), PROFILES)
    assert len(refused) == 3 and refused[0].startswith('pg-node-1 has 4.0 GB of memory but patroni_tuning_profile = '
                                                       'large asks for 16.2 GB')
    # Parameters given in the inventory win over the profile.
    lowered = set_var(cluster(), MEMBERS, patroni_tuning_profile='large',
                      patroni_postgresql_parameters={'shared_buffers': '1GB', 'work_mem': '8MB',
                                                     'maintenance_work_mem': '256MB'})
    assert pf.rule_memory(lowered, facts(mem=4096), PROFILES) == []


def test_wal_space():
    assert pf.rule_wal_space(cluster(), facts(free=10 * GB), PROFILES) == []
    refused = pf.rule_wal_space(cluster(), facts(free=2 * GB), PROFILES)
    assert len(refused) == 3 and 'pg-node-1 has 2.0 GB free on / ' in refused[0] and 'to 3.0 GB' in refused[0]
    # The data directory's own mount counts, not the root's.
    deep = facts(free=50 * GB)
    for host in MEMBERS:
        deep[host]['mounts'].append({'mount': '/var/lib/postgresql', 'size_available': 1 * GB})
    assert len(pf.rule_wal_space(cluster(), deep, PROFILES)) == 3
    # -1 turns the slot limit off: nothing to size.
    unlimited = set_var(cluster(), MEMBERS, patroni_max_slot_wal_keep_size=-1)
    assert pf.rule_wal_space(unlimited, facts(free=2 * GB), PROFILES) == []


def test_clock_skew():
    assert pf.rule_clock_skew(facts(epoch=1003.0), 1000.0, 1002.0, 5) == []
    skewed = facts(epoch=1001.0)
    skewed['pg-node-2']['epoch'] = 1090.0
    assert pf.rule_clock_skew(skewed, 1000.0, 1002.0, 5) == [
        "pg-node-2's clock is +88 s off the controller's (more than 5 s): Patroni's leader lease and TLS certificates "
        'need agreeing clocks; enable NTP (systemd-timesyncd or chrony) there.']


def test_parse_size():
    assert pf.parse_size('256MB') == 256 * 1024 ** 2
    assert pf.parse_size(1024) == 1024 * 1024 ** 2
    assert pf.parse_size('-1') is None and pf.parse_size('') is None
    with pytest.raises(ValueError):
        pf.parse_size('lots')


# --------------------------------------------------------------------------- connections

@pytest.mark.parametrize('result,become,fix', [
    ({'module_stderr': 'Error response from daemon: No such container: c1', 'msg': 'Module result deserialization '
      'failed'}, False, 'its container does not exist'),
    ({'unreachable': True, 'msg': 'Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: '
      'Connection refused'}, False, 'nothing listens for SSH'),
    ({'unreachable': True, 'msg': 'Permission denied (publickey,password).'}, False, 'the login was refused'),
    ({'module_stderr': '/bin/sh: 1: /usr/bin/python3: not found', 'msg': 'MODULE FAILURE'}, False,
     'python3 is missing'),
    ({'msg': 'Missing sudo password'}, True, '--ask-become-pass'),
    ({'msg': 'something else'}, False, 'check that the host is up'),
])
def test_explain_connection(result, become, fix):
    connection = 'community.docker.docker' if 'container' in fix else 'ssh'
    line = pf.explain_connection('pg-node-1', '10.0.0.11', connection, 'ops', result, become=become)
    assert line.startswith('Cannot use pg-node-1 (address 10.0.0.11, connection %s, user ops): ' % connection)
    assert fix in line and '\n' not in line


def test_member_names_resolve():
    named = set_var(cluster(), ['pg-node-1'], patroni_address='db1.example')
    assert pf.member_names(cluster()) == {}
    assert pf.member_names(named) == {'db1.example': 'pg-node-1'}
    assert pf.rule_names_resolve(named, {'pg-node-2': {'db1.example': True}, 'pg-node-3': {'db1.example': True}}) == []
    refused = pf.rule_names_resolve(named, {'pg-node-2': {'db1.example': True}, 'pg-node-3': {'db1.example': False}})
    assert refused == ["pg-node-3 cannot resolve 'db1.example' (patroni_address of pg-node-1): replication and "
                       "Patroni's REST API would fail; add it to DNS or /etc/hosts on every member, or use the IP "
                       'address.']
