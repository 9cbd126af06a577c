"""Patient registry: pseudonymous patients, visits, scored assessments, audit trail.

SQLAlchemy 2 + Alembic; SQLite (WAL) by default, PostgreSQL by URL.
"""

from ._anchor import AuditHead
from ._audit import AuditReport
from ._models import (
    AssessmentOut,
    AssignmentOut,
    BiomarkerOut,
    DeliveryEvent,
    DeliveryOut,
    DuplicateRecordError,
    PatientOut,
    RecordNotFoundError,
    RegistryError,
    SessionStatus,
    TreatmentSessionOut,
    VisitIn,
    VisitKind,
    VisitOut,
)
from ._service import Registry

__all__ = [
    "AssessmentOut",
    "AssignmentOut",
    "AuditHead",
    "AuditReport",
    "BiomarkerOut",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "PatientOut",
    "RecordNotFoundError",
    "Registry",
    "RegistryError",
    "SessionStatus",
    "TreatmentSessionOut",
    "VisitIn",
    "VisitKind",
    "VisitOut",
]
