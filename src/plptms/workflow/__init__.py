"""The clinical workflow layer: what is done, in which order, with which dose.

Shells (command line, web, API) call this layer; it holds the rules that decide
whether a session may start or resume, and runs it on the registry.

- :func:`prepare_start` / :func:`prepare_resume`: every pre-session check against
  the current registry, the plan derived from the assignment, nothing stored
  before the input is valid.
- :func:`run_delivery`: one runner per session (a lease), the checked plan
  delivered, the outcome stored.
- :func:`prepare_closedloop` / :func:`run_closedloop`: a closed-loop session of
  the same checked plan; the EEG decides only when each pulse goes.
- :func:`amend_dose`: a recorded, reasoned lower dose (intensity, trains, the
  closed-loop trigger rule), checked again; never a higher one.
- :func:`context_from_registry`: the planner's view of a registered patient;
  :func:`collect_report_data`: what the reports show. Both are loaded on first
  use.
- :func:`record_screening`, :func:`assign_protocol`: a screening stored with its
  report; a protocol assigned only with a verdict that can lead to delivery (a
  review recorded where one is needed).
- :func:`check_for_site` / :func:`verdict_for_assignment`: safety verdicts under
  the site's policy (margin, physicians' readings of the train table), a recorded
  physician review carried only while it covers what needs review;
  :func:`record_table_readings`, :func:`set_site_policy`, :func:`site_table`: the
  table-verification workflow.
- :func:`record_adverse_event`, :func:`review_adverse_event`,
  :func:`adverse_event_check`: adverse events, physicians' reviews, and the
  pre-session check they feed.
- :func:`create_trial`, :func:`amend_trial`, :func:`enrol_patient`,
  :func:`allocation_for`, :func:`unblind`, :func:`replay_allocations`: the trial
  engine (versioned definitions, concealed allocation at enrolment, kit codes,
  role-checked views, audited emergency unblinding, the statistician's replay).
- :func:`create_user`, :func:`authenticate`, :func:`principal_for`,
  :func:`issue_api_token`, :func:`principal_from_token`: user accounts, sign-in
  (Argon2id, throttled) and API tokens (stored as SHA-256); the principal they
  return is what every other use case checks (:mod:`plptms.access`).
- :func:`site_today`: the site's calendar date (its time zone, a site setting
  recorded with :func:`set_site`), the one "today" of every use case.
"""

from typing import TYPE_CHECKING, Any

