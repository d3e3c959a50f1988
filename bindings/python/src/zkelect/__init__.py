"""zkelect: Apache ZooKeeper 3.8's leader election, from Python.

A thin ctypes binding of the zkelect C library (``libzkelect.so``, shipped
inside this package; set ``ZKELECT_LIBRARY`` to use another build)::

    from zkelect import Peer

    with Peer(open("zoo.cfg").read(), myid=1) as peer:
        leader = peer.wait_for_leader(timeout=30)
        print(leader.leader, leader.state.name)

The library's log lines go to ``logging.getLogger("zkelect")``; the native
threshold follows that logger's effective level when a peer starts, or is
set with :func:`set_log_level`.
"""

from __future__ import annotations

import atexit

from . import _callbacks, _native
from ._callbacks import set_log_level
from ._version import __version__
from .errors import (
    AlreadyRunningError,
    ConfigError,
    ElectionTimeout,
    InternalError,
    InvalidArgumentError,
    LibraryNotFoundError,
    LibraryVersionError,
    NetworkError,
    NotRunningError,
    PeerClosedError,
    ZkelectError,
)
from .peer import Listener, Peer, close_all
from .types import (
    Event,
    Leader,
    LeaderElected,
    LeaderLost,
    PeerConnected,
    PeerDisconnected,
    State,
    StateChanged,
    UnknownEvent,
    Vote,
)


def library_version() -> str:
    """The version of the loaded native library (``zkelect_version()``)."""
    return str(_native.lib.zkelect_version().decode())


#: The path (or name) of the loaded native library.
library_path: str = _native.path


def _at_exit() -> None:
    # Close live peers while the interpreter still runs (their threads call
    # into Python), then stop routing log lines into it.
    close_all()
    _callbacks.remove_log_callback()


_callbacks.install_log_callback()
_callbacks.sync_log_level()
atexit.register(_at_exit)

__all__ = [
    "__version__",
    "AlreadyRunningError",
    "ConfigError",
    "ElectionTimeout",
    "Event",
    "InternalError",
    "InvalidArgumentError",
    "Leader",
    "LeaderElected",
    "LeaderLost",
    "LibraryNotFoundError",
    "LibraryVersionError",
    "Listener",
    "NetworkError",
    "NotRunningError",
    "Peer",
    "PeerClosedError",
    "PeerConnected",
    "PeerDisconnected",
    "State",
    "StateChanged",
    "UnknownEvent",
    "Vote",
    "ZkelectError",
    "library_path",
    "library_version",
    "set_log_level",
]
