"""Registry aggregate: API tokens and the sign-in throttle of user accounts.

Tokens are stored as the SHA-256 of their plaintext (audited, exported: the
digest of 256 random bits reveals nothing). ``login_throttle`` is operational,
like the delivery leases: a failure is not audited, a lockout of an existing
account is, on its ``users`` row (actor :data:`SIGN_IN_ACTOR`, the row
unchanged); a lockout of an unknown username is logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._audit import row_state
from ._models import DuplicateRecordError, RecordNotFoundError, RegistryError
from ._store import _aware, _check_actor, audit
from ._users import (
    _acting_user,
    _check_hash,
    _check_now,
    _check_sha256,
    _out,
    _user_row,
    password_fingerprint,
)
from ._users_models import (
    SIGN_IN_ACTOR,
    ApiTokenOut,
    UserOut,
    check_token_label,
    check_username,
    token_out,
)

if TYPE_CHECKING:
    import datetime as dt
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["SignInStore", "TokenStore"]

logger = logging.getLogger(__name__)


class TokenStore:
    """Registry methods for API tokens (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def add_api_token(
        self,
        username: str,
        *,
        token_sha256: str,
        label: str,
        expires_at: dt.datetime,
        at: dt.datetime,
    ) -> ApiTokenOut:
        """Store a new API token of an active user, by its SHA-256 (audited).

        Parameters
        ----------
        username : str
            Whose token; the actor too (users issue their own tokens).
        token_sha256 : str
            SHA-256 hex of the plaintext (the plaintext is never stored).
        label : str
            What it is for (1-64 characters).
        expires_at, at : datetime.datetime
            When it stops working, and now (timezone-aware).

        Returns
        -------
        token : ApiTokenOut
            The token as stored.

        Raises
        ------
        RegistryError
            On a bad field, an expiry not after ``at``, a user who is not active,
            or a digest already stored (nothing is stored).
        """
        from sqlalchemy import select

        from .db._schema import ApiTokenRow

        check_username(username)
        digest = _check_sha256(token_sha256, "token_sha256")
        label = check_token_label(label)
        now = _check_now(at, "at")
        until = _check_now(expires_at, "expires_at")
        if until <= now:
            raise RegistryError(
                f"Invalid value for 'expires_at': got {until.isoformat()}; allowed: "
                f"after {now.isoformat()}."
            )
        with self._write() as s:
            user = _acting_user(s, username)
            taken = select(ApiTokenRow.id).where(ApiTokenRow.token_sha256 == digest)
            if s.execute(taken).first() is not None:
                raise DuplicateRecordError(
                    "Invalid value for 'token_sha256': not shown; this token is "
                    "stored already (issue a fresh one)."
                )
            row = ApiTokenRow(
                user_id=user.id,
                token_sha256=digest,
                label=label,
                created_at=now,
                expires_at=until,
                actor=username,
            )
            s.add(row)
            audit(s, username, "insert", "api_tokens", row, None, None, now)
            return token_out(row, username)

    def api_token(
        self, *, token_id: int | None = None, token_sha256: str | None = None
    ) -> tuple[ApiTokenOut, UserOut] | None:
        """Return a token and its user, by id or by digest (``None``: no such).

        Parameters
        ----------
        token_id : int | None
            The token's row id.
        token_sha256 : str | None
            SHA-256 hex of its plaintext.

        Returns
        -------
        found : (ApiTokenOut, UserOut) | None
            The token and its owner's account.
        """
        from sqlalchemy import select

        from .db._schema import ApiTokenRow, UserRow

        q = select(ApiTokenRow, UserRow).join(
            UserRow, UserRow.id == ApiTokenRow.user_id
        )
        if token_sha256 is not None:
            q = q.where(
                ApiTokenRow.token_sha256 == _check_sha256(token_sha256, "token")
            )
        elif isinstance(token_id, int) and not isinstance(token_id, bool):
            q = q.where(ApiTokenRow.id == token_id)
        else:
            raise RegistryError(
                f"Invalid value for 'token_id': got {token_id!r}; allowed: a token "
                "id (integer) or a token digest."
            )
        with self._read() as s:
            found = s.execute(q).first()
            if found is None:
                return None
            token, user = found
            return token_out(token, user.username), _out(s, user)

    def list_api_tokens(self, username: str) -> list[ApiTokenOut]:
        """Return a user's tokens, oldest first (revoked and expired included).

        Parameters
        ----------
        username : str
            Whose tokens.

        Returns
        -------
        tokens : list of ApiTokenOut
            The tokens.
        """
        from sqlalchemy import select

        from .db._schema import ApiTokenRow, UserRow

        check_username(username)
        with self._read() as s:
            rows = s.execute(
                select(ApiTokenRow)
                .join(UserRow, UserRow.id == ApiTokenRow.user_id)
                .where(UserRow.username == username)
                .order_by(ApiTokenRow.id)
            ).scalars()
            return [token_out(r, username) for r in rows]

    def revoke_api_token(
        self, token_id: int, *, actor: str, at: dt.datetime
    ) -> ApiTokenOut:
        """Revoke a token (audited); it stops working at once.

        Parameters
        ----------
        token_id : int
            The token's row id.
        actor : str
            Who revokes it (an active user).
        at : datetime.datetime
            Now (timezone-aware).

        Returns
        -------
        token : ApiTokenOut
            The token, revoked.

        Raises
        ------
        RecordNotFoundError
            If there is no such token.
        RegistryError
            If it is revoked already, or the actor is not an active user.
        """
        from .db._schema import ApiTokenRow, UserRow

        actor = _check_actor(actor)
        now = _check_now(at, "at")
        with self._write() as s:
            _acting_user(s, actor)
            row = s.get(ApiTokenRow, token_id)
            if row is None:
                raise RecordNotFoundError(
                    f"Invalid value for 'token_id': got {token_id!r}; no such token."
                )
            if row.revoked_at is not None:
                raise RegistryError(
                    f"Invalid value for 'token_id': got {token_id!r}; this token was "
                    f"revoked at {_aware(row.revoked_at).isoformat()}."
                )
            old = row_state(row)
            row.revoked_at = now
            audit(s, actor, "update", "api_tokens", row, old, "token revoked", now)
            owner = s.get(UserRow, row.user_id)
            return token_out(row, owner.username if owner else "")


class SignInStore:
    """Registry methods for the sign-in throttle (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def sign_in_locked_until(
        self, username: str, now: dt.datetime
    ) -> dt.datetime | None:
        """Return when a username's lockout ends (``None`` when not locked).

        Parameters
        ----------
        username : str
            The username tried (known or not).
        now : datetime.datetime
            Now (timezone-aware).

        Returns
        -------
        until : datetime.datetime | None
            End of the lockout, if one is in force at ``now``.
        """
        from sqlalchemy import select

        from .db._schema import LoginThrottleRow

        now = _check_now(now)
        with self._read() as s:
            until = s.execute(
                select(LoginThrottleRow.locked_until).where(
                    LoginThrottleRow.username == username
                )
            ).scalar_one_or_none()
        return None if until is None or _aware(until) <= now else _aware(until)

    def record_sign_in_failure(
        self,
        username: str,
        now: dt.datetime,
        *,
        max_failures: int,
        window: dt.timedelta,
        lockout: dt.timedelta,
    ) -> dt.datetime | None:
        """Count a failed sign-in; lock the username at ``max_failures``.

        Failures count within ``window`` of the first one; the count restarts
        after it. While locked, attempts are refused without being counted (the
        lockout is not extended). A lockout of an existing account is audited
        on its ``users`` row (actor :data:`SIGN_IN_ACTOR`, the row unchanged);
        one of an unknown username is logged.

        Parameters
        ----------
        username : str
            The username tried (known or not; 1-64 characters).
        now : datetime.datetime
            Now (timezone-aware).
        max_failures : int
            Failures that lock.
        window, lockout : datetime.timedelta
            Counting window, and how long a lockout lasts.

        Returns
        -------
        until : datetime.datetime | None
            End of the lockout in force after this failure, if any.
        """
        from sqlalchemy import select

        from .db._schema import LoginThrottleRow

        now = _check_now(now)
        with self._write() as s:
            row = s.execute(
                select(LoginThrottleRow).where(LoginThrottleRow.username == username)
            ).scalar_one_or_none()
            if row is not None and row.locked_until is not None:
                until = _aware(row.locked_until)
                if until > now:
                    return until
            if row is None:
                row = LoginThrottleRow(username=username, failures=0, window_start=now)
                s.add(row)
            elif (
                row.locked_until is not None or now - _aware(row.window_start) >= window
            ):
                row.failures, row.window_start, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures < max_failures:
                return None
            until = now + lockout
            row.locked_until = until
            reason = (
                f"sign-in locked until {until.isoformat(timespec='seconds')}: "
                f"{row.failures} failed attempts since "
                f"{_aware(row.window_start).isoformat(timespec='seconds')}"
            )
            user = _user_row(s, username)
            if user is None:
                logger.warning("Unknown username %r: %s.", username, reason)
            else:
                old = row_state(user)
                audit(
                    s, SIGN_IN_ACTOR, "sign_in_lockout", "users", user, old, reason, now
                )
            return until

    def record_sign_in_success(
        self,
        username: str,
        now: dt.datetime,
        *,
        rehashed: str | None = None,
    ) -> dt.datetime | None:
        """Clear a username's failures after a correct password, unless locked.

        Parameters
        ----------
        username : str
            The user who signed in.
        now : datetime.datetime
            Now (timezone-aware).
        rehashed : str | None
            A new hash of the same password (the hash parameters changed): stored
            and audited with the user as actor.

        Returns
        -------
        until : datetime.datetime | None
            End of a lockout in force (a concurrent failure locked the username):
            the sign-in must be refused and nothing was changed. ``None`` when
            the sign-in stands.
        """
        from sqlalchemy import delete, select

        from .db._schema import LoginThrottleRow, UserCredentialRow

        now = _check_now(now)
        if rehashed is not None:
            rehashed = _check_hash(rehashed)
        with self._write() as s:
            row = s.execute(
                select(LoginThrottleRow).where(LoginThrottleRow.username == username)
            ).scalar_one_or_none()
            if row is not None and row.locked_until is not None:
                until = _aware(row.locked_until)
                if until > now:
                    return until
            if row is not None:
                s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.id == row.id))
            user = _user_row(s, username)
            if rehashed is not None and user is not None:
                old = row_state(user)
                user.password_hash_sha256 = password_fingerprint(rehashed)
                cred = s.get(UserCredentialRow, user.id)
                if cred is not None:
                    cred.password_hash = rehashed
                reason = "password rehashed at sign-in (new hash parameters)"
                audit(s, username, "update", "users", user, old, reason, now)
            return None

    def clear_sign_in_throttle(
        self, username: str, *, actor: str, at: dt.datetime
    ) -> bool:
        """Clear a username's failed sign-ins and lockout (an administrator's unlock).

        Audited on the ``users`` row (the row unchanged; action
        ``sign_in_unlock``) when the account exists and something was cleared.

        Parameters
        ----------
        username : str
            The username (known or not).
        actor : str
            Who unlocks it (an active user).
        at : datetime.datetime
            Now (timezone-aware).

        Returns
        -------
        cleared : bool
            ``False`` when the username had no failure or lockout recorded.

        Raises
        ------
        RegistryError
            On a bad username or an actor who is not an active user.
        """
        from sqlalchemy import delete, select

        from .db._schema import LoginThrottleRow

        check_username(username)
        actor = _check_actor(actor)
        now = _check_now(at, "at")
        with self._write() as s:
            _acting_user(s, actor)
            row = s.execute(
                select(LoginThrottleRow).where(LoginThrottleRow.username == username)
            ).scalar_one_or_none()
            if row is None:
                return False
            reason = f"sign-in unlocked: {row.failures} failed attempts cleared"
            if row.locked_until is not None and _aware(row.locked_until) > now:
                until = _aware(row.locked_until).isoformat(timespec="seconds")
                reason += f", lockout until {until} lifted"
            s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.id == row.id))
            user = _user_row(s, username)
            if user is not None:
                audit(
                    s,
                    actor,
                    "sign_in_unlock",
                    "users",
                    user,
                    row_state(user),
                    reason,
                    now,
                )
            return True
