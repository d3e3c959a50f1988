"""Loading ``libzkelect.so`` and declaring the C ABI (include/zkelect.h).

Search order: ``$ZKELECT_LIBRARY`` alone when it is set; otherwise the
library shipped inside this package, then the system's library path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int32,
    c_int64,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import List, Tuple

from . import errors
from ._version import __version__

ENV_VAR = "ZKELECT_LIBRARY"
LIB_NAME = "libzkelect.so"

OK = 0
ERR_NULL = 1
ERR_CONFIG = 2
ERR_IO = 3
ERR_ALREADY_RUNNING = 4
ERR_NOT_RUNNING = 5
ERR_TIMEOUT = 6
ERR_INVALID_ARGUMENT = 7
ERR_PANIC = 99

MYID_FROM_DATADIR = -1

EVENT_STATE_CHANGED = 1
EVENT_LEADER_ELECTED = 2
EVENT_LEADER_LOST = 3
EVENT_PEER_CONNECTED = 4
EVENT_PEER_DISCONNECTED = 5
EVENT_LEADING = 6
EVENT_LEADERSHIP_LOST = 7
EVENT_LEADERSHIP_FAILED = 8
EVENT_FOLLOWING = 9
EVENT_OBSERVING = 10
EVENT_EPOCH_ACCEPTED = 11
EVENT_EPOCH_STORE_FAILED = 12

REASON_NONE = 0
REASON_RESTARTED = 1
REASON_SILENT = 2
REASON_DISCONNECTED = 3
REASON_LEADER_LOOKING = 4
REASON_NO_QUORUM = 5
REASON_NOT_CONFIRMED = 6
REASON_STOPPED = 7
REASON_SUPERSEDED = 8
REASON_EPOCH_RAISED = 9

LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = range(5)


class Vote(Structure):
    """``struct zkelect_vote``."""

    _fields_ = [
        ("state", c_int32),
        ("leader", c_int64),
        ("zxid", c_int64),
        ("election_epoch", c_int64),
        ("peer_epoch", c_int64),
    ]


class Leader(Structure):
    """``struct zkelect_leader``."""

    _fields_ = [
        ("leader", c_int64),
        ("zxid", c_int64),
        ("election_epoch", c_int64),
        ("peer_epoch", c_int64),
        ("state", c_int32),
        ("elapsed_ms", c_uint64),
    ]


class Event(Structure):
    """``struct zkelect_event`` (fields are only ever added at the end)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_int32),
        ("my_sid", c_int64),
        ("old_state", c_int32),
        ("new_state", c_int32),
        ("leader", c_int64),
        ("zxid", c_int64),
        ("election_epoch", c_int64),
        ("peer_epoch", c_int64),
        ("elapsed_ms", c_uint64),
        ("peer_sid", c_int64),
        ("epoch", c_int64),
        ("reason", c_int32),
    ]


class Lease(Structure):
    """``struct zkelect_lease``."""

    _fields_ = [
        ("leads_now", c_int32),
        ("epoch", c_int64),
        ("remaining_ns", c_uint64),
        ("deadline_ns", c_uint64),
    ]


class Leadership(Structure):
    """``struct zkelect_leadership``: one consistent snapshot."""

    _fields_ = [
        ("confirmed", c_int32),
        ("role", c_int32),
        ("leader", c_int64),
        ("epoch", c_int64),
        ("leads_now", c_int32),
        ("lease_ms", c_uint64),
        ("lease_deadline_ns", c_uint64),
        ("state", c_int32),
        ("elected_leader", c_int64),
        ("running", c_int32),
        ("follow_only", c_int32),
        ("real_members", c_int32),
    ]


class Stats(Structure):
    """``struct zkelect_stats``."""

    _fields_ = [
        ("running", c_int32),
        ("state", c_int32),
        ("leader", c_int64),
        ("confirmed", c_int32),
        ("accepted_epoch", c_int64),
        ("round", c_int64),
        ("uptime_ms", c_uint64),
        ("confirmed_ms", c_uint64),
        ("looking_count", c_uint64),
        ("elections", c_uint64),
        ("last_election_ms", c_uint64),
        ("min_election_ms", c_uint64),
        ("max_election_ms", c_uint64),
        ("total_election_ms", c_uint64),
        ("leadership_changes", c_uint64),
        ("connected_peers", c_uint32),
        ("connection_errors", c_uint64),
        ("frames_dropped", c_uint64),
        ("frames_received", c_uint64),
        ("frames_sent", c_uint64),
    ]


EVENT_CB = CFUNCTYPE(None, c_void_p, POINTER(Event))
FREE_CB = CFUNCTYPE(None, c_void_p)
LOG_CB = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
STORE_CB = CFUNCTYPE(c_int32, c_void_p, c_int64, c_int64)

_PEER = c_void_p
_R = c_int32

