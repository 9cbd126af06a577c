"""Registry aggregate: delivery sessions and their event chains.

A delivery session's events are appended durably, chained and keyed
(:meth:`DeliveryStore.append_delivery_event`), each append fenced by the
session's lease (taken and renewed in ``_leases.py``); a session stopped by an
emergency stop or an abort resumes only after a physician's recorded restart.
:class:`RegistryDeliveryLog` (``_delivery_log.py``) is the runner's view of these
methods.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ._audit import GENESIS_HASH, KEY_INFO, row_state, seal_event
from ._models import (
    DeliveryEvent,
    DeliveryOut,
    DuplicateRecordError,
    LeaseLostError,
    RecordNotFoundError,
    RegistryError,
    SessionLeasedError,
)
from ._patients import patient_row
from ._store import _aware, _check_actor, _check_reason, _now, audit, rows_out

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["DELIVERY_STATUSES", "DeliveryStore"]

#: Statuses a delivery session can be closed with.
DELIVERY_STATUSES: tuple[str, ...] = (
    "completed",
    "aborted",
    "emergency_stop",
    "faulted",
    "interrupted",
    "lease_lost",
    "running",
)


def _delivery_row(s: Session, session_id: int) -> Any:
    """Return a delivery session's row, or refuse an unknown id."""
    from .db._schema import DeliverySessionRow

    row = s.get(DeliverySessionRow, session_id)
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'session_id': got {session_id!r}; no such "
            "delivery session."
        )
    return row


def _last_event(s: Session, session_id: int) -> Any:
    """(seq, hash) of a session's last event, or ``None``: one indexed query."""
    from sqlalchemy import select

    from .db._schema import DeliveryEventRow as E

    return s.execute(
        select(E.seq, E.hash)
        .where(E.session_id == session_id)
        .order_by(E.seq.desc())
        .limit(1)
    ).first()


def _hold_lease(
    s: Session, session_id: int, holder: str, renew_s: float | None
) -> None:
    from .db._schema import DeliveryLeaseRow

    row = s.get(DeliveryLeaseRow, session_id)
    if row is None or row.holder != holder:
        other = "nobody" if row is None else row.holder
        raise LeaseLostError(
            f"Lease lost on delivery session {session_id}: this runner "
            f"({holder}) no longer holds it (held by {other}); stopping without "
            "firing."
        )
    if renew_s is not None:
        row.expires_at = _now() + dt.timedelta(seconds=renew_s)


def _event_data(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check an event's structured fields; ``None`` when there are none."""
    import re

    if not data:
        return None
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z_]{0,31}", key):
            raise RegistryError(
                f"Invalid value for 'data': got the field name {key!r}; allowed: "
                "1-32 lower-case letters and '_'."
            )
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | str)
        ):
            raise RegistryError(
                f"Invalid value for 'data.{key}': got {value!r}; allowed: an "
                "integer, text or None."
            )
        if isinstance(value, str) and len(value) > 200:
            raise RegistryError(
                f"Invalid value for 'data.{key}': got {len(value)} characters; "
                "allowed: at most 200."
            )
        out[key] = value
    return out


#: How long a session opened but not yet leased by its runner counts as
#: running, s (plptms choice: the runner takes its lease at once; a session
#: never leased within this time was abandoned before its first pulse).
UNLEASED_GRACE_S = 60.0


def _refuse_if_running(s: Session, patient_id: int, now: dt.datetime) -> None:
    """Refuse a new session while another of the same patient is running.

    Running means status ``running`` with a live lease (its runner's heartbeat),
    or opened less than :data:`UNLEASED_GRACE_S` ago and not yet leased. A
    session whose lease expired (its runner died) does not block: it is resumed
    or ended through its own path. Checked inside the opening transaction, so
    two starts at once cannot both pass.
    """
    from sqlalchemy import select

    from .db._schema import DeliveryLeaseRow, DeliverySessionRow
    from .db._schema import ProtocolAssignmentRow as A

    rows = s.execute(
        select(DeliverySessionRow, DeliveryLeaseRow.expires_at)
        .join(A, A.id == DeliverySessionRow.assignment_id)
        .outerjoin(
            DeliveryLeaseRow, DeliveryLeaseRow.session_id == DeliverySessionRow.id
        )
        .where(A.patient_id == patient_id, DeliverySessionRow.status == "running")
    ).all()
    for row, expires in rows:
        lease_end: dt.datetime | None = expires  # None: no lease (outer join)
        if lease_end is not None:
            live = _aware(lease_end) > now
        else:
            live = (now - _aware(row.started_at)).total_seconds() < UNLEASED_GRACE_S
        if live:
            raise SessionLeasedError(
                f"Delivery session {row.id} (session {row.number}) of this patient "
                "is running: one session at a time per patient; end or stop it "
                "first."
            )


