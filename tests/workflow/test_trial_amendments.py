"""Trial amendments through the workflow: checked, versioned, or nothing stored."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from plptms.registry import RecordNotFoundError, Registry
from plptms.trial import (
    TrialAmendmentError,
    TrialDefinitionError,
    read_trial_definition,
)
from plptms.workflow import amend_trial, create_trial, enrol_patient

from ._trialdef import screen

EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))


def _with_arm_protocol(defn, condition: str, protocol_id: str, version: int):  # type: ignore[no-untyped-def]
    arms = tuple(
        a.model_copy(update={"protocol_id": protocol_id})
        if a.condition == condition
        else a
        for a in defn.arms
    )
    return type(defn).model_validate(
        {
            **defn.model_dump(mode="json"),
            "version": version,
            "arms": [a.model_dump(mode="json") for a in arms],
        }
    )


def _counts(reg: Registry, trial_id: str) -> tuple[int, int]:
    return len(reg.trial_versions(trial_id)), reg.audit_head().seq


def test_an_amendment_the_safety_engine_refuses_stores_nothing(db_url: str) -> None:
    """20 Hz trains of 10 s (Ahmed et al. 2011 as tabulated) exceed the
    Wassermann (1998) train limit of 2.05 s: the amended arm is refused at
    the site's policy, before anything is stored."""
    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        before = _counts(reg, defn.id)
        bad = _with_arm_protocol(defn, "active", "ahmed2011-m1-20hz", 2)
        with pytest.raises(TrialDefinitionError, match=r"active_mt.*train_duration"):
            amend_trial(reg, bad, reason="Switch to the 20 Hz protocol.", actor="s")
        assert _counts(reg, defn.id) == before
        assert reg.get_trial(defn.id).version == 1


def test_a_creation_the_safety_engine_refuses_stores_nothing(db_url: str) -> None:
    defn = read_trial_definition(EXAMPLE)
    bad = _with_arm_protocol(defn, "active", "malavera2016-m1-10hz", 1)
    with Registry(db_url) as reg:
        reg.add_patient("S01", "P001", history=None, actor="n")
        n = reg.audit_head().seq
        with pytest.raises(TrialDefinitionError, match=r"S01.*pulses_per_train"):
            create_trial(reg, bad, actor="statistician")
        assert reg.audit_head().seq == n
        with pytest.raises(RecordNotFoundError):
            reg.get_trial(bad.id)


def test_after_enrolment_an_allocation_relevant_change_is_refused(db_url: str) -> None:
    """Changing the randomisation once patients are allocated needs a new
    trial; a reason too short is refused as well; a later valid amendment is
    stored as version 2 with its reason."""
    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        reg.add_patient("S01", "P001", history=None, actor="n")
        screen(reg, "S01", "P001")
        enrol_patient(
            reg, defn.id, "S01", "P001",
            {"limb": "upper", "pain_band": "nrs_4_6"}, actor="c",
        )  # fmt: skip
        before = _counts(reg, defn.id)
        data = defn.model_dump(mode="json")
        data["randomisation"] = {**data["randomisation"], "p": 0.9}
        changed = type(defn).model_validate({**data, "version": 2})
        with pytest.raises(TrialAmendmentError, match="patients are enrolled"):
            amend_trial(
                reg, changed, reason="A less predictable minimisation.", actor="s"
            )
        later = type(defn).model_validate(
            {**defn.model_dump(mode="json"), "version": 2, "title": defn.title + "."}
        )
        with pytest.raises(TrialAmendmentError, match="reason"):
            amend_trial(reg, later, reason="typo", actor="s")
        assert _counts(reg, defn.id) == before
        v2 = amend_trial(
            reg, later, reason="Title punctuation, ethics committee request.", actor="s"
        )
        assert v2.version == 2
        assert v2.reason == "Title punctuation, ethics committee request."
        assert reg.verify_audit().ok
