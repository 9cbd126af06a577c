"""The clinical workflow layer: what is done, in which order, with which dose.

Shells (command line, web, API) call this layer; it holds the rules that decide
whether a session may start or resume, and runs it on the registry.

- :func:`prepare_start` / :func:`prepare_resume`: every pre-session check against
  the current registry, the plan derived from the assignment, nothing stored
  before the input is valid.
- :func:`run_delivery`: one runner per session (a lease), the checked plan
  delivered, the outcome stored.
"""

from ._delivery import (
    RESUMABLE_STATUSES,
    PreparedSession,
    SessionRefusedError,
    lease_ttl_s,
    prepare_resume,
    prepare_start,
    run_delivery,
)

__all__ = [
    "RESUMABLE_STATUSES",
    "PreparedSession",
    "SessionRefusedError",
    "lease_ttl_s",
    "prepare_resume",
    "prepare_start",
    "run_delivery",
]
