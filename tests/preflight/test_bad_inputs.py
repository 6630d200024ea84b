# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad inventories and extra vars, each refused by preflight before any host changes.

The preflight tier (scripts/test.sh preflight, part of quick and all). No containers: the
inventory's hosts use the Docker connection to containers that do not exist, so a case is
refused either on the controller before any host is contacted (types, choices, missing
values, rules between variables, requests) or when preflight reaches the hosts (the
unreachable cases, which must name each host, its address, connection and the fix).

For each case: a non-zero exit within the time limit, the message naming the variable or host,
and no play past preflight started (nothing can have changed). The table of cases and their
times is written to tests/output/preflight/cases.md.
"""

from __future__ import annotations

import concurrent.futures
import copy
import os
import re
import subprocess
import time

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(REPO, 'tests', 'output', 'preflight')
# Refused on the controller: 2.5-3 s of ansible-playbook start-up when run alone (the table in
# tests/output/preflight/cases.md has this run's times); the limits leave room for a machine busy with
# Molecule. That no host was contacted is proven by the output instead: the first task that reaches a
# host ("Reach the host") never started.
LIMIT_INPUT = 90
LIMIT_UNREACHABLE = 120

MEMBERS = ['pg-node-1', 'pg-node-2', 'pg-node-3']


def base_inventory(pki):
    """A valid lab-like inventory (the lab's topology) whose containers do not exist."""
    hosts = {name: {'ansible_host': 'pgha-preflight-absent-%d' % i, 'pgha_node_address': '172.28.99.%d' % (10 + i)}
             for i, name in enumerate(MEMBERS, 1)}
    return {'all': {
        'vars': {
            'ansible_connection': 'community.docker.docker',
            'ansible_python_interpreter': '/usr/bin/python3',
            # Test values only, long enough for preflight's length checks.
            'patroni_superuser_password': 'preflight-test-superuser',
            'patroni_replication_password': 'preflight-test-replication',
            'patroni_rewind_password': 'preflight-test-rewind',
            'patroni_restapi_password': 'preflight-test-restapi',
            'patroni_admin_password': 'preflight-test-admin',
            'pgbouncer_auth_password': 'preflight-test-pgbouncer',
            'dbhub_db_password': 'preflight-test-dbhub',
            'etcd_tls_ca_create': True,
            'etcd_pki_dir': os.path.join(pki, 'etcd'),
            'pgbackrest_tls_ca_create': True,
            'pgbackrest_pki_dir': os.path.join(pki, 'pgbackrest'),
        },
        'children': {
            'patroni': {'hosts': hosts},
            'etcd': {'hosts': {name: None for name in MEMBERS}},
            'pgbackrest': {'hosts': {'pgbackrest-1': {'ansible_host': 'pgha-preflight-absent-4',
                                                      'pgha_node_address': '172.28.99.20'}}},
            'haproxy': {'hosts': {'dbhub-1': None}},
            'dbhub': {'hosts': {'dbhub-1': {'ansible_host': 'pgha-preflight-absent-5',
                                            'pgha_node_address': '172.28.99.30'}}},
        },
    }}


def _all_vars(inv, **values):
    inv['all']['vars'].update(values)


def _drop_var(name):
    def edit(inv):
        del inv['all']['vars'][name]
    edit.__name__ = 'no %s' % name
    return edit


def _host_var(host, **values):
    def edit(inv):
        for group in inv['all']['children'].values():
            if (group.get('hosts') or {}).get(host):
                group['hosts'][host].update(values)
    edit.__name__ = '%s: %s' % (host, ', '.join('%s=%s' % kv for kv in values.items()))
    return edit


def _list_as_dict(inv):
    _all_vars(inv, patroni_hba_client_networks={'lan': '10.0.0.0/8'})


def _even_etcd(inv):
    inv['all']['children']['etcd']['hosts'] = {'pg-node-1': None, 'pg-node-2': None}


def _templating_error(inv):
    _all_vars(inv, patroni_scope='{{ no_such_variable_anywhere }}')


def _ssh_closed_port(inv):
    # Nothing listens on 127.0.0.1:1; the controller's own loopback only.
    _all_vars(inv, ansible_connection='ssh', ansible_host='127.0.0.1', ansible_port=1, ansible_user='operator')
    for group in inv['all']['children'].values():
        for host in (group.get('hosts') or {}).values():
            if host:
                host.pop('ansible_host', None)


# (id, kind, playbook, extra args, inventory edit, expected text, time limit)
CASES = [
    ('choice', 'choices', 'playbooks/site.yml', ['-e', 'patroni_timing_profile=turbo'], None,
     "patroni_timing_profile = 'turbo' must be one of: default, fast (role patroni_node)", LIMIT_INPUT),
    ('choice-quoted-off', 'choices', 'playbooks/site.yml', ['-e', 'patroni_watchdog_mode=sometimes'], None,
     "patroni_watchdog_mode = 'sometimes' must be one of: off, automatic, required (role patroni_node)", LIMIT_INPUT),
    ('choice-pgbouncer', 'choices', 'playbooks/site.yml', ['-e', 'pgbouncer_pool_mode=sessions'], None,
     "pgbouncer_pool_mode = 'sessions' must be one of: session, transaction, statement (role pgbouncer)", LIMIT_INPUT),
    ('type-int', 'types', 'playbooks/site.yml', ['-e', 'patroni_synchronous_node_count=three'], None,
     "patroni_synchronous_node_count = 'three' must be of type int (role patroni_node)", LIMIT_INPUT),
    ('type-bool', 'types', 'playbooks/site.yml', ['-e', 'etcd_tls_enabled=maybe'], None,
     "etcd_tls_enabled = 'maybe' must be of type bool (role common)", LIMIT_INPUT),
    ('type-dict', 'types', 'playbooks/site.yml', ['-e', 'patroni_tags=nofailover'], None,
     "patroni_tags = 'nofailover' must be of type dict (role patroni_node)", LIMIT_INPUT),
    ('type-list', 'types', 'playbooks/site.yml', [],
     _list_as_dict,
     'patroni_hba_client_networks = {', LIMIT_INPUT),
    ('templating', 'types', 'playbooks/site.yml', [], _templating_error,
     'patroni_scope cannot be evaluated (role common)', LIMIT_INPUT),
    ('missing-password', 'missing', 'playbooks/site.yml', [], _drop_var('patroni_restapi_password'),
     'patroni_restapi_password is required (role patroni_node) and not set', LIMIT_INPUT),
    ('missing-pgbouncer', 'missing', 'playbooks/site.yml', [], _drop_var('pgbouncer_auth_password'),
     'pgbouncer_auth_password is required (role pgbouncer) and not set', LIMIT_INPUT),
    ('sync-count', 'cross-field', 'playbooks/site.yml',
     ['-e', 'patroni_synchronous_mode=true', '-e', 'patroni_synchronous_node_count=3'], None,
     'patroni_synchronous_node_count = 3 but the 3-member cluster has 2 replica(s)', LIMIT_INPUT),
    ('even-etcd', 'cross-field', 'playbooks/site.yml', [], _even_etcd,
     "The 'etcd' group has 2 hosts (pg-node-1, pg-node-2)", LIMIT_INPUT),
    ('same-address', 'cross-field', 'playbooks/site.yml', [], _host_var('pg-node-3', pgha_node_address='172.28.99.30'),
     'Hosts dbhub-1, pg-node-3 share pgha_node_address 172.28.99.30', LIMIT_INPUT),
    ('same-name', 'cross-field', 'playbooks/site.yml', ['-e', 'patroni_name=db'], None,
     "share the Patroni member name 'db'", LIMIT_INPUT),
    ('port-collision', 'cross-field', 'playbooks/site.yml', ['-e', 'patroni_restapi_port=5432'], None,
     'Port 5432 on pg-node-1 is claimed by patroni_postgresql_port and patroni_restapi_port', LIMIT_INPUT),
    ('port-collision-dbhub', 'cross-field', 'playbooks/site.yml', ['-e', 'dbhub_port=5000'], None,
     'Port 5000 on dbhub-1 is claimed by haproxy_primary_port and dbhub_port', LIMIT_INPUT),
    ('etcd-port', 'cross-field', 'playbooks/site.yml', ['-e', 'etcd_client_port=2479'], None,
     'patroni_etcd_client_port = 2379 but etcd listens on etcd_client_port = 2479', LIMIT_INPUT),
    ('pg-port-disagrees', 'cross-field', 'playbooks/site.yml', ['-e', 'patroni_postgresql_port=5433'], None,
     'pgbouncer_postgresql_port = 5432 on pg-node-1 but patroni_postgresql_port = 5433', LIMIT_INPUT),
    ('tags-etcd-still-checked', 'choices', 'site.yml', ['--tags', 'etcd', '-e', 'patroni_timing_profile=turbo'],
     None, "patroni_timing_profile = 'turbo' must be one of", LIMIT_INPUT),
    ('remove-unknown', 'request', 'playbooks/remove_node.yml', ['-e', 'node=pg-node-9'], None,
     'pg-node-9 is not a host of this inventory', LIMIT_INPUT),
    ('remove-nothing', 'request', 'playbooks/remove_node.yml', [], None,
     'Name the member to remove: -e node=<inventory host>', LIMIT_INPUT),
    ('restore-two-targets', 'request', 'playbooks/restore.yml',
     ['-e', 'restore_confirm=yes', '-e', 'restore_target_lsn=0/5000028', '-e', 'restore_target_name=before'], None,
     'give one of restore_target_time, restore_target_lsn, restore_target_name', LIMIT_INPUT),
    ('restore-bad-lsn', 'request', 'playbooks/restore.yml', ['-e', 'restore_confirm=yes',
                                                              '-e', 'restore_target_lsn=yesterday'], None,
     "restore_target_lsn = 'yesterday' is no LSN", LIMIT_INPUT),
    ('restore-unknown-node', 'request', 'playbooks/restore.yml', ['-e', 'restore_confirm=yes',
                                                                   '-e', 'restore_node=pg-node-9'], None,
     "restore_node = 'pg-node-9' is not a member of the cluster", LIMIT_INPUT),
    ('drills-target', 'request', 'playbooks/drills.yml', ['--tags', 'switchover', '-e', 'drills_target=pg-node-7'],
     None, "drills_target = 'pg-node-7' is not a member", LIMIT_INPUT),
    ('drills-type', 'types', 'playbooks/drills.yml', ['--tags', 'replica-loss', '-e', 'drills_outage_seconds=soon'],
     None, "drills_outage_seconds = 'soon' must be of type int (role drills)", LIMIT_INPUT),
    ('rolling-restart', 'choices', 'playbooks/rolling_restart.yml', ['-e', 'patroni_timing_profile=turbo'], None,
     "patroni_timing_profile = 'turbo' must be one of", LIMIT_INPUT),
    ('rolling-update', 'cross-field', 'playbooks/rolling_update.yml',
     ['-e', 'patroni_synchronous_mode=true', '-e', 'patroni_synchronous_node_count=3'], None,
     'patroni_synchronous_node_count = 3 but', LIMIT_INPUT),
    ('unreachable-docker', 'unreachable', 'playbooks/site.yml', ['--tags', 'preflight'], None,
     'Cannot use pg-node-1 (address pgha-preflight-absent-1, connection community.docker.docker): its container '
     'does not exist', LIMIT_UNREACHABLE),
    ('unreachable-ssh', 'unreachable', 'playbooks/site.yml', ['--tags', 'preflight'], _ssh_closed_port,
     'Cannot use pg-node-1 (address 127.0.0.1, connection ssh, user operator): nothing listens for SSH',
     LIMIT_UNREACHABLE),
    ('unreachable-remove', 'unreachable', 'playbooks/remove_node.yml', ['-e', 'node=pg-node-3'], None,
     'Cannot use pg-node-1 (address pgha-preflight-absent-1', LIMIT_UNREACHABLE),
]

# Output of a play after preflight: its presence means preflight let the run go on.
PAST_PREFLIGHT = re.compile(r'PLAY \[(Etcd cluster|Patroni and PostgreSQL|Remove a member from the cluster|'
                            r'Archive the running primary|Rolling restart|Rolling update|Failover drills)')


def run_case(case, workdir):
    name, _, playbook, args, edit, _, _ = case
    pki = os.path.join(workdir, 'pki')
    inventory = base_inventory(pki)
    if edit is not None:
        edit(inventory)
    path = os.path.join(workdir, '%s.yml' % name)
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(copy.deepcopy(inventory), f)
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_') and not k.startswith('MOLECULE_')}
    env.update(ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='True', ANSIBLE_SSH_ARGS='-o ConnectTimeout=5',
               ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3')
    start = time.monotonic()
    proc = subprocess.run(['ansible-playbook', playbook, '-i', path, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    elapsed = time.monotonic() - start
    out = re.sub(r'\x1b\[[0-9;]*m', '', proc.stdout + proc.stderr)
    return proc.returncode, elapsed, out


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    """Every case, four at a time (each is one ansible-playbook, mostly waiting)."""
    workdir = str(tmp_path_factory.mktemp('preflight'))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case[0]: pool.submit(run_case, case, workdir) for case in CASES}
        done = {name: future.result() for name, future in futures.items()}
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, 'cases.md'), 'w', encoding='utf-8') as f:
        f.write('| case | kind | playbook | input | refused in | message names |\n|---|---|---|---|---|---|\n')
        for name, kind, playbook, args, edit, expected, _ in CASES:
            rc, elapsed, _ = done[name]
            given = ' '.join(args) + (' (inventory: %s)' % edit.__name__.strip('_') if edit else '')
            f.write('| %s | %s | %s | %s | %.1f s (rc %d) | %s |\n' % (name, kind, playbook, given.strip(), elapsed,
                                                                      rc, expected[:70]))
    return done


def test_enough_cases():
    assert len(CASES) >= 20
    assert {c[1] for c in CASES} >= {'types', 'choices', 'missing', 'cross-field', 'unreachable', 'request'}


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_refused(case, results):
    name, kind, _, _, _, expected, limit = case
    rc, elapsed, out = results[name]
    flat = ' '.join(out.split())
    assert rc != 0, 'not refused:\n' + out[-3000:]
    assert expected in flat, 'the refusal does not say %r:\n%s' % (expected, out[-3000:])
    assert elapsed < limit, 'refused after %.1f s (limit %d s)' % (elapsed, limit)
    assert not PAST_PREFLIGHT.search(out), 'a play after preflight started:\n' + out[-3000:]
    if kind != 'unreachable':
        assert 'Reach the host]' not in out, 'refused only after contacting the hosts:\n' + out[-3000:]
    # The password values never appear, even when a password variable is the subject.
    assert 'preflight-test-' not in out
