"""CSRF: every state-changing form needs its session's token; nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.web.conftest import counts, csrf_of, sign_in

FORM = {
    "scale_id": "nrs_phantom_average",
    "visit_date": dt.date.today().isoformat(),
    "visit_kind": "follow_up",
    "item_1": "4",
}


def _signed_in_token(client) -> str:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    page = client.get("/patients/S01/P001/assessments/new?scale=nrs_phantom_average")
    assert page.status_code == 200
    return csrf_of(page.text)


@pytest.mark.parametrize("token", [None, "", "0" * 64, "not-hex"])
def test_missing_or_wrong_token_is_403_and_stores_nothing(
    client,
    db_file,
    token,  # type: ignore[no-untyped-def]
) -> None:
    _signed_in_token(client)
    before = counts(db_file)
    data = dict(FORM)
    if token is not None:
        data["csrf_token"] = token
    r = client.post("/patients/S01/P001/assessments", data=data)
    assert r.status_code == 403
    assert "Research software, not a certified medical device" in r.text
    assert counts(db_file) == before


def test_token_of_another_session_is_refused(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    a, b = make_client(), make_client()
    token_a = _signed_in_token(a)
    _signed_in_token(b)
    before = counts(db_file)
    r = b.post("/patients/S01/P001/assessments", data={**FORM, "csrf_token": token_a})
    assert r.status_code == 403
    assert counts(db_file) == before


def test_right_token_in_form_or_htmx_header_is_accepted(client, db_file) -> None:  # type: ignore[no-untyped-def]
    token = _signed_in_token(client)
    a0, v0, _ = counts(db_file)
    r = client.post(
        "/patients/S01/P001/assessments", data={**FORM, "csrf_token": token}
    )
    assert r.status_code == 303
    r = client.post(
        "/patients/S01/P001/assessments",
        data={**FORM, "visit_kind": "other"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 303
    a1, v1, _ = counts(db_file)
    assert (a1 - a0, v1 - v0) == (2, 2)


def test_sign_in_and_sign_out_need_the_token(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/sign-in")
    r = client.post("/sign-in", data={"username": "dr1", "password": "pw-dr1"})
    assert r.status_code == 403
    assert client.get("/").status_code == 303
    sign_in(client, "dr1")
    assert client.post("/sign-out", data={}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_the_token_changes_with_the_session(client) -> None:  # type: ignore[no-untyped-def]
    before = csrf_of(client.get("/sign-in").text)
    after = _signed_in_token(client)
    assert before != after
