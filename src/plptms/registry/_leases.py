"""Registry aggregate: the lease that lets one runner at a time deliver a session.

A runner takes the lease before delivering, renews it as it writes events (the
heartbeat) and gives it back at the end. A second runner is refused while the
lease is live; an expired lease is taken over, with an audit entry naming both
holders. Every event append checks the lease (fencing: see
:meth:`plptms.registry.Registry.append_delivery_event`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ._audit import row_state
from ._delivery import _delivery_row, _hold_lease
from ._models import RegistryError, SessionLeasedError
from ._store import _aware, _check_actor, _now, audit

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["LeaseStore"]


class LeaseStore:
    """Registry methods for delivery-session leases (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

    def acquire_lease(
        self, session_id: int, *, holder: str, ttl_s: float, actor: str
    ) -> None:
        """Take the lease that lets one runner deliver a session.

        Parameters
        ----------
        session_id : int
            Delivery session.
        holder : str
            This runner's id (host, process and a random part).
        ttl_s : float
            Lease lifetime, s; the runner renews it while it runs.
        actor : str
            Who runs the session (named in the audit entry of a takeover).

        Raises
        ------
        SessionLeasedError
            If another runner's lease has not expired (nothing changes).

        Notes
        -----
        An expired lease of another holder is taken over, with an audit entry
        (``lease_takeover``) on the delivery session that names both holders.
        """
        from .db._schema import DeliveryLeaseRow

        actor = _check_actor(actor)
        if not (isinstance(ttl_s, int | float) and 0 < ttl_s <= 3600):
            raise RegistryError(
                f"Invalid value for 'ttl_s': got {ttl_s!r}; allowed range is "
                "(0, 3600] s."
            )
        with self._write() as s:
            d = _delivery_row(s, session_id)
            now = _now()
            expires = now + dt.timedelta(seconds=ttl_s)
            row = s.get(DeliveryLeaseRow, session_id)
            if row is None:
                s.add(
                    DeliveryLeaseRow(
                        session_id=session_id,
                        holder=holder,
                        acquired_at=now,
                        expires_at=expires,
                    )
                )
                return
            if row.holder == holder:
                row.expires_at = expires
                return
            until = _aware(row.expires_at)
            if until > now:
                raise SessionLeasedError(
                    f"Delivery session {session_id} is being run by {row.holder} "
                    f"(lease until {until.isoformat(timespec='seconds')}, "
                    f"{(until - now).total_seconds():.0f} s from now): a second "
                    "runner is refused. If that runner has died, resume after the "
                    "lease expires."
                )
            previous = row.holder
            row.holder = holder
            row.acquired_at = now
            row.expires_at = expires
            # the session row itself is unchanged: old and new state are equal
            reason = (
                f"lease of {previous} expired at "
                f"{until.isoformat(timespec='seconds')}; taken over by {holder}"
            )
            old = row_state(d)
            audit(s, actor, "lease_takeover", "delivery_sessions", d, old, reason, now)

    def renew_lease(self, session_id: int, *, holder: str, ttl_s: float) -> None:
        """Renew this runner's lease (the heartbeat).

        Parameters
        ----------
        session_id : int
            Delivery session.
        holder : str
            This runner's id.
        ttl_s : float
            New lifetime from now, s.

        Raises
        ------
        LeaseLostError
            If this runner no longer holds the lease (another took it over).
        """
        with self._write() as s:
            _hold_lease(s, session_id, holder, ttl_s)

    def release_lease(self, session_id: int, *, holder: str) -> None:
        """Give the lease back (no-op when this runner no longer holds it).

        Parameters
        ----------
        session_id : int
            Delivery session.
        holder : str
            This runner's id.
        """
        from .db._schema import DeliveryLeaseRow

        with self._write() as s:
            row = s.get(DeliveryLeaseRow, session_id)
            if row is not None and row.holder == holder:
                s.delete(row)
