"""Native callbacks: module-level ctypes trampolines and a registry.

Only an integer key crosses into C (as the callback's userdata); the
registry maps it to a weak reference to the Python callable (the Peer
holds the strong one), so a listener that refers to its own Peer does not
keep the Peer alive through this module: the Peer is collected, and its
finalizer stops it and frees its threads and ports. The native
``free_userdata`` removes the key. No exception ever propagates out of a trampoline into C:
user errors are caught and logged on the ``zkelect`` logger.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
import weakref
from typing import Any, Callable, Dict, Optional, Union

from . import _native as n
from .types import (
    EpochAccepted,
    EpochStoreFailed,
    Event,
    Following,
    LeaderElected,
    LeaderLost,
    Leading,
    LeadershipFailed,
    LeadershipLost,
    Observing,
    PeerConnected,
    PeerDisconnected,
    StateChanged,
    UnknownEvent,
    _reason,
    _state,
)

logger = logging.getLogger("zkelect")

_registry: Dict[int, "weakref.ReferenceType[Callable[[Event], None]]"] = {}
_keys = itertools.count(1)
_local = threading.local()


def register(target: Callable[[Event], None]) -> int:
    """Registers an event target; returns the key to pass as userdata. Only
    a weak reference is kept: the caller keeps the target alive (events for
    a target that is gone are dropped)."""
    key = next(_keys)
    _registry[key] = weakref.ref(target)
    return key


def in_callback() -> bool:
    """Whether the calling thread is inside a native callback."""
    return getattr(_local, "depth", 0) > 0


def convert(ev: n.Event) -> Event:
    """The Python event for a native one."""
    k, sid = ev.kind, ev.my_sid
    if k == n.EVENT_STATE_CHANGED:
        return StateChanged(_state(ev.old_state), _state(ev.new_state), sid)  # type: ignore[arg-type]
    if k == n.EVENT_LEADER_ELECTED:
        return LeaderElected(
            ev.leader,
            ev.zxid,
            ev.election_epoch,
            ev.peer_epoch,
            _state(ev.new_state),  # type: ignore[arg-type]
            ev.elapsed_ms,
            sid,
        )
    if k == n.EVENT_LEADER_LOST:
        return LeaderLost(ev.leader, sid, _reason(ev.reason))
    if k == n.EVENT_PEER_CONNECTED:
        return PeerConnected(ev.peer_sid, sid)
    if k == n.EVENT_PEER_DISCONNECTED:
        return PeerDisconnected(ev.peer_sid, sid)
    if k == n.EVENT_LEADING:
        return Leading(ev.epoch, sid)
    if k == n.EVENT_LEADERSHIP_LOST:
        return LeadershipLost(ev.epoch, _reason(ev.reason), sid)
    if k == n.EVENT_LEADERSHIP_FAILED:
        return LeadershipFailed(ev.epoch, _reason(ev.reason), sid)
    if k == n.EVENT_FOLLOWING:
        return Following(ev.leader, ev.epoch, sid)
    if k == n.EVENT_OBSERVING:
        return Observing(ev.leader, ev.epoch, sid)
    if k == n.EVENT_EPOCH_ACCEPTED:
        return EpochAccepted(ev.epoch, sid)
    if k == n.EVENT_EPOCH_STORE_FAILED:
        return EpochStoreFailed(ev.epoch, sid)
    return UnknownEvent(k, sid)


def _copy(ptr: Any) -> n.Event:
    """Copies the part of the event the library filled (``struct_size``)."""
    ev = n.Event()
    size = min(ptr.contents.struct_size, ctypes.sizeof(ev))
    ctypes.memmove(ctypes.byref(ev), ptr, size)
    return ev


def _on_event(userdata: Optional[int], event: Any) -> None:
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        ref = _registry.get(userdata or 0)
        target = ref() if ref is not None else None
        if target is not None:
            target(convert(_copy(event)))
    except BaseException:  # never unwind into C
        try:
            logger.exception("zkelect: an event callback raised")
        except BaseException:
            pass
    finally:
        _local.depth -= 1


def _on_free(userdata: Optional[int]) -> None:
    _registry.pop(userdata or 0, None)
    _stores.pop(userdata or 0, None)


#: Store hooks by key: ``store(epoch, round)`` returns once it is durable.
_stores: Dict[int, Callable[[int, int], None]] = {}


def _on_store(userdata: Optional[int], epoch: int, round_: int) -> int:
    """0 once the host's store kept the state; 1 if it raised (logged)."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        store = _stores.get(userdata or 0)
        if store is None:
            return 1
        store(epoch, round_)
        return 0
    except BaseException:  # never unwind into C
        try:
            logger.exception("zkelect: the epoch store raised; the epoch is not acknowledged")
        except BaseException:
            pass
        return 1
    finally:
        _local.depth -= 1


