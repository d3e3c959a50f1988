"""fork() with running peers (issue 16): a child that closes the parent's
peers, or exits through ``atexit``, neither crashes nor disturbs the
parent: its peers keep their leader, epoch, connections, listeners and
``dataDir`` locks."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List, Tuple

import pytest
from conftest import DEADLINE, HERE, SRC, make_config, until

import zkelect


class Links:
    """Counts a peer's connection and loss events."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connected = 0
        self.disconnected = 0
        self.losses = 0

    def __call__(self, e: zkelect.Event) -> None:
        with self.lock:
            if isinstance(e, zkelect.PeerConnected):
                self.connected += 1
            elif isinstance(e, zkelect.PeerDisconnected):
                self.disconnected += 1
            elif isinstance(e, (zkelect.LeaderLost, zkelect.LeadershipLost, zkelect.LeadershipFailed)):
                self.losses += 1

    def get(self, field: str) -> int:
        with self.lock:
            return getattr(self, field)


Ensemble = Tuple[str, List[zkelect.Peer], List[Links], List[zkelect.Confirmed], List[int]]


def ensemble(data_dir: Path) -> Ensemble:
    """Sids 1 and 2 of three, started and confirmed (a quorum); sid 3 is
    created but joins only after the fork."""
    cfg = make_config(3) + f"dataDir={data_dir}\n"
    peers = [zkelect.Peer(cfg, sid) for sid in (1, 2, 3)]
    links = [Links() for _ in peers]
    for p, l in zip(peers, links):
        p.add_listener(l)
    for p in peers[:2]:
        p.start()
    confirmed = [p.wait_for_confirmed(DEADLINE) for p in peers[:2]]
    assert (confirmed[0].leader, confirmed[0].epoch) == (confirmed[1].leader, confirmed[1].epoch)
    connected = [l.get("connected") for l in links[:2]]
    return cfg, peers, links, confirmed, connected


def check_parent_undisturbed(e: Ensemble) -> None:
    """The parent's peers after the child is gone: the listeners accept sid
    3, which follows the same leader in the same epoch; sids 1 and 2 saw no
    disconnect and no loss and are still confirmed as before; the parent
    still holds sid 1's dataDir lock."""
    cfg, peers, links, confirmed, connected = e
    peers[2].start()
    c3 = peers[2].wait_for_confirmed(DEADLINE)
    assert (c3.leader, c3.epoch) == (confirmed[0].leader, confirmed[0].epoch)
    for i in (0, 1):
        until(lambda: links[i].get("connected") > connected[i])
        now = peers[i].leadership().confirmed
        assert now is not None and (now.leader, now.epoch) == (
            confirmed[i].leader,
            confirmed[i].epoch,
        ), f"sid {i + 1}: {now} after {confirmed[i]}"
        assert links[i].get("disconnected") == 0, f"sid {i + 1} saw a disconnect"
        assert links[i].get("losses") == 0, f"sid {i + 1} lost its leadership"
    twin = zkelect.Peer(cfg, 1)
    try:
        with pytest.raises(zkelect.NetworkError, match="held by another process"):
            twin.start()
    finally:
        twin.close()


def close_all_and_exit(peers: List[zkelect.Peer]) -> None:
    """A child's work: close every peer of the parent, exit 0 if that went
    well (never returns)."""
    code = 1
    try:
        for p in peers:
            p.close()
        code = 0 if all(p.closed for p in peers) else 2
    finally:
        os._exit(code)


def wait_child(pid: int) -> int:
    """The exit code of child ``pid``, waited for up to DEADLINE; a child
    that hangs is killed and fails the test."""
    deadline = time.monotonic() + DEADLINE
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"the forked child hung for {DEADLINE} s")
        time.sleep(0.01)


@pytest.fixture
def group(tmp_path: Path):
    e = ensemble(tmp_path)
    yield e
    for p in e[1]:
        p.close()


def test_a_forked_child_closes_the_parents_peers(group: Ensemble) -> None:
    pid = os.fork()
    if pid == 0:
        close_all_and_exit(group[1])
    assert wait_child(pid) == 0
    check_parent_undisturbed(group)


def test_multiprocessing_fork_children_close_or_just_exit(group: Ensemble) -> None:
    ctx = multiprocessing.get_context("fork")
    closer = ctx.Process(target=close_all_and_exit, args=(group[1],))
    idle = ctx.Process(target=lambda: None)  # exits without closing
    for child in (closer, idle):
        child.start()
    for child in (closer, idle):
        child.join(DEADLINE)
        if child.is_alive():
            child.kill()
            child.join()
            raise AssertionError(f"a forked child hung for {DEADLINE} s")
        assert child.exitcode == 0
    check_parent_undisturbed(group)


def test_a_forked_child_that_exits_closes_at_exit(tmp_path: Path) -> None:
    # Through the interpreter's own exit: atexit closes the live peers in
    # the child (a crash there made the exit status non-zero).
    code = f"""
import os, sys
sys.path[:0] = [{str(HERE)!r}]
import test_fork as t
from pathlib import Path
e = t.ensemble(Path({str(tmp_path)!r}))
pid = os.fork()
if pid == 0:
    sys.exit(0)  # atexit: close_all() in the child
assert t.wait_child(pid) == 0
t.check_parent_undisturbed(e)
print("parent undisturbed")
"""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "parent undisturbed" in r.stdout


def test_a_forked_child_that_lives_on_keeps_no_copy_of_the_lock(group: Ensemble) -> None:
    # The child releases its copies right after the fork (register_at_fork):
    # a child that lives on without closing the peer must not keep the
    # parent's dataDir lock (an flock of the open file both share) held.
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()

    def live_on() -> None:
        ready.set()
        done.wait(DEADLINE)

    child = ctx.Process(target=live_on)
    child.start()
    try:
        assert ready.wait(DEADLINE)
        sid1 = group[1][0]
        sid1.stop()
        sid1.start()  # takes its lock again: no copy of the old one is open
        sid1.wait_for_confirmed(DEADLINE)
    finally:
        done.set()
        child.join(DEADLINE)
    assert child.exitcode == 0
