"""Patient registry: pseudonymous patients, visits, scored assessments, audit trail.

SQLAlchemy 2 + Alembic; SQLite (WAL) by default, PostgreSQL by URL.
"""

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

__all__ = [
    "AmendmentOut",
    "AssessmentOut",
    "AssignmentOut",
    "AuditHead",
    "AuditReport",
    "BiomarkerOut",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "LeaseLostError",
    "PatientOut",
    "RecordNotFoundError",
    "Registry",
    "RegistryDeliveryLog",
    "RegistryError",
    "SessionLeasedError",
    "SessionStatus",
    "TreatmentSessionOut",
    "VisitIn",
    "VisitKind",
    "VisitOut",
]
