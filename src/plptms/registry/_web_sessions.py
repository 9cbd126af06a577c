"""Registry aggregate: server-side web sessions (operational, not audited).

A row per signed-in browser session holds the SHA-256 of its random id (the id
itself travels only in the signed cookie), the username, when it began, when
it was last seen, when it ends at the latest, and when it was revoked. Like
the sign-in throttle these rows are operational: neither audited nor
exported. The account events that revoke sessions (deactivation, password
change, role change) are audited on the ``users`` row, and revoke in the same
transaction (:func:`revoke_sessions_of`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

from ._models import DuplicateRecordError, RegistryError
from ._store import _aware
from ._users import _check_now, _check_sha256
from ._users_models import check_username

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["WEB_SESSION_KEEP", "WebSessionOut", "WebSessionStore", "revoke_sessions_of"]

#: How long a session's row is kept after its end, before a later sign-in
#: deletes it (plptms choice: a month of who was signed in when).
WEB_SESSION_KEEP: Final[dt.timedelta] = dt.timedelta(days=30)


class WebSessionOut(BaseModel):
    """A web session as stored (never its id: only the id's digest is kept).

    Attributes
    ----------
    id : int
        Row id.
    username : str
        Whose session.
    created_at, last_seen_at, expires_at : datetime.datetime
        When it began, when a request last refreshed it, and when it ends
        whatever the activity (UTC).
    revoked_at : datetime.datetime | None
        When it was ended (sign-out or an account change); ``None`` while live.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    username: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


def _out(row: Any) -> WebSessionOut:
    return WebSessionOut(
        id=row.id,
        username=row.username,
        created_at=_aware(row.created_at),
        last_seen_at=_aware(row.last_seen_at),
        expires_at=_aware(row.expires_at),
        revoked_at=None if row.revoked_at is None else _aware(row.revoked_at),
    )


def _by_digest(s: Session, digest: str) -> Any:
    from sqlalchemy import select

    from .db._schema import WebSessionRow

    return s.execute(
        select(WebSessionRow).where(WebSessionRow.sid_sha256 == digest)
    ).scalar_one_or_none()


def revoke_sessions_of(
    s: Session, username: str, at: dt.datetime, *, keep_sid_sha256: str | None = None
) -> int:
    """Revoke a user's live sessions inside an open write transaction.

    Parameters
    ----------
    s : sqlalchemy.orm.Session
        The transaction (the account change that causes the revocation).
    username : str
        Whose sessions.
    at : datetime.datetime
        Now (timezone-aware).
    keep_sid_sha256 : str | None
        Digest of one session to keep (the one that changed its own password).

    Returns
    -------
    n : int
        Sessions revoked.
    """
    from sqlalchemy import update

    from .db._schema import WebSessionRow

    q = update(WebSessionRow).where(
        WebSessionRow.username == username, WebSessionRow.revoked_at.is_(None)
    )
    if keep_sid_sha256 is not None:
        q = q.where(WebSessionRow.sid_sha256 != keep_sid_sha256)
    result: Any = s.execute(q.values(revoked_at=at))
    return int(result.rowcount or 0)


class WebSessionStore:
    """Registry methods for web sessions (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def add_web_session(
        self,
        username: str,
        *,
        sid_sha256: str,
        at: dt.datetime,
        expires_at: dt.datetime,
    ) -> WebSessionOut:
        """Store a new session by the digest of its id (not audited).

        Rows of sessions that ended (``expires_at``) more than
        :data:`WEB_SESSION_KEEP` before ``at`` are deleted in the same
        transaction, so the table does not grow without end.

        Parameters
        ----------
        username : str
            Whose session (checked by the sign-in before).
        sid_sha256 : str
            SHA-256 hex of the session id (the id is never stored).
        at, expires_at : datetime.datetime
            Now, and when it ends at the latest (timezone-aware).

        Returns
        -------
        session : WebSessionOut
            The session as stored.

        Raises
        ------
        RegistryError
            On a bad field, an end not after ``at``, or a digest already stored
            (:class:`DuplicateRecordError`; nothing is stored).
        """
        from sqlalchemy import delete

        from .db._schema import WebSessionRow

        check_username(username)
        digest = _check_sha256(sid_sha256, "sid_sha256")
        now = _check_now(at, "at")
        until = _check_now(expires_at, "expires_at")
        if until <= now:
            raise RegistryError(
                f"Invalid value for 'expires_at': got {until.isoformat()}; allowed: "
                f"after {now.isoformat()}."
            )
        with self._write() as s:
            if _by_digest(s, digest) is not None:
                raise DuplicateRecordError(
                    "Invalid value for 'sid_sha256': not shown; this session is "
                    "stored already (start a fresh one)."
                )
            s.execute(
                delete(WebSessionRow).where(
                    WebSessionRow.expires_at < now - WEB_SESSION_KEEP
                )
            )
            row = WebSessionRow(
                sid_sha256=digest,
                username=username,
                created_at=now,
                last_seen_at=now,
                expires_at=until,
            )
            s.add(row)
            s.flush()
            return _out(row)

    def web_session(self, sid_sha256: str) -> WebSessionOut | None:
        """Return a session by the digest of its id (``None``: no such).

        Parameters
        ----------
        sid_sha256 : str
            SHA-256 hex of the session id.

        Returns
        -------
        session : WebSessionOut | None
            The session, live or not.
        """
        digest = _check_sha256(sid_sha256, "sid_sha256")
        with self._read() as s:
            row = _by_digest(s, digest)
            return None if row is None else _out(row)

    def touch_web_session(self, sid_sha256: str, *, at: dt.datetime) -> bool:
        """Set a live session's last-seen time to ``at`` (never backwards).

        Parameters
        ----------
        sid_sha256 : str
            SHA-256 hex of the session id.
        at : datetime.datetime
            Now (timezone-aware).

        Returns
        -------
        touched : bool
            ``False`` when there is no such session or it is revoked.
        """
        from sqlalchemy import update

        from .db._schema import WebSessionRow

        digest = _check_sha256(sid_sha256, "sid_sha256")
        now = _check_now(at, "at")
        with self._write() as s:
            result: Any = s.execute(
                update(WebSessionRow)
                .where(
                    WebSessionRow.sid_sha256 == digest,
                    WebSessionRow.revoked_at.is_(None),
                    WebSessionRow.last_seen_at < now,
                )
                .values(last_seen_at=now)
            )
            return bool(result.rowcount)

    def revoke_web_session(self, sid_sha256: str, *, at: dt.datetime) -> bool:
        """End one session (sign-out).

        Parameters
        ----------
        sid_sha256 : str
            SHA-256 hex of the session id.
        at : datetime.datetime
            Now (timezone-aware).

        Returns
        -------
        revoked : bool
            ``False`` when there is no such session or it was revoked already.
        """
        digest = _check_sha256(sid_sha256, "sid_sha256")
        now = _check_now(at, "at")
        with self._write() as s:
            row = _by_digest(s, digest)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = now
            return True

    def revoke_web_sessions(
        self,
        username: str,
        *,
        at: dt.datetime,
        keep_sid_sha256: str | None = None,
    ) -> int:
        """End every live session of a user (but ``keep_sid_sha256``'s).

        Parameters
        ----------
        username : str
            Whose sessions.
        at : datetime.datetime
            Now (timezone-aware).
        keep_sid_sha256 : str | None
            Digest of one session to keep.

        Returns
        -------
        n : int
            Sessions revoked.
        """
        check_username(username)
        now = _check_now(at, "at")
        if keep_sid_sha256 is not None:
            keep_sid_sha256 = _check_sha256(keep_sid_sha256, "keep_sid_sha256")
        with self._write() as s:
            return revoke_sessions_of(s, username, now, keep_sid_sha256=keep_sid_sha256)

    def list_web_sessions(self, username: str) -> list[WebSessionOut]:
        """Return a user's sessions, oldest first (revoked and expired included).

        Parameters
        ----------
        username : str
            Whose sessions.

        Returns
        -------
        sessions : list of WebSessionOut
            The sessions.
        """
        from sqlalchemy import select

        from .db._schema import WebSessionRow

        check_username(username)
        with self._read() as s:
            rows = s.execute(
                select(WebSessionRow)
                .where(WebSessionRow.username == username)
                .order_by(WebSessionRow.id)
            ).scalars()
            return [_out(r) for r in rows]
