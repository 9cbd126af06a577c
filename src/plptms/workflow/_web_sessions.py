"""Server-side web sessions: start, check on every request, end.

The web app's session cookie (signed) carries a random 256-bit session id;
the registry keeps only its SHA-256 with the username, when it began, when it
was last seen, when it ends at the latest and when it was revoked. A cookie
is honoured only while its row exists, is not revoked, is not idle longer than
the idle timeout and is not past its end; so a cookie copied before sign-out
is worthless after it, as is every session of a user who is deactivated,
whose role changes or whose password changes (:mod:`._accounts_admin`).

The rows are operational (neither audited nor exported); the account events
that revoke them are audited. Sign-in, sign-out and refusals are logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Final

from ._accounts import LoginRefusedError

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = [
    "SESSION_REFRESH",
    "end_web_session",
    "session_digest",
    "start_web_session",
    "web_session_user",
]

logger = logging.getLogger(__name__)

#: Shortest interval between two writes of a session's last-seen time (plptms
#: choice: one write a minute at most, whatever the request rate; a session
#: may so end up to this much before its cookie's own idle clock would).
SESSION_REFRESH: Final[dt.timedelta] = dt.timedelta(minutes=1)

#: Shortest session id accepted, characters (256 bits in base64url are 43).
_SID_MIN_CHARS: Final[int] = 43


def session_digest(sid: str) -> str:
    """Return the SHA-256 hex of a session id (what the registry stores).

    Parameters
    ----------
    sid : str
        The session id (never shown in a message).

    Returns
    -------
    digest : str
        64 hex characters.

    Raises
    ------
    TypeError
        If ``sid`` is not a string.
    ValueError
        If it is shorter than 43 characters (less than 256 random bits).
    """
    if not isinstance(sid, str):
        raise TypeError(
            f"Invalid type for 'sid': got {type(sid).__name__}; allowed: str."
        )
    if len(sid) < _SID_MIN_CHARS:
        raise ValueError(
            f"Invalid value for 'sid': not shown ({len(sid)} characters); allowed: "
            f"at least {_SID_MIN_CHARS} characters (256 random bits)."
        )
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def _aware(now: dt.datetime) -> dt.datetime:
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValueError(
            f"Invalid value for 'now': got {now!r}; allowed: a timezone-aware datetime."
        )
    return now.astimezone(dt.UTC)


def start_web_session(
    reg: Registry, username: str, sid: str, *, now: dt.datetime, max_age_s: int
) -> None:
    """Store a new signed-in session (after a successful sign-in).

    Parameters
    ----------
    reg : Registry
        The registry.
    username : str
        Who signed in.
    sid : str
        The new session's random id (256 bits; only its digest is stored).
    now : datetime.datetime
        Now (timezone-aware).
    max_age_s : int
        Longest session, s from now (its absolute end).

    Raises
    ------
    ValueError
        On a bad id, username or age (nothing is stored).
    """
    if isinstance(max_age_s, bool) or not isinstance(max_age_s, int) or max_age_s <= 0:
        raise ValueError(
            f"Invalid value for 'max_age_s': got {max_age_s!r}; allowed: a positive "
            "whole number of seconds."
        )
    now = _aware(now)
    reg.add_web_session(
        username,
        sid_sha256=session_digest(sid),
        at=now,
        expires_at=now + dt.timedelta(seconds=max_age_s),
    )
    logger.info("Web session of %r started.", username)


def web_session_user(
    reg: Registry, sid: str, *, now: dt.datetime, idle_timeout_s: int
) -> str:
    """Return whose a live session is, refreshing its last-seen time.

    The last-seen time is written when at least :data:`SESSION_REFRESH` old.

    Parameters
    ----------
    reg : Registry
        The registry (not site-scoped: the table is no patient data).
    sid : str
        The session id from the cookie.
    now : datetime.datetime
        Now (timezone-aware).
    idle_timeout_s : int
        Longest pause between two requests, s.

    Returns
    -------
    username : str
        The session's user (whose account the caller still checks).

    Raises
    ------
    LoginRefusedError
        If the session is unknown, revoked, past its end or idle too long.
    """
    now = _aware(now)
    try:
        digest = session_digest(sid)
    except (TypeError, ValueError):
        raise LoginRefusedError("Invalid session: not shown; unknown.") from None
    found = reg.web_session(digest)
    if found is None:
        raise LoginRefusedError("Invalid session: not shown; unknown.")
    what = f"Session {found.id} of {found.username!r}"
    if found.revoked_at is not None:
        raise LoginRefusedError(
            f"{what} was ended at {found.revoked_at.isoformat(timespec='seconds')}."
        )
    if now > found.expires_at:
        raise LoginRefusedError(
            f"{what} ended at {found.expires_at.isoformat(timespec='seconds')}."
        )
    if now - found.last_seen_at > dt.timedelta(seconds=idle_timeout_s):
        raise LoginRefusedError(
            f"{what} was idle since "
            f"{found.last_seen_at.isoformat(timespec='seconds')}, over "
            f"{idle_timeout_s} s."
        )
    if now - found.last_seen_at >= SESSION_REFRESH:
        reg.touch_web_session(digest, at=now)
    return found.username


def end_web_session(reg: Registry, sid: str, *, now: dt.datetime) -> bool:
    """End a session (sign-out): its cookie, copied or not, is refused from now.

    Parameters
    ----------
    reg : Registry
        The registry.
    sid : str
        The session id from the cookie.
    now : datetime.datetime
        Now (timezone-aware).

    Returns
    -------
    ended : bool
        ``False`` when it was unknown or ended already.
    """
    now = _aware(now)
    try:
        digest = session_digest(sid)
    except (TypeError, ValueError):
        return False
    found = reg.web_session(digest)
    ended = reg.revoke_web_session(digest, at=now)
    if ended and found is not None:
        logger.info("Web session of %r ended (sign-out).", found.username)
    return ended
