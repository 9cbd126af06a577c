"""The registry's implementation of :class:`plptms.delivery.DeliveryLog`.

The session runner (core, in :mod:`plptms.delivery`) writes its events through the
:class:`~plptms.delivery.DeliveryLog` interface; this class implements it on the
registry's append-only, chained delivery events, with lease fencing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..delivery import DeliveryEvent, DeliveryLogLostError
from ._models import LeaseLostError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._service import Registry

__all__ = ["RegistryDeliveryLog"]


class RegistryDeliveryLog:
    """A :class:`DeliveryLog` on the registry's append-only delivery events.

    Parameters
    ----------
    registry : Registry
        The registry.
    session_id : int
        Delivery session.
    lease : str | None
        This runner's lease holder id (see :meth:`Registry.acquire_lease`): every
        event is then refused unless the runner still holds the lease, and the
        lease is renewed as events are written and on :meth:`heartbeat`.
    lease_ttl_s : float
        Lease lifetime, s (renewed every quarter of it).
    lease_since : float | None
        ``time.monotonic()`` taken just before the lease was acquired (now when
        ``None``): the lease is certain until that time plus its lifetime.

    Notes
    -----
    Another runner can take a lease over only after it expires, so a runner that
    fires only while its own lease is certainly live (:meth:`may_fire`: its last
    renewal, timed from before the request, plus the lifetime, less a margin)
    never fires after a takeover.
    """

    def __init__(
        self,
        registry: Registry,
        session_id: int,
        *,
        lease: str | None = None,
        lease_ttl_s: float = 30.0,
        lease_since: float | None = None,
    ) -> None:
        self.registry = registry
        self.session_id = session_id
        self.lease = lease
        self.lease_ttl_s = lease_ttl_s
        self._renewed = time.monotonic() if lease_since is None else lease_since

    def may_fire(self) -> bool:
        """Whether the lease is certainly still held (a quarter of it to spare)."""
        if self.lease is None:
            return True
        left = self._renewed + self.lease_ttl_s - time.monotonic()
        return left > self.lease_ttl_s / 4.0

    def _renew_due(self) -> bool:
        return time.monotonic() - self._renewed >= self.lease_ttl_s / 4.0

    def append(self, kind: str, **fields: Any) -> int:
        """Append one event durably (refused when the lease is lost)."""
        renew = self.lease is not None and self._renew_due()
        asked = time.monotonic()
        try:
            seq = self.registry.append_delivery_event(
                self.session_id,
                kind,
                lease=self.lease,
                renew_s=self.lease_ttl_s if renew else None,
                **fields,
            )
        except LeaseLostError as exc:
            raise DeliveryLogLostError(str(exc)) from exc
        if renew:
            self._renewed = asked
        return seq

    def heartbeat(self) -> None:
        """Renew the lease when a quarter of its lifetime has passed."""
        if self.lease is None or not self._renew_due():
            return
        asked = time.monotonic()
        try:
            self.registry.renew_lease(
                self.session_id, holder=self.lease, ttl_s=self.lease_ttl_s
            )
        except LeaseLostError as exc:
            raise DeliveryLogLostError(str(exc)) from exc
        self._renewed = asked

    def events(self) -> Sequence[DeliveryEvent]:
        """Return the session's events."""
        return self.registry.delivery_events(self.session_id)
