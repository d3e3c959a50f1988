"""Elects a leader among 3 peers in one process and prints it.

pip install ./bindings/python    # or: export ZKELECT_LIBRARY=target/release/libzkelect.so
python3 examples/python/ensemble.py
"""

import socket
from contextlib import ExitStack

import zkelect

# Six distinct free loopback ports: bind them all, note them, release them.
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()

config = "tickTime=2000\ninitLimit=5\nsyncLimit=2\n" + "".join(
    f"server.{sid}=127.0.0.1:{ports[2 * sid - 2]}:{ports[2 * sid - 1]}\n" for sid in (1, 2, 3)
)

with ExitStack() as stack:  # closes every peer, even on error
    peers = [stack.enter_context(zkelect.Peer(config, sid)) for sid in (1, 2, 3)]  # started
    for peer in peers:
        leader = peer.wait_for_leader(timeout=30)
        print(
            f"sid {peer.my_sid}: {leader.state.name}, leader {leader.leader} "
            f"(round {leader.election_epoch}, {leader.elapsed_ms} ms)"
        )
