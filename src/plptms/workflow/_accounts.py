"""User accounts, sign-in and API tokens: the use cases the web app and CLI call.

Passwords are hashed with Argon2id (argon2-cffi's :class:`PasswordHasher` and its
defaults; the algorithm is specified in RFC 9106 :footcite:`biryukov2021rfc9106`)
and rehashed at sign-in when those defaults change. The policy asks for length,
not composition, following NIST SP 800-63B :footcite:`grassi2017sp80063b` (not
verified). Sign-in is throttled per username; an unknown username costs the same
verification as a known one and gets the same message. API tokens are random
(256 bits), shown once, and stored as their SHA-256 only.

.. footbibliography::
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import secrets
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..access import Permission, Principal, Role, require
from ..registry import (
    RecordNotFoundError,
    RegistryError,
    check_display_name,
    check_sites,
    check_username,
)
from ..utils import utc_now

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from ..registry import ApiTokenOut, Registry, UserOut

__all__ = [
    "FAILURE_WINDOW",
    "LOCKOUT",
    "MAX_FAILURES",
    "PASSWORD_MAX_CHARS",
    "PASSWORD_MIN_CHARS",
    "TOKEN_PREFIX",
    "TOKEN_TTL_MAX_DAYS",
    "LoginRefusedError",
    "UserInput",
    "authenticate",
    "check_password",
    "create_user",
    "deactivate_user",
    "issue_api_token",
    "list_api_tokens",
    "list_users",
    "principal_for",
    "principal_from_token",
    "revoke_api_token",
    "set_password",
    "set_user_sites",
]

logger = logging.getLogger(__name__)

#: Shortest password, characters (plptms choice; NIST SP 800-63B asks for at
#: least 8 and favours length over composition rules, not verified).
#: [grassi2017sp80063b]
PASSWORD_MIN_CHARS: Final[int] = 12

#: Longest password, characters (plptms choice: long passphrases pass, a
#: megabyte does not reach the hasher).
PASSWORD_MAX_CHARS: Final[int] = 1024

#: Failed sign-ins of one username that lock it (plptms choice).
MAX_FAILURES: Final[int] = 5

#: Window in which those failures count, from the first (plptms choice).
FAILURE_WINDOW: Final[dt.timedelta] = dt.timedelta(minutes=15)

#: How long a lockout lasts; a correct password is refused meanwhile (plptms
#: choice).
LOCKOUT: Final[dt.timedelta] = dt.timedelta(minutes=15)

#: Prefix of every API token's plaintext, so a leaked one is recognisable.
TOKEN_PREFIX: Final[str] = "plptms_"

#: Random bytes of a token (256 bits, base64url: 43 characters).
TOKEN_BYTES: Final[int] = 32

#: Longest lifetime of an API token, days (plptms choice).
TOKEN_TTL_MAX_DAYS: Final[int] = 365

#: The one message of a failed sign-in, for an unknown user as for a wrong
#: password (it does not tell which).
_REFUSED: Final[str] = "Sign-in refused: unknown user or wrong password."


class LoginRefusedError(ValueError):
    """A sign-in or a token was refused (the message never holds a secret)."""


class UserInput(BaseModel):
    """A new user account.

    Parameters
    ----------
    username : str
        Sign-in name: 1-64 lower-case letters, digits, ``.``, ``_``, ``-``, ``@``.
    display_name : str
        Name shown (1-128 characters).
    role : Role
        One of :class:`plptms.access.Role`.
    sites : frozenset of str
        Site codes assigned.
    password : str
        The password (checked by :func:`check_password`; hidden from ``repr``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    display_name: str
    role: Role
    sites: frozenset[str] = frozenset()
    password: str = Field(repr=False)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        return check_username(v)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, v: str) -> str:
        return check_display_name(v)

    @field_validator("sites")
    @classmethod
    def _sites(cls, v: frozenset[str]) -> frozenset[str]:
        return check_sites(v)


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Return a hash of a random password (what unknown users are checked against)."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utc_now()
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValueError(
            f"Invalid value for 'now': got {now!r}; allowed: a timezone-aware datetime."
        )
    return now


