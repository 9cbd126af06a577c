"""Trial pages: roles, sites, blinding and CSRF on every route, on the demo trial.

The registry is the demonstration one (trial ``plp-rtms-mirror-2x2`` at S01-S03,
DEMO-101/201/301 enrolled; DEMO-x02 and x03 screened not eligible), with the
conftest's fake accounts plus a statistician and a monitor of every site.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import USERS, csrf_of, sign_in

from plptms.access import Role

TRIAL = "plp-rtms-mirror-2x2"
ARM_IDS = ("active_mt", "active_no_mt", "sham_mt", "sham_no_mt")
ALL = frozenset({"S01", "S02", "S03"})
T = f"/trials/{TRIAL}"
P101 = f"{T}/patients/S01/DEMO-101"


@pytest.fixture(autouse=True)
def _users(monkeypatch: pytest.MonkeyPatch, accounts: Any) -> None:
    # the conftest module the fixtures run from (pytest may load it apart from
    # the ``tests.web.conftest`` imported above)
    users = sys.modules[type(accounts).__module__].USERS
    assert set(USERS) <= set(users)
    for name, value in (
        ("stat1", (Role.STATISTICIAN, ALL)),
        ("stat_s01", (Role.STATISTICIAN, frozenset({"S01"}))),
        ("mon_all", (Role.MONITOR, ALL)),
        ("dr3", (Role.PHYSICIAN, frozenset({"S03"}))),
    ):
        monkeypatch.setitem(users, name, value)


@pytest.fixture(scope="module")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed the demonstration registry once for the module."""
    from plptms.cli._serve import prepare_demo

    base = tmp_path_factory.mktemp("trial-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_STATE_DIR", str(base / "state"))
        mp.setenv("PLPTMS_CONFIG_DIR", str(base / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        prepare_demo(base / "demo")
    return base


@pytest.fixture
def db_file(_demo: Path, tmp_path: Path) -> str:
    """A copy of the demo registry; its keys (audit, trial) in this test's config."""
    for src in (_demo / "demo").iterdir():
        shutil.copy(src, tmp_path / src.name)
    shutil.copytree(
        _demo / "config", Path(os.environ["PLPTMS_CONFIG_DIR"]), dirs_exist_ok=True
    )
    if (_demo / "state").exists():
        shutil.copytree(
            _demo / "state", Path(os.environ["PLPTMS_STATE_DIR"]), dirs_exist_ok=True
        )
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


def _as(make_client: Any, user: str) -> Any:
    c = make_client()
    assert sign_in(c, user).status_code == 303
    return c


def _rows(url: str, table: str) -> int:
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        eng.dispose()


#: the arms' labels in the example definition (the title names both conditions)
ARM_LABELS = (
    "Active rTMS + mirror therapy",
    "Active rTMS, no mirror therapy",
    "Sham rTMS + mirror therapy",
    "Sham rTMS, no mirror therapy",
)


def _arms_in(html: str) -> list[str]:
    """The arm ids, and any arm label, found in a page."""
    import html as html_mod

    text = html_mod.unescape(html)
    return [a for a in ARM_IDS if a in text] + [x for x in ARM_LABELS if x in text]


# ------------------------------------------------------------------ list and page
@pytest.mark.parametrize("user", ["dr1", "op1", "rater1", "mon1", "stat1"])
def test_trial_list_and_page_by_role(make_client: Any, user: str) -> None:
    c = _as(make_client, user)
    listing = c.get("/trials")
    assert listing.status_code == 200
    assert TRIAL in listing.text
    page = c.get(T)
    assert page.status_code == 200
    assert "not a certified medical device" in page.text
    assert "DEMO-101" in page.text  # the S01 enrolment
    kit = re.search(r"Kit codes at your sites</dt><dd>([^<]+)</dd>", page.text)
    assert kit
    assert kit.group(1).strip() not in ("", "none yet")
    if user == "stat1":
        assert _arms_in(page.text) == [*ARM_IDS, *ARM_LABELS]
        assert "DEMO-201" in page.text
        assert "DEMO-301" in page.text
    else:  # blinded roles: number of arms and kit codes only, no arm anywhere
        assert _arms_in(page.text) == []
        assert "DEMO-201" not in page.text  # another site's enrolment


def test_administrator_is_refused_and_other_sites_see_nothing(
    make_client: Any,
) -> None:
    admin = _as(make_client, "admin1")
    assert admin.get("/trials").status_code == 403
    assert admin.get(T).status_code == 403
    dr2 = _as(make_client, "dr2")
    assert dr2.get(f"{T}/sites/S01/visits").status_code == 404
    assert dr2.get(P101).status_code == 404
    assert dr2.get("/trials/no-such-trial").status_code == 404


def test_operator_never_sees_an_arm_on_any_trial_page(make_client: Any) -> None:
    c = _as(make_client, "op1")
    for path in (
        "/trials",
        T,
        f"{T}/sites/S01/visits",
        P101,
        f"{P101}/adverse-events/new",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        assert _arms_in(r.text) == [], path
    for path in (
        f"{T}/enrol",
        f"{P101}/unblind",
        f"{T}/analysis",
        f"{T}/consort.svg",
        f"{T}/export/odm.xml",
        f"{T}/export/dataset.csv",
    ):
        assert c.get(path).status_code == 403, path


# ----------------------------------------------------------------------- enrolment
def _enrol(c: Any, patient: str, **factors: str) -> Any:
    form = c.get(f"{T}/enrol")
    data = {"patient": patient, "csrf_token": csrf_of(form.text)}
    data.update({f"factor_{k}": v for k, v in factors.items()})
    return c.post(f"{T}/enrol", data=data)


def test_physician_enrols_and_sees_the_kit_code_only(
    make_client: Any, db_file: str
) -> None:
    from plptms.registry import Registry
    from plptms.safety import ScreeningAnswers, load_screening_items
    from plptms.workflow._clinic import record_screening

    with Registry(db_file) as reg:
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        record_screening(
            reg,
            "S01",
            "DEMO-102",
            ScreeningAnswers(answers=answers, screened_on=dt.date.today()),
            actor="dr1",
        )
    c = _as(make_client, "dr1")
    form = c.get(f"{T}/enrol")
    assert "DEMO-102 (eligible)" in form.text
    assert "DEMO-103 (needs physician review)" in form.text
    assert "DEMO-101 (eligible, enrolled)" in form.text
    r = _enrol(c, "S01/DEMO-102", limb="lower", pain_band="nrs_4_6")
    assert r.status_code == 200, r.text
    kit = re.search(r'class="kit">([^<]+)<', r.text)
    assert kit, r.text
    assert _arms_in(r.text) == []
    with Registry(db_file) as reg:
        e = reg.get_enrolment(TRIAL, "S01", "DEMO-102")
        assert e.kit_code == kit.group(1)
        assert e.actor == "dr1"
    # enrolled twice: refused plainly, nothing stored
    n = _rows(db_file, "trial_enrolments")
    again = _enrol(c, "S01/DEMO-102", limb="lower", pain_band="nrs_4_6")
    assert again.status_code == 422
    assert "Enrolment refused" in again.text
    assert _rows(db_file, "trial_enrolments") == n


def test_enrolment_refusals_are_shown_and_store_nothing(
    make_client: Any, db_file: str
) -> None:
    c = _as(make_client, "dr1")
    n = (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log"))
    ineligible = _enrol(c, "S01/DEMO-103", limb="upper", pain_band="nrs_7_10")
    assert ineligible.status_code == 422
    assert "eligible" in ineligible.text
    assert "&#39;code&#39;" in ineligible.text
    bad_level = _enrol(c, "S01/DEMO-103", limb="arm", pain_band="nrs_7_10")
    assert bad_level.status_code == 422
    assert "factors[&#39;limb&#39;]" in bad_level.text
    assert (_rows(db_file, "trial_enrolments"), _rows(db_file, "audit_log")) == n
    # another site's patient: 404, as a patient that does not exist
    other = _enrol(c, "S02/DEMO-202", limb="upper", pain_band="nrs_7_10")
    missing = _enrol(c, "S02/NOPE-404", limb="upper", pain_band="nrs_7_10")
    assert other.status_code == 404
    assert missing.status_code == 404
    assert other.text.replace("DEMO-202", "X") == missing.text.replace("NOPE-404", "X")


def test_enrolment_paused_by_a_stopping_rule(make_client: Any, db_file: str) -> None:
    c = _as(make_client, "dr1")
    ae = c.get(f"{P101}/adverse-events/new")
    r = c.post(
        f"{P101}/adverse-events",
        data={
            "term": "seizure",
            "severity": "severe",
            "relatedness": "probable",
            "serious": "yes",
            "serious_criterion": "hospitalisation",
            "onset_on": dt.date.today().isoformat(),
            "csrf_token": csrf_of(ae.text),
        },
    )
    assert r.status_code == 200, r.text
    assert "SERIOUS ADVERSE EVENT" in r.text
    assert "any_seizure" in r.text
    assert "related_sae" in r.text
    page = c.get(T)
    assert 'role="alert"' in page.text
    assert "Unreviewed serious adverse event" in page.text
    assert "paused" in page.text
    n = _rows(db_file, "trial_enrolments")
    refused = _enrol(c, "S01/DEMO-103", limb="upper", pain_band="nrs_7_10")
    assert refused.status_code == 422
    assert "paused" in refused.text
    assert "any_seizure" in refused.text
    assert _rows(db_file, "trial_enrolments") == n
    # the alert reaches another site's trial page too (rules count every site)
    assert "Stopping rule" in _as(make_client, "dr3").get(T).text


@pytest.mark.parametrize("user", ["rater1", "op1", "mon1", "stat1"])
def test_only_the_physician_may_enrol(make_client: Any, user: str) -> None:
    c = _as(make_client, user)
    assert c.get(f"{T}/enrol").status_code == 403
    token = csrf_of(c.get("/trials").text)
    r = c.post(f"{T}/enrol", data={"patient": "S01/DEMO-103", "csrf_token": token})
    assert r.status_code == 403


# ------------------------------------------------------------------------- visits
def test_visit_calendar_and_window_refusal(make_client: Any, db_file: str) -> None:
    c = _as(make_client, "rater1")
    lists = c.get(f"{T}/sites/S01/visits")
    assert lists.status_code == 200
    for h in ("Due (", "Overdue (", "Missed ("):
        assert h in lists.text
    page = c.get(P101)
    assert "Visit calendar" in page.text
    assert "Record a visit" in page.text
    n = (_rows(db_file, "trial_visits"), _rows(db_file, "audit_log"))
    today = dt.date.today().isoformat()
    r = c.post(
        f"{P101}/visits",
        data={
            "visit_id": "followup_6m",
            "visit_date": today,
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 422
    assert "Visit refused" in r.text
    assert "its window" in r.text
    assert (_rows(db_file, "trial_visits"), _rows(db_file, "audit_log")) == n
    ok = c.post(
        f"{P101}/visits",
        data={
            "visit_id": "baseline",
            "visit_date": today,
            "csrf_token": csrf_of(page.text),
        },
    )
    # baseline window ends at randomisation: today is after it for the demo
    assert ok.status_code in (303, 422)
    dated = c.post(
        f"{P101}/visits",
        data={
            "visit_id": "followup_6m",
            "visit_date": "not a date",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert dated.status_code == 422
    assert "visit_date" in dated.text


def test_visit_writes_by_role_and_site(make_client: Any) -> None:
    mon = _as(make_client, "mon1")
    page = mon.get(P101)
    assert page.status_code == 200
    assert "Record a visit" not in page.text
    r = mon.post(
        f"{P101}/visits",
        data={"visit_id": "baseline", "visit_date": "2020-01-01",
              "csrf_token": csrf_of(page.text)},
    )  # fmt: skip
    assert r.status_code == 403
    dr2 = _as(make_client, "dr2")
    token = csrf_of(dr2.get("/trials").text)
    r = dr2.post(
        f"{P101}/visits",
        data={"visit_id": "baseline", "visit_date": "2020-01-01", "csrf_token": token},
    )
    assert r.status_code == 404  # not their site: as a missing patient


# ------------------------------------------------------------------ adverse events
def test_adverse_event_roles_and_refusal(make_client: Any, db_file: str) -> None:
    mon = _as(make_client, "mon1")
    assert mon.get(f"{P101}/adverse-events/new").status_code == 403
    rater = _as(make_client, "rater1")
    form = rater.get(f"{P101}/adverse-events/new")
    assert form.status_code == 200
    n = _rows(db_file, "adverse_events")
    bad = rater.post(
        f"{P101}/adverse-events",
        data={"term": "headache", "severity": "mild", "relatedness": "possible",
              "serious": "yes", "csrf_token": csrf_of(form.text)},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "serious_criterion" in bad.text
    assert _rows(db_file, "adverse_events") == n
    ok = rater.post(
        f"{P101}/adverse-events",
        data={"term": "headache", "severity": "mild", "relatedness": "possible",
              "csrf_token": csrf_of(form.text)},
    )  # fmt: skip
    assert ok.status_code == 200
    assert "recorded" in ok.text
    assert "SERIOUS" not in ok.text
    assert _rows(db_file, "adverse_events") == n + 1
    assert _as(make_client, "dr2").get(f"{P101}/adverse-events/new").status_code == 404


# ---------------------------------------------------------------------- unblinding
def test_emergency_unblinding(make_client: Any, db_file: str) -> None:
    from plptms.registry import Registry

    for user in ("op1", "rater1", "mon1"):
        c = _as(make_client, user)
        assert c.get(f"{P101}/unblind").status_code == 403, user
        token = csrf_of(c.get("/trials").text)
        r = c.post(f"{P101}/unblind", data={"reason": "x" * 20, "csrf_token": token})
        assert r.status_code == 403, user
    dr = _as(make_client, "dr1")
    form = dr.get(f"{P101}/unblind")
    assert form.status_code == 200
    assert _arms_in(form.text) == []
    n = _rows(db_file, "trial_unblindings")
    short = dr.post(
        f"{P101}/unblind",
        data={"reason": "too short", "csrf_token": csrf_of(form.text)},
    )
    assert short.status_code == 422
    assert "&#39;reason&#39;" in short.text
    assert _rows(db_file, "trial_unblindings") == n
    reason = "Suspected seizure, treating physician needs the arm"
    r = dr.post(
        f"{P101}/unblind", data={"reason": reason, "csrf_token": csrf_of(form.text)}
    )
    assert r.status_code == 200
    with Registry(db_file) as reg:
        arm = reg.get_enrolment(TRIAL, "S01", "DEMO-101").arm_id
        (u,) = reg.list_unblindings(TRIAL)
    assert _arms_in(r.text) == [arm]
    assert (u.actor, u.role, u.reason) == ("dr1", "physician", reason)
    # shown once: the trial page stays blinded for the physician
    assert _arms_in(dr.get(T).text) == []


# ------------------------------------------------------------- analysis, exports
def test_statistician_analysis_consort_and_exports(make_client: Any) -> None:
    c = _as(make_client, "stat1")
    page = c.get(f"{T}/analysis")
    assert page.status_code == 200
    assert "Interim look 1" in page.text
    assert "CONSORT" in page.text
    svg = c.get(f"{T}/consort.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = c.get(f"{T}/consort.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    odm = c.get(f"{T}/export/odm.xml")
    assert odm.status_code == 200
    assert b"ODM" in odm.content
    assert "attachment" in odm.headers["content-disposition"]
    csv = c.get(f"{T}/export/dataset.csv?table=patients")
    assert csv.status_code == 200
    header, *rows = csv.text.strip().splitlines()
    assert "arm" in header.split(",")
    assert len(rows) == 3  # DEMO-101, 201, 301
    assert c.get(f"{T}/export/dataset.csv?table=nope").status_code == 422
    assert c.get(f"{T}/export/dataset.xlsx").status_code == 404


def test_trial_wide_actions_need_every_trial_site(make_client: Any) -> None:
    s01 = _as(make_client, "stat_s01")
    assert s01.get(T).status_code == 200
    for path in (f"{T}/analysis", f"{T}/consort.svg", f"{T}/export/dataset.csv"):
        assert s01.get(path).status_code == 403, path
    mon = _as(make_client, "mon1")  # S01 only
    assert mon.get(f"{T}/export/odm.xml").status_code == 403
    mon_all = _as(make_client, "mon_all")
    odm = mon_all.get(f"{T}/export/odm.xml")
    assert odm.status_code == 200
    assert _arms_in(odm.text) == []  # blinded export
    assert mon_all.get(f"{T}/export/dataset.csv").status_code == 403
    assert mon_all.get(f"{T}/analysis").status_code == 403
    assert _arms_in(mon_all.get(T).text) == []


# ---------------------------------------------------------------------------- CSRF
@pytest.mark.parametrize(
    ("user", "path", "data"),
    [
        ("dr1", f"{T}/enrol", {"patient": "S01/DEMO-103"}),
        ("rater1", f"{P101}/visits",
         {"visit_id": "baseline", "visit_date": "2020-01-01"}),
        ("rater1", f"{P101}/adverse-events",
         {"term": "headache", "severity": "mild", "relatedness": "possible"}),
        ("dr1", f"{P101}/unblind", {"reason": "a long enough reason"}),
    ],
)  # fmt: skip
def test_every_post_needs_the_csrf_token(
    make_client: Any, db_file: str, user: str, path: str, data: dict[str, str]
) -> None:
    c = _as(make_client, user)
    before = _rows(db_file, "audit_log")
    for token in (None, "0" * 64):
        body = dict(data) if token is None else {**data, "csrf_token": token}
        r = c.post(path, data=body)
        assert r.status_code == 403
        assert "Request refused" in r.text
    assert _rows(db_file, "audit_log") == before


def test_every_trial_route_needs_a_session(client: Any) -> None:
    from tests.web.conftest import route_table

    paths = [(m, p) for m, p in route_table(client.app) if p.startswith("/trials")]
    assert len(paths) >= 12
    for method, path in paths:
        url = (
            path.replace("{trial_id}", TRIAL)
            .replace("{site}", "S01")
            .replace("{code}", "DEMO-101")
            .replace("{ext}", "svg")
            .replace("{fmt}", "csv")
        )
        r = client.request(method, url)
        if method == "GET":
            assert r.status_code == 303, url
            assert r.headers["location"] == "/sign-in", url
        else:  # no session: sent to sign in, or refused by the CSRF check
            assert r.status_code in (303, 403), url


def _trial_urls(app: Any, method: str = "GET") -> list[str]:
    from tests.web.conftest import route_table

    return [
        path.replace("{trial_id}", TRIAL)
        .replace("{site}", "S01")
        .replace("{code}", "DEMO-101")
        .replace("{ext}", "svg")
        .replace("{fmt}", "csv")
        for m, path in route_table(app)
        if m == method and path.startswith("/trials")
    ]


@pytest.mark.parametrize("user", ["dr1", "stat1"])
def test_every_trial_page_has_the_banner_and_accessible_markup(
    make_client: Any, user: str
) -> None:
    from tests.web.test_routes import _check_page

    c = _as(make_client, user)
    seen = 0
    for url in _trial_urls(c.app):
        r = c.get(url)
        assert r.status_code in (200, 403), url
        if r.headers["content-type"].startswith("text/html"):
            _check_page(r.text, url)
            seen += 1
    assert seen >= 6


def test_another_sites_user_gets_404_or_403_on_every_patient_route(
    make_client: Any, db_file: str
) -> None:
    """A Leeds physician asking about Berlin's DEMO-101: refused, nothing stored."""
    c = _as(make_client, "dr2")
    token = csrf_of(c.get("/trials").text)
    before = _rows(db_file, "audit_log")
    for method in ("GET", "POST"):
        for url in _trial_urls(c.app, method):
            if "/S01/" not in url and "/sites/S01/" not in url:
                continue
            if method == "GET":
                r = c.get(url)
            else:
                r = c.post(url, data={"csrf_token": token, "reason": "x" * 20})
            assert r.status_code == 404, (method, url)
            assert "DEMO-101" not in r.text or r.status_code == 404, url
            for arm in ARM_IDS:
                assert arm not in r.text
    assert _rows(db_file, "audit_log") == before


def test_analysis_table_shows_the_primary_contrast(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page renders the analysis it is given: 24 recorded patients
    (tests/workflow/_trialdata.py), analysed from the hand-built inputs."""
    from tests.workflow._trialdata import build_trial

    from plptms.registry import Registry
    from plptms.trial import analyse_trial, build_dataset

    with Registry(f"sqlite:///{tmp_path / 'other.sqlite3'}") as reg:
        stored = build_trial(reg, monkeypatch)
    defn = stored["defn"]
    analysis = analyse_trial(
        defn, build_dataset(defn, stored["patients"], stored["scores"])
    )
    monkeypatch.setattr(
        "plptms.web._pages_trial.trial_analysis_for",
        lambda reg, user, trial_id, analysis_set: analysis,
    )
    c = _as(make_client, "stat1")
    page = c.get(f"{T}/analysis")
    assert page.status_code == 200
    primary = analysis.endpoints[0].contrasts[0]
    assert f"{primary.estimate:.2f}" in page.text
    assert f"{primary.ci_lower:.2f} to {primary.ci_upper:.2f}" in page.text
    for arm, n in analysis.n_by_arm.items():
        assert f"{arm} {n}" in page.text
