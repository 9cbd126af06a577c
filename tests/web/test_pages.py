"""Pages: the patient page by role, assessment forms, inline validation."""

from __future__ import annotations

import datetime as dt
import html as html_mod
import re

import pytest
from tests.web.conftest import audit_actors, counts, csrf_of, sign_in

from plptms.scales import list_scales

TODAY = dt.date.today().isoformat()
TREATMENT_MARKERS = (
    "Protocol assignments and sessions",
    "small-10hz",
    "Adverse events",
    "headache",
)


def _text(html: str) -> str:
    return html_mod.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_physician_sees_every_section(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    html = client.get("/patients/S01/P001").text
    for marker in (
        *TREATMENT_MARKERS,
        "Safety screening",
        "eligible",
        "% MSO",
        "62.5",
        "31",
    ):
        assert marker in html, marker
    assert "Record an assessment" in html
    assert 'src="/patients/S01/P001/trajectory.svg"' in html


@pytest.mark.parametrize("username", ["rater1"])
def test_rater_sees_no_treatment_protocol_or_session(client, username) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, username)
    html = client.get("/patients/S01/P001").text
    for marker in TREATMENT_MARKERS:
        assert marker not in html, marker
    assert "62.5" in html  # assessments are the rater's own work
    assert "Record an assessment" in html


def test_operator_and_monitor_see_sessions_but_never_a_condition(client) -> None:  # type: ignore[no-untyped-def]
    for user in ("op1", "mon1"):
        c = client.__class__(client.app, follow_redirects=False)
        sign_in(c, user)
        html = c.get("/patients/S01/P001").text
        assert "small-10hz" in html
        text = _text(html).lower()
        assert "sham" not in text
        assert "condition" not in text
        assert ("Record an assessment" in html) is False  # neither may record


def test_trajectory_is_an_svg_of_the_pain_scale(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    r = client.get("/patients/S01/P001/trajectory.svg")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.lstrip().startswith("<?xml")
    assert "vas_phantom_average" in r.text
    assert client.get("/patients/S01/P002/trajectory.svg").status_code == 404


def test_every_scale_has_a_form_with_item_ids_and_ranges_only(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    choice = client.get("/patients/S01/P001/assessments/new").text
    for scale in list_scales():
        assert f"scale={scale.id}" in choice
        html = client.get(
            "/patients/S01/P001/assessments/new", params={"scale": scale.id}
        ).text
        for item in scale.items:
            assert f'name="item_{item.id}"' in html
            assert f'<label for="item-{item.id}">Item {item.id} ' in html
            assert f"[{item.min:g}, {item.max:g}]" in html
            if item.label:  # short domain names are not shown either
                assert item.label not in html


def test_unknown_scale_form_is_404(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    r = client.get("/patients/S01/P001/assessments/new", params={"scale": "nope"})
    assert r.status_code == 404


def _post(client, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get(
        "/patients/S01/P001/assessments/new",
        params={"scale": fields.get("scale_id", "sf_mpq")},
    )
    data = {
        "scale_id": "sf_mpq",
        "visit_date": TODAY,
        "visit_kind": "follow_up",
        "csrf_token": csrf_of(page.text),
        **fields,
    }
    return client.post("/patients/S01/P001/assessments", data=data)


def test_bad_items_are_named_with_their_range_next_to_the_form(client, db_file) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    before = counts(db_file)
    r = _post(client, item_1="7", item_2="1.5", item_3="abc", item_4="2")
    assert r.status_code == 422
    text = _text(r.text)
    assert "Nothing was stored" in text
    # SF-MPQ items: whole numbers in [0, 3] (Melzack, 1987)
    assert "Invalid value for 'sf_mpq.item_1': got 7" in text
    assert "[0, 3]" in text
    assert (
        "Invalid value for 'sf_mpq.item_2': got 1.5; allowed: a whole number in [0, 3]"
        in text
    )
    assert (
        "Invalid value for 'sf_mpq.item_3': got 'abc'; allowed: a whole number "
        "in [0, 3]." in text
    )
    assert "sf_mpq.item_4" not in text
    # each message sits next to its input, which is marked invalid
    for item in ("1", "2", "3"):
        assert f'aria-describedby="err-{item}"' in r.text
        assert f'id="err-{item}"' in r.text
    assert 'aria-describedby="err-4"' not in r.text
    # what was typed is kept
    assert 'value="abc"' in r.text
    assert counts(db_file) == before


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"visit_date": "31/12/2024"}, "visit_date"),
        (
            {"visit_date": (dt.date.today() + dt.timedelta(days=3)).isoformat()},
            "visit_date",
        ),
        ({"visit_kind": "party"}, "visit_kind"),
        ({"item_1": "nan"}, "sf_mpq.item_1"),
        ({"item_1": "inf"}, "sf_mpq.item_1"),
        ({"item_99": "1", "item_1": "1"}, None),  # unknown fields are ignored
    ],
)
def test_bad_visit_or_number_text_is_named(client, db_file, fields, needle) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    before = counts(db_file)
    r = _post(client, **fields)
    if needle is None:
        assert r.status_code == 303
        return
    assert r.status_code == 422
    assert f"'{needle}'" in _text(r.text)
    assert counts(db_file) == before


def test_good_form_stores_with_the_user_as_actor_then_duplicate_is_shown(
    client,
    db_file,  # type: ignore[no-untyped-def]
) -> None:
    sign_in(client, "rater1")
    items = {f"item_{i}": "1" for i in range(1, 16)}
    r = _post(client, **items)
    assert r.status_code == 303
    assert r.headers["location"] == "/patients/S01/P001#assessments"
    assert audit_actors(db_file, "assessments")[-1] == "rater1"
    page = client.get("/patients/S01/P001").text
    assert "sf_mpq" in page
    again = _post(client, **items)
    assert again.status_code == 422
    assert "Nothing was stored" in again.text


def test_operator_gets_403_for_the_entry_form(client, db_file) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "op1")
    assert client.get("/patients/S01/P001/assessments/new").status_code == 403
    token = csrf_of(client.get("/patients").text)
    before = counts(db_file)
    r = client.post(
        "/patients/S01/P001/assessments",
        data={
            "scale_id": "sf_mpq",
            "visit_date": TODAY,
            "visit_kind": "other",
            "csrf_token": token,
        },
    )
    assert r.status_code == 403
    assert counts(db_file) == before


def test_parse_number() -> None:
    from plptms.web._pages import parse_number

    assert parse_number("") is None
    assert parse_number(" 4 ") == 4
    assert isinstance(parse_number("4"), int)
    assert parse_number("2,5") == pytest.approx(2.5, abs=0)
    assert parse_number("1e1") == pytest.approx(10.0, abs=0)
    for bad in ("nan", "inf", "-inf", "1e999", "abc", "1.2.3", "true"):
        with pytest.raises(ValueError, match=re.escape(bad.strip())):
            parse_number(bad)