def check_password(password: Any, username: str) -> str:
    """Check a new password against the policy (length; not the username).

    Parameters
    ----------
    password : str
        The password (never shown in a message).
    username : str
        Whose password.

    Returns
    -------
    password : str
        The password.

    Raises
    ------
    TypeError
        If it is not a string.
    ValueError
        If shorter than :data:`PASSWORD_MIN_CHARS` or longer than
        :data:`PASSWORD_MAX_CHARS` characters, or the username itself.
    """
    if not isinstance(password, str):
        raise TypeError(
            f"Invalid type for 'password': got {type(password).__name__}; allowed: str."
        )
    n = len(password)
    if not PASSWORD_MIN_CHARS <= n <= PASSWORD_MAX_CHARS:
        raise ValueError(
            f"Invalid value for 'password': got {n} characters; allowed: "
            f"{PASSWORD_MIN_CHARS}-{PASSWORD_MAX_CHARS} characters (a passphrase "
            "of several words is a good choice)."
        )
    if password.casefold() == username.casefold():
        raise ValueError(
            "Invalid value for 'password': it is the username; allowed: any "
            f"{PASSWORD_MIN_CHARS}-{PASSWORD_MAX_CHARS} characters but the username."
        )
    return password


def create_user(reg: Registry, user: UserInput, *, by: Principal | None) -> UserOut:
    """Create a user account.

    Parameters
    ----------
    reg : Registry
        The registry.
    user : UserInput
        The account and its password.
    by : Principal | None
        Who creates it (needs ``user.manage``); ``None`` only for the first
        account, which must be an administrator and is its own actor.

    Returns
    -------
    user : plptms.registry.UserOut
        The account as stored (no password hash).

    Raises
    ------
    plptms.access.AccessDeniedError
        If ``by`` may not manage users.
    ValueError
        On a password against the policy, a first account that is not an
        administrator, a taken username
        (:class:`plptms.registry.DuplicateRecordError`), or ``by=None`` when
        accounts exist (nothing is stored).
    """
    if not isinstance(user, UserInput):
        raise TypeError(
            f"Invalid type for 'user': got {type(user).__name__}; allowed: UserInput."
        )
    if by is None:
        if user.role is not Role.ADMINISTRATOR:
            raise ValueError(
                f"Invalid value for 'role': got {user.role.value!r}; allowed: "
                "administrator (the first account manages the others)."
            )
        actor = user.username
    else:
        require(by, Permission.USER_MANAGE)
        actor = by.username
    check_password(user.password, user.username)
    return reg.add_user(
        user.username,
        display_name=user.display_name,
        role=user.role,
        sites=user.sites,
        password_hash=_hasher().hash(user.password),
        actor=actor,
        bootstrap=by is None,
    )


def authenticate(
    reg: Registry, username: str, password: str, *, now: dt.datetime | None = None
) -> Principal:
    """Sign a user in with their password.

    Parameters
    ----------
    reg : Registry
        The registry.
    username, password : str
        What the user typed.
    now : datetime.datetime | None
        The time (timezone-aware; now when ``None``).

    Returns
    -------
    principal : plptms.access.Principal
        The user with their current role and sites.

    Raises
    ------
    LoginRefusedError
        On an unknown user, a wrong password or a deactivated account (one
        message for all), or a locked username (:data:`MAX_FAILURES` failures
        within :data:`FAILURE_WINDOW` lock it for :data:`LOCKOUT`, a correct
        password included).

    Notes
    -----
    An unknown username is verified against a dummy hash (same cost) and counts
    towards its own lockout, so neither the time nor the messages tell whether
    an account exists. A correct password whose hash uses older parameters is
    rehashed (audited).
    """
    if not isinstance(username, str) or not isinstance(password, str):
        raise TypeError(
            "Invalid type for 'username' or 'password': allowed: str (the types got "
            f"are {type(username).__name__} and {type(password).__name__})."
        )
    now = _now(now)
    try:
        check_username(username)
    except RegistryError:
        _verify(_dummy_hash(), password)
        raise LoginRefusedError(_REFUSED) from None
    until = reg.sign_in_locked_until(username, now)
    if until is not None:
        raise LoginRefusedError(_locked(username, until))
    cred = reg.user_credential(username)
    stored = _dummy_hash() if cred is None else cred.password_hash
    ok = _verify(stored, password) and cred is not None
    if cred is not None and ok and not cred.pinned:
        logger.error(
            "The password hash of %r does not match its audited fingerprint "
            "(changed outside plptms): sign-in refused.",
            username,
        )
        ok = False
    if not ok or cred is None or not cred.user.active:
        until = reg.record_sign_in_failure(
            username,
            now,
            max_failures=MAX_FAILURES,
            window=FAILURE_WINDOW,
            lockout=LOCKOUT,
        )
        if until is not None:
            raise LoginRefusedError(f"{_REFUSED} {_locked(username, until)}")
        raise LoginRefusedError(_REFUSED)
    rehashed = None
    if _hasher().check_needs_rehash(stored):
        rehashed = _hasher().hash(password)
    until = reg.record_sign_in_success(username, now, rehashed=rehashed)
    if until is not None:
        raise LoginRefusedError(_locked(username, until))
    user = cred.user
    return Principal(username=user.username, role=user.role, sites=user.sites)


