"""Registry aggregate: assessments, stored as scored elsewhere.

The registry never scores. It stores a :class:`plptms.scales.ScoredRecord` (made
by :func:`plptms.scales.score_record`; the use cases in :mod:`plptms.workflow`
score and then store), with the version of plptms that stored it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .._version import __version__
from ..utils import gc_paused
from ._assessment_rows import (
    _assessment_values,
    _check_after_amputation,
    _visit_values,
    find_visit,
    plan_assessments,
)
from ._audit import row_state
from ._bulk import CoreChain, insert_rows
from ._models import (
    AssessmentOut,
    DuplicateRecordError,
    RecordNotFoundError,
    RegistryError,
    VisitIn,
    VisitKind,
)
from ._patients import patient_row
from ._store import (
    _check_actor,
    _check_reason,
    _now,
    audit,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from ..scales import ResponseResult, ScoredRecord

__all__ = ["AssessmentStore"]


def _scored(scored: ScoredRecord, field: str = "scored") -> dict[str, Any]:
    """Return the stored columns of a scored record (refusing anything else)."""
    from ..scales import ScoredRecord

    if not isinstance(scored, ScoredRecord):
        raise RegistryError(
            f"Invalid value for {field!r}: got {type(scored).__name__}; allowed: "
            "plptms.scales.ScoredRecord (see plptms.scales.score_record)."
        )
    return {
        "items": dict(scored.items),
        "total": scored.total,
        "subscales": dict(scored.subscales),
        "band": scored.band,
        "computed": scored.computed,
        "reason": scored.reason,
    }


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


def _assessment_row(s: Session, assessment_id: int) -> tuple[Any, Any]:
    from .db._schema import AssessmentRow, VisitRow

    row = s.get(AssessmentRow, assessment_id)
    if row is None or row.deleted_at is not None:
        raise RecordNotFoundError(
            f"Invalid value for 'assessment_id': got {assessment_id!r}; no such "
            "assessment (or deleted)."
        )
    return row, s.get(VisitRow, row.visit_id)


#: The columns of an assessment row that :class:`AssessmentOut` shows.
_OUT_COLUMNS = (
    "id",
    "visit_id",
    "scale_id",
    "items",
    "total",
    "subscales",
    "band",
    "computed",
    "reason",
)


class AssessmentStore:
    """Registry methods for scored assessments (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def store_assessment(
        self,
        site: str,
        code: str,
        visit: VisitIn,
        scored: ScoredRecord,
        *,
        actor: str,
    ) -> AssessmentOut:
        """Store a scored assessment, creating the visit if it is new.

        Parameters
        ----------
        site, code : str
            The patient.
        visit : VisitIn
            The visit (matched by date and kind, or created).
        scored : plptms.scales.ScoredRecord
            The administration with its scores (:func:`plptms.scales.score_record`).
        actor : str
            Who records it.

        Returns
        -------
        assessment : AssessmentOut
            The stored assessment.

        Raises
        ------
        RegistryError
            If the visit is before the amputation, or the same scale is already
            recorded at that visit (:class:`DuplicateRecordError`; correct it
            instead). Nothing is stored.
        """
        from .db._schema import AssessmentRow, VisitRow

        actor = _check_actor(actor)
        result = _scored(scored)
        scale_id = scored.scale_id
        at = _now()
        V, A = cast("Table", VisitRow.__table__), cast("Table", AssessmentRow.__table__)
        with self._write() as s:
            conn = s.connection()
            found = find_visit(conn, site, code, visit, scale_id)
            if found is None or found.deleted_at is not None:
                raise RecordNotFoundError(
                    f"Invalid value for 'code': got {site}/{code}; no such patient "
                    "(or deleted)."
                )
            chain = CoreChain(s, head=(found.head_seq, found.head_hash))
            vid = found.visit_id
            if vid is None:
                _check_after_amputation(found.amputation_date, visit, "visit_date")
                v = _visit_values(found.patient_id, visit, at)
                v["id"] = vid = insert_rows(conn, V, [v])[0]
                chain.inserts(actor, V, [v], at)
            elif found.taken is not None:
                raise DuplicateRecordError(
                    f"Invalid value for 'scale_id': got {scale_id!r}; already "
                    f"recorded at the {visit.kind.value} visit of "
                    f"{visit.visit_date.isoformat()} (assessment {found.taken}): "
                    "correct it instead."
                )
            row = _assessment_values(vid, scale_id, result, at)
            row["id"] = insert_rows(conn, A, [row])[0]
            chain.inserts(actor, A, [row], at)
            chain.flush()
        return AssessmentOut(
            visit_date=visit.visit_date,
            visit_kind=visit.kind,
            deleted=False,
            **{k: row[k] for k in _OUT_COLUMNS},
        )

    def store_assessments(
        self,
        records: Sequence[tuple[str, str, VisitIn, ScoredRecord]],
        *,
        actor: str,
    ) -> int:
        """Store many scored assessments in one all-or-nothing transaction.

        For imports from another system. Every record is checked before anything
        is written; every visit and assessment created is audited as with
        :meth:`store_assessment`. The rows and audit entries are written with
        batched Core inserts (:mod:`plptms.registry._bulk`): the same rows and
        entries, byte for byte, as one ORM insert each would write.

        Parameters
        ----------
        records : sequence of (site, code, visit, scored)
            The assessments, each scored (:func:`plptms.scales.score_record`).
        actor : str
            Who imports them.

        Returns
        -------
        n : int
            Assessments stored.

        Raises
        ------
        RegistryError
            If any record is invalid (its index is named); nothing is stored.
        """
        actor = _check_actor(actor)
        with gc_paused():  # a bounded batch: see plptms.utils.gc_paused
            return self._store_assessments(records, actor)

    def _store_assessments(
        self, records: Sequence[tuple[str, str, VisitIn, ScoredRecord]], actor: str
    ) -> int:
        from .db._schema import AssessmentRow, VisitRow

        prepared = []
        for k, (site, code, visit, sc) in enumerate(records):
            columns = _scored(sc, f"records[{k}]")  # refuses what is not scored
            prepared.append((site, code, visit, sc.scale_id, columns))
        at = _now()
        V, A = cast("Table", VisitRow.__table__), cast("Table", AssessmentRow.__table__)
        with self._write() as s:
            chain = CoreChain(s)
            new_visits, plan = plan_assessments(chain.conn, prepared, at)
            for v, vid in zip(
                new_visits, insert_rows(chain.conn, V, new_visits), strict=True
            ):
                v["id"] = vid
            rows = [
                _assessment_values(v["id"], scale_id, result, at)
                for v, scale_id, result in plan
            ]
            for row, aid in zip(rows, insert_rows(chain.conn, A, rows), strict=True):
                row["id"] = aid
            chain.inserts(actor, V, new_visits, at)
            chain.inserts(actor, A, rows, at)
            chain.flush()
        return len(prepared)

    def store_correction(
        self,
        assessment_id: int,
        scored: ScoredRecord,
        *,
        actor: str,
        reason: str,
    ) -> AssessmentOut:
        """Replace an assessment's items and scores; the old ones stay in the audit.

        Parameters
        ----------
        assessment_id : int
            The assessment.
        scored : plptms.scales.ScoredRecord
            The corrected administration (all items), scored with the same scale.
        actor : str
            Who corrects.
        reason : str
            Why.

        Returns
        -------
        assessment : AssessmentOut
            The corrected assessment.

        Raises
        ------
        RegistryError
            If the assessment does not exist (:class:`RecordNotFoundError`), or
            ``scored`` is of another scale.
        """
        actor = _check_actor(actor)
        reason = _check_reason(reason, "correct an assessment")
        result = _scored(scored)
        at = _now()
        with self._write() as s:
            row, v = _assessment_row(s, assessment_id)
            if scored.scale_id != row.scale_id:
                raise RegistryError(
                    f"Invalid value for 'scored.scale_id': got {scored.scale_id!r}; "
                    f"allowed: {row.scale_id!r}, the scale of assessment "
                    f"{assessment_id}."
                )
            old = row_state(row)
            for key, value in result.items():
                setattr(row, key, value)
            row.scored_with = __version__
            audit(s, actor, "correct", "assessments", row, old, reason, at)
            return _assessment_out(row, v)

    def get_assessment(self, assessment_id: int) -> AssessmentOut:
        """Return an assessment (not deleted).

        Parameters
        ----------
        assessment_id : int
            The assessment.

        Returns
        -------
        assessment : AssessmentOut
            The assessment with its scores.

        Raises
        ------
        RecordNotFoundError
            If there is no such assessment (or it was deleted).
        """
        with self._read() as s:
            return _assessment_out(*_assessment_row(s, assessment_id))

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
            row, _ = _assessment_row(s, assessment_id)
            old = row_state(row)
            row.deleted_at = at
            row.deleted_reason = reason
            audit(s, actor, "delete", "assessments", row, old, reason, at)

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
            p = patient_row(s, site, code)
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
