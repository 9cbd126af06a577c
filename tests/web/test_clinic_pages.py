"""Clinic pages: screening, protocol assignment with sign-off, session console.

Each route is checked for its role (403), its site (another site's patient is a
404 like a missing one) and its CSRF token (403, nothing stored); the console
starts a real session on the simulator and the registry holds its pulses.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import sqlalchemy as sa
from tests.web.conftest import audit_actors, csrf_of, sign_in

from plptms.registry import Registry
from plptms.safety import load_screening_items
from plptms.workflow._views_console import SessionConsole

#: The conftest's protocol: 2 trains of 5 pulses at 10 Hz, 5 s apart.
SEED_PROTOCOL = "small-10hz"
SEED_PULSES = 2 * 5
#: The library protocol whose verdict asks for review (unverified table cells).
REVIEW_PROTOCOL = "consensus2024-example-10hz"
#: A library protocol refused by the train-duration rule.
REFUSED_PROTOCOL = "ahmed2011-m1-20hz"
#: Fast enough for a test: 10 simulated seconds in 0.05 s.
FAST = 200.0

P = "/patients/S01/P001"
ITEMS = [i.id for i in load_screening_items()]


def _rows(url: str, table: str) -> int:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        eng.dispose()


def _stored(url: str) -> tuple[int, ...]:
    return tuple(
        _rows(url, t)
        for t in (
            "screenings",
            "protocol_assignments",
            "delivery_sessions",
            "delivery_events",
            "audit_log",
        )
    )


@pytest.fixture(autouse=True)
def _ready_to_deliver(db_file: str) -> None:
    """The seed's headache reviewed by a physician (a pre-session check)."""
    with Registry(db_file) as reg:
        for e in reg.list_adverse_events("S01", "P001"):
            reg.review_adverse_event(
                e.id, physician="dr1", note="Mild, resolved.", continue_treatment=True
            )


def _as(client: Any, username: str) -> str:
    sign_in(client, username)
    return csrf_of(client.get("/").text)


def _console(client: Any, speed: float) -> SessionConsole:
    console = SessionConsole(speed=speed)
    client.app.state.clinic_console = console
    return console


ROUTES = [
    ("GET", "/screening"),
    ("POST", "/screening"),
    ("GET", "/assign"),
    ("POST", "/assign"),
    ("GET", "/console"),
    ("GET", "/console/events"),
    ("POST", "/console/start"),
    ("POST", "/console/control"),
    ("POST", "/console/restart"),
    ("POST", "/console/resume"),
]
#: Which roles each route refuses with 403 (the permission table).
DENIED = {
    "/screening": ("op1", "rater1", "mon1", "admin1"),
    "/assign": ("op1", "rater1", "mon1", "admin1"),
    "/console": ("rater1", "mon1", "admin1"),
    "/console/events": ("rater1", "mon1", "admin1"),
    "/console/start": ("rater1", "mon1", "admin1"),
    "/console/control": ("rater1", "mon1", "admin1"),
    "/console/restart": ("op1", "rater1", "mon1", "admin1"),
    "/console/resume": ("rater1", "mon1", "admin1"),
}


def _call(client: Any, method: str, url: str, token: str | None) -> Any:
    if method == "GET":
        return client.get(url)
    data = {
        "csrf_token": token or "",
        "protocol_id": SEED_PROTOCOL,
        "number": "1",
        "session_id": "1",
        "action": "pause",
        "reason": "a reason long enough",
        **{f"answer_{i}": "no" for i in ITEMS},
    }
    if token is None:
        data.pop("csrf_token")
    return client.post(url, data=data)


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_roles_without_the_permission_get_403(client, db_file, method, suffix) -> None:  # type: ignore[no-untyped-def]
    before = _stored(db_file)
    for username in DENIED[suffix]:
        c = client.__class__(client.app, follow_redirects=False)
        token = _as(c, username)
        r = _call(c, method, P + suffix, token)
        assert r.status_code == 403, (username, suffix, r.status_code)
        assert "Your role does not allow this page" in r.text
    assert _stored(db_file) == before


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_another_sites_patient_is_a_404_like_a_missing_one(  # type: ignore[no-untyped-def]
    client, db_file, method, suffix
) -> None:
    before = _stored(db_file)
    token = _as(client, "dr2")  # a physician of S02 only
    bodies = set()
    for url in (P, "/patients/S01/NOPE404", "/patients/S03/P001"):
        r = _call(client, method, url + suffix, token)
        assert r.status_code == 404, (url, suffix, r.status_code)
        bodies.add(r.text)
    assert len(bodies) == 1
    assert _stored(db_file) == before


@pytest.mark.parametrize("suffix", [s for m, s in ROUTES if m == "POST"])
def test_every_post_needs_the_csrf_token(client, db_file, suffix) -> None:  # type: ignore[no-untyped-def]
    _as(client, "dr1")
    before = _stored(db_file)
    for token in (None, "0" * 64):
        r = _call(client, "POST", P + suffix, token)
        assert r.status_code == 403
        assert "did not come from this application" in r.text
    assert _stored(db_file) == before


