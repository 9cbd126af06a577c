"""Patient registry: pseudonymous patients, visits, scored assessments, audit trail.

SQLAlchemy 2 + Alembic; SQLite (WAL) by default, PostgreSQL by URL.
"""

from ._adverse import (
    ActionTaken,
    AdverseEventIn,
    AdverseEventOut,
    AdverseEventReviewOut,
    AdverseEventTerm,
    Outcome,
    Relatedness,
    SeriousCriterion,
    Severity,
)
from ._amendments import AmendmentOut
from ._anchor import AuditHead
from ._audit import AuditReport
from ._delivery_log import RegistryDeliveryLog
from ._models import (
    AssessmentOut,
    AssignmentOut,
    BiomarkerOut,
    DeliveryEvent,
    DeliveryOut,
    DuplicateRecordError,
    LeaseLostError,
    PatientOut,
    RecordNotFoundError,
    RegistryError,
    SessionLeasedError,
    SessionStatus,
    TreatmentSessionOut,
    VisitIn,
    VisitKind,
    VisitOut,
)
from ._service import Registry
from ._sites import SiteOut
from ._trial_keys import kit_code
from ._trial_models import EnrolmentOut, TrialOut, TrialVersionOut, UnblindingOut

__all__ = [
    "ActionTaken",
    "AdverseEventIn",
    "AdverseEventOut",
    "AdverseEventReviewOut",
    "AdverseEventTerm",
    "AmendmentOut",
    "AssessmentOut",
    "AssignmentOut",
    "AuditHead",
    "AuditReport",
    "BiomarkerOut",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "EnrolmentOut",
    "LeaseLostError",
    "Outcome",
    "PatientOut",
    "RecordNotFoundError",
    "Registry",
    "RegistryDeliveryLog",
    "RegistryError",
    "Relatedness",
    "SeriousCriterion",
    "SessionLeasedError",
    "SessionStatus",
    "Severity",
    "SiteOut",
    "TreatmentSessionOut",
    "TrialOut",
    "TrialVersionOut",
    "UnblindingOut",
    "VisitIn",
    "VisitKind",
    "VisitOut",
    "kit_code",
]
