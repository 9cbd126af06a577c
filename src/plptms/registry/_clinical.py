"""Registry aggregate: clinical records.

Screenings, protocol assignments with their safety verdicts, treatment sessions
and resting motor thresholds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._models import (
    AssignmentOut,
    DuplicateRecordError,
    RecordNotFoundError,
    RegistryError,
    SessionStatus,
    TreatmentSessionOut,
)
from ._patients import patient_row
from ._store import _check_actor, _now, audit, rows_out

if TYPE_CHECKING:
    import datetime as dt
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from ..motor import ThresholdResult
    from ..protocol import Protocol
    from ..safety import ScreeningReport, Verdict

__all__ = ["ClinicalStore"]


class ClinicalStore:
    """Registry methods for screenings, assignments, sessions and RMT (a mixin)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

        # provided by SiteStore (the site's calendar date)
        def _site_day(self, site: str, at: dt.datetime | None = None) -> dt.date: ...

        def _site_today(self, s: Session, site: str, at: dt.datetime) -> dt.date: ...

        def _not_future(self, site: str, value: dt.date, field: str) -> dt.date: ...

    def record_screening(
        self, site: str, code: str, report: ScreeningReport, *, actor: str
    ) -> int:
        """Store a screening report.

        Parameters
        ----------
        site, code : str
            The patient.
        report : plptms.safety.ScreeningReport
            The report.
        actor : str
            Who records it.

        Returns
        -------
        id : int
            Row id.

        Raises
        ------
        RegistryError
            If the report is dated in the future (nothing is stored).
        """
        from .db._schema import ScreeningRow

        actor = _check_actor(actor)
        if report.screened_on is not None:
            try:
                self._not_future(site, report.screened_on, "screened_on")
            except ValueError as exc:
                raise RegistryError(str(exc)) from None
        at = _now()
        screened_on = report.screened_on or self._site_day(site, at)
        with self._write() as s:
            p = patient_row(s, site, code)
            row = ScreeningRow(
                patient_id=p.id,
                screened_on=screened_on,
                status=report.status.value,
                report=report.model_copy(
                    update={"screened_on": screened_on}
                ).model_dump(mode="json"),
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "screenings", row, None, None, at)
            return int(row.id)

    def assign_protocol(
        self,
        site: str,
        code: str,
        protocol: Protocol,
        verdict: Verdict,
        *,
        actor: str,
        assigned_on: dt.date | None = None,
    ) -> int:
        """Assign a protocol with the verdict it was given.

        Parameters
        ----------
        site, code : str
            The patient.
        protocol : plptms.protocol.Protocol
            The protocol (stored as checked).
        verdict : plptms.safety.Verdict
            Its verdict; a refused protocol cannot be assigned.
        actor : str
            Who assigns.
        assigned_on : datetime.date | None
            Date (today when ``None``).

        Returns
        -------
        id : int
            Row id.

        Raises
        ------
        RegistryError
            If the verdict is for another protocol or refused.
        """
        from .db._schema import ProtocolAssignmentRow

        actor = _check_actor(actor)
        if verdict.protocol_id != protocol.id:
            raise RegistryError(
                f"Invalid value for 'verdict': got a verdict for "
                f"{verdict.protocol_id!r}; allowed: the verdict of {protocol.id!r}."
            )
        if verdict.decision.value == "refused":
            raise RegistryError(
                f"Invalid value for 'protocol': {protocol.id!r} was refused by the "
                "safety engine and cannot be assigned."
            )
        at = _now()
        with self._write() as s:
            p = patient_row(s, site, code)
            row = ProtocolAssignmentRow(
                patient_id=p.id,
                protocol_id=protocol.id,
                protocol=protocol.model_dump(mode="json"),
                decision=verdict.decision.value,
                verdict=verdict.model_dump(mode="json"),
                assigned_on=assigned_on or self._site_today(s, site, at),
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "protocol_assignments", row, None, None, at)
            return int(row.id)

    def record_session(
        self,
        assignment_id: int,
        number: int,
        session_date: dt.date,
        status: SessionStatus,
        *,
        actor: str,
        note: str = "",
    ) -> int:
        """Record a treatment session of an assigned protocol.

        Parameters
        ----------
        assignment_id : int
            The protocol assignment.
        number : int
            Session number in the course, from 1.
        session_date : datetime.date
            Date (not before the assignment, not in the future).
        status : SessionStatus
            Completed, partial, aborted or missed.
        actor : str
            Who records it.
        note : str
            Free text.

        Returns
        -------
        id : int
            Row id.

        Raises
        ------
        RegistryError
            On an unknown assignment, a bad number or date, or a duplicate number.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow, ProtocolAssignmentRow, TreatmentSessionRow

        actor = _check_actor(actor)
        status = SessionStatus(status)
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
            patient = s.get(PatientRow, a.patient_id)
            assert patient is not None  # a foreign key
            site = patient.site
            if session_date > self._site_today(s, site, at):
                raise RegistryError(
                    f"Invalid value for 'session_date': got "
                    f"{session_date.isoformat()}; allowed: on or before today at "
                    f"site {site}."
                )
            if session_date < a.assigned_on:
                raise RegistryError(
                    f"Invalid value for 'session_date': got "
                    f"{session_date.isoformat()}; allowed: on or after the assignment "
                    f"({a.assigned_on.isoformat()})."
                )
            if s.execute(
                select(TreatmentSessionRow.id).where(
                    TreatmentSessionRow.assignment_id == assignment_id,
                    TreatmentSessionRow.number == number,
                )
            ).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'number': got {number}; session {number} of "
                    f"assignment {assignment_id} is already recorded."
                )
            row = TreatmentSessionRow(
                assignment_id=assignment_id,
                number=number,
                session_date=session_date,
                status=status.value,
                note=note,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "treatment_sessions", row, None, None, at)
            return int(row.id)

    def record_rmt(
        self,
        site: str,
        code: str,
        result: ThresholdResult,
        *,
        hemisphere: str,
        muscle: str,
        stimulator: str,
        measured_on: dt.date | None = None,
        actor: str,
    ) -> float:
        """Store the resting motor threshold of a converged hunt.

        Parameters
        ----------
        site, code : str
            The patient.
        result : plptms.motor.ThresholdResult
            The hunt. A hunt that did not converge is refused: it never becomes an
            RMT.
        hemisphere : str
            ``"left"`` or ``"right"``.
        muscle : str
            Target muscle (e.g. ``"FDI"``).
        stimulator : str
            Stimulator and coil (``"sim"`` for a simulated subject).
        measured_on : datetime.date | None
            Date (today when ``None``).
        actor : str
            Who measured it.

        Returns
        -------
        rmt_pct_mso : float
            The stored RMT, % MSO.

        Raises
        ------
        plptms.motor.ThresholdNotFoundError
            If the hunt did not converge (nothing is stored).
        RegistryError
            On invalid input.
        """
        from ..utils import check_option
        from .db._schema import MotorThresholdRow

        actor = _check_actor(actor)
        rmt = result.rmt_or_raise()
        check_option(hemisphere, "hemisphere", ("left", "right"))
        if not muscle or not stimulator:
            raise RegistryError(
                "Invalid value for 'muscle'/'stimulator': both are required "
                "(e.g. 'FDI', 'sim')."
            )
        at = _now()
        day = measured_on or self._site_day(site, at)
        if measured_on is not None:
            try:
                self._not_future(site, measured_on, "measured_on")
            except ValueError as exc:
                raise RegistryError(str(exc)) from None
        with self._write() as s:
            p = patient_row(s, site, code)
            row = MotorThresholdRow(
                patient_id=p.id,
                measured_on=day,
                hemisphere=hemisphere,
                muscle=muscle,
                method=result.method.value,
                rmt_pct_mso=rmt,
                pulses_used=result.pulses_used,
                stimulator=stimulator,
                result=result.model_dump(mode="json"),
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "motor_thresholds", row, None, None, at)
        return rmt

    def latest_rmt(self, site: str, code: str) -> tuple[float, dt.date] | None:
        """Return the most recent RMT (% MSO) and its date, or ``None``.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        rmt : tuple of (float, datetime.date) | None
            RMT and the day it was measured.
        """
        from sqlalchemy import select

        from .db._schema import MotorThresholdRow

        with self._read() as s:
            p = patient_row(s, site, code)
            row = s.execute(
                select(MotorThresholdRow)
                .where(
                    MotorThresholdRow.patient_id == p.id,
                    MotorThresholdRow.deleted_at.is_(None),
                )
                .order_by(
                    MotorThresholdRow.measured_on.desc(), MotorThresholdRow.id.desc()
                )
                .limit(1)
            ).scalar_one_or_none()
            return None if row is None else (row.rmt_pct_mso, row.measured_on)

    def list_rmt(self, site: str, code: str) -> list[dict[str, Any]]:
        """Return every stored RMT of a patient, oldest first.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        rmts : list of dict
            ``measured_on``, ``rmt_pct_mso``, ``method``, ``hemisphere``,
            ``muscle``, ``pulses_used`` and ``stimulator`` of each (not deleted).
        """
        from sqlalchemy import select

        from .db._schema import MotorThresholdRow as M

        with self._read() as s:
            p = patient_row(s, site, code)
            rows = s.execute(
                select(M)
                .where(M.patient_id == p.id, M.deleted_at.is_(None))
                .order_by(M.measured_on, M.id)
            ).scalars()
            keys = ("measured_on", "rmt_pct_mso", "method", "hemisphere", "muscle")
            return [
                {**{k: getattr(r, k) for k in keys}, "pulses_used": r.pulses_used,
                 "stimulator": r.stimulator}
                for r in rows
            ]  # fmt: skip

    def latest_screening(self, site: str, code: str) -> ScreeningReport | None:
        """Return the patient's most recent screening report, or ``None``.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        report : plptms.safety.ScreeningReport | None
            The latest report (by screening date).
        """
        from sqlalchemy import select

        from ..safety import ScreeningReport
        from .db._schema import ScreeningRow

        with self._read() as s:
            p = patient_row(s, site, code)
            row = s.execute(
                select(ScreeningRow)
                .where(
                    ScreeningRow.patient_id == p.id, ScreeningRow.deleted_at.is_(None)
                )
                .order_by(ScreeningRow.screened_on.desc(), ScreeningRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is None:
                return None
            report = ScreeningReport.model_validate(row.report)
            if report.screened_on is None:
                # stored undated (before the date was filled in at recording):
                # the row's date is the screening date
                report = report.model_copy(update={"screened_on": row.screened_on})
            return report

    def find_assignment(
        self, site: str, code: str, protocol_id: str
    ) -> tuple[int, Protocol]:
        """Return the latest assignment of a protocol to a patient.

        Parameters
        ----------
        site, code : str
            The patient.
        protocol_id : str
            Protocol id.

        Returns
        -------
        assignment : tuple of (int, Protocol)
            Assignment id and the protocol as it was assigned.

        Raises
        ------
        RecordNotFoundError
            If the protocol was never assigned to the patient.
        """
        from sqlalchemy import select

        from ..protocol import Protocol
        from .db._schema import ProtocolAssignmentRow

        with self._read() as s:
            p = patient_row(s, site, code)
            row = s.execute(
                select(ProtocolAssignmentRow)
                .where(
                    ProtocolAssignmentRow.patient_id == p.id,
                    ProtocolAssignmentRow.protocol_id == protocol_id,
                    ProtocolAssignmentRow.deleted_at.is_(None),
                )
                .order_by(ProtocolAssignmentRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is None:
                raise RecordNotFoundError(
                    f"Invalid value for 'protocol': got {protocol_id!r}; it is not "
                    f"assigned to {site}/{code} (assign it first)."
                )
            return int(row.id), Protocol.model_validate(row.protocol)

    def assignment_verdict(self, assignment_id: int) -> Verdict:
        """Return the verdict stored with an assignment (with its review, if any).

        Parameters
        ----------
        assignment_id : int
            The protocol assignment.

        Returns
        -------
        verdict : plptms.safety.Verdict
            The verdict as it was when the protocol was assigned: its overrides
            and the physician review recorded then.

        Raises
        ------
        RecordNotFoundError
            If there is no such assignment.
        """
        from ..safety import Verdict
        from .db._schema import ProtocolAssignmentRow

        with self._read() as s:
            row = s.get(ProtocolAssignmentRow, assignment_id)
            if row is None or row.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'assignment_id': got {assignment_id!r}; no "
                    "such protocol assignment."
                )
            return Verdict.model_validate(row.verdict)

    def list_assignments(self, site: str, code: str) -> list[AssignmentOut]:
        """List a patient's protocol assignments, oldest first.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        assignments : list of AssignmentOut
            Not deleted, ordered by date and id.

        Raises
        ------
        RecordNotFoundError
            If there is no such patient.
        """
        from .db._schema import ProtocolAssignmentRow as A

        with self._read() as s:
            p = patient_row(s, site, code)
            return rows_out(
                s,
                AssignmentOut,
                A,
                A.patient_id == p.id,
                A.deleted_at.is_(None),
                order_by=(A.assigned_on, A.id),
            )

    def list_sessions(self, assignment_id: int) -> list[TreatmentSessionOut]:
        """List the recorded treatment sessions of an assignment by number.

        Parameters
        ----------
        assignment_id : int
            The protocol assignment.

        Returns
        -------
        sessions : list of TreatmentSessionOut
            Not deleted, ordered by session number.
        """
        from .db._schema import TreatmentSessionRow as T

        with self._read() as s:
            return rows_out(
                s,
                TreatmentSessionOut,
                T,
                T.assignment_id == assignment_id,
                T.deleted_at.is_(None),
                order_by=(T.number,),
            )
