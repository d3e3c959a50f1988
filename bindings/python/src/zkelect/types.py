"""Value types: server states, votes, election results and events."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union


class State(enum.IntEnum):
    """A server's state (the numbers are the C ABI's ``ZKELECT_STATE_*``)."""

    LOOKING = 0
    FOLLOWING = 1
    LEADING = 2
    OBSERVING = 3


def _state(value: int) -> Union[State, int]:
    """A :class:`State`, or the plain number if this version does not know it."""
    try:
        return State(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class Vote:
    """A peer's state and vote: while LOOKING its current proposal, once
    decided the vote that won."""

    state: State
    leader: int
    zxid: int
    election_epoch: int
    peer_epoch: int


@dataclass(frozen=True)
class Leader:
    """The result of an election."""

    #: The elected leader's sid.
    leader: int
    #: Its zxid at election time.
    zxid: int
    #: The round it was elected in.
    election_epoch: int
    #: Its epoch.
    peer_epoch: int
    #: My role: LEADING, FOLLOWING or OBSERVING.
    state: State
    #: Milliseconds from the start of the election to the decision.
    elapsed_ms: int


@dataclass(frozen=True)
class StateChanged:
    """My state changed from ``old`` to ``new``."""

    old: State
    new: State
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class LeaderElected:
    """An election ended; ``state`` is my role."""

    leader: int
    zxid: int
    election_epoch: int
    peer_epoch: int
    state: State
    elapsed_ms: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0

    def as_leader(self) -> Leader:
        """The same result as a :class:`Leader`."""
        return Leader(
            self.leader,
            self.zxid,
            self.election_epoch,
            self.peer_epoch,
            self.state,
            self.elapsed_ms,
        )


@dataclass(frozen=True)
class LeaderLost:
    """The election was restarted while ``leader`` was known."""

    leader: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class PeerConnected:
    """An election connection to peer ``sid`` came up."""

    sid: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class PeerDisconnected:
    """The election connection to peer ``sid`` went down."""

    sid: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class UnknownEvent:
    """An event kind this version of the binding does not know."""

    kind: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


#: Any event a peer delivers.
Event = Union[
    StateChanged, LeaderElected, LeaderLost, PeerConnected, PeerDisconnected, UnknownEvent
]
