"""Rank and plan for one patient; size a trial from the pooled evidence."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from plptms.meta import collect_effects
from plptms.planner import (
    PatientContext,
    make_plan,
    plan_for_patient,
    rank_protocols,
    sample_size,
    trial_design,
)
from plptms.protocol import Amputation, load_library

RTOL = 1e-9
START = dt.date(2026, 3, 2)  # a Monday
AMP = Amputation(side="left", limb="upper", level="transradial")


def _patient(**kw: object) -> PatientContext:
    base: dict[str, object] = {"amputation": AMP, "screening": "eligible"}
    base.update(kw)
    return PatientContext.model_validate(base)


def test_first_of_ranking_is_planned_as_make_plan_would() -> None:
    p = _patient(rmt_pct_mso=50.0, patient_id="S1/P1")
    res = plan_for_patient(p, start_date=START)
    ranks = rank_protocols(p)
    assert [r.protocol_id for r in res.rankings] == [r.protocol_id for r in ranks]
    assert res.protocol_id == ranks[0].protocol_id
    assert not res.requested
    assert res.plan is not None
    expected = make_plan(
        load_library().protocol(ranks[0].protocol_id), p, start_date=START
    )
    assert res.plan == expected
    assert res.verdict == expected.verdict
    assert res.problem is None
    assert res.chosen is not None
    assert res.chosen.rank == 1


def test_requested_protocol_refused_gives_no_plan() -> None:
    # 120 % RMT x 92 % MSO = 110.4 % MSO: the stimulator cannot give it
    res = plan_for_patient(
        _patient(rmt_pct_mso=92.0),
        start_date=START,
        protocol_id="grammer2015-s1-dlpfc",
    )
    assert res.requested
    assert res.plan is None
    assert res.refused
    assert res.verdict is not None
    assert res.verdict.decision.value == "refused"
    assert res.problem is not None
    assert "refused" in res.problem
    assert "100 % MSO" in res.problem


def test_excluded_patient_gets_nothing() -> None:
    res = plan_for_patient(_patient(screening="excluded"), start_date=START)
    assert res.excluded
    assert res.rankings == ()
    assert res.plan is None
    assert res.problem is not None
    assert "excluded" in res.problem


def test_unplannable_protocol_names_why() -> None:
    # Lee 2015's abstract does not report the number of sessions
    res = plan_for_patient(
        _patient(rmt_pct_mso=50.0), start_date=START, protocol_id="lee2015-smc-1hz"
    )
    assert res.plan is None
    assert not res.refused
    assert res.problem is not None
    assert "sessions" in res.problem


def test_unknown_protocol_and_bad_sessions_per_week() -> None:
    with pytest.raises(KeyError):
        plan_for_patient(_patient(), start_date=START, protocol_id="nope")
    with pytest.raises(ValueError, match="sessions_per_week"):
        plan_for_patient(_patient(), start_date=START, sessions_per_week=6)


def test_trial_design_from_evidence_matches_sample_size() -> None:
    design = trial_design()
    table = collect_effects()
    assert len(table.effects) == 1  # only Malavera 2016 is estimable
    e = table.effects[0]
    assert math.isclose(design.effect_size_d, e.estimate, rel_tol=RTOL)
    assert math.isclose(design.se, e.se, rel_tol=RTOL)
    assert design.tau2 == pytest.approx(0.0, abs=1e-12)
    assert design.optimistic == sample_size(e.estimate)
    assert design.conservative == sample_size(e.estimate, se=e.se)
    assert design.conservative.n_total > design.optimistic.n_total
    assert design.studies == ("Malavera et al., 2016",)


def test_trial_design_given_effect() -> None:
    # Cohen (1988): d = 0.5, alpha 0.05 two-sided, power 0.8 -> 64 per group
    design = trial_design(0.5)
    assert design.source == "given"
    assert design.optimistic.n_treatment == 64
    assert design.conservative is None
    assert design.conservative_note is not None
    # a prediction interval that includes no effect: no conservative size
    wide = trial_design(0.3, tau2=0.2)
    assert wide.conservative is None
    assert wide.conservative_note is not None
    assert "tau2" in wide.conservative_note
    with pytest.raises(ValueError, match="effect_size_d"):
        trial_design(0.0)
