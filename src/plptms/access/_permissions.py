"""Roles, permissions and the one table that says who may do what.

:data:`PERMISSIONS` is the single source: the application layer checks it
(:func:`require`), the web application and the API read it, the docs print it
(:func:`permission_table_markdown`) and the tests walk it cell by cell. The
roles and their rights are plptms choices for a clinic running rTMS and a
multicentre trial; they follow the separation the trial engine already makes
(operators and raters blinded, the statistician alone sees arms, unblinding
by a physician or the statistician).

Site isolation: a :class:`Principal` carries the sites assigned to the user;
:func:`require` with a ``site`` refuses any other site, whatever the role.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "PERMISSIONS",
    "READ_PERMISSIONS",
    "AccessDeniedError",
    "Permission",
    "Principal",
    "Role",
    "allowed",
    "permission_table_markdown",
    "require",
    "require_sites",
    "roles_holding",
]


class Role(StrEnum):
    """A user's role (one per user)."""

    ADMINISTRATOR = "administrator"
    PHYSICIAN = "physician"
    OPERATOR = "operator"
    RATER = "rater"
    MONITOR = "monitor"
    STATISTICIAN = "statistician"


class Permission(StrEnum):
    """An action a role may be granted."""

    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    ASSESSMENT_READ = "assessment.read"
    ASSESSMENT_WRITE = "assessment.write"
    SCREENING_WRITE = "screening.write"
    RMT_WRITE = "rmt.write"
    TREATMENT_READ = "treatment.read"
    PROTOCOL_ASSIGN = "protocol.assign"
    DOSE_AMEND = "dose.amend"
    SESSION_RUN = "session.run"
    SESSION_RESTART = "session.restart"
    AE_WRITE = "ae.write"
    AE_REVIEW = "ae.review"
    REPORT_READ = "report.read"
    TRIAL_READ = "trial.read"
    TRIAL_MANAGE = "trial.manage"
    TRIAL_ENROL = "trial.enrol"
    TRIAL_VISIT_WRITE = "trial.visit.write"
    TRIAL_ARM_READ = "trial.arm.read"
    TRIAL_UNBLIND = "trial.unblind"
    TRIAL_ANALYSE = "trial.analyse"
    TRIAL_EXPORT = "trial.export"
    AUDIT_VERIFY = "audit.verify"
    USER_MANAGE = "user.manage"
    SITE_MANAGE = "site.manage"


_A, _P, _O, _R, _M, _S = (
    Role.ADMINISTRATOR,
    Role.PHYSICIAN,
    Role.OPERATOR,
    Role.RATER,
    Role.MONITOR,
    Role.STATISTICIAN,
)

#: Who may do what (plptms choices). A rater is blind to treatment: no
#: protocol, session or arm; an operator sees sessions but never an arm; the
#: monitor reads across its sites and writes nothing; the statistician alone
#: sees arms and analyses; the administrator manages users, sites and the
#: audit trail and reads no clinical record.
PERMISSIONS: Final[dict[Permission, frozenset[Role]]] = {
    Permission.PATIENT_READ: frozenset({_P, _O, _R, _M}),
    Permission.PATIENT_WRITE: frozenset({_P, _O}),
    Permission.ASSESSMENT_READ: frozenset({_P, _O, _R, _M}),
    Permission.ASSESSMENT_WRITE: frozenset({_P, _R}),
    Permission.SCREENING_WRITE: frozenset({_P}),
    Permission.RMT_WRITE: frozenset({_P, _O}),
    Permission.TREATMENT_READ: frozenset({_P, _O, _M}),
    Permission.PROTOCOL_ASSIGN: frozenset({_P}),
    Permission.DOSE_AMEND: frozenset({_P}),
    Permission.SESSION_RUN: frozenset({_P, _O}),
    Permission.SESSION_RESTART: frozenset({_P}),
    Permission.AE_WRITE: frozenset({_P, _O, _R}),
    Permission.AE_REVIEW: frozenset({_P}),
    Permission.REPORT_READ: frozenset({_P, _M}),
    Permission.TRIAL_READ: frozenset({_P, _O, _R, _M, _S}),
    Permission.TRIAL_MANAGE: frozenset({_S}),
    Permission.TRIAL_ENROL: frozenset({_P}),
    Permission.TRIAL_VISIT_WRITE: frozenset({_P, _O, _R}),
    Permission.TRIAL_ARM_READ: frozenset({_S}),
    Permission.TRIAL_UNBLIND: frozenset({_P, _S}),
    Permission.TRIAL_ANALYSE: frozenset({_S}),
    Permission.TRIAL_EXPORT: frozenset({_M, _S}),
    Permission.AUDIT_VERIFY: frozenset({_A, _M}),
    Permission.USER_MANAGE: frozenset({_A}),
    Permission.SITE_MANAGE: frozenset({_A}),
}

#: The permissions that change nothing (the monitor holds only these).
READ_PERMISSIONS: Final[frozenset[Permission]] = frozenset(
    {
        Permission.PATIENT_READ,
        Permission.ASSESSMENT_READ,
        Permission.TREATMENT_READ,
        Permission.REPORT_READ,
        Permission.TRIAL_READ,
        Permission.TRIAL_ARM_READ,
        Permission.TRIAL_ANALYSE,
        Permission.TRIAL_EXPORT,
        Permission.AUDIT_VERIFY,
    }
)


