"""Signed session cookies and the CSRF tokens bound to them.

A session is a signed cookie (itsdangerous ``URLSafeTimedSerializer``) that
holds the username (``None`` before sign-in), a random session id (256 bits),
the time of sign-in and the time of the last request. A signed-in session is
also a registry row (the SHA-256 of its id; :mod:`plptms.workflow._web_sessions`)
that every request checks, so sign-out, deactivation, a role or password
change end it for every copy of the cookie. The CSRF token of a session is an
HMAC of its id under a key derived from the secret, so a token taken from one
session is worthless in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SessionCodec",
    "SessionData",
]

#: Name of the session cookie.
SESSION_COOKIE = "plptms_session"
#: Form field carrying the CSRF token.
CSRF_FIELD = "csrf_token"
#: Header carrying the CSRF token on htmx requests.
CSRF_HEADER = "X-CSRF-Token"

_SALT = "plptms.web.session"
_CSRF_INFO = b"plptms.web.csrf"


class SessionData(BaseModel):
    """What the session cookie holds.

    Attributes
    ----------
    sid : str
        Random session id (new at every sign-in).
    username : str | None
        The signed-in user; ``None`` before sign-in (the sign-in form's session).
    issued_at : float
        When the session began, s since the epoch.
    seen_at : float
        When the last request came, s since the epoch.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sid: str
    username: str | None
    issued_at: float
    seen_at: float


class SessionCodec:
    """Sign, check and expire session cookies; derive their CSRF tokens.

    Parameters
    ----------
    secret_key : str
        The application's secret.
    max_age_s : int
        Longest session, s from sign-in.
    idle_timeout_s : int
        Longest pause between two requests, s.
    """

    def __init__(self, secret_key: str, *, max_age_s: int, idle_timeout_s: int) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        self._csrf_key = hmac.new(
            secret_key.encode(), _CSRF_INFO, hashlib.sha256
        ).digest()
        self.max_age_s = max_age_s
        self.idle_timeout_s = idle_timeout_s

    def new(self, username: str | None, now: float) -> SessionData:
        """Start a session with a fresh random id.

        Parameters
        ----------
        username : str | None
            The signed-in user, or ``None`` for the sign-in form's session.
        now : float
            Current time, s since the epoch.

        Returns
        -------
        session : SessionData
            The new session (never reusing an id presented before).
        """
        return SessionData(
            sid=secrets.token_urlsafe(32), username=username, issued_at=now, seen_at=now
        )

    def dumps(self, session: SessionData) -> str:
        """Sign a session into a cookie value.

        Parameters
        ----------
        session : SessionData
            The session.

        Returns
        -------
        value : str
            The signed cookie value.
        """
        return str(self._serializer.dumps(session.model_dump()))

    def loads(self, value: str | None, now: float) -> SessionData | None:
        """Check a cookie value: signature, session age and idle time.

        Parameters
        ----------
        value : str | None
            The cookie value, if any.
        now : float
            Current time, s since the epoch.

        Returns
        -------
        session : SessionData | None
            The session with ``seen_at`` set to ``now``; ``None`` when the cookie
            is missing, forged, malformed, older than ``max_age_s`` or idle
            longer than ``idle_timeout_s``.
        """
        from itsdangerous import BadSignature

        if not value:
            return None
        try:
            raw = self._serializer.loads(value, max_age=self.max_age_s)
            session = SessionData.model_validate(raw)
        except (BadSignature, ValidationError, TypeError, ValueError):
            return None
        if not 0 <= now - session.issued_at <= self.max_age_s:
            return None
        if not 0 <= now - session.seen_at <= self.idle_timeout_s:
            return None
        return session.model_copy(update={"seen_at": now})

    def csrf_token(self, session: SessionData) -> str:
        """Return the CSRF token of a session.

        Parameters
        ----------
        session : SessionData
            The session.

        Returns
        -------
        token : str
            HMAC-SHA256 of the session id, hexadecimal.
        """
        return hmac.new(
            self._csrf_key, session.sid.encode(), hashlib.sha256
        ).hexdigest()

    def csrf_ok(self, session: SessionData, token: str | None) -> bool:
        """Whether a token is the session's CSRF token (constant-time).

        Parameters
        ----------
        session : SessionData
            The session.
        token : str | None
            The token received.

        Returns
        -------
        ok : bool
            ``True`` only for the session's own token.
        """
        if not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)
