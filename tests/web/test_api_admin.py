"""The API's new endpoints: register a patient, list protocols, check a dose.

Fake accounts of ``conftest.py`` (token ``tok-<user>``); dose-check figures
are hand-computed from the dose (train duration = pulses / frequency, session
pulses = pulses per train x trains, output = intensity x RMT).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from tests.web.conftest import audit_actors, counts

#: Tolerance on figures the engine derives (s, pulses, % MSO).
ATOL = 1e-9

DOSE: dict[str, Any] = {
    "pattern": "rtms",
    "target": "m1",
    "laterality": "contralateral",
    "frequency_hz": 20.0,
    "intensity_pct_rmt": 130.0,
    "pulses_per_train": 200,
    "trains_per_session": 10,
    "inter_train_interval_s": 30.0,
    "rmt_pct_mso": 50.0,
}


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{user}"}


def _patients(url: str) -> int:
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(sa.text("SELECT COUNT(*) FROM patients")).scalar_one())
    finally:
        eng.dispose()


def test_register_patient(client: Any, db_file: str) -> None:
    before = _patients(db_file)
    r = client.post(
        "/api/v1/patients", json={"site": "S01", "code": "P777"}, headers=_auth("dr1")
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["site"], body["code"]) == ("S01", "P777")
    created = dt.datetime.fromisoformat(body["created_at"])
    assert created.utcoffset() == dt.timedelta(0)  # RFC 3339: an offset, UTC
    assert _patients(db_file) == before + 1
    assert audit_actors(db_file, "patients")[-1] == "dr1"
    # the same code again: 409, nothing stored
    r = client.post(
        "/api/v1/patients", json={"site": "S01", "code": "P777"}, headers=_auth("dr1")
    )
    assert r.status_code == 409
    assert _patients(db_file) == before + 1


@pytest.mark.parametrize(
    ("user", "body", "status", "field"),
    [
        ("dr1", {"site": "S02", "code": "P900"}, 403, None),  # not the user's site
        ("rater1", {"site": "S01", "code": "P900"}, 403, None),  # no patient.write
        ("admin1", {"site": "S01", "code": "P900"}, 403, None),
        ("dr1", {"site": "S01", "code": "bad code!"}, 422, "code"),
        ("dr1", {"site": "S01", "code": 900}, 422, "code"),  # not a string
        ("dr1", {"site": "S01"}, 422, "code"),
        ("dr1", {"site": "S01", "code": "P900", "x": 1}, 422, "x"),
    ],
)
def test_register_patient_refused(
    client: Any,
    db_file: str,
    user: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = counts(db_file), _patients(db_file)
    r = client.post("/api/v1/patients", json=body, headers=_auth(user))
    assert r.status_code == status, r.text
    if field is not None:
        assert any(field in map(str, d["loc"]) for d in r.json()["detail"]), r.text
    assert (counts(db_file), _patients(db_file)) == before


def test_register_patient_needs_token(client: Any) -> None:
    r = client.post("/api/v1/patients", json={"site": "S01", "code": "P900"})
    assert r.status_code == 401


def test_protocols(client: Any) -> None:
    from plptms.protocol import load_library

    r = client.get("/api/v1/protocols", headers=_auth("dr1"))
    assert r.status_code == 200
    ids = [p["id"] for p in r.json()]
    assert ids == sorted(load_library().protocols)
    assert "dirollo2011-m1-1hz" in ids
    # a blinded rater and the administrator see no protocol
    for user in ("rater1", "admin1"):
        assert client.get("/api/v1/protocols", headers=_auth(user)).status_code == 403


def test_dose_check_figures(client: Any) -> None:
    r = client.post("/api/v1/protocols/check", json=DOSE, headers=_auth("dr1"))
    assert r.status_code == 200, r.text
    v = r.json()
    rules = {x["rule_id"]: x for x in v["rules"]}
    # 200 pulses at 20 Hz: a 10 s train, far over the table's limit at 130 % RMT
    assert math.isclose(rules["train_duration"]["value"], 200 / 20.0, abs_tol=ATOL)
    assert rules["train_duration"]["status"] == "failed"
    assert v["decision"] == "refused"
    assert math.isclose(rules["session_pulses"]["value"], 200 * 10, abs_tol=ATOL)
    # 130 % of an RMT of 50 % MSO
    assert math.isclose(rules["stimulator_output"]["value"], 65.0, abs_tol=ATOL)


@pytest.mark.parametrize("bad", [False, True, "90", "nan", [90], {"v": 90}])
@pytest.mark.parametrize(
    "field", ["intensity_pct_rmt", "frequency_hz", "inter_train_interval_s"]
)
def test_dose_check_strict_floats(client: Any, field: str, bad: Any) -> None:
    r = client.post(
        "/api/v1/protocols/check", json={**DOSE, field: bad}, headers=_auth("dr1")
    )
    assert r.status_code == 422, r.text
    assert any(field in map(str, d["loc"]) for d in r.json()["detail"]), r.text


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_dose_check_nan_literal(client: Any, raw: str) -> None:
    """JSON with a bare NaN/Infinity (Python's json accepts it): refused, named."""
    import json

    text = json.dumps({**DOSE, "intensity_pct_rmt": 12345.5}).replace("12345.5", raw)
    assert f'"intensity_pct_rmt": {raw}' in text
    r = client.post(
        "/api/v1/protocols/check",
        content=text,
        headers={**_auth("dr1"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert any("intensity_pct_rmt" in map(str, d["loc"]) for d in r.json()["detail"])


@pytest.mark.parametrize("bad", [False, "200", 200.0, 200.5])
def test_dose_check_strict_ints(client: Any, bad: Any) -> None:
    r = client.post(
        "/api/v1/protocols/check",
        json={**DOSE, "pulses_per_train": bad},
        headers=_auth("dr1"),
    )
    assert r.status_code == 422, r.text
    assert any("pulses_per_train" in map(str, d["loc"]) for d in r.json()["detail"])


def test_dose_check_range_named(client: Any) -> None:
    """Out of the model's range: the dose's own validator names the field."""
    r = client.post(
        "/api/v1/protocols/check",
        json={**DOSE, "frequency_hz": -5.0},
        headers=_auth("dr1"),
    )
    assert r.status_code == 422
    assert "frequency_hz" in r.text
    r = client.post(
        "/api/v1/protocols/check",
        json={**DOSE, "rmt_pct_mso": 150.0},
        headers=_auth("dr1"),
    )
    assert r.status_code == 422
    assert "rmt_pct_mso" in r.text


def test_dose_check_roles(client: Any, db_file: str) -> None:
    before = counts(db_file)
    for user in ("op1", "rater1", "mon1", "admin1"):
        r = client.post("/api/v1/protocols/check", json=DOSE, headers=_auth(user))
        assert r.status_code == 403, user
    assert client.post("/api/v1/protocols/check", json=DOSE).status_code == 401
    assert counts(db_file) == before  # a check stores nothing