class AccessDeniedError(PermissionError):
    """A principal asked for an action its role or its sites do not allow."""


class Principal(BaseModel):
    """An authenticated user as the application layer sees them.

    Parameters
    ----------
    username : str
        The user (1-64 characters); the actor of every record they make.
    role : Role
        Their role.
    sites : frozenset of str
        The sites assigned to them; they see nothing of any other.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: Role
    sites: frozenset[str] = frozenset()

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if v != v.strip() or any(not c.isprintable() for c in v):
            raise ValueError(
                f"Invalid value for 'username': got {v!r}; allowed: printable "
                "characters without leading or trailing spaces."
            )
        return v

    def may(self, permission: Permission) -> bool:
        """Whether the role holds ``permission`` (sites aside).

        Parameters
        ----------
        permission : Permission
            The action.

        Returns
        -------
        allowed : bool
            ``True`` if the permission table grants it to the role.
        """
        return allowed(self.role, permission)


def roles_holding(permission: Permission | str) -> tuple[str, ...]:
    """Return the roles that hold a permission, in :class:`Role` order.

    The trial engine's role checks (``ARM_VIEW_ROLES``, ``UNBLIND_ROLES``,
    ``ANALYSIS_ROLES`` in :mod:`plptms.workflow`) are built from this, so the
    permission table is the one place that decides.

    Parameters
    ----------
    permission : Permission | str
        The action.

    Returns
    -------
    roles : tuple of str
        The role words (``"statistician"``, ...).

    Raises
    ------
    ValueError
        If the permission is unknown.
    """
    try:
        p = Permission(permission)
    except ValueError:
        raise ValueError(
            f"Invalid value for 'permission': got {permission!r}; allowed values "
            f"are {', '.join(x.value for x in Permission)}."
        ) from None
    return tuple(r.value for r in Role if r in PERMISSIONS[p])


def allowed(role: Role | str, permission: Permission | str) -> bool:
    """Look up one cell of :data:`PERMISSIONS`.

    Parameters
    ----------
    role : Role | str
        The role.
    permission : Permission | str
        The action.

    Returns
    -------
    allowed : bool
        Whether the role holds the permission.

    Raises
    ------
    ValueError
        If the role or the permission is unknown.
    """
    try:
        r = Role(role)
    except ValueError:
        raise ValueError(
            f"Invalid value for 'role': got {role!r}; allowed values are "
            f"{', '.join(x.value for x in Role)}."
        ) from None
    try:
        p = Permission(permission)
    except ValueError:
        raise ValueError(
            f"Invalid value for 'permission': got {permission!r}; allowed values "
            f"are {', '.join(x.value for x in Permission)}."
        ) from None
    return r in PERMISSIONS[p]


def require(
    principal: Principal, permission: Permission, *, site: str | None = None
) -> None:
    """Refuse unless the principal's role holds ``permission`` (at ``site``).

    Parameters
    ----------
    principal : Principal
        Who asks.
    permission : Permission
        The action.
    site : str | None
        The site of the record acted on; it must be one of the principal's.

    Raises
    ------
    AccessDeniedError
        If the role lacks the permission or the site is not the principal's.
        The message names the user, the role or site, and what is allowed,
        without revealing anything of the other site's records.
    """
    if not principal.may(permission):
        holders = sorted(r.value for r in PERMISSIONS[permission])
        raise AccessDeniedError(
            f"User {principal.username!r} (role {principal.role.value}) may not "
            f"{permission.value}; allowed roles: {', '.join(holders)}."
        )
    if site is not None and site not in principal.sites:
        raise AccessDeniedError(
            f"User {principal.username!r} has no access to site {site!r}; their "
            f"sites: {', '.join(sorted(principal.sites)) or 'none'}."
        )


def require_sites(
    principal: Principal, permission: Permission, sites: frozenset[str] | set[str]
) -> None:
    """Refuse unless the principal may act at every one of ``sites``.

    For trial-wide actions (analyses, exports): the user must be assigned every
    site of the trial.

    Parameters
    ----------
    principal : Principal
        Who asks.
    permission : Permission
        The action.
    sites : set of str
        The sites the action spans.

    Raises
    ------
    AccessDeniedError
        If the role lacks the permission or any site is not the principal's.
    """
    require(principal, permission)
    missing = sorted(set(sites) - principal.sites)
    if missing:
        raise AccessDeniedError(
            f"User {principal.username!r} has no access to site(s) "
            f"{', '.join(missing)}; the action spans {', '.join(sorted(sites))}."
        )


def permission_table_markdown() -> str:
    """Return :data:`PERMISSIONS` as a Markdown table (one row per permission).

    Returns
    -------
    table : str
        Header, separator and one row per permission, ``yes`` or blank per role.
    """
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(r.value for r in roles) + " |",
        "| --- | " + " | ".join("---" for _ in roles) + " |",
    ]
    for p in Permission:
        cells = ["yes" if r in PERMISSIONS[p] else "" for r in roles]
        lines.append(f"| `{p.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
