"""Adverse events and physicians' reviews of them.

An adverse event is recorded with a term from a controlled list, its severity
(intensity), whether it is serious, its relatedness to stimulation, the action
taken and the outcome. A physician reviews each event; a review is its own row
(append-only, audited) and the newest review of an event is the one in force.
Until an event is reviewed, the patient's next session is blocked
(:func:`plptms.workflow.adverse_event_check`).

The controlled lists and their sources:

- Terms: the side effects tabulated by the IFCN safety guidelines (Rossi et al.,
  2009, Table 1 "Potential side effects of TMS"; read in the PMC author
  manuscript) :footcite:`rossi2009`; dizziness, fatigue and transient blurred
  vision as reported in phantom limb pain trials by the source review
  :footcite:`plpreview`; nausea, mood change and "other" are plptms additions.
  Rossi et al. (2021) updated the guidelines :footcite:`rossi2021`; its list was
  not read (not verified).
- Severity (mild, moderate, severe: the intensity of the event) and
  seriousness (a separate yes/no with the criterion met: death,
  life-threatening, hospitalisation, persistent disability, congenital anomaly,
  medically important): the ICH E2A definitions :footcite:`ich1994e2a`, read
  only as paraphrased by secondary glossaries (EUPATI, insife), the guideline
  text itself not verified.
- Relatedness (unrelated, unlikely, possible, probable, definite), action taken
  and outcome: a plptms choice of the five-level scale and categories common in
  trial case report forms; no single source is claimed.

.. footbibliography::
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..utils import clinic_today, utc_now
from ._adverse_models import (
    REVIEW_NOTE_MAX_CHARS,
    REVIEW_NOTE_MIN_CHARS,
    ActionTaken,
    AdverseEventIn,
    AdverseEventOut,
    AdverseEventReviewOut,
    AdverseEventTerm,
    Outcome,
    Relatedness,
    SeriousCriterion,
    Severity,
)
from ._models import RecordNotFoundError, RegistryError, check_code
from ._patients import patient_row
from ._store import audit

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = [
    "ActionTaken",
    "AdverseEventIn",
    "AdverseEventOut",
    "AdverseEventReviewOut",
    "AdverseEventStore",
    "AdverseEventTerm",
    "Outcome",
    "Relatedness",
    "SeriousCriterion",
    "Severity",
]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _review_out(row: Any) -> AdverseEventReviewOut:
    return AdverseEventReviewOut(
        id=row.id,
        adverse_event_id=row.adverse_event_id,
        physician=row.physician,
        reviewed_at=_aware(row.reviewed_at),
        note=row.note,
        continue_treatment=row.continue_treatment,
        actor=row.actor,
    )


def _event_out(row: Any, patient: Any, reviews: list[Any]) -> AdverseEventOut:
    return AdverseEventOut(
        id=row.id,
        site=patient.site,
        code=patient.code,
        delivery_session_id=row.delivery_session_id,
        onset_on=row.onset_on,
        recorded_at=_aware(row.recorded_at),
        term=AdverseEventTerm(row.term),
        description=row.description,
        severity=Severity(row.severity),
        serious=row.serious,
        serious_criterion=None
        if row.serious_criterion is None
        else SeriousCriterion(row.serious_criterion),
        relatedness=Relatedness(row.relatedness),
        action_taken=ActionTaken(row.action_taken),
        outcome=Outcome(row.outcome),
        actor=row.actor,
        reviews=tuple(_review_out(r) for r in reviews),
    )


class AdverseEventStore:
    """Registry methods for adverse events (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

        def _site_zone(self, s: Session, site: str) -> str | None: ...

    def record_adverse_event(
        self, site: str, code: str, event: AdverseEventIn, *, actor: str
    ) -> AdverseEventOut:
        """Record an adverse event of a patient (audited).

        Parameters
        ----------
        site, code : str
            The patient.
        event : AdverseEventIn
            The event (validated).
        actor : str
            Who records it.

        Returns
        -------
        event : AdverseEventOut
            The event as stored (unreviewed).

        Raises
        ------
        RegistryError
            On an unknown patient, an onset in the future (the site's date), a
            delivery session of another patient, or a bad actor; nothing is
            stored.
        """
        from ._store import _check_actor
        from .db._schema import (
            AdverseEventRow,
            DeliverySessionRow,
            ProtocolAssignmentRow,
        )

        check_code(site, "site")
        check_code(code, "code")
        if not isinstance(event, AdverseEventIn):
            raise RegistryError(
                f"Invalid value for 'event': got {type(event).__name__}; allowed: "
                "plptms.registry.AdverseEventIn."
            )
        actor = _check_actor(actor)
        at = utc_now()
        with self._write() as s:
            patient = patient_row(s, site, code)
            today = clinic_today(at, tz=self._site_zone(s, site))
            onset = event.onset_on or today
            if onset > today:
                raise RegistryError(
                    f"Invalid value for 'onset_on': got {onset.isoformat()}; allowed: "
                    f"a date not in the future (on or before {today.isoformat()}, "
                    f"the date at site {site})."
                )
            if event.delivery_session_id is not None:
                d = s.get(DeliverySessionRow, event.delivery_session_id)
                a = None if d is None else s.get(ProtocolAssignmentRow, d.assignment_id)
                if a is None or a.patient_id != patient.id:
                    raise RegistryError(
                        "Invalid value for 'delivery_session_id': got "
                        f"{event.delivery_session_id}; allowed: a delivery session of "
                        f"{site}/{code}."
                    )
            row = AdverseEventRow(
                patient_id=patient.id,
                delivery_session_id=event.delivery_session_id,
                onset_on=onset,
                recorded_at=at,
                term=event.term.value,
                description=event.description,
                severity=event.severity.value,
                serious=event.serious,
                serious_criterion=None
                if event.serious_criterion is None
                else event.serious_criterion.value,
                relatedness=event.relatedness.value,
                action_taken=event.action_taken.value,
                outcome=event.outcome.value,
                actor=actor,
            )
            s.add(row)
            audit(s, actor, "insert", "adverse_events", row, None, None, at)
            return _event_out(row, patient, [])

    def review_adverse_event(
        self,
        event_id: int,
        *,
        physician: str,
        note: str,
        continue_treatment: bool,
        actor: str | None = None,
    ) -> AdverseEventOut:
        """Record a physician's review of an adverse event (audited).

        Parameters
        ----------
        event_id : int
            The adverse event.
        physician : str
            The reviewing physician (1-64 characters).
        note : str
            The review (5-2000 characters).
        continue_treatment : bool
            Whether stimulation may go on; ``False`` blocks the patient's later
            sessions until a newer review allows it.
        actor : str | None
            Who records it (the physician when ``None``).

        Returns
        -------
        event : AdverseEventOut
            The event with its reviews.

        Raises
        ------
        RecordNotFoundError
            If there is no such event.
        RegistryError
            On a bad physician, note or actor; nothing is stored.
        """
        from sqlalchemy import select

        from ._store import _check_actor
        from .db._schema import AdverseEventReviewRow, AdverseEventRow, PatientRow

        if not isinstance(event_id, int) or isinstance(event_id, bool) or event_id < 1:
            raise RegistryError(
                f"Invalid value for 'event_id': got {event_id!r}; allowed: an "
                "adverse event id (an integer, 1 or more)."
            )
        try:
            physician = _check_actor(physician)
        except RegistryError:
            raise RegistryError(
                f"Invalid value for 'physician': got {physician!r}; allowed: the "
                "reviewing physician's name or id (1-64 characters)."
            ) from None
        actor = physician if actor is None else _check_actor(actor)
        text = note.strip() if isinstance(note, str) else ""
        if not REVIEW_NOTE_MIN_CHARS <= len(text) <= REVIEW_NOTE_MAX_CHARS:
            raise RegistryError(
                f"Invalid value for 'note': got {note!r}; allowed: the physician's "
                f"review, {REVIEW_NOTE_MIN_CHARS}-{REVIEW_NOTE_MAX_CHARS} characters."
            )
        if not isinstance(continue_treatment, bool):
            raise RegistryError(
                f"Invalid value for 'continue_treatment': got {continue_treatment!r}; "
                "allowed: True or False."
            )
        at = utc_now()
        with self._write() as s:
            row = s.get(AdverseEventRow, event_id)
            if row is None or row.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'event_id': got {event_id}; no such adverse "
                    "event (or deleted)."
                )
            review = AdverseEventReviewRow(
                adverse_event_id=row.id,
                physician=physician,
                reviewed_at=at,
                note=text,
                continue_treatment=continue_treatment,
                actor=actor,
            )
            s.add(review)
            audit(s, actor, "insert", "adverse_event_reviews", review, None, None, at)
            patient = s.get(PatientRow, row.patient_id)
            reviews = list(
                s.execute(
                    select(AdverseEventReviewRow)
                    .where(AdverseEventReviewRow.adverse_event_id == row.id)
                    .order_by(AdverseEventReviewRow.id)
                ).scalars()
            )
            return _event_out(row, patient, reviews)

    def get_adverse_event(self, event_id: int) -> AdverseEventOut:
        """Return one adverse event with its reviews.

        Parameters
        ----------
        event_id : int
            The event.

        Returns
        -------
        event : AdverseEventOut
            The event.

        Raises
        ------
        RecordNotFoundError
            If there is no such event.
        """
        from sqlalchemy import select

        from .db._schema import AdverseEventReviewRow, AdverseEventRow, PatientRow

        with self._read() as s:
            row = s.get(AdverseEventRow, event_id)
            if row is None or row.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'event_id': got {event_id}; no such adverse "
                    "event (or deleted)."
                )
            reviews = list(
                s.execute(
                    select(AdverseEventReviewRow)
                    .where(AdverseEventReviewRow.adverse_event_id == row.id)
                    .order_by(AdverseEventReviewRow.id)
                ).scalars()
            )
            return _event_out(row, s.get(PatientRow, row.patient_id), reviews)

    def list_adverse_events(self, site: str, code: str) -> list[AdverseEventOut]:
        """Return a patient's adverse events (by onset, then id) with reviews.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        events : list of AdverseEventOut
            Every event not deleted.

        Raises
        ------
        RecordNotFoundError
            If there is no such patient.
        """
        from sqlalchemy import select

        from .db._schema import AdverseEventReviewRow, AdverseEventRow

        check_code(site, "site")
        check_code(code, "code")
        with self._read() as s:
            patient = patient_row(s, site, code)
            rows = list(
                s.execute(
                    select(AdverseEventRow)
                    .where(
                        AdverseEventRow.patient_id == patient.id,
                        AdverseEventRow.deleted_at.is_(None),
                    )
                    .order_by(AdverseEventRow.onset_on, AdverseEventRow.id)
                ).scalars()
            )
            by_event: dict[int, list[Any]] = {r.id: [] for r in rows}
            if rows:
                for rv in s.execute(
                    select(AdverseEventReviewRow)
                    .where(AdverseEventReviewRow.adverse_event_id.in_(list(by_event)))
                    .order_by(AdverseEventReviewRow.id)
                ).scalars():
                    by_event[rv.adverse_event_id].append(rv)
            return [_event_out(r, patient, by_event[r.id]) for r in rows]

    def unreviewed_adverse_events(self, site: str, code: str) -> list[AdverseEventOut]:
        """Return a patient's adverse events that no physician has reviewed.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        events : list of AdverseEventOut
            The unreviewed events.

        Raises
        ------
        RecordNotFoundError
            If there is no such patient.
        """
        return [e for e in self.list_adverse_events(site, code) if not e.reviewed]
