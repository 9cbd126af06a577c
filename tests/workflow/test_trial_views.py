"""The guarded trial views (workflow._views_trial) on the demonstration registry.

Oracles: the example trial's YAML read on its own (arms, rules), the registry's
own rows (enrolments, audit actors, counts before and after a refusal) and the
permission table as printed in docs/access.md.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import AdverseEventIn, RecordNotFoundError, Registry
from plptms.workflow._trial_followup import FollowUpRefusedError, TrialVisitInput
from plptms.workflow._trials import EnrolmentRefusedError, UnblindingRefusedError
from plptms.workflow._views import PatientNotFoundError
from plptms.workflow._views_trial import (
    TrialNotFoundError,
    engine_role,
    enrol_form,
    list_trials_for,
    trial_page,
    trial_patient_page,
    trial_visit_lists_for,
)
from plptms.workflow._views_trial_actions import (
    enrol_for,
    record_trial_ae_for,
    record_trial_visit_for,
    unblind_for,
)
from plptms.workflow._views_trial_data import (
    odm_for,
    trial_analysis_for,
    trial_dataset_for,
)

TRIAL = "plp-rtms-mirror-2x2"
ALL = frozenset({"S01", "S02", "S03"})
EXAMPLE = yaml.safe_load(
    (resources.files("plptms.trial") / "data" / "example_trial.yaml").read_text(
        encoding="utf-8"
    )
)
ARM_IDS = [a["id"] for a in EXAMPLE["arms"]]


def _p(name: str, role: Role, sites: frozenset[str] = frozenset({"S01"})) -> Principal:
    return Principal(username=name, role=role, sites=sites)


DR = _p("dr.b", Role.PHYSICIAN)
OP = _p("op.b", Role.OPERATOR)
RATER = _p("rater.b", Role.RATER)
MON = _p("mon.b", Role.MONITOR)
MON_ALL = _p("mon.all", Role.MONITOR, ALL)
STAT = _p("stat.all", Role.STATISTICIAN, ALL)
STAT_S01 = _p("stat.b", Role.STATISTICIAN)
ADMIN = _p("admin", Role.ADMINISTRATOR, ALL)
FAR = _p("dr.far", Role.PHYSICIAN, frozenset({"S09"}))


@pytest.fixture(scope="module")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from plptms.cli._serve import prepare_demo

    base = tmp_path_factory.mktemp("trial-views")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_STATE_DIR", str(base / "state"))
        mp.setenv("PLPTMS_CONFIG_DIR", str(base / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        prepare_demo(base / "demo")
    return base


@pytest.fixture
def reg(_demo: Path, tmp_path: Path) -> Iterator[Registry]:
    """A copy of the demo registry, its keys in this test's configuration."""
    for src in (_demo / "demo").iterdir():
        shutil.copy(src, tmp_path / src.name)
    shutil.copytree(
        _demo / "config", Path(os.environ["PLPTMS_CONFIG_DIR"]), dirs_exist_ok=True
    )
    with Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}") as r:
        yield r


