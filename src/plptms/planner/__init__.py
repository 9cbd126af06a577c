"""Treatment planner: rank protocols for a patient, plan a course, size a trial.

Pure core: values in, values out. :func:`rank_protocols` ranks the library's
protocols with the evidence, the safety verdict, the fit to the patient and the
2024 consensus (both of its recommendation lines); :func:`make_plan` turns one
protocol into a calendar with intensities, follow-ups and the safety verdict;
:func:`sample_size` sizes a new sham-controlled trial from a pooled effect.
"""

from ._patient import PatientContext, PriorTreatment, Response
from ._plan import FollowUpVisit, SessionVisit, TreatmentPlan, make_plan, session_dates
from ._power import SampleSize, sample_size
from ._rank import (
    VARIABILITY_NOTE,
    CandidateRanking,
    ConsensusView,
    EvidenceSummary,
    EvidenceTier,
    rank_protocols,
)

__all__ = [
    "VARIABILITY_NOTE",
    "CandidateRanking",
    "ConsensusView",
    "EvidenceSummary",
    "EvidenceTier",
    "FollowUpVisit",
    "PatientContext",
    "PriorTreatment",
    "Response",
    "SampleSize",
    "SessionVisit",
    "TreatmentPlan",
    "make_plan",
    "rank_protocols",
    "sample_size",
    "session_dates",
]
