"""Account administration: role change, unlock, one's own password change.

Each change is audited on the user's ``users`` row with the signed-in user as
actor. A role change and a password change end the user's web sessions in the
same transaction (a password changed by its user keeps the session that
changed it); deactivation does too (:func:`plptms.workflow.deactivate_user`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..access import Permission, Principal, Role, require
from ..registry import RecordNotFoundError
from ._accounts import (
    FAILURE_WINDOW,
    LOCKOUT,
    MAX_FAILURES,
    LoginRefusedError,
    _hasher,
    _locked,
    _now,
    _verify,
    check_password,
)
from ._web_sessions import session_digest

if TYPE_CHECKING:
    import datetime as dt

    from ..registry import Registry, UserOut

__all__ = ["change_own_password", "change_role", "unlock"]

logger = logging.getLogger(__name__)


def change_role(
    reg: Registry, principal: Principal, username: str, role: Role | str, reason: str
) -> UserOut:
    """Change a user's role (needs ``user.manage``); their sessions end.

    Parameters
    ----------
    reg : Registry
        The registry.
    principal : plptms.access.Principal
        Who changes it (the audited actor).
    username : str
        Whose role.
    role : plptms.access.Role | str
        The new role.
    reason : str
        Why (1-500 characters; audited).

    Returns
    -------
    user : plptms.registry.UserOut
        The account with its new role.

    Raises
    ------
    plptms.access.AccessDeniedError
        If ``principal`` may not manage users.
    ValueError
        On an unknown user or role, an empty reason, the same role, or the last
        active administrator's demotion (nothing changes).
    """
    require(principal, Permission.USER_MANAGE)
    if isinstance(role, str) and not isinstance(role, Role):
        try:
            role = Role(role)
        except ValueError:
            raise ValueError(
                f"Invalid value for 'role': got {role!r}; allowed values are "
                f"{', '.join(r.value for r in Role)}."
            ) from None
    user = reg.set_user_role(username, role, actor=principal.username, reason=reason)
    logger.info(
        "Role of %r changed to %s by %r; its web sessions ended.",
        username,
        user.role.value,
        principal.username,
    )
    return user


def unlock(
    reg: Registry,
    principal: Principal,
    username: str,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Clear a username's failed sign-ins and lockout (needs ``user.manage``).

    Parameters
    ----------
    reg : Registry
        The registry.
    principal : plptms.access.Principal
        Who unlocks it (the audited actor).
    username : str
        The username.
    now : datetime.datetime | None
        The time (timezone-aware; now when ``None``).

    Returns
    -------
    cleared : bool
        ``False`` when nothing was recorded against the username.

    Raises
    ------
    plptms.access.AccessDeniedError
        If ``principal`` may not manage users.
    ValueError
        On a bad username, or one that is no account
        (:class:`plptms.registry.RecordNotFoundError`).
    """
    require(principal, Permission.USER_MANAGE)
    if reg.get_user(username) is None:
        raise RecordNotFoundError(
            f"Invalid value for 'username': got {username!r}; no such user."
        )
    return reg.clear_sign_in_throttle(username, actor=principal.username, at=_now(now))


def change_own_password(
    reg: Registry,
    principal: Principal,
    current_password: str,
    new_password: str,
    *,
    keep_sid: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Change one's own password, proving the current one first.

    A wrong current password is refused and counted by the sign-in throttle
    (:data:`plptms.workflow.MAX_FAILURES` failures lock the username, this
    form included). Every other web session of the user ends.

    Parameters
    ----------
    reg : Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    current_password : str
        What they typed as their current password.
    new_password : str
        The new one (policy: :func:`plptms.workflow.check_password`).
    keep_sid : str | None
        The id of the session making the change (kept signed in).
    now : datetime.datetime | None
        The time (timezone-aware; now when ``None``).

    Returns
    -------
    revoked : int
        Other web sessions ended.

    Raises
    ------
    LoginRefusedError
        If the current password is wrong or the username is locked (nothing
        changes).
    TypeError, ValueError
        On a new password against the policy (nothing changes, nothing counted).
    """
    if not isinstance(current_password, str):
        raise TypeError(
            "Invalid type for 'current_password': got "
            f"{type(current_password).__name__}; allowed: str."
        )
    now = _now(now)
    username = principal.username
    check_password(new_password, username)
    keep = None if keep_sid is None else session_digest(keep_sid)
    until = reg.sign_in_locked_until(username, now)
    if until is not None:
        raise LoginRefusedError(_locked(username, until))
    cred = reg.user_credential(username)
    ok = (
        cred is not None
        and cred.pinned
        and cred.user.active
        and _verify(cred.password_hash, current_password)
    )
    if not ok:
        until = reg.record_sign_in_failure(
            username,
            now,
            max_failures=MAX_FAILURES,
            window=FAILURE_WINDOW,
            lockout=LOCKOUT,
        )
        msg = (
            "Invalid value for 'current_password': not shown; allowed: your "
            "current password (the attempt is counted as a failed sign-in)."
        )
        if until is not None:
            msg = f"{msg} {_locked(username, until)}"
        raise LoginRefusedError(msg)
    revoked = reg.set_password_hash(
        username,
        _hasher().hash(new_password),
        actor=username,
        reason="password changed by its user",
        at=now,
        keep_sid_sha256=keep,
    )
    logger.info(
        "Password of %r changed by its user; %d other web sessions ended.",
        username,
        revoked,
    )
    return revoked
