"""Confirmed leadership from Python: events with epochs and reasons, the
wait for a confirmed leader, the lease check and the epoch store hook."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict, List

from conftest import DEADLINE, make_config, until, wait_event

import zkelect
from zkelect import Following, Leading, LeadershipLost, LossReason, State


def _durable_config(tmp_path: Path) -> str:
    # A dataDir keeps the accepted epochs, so a fresh start need not wait
    # out the restart quarantine.
    return make_config(3) + f"dataDir={tmp_path}\n"


def test_a_confirmed_leader_with_its_epoch_and_lease(peers, tmp_path: Path) -> None:
    cfg = _durable_config(tmp_path)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.start()
    confirmed = [p.wait_for_confirmed(DEADLINE) for p in group]
    leader = confirmed[0].leader
    epoch = confirmed[0].epoch
    assert epoch >= 1 and all((c.leader, c.epoch) == (leader, epoch) for c in confirmed)
    by_sid = {p.my_sid: p for p in group}
    assert by_sid[leader].confirmed == zkelect.Confirmed(State.LEADING, leader, epoch)
    lease = by_sid[leader].lease()
    assert lease.leads_now and lease.epoch == epoch and lease.remaining > 0
    assert lease.deadline_ns > zkelect.clock_now_ns()
    assert [p.my_sid for p in group if p.leads_now()] == [leader]
    # The events say the same, with the epoch.
    assert wait_event(by_sid[leader], lambda e: isinstance(e, Leading)) == Leading(epoch, leader)
    for p in group:
        if p.my_sid != leader:
            f = wait_event(p, lambda e: isinstance(e, Following))
            assert f == Following(leader, epoch, p.my_sid)
    # A stopped leader's last leadership event names the epoch and why.
    by_sid[leader].stop()
    lost = wait_event(by_sid[leader], lambda e: isinstance(e, LeadershipLost))
    assert lost == LeadershipLost(epoch, LossReason.STOPPED, leader)
    assert not by_sid[leader].leads_now()
    # The survivors give it up with a reason and confirm a successor with a
    # higher epoch, through the typed events.
    for p in group:
        if p.my_sid == leader:
            continue
        gone = wait_event(p, lambda e: isinstance(e, zkelect.LeaderLost))
        assert gone.leader == leader and gone.reason in (  # type: ignore[union-attr]
            LossReason.DISCONNECTED,
            LossReason.LEADER_LOOKING,
            LossReason.SILENT,
        ), gone
        nxt = wait_event(p, lambda e: isinstance(e, (Leading, Following)))
        assert nxt.epoch > epoch, nxt  # type: ignore[union-attr]
        assert p.wait_for_confirmed(DEADLINE).epoch == nxt.epoch  # type: ignore[union-attr]


def test_the_store_hook_keeps_each_epoch_before_it_counts(peers) -> None:
    cfg = make_config(3)
    stored: Dict[int, List[int]] = {1: [], 2: [], 3: []}
    lock = threading.Lock()
    order: List[str] = []

    def store_for(sid: int):
        def store(epoch: int, round_: int) -> None:
            assert round_ >= 1
            with lock:
                stored[sid].append(epoch)
                if epoch > 0:
                    order.append(f"stored {sid} {epoch}")

        return store

    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.set_epoch_store(store_for(p.my_sid))
        p.add_listener(
            lambda e: isinstance(e, Leading) and order.append(f"leading {e.my_sid} {e.epoch}")
        )
        p.start()
    c = group[0].wait_for_confirmed(DEADLINE)
    until(lambda: any(o.startswith("leading") for o in order))
    with lock:
        leading = next(i for i, o in enumerate(order) if o.startswith("leading"))
        assert f"stored {c.leader} {c.epoch}" in order[:leading], order
        assert sum(1 for s in stored.values() if c.epoch in s) >= 2, stored


def test_a_failing_store_acknowledges_nothing(peers) -> None:
    cfg = make_config(3)

    def broken(epoch: int, round_: int) -> None:
        if epoch > 0:
            raise OSError("disk full")

    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.set_epoch_store(broken)
        p.start()
    failed = wait_event(group[0], lambda e: isinstance(e, zkelect.EpochStoreFailed))
    assert failed.epoch >= 1  # type: ignore[union-attr]
    assert not any(p.leads_now() for p in group)
    try:
        group[0].wait_for_confirmed(1.0)
    except zkelect.ElectionTimeout:
        pass
    else:
        raise AssertionError("confirmed although no store ever succeeded")


def test_closing_the_leader_hands_off_without_waiting_out_the_promises(peers, tmp_path: Path) -> None:
    # tickTime 40 s and syncLimit 2: a follower's promise to the old leader
    # would last 80 s, far beyond the deadline below. A successor confirmed
    # within the deadline was released by the leader's departure notice.
    cfg = make_config(3).replace("tickTime=2000", "tickTime=40000") + f"dataDir={tmp_path}\n"
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.start()
    first = [p.wait_for_confirmed(DEADLINE) for p in group]
    leader, epoch = first[0].leader, first[0].epoch
    old = next(p for p in group if p.my_sid == leader)
    old.close()
    for p in group:
        if p is old:
            continue
        gone = wait_event(p, lambda e: isinstance(e, zkelect.LeaderLost))
        assert gone.reason == LossReason.LEADER_LOOKING, gone  # type: ignore[union-attr]
        nxt = wait_event(p, lambda e: isinstance(e, (Leading, Following)))
        assert nxt.epoch > epoch, nxt  # type: ignore[union-attr]


def test_the_snapshot_says_who_votes_follow_only(peers) -> None:
    # Sid 3 would win on the sid; with followOnly=true in its own config it
    # votes but never wins, and knows of no real ZooKeeper server.
    cfg = make_config(3)
    group = [peers(("followOnly=true\n" + cfg) if sid == 3 else cfg, sid) for sid in (1, 2, 3)]
    snap = group[2].leadership()
    assert (snap.follow_only, snap.real_members) == (False, False)  # not started: no vote
    for p in group:
        p.start()
    leaders = {p.wait_for_confirmed(DEADLINE).leader for p in group}
    assert len(leaders) == 1 and 3 not in leaders, leaders
    for p in group:
        snap = p.leadership()
        assert (snap.follow_only, snap.real_members) == (p.my_sid == 3, False), (p.my_sid, snap)
