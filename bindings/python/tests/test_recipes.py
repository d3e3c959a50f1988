"""The leadership snapshot, the terms recipe, asyncio, a raising listener,
and a leader killed with SIGKILL in another process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Tuple

from conftest import DEADLINE, SRC, make_config, wait_event

import zkelect
from zkelect import Following, LeaderLost, Leading, LossReason, State


def _durable(tmp_path: Path) -> str:
    # A shared dataDir keeps the accepted epochs (no start waits out a
    # quarantine) and holds each peer's lock, by which the survivors see at
    # once that a killed leader's process is gone.
    return make_config(3) + f"dataDir={tmp_path}\n"


def _confirmed(group: List[zkelect.Peer]) -> Tuple[zkelect.Peer, int]:
    confirmed = [p.wait_for_confirmed(DEADLINE) for p in group]
    assert len({(c.leader, c.epoch) for c in confirmed}) == 1, confirmed
    leader = next(p for p in group if p.my_sid == confirmed[0].leader)
    return leader, confirmed[0].epoch


def test_the_snapshot_agrees_with_itself_and_the_events(peers, tmp_path: Path) -> None:
    cfg = _durable(tmp_path)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    before = group[0].leadership()
    assert not before.running and before.confirmed is None and before.role == State.LOOKING
    assert (before.leader, before.epoch, before.leads_now, before.elected_leader) == (None, 0, False, None)
    for p in group:
        p.start()
    leader, epoch = _confirmed(group)
    snap = leader.leadership()
    if snap.confirmed is not None:  # (a loaded machine may have let the lease lapse)
        assert snap.role == State.LEADING and snap.leader == leader.my_sid and snap.epoch == epoch
        assert snap.leads_now and 0 < snap.lease_remaining <= 4.0
        assert snap.lease_deadline_ns > 0 and snap.elected_leader == leader.my_sid
        assert snap.running and snap.state == State.LEADING
    for p in group:
        if p is not leader:
            s = p.leadership()
            assert s.role == State.FOLLOWING and (s.leader, s.epoch) == (leader.my_sid, epoch)
            assert not s.leads_now and s.lease_remaining == 0 and s.lease_deadline_ns == 0
            assert not p.is_leading()
    leader.stop()
    after = leader.leadership()
    assert not after.running and after.confirmed is None and not leader.is_leading()


def test_terms_follow_the_leadership_across_a_failover(peers, tmp_path: Path) -> None:
    cfg = _durable(tmp_path)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    changed = threading.Condition()
    writes: List[Tuple[int, int]] = []  # (sid, epoch) of each fenced "write"
    terms: List[Tuple[int, zkelect.Term]] = []

    def worker(peer: zkelect.Peer) -> None:
        for term in peer.terms():
            with changed:
                terms.append((peer.my_sid, term))
            with term:
                while True:
                    term.check()  # TermLost once the term is over: ends the with
                    with changed:
                        if (peer.my_sid, term.epoch) not in writes:
                            writes.append((peer.my_sid, term.epoch))
                            changed.notify_all()
                    term.wait(0.05)

    threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in group]
    for t in threads:
        t.start()
    for p in group:
        p.start()
    leader, epoch = _confirmed(group)
    with changed:
        assert changed.wait_for(lambda: (leader.my_sid, epoch) in writes, DEADLINE), writes
        first = next(t for sid, t in terms if sid == leader.my_sid and t.epoch == epoch)
    assert not first.ended and first.holds()
    leader.close()  # delivers LeadershipLost(STOPPED) before it returns
    assert first.ended and first.reason == LossReason.STOPPED and not first.holds()
    with changed:
        assert changed.wait_for(lambda: writes[-1][1] > epoch, DEADLINE), writes
        successor, _ = writes[-1]
    assert successor != leader.my_sid
    # One writer per epoch, and epochs only grew.
    assert all(a[1] < b[1] for a, b in zip(writes, writes[1:])), writes
    for p in group:
        p.close()
    for t in threads:
        t.join(DEADLINE)
        assert not t.is_alive(), "terms() did not end when its peer closed"
    assert all(t.ended for _, t in terms)


def test_asyncio_events_and_await_confirmed(peers, tmp_path: Path) -> None:
    cfg = _durable(tmp_path)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]

    async def main() -> None:
        with_deadline = lambda aw: asyncio.wait_for(aw, DEADLINE)  # noqa: E731
        stream = group[0].aevents(timeout=DEADLINE)
        for p in group:
            p.start()
        confirmed = await with_deadline(group[0].await_confirmed(DEADLINE))
        seen = []
        async for event in stream:
            seen.append(event)
            if isinstance(event, (Leading, Following)):
                break
        await stream.aclose()
        assert seen[-1].epoch == confirmed.epoch, seen  # type: ignore[union-attr]
        # The loop stayed free meanwhile: a timeout on a lone waiter works.
        lone = peers(make_config(3), 1)
        lone.start()
        try:
            await lone.await_confirmed(0.3)
        except zkelect.ElectionTimeout:
            pass
        else:
            raise AssertionError("a lone peer was confirmed")
        # An iterator ends when its peer closes, after the close's own events.
        closing = group[0].aevents()
        group[0].close()
        last = [e async for e in closing]
        assert all(getattr(e, "reason", LossReason.STOPPED) == LossReason.STOPPED for e in last), last
        try:
            await group[0].await_confirmed(1)
        except zkelect.PeerClosedError:
            pass
        else:
            raise AssertionError("await_confirmed on a closed peer")

    asyncio.run(main())


def test_a_raising_listener_is_reported_and_still_gets_later_events(peers, tmp_path: Path, caplog) -> None:
    cfg = _durable(tmp_path)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    got: List[zkelect.Event] = []

    def flaky(event: zkelect.Event) -> None:
        got.append(event)
        if len(got) == 1:
            raise RuntimeError("the first event is too much")

    group[0].add_listener(flaky)
    with caplog.at_level(logging.ERROR, logger="zkelect"):
        for p in group:
            p.start()
        c = group[0].wait_for_confirmed(DEADLINE)
        wait_event(group[0], lambda e: isinstance(e, (Leading, Following)))
    assert any("the first event is too much" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    # Called again after it raised, up to the confirmation.
    assert len(got) > 1 and any(getattr(e, "epoch", None) == c.epoch for e in got[1:]), got


_CHILD = """
import sys, time
import zkelect
cfg = open(sys.argv[1]).read()
with zkelect.Peer(cfg, 3, zxid=100) as peer:       # the highest zxid: it wins
    print("started", flush=True)
    c = peer.wait_for_confirmed(timeout=60)
    print(f"confirmed {c.state.name} {c.leader} {c.epoch}", flush=True)
    time.sleep(600)                                # until it is killed
