"""zkelect: Apache ZooKeeper 3.8's leader election, from Python.

A thin ctypes binding of the zkelect C library (``libzkelect.so``, shipped
inside this package; set ``ZKELECT_LIBRARY`` to use another build)::

    from zkelect import Peer

    with Peer(open("zoo.cfg").read(), myid=1) as peer:
        c = peer.wait_for_confirmed(timeout=30)     # a leader a quorum confirmed
        print(c.leader, c.state.name, c.epoch)      # the epoch is the fencing token
        for term in peer.terms():                   # each time this peer leads
            with term:
                while True:
                    term.check()                    # TermLost once the term is over
                    write(job, epoch=term.epoch)

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
from .terms import Term, TermLost
from .types import (
    Confirmed,
    EpochAccepted,
    EpochStoreFailed,
    Event,
    Following,
    Leader,
    LeaderElected,
    LeaderLost,
    Leadership,
    Leading,
    LeadershipFailed,
    LeadershipLost,
    Lease,
    LossReason,
    Observing,
    PeerConnected,
    PeerDisconnected,
    State,
    StateChanged,
    Stats,
    UnknownEvent,
    Vote,
)


def clock_now_ns() -> int:
    """The clock leases are measured on (CLOCK_BOOTTIME), in nanoseconds."""
    return int(_native.lib.zkelect_clock_now_ns())


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
    "Confirmed",
    "ElectionTimeout",
    "EpochAccepted",
    "EpochStoreFailed",
    "Event",
    "Following",
    "InternalError",
    "InvalidArgumentError",
    "Leader",
    "LeaderElected",
    "LeaderLost",
    "Leadership",
    "Leading",
    "LeadershipFailed",
    "LeadershipLost",
    "Lease",
    "LossReason",
    "Observing",
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
    "Stats",
    "Term",
    "TermLost",
    "UnknownEvent",
    "Vote",
    "ZkelectError",
    "clock_now_ns",
    "library_path",
    "library_version",
    "set_log_level",
]