from ._accounts import (
    LoginRefusedError,
    UserInput,
    authenticate,
    check_password,
    create_user,
    deactivate_user,
    issue_api_token,
    list_api_tokens,
    list_users,
    principal_for,
    principal_from_token,
    revoke_api_token,
    set_password,
    set_user_sites,
)
from ._adverse import (
    AdverseEventInput,
    AdverseEventRecorded,
    AdverseEventReviewInput,
    adverse_event_check,
    list_adverse_events,
    record_adverse_event,
    review_adverse_event,
)
from ._amend import AmendmentResult, amend_dose, amended_protocol
from ._clinic import (
    AssignmentRefusedError,
    AssignmentResult,
    assign_protocol,
    record_screening,
)
from ._closedloop import (
    CLOSEDLOOP_STATUS,
    PreparedClosedLoop,
    prepare_closedloop,
    run_closedloop,
)
from ._console_hub import (
    CONSOLE_SPEED_ENV,
    DEFAULT_CONSOLE_SPEED,
    ScaledClock,
    SessionConsole,
    console_speed,
)
from ._delivery import (
    RESUMABLE_STATUSES,
    PreparedSession,
    SessionRefusedError,
    abort_session,
    authorise_restart,
    lease_ttl_s,
    prepare_resume,
    prepare_start,
    run_delivery,
)
from ._demo_seed import (
    DEMO_PASSWORD,
    DemoAccount,
    DemoSeed,
    seed_demo,
)
from ._records import (
    AssessmentInput,
    PatientInput,
    VisitInput,
    add_visit,
    correct_assessment,
    record_assessment,
    record_assessments,
    register_patient,
)
from ._safety import (
    check_for_site,
    record_table_readings,
    review_keys,
    set_site_policy,
    site_table,
    verdict_for_assignment,
)
from ._sites import get_site, set_site, site_today
from ._threshold import RMTInput, RMTRecorded, record_rmt
from ._trial_data import (
    ANALYSIS_ROLES,
    AnalysisRefusedError,
    TrialAnalysisInputs,
    trial_analysis,
    trial_analysis_inputs,
    trial_consort,
    trial_dataset,
    trial_interim,
    trial_odm,
)
from ._trial_followup import (
    FollowUpRefusedError,
    PatientVisits,
    TrialVisitInput,
    TrialVisitLists,
    VisitLine,
    WithdrawalInput,
    randomisation_date,
    record_trial_visit,
    trial_visit_kind,
    trial_visit_lists,
    withdraw_patient,
)
from ._trial_records import (
    BlindingGuessInput,
    BlindingReport,
    CoInterventionInput,
    MedicationChangeInput,
    ScreeningOutcomeInput,
    blinding_assessment,
    record_blinding_guess,
    record_cointervention,
    record_medication_change,
    record_screening_outcome,
    screening_log,
)
from ._trial_safety import (
    StoppingRuleState,
    TrialAdverseEvent,
    TrialSafetyStatus,
    record_trial_adverse_event,
    stopping_rule_states,
)
from ._trials import (
    ARM_VIEW_ROLES,
    UNBLIND_REASON_MIN_CHARS,
    UNBLIND_ROLES,
    AllocationView,
    Enrolment,
    EnrolmentRefusedError,
    ReplayMismatch,
    ReplayReport,
    TrialDefinitionLike,
    TrialSessionStart,
    UnblindingRefusedError,
    UnblindingResult,
    allocation_for,
    amend_trial,
    create_trial,
    enrol_patient,
    prepare_trial_session,
    replay_allocations,
    unblind,
)
from ._views import (
    AdverseEventLine,
    AssessmentEntry,
    AssignmentView,
    DeliveryLine,
    ItemField,
    PatientNotFoundError,
    PatientPage,
    PatientSummary,
    RMTView,
    ScaleForm,
    ScreeningView,
    TreatmentView,
    check_items,
    entry_patient,
    list_patients_for,
    patient_assessments,
    patient_page,
    record_assessment_for,
    scale_form,
    scale_forms,
    trajectory_svg,
)
from ._views_admin import (
    DOSE_CHECK_PROTOCOL_ID,
    ProtocolSummary,
    check_dose_for,
    create_user_for,
    deactivate_user_for,
    issue_token_for,
    list_protocols_for,
    list_users_for,
    register_patient_for,
    verify_audit_for,
)
from ._views_clinic import (
    ANSWERS,
    AssignPage,
    RuleLine,
    ScreeningFormView,
    ScreeningItemField,
    VerdictView,
    assign_page,
    assign_protocol_for,
    record_screening_for,
    screening_form,
    verdict_view,
)
from ._views_console import (
    CONSOLE_ACTIONS,
    ConsolePage,
    ConsoleSession,
    LiveStatus,
    authorise_restart_for,
    console_page,
    control_session_for,
    resume_session_for,
    session_status_for,
    start_session_for,
)
from ._views_reports import (
    REPORT_KINDS,
    ReportFile,
    ReportUnavailableError,
    report_for,
)
from ._views_trial import (
    ArmLine,
    EnrolCandidate,
    EnrolForm,
    EnrolmentLine,
    FactorLine,
    TrialLine,
    TrialNotFoundError,
    TrialPage,
    TrialPatientPage,
    engine_role,
    enrol_form,
    list_trials_for,
    trial_page,
    trial_patient_page,
    trial_visit_lists_for,
)
from ._views_trial_actions import (
    enrol_for,
    record_trial_ae_for,
    record_trial_visit_for,
    unblind_for,
)
from ._views_trial_data import (
    DATASET_FORMATS,
    ConsortImages,
    consort_images_for,
    odm_for,
    trial_analysis_for,
    trial_dataset_for,
    trial_interim_for,
)

if TYPE_CHECKING:
    from ._planning import (
        PAIN_SCALE_PREFERENCE,
        LatestScore,
        RegistryContext,
        context_from_records,
        context_from_registry,
    )
    from ._reports import collect_report_data

_LAZY = {
    "PAIN_SCALE_PREFERENCE": "_planning",
    "LatestScore": "_planning",
    "RegistryContext": "_planning",
    "context_from_records": "_planning",
    "context_from_registry": "_planning",
    "collect_report_data": "_reports",
}


