"""Elects and confirms a leader among 3 peers in one process; the leader
then fences a shared SQLite table with its epoch before it writes.

pip install ./bindings/python    # or: export ZKELECT_LIBRARY=target/release/libzkelect.so
python3 examples/python/ensemble.py
"""

import os
import socket
import sqlite3
import tempfile
from contextlib import ExitStack

import zkelect

# Six distinct free loopback ports: bind them all, note them, release them.
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()


def write_as_leader(db: sqlite3.Connection, peer: zkelect.Peer, epoch: int, job: str) -> bool:
    """One fenced write: refused if a leader with a newer epoch wrote first."""
    if not peer.leads_now():  # the lease, checked right before acting
        return False
    with db:  # one transaction
        db.execute("UPDATE fence SET epoch = ? WHERE epoch <= ?", (epoch, epoch))
        (current,) = db.execute("SELECT epoch FROM fence").fetchone()
        if current != epoch:
            raise RuntimeError(f"fenced out: epoch {current} is newer than mine ({epoch})")
        db.execute("INSERT INTO jobs(name, epoch) VALUES (?, ?)", (job, epoch))
    return True


with tempfile.TemporaryDirectory() as data, ExitStack() as stack:  # closes every peer
    # dataDir keeps each peer's accepted epoch (fsynced before it is acknowledged).
    config = f"tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir={data}\n" + "".join(
        f"server.{sid}=127.0.0.1:{ports[2 * sid - 2]}:{ports[2 * sid - 1]}\n" for sid in (1, 2, 3)
    )
    peers = [stack.enter_context(zkelect.Peer(config, sid)) for sid in (1, 2, 3)]  # started
    for peer in peers:
        c = peer.wait_for_confirmed(timeout=30)  # act on this, not on wait_for_leader
        print(f"sid {peer.my_sid}: {c.state.name}, leader {c.leader} (epoch {c.epoch})")

    db = stack.enter_context(sqlite3.connect(os.path.join(data, "jobs.db")))
    db.execute("CREATE TABLE fence(epoch INTEGER NOT NULL)")
    db.execute("INSERT INTO fence VALUES (0)")
    db.execute("CREATE TABLE jobs(name TEXT, epoch INTEGER)")
    db.commit()
    leader = next(p for p in peers if p.confirmed and p.confirmed.state is zkelect.State.LEADING)
    epoch = leader.confirmed.epoch  # type: ignore[union-attr]
    if write_as_leader(db, leader, epoch, "nightly-backup"):
        print(f"fenced write by sid {leader.my_sid} with epoch {epoch}")
