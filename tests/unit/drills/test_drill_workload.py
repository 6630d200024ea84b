# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill workload's analysis: downtime per client path up to the stop, writes resuming,
lost writes, split brain, leader changes and the verdict."""
import importlib.util
import os

_PATH = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'drills', 'files', 'pgha_drill_workload.py')
_spec = importlib.util.spec_from_file_location('pgha_drill_workload', _PATH)
w = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(w)

ADDR = {'10.0.0.1': 'a', '10.0.0.2': 'b'}


def ack(i, t0, t, server):
    return {'id': i, 't0': t0, 't': t, 'server': server, 'path': 'libpq'}


def test_longest_gap_finds_the_outage():
    assert w.longest_gap([1.0, 1.1, 1.2, 4.2, 4.3], 1.0, 4.3) == (3.0, 1.2)


def test_clean_failover_is_no_split_brain():
    acks = [ack(1, 0, 0.1, '10.0.0.1'), ack(2, 0.2, 0.3, '10.0.0.1'), ack(3, 5.0, 5.1, '10.0.0.2')]
    found, writers = w.split_brain(acks, [], ADDR)
    assert found == []
    assert writers == ['a', 'b']


def test_old_primary_still_acknowledging_is_split_brain():
    acks = [ack(1, 0, 0.1, '10.0.0.1'), ack(2, 5.0, 5.1, '10.0.0.2'), ack(3, 6.0, 6.1, '10.0.0.1')]
    found, _ = w.split_brain(acks, [], ADDR)
    assert found and found[0]['members'] == ['a', 'b']


def test_probe_writes_count_and_cancelled_ones_do_not():
    acks = [ack(1, 0, 0.1, '10.0.0.1'), ack(2, 5.0, 5.1, '10.0.0.2')]
    cancelled = [{'member': 'a', 't0': 6.0, 't': 6.2, 'accepted': False}]
    assert w.split_brain(acks, cancelled, ADDR)[0] == []
    accepted = [{'member': 'a', 't0': 6.0, 't': 6.2, 'accepted': True}]
    assert w.split_brain(acks, accepted, ADDR)[0] != []


class _Conn(object):
    def __init__(self, notices):
        self.notices = notices


def test_cancelled_synchronous_commit_is_not_an_acknowledgement():
    c = _Conn(['WARNING:  canceling wait for synchronous replication due to user request\n'
               'DETAIL:  The transaction has already committed locally, but might not have been replicated to the standby.\n'])
    assert w.syncrep_cancelled(c)
    assert c.notices == []
    assert not w.syncrep_cancelled(_Conn(['NOTICE:  relation exists, skipping\n']))


def tl_ack(i, t0, t, server, tl):
    return dict(ack(i, t0, t, server), tl=tl)


def test_primary_moving_away_and_back_is_no_split_brain():
    # A rolling restart: a leads on timeline 1, b on 2 after a switchover, a again on 3.
    acks = [tl_ack(1, 0, 0.1, '10.0.0.1', 1), tl_ack(2, 1.0, 1.1, '10.0.0.1', 1),
            tl_ack(3, 5.0, 5.1, '10.0.0.2', 2), tl_ack(4, 6.0, 6.1, '10.0.0.2', 2),
            tl_ack(5, 9.0, 9.1, '10.0.0.1', 3), tl_ack(6, 10.0, 10.1, '10.0.0.1', 3)]
    found, writers = w.split_brain(acks, [], ADDR)
    assert found == []
    assert writers == ['a', 'b']


def test_two_primaries_alternating_writes_is_split_brain():
    # The old primary keeps its timeline while the new one writes on the next: every write
    # of each lies inside the other's term.
    acks = []
    for i in range(10):
        acks.append(tl_ack(2 * i, i, i + 0.1, '10.0.0.1', 1))
        acks.append(tl_ack(2 * i + 1, i + 0.5, i + 0.6, '10.0.0.2', 2))
    found, _ = w.split_brain(acks, [], ADDR)
    assert len(found) == 1
    assert found[0]['members'] == ['a', 'b']
    assert found[0]['timelines'] == [1, 2]
    assert found[0]['overlap_s'] > 8
    assert found[0]['writes_inside_other_term'] >= 18


def test_single_write_of_another_primary_inside_a_term_is_split_brain():
    acks = [tl_ack(1, 0, 0.1, '10.0.0.1', 1), tl_ack(2, 2.0, 2.1, '10.0.0.2', 2),
            tl_ack(3, 4.0, 4.1, '10.0.0.1', 1)]
    found, _ = w.split_brain(acks, [], ADDR)
    assert found and found[0]['writes_inside_other_term'] == 1 and found[0]['overlap_s'] == 0


def test_writes_whose_order_is_uncertain_prove_nothing():
    # b's only write may have committed before a's first acknowledgement: no proof.
    acks = [tl_ack(1, 0, 1.0, '10.0.0.1', 1), tl_ack(2, 0.5, 0.6, '10.0.0.2', 2),
            tl_ack(3, 3.0, 3.1, '10.0.0.1', 1)]
    assert w.split_brain(acks, [], ADDR)[0] == []


# --- The analysis as a whole: what users on each client path felt. --------------------------

def _run(tmp_path, acks, extra, watch=(), probes=(), stop=None, paths=('libpq', 'haproxy')):
    """Lay out a finished run (no members to read back) and analyse it."""
    import json
    d = tmp_path
    (d / 'started').write_text('0.0')

    def dump(name, rows):
        (d / name).write_text(''.join(json.dumps(r) + '\n' for r in rows))
    dump('acks.jsonl', acks)
    dump('errors.jsonl', [])
    dump('probes.jsonl', list(probes))
    dump('cluster.jsonl', list(watch))
    if stop is not None:
        (d / 'stop').write_text('')
        os.utime(str(d / 'stop'), (stop, stop))
    cfg = {'run_dir': str(d), 'stop_file': str(d / 'stop'), 'members': [],
           'paths': [{'name': p, 'dsn': ''} for p in paths], 'catch_up_timeout': 0}
    return w.analyze(cfg, extra, w.load_run(cfg), {})


def _acks(path, start, end, server='10.0.0.1', step=0.1, first_id=0):
    n = int(round((end - start) / step))
    return [{'id': first_id + i, 't0': start + i * step - 0.01, 't': start + i * step, 'server': server,
             'path': path, 'tl': 1} for i in range(n + 1)]


def test_a_path_that_stops_at_the_fault_has_the_whole_outage_as_downtime(tmp_path):
    # Writes stop at the fault (t=10) and never resume before the stop file (t=40):
    # the user saw 30 s without a write, not one interval.
    res = _run(tmp_path, _acks('libpq', 0, 10), {'fault_time': 10.0, 'heal_time': 20.0}, stop=40.0,
               paths=('libpq',))
    assert res['paths']['libpq']['downtime_s'] >= 29.9
    assert res['downtime_s'] >= 29.9


def test_a_path_that_never_resumes_after_the_heal_fails(tmp_path):
    acks = _acks('libpq', 0, 40, first_id=0) + _acks('haproxy', 0, 10, first_id=1000)
    res = _run(tmp_path, acks, {'fault_time': 10.0, 'heal_time': 20.0, 'max_downtime_s': 60}, stop=40.05)
    why = ' '.join(res['failures'])
    assert 'haproxy' in why and 'never resumed' in why
    assert 'libpq' not in why


def test_the_haproxy_path_is_held_to_the_same_bound(tmp_path):
    # libpq is back after 1 s, HAProxy only after 20 s: above a bound of 5 s.
    acks = (_acks('libpq', 0, 10) + _acks('libpq', 11, 40, first_id=500)
            + _acks('haproxy', 0, 10, first_id=1000) + _acks('haproxy', 30, 40, first_id=2000))
    res = _run(tmp_path, acks, {'fault_time': 10.0, 'heal_time': 12.0, 'max_downtime_s': 5}, stop=40.05)
    assert res['paths']['haproxy']['downtime_s'] >= 19.9
    assert [f for f in res['failures'] if 'haproxy' in f and 'bound' in f]
    assert not [f for f in res['failures'] if 'libpq' in f]


def test_a_path_without_any_acknowledged_write_fails(tmp_path):
    res = _run(tmp_path, _acks('libpq', 0, 40), {'fault_time': 10.0}, stop=40.05)
    assert [f for f in res['failures'] if 'haproxy' in f]


def test_a_clean_run_has_no_failures(tmp_path):
    acks = _acks('libpq', 0, 40) + _acks('haproxy', 0, 40, first_id=1000)
    watch = [{'t': 1.0, 'leader': 'a', 'members': {'a': {'role': 'leader', 'state': 'running', 'timeline': 1}}}]
    res = _run(tmp_path, acks, {'fault_time': 10.0, 'heal_time': 20.0, 'max_downtime_s': 5,
                                'leader_before': 'a', 'expect_failover': False}, watch=watch, stop=40.05)
    assert res['failures'] == []
    assert res['paths']['libpq']['downtime_s'] < 0.2


def _watch(t, leader, tl):
    return {'t': t, 'leader': leader, 'members': {leader: {'role': 'leader', 'state': 'running', 'timeline': tl}}}


def test_the_leader_must_change_or_stay_as_the_drill_expects(tmp_path):
    acks = _acks('libpq', 0, 40)
    watch = [_watch(1.0, 'a', 1), _watch(15.0, 'b', 2)]
    moved = _run(tmp_path, acks, {'fault_time': 10.0, 'leader_before': 'a', 'expect_failover': False},
                 watch=watch, stop=40.05, paths=('libpq',))
    assert [f for f in moved['failures'] if 'failover happened' in f]
    assert moved['new_leader_after_s'] is not None
    kept = _run(tmp_path, acks, {'fault_time': 10.0, 'leader_before': 'a', 'expect_failover': True},
                watch=[_watch(1.0, 'a', 1)], stop=40.05, paths=('libpq',))
    assert [f for f in kept['failures'] if 'did not change' in f]


def test_old_primary_writes_after_the_promotion_are_counted(tmp_path):
    # a is frozen (Patroni) but its PostgreSQL keeps taking libpq writes on timeline 1 after b
    # was promoted at t=20 on timeline 2; HAProxy moved to b.
    acks = (_acks('libpq', 0, 30, server='10.0.0.1')
            + [dict(a, tl=2) for a in _acks('haproxy', 21, 30, server='10.0.0.2', first_id=1000)])
    cfg_members = ADDR
    watch = [_watch(1.0, 'a', 1), _watch(20.5, 'b', 2)]
    res = _run(tmp_path, acks, {'fault_time': 10.0, 'heal_time': 30.0, 'leader_before': 'a',
                                'expect_failover': True, 'addresses': cfg_members}, watch=watch, stop=35.0)
    took = res['old_primary_writes_after_promotion']
    assert took['acknowledged'] >= 80
    assert res['split_brain']
    assert [f for f in res['failures'] if 'SPLIT BRAIN' in f]
    assert [f for f in res['failures'] if 'old primary a took' in f]


def test_async_freeze_reports_old_primary_writes_as_a_hazard_not_a_failure(tmp_path):
    acks = (_acks('libpq', 0, 30, server='10.0.0.1')
            + [dict(a, tl=2) for a in _acks('haproxy', 21, 35, server='10.0.0.2', first_id=1000)]
            + [dict(a, tl=2) for a in _acks('libpq', 32, 35, server='10.0.0.2', first_id=2000)])
    watch = [_watch(1.0, 'a', 1), _watch(20.5, 'b', 2)]
    res = _run(tmp_path, acks, {'fault_time': 10.0, 'heal_time': 30.0, 'leader_before': 'a',
                                'expect_failover': True, 'addresses': ADDR,
                                'old_primary_writes_are_a_hazard': True}, watch=watch, stop=35.05)
    assert res['failures'] == []
    assert [h for h in res['hazards'] if 'old primary a took' in h]


def test_async_freeze_still_fails_when_the_haproxy_path_lost_writes(tmp_path):
    acks = _acks('libpq', 0, 35) + _acks('haproxy', 0, 35, first_id=1000)
    run = {'acks': acks, 'errors': [], 'probes': [], 'cluster': [_watch(1.0, 'a', 1)], 'started': 0.0,
           'stopped': 35.05}
    cfg = {'members': [], 'paths': [{'name': 'libpq'}, {'name': 'haproxy'}]}
    per_member = {'b': {'missing': [3, 1003], 'unacknowledged_present': 0}}
    res = w.analyze(cfg, {'fault_time': 10.0, 'leader_before': 'a', 'old_primary_writes_are_a_hazard': True},
                    run, per_member)
    assert res['lost_by_path'] == {'libpq': 1, 'haproxy': 1}
    assert [f for f in res['failures'] if 'lost' in f]
    assert [h for h in res['hazards'] if '1 on the libpq path' in h]


def test_acks_without_a_server_address_are_analysed(tmp_path):
    # Through PgBouncer the server sees a Unix-socket session: inet_server_addr()
    # is NULL. Such writes must not crash the analysis (the failover scenario's
    # HAProxy path did, once 5000 went through PgBouncer).
    acks = _acks('libpq', 0, 40) + _acks('haproxy', 0, 40, server=None, first_id=1000)
    watch = [{'t': 1.0, 'leader': 'a', 'members': {'a': {'role': 'leader', 'state': 'running', 'timeline': 1}}}]
    res = _run(tmp_path, acks, {'fault_time': 10.0, 'heal_time': 20.0, 'max_downtime_s': 5,
                                'leader_before': 'a', 'expect_failover': False}, watch=watch, stop=40.05)
    assert res['failures'] == []
    assert res['split_brain'] is False


def test_the_writer_names_the_server_through_a_pooler():
    # The node address comes from listen_addresses when the session is on a
    # Unix socket (PgBouncer), from inet_server_addr() over TCP.
    assert 'inet_server_addr()' in w.SERVER_SQL and 'listen_addresses' in w.SERVER_SQL


def test_sync_freeze_judges_losses_and_reports_a_raced_old_primary_write(tmp_path):
    # Synchronous mode under a frozen Patroni: a commit of the old primary that
    # raced the promotion (acknowledged just after the new primary's first
    # write, nothing lost) is reported; a lost write still fails.
    acks = (_acks('libpq', 0, 30, server='10.0.0.1')
            + [dict(a, tl=2) for a in _acks('libpq', 21, 35, server='10.0.0.2', first_id=2000)]
            + _acks('haproxy', 21.05, 21.05, server='10.0.0.1', first_id=1000))
    watch = [_watch(1.0, 'a', 1), _watch(20.5, 'b', 2)]
    rules = {'fault_time': 10.0, 'heal_time': 30.0, 'leader_before': 'a', 'expect_failover': True,
             'addresses': ADDR, 'old_primary_writes_reported_only': True}
    res = _run(tmp_path, acks, rules, watch=watch, stop=35.05, paths=('libpq',))
    assert not [f for f in res['failures'] if 'old primary' in f], res['failures']
    assert [h for h in res['hazards'] if 'old primary a took' in h]
    run = {'acks': acks, 'errors': [], 'probes': [], 'cluster': watch, 'started': 0.0, 'stopped': 35.05}
    cfg = {'members': [], 'paths': [{'name': 'libpq'}]}
    lost = w.analyze(cfg, rules, run, {'b': {'missing': [5], 'unacknowledged_present': 0}})
    assert [f for f in lost['failures'] if 'lost' in f]
