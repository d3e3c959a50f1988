"""Closing peers: idempotence, use after close, exit with live peers."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import time
import weakref

import pytest
from conftest import DEADLINE, SRC, make_config, until

import zkelect


def test_close_is_idempotent(peers) -> None:
    p = peers(make_config(3), 1)
    p.start()
    p.close()
    p.close()
    assert p.closed
    assert p.my_sid == 1  # still known
    assert "closed" in repr(p)


@pytest.mark.parametrize(
    "use",
    [
        lambda p: p.start(),
        lambda p: p.stop(),
        lambda p: p.state,
        lambda p: p.vote,
        lambda p: p.wait_for_leader(1),
        lambda p: p.restart_election(),
        lambda p: p.set_zxid(1),
        lambda p: p.set_epoch(1),
    ],
)
def test_use_after_close_raises(peers, use) -> None:
    p = peers(make_config(3), 1)
    p.close()
    with pytest.raises(zkelect.PeerClosedError):
        use(p)


def test_close_wakes_a_waiter_on_another_thread(peers) -> None:
    p = peers(make_config(3), 1)  # alone: never elects
    p.start()
    caught = []

    def wait() -> None:
        try:
            p.wait_for_leader(None)
        except zkelect.ZkelectError as e:
            caught.append(e)

    t = threading.Thread(target=wait)
    t.start()
    p.close()
    t.join(DEADLINE)
    assert not t.is_alive()
    assert isinstance(caught[0], (zkelect.NotRunningError, zkelect.PeerClosedError))


def test_events_iterator_ends_on_close(peers) -> None:
    p = peers(make_config(3), 1)
    p.start()
    threading.Timer(0.2, p.close).start()
    list(p.events(timeout=DEADLINE))  # returns once closed, not at the timeout
    assert p.closed


def test_unreferenced_peer_is_collected(peers) -> None:
    p = zkelect.Peer(make_config(3), 1)
    p.start()
    ref = weakref.ref(p)
    del p
    gc.collect()
    assert ref() is None


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PYTHONPATH=str(SRC), **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_exit_with_live_peers_does_not_hang() -> None:
    code = f"""
import logging, threading, zkelect
logging.basicConfig(level=logging.DEBUG)  # native threads log while exiting
cfg = {make_config(3)!r}
elected = threading.Event()
peers = [zkelect.Peer(cfg, sid, on_event=lambda e: elected.set()) for sid in (1, 2, 3)]
for p in peers:
    p.start()
print(peers[0].wait_for_leader(30).leader)
lonely = zkelect.Peer({make_config(3)!r}, 1)  # never elects
lonely.start()
# A blocking call still in flight at exit.
threading.Thread(target=lonely.wait_for_leader, daemon=True).start()
"""
    r = _run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("2", "3")


def test_close_in_a_callback_while_another_thread_stops(peers) -> None:
    # Either order of the two calls must end with the handle freed once.
    cfg = make_config(3)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    in_callback = threading.Event()

    def on_event(e: zkelect.Event) -> None:
        if isinstance(e, zkelect.LeaderElected):
            in_callback.set()
            time.sleep(0.2)  # give the main thread time to enter stop()
            group[0].close()

    group[0].add_listener(on_event)
    for p in group:
        p.start()
    assert in_callback.wait(DEADLINE)
    try:
        group[0].stop()
    except zkelect.PeerClosedError:
        pass  # the callback's close came first
    group[0].close()
    assert group[0].closed


def test_close_in_a_callback_while_another_thread_waits(peers) -> None:
    cfg = make_config(3)
    lonely = peers(cfg, 1)
    lonely.start()
    outcome: list = []

    def wait() -> None:
        try:
            outcome.append(lonely.wait_for_leader(None))
        except zkelect.ZkelectError as e:
            outcome.append(e)

    waiter = threading.Thread(target=wait)
    waiter.start()
    lonely.add_listener(lambda e: lonely.close() if isinstance(e, zkelect.PeerConnected) else None)
    peers(cfg, 2).start()  # connects: the callback closes the waited-on peer
    waiter.join(DEADLINE)
    assert not waiter.is_alive() and len(outcome) == 1
    lonely.close()  # waits until the handle is freed
    assert lonely.closed


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _port_free(port: int) -> bool:
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_a_peer_whose_listener_refers_to_it_is_collected_and_stopped() -> None:
    # Issue 16: the module's callback registry kept such a peer (and its 31
    # threads and its ports) alive until interpreter exit.
    cfg = make_config(3)
    election_port = int(cfg.split("server.1=")[1].split("\n")[0].rsplit(":", 1)[1])
    before = _threads()
    p = zkelect.Peer(cfg, 1)
    seen = []
    # A listener that refers to the peer (a default argument, not a cell
    # that `del p` would clear).
    p.add_listener(lambda e, peer=p: seen.append((peer.my_sid, e)))
    p.start()
    # A second peer gives sid 1 events (a connection, an election): a lone
    # peer starts LOOKING and emits none.
    other = zkelect.Peer(cfg, 2)
    other.start()
    until(lambda: len(seen) > 0)  # its threads run and call into Python
    assert not _port_free(election_port)
    ref = weakref.ref(p)
    del p
    deadline = time.monotonic() + DEADLINE
    while ref() is not None:
        assert time.monotonic() < deadline, "the peer was never collected"
        gc.collect()
        time.sleep(0.01)
    other.close()
    # Collected means stopped: its threads are joined and its port is free.
    until(lambda: _threads() <= before)
    until(lambda: _port_free(election_port))
