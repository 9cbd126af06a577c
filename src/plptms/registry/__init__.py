"""Patient registry: pseudonymous patients, visits, scored assessments, audit trail.

SQLAlchemy 2 + Alembic; SQLite (WAL) by default, PostgreSQL by URL.
"""

from ._audit import AuditReport
from ._models import (
    AssessmentOut,
    DeliveryEvent,
    DeliveryOut,
    DuplicateRecordError,
    PatientOut,
    RecordNotFoundError,
    RegistryError,
    SessionStatus,
    VisitIn,
    VisitKind,
    VisitOut,
)
from ._service import Registry

__all__ = [
    "AssessmentOut",
    "AuditReport",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "PatientOut",
    "RecordNotFoundError",
    "Registry",
    "RegistryError",
    "SessionStatus",
    "VisitIn",
    "VisitKind",
    "VisitOut",
]
