"""The targeting page, its PNG and the targets API: roles, sites, refused input.

Every route is a GET (nothing is stored, so there is no form to protect with
a CSRF token); each needs ``treatment.read`` (the rater gets 403) and answers
another site's patient with the same 404 as a missing one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.web.conftest import counts, sign_in

from plptms.registry import Registry

URL = "/patients/S01/P010/targeting"
API = "/api/v1/patients/S01/P010/targets"
#: The Beam demonstration head, cm.
HEAD = {"nasion_inion_cm": "38", "tragus_tragus_cm": "36", "circumference_cm": "60"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: 10-20 C4 by hand (Jasper, 1958): 50 % NI from the nasion, 20 % TT lateral.
C4_FROM_NASION_CM = 0.5 * 38.0
C4_LATERAL_CM = 0.2 * 36.0
#: The page prints tape distances with one decimal.
PRINTED_ATOL_CM = 0.05


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{user}"}


@pytest.fixture
def tgt_client(db_file: str, make_client: Any) -> Any:
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
            "S01", "P010", proto, check_protocol(proto, review=REVIEW), actor="dr1"
        )
    return make_client()


def test_form_without_measurements(tgt_client: Any) -> None:
    sign_in(tgt_client, "dr1")
    r = tgt_client.get(URL)
    assert r.status_code == 200
    html = r.text
    assert "not a certified medical device" in html
    for name, (lo, hi) in {
        "nasion_inion_cm": (26, 46),
        "tragus_tragus_cm": (26, 46),
        "circumference_cm": (46, 68),
    }.items():
        assert f'<label for="{name}">' in html
        assert f"(allowed {lo} to {hi} cm)" in html
    assert '<option value="small-10hz" selected>' in html  # the assigned one
    assert 'method="get"' in html
    assert "<img" not in html


def test_sheet_with_measurements(tgt_client: Any, db_file: str) -> None:
    sign_in(tgt_client, "dr1")
    before = counts(db_file)
    r = tgt_client.get(URL, params=HEAD)
    assert r.status_code == 200
    html = r.text
    assert '<th scope="col">How to measure</th>' in html
    assert "m1_hand" in html
    assert "M1 hand (right, estimate)" in html
    assert "opposite" in html  # the explanation
    m = re.search(r'<img src="([^"]+)" alt="([^"]+)"', html)
    assert m, "no sheet image"
    src = m.group(1).replace("&amp;", "&")
    assert src.startswith("/patients/S01/P010/targeting.png?")
    assert "nasion_inion_cm=38" in src
    assert "protocol_id=small-10hz" in src
    assert "m1_hand (right hemisphere)" in m.group(2)
    assert "Download the targeting sheet (PNG)" in html
    png = tgt_client.get(src)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content[:8] == PNG_MAGIC
    assert png.headers["content-disposition"].startswith("inline")
    dl = tgt_client.get(src + "&download=1")
    assert dl.headers["content-disposition"] == (
        'attachment; filename="targeting_S01_P010.png"'
    )
    assert counts(db_file) == before  # reading targets stores nothing


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        (
            {"nasion_inion_cm": "90"},
            "nasion_inion_cm",
            "got 90.0; allowed range is [26, 46] cm",
        ),
        ({"tragus_tragus_cm": "abc"}, "tragus_tragus_cm", "got &#39;abc&#39;"),
        ({"circumference_cm": "nan"}, "circumference_cm", "got &#39;nan&#39;"),
        ({"circumference_cm": ""}, "circumference_cm", "Missing value"),
        # each value in range, the proportions not: 46 > 0.75 x 60 cm
        ({"nasion_inion_cm": "46"}, "nasion_inion_cm", "x circumference_cm 60 cm"),
        # 45 / 36 = 1.25: more than a factor 1.15 between the two arcs
        ({"nasion_inion_cm": "45"}, "nasion_inion_cm", "within a factor 1.15"),
        ({"protocol_id": "nope"}, "protocol_id", "nope"),
    ],
)
def test_bad_input_is_named_inline(
    tgt_client: Any, change: dict[str, str], field: str, text: str
) -> None:
    sign_in(tgt_client, "dr1")
    r = tgt_client.get(URL, params={**HEAD, **change})
    assert r.status_code == 422
    assert "No sheet: please correct" in r.text
    assert f"&#39;{field}&#39;" in r.text
    assert text in r.text
    assert "<img" not in r.text
    if field != "protocol_id":
        assert f'aria-describedby="err-{field}"' in r.text
    png = tgt_client.get(URL + ".png", params={**HEAD, **change})
    assert png.status_code == 422
    assert field in png.text


def test_patient_without_history_or_assignment(tgt_client: Any) -> None:
    sign_in(tgt_client, "dr1")
    r = tgt_client.get("/patients/S01/P002/targeting", params=HEAD)
    assert r.status_code == 422
    assert "No protocol is assigned" in r.text
    assert "history" in r.text  # P002 has no PLP history recorded


@pytest.mark.parametrize(
    ("user", "status"),
    [("dr1", 200), ("op1", 200), ("mon1", 200), ("rater1", 403), ("dr2", 404)],
)
def test_roles_and_sites(tgt_client: Any, user: str, status: int) -> None:
    sign_in(tgt_client, user)
    assert tgt_client.get(URL).status_code == status
    png = tgt_client.get(URL + ".png", params=HEAD)
    assert png.status_code == status
    api = tgt_client.get(API, params=HEAD, headers=_auth(user))
    assert api.status_code == status
    if status == 404:  # another site's patient reads like a missing one
        missing = tgt_client.get(
            "/api/v1/patients/S02/NOPE/targets", params=HEAD, headers=_auth(user)
        )
        assert api.json() == missing.json()
        page = tgt_client.get("/patients/S01/NOPE/targeting")
        assert tgt_client.get(URL).text == page.text


def test_api_plans(tgt_client: Any) -> None:
    r = tgt_client.get(API, params=HEAD, headers=_auth("dr1"))
    assert r.status_code == 200
    body = r.json()
    assert (body["protocol_id"], body["source"]) == ("small-10hz", "assignment")
    (plan,) = body["plans"]
    assert (plan["target"], plan["hemisphere"]) == ("m1_hand", "right")
    (c4,) = [
        a
        for a in plan["sites"][0]["alternatives"]
        if a["method"] == "jasper_10_20_analytic"
    ]
    assert c4["name"] == "C4"
    assert c4["from_nasion_cm"] == pytest.approx(C4_FROM_NASION_CM, abs=1e-9)
    assert c4["lateral_cm"] == pytest.approx(C4_LATERAL_CM, abs=1e-9)
    assert "how_to_measure" in c4
    other = tgt_client.get(
        API,
        params={**HEAD, "protocol_id": "grammer2015-s1-dlpfc", "beam_variant": "paper"},
        headers=_auth("dr1"),
    ).json()
    assert [p["target"] for p in other["plans"]] == ["s1", "dlpfc"]
    assert other["plans"][1]["sites"][0]["beam"]["variant"] == "paper"
    assert tgt_client.get(API, params=HEAD).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nasion_inion_cm": "abc"}, "nasion_inion_cm"),
        ({"tragus_tragus_cm": "NaN"}, "tragus_tragus_cm"),
        ({"circumference_cm": "inf"}, "circumference_cm"),
        ({"circumference_cm": "true"}, "circumference_cm"),
        ({"nasion_inion_cm": "90"}, "nasion_inion_cm"),
        ({"beam_variant": "tape"}, "beam_variant"),
        ({"protocol_id": "nope"}, "protocol_id"),
    ],
)
def test_api_strict_numbers(
    tgt_client: Any, change: dict[str, str], field: str
) -> None:
    r = tgt_client.get(API, params={**HEAD, **change}, headers=_auth("dr1"))
    assert r.status_code == 422
    locs = [d["loc"] for d in r.json()["detail"]]
    assert ["query", field] in locs


def test_api_missing_measurement_and_history(tgt_client: Any) -> None:
    r = tgt_client.get(
        API,
        params={"nasion_inion_cm": 38, "tragus_tragus_cm": 36},
        headers=_auth("dr1"),
    )
    assert r.status_code == 422
    (d,) = r.json()["detail"]
    assert d["loc"] == ["query", "circumference_cm"]
    assert "Missing value" in d["msg"]
    r = tgt_client.get(
        "/api/v1/patients/S01/P001/targets", params=HEAD, headers=_auth("dr1")
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["history"]
