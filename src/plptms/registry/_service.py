"""The registry service: every write is one transaction with its audit entries."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from .._version import __version__
from ..utils import clinic_today
from ._adverse import AdverseEventStore
from ._amendments import AmendmentStore
from ._anchor import AuditHead
from ._audit import (
    GENESIS_HASH,
    HEAD_INFO,
    KEY_INFO,
    AuditChain,
    AuditReport,
    TrustRoots,
    append_audit,
    row_state,
    seal_event,
    verify_chain,
    verify_rows,
)
from ._models import (
    AssessmentOut,
    AssignmentOut,
    BiomarkerOut,
    DeliveryEvent,
    DeliveryOut,
    DuplicateRecordError,
    LeaseLostError,
    PatientOut,
    RecordNotFoundError,
    RegistryError,
    SessionLeasedError,
    SessionStatus,
    TreatmentSessionOut,
    VisitIn,
    VisitKind,
    VisitOut,
    check_code,
)
from ._site_safety import SiteSafetyStore
from ._sites import SiteStore

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from sqlalchemy.orm import Session

    from ..motor import ThresholdResult
    from ..protocol import Protocol
    from ..safety import ScreeningReport, Verdict
    from ..scales import ResponseResult

__all__ = ["Registry"]

_Out = TypeVar("_Out", bound=BaseModel)

logger = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as an aware UTC datetime (SQLite returns naive ones)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 64:
        raise RegistryError(
            f"Invalid value for 'actor': got {actor!r}; allowed: the name or id of "
            "the person making the change (1-64 characters)."
        )
    return actor.strip()


def _check_reason(reason: str | None, what: str) -> str:
    if reason is None or len(reason.strip()) < 5:
        raise RegistryError(
            f"Invalid value for 'reason': got {reason!r}; allowed: an explanation of "
            f"at least 5 characters (required to {what})."
        )
    return reason.strip()


def _tables() -> dict[str, Any]:
    from .db._schema import (
        AdverseEventReviewRow,
        AdverseEventRow,
        AssessmentRow,
        BiomarkerRow,
        DeliverySessionRow,
        DoseAmendmentRow,
        MotorThresholdRow,
        PatientRow,
        ProtocolAssignmentRow,
        SafetyCellReadingRow,
        ScreeningRow,
        SiteRow,
        SiteSafetyPolicyRow,
        TreatmentSessionRow,
        VisitRow,
    )

    return {
        "patients": PatientRow,
        "visits": VisitRow,
        "assessments": AssessmentRow,
        "screenings": ScreeningRow,
        "protocol_assignments": ProtocolAssignmentRow,
        "treatment_sessions": TreatmentSessionRow,
        "motor_thresholds": MotorThresholdRow,
        "delivery_sessions": DeliverySessionRow,
        "session_biomarkers": BiomarkerRow,
        "safety_cell_readings": SafetyCellReadingRow,
        "site_safety_policies": SiteSafetyPolicyRow,
        "adverse_events": AdverseEventRow,
        "adverse_event_reviews": AdverseEventReviewRow,
        "sites": SiteRow,
        "dose_amendments": DoseAmendmentRow,
    }


class Registry(SiteSafetyStore, SiteStore, AdverseEventStore, AmendmentStore):
    """The patient registry on SQLite (default) or PostgreSQL.

    Parameters
    ----------
    url : str | None
        SQLAlchemy URL; ``$PLPTMS_DB_URL`` or the default SQLite file when ``None``.
    migrate : bool
        Upgrade the schema to the newest revision on open.
    create : bool
        Create the registry when there is none at the URL. Commands that only
        read pass ``False``: a missing registry is then an error
        (:class:`~plptms.registry.db._engine.RegistryMissingError`) and nothing
        is created.

    Notes
    -----
    Every write runs in one transaction that also appends its audit entries; a
    failure anywhere rolls all of it back. Writers are serialised (SQLite
    ``BEGIN IMMEDIATE``, PostgreSQL advisory lock) so the audit chain stays linear.

    Audit entries and delivery events carry a MAC under the site key (see
    :func:`plptms.registry._anchor.audit_key_path`), created on the first write
    when missing; after each audited write the new chain head is written to this
    database's anchor file under the state directory. See ``docs/audit.md``.
    """

    def __init__(
        self, url: str | None = None, *, migrate: bool = True, create: bool = True
    ) -> None:
        from ._anchor import anchor_name, database_id
        from .db._engine import (
            RegistryMissingError,
            _shown,
            default_url,
            make_engine,
            sqlite_file,
        )

        self.url = url or default_url()
        path = sqlite_file(self.url)
        if not create and path is not None and not path.exists():
            # under an existing directory it is simply missing; under a file
            # the engine's own error says why the path is impossible
            above = next(p for p in (*path.parents, Path("/")) if p.exists())
            if above.is_dir():
                raise RegistryMissingError(_shown(self.url), repr(str(path)))
        # the engine first: it refuses a bad URL or path with a clear message
        self.engine = make_engine(self.url)
        if not create and path is None:
            from sqlalchemy import inspect

            if not inspect(self.engine).has_table("alembic_version"):
                self.engine.dispose()
                raise RegistryMissingError(_shown(self.url), "this database")
        self._database = database_id(self.url)
        self._anchor_name = anchor_name(self.url)
        self._key: bytes | None = None
        if migrate:
            from .db._migrate import upgrade

            upgrade(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions
    @contextmanager
    def _write(self) -> Iterator[Session]:
        from sqlalchemy.orm import Session

        from .db._engine import write_lock

        with Session(self.engine, expire_on_commit=False) as s:
            with s.begin():
                write_lock(s)
                s.info[KEY_INFO] = self._write_key(s)
                yield s
            head = s.info.get(HEAD_INFO)
        if head is not None:
            self._anchor(*head)

    def _write_key(self, s: Session) -> bytes:
        """Return the site key, creating it on the first write if missing."""
        if self._key is not None:
            return self._key
        from sqlalchemy import select

        from ._anchor import KEY_ENV, audit_key_path, create_audit_key, read_audit_key
        from .db._schema import AuditRow

        path = audit_key_path()
        key = read_audit_key(path)
        if key is None:
            if os.environ.get(KEY_ENV):
                raise RegistryError(
                    f"Invalid value for '${KEY_ENV}': {path} does not exist; the "
                    "audit key named there must be provided (it is only created "
                    "at the default place)."
                )
            if s.execute(
                select(AuditRow.seq).where(AuditRow.mac.is_not(None)).limit(1)
            ).first():
                raise RegistryError(
                    f"The audit key {path} is missing but this registry's audit "
                    "chain is keyed: restore the key file (a new key would make "
                    "every earlier entry fail verification)."
                )
            key = create_audit_key(path)
        self._key = key
        return key

    def _anchor(self, seq: int, digest: str, tag: str) -> None:
        """Record the chain head outside the database (after the commit).

        The anchor is written after the commit, never before: it can lag behind
        the chain (a crash in between, or a concurrent writer's anchor written
        last) but never run ahead of it, so it raises no false alarm.
        """
        from ._anchor import anchor_path, write_head_file

        path = anchor_path(self.url, self._anchor_name)
        if path is None:
            return
        head = AuditHead(
            database=self._database, seq=seq, hash=digest, mac=tag, at=_now()
        )
        try:
            write_head_file(path, head)
        except OSError as exc:
            logger.error(
                "Could not write the audit head anchor %s (%s): truncation of the "
                "newest entries will not be detected until it is written.",
                path,
                exc,
            )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        from sqlalchemy.orm import Session

        bind = self.engine.execution_options(plptms_readonly=True)
        with Session(bind) as s, s.begin():
            yield s

    @staticmethod
    def _rows_out(
        s: Session, out: type[_Out], model: Any, *where: Any, order_by: Any
    ) -> list[_Out]:
        """Select ``model`` rows matching ``where``, ordered, as ``out`` models."""
        from sqlalchemy import select

        rows = s.execute(select(model).where(*where).order_by(*order_by)).scalars()
        return [out.model_validate(r, from_attributes=True) for r in rows]

    @staticmethod
    def _audit(
        s: Session,
        actor: str,
        action: str,
        table: str,
        row: Any,
        old: dict[str, Any] | None,
        reason: str | None,
        at: dt.datetime,
    ) -> None:
        s.flush()
        append_audit(
            s,
            actor=actor,
            action=action,
            table=table,
            row_id=row.id,
            old=old,
            new=row_state(row),
            reason=reason,
            at=at,
        )

    # ------------------------------------------------------------ patients
    def _patient_row(self, s: Session, site: str, code: str) -> Any:
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

    @staticmethod
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

    def add_patient(
        self, site: str, code: str, *, history: Mapping[str, Any] | None, actor: str
    ) -> PatientOut:
        """Register a patient under a pseudonymous code.

        Parameters
        ----------
        site : str
            Site code.
        code : str
            Pseudonymous patient code, unique within the site.
        history : mapping | None
            PLP history (validated as :class:`plptms.scales.PLPHistory`).
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
            self._audit(s, actor, "insert", "patients", row, None, None, at)
            return self._patient_out(row)

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
            return self._patient_out(self._patient_row(s, site, code))

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
            return [self._patient_out(r) for r in s.execute(q).scalars()]

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
            row = self._patient_row(s, site, code)
            old = row_state(row)
            row.deleted_at = at
            row.deleted_reason = reason
            self._audit(s, actor, "delete", "patients", row, old, reason, at)

    # ------------------------------------------------------------ visits
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
            p = self._patient_row(s, site, code)
            row = self._new_visit(s, p, visit, at)
            self._audit(s, actor, "insert", "visits", row, None, None, at)
            return _visit_out(row)

    @staticmethod
    def _new_visit(s: Session, patient: Any, visit: VisitIn, at: dt.datetime) -> Any:
        from sqlalchemy import select

        from .db._schema import VisitRow

        if (
            patient.amputation_date is not None
            and visit.visit_date < patient.amputation_date
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
            p = self._patient_row(s, site, code)
            rows = s.execute(
                select(VisitRow)
                .where(VisitRow.patient_id == p.id, VisitRow.deleted_at.is_(None))
                .order_by(VisitRow.visit_date, VisitRow.id)
            ).scalars()
            return [_visit_out(r) for r in rows]

    # ------------------------------------------------------------ assessments
    def record_assessment(
        self,
        site: str,
        code: str,
        visit: VisitIn,
        scale_id: str,
        items: Mapping[str, float | int | None],
        *,
        actor: str,
    ) -> AssessmentOut:
        """Score and store an assessment, creating the visit if it is new.

        Parameters
        ----------
        site, code : str
            The patient.
        visit : VisitIn
            The visit (matched by date and kind, or created).
        scale_id : str
            Scale (see :func:`plptms.scales.list_scales`).
        items : mapping of str to number or None
            Raw item values; ``None`` marks a missing item.
        actor : str
            Who records it.

        Returns
        -------
        assessment : AssessmentOut
            The stored assessment with its computed scores.

        Raises
        ------
        ValueError
            If a value is out of range, the scale unknown, the visit before the
            amputation, or the same scale is already recorded at that visit
            (:class:`DuplicateRecordError`; use :meth:`correct_assessment`).
            Nothing is stored.
        """
        actor = _check_actor(actor)
        result = _score(scale_id, items)
        at = _now()
        with self._write() as s:
            p = self._patient_row(s, site, code)
            return self._record_in(s, p, visit, scale_id, result, actor, at)

    def _record_in(
        self,
        s: Session,
        p: Any,
        visit: VisitIn,
        scale_id: str,
        result: dict[str, Any],
        actor: str,
        at: dt.datetime,
    ) -> AssessmentOut:
        from sqlalchemy import select

        from .db._schema import AssessmentRow, VisitRow

        v = s.execute(
            select(VisitRow).where(
                VisitRow.patient_id == p.id,
                VisitRow.visit_date == visit.visit_date,
                VisitRow.kind == visit.kind.value,
                VisitRow.deleted_at.is_(None),
            )
        ).scalar_one_or_none()
        if v is None:
            v = self._new_visit(s, p, visit, at)
            self._audit(s, actor, "insert", "visits", v, None, None, at)
        dup = s.execute(
            select(AssessmentRow.id).where(
                AssessmentRow.visit_id == v.id,
                AssessmentRow.scale_id == scale_id,
                AssessmentRow.deleted_at.is_(None),
            )
        ).first()
        if dup:
            raise DuplicateRecordError(
                f"Invalid value for 'scale_id': got {scale_id!r}; already recorded "
                f"at the {v.kind} visit of {v.visit_date.isoformat()} (assessment "
                f"{dup[0]}): correct it instead."
            )
        row = AssessmentRow(
            visit_id=v.id,
            scale_id=scale_id,
            created_at=at,
            scored_with=__version__,
            **result,
        )
        s.add(row)
        self._audit(s, actor, "insert", "assessments", row, None, None, at)
        return _assessment_out(row, v)

    def record_many(
        self,
        records: Sequence[tuple[str, str, VisitIn, str, Mapping[str, Any]]],
        *,
        actor: str,
    ) -> int:
        """Score and store many assessments in one all-or-nothing transaction.

        For imports from another system. Every record is scored and checked before
        anything is written; every visit and assessment created is audited as with
        :meth:`record_assessment`.

        Parameters
        ----------
        records : sequence of (site, code, visit, scale_id, items)
            The assessments.
        actor : str
            Who imports them.

        Returns
        -------
        n : int
            Assessments stored.

        Raises
        ------
        ValueError
            If any record is invalid (its index is named); nothing is stored.
        """
        from sqlalchemy import select

        from .db._schema import AssessmentRow, PatientRow, VisitRow

        actor = _check_actor(actor)
        scored = []
        for k, (site, code, visit, scale_id, items) in enumerate(records):
            try:
                scored.append((site, code, visit, scale_id, _score(scale_id, items)))
            except ValueError as exc:
                raise RegistryError(
                    f"Invalid value for 'records[{k}]': {exc}"
                ) from None
        at = _now()
        keys = sorted({(r[0], r[1]) for r in scored})
        with self._write() as s:
            patients: dict[tuple[str, str], Any] = {}
            for chunk in _chunks(keys, 500):
                sites = {k[0] for k in chunk}
                codes = {k[1] for k in chunk}
                for prow in s.execute(
                    select(PatientRow).where(
                        PatientRow.site.in_(sites), PatientRow.code.in_(codes)
                    )
                ).scalars():
                    if (prow.site, prow.code) in chunk and prow.deleted_at is None:
                        patients[(prow.site, prow.code)] = prow
            pids = [p.id for p in patients.values()]
            visits: dict[tuple[int, dt.date, str], Any] = {}
            taken: set[tuple[int, str]] = set()
            for chunk in _chunks(pids, 500):
                for vrow in s.execute(
                    select(VisitRow).where(
                        VisitRow.patient_id.in_(chunk), VisitRow.deleted_at.is_(None)
                    )
                ).scalars():
                    visits[(vrow.patient_id, vrow.visit_date, vrow.kind)] = vrow
                for vid, sid in s.execute(
                    select(AssessmentRow.visit_id, AssessmentRow.scale_id)
                    .join(VisitRow, AssessmentRow.visit_id == VisitRow.id)
                    .where(
                        VisitRow.patient_id.in_(chunk),
                        AssessmentRow.deleted_at.is_(None),
                    )
                ):
                    taken.add((vid, sid))
            new_visits: list[Any] = []
            plan: list[tuple[Any, str, dict[str, Any]]] = []
            seen: set[tuple[tuple[int, dt.date, str], str]] = set()
            for k, (site, code, visit, scale_id, result) in enumerate(scored):
                p = patients.get((site, code))
                if p is None:
                    raise RegistryError(
                        f"Invalid value for 'records[{k}]': no such patient "
                        f"{site}/{code} (or deleted)."
                    )
                if (
                    p.amputation_date is not None
                    and visit.visit_date < p.amputation_date
                ):
                    raise RegistryError(
                        f"Invalid value for 'records[{k}].visit_date': got "
                        f"{visit.visit_date.isoformat()}; allowed: on or after the "
                        f"amputation date ({p.amputation_date.isoformat()})."
                    )
                vkey = (p.id, visit.visit_date, visit.kind.value)
                v = visits.get(vkey)
                if v is None:
                    v = VisitRow(
                        patient_id=p.id,
                        visit_date=visit.visit_date,
                        kind=visit.kind.value,
                        note=visit.note,
                        created_at=at,
                    )
                    visits[vkey] = v
                    new_visits.append(v)
                elif (v.id, scale_id) in taken:
                    raise DuplicateRecordError(
                        f"Invalid value for 'records[{k}].scale_id': got {scale_id!r}; "
                        f"already recorded at that visit of {site}/{code}."
                    )
                if (vkey, scale_id) in seen:
                    raise DuplicateRecordError(
                        f"Invalid value for 'records[{k}].scale_id': got {scale_id!r}; "
                        "given twice for the same visit."
                    )
                seen.add((vkey, scale_id))
                plan.append((v, scale_id, result))
            s.add_all(new_visits)
            s.flush()
            rows = [
                AssessmentRow(
                    visit_id=v.id,
                    scale_id=scale_id,
                    created_at=at,
                    scored_with=__version__,
                    **result,
                )
                for v, scale_id, result in plan
            ]
            s.add_all(rows)
            s.flush()
            chain = AuditChain(s)
            for nv in new_visits:
                chain.append(
                    actor=actor,
                    action="insert",
                    table="visits",
                    row_id=nv.id,
                    old=None,
                    new=row_state(nv),
                    reason=None,
                    at=at,
                )
            for row in rows:
                chain.append(
                    actor=actor,
                    action="insert",
                    table="assessments",
                    row_id=row.id,
                    old=None,
                    new=row_state(row),
                    reason=None,
                    at=at,
                )
            s.flush()
        return len(scored)

    def add_patients(
        self,
        patients: Sequence[tuple[str, str, Mapping[str, Any] | None]],
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
        with self._write() as s:
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
            chain = AuditChain(s)
            for row in rows:
                chain.append(
                    actor=actor,
                    action="insert",
                    table="patients",
                    row_id=row.id,
                    old=None,
                    new=row_state(row),
                    reason=None,
                    at=at,
                )
            s.flush()
        return len(rows)

    def correct_assessment(
        self,
        assessment_id: int,
        items: Mapping[str, float | int | None],
        *,
        actor: str,
        reason: str,
    ) -> AssessmentOut:
        """Correct an assessment's items; the old values stay in the audit trail.

        Parameters
        ----------
        assessment_id : int
            The assessment.
        items : mapping
            The corrected raw items (all of them).
        actor : str
            Who corrects.
        reason : str
            Why.

        Returns
        -------
        assessment : AssessmentOut
            The corrected, re-scored assessment.
        """
        actor = _check_actor(actor)
        reason = _check_reason(reason, "correct an assessment")
        at = _now()
        with self._write() as s:
            row, v = self._assessment_row(s, assessment_id)
            result = _score(row.scale_id, items)
            old = row_state(row)
            for key, value in result.items():
                setattr(row, key, value)
            row.scored_with = __version__
            self._audit(s, actor, "correct", "assessments", row, old, reason, at)
            return _assessment_out(row, v)

    def delete_assessment(self, assessment_id: int, *, actor: str, reason: str) -> None:
        """Soft-delete an assessment with a reason.

        Parameters
        ----------
        assessment_id : int
            The assessment.
        actor : str
            Who deletes.
        reason : str
            Why.
        """
        actor = _check_actor(actor)
        reason = _check_reason(reason, "delete an assessment")
        at = _now()
        with self._write() as s:
            row, _ = self._assessment_row(s, assessment_id)
            old = row_state(row)
            row.deleted_at = at
            row.deleted_reason = reason
            self._audit(s, actor, "delete", "assessments", row, old, reason, at)

    @staticmethod
    def _assessment_row(s: Session, assessment_id: int) -> tuple[Any, Any]:
        from .db._schema import AssessmentRow, VisitRow

        row = s.get(AssessmentRow, assessment_id)
        if row is None or row.deleted_at is not None:
            raise RecordNotFoundError(
                f"Invalid value for 'assessment_id': got {assessment_id!r}; no such "
                "assessment (or deleted)."
            )
        return row, s.get(VisitRow, row.visit_id)

    def list_assessments(
        self, site: str, code: str, scale_id: str | None = None
    ) -> list[AssessmentOut]:
        """List a patient's assessments by visit date.

        Parameters
        ----------
        site, code : str
            The patient.
        scale_id : str | None
            Only this scale.

        Returns
        -------
        assessments : list of AssessmentOut
            Not deleted, ordered by visit date.
        """
        from sqlalchemy import select

        from .db._schema import AssessmentRow, VisitRow

        with self._read() as s:
            p = self._patient_row(s, site, code)
            q = (
                select(AssessmentRow, VisitRow)
                .join(VisitRow, AssessmentRow.visit_id == VisitRow.id)
                .where(
                    VisitRow.patient_id == p.id,
                    AssessmentRow.deleted_at.is_(None),
                    VisitRow.deleted_at.is_(None),
                )
                .order_by(VisitRow.visit_date, AssessmentRow.id)
            )
            if scale_id is not None:
                q = q.where(AssessmentRow.scale_id == scale_id)
            return [_assessment_out(a, v) for a, v in s.execute(q).all()]

    def responses(
        self, site: str, code: str, scale_id: str, measure: str = "total"
    ) -> list[tuple[AssessmentOut, ResponseResult]]:
        """Change from baseline and IMMPACT class at every later visit.

        Parameters
        ----------
        site, code : str
            The patient.
        scale_id : str
            Scale (a pain score: lower is better).
        measure : str
            ``"total"`` or a subscale name.

        Returns
        -------
        responses : list of (AssessmentOut, ResponseResult)
            One per assessment after the first baseline with a computed score.

        Raises
        ------
        RegistryError
            If there is no baseline score, or the baseline is 0 (change undefined).
        """
        from ..scales import assess_response

        rows = self.list_assessments(site, code, scale_id)

        def value(a: AssessmentOut) -> float | None:
            return a.total if measure == "total" else a.subscales.get(measure)

        base = next(
            (
                a
                for a in rows
                if a.visit_kind is VisitKind.BASELINE and value(a) is not None
            ),
            None,
        )
        if base is None:
            raise RegistryError(
                f"Invalid value for 'scale_id': got {scale_id!r}; {site}/{code} has no "
                f"baseline {measure!r} score of that scale."
            )
        b = value(base)
        assert b is not None
        out = []
        for a in rows:
            v = value(a)
            if a.visit_date > base.visit_date and v is not None:
                try:
                    out.append((a, assess_response(b, v)))
                except ValueError as exc:
                    raise RegistryError(str(exc)) from None
        return out

    # ------------------------------------------------------------ screening, plans
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
            p = self._patient_row(s, site, code)
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
            self._audit(s, actor, "insert", "screenings", row, None, None, at)
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
            p = self._patient_row(s, site, code)
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
            self._audit(s, actor, "insert", "protocol_assignments", row, None, None, at)
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

        from .db._schema import ProtocolAssignmentRow, TreatmentSessionRow

        actor = _check_actor(actor)
        status = SessionStatus(status)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise RegistryError(
                f"Invalid value for 'number': got {number!r}; allowed range is "
                "[1, inf) sessions."
            )
        if session_date > clinic_today():
            raise RegistryError(
                f"Invalid value for 'session_date': got {session_date.isoformat()}; "
                "allowed: on or before today."
            )
        at = _now()
        with self._write() as s:
            a = s.get(ProtocolAssignmentRow, assignment_id)
            if a is None or a.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'assignment_id': got {assignment_id!r}; no "
                    "such protocol assignment."
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
            self._audit(s, actor, "insert", "treatment_sessions", row, None, None, at)
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
            p = self._patient_row(s, site, code)
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
            self._audit(s, actor, "insert", "motor_thresholds", row, None, None, at)
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
            p = self._patient_row(s, site, code)
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
            p = self._patient_row(s, site, code)
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
            p = self._patient_row(s, site, code)
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
            p = self._patient_row(s, site, code)
            return self._rows_out(
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
            return self._rows_out(
                s,
                TreatmentSessionOut,
                T,
                T.assignment_id == assignment_id,
                T.deleted_at.is_(None),
                order_by=(T.number,),
            )

    # ------------------------------------------------------------ delivery
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
            self._audit(s, actor, "insert", "delivery_sessions", row, None, None, at)
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
                self._hold_lease(s, session_id, lease, renew_s)
            last = self._last_event(s, session_id)
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

    @staticmethod
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
            last = self._last_event(s, session_id)  # sealed into the audited row
            row.event_count = 0 if last is None else int(last[0])
            row.event_head = (last and last[1]) or GENESIS_HASH
            self._audit(
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
            p = self._patient_row(s, site, code)
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

    # ------------------------------------------------------------ leases
    @staticmethod
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
            state = row_state(d)
            append_audit(
                s,
                actor=actor,
                action="lease_takeover",
                table="delivery_sessions",
                row_id=d.id,
                old=state,
                new=state,
                reason=f"lease of {previous} expired at "
                f"{until.isoformat(timespec='seconds')}; taken over by {holder}",
                at=now,
            )

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
            self._hold_lease(s, session_id, holder, ttl_s)

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
            self._audit(
                s, physician, "correct", "delivery_sessions", row, old, reason, at
            )

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
            return self._rows_out(
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
            return self._rows_out(
                s,
                DeliveryOut,
                D,
                D.assignment_id == assignment_id,
                order_by=(D.number,),
            )

    # ------------------------------------------------------------ biomarkers
    def record_biomarkers(
        self,
        site: str,
        code: str,
        biomarkers: Mapping[str, Any],
        *,
        source: str,
        delivery_session_id: int | None = None,
        measured_on: dt.date | None = None,
        actor: str,
    ) -> int:
        """Store the EEG biomarkers of one session (audited).

        Parameters
        ----------
        site, code : str
            The patient.
        biomarkers : mapping
            :meth:`plptms.closedloop.SessionBiomarkers.to_dict` output: at least
            ``derivation``, ``duration_s``, ``theta_power``, ``alpha_power``,
            ``beta_power``, ``mu_peak_hz``, ``n_triggers`` and
            ``true_circular_sd_deg``; every value is kept.
        source : str
            ``closedloop`` or ``resting``.
        delivery_session_id : int | None
            The delivery session they come from (must belong to the patient).
        measured_on : datetime.date | None
            Day of the recording (today when ``None``).
        actor : str
            Who records them.

        Returns
        -------
        id : int
            Row id.

        Raises
        ------
        RegistryError
            If a field is missing or not finite, the power is negative, or the
            delivery session is not the patient's.
        """
        import math

        from ..utils import check_option
        from .db._schema import (
            BiomarkerRow,
            DeliverySessionRow,
            ProtocolAssignmentRow,
        )

        actor = _check_actor(actor)
        check_option(source, "source", ("closedloop", "resting"))
        values = dict(biomarkers)
        need = (
            "derivation",
            "duration_s",
            "theta_power",
            "alpha_power",
            "beta_power",
            "mu_peak_hz",
            "n_triggers",
            "true_circular_sd_deg",
        )
        missing = [k for k in need if k not in values]
        if missing:
            raise RegistryError(
                f"Invalid value for 'biomarkers': missing {', '.join(missing)}."
            )
        for k in ("duration_s", "theta_power", "alpha_power", "beta_power"):
            v = values[k]
            if not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise RegistryError(
                    f"Invalid value for 'biomarkers.{k}': got {v!r}; allowed: a "
                    "finite number >= 0."
                )
        for k in ("mu_peak_hz", "true_circular_sd_deg"):
            v = values[k]
            if v is not None and (
                not isinstance(v, int | float) or not math.isfinite(v)
            ):
                raise RegistryError(
                    f"Invalid value for 'biomarkers.{k}': got {v!r}; allowed: a "
                    "finite number or None."
                )
        derivation = values["derivation"]
        if not isinstance(derivation, str) or not 0 < len(derivation) <= 32:
            raise RegistryError(
                f"Invalid value for 'biomarkers.derivation': got {derivation!r}; "
                "allowed: text of 1 to 32 characters (e.g. 'C3 Hjorth')."
            )
        n = values["n_triggers"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise RegistryError(
                f"Invalid value for 'biomarkers.n_triggers': got {n!r}; allowed: an "
                "integer >= 0."
            )
        # JSON cannot hold nan: store missing values as null
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in values.items()
        }
        at = _now()
        day = measured_on or self._site_day(site, at)
        with self._write() as s:
            p = self._patient_row(s, site, code)
            if delivery_session_id is not None:
                d = s.get(DeliverySessionRow, delivery_session_id)
                a = None if d is None else s.get(ProtocolAssignmentRow, d.assignment_id)
                if a is None or a.patient_id != p.id:
                    raise RecordNotFoundError(
                        f"Invalid value for 'delivery_session_id': got "
                        f"{delivery_session_id!r}; no delivery session of "
                        f"{site}/{code} has that id."
                    )
            row = BiomarkerRow(
                patient_id=p.id,
                delivery_session_id=delivery_session_id,
                measured_on=day,
                source=source,
                derivation=derivation,
                duration_s=float(values["duration_s"]),
                theta_power=float(values["theta_power"]),
                alpha_power=float(values["alpha_power"]),
                beta_power=float(values["beta_power"]),
                mu_peak_hz=values["mu_peak_hz"],
                n_triggers=n,
                true_circular_sd_deg=values["true_circular_sd_deg"],
                values=clean,
                created_at=at,
            )
            s.add(row)
            self._audit(s, actor, "insert", "session_biomarkers", row, None, None, at)
            return int(row.id)

    def list_biomarkers(self, site: str, code: str) -> list[BiomarkerOut]:
        """Return a patient's session biomarkers, oldest first.

        Parameters
        ----------
        site, code : str
            The patient.

        Returns
        -------
        biomarkers : list of BiomarkerOut
            Ordered by day, then id.
        """
        from .db._schema import BiomarkerRow as B

        with self._read() as s:
            p = self._patient_row(s, site, code)
            return self._rows_out(
                s, BiomarkerOut, B, B.patient_id == p.id, order_by=(B.measured_on, B.id)
            )

    # ------------------------------------------------------------ audit, export
    def _roots(self, checkpoint: AuditHead | str | Path | None) -> TrustRoots:
        """Read the site key and the recorded heads kept outside the database."""
        from ._anchor import anchor_path, audit_key_path, read_audit_key, read_head_file

        key_path = audit_key_path()
        apath = anchor_path(self.url, self._anchor_name)
        anchor = None
        if apath is not None and apath.exists():
            anchor = read_head_file(apath)
        cp_path = ""
        if checkpoint is not None and not isinstance(checkpoint, AuditHead):
            cp_path = str(checkpoint)
            checkpoint = read_head_file(checkpoint)
        return TrustRoots(
            key=read_audit_key(key_path),
            key_path=str(key_path),
            anchor=anchor,
            anchor_path=None if apath is None else str(apath),
            checkpoint=checkpoint,
            checkpoint_path=cp_path or "(given)",
        )

    def _with_database_note(
        self, report: AuditReport, roots: TrustRoots
    ) -> AuditReport:
        cp = roots.checkpoint
        if cp is None or cp.database == self._database:
            return report
        note = (
            f"checkpoint {roots.checkpoint_path} was exported from {cp.database}, "
            f"not {self._database} (a moved file, or another database)"
        )
        return report.model_copy(update={"notes": (*report.notes, note)})

    def verify_audit(
        self, *, checkpoint: AuditHead | str | Path | None = None
    ) -> AuditReport:
        """Verify the audit trail end to end.

        Checks the chain (sequence, hashes, links, MACs under the site key), that
        each entry's old state is the previous entry's new state for its row,
        replays it against the tables, walks every delivery session's event chain
        against the count and head sealed in its audited row, and checks the chain
        against this database's head anchor and, if given, an exported checkpoint.

        Parameters
        ----------
        checkpoint : AuditHead | str | Path | None
            A head exported by :meth:`export_checkpoint` (or its file).

        Returns
        -------
        report : AuditReport
            ``ok`` and the list of problems (tampering, or checks that could not
            be made) found, with notes.

        Raises
        ------
        RegistryError
            If the checkpoint or anchor file cannot be read, or the key file is
            not a key.
        """
        roots = self._roots(checkpoint)
        with self._read() as s:
            report = verify_chain(s, _tables(), roots)
        return self._with_database_note(report, roots)

    def verify_records(self, refs: Sequence[tuple[str, int]]) -> AuditReport:
        """Verify named rows cheaply (no chain walk) before relying on them.

        For each (table, id): the row matches its last audited state; each of its
        audit entries hashes and MACs correctly and chains to the entry before it
        (fetched and checked too); each entry's old state is the previous entry's
        new state. A delivery session's events are checked against the head
        sealed in its row. The chain's head entry and the anchored head are
        checked. Meant to run before a session, on the screening, motor
        threshold, protocol assignment and delivery session rows it relies on.

        Parameters
        ----------
        refs : sequence of (str, int)
            Rows as (table name, row id), e.g. ``("screenings", 3)``.

        Returns
        -------
        report : AuditReport
            ``ok`` and the problems found; ``entries`` counts the entries checked.

        Raises
        ------
        RegistryError
            If a table is not an audited table or an id is not an integer.
        """
        roots = self._roots(None)
        with self._read() as s:
            return verify_rows(s, _tables(), refs, roots)

    def audit_head(self) -> AuditHead:
        """Return the chain's head entry (after checking its hash and MAC).

        Returns
        -------
        head : AuditHead
            Sequence number, hash and MAC of the newest entry, and the time now.

        Raises
        ------
        RegistryError
            If the chain is empty, or its head entry fails its hash or MAC check.
        """
        from sqlalchemy import select

        from ._audit import _Checker
        from .db._schema import AuditRow

        roots = self._roots(None)
        with self._read() as s:
            row = s.execute(
                select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)
            ).scalar_one_or_none()
            if row is None:
                raise RegistryError("The audit trail is empty: no head to export.")
            chk = _Checker(roots.key)
            chk.entry(row)
            if chk.problems:
                raise RegistryError(
                    "The audit head fails its own check: " + "; ".join(chk.problems)
                )
            return AuditHead(
                database=self._database,
                seq=int(row.seq),
                hash=str(row.hash),
                mac=row.mac,
                at=_now(),
            )

    def export_checkpoint(self, path: str | Path) -> AuditHead:
        """Write the chain's head to a checkpoint file (JSON, written atomically).

        Keep it where the database's writers cannot change it; verify against it
        with ``verify_audit(checkpoint=path)``.

        Parameters
        ----------
        path : str | Path
            The file to write.

        Returns
        -------
        head : AuditHead
            What was written.

        Raises
        ------
        RegistryError
            As :meth:`audit_head`.
        """
        from ._anchor import write_head_file

        head = self.audit_head()
        write_head_file(Path(path), head)
        return head

    def export_csv(self, directory: str | Path) -> list[Path]:
        """Write one CSV per table (audit log included) into ``directory``.

        Parameters
        ----------
        directory : str | Path
            Output folder (created).

        Returns
        -------
        paths : list of Path
            Files written.
        """
        from sqlalchemy import select

        from .db._schema import AuditRow

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tables = {**_tables(), "audit_log": AuditRow}
        written = []
        with self._read() as s:
            for name, model in tables.items():
                cols = [c.key for c in model.__table__.columns]
                path = out / f"{name}.csv"
                with path.open("w", newline="", encoding="utf-8") as fh:
                    w = csv.writer(fh)
                    w.writerow(cols)
                    order = model.seq if name == "audit_log" else model.id
                    for obj in s.execute(select(model).order_by(order)).scalars():
                        state = row_state(obj)
                        w.writerow([_cell(state[c]) for c in cols])
                written.append(path)
        return written

    def export_long(self, path: str | Path) -> Path:
        """Write a tidy long-format CSV of every score and item, for analysis.

        One row per patient, visit, scale and measure (``total``, ``subscale:<name>``
        or ``item:<id>``), with days since the first baseline visit.

        Parameters
        ----------
        path : str | Path
            Output file.

        Returns
        -------
        path : Path
            The file.
        """
        from sqlalchemy import func, select

        from .db._schema import AssessmentRow, PatientRow, VisitRow

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        cols = [
            "site",
            "patient",
            "visit_date",
            "visit_kind",
            "days_from_baseline",
            "scale",
            "measure",
            "value",
            "computed",
        ]
        q = (
            select(
                PatientRow.site,
                PatientRow.code,
                VisitRow.visit_date,
                VisitRow.kind,
                AssessmentRow,
            )
            .join(VisitRow, VisitRow.patient_id == PatientRow.id)
            .join(AssessmentRow, AssessmentRow.visit_id == VisitRow.id)
            .where(
                PatientRow.deleted_at.is_(None),
                VisitRow.deleted_at.is_(None),
                AssessmentRow.deleted_at.is_(None),
            )
            .order_by(
                PatientRow.site,
                PatientRow.code,
                VisitRow.visit_date,
                AssessmentRow.scale_id,
            )
        )
        base_q = (
            select(PatientRow.site, PatientRow.code, func.min(VisitRow.visit_date))
            .join(VisitRow, VisitRow.patient_id == PatientRow.id)
            .where(
                VisitRow.kind == VisitKind.BASELINE.value,
                VisitRow.deleted_at.is_(None),
            )
            .group_by(PatientRow.site, PatientRow.code)
        )
        with self._read() as s, p.open("w", newline="", encoding="utf-8") as fh:
            baseline: dict[tuple[str, str], dt.date] = {
                (site, code): d for site, code, d in s.execute(base_q)
            }
            w = csv.writer(fh)
            w.writerow(cols)
            for site, code, vdate, kind, a in s.execute(q).yield_per(2000):
                b = baseline.get((site, code))
                days = "" if b is None else (vdate - b).days
                common = [site, code, vdate.isoformat(), kind, days, a.scale_id]
                w.writerow([*common, "total", _cell(a.total), a.computed])
                for name, val in sorted(a.subscales.items()):
                    w.writerow([*common, f"subscale:{name}", _cell(val), a.computed])
                for item, val in sorted(a.items.items()):
                    w.writerow([*common, f"item:{item}", _cell(val), True])
        return p


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


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        from ._audit import canonical

        return canonical(value)
    return value


def _visit_out(row: Any) -> VisitOut:
    return VisitOut(
        id=row.id,
        patient_id=row.patient_id,
        visit_date=row.visit_date,
        kind=VisitKind(row.kind),
        note=row.note,
        deleted=row.deleted_at is not None,
    )


def _assessment_out(row: Any, visit: Any) -> AssessmentOut:
    return AssessmentOut(
        id=row.id,
        visit_id=row.visit_id,
        visit_date=visit.visit_date,
        visit_kind=VisitKind(visit.kind),
        scale_id=row.scale_id,
        items=row.items,
        total=row.total,
        subscales=row.subscales,
        band=row.band,
        computed=row.computed,
        reason=row.reason,
        deleted=row.deleted_at is not None,
    )


def _score(scale_id: str, items: Mapping[str, float | int | None]) -> dict[str, Any]:
    """Score with plptms.scales; the stored result holds raw items and scores."""
    from ..scales import score

    res = score(scale_id, items)
    return {
        "items": {str(k): v for k, v in items.items()},
        "total": res.total,
        "subscales": dict(res.subscales),
        "band": res.band,
        "computed": res.computed,
        "reason": res.reason,
    }


def _validate_history(
    history: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dt.date | None]:
    """Validate a PLP history; return it as JSON data and its amputation date."""
    if history is None:
        return {}, None
    from pydantic import ValidationError

    from ..protocol import problems_message
    from ..scales import PLPHistory

    try:
        model = PLPHistory.model_validate(dict(history))
    except ValidationError as exc:
        raise RegistryError(problems_message("Invalid PLP history:", exc)) from None
    data = model.model_dump(mode="json")
    return data, model.amputation_date


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
