"""Rows of new visits and assessments, planned and checked for a write.

Shared by :meth:`AssessmentStore.store_assessment` and
:meth:`AssessmentStore.store_assessments`, which insert them with Core
statements (:mod:`plptms.registry._bulk`): the values here are those the ORM
would insert, so the audited states are the same.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ._models import DuplicateRecordError, RegistryError
from ._store import _chunks

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from sqlalchemy import Row, Select
    from sqlalchemy.engine import Connection

    from ._models import VisitIn

__all__ = ["find_visit", "plan_assessments"]


@functools.cache
def _find_visit_stmt() -> Select[Any]:
    """Return the one lookup of :func:`find_visit` (built once, compiled once)."""
    from sqlalchemy import Date, bindparam, select
    from sqlalchemy import true as sa_true

    from .db._schema import AssessmentRow, AuditRow, PatientRow, VisitRow

    P, V, A = PatientRow.__table__, VisitRow.__table__, AssessmentRow.__table__
    L = AuditRow.__table__
    head = select(L.c.seq, L.c.hash).order_by(L.c.seq.desc()).limit(1).subquery()
    taken = (
        select(A.c.id)
        .where(
            A.c.visit_id == V.c.id,
            A.c.scale_id == bindparam("scale_id"),
            A.c.deleted_at.is_(None),
        )
        .order_by(A.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            P.c.id.label("patient_id"),
            P.c.amputation_date,
            P.c.deleted_at,
            V.c.id.label("visit_id"),
            taken.label("taken"),
            head.c.seq.label("head_seq"),
            head.c.hash.label("head_hash"),
        )
        .select_from(P)
        .outerjoin(
            V,
            (V.c.patient_id == P.c.id)
            & (V.c.visit_date == bindparam("visit_date", type_=Date))
            & (V.c.kind == bindparam("kind"))
            & V.c.deleted_at.is_(None),
        )
        .outerjoin(head, sa_true())
        .where(P.c.site == bindparam("site"), P.c.code == bindparam("code"))
    )


def find_visit(
    conn: Connection, site: str, code: str, visit: VisitIn, scale_id: str
) -> Row[Any] | None:
    """Look up a patient, its visit, the scale there and the chain head, at once.

    One statement instead of two for a single write: the audit chain's head
    (``head_seq``, ``head_hash``; ``None`` for an empty chain) is read with the
    patient, under the write lock held by the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The write transaction's connection.
    site, code : str
        The patient.
    visit : VisitIn
        The visit (by date and kind; not deleted).
    scale_id : str
        The scale.

    Returns
    -------
    found : sqlalchemy.Row | None
        ``None`` when there is no such patient; else ``patient_id``,
        ``amputation_date``, ``deleted_at`` (of the patient), ``visit_id``
        (``None``: no such visit) and ``taken`` (the id of an assessment of
        that scale at the visit, or ``None``), ``head_seq`` and ``head_hash``
        (the last audit entry's; ``None`` when there is none).
    """
    params = {
        "site": site,
        "code": code,
        "visit_date": visit.visit_date,
        "kind": visit.kind.value,
        "scale_id": scale_id,
    }
    return conn.execute(_find_visit_stmt(), params).first()


def _check_after_amputation(
    amputation: dt.date | None, visit: VisitIn, field: str
) -> None:
    if amputation is not None and visit.visit_date < amputation:
        raise RegistryError(
            f"Invalid value for {field!r}: got {visit.visit_date.isoformat()}; "
            f"allowed: on or after the amputation date ({amputation.isoformat()})."
        )


def _visit_values(patient_id: int, visit: VisitIn, at: dt.datetime) -> dict[str, Any]:
    """Return the columns of a new visit row (as the ORM would insert them)."""
    return {
        "patient_id": patient_id,
        "visit_date": visit.visit_date,
        "kind": visit.kind.value,
        "note": visit.note,
        "created_at": at,
        "deleted_at": None,
        "deleted_reason": None,
    }


def _assessment_values(
    visit_id: int, scale_id: str, result: dict[str, Any], at: dt.datetime
) -> dict[str, Any]:
    """Return the columns of a new assessment row (as the ORM would insert them)."""
    return {
        "visit_id": visit_id,
        "scale_id": scale_id,
        "created_at": at,
        "scored_with": __version__,
        "deleted_at": None,
        "deleted_reason": None,
        **result,
    }


def plan_assessments(
    conn: Connection,
    prepared: Sequence[tuple[str, str, VisitIn, str, dict[str, Any]]],
    at: dt.datetime,
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str, dict[str, Any]]]]:
    """Check a batch against the registry and plan its new visits and assessments.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The write transaction's connection.
    prepared : sequence of (site, code, visit, scale_id, columns)
        The records, scored.
    at : datetime.datetime
        When.

    Returns
    -------
    new_visits : list of dict
        The visits to insert (their ``id`` set once inserted).
    plan : list of (visit, scale_id, columns)
        Per record, its visit (an existing one as ``{"id": ...}``).

    Raises
    ------
    RegistryError
        If a record names an unknown patient, a visit before the amputation,
        or a scale already recorded at that visit (or twice in the batch).
    """
    from sqlalchemy import select

    from .db._schema import AssessmentRow, PatientRow, VisitRow

    P, V, A = PatientRow.__table__, VisitRow.__table__, AssessmentRow.__table__
    keys = sorted({(r[0], r[1]) for r in prepared})
    patients: dict[tuple[str, str], Any] = {}
    for chunk in _chunks(keys, 500):
        wanted = set(chunk)
        for prow in conn.execute(
            select(P.c.id, P.c.site, P.c.code, P.c.amputation_date).where(
                P.c.site.in_({k[0] for k in chunk}),
                P.c.code.in_({k[1] for k in chunk}),
                P.c.deleted_at.is_(None),
            )
        ):
            if (prow.site, prow.code) in wanted:
                patients[(prow.site, prow.code)] = prow
    pids = [p.id for p in patients.values()]
    visits: dict[tuple[int, dt.date, str], dict[str, Any]] = {}
    taken: set[tuple[int, str]] = set()
    for chunk in _chunks(pids, 500):
        for vid, pid, vdate, kind in conn.execute(
            select(V.c.id, V.c.patient_id, V.c.visit_date, V.c.kind).where(
                V.c.patient_id.in_(chunk), V.c.deleted_at.is_(None)
            )
        ):
            visits[(pid, vdate, kind)] = {"id": vid}
        for vid, sid in conn.execute(
            select(A.c.visit_id, A.c.scale_id)
            .join(V, A.c.visit_id == V.c.id)
            .where(V.c.patient_id.in_(chunk), A.c.deleted_at.is_(None))
        ):
            taken.add((vid, sid))
    new_visits: list[dict[str, Any]] = []
    plan: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
    seen: set[tuple[tuple[int, dt.date, str], str]] = set()
    for k, (site, code, visit, scale_id, result) in enumerate(prepared):
        p = patients.get((site, code))
        if p is None:
            raise RegistryError(
                f"Invalid value for 'records[{k}]': no such patient "
                f"{site}/{code} (or deleted)."
            )
        _check_after_amputation(p.amputation_date, visit, f"records[{k}].visit_date")
        vkey = (p.id, visit.visit_date, visit.kind.value)
        v = visits.get(vkey)
        if v is None:
            v = visits[vkey] = _visit_values(p.id, visit, at)
            new_visits.append(v)
        elif (v.get("id"), scale_id) in taken:
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
    return new_visits, plan
