"""The trial API: roles, sites, blinding and strict bodies on every endpoint.

The registry is the demonstration one (trial ``plp-rtms-mirror-2x2`` at S01-S03,
DEMO-101/201/301 enrolled), with the conftest's fake accounts plus the
statisticians and monitors of ``test_trial_pages.py`` (its fixtures are reused).
Bearer tokens: no CSRF token is needed (the API ignores cookies).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.web import test_trial_pages as pages
from tests.web.test_trial_pages import ARM_IDS, ARM_LABELS, TRIAL, _rows

# the trial pages' demonstration registry and extra users, as fixtures here too
_demo = pages._demo
_users = pages._users
db_file = pages.db_file

API = "/api/v1"
T = f"{API}/trials/{TRIAL}"
TODAY = dt.date.today().isoformat()


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{user}"}


def _arms_in(text: str) -> list[str]:
    return [a for a in (*ARM_IDS, *ARM_LABELS) if a in text]


def _screen_eligible(db_file: str, code: str) -> None:
    from plptms.registry import Registry
    from plptms.safety import ScreeningAnswers, load_screening_items
    from plptms.workflow._clinic import record_screening

    with Registry(db_file) as reg:
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        record_screening(
            reg,
            "S01",
            code,
            ScreeningAnswers(answers=answers, screened_on=dt.date.today()),
            actor="dr1",
        )


def _locs(r: Any) -> list[str]:
    """Every field named by a 422: the locations and the quoted names."""
    out: list[str] = []
    for e in r.json()["detail"]:
        out += [str(x) for x in e["loc"]]
        out.append(e["msg"])
    return out


# ----------------------------------------------------------------- list and page
@pytest.mark.parametrize("user", ["dr1", "op1", "rater1", "mon1", "stat1", "dr2"])
def test_list_and_page_by_role(client: Any, user: str) -> None:
    listing = client.get(f"{API}/trials", headers=_auth(user))
    assert listing.status_code == 200
    assert [t["trial_id"] for t in listing.json()] == [TRIAL]
    r = client.get(T, headers=_auth(user))
    assert r.status_code == 200
    page = r.json()
    mine = {e["site"] for e in page["enrolments"]}
    if user == "stat1":
        assert [a["id"] for a in page["arms"]] == list(ARM_IDS)
        assert mine == {"S01", "S02", "S03"}
        assert all(e["arm_id"] in ARM_IDS for e in page["enrolments"])
    else:  # blinded: the number of arms and the kit codes, no arm anywhere
        assert page["arms"] is None
        assert page["trial"]["n_arms"] == len(ARM_IDS)
        assert _arms_in(r.text) == []
        assert mine == ({"S02"} if user == "dr2" else {"S01"})
        assert page["kit_codes"] == [e["kit_code"] for e in page["enrolments"]]
    assert {s["rule_id"] for s in page["rules"]} >= {"any_seizure"}


def test_list_and_page_refusals(client: Any) -> None:
    assert client.get(f"{API}/trials", headers=_auth("admin1")).status_code == 403
    assert client.get(T, headers=_auth("admin1")).status_code == 403
    assert (
        client.get(f"{API}/trials/no-such-trial", headers=_auth("dr1")).status_code
        == 404
    )
    for path in ("/trials", f"/trials/{TRIAL}", f"/trials/{TRIAL}/consort"):
        assert client.get(API + path).status_code == 401


# ----------------------------------------------------------------------- enrolment
def test_physician_enrols_and_sees_the_kit_code_only(client: Any, db_file: str) -> None:
    from plptms.registry import Registry

    _screen_eligible(db_file, "DEMO-102")
    body = {
        "site": "S01",
        "code": "DEMO-102",
        "factors": {"limb": "lower", "pain_band": "nrs_4_6"},
    }
    r = client.post(f"{T}/enrolments", json=body, headers=_auth("dr1"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["arm_id"] is None
    assert _arms_in(r.text) == []
    with Registry(db_file) as reg:
        e = reg.get_enrolment(TRIAL, "S01", "DEMO-102")
    assert (out["kit_code"], out["allocation_index"]) == (
        e.kit_code,
        e.allocation_index,
    )
    assert e.actor == "dr1"
    n = (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log"))
    again = client.post(f"{T}/enrolments", json=body, headers=_auth("dr1"))
    assert again.status_code == 409
    assert (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log")) == n


@pytest.mark.parametrize("user", ["op1", "rater1", "mon1", "stat1", "admin1"])
def test_only_the_physician_may_enrol(client: Any, db_file: str, user: str) -> None:
    n = _rows(db_file, "audit_log")
    body = {"site": "S01", "code": "DEMO-103", "factors": {}}
    assert (
        client.post(f"{T}/enrolments", json=body, headers=_auth(user)).status_code
        == 403
    )
    assert _rows(db_file, "audit_log") == n


def test_enrolment_refusals_name_the_field_and_store_nothing(
    client: Any, db_file: str
) -> None:
    n = (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log"))
    ok = {"limb": "upper", "pain_band": "nrs_7_10"}
    for body, field in (
        ({"site": "S01", "code": "DEMO-103", "factors": ok}, "eligible"),
        ({"site": "S01", "code": "DEMO-103",
          "factors": {**ok, "limb": "arm"}}, "limb"),
        ({"site": "S01", "code": "DEMO-103", "factors": {**ok, "limb": 1}}, "limb"),
        ({"site": "S01", "code": 103, "factors": ok}, "code"),
        ({"site": "S01", "code": "DEMO-103", "factors": ok, "arm": "x"}, "arm"),
    ):  # fmt: skip
        r = client.post(f"{T}/enrolments", json=body, headers=_auth("dr1"))
        assert r.status_code == 422, (body, r.text)
        assert any(field in x for x in _locs(r)), (field, r.text)
    assert (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log")) == n
    # another site's patient and a missing one: the same 404
    answers = {
        client.post(
            f"{T}/enrolments",
            json={"site": site, "code": code, "factors": ok},
            headers=_auth("dr1"),
        ).text
        for site, code in (("S02", "DEMO-202"), ("S02", "NOPE-404"), ("S01", "NOPE"))
    }
    assert answers == {'{"detail":"Not found."}'}
    assert (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log")) == n


# -------------------------------------------------------------------------- visits
def test_calendar_by_site(client: Any) -> None:
    r = client.get(f"{T}/visits", headers=_auth("rater1"))
    assert r.status_code == 200
    (s01,) = r.json()
    assert s01["site"] == "S01"
    assert [p["code"] for p in s01["patients"]] == ["DEMO-101"]
    for key in ("due", "overdue", "missed"):
        assert all(v["site"] == "S01" for v in s01[key])
    assert _arms_in(r.text) == []
    every = client.get(f"{T}/visits", headers=_auth("stat1")).json()
    assert [x["site"] for x in every] == ["S01", "S02", "S03"]
    one = client.get(f"{T}/visits", params={"site": "S02"}, headers=_auth("dr2"))
    assert [x["site"] for x in one.json()] == ["S02"]
    # another site's calendar is a missing trial; the administrator reads none
    assert client.get(f"{T}/visits", params={"site": "S02"},
                      headers=_auth("dr1")).status_code == 404  # fmt: skip
    assert client.get(f"{T}/visits", headers=_auth("admin1")).status_code == 403


def test_record_visit_window_roles_and_strict_types(client: Any, db_file: str) -> None:
    n = (_rows(db_file, "trial_visits"), _rows(db_file, "audit_log"))
    base = {"site": "S01", "code": "DEMO-101", "visit_id": "followup_6m"}
    out_of_window = client.post(
        f"{T}/visits", json={**base, "visit_date": TODAY}, headers=_auth("rater1")
    )
    assert out_of_window.status_code == 422
    assert any("window" in x for x in _locs(out_of_window))
    for bad, field in (
        ({**base, "visit_date": False}, "visit_date"),
        ({**base, "visit_date": "not a date"}, "visit_date"),
        ({**base, "visit_date": TODAY, "visit_id": 6}, "visit_id"),
        ({**base, "visit_date": TODAY, "deviation_reason": 1}, "deviation_reason"),
    ):
        r = client.post(f"{T}/visits", json=bad, headers=_auth("rater1"))
        assert r.status_code == 422, bad
        assert field in _locs(r), (field, r.text)
    body = {**base, "visit_date": TODAY}
    assert (
        client.post(f"{T}/visits", json=body, headers=_auth("mon1")).status_code == 403
    )
    assert (
        client.post(f"{T}/visits", json=body, headers=_auth("dr2")).status_code == 404
    )
    assert (_rows(db_file, "trial_visits"), _rows(db_file, "audit_log")) == n
    # with a deviation reason the out-of-window visit is stored, by the caller
    dev = {**body, "deviation_reason": "Patient travelled; seen early."}
    ok = client.post(f"{T}/visits", json=dev, headers=_auth("rater1"))
    assert ok.status_code == 201, ok.text
    assert ok.json()["out_of_window"] is True
    assert ok.json()["actor"] == "rater1"
    assert _rows(db_file, "trial_visits") == n[0] + 1
    again = client.post(f"{T}/visits", json=dev, headers=_auth("rater1"))
    assert again.status_code in (409, 422)
    assert _rows(db_file, "trial_visits") == n[0] + 1


# ------------------------------------------------------------------ adverse events
def test_adverse_events(client: Any, db_file: str) -> None:
    n = _rows(db_file, "adverse_events")
    ae = {"site": "S01", "code": "DEMO-101", "term": "headache",
          "severity": "mild", "relatedness": "possible"}  # fmt: skip
    for bad, field in (
        ({**ae, "serious": True}, "serious_criterion"),
        ({**ae, "serious": "yes"}, "serious"),
        ({**ae, "severity": "awful"}, "severity"),
        ({**ae, "delivery_session_id": 1.5}, "delivery_session_id"),
    ):
        r = client.post(f"{T}/adverse-events", json=bad, headers=_auth("rater1"))
        assert r.status_code == 422, bad
        assert any(field in x for x in _locs(r)), (field, r.text)
    assert client.post(f"{T}/adverse-events", json=ae,
                       headers=_auth("mon1")).status_code == 403  # fmt: skip
    assert client.post(f"{T}/adverse-events", json=ae,
                       headers=_auth("dr2")).status_code == 404  # fmt: skip
    assert _rows(db_file, "adverse_events") == n
    ok = client.post(f"{T}/adverse-events", json=ae, headers=_auth("rater1"))
    assert ok.status_code == 201, ok.text
    assert ok.json()["serious"] is False
    assert ok.json()["recorded"]["event"]["actor"] == "rater1"
    assert _rows(db_file, "adverse_events") == n + 1
    sae = {**ae, "term": "seizure", "severity": "severe", "relatedness": "probable",
           "serious": True, "serious_criterion": "hospitalisation"}  # fmt: skip
    r = client.post(f"{T}/adverse-events", json=sae, headers=_auth("dr1"))
    assert r.status_code == 201
    assert r.json()["serious"] is True
    assert {x["rule_id"] for x in r.json()["triggered"]} >= {"any_seizure"}
    # the trial summary now carries the alerts, at another site too
    alerts = client.get(T, headers=_auth("dr2")).json()["alerts"]
    assert any("any_seizure" in a for a in alerts)
    page = client.get(T, headers=_auth("dr1")).json()
    assert page["enrolment_paused"] is True
    assert any("Unreviewed serious adverse event" in a for a in page["alerts"])


# ---------------------------------------------------------------------- unblinding
def test_unblinding(client: Any, db_file: str) -> None:
    from plptms.registry import Registry

    reason = "Suspected seizure, treating physician needs the arm"
    body = {"site": "S01", "code": "DEMO-101", "reason": reason}
    n = _rows(db_file, "trial_unblindings")
    for user in ("op1", "rater1", "mon1", "admin1"):
        r = client.post(f"{T}/unblind", json=body, headers=_auth(user))
        assert r.status_code == 403, user
    assert (
        client.post(f"{T}/unblind", json=body, headers=_auth("dr2")).status_code == 404
    )
    for bad in ({**body, "reason": "short"}, {"site": "S01", "code": "DEMO-101"},
                {**body, "reason": 12345678901234567890}):  # fmt: skip
        r = client.post(f"{T}/unblind", json=bad, headers=_auth("dr1"))
        assert r.status_code == 422, bad
        assert "reason" in _locs(r)
    assert _rows(db_file, "trial_unblindings") == n
    r = client.post(f"{T}/unblind", json=body, headers=_auth("dr1"))
    assert r.status_code == 201
    with Registry(db_file) as reg:
        arm = reg.get_enrolment(TRIAL, "S01", "DEMO-101").arm_id
    assert r.json()["arm_id"] == arm
    assert (r.json()["actor"], r.json()["role"]) == ("dr1", "physician")
    assert _rows(db_file, "trial_unblindings") == n + 1
    assert _arms_in(client.get(T, headers=_auth("dr1")).text) == []  # shown once


# ------------------------------------------------------- analysis, CONSORT, export
def test_consort_counts_are_the_registry_allocations(client: Any, db_file: str) -> None:
    from plptms.registry import Registry

    r = client.get(f"{T}/consort", headers=_auth("stat1"))
    assert r.status_code == 200, r.text
    flow = r.json()
    with Registry(db_file) as reg:
        by_arm = Counter(e.arm_id for e in reg.list_enrolments(TRIAL))
        labels = dict(zip(ARM_IDS, ARM_LABELS, strict=True))
    assert flow["randomised"] == sum(by_arm.values()) == 3
    assert {a["label"]: a["allocated"] for a in flow["arms"]} == {
        labels[a]: by_arm.get(a, 0) for a in ARM_IDS
    }
    assert flow["assessed"] == flow["randomised"] + sum(flow["excluded"].values())


@pytest.mark.parametrize(
    ("user", "codes"),
    [
        ("stat1", {"analysis": (409,), "interim": (409,), "consort": (200,),
                   "csv": (200,), "odm": (200,)}),
        ("stat_s01", {"analysis": (403,), "interim": (403,), "consort": (403,),
                      "csv": (403,), "odm": (403,)}),
        ("mon_all", {"analysis": (403,), "interim": (403,), "consort": (403,),
                     "csv": (403,), "odm": (200,)}),
        ("mon1", {"analysis": (403,), "interim": (403,), "consort": (403,),
                  "csv": (403,), "odm": (403,)}),
        ("dr1", {"analysis": (403,), "interim": (403,), "consort": (403,),
                 "csv": (403,), "odm": (403,)}),
    ],
)  # fmt: skip
def test_trial_wide_reads_by_role_and_sites(
    client: Any, user: str, codes: dict[str, tuple[int, ...]]
) -> None:
    h = _auth(user)
    got = {
        "analysis": client.get(f"{T}/analysis", headers=h),
        "interim": client.get(f"{T}/interim", params={"look": 1}, headers=h),
        "consort": client.get(f"{T}/consort", headers=h),
        "csv": client.get(f"{T}/export", params={"format": "csv",
                                                 "table": "patients"}, headers=h),
        "odm": client.get(f"{T}/export", params={"format": "odm"}, headers=h),
    }  # fmt: skip
    for key, r in got.items():
        assert r.status_code in codes[key], (key, r.status_code, r.text[:300])
    if got["odm"].status_code == 200:
        assert got["odm"].headers["content-type"].startswith("application/xml")
        assert b"ODM" in got["odm"].content
        assert _arms_in(got["odm"].text) == []  # blinded export
    if got["csv"].status_code == 200:
        assert got["csv"].headers["content-type"].startswith("text/csv")
        header, *rows = got["csv"].text.strip().splitlines()
        assert "arm" in header.split(",")
        assert len(rows) == 3  # DEMO-101, 201, 301


def test_query_parameters_are_checked(client: Any) -> None:
    h = _auth("stat1")
    for path, params, field in (
        ("export", {"format": "xlsx"}, "format"),
        ("export", {}, "format"),
        ("export", {"format": "csv", "table": "nope"}, "table"),
        ("analysis", {"analysis_set": "all"}, "analysis_set"),
        ("interim", {"look": 0}, "look"),
        ("interim", {"look": "one"}, "look"),
    ):
        r = client.get(f"{T}/{path}", params=params, headers=h)
        assert r.status_code == 422, (path, params)
        assert field in _locs(r), (field, r.text)


def test_analysis_equals_the_hand_built_one(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """24 patients recorded through the workflow (tests/workflow/_trialdata.py);
    the API's analysis equals the analysis of the hand-built inputs."""
    from tests.workflow._trialdata import RTOL, build_trial

    from plptms.registry import Registry
    from plptms.trial import analyse_trial, build_dataset

    url = f"sqlite:///{tmp_path / 'built.sqlite3'}"
    with Registry(url) as reg:
        stored = build_trial(reg, monkeypatch)
    defn = stored["defn"]
    expected = analyse_trial(
        defn, build_dataset(defn, stored["patients"], stored["scores"])
    )
    c = make_client(db_url=url)
    r = c.get(f"{API}/trials/{defn.id}/analysis", headers=_auth("stat1"))
    assert r.status_code == 200, r.text[:500]
    got = r.json()
    assert got["n_by_arm"] == expected.n_by_arm
    want = json.loads(expected.model_dump_json())
    for g, w in zip(got["endpoints"], want["endpoints"], strict=True):
        assert g["endpoint_id"] == w["endpoint_id"]
        for gc, wc in zip(g["contrasts"], w["contrasts"], strict=True):
            for key in ("estimate", "ci_lower", "ci_upper"):
                assert gc[key] == pytest.approx(wc[key], rel=RTOL), key
    consort = c.get(f"{API}/trials/{defn.id}/consort", headers=_auth("stat1")).json()
    # 24 randomised, 3 screened and not enrolled (2 declined, 1 ineligible)
    assert consort["randomised"] == 24
    assert consort["assessed"] == 27
    assert sum(consort["excluded"].values()) == 3
