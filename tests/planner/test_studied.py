"""The planner keeps the studied target and shows refusals with their overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.planner import (
    OVERRIDE_REQUIREMENT,
    PatientContext,
    make_plan,
    plan_for_patient,
    rank_protocols,
)
from plptms.protocol import (
    Amputation,
    ArmOutcome,
    TargetBasis,
    TargetDeviation,
    TargetSite,
    load_library,
)
from plptms.safety import Decision, Override, RuleStatus, UnsafeProtocolError

START = dt.date(2026, 3, 2)  # a Monday
LEG = Amputation(side="left", limb="lower", level="transtibial")
OVERRIDE = Override(
    rule_id="train_duration",
    block="M1",
    reason="studied dose of a sham-controlled RCT (Malavera 2016)",
    operator="dr test",
)


def _patient(**kw: object) -> PatientContext:
    base: dict[str, object] = {"amputation": LEG, "screening": "eligible"}
    base.update(kw)
    return PatientContext.model_validate(base)


def test_refused_studied_protocol_shows_what_an_override_needs() -> None:
    """Malavera et al. (2016): 6 s trains at 10 Hz, above the table's 5 s bound."""
    res = plan_for_patient(
        _patient(rmt_pct_mso=50.0),
        start_date=START,
        protocol_id="malavera2016-m1-10hz",
    )
    assert res.plan is None
    assert res.refused
    assert res.problem is not None
    assert "overridable" in res.problem
    assert OVERRIDE_REQUIREMENT in res.problem
    (need,) = res.override_needs
    assert (need.block, need.rule_id, need.field) == (
        "M1",
        "train_duration",
        "pulses_per_train",
    )
    assert (need.value, need.limit, need.unit) == (6.0, 5.0, "s")
    assert need.overridable
    # the study is shown with what was read and what the review got wrong
    assert res.study is not None
    assert res.study.id == "malavera2016"
    assert res.study.corrections
    with pytest.raises(UnsafeProtocolError, match=r"train_duration.*overridable"):
        make_plan(
            load_library().protocol("malavera2016-m1-10hz"),
            _patient(rmt_pct_mso=50.0),
            start_date=START,
        )


def test_not_overridable_refusal_says_so() -> None:
    # 120 % RMT x 92 % MSO = 110.4 % MSO: the stimulator cannot give it
    res = plan_for_patient(
        _patient(rmt_pct_mso=92.0), start_date=START, protocol_id="grammer2015-s1-dlpfc"
    )
    assert res.refused
    (need,) = res.override_needs
    assert need.rule_id == "stimulator_output"
    assert not need.overridable
    assert "not overridable" in need.requirement
    assert res.problem is not None
    assert "cannot be overridden" in res.problem


def test_recorded_override_plans_the_studied_dose_for_review() -> None:
    """With a recorded override the studied Malavera dose is planned, for review."""
    res = plan_for_patient(
        _patient(rmt_pct_mso=50.0),
        start_date=START,
        protocol_id="malavera2016-m1-10hz",
        overrides=[OVERRIDE],
    )
    plan = res.plan
    assert plan is not None
    assert plan.verdict.decision is not Decision.REFUSED
    assert plan.verdict.needs_review
    assert plan.verdict.overrides == (OVERRIDE,)
    rule = next(r for r in plan.verdict.rules if r.rule_id == "train_duration")
    assert rule.status is RuleStatus.OVERRIDDEN
    assert any("physician review" in w for w in plan.warnings)
    (b,) = plan.blocks
    assert b.target is TargetSite.M1_HAND  # studied hand area, leg amputee
    assert b.basis is TargetBasis.STUDIED
    assert "hand-area motor hotspot" in plan.localisation[0]
    assert len(plan.sessions) == 10
    assert plan.sessions_per_week == 5
    with pytest.raises(ValueError, match="cannot be overridden"):
        plan_for_patient(
            _patient(rmt_pct_mso=92.0),
            start_date=START,
            protocol_id="grammer2015-s1-dlpfc",
            overrides=[
                Override(
                    rule_id="stimulator_output",
                    reason="the stimulator cannot do more",
                    operator="x",
                )
            ],
        )


