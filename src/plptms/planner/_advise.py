"""Rank the protocols for a patient and plan the chosen (or first) one."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..protocol import ProtocolLibrary, Study, TargetDeviation, load_library
from ..safety import Decision, Override, ScreeningStatus, UnsafeProtocolError, Verdict
from ..utils import check_type
from ._override import OVERRIDE_REQUIREMENT, OverrideNeed, override_needs
from ._patient import PatientContext
from ._plan import TreatmentPlan, make_plan
from ._rank import CandidateRanking, rank_protocols

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..meta import OutcomeStudy
    from ..safety import SafetyPolicy

__all__ = ["PatientPlan", "plan_for_patient"]

logger = logging.getLogger(__name__)


class PatientPlan(BaseModel):
    """The ranking for one patient and the plan of the chosen protocol.

    Attributes
    ----------
    patient : PatientContext
        The patient.
    rankings : tuple of CandidateRanking
        Every protocol, best first (empty when screening excluded the patient).
    protocol_id : str | None
        Protocol planned: the one asked for, else the first of the ranking.
    requested : bool
        Whether ``protocol_id`` was asked for (not the first of the ranking).
    plan : TreatmentPlan | None
        The plan; ``None`` when there is none (see ``problem``).
    verdict : Verdict | None
        Safety verdict of ``protocol_id`` (a refusal included).
    problem : str | None
        Why there is no plan: screening exclusion, safety refusal or a protocol
        that cannot be planned for this patient.
    override_needs : tuple of OverrideNeed
        After a safety refusal: each refused rule (block, field, value, limit),
        whether it can be overridden and what an override needs.
    study : Study | None
        The library study of ``protocol_id`` (primary source, what was read, arm
        outcomes and corrections of the review), ``None`` without one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient: PatientContext
    rankings: tuple[CandidateRanking, ...]
    protocol_id: str | None
    requested: bool
    plan: TreatmentPlan | None
    verdict: Verdict | None
    problem: str | None
    override_needs: tuple[OverrideNeed, ...] = ()
    study: Study | None = None

    @property
    def excluded(self) -> bool:
        """Whether screening excluded the patient."""
        return self.patient.screening is ScreeningStatus.EXCLUDED

    @property
    def refused(self) -> bool:
        """Whether the safety engine refused the protocol planned."""
        return self.verdict is not None and self.verdict.decision is Decision.REFUSED

    @property
    def chosen(self) -> CandidateRanking | None:
        """The ranking row of the protocol planned."""
        return next(
            (r for r in self.rankings if r.protocol_id == self.protocol_id), None
        )


def plan_for_patient(
    patient: PatientContext,
    *,
    start_date: dt.date,
    protocol_id: str | None = None,
    sessions_per_week: int | None = None,
    library: ProtocolLibrary | None = None,
    evidence: Sequence[OutcomeStudy] | None = None,
    overrides: Sequence[Override] = (),
    target_deviations: Sequence[TargetDeviation] = (),
    policy: SafetyPolicy | None = None,
) -> PatientPlan:
    """Rank every protocol for ``patient`` and plan one.

    Parameters
    ----------
    patient : PatientContext
        The patient.
    start_date : datetime.date
        First possible treatment day.
    protocol_id : str | None
        Library protocol to plan; default the first of the ranking.
    sessions_per_week : int | None
        Sessions a week in [1, 5]; default from the protocol.
    library : ProtocolLibrary | None
        Protocols; default :func:`plptms.protocol.load_library`.
    evidence : sequence of OutcomeStudy | None
        Outcome data; default :func:`plptms.meta.load_evidence`.
    overrides : sequence of plptms.safety.Override
        Recorded operator overrides of overridable refusals, passed to
        :func:`make_plan` (the plan then needs physician review).
    target_deviations : sequence of plptms.protocol.TargetDeviation
        Recorded decisions to plan a block on a target its study did not use,
        passed to :func:`make_plan` (shown as not studied).
    policy : plptms.safety.SafetyPolicy | None
        The site's safety policy (its name, margin and physicians' readings of
        the train table); the default policy when ``None``.

    Returns
    -------
    result : PatientPlan
        Ranking and plan. A screening exclusion, a safety refusal or a protocol
        that cannot be planned for this patient gives no plan and says why in
        ``problem``; nothing is planned around it.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    KeyError
        If ``protocol_id`` is not in the library.
    ValueError
        If ``sessions_per_week`` is out of range, an override targets a rule that
        cannot be overridden or a deviation is invalid.
    """
    check_type(patient, PatientContext, "patient")
    check_type(start_date, dt.date, "start_date")
    lib = load_library() if library is None else library
    protocol = None if protocol_id is None else lib.protocol(protocol_id)
    rankings = rank_protocols(patient, library=lib, evidence=evidence, policy=policy)
    if patient.screening is ScreeningStatus.EXCLUDED:
        return PatientPlan(
            patient=patient,
            rankings=rankings,
            protocol_id=protocol_id,
            requested=protocol_id is not None,
            plan=None,
            verdict=None,
            problem=(
                "screening excluded the patient (an absolute contraindication was "
                "found): no protocol is ranked or planned"
            ),
        )
    if protocol is None:
        protocol = lib.protocol(rankings[0].protocol_id)
    study = (
        lib.studies.get(protocol.study_id) if protocol.study_id is not None else None
    )
    try:
        plan = make_plan(
            protocol,
            patient,
            start_date=start_date,
            sessions_per_week=sessions_per_week,
            overrides=overrides,
            target_deviations=target_deviations,
            policy=policy,
        )
    except UnsafeProtocolError as exc:
        logger.info("Protocol %s refused for %s.", protocol.id, patient.patient_id)
        needs = override_needs(exc.verdict)
        can = all(n.overridable for n in needs)
        return PatientPlan(
            patient=patient,
            rankings=rankings,
            protocol_id=protocol.id,
            requested=protocol_id is not None,
            plan=None,
            verdict=exc.verdict,
            problem=f"the safety engine refused {protocol.id!r}: "
            + "; ".join(f"[{r.block}] {r.message}" for r in exc.verdict.failures)
            + (
                f" Every refusal here is overridable: {OVERRIDE_REQUIREMENT}."
                if can
                else " At least one refusal cannot be overridden."
            ),
            override_needs=needs,
            study=study,
        )
    except ValueError as exc:
        if "sessions_per_week" in str(exc) and sessions_per_week is not None:
            raise
        if "override" in str(exc) or "deviation" in str(exc):
            raise
        row = next(r for r in rankings if r.protocol_id == protocol.id)
        return PatientPlan(
            patient=patient,
            rankings=rankings,
            protocol_id=protocol.id,
            requested=protocol_id is not None,
            plan=None,
            verdict=row.verdict,
            problem=f"{protocol.id!r} cannot be planned for this patient: {exc}",
            study=study,
        )
    return PatientPlan(
        patient=patient,
        rankings=rankings,
        protocol_id=protocol.id,
        requested=protocol_id is not None,
        plan=plan,
        verdict=plan.verdict,
        problem=None,
        study=study,
    )
