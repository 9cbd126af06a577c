"""Registry aggregate: user accounts and their sites.

The registry stores; it neither hashes nor checks passwords (the sign-in use
case in :mod:`plptms.workflow` does). Each account write is audited with the
acting user as actor, who must be an active user (the first account is its own
actor). The password hash lives in ``user_credentials``, which is neither
audited nor exported; the audited ``users`` row pins it by its SHA-256.
API tokens and the sign-in throttle are in :mod:`._user_tokens`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

from ._audit import row_state
from ._models import DuplicateRecordError, RecordNotFoundError, RegistryError
from ._store import _check_actor, audit
from ._users_models import (
    UserCredential,
    UserOut,
    check_display_name,
    check_role,
    check_sites,
    check_username,
    user_out,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from ..access import Role

__all__ = ["UserStore", "password_fingerprint"]


def password_fingerprint(password_hash: str) -> str:
    """Return the SHA-256 hex of a stored password hash (what ``users`` pins).

    Parameters
    ----------
    password_hash : str
        The PHC string.

    Returns
    -------
    digest : str
        64 hex characters.
    """
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()


def _check_hash(value: Any) -> str:
    # never echo the value: it is a password hash
    if not isinstance(value, str) or not value.startswith("$") or len(value) > 255:
        raise RegistryError(
            "Invalid value for 'password_hash': not shown; allowed: a PHC hash "
            "string (starting with '$', at most 255 characters)."
        )
    return value


def _check_sha256(value: Any, field: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) != 64
        or any(c not in "0123456789abcdef" for c in value)
    ):
        raise RegistryError(
            f"Invalid value for {field!r}: not shown; allowed: 64 lower-case hex "
            "characters (a SHA-256 digest)."
        )
    return value


def _check_now(value: Any, field: str = "now") -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a timezone-aware "
            "datetime."
        )
    return value


def _user_row(s: Session, username: str) -> Any:
    from sqlalchemy import select

    from .db._schema import UserRow

    return s.execute(
        select(UserRow).where(UserRow.username == username)
    ).scalar_one_or_none()


def _sites_of(s: Session, user_id: int) -> frozenset[str]:
    from sqlalchemy import select

    from .db._schema import UserSiteRow

    return frozenset(
        s.execute(
            select(UserSiteRow.site).where(
                UserSiteRow.user_id == user_id, UserSiteRow.removed_at.is_(None)
            )
        ).scalars()
    )


def _out(s: Session, row: Any) -> UserOut:
    return user_out(row, _sites_of(s, row.id))


def _known_user(s: Session, username: str) -> Any:
    row = _user_row(s, username)
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'username': got {username!r}; no such user."
        )
    return row


def _acting_user(s: Session, actor: str) -> Any:
    """Refuse an actor who is not an active user (every account write)."""
    row = _user_row(s, actor)
    if row is None or not row.active:
        raise RegistryError(
            f"Invalid value for 'actor': got {actor!r}; allowed: an active user "
            "(account changes are made by signed-in users)."
        )
    return row


class UserStore:
    """Registry methods for user accounts (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    # ------------------------------------------------------------- accounts
    def add_user(
        self,
        username: str,
        *,
        display_name: str,
        role: Role | str,
        sites: frozenset[str],
        password_hash: str,
        actor: str,
        bootstrap: bool = False,
        at: dt.datetime | None = None,
    ) -> UserOut:
        """Create a user account (audited).

        Parameters
        ----------
        username : str
            Sign-in name (unique).
        display_name : str
            Name shown (1-128 characters).
        role : Role | str
            The role.
        sites : frozenset of str
            Sites assigned (site codes).
        password_hash : str
            The password's hash (PHC string), computed by the caller.
        actor : str
            Who creates it: an active user, or ``username`` itself for the first
            account (``bootstrap``).
        bootstrap : bool
            Create the first account: refused once any account exists.
        at : datetime.datetime | None
            When (now when ``None``).

        Returns
        -------
        user : UserOut
            The account as stored.

        Raises
        ------
        DuplicateRecordError
            If the username is taken (nothing is stored).
        RegistryError
            On a bad field, an actor who is not an active user, or a bootstrap
            when accounts exist (nothing is stored).
        """
        from sqlalchemy import select

        from ..utils import utc_now
        from .db._schema import UserCredentialRow, UserRow, UserSiteRow

        check_username(username)
        name = check_display_name(display_name)
        role = check_role(role)
        sites = check_sites(sites)
        password_hash = _check_hash(password_hash)
        actor = _check_actor(actor)
        if bootstrap and actor != username:
            raise RegistryError(
                f"Invalid value for 'actor': got {actor!r}; allowed: the first "
                f"account is its own actor ({username!r})."
            )
        now = _check_now(at, "at") if at is not None else utc_now()
        with self._write() as s:
            if bootstrap:
                if s.execute(select(UserRow.id).limit(1)).first() is not None:
                    raise RegistryError(
                        f"Invalid value for 'by': got None for {username!r}; user "
                        "accounts exist already: an administrator must create new "
                        "ones (only the first account is created without one)."
                    )
            else:
                _acting_user(s, actor)
            if _user_row(s, username) is not None:
                raise DuplicateRecordError(
                    f"Invalid value for 'username': got {username!r}; this username "
                    "is taken (usernames are unique)."
                )
            row = UserRow(
                username=username,
                display_name=name,
                role=role.value,
                password_hash_sha256=password_fingerprint(password_hash),
                password_set_at=now,
                active=True,
                created_at=now,
                actor=actor,
            )
            s.add(row)
            audit(s, actor, "insert", "users", row, None, None, now)
            s.add(UserCredentialRow(user_id=row.id, password_hash=password_hash))
            for site in sorted(sites):
                site_row = UserSiteRow(user_id=row.id, site=site, actor=actor, at=now)
                s.add(site_row)
                audit(s, actor, "insert", "user_sites", site_row, None, None, now)
            return _out(s, row)

    def get_user(self, username: str) -> UserOut | None:
        """Return a user account (``None`` when there is none).

        Parameters
        ----------
        username : str
            Sign-in name.

        Returns
        -------
        user : UserOut | None
            The account.
        """
        check_username(username)
        with self._read() as s:
            row = _user_row(s, username)
            return None if row is None else _out(s, row)

    def list_users(self) -> list[UserOut]:
        """Return every user account, by username.

        Returns
        -------
        users : list of UserOut
            The accounts (active or not).
        """
        from sqlalchemy import select

        from .db._schema import UserRow

        with self._read() as s:
            rows = s.execute(select(UserRow).order_by(UserRow.username)).scalars()
            return [_out(s, r) for r in rows]

    def user_credential(self, username: str) -> UserCredential | None:
        """Return an account with its password hash (the sign-in alone uses this).

        Parameters
        ----------
        username : str
            Sign-in name.

        Returns
        -------
        credential : UserCredential | None
            The account, its hash and whether the hash matches the audited
            fingerprint; ``None`` when there is no such user.
        """
        from .db._schema import UserCredentialRow

        check_username(username)
        with self._read() as s:
            row = _user_row(s, username)
            if row is None:
                return None
            cred = s.get(UserCredentialRow, row.id)
            stored = "" if cred is None else str(cred.password_hash)
            pinned = password_fingerprint(stored) == row.password_hash_sha256
            return UserCredential(
                user=_out(s, row), password_hash=stored, pinned=pinned
            )

    def set_password_hash(
        self,
        username: str,
        password_hash: str,
        *,
        actor: str,
        reason: str,
        at: dt.datetime | None = None,
        keep_sid_sha256: str | None = None,
    ) -> int:
        """Replace a user's password hash (audited on the ``users`` row).

        Every web session of the user is revoked in the same transaction, but
        ``keep_sid_sha256``'s (the session that changed its own password).

        Parameters
        ----------
        username : str
            Whose password.
        password_hash : str
            The new hash (PHC string).
        actor : str
            Who sets it (an active user).
        reason : str
            Why (the audit entry's reason), e.g. ``"password changed"``.
        at : datetime.datetime | None
            When (now when ``None``).
        keep_sid_sha256 : str | None
            SHA-256 hex of the one web session to keep.

        Returns
        -------
        revoked : int
            Web sessions revoked.

        Raises
        ------
        RecordNotFoundError
            If there is no such user.
        RegistryError
            On a bad hash or an actor who is not an active user.
        """
        from ..utils import utc_now
        from ._web_sessions import revoke_sessions_of
        from .db._schema import UserCredentialRow

        check_username(username)
        password_hash = _check_hash(password_hash)
        actor = _check_actor(actor)
        now = _check_now(at, "at") if at is not None else utc_now()
        if keep_sid_sha256 is not None:
            keep_sid_sha256 = _check_sha256(keep_sid_sha256, "keep_sid_sha256")
        with self._write() as s:
            _acting_user(s, actor)
            row = _known_user(s, username)
            old = row_state(row)
            row.password_hash_sha256 = password_fingerprint(password_hash)
            row.password_set_at = now
            cred = s.get(UserCredentialRow, row.id)
            if cred is None:
                s.add(UserCredentialRow(user_id=row.id, password_hash=password_hash))
            else:
                cred.password_hash = password_hash
            audit(s, actor, "update", "users", row, old, reason, now)
            return revoke_sessions_of(s, username, now, keep_sid_sha256=keep_sid_sha256)

    def set_user_sites(
        self, username: str, sites: frozenset[str], *, actor: str
    ) -> UserOut:
        """Assign exactly ``sites`` to a user (each change audited).

        A withdrawn site keeps its row (``removed_at`` set); assigning it again
        clears that.

        Parameters
        ----------
        username : str
            Whose sites.
        sites : frozenset of str
            The sites from now on (may be empty).
        actor : str
            Who changes them (an active user).

        Returns
        -------
        user : UserOut
            The account with its sites.

        Raises
        ------
        RecordNotFoundError
            If there is no such user.
        RegistryError
            On a bad site code or an actor who is not an active user.
        """
        from sqlalchemy import select

        from ..utils import utc_now
        from .db._schema import UserSiteRow

        check_username(username)
        sites = check_sites(sites)
        actor = _check_actor(actor)
        now = utc_now()
        with self._write() as s:
            _acting_user(s, actor)
            row = _known_user(s, username)
            existing = {
                r.site: r
                for r in s.execute(
                    select(UserSiteRow).where(UserSiteRow.user_id == row.id)
                ).scalars()
            }
            for site, site_row in sorted(existing.items()):
                assigned = site_row.removed_at is None
                if assigned == (site in sites):
                    continue
                old = row_state(site_row)
                site_row.removed_at = None if site in sites else now
                site_row.actor, site_row.at = actor, now
                why = "site assigned again" if site in sites else "site withdrawn"
                audit(s, actor, "update", "user_sites", site_row, old, why, now)
            for site in sorted(sites - set(existing)):
                site_row = UserSiteRow(user_id=row.id, site=site, actor=actor, at=now)
                s.add(site_row)
                audit(s, actor, "insert", "user_sites", site_row, None, None, now)
            return _out(s, row)

    def deactivate_user(self, username: str, *, actor: str) -> UserOut:
        """Deactivate an account: no sign-in, no token of it works (audited).

        Its web sessions are revoked in the same transaction.

        Parameters
        ----------
        username : str
            Whose account.
        actor : str
            Who deactivates it (an active user, not the same one).

        Returns
        -------
        user : UserOut
            The account, inactive.

        Raises
        ------
        RecordNotFoundError
            If there is no such user.
        RegistryError
            If it is inactive already, is the actor's own, or the actor is not
            an active user (nothing changes).
        """
        from ..utils import utc_now
        from ._web_sessions import revoke_sessions_of

        check_username(username)
        actor = _check_actor(actor)
        if actor == username:
            raise RegistryError(
                f"Invalid value for 'username': got {username!r}; allowed: another "
                "user's account (nobody deactivates their own)."
            )
        now = utc_now()
        with self._write() as s:
            _acting_user(s, actor)
            row = _known_user(s, username)
            if not row.active:
                raise RegistryError(
                    f"Invalid value for 'username': got {username!r}; this account "
                    "is deactivated already."
                )
            old = row_state(row)
            row.active = False
            audit(s, actor, "update", "users", row, old, "account deactivated", now)
            revoke_sessions_of(s, username, now)
            return _out(s, row)

    def set_user_role(
        self, username: str, role: Role | str, *, actor: str, reason: str
    ) -> UserOut:
        """Change a user's role (audited with the reason); revoke their sessions.

        The last active administrator keeps that role: a change that would
        leave no active administrator is refused.

        Parameters
        ----------
        username : str
            Whose role.
        role : Role | str
            The new role.
        actor : str
            Who changes it (an active user).
        reason : str
            Why (1-500 characters; the audit entry's reason).

        Returns
        -------
        user : UserOut
            The account with its new role.

        Raises
        ------
        RecordNotFoundError
            If there is no such user.
        RegistryError
            On a bad role or reason, the same role, the last active
            administrator's demotion, or an actor who is not an active user
            (nothing changes).
        """
        from sqlalchemy import func, select

        from ..access import Role
        from ..utils import utc_now
        from ._web_sessions import revoke_sessions_of
        from .db._schema import UserRow

        check_username(username)
        new = check_role(role)
        actor = _check_actor(actor)
        if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 500:
            raise RegistryError(
                f"Invalid value for 'reason': got {reason!r}; allowed: why the role "
                "changes (1-500 characters)."
            )
        now = utc_now()
        admin = Role.ADMINISTRATOR.value
        with self._write() as s:
            _acting_user(s, actor)
            row = _known_user(s, username)
            if row.role == new.value:
                raise RegistryError(
                    f"Invalid value for 'role': got {new.value!r}; {username!r} has "
                    "this role already."
                )
            if row.role == admin and row.active:
                others = s.execute(
                    select(func.count(UserRow.id)).where(
                        UserRow.role == admin,
                        UserRow.active.is_(True),
                        UserRow.id != row.id,
                    )
                ).scalar_one()
                if others == 0:
                    raise RegistryError(
                        f"Invalid value for 'role': got {new.value!r} for "
                        f"{username!r}; allowed: administrator only, as the last "
                        "active administrator (make another one first)."
                    )
            old = row_state(row)
            row.role = new.value
            audit(s, actor, "update", "users", row, old, reason.strip(), now)
            revoke_sessions_of(s, username, now)
            return _out(s, row)
