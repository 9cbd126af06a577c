"""A small trial recorded through the workflow, and what was stored (tests only).

:func:`build_trial` records 24 patients of a 2x2 trial (the example reduced to
three visits) and returns the same patients and scores as the analysis core's
inputs, built by hand: the oracle of the tests that read them back.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plptms.registry import Registry, VisitIn
from plptms.trial import (
    AnalysisPatient,
    AnalysisScore,
    TrialDefinition,
    read_trial_definition,
)
from plptms.workflow import (
    AssessmentInput,
    ScreeningOutcomeInput,
    TrialVisitInput,
    WithdrawalInput,
    allocation_for,
    create_trial,
    enrol_patient,
    record_assessment,
    record_screening_outcome,
    record_trial_visit,
    trial_visit_kind,
    withdraw_patient,
)

from ._trialdef import screen

EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))
RANDOMISED_AT = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)  # day 0, 2026-03-02
DAY0 = RANDOMISED_AT.date()
N = 24
RTOL = 1e-9


def small_definition() -> TrialDefinition:
    """The example with baseline, end of course and the 1-month follow-up only."""
    data = read_trial_definition(EXAMPLE).model_dump(mode="json")
    keep = {"baseline", "end_of_course", "followup_1m"}
    data["visits"] = [v for v in data["visits"] if v["id"] in keep]
    for v in data["visits"]:
        v["scales"] = ["nrs_phantom_average"]
    data["endpoints"] = [
        e
        for e in data["endpoints"]
        if e["scale_id"] == "nrs_phantom_average" and e["visit_id"] in keep
    ]
    data["sample_size"] = 40
    return TrialDefinition.model_validate(data)


def _nrs(reg: Registry, defn: Any, site: str, code: str, visit: str, on: dt.date,
         value: int) -> None:  # fmt: skip
    kind = trial_visit_kind(defn, visit)
    record_assessment(
        reg,
        AssessmentInput(
            site=site, code=code, visit=VisitIn(visit_date=on, kind=kind),
            scale_id="nrs_phantom_average", items={"1": value},
        ),
        actor="rater",
    )  # fmt: skip


def build_trial(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """24 patients at 3 sites; NRS 5-9 at baseline; active arms improve by 3,
    sham arms by 1 (plus a deterministic +-1); P023 has no follow-up; P021
    withdrew consent and P022 was lost to follow-up after the end of course;
    three patients screened and not enrolled (two declined, one ineligible).
    """
    defn = small_definition()
    rng = np.random.default_rng(7)
    stored: dict[str, Any] = {"patients": [], "scores": [], "defn": defn}
    create_trial(reg, defn, actor="statistician")
    monkeypatch.setattr("plptms.registry._trials.utc_now", lambda: RANDOMISED_AT)
    for k in range(N):
        site, code = defn.site_codes[k % 3], f"P{k:03d}"
        reg.add_patient(site, code, history=None, actor="n")
        screen(reg, site, code)
        enrol_patient(
            reg, defn.id, site, code,
            {"limb": ("upper", "lower")[k % 2],
             "pain_band": ("nrs_4_6", "nrs_7_10")[(k // 2) % 2]},
            actor="coordinator",
        )  # fmt: skip
        arm = allocation_for(reg, defn.id, site, code, role="statistician").arm_id
        assert arm is not None
        active = defn.arm(arm).condition == "active"
        key = f"{site}/{code}"
        withdrawn = None
        base = 5 + k % 5  # NRS 5-9 at baseline
        visits = [("baseline", DAY0 - dt.timedelta(days=3), base)]
        if k != N - 1:
            eoc = base - (3 if active else 1) + int(rng.integers(-1, 2))
            fu = eoc + int(rng.integers(0, 2))
            visits += [
                ("end_of_course", DAY0 + dt.timedelta(days=15), eoc),
                ("followup_1m", DAY0 + dt.timedelta(days=44), fu),
            ]
        if k in (N - 3, N - 2):
            visits = visits[:2]
            withdrawn = DAY0 + dt.timedelta(days=20)
            withdraw_patient(
                reg,
                WithdrawalInput(
                    trial_id=defn.id, site=site, code=code, on=withdrawn,
                    reason=("withdrew_consent", "lost_to_follow_up")[k - N + 3],
                    detail="example",
                ),
                actor="coordinator",
            )  # fmt: skip
        for visit, on, value in visits:
            record_trial_visit(
                reg,
                TrialVisitInput(
                    trial_id=defn.id, site=site, code=code, visit_id=visit,
                    visit_date=on,
                ),
                actor="rater",
            )  # fmt: skip
            _nrs(reg, defn, site, code, visit, on, value)
            stored["scores"].append(
                AnalysisScore(
                    patient=key, visit_id=visit, scale_id="nrs_phantom_average",
                    value=float(value), done_on=on, in_window=True,
                )
            )  # fmt: skip
        stored["patients"].append(
            AnalysisPatient(
                patient=key, site=site, arm_id=arm, randomised_on=DAY0,
                sessions_planned=10, sessions_received=0, withdrawn_on=withdrawn,
            )
        )  # fmt: skip
    for j, outcome in enumerate(("declined", "declined", "not_eligible")):
        code = f"S{j:03d}"
        reg.add_patient("S01", code, history=None, actor="n")
        record_screening_outcome(
            reg,
            ScreeningOutcomeInput(
                trial_id=defn.id, site="S01", code=code, outcome=outcome,
                reason="example reason",
            ),
            actor="coordinator",
        )  # fmt: skip
    stored["reg"] = reg
    return stored
