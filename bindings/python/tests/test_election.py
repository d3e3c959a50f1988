"""Elections among peers in one process: results, events, callbacks."""

from __future__ import annotations

import logging
import threading
from typing import List

import pytest
from conftest import DEADLINE, make_config, until, wait_event

import zkelect
from zkelect import LeaderElected, LeaderLost, State, StateChanged


def test_ensemble_agrees_on_a_leader(ensemble: List[zkelect.Peer]) -> None:
    results = [p.wait_for_leader(DEADLINE) for p in ensemble]
    # Equal zxids: the highest sid of the first quorum to form (usually 3).
    leader = results[0].leader
    assert leader in (2, 3) and all(r.leader == leader for r in results)
    role = {p.my_sid: State.LEADING if p.my_sid == leader else State.FOLLOWING for p in ensemble}
    assert [r.state for r in results] == [role[p.my_sid] for p in ensemble]
    assert all(isinstance(r, zkelect.Leader) and r.election_epoch >= 1 for r in results)
    # state and vote are live values: wait for them to settle.
    until(lambda: all(p.state is role[p.my_sid] for p in ensemble))
    until(lambda: ensemble[0].vote.leader == leader)
    vote = ensemble[0].vote
    assert isinstance(vote, zkelect.Vote) and vote.state is State.FOLLOWING
    with pytest.raises(Exception):
        results[0].leader = 1  # type: ignore[misc]  # frozen


def test_highest_zxid_wins(peers) -> None:
    cfg = make_config(3)
    group = [peers(cfg, 1, zxid=0x100), peers(cfg, 2, zxid=0x50)]  # a quorum of 3
    for p in group:
        p.start()
    assert {p.wait_for_leader(DEADLINE).leader for p in group} == {1}
    assert group[0].wait_for_leader(DEADLINE).zxid == 0x100


def test_events_arrive_in_order(ensemble: List[zkelect.Peer]) -> None:
    for p in ensemble:
        # A peer starts LOOKING: its first state change is the decision.
        first = wait_event(p, lambda e: isinstance(e, (StateChanged, LeaderElected)))
        assert isinstance(first, StateChanged), first
        assert first.old == State.LOOKING and first.new != State.LOOKING, first
        elected = wait_event(p, lambda e: isinstance(e, LeaderElected))
        assert isinstance(elected, LeaderElected)
        assert elected.my_sid == p.my_sid


def test_callbacks_and_queue_see_the_same_events(peers) -> None:
    cfg = make_config(3)
    seen: List[zkelect.Event] = []
    added: List[zkelect.Event] = []
    elected = threading.Event()

    def on_event(e: zkelect.Event) -> None:
        seen.append(e)
        if isinstance(e, LeaderElected):
            elected.set()

    group = [peers(cfg, 1, on_event=on_event), peers(cfg, 2), peers(cfg, 3)]
    group[0].add_listener(added.append)
    for p in group:
        p.start()
    assert elected.wait(DEADLINE)
    queued = []
    while not any(isinstance(e, LeaderElected) for e in queued):
        queued.append(wait_event(group[0], lambda e: True))
    assert seen[: len(queued)] == queued
    until(lambda: len(added) >= len(queued))  # called after on_event
    assert added[: len(queued)] == queued
    assert any(isinstance(e, zkelect.PeerConnected) for e in queued)
    group[0].remove_listener(added.append)


def test_raising_callback_is_logged_and_election_goes_on(peers, caplog) -> None:
    cfg = make_config(3)

    def boom(e: zkelect.Event) -> None:
        raise RuntimeError("boom from a callback")

    group = [peers(cfg, sid, on_event=boom) for sid in (1, 2, 3)]
    with caplog.at_level(logging.ERROR, logger="zkelect"):
        for p in group:
            p.start()
        assert len({p.wait_for_leader(DEADLINE).leader for p in group}) == 1
        for p in group:  # the queue still got everything
            wait_event(p, lambda e: isinstance(e, LeaderElected))
    errors = [r for r in caplog.records if r.name == "zkelect" and r.exc_info]
    assert errors and "boom from a callback" in str(errors[0].exc_info[1])


def test_close_from_inside_a_callback(peers) -> None:
    cfg = make_config(3)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    closed = threading.Event()

    def close_on_election(e: zkelect.Event) -> None:
        if isinstance(e, LeaderElected):
            group[0].close()
            closed.set()

    group[0].add_listener(close_on_election)
    for p in group:
        p.start()
    assert closed.wait(DEADLINE)
    assert group[0].closed
    with pytest.raises(zkelect.PeerClosedError):
        group[0].state
    # Its events() iterator ends after the queued events.
    assert any(isinstance(e, LeaderElected) for e in group[0].events(timeout=DEADLINE))
    # The other two still have a quorum.
    assert group[1].wait_for_leader(DEADLINE).leader in (2, 3)


def test_wait_for_leader_times_out(peers) -> None:
    p = peers(make_config(3), 1)  # alone: no quorum
    p.start()
    with pytest.raises(zkelect.ElectionTimeout) as info:
        p.wait_for_leader(0.3)
    assert isinstance(info.value, TimeoutError)
    assert info.value.code == 6
    assert p.state is State.LOOKING


def test_wait_for_leader_needs_a_running_peer(peers) -> None:
    p = peers(make_config(3), 1)
    with pytest.raises(zkelect.NotRunningError) as info:
        p.wait_for_leader(1)
    assert info.value.code == 5 and info.value.detail


def test_restart_election(ensemble: List[zkelect.Peer]) -> None:
    first = ensemble[0].wait_for_leader(DEADLINE)
    old = ensemble[first.leader - 1]
    rest = [p for p in ensemble if p is not old]
    for p in rest:
        wait_event(p, lambda e: isinstance(e, LeaderElected))
    # The leader goes away and the hosts of the others notice. (A peer that
    # restarts while the leader still leads just rejoins it, as in ZooKeeper.)
    old.stop()
    for p in rest:
        p.restart_election()
    new_leaders = set()
    for p in rest:
        lost = wait_event(p, lambda e: isinstance(e, LeaderLost))
        assert isinstance(lost, LeaderLost) and lost.leader == first.leader
        again = wait_event(p, lambda e: isinstance(e, LeaderElected))
        assert isinstance(again, LeaderElected)
        assert again.election_epoch > first.election_epoch
        new_leaders.add(again.leader)
    assert len(new_leaders) == 1 and new_leaders <= {p.my_sid for p in rest}


def test_start_twice_and_stop_start(peers) -> None:
    cfg = make_config(3)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.start()
    with pytest.raises(zkelect.AlreadyRunningError):
        group[0].start()
    group[2].wait_for_leader(DEADLINE)
    group[2].stop()
    group[2].stop()  # idempotent
    with pytest.raises(zkelect.NotRunningError):
        group[2].restart_election()
    group[2].start()  # rejoins (or, if the others noticed, re-elects) a leader
    assert group[2].wait_for_leader(DEADLINE).leader in (2, 3)


def test_context_manager_starts_and_closes() -> None:
    cfg = make_config(3)
    with zkelect.Peer(cfg, 1) as a, zkelect.Peer(cfg, 2) as b:
        assert a.wait_for_leader(DEADLINE).leader == 2
        assert b.wait_for_leader(DEADLINE).state is State.LEADING
    assert a.closed and b.closed
    with pytest.raises(zkelect.PeerClosedError):
        a.start()
