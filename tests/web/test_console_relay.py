"""The session console across two web workers sharing one registry file.

Two ``create_app`` instances on one SQLite registry stand for two workers of
``plptms serve --workers 2``: each has its own console (its own threads). A
session starts on worker A; the controls are posted to worker B. The oracle is
what A's runner did, as the registry stores it (status, detail naming who
stopped it, the pulses and pause events logged, the audit actor), and the
relayed command rows (taken by A's worker, as issued by B's user).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from tests.web.conftest import audit_actors, csrf_of, sign_in

from plptms.registry import Registry
from plptms.workflow._console_hub import SessionConsole

P = "/patients/S01/P001"
#: The conftest's protocol: 2 trains of 5 pulses at 10 Hz, 5 s apart.
SEED_PROTOCOL = "small-10hz"
SEED_PULSES = 2 * 5
#: Longest wait for a runner to reach a state, s (a busy 2-core machine).
WAIT_S = 20.0


@pytest.fixture(autouse=True)
def _ready_to_deliver(db_file: str) -> None:
    """The seed's headache reviewed by a physician (a pre-session check)."""
    with Registry(db_file) as reg:
        for e in reg.list_adverse_events("S01", "P001"):
            reg.review_adverse_event(
                e.id, physician="dr1", note="Mild, resolved.", continue_treatment=True
            )


def _worker(
    make_client: Callable[..., Any], user: str, console: SessionConsole
) -> tuple[Any, str]:
    client = make_client()
    client.app.state.clinic_console = console
    sign_in(client, user)
    return client, csrf_of(client.get("/").text)


def _start(client: Any, token: str) -> int:
    r = client.post(P + "/console/start", data={
        "protocol_id": SEED_PROTOCOL, "number": "1", "ae_reviewed": "yes",
        "csrf_token": token})  # fmt: skip
    assert r.status_code == 303, r.text
    m = re.search(r"session=(\d+)", r.headers["location"])
    assert m
    return int(m.group(1))


def _control(client: Any, token: str, sid: int, action: str, reason: str = "") -> Any:
    return client.post(P + "/console/control", data={
        "session_id": str(sid), "action": action, "reason": reason,
        "csrf_token": token})  # fmt: skip


def _stored(url: str, sid: int) -> tuple[str, str, int, list[str]]:
    from plptms.delivery import replay_events

    with Registry(url) as reg:
        d = reg.get_delivery(sid)
        events = reg.delivery_events(sid)
        return d.status, d.detail, replay_events(events).total, [e.kind for e in events]