def test_screening_shows_items_and_stores_the_verdict(client, db_file) -> None:  # type: ignore[no-untyped-def]
    token = _as(client, "dr1")
    page = client.get(P + "/screening").text
    for item in load_screening_items():
        assert f"<code>{item.id}</code> {item.topic}" in page
    # one answer missing: refused, the item named, nothing stored
    before = _stored(db_file)
    answers = {f"answer_{i}": "no" for i in ITEMS[1:]}
    r = client.post(P + "/screening", data={**answers, "csrf_token": token})
    assert r.status_code == 200
    assert f"answers.{ITEMS[0]}" in r.text
    assert "Nothing was stored" in r.text
    assert _stored(db_file) == before
    # an absolute item answered yes excludes (epilepsy is absolute, as shipped)
    assert ITEMS[0] == "epilepsy"
    r = client.post(
        P + "/screening",
        data={**answers, "answer_epilepsy": "yes", "csrf_token": token},
    )
    assert r.status_code == 200
    assert "Screening stored: excluded" in r.text
    assert _rows(db_file, "screenings") == before[0] + 1
    assert audit_actors(db_file, "screenings")[-1] == "dr1"
    patient = client.get(P).text
    assert "<strong>excluded</strong>" in patient
    # a relative item answered unknown: needs physician review
    r = client.post(
        P + "/screening",
        data={**answers, "answer_epilepsy": "no", "answer_syncope": "unknown",
              "csrf_token": token},
    )  # fmt: skip
    assert "Screening stored: needs physician review" in r.text
    assert "<strong>needs physician review</strong>" in client.get(P).text


def test_assignment_needs_the_physicians_sign_off(client, db_file) -> None:  # type: ignore[no-untyped-def]
    token = _as(client, "dr1")
    r = client.get(P + "/assign", params={"protocol": REVIEW_PROTOCOL})
    assert r.status_code == 200
    assert re.search(r'class="decision">review<', r.text)
    assert "inter_train_interval" in r.text  # a rule to review, listed
    with Registry(db_file) as reg:
        rmt = reg.latest_rmt("S01", "P001")
    assert rmt is not None
    assert f"at RMT {rmt[0]:.1f} % MSO" in r.text  # the patient's latest RMT
    before = _stored(db_file)
    # no reason: not assigned, the verdict shown
    r = client.post(P + "/assign", data={"protocol_id": REVIEW_PROTOCOL,
                                         "csrf_token": token})  # fmt: skip
    assert "Not assigned" in r.text
    assert "needs a physician&#39;s review" in r.text
    assert _stored(db_file) == before
    # a refused protocol: the failed rule shown, nothing stored
    r = client.post(P + "/assign", data={"protocol_id": REFUSED_PROTOCOL,
                                         "csrf_token": token})  # fmt: skip
    assert "Failed rules" in r.text
    assert "train_duration" in r.text
    assert _stored(db_file) == before
    # an unknown protocol: named, the allowed ids listed
    r = client.post(P + "/assign", data={"protocol_id": "nope", "csrf_token": token})
    assert "Invalid value for &#39;protocol_id&#39;: got &#39;nope&#39;" in r.text
    assert _stored(db_file) == before
    # signed off: stored, dr1 the actor and the reviewer
    r = client.post(
        P + "/assign",
        data={"protocol_id": REVIEW_PROTOCOL, "csrf_token": token,
              "review_reason": "Unverified cells read against the paper today."},
    )  # fmt: skip
    assert f"Assigned {REVIEW_PROTOCOL}" in r.text
    assert "reviewed by dr1" in r.text
    assert _rows(db_file, "protocol_assignments") == before[1] + 1
    assert audit_actors(db_file, "protocol_assignments")[-1] == "dr1"
    with Registry(db_file) as reg:
        aid, _ = reg.find_assignment("S01", "P001", REVIEW_PROTOCOL)
        stored = reg.assignment_verdict(aid)
    assert stored.review is not None
    assert stored.review.physician == "dr1"
    assert stored.decision.value == "accepted"


def _start(client: Any, token: str, **form: str) -> Any:
    data = {"protocol_id": SEED_PROTOCOL, "number": "1", "ae_reviewed": "yes",
            "csrf_token": token, **form}  # fmt: skip
    return client.post(P + "/console/start", data=data)


def _sid(response: Any) -> int:
    assert response.status_code == 303, response.text
    m = re.search(r"session=(\d+)", response.headers["location"])
    assert m
    return int(m.group(1))


def _status(url: str, sid: int) -> tuple[str, str, int]:
    from plptms.delivery import replay_events

    with Registry(url) as reg:
        d = reg.get_delivery(sid)
        return d.status, d.detail, replay_events(reg.delivery_events(sid)).total


