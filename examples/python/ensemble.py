"""Fencing with the epoch: three workers elect and confirm a leader; only
the confirmed leader writes to a shared SQLite database, every write carries
its epoch, and the database refuses a write whose epoch is lower than the
highest it has seen. Then the leader is closed: its successor writes with a
higher epoch, and the old leader's late write is refused.

pip install ./bindings/python    # or: export ZKELECT_LIBRARY=target/release/libzkelect.so
python3 examples/python/ensemble.py
"""

import os
import socket
import sqlite3
import tempfile
import time
from contextlib import ExitStack

import zkelect

# Six distinct free loopback ports: bind them all, note them, release them.
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()


def fenced_write(db: sqlite3.Connection, sid: int, epoch: int, job: str) -> bool:
    """One fenced write, in one transaction: raise the fence to ``epoch``
    unless a higher epoch wrote already, then write. False if refused."""
    with db:  # one transaction
        if db.execute("UPDATE fence SET epoch = ? WHERE epoch <= ?", (epoch, epoch)).rowcount != 1:
            return False
        db.execute("INSERT INTO jobs(job, sid, epoch) VALUES (?, ?, ?)", (job, sid, epoch))
    return True


def write_as_leader(db: sqlite3.Connection, peer: zkelect.Peer, epoch: int, job: str) -> bool:
    """The leader's write: only while its lease holds (checked right before acting)."""
    lease = peer.lease()
    if not (lease.leads_now and lease.epoch == epoch):
        print(f"sid {peer.my_sid}: no longer leads, does not write")
        return False
    ok = fenced_write(db, peer.my_sid, epoch, job)
    print(f"fenced write by sid {peer.my_sid} with epoch {epoch}: {'accepted' if ok else 'refused'}")
    return ok


def leader_above(peers: "list[zkelect.Peer]", above: int) -> "tuple[zkelect.Peer, int]":
    """The peer that leads confirmed with an epoch above ``above`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for p in peers:
            c = p.wait_for_confirmed(timeout=max(0.0, deadline - time.monotonic()))
            if c.state is zkelect.State.LEADING and c.epoch > above:
                print(f"sid {p.my_sid} leads with epoch {c.epoch}")
                return p, c.epoch
        time.sleep(0.01)
    raise TimeoutError(f"no leader with an epoch above {above} within 30 s")


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
    db.execute("CREATE TABLE jobs(job TEXT, sid INTEGER, epoch INTEGER)")
    db.commit()
    first, old_epoch = leader_above(peers, 0)
    assert write_as_leader(db, first, old_epoch, "nightly-backup")

    # The leader goes away (here: closed; a killed process works the same,
    # after the followers notice).
    first.close()  # its LeadershipLost(STOPPED) comes first
    survivors = [p for p in peers if p is not first]
    nxt, new_epoch = leader_above(survivors, old_epoch)
    assert write_as_leader(db, nxt, new_epoch, "nightly-backup")

    # The old leader's write that was still on its way (a pause, a slow
    # network) arrives now, with its old epoch: the store refuses it.
    late = fenced_write(db, first.my_sid, old_epoch, "nightly-backup (late)")
    (highest,) = db.execute("SELECT epoch FROM fence").fetchone()
    print(
        f"late write by sid {first.my_sid} with epoch {old_epoch}: "
        f"{'ACCEPTED' if late else 'refused'} (the store has seen epoch {highest})"
    )
    assert not late
