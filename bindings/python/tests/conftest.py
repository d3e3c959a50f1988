"""Shared fixtures: the package from this source tree, free ports, configs,
peers that are always closed, and deadline-bounded event waits."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
ROOT = HERE.parents[2]

# Test this source tree, with the development build unless told otherwise.
sys.path.insert(0, str(SRC))
os.environ.setdefault("ZKELECT_LIBRARY", str(ROOT / "target" / "release" / "libzkelect.so"))

import zkelect  # noqa: E402

DEADLINE = 30.0  # seconds; elections on loopback take well under one


def free_ports(n: int) -> List[int]:
    """``n`` distinct ports that were free on 127.0.0.1 a moment ago."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def make_config(n: int = 3) -> str:
    """zoo.cfg text for ``n`` servers on fresh loopback ports."""
    ports = free_ports(2 * n)
    lines = ["tickTime=2000", "initLimit=5", "syncLimit=2"]
    lines += [
        f"server.{i}=127.0.0.1:{ports[2 * i - 2]}:{ports[2 * i - 1]}" for i in range(1, n + 1)
    ]
    return "\n".join(lines) + "\n"


def wait_event(
    peer: zkelect.Peer, match: Callable[[zkelect.Event], bool], timeout: float = DEADLINE
) -> zkelect.Event:
    """The first queued event of ``peer`` that ``match`` accepts, within ``timeout``."""
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        e = next(peer.events(timeout=left), None)
        if e is None:
            break
        seen.append(e)
        if match(e):
            return e
    raise AssertionError(f"no matching event within {timeout} s; saw {seen}")


def until(cond: Callable[[], bool], timeout: float = DEADLINE) -> None:
    """Waits (polling briefly) until ``cond()`` holds, failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def peers() -> Iterator[Callable[..., zkelect.Peer]]:
    """A factory of peers that are all closed at the end of the test."""
    made: List[zkelect.Peer] = []

    def make(config: str, myid: Optional[int] = None, **kw: object) -> zkelect.Peer:
        p = zkelect.Peer(config, myid, **kw)  # type: ignore[arg-type]
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def ensemble(peers: Callable[..., zkelect.Peer]) -> List[zkelect.Peer]:
    """Three started peers of one ensemble."""
    cfg = make_config(3)
    group = [peers(cfg, sid) for sid in (1, 2, 3)]
    for p in group:
        p.start()
    return group