def _locked(username: str, until: dt.datetime) -> str:
    minutes = int(FAILURE_WINDOW.total_seconds() // 60)
    return (
        f"Sign-in as {username!r} is locked until "
        f"{until.astimezone(dt.UTC).isoformat(timespec='seconds')} after "
        f"{MAX_FAILURES} failed attempts within {minutes} minutes; try again then."
    )


def principal_for(reg: Registry, username: str) -> Principal:
    """Return a signed-in user's current role and sites (e.g. from a session).

    Parameters
    ----------
    reg : Registry
        The registry.
    username : str
        The user.

    Returns
    -------
    principal : plptms.access.Principal
        The user as they are now.

    Raises
    ------
    LoginRefusedError
        If there is no such user or the account is deactivated.
    """
    try:
        user = reg.get_user(username)
    except RegistryError:
        user = None
    if user is None:
        raise LoginRefusedError(f"Unknown user {username!r}.")
    if not user.active:
        raise LoginRefusedError(f"The account {username!r} is deactivated.")
    return Principal(username=user.username, role=user.role, sites=user.sites)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(
    reg: Registry,
    principal: Principal,
    *,
    label: str,
    ttl_days: int = 90,
    now: dt.datetime | None = None,
) -> str:
    """Issue an API token for the principal (who acts as themselves with it).

    Parameters
    ----------
    reg : Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (active).
    label : str
        What the token is for (1-64 characters).
    ttl_days : int
        Lifetime, days (1-365).
    now : datetime.datetime | None
        The time (now when ``None``).

    Returns
    -------
    token : str
        The plaintext, ``plptms_`` and 43 base64url characters: shown this once,
        stored only as its SHA-256.

    Raises
    ------
    ValueError
        On a bad label or lifetime, or a user who is not active (nothing is
        stored).
    """
    if isinstance(ttl_days, bool) or not isinstance(ttl_days, int):
        raise TypeError(
            f"Invalid type for 'ttl_days': got {type(ttl_days).__name__}; allowed: int."
        )
    if not 1 <= ttl_days <= TOKEN_TTL_MAX_DAYS:
        raise ValueError(
            f"Invalid value for 'ttl_days': got {ttl_days}; allowed range is "
            f"[1, {TOKEN_TTL_MAX_DAYS}] days."
        )
    now = _now(now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    reg.add_api_token(
        principal.username,
        token_sha256=_token_digest(token),
        label=label,
        expires_at=now + dt.timedelta(days=ttl_days),
        at=now,
    )
    return token


def principal_from_token(
    reg: Registry, token: str, *, now: dt.datetime | None = None
) -> Principal:
    """Return the user an API token stands for (their current role and sites).

    Parameters
    ----------
    reg : Registry
        The registry.
    token : str
        The plaintext as presented (never shown in a message).
    now : datetime.datetime | None
        The time (now when ``None``).

    Returns
    -------
    principal : plptms.access.Principal
        The token's user.

    Raises
    ------
    LoginRefusedError
        If the token is unknown, expired or revoked, or its user deactivated.
    """
    if not isinstance(token, str):
        raise TypeError(
            f"Invalid type for 'token': got {type(token).__name__}; allowed: str."
        )
    now = _now(now)
    if not token.startswith(TOKEN_PREFIX):
        raise LoginRefusedError(
            f"Invalid API token: not shown; allowed: a token starting with "
            f"{TOKEN_PREFIX!r} issued by plptms."
        )
    found = reg.api_token(token_sha256=_token_digest(token))
    if found is None:
        raise LoginRefusedError("Invalid API token: unknown (never issued here).")
    tok, user = found
    what = f"API token {tok.id} ({tok.label!r}) of {user.username!r}"
    if tok.revoked_at is not None:
        raise LoginRefusedError(
            f"{what} was revoked at {tok.revoked_at.isoformat(timespec='seconds')}."
        )
    if now >= tok.expires_at:
        raise LoginRefusedError(
            f"{what} expired at {tok.expires_at.isoformat(timespec='seconds')}."
        )
    if not user.active:
        raise LoginRefusedError(f"{what}: the account is deactivated.")
    return Principal(username=user.username, role=user.role, sites=user.sites)


def revoke_api_token(reg: Registry, principal: Principal, token_id: int) -> None:
    """Revoke an API token: one's own, or any with ``user.manage``.

    Parameters
    ----------
    reg : Registry
        The registry.
    principal : plptms.access.Principal
        Who revokes it.
    token_id : int
        The token's id (:func:`list_api_tokens`).

    Raises
    ------
    plptms.access.AccessDeniedError
        If it is another user's token and the principal may not manage users.
    plptms.registry.RecordNotFoundError
        If there is no such token.
    ValueError
        If it is revoked already.
    """
    found = reg.api_token(token_id=token_id)
    if found is None:
        raise RecordNotFoundError(
            f"Invalid value for 'token_id': got {token_id!r}; no such token."
        )
    if found[1].username != principal.username:
        require(principal, Permission.USER_MANAGE)
    reg.revoke_api_token(token_id, actor=principal.username, at=utc_now())


def list_api_tokens(
    reg: Registry, principal: Principal, username: str | None = None
) -> list[ApiTokenOut]:
    """List a user's API tokens (one's own, or anyone's with ``user.manage``).

    Parameters
    ----------
    reg : Registry
        The registry.
    principal : plptms.access.Principal
        Who asks.
    username : str | None
        Whose tokens (the principal's when ``None``).

    Returns
    -------
    tokens : list of plptms.registry.ApiTokenOut
        The tokens (no plaintext, no hash).

    Raises
    ------
    plptms.access.AccessDeniedError
        If they are another user's and the principal may not manage users.
    """
    username = principal.username if username is None else username
    if username != principal.username:
        require(principal, Permission.USER_MANAGE)
    return reg.list_api_tokens(username)


def set_user_sites(
    reg: Registry, username: str, sites: frozenset[str], *, by: Principal
) -> UserOut:
    """Assign exactly ``sites`` to a user (needs ``user.manage``).

    Parameters
    ----------
    reg : Registry
        The registry.
    username : str
        Whose sites.
    sites : frozenset of str
        Site codes from now on (format checked; a site needs no settings).
    by : plptms.access.Principal
        Who changes them.

    Returns
    -------
    user : plptms.registry.UserOut
        The account.

    Raises
    ------
    plptms.access.AccessDeniedError
        If ``by`` may not manage users.
    ValueError
        On a bad site code or an unknown user (nothing changes).
    """
    require(by, Permission.USER_MANAGE)
    return reg.set_user_sites(username, sites, actor=by.username)


def set_password(reg: Registry, username: str, password: str, *, by: Principal) -> None:
    """Set a user's password: one's own, or anyone's with ``user.manage``.

    Parameters
    ----------
    reg : Registry
        The registry.
    username : str
        Whose password.
    password : str
        The new password (policy: :func:`check_password`).
    by : plptms.access.Principal
        Who sets it (the web app asks the user's current password first).

    Raises
    ------
    plptms.access.AccessDeniedError
        If it is another user's and ``by`` may not manage users.
    ValueError
        On a password against the policy or an unknown user (nothing changes).
    """
    own = by.username == username
    if not own:
        require(by, Permission.USER_MANAGE)
    check_password(password, username)
    if reg.get_user(username) is None:
        raise RecordNotFoundError(
            f"Invalid value for 'username': got {username!r}; no such user."
        )
    reason = "password changed by its user" if own else "password reset"
    reg.set_password_hash(
        username, _hasher().hash(password), actor=by.username, reason=reason
    )


def deactivate_user(reg: Registry, username: str, *, by: Principal) -> UserOut:
    """Deactivate a user's account (needs ``user.manage``; not one's own).

    Parameters
    ----------
    reg : Registry
        The registry.
    username : str
        Whose account.
    by : plptms.access.Principal
        Who deactivates it.

    Returns
    -------
    user : plptms.registry.UserOut
        The account, inactive: no sign-in, none of its tokens works.

    Raises
    ------
    plptms.access.AccessDeniedError
        If ``by`` may not manage users.
    ValueError
        If unknown, inactive already, or ``by``'s own (nothing changes).
    """
    require(by, Permission.USER_MANAGE)
    return reg.deactivate_user(username, actor=by.username)


def list_users(reg: Registry, *, by: Principal) -> list[UserOut]:
    """List every account (needs ``user.manage``).

    Parameters
    ----------
    reg : Registry
        The registry.
    by : plptms.access.Principal
        Who asks.

    Returns
    -------
    users : list of plptms.registry.UserOut
        The accounts, by username (no password hash).

    Raises
    ------
    plptms.access.AccessDeniedError
        If ``by`` may not manage users.
    """
    require(by, Permission.USER_MANAGE)
    return reg.list_users()
