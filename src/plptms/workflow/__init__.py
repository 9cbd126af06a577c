"""The clinical workflow layer: what is done, in which order, with which dose.

Shells (command line, web, API) call this layer; it holds the rules that decide
whether a session may start or resume, and runs it on the registry.

- :func:`prepare_start` / :func:`prepare_resume`: every pre-session check against
  the current registry, the plan derived from the assignment, nothing stored
  before the input is valid.
- :func:`run_delivery`: one runner per session (a lease), the checked plan
  delivered, the outcome stored.
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
"""

from typing import TYPE_CHECKING, Any

from ._clinic import (
    AssignmentRefusedError,
    AssignmentResult,
    assign_protocol,
    record_screening,
)
from ._delivery import (
    RESUMABLE_STATUSES,
    PreparedSession,
    SessionRefusedError,
    lease_ttl_s,
    prepare_resume,
    prepare_start,
    run_delivery,
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
    "PAIN_SCALE_PREFERENCE",
    "RESUMABLE_STATUSES",
    "AssessmentInput",
    "AssignmentRefusedError",
    "AssignmentResult",
    "LatestScore",
    "PatientInput",
    "PreparedSession",
    "RegistryContext",
    "SessionRefusedError",
    "VisitInput",
    "add_visit",
    "assign_protocol",
    "check_for_site",
    "collect_report_data",
    "context_from_records",
    "context_from_registry",
    "correct_assessment",
    "lease_ttl_s",
    "prepare_resume",
    "prepare_start",
    "record_assessment",
    "record_assessments",
    "record_screening",
    "record_table_readings",
    "register_patient",
    "review_keys",
    "run_delivery",
    "set_site_policy",
    "site_table",
    "verdict_for_assignment",
]
