"""Delivery event kinds: one enum, documented, and nothing else written (issue 15)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from plptms.delivery import EventKind

ROOT = Path(__file__).parents[2]
WRITERS = (
    ROOT / "src" / "plptms" / "delivery" / "_runner.py",
    ROOT / "src" / "plptms" / "closedloop" / "_session.py",
)


def test_documented_kinds_equal_the_enum() -> None:
    text = (ROOT / "docs" / "delivery.md").read_text()
    section = text.split("## Delivery events", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert documented == {k.value for k in EventKind}


def _first_args(path: Path) -> list[ast.expr]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "log"
            and node.args
        ):
            out.append(node.args[0])
    return out


def _kinds_used(expr: ast.expr) -> list[str]:
    """EventKind members an argument can evaluate to (IfExp and `or` included)."""
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        assert expr.value.id == "EventKind", ast.unparse(expr)
        return [expr.attr]
    if isinstance(expr, ast.IfExp):
        return _kinds_used(expr.body) + _kinds_used(expr.orelse)
    if isinstance(expr, ast.Name):
        return []  # a variable set from EventKind members (checked where set)
    raise AssertionError(f"event kind written as {ast.unparse(expr)!r}")


@pytest.mark.parametrize("path", WRITERS, ids=lambda p: p.name)
def test_every_written_kind_is_an_enum_member(path: Path) -> None:
    """No event kind is a bare string: each is a member of EventKind."""
    args = _first_args(path)
    assert args
    for expr in args:
        for name in _kinds_used(expr):
            assert name in EventKind.__members__, name


def test_the_registry_refuses_an_unknown_kind(tmp_path: Path) -> None:
    from plptms.protocol import load_library
    from plptms.registry import Registry, RegistryError
    from plptms.safety import check_protocol

    with Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}") as reg:
        reg.add_patient("S1", "P001", history=None, actor="n")
        proto = load_library().protocol("wang2022-m1-1hz")
        aid = reg.assign_protocol("S1", "P001", proto, check_protocol(proto), actor="d")
        sid = reg.start_delivery(
            aid, 1, device="sim", plan={}, blinded=False, actor="t"
        )
        with pytest.raises(RegistryError, match=r"'kind'.*'pulse'"):
            reg.append_delivery_event(sid, "pulsed")
        assert reg.delivery_events(sid) == []
        reg.append_delivery_event(sid, EventKind.PULSE, train_index=0, pulse_index=0)
        (ev,) = reg.delivery_events(sid)
        assert ev.kind == "pulse"
        assert type(ev.kind) is str


def test_every_kind_fits_the_kind_column() -> None:
    from plptms.registry.db._schema import DeliveryEventRow

    width = DeliveryEventRow.__table__.c.kind.type.length
    assert max(len(k.value) for k in EventKind) <= width


def _event(seq: int, kind: EventKind, detail: str = "", **data: object):
    from plptms.delivery import DeliveryEvent

    return DeliveryEvent(
        seq=seq,
        kind=kind,
        train_index=0 if kind != EventKind.SESSION_START else None,
        pulse_index=0 if kind != EventKind.SESSION_START else None,
        t_monotonic_s=None,
        at="2026-12-03T00:00:00+00:00",
        intensity_pct_mso=None,
        detail=detail,
        data=data,
    )


def test_recovery_reads_fields_not_text() -> None:
    """The device baseline and the pulses in flight come from the fields."""
    from plptms.delivery import replay_events

    events = [
        _event(
            1, EventKind.SESSION_START, "device_count=999 device_id=WRONG",
            device_count=5, device_id="SIM-1",
        ),
        _event(2, EventKind.TRAIN_INTENT, "n=1 device-timed", n=3),
    ]  # fmt: skip
    st = replay_events(events)
    assert st.device_count_at_start == 5
    assert st.device_id == "SIM-1"
    assert st.uncertain == [(0, 0), (0, 1), (0, 2)]


def test_events_written_before_fields_existed_fall_back_to_their_text() -> None:
    """Legacy events (no structured fields) still replay from their detail."""
    from plptms.delivery import replay_events

    events = [
        _event(1, EventKind.SESSION_START, "device_count=7 device_id=none"),
        _event(2, EventKind.TRAIN_INTENT, "n=2 device-timed at 10 Hz"),
    ]
    st = replay_events(events)
    assert st.device_count_at_start == 7
    assert st.device_id is None
    assert st.uncertain == [(0, 0), (0, 1)]


def test_fields_are_stored_hashed_and_checked(tmp_path: Path) -> None:
    from plptms.protocol import load_library
    from plptms.registry import Registry, RegistryError
    from plptms.safety import check_protocol

    with Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}") as reg:
        reg.add_patient("S1", "P001", history=None, actor="n")
        proto = load_library().protocol("wang2022-m1-1hz")
        aid = reg.assign_protocol("S1", "P001", proto, check_protocol(proto), actor="d")
        sid = reg.start_delivery(
            aid, 1, device="sim", plan={}, blinded=False, actor="t"
        )
        reg.append_delivery_event(
            sid, EventKind.SESSION_START, data={"device_count": 4, "device_id": "X"}
        )
        for bad in ({"Device": 1}, {"n": 1.5}, {"n": True}, {"n": [1]}):
            with pytest.raises(RegistryError, match="'data"):
                reg.append_delivery_event(sid, EventKind.PULSE, data=bad)
        (ev,) = reg.delivery_events(sid)
        assert ev.data == {"device_count": 4, "device_id": "X"}
        assert reg.verify_records([("delivery_sessions", sid)]).ok