class DeliveryStore:
    """Registry methods for delivery sessions, events and leases (a mixin)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def start_delivery(
        self,
        assignment_id: int,
        number: int,
        *,
        device: str,
        plan: Mapping[str, Any],
        blinded: bool,
        actor: str,
    ) -> int:
        """Open a delivery session of an assigned protocol.

        Parameters
        ----------
        assignment_id : int
            The protocol assignment.
        number : int
            Session number in the course, from 1.
        device : str
            Stimulator kind (``sim``, ``magstim``, ``magventure``).
        plan : mapping
            The trains to deliver (as planned and checked).
        blinded : bool
            Whether the condition is hidden from the operator.
        actor : str
            Who starts it.

        Returns
        -------
        id : int
            Delivery session id.
        """
        from sqlalchemy import select

        from .db._schema import DeliverySessionRow, ProtocolAssignmentRow

        actor = _check_actor(actor)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise RegistryError(
                f"Invalid value for 'number': got {number!r}; allowed range is "
                "[1, inf) sessions."
            )
        at = _now()
        with self._write() as s:
            a = s.get(ProtocolAssignmentRow, assignment_id)
            if a is None or a.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'assignment_id': got {assignment_id!r}; no "
                    "such protocol assignment."
                )
            _refuse_if_running(s, a.patient_id, at)
            if s.execute(
                select(DeliverySessionRow.id).where(
                    DeliverySessionRow.assignment_id == assignment_id,
                    DeliverySessionRow.number == number,
                )
            ).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'number': got {number}; delivery session "
                    f"{number} of assignment {assignment_id} exists (resume it)."
                )
            row = DeliverySessionRow(
                assignment_id=assignment_id,
                number=number,
                device=device,
                blinded=blinded,
                plan=dict(plan),
                status="running",
                started_at=at,
                ended_at=None,
                detail="",
                event_count=0,
                event_head=GENESIS_HASH,
            )
            s.add(row)
            audit(s, actor, "insert", "delivery_sessions", row, None, None, at)
            return int(row.id)

    def append_delivery_event(
        self,
        session_id: int,
        kind: str,
        *,
        train_index: int | None = None,
        pulse_index: int | None = None,
        t_monotonic_s: float | None = None,
        intensity_pct_mso: float | None = None,
        detail: str = "",
        data: Mapping[str, int | str | None] | None = None,
        lease: str | None = None,
        renew_s: float | None = None,
    ) -> int:
        """Append one event durably (committed before returning), chained and keyed.

        The event's hash covers its fields and the previous event's hash; its MAC
        is keyed with the site key. Floats are stored as floats (a non-finite
        value as ``None``).

        Parameters
        ----------
        session_id : int
            Delivery session.
        kind : str
            Event kind, one of :class:`plptms.delivery.EventKind`.
        train_index, pulse_index : int | None
            Position in the plan.
        t_monotonic_s : float | None
            Host monotonic time, s.
        intensity_pct_mso : float | None
            Intensity, % MSO.
        detail : str
            Free text, for people.
        data : mapping | None
            Structured fields that recovery reads (names of lower-case letters
            and ``_``; values integers, text or ``None``), hashed with the event.
        lease : str | None
            The runner's lease holder id: the event is refused with
            :class:`LeaseLostError` (nothing stored) unless this runner still holds
            the session's lease (fencing: a runner whose lease was taken over can
            log nothing more, so it fires nothing more).
        renew_s : float | None
            Also renew the lease for this many seconds (the heartbeat).

        Returns
        -------
        seq : int
            The event's sequence number.
        """
        from ..delivery import EventKind
        from .db._schema import DeliveryEventRow

        if kind not in {k.value for k in EventKind}:
            raise RegistryError(
                f"Invalid value for 'kind': got {kind!r}; allowed values are "
                f"{', '.join(repr(k.value) for k in EventKind)}."
            )
        kind = EventKind(kind).value  # stored as the plain value
        fields = _event_data(data)
        with self._write() as s:
            if lease is not None:
                _hold_lease(s, session_id, lease, renew_s)
            last = _last_event(s, session_id)
            seq = 1 if last is None else int(last[0]) + 1
            row = DeliveryEventRow(
                session_id=session_id,
                seq=seq,
                kind=kind,
                train_index=train_index,
                pulse_index=pulse_index,
                t_monotonic_s=t_monotonic_s,
                at=_now().isoformat(timespec="microseconds"),
                intensity_pct_mso=intensity_pct_mso,
                detail=detail,
                data=fields,
                prev_hash=(last and last[1]) or GENESIS_HASH,
            )
            seal_event(row, s.info[KEY_INFO])
            s.add(row)
        return seq

    def finish_delivery(
        self, session_id: int, status: str, *, actor: str, detail: str = ""
    ) -> None:
        """Close a delivery session with its final status (audited).

        The number of events so far and the hash of the last one are sealed into
        the audited session row, so that events removed, added or rewritten later
        are caught by :meth:`verify_audit`.

        Parameters
        ----------
        session_id : int
            Delivery session.
        status : str
            One of :data:`DELIVERY_STATUSES` (``running`` when it is resumed).
        actor : str
            Who closes it.
        detail : str
            Why, for anything but ``completed``.
        """
        from ..utils import check_option

        actor = _check_actor(actor)
        check_option(status, "status", DELIVERY_STATUSES)
        at = _now()
        with self._write() as s:
            row = _delivery_row(s, session_id)
            old = row_state(row)
            row.status = status
            row.ended_at = None if status == "running" else at
            row.detail = detail
            last = _last_event(s, session_id)  # sealed into the audited row
            row.event_count = 0 if last is None else int(last[0])
            row.event_head = (last and last[1]) or GENESIS_HASH
            audit(
                s, actor, "correct", "delivery_sessions", row, old, detail or status, at
            )

    def delivery_patient(self, session_id: int) -> tuple[str, str, str]:
        """Return the patient and protocol of a delivery session.

        Parameters
        ----------
        session_id : int
            Delivery session.

        Returns
        -------
        patient : tuple of (str, str, str)
            Site, patient code and the assigned protocol's id.
        """
        from .db._schema import (
            PatientRow,
            ProtocolAssignmentRow,
        )

        with self._read() as s:
            d = _delivery_row(s, session_id)
            a = s.get(ProtocolAssignmentRow, d.assignment_id)
            p = None if a is None else s.get(PatientRow, a.patient_id)
            if a is None or p is None:
                raise RecordNotFoundError(
                    f"Invalid value for 'session_id': got {session_id!r}; its "
                    "assignment or patient is missing."
                )
            return p.site, p.code, a.protocol_id

    def session_record_refs(
        self, site: str, code: str, assignment_id: int
    ) -> list[tuple[str, int]]:
        """Return the records a session relies on, as (table, row id).

        The latest screening and motor threshold of the patient (the ones the
        pre-session checks read) and the protocol assignment.

        Parameters
        ----------
        site, code : str
            The patient.
        assignment_id : int
            The protocol assignment.

        Returns
        -------
        refs : list of (str, int)
            Audited rows whose audit must be verified before stimulating.
        """
        from sqlalchemy import select

        from .db._schema import MotorThresholdRow, ScreeningRow

        refs: list[tuple[str, int]] = [("protocol_assignments", assignment_id)]
        with self._read() as s:
            p = patient_row(s, site, code)
            for table, model, order in (
                ("screenings", ScreeningRow, ScreeningRow.screened_on),
                ("motor_thresholds", MotorThresholdRow, MotorThresholdRow.measured_on),
            ):
                rid = s.execute(
                    select(model.id)
                    .where(model.patient_id == p.id, model.deleted_at.is_(None))
                    .order_by(order.desc(), model.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
                if rid is not None:
                    refs.append((table, int(rid)))
        return refs

    def authorise_restart(
        self, session_id: int, *, physician: str, reason: str
    ) -> None:
        """Record a physician's reasoned restart of a stopped session (audited).

        A session ended by an emergency stop or an abort cannot be resumed until
        a physician records why it may continue.

        Parameters
        ----------
        session_id : int
            Delivery session (status ``emergency_stop`` or ``aborted``).
        physician : str
            The physician authorising the restart.
        reason : str
            Why the session may continue (at least 5 characters).
        """
        physician = _check_actor(physician)
        reason = _check_reason(reason, "authorise a restart")
        at = _now()
        with self._write() as s:
            row = _delivery_row(s, session_id)
            if row.status not in ("emergency_stop", "aborted"):
                raise RegistryError(
                    f"Invalid value for 'session_id': got {session_id} with status "
                    f"{row.status!r}; allowed: a session ended by an emergency stop "
                    "or an abort."
                )
            old = row_state(row)
            row.status = "restart_approved"
            row.detail = f"restart authorised by {physician}: {reason}"
            audit(s, physician, "correct", "delivery_sessions", row, old, reason, at)

    def get_delivery(self, session_id: int) -> DeliveryOut:
        """Return a delivery session.

        Parameters
        ----------
        session_id : int
            Delivery session.

        Returns
        -------
        delivery : DeliveryOut
            The session.
        """
        with self._read() as s:
            row = _delivery_row(s, session_id)
            return DeliveryOut.model_validate(row, from_attributes=True)

    def delivery_events(self, session_id: int) -> list[DeliveryEvent]:
        """Return a delivery session's events in order.

        Parameters
        ----------
        session_id : int
            Delivery session.

        Returns
        -------
        events : list of DeliveryEvent
            Ordered by sequence number.
        """
        from .db._schema import DeliveryEventRow as E

        with self._read() as s:
            return rows_out(
                s, DeliveryEvent, E, E.session_id == session_id, order_by=(E.seq,)
            )

    def list_deliveries(self, assignment_id: int) -> list[DeliveryOut]:
        """List the delivery sessions of an assignment by number.

        Parameters
        ----------
        assignment_id : int
            The protocol assignment.

        Returns
        -------
        deliveries : list of DeliveryOut
            Ordered by session number.
        """
        from .db._schema import DeliverySessionRow as D

        with self._read() as s:
            return rows_out(
                s,
                DeliveryOut,
                D,
                D.assignment_id == assignment_id,
                order_by=(D.number,),
            )
