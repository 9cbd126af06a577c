"""The JSON API: bearer tokens, strict types, errors naming the field."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.web.conftest import audit_actors, counts

API = "/api/v1"
DR1 = {"Authorization": "Bearer tok-dr1"}
TODAY = dt.date.today().isoformat()


def _body(**items: object) -> dict[str, object]:
    return {
        "scale_id": "nrs_phantom_average",
        "visit_date": TODAY,
        "visit_kind": "follow_up",
        "items": items or {"1": 4},
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic tok-dr1"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer tok-nobody"},
    ],
)
def test_api_needs_a_valid_bearer_token(client, headers) -> None:  # type: ignore[no-untyped-def]
    for url in (f"{API}/patients", f"{API}/scales", f"{API}/patients/S01/P001"):
        r = client.get(url, headers=headers)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "Authorization" in r.json()["detail"]


def test_api_ignores_the_session_cookie(client) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import sign_in

    sign_in(client, "dr1")
    assert client.get("/patients").status_code == 200
    assert client.get(f"{API}/patients").status_code == 401


def test_api_reads_patient_and_assessments(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get(f"{API}/patients/S01/P001", headers=DR1).json()
    assert page["patient"]["code"] == "P001"
    assert page["screening"]["status"] == "eligible"
    assert page["treatment"]["assignments"][0]["protocol_id"] == "small-10hz"
    rows = client.get(f"{API}/patients/S01/P001/assessments", headers=DR1).json()
    # seeded: VAS 62.5 mm at baseline, 31.0 mm after treatment (hand-entered)
    assert [(a["visit_kind"], a["total"]) for a in rows] == [
        ("baseline", 62.5),
        ("post_treatment", 31.0),
    ]


def test_rater_gets_no_treatment_section(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get(
        f"{API}/patients/S01/P001", headers={"Authorization": "Bearer tok-rater1"}
    ).json()
    assert page["treatment"] is None
    assert page["may_record_assessment"] is True


def test_administrator_is_refused_patients(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"{API}/patients", headers={"Authorization": "Bearer tok-admin1"})
    assert r.status_code == 403
    assert r.json() == {"detail": "Your role does not allow this action."}


def test_post_assessment_stores_with_the_token_user_as_actor(client, db_file) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"{API}/patients/S01/P001/assessments", json=_body(), headers=DR1)
    assert r.status_code == 201
    assert r.json()["total"] == 4
    assert audit_actors(db_file, "assessments")[-1] == "dr1"
    again = client.post(
        f"{API}/patients/S01/P001/assessments", json=_body(), headers=DR1
    )
    assert again.status_code == 409
    assert "detail" in again.json()


@pytest.mark.parametrize(
    "raw",
    ["false", "true", '"90"', '"4"', "NaN", "Infinity", "-Infinity", "[4]", '{"v": 4}'],
)
def test_strict_types_reject_without_coercion(client, db_file, raw) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(_body()).replace('{"1": 4}', '{"1": ' + raw + "}")
    before = counts(db_file)
    r = client.post(
        f"{API}/patients/S01/P001/assessments",
        content=body,
        headers={**DR1, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, raw
    detail = r.json()["detail"]
    assert any(e["loc"][:3] == ["body", "items", "1"] for e in detail), detail
    assert counts(db_file) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scale_id", 5),
        ("visit_kind", "party"),
        ("visit_date", "yesterday"),
        ("visit_date", 20240101),
        ("extra", 1),
    ],
)
def test_other_fields_are_named_when_refused(client, db_file, field, value) -> None:  # type: ignore[no-untyped-def]
    before = counts(db_file)
    r = client.post(
        f"{API}/patients/S01/P001/assessments",
        json={**_body(), field: value},
        headers=DR1,
    )
    assert r.status_code == 422
    assert any(field in e["loc"] for e in r.json()["detail"])
    assert counts(db_file) == before


def test_out_of_range_items_are_named_with_their_range(client, db_file) -> None:  # type: ignore[no-untyped-def]
    before = counts(db_file)
    body = {
        **_body(),
        "scale_id": "sf_mpq",
        "items": {"1": 7, "2": 1.5, "3": 2, "99": 1},
    }
    r = client.post(f"{API}/patients/S01/P001/assessments", json=body, headers=DR1)
    assert r.status_code == 422
    by_item = {e["loc"][2]: e["msg"] for e in r.json()["detail"]}
    assert set(by_item) == {"1", "2", "99"}
    # SF-MPQ items are whole numbers in [0, 3] (Melzack, 1987)
    assert "'sf_mpq.item_1'" in by_item["1"]
    assert "[0, 3]" in by_item["1"]
    assert "'sf_mpq.item_2'" in by_item["2"]
    assert "whole number" in by_item["2"]
    assert "99" in by_item["99"]
    assert counts(db_file) == before


def test_unknown_scale_and_future_date_are_refused(client, db_file) -> None:  # type: ignore[no-untyped-def]
    before = counts(db_file)
    r = client.post(
        f"{API}/patients/S01/P001/assessments",
        json={**_body(), "scale_id": "nrs_phantom_averag"},
        headers=DR1,
    )
    assert r.status_code == 422
    assert "scale_id" in r.json()["detail"][0]["msg"]
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = client.post(
        f"{API}/patients/S01/P001/assessments",
        json={**_body(), "visit_date": future},
        headers=DR1,
    )
    assert r.status_code == 422
    assert "visit_date" in r.json()["detail"][0]["msg"]
    assert counts(db_file) == before


def test_operator_may_not_record_assessments(client, db_file) -> None:  # type: ignore[no-untyped-def]
    before = counts(db_file)
    r = client.post(
        f"{API}/patients/S01/P001/assessments",
        json=_body(),
        headers={"Authorization": "Bearer tok-op1"},
    )
    assert r.status_code == 403
    assert counts(db_file) == before


def test_scales_show_ids_and_ranges_only(client) -> None:  # type: ignore[no-untyped-def]
    from plptms.scales import list_scales

    scales = client.get(f"{API}/scales", headers=DR1).json()
    assert [s["id"] for s in scales] == [s.id for s in list_scales()]
    for s in scales:
        for item in s["items"]:
            assert set(item) == {"id", "min", "max", "integer", "unit"}


def test_openapi_schema_is_published_without_pages(client) -> None:  # type: ignore[no-untyped-def]
    schema = client.get(f"{API}/openapi.json").json()
    paths = set(schema["paths"])
    assert paths == {
        f"{API}/patients",
        f"{API}/patients/{{site}}/{{code}}",
        f"{API}/patients/{{site}}/{{code}}/assessments",
        f"{API}/patients/{{site}}/{{code}}/targets",  # _pages_targeting
        f"{API}/patients/{{site}}/{{code}}/plan",  # _pages_plan
        f"{API}/patients/{{site}}/{{code}}/rmt",  # _api_trial
        f"{API}/followup",  # _pages_followup
        f"{API}/scales",
        f"{API}/protocols",  # _api_admin
        f"{API}/protocols/check",
        *(
            f"{API}/trials{tail}"  # _api_trial
            for tail in (
                "",
                "/{trial_id}",
                "/{trial_id}/adverse-events",
                "/{trial_id}/analysis",
                "/{trial_id}/consort",
                "/{trial_id}/enrolments",
                "/{trial_id}/export",
                "/{trial_id}/interim",
                "/{trial_id}/unblind",
                "/{trial_id}/visits",
            )
        ),
    }
    assert client.get("/docs").status_code == 404  # no CDN-loading docs page
