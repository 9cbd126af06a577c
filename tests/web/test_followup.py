"""The clinic follow-up calendar page and API (web/_pages_followup).

The seeded registry: S01/P001 has ``small-10hz`` (10 sessions) with session 1
delivered today; S02/SECRET9 none. The fixture below delivers the rest of
P001's course today and a whole course to SECRET9, so on a day 200 days on
both follow-up visits (4 and 12 weeks, windows of 7 days either side) have
closed unrecorded: overdue. Oracles: those dates, the seeded rows and the
permission table (rater: no treatment; operator: no assessment.write;
administrator: no patient.read).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests._review import REVIEW
from tests.web.conftest import S02_ONLY_CODE, sign_in
from tests.web.test_routes import _check_page
from tests.workflow.conftest import protocol_data

from plptms.protocol import Protocol
from plptms.registry import Registry, SessionStatus
from plptms.safety import check_protocol

API = "/api/v1/followup"
TODAY = dt.date.today()
LATER = (TODAY + dt.timedelta(days=200)).isoformat()


def _bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{user}"}


@pytest.fixture
def complete(db_file: str) -> str:
    with Registry(db_file) as reg:
        (a,) = reg.list_assignments("S01", "P001")
        for n in range(2, 11):
            reg.record_session(a.id, n, TODAY, SessionStatus.COMPLETED, actor="op1")
        proto = Protocol.model_validate(protocol_data())
        aid = reg.assign_protocol(
            "S02",
            S02_ONLY_CODE,
            proto,
            check_protocol(proto, review=REVIEW),
            actor="dr2",
        )
        for n in range(1, 11):
            reg.record_session(aid, n, TODAY, SessionStatus.COMPLETED, actor="op2")
    return db_file


def test_page_shows_own_site_overdue_with_links(client: Any, complete: str) -> None:
    sign_in(client, "dr1")
    r = client.get("/followup", params={"on": LATER})
    assert r.status_code == 200
    _check_page(r.text, "/followup")
    assert "Site S01" in r.text
    assert "Site S02" not in r.text
    assert S02_ONLY_CODE not in r.text
    assert 'href="/patients/S01/P001"' in r.text
    assert r.text.count("<strong>Overdue</strong>") == 2  # both visits, in words
    assert (
        'href="/patients/S01/P001/assessments/new?scale=vas_phantom_average"' in r.text
    )
    assert "small-10hz" in r.text
    assert "10 of 10" in r.text


def test_in_course_before_the_course_is_complete(client: Any) -> None:
    sign_in(client, "dr1")
    r = client.get("/followup")
    assert r.status_code == 200
    assert "In course" in r.text
    assert "1 of 10 (next: 2)" in r.text
    assert "/assessments/new" not in r.text  # nothing due yet


def test_rater_sees_visits_not_the_protocol(client: Any, complete: str) -> None:
    sign_in(client, "rater1")
    r = client.get("/followup", params={"on": LATER})
    assert r.status_code == 200
    assert "small-10hz" not in r.text
    assert "Protocol</th>" not in r.text
    assert "<strong>Overdue</strong>" in r.text
    assert "/assessments/new?scale=" in r.text  # a rater records the pain


def test_operator_gets_no_assessment_link(client: Any, complete: str) -> None:
    sign_in(client, "op1")
    r = client.get("/followup", params={"on": LATER})
    assert r.status_code == 200
    assert "small-10hz" in r.text
    assert "/assessments/new" not in r.text


def test_other_site_is_answered_as_a_missing_one(client: Any, complete: str) -> None:
    sign_in(client, "dr1")
    other = client.get("/followup", params={"site": "S02"})
    missing = client.get("/followup", params={"site": "S404"})
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text
    assert S02_ONLY_CODE not in other.text
    api_other = client.get(API, params={"site": "S02"}, headers=_bearer("dr1"))
    api_missing = client.get(API, params={"site": "S404"}, headers=_bearer("dr1"))
    assert api_other.status_code == api_missing.status_code == 404
    assert api_other.json() == api_missing.json()


def test_other_sites_user_sees_only_theirs(client: Any, complete: str) -> None:
    r = client.get(API, params={"on": LATER}, headers=_bearer("dr2"))
    assert r.status_code == 200
    (table,) = r.json()["sites"]
    assert table["site"] == "S02"
    assert [row["code"] for row in table["rows"]] == [S02_ONLY_CODE]


def test_role_without_patient_read_is_refused(client: Any) -> None:
    sign_in(client, "admin1")
    assert client.get("/followup").status_code == 403
    assert client.get(API, headers=_bearer("admin1")).status_code == 403


def test_sign_in_and_token_are_required(client: Any) -> None:
    r = client.get("/followup")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert client.get(API).status_code == 401


def test_api_calendar(client: Any, complete: str) -> None:
    r = client.get(API, params={"on": LATER}, headers=_bearer("dr1"))
    assert r.status_code == 200
    body = r.json()
    assert body["window_days"] == 7
    assert body["follow_up_weeks"] == [4, 12]
    (table,) = body["sites"]
    assert table["on"] == LATER
    (row,) = table["rows"]
    assert (row["code"], row["status"]) == ("P001", "overdue")
    assert [v["status"] for v in row["visits"]] == ["overdue", "overdue"]
    assert (row["sessions_delivered"], row["sessions_planned"]) == (10, 10)
    assert S02_ONLY_CODE not in r.text
    rater = client.get(API, params={"on": LATER}, headers=_bearer("rater1")).json()
    assert rater["sites"][0]["rows"][0]["protocol_id"] is None


@pytest.mark.parametrize(
    "bad", ["2026-13-01", "20260401", "1700000000", "2026-04-01T00:00", "today"]
)
def test_on_is_parsed_strictly(client: Any, bad: str) -> None:
    r = client.get(API, params={"on": bad}, headers=_bearer("dr1"))
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["query", "on"]
    assert "'on'" in err["msg"]
    sign_in(client, "dr1")
    page = client.get("/followup", params={"on": bad})
    assert page.status_code == 422
    assert "Invalid value for &#39;on&#39;" in page.text
    _check_page(page.text, "422")
