"""Native events to Python values, including kinds and sizes from the future."""

from __future__ import annotations

import ctypes

from conftest import make_config

import zkelect
from zkelect import _callbacks, _native


def _native_event(**fields: int) -> _native.Event:
    ev = _native.Event(struct_size=ctypes.sizeof(_native.Event))
    for k, v in fields.items():
        setattr(ev, k, v)
    return ev


def test_events_convert_to_dataclasses() -> None:
    ev = _native_event(
        kind=_native.EVENT_LEADER_ELECTED,
        my_sid=1,
        leader=3,
        zxid=5,
        election_epoch=2,
        peer_epoch=1,
        new_state=1,
        elapsed_ms=7,
    )
    assert _callbacks.convert(ev) == zkelect.LeaderElected(
        3, 5, 2, 1, zkelect.State.FOLLOWING, 7, 1
    )
    ev = _native_event(kind=_native.EVENT_STATE_CHANGED, my_sid=2, old_state=0, new_state=2)
    assert _callbacks.convert(ev) == zkelect.StateChanged(
        zkelect.State.LOOKING, zkelect.State.LEADING, 2
    )
    ev = _native_event(kind=_native.EVENT_PEER_DISCONNECTED, my_sid=2, peer_sid=3)
    assert _callbacks.convert(ev) == zkelect.PeerDisconnected(3, 2)


def test_leader_elected_as_leader() -> None:
    e = zkelect.LeaderElected(3, 5, 2, 1, zkelect.State.LEADING, 7, 3)
    assert e.as_leader() == zkelect.Leader(3, 5, 2, 1, zkelect.State.LEADING, 7)


def test_unknown_kinds_and_states_pass_through() -> None:
    assert _callbacks.convert(_native_event(kind=42, my_sid=1)) == zkelect.UnknownEvent(42, 1)
    ev = _native_event(kind=_native.EVENT_STATE_CHANGED, old_state=0, new_state=9)
    assert _callbacks.convert(ev).new == 9  # type: ignore[union-attr]


def test_only_the_filled_part_of_an_event_is_read() -> None:
    ev = _native_event(kind=_native.EVENT_LEADER_LOST, my_sid=4, leader=77)
    ev.struct_size = 16  # an older library: kind and my_sid only
    copy = _callbacks._copy(ctypes.pointer(ev))
    assert (copy.kind, copy.my_sid, copy.leader) == (_native.EVENT_LEADER_LOST, 4, 0)


def test_close_releases_the_callback_registration(peers) -> None:
    p = peers(make_config(3), 1)
    assert p._key in _callbacks._registry
    p.start()
    p.close()
    assert p._key not in _callbacks._registry  # free_userdata ran