def test_a_session_runs_to_completion_with_its_pulses_stored(client, db_file) -> None:  # type: ignore[no-untyped-def]
    console = _console(client, FAST)
    token = _as(client, "op1")
    page = client.get(P + "/console").text
    assert "EMERGENCY STOP" in page
    assert f"{SEED_PROTOCOL} (next: session 1)" in page
    sid = _sid(_start(client, token))
    assert console.join(sid, 30.0)
    status, _, pulses = _status(db_file, sid)
    assert status == "completed"
    assert pulses == SEED_PULSES
    page = client.get(P + "/console", params={"session": sid}).text
    assert f"{SEED_PULSES}/{SEED_PULSES}" in page
    assert "completed" in page
    assert audit_actors(db_file, "delivery_sessions")[-1] == "op1"
    # the stream of a finished session ends at once with its stored status
    r = client.get(P + "/console/events", params={"session": sid})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith("event: end\n")
    assert '"status":"completed"' in r.text


def test_the_event_stream_follows_a_running_session(client, db_file) -> None:  # type: ignore[no-untyped-def]
    console = _console(client, 5.0)  # about 1.2 s of real time
    token = _as(client, "op1")
    sid = _sid(_start(client, token))
    events = []
    with client.stream("GET", P + "/console/events", params={"session": sid}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
    assert console.join(sid, 30.0)
    assert events[-1] == "end"
    assert events.count("progress") >= 2
    assert _status(db_file, sid)[0] == "completed"


def test_a_refused_start_lists_the_checks_and_stores_nothing(client, db_file) -> None:  # type: ignore[no-untyped-def]
    _console(client, FAST)
    token = _as(client, "op1")
    before = _stored(db_file)
    r = _start(client, token, ae_reviewed="")
    assert r.status_code == 200
    assert "Session blocked" in r.text
    assert "FAILED" in r.text
    assert "passed" in r.text  # the checks that passed are listed too
    r = _start(client, token, protocol_id="not-assigned")
    assert "not-assigned" in r.text
    r = _start(client, token, number="zero")
    assert "Invalid value for &#39;number&#39;" in r.text
    assert _stored(db_file) == before


def test_emergency_stop_then_a_physicians_restart(client, db_file, make_client) -> None:  # type: ignore[no-untyped-def]
    console = _console(client, 1.0)  # real time: 2 trains take about 6 s
    token = _as(client, "op1")
    sid = _sid(_start(client, token))
    time.sleep(0.3)
    r = client.post(P + "/console/control",
                    data={"session_id": str(sid), "action": "emergency_stop",
                          "csrf_token": token})  # fmt: skip
    assert r.status_code == 303
    assert console.join(sid, 30.0)
    status, detail, pulses = _status(db_file, sid)
    assert status == "emergency_stop"
    assert detail == "emergency stop by op1: emergency stop"
    assert pulses < SEED_PULSES
    # the operator may not restart it; resuming before a restart is refused
    assert client.post(P + "/console/restart", data={
        "session_id": str(sid), "reason": "patient is fine", "csrf_token": token,
    }).status_code == 403  # fmt: skip
    r = client.post(P + "/console/resume", data={
        "session_id": str(sid), "ae_reviewed": "yes", "csrf_token": token})  # fmt: skip
    assert "physician records a reasoned restart" in r.text
    # the physician authorises it, with a reason
    dr = client.__class__(client.app, follow_redirects=False)
    dtoken = _as(dr, "dr1")
    r = dr.post(P + "/console/restart", data={
        "session_id": str(sid), "reason": "x", "csrf_token": dtoken})  # fmt: skip
    assert "reason" in r.text
    assert _status(db_file, sid)[0] == "emergency_stop"
    r = dr.post(P + "/console/restart", data={
        "session_id": str(sid), "reason": "Patient seen, no symptom: go on.",
        "csrf_token": dtoken})  # fmt: skip
    assert r.status_code == 303
    assert _status(db_file, sid)[0] == "restart_approved"
    client.app.state.clinic_console = SessionConsole(speed=FAST)
    r = client.post(P + "/console/resume", data={
        "session_id": str(sid), "ae_reviewed": "yes", "csrf_token": token})  # fmt: skip
    assert _sid(r) == sid
    assert client.app.state.clinic_console.join(sid, 30.0)
    status, _, pulses = _status(db_file, sid)
    assert status == "completed"
    assert pulses == SEED_PULSES  # no pulse repeated, none missing


def test_abort_needs_a_reason_and_stores_it(client, db_file) -> None:  # type: ignore[no-untyped-def]
    console = _console(client, 1.0)
    token = _as(client, "op1")
    sid = _sid(_start(client, token))
    base = {"session_id": str(sid), "action": "abort", "csrf_token": token}
    r = client.post(P + "/console/control", data={**base, "reason": "no"})
    assert "Invalid value for &#39;reason&#39;" in r.text
    r = client.post(P + "/console/control", data={**base, "reason": "patient asked"})
    assert r.status_code == 303
    assert console.join(sid, 30.0)
    status, detail, _ = _status(db_file, sid)
    assert status == "aborted"
    assert detail == "abort by op1: patient asked"
    # a session not running here cannot be controlled
    r = client.post(P + "/console/control", data={**base, "action": "pause"})
    assert "not running on this console" in r.text
