"""Two real Uvicorn processes, one SQLite registry: an emergency stop crosses.

Worker A and worker B are separate ``uvicorn --factory`` processes on two
loopback ports over one demonstration registry (``prepare_demo``), as
``plptms serve --workers 2`` runs them. A technician starts a session on A and
presses EMERGENCY STOP on B. The oracle is the registry: the session ends as
``emergency_stop`` with the technician named, the relayed command was taken by
A's process (its pid is in the worker id), and no pulse was logged after the
stop was applied. The stop latency (command issued -> taken and applied by
A's runner -> the runner's ``emergency_stop`` event stored) is measured over
:data:`REPEATS` stops (the physician's restart and a resume between them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import httpx

pytestmark = pytest.mark.slow

SITE, CODE = "S01", "DEMO-101"
DEMO_PROTOCOL = "consensus2024-example-10hz"
P = f"/patients/{SITE}/{CODE}"
#: Stops measured.
REPEATS = 5
#: Budget of one stop, issued -> the runner's emergency_stop event stored, s:
#: one relay poll (0.1 s) and two short transactions, with room for a busy CI.
STOP_BUDGET_S = 1.5
#: Longest wait for a server or a runner, s.
WAIT_S = 30.0
#: Where to write the measured latencies (JSON), when set.
LATENCY_OUT_ENV = "PLPTMS_RELAY_LATENCY_OUT"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> None:
    """The demo patient screened, assigned (with sign-off) and with an RMT."""
    from plptms.access import Principal, Role
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.registry import Registry
    from plptms.safety import load_screening_items
    from plptms.workflow._views_clinic import assign_protocol_for, record_screening_for

    dr = Principal(username="dr.berlin", role=Role.PHYSICIAN, sites=frozenset({SITE}))
    with Registry(url) as reg:
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=48.0), seed=7),
            start_intensity_pct_mso=58.0,
        )
        reg.record_rmt(
            SITE,
            CODE,
            hunt,
            hemisphere="right",
            muscle="FDI",
            stimulator="sim",
            actor="tech.berlin",
        )
        answers = {i.id: "no" for i in load_screening_items()}
        record_screening_for(reg, dr, SITE, CODE, answers)
        assign_protocol_for(
            reg,
            dr,
            SITE,
            CODE,
            DEMO_PROTOCOL,
            review_reason="Unverified cells read; dose as published.",
        )
        for e in reg.list_adverse_events(SITE, CODE):
            if e.review is None:
                reg.review_adverse_event(
                    e.id, physician="dr.berlin", note="Seen.", continue_treatment=True
                )


class Worker:
    """One ``uvicorn --factory`` process serving the registry."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PLPTMS_DB_URL": url,
            "PLPTMS_SECRET_KEY": "relay-test-secret-" + "k" * 32,
            "PLPTMS_COOKIE_SECURE": "0",
            "PLPTMS_CONSOLE_SPEED": "10",  # the demo session lasts 90 s at 10x
            "PYTHONPATH": os.pathsep.join(
                [
                    str(Path(__file__).parents[2] / "src"),
                    os.environ.get("PYTHONPATH", ""),
                ]
            ),
        }
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "plptms.web._app:app_from_env",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                if httpx.get(self.base + "/sign-in", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _session(w: Worker, username: str) -> tuple[httpx.Client, str]:
    from plptms.workflow._demo_seed import DEMO_PASSWORD

    c = httpx.Client(base_url=w.base, follow_redirects=False, timeout=30.0)
    token = _csrf(c.get("/sign-in").text)
    r = c.post(
        "/sign-in",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 303, r.text
    return c, _csrf(c.get(P + "/console").text)


def _sid(r: httpx.Response) -> int:
    assert r.status_code == 303, r.text
    m = re.search(r"session=(\d+)", r.headers["location"])
    assert m
    return int(m.group(1))


def _query(url: str, sql: str, **params: Any) -> list[Any]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return list(c.execute(sa.text(sql), params))
    finally:
        eng.dispose()


def _t(value: Any) -> dt.datetime:
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _wait_pulses(url: str, sid: int, more_than: int) -> None:
    deadline = time.monotonic() + WAIT_S
    sql = (
        "SELECT COUNT(*) FROM delivery_events WHERE session_id = :s AND kind = 'pulse'"
    )
    while _query(url, sql, s=sid)[0][0] <= more_than:
        assert time.monotonic() < deadline, "no pulse"
        time.sleep(0.05)


def _wait_ended(url: str, sid: int) -> None:
    """Until A's run is over: its live row goes after the final status."""
    deadline = time.monotonic() + WAIT_S
    sql = "SELECT COUNT(*) FROM console_live WHERE session_id = :s"
    while _query(url, sql, s=sid)[0][0]:
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.05)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, Worker, Worker]]:
    from plptms.cli._serve import prepare_demo

    url, _ = prepare_demo(tmp_path / "demo")
    _ready(url)
    a = Worker(url, tmp_path / "a.log")
    try:
        b = Worker(url, tmp_path / "b.log")
    except BaseException:
        a.close()
        raise
    try:
        yield url, a, b
    finally:
        a.close()
        b.close()


