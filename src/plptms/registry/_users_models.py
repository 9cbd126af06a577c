"""User accounts as the registry returns them, and the checks of their fields.

No model here holds a password hash or a token's plaintext: :class:`UserOut` and
:class:`ApiTokenOut` are what callers show and export; :class:`UserCredential`
(the hash, for the sign-in use case alone) hides it from ``repr``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from ..access import Role
from ._models import RegistryError, check_code

__all__ = [
    "DISPLAY_NAME_MAX_CHARS",
    "SIGN_IN_ACTOR",
    "TOKEN_LABEL_MAX_CHARS",
    "ApiTokenOut",
    "UserCredential",
    "UserOut",
    "check_display_name",
    "check_role",
    "check_sites",
    "check_token_label",
    "check_username",
]

#: Longest display name of a user, in characters (plptms choice).
DISPLAY_NAME_MAX_CHARS: Final[int] = 128

#: Longest label of an API token, in characters (plptms choice).
TOKEN_LABEL_MAX_CHARS: Final[int] = 64

#: The actor of audit entries the sign-in itself makes (a lockout): no user
#: acts, the registry does, on behalf of whoever tried the username.
SIGN_IN_ACTOR: Final[str] = "plptms:sign-in"

#: A username: 1-64 lower-case letters, digits, ``.``, ``_``, ``-`` or ``@``,
#: starting with a letter or digit (plptms choice: no look-alike case variants).
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


def check_username(value: Any, field: str = "username") -> str:
    """Check a username.

    Parameters
    ----------
    value : str
        The username.
    field : str
        The field named in the error.

    Returns
    -------
    username : str
        The username.

    Raises
    ------
    RegistryError
        If it is not 1-64 lower-case letters, digits, ``.``, ``_``, ``-`` or
        ``@``, starting with a letter or digit.
    """
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: 1-64 lower-case "
            "letters, digits, '.', '_', '-' or '@', starting with a letter or digit."
        )
    return value


def check_display_name(value: Any) -> str:
    """Check a user's display name (1-128 characters, stripped).

    Parameters
    ----------
    value : str
        The name.

    Returns
    -------
    name : str
        The name, stripped.

    Raises
    ------
    RegistryError
        If empty, too long or not printable.
    """
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value.strip()) > DISPLAY_NAME_MAX_CHARS
        or not value.strip().isprintable()
    ):
        raise RegistryError(
            f"Invalid value for 'display_name': got {value!r}; allowed: 1-"
            f"{DISPLAY_NAME_MAX_CHARS} printable characters."
        )
    return value.strip()


def check_role(value: Any) -> Role:
    """Check a role.

    Parameters
    ----------
    value : Role | str
        The role.

    Returns
    -------
    role : Role
        The role.

    Raises
    ------
    RegistryError
        If it is not one of :class:`plptms.access.Role`.
    """
    try:
        return Role(value)
    except ValueError:
        raise RegistryError(
            f"Invalid value for 'role': got {value!r}; allowed values are "
            f"{', '.join(r.value for r in Role)}."
        ) from None


def check_sites(value: Any) -> frozenset[str]:
    """Check a set of site codes (each as ``patients.site``).

    Parameters
    ----------
    value : set of str
        The sites (may be empty).

    Returns
    -------
    sites : frozenset of str
        The sites.

    Raises
    ------
    RegistryError
        If it is not a set of valid site codes.
    """
    if isinstance(value, str) or not isinstance(value, set | frozenset | list | tuple):
        raise RegistryError(
            f"Invalid value for 'sites': got {value!r}; allowed: a set of site codes."
        )
    for site in value:
        check_code(site, "sites")
    return frozenset(value)


def check_token_label(value: Any) -> str:
    """Check an API token's label (1-64 printable characters, stripped).

    Parameters
    ----------
    value : str
        The label.

    Returns
    -------
    label : str
        The label, stripped.

    Raises
    ------
    RegistryError
        If empty, too long or not printable.
    """
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value.strip()) > TOKEN_LABEL_MAX_CHARS
        or not value.strip().isprintable()
    ):
        raise RegistryError(
            f"Invalid value for 'label': got {value!r}; allowed: 1-"
            f"{TOKEN_LABEL_MAX_CHARS} printable characters saying what the token "
            "is for."
        )
    return value.strip()


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class UserOut(BaseModel):
    """A user account as stored (never the password hash).

    Attributes
    ----------
    id : int
        Row id.
    username : str
        Sign-in name.
    display_name : str
        Name shown.
    role : Role
        The user's role.
    sites : frozenset of str
        Sites assigned now.
    active : bool
        ``False`` once deactivated (no sign-in, no token works).
    created_at, password_set_at : datetime.datetime
        When created, and when the password was last set (UTC).
    actor : str
        Who created the account.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    username: str
    display_name: str
    role: Role
    sites: frozenset[str]
    active: bool
    created_at: dt.datetime
    password_set_at: dt.datetime
    actor: str


def user_out(row: Any, sites: frozenset[str]) -> UserOut:
    """Build a :class:`UserOut` from a ``users`` row and its sites."""
    return UserOut(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        sites=sites,
        active=row.active,
        created_at=_utc(row.created_at),
        password_set_at=_utc(row.password_set_at),
        actor=row.actor,
    )


class ApiTokenOut(BaseModel):
    """An API token as stored (never its plaintext, never its hash).

    Attributes
    ----------
    id : int
        Row id (what revocation names).
    username : str
        Whose token.
    label : str
        What it is for.
    created_at, expires_at : datetime.datetime
        When issued and when it stops working (UTC).
    revoked_at : datetime.datetime | None
        When revoked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    username: str
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


def token_out(row: Any, username: str) -> ApiTokenOut:
    """Build an :class:`ApiTokenOut` from an ``api_tokens`` row."""
    return ApiTokenOut(
        id=row.id,
        username=username,
        label=row.label,
        created_at=_utc(row.created_at),
        expires_at=_utc(row.expires_at),
        revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
    )


class UserCredential(BaseModel):
    """A user and their password hash, for the sign-in use case alone.

    Attributes
    ----------
    user : UserOut
        The account.
    password_hash : str
        The Argon2 PHC string (hidden from ``repr``).
    pinned : bool
        Whether its SHA-256 equals the audited fingerprint in ``users`` (``False``:
        the hash was replaced outside plptms; the sign-in refuses it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: UserOut
    password_hash: str = Field(repr=False)
    pinned: bool
