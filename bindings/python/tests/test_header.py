"""The binding's tables against include/zkelect.h, so they cannot drift.

``_drift(header)`` lists every disagreement between a header text and the
binding; the tests run it on the real header (no disagreement) and on
headers with something added (each addition caught).
"""

from __future__ import annotations

import ctypes
import re
from typing import Dict, List

from conftest import ROOT

import zkelect
from zkelect import _callbacks, _native

HEADER = (ROOT / "include" / "zkelect.h").read_text()

#: The header's structs and the ctypes structs that mirror them.
STRUCTS = {
    "zkelect_event": _native.Event,
    "zkelect_vote": _native.Vote,
    "zkelect_leader": _native.Leader,
    "zkelect_lease": _native.Lease,
    "zkelect_leadership": _native.Leadership,
    "zkelect_stats": _native.Stats,
}


def _code(header: str) -> str:
    return re.sub(r"/\*.*?\*/", "", header, flags=re.S)


def _values(prefix: str, header: str) -> Dict[str, int]:
    """The header's ``ZKELECT_<prefix>_*`` values: enum members or macros."""
    pat = re.compile(
        rf"^\s*(?:#define ZKELECT_{prefix}_(\w+) (-?\d+)|ZKELECT_{prefix}_(\w+) = (-?\d+),?)\s*$",
        re.M,
    )
    return {(m[0] or m[2]): int(m[1] or m[3]) for m in pat.findall(_code(header))}


def _struct_fields(name: str, header: str) -> List[str]:
    body = re.search(rf"typedef struct {name} \{{(.*?)\}} {name};", _code(header), re.S)
    return re.findall(r"^\s*[\w ]+?\W(\w+);", body.group(1), re.M) if body else []


def _functions(header: str) -> List[str]:
    return re.findall(r"\b(zkelect_\w+)\(", _code(header))


def _native_values(prefix: str) -> Dict[str, int]:
    return {
        k[len(prefix) + 1 :]: v
        for k, v in vars(_native).items()
        if k.startswith(prefix + "_") and isinstance(v, int)
    }


def _compare(what: str, header: Dict[str, int], binding: Dict[str, int]) -> List[str]:
    problems = [f"{what}_{k} = {v} is missing from the Python binding" for k, v in header.items() if k not in binding]
    problems += [
        f"{what}_{k} is {v} in the header but {binding[k]} in the Python binding"
        for k, v in header.items()
        if k in binding and binding[k] != v
    ]
    problems += [f"the Python binding has {what}_{k}, which the header does not define" for k in binding if k not in header]
    return problems


def _drift(header: str) -> List[str]:
    """Every disagreement between ``header`` and this binding's tables."""
    problems: List[str] = []
    kinds = _values("EVENT", header)
    problems += _compare("ZKELECT_EVENT", kinds, _native_values("EVENT"))
    for name, value in kinds.items():
        ev = _native.Event(struct_size=ctypes.sizeof(_native.Event), kind=value)
        if isinstance(_callbacks.convert(ev), zkelect.UnknownEvent):
            problems.append(f"ZKELECT_EVENT_{name} converts to UnknownEvent")
    reasons = _values("REASON", header)
    problems += _compare("ZKELECT_REASON", reasons, _native_values("REASON"))
    problems += _compare("LossReason", reasons, {r.name: r.value for r in zkelect.LossReason})
    problems += _compare("State", _values("STATE", header), {s.name: s.value for s in zkelect.State})
    problems += _compare("ZKELECT_ERR", _values("ERR", header), _native_values("ERR"))
    for c_name, py in STRUCTS.items():
        fields = _struct_fields(c_name, header)
        if [f[0] for f in py._fields_] != fields:
            problems.append(f"struct {c_name} has the fields {fields}, the Python binding {py}")
    declared = set(_native._PROTOTYPES)
    problems += [f"{f} is not declared in _native.py" for f in _functions(header) if f not in declared]
    problems += [f"_native.py declares {f}, which the header does not" for f in declared - set(_functions(header))]
    return problems


def test_the_tables_match_the_header() -> None:
    assert _drift(HEADER) == []
    # The parser really read the header (12 kinds and 10 reasons when this was written).
    assert len(_values("EVENT", HEADER)) >= 12 and len(_values("REASON", HEADER)) >= 10
    assert _values("EVENT", HEADER)["LEADING"] == 6
    assert len(_struct_fields("zkelect_leadership", HEADER)) >= 10
    assert "zkelect_peer_wait_for_confirmed" in _functions(HEADER)


def test_an_addition_to_the_header_alone_is_caught() -> None:
    kind = HEADER.replace(
        "  ZKELECT_EVENT_LEADING = 6,\n", "  ZKELECT_EVENT_LEADING = 6,\n  ZKELECT_EVENT_SOMETHING_NEW = 13,\n"
    )
    assert kind != HEADER
    problems = _drift(kind)
    assert any("ZKELECT_EVENT_SOMETHING_NEW = 13 is missing" in p for p in problems), problems
    assert any("SOMETHING_NEW converts to UnknownEvent" in p for p in problems), problems
    reason = HEADER.replace("  ZKELECT_REASON_NONE = 0,\n", "  ZKELECT_REASON_NONE = 0,\n  ZKELECT_REASON_NEW = 10,\n")
    assert len(_drift(reason)) == 2, _drift(reason)  # the constant and the LossReason member
    end = "  zkelect_reason reason;\n} zkelect_event;"
    field = HEADER.replace(end, end.replace("\n}", "\n  int64_t more;\n}"))
    assert field != HEADER
    assert [p for p in _drift(field) if "struct zkelect_event " in p], _drift(field)
    version = "const char *zkelect_version(void);"
    fn = HEADER.replace(version, version + "\nint zkelect_new_thing(void);")
    assert _drift(fn) == ["zkelect_new_thing is not declared in _native.py"]


def test_the_names_come_from_the_library() -> None:
    lib = _native.lib
    assert lib.zkelect_event_kind_name(_native.EVENT_LEADING) == b"LEADING"
    assert lib.zkelect_state_name(zkelect.State.OBSERVING) == b"OBSERVING"
    assert lib.zkelect_reason_name(zkelect.LossReason.NO_QUORUM) == b"NO_QUORUM"
    assert lib.zkelect_reason_name(99) == b"unknown"
    # The binding's names are the library's.
    for r in zkelect.LossReason:
        assert lib.zkelect_reason_name(r.value).decode() == r.name
    for s in zkelect.State:
        assert lib.zkelect_state_name(s.value).decode() == s.name


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
