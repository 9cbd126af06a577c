"""Dose amendments of an assignment: recorded, reasoned, audited.

An amendment lowers the assigned dose for one patient from one session of the
course on (:class:`plptms.protocol.DoseAmendment`); the newest one whose first
session is at or before a session applies to it. The registry stores them and
says which applies; whether one may be recorded (it only lowers the dose, the
safety engine accepts the result) is decided by the application layer
(:func:`plptms.workflow.amend_dose`) before it is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..protocol import DoseAmendment
from ..utils import utc_now
from ._models import RecordNotFoundError, RegistryError
from ._store import audit

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["AmendmentOut", "AmendmentStore"]


class AmendmentOut(BaseModel):
    """A stored dose amendment.

    Attributes
    ----------
    id : int
        Amendment id.
    assignment_id : int
        The assignment it changes.
    amendment : DoseAmendment
        What it changes, from which session, and why.
    actor : str
        Who recorded it.
    created_at : datetime.datetime
        When (UTC).
    """

    model_config = ConfigDict(frozen=True)

    id: int
    assignment_id: int
    amendment: DoseAmendment
    actor: str
    created_at: dt.datetime


class AmendmentStore:
    """Registry methods for dose amendments (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def record_amendment(
        self, assignment_id: int, amendment: DoseAmendment, *, actor: str
    ) -> int:
        """Store a dose amendment of an assignment (audited).

        Parameters
        ----------
        assignment_id : int
            The assignment.
        amendment : DoseAmendment
            The amendment (already checked by the application layer).
        actor : str
            Who records it.

        Returns
        -------
        amendment_id : int
            Its id.

        Raises
        ------
        RecordNotFoundError
            If the assignment does not exist.
        RegistryError
            On a bad actor or amendment.
        """
        from ._store import _check_actor
        from .db._schema import DoseAmendmentRow, ProtocolAssignmentRow

        actor = _check_actor(actor)
        if not isinstance(amendment, DoseAmendment):
            raise RegistryError(
                f"Invalid value for 'amendment': got {type(amendment).__name__}; "
                "allowed: plptms.protocol.DoseAmendment."
            )
        at = utc_now()
        with self._write() as s:
            assignment = s.get(ProtocolAssignmentRow, assignment_id)
            if assignment is None or assignment.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'assignment_id': got {assignment_id}; no "
                    "such assignment."
                )
            row = DoseAmendmentRow(
                assignment_id=assignment_id,
                from_session=amendment.from_session,
                amendment=amendment.model_dump(mode="json"),
                reason=amendment.reason,
                actor=actor,
                created_at=at,
            )
            s.add(row)
            audit(
                s, actor, "insert", "dose_amendments", row, None, amendment.reason, at
            )
            return int(row.id)

    def list_amendments(self, assignment_id: int) -> list[AmendmentOut]:
        """Return an assignment's amendments, oldest first."""
        from sqlalchemy import select

        from .db._schema import DoseAmendmentRow

        with self._read() as s:
            rows = s.execute(
                select(DoseAmendmentRow)
                .where(
                    DoseAmendmentRow.assignment_id == assignment_id,
                    DoseAmendmentRow.deleted_at.is_(None),
                )
                .order_by(DoseAmendmentRow.id)
            ).scalars()
            return [_out(r) for r in rows]

    def amendment_for_session(
        self, assignment_id: int, number: int
    ) -> AmendmentOut | None:
        """Return the amendment that applies to session ``number``, if any.

        The newest amendment whose ``from_session`` is at or before ``number``.
        """
        applicable = [
            a
            for a in self.list_amendments(assignment_id)
            if a.amendment.from_session <= number
        ]
        return applicable[-1] if applicable else None


def _out(row: Any) -> AmendmentOut:
    return AmendmentOut(
        id=row.id,
        assignment_id=row.assignment_id,
        amendment=DoseAmendment.model_validate(row.amendment),
        actor=row.actor,
        created_at=row.created_at,
    )
