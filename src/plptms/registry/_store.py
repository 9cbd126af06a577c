"""The registry's shared base: engine, audited transactions, common checks.

Every aggregate (patients, assessments, clinical records, delivery, biomarkers,
export, audit) is a mixin of :class:`plptms.registry.Registry` that writes through
the one helper here: :meth:`RegistryStore._write` opens a serialised transaction
that carries the site key, the aggregate records its audit entries in it with
:func:`audit` (one row) or :func:`audit_inserts` (many), and the new chain head is
anchored after the commit. Reads go through :meth:`RegistryStore._read`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pydantic import BaseModel

from ._anchor import AuditHead
from ._audit import HEAD_INFO, KEY_INFO, AuditChain, append_audit, row_state
from ._models import RegistryError

#: The PostgreSQL role a site-scoped transaction runs as: the row-level security
#: policies bind it (a superuser login would bypass them).
SITE_ROLE = "plptms_site_user"

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence

    from sqlalchemy.orm import Session

__all__ = ["RegistryStore", "audit", "audit_inserts", "rows_out"]

_Out = TypeVar("_Out", bound=BaseModel)

logger = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as an aware UTC datetime (SQLite returns naive ones)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _tables() -> dict[str, Any]:
    """Return the audited tables by name (replayed by the audit, exported)."""
    from .db._schema import (
        AdverseEventReviewRow,
        AdverseEventRow,
        ApiTokenRow,
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
        TrialBlindingGuessRow,
        TrialCoInterventionRow,
        TrialEnrolmentRow,
        TrialMedicationChangeRow,
        TrialRow,
        TrialScreeningOutcomeRow,
        TrialUnblindingRow,
        TrialVersionRow,
        TrialVisitRow,
        TrialWithdrawalRow,
        UserRow,
        UserSiteRow,
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
        "trials": TrialRow,
        "trial_versions": TrialVersionRow,
        "trial_enrolments": TrialEnrolmentRow,
        "trial_unblindings": TrialUnblindingRow,
        "trial_visits": TrialVisitRow,
        "trial_withdrawals": TrialWithdrawalRow,
        "trial_cointerventions": TrialCoInterventionRow,
        "trial_medication_changes": TrialMedicationChangeRow,
        "trial_blinding_guesses": TrialBlindingGuessRow,
        "trial_screening_outcomes": TrialScreeningOutcomeRow,
        # accounts: the password hashes (user_credentials) and the sign-in
        # throttle (login_throttle) are neither audited nor exported
        "users": UserRow,
        "user_sites": UserSiteRow,
        "api_tokens": ApiTokenRow,
    }


def audit(
    s: Session,
    actor: str,
    action: str,
    table: str,
    row: Any,
    old: dict[str, Any] | None,
    reason: str | None,
    at: dt.datetime,
) -> None:
    """Append the audit entry of one changed row (inside :meth:`_write`).

    Parameters
    ----------
    s : sqlalchemy.orm.Session
        The write transaction's session.
    actor, action, table : str
        Who, ``insert``/``correct``/``delete`` (or another audited action) and
        the table.
    row : object
        The row as it is now (flushed to get its id).
    old : dict | None
        Its state before the change (``None`` for an insert).
    reason : str | None
        Why (required for corrections and deletions by the callers).
    at : datetime.datetime
        When.
    """
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


def audit_inserts(
    s: Session, actor: str, table: str, rows: Sequence[Any], at: dt.datetime
) -> None:
    """Append the insert entries of many new rows, one chain read (bulk writes).

    Parameters
    ----------
    s : sqlalchemy.orm.Session
        The write transaction's session.
    actor, table : str
        Who and the table.
    rows : sequence
        The new rows (flushed: they have ids).
    at : datetime.datetime
        When.
    """
    chain = AuditChain(s)
    for row in rows:
        chain.append(
            actor=actor,
            action="insert",
            table=table,
            row_id=row.id,
            old=None,
            new=row_state(row),
            reason=None,
            at=at,
        )
    s.flush()


def rows_out(
    s: Session, out: type[_Out], model: Any, *where: Any, order_by: Any
) -> list[_Out]:
    """Select ``model`` rows matching ``where``, ordered, as ``out`` models."""
    from sqlalchemy import select

    rows = s.execute(select(model).where(*where).order_by(*order_by)).scalars()
    return [out.model_validate(r, from_attributes=True) for r in rows]


class RegistryStore:
    """Engine, transactions and audit anchoring shared by the registry's parts.

    Parameters
    ----------
    url : str | None
        SQLAlchemy URL; ``$PLPTMS_DB_URL`` or the default SQLite file when ``None``.
    migrate : bool
        Upgrade the schema to the newest revision on open.
    create : bool
        Create the registry when there is none at the URL.
    """

    def __init__(
        self, url: str | None = None, *, migrate: bool = True, create: bool = True
    ) -> None:
        from ._anchor import anchor_name, database_id
        from ._anchor_sync import anchor_sync_mode
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
        self._anchor_sync = anchor_sync_mode()  # refuses a bad setting up front
        self._key: bytes | None = None
        if migrate:
            from .db._migrate import upgrade

            upgrade(self.engine)

    #: The sites a scoped view may see (``None``: every site); see :meth:`scoped`.
    _sites: frozenset[str] | None = None

    def scoped(self, sites: Collection[str]) -> Self:
        """Return a view of this registry that sees only ``sites`` (PostgreSQL).

        The view shares the engine. On PostgreSQL each of its transactions
        switches to the role ``plptms_site_user`` and sets ``plptms.sites``,
        so the row-level security policies (migration 0014) hide every record
        of another site, a second wall behind the application layer's checks.
        On SQLite, which has no row-level security, the view behaves as the
        registry itself. Close the registry, not the view.

        Parameters
        ----------
        sites : collection of str
            The site codes (empty: no site at all).

        Returns
        -------
        view : Registry
            The scoped view.
        """
        import copy

        bad = [x for x in sites if not isinstance(x, str) or "," in x or not x]
        if bad:
            raise RegistryError(
                f"Invalid value for 'sites': got {bad!r}; allowed: site codes "
                "(non-empty, without commas)."
            )
        view = copy.copy(self)
        view._sites = frozenset(sites)
        return view

    def _scope(self, s: Session) -> None:
        """Apply the view's site set to this transaction (PostgreSQL only)."""
        if self._sites is None or self.engine.dialect.name != "postgresql":
            return
        from sqlalchemy import text

        s.execute(text(f"SET LOCAL ROLE {SITE_ROLE}"))
        value = ",".join(sorted(self._sites)) or "-"
        s.execute(text("SELECT set_config('plptms.sites', :v, true)"), {"v": value})

    def close(self) -> None:
        """Release the database connections (after syncing the head anchor)."""
        from ._anchor_sync import flush_anchor_syncs

        flush_anchor_syncs()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One serialised write transaction carrying the site key.

        Audit entries appended in it (:func:`audit`, :func:`audit_inserts`)
        commit or roll back with the change; the new chain head is anchored
        after the commit.
        """
        from sqlalchemy.orm import Session

        from .db._engine import write_lock

        with Session(self.engine, expire_on_commit=False) as s:
            with s.begin():
                write_lock(s)
                s.info[KEY_INFO] = self._write_key(s)
                self._scope(s)
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
        from ._anchor import anchor_path
        from ._anchor_sync import write_anchor

        path = anchor_path(self.url, self._anchor_name)
        if path is None:
            return
        head = AuditHead(
            database=self._database, seq=seq, hash=digest, mac=tag, at=_now()
        )
        try:
            write_anchor(path, head, sync=self._anchor_sync)
        except OSError as exc:
            logger.error(
                "Could not write the audit head anchor %s (%s): truncation of the "
                "newest entries will not be detected until it is written.",
                path,
                exc,
            )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """One read-only transaction, reading one snapshot.

        SQLite's read transaction is a snapshot already; PostgreSQL's default
        (READ COMMITTED) lets each statement see newer commits, so a read of
        several tables could mix states (e.g. enrolments committed between two
        queries): reads run REPEATABLE READ there (a read-only transaction never
        fails for it).
        """
        from sqlalchemy.orm import Session

        options: dict[str, object] = {"plptms_readonly": True}
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        bind = self.engine.execution_options(**options)
        with Session(bind) as s, s.begin():
            self._scope(s)
            yield s
