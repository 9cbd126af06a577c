"""The treatment-plan page and its API: roles, sites, no assignment, refused input.

Both routes are GETs (nothing is stored, so there is no form to protect with a
CSRF token); each needs ``treatment.read`` (the rater gets 403) and answers
another site's patient with the same 404 as a missing one. The dates are
counted by hand on a calendar: small-10hz gives one session each weekday.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests.web.conftest import counts, sign_in

from plptms.registry import Registry

URL = "/patients/S01/P010/plan"
API = "/api/v1/patients/S01/P010/plan"
#: P010's assignment: Monday 5 January 2026.
ASSIGNED_ON = dt.date(2026, 1, 5)
#: Ten weekdays from Monday 5 January 2026, counted by hand.
WEEKDAYS_FROM_ASSIGNMENT = [
    f"2026-01-{d:02d}" for d in (5, 6, 7, 8, 9, 12, 13, 14, 15, 16)
]
#: Ten weekdays from Saturday 10 January 2026.
WEEKDAYS_FROM_SATURDAY = [
    f"2026-01-{d:02d}" for d in (12, 13, 14, 15, 16, 19, 20, 21, 22, 23)
]


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{user}"}


@pytest.fixture
def plan_client(db_file: str, make_client: Any) -> Any:
    """The web seed plus S01/P010: a left arm amputee with small-10hz assigned."""
    from tests._review import REVIEW
    from tests.workflow.conftest import protocol_data
    from tests.workflow.test_targeting_views import history

    from plptms.protocol import Protocol
    from plptms.safety import check_protocol

    with Registry(db_file) as reg:
        reg.add_patient("S01", "P010", history=history("left", "upper"), actor="n")
        proto = Protocol.model_validate(protocol_data())
        reg.assign_protocol(
            "S01", "P010", proto, check_protocol(proto, review=REVIEW),
            actor="dr1", assigned_on=ASSIGNED_ON,
        )  # fmt: skip
    return make_client()


@pytest.mark.parametrize("user", ["dr1", "op1", "mon1"])
def test_page_for_treatment_readers(plan_client: Any, db_file: str, user: str) -> None:
    before = counts(db_file)
    sign_in(plan_client, user)
    r = plan_client.get(URL)
    assert r.status_code == 200
    html = r.text
    assert "not a certified medical device" in html
    assert "<h1>Treatment plan</h1>" in html
    assert "small-10hz" in html
    assert 'href="/patients/S01/P010">Back to the patient page' in html
    for heading in (
        "Safety verdict",
        "Blocks",
        "How to localise the targets",
        "Session calendar",
        "Follow-up visits",
        "Maintenance",
        "Warnings",
    ):
        assert f">{heading}</h2>" in html
    # the verdict in words, not a colour only
    assert "Needs a physician&#39;s review before delivery." in html
    assert "Dr Test" in html  # the review recorded with the assignment
    for day in WEEKDAYS_FROM_ASSIGNMENT:
        assert f">{day}</td>" in html
    assert ">m1_hand</td>" in html
    assert ">right</td>" in html  # contralateral to the left arm
    assert "after the RMT is measured" in html  # no RMT for P010: no % MSO
    assert counts(db_file) == before  # a plan stores nothing


def test_start_date_on_the_page(plan_client: Any) -> None:
    sign_in(plan_client, "dr1")
    r = plan_client.get(URL, params={"start": "2026-01-10"})
    assert r.status_code == 200
    for day in WEEKDAYS_FROM_SATURDAY:
        assert f">{day}</td>" in r.text
    assert ">2026-01-09</td>" not in r.text


@pytest.mark.parametrize(
    "bad", ["10/01/2026", "2026-02-30", "tomorrow", "9999-12-31", "1999-12-31"]
)
def test_bad_start_is_named(plan_client: Any, bad: str) -> None:
    sign_in(plan_client, "dr1")
    r = plan_client.get(URL, params={"start": bad})
    assert r.status_code == 422
    assert "Invalid value for &#39;start&#39;" in r.text
    api = plan_client.get(API, params={"start": bad}, headers=_auth("dr1"))
    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"] == ["query", "start"]


def test_rater_is_refused(plan_client: Any) -> None:
    sign_in(plan_client, "rater1")
    assert plan_client.get(URL).status_code == 403
    assert plan_client.get(URL, params={"start": "x"}).status_code == 403
    r = plan_client.get(API, headers=_auth("rater1"))
    assert r.status_code == 403
    assert r.json()["detail"] == "Your role does not allow this action."


def test_other_site_is_a_404(plan_client: Any) -> None:
    sign_in(plan_client, "dr2")
    for code in ("P010", "NOPE404"):
        assert plan_client.get(f"/patients/S01/{code}/plan").status_code == 404
        r = plan_client.get(f"/api/v1/patients/S01/{code}/plan", headers=_auth("dr2"))
        assert r.status_code == 404
    # their own site's patient (no protocol assigned) is shown
    r = plan_client.get("/patients/S02/P001/plan")
    assert r.status_code == 200
    assert "No protocol is assigned" in r.text


def test_no_assignment_and_no_history(plan_client: Any) -> None:
    sign_in(plan_client, "dr1")
    r = plan_client.get("/patients/S01/P002/plan")
    assert r.status_code == 200
    assert "No protocol is assigned" in r.text
    assert 'href="/patients/S01/P002/assign"' in r.text  # a physician may assign
    r = plan_client.get("/patients/S01/P001/plan")  # assigned, no PLP history
    assert r.status_code == 200
    assert "No plan" in r.text
    assert "history" in r.text
    api = plan_client.get("/api/v1/patients/S01/P002/plan", headers=_auth("dr1"))
    assert api.status_code == 200
    body = api.json()
    assert (body["assignment"], body["plan"]) == (None, None)
    assert body["problem"].startswith("No protocol is assigned")


def test_api_plan(plan_client: Any, db_file: str) -> None:
    before = counts(db_file)
    r = plan_client.get(API, headers=_auth("op1"))
    assert r.status_code == 200
    body = r.json()
    # RFC 3339 date-time: the registry's naive UTC time gets its offset
    assert dt.datetime.fromisoformat(body["patient"]["created_at"]).tzinfo is not None
    assert body["assignment"]["protocol_id"] == "small-10hz"
    assert body["start_date"] == ASSIGNED_ON.isoformat()
    plan = body["plan"]
    assert [s["date"] for s in plan["sessions"]] == WEEKDAYS_FROM_ASSIGNMENT
    assert [(f["weeks_after_course"], f["date"]) for f in plan["follow_ups"]] == [
        (4, "2026-02-13"),  # Friday 16 January + 4 weeks
        (12, "2026-04-10"),  # + 12 weeks
    ]
    (block,) = plan["blocks"]
    assert (block["target"], block["hemisphere"]) == ("m1_hand", "right")
    assert block["intensity_pct_rmt"] == pytest.approx(90.0, abs=1e-12)
    assert block["intensity_pct_mso"] is None  # no RMT recorded for P010
    assert body["verdict"]["decision"] == "review"
    assert body["review"]["physician"] == "Dr Test"
    r = plan_client.get(API, params={"start": "2026-01-10"}, headers=_auth("mon1"))
    assert [s["date"] for s in r.json()["plan"]["sessions"]] == WEEKDAYS_FROM_SATURDAY
    assert counts(db_file) == before


def test_sign_in_and_token_needed(plan_client: Any) -> None:
    r = plan_client.get(URL)
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert plan_client.get(API).status_code == 401
    assert (
        plan_client.get(API, headers={"Authorization": "Bearer x"}).status_code == 401
    )