# name: (restype, argtypes)
_PROTOTYPES = {
    "zkelect_peer_new": (_R, [c_char_p, c_int64, POINTER(_PEER)]),
    "zkelect_peer_from_file": (_R, [c_char_p, c_int64, POINTER(_PEER)]),
    "zkelect_peer_free": (None, [_PEER]),
    "zkelect_peer_set_zxid": (_R, [_PEER, c_int64]),
    "zkelect_peer_set_epoch": (_R, [_PEER, c_int64]),
    "zkelect_peer_get_sid": (_R, [_PEER, POINTER(c_int64)]),
    "zkelect_peer_start": (_R, [_PEER]),
    "zkelect_peer_stop": (_R, [_PEER]),
    "zkelect_peer_get_vote": (_R, [_PEER, POINTER(Vote)]),
    "zkelect_peer_wait_for_leader": (_R, [_PEER, c_uint64, POINTER(Leader)]),
    "zkelect_peer_restart_election": (_R, [_PEER]),
    "zkelect_peer_get_lease": (_R, [_PEER, POINTER(Lease)]),
    "zkelect_peer_get_leadership": (_R, [_PEER, POINTER(Leadership)]),
    "zkelect_peer_get_stats": (_R, [_PEER, POINTER(Stats)]),
    "zkelect_peer_wait_for_confirmed": (_R, [_PEER, c_uint64, POINTER(Leadership)]),
    "zkelect_clock_now_ns": (c_uint64, []),
    "zkelect_peer_set_epoch_store": (_R, [_PEER, c_int64, c_int64, STORE_CB, c_void_p, FREE_CB]),
    "zkelect_peer_set_event_callback": (_R, [_PEER, EVENT_CB, c_void_p, FREE_CB]),
    "zkelect_set_log_callback": (_R, [LOG_CB, c_void_p, FREE_CB]),
    "zkelect_set_log_level": (_R, [c_int32]),
    "zkelect_result_message": (c_char_p, [c_int32]),
    "zkelect_event_kind_name": (c_char_p, [c_int32]),
    "zkelect_state_name": (c_char_p, [c_int32]),
    "zkelect_reason_name": (c_char_p, [c_int32]),
    "zkelect_last_error_message": (c_char_p, []),
    "zkelect_version": (c_char_p, []),
}

_FIX = (
    f"Set {ENV_VAR} to the path of a libzkelect.so built from the same version "
    f"(`cargo build --release` writes target/release/{LIB_NAME}), or reinstall "
    "the package with `pip install ./bindings/python`."
)


def _candidates() -> List[Tuple[str, str]]:
    """(path or name, how it was found) in search order."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [(env, f"${ENV_VAR}")]
    found = [(str(Path(__file__).resolve().parent / LIB_NAME), "inside the package")]
    system = ctypes.util.find_library("zkelect")
    found.append((system or LIB_NAME, "the system library path"))
    return found


def _open() -> Tuple[ctypes.CDLL, str]:
    tried = []
    for path, how in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"  {path} ({how}): no such file")
            continue
        try:
            # CDLL, not PyDLL: every call releases the GIL, so a call that
            # blocks (stop, wait_for_leader) never stalls a callback.
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"  {path} ({how}): {e}")
    raise errors.LibraryNotFoundError(
        "cannot load the zkelect native library; tried:\n" + "\n".join(tried) + "\n" + _FIX
    )


def check_version(found: str, path: str) -> None:
    """Raises :class:`LibraryVersionError` unless ``found`` is this package's version."""
    if found != __version__:
        raise errors.LibraryVersionError(
            f"{path} is zkelect {found}, but the Python package is {__version__}. {_FIX}"
        )


def _load() -> Tuple[ctypes.CDLL, str]:
    lib, path = _open()
    try:
        version_fn = lib.zkelect_version
    except AttributeError:
        raise errors.LibraryNotFoundError(
            f"{path} is not a zkelect library (no zkelect_version). {_FIX}"
        ) from None
    version_fn.restype, version_fn.argtypes = c_char_p, []
    check_version(version_fn().decode(), path)
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise errors.LibraryNotFoundError(f"{path} lacks {name}. {_FIX}") from None
        fn.restype, fn.argtypes = restype, argtypes
    return lib, path


lib, path = _load()

_EXCEPTIONS = {
    ERR_CONFIG: errors.ConfigError,
    ERR_IO: errors.NetworkError,
    ERR_ALREADY_RUNNING: errors.AlreadyRunningError,
    ERR_NOT_RUNNING: errors.NotRunningError,
    ERR_TIMEOUT: errors.ElectionTimeout,
    ERR_INVALID_ARGUMENT: errors.InvalidArgumentError,
    ERR_PANIC: errors.InternalError,
}


def error(code: int) -> errors.ZkelectError:
    """The exception for a failed call; call right after it, on its thread."""
    detail = (lib.zkelect_last_error_message() or b"").decode("utf-8", "replace")
    summary = lib.zkelect_result_message(code).decode("utf-8", "replace")
    exc = _EXCEPTIONS.get(code, errors.ZkelectError)
    return exc(f"{summary}: {detail}" if detail else summary, code, detail)


def check(code: int) -> None:
    """Raises the exception for ``code`` unless it is ZKELECT_OK."""
    if code != OK:
        raise error(code)
