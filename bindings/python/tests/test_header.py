"""The binding's tables against include/zkelect.h, so they cannot drift."""

from __future__ import annotations

import ctypes
import re
from typing import Dict

from conftest import ROOT

import zkelect
from zkelect import _callbacks, _native

HEADER = (ROOT / "include" / "zkelect.h").read_text()


def _defines(prefix: str) -> Dict[str, int]:
    pat = re.compile(rf"^#define ZKELECT_{prefix}_(\w+) (-?\d+)$", re.M)
    return {name: int(value) for name, value in pat.findall(HEADER)}


def test_every_event_kind_of_the_header_is_named_and_converted() -> None:
    kinds = _defines("EVENT")
    assert len(kinds) >= 12
    for name, value in kinds.items():
        assert getattr(_native, f"EVENT_{name}", None) == value, name
        ev = _native.Event(struct_size=ctypes.sizeof(_native.Event), kind=value)
        assert not isinstance(_callbacks.convert(ev), zkelect.UnknownEvent), name


def test_reasons_states_and_results_match_the_header() -> None:
    reasons = _defines("REASON")
    assert reasons and {r.name: r.value for r in zkelect.LossReason} == reasons
    for name, value in reasons.items():
        assert getattr(_native, f"REASON_{name}") == value, name
    assert {s.name: s.value for s in zkelect.State} == _defines("STATE")
    for name, value in _defines("ERR").items():
        assert getattr(_native, f"ERR_{name}") == value, name


def _struct_fields(name: str) -> list:
    body = re.search(rf"typedef struct {name} \{{(.*?)\}} {name};", HEADER, re.S)
    assert body, name
    code = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return re.findall(r"^\s*\w+ (\w+);", code, re.M)


def test_structs_have_the_headers_fields_in_order() -> None:
    for c_name, py in [
        ("zkelect_event", _native.Event),
        ("zkelect_vote", _native.Vote),
        ("zkelect_leader", _native.Leader),
        ("zkelect_lease", _native.Lease),
    ]:
        assert [f[0] for f in py._fields_] == _struct_fields(c_name), c_name


def test_leadership_events_convert_with_epoch_and_reason() -> None:
    def ev(**fields: int) -> _native.Event:
        e = _native.Event(struct_size=ctypes.sizeof(_native.Event), my_sid=3)
        for k, v in fields.items():
            setattr(e, k, v)
        return e

    c = _callbacks.convert
    assert c(ev(kind=_native.EVENT_LEADING, epoch=2)) == zkelect.Leading(2, 3)
    assert c(ev(kind=_native.EVENT_LEADERSHIP_LOST, epoch=2, reason=5)) == zkelect.LeadershipLost(
        2, zkelect.LossReason.NO_QUORUM, 3
    )
    assert c(ev(kind=_native.EVENT_FOLLOWING, leader=1, epoch=4)) == zkelect.Following(1, 4, 3)
    lost = c(ev(kind=_native.EVENT_LEADER_LOST, leader=1, reason=2))
    assert lost == zkelect.LeaderLost(1, 3, zkelect.LossReason.SILENT)
    assert c(ev(kind=_native.EVENT_EPOCH_STORE_FAILED, epoch=9)) == zkelect.EpochStoreFailed(9, 3)
    # A reason from a newer library passes through as a number.
    assert c(ev(kind=_native.EVENT_LEADER_LOST, reason=42)).reason == 42  # type: ignore[union-attr]
