"""Trial follow-up on the registry: the scheduled visits as done, and withdrawals.

A trial visit links an enrolment, a visit of the schedule (``visit_id``) and the
registry visit of that date, so the assessments recorded at that registry visit
belong to it. Whether a date is inside the window is the workflow's computation
(:func:`plptms.workflow.record_trial_visit`, from the definition's calendar); the
registry stores what it is given, refuses a second record of the same visit, a
stale definition version, and a visit after the patient's withdrawal. Nothing is
ever deleted: a withdrawal is a row of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..utils import utc_now
from ._models import DuplicateRecordError, RegistryError, VisitKind
from ._store import audit
from ._trial_followup_models import (
    WITHDRAWAL_REASONS,
    TrialVisitOut,
    WithdrawalOut,
    check_choice,
    check_day,
    check_text,
    enrolment_rows_of,
    trial_visit_out,
    withdrawal_out,
    withdrawal_row,
)
from ._trial_keys import check_trial_id
from ._trial_models import check_version, enrolment_of, latest_version, trial_row

if TYPE_CHECKING:
    import datetime as dt
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["TrialFollowUpStore"]

logger = logging.getLogger(__name__)


class TrialFollowUpStore:
    """Registry methods for trial visits and withdrawals (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def record_trial_visit(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        visit_id: str,
        version: int,
        done_on: dt.date,
        kind: VisitKind,
        days_outside: int = 0,
        deviation_reason: str | None = None,
        actor: str,
    ) -> TrialVisitOut:
        """Record a scheduled visit of an enrolled patient as done (audited).

        The registry visit of ``done_on`` and ``kind`` is reused when it exists,
        else created (and audited) in the same transaction.

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The enrolled patient.
        visit_id : str
            The schedule's visit id (checked against the definition by the
            workflow).
        version : int
            The definition version in force (the newest stored).
        done_on : datetime.date
            The visit date.
        kind : VisitKind
            The kind of the registry visit to link (or create).
        days_outside : int
            0 inside the window; negative before it, positive after it.
        deviation_reason : str | None
            Required (at least 5 characters) when ``days_outside`` is not 0; must
            be ``None`` otherwise.
        actor : str
            Who records it.

        Returns
        -------
        visit : TrialVisitOut
            The stored trial visit.

        Raises
        ------
        RecordNotFoundError
            If the trial or patient does not exist or is not enrolled.
        DuplicateRecordError
            If this visit is already recorded for the patient.
        RegistryError
            On a stale version, a date after the withdrawal or before the
            amputation, or bad input (nothing is stored).
        """
        from sqlalchemy import select

        from ._models import VisitIn
        from ._patients import new_visit, patient_row
        from ._store import _check_actor, _check_reason
        from .db._schema import TrialVisitRow, VisitRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        visit_id = check_text(visit_id, "visit_id", low=1, high=64)
        check_version(version)
        check_day(done_on, "visit_date")
        kind = VisitKind(check_choice(str(kind), "kind", [k.value for k in VisitKind]))
        if isinstance(days_outside, bool) or not isinstance(days_outside, int):
            raise RegistryError(
                f"Invalid value for 'days_outside': got {days_outside!r}; allowed: "
                "a whole number of days (0 inside the window)."
            )
        if days_outside:
            deviation_reason = _check_reason(
                deviation_reason, "record a visit outside its window"
            )
        elif deviation_reason is not None:
            raise RegistryError(
                f"Invalid value for 'deviation_reason': got {deviation_reason!r}; "
                "allowed: none for a visit inside its window."
            )
        at = utc_now()
        with self._write() as s:
            enrolment = enrolment_of(s, trial_id, site, code)
            latest = latest_version(s, enrolment.trial_id).version
            if version != latest:
                raise RegistryError(
                    f"Invalid value for 'version': got {version}; allowed: {latest} "
                    f"(the definition of {trial_id!r} in force)."
                )
            gone = withdrawal_row(s, enrolment.id)
            if gone is not None and done_on > gone.withdrawn_on:
                raise RegistryError(
                    f"Invalid value for 'visit_date': got {done_on.isoformat()}; "
                    f"{site}/{code} withdrew from {trial_id!r} on "
                    f"{gone.withdrawn_on.isoformat()}; allowed: on or before that "
                    "date."
                )
            if s.execute(
                select(TrialVisitRow.id).where(
                    TrialVisitRow.enrolment_id == enrolment.id,
                    TrialVisitRow.visit_key == visit_id,
                )
            ).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'visit_id': got {visit_id!r}; this visit of "
                    f"{site}/{code} in {trial_id!r} is already recorded."
                )
            patient = patient_row(s, site, code)
            visit = s.execute(
                select(VisitRow).where(
                    VisitRow.patient_id == patient.id,
                    VisitRow.visit_date == done_on,
                    VisitRow.kind == kind.value,
                    VisitRow.deleted_at.is_(None),
                )
            ).scalar_one_or_none()
            if visit is None:
                note = f"trial {trial_id}, visit {visit_id}"
                visit = new_visit(
                    s, patient, VisitIn(visit_date=done_on, kind=kind, note=note), at
                )
                audit(s, actor, "insert", "visits", visit, None, None, at)
            row = TrialVisitRow(
                enrolment_id=enrolment.id,
                visit_key=visit_id,
                visit_id=visit.id,
                version=version,
                done_on=done_on,
                out_of_window=bool(days_outside),
                days_outside=days_outside,
                deviation_reason=deviation_reason,
                actor=actor,
                at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_visits", row, None, deviation_reason, at)
            if days_outside:
                logger.warning(
                    "Protocol deviation: visit %s of %s/%s in %s is %+d day(s) "
                    "outside its window.",
                    visit_id,
                    site,
                    code,
                    trial_id,
                    days_outside,
                )
            return trial_visit_out(row, trial_id, enrolment, code)

    def list_trial_visits(
        self, trial_id: str, site: str | None = None, code: str | None = None
    ) -> list[TrialVisitOut]:
        """Return a trial's recorded visits (one site's or one patient's).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str | None
            Only this site's, or this patient's (both given), visits.

        Returns
        -------
        visits : list of TrialVisitOut
            By allocation, then date.
        """
        from sqlalchemy import select

        from .db._schema import TrialVisitRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            enrolments = enrolment_rows_of(s, trial.id, site, code)
            if not enrolments:
                return []
            rows = s.execute(
                select(TrialVisitRow)
                .where(TrialVisitRow.enrolment_id.in_(list(enrolments)))
                .order_by(TrialVisitRow.done_on, TrialVisitRow.id)
            ).scalars()
            ranked = sorted(
                rows, key=lambda r: enrolments[r.enrolment_id][0].allocation_index
            )
            return [
                trial_visit_out(r, trial_id, *enrolments[r.enrolment_id])
                for r in ranked
            ]

    def record_withdrawal(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        on: dt.date,
        reason: str,
        detail: str = "",
        actor: str,
    ) -> WithdrawalOut:
        """Record a patient's withdrawal from a trial (once; audited).

        Nothing is deleted: the enrolment, its allocation and every record stay.

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The enrolled patient.
        on : datetime.date
            The date of withdrawal (not before a recorded trial visit).
        reason : str
            One of :data:`WITHDRAWAL_REASONS`.
        detail : str
            Free text (0-2000 characters).
        actor : str
            Who records it.

        Returns
        -------
        withdrawal : WithdrawalOut
            The stored withdrawal.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled in the trial.
        DuplicateRecordError
            If the patient has already withdrawn.
        RegistryError
            If a trial visit is recorded after ``on``, or on bad input (nothing
            is stored).
        """
        from sqlalchemy import func, select

        from ._store import _check_actor
        from .db._schema import TrialVisitRow, TrialWithdrawalRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        check_day(on, "on")
        reason = check_choice(reason, "reason", WITHDRAWAL_REASONS)
        detail = check_text(detail, "detail")
        at = utc_now()
        with self._write() as s:
            enrolment = enrolment_of(s, trial_id, site, code)
            earlier = withdrawal_row(s, enrolment.id)
            if earlier is not None:
                raise DuplicateRecordError(
                    f"Invalid value for 'code': got {site}/{code}; this patient "
                    f"already withdrew from {trial_id!r} on "
                    f"{earlier.withdrawn_on.isoformat()}."
                )
            last = s.execute(
                select(func.max(TrialVisitRow.done_on)).where(
                    TrialVisitRow.enrolment_id == enrolment.id
                )
            ).scalar_one()
            if last is not None and last > on:
                raise RegistryError(
                    f"Invalid value for 'on': got {on.isoformat()}; a trial visit of "
                    f"{site}/{code} is recorded on {last.isoformat()}; allowed: on "
                    "or after the last recorded visit."
                )
            row = TrialWithdrawalRow(
                enrolment_id=enrolment.id,
                withdrawn_on=on,
                reason=reason,
                detail=detail,
                actor=actor,
                at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_withdrawals", row, None, reason, at)
            return withdrawal_out(row, trial_id, enrolment, code)

    def get_withdrawal(
        self, trial_id: str, site: str, code: str
    ) -> WithdrawalOut | None:
        """Return a patient's withdrawal from a trial, or ``None``.

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The enrolled patient.

        Returns
        -------
        withdrawal : WithdrawalOut | None
            The withdrawal, if any.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled in the trial.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            enrolment = enrolment_of(s, trial_id, site, code)
            row = withdrawal_row(s, enrolment.id)
            return (
                None if row is None else withdrawal_out(row, trial_id, enrolment, code)
            )

    def list_withdrawals(self, trial_id: str) -> list[WithdrawalOut]:
        """Return a trial's withdrawals, by allocation.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        withdrawals : list of WithdrawalOut
            The withdrawals.
        """
        from sqlalchemy import select

        from .db._schema import TrialWithdrawalRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            enrolments = enrolment_rows_of(s, trial.id, None, None)
            if not enrolments:
                return []
            rows = s.execute(
                select(TrialWithdrawalRow).where(
                    TrialWithdrawalRow.enrolment_id.in_(list(enrolments))
                )
            ).scalars()
            out = [
                (enrolments[r.enrolment_id][0].allocation_index, r.enrolment_id, r)
                for r in rows
            ]
            return [
                withdrawal_out(r, trial_id, *enrolments[eid])
                for _, eid, r in sorted(out, key=lambda t: t[0])
            ]

    def list_trial_ids(self) -> list[str]:
        """Return every trial's id, sorted (the trials table holds no patient data).

        Returns
        -------
        trial_ids : list of str
            The trials' ids.
        """
        from sqlalchemy import select

        from .db._schema import TrialRow

        with self._read() as s:
            return [
                str(x)
                for x in s.execute(
                    select(TrialRow.slug).order_by(TrialRow.slug)
                ).scalars()
            ]
