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
from ._console_relay import (
    CONSOLE_COMMANDS,
    ConsoleCommandOut,
    ConsoleLiveOut,
    ConsoleNotRunningError,
)
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
from ._trial_followup_models import (
    BLINDING_ANSWERS_3,
    BLINDING_ANSWERS_5,
    BLINDING_RESPONDENTS,
    MEDICATION_CHANGES,
    SCREENING_OUTCOMES,
    WITHDRAWAL_REASONS,
    BlindingGuessOut,
    CoInterventionOut,
    MedicationChangeOut,
    ScreeningOutcomeOut,
    TrialVisitOut,
    WithdrawalOut,
)
from ._trial_keys import kit_code
from ._trial_models import EnrolmentOut, TrialOut, TrialVersionOut, UnblindingOut
from ._users_models import (
    ApiTokenOut,
    UserCredential,
    UserOut,
    check_display_name,
    check_sites,
    check_username,
)
from ._web_sessions import (
    WEB_SESSION_KEEP,
    WebSessionOut,
)
from .db._engine import RegistryUnavailableError
from .db._pool import (
    PoolSettings,
    check_connection_budget,
    pool_settings_from_env,
    site_connections,
)

__all__ = [
    "BLINDING_ANSWERS_3",
    "BLINDING_ANSWERS_5",
    "BLINDING_RESPONDENTS",
    "CONSOLE_COMMANDS",
    "MEDICATION_CHANGES",
    "SCREENING_OUTCOMES",
    "WEB_SESSION_KEEP",
    "WITHDRAWAL_REASONS",
    "ActionTaken",
    "AdverseEventIn",
    "AdverseEventOut",
    "AdverseEventReviewOut",
    "AdverseEventTerm",
    "AmendmentOut",
    "ApiTokenOut",
    "AssessmentOut",
    "AssignmentOut",
    "AuditHead",
    "AuditReport",
    "BiomarkerOut",
    "BlindingGuessOut",
    "CoInterventionOut",
    "ConsoleCommandOut",
    "ConsoleLiveOut",
    "ConsoleNotRunningError",
    "DeliveryEvent",
    "DeliveryOut",
    "DuplicateRecordError",
    "EnrolmentOut",
    "LeaseLostError",
    "MedicationChangeOut",
    "Outcome",
    "PatientOut",
    "PoolSettings",
    "RecordNotFoundError",
    "Registry",
    "RegistryDeliveryLog",
    "RegistryError",
    "RegistryUnavailableError",
    "Relatedness",
    "ScreeningOutcomeOut",
    "SeriousCriterion",
    "SessionLeasedError",
    "SessionStatus",
    "Severity",
    "SiteOut",
    "TreatmentSessionOut",
    "TrialOut",
    "TrialVersionOut",
    "TrialVisitOut",
    "UnblindingOut",
    "UserCredential",
    "UserOut",
    "VisitIn",
    "VisitKind",
    "VisitOut",
    "WebSessionOut",
    "WithdrawalOut",
    "check_connection_budget",
    "check_display_name",
    "check_sites",
    "check_username",
    "kit_code",
    "pool_settings_from_env",
    "site_connections",
]
