"""The leadership recipe: one :class:`Term` per confirmed leadership.

::

    for term in peer.terms():          # blocks until this peer leads; ends when it closes
        with term:                     # a TermLost raised inside ends this term only
            while True:
                term.check()           # raises TermLost once the term is over
                write(job, epoch=term.epoch)   # the resource refuses older epochs

A term begins with a :class:`~zkelect.Leading` event and ends with its
:class:`~zkelect.LeadershipLost` (or when the lease, checked by
:meth:`Term.check`, runs out first, or the peer closes). :meth:`Peer.terms`
yields one term at a time: it yields the next only after the last one ended.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator, Optional, Union

from .errors import PeerClosedError
from .types import Event, Leading, LeadershipLost, LossReason, State

if TYPE_CHECKING:  # pragma: no cover
    from .peer import Peer

_SLICE = 0.2  # seconds between checks for a closed peer


class TermLost(Exception):
    """Raised by :meth:`Term.check` once its term is over; ``with term:``
    absorbs it, so the loop goes on to wait for the next term."""

    def __init__(self, term: "Term") -> None:
        why = f" ({term.reason.name if isinstance(term.reason, LossReason) else term.reason})"
        super().__init__(f"the leadership of epoch {term.epoch} ended" + (why if term.reason else ""))
        self.term = term


class Term:
    """One confirmed leadership of this peer, with its fencing epoch."""

    def __init__(self, peer: "Peer", epoch: int) -> None:
        self._peer = peer
        #: The epoch of this term: tag every write with it.
        self.epoch = epoch
        #: Why the term ended, from its LeadershipLost (None until that
        #: arrives, also when the lease ran out first; a plain number for a
        #: reason newer than this package).
        self.reason: Optional[Union[LossReason, int]] = None
        self._ended = threading.Event()

    def __repr__(self) -> str:
        return f"<zkelect.Term epoch={self.epoch} {'ended' if self.ended else 'running'}>"

    def _end(self, reason: Union[LossReason, int]) -> None:
        if not self._ended.is_set():
            self.reason = reason
            self._ended.set()

    @property
    def ended(self) -> bool:
        """Whether the term's LeadershipLost arrived (or the peer closed)."""
        return self._ended.is_set()

    def holds(self) -> bool:
        """Whether the term is still mine at this moment: no LeadershipLost
        yet, and the lease, read now, is this epoch's."""
        if self._ended.is_set():
            return False
        try:
            lease = self._peer.lease()
        except PeerClosedError:
            self._end(LossReason.STOPPED)
            return False
        return lease.leads_now and lease.epoch == self.epoch

    def check(self) -> None:
        """Raises :class:`TermLost` unless :meth:`holds`; call it right
        before each action as leader."""
        if not self.holds():
            raise TermLost(self)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits up to ``timeout`` seconds (None: no limit) for the term to
        end; True if it ended."""
        return self._ended.wait(timeout)

    def __enter__(self) -> "Term":
        return self

    def __exit__(self, typ: object, exc: object, tb: object) -> bool:
        return isinstance(exc, TermLost) and exc.term is self


def terms(peer: "Peer") -> Iterator[Term]:
    """The terms of ``peer``, one at a time, until it is closed (see the
    module's docs). Safe to run on any thread; stop early with ``break``."""
    changed = threading.Condition()
    current: list = [None]  # the newest term

    def listener(event: Event) -> None:
        with changed:
            if isinstance(event, Leading):
                current[0] = Term(peer, event.epoch)
            elif isinstance(event, LeadershipLost) and current[0] is not None:
                if current[0].epoch == event.epoch:
                    current[0]._end(event.reason)
            else:
                return
            changed.notify_all()

    peer.add_listener(listener)
    try:
        # Already leading when called: that is the first term.
        c = peer.confirmed
        with changed:
            if current[0] is None and c is not None and c.state == State.LEADING:
                current[0] = Term(peer, c.epoch)
        last: Optional[Term] = None
        while True:
            with changed:
                while current[0] is None or current[0] is last or current[0].ended:
                    if peer.closed:
                        return
                    changed.wait(_SLICE)
                term = current[0]
            last = term
            yield term
            while not term.wait(_SLICE):
                if peer.closed:
                    term._end(LossReason.STOPPED)
    finally:
        try:
            peer.remove_listener(listener)
        except ValueError:
            pass


__all__ = ["Term", "TermLost", "terms"]
