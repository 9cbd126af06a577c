"""Registry aggregate: patients (pseudonymous codes, PLP history) and visits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..utils import gc_paused
from ._audit import row_state
from ._models import (
    DuplicateRecordError,
    PatientOut,
    RecordNotFoundError,
    RegistryError,
    VisitIn,
    VisitKind,
    VisitOut,
    check_code,
)
from ._store import (
    _check_actor,
    _check_reason,
    _chunks,
    _now,
    audit,
    audit_inserts,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping, Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from ..scales import PLPHistory

__all__ = ["PatientStore"]


def patient_row(s: Session, site: str, code: str) -> Any:
    """Return a patient's row, or refuse an unknown or deleted patient."""
    from sqlalchemy import select

    from .db._schema import PatientRow

    row = s.execute(
        select(PatientRow).where(PatientRow.site == site, PatientRow.code == code)
    ).scalar_one_or_none()
    if row is None or row.deleted_at is not None:
        raise RecordNotFoundError(
            f"Invalid value for 'code': got {site}/{code}; no such patient "
            "(or deleted)."
        )
    return row


def new_visit(s: Session, patient: Any, visit: VisitIn, at: dt.datetime) -> Any:
    """Add a visit row (not audited here), refusing a duplicate or early one."""
    from sqlalchemy import select

    from .db._schema import VisitRow

    if patient.amputation_date is not None and visit.visit_date < (
        patient.amputation_date
    ):
        raise RegistryError(
            f"Invalid value for 'visit_date': got {visit.visit_date.isoformat()}; "
            f"allowed: on or after the amputation date "
            f"({patient.amputation_date.isoformat()})."
        )
    dup = s.execute(
        select(VisitRow.id).where(
            VisitRow.patient_id == patient.id,
            VisitRow.visit_date == visit.visit_date,
            VisitRow.kind == visit.kind.value,
            VisitRow.deleted_at.is_(None),
        )
    ).first()
    if dup:
        raise DuplicateRecordError(
            f"Invalid value for 'visit_date': got {visit.visit_date.isoformat()}; "
            f"a {visit.kind.value} visit on that date already exists for "
            f"{patient.site}/{patient.code}."
        )
    row = VisitRow(
        patient_id=patient.id,
        visit_date=visit.visit_date,
        kind=visit.kind.value,
        note=visit.note,
        created_at=at,
    )
    s.add(row)
    s.flush()
    return row


def visit_out(row: Any) -> VisitOut:
    """Return a visit row as its boundary model."""
    return VisitOut(
        id=row.id,
        patient_id=row.patient_id,
        visit_date=row.visit_date,
        kind=VisitKind(row.kind),
        note=row.note,
        deleted=row.deleted_at is not None,
    )


def _patient_out(row: Any) -> PatientOut:
    return PatientOut(
        id=row.id,
        site=row.site,
        code=row.code,
        amputation_date=row.amputation_date,
        history=row.history,
        created_at=row.created_at,
        deleted=row.deleted_at is not None,
    )


def _validate_history(
    history: PLPHistory | Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dt.date | None]:
    """Validate a PLP history; return it as JSON data and its amputation date."""
    if history is None:
        return {}, None
    from pydantic import ValidationError

    from ..protocol import problems_message
    from ..scales import PLPHistory

    if isinstance(history, PLPHistory):
        model = history
    else:
        try:
            model = PLPHistory.model_validate(dict(history))
        except ValidationError as exc:
            raise RegistryError(problems_message("Invalid PLP history:", exc)) from None
    data = model.model_dump(mode="json")
    return data, model.amputation_date