"""


def test_a_leader_killed_in_another_process(peers, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    cfg = _durable(data)
    (tmp_path / "zoo.cfg").write_text(cfg)
    env = dict(os.environ, PYTHONPATH=str(SRC))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "zoo.cfg")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # The others start once it runs, sid 1 first and alone with it: only
        # {1, 3} can then make a quorum, so 3 wins whenever the votes
        # arrive (1 and 2 together could elect 2 before 3's vote came).
        assert child.stdout.readline().split() == ["started"]  # type: ignore[union-attr]
        group = [peers(cfg, sid) for sid in (1, 2)]
        group[0].start()
        assert group[0].wait_for_leader(DEADLINE).leader == 3
        group[1].start()
        firsts = [p.wait_for_confirmed(DEADLINE) for p in group]
        assert {(c.state, c.leader) for c in firsts} == {(State.FOLLOWING, 3)}, firsts
        epoch = firsts[0].epoch
        line = child.stdout.readline()  # type: ignore[union-attr]
        assert line.split() == ["confirmed", "LEADING", "3", str(epoch)], line
        os.kill(child.pid, signal.SIGKILL)
        child.wait(DEADLINE)
        for p in group:
            gone = wait_event(p, lambda e: isinstance(e, LeaderLost))
            assert gone.leader == 3 and isinstance(gone.reason, LossReason), gone  # type: ignore[union-attr]
            assert gone.reason != LossReason.NONE, gone  # type: ignore[union-attr]
            nxt = wait_event(p, lambda e: isinstance(e, (Leading, Following)))
            assert nxt.epoch > epoch, nxt  # type: ignore[union-attr]
            c = p.wait_for_confirmed(DEADLINE)
            assert c.epoch == nxt.epoch and c.leader in (1, 2), c  # type: ignore[union-attr]
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(DEADLINE)
        if child.stdout:
            child.stdout.close()


def test_stats_count_the_election(peers, tmp_path: Path) -> None:
    cfg = _durable(tmp_path)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    before = group[0].stats()
    assert not before.running and before.looking_count == 0 and before.uptime == 0.0
    for p in group:
        p.start()
    leader, epoch = _confirmed(group)
    s = leader.stats()
    assert s.running and s.looking_count >= 1 and 1 <= s.elections <= s.looking_count
    assert s.leader == leader.my_sid and s.accepted_epoch >= epoch
    assert s.total_election_time >= s.last_election_time >= 0.0
    assert s.leadership_changes >= 1 and s.frames_received > 0 and s.frames_sent > 0
    assert s.state == State.LEADING or not s.confirmed
    leader.stop()
    after = leader.stats()
    assert not after.running and after.connected_peers == 0
    assert after.looking_count >= s.looking_count
