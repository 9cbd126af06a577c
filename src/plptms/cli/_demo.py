"""The end-to-end demonstration run by ``make run`` (``plptms demo``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.markup import escape

from ..protocol import Amputation, load_data, validate_model
from ..safety import ScreeningAnswers
from ..utils import clinic_today

__all__ = ["DemoAssessment", "DemoPatient", "load_demo_patient"]


class DemoAssessment(BaseModel):
    """A fictional assessment of the demonstration patient.

    Parameters
    ----------
    day : int
        Days after the baseline visit.
    kind : str
        Visit kind.
    scale : str
        Scale id.
    items : dict
        Raw items.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: int = Field(ge=0)
    kind: str
    scale: str
    items: dict[str, float | int | None]


class DemoPatient(BaseModel):
    """A patient file for the demonstration.

    Parameters
    ----------
    patient : str
        Pseudonymous code.
    amputation : Amputation
        The amputation.
    rmt_pct_mso : float | None
        Resting motor threshold, % MSO.
    screening : ScreeningAnswers
        Screening answers.
    protocol : str
        Library protocol id to plan.
    history : dict | None
        PLP history (see :class:`plptms.scales.PLPHistory`).
    head : dict | None
        Head measurements (see :class:`plptms.targeting.HeadMeasurements`).
    scalp_cortex_mm : float | None
        Scalp-to-cortex distance under the coil, mm (from the patient's MRI).
    assessments : tuple of DemoAssessment
        Fictional outcomes to store and plot.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient: str = Field(min_length=1)
    amputation: Amputation
    rmt_pct_mso: float | None = None
    screening: ScreeningAnswers
    protocol: str
    history: dict[str, Any] | None = None
    head: dict[str, float] | None = None
    scalp_cortex_mm: float | None = Field(default=None, gt=0.0, le=60.0)
    assessments: tuple[DemoAssessment, ...] = ()


def load_demo_patient(path: str | Path | None = None) -> DemoPatient:
    """Load a demo patient file (the shipped fictional patient by default).

    Parameters
    ----------
    path : str | Path | None
        A JSON or YAML file; ``None`` for the shipped one.

    Returns
    -------
    patient : DemoPatient
        The validated file.
    """
    if path is None:
        res = resources.files("plptms") / "data" / "demo_patient.yaml"
        with resources.as_file(res) as p:
            data = load_data(p)
        source = "demo_patient.yaml"
    else:
        data = load_data(path, what="demo patient file")
        source = str(path)
    return validate_model(DemoPatient, data, source)


def run_course(console: Any, pat: DemoPatient, report: Any, out: Path) -> list[Path]:
    """Assess, measure, dose, plan, deliver, follow up and report (steps 5-11).

    Everything goes into a fresh SQLite registry under ``out``: the fictional
    patient is assessed at baseline, the RMT is hunted on a simulated subject,
    the dose is modelled, the planner ranks and plans from the registry, session 1
    is delivered on the simulated stimulator (virtual time, every pulse logged), a
    closed-loop session is dry-run on a shipped EEG recording, the follow-up
    visits are recorded and the clinician and patient reports are written.

    Parameters
    ----------
    console : rich.console.Console
        Where to print.
    pat : DemoPatient
        The demo patient.
    report : ScreeningReport
        Its screening.
    out : Path
        Output folder (the registry is recreated).

    Returns
    -------
    outputs : list of Path
        Files written.
    """
    import datetime as dt

    from rich.markup import escape

    from ..registry import Registry, VisitIn
    from ..workflow import (
        AssessmentInput,
        PatientInput,
        record_assessment,
        record_screening,
        register_patient,
    )

    out.mkdir(parents=True, exist_ok=True)
    db = out / "registry.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    site, code = "DEMO", pat.patient
    today = clinic_today()
    baseline_day = today - dt.timedelta(days=120)
    outputs: list[Path] = [db]
    with Registry(f"sqlite:///{db}") as reg:
        console.rule("5. Assessment at baseline (fictional data)")
        register_patient(
            reg, PatientInput(site=site, code=code, history=pat.history), actor="demo"
        )
        for a in pat.assessments:
            if a.day == 0:
                visit = VisitIn(visit_date=baseline_day, kind=a.kind)
                rec = AssessmentInput(
                    site=site, code=code, visit=visit, scale_id=a.scale, items=a.items
                )
                record_assessment(reg, rec, actor="demo")
        record_screening(reg, site, code, pat.screening, actor="demo")
        for row in reg.list_assessments(site, code):
            console.print(
                f"  {row.scale_id}: total {row.total:g} ({row.visit_kind.value})"
            )

        console.rule("6. Resting motor threshold (simulated subject, ML-PEST)")
        rmt = _demo_rmt(reg, site, code, pat, baseline_day)
        console.print(f"  RMT {rmt:.1f} % MSO stored.")

        console.rule("7. Dose at the target (E-field, sphere head model)")
        _demo_dose(console, rmt, pat)

        console.rule("8. Plan from the pooled evidence (planner, from the registry)")
        start = baseline_day + dt.timedelta(days=3)
        plan = _demo_plan(console, reg, site, code, pat.protocol, start)

        console.rule("9. Session 1 on the simulated stimulator (virtual time)")
        _demo_deliver(console, reg, site, code, pat, plan, rmt)

        console.rule("10. Closed loop: dry run on a shipped EEG recording (S001R04)")
        _demo_closed_loop(console, reg, site, code, pat.protocol)

        console.rule("11. Follow-up visits")
        for a in pat.assessments:
            if a.day > 0:
                visit = VisitIn(
                    visit_date=baseline_day + dt.timedelta(days=a.day), kind=a.kind
                )
                rec = AssessmentInput(
                    site=site, code=code, visit=visit, scale_id=a.scale, items=a.items
                )
                record_assessment(reg, rec, actor="demo")
        for r, res in reg.responses(site, code, "nrs_phantom_average"):
            if r.visit_kind.value in ("post_treatment", "follow_up"):
                console.print(
                    f"  {r.visit_date.isoformat()} {r.visit_kind.value}: "
                    f"{res.percent_change:.0f} % reduction from baseline -> "
                    f"{res.responder_class.value.replace('_', ' ')} (IMMPACT)"
                )
        audit = reg.verify_audit()
        state = "intact" if audit.ok else "TAMPERED"
        console.print(f"  Audit trail {state} ({audit.entries} entries).")

        console.rule("12. Reports (clinician and patient, HTML and PDF)")
        from ..report import write_reports
        from ..workflow import collect_report_data

        data = collect_report_data(
            reg, site, code, start_date=start, protocol_id=pat.protocol
        )
        paths = write_reports(data, out / "reports")
        for p in paths:
            console.print(f"  {escape(str(p))}")
        outputs += paths
    return outputs


def _demo_rmt(reg: Any, site: str, code: str, pat: DemoPatient, day: Any) -> float:
    from ..motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from ..workflow import RMTInput, record_rmt

    true = pat.rmt_pct_mso if pat.rmt_pct_mso is not None else 50.0
    hunt = hunt_ml_pest(
        SimulatedSubject(SubjectParameters(threshold_pct_mso=true), seed=1),
        start_intensity_pct_mso=min(100.0, true + 10.0),
    )
    hemisphere = "right" if pat.amputation.side.value == "left" else "left"
    recorded = record_rmt(
        reg,
        RMTInput(
            site=site,
            code=code,
            result=hunt,
            hemisphere=hemisphere,
            muscle="FDI",
            stimulator="sim",
        ),
        actor="demo",
    )
    return recorded.rmt_pct_mso


def _demo_dose(console: Any, rmt: float, pat: DemoPatient) -> None:
    from ..efield import DoseRefusedError, standard_coil, transfer_dose
    from ..protocol import load_library

    pct_rmt = load_library().protocol(pat.protocol).blocks[0].dose.intensity_pct_rmt
    pct_rmt = 100.0 if pct_rmt is None else float(pct_rmt)
    scd = pat.scalp_cortex_mm
    if scd is None:
        console.print("  No scalp-to-cortex distance in the patient file: skipped.")
        return
    try:
        res = transfer_dose(
            standard_coil("magstim_70mm_fig8"),
            "magstim_rapid/d70",
            rmt_pct_mso=rmt,
            hotspot_scd_mm=scd,
            target_scd_mm=scd,
            intensity_pct_rmt=pct_rmt,
        )
    except DoseRefusedError as exc:
        console.print(f"  Refused: {exc}")
        return
    for name, thr, pct, field in res.table():
        console.print(
            f"  {name}: threshold {thr:.1f} % MSO, {pct_rmt:g} % RMT = "
            f"{pct:.1f} % MSO, "
            f"{field:.0f} V/m at {scd:g} mm depth"
        )


def _demo_plan(
    console: Any, reg: Any, site: str, code: str, protocol_id: str, start: Any
) -> Any:
    from ..planner import plan_for_patient
    from ..workflow import context_from_registry

    ctx = context_from_registry(reg, site, code)
    result = plan_for_patient(
        ctx.context, start_date=start, protocol_id=protocol_id, policy=ctx.policy
    )
    for r in result.rankings[:3]:
        console.print(
            f"  rank {r.rank}: {r.protocol_id} (evidence: "
            f"{r.evidence.tier.name.lower().replace('_', ' ')}; safety "
            f"{r.verdict.decision.value})"
        )
    if result.plan is None:
        console.print(f"  No plan: {result.problem}")
        return None
    p = result.plan
    console.print(
        f"  Plan: {p.protocol_id}, {len(p.sessions)} sessions from "
        f"{p.sessions[0].date.isoformat()} to {p.sessions[-1].date.isoformat()}, "
        f"{len(p.follow_ups)} follow-up visits; safety "
        f"{result.verdict.decision.value if result.verdict else 'not checked'}."
    )
    return result


def _demo_deliver(
    console: Any,
    reg: Any,
    site: str,
    code: str,
    pat: DemoPatient,
    plan: Any,
    rmt: float,
) -> int:
    from ..delivery import SimulatedStimulator, VirtualClock
    from ..protocol import load_library
    from ..safety import PhysicianReview
    from ..workflow import (
        AssignmentRefusedError,
        assign_protocol,
        prepare_start,
        run_delivery,
    )

    protocol = load_library().protocol(pat.protocol)
    try:
        assigned = assign_protocol(reg, site, code, protocol, actor="demo")
    except AssignmentRefusedError as exc:
        if exc.verdict.decision.value != "review":
            raise
        # what needs review is listed; a (fictional) physician signs it off, as a
        # real one must before the protocol can be assigned and delivered
        for r in exc.verdict.to_review:
            console.print(
                escape(f"  Physician review: [{r.block}] {r.message}"),
                highlight=False,
            )
        review = PhysicianReview(
            physician="Dr Demo (fictional)",
            reason="Reviewed the rules listed above for this fictional patient; "
            "the unverified table cells are accepted for the demonstration.",
        )
        assigned = assign_protocol(
            reg, site, code, protocol, actor="demo", review=review
        )
        console.print(f"  Review recorded by {escape(review.physician)}.")
    # the same pre-session checks as `plptms session run`: screening, RMT and
    # its age, the verdict again under the site's policy, adverse events, audit
    prepared = prepare_start(
        reg,
        site,
        code,
        protocol.id,
        1,
        device="sim",
        actor="demo",
        ae_reviewed=True,
    )
    for c in prepared.checks:
        console.print(escape(f"  check {c.check}: {c.message}"), highlight=False)
    clock = VirtualClock()
    stim = SimulatedStimulator(clock=clock.now, sleep=clock.sleep)
    outcome = run_delivery(
        reg, prepared, stim, actor="demo", clock=clock.now, sleep=clock.sleep
    )
    splan = prepared.plan
    console.print(
        f"  Delivery session {prepared.session_id}: {outcome.status}, "
        f"{outcome.pulses_delivered}/{outcome.pulses_total} pulses in "
        f"{len(splan.trains)} trains at {splan.trains[0].intensity_pct_mso:.1f} % MSO "
        f"(each pulse logged twice); device count {stim.device_pulse_count()}."
    )
    return int(assigned.assignment_id)


def _demo_closed_loop(
    console: Any, reg: Any, site: str, code: str, protocol_id: str
) -> None:
    from ..closedloop import (
        HjorthFilter,
        calibrate,
        read_recording,
        recording_source,
    )
    from ..delivery import SimulatedStimulator
    from ..protocol import DoseAmendment
    from ..workflow import amend_dose, prepare_closedloop, run_closedloop

    rest, task = read_recording("S001R01"), read_recording("S001R04")
    fs = float(rest.info["sfreq"])
    hj = HjorthFilter(rest.ch_names, "C3")
    cal = calibrate(hj.apply(rest.get_data().T), fs)
    doc = {
        "center": hj.center,
        "neighbours": list(hj.neighbours),
        "sfreq_hz": fs,
        "calibration": cal.to_dict(),
    }
    # the dose stays the assignment's; the 2-minute recording is too short for
    # 30 trains, so a recorded amendment lowers them (a higher dose is refused)
    amended = amend_dose(
        reg,
        site,
        code,
        protocol_id,
        DoseAmendment(
            from_session=2,
            trains_per_session=1,
            reason="Demonstration: the closed-loop dry run replays a 2-minute "
            "recording, too short for 30 trains.",
        ),
        actor="demo",
    )
    console.print(
        f"  Amendment {amended.amendment_id} from session 2: 1 train per session "
        f"(verdict {amended.verdict.decision.value})."
    )
    src = recording_source(task)
    prepared = prepare_closedloop(
        reg,
        site,
        code,
        protocol_id,
        2,
        source=src,
        calibration=doc,
        device="sim",
        actor="demo",
        ae_reviewed=True,
        stream="S001R04 (dry run)",
        dry_run=True,
    )
    res = run_closedloop(
        reg, prepared, src, SimulatedStimulator(arm_delay_s=0.0), actor="demo"
    )
    b = res.biomarkers
    console.print(
        f"  Delivery session {prepared.session_id}: {res.pulses}/"
        f"{prepared.max_pulses} pulses at {prepared.intensity_pct_mso:.1f} % MSO "
        f"(the checked dose), at the mu trough (mu {cal.peak.peak_hz:.1f} Hz): "
        f"{res.detail}."
    )
    if b is not None:
        console.print(
            f"  True phase at the triggers: mean error {b.true_mean_error_deg:+.0f} "
            f"deg, {b.true_within_45:.0%} within +/-45 deg; alpha {b.alpha_rel:.0%} "
            "of 4-30 Hz power. Biomarkers stored."
        )
