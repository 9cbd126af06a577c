"""Trials on the registry: versioned definitions, enrolments, unblindings.

:meth:`TrialStore.enrol` makes an allocation only at enrolment, in ONE serialised
write transaction that reads the history, calls :func:`plptms.trial.allocate`
with the trial's :class:`plptms.trial.HmacRandom` and stores the result; unique
constraints (index, patient, kit code per trial) forbid a duplicate. Nothing is
reassigned or deleted. The secret is a key file outside the database
(:mod:`plptms.registry._trial_keys`); the roles are the workflow's rule.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..utils import utc_now
from ._models import DuplicateRecordError, RegistryError
from ._store import audit
from ._trial_keys import (
    check_trial_id,
    create_trial_key,
    kit_code,
    read_trial_key,
    trial_key_check,
    trial_key_path,
)
from ._trial_models import (
    SCOPED_ENROLMENT,
    EnrolmentOut,
    TrialOut,
    TrialVersionOut,
    UnblindingOut,
    allocation_detail,
    allocation_history,
    check_definition,
    check_factors,
    check_version,
    checked_secret,
    enrolment_of,
    enrolment_out,
    enrolment_rows,
    latest_version,
    patient_codes,
    trial_out,
    trial_row,
    unblinding_out,
    version_out,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from ..trial import Minimisation, PermutedBlocks, SimpleRandomisation

__all__ = ["TrialStore"]

logger = logging.getLogger(__name__)


class TrialStore:
    """Registry methods for trials and their enrolments (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

        _sites: frozenset[str] | None

    # --- trials and versions ---
    def create_trial(
        self,
        trial_id: str,
        definition: Mapping[str, Any],
        *,
        title: str,
        actor: str,
        version: int = 1,
    ) -> TrialOut:
        """Create a trial with its first definition and its secret (audited).

        The secret is created at :func:`trial_key_path` (mode 0600) when no file
        is there; an existing file (e.g. left by an earlier attempt) is used.

        Parameters
        ----------
        trial_id : str
            The trial identifier (unique).
        definition : dict
            The definition as JSON data (validated by the application layer).
        title : str
            A title (1-200 characters).
        actor : str
            Who creates it.
        version : int
            The definition's version number (1 for a new trial).

        Returns
        -------
        trial : TrialOut
            The trial as stored.

        Raises
        ------
        DuplicateRecordError
            If a trial with this identifier exists.
        RegistryError
            On bad input (nothing is stored).
        """
        from sqlalchemy import select

        from ._store import _check_actor
        from .db._schema import TrialRow, TrialVersionRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        definition = check_definition(definition)
        check_version(version)
        if not isinstance(title, str) or not title.strip() or len(title.strip()) > 200:
            raise RegistryError(
                f"Invalid value for 'title': got {title!r}; allowed: 1-200 characters."
            )
        at = utc_now()
        with self._write() as s:
            if s.execute(select(TrialRow.id).where(TrialRow.slug == trial_id)).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'trial_id': got {trial_id!r}; a trial with "
                    "this identifier already exists (amend it instead)."
                )
            path = trial_key_path(trial_id)
            secret = read_trial_key(path)
            if secret is None:
                secret = create_trial_key(path)
                logger.info("Created the trial key %s.", path)
            else:
                logger.warning("Using the existing trial key %s.", path)
            trial = TrialRow(
                slug=trial_id,
                title=title.strip(),
                key_check=trial_key_check(secret, trial_id),
                created_at=at,
                actor=actor,
            )
            s.add(trial)
            audit(s, actor, "insert", "trials", trial, None, None, at)
            row = TrialVersionRow(
                trial_id=trial.id,
                version=version,
                definition=definition,
                reason=None,
                actor=actor,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_versions", row, None, None, at)
            return trial_out(trial, row)

    def amend_trial(
        self,
        trial_id: str,
        definition: Mapping[str, Any],
        *,
        version: int,
        arms: Collection[str],
        reason: str,
        actor: str,
    ) -> TrialVersionOut:
        """Store a new version of a trial's definition (audited).

        Parameters
        ----------
        trial_id : str
            The trial.
        definition : dict
            The new definition as JSON data.
        version : int
            Its version number: the newest stored one plus 1.
        arms : collection of str
            The arms of the new definition's randomiser; every arm already
            allocated must be among them (an allocation is never reassigned, and
            the allocation history must stay replayable).
        reason : str
            Why (at least 5 characters).
        actor : str
            Who amends it.

        Returns
        -------
        version : TrialVersionOut
            The new version as stored.

        Raises
        ------
        RecordNotFoundError
            If there is no such trial.
        RegistryError
            On a wrong version number, a dropped allocated arm or bad input.
        """
        from sqlalchemy import select

        from ._store import _check_actor, _check_reason
        from .db._schema import TrialEnrolmentRow, TrialVersionRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        reason = _check_reason(reason, "amend a trial")
        definition = check_definition(definition)
        check_version(version)
        at = utc_now()
        with self._write() as s:
            trial = trial_row(s, trial_id)
            latest = latest_version(s, trial.id)
            if version != latest.version + 1:
                raise RegistryError(
                    f"Invalid value for 'version': got {version}; allowed: "
                    f"{latest.version + 1} (the newest stored version is "
                    f"{latest.version})."
                )
            allocated = set(
                s.execute(
                    select(TrialEnrolmentRow.arm_id)
                    .where(TrialEnrolmentRow.trial_id == trial.id)
                    .distinct()
                ).scalars()
            )
            dropped = sorted(allocated - set(arms))
            if dropped:
                raise RegistryError(
                    f"Invalid value for 'definition': its arms {sorted(arms)!r} drop "
                    f"{dropped!r}, already allocated; allowed: a definition that "
                    "keeps every allocated arm."
                )
            row = TrialVersionRow(
                trial_id=trial.id,
                version=version,
                definition=definition,
                reason=reason,
                actor=actor,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_versions", row, None, reason, at)
            return version_out(trial_id, row)

    def get_trial(self, trial_id: str) -> TrialOut:
        """Return a trial with its newest definition.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        trial : TrialOut
            The trial.

        Raises
        ------
        RecordNotFoundError
            If there is no such trial.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            return trial_out(trial, latest_version(s, trial.id))

    def trial_versions(self, trial_id: str) -> list[TrialVersionOut]:
        """Return every version of a trial's definition, oldest first.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        versions : list of TrialVersionOut
            The versions.
        """
        from sqlalchemy import select

        from .db._schema import TrialVersionRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            rows = s.execute(
                select(TrialVersionRow)
                .where(TrialVersionRow.trial_id == trial.id)
                .order_by(TrialVersionRow.version)
            ).scalars()
            return [version_out(trial_id, r) for r in rows]

    def trial_secret(self, trial_id: str) -> bytes:
        """Return a trial's secret, checked against the stored fingerprint.

        Only the allocation engine and the statistician's replay need it.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        secret : bytes
            The 32-byte secret.

        Raises
        ------
        RecordNotFoundError
            If there is no such trial.
        RegistryError
            If the key file is missing or is not the trial's key.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            return checked_secret(trial)

    # --- enrolment ---
    def enrol(
        self,
        trial_id: str,
        site: str,
        code: str,
        factors: Mapping[str, str],
        *,
        version: int,
        config: SimpleRandomisation | PermutedBlocks | Minimisation,
        actor: str,
    ) -> EnrolmentOut:
        """Enrol a patient and allocate them, in one serialised transaction.

        The transaction reads the trial's allocations so far, computes the next
        one (index = their number) with :func:`plptms.trial.allocate` and the
        trial's :class:`plptms.trial.HmacRandom`, derives the kit code and
        stores it with its audit entry. Eligibility, site and factor levels are
        the application layer's checks (:func:`plptms.workflow.enrol_patient`).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The patient.
        factors : dict of str to str
            The patient's factor levels.
        version : int
            The definition version ``config`` comes from; it must be the newest
            (an amendment in between refuses the enrolment: retry).
        config : SimpleRandomisation | PermutedBlocks | Minimisation
            The randomiser of that version.
        actor : str
            Who enrols the patient.

        Returns
        -------
        enrolment : EnrolmentOut
            The enrolment with its allocation.

        Raises
        ------
        RecordNotFoundError
            If the trial or the patient does not exist.
        DuplicateRecordError
            If the patient is already enrolled in the trial.
        RegistryError
            On a stale version, a missing or wrong trial key, bad input, or a
            site-scoped view (:meth:`scoped`: it sees part of the history).
        """
        if self._sites is not None:  # allocating needs every site's history
            raise RegistryError(SCOPED_ENROLMENT)
        from sqlalchemy import select

        from ..trial import HmacRandom, allocate
        from ._patients import patient_row
        from ._store import _check_actor
        from .db._schema import TrialEnrolmentRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        factors = check_factors(factors)
        check_version(version)
        at = utc_now()
        with self._write() as s:
            trial = trial_row(s, trial_id)
            latest = latest_version(s, trial.id).version
            if version != latest:
                raise RegistryError(
                    f"Invalid value for 'version': got {version}; allowed: {latest} "
                    f"(trial {trial_id!r} was amended; enrol under the newest "
                    "definition)."
                )
            patient = patient_row(s, site, code)
            if s.execute(
                select(TrialEnrolmentRow.id).where(
                    TrialEnrolmentRow.trial_id == trial.id,
                    TrialEnrolmentRow.patient_id == patient.id,
                )
            ).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'code': got {site}/{code}; this patient is "
                    f"already enrolled in trial {trial_id!r} (an allocation is never "
                    "repeated or reassigned)."
                )
            secret = checked_secret(trial)
            rows = enrolment_rows(s, trial.id)
            history = allocation_history(rows)
            try:
                allocation = allocate(
                    history, factors, config, HmacRandom(secret, trial_id)
                )
            except (TypeError, ValueError) as exc:
                raise RegistryError(str(exc)) from None
            kit = kit_code(secret, allocation.index, {r.kit_code for r in rows})
            row = TrialEnrolmentRow(
                trial_id=trial.id,
                version=version,
                patient_id=patient.id,
                site=site,
                allocation_index=allocation.index,
                arm_id=allocation.arm,
                kit_code=kit,
                factors=factors,
                stratum=allocation.stratum,
                allocation=allocation_detail(allocation),
                enrolled_at=at,
                actor=actor,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_enrolments", row, None, None, at)
            return enrolment_out(row, trial_id, code)

    def list_enrolments(self, trial_id: str) -> list[EnrolmentOut]:
        """Return a trial's enrolments in allocation order (arms included).

        A site-scoped view (:meth:`scoped`) lists its sites' enrolments only,
        on SQLite as on PostgreSQL, without the whole history's contiguity check.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        enrolments : list of EnrolmentOut
            The enrolments (:class:`RegistryError` if a whole history is damaged).
        """
        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            codes = patient_codes(s, trial.id)
            rows = enrolment_rows(s, trial.id, self._sites)
            return [enrolment_out(r, trial_id, codes[r.patient_id]) for r in rows]

    def get_enrolment(self, trial_id: str, site: str, code: str) -> EnrolmentOut:
        """Return one patient's enrolment in a trial.

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The patient.

        Returns
        -------
        enrolment : EnrolmentOut
            The enrolment.

        Raises
        ------
        RecordNotFoundError
            If the trial or patient does not exist or the patient is not enrolled.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            row = enrolment_of(s, trial_id, site, code)
            return enrolment_out(row, trial_id, code)

    # --- unblinding ---
    def record_unblinding(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        role: str,
        reason: str,
        actor: str,
    ) -> tuple[EnrolmentOut, UnblindingOut]:
        """Record an emergency unblinding and return the allocation (audited).

        The record and its audit entry are written in the transaction that reads
        the arm: an arm is never returned without its unblinding being stored.
        Which roles may unblind is the application layer's rule
        (:func:`plptms.workflow.unblind`).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The patient.
        role : str
            The role of who asks (1-32 characters).
        reason : str
            Why (at least 5 characters here; the workflow asks for more).
        actor : str
            Who asks.

        Returns
        -------
        enrolment : EnrolmentOut
            The enrolment with its arm.
        unblinding : UnblindingOut
            The stored unblinding.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled in the trial.
        RegistryError
            On bad input (nothing is stored).
        """
        from ._store import _check_actor, _check_reason
        from .db._schema import TrialUnblindingRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        reason = _check_reason(reason, "unblind an allocation")
        if not isinstance(role, str) or not role.strip() or len(role.strip()) > 32:
            raise RegistryError(
                f"Invalid value for 'role': got {role!r}; allowed: 1-32 characters."
            )
        at = utc_now()
        with self._write() as s:
            enrolment = enrolment_of(s, trial_id, site, code)
            row = TrialUnblindingRow(
                enrolment_id=enrolment.id,
                role=role.strip(),
                reason=reason,
                actor=actor,
                at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_unblindings", row, None, reason, at)
            return (
                enrolment_out(enrolment, trial_id, code),
                unblinding_out(row, trial_id, site, code, enrolment.allocation_index),
            )

    def list_unblindings(self, trial_id: str) -> list[UnblindingOut]:
        """Return a trial's unblindings, oldest first.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        unblindings : list of UnblindingOut
            The unblindings.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow, TrialEnrolmentRow, TrialUnblindingRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = trial_row(s, trial_id)
            rows = s.execute(
                select(
                    TrialUnblindingRow,
                    PatientRow.site,
                    PatientRow.code,
                    TrialEnrolmentRow.allocation_index,
                )
                .join(
                    TrialEnrolmentRow,
                    TrialEnrolmentRow.id == TrialUnblindingRow.enrolment_id,
                )
                .join(PatientRow, PatientRow.id == TrialEnrolmentRow.patient_id)
                .where(TrialEnrolmentRow.trial_id == trial.id)
                .order_by(TrialUnblindingRow.id)
            ).all()
            return [
                unblinding_out(u, trial_id, site, code, index)
                for u, site, code, index in rows
            ]
