"""The :class:`Peer`: one election participant backed by a native handle."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
import weakref
from contextlib import contextmanager
from ctypes import byref, c_int64, c_void_p
from typing import Callable, Iterator, List, Optional, Union

from . import _callbacks as cb
from . import _native as n
from . import terms as _terms
from .errors import AlreadyRunningError, ElectionTimeout, PeerClosedError
from .types import (
    Confirmed,
    Event,
    Following,
    Leader,
    LeaderLost,
    Leadership,
    LeadershipLost,
    Leading,
    Lease,
    Observing,
    State,
    StateChanged,
    Stats,
    Vote,
    _state,
)

#: An event listener: called on the peer's notifier thread with each event.
Listener = Callable[[Event], None]

_CLOSED = object()  # ends events() iterators
_live: "weakref.WeakSet[Peer]" = weakref.WeakSet()  # closed at exit
_WAIT_SLICE_MS = 200  # wait_for_leader waits in slices so Ctrl-C works


class _Handle:
    """Owns a native ``zkelect_peer *``: counts the calls in flight and frees
    the handle once, when it is closed and no call is in flight (the C ABI
    forbids freeing concurrently with another call)."""

    def __init__(self, ptr: int) -> None:
        self._ptr = ptr
        self._users = 0
        self._closed = False
        self._lock = threading.Lock()
        self._freed = threading.Event()
        self._pid = os.getpid()

    def after_fork_in_child(self) -> None:
        """In a forked child: only the thread that forked exists, so the
        calls that were in flight on other threads are gone, and a lock
        they held stays held. Starts over with fresh locks and no call in
        flight, and releases the child's copies of the peer's sockets and
        ``dataDir`` lock file at once (the native stop of a forked child
        does only that), so that a child that lives on without closing the
        peer does not keep the parent's lock or listener open. A handle
        closed in the parent but not yet freed (a call was still in flight
        there) is freed now."""
        self._lock = threading.Lock()
        self._users = 0
        self._freed = threading.Event()
        n.lib.zkelect_peer_stop(self._ptr)
        if self._closed:
            n.lib.zkelect_peer_free(self._ptr)
            self._freed.set()

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def use(self) -> Iterator[int]:
        with self._lock:
            if self._closed:
                raise PeerClosedError("the peer is closed")
            self._users += 1
        try:
            yield self._ptr
        finally:
            self._leave()

    def _leave(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._closed and self._users == 0
        if last:
            n.lib.zkelect_peer_free(self._ptr)
            self._freed.set()

    def close(self) -> bool:
        """Stops and frees the native peer; True on the first call. Waits
        for calls in flight on other threads to end, except inside a native
        callback (where waiting could deadlock); the last of those calls
        then frees the handle."""
        with self._lock:
            first = not self._closed
            self._closed = True
            if first:
                self._users += 1
        if first:
            try:
                n.lib.zkelect_peer_stop(self._ptr)
            finally:
                self._leave()
        if not cb.in_callback():
            self._freed.wait()
        return first


def _is_path(config: str) -> bool:
    """Whether a str is a path: one line naming a file (or with no ``=``, so
    that a missing file is reported as such rather than as bad config)."""
    return "\n" not in config and ("=" not in config or os.path.isfile(config))


def _after_fork_in_child() -> None:
    for peer in list(_live):
        peer._after_fork_in_child()


# A peer of the parent in a forked child (os.fork, multiprocessing's
# "fork" start method, pre-fork servers) can be closed there, by close()
# or at exit; this keeps that from waiting on locks and calls of threads
# that only exist in the parent.
os.register_at_fork(after_in_child=_after_fork_in_child)


class _Sink:
    """Receives a peer's events on its notifier thread: queues them, then
    calls the listeners. Holds no reference to the Peer, so an unreferenced
    Peer can be collected (and its handle freed)."""

    def __init__(self, max_queued: int) -> None:
        self.queue: "queue.Queue[object]" = queue.Queue()
        self.max_queued = max_queued
        self.listeners: List[Listener] = []
        #: The confirmed leadership as the events say (set by Leading,
        #: Following, Observing; cleared by any loss or a new election).
        self.confirmed: Optional[Confirmed] = None
        self.changed = threading.Condition()
        #: The asyncio iterators (aevents) to end when the peer closes.
        self.feeds: "weakref.WeakSet[_AsyncFeed]" = weakref.WeakSet()

    def _track(self, event: Event) -> None:
        with self.changed:
            if isinstance(event, Leading):
                self.confirmed = Confirmed(State.LEADING, event.my_sid, event.epoch)
            elif isinstance(event, Following):
                self.confirmed = Confirmed(State.FOLLOWING, event.leader, event.epoch)
            elif isinstance(event, Observing):
                self.confirmed = Confirmed(State.OBSERVING, event.leader, event.epoch)
            elif isinstance(event, (LeadershipLost, LeaderLost)) or (
                isinstance(event, StateChanged) and event.new == State.LOOKING
            ):
                self.confirmed = None
            else:
                return
            self.changed.notify_all()

    def after_fork_in_child(self) -> None:
        """Fresh locks in a forked child (the notifier thread that may have
        held them is not there); the queued events are kept."""
        self.changed = threading.Condition()
        fresh: "queue.Queue[object]" = queue.Queue()
        fresh.queue.extend(self.queue.queue)
        self.queue = fresh

    def __call__(self, event: Event) -> None:
        self._track(event)
        if self.max_queued > 0:
            while self.queue.qsize() >= self.max_queued:
                try:  # drop the oldest
                    self.queue.get_nowait()
                except queue.Empty:
                    break
            self.queue.put(event)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                cb.logger.exception("zkelect: event listener %r raised", listener)


class _AsyncFeed:
    """A listener that hands events to an asyncio queue on its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: "asyncio.Queue[object]" = asyncio.Queue()

    def _put(self, item: object) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody reads any more
            pass

    def __call__(self, event: Event) -> None:
        self._put(event)

    def end(self) -> None:
        self._put(_CLOSED)


