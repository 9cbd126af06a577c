"""Adverse events of enrolled patients against the example trial's stopping rules."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from plptms.registry import RecordNotFoundError, Registry
from plptms.trial import read_trial_definition
from plptms.workflow import (
    AdverseEventInput,
    AdverseEventReviewInput,
    create_trial,
    enrol_patient,
    record_trial_adverse_event,
    review_adverse_event,
    stopping_rule_states,
)

from ._trialdef import screen

EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))
FACTORS = {"limb": "lower", "pain_band": "nrs_4_6"}


def _event(code: str, **kw: object) -> AdverseEventInput:
    data: dict[str, object] = {
        "site": "S02", "code": code, "actor": "nurse", "severity": "moderate",
        "relatedness": "possible", "term": "headache",
    }  # fmt: skip
    data.update(kw)
    return AdverseEventInput.model_validate(data)


def test_a_related_sae_pauses_enrolment_and_a_review_lifts_it(db_url: str) -> None:
    """The example's rule 'related_sae' (serious, probable or definite, count 1,
    pause_enrolment): a headache meets nothing; a possibly related SAE meets
    nothing either (relatedness); a probably related SAE meets it at once and
    is flagged; a review lifts the pause; stimulation was never paused by it."""
    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        for code in ("P001", "P002"):
            reg.add_patient("S02", code, history=None, actor="n")
            screen(reg, "S02", code)
        enrol_patient(reg, defn.id, "S02", "P001", FACTORS, actor="c")
        mild = record_trial_adverse_event(reg, defn.id, _event("P001"))
        assert not mild.serious
        assert mild.triggered == ()
        assert "SERIOUS" not in mild.message
        possible = record_trial_adverse_event(
            reg, defn.id,
            _event("P001", term="syncope", severity="severe", serious=True,
                   serious_criterion="hospitalisation"),
        )  # fmt: skip
        assert possible.serious
        assert possible.triggered == ()
        assert possible.message.startswith("SERIOUS ADVERSE EVENT")
        assert not possible.status.enrolment_paused
        probable = record_trial_adverse_event(
            reg, defn.id,
            _event("P001", term="syncope", severity="severe", serious=True,
                   serious_criterion="hospitalisation", relatedness="probable"),
        )  # fmt: skip
        assert [r.rule_id for r in probable.triggered] == ["related_sae"]
        assert "related_sae" in probable.message
        status = stopping_rule_states(reg, defn.id)
        assert status.enrolment_paused
        assert not status.stimulation_paused
        assert not status.stopped
        rule = {r.rule_id: r for r in status.rules}["related_sae"]
        assert rule.counted == (probable.recorded.event.id,)
        from plptms.workflow import EnrolmentRefusedError

        with pytest.raises(EnrolmentRefusedError, match="related_sae"):
            enrol_patient(reg, defn.id, "S02", "P002", FACTORS, actor="c")
        review_adverse_event(
            reg,
            AdverseEventReviewInput(
                event_id=probable.recorded.event.id, physician="Dr DMC",
                note="Committee review: vasovagal, trial continues.",
                continue_treatment=True,
            ),
        )  # fmt: skip
        assert not stopping_rule_states(reg, defn.id).enrolment_paused
        enrol_patient(reg, defn.id, "S02", "P002", FACTORS, actor="c")


def test_an_event_of_a_patient_not_enrolled_is_refused_and_not_stored(
    db_url: str,
) -> None:
    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        reg.add_patient("S02", "P009", history=None, actor="n")
        seq = reg.audit_head().seq
        with pytest.raises(RecordNotFoundError, match="P009"):
            record_trial_adverse_event(reg, defn.id, _event("P009"))
        assert reg.audit_head().seq == seq
        assert reg.list_adverse_events("S02", "P009") == []
        with pytest.raises(TypeError, match="event"):
            record_trial_adverse_event(reg, defn.id, {"term": "headache"})  # type: ignore[arg-type]
