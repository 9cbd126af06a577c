"""Request dependencies: the registry, the signed-in user, CSRF, bearer tokens.

These are the web layer's only gatekeepers of *who* is asking; what that user
may do is decided by :mod:`plptms.workflow._views` (the permission table and
site isolation), never here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

from ..access import Principal
from ._sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SessionData

if TYPE_CHECKING:
    from ..registry import Registry
    from ._sessions import SessionCodec

__all__ = [
    "Authenticate",
    "CSRFError",
    "PrincipalFor",
    "PrincipalFromToken",
    "SignInRequiredError",
    "TokenRefusedError",
    "api_principal",
    "checked_form",
    "current_principal",
    "now_of",
    "registry",
    "session_of",
]

#: ``authenticate(registry, username, password) -> Principal``.
Authenticate = Callable[["Registry", str, str], Principal]
#: ``principal_for(registry, username) -> Principal``.
PrincipalFor = Callable[["Registry", str], Principal]
#: ``principal_from_token(registry, token) -> Principal``.
PrincipalFromToken = Callable[["Registry", str], Principal]


class SignInRequiredError(Exception):
    """No valid session: the browser is sent to the sign-in page.

    Parameters
    ----------
    clear : bool
        Also delete the session cookie (expired, idle, forged or the user no
        longer allowed).
    """

    def __init__(self, *, clear: bool) -> None:
        super().__init__("sign-in required")
        self.clear = clear


class CSRFError(Exception):
    """A state-changing request without its session's CSRF token."""


class TokenRefusedError(Exception):
    """An API request without a valid bearer token."""


def registry(request: Request) -> Registry:
    """Return the application's registry (opened once, at start-up).

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    registry : plptms.registry.Registry
        The registry.
    """
    reg: Registry = request.app.state.registry
    return reg


def now_of(request: Request) -> dt.datetime:
    """Return the app clock's time as an aware UTC datetime.

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    now : datetime.datetime
        Now (tests move the clock).
    """
    return dt.datetime.fromtimestamp(request.app.state.clock(), dt.UTC)


def session_of(request: Request) -> SessionData | None:
    """Return the request's valid session (signed, not expired, not idle).

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    session : SessionData | None
        The session, its last-seen time set to now, or ``None``.
    """
    cached = getattr(request.state, "session", None)
    if isinstance(cached, SessionData):
        return cached
    codec: SessionCodec = request.app.state.codec
    session = codec.loads(
        request.cookies.get(SESSION_COOKIE), request.app.state.clock()
    )
    if session is not None:
        request.state.session = session
        request.state.session_out = session
    return session


def current_principal(request: Request) -> Principal:
    """Return the signed-in user, reloaded from the registry on every request.

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    principal : plptms.access.Principal
        The user as the accounts say now (role, sites).

    Raises
    ------
    SignInRequiredError
        If there is no valid signed-in session (the cookie's signature and
        clocks, then its server-side row: unknown, ended, idle or past its
        end), or the user can no longer sign in (``principal_for`` refuses:
        deactivated, removed); the cookie is then cleared.
    """
    from ..workflow import web_session_user

    cookie = request.cookies.get(SESSION_COOKIE)
    session = session_of(request)
    if session is None or session.username is None:
        raise SignInRequiredError(clear=cookie is not None and session is None)
    reg = registry(request)
    codec: SessionCodec = request.app.state.codec
    try:
        username = web_session_user(
            reg, session.sid, now=now_of(request), idle_timeout_s=codec.idle_timeout_s
        )
    except ValueError:
        request.state.session_out = None
        raise SignInRequiredError(clear=True) from None
    if username != session.username:  # pragma: no cover - a signed cookie lies
        request.state.session_out = None
        raise SignInRequiredError(clear=True)
    principal_for: PrincipalFor = request.app.state.principal_for
    try:
        principal = principal_for(reg, session.username)
    except (ValueError, LookupError, PermissionError):
        request.state.session_out = None
        raise SignInRequiredError(clear=True) from None
    request.state.principal = principal
    return principal


async def checked_form(request: Request) -> dict[str, str]:
    """Read a posted form and check its CSRF token against the session.

    The token comes from the form field ``csrf_token`` or, for htmx requests,
    the ``X-CSRF-Token`` header.

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    form : dict of str to str
        The form's text fields (without the token).

    Raises
    ------
    CSRFError
        If there is no valid session or the token is missing or wrong.
    """
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = request.headers.get(CSRF_HEADER) or fields.pop(CSRF_FIELD, None)
    fields.pop(CSRF_FIELD, None)
    session = session_of(request)
    codec: SessionCodec = request.app.state.codec
    if session is None or not codec.csrf_ok(session, token):
        raise CSRFError
    return fields


def api_principal(request: Request) -> Principal:
    """Return the API caller from its bearer token (cookies are ignored).

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    principal : plptms.access.Principal
        The token's user.

    Raises
    ------
    TokenRefusedError
        If the ``Authorization: Bearer`` header is missing or the token refused.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefusedError
    from_token: PrincipalFromToken = request.app.state.principal_from_token
    try:
        return from_token(registry(request), token.strip())
    except (ValueError, LookupError, PermissionError):
        raise TokenRefusedError from None