class PatientStore:
    """Registry methods for patients and visits (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def add_patient(
        self,
        site: str,
        code: str,
        *,
        history: PLPHistory | Mapping[str, Any] | None,
        actor: str,
    ) -> PatientOut:
        """Register a patient under a pseudonymous code.

        Parameters
        ----------
        site : str
            Site code.
        code : str
            Pseudonymous patient code, unique within the site.
        history : plptms.scales.PLPHistory | mapping | None
            PLP history (a mapping is validated as
            :class:`plptms.scales.PLPHistory`).
        actor : str
            Who records it.

        Returns
        -------
        patient : PatientOut
            The stored patient.

        Raises
        ------
        RegistryError
            On invalid input; :class:`DuplicateRecordError` if the code exists.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow

        check_code(site, "site")
        check_code(code, "code")
        actor = _check_actor(actor)
        hist, amp_date = _validate_history(history)
        at = _now()
        with self._write() as s:
            exists = s.execute(
                select(PatientRow.id).where(
                    PatientRow.site == site, PatientRow.code == code
                )
            ).first()
            if exists:
                raise DuplicateRecordError(
                    f"Invalid value for 'code': got {code!r}; patient {site}/{code} "
                    "already exists (codes are unique per site)."
                )
            row = PatientRow(
                site=site,
                code=code,
                amputation_date=amp_date,
                history=hist,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "patients", row, None, None, at)
            return _patient_out(row)

    def add_patients(
        self,
        patients: Sequence[tuple[str, str, PLPHistory | Mapping[str, Any] | None]],
        *,
        actor: str,
    ) -> int:
        """Register many patients in one all-or-nothing transaction.

        Parameters
        ----------
        patients : sequence of (site, code, history)
            The patients.
        actor : str
            Who registers them.

        Returns
        -------
        n : int
            Patients stored.

        Raises
        ------
        RegistryError
            If any patient is invalid or exists; nothing is stored.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow

        actor = _check_actor(actor)
        prepared = []
        seen: set[tuple[str, str]] = set()
        for site, code, history in patients:
            check_code(site, "site")
            check_code(code, "code")
            if (site, code) in seen:
                raise DuplicateRecordError(
                    f"Invalid value for 'code': got {code!r}; {site}/{code} is given "
                    "twice."
                )
            seen.add((site, code))
            prepared.append((site, code, *_validate_history(history)))
        at = _now()
        with gc_paused(), self._write() as s:  # a bounded batch: see gc_paused
            for chunk in _chunks(sorted(seen), 500):
                hit = s.execute(
                    select(PatientRow.site, PatientRow.code).where(
                        PatientRow.site.in_({c[0] for c in chunk}),
                        PatientRow.code.in_({c[1] for c in chunk}),
                    )
                ).all()
                dup = [f"{a}/{b}" for a, b in hit if (a, b) in seen]
                if dup:
                    raise DuplicateRecordError(
                        f"Invalid value for 'code': patient(s) {', '.join(dup[:5])} "
                        "already exist."
                    )
            rows = [
                PatientRow(
                    site=site,
                    code=code,
                    amputation_date=amp,
                    history=hist,
                    created_at=at,
                )
                for site, code, hist, amp in prepared
            ]
            s.add_all(rows)
            s.flush()
            audit_inserts(s, actor, "patients", rows, at)
        return len(rows)

    def get_patient(self, site: str, code: str) -> PatientOut:
        """Return a patient (not deleted).

        Parameters
        ----------
        site, code : str
            Site and patient code.

        Returns
        -------
        patient : PatientOut
            The patient.

        Raises
        ------
        RecordNotFoundError
            If there is no such patient.
        """
        with self._read() as s:
            return _patient_out(patient_row(s, site, code))

    def list_patients(
        self, site: str | None = None, *, include_deleted: bool = False
    ) -> list[PatientOut]:
        """List patients, optionally of one site.

        Parameters
        ----------
        site : str | None
            Site code filter.
        include_deleted : bool
            Also list soft-deleted patients.

        Returns
        -------
        patients : list of PatientOut
            Ordered by site and code.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow

        q = select(PatientRow).order_by(PatientRow.site, PatientRow.code)
        if site is not None:
            q = q.where(PatientRow.site == site)
        if not include_deleted:
            q = q.where(PatientRow.deleted_at.is_(None))
        with self._read() as s:
            return [_patient_out(r) for r in s.execute(q).scalars()]

    def delete_patient(self, site: str, code: str, *, actor: str, reason: str) -> None:
        """Soft-delete a patient (kept, with the reason, in the table and the log).

        Parameters
        ----------
        site, code : str
            The patient.
        actor : str
            Who deletes.
        reason : str
            Why.
        """
        actor = _check_actor(actor)
        reason = _check_reason(reason, "delete a patient")
        at = _now()
        with self._write() as s:
            row = patient_row(s, site, code)
            old = row_state(row)
            row.deleted_at = at
            row.deleted_reason = reason
            audit(s, actor, "delete", "patients", row, old, reason, at)

    def add_visit(
        self, site: str, code: str, visit: VisitIn, *, actor: str
    ) -> VisitOut:
        """Record a visit.

        Parameters
        ----------
        site, code : str
            The patient.
        visit : VisitIn
            Date, kind and note.
        actor : str
            Who records it.

        Returns
        -------
        visit : VisitOut
            The stored visit.

        Raises
        ------
        RegistryError
            If the visit is before the amputation date, or a visit of the same kind
            on the same date exists (:class:`DuplicateRecordError`).
        """
        actor = _check_actor(actor)
        at = _now()
        with self._write() as s:
            p = patient_row(s, site, code)
            row = new_visit(s, p, visit, at)
            audit(s, actor, "insert", "visits", row, None, None, at)
            return visit_out(row)

    def list_visits(self, site: str, code: str) -> list[VisitOut]:
        """List a patient's visits by date.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        visits : list of VisitOut
            Not deleted, ordered by date.
        """
        from sqlalchemy import select

        from .db._schema import VisitRow

        with self._read() as s:
            p = patient_row(s, site, code)
            rows = s.execute(
                select(VisitRow)
                .where(VisitRow.patient_id == p.id, VisitRow.deleted_at.is_(None))
                .order_by(VisitRow.visit_date, VisitRow.id)
            ).scalars()
            return [visit_out(r) for r in rows]
