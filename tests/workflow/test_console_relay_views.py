"""The console relay: registry methods and two consoles on one registry.

Run on SQLite and PostgreSQL (``scripts/with_postgres.sh``). The oracle of the
registry methods is the order and content of what was issued; the oracle of
the two consoles is what the runner of console A stored after a control given
to console B (status, detail, audit actor).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from plptms.access import Principal, Role
from plptms.registry import Registry, RegistryError
from plptms.registry._console_relay import ConsoleNotRunningError
from plptms.workflow._console_hub import SessionConsole
from plptms.workflow._views_console import (
    control_session_for,
    session_status_for,
    start_session_for,
)

DR = Principal(username="dr1", role=Role.PHYSICIAN, sites=frozenset({"S01"}))
OP = Principal(username="op1", role=Role.OPERATOR, sites=frozenset({"S01"}))
SEED_PULSES = 2 * 5
#: Longest wait for a runner, s (a busy 2-core machine).
WAIT_S = 20.0


@pytest.fixture
def url(db_url: str) -> str:
    from tests.web.conftest import seed

    seed(db_url)
    with Registry(db_url) as r:
        for e in r.list_adverse_events("S01", "P001"):
            r.review_adverse_event(
                e.id, physician="dr1", note="Mild, resolved.", continue_treatment=True
            )
    return db_url


def _count(url: str, table: str) -> int:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        eng.dispose()


def _last_actor(url: str) -> str:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return str(
                c.execute(
                    sa.text(
                        "SELECT actor FROM audit_log WHERE table_name = "
                        "'delivery_sessions' ORDER BY seq DESC LIMIT 1"
                    )
                ).scalar_one()
            )
    finally:
        eng.dispose()


def _finished_session(reg: Registry) -> int:
    console = SessionConsole(speed=200.0)
    sid, _ = start_session_for(
        reg, OP, "S01", "P001", "small-10hz", 1, console, ae_reviewed=True
    )
    assert console.join(sid, WAIT_S)
    assert reg.console_live([sid]) == {}  # the run's live row is gone
    return sid


def test_relay_methods_keep_order_and_owner(url: str) -> None:
    with Registry(url) as reg:
        sid = _finished_session(reg)
        # running nowhere: refused, nothing stored
        with pytest.raises(ConsoleNotRunningError, match="session_id"):
            reg.issue_console_command(sid, "pause", actor="op1", reason="")
        assert _count(url, "console_commands") == 0
        reg.console_runner_start(sid, worker="w1")
        with pytest.raises(RegistryError, match="command"):
            reg.issue_console_command(sid, "explode", actor="op1", reason="")
        with pytest.raises(RegistryError, match="actor"):
            reg.issue_console_command(sid, "pause", actor=" ", reason="")
        assert _count(url, "console_commands") == 0
        issued = [
            reg.issue_console_command(sid, c, actor="op1", reason=r)[0].id
            for c, r in (("pause", ""), ("abort", "asked"), ("emergency_stop", "es"))
        ]
        assert reg.pending_console_commands(sid)
        taken = reg.take_console_commands(sid, worker="w1")
        # emergency stop first, then the abort, then the rest as issued
        assert [c.command for c in taken] == ["emergency_stop", "abort", "pause"]
        assert [c.id for c in taken] == issued[::-1]
        assert {(c.taken_by, c.outcome) for c in taken} == {("w1", "applied")}
        assert reg.take_console_commands(sid, worker="w1") == []
        assert not reg.pending_console_commands(sid)
        # only the owner beats, and only the owner's end removes the row
        assert not reg.console_heartbeat(sid, worker="w2", state="running")
        assert reg.console_heartbeat(
            sid, worker="w1", state="running", train=2, n_trains=2,
            pulses_delivered=7, pulses_total=10, seconds_left=1.5,
        )  # fmt: skip
        row = reg.console_live([sid])[sid]
        assert (row.worker, row.state, row.train, row.pulses_delivered) == (
            "w1", "running", 2, 7,
        )  # fmt: skip
        assert 0.0 <= row.age_s() < 60.0
        reg.console_runner_end(sid, worker="w2")
        assert sid in reg.console_live([sid])
        late = reg.issue_console_command(sid, "resume", actor="op1", reason="")[0]
        reg.console_runner_end(sid, worker="w1")
        assert reg.console_live([sid]) == {}
        assert reg.console_command(late.id).outcome == "ended"
        # a withdrawn control stays withdrawn; a taken one is not withdrawn
        reg.console_runner_start(sid, worker="w3")
        c = reg.issue_console_command(sid, "pause", actor="op1", reason="")[0]
        assert reg.expire_console_command(c.id)
        assert reg.console_command(c.id).outcome == "expired"
        assert not reg.expire_console_command(c.id)
        assert reg.take_console_commands(sid, worker="w3") == []
        reg.console_runner_end(sid, worker="w3")


def test_another_sites_view_sees_no_relay_row(url: str) -> None:
    with Registry(url) as reg:
        sid = _finished_session(reg)
        reg.console_runner_start(sid, worker="w1")
        s02 = reg.scoped({"S02"})
        if reg.engine.dialect.name != "postgresql":
            assert sid in s02.console_live([sid])  # SQLite: the app layer's wall
            return
        assert s02.console_live([sid]) == {}
        with pytest.raises(ConsoleNotRunningError):
            s02.issue_console_command(sid, "emergency_stop", actor="dr2", reason="")
        assert _count(url, "console_commands") == 0
        assert sid in reg.scoped({"S01"}).console_live([sid])
        reg.console_runner_end(sid, worker="w1")


def test_two_consoles_on_one_registry(url: str) -> None:
    """Console B stops the session console A runs; B shows A's progress."""
    with Registry(url) as reg_a, Registry(url) as reg_b:
        con_a = SessionConsole(speed=1.0)
        con_b = SessionConsole(speed=1.0)
        assert con_a.worker != con_b.worker
        sid, _ = start_session_for(
            reg_a, OP, "S01", "P001", "small-10hz", 1, con_a, ae_reviewed=True
        )
        deadline = time.monotonic() + WAIT_S
        seen = session_status_for(reg_b, DR, "S01", "P001", sid, con_b)
        while seen.pulses_delivered < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
            seen = session_status_for(reg_b, DR, "S01", "P001", sid, con_b)
        assert (seen.running, seen.running_here, seen.worker) == (
            True, False, con_a.worker,
        )  # fmt: skip
        assert not seen.runner_lost
        assert seen.pulses_total == SEED_PULSES
        control_session_for(reg_b, DR, "S01", "P001", sid, "emergency_stop", con_b)
        assert con_a.join(sid, WAIT_S)
        d = reg_b.get_delivery(sid)
        assert d.status == "emergency_stop"
        assert d.detail == "emergency stop by dr1: emergency stop"
        assert _last_actor(url) == "dr1"
        end = session_status_for(reg_b, DR, "S01", "P001", sid, con_b)
        assert (end.running, end.worker, end.state) == (False, None, "emergency stop")
        with pytest.raises(ValueError, match="any other worker"):
            control_session_for(reg_b, DR, "S01", "P001", sid, "pause", con_b)