def _count(reg: Registry, table: str) -> int:
    import sqlalchemy as sa

    with reg.engine.connect() as c:
        return int(c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _last_actor(reg: Registry, table: str) -> str:
    import sqlalchemy as sa

    with reg.engine.connect() as c:
        return str(
            c.execute(
                sa.text(
                    "SELECT actor FROM audit_log WHERE table_name = :t "
                    "ORDER BY seq DESC LIMIT 1"
                ),
                {"t": table},
            ).scalar_one()
        )


def test_engine_roles_match_the_permission_table() -> None:
    from plptms.access import Permission
    from plptms.workflow._trial_data import ANALYSIS_ROLES
    from plptms.workflow._trials import ARM_VIEW_ROLES, UNBLIND_ROLES

    for role in Role:
        p = _p("u", role)
        assert engine_role(p) == role.value
        # the engine's tuples and the permission table agree role by role
        assert (engine_role(p) in ARM_VIEW_ROLES) == p.may(Permission.TRIAL_ARM_READ)
        assert (engine_role(p) in UNBLIND_ROLES) == p.may(Permission.TRIAL_UNBLIND)
        assert (engine_role(p) in ANALYSIS_ROLES) == p.may(Permission.TRIAL_ANALYSE)


def test_list_and_page_by_role_and_site(reg: Registry) -> None:
    with pytest.raises(AccessDeniedError, match=r"trial\.read"):
        list_trials_for(reg, ADMIN)
    assert [t.trial_id for t in list_trials_for(reg, DR)] == [TRIAL]
    assert list_trials_for(reg, FAR) == []
    # a trial at none of the user's sites is reported as a missing one
    with pytest.raises(TrialNotFoundError, match="trial_id") as foreign:
        trial_page(reg, FAR, TRIAL)
    with pytest.raises(TrialNotFoundError, match="trial_id") as missing:
        trial_page(reg, FAR, "no-such-trial")
    assert str(foreign.value).replace(TRIAL, "X") == str(missing.value).replace(
        "no-such-trial", "X"
    )
    stored = reg.list_enrolments(TRIAL)
    for user in (DR, OP, RATER, MON):
        page = trial_page(reg, user, TRIAL)
        assert page.arms is None
        assert page.trial.n_arms == len(EXAMPLE["arms"]) == 4
        assert [(e.site, e.code) for e in page.enrolments] == [
            (e.site, e.code) for e in stored if e.site == "S01"
        ]
        assert all(e.arm_id is None for e in page.enrolments)
        assert page.kit_codes == tuple(e.kit_code for e in stored if e.site == "S01")
    page = trial_page(reg, STAT, TRIAL)
    assert page.arms is not None
    assert [a.id for a in page.arms] == ARM_IDS
    assert [e.arm_id for e in page.enrolments] == [e.arm_id for e in stored]
    assert [r.rule_id for r in page.rules] == [
        r["id"] for r in EXAMPLE["stopping_rules"]
    ]
    assert page.alerts == ()
    assert not page.enrolment_paused


def test_enrol_form_offers_the_users_patients_with_their_screening(
    reg: Registry,
) -> None:
    with pytest.raises(AccessDeniedError, match=r"trial\.enrol"):
        enrol_form(reg, RATER, TRIAL)
    form = enrol_form(reg, DR, TRIAL)
    assert [(c.site, c.code) for c in form.candidates] == [
        ("S01", "DEMO-101"),
        ("S01", "DEMO-102"),
        ("S01", "DEMO-103"),
        ("S01", "DEMO-104"),  # the two Berlin patients with a finished course
        ("S01", "DEMO-105"),
    ]
    assert [c.enrolled for c in form.candidates] == [True, False, False, False, False]
    assert form.candidates[0].screening == "eligible"
    assert [f.id for f in form.factors] == ["limb", "pain_band"]  # site filled in


def test_enrol_for_checks_then_stores_with_the_user_as_actor(reg: Registry) -> None:
    from plptms.registry import DuplicateRecordError
    from plptms.safety import ScreeningAnswers, load_screening_items
    from plptms.workflow._clinic import record_screening

    factors = {"limb": "upper", "pain_band": "nrs_7_10"}
    before = (_count(reg, "trial_enrolments"), _count(reg, "audit_log"))
    with pytest.raises(AccessDeniedError, match=r"trial\.enrol"):
        enrol_for(reg, STAT, TRIAL, "S01", "DEMO-102", factors)
    with pytest.raises(PatientNotFoundError, match="code") as foreign:
        enrol_for(reg, DR, TRIAL, "S02", "DEMO-202", factors)
    assert "DEMO-202" in str(foreign.value)  # as a missing one: no hint
    with pytest.raises(PatientNotFoundError, match="code"):
        enrol_for(reg, DR, TRIAL, "S01", "NOPE", factors)
    with pytest.raises(EnrolmentRefusedError, match="code"):
        enrol_for(reg, DR, TRIAL, "S01", "DEMO-102", factors)  # not eligible
    with pytest.raises(DuplicateRecordError):
        enrol_for(reg, DR, TRIAL, "S01", "DEMO-101", factors)
    assert (_count(reg, "trial_enrolments"), _count(reg, "audit_log")) == before
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    record_screening(
        reg, "S01", "DEMO-102",
        ScreeningAnswers(answers=answers, screened_on=dt.date.today()), actor="dr.b",
    )  # fmt: skip
    e = enrol_for(reg, DR, TRIAL, "S01", "DEMO-102", factors)
    assert not hasattr(e, "arm_id")
    assert reg.get_enrolment(TRIAL, "S01", "DEMO-102").kit_code == e.kit_code
    assert _last_actor(reg, "trial_enrolments") == "dr.b"
    assert e.allocation_index == 3  # after the demo's three


def test_visits_calendar_and_window(reg: Registry) -> None:
    with pytest.raises(TrialNotFoundError, match="trial_id"):
        trial_visit_lists_for(reg, DR, TRIAL, "S02")
    with pytest.raises(AccessDeniedError, match=r"trial\.read"):
        trial_visit_lists_for(reg, ADMIN, TRIAL, "S01")
    lists = trial_visit_lists_for(reg, RATER, TRIAL, "S01")
    assert [p.code for p in lists.patients] == ["DEMO-101"]
    page = trial_patient_page(reg, RATER, TRIAL, "S01", "DEMO-101")
    assert page.arm_id is None
    assert page.visit_ids[0] == "baseline"
    assert trial_patient_page(reg, STAT, TRIAL, "S01", "DEMO-101").arm_id == (
        reg.get_enrolment(TRIAL, "S01", "DEMO-101").arm_id
    )
    with pytest.raises(PatientNotFoundError, match="not enrolled"):
        trial_patient_page(reg, RATER, TRIAL, "S01", "DEMO-102")
    today = page.visits.randomised_on  # the demo enrols today (site date)
    n = (_count(reg, "trial_visits"), _count(reg, "audit_log"))
    late = TrialVisitInput(trial_id=TRIAL, site="S01", code="DEMO-101",
                           visit_id="followup_6m", visit_date=today)  # fmt: skip
    with pytest.raises(FollowUpRefusedError, match="visit_date"):
        record_trial_visit_for(reg, RATER, late)
    with pytest.raises(AccessDeniedError, match=r"trial\.visit\.write"):
        record_trial_visit_for(reg, MON, late)
    assert (_count(reg, "trial_visits"), _count(reg, "audit_log")) == n
    base = TrialVisitInput(trial_id=TRIAL, site="S01", code="DEMO-101",
                           visit_id="baseline", visit_date=today)  # fmt: skip
    out = record_trial_visit_for(reg, RATER, base)
    assert out.days_outside == 0
    assert _last_actor(reg, "trial_visits") == "rater.b"


def test_trial_adverse_event_meets_both_rules_and_pauses(reg: Registry) -> None:
    sae = AdverseEventIn(
        term="seizure", severity="severe", serious=True,
        serious_criterion="hospitalisation", relatedness="probable",
        onset_on=dt.date.today(),
    )  # fmt: skip
    with pytest.raises(AccessDeniedError, match=r"ae\.write"):
        record_trial_ae_for(reg, MON, TRIAL, "S01", "DEMO-101", sae)
    n = _count(reg, "adverse_events")
    with pytest.raises(RecordNotFoundError, match="not enrolled"):
        record_trial_ae_for(reg, DR, TRIAL, "S01", "DEMO-102", sae)
    with pytest.raises(PatientNotFoundError):
        record_trial_ae_for(reg, OP, TRIAL, "S02", "DEMO-201", sae)
    assert _count(reg, "adverse_events") == n
    r = record_trial_ae_for(reg, OP, TRIAL, "S01", "DEMO-101", sae)
    # by hand from the YAML: a seizure (any_seizure) and a serious, probably
    # related event (related_sae) each meet a rule of count 1
    assert r.serious
    assert {x.rule_id for x in r.triggered} == {"any_seizure", "related_sae"}
    assert r.recorded.event.id in r.triggered[0].counted
    assert _last_actor(reg, "adverse_events") == "op.b"
    page = trial_page(reg, DR, TRIAL)
    assert page.enrolment_paused
    assert any("Unreviewed serious adverse event" in a for a in page.alerts)
    # the rules count every site: a Leeds user's page is paused too
    assert trial_page(
        reg, _p("dr.l", Role.PHYSICIAN, frozenset({"S02"})), TRIAL
    ).enrolment_paused


def test_unblinding(reg: Registry) -> None:
    n = (_count(reg, "trial_unblindings"), _count(reg, "audit_log"))
    for user in (OP, RATER, MON):
        with pytest.raises(AccessDeniedError, match=r"trial\.unblind"):
            unblind_for(reg, user, TRIAL, "S01", "DEMO-101", "x" * 30)
    with pytest.raises(UnblindingRefusedError, match="reason"):
        unblind_for(reg, DR, TRIAL, "S01", "DEMO-101", "short")
    with pytest.raises(PatientNotFoundError):
        unblind_for(reg, DR, TRIAL, "S01", "NOPE", "x" * 30)
    assert (_count(reg, "trial_unblindings"), _count(reg, "audit_log")) == n
    r = unblind_for(reg, DR, TRIAL, "S01", "DEMO-101", "Emergency: suspected seizure")
    assert r.arm_id == reg.get_enrolment(TRIAL, "S01", "DEMO-101").arm_id
    assert (r.actor, r.role) == ("dr.b", "physician")


def test_trial_wide_actions_need_every_site(reg: Registry) -> None:
    for call in (
        lambda u: trial_analysis_for(reg, u, TRIAL),
        lambda u: trial_dataset_for(reg, u, TRIAL, fmt="csv"),
        lambda u: odm_for(reg, u, TRIAL),
    ):
        with pytest.raises(AccessDeniedError, match="S02, S03"):
            call(STAT_S01)
    with pytest.raises(AccessDeniedError, match="S02, S03"):
        odm_for(reg, MON, TRIAL)
    with pytest.raises(AccessDeniedError, match=r"trial\.analyse"):
        trial_dataset_for(reg, MON_ALL, TRIAL, fmt="csv")
    xml = odm_for(reg, MON_ALL, TRIAL).decode()
    assert f'StudyOID="ST.{TRIAL}"' in xml  # no visit data yet in the demo
    assert not [a for a in ARM_IDS if a in xml]  # blinded
    csv = trial_dataset_for(reg, STAT, TRIAL, fmt="csv", table="patients").decode()
    header, *rows = csv.strip().splitlines()
    assert "arm" in header.split(",")
    assert len(rows) == len(reg.list_enrolments(TRIAL)) == 3
    with pytest.raises(ValueError, match="fmt"):
        trial_dataset_for(reg, STAT, TRIAL, fmt="xlsx")


# --------------------------------------- a recorded trial, SQLite and PostgreSQL
@pytest.fixture
def recorded(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """24 patients at S01-S03 with scores (tests/workflow/_trialdata.py)."""
    from tests.workflow._trialdata import build_trial

    with Registry(db_url) as reg:
        yield build_trial(reg, monkeypatch)


def test_analysis_for_equals_the_hand_built_analysis(recorded: dict[str, Any]) -> None:
    from plptms.trial import analyse_trial, build_dataset
    from tests.workflow._trialdata import RTOL

    reg, defn = recorded["reg"], recorded["defn"]
    mine = analyse_trial(
        defn, build_dataset(defn, recorded["patients"], recorded["scores"])
    )
    got = trial_analysis_for(reg, STAT, defn.id)
    assert got.n_by_arm == mine.n_by_arm
    (a,), (b,) = got.endpoints[:1], mine.endpoints[:1]
    assert a.status == b.status == "estimated"
    assert math.isclose(a.contrasts[0].estimate, b.contrasts[0].estimate, rel_tol=RTOL)
    with pytest.raises(AccessDeniedError, match="S02, S03"):
        trial_analysis_for(reg, STAT_S01, defn.id)


def test_allocation_and_rules_see_every_site_through_scoped_views(
    recorded: dict[str, Any],
) -> None:
    """On PostgreSQL the scoped view hides S02/S03 rows: the allocation and the
    stopping rules must still count them (they run on the full registry)."""
    from tests.workflow._trialdef import screen

    reg, defn = recorded["reg"], recorded["defn"]
    reg.add_patient("S01", "NEW1", history=None, actor="dr.b")
    screen(reg, "S01", "NEW1")
    factors = {"limb": "upper", "pain_band": "nrs_4_6"}
    e = enrol_for(reg, DR, defn.id, "S01", "NEW1", factors)
    assert e.allocation_index == len(recorded["patients"])  # after all 24
    page = trial_page(reg, DR, defn.id)
    assert {x.site for x in page.enrolments} == {"S01"}
    assert not page.enrolment_paused
    # the S01 user's calendar, visit, unblinding on the same registry
    s01 = {p_code(p.patient) for p in recorded["patients"] if p.site == "S01"}
    lists = trial_visit_lists_for(reg, DR, defn.id, "S01")
    assert {p.code for p in lists.patients} == s01 | {"NEW1"}
    assert trial_patient_page(reg, DR, defn.id, "S01", "NEW1").visits.code == "NEW1"
    day = trial_patient_page(reg, DR, defn.id, "S01", "NEW1").visits.randomised_on
    visit = TrialVisitInput(trial_id=defn.id, site="S01", code="NEW1",
                            visit_id="baseline", visit_date=day)  # fmt: skip
    assert record_trial_visit_for(reg, DR, visit).days_outside == 0
    u = unblind_for(reg, DR, defn.id, "S01", "NEW1", "Emergency: suspected seizure")
    assert u.arm_id == reg.get_enrolment(defn.id, "S01", "NEW1").arm_id
    # a seizure at S02, recorded by an S02 user, pauses the S01 user's trial
    s02 = next(p for p in recorded["patients"] if p.site == "S02")
    code = p_code(s02.patient)
    seizure = AdverseEventIn(
        term="seizure", severity="moderate", relatedness="possible",
        onset_on=dt.date.today(),
    )  # fmt: skip
    dr_l = _p("dr.l", Role.PHYSICIAN, frozenset({"S02"}))
    r = record_trial_ae_for(reg, dr_l, defn.id, "S02", code, seizure)
    assert [x.rule_id for x in r.triggered] == ["any_seizure"]
    page = trial_page(reg, DR, defn.id)
    assert page.enrolment_paused
    assert [x.rule_id for x in page.rules if x.met] == ["any_seizure"]
    assert not any("Unreviewed serious" in a for a in page.alerts)  # not serious


def p_code(patient_key: str) -> str:
    """The code of an analysis patient key ``SITE/CODE``."""
    return patient_key.split("/", 1)[1]