def __getattr__(name: str) -> Any:
    """Load the planning and report bridges on first use."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ANALYSIS_ROLES",
    "ANSWERS",
    "ARM_VIEW_ROLES",
    "CLOSEDLOOP_STATUS",
    "CONSOLE_ACTIONS",
    "CONSOLE_SPEED_ENV",
    "DATASET_FORMATS",
    "DEFAULT_CONSOLE_SPEED",
    "DEMO_PASSWORD",
    "DOSE_CHECK_PROTOCOL_ID",
    "PAIN_SCALE_PREFERENCE",
    "REPORT_KINDS",
    "RESUMABLE_STATUSES",
    "UNBLIND_REASON_MIN_CHARS",
    "UNBLIND_ROLES",
    "AdverseEventInput",
    "AdverseEventLine",
    "AdverseEventRecorded",
    "AdverseEventReviewInput",
    "AllocationView",
    "AmendmentResult",
    "AnalysisRefusedError",
    "ArmLine",
    "AssessmentEntry",
    "AssessmentInput",
    "AssignPage",
    "AssignmentRefusedError",
    "AssignmentResult",
    "AssignmentView",
    "BlindingGuessInput",
    "BlindingReport",
    "CoInterventionInput",
    "ConsolePage",
    "ConsoleSession",
    "ConsortImages",
    "DeliveryLine",
    "DemoAccount",
    "DemoSeed",
    "EnrolCandidate",
    "EnrolForm",
    "Enrolment",
    "EnrolmentLine",
    "EnrolmentRefusedError",
    "FactorLine",
    "FollowUpRefusedError",
    "ItemField",
    "LatestScore",
    "LiveStatus",
    "LoginRefusedError",
    "MedicationChangeInput",
    "PatientInput",
    "PatientNotFoundError",
    "PatientPage",
    "PatientSummary",
    "PatientVisits",
    "PreparedClosedLoop",
    "PreparedSession",
    "ProtocolSummary",
    "RMTInput",
    "RMTRecorded",
    "RMTView",
    "RegistryContext",
    "ReplayMismatch",
    "ReplayReport",
    "ReportFile",
    "ReportUnavailableError",
    "RuleLine",
    "ScaleForm",
    "ScaledClock",
    "ScreeningFormView",
    "ScreeningItemField",
    "ScreeningOutcomeInput",
    "ScreeningView",
    "SessionConsole",
    "SessionRefusedError",
    "StoppingRuleState",
    "TreatmentView",
    "TrialAdverseEvent",
    "TrialAnalysisInputs",
    "TrialDefinitionLike",
    "TrialLine",
    "TrialNotFoundError",
    "TrialPage",
    "TrialPatientPage",
    "TrialSafetyStatus",
    "TrialSessionStart",
    "TrialVisitInput",
    "TrialVisitLists",
    "UnblindingRefusedError",
    "UnblindingResult",
    "UserInput",
    "VerdictView",
    "VisitInput",
    "VisitLine",
    "WithdrawalInput",
    "abort_session",
    "add_visit",
    "adverse_event_check",
    "allocation_for",
    "amend_dose",
    "amend_trial",
    "amended_protocol",
    "assign_page",
    "assign_protocol",
    "assign_protocol_for",
    "authenticate",
    "authorise_restart",
    "authorise_restart_for",
    "blinding_assessment",
    "check_dose_for",
    "check_for_site",
    "check_items",
    "check_password",
    "collect_report_data",
    "console_page",
    "console_speed",
    "consort_images_for",
    "context_from_records",
    "context_from_registry",
    "control_session_for",
    "correct_assessment",
    "create_trial",
    "create_user",
    "create_user_for",
    "deactivate_user",
    "deactivate_user_for",
    "engine_role",
    "enrol_for",
    "enrol_form",
    "enrol_patient",
    "entry_patient",
    "get_site",
    "issue_api_token",
    "issue_token_for",
    "lease_ttl_s",
    "list_adverse_events",
    "list_api_tokens",
    "list_patients_for",
    "list_protocols_for",
    "list_trials_for",
    "list_users",
    "list_users_for",
    "odm_for",
    "patient_assessments",
    "patient_page",
    "prepare_closedloop",
    "prepare_resume",
    "prepare_start",
    "prepare_trial_session",
    "principal_for",
    "principal_from_token",
    "randomisation_date",
    "record_adverse_event",
    "record_assessment",
    "record_assessment_for",
    "record_assessments",
    "record_blinding_guess",
    "record_cointervention",
    "record_medication_change",
    "record_rmt",
    "record_screening",
    "record_screening_for",
    "record_screening_outcome",
    "record_table_readings",
    "record_trial_adverse_event",
    "record_trial_ae_for",
    "record_trial_visit",
    "record_trial_visit_for",
    "register_patient",
    "register_patient_for",
    "replay_allocations",
    "report_for",
    "resume_session_for",
    "review_adverse_event",
    "review_keys",
    "revoke_api_token",
    "run_closedloop",
    "run_delivery",
    "scale_form",
    "scale_forms",
    "screening_form",
    "screening_log",
    "seed_demo",
    "session_status_for",
    "set_password",
    "set_site",
    "set_site_policy",
    "set_user_sites",
    "site_table",
    "site_today",
    "start_session_for",
    "stopping_rule_states",
    "trajectory_svg",
    "trial_analysis",
    "trial_analysis_for",
    "trial_analysis_inputs",
    "trial_consort",
    "trial_dataset",
    "trial_dataset_for",
    "trial_interim",
    "trial_interim_for",
    "trial_odm",
    "trial_page",
    "trial_patient_page",
    "trial_visit_kind",
    "trial_visit_lists",
    "trial_visit_lists_for",
    "unblind",
    "unblind_for",
    "verdict_for_assignment",
    "verdict_view",
    "verify_audit_for",
    "withdraw_patient",
]