class AsyncEvents:
    """The asyncio iterator of :meth:`Peer.aevents`: registered with the
    peer from its creation, so no event between the call and the first
    ``await`` is missed."""

    def __init__(self, peer: "Peer", timeout: Optional[float]) -> None:
        self._peer: Optional[Peer] = peer
        self._timeout = timeout
        self._feed = _AsyncFeed(asyncio.get_running_loop())
        peer._sink.feeds.add(self._feed)
        peer.add_listener(self._feed)
        if peer.closed:
            self._feed.end()

    def __aiter__(self) -> "AsyncEvents":
        return self

    async def __anext__(self) -> Event:
        if self._peer is not None:
            try:
                item = await asyncio.wait_for(self._feed.queue.get(), self._timeout)
            except asyncio.TimeoutError:
                item = _CLOSED
            if item is not _CLOSED:
                return item  # type: ignore[return-value]
            await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stops the iteration and unregisters it (idempotent)."""
        peer, self._peer = self._peer, None
        if peer is not None:
            peer._sink.feeds.discard(self._feed)
            try:
                peer.remove_listener(self._feed)
            except ValueError:
                pass

    async def __aenter__(self) -> "AsyncEvents":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Peer:
    """An election peer: one server of a ZooKeeper ensemble's election.

    ``config`` is zoo.cfg text, or the path of a zoo.cfg file (an
    ``os.PathLike``, or a ``str`` without a newline that names an existing
    file). ``myid`` is this peer's sid; ``None`` reads ``<dataDir>/myid``.
    ``zxid`` and ``epoch`` are the values this peer reports in elections.

    Events go to ``on_event`` and listeners added with :meth:`add_listener`
    (called on the peer's notifier thread, one at a time, in order; an
    exception they raise is logged and ignored), and to a queue read with
    :meth:`events` (keeping at most ``max_queued`` events, oldest dropped;
    0 disables the queue).

    As a context manager, ``with Peer(...) as p:`` starts the peer (unless
    it runs already) and closes it at the end. :meth:`close` is idempotent;
    a peer that is never closed is closed when it is garbage-collected
    (also when one of its listeners refers to the peer itself: the library
    keeps listeners only through the Peer) or at interpreter exit.
    """

    def __init__(
        self,
        config: Union[str, "os.PathLike[str]"],
        myid: Optional[int] = None,
        *,
        zxid: int = 0,
        epoch: int = 0,
        on_event: Optional[Listener] = None,
        max_queued: int = 10000,
    ) -> None:
        if not isinstance(config, (str, os.PathLike)):
            raise TypeError(f"config must be zoo.cfg text or a path, not {type(config).__name__}")
        sid = n.MYID_FROM_DATADIR if myid is None else int(myid)
        out = c_void_p()
        if isinstance(config, str) and not _is_path(config):
            rc = n.lib.zkelect_peer_new(config.encode(), sid, byref(out))
        else:
            rc = n.lib.zkelect_peer_from_file(os.fsencode(config), sid, byref(out))
        n.check(rc)
        assert out.value is not None
        self._handle = _Handle(out.value)
        # Frees the handle if the Peer is collected unclosed; at interpreter
        # exit close_all() closes the live peers instead.
        self._finalizer = weakref.finalize(self, self._handle.close)
        self._finalizer.atexit = False
        _live.add(self)
        self._sink = _Sink(max_queued)
        if on_event is not None:
            self._sink.listeners.append(on_event)
        try:
            with self._handle.use() as p:
                got = c_int64()
                n.check(n.lib.zkelect_peer_get_sid(p, byref(got)))
                self._sid = got.value
                n.check(n.lib.zkelect_peer_set_zxid(p, zxid))
                n.check(n.lib.zkelect_peer_set_epoch(p, epoch))
                self._key = cb.register(self._sink)
                cb.set_event_callback(p, self._key)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        what = "closed" if self.closed else "open"
        return f"<zkelect.Peer sid={self._sid if hasattr(self, '_sid') else '?'} {what}>"

    def __enter__(self) -> "Peer":
        try:
            self.start()
        except AlreadyRunningError:
            pass
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def my_sid(self) -> int:
        """This peer's sid (available after close, too)."""
        return self._sid

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._handle.closed

    def start(self) -> None:
        """Binds the election port(s) and starts electing. A stopped peer
        can be started again. Raises :class:`AlreadyRunningError`, or
        :class:`NetworkError` (e.g. the port is taken)."""
        cb.sync_log_level()
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_start(p))

    def stop(self) -> None:
        """Stops the peer (idempotent): events raised before are delivered
        before this returns. The peer can be started again."""
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_stop(p))

    def _after_fork_in_child(self) -> None:
        self._handle.after_fork_in_child()
        self._sink.after_fork_in_child()

    def close(self) -> None:
        """Stops the peer and frees the native handle. Idempotent; may be
        called from an event callback. Ends :meth:`events` iterators.

        In a forked child (``os.fork``, ``multiprocessing`` with the
        ``fork`` start method, pre-fork servers) of the process that
        started the peer, the peer's threads do not exist: the child
        releases its copies of the peer's sockets and ``dataDir`` lock file
        right after the fork, ``close()`` (and the close at interpreter
        exit) then only frees the handle, and the parent's peer keeps
        running undisturbed (its connections, its listener, its
        leadership, its lock). Nothing else may be called on such a peer in
        the child; create a new peer there instead."""
        self._finalizer.detach()
        _live.discard(self)
        if self._handle.close():
            self._sink.queue.put(_CLOSED)
            for feed in list(self._sink.feeds):
                feed.end()

    def set_zxid(self, zxid: int) -> None:
        """Sets the last zxid this peer reports (read when an election starts)."""
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_set_zxid(p, zxid))

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch this peer reports (read when an election starts)."""
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_set_epoch(p, epoch))

    @property
    def vote(self) -> Vote:
        """The current state and vote: while LOOKING the current proposal,
        once decided the winning vote."""
        v = n.Vote()
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_get_vote(p, byref(v)))
        return Vote(_state(v.state), v.leader, v.zxid, v.election_epoch, v.peer_epoch)  # type: ignore[arg-type]

    @property
    def state(self) -> State:
        """The current state."""
        return self.vote.state

    def wait_for_leader(self, timeout: Optional[float] = None) -> Leader:
        """Waits up to ``timeout`` seconds (None: no limit) for an election
        to end, and returns its result; at once if a leader is known.
        Raises :class:`ElectionTimeout` (a ``TimeoutError``),
        :class:`NotRunningError` if the peer is not running or stops, or
        :class:`PeerClosedError` if it is closed meanwhile."""
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        out = n.Leader()
        while True:
            left_ms = _WAIT_SLICE_MS
            if deadline is not None:
                left_ms = min(left_ms, max(0, int((deadline - time.monotonic()) * 1000)))
            with self._handle.use() as p:
                rc = n.lib.zkelect_peer_wait_for_leader(p, left_ms, byref(out))
                if rc == n.ERR_TIMEOUT and (deadline is None or time.monotonic() < deadline):
                    continue
                if rc == n.ERR_TIMEOUT:
                    raise ElectionTimeout(
                        f"no leader within {timeout} s", rc, f"no leader within {timeout} s"
                    )
                n.check(rc)
            return Leader(
                out.leader,
                out.zxid,
                out.election_epoch,
                out.peer_epoch,
                _state(out.state),  # type: ignore[arg-type]
                out.elapsed_ms,
            )

    def lease(self) -> Lease:
        """My lease as leader, read now: whether I lead confirmed at this
        moment, with which epoch, and for how long if no acknowledgement
        arrives. Check it right before acting as leader (events arrive
        late; a paused process may resume past its lease), and tag writes
        with ``epoch`` so the resource can refuse older ones."""
        out = n.Lease()
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_get_lease(p, byref(out)))
        return Lease(bool(out.leads_now), out.epoch, out.remaining_ns / 1e9, out.deadline_ns)

    def leads_now(self) -> bool:
        """Whether I lead confirmed at the moment of the call (see :meth:`lease`)."""
        return self.lease().leads_now

    @property
    def confirmed(self) -> Optional[Confirmed]:
        """The confirmed leadership (the last :class:`Leading`,
        :class:`Following` or :class:`Observing` event, until it was lost),
        or None. My own leadership only while its lease holds."""
        with self._sink.changed:
            c = self._sink.confirmed
        if c is not None and c.state == State.LEADING and not self.leads_now():
            return None
        return c

    def wait_for_confirmed(self, timeout: Optional[float] = None) -> Confirmed:
        """Waits up to ``timeout`` seconds (None: no limit) for a confirmed
        leadership (act on this, not on :meth:`wait_for_leader`, which is
        only the election's decision) and returns it. Raises
        :class:`ElectionTimeout` or :class:`PeerClosedError`."""
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while True:
            if self.closed:
                raise PeerClosedError("the peer is closed")
            left = _WAIT_SLICE_MS / 1000
            if deadline is not None:
                left = min(left, deadline - time.monotonic())
            with self._sink.changed:
                raw = self._sink.confirmed
                if raw is None and left > 0:
                    self._sink.changed.wait(left)
                    raw = self._sink.confirmed
            if raw is not None and (raw.state != State.LEADING or self.leads_now()):
                return raw
            if deadline is not None and time.monotonic() >= deadline:
                msg = f"no confirmed leader within {timeout} s"
                raise ElectionTimeout(msg, n.ERR_TIMEOUT, msg)
            if raw is not None:
                # My Leading past its lease: its LeadershipLost is on the way.
                time.sleep(0.01)

    def leadership(self) -> Leadership:
        """My leadership as one consistent snapshot: the confirmed role,
        leader and epoch, the lease and the election's state, all read at
        one moment (separate reads of :attr:`state`, :attr:`confirmed` and
        :meth:`lease` may each see a different one). Works on a stopped
        peer too (``running`` False)."""
        out = n.Leadership()
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_get_leadership(p, byref(out)))
        confirmed = None
        if out.confirmed:
            confirmed = Confirmed(_state(out.role), out.leader, out.epoch)  # type: ignore[arg-type]
        return Leadership(
            confirmed,
            bool(out.leads_now),
            out.lease_ms / 1000,
            out.lease_deadline_ns,
            _state(out.state),
            None if out.elected_leader < 0 else out.elected_leader,
            bool(out.running),
            bool(out.follow_only),
            bool(out.real_members),
        )

    def stats(self) -> Stats:
        """My statistics: state, leader, confirmation, epoch, round, and
        the counters (elections and their durations, LOOKING periods,
        leadership changes, connection errors, dropped frames). Works on a
        stopped peer too."""
        out = n.Stats()
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_get_stats(p, byref(out)))
        return Stats(
            bool(out.running),
            _state(out.state),
            None if out.leader < 0 else out.leader,
            bool(out.confirmed),
            out.accepted_epoch,
            out.round,
            out.uptime_ms / 1000,
            out.confirmed_ms / 1000,
            out.looking_count,
            out.elections,
            out.last_election_ms / 1000,
            out.min_election_ms / 1000,
            out.max_election_ms / 1000,
            out.total_election_ms / 1000,
            out.leadership_changes,
            out.connected_peers,
            out.connection_errors,
            out.frames_dropped,
            out.frames_received,
            out.frames_sent,
        )

    def is_leading(self) -> bool:
        """Whether I lead confirmed at the moment of the call, the lease
        checked now (the same as :meth:`leads_now`). Call it right before
        acting as leader."""
        return self.leads_now()

    def terms(self) -> Iterator["_terms.Term"]:
        """The leadership recipe: yields a :class:`~zkelect.terms.Term` each
        time this peer becomes the confirmed leader, one at a time, until
        the peer is closed::

            for term in peer.terms():
                with term:                 # TermLost ends this term only
                    while True:
                        term.check()       # raises TermLost once it is over
                        write(job, epoch=term.epoch)
        """
        return _terms.terms(self)

    def aevents(self, timeout: Optional[float] = None) -> "AsyncEvents":
        """``async for event in peer.aevents():`` every event from this call
        on, on the running event loop (call it from a coroutine). Ends when
        the peer is closed, or when no event arrives within ``timeout``
        seconds (None: no limit); ``aclose()`` (or ``async with``) ends it
        early."""
        return AsyncEvents(self, timeout)

    async def await_confirmed(self, timeout: Optional[float] = None) -> Confirmed:
        """:meth:`wait_for_confirmed` for asyncio: waits without blocking
        the event loop. Raises :class:`ElectionTimeout` or
        :class:`PeerClosedError`."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + max(timeout, 0.0)
        woken = asyncio.Event()

        def listener(event: Event) -> None:
            if isinstance(event, (Leading, Following, Observing)):
                try:
                    loop.call_soon_threadsafe(woken.set)
                except RuntimeError:  # the loop is closed
                    pass

        self.add_listener(listener)
        try:
            while True:
                if self.closed:
                    raise PeerClosedError("the peer is closed")
                woken.clear()
                c = self.confirmed
                if c is not None:
                    return c
                left = _WAIT_SLICE_MS / 1000
                if deadline is not None:
                    left = min(left, deadline - loop.time())
                    if left <= 0:
                        msg = f"no confirmed leader within {timeout} s"
                        raise ElectionTimeout(msg, n.ERR_TIMEOUT, msg)
                try:
                    await asyncio.wait_for(woken.wait(), left)
                except asyncio.TimeoutError:
                    pass
        finally:
            try:
                self.remove_listener(listener)
            except ValueError:
                pass

    def set_epoch_store(
        self, store: Callable[[int, int], None], held_epoch: int = 0, held_round: int = 0
    ) -> None:
        """Keeps the durable state (the accepted epoch and a round
        high-water mark) through ``store(epoch, round)`` instead of the
        file in ``dataDir``. ``store`` runs on the election thread and must
        return only once the state is durable; if it raises, the epoch is
        not acknowledged and an :class:`EpochStoreFailed` event follows.
        ``held_epoch``/``held_round`` are what your store holds now. Takes
        effect at the next :meth:`start`."""
        with self._handle.use() as p:
            cb.set_epoch_store(p, held_epoch, held_round, store)

    def restart_election(self) -> None:
        """Starts a new election round (the host's way to say the leader is
        gone); a :class:`LeaderLost` event follows if a leader was known.
        Raises :class:`NotRunningError`."""
        with self._handle.use() as p:
            n.check(n.lib.zkelect_peer_restart_election(p))

    def add_listener(self, listener: Listener) -> None:
        """Calls ``listener(event)`` for every event from now on, on the
        peer's notifier thread."""
        self._sink.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Removes a listener added before; ValueError if it is unknown."""
        self._sink.listeners.remove(listener)

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Iterates over the queued events, waiting for each up to
        ``timeout`` seconds (None: no limit). Ends when a wait times out or
        the peer is closed. Safe to use from any thread."""
        q = self._sink.queue
        while True:
            try:
                item = q.get(timeout=timeout)
            except queue.Empty:
                return
            if item is _CLOSED:
                q.put(_CLOSED)  # end the other iterators too
                return
            yield item  # type: ignore[misc]


def close_all() -> None:
    """Closes every live peer (run at interpreter exit)."""
    for peer in list(_live):
        try:
            peer.close()
        except Exception:
            cb.logger.exception("zkelect: closing %r at exit failed", peer)


__all__ = ["AsyncEvents", "Peer", "Listener", "close_all"]
