"""A registered patient for the planner and report tests (fictional data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
from plptms.protocol import load_library
from plptms.registry import Registry, SessionStatus, VisitIn
from plptms.safety import (
    PhysicianReview,
    ScreeningAnswers,
    check_protocol,
    load_screening_items,
    screen,
)
from plptms.workflow import (
    AssessmentInput,
    PatientInput,
    record_assessment,
    register_patient,
)

#: The review recorded with the FULL patient's assignment.
ASSIGNMENT_REVIEW = PhysicianReview(
    physician="Dr Report", reason="Reviewed the unverified 1 Hz table cells."
)

TODAY = dt.date.today()

HISTORY: dict[str, Any] = {
    "side": "left",
    "limb": "upper",
    "level": "transradial",
    "cause": "trauma",
    "amputation_date": "2019-03-14",
    "assessed_on": (TODAY - dt.timedelta(days=90)).isoformat(),
    "prosthesis_use": "daily",
    "phantom_sensations": True,
    "telescoping": True,
    "attack_frequency": {"count": 6, "per": "day"},
    "attack_duration_s": 90,
    "triggers": ["cold", "emotional_stress"],
    "analgesics": [
        {"name": "amitriptyline 25 mg at night", "drug_class": "antidepressant"}
    ],
    "opioids": [{"drug": "tramadol", "dose": 100, "unit": "mg/day"}],
}

HAMD = {str(i): 1 for i in range(1, 18)}  # total 17
HAMA = {str(i): 1 for i in range(1, 15)}  # total 14


def _rmt(threshold_pct_mso: float) -> Any:
    subject = SimulatedSubject(
        SubjectParameters(threshold_pct_mso=threshold_pct_mso), seed=1
    )
    hunt = hunt_ml_pest(
        subject,
        start_intensity_pct_mso=min(80.0, threshold_pct_mso + 10.0),
    )
    assert hunt.converged
    return hunt


def add_patient(
    url: str,
    code: str = "P001",
    *,
    site: str = "S1",
    history: bool = True,
    screening: str | None = "eligible",
    rmt_pct_mso: float | None = 50.0,
    assessments: bool = True,
    course: bool = False,
) -> float | None:
    """Register one patient; return the stored RMT (% MSO) or ``None``."""
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    if screening == "excluded":
        answers["epilepsy"] = "yes"
    elif screening == "needs_physician_review":
        answers["seizure_threshold_medication"] = "yes"
    rmt = None
    with Registry(url) as reg:
        patient = PatientInput(
            site=site, code=code, history=HISTORY if history else None
        )
        register_patient(reg, patient, actor="nurse1")
        if screening is not None:
            report = screen(ScreeningAnswers(answers=answers, screened_on=TODAY))
            assert report.status.value == screening
            reg.record_screening(site, code, report, actor="dr1")
        if rmt_pct_mso is not None:
            rmt = reg.record_rmt(
                site,
                code,
                _rmt(rmt_pct_mso),
                hemisphere="right",
                muscle="FDI",
                stimulator="sim",
                actor="tech1",
            )
        if assessments:
            base = TODAY - dt.timedelta(days=40)
            for day, kind, scale, items in (
                (0, "baseline", "nrs_phantom_average", {"1": 7}),
                (0, "baseline", "ham_d17", HAMD),
                (0, "baseline", "ham_a", HAMA),
                (7, "treatment", "nrs_phantom_average", {"1": 6}),
                (14, "post_treatment", "nrs_phantom_average", {"1": 4}),
                (35, "follow_up", "nrs_phantom_average", {"1": 5}),
            ):
                visit = VisitIn(visit_date=base + dt.timedelta(days=day), kind=kind)
                rec = AssessmentInput(
                    site=site, code=code, visit=visit, scale_id=scale, items=items
                )
                record_assessment(reg, rec, actor="nurse1")
        if course:
            protocol = load_library().protocol("wang2022-m1-1hz")
            # the 1 Hz limits rest on unverified table cells: the clinic's
            # physician records a review when assigning
            verdict = check_protocol(
                protocol, rmt_pct_mso=rmt, review=ASSIGNMENT_REVIEW
            )
            start = TODAY - dt.timedelta(days=20)
            aid = reg.assign_protocol(
                site, code, protocol, verdict, actor="dr1", assigned_on=start
            )
            reg.record_session(
                aid, 1, start, SessionStatus.COMPLETED, actor="tech1", note="no AE"
            )
            reg.record_session(
                aid,
                2,
                start + dt.timedelta(days=1),
                SessionStatus.ABORTED,
                actor="tech1",
                note="headache",
            )
            sid = reg.start_delivery(
                aid, 3, device="sim", plan={"trains": []}, blinded=False, actor="tech1"
            )
            reg.finish_delivery(sid, "completed", actor="tech1")
    return rmt
