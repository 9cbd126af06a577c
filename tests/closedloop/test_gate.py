"""Safety gate: refuses unsafe doses and any pulse beyond the checked protocol."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.closedloop import PulseRefusedError, SafetyGate
from plptms.protocol import StimulationDose
from plptms.safety import (
    Decision,
    PhysicianReview,
    RuleStatus,
    SafetyPolicy,
    UnsafeProtocolError,
)

from .conftest import single_pulse_dose


def _rtms(**update: object) -> StimulationDose:
    base: dict[str, object] = {
        "pattern": "rtms",
        "target": "m1_hand",
        "laterality": "left",
        "frequency_hz": 20.0,
        "intensity_pct_rmt": 100.0,
        "pulses_per_train": 40,
        "trains_per_session": 20,
        "inter_train_interval_s": 30.0,
    }
    base.update(update)
    return StimulationDose.model_validate(base)


def test_single_pulse_rate_refused() -> None:
    gate = SafetyGate(single_pulse_dose(frequency_hz=0.5))
    assert gate.min_interval_s == pytest.approx(2.0)
    gate.commit(10.0)
    v = gate.check(11.0)
    assert not v.allowed
    assert v.rule == "pulse_rate"
    assert "1 Hz" in v.message
    assert "0.5 Hz" in v.message
    with pytest.raises(PulseRefusedError, match="realised rate"):
        gate.commit(11.0)
    assert gate.n_pulses == 1
    gate.commit(12.0)
    assert gate.pulse_times_s == (10.0, 12.0)


def test_session_total_refused() -> None:
    gate = SafetyGate(single_pulse_dose(trains_per_session=3))
    for t in (0.0, 2.0, 4.0):
        gate.commit(t)
    v = gate.check(100.0)
    assert (v.allowed, v.rule) == (False, "session_pulses")


def test_unsafe_dose_refused_at_construction() -> None:
    # 20 Hz at 120 % RMT: 40 pulses = 2 s, above the 1 s limit of the table
    with pytest.raises(UnsafeProtocolError, match="pulses_per_train"):
        SafetyGate(_rtms(intensity_pct_rmt=120.0))


def test_margin_policy_applies() -> None:
    # 2 s at 20 Hz, 100 % RMT is within 2.05 s, but not within 0.75 x 2.05 s
    SafetyGate(_rtms())
    site = SafetyPolicy(
        name="site-margin",
        train_duration_margin=0.75,
        margin_reason="the Chen 1997 cut as recorded site policy",
    )
    with pytest.raises(UnsafeProtocolError) as exc:
        SafetyGate(_rtms(), policy=site)
    assert exc.value.verdict.decision is Decision.REFUSED
    assert exc.value.verdict.policy_name == "site-margin"


def test_gate_verdict_uses_review_precedence_and_reports_unverified(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """20 Hz at 100 % RMT: the 2.05 s cell (Wassermann 1998) is not verified, and 40
    pulses in 2 s trains, 20 of them, are outside the conditions Chen et al. (1997)
    tested. The gate is built (pulses are not blocked for it), its verdict is
    review, and allowed pulses within a train say the limit is unverified."""
    with caplog.at_level("WARNING", logger="plptms.closedloop._gate"):
        gate = SafetyGate(_rtms())
    assert gate.verdict.decision is Decision.REVIEW
    assert gate.verdict.policy_name == "plptms-default"
    assert {r.rule_id for r in gate.review_rules} == {
        "train_duration",
        "inter_train_interval",
    }
    assert any(r.status is RuleStatus.UNVERIFIED for r in gate.review_rules)
    assert "needs physician review" in caplog.text
    gate.commit(0.0)
    v = gate.check(0.05)
    assert v.allowed
    assert "20 Hz x 100 % MT" in v.note
    assert "unverified" in v.note
    # with the physician's review the verdict is accepted; statuses unchanged
    review = PhysicianReview(physician="Dr G", reason="closed-loop dose reviewed")
    reviewed = SafetyGate(_rtms(), review=review)
    assert reviewed.verdict.decision is Decision.ACCEPTED
    assert reviewed.verdict.review == review
    assert reviewed.verdict.rules == gate.verdict.rules


def test_gate_on_verified_cell_has_no_note() -> None:
    """20 Hz, 110 % MT, 32-pulse trains: the cell agrees with Chen et al. (1997)."""
    gate = SafetyGate(
        _rtms(
            intensity_pct_rmt=110.0,
            pulses_per_train=32,
            trains_per_session=10,
            inter_train_interval_s=5.0,
        )
    )
    assert gate.verdict.decision is Decision.ACCEPTED
    assert not gate.review_rules
    gate.commit(0.0)
    v = gate.check(0.05)
    assert (v.allowed, v.note) == (True, "")
    # the per-pulse check still refuses beyond the verified 1.6 s
    t = 0.05
    for _ in range(31):
        gate.commit(t)
        t += 0.05
    refused = gate.check(t)
    assert (refused.allowed, refused.rule) == (False, "train_pulses")


def test_single_pulse_gate_is_accepted() -> None:
    """The dose of `make run`'s closed-loop dry run (single pulses) needs no review:
    no table limit applies to it."""
    gate = SafetyGate(single_pulse_dose(), rmt_pct_mso=50.0)
    assert gate.verdict.decision is Decision.ACCEPTED
    assert gate.verdict.policy_name == "plptms-default"


def test_incomplete_dose_refused() -> None:
    with pytest.raises(UnsafeProtocolError, match="frequency_hz"):
        SafetyGate(single_pulse_dose(frequency_hz=None))


def test_theta_burst_not_supported() -> None:
    dose = StimulationDose.model_validate(
        {
            "pattern": "itbs",
            "target": "dlpfc",
            "laterality": "left",
            "frequency_hz": 5.0,
            "intensity_pct_rmt": 80.0,
            "pulses_per_train": 30,
            "trains_per_session": 20,
            "inter_train_interval_s": 8.0,
            "pulses_per_burst": 3,
            "intra_burst_frequency_hz": 50.0,
        }
    )
    with pytest.raises(ValueError, match=r"dose\.pattern"):
        SafetyGate(dose)


def test_rtms_train_length_refused() -> None:
    gate = SafetyGate(_rtms(pulses_per_train=5))
    for k in range(5):
        gate.commit(k * 0.05)
    v = gate.check(0.25)
    assert (v.allowed, v.rule) == (False, "train_pulses")
    # after the pause a new train may start
    assert gate.check(0.2 + 30.0).allowed


def test_rtms_realised_train_duration_refused() -> None:
    """40 pulses at 20 Hz (2 s) pass the table; the same 40 pulses realised at
    12 Hz last 3.3 s, and between the 10 and 20 Hz rows the stricter limit (2.05 s
    at 20 Hz, 100 % MT) applies, so the gate stops the train."""
    gate = SafetyGate(_rtms(pulses_per_train=40))
    t = 0.0
    refused = None
    for _ in range(40):
        v = gate.check(t)
        if not v.allowed:
            refused = v
            break
        gate.commit(t)
        t += 1.0 / 12.0
    assert refused is not None
    assert refused.rule == "train_duration"
    assert gate.n_pulses < 40


def test_commit_refuses_time_going_back() -> None:
    gate = SafetyGate(single_pulse_dose())
    gate.commit(5.0)
    with pytest.raises(ValueError, match="t_s"):
        gate.commit(4.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=60))
def test_committed_pulses_respect_rate(gaps: list[float]) -> None:
    """Whatever the requests, committed pulses are >= 1/f apart and within the total."""
    dose = single_pulse_dose(frequency_hz=0.5, trains_per_session=20)
    gate = SafetyGate(dose)
    t = 0.0
    for g in gaps:
        t += g
        if gate.check(t).allowed:
            gate.commit(t)
    times = gate.pulse_times_s
    assert len(times) <= 20
    assert all(b - a >= 2.0 - 1e-9 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize("t", [float("nan"), float("inf"), float("-inf")])
def test_check_refuses_non_finite_time(t: float) -> None:
    gate = SafetyGate(single_pulse_dose())
    with pytest.raises(ValueError, match="t_s"):
        gate.check(t)
