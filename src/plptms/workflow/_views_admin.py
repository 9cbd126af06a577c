"""Guarded use cases of the API's new endpoints and the administration pages.

Each function checks the permission table first (:func:`plptms.access.require`,
with the site where there is one), runs patient reads and writes on the
registry scoped to the caller's sites (row-level security on PostgreSQL), and
records the authenticated username as the audited actor. The web layer only
parses and renders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, Role, require
from ._views import PatientSummary

if TYPE_CHECKING:
    from ..protocol import StimulationDose
    from ..registry import AuditReport, Registry, UserOut
    from ..safety import Verdict

__all__ = [
    "DOSE_CHECK_PROTOCOL_ID",
    "ProtocolSummary",
    "check_dose_for",
    "create_user_for",
    "deactivate_user_for",
    "issue_own_token",
    "list_protocols_for",
    "list_users_for",
    "register_patient_for",
    "verify_audit_for",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Id of the one-block protocol a dose is checked as.
DOSE_CHECK_PROTOCOL_ID = "dose-check"


class ProtocolSummary(BaseModel):
    """A protocol of the shipped library, as the API lists it.

    Attributes
    ----------
    id, name : str
        The protocol.
    condition : str
        ``active`` or ``sham``.
    study_id : str | None
        The library study it comes from.
    blocks : tuple of str
        ``label: pattern at target`` for each block.
    """

    model_config = _FROZEN

    id: str
    name: str
    condition: str
    study_id: str | None
    blocks: tuple[str, ...]


def register_patient_for(
    reg: Registry, principal: Principal, site: str, code: str
) -> PatientSummary:
    """Register a patient at one of the caller's sites (the caller is the actor).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The caller.
    site, code : str
        Site and pseudonymous code (1-32 letters, digits, ``_`` or ``-``).

    Returns
    -------
    patient : PatientSummary
        The stored patient.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not register patients, or ``site`` is not the caller's.
    plptms.registry.RegistryError
        On a bad code, or one that exists
        (:class:`~plptms.registry.DuplicateRecordError`); nothing is stored.
    """
    from ._records import PatientInput, register_patient

    require(principal, Permission.PATIENT_WRITE, site=site)
    p = register_patient(
        reg.scoped(principal.sites),
        PatientInput(site=site, code=code),
        actor=principal.username,
    )
    return PatientSummary(
        site=p.site,
        code=p.code,
        amputation_date=p.amputation_date,
        created_at=p.created_at,
    )


def list_protocols_for(principal: Principal) -> list[ProtocolSummary]:
    """List the protocols of the shipped library (reference data, no patient).

    Parameters
    ----------
    principal : plptms.access.Principal
        The caller (needs ``treatment.read``: a blinded rater sees none).

    Returns
    -------
    protocols : list of ProtocolSummary
        By id.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read treatment.
    """
    from ..protocol import load_library

    require(principal, Permission.TREATMENT_READ)
    lib = load_library()
    return [
        ProtocolSummary(
            id=p.id,
            name=p.name,
            condition=p.condition.value,
            study_id=p.study_id,
            blocks=tuple(
                f"{b.label}: {b.dose.pattern.value} at {b.dose.target.value}"
                for b in p.blocks
            ),
        )
        for p in sorted(lib.protocols.values(), key=lambda p: p.id)
    ]


def check_dose_for(
    principal: Principal, dose: StimulationDose, *, rmt_pct_mso: float | None
) -> Verdict:
    """Check one session's dose with the safety engine (nothing is stored).

    The dose is checked as a one-block protocol by
    :func:`plptms.safety.check_protocol` with the default policy.

    Parameters
    ----------
    principal : plptms.access.Principal
        The caller (needs ``protocol.assign``).
    dose : plptms.protocol.StimulationDose
        The dose (its own validators have checked types and ranges).
    rmt_pct_mso : float | None
        The patient's RMT, % MSO, for the stimulator-output rule.

    Returns
    -------
    verdict : plptms.safety.Verdict
        Every rule with its status, and the decision.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not assign protocols.
    ValueError
        If ``rmt_pct_mso`` is out of (0, 100] % MSO.
    """
    from ..protocol import Condition, CourseBlock, Protocol
    from ..safety import check_protocol

    require(principal, Permission.PROTOCOL_ASSIGN)
    protocol = Protocol(
        id=DOSE_CHECK_PROTOCOL_ID,
        name="Dose check",
        condition=Condition.ACTIVE,
        blocks=(
            CourseBlock(
                label="dose",
                dose=dose,
                sessions=None,
                sessions_per_week=None,
                course_weeks=None,
            ),
        ),
    )
    return check_protocol(protocol, rmt_pct_mso=rmt_pct_mso)


def list_users_for(reg: Registry, principal: Principal) -> list[UserOut]:
    """List every account (needs ``user.manage``).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The caller.

    Returns
    -------
    users : list of plptms.registry.UserOut
        By username (no password hash).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not manage users.
    """
    from ._accounts import list_users

    require(principal, Permission.USER_MANAGE)
    return list_users(reg, by=principal)


def create_user_for(
    reg: Registry,
    principal: Principal,
    *,
    username: str,
    display_name: str,
    role: Role,
    sites: frozenset[str],
    password: str,
) -> UserOut:
    """Create an account (needs ``user.manage``; the caller is the actor).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The caller.
    username, display_name : str
        The account.
    role : plptms.access.Role
        Its role.
    sites : frozenset of str
        Its sites.
    password : str
        Its first password (policy: :func:`plptms.workflow.check_password`).

    Returns
    -------
    user : plptms.registry.UserOut
        The account.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not manage users.
    ValueError
        On a field against its rule (named) or a taken username; nothing is
        stored.
    """
    from ._accounts import UserInput, create_user

    require(principal, Permission.USER_MANAGE)
    user = UserInput(
        username=username,
        display_name=display_name,
        role=role,
        sites=sites,
        password=password,
    )
    return create_user(reg, user, by=principal)


def deactivate_user_for(reg: Registry, principal: Principal, username: str) -> UserOut:
    """Deactivate an account (needs ``user.manage``; not one's own).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The caller.
    username : str
        Whose account.

    Returns
    -------
    user : plptms.registry.UserOut
        The account, inactive: its sessions end and its tokens stop working.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not manage users.
    ValueError
        If unknown, inactive already, or the caller's own.
    """
    from ._accounts import deactivate_user

    require(principal, Permission.USER_MANAGE)
    return deactivate_user(reg, username, by=principal)


def issue_own_token(
    reg: Registry, principal: Principal, *, label: str, ttl_days: int
) -> str:
    """Issue an API token for the signed-in user themselves.

    A token is a personal credential: it acts as its user on the API. So each
    user issues their own (any role), and nobody, the administrator included,
    issues one that acts as someone else; the administrator ends a user's
    tokens by deactivating the account.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (reloaded: an inactive account is refused).
    label : str
        What it is for (1-64 characters).
    ttl_days : int
        Lifetime, days (1-365).

    Returns
    -------
    token : str
        The plaintext, to be shown once; only its SHA-256 is stored.

    Raises
    ------
    ValueError
        On an inactive user, a bad label or lifetime (nothing is stored).
    """
    from ._accounts import issue_api_token, principal_for

    return issue_api_token(
        reg, principal_for(reg, principal.username), label=label, ttl_days=ttl_days
    )


def verify_audit_for(reg: Registry, principal: Principal) -> AuditReport:
    """Verify the audit trail end to end (needs ``audit.verify``).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The caller (administrator or monitor).

    Returns
    -------
    report : plptms.registry.AuditReport
        :meth:`plptms.registry.Registry.verify_audit`'s result.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not verify the audit trail.
    """
    require(principal, Permission.AUDIT_VERIFY)
    return reg.verify_audit()