def test_an_emergency_stop_on_b_stops_the_runner_on_a(workers) -> None:  # type: ignore[no-untyped-def]
    url, a, b = workers
    tech_a, ta = _session(a, "tech.berlin")
    tech_b, tb = _session(b, "tech.berlin")
    dr_b, tdr = _session(b, "dr.berlin")
    sid = _sid(
        tech_a.post(
            P + "/console/start",
            data={
                "protocol_id": DEMO_PROTOCOL,
                "number": "1",
                "ae_reviewed": "yes",
                "csrf_token": ta,
            },
        )
    )
    taken_s, stored_s, http_s = [], [], []
    for k in range(REPEATS):
        pulses_before = _query(
            url,
            "SELECT COUNT(*) FROM delivery_events WHERE "
            "session_id = :s AND kind = 'pulse'",
            s=sid,
        )[0][0]
        _wait_pulses(url, sid, pulses_before)
        (worker,) = _query(
            url, "SELECT worker FROM console_live WHERE session_id = :s", s=sid
        )[0]
        assert f":{a.proc.pid}:" in worker  # A's process runs it
        t0 = time.perf_counter()
        r = tech_b.post(
            P + "/console/control",
            data={"session_id": str(sid), "action": "emergency_stop", "csrf_token": tb},
        )
        http_s.append(time.perf_counter() - t0)
        assert r.status_code == 303, r.text
        _wait_ended(url, sid)
        cmd = _query(
            url,
            "SELECT issued_at, taken_at, taken_by, outcome, actor FROM "
            "console_commands WHERE session_id = :s ORDER BY id",
            s=sid,
        )[k]
        issued, taken, taken_by, outcome, actor = cmd
        assert (taken_by, outcome, actor) == (worker, "applied", "tech.berlin")
        events = _query(
            url,
            "SELECT kind, at FROM delivery_events WHERE session_id = :s ORDER BY seq",
            s=sid,
        )
        stops = [_t(at) for kind, at in events if kind == "emergency_stop"]
        assert len(stops) == k + 1
        last_pulse = max(_t(at) for kind, at in events if kind == "pulse")
        assert last_pulse <= stops[-1]
        taken_s.append((_t(taken) - _t(issued)).total_seconds())
        stored_s.append((stops[-1] - _t(issued)).total_seconds())
        status, detail = _query(
            url, "SELECT status, detail FROM delivery_sessions WHERE id = :s", s=sid
        )[0]
        assert (status, detail) == (
            "emergency_stop",
            "emergency stop by tech.berlin: emergency stop",
        )
        if k + 1 == REPEATS:
            break
        # the physician's restart (on B), then the technician resumes on A
        r = dr_b.post(
            P + "/console/restart",
            data={
                "session_id": str(sid),
                "reason": f"Seen after stop {k + 1}: go on.",
                "csrf_token": tdr,
            },
        )
        assert r.status_code == 303, r.text
        r = tech_a.post(
            P + "/console/resume",
            data={"session_id": str(sid), "ae_reviewed": "yes", "csrf_token": ta},
        )
        assert _sid(r) == sid
    figures = {
        "repeats": REPEATS,
        "issued_to_taken_s": taken_s,
        "issued_to_stop_event_s": stored_s,
        "http_round_trip_s": http_s,
        "p50_issued_to_stop_event_s": statistics.median(stored_s),
        "max_issued_to_stop_event_s": max(stored_s),
    }
    out = os.environ.get(LATENCY_OUT_ENV)
    if out:
        Path(out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    assert max(stored_s) < STOP_BUDGET_S, figures
    assert min(taken_s) >= 0.0, figures
