"""Value types: server states, votes, election results and events."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional, Union


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


class LossReason(enum.IntEnum):
    """Why a leader was given up or leadership ended (the C ABI's
    ``ZKELECT_REASON_*``)."""

    NONE = 0
    #: The host restarted the election.
    RESTARTED = 1
    #: Follower: no heartbeat from the leader for ``syncLimit`` ticks.
    SILENT = 2
    #: Follower: the connection to the leader broke and stayed down a tick.
    DISCONNECTED = 3
    #: Follower: the leader looks for a leader again, or follows another.
    LEADER_LOOKING = 4
    #: Leader: the acknowledgements no longer form a quorum.
    NO_QUORUM = 5
    #: Leader: no quorum confirmed the new epoch within ``initLimit`` ticks.
    NOT_CONFIRMED = 6
    #: The host stopped the peer.
    STOPPED = 7
    #: Follower: another leader is confirmed above anything I accepted.
    SUPERSEDED = 8
    #: Leader: a follower had accepted a higher epoch; I propose above it.
    EPOCH_RAISED = 9


def _reason(value: int) -> Union[LossReason, int]:
    """A :class:`LossReason`, or the plain number if this version does not know it."""
    try:
        return LossReason(value)
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
    """The leader of the last election (my own sid if I led) no longer
    counts; a new election starts by itself unless ``reason`` is STOPPED."""

    leader: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0
    #: Why.
    reason: Union[LossReason, int] = LossReason.NONE


@dataclass(frozen=True)
class Leading:
    """A quorum confirmed me as leader with ``epoch``: the fencing token for
    everything I do while leading. Check :meth:`Peer.leads_now` right
    before acting."""

    epoch: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class LeadershipLost:
    """I no longer lead ``epoch`` (emitted before any other peer can be
    confirmed as leader)."""

    epoch: int
    reason: Union[LossReason, int]
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class LeadershipFailed:
    """I was elected but gave up before a quorum confirmed ``epoch``."""

    epoch: int
    reason: Union[LossReason, int]
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class Following:
    """My leader ``leader`` is confirmed with ``epoch``."""

    leader: int
    epoch: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class Observing:
    """As :class:`Following`, for an observer."""

    leader: int
    epoch: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class EpochAccepted:
    """I accepted ``epoch`` (as follower, or proposed it as leader)."""

    epoch: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class EpochStoreFailed:
    """The durable store could not keep ``epoch``; nothing that depends on
    it was sent, and the next heartbeat tries again."""

    epoch: int
    #: The sid of the peer that raised the event.
    my_sid: int = 0


@dataclass(frozen=True)
class Confirmed:
    """A confirmed leadership: my role, the leader, and its epoch."""

    state: State
    leader: int
    epoch: int


@dataclass(frozen=True)
class Lease:
    """My lease as leader at the moment it was read."""

    #: Whether I lead confirmed now.
    leads_now: bool
    #: The epoch the lease belongs to (0 if none).
    epoch: int
    #: Seconds the lease still holds (0.0 when not leading).
    remaining: float
    #: Until when, in ns on :func:`zkelect.clock_now_ns`'s clock (0 if none).
    deadline_ns: int


@dataclass(frozen=True)
class Leadership:
    """My leadership as one consistent snapshot (:meth:`Peer.leadership`):
    every field comes from one reading of the peer's state and of the clock."""

    #: The confirmed leadership (the last :class:`Leading`, :class:`Following`
    #: or :class:`Observing`, my own only within its lease), or None.
    confirmed: Optional[Confirmed]
    #: Whether I lead confirmed at the moment of the snapshot.
    leads_now: bool
    #: Seconds my lease still held at the snapshot (0.0 unless ``leads_now``).
    lease_remaining: float
    #: When my lease ends, in ns on :func:`zkelect.clock_now_ns`'s clock (0 unless ``leads_now``).
    lease_deadline_ns: int
    #: My state as the election sees it.
    state: Union[State, int]
    #: The leader the last election decided, while that decision holds
    #: (not yet something to act on), or None.
    elected_leader: Optional[int]
    #: Whether the peer runs.
    running: bool
    #: Whether my vote is follow-only now: I vote but never win the election
    #: (``followOnly=true``; ``auto`` once I learned of real ZooKeeper
    #: members; the back-off after a failed confirmation).
    follow_only: bool = False
    #: Whether I learned that the ensemble has real ZooKeeper servers.
    real_members: bool = False

    @property
    def role(self) -> State:
        """My confirmed role; LOOKING when nothing is confirmed."""
        return self.confirmed.state if self.confirmed else State.LOOKING

    @property
    def leader(self) -> Optional[int]:
        """The confirmed leader, or None."""
        return self.confirmed.leader if self.confirmed else None

    @property
    def epoch(self) -> int:
        """The confirmed epoch (the fencing token), 0 when nothing is confirmed."""
        return self.confirmed.epoch if self.confirmed else 0


@dataclass(frozen=True)
class Stats:
    """My statistics (:meth:`Peer.stats`): state and what the peer counted
    since it was created, across restarts; the figures ``zkelect run``
    serves as four-letter words and Prometheus metrics. Times in seconds."""

    #: Whether the peer runs.
    running: bool
    #: My state as the election sees it.
    state: Union[State, int]
    #: The confirmed leader, else the decided one; None while LOOKING.
    leader: Optional[int]
    #: Whether a leadership is confirmed.
    confirmed: bool
    #: The highest epoch accepted.
    accepted_epoch: int
    #: My election round (logicalclock).
    round: int
    #: Since the current run started (0.0 when not running).
    uptime: float
    #: How long the current confirmed leadership has held (0.0 if none).
    confirmed_for: float
    #: Times I went LOOKING (each start and each new election).
    looking_count: int
    #: Elections that ended in a decision.
    elections: int
    #: The last election's duration.
    last_election_time: float
    #: The shortest election (0.0 before the first).
    min_election_time: float
    #: The longest election (0.0 before the first).
    max_election_time: float
    #: All elections' durations added up.
    total_election_time: float
    #: Confirmed leaderships begun (a new leader or a new epoch).
    leadership_changes: int
    #: Members of the configuration connected now.
    connected_peers: int
    #: Failed connection attempts and connections closed for a bad frame.
    connection_errors: int
    #: Received frames dropped because the receive queue was full.
    frames_dropped: int
    #: Frames received from peers.
    frames_received: int
    #: Frames queued for sending.
    frames_sent: int


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
    StateChanged,
    LeaderElected,
    LeaderLost,
    PeerConnected,
    PeerDisconnected,
    Leading,
    LeadershipLost,
    LeadershipFailed,
    Following,
    Observing,
    EpochAccepted,
    EpochStoreFailed,
    UnknownEvent,
]