# The C function pointers; module-level, so they live as long as the process.
_EVENT_TRAMPOLINE = n.EVENT_CB(_on_event)
_FREE_TRAMPOLINE = n.FREE_CB(_on_free)
_STORE_TRAMPOLINE = n.STORE_CB(_on_store)

_TO_PY = {
    n.LOG_TRACE: logging.DEBUG,
    n.LOG_DEBUG: logging.DEBUG,
    n.LOG_INFO: logging.INFO,
    n.LOG_WARN: logging.WARNING,
    n.LOG_ERROR: logging.ERROR,
}


def _on_log(_userdata: Optional[int], level: int, message: Optional[bytes]) -> None:
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        text = (message or b"").decode("utf-8", "replace")
        logger.log(_TO_PY.get(level, logging.ERROR), "%s", text)
    except BaseException:  # never unwind into C
        pass
    finally:
        _local.depth -= 1


_LOG_TRAMPOLINE = n.LOG_CB(_on_log)


def set_event_callback(peer: int, key: int) -> None:
    """Routes a native peer's events to the target registered as ``key``."""
    n.check(n.lib.zkelect_peer_set_event_callback(peer, _EVENT_TRAMPOLINE, key, _FREE_TRAMPOLINE))


def set_epoch_store(
    peer: int, held_epoch: int, held_round: int, store: Callable[[int, int], None]
) -> None:
    """Keeps a native peer's durable state through ``store``."""
    key = next(_keys)
    _stores[key] = store
    n.check(
        n.lib.zkelect_peer_set_epoch_store(
            peer, held_epoch, held_round, _STORE_TRAMPOLINE, key, _FREE_TRAMPOLINE
        )
    )


def install_log_callback() -> None:
    """Routes the library's log lines to ``logging.getLogger("zkelect")``."""
    n.check(n.lib.zkelect_set_log_callback(_LOG_TRAMPOLINE, None, n.FREE_CB()))


def remove_log_callback() -> None:
    """Restores the library's default log sink (stderr)."""
    n.lib.zkelect_set_log_callback(n.LOG_CB(), None, n.FREE_CB())


_NAMES = {"TRACE": n.LOG_TRACE, "DEBUG": n.LOG_DEBUG, "INFO": n.LOG_INFO, "WARN": n.LOG_WARN}
_NAMES.update(WARNING=n.LOG_WARN, ERROR=n.LOG_ERROR, CRITICAL=n.LOG_ERROR)
_explicit = False


def _native_level(py_level: int) -> int:
    for native, threshold in (
        (n.LOG_TRACE, logging.DEBUG),
        (n.LOG_DEBUG, logging.INFO),
        (n.LOG_INFO, logging.WARNING),
        (n.LOG_WARN, logging.ERROR),
    ):
        if py_level < threshold:
            return native
    return n.LOG_ERROR


def set_log_level(level: Union[int, str, None]) -> None:
    """Sets the library's log threshold and the ``zkelect`` logger's level.

    ``level`` is a :mod:`logging` level (``logging.DEBUG``) or a name:
    ``"TRACE"`` (every message; logged at DEBUG), ``"DEBUG"``, ``"INFO"``,
    ``"WARN"``/``"WARNING"`` or ``"ERROR"``. The threshold then stays until
    the next call; ``None`` resets the logger's level and makes the
    threshold follow its effective level again.
    """
    global _explicit
    if level is None:
        _explicit = False
        logger.setLevel(logging.NOTSET)
        sync_log_level()
        return
    if isinstance(level, str):
        try:
            native = _NAMES[level.upper()]
        except KeyError:
            raise ValueError(f"unknown log level {level!r}") from None
    else:
        native = _native_level(level)
    n.check(n.lib.zkelect_set_log_level(native))
    logger.setLevel(_TO_PY[native])
    _explicit = True


def sync_log_level() -> None:
    """Sets the library's threshold from the ``zkelect`` logger's effective
    level, unless :func:`set_log_level` was called. Runs at import and at
    every ``Peer.start()``."""
    if not _explicit:
        n.lib.zkelect_set_log_level(_native_level(logger.getEffectiveLevel()))
