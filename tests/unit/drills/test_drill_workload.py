# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drill workload's verdict logic: write downtime and split brain."""
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
