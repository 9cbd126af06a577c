"""Records attached to trial visits, and the trial's screening log.

Co-interventions, concomitant medication changes and blinding questionnaire
answers each belong to a recorded trial visit (:mod:`._trial_followup`): the
visit must be recorded first. The screening log holds the patients screened for
a trial and not enrolled (for the CONSORT flow diagram). Every insert is
audited; nothing is deleted. Which co-interventions a trial has, and who may see
arms, are the workflow's rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ..utils import utc_now
from ._models import DuplicateRecordError, RegistryError
from ._store import audit
from ._trial_followup_models import (
    BLINDING_ANSWERS_3,
    BLINDING_ANSWERS_5,
    BLINDING_RESPONDENTS,
    MEDICATION_CHANGES,
    SCREENING_OUTCOMES,
    BlindingGuessOut,
    CoInterventionOut,
    MedicationChangeOut,
    ScreeningOutcomeOut,
    check_choice,
    check_count,
    check_text,
    enrolment_rows_of,
    trial_visit_row,
    visit_record_out,
)
from ._trial_keys import check_trial_id
from ._trial_models import enrolment_of, trial_row

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["TrialRecordStore"]

_Out = TypeVar("_Out")


class TrialRecordStore:
    """Registry methods for records at trial visits and the screening log."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def _add_at_visit(
        self,
        trial_id: str,
        site: str,
        code: str,
        visit_id: str,
        table: str,
        out: type[_Out],
        actor: str,
        unique: str | None = None,
        **values: Any,
    ) -> _Out:
        """Insert one row of ``table`` at a recorded trial visit (audited)."""
        from sqlalchemy import select

        from ._store import _check_actor, _tables

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        visit_id = check_text(visit_id, "visit_id", low=1, high=64)
        at = utc_now()
        with self._write() as s:
            enrolment = enrolment_of(s, trial_id, site, code)
            visit = trial_visit_row(s, enrolment, visit_id, code)
            model = _tables()[table]
            if (
                unique is not None
                and s.execute(
                    select(model.id).where(
                        model.trial_visit_id == visit.id,
                        getattr(model, unique) == values[unique],
                    )
                ).first()
            ):
                raise DuplicateRecordError(
                    f"Invalid value for {unique!r}: got {values[unique]!r}; this "
                    f"record of {site}/{code} at visit {visit_id!r} in {trial_id!r} "
                    "is already stored (one per visit)."
                )
            row = model(trial_visit_id=visit.id, actor=actor, at=at, **values)
            s.add(row)
            audit(s, actor, "insert", table, row, None, None, at)
            made: _Out = visit_record_out(out, row, trial_id, enrolment, code, visit_id)
            return made

    def _list_at_visits(
        self,
        trial_id: str,
        site: str | None,
        code: str | None,
        model: Any,
        out: type[Any],
    ) -> list[Any]:
        from sqlalchemy import select

        from .db._schema import TrialVisitRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            enrolments = enrolment_rows_of(s, trial.id, site, code)
            if not enrolments:
                return []
            rows = s.execute(
                select(model, TrialVisitRow.enrolment_id, TrialVisitRow.visit_key)
                .join(TrialVisitRow, TrialVisitRow.id == model.trial_visit_id)
                .where(TrialVisitRow.enrolment_id.in_(list(enrolments)))
                .order_by(TrialVisitRow.done_on, model.id)
            ).all()
            return [
                visit_record_out(out, r, trial_id, *enrolments[eid], key)
                for r, eid, key in rows
            ]

    # ----------------------------------------------------------------------------------
    # co-interventions and concomitant medication
    # ----------------------------------------------------------------------------------
    def record_cointervention(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        visit_id: str,
        co_intervention: str | None,
        name: str,
        delivered: bool,
        minutes: int | None = None,
        sessions: int | None = None,
        note: str = "",
        actor: str,
    ) -> CoInterventionOut:
        """Record a co-intervention at a recorded trial visit (audited).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The enrolled patient.
        visit_id : str
            The schedule's visit id; the trial visit must be recorded.
        co_intervention : str | None
            The trial's co-intervention id (checked by the workflow), or ``None``
            for another one (kind ``other``).
        name : str
            Its name (1-200 characters).
        delivered : bool
            Whether it was delivered.
        minutes, sessions : int | None
            Minutes and sessions delivered, each in [0, 100000].
        note : str
            Free text (0-2000 characters).
        actor : str
            Who records it.

        Returns
        -------
        record : CoInterventionOut
            The stored record.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled or the trial visit is not recorded.
        RegistryError
            On bad input (nothing is stored).
        """
        if co_intervention is not None:
            co_intervention = check_text(
                co_intervention, "co_intervention", low=1, high=64
            )
        if not isinstance(delivered, bool):
            raise RegistryError(
                f"Invalid value for 'delivered': got {delivered!r}; allowed: yes or "
                "no (a bool)."
            )
        return self._add_at_visit(
            trial_id, site, code, visit_id, "trial_cointerventions",
            CoInterventionOut, actor,
            kind="other" if co_intervention is None else "trial",
            co_intervention=co_intervention,
            name=check_text(name, "name", low=1, high=200),
            delivered=delivered,
            minutes=check_count(minutes, "minutes"),
            sessions=check_count(sessions, "sessions"),
            note=check_text(note, "note"),
        )  # fmt: skip

    def list_cointerventions(
        self, trial_id: str, site: str | None = None, code: str | None = None
    ) -> list[CoInterventionOut]:
        """Return a trial's co-interventions (one site's or one patient's).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str | None
            Only this site's, or this patient's (both given), records.

        Returns
        -------
        records : list of CoInterventionOut
            By visit date.
        """
        from .db._schema import TrialCoInterventionRow

        return self._list_at_visits(
            trial_id, site, code, TrialCoInterventionRow, CoInterventionOut
        )

    def record_medication_change(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        visit_id: str,
        drug: str,
        change: str,
        dose: str = "",
        indication: str = "",
        note: str = "",
        actor: str,
    ) -> MedicationChangeOut:
        """Record a concomitant medication change at a recorded trial visit.

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The enrolled patient.
        visit_id : str
            The schedule's visit id; the trial visit must be recorded.
        drug : str
            The drug (1-200 characters).
        change : str
            One of :data:`MEDICATION_CHANGES`.
        dose, indication, note : str
            Free text (0-2000 characters each).
        actor : str
            Who records it.

        Returns
        -------
        record : MedicationChangeOut
            The stored record.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled or the trial visit is not recorded.
        RegistryError
            On bad input (nothing is stored).
        """
        return self._add_at_visit(
            trial_id, site, code, visit_id, "trial_medication_changes",
            MedicationChangeOut, actor,
            drug=check_text(drug, "drug", low=1, high=200),
            change=check_choice(change, "change", MEDICATION_CHANGES),
            dose=check_text(dose, "dose"),
            indication=check_text(indication, "indication"),
            note=check_text(note, "note"),
        )  # fmt: skip

    def list_medication_changes(
        self, trial_id: str, site: str | None = None, code: str | None = None
    ) -> list[MedicationChangeOut]:
        """Return a trial's medication changes (see :meth:`list_cointerventions`).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str | None
            Only this site's, or this patient's (both given), records.

        Returns
        -------
        records : list of MedicationChangeOut
            By visit date.
        """
        from .db._schema import TrialMedicationChangeRow

        return self._list_at_visits(
            trial_id, site, code, TrialMedicationChangeRow, MedicationChangeOut
        )

    # ----------------------------------------------------------------------------------
    # blinding questionnaires
    # ----------------------------------------------------------------------------------
    def record_blinding_guess(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        visit_id: str,
        respondent: str,
        answers: int,
        guess: str,
        actor: str,
    ) -> BlindingGuessOut:
        """Record one blinding questionnaire answer (one per visit and respondent).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The enrolled patient.
        visit_id : str
            The schedule's visit id; the trial visit must be recorded.
        respondent : str
            One of :data:`BLINDING_RESPONDENTS`.
        answers : {3, 5}
            The questionnaire's form.
        guess : str
            One of :data:`BLINDING_ANSWERS_3` (3 answers) or
            :data:`BLINDING_ANSWERS_5` (5 answers).
        actor : str
            Who records it.

        Returns
        -------
        record : BlindingGuessOut
            The stored answer.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled or the trial visit is not recorded.
        DuplicateRecordError
            If this respondent's answer at this visit is already recorded.
        RegistryError
            On bad input (nothing is stored).
        """
        respondent = check_choice(respondent, "respondent", BLINDING_RESPONDENTS)
        if answers not in (3, 5) or isinstance(answers, bool):
            raise RegistryError(
                f"Invalid value for 'answers': got {answers!r}; allowed values are "
                "3, 5."
            )
        allowed = BLINDING_ANSWERS_3 if answers == 3 else BLINDING_ANSWERS_5
        return self._add_at_visit(
            trial_id, site, code, visit_id, "trial_blinding_guesses",
            BlindingGuessOut, actor, unique="respondent",
            respondent=respondent,
            answers=int(answers),
            guess=check_choice(guess, "guess", allowed),
        )  # fmt: skip

    def list_blinding_guesses(
        self, trial_id: str, site: str | None = None, code: str | None = None
    ) -> list[BlindingGuessOut]:
        """Return a trial's blinding questionnaire answers (arms not included).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str | None
            Only this site's, or this patient's (both given), answers.

        Returns
        -------
        records : list of BlindingGuessOut
            By visit date.
        """
        from .db._schema import TrialBlindingGuessRow

        return self._list_at_visits(
            trial_id, site, code, TrialBlindingGuessRow, BlindingGuessOut
        )

    # ----------------------------------------------------------------------------------
    # screening log
    # ----------------------------------------------------------------------------------
    def record_screening_outcome(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        outcome: str,
        reason: str,
        actor: str,
    ) -> ScreeningOutcomeOut:
        """Log a patient screened for a trial and not enrolled (audited).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The registered patient (not enrolled in the trial).
        outcome : str
            One of :data:`SCREENING_OUTCOMES`.
        reason : str
            Why (1-2000 characters).
        actor : str
            Who records it.

        Returns
        -------
        record : ScreeningOutcomeOut
            The stored entry.

        Raises
        ------
        RecordNotFoundError
            If the trial or the patient does not exist.
        DuplicateRecordError
            If the patient is already in the trial's screening log.
        RegistryError
            If the patient is enrolled in the trial, or on bad input (nothing is
            stored).
        """
        from sqlalchemy import select

        from ._patients import patient_row
        from ._store import _check_actor
        from .db._schema import TrialEnrolmentRow, TrialScreeningOutcomeRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        outcome = check_choice(outcome, "outcome", SCREENING_OUTCOMES)
        reason = check_text(reason, "reason", low=1)
        at = utc_now()
        with self._write() as s:
            trial = trial_row(s, trial_id)
            patient = patient_row(s, site, code)
            if s.execute(
                select(TrialEnrolmentRow.id).where(
                    TrialEnrolmentRow.trial_id == trial.id,
                    TrialEnrolmentRow.patient_id == patient.id,
                )
            ).first():
                raise RegistryError(
                    f"Invalid value for 'code': got {site}/{code}; this patient is "
                    f"enrolled in {trial_id!r}; allowed: a patient screened and not "
                    "enrolled."
                )
            if s.execute(
                select(TrialScreeningOutcomeRow.id).where(
                    TrialScreeningOutcomeRow.trial_id == trial.id,
                    TrialScreeningOutcomeRow.patient_id == patient.id,
                )
            ).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'code': got {site}/{code}; this patient is "
                    f"already in the screening log of {trial_id!r}."
                )
            row = TrialScreeningOutcomeRow(
                trial_id=trial.id,
                patient_id=patient.id,
                outcome=outcome,
                reason=reason,
                actor=actor,
                at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_screening_outcomes", row, None, None, at)
            return _screening_out(row, trial_id, site, code)

    def list_screening_outcomes(self, trial_id: str) -> list[ScreeningOutcomeOut]:
        """Return a trial's screening log, oldest first.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        records : list of ScreeningOutcomeOut
            The entries.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow, TrialScreeningOutcomeRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            rows = s.execute(
                select(TrialScreeningOutcomeRow, PatientRow.site, PatientRow.code)
                .join(PatientRow, PatientRow.id == TrialScreeningOutcomeRow.patient_id)
                .where(TrialScreeningOutcomeRow.trial_id == trial.id)
                .order_by(TrialScreeningOutcomeRow.id)
            ).all()
            return [_screening_out(r, trial_id, site, code) for r, site, code in rows]


def _screening_out(
    row: Any, trial_id: str, site: str, code: str
) -> ScreeningOutcomeOut:
    from ._store import _aware

    return ScreeningOutcomeOut(
        id=row.id,
        trial_id=trial_id,
        site=site,
        code=code,
        outcome=row.outcome,
        reason=row.reason,
        actor=row.actor,
        at=_aware(row.at),
    )