def _commands(url: str) -> list[tuple[str, str, str | None, str | None]]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            rows = c.execute(sa.text(
                "SELECT command, actor, taken_by, outcome FROM console_commands "
                "ORDER BY id"))  # fmt: skip
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        eng.dispose()


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _events(client: Any, sid: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", P + "/console/events", params={"session": sid}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
    return out


def test_pause_and_resume_posted_to_b_reach_as_runner(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    con_a, con_b = SessionConsole(speed=10.0), SessionConsole(speed=10.0)
    a, ta = _worker(make_client, "op1", con_a)
    b, tb = _worker(make_client, "dr1", con_b)
    sid = _start(a, ta)
    assert _control(b, tb, sid, "pause").status_code == 303
    # A's runner logs the pause and holds before its next train
    _until(lambda: "pause" in _stored(db_file, sid)[3], "the pause logged on A")
    page = b.get(P + "/console", params={"session": sid}).text
    assert f"worker {con_a.worker}" in page
    assert "EMERGENCY STOP" in page
    assert "Resume" in page  # the controls show on B while A runs it
    held = _stored(db_file, sid)[2]
    time.sleep(1.0)  # twice the pause between trains at 10x: still held
    assert con_a.live(sid)[0]
    assert _stored(db_file, sid)[2] == held < SEED_PULSES
    assert _control(b, tb, sid, "resume").status_code == 303
    assert con_a.join(sid, WAIT_S)
    status, _, pulses, kinds = _stored(db_file, sid)
    assert (status, pulses) == ("completed", SEED_PULSES)
    assert "pause" in kinds
    assert "resume" in kinds
    with Registry(db_file) as reg:  # who pressed them, with the events
        by = {e.kind: e.detail for e in reg.delivery_events(sid)
              if e.kind in ("pause", "resume")}  # fmt: skip
    assert by == {"pause": "by=dr1", "resume": "by=dr1"}
    assert _commands(db_file) == [
        ("pause", "dr1", con_a.worker, "applied"),
        ("resume", "dr1", con_a.worker, "applied"),
    ]
    # the run is over: no live row is left, and a control is refused plainly
    r = _control(b, tb, sid, "pause")
    assert r.status_code == 200
    assert "not running on this console or on any other worker" in r.text
    assert len(_commands(db_file)) == 2  # nothing stored


@pytest.mark.parametrize(
    ("action", "user", "reason", "status", "detail"),
    [
        ("emergency_stop", "dr1", "", "emergency_stop",
         "emergency stop by dr1: emergency stop"),
        ("abort", "op1", "patient asked", "aborted", "abort by op1: patient asked"),
    ],
)  # fmt: skip
def test_a_stop_posted_to_b_ends_as_session(  # type: ignore[no-untyped-def]
    make_client, db_file, action, user, reason, status, detail
) -> None:
    con_a, con_b = SessionConsole(speed=1.0), SessionConsole(speed=1.0)
    a, ta = _worker(make_client, "op1", con_a)
    b, tb = _worker(make_client, user, con_b)
    sid = _start(a, ta)  # real time: 2 trains take about 6 s
    _until(lambda: _stored(db_file, sid)[2] >= 1, "a first pulse")
    t0 = time.monotonic()
    assert _control(b, tb, sid, action, reason).status_code == 303
    assert con_a.join(sid, WAIT_S)
    assert time.monotonic() - t0 < 3.0  # not the session's own end (about 6 s)
    stored_status, stored_detail, pulses, _ = _stored(db_file, sid)
    assert stored_status == status
    assert stored_detail == detail
    assert pulses < SEED_PULSES
    assert audit_actors(db_file, "delivery_sessions")[-1] == user
    assert _commands(db_file) == [(action, user, con_a.worker, "applied")]


def test_the_event_stream_on_b_follows_as_progress(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    con_a, con_b = SessionConsole(speed=5.0), SessionConsole(speed=5.0)
    a, ta = _worker(make_client, "op1", con_a)
    b, _ = _worker(make_client, "op1", con_b)
    sid = _start(a, ta)  # about 1.2 s of real time
    events = _events(b, sid)
    assert con_a.join(sid, WAIT_S)
    progress = [d for k, d in events if k == "progress"]
    assert len(progress) >= 2
    assert {d["worker"] for d in progress} == {con_a.worker}
    assert all(d["running"] and not d["running_here"] for d in progress)
    delivered = [d["pulses_delivered"] for d in progress]
    assert delivered == sorted(delivered)  # never backwards
    assert max(delivered) >= 1
    assert events[-1][0] == "end"
    assert events[-1][1]["status"] == "completed"
    assert events[-1][1]["pulses_delivered"] == SEED_PULSES


def test_a_stale_heartbeat_shows_runner_lost(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    # A beats once an hour: to B (limit 0.3 s) its runner is soon lost
    con_a = SessionConsole(speed=1.0, heartbeat_s=3600.0)
    con_b = SessionConsole(speed=1.0, stale_s=0.3)
    a, ta = _worker(make_client, "op1", con_a)
    b, tb = _worker(make_client, "op1", con_b)
    sid = _start(a, ta)
    time.sleep(0.6)
    page = b.get(P + "/console", params={"session": sid}).text
    assert "Runner lost." in page
    assert f"Worker {con_a.worker} ran this session" in page
    assert "(runner lost)" in page  # in the sessions table, not "running"
    assert 'data-running="no"' in page
    assert "Pause after this train" not in page
    events = _events(b, sid)
    assert [k for k, _ in events] == ["end"]
    assert events[0][1]["runner_lost"] is True
    assert events[0][1]["state"] == "runner lost"
    assert events[0][1]["running"] is False
    # A still takes controls (its poll does not depend on its heartbeat)
    assert _control(b, tb, sid, "emergency_stop").status_code == 303
    assert con_a.join(sid, WAIT_S)
    assert _stored(db_file, sid)[0] == "emergency_stop"


def test_a_control_no_runner_takes_is_refused_plainly(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    con_a = SessionConsole(speed=200.0)
    con_b = SessionConsole(speed=200.0, ack_timeout_s=0.3)
    a, ta = _worker(make_client, "op1", con_a)
    b, tb = _worker(make_client, "op1", con_b)
    sid = _start(a, ta)
    assert con_a.join(sid, WAIT_S)
    # a worker that died mid-run left its live row behind
    with Registry(db_file) as reg:
        reg.console_runner_start(sid, worker="ghost:1:dead")
    r = _control(b, tb, sid, "pause")
    assert r.status_code == 200
    assert "Runner lost: the pause of session" in r.text
    assert "It was withdrawn." in r.text
    r = _control(b, tb, sid, "emergency_stop")
    assert "It stays queued for that runner" in r.text
    assert _commands(db_file) == [
        ("pause", "op1", None, "expired"),
        ("emergency_stop", "op1", None, None),
    ]


@pytest.mark.parametrize(
    ("user", "code", "with_token"),
    [("rater1", 403, True), ("dr2", 404, True), ("op1", 403, False)],
)
def test_refused_controls_store_no_command(  # type: ignore[no-untyped-def]
    make_client, db_file, user, code, with_token
) -> None:
    con_a = SessionConsole(speed=1.0)
    a, ta = _worker(make_client, "op1", con_a)
    b, tb = _worker(make_client, user, SessionConsole(speed=1.0))
    sid = _start(a, ta)
    r = _control(b, tb if with_token else "0" * 32, sid, "emergency_stop")
    assert r.status_code == code
    assert _commands(db_file) == []
    assert _control(a, ta, sid, "emergency_stop").status_code == 303  # local
    assert con_a.join(sid, WAIT_S)
    assert _commands(db_file) == []  # the local fast path writes no command
