"""Registry aggregate: exports (one CSV per table; a long CSV for analysis)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._audit import row_state
from ._models import VisitKind
from ._store import _tables

if TYPE_CHECKING:
    import datetime as dt
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["ExportStore"]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        from ._audit import canonical

        return canonical(value)
    return value


class ExportStore:
    """Registry methods that export the tables (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _read(self) -> AbstractContextManager[Session]: ...

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