def test_target_deviation_is_shown_as_not_studied() -> None:
    dev = TargetDeviation(
        block="M1",
        target="m1_leg",
        reason="leg representation for a leg amputee",
        operator="dr test",
    )
    res = plan_for_patient(
        _patient(rmt_pct_mso=50.0),
        start_date=START,
        protocol_id="malavera2016-m1-10hz",
        overrides=[OVERRIDE],
        target_deviations=[dev],
    )
    plan = res.plan
    assert plan is not None
    (b,) = plan.blocks
    assert b.target is TargetSite.M1_LEG
    assert b.basis is TargetBasis.NOT_STUDIED
    assert plan.target_deviations == (dev,)
    assert not plan.all_studied
    assert any("NOT STUDIED" in w and "m1_hand" in w for w in plan.warnings)
    assert "leg-area motor hotspot" in plan.localisation[0]
    with pytest.raises(ValueError, match="deviation"):
        plan_for_patient(
            _patient(rmt_pct_mso=50.0),
            start_date=START,
            protocol_id="wang2022-m1-1hz",
            target_deviations=[dev.model_copy(update={"block": "DLPFC"})],
        )


def test_generic_m1_area_marked_inferred() -> None:
    plan = make_plan(
        load_library().protocol("wang2022-m1-1hz"),
        _patient(rmt_pct_mso=50.0),
        start_date=START,
    )
    (b,) = plan.blocks
    assert b.target is TargetSite.M1_LEG
    assert b.basis is TargetBasis.INFERRED
    assert any("inferred from the amputation, not studied" in w for w in plan.warnings)
    assert plan.all_studied is False
    assert plan.target_deviations == ()


def test_grammer_dlpfc_added_from_session_five() -> None:
    """Grammer et al. (2015): S1 alone for 4 sessions, then S1 + left DLPFC."""
    plan = make_plan(
        load_library().protocol("grammer2015-s1-dlpfc"),
        PatientContext(
            amputation=Amputation(side="right", limb="upper"),
            screening="eligible",
            rmt_pct_mso=50.0,
        ),
        start_date=START,
    )
    assert len(plan.sessions) == 28
    assert [s.blocks for s in plan.sessions[:4]] == [("S1",)] * 4
    assert all(s.blocks == ("S1", "DLPFC") for s in plan.sessions[4:])
    assert plan.sessions_per_week == 5
    assert [b.hemisphere.value for b in plan.blocks] == ["left", "left"]


def test_lee_m1_arm_ranked_after_smc_arm() -> None:
    """Lee et al. (2015): SMC reduced pain, M1 did not (same patient)."""
    ranks = rank_protocols(_patient())
    row = {r.protocol_id: r for r in ranks}
    smc, m1 = row["lee2015-smc-1hz"], row["lee2015-m1-1hz"]
    assert smc.evidence.arm_outcome is ArmOutcome.EFFECTIVE
    assert m1.evidence.arm_outcome is ArmOutcome.NOT_EFFECTIVE
    assert m1.rank > smc.rank
    assert any("did not reduce pain" in s for s in m1.reasons)
    not_reached = row["vats2024-dlpfc-1hz"]
    assert any("primary paper not reached" in s for s in not_reached.reasons)


def test_smc_localisation_text() -> None:
    lib = load_library()
    p = lib.protocol("lee2015-smc-1hz")
    blk = p.blocks[0].model_copy(update={"sessions": 10})
    plan = make_plan(
        p.model_copy(update={"blocks": (blk,)}),
        _patient(rmt_pct_mso=50.0),
        start_date=START,
        sessions_per_week=5,
    )
    assert "supplementary motor complex" in plan.localisation[0]
    assert "midline" in plan.localisation[0]
    assert plan.blocks[0].hemisphere.value == "right"  # opposite a left amputation
