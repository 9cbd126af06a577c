"""Treatment planner: rank protocols for a patient, plan a course, size a trial.

Pure core: values in, values out. :func:`rank_protocols` ranks the library's
protocols with the evidence, the safety verdict, the fit to the patient and the
2024 consensus (both of its recommendation lines); :func:`make_plan` turns one
protocol into a calendar with intensities, follow-ups and the safety verdict;
:func:`sample_size` sizes a new sham-controlled trial from a pooled effect.
:func:`plan_for_patient` ranks and plans for one patient; :func:`trial_design`
sizes a trial from the pooled evidence (loaded on first use). The patient is built
from the registry by the application layer
(:func:`plptms.workflow.context_from_registry`).
"""

from typing import TYPE_CHECKING, Any

from ._advise import PatientPlan, plan_for_patient
from ._constants import DEFAULT_FOLLOW_UP_WEEKS
from ._override import (
    OVERRIDE_REQUIREMENT,
    OverrideNeed,
    override_needs,
    override_text,
)
from ._patient import PatientContext, PriorTreatment, Response
from ._plan import (
    FollowUpVisit,
    SessionVisit,
    TreatmentPlan,
    follow_up_date,
    make_plan,
    session_dates,
)
from ._power import SampleSize, sample_size
from ._rank import (
    VARIABILITY_NOTE,
    CandidateRanking,
    ConsensusView,
    EvidenceSummary,
    EvidenceTier,
    rank_protocols,
)
from ._text import (
    consensus_text,
    effect_text,
    evidence_tier_text,
    mso_text,
    rmt_text,
    source_text,
    target_basis_text,
    weeks,
)

if TYPE_CHECKING:
    from ._trial import TrialDesign, pool_evidence, trial_design

_LAZY = {
    "TrialDesign": "_trial",
    "pool_evidence": "_trial",
    "trial_design": "_trial",
}


def __getattr__(name: str) -> Any:
    """Load the trial designer on first use."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_FOLLOW_UP_WEEKS",
    "OVERRIDE_REQUIREMENT",
    "VARIABILITY_NOTE",
    "CandidateRanking",
    "ConsensusView",
    "EvidenceSummary",
    "EvidenceTier",
    "FollowUpVisit",
    "OverrideNeed",
    "PatientContext",
    "PatientPlan",
    "PriorTreatment",
    "Response",
    "SampleSize",
    "SessionVisit",
    "TreatmentPlan",
    "TrialDesign",
    "consensus_text",
    "effect_text",
    "evidence_tier_text",
    "follow_up_date",
    "make_plan",
    "mso_text",
    "override_needs",
    "override_text",
    "plan_for_patient",
    "pool_evidence",
    "rank_protocols",
    "rmt_text",
    "sample_size",
    "session_dates",
    "source_text",
    "target_basis_text",
    "trial_design",
    "weeks",
]
