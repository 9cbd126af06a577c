"""A site's safety policy and its physicians' readings of the train table.

The safety engine ships the train-duration table (Wassermann, 1998, Table 4, as
reproduced in Rossi et al., 2009) with most cells not yet verified against the
paper. A physician who has the paper reads a cell, or the whole table, and records
the value read here: who, when, from which source. From then on the site's verdicts
use it (:meth:`SiteSafetyStore.site_policy`): a stricter reading is used, a looser
one sends the rule to physician review (the engine decides; see
:class:`plptms.safety.CellReading`). A site may also adopt a train-duration margin
(e.g. the 25 % cut that Chen et al., 1997 advised) as an explicit, recorded policy.
Every write is audited like clinical data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..utils import clinic_today, utc_now
from ._audit import row_state
from ._models import RegistryError, check_code
from ._store import audit

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Iterator
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from ..safety import CellReading, SafetyPolicy

__all__ = ["SiteSafetyStore"]


class SiteSafetyStore:
    """Registry methods for site safety policies (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

        def site_timezone(self, site: str) -> str | None: ...

    def record_cell_readings(
        self, site: str, readings: Iterable[CellReading], *, actor: str
    ) -> list[int]:
        """Record physicians' readings of train-table cells for a site.

        All readings are stored in one transaction: a bad one stores nothing. A
        new reading of a cell supersedes the site's earlier reading of it.

        Parameters
        ----------
        site : str
            Site code.
        readings : iterable of plptms.safety.CellReading
            The readings (validated: each names a cell of the table, the value
            read, the physician and the date read).
        actor : str
            Who records them.

        Returns
        -------
        ids : list of int
            Row ids, in input order.

        Raises
        ------
        RegistryError
            On a bad site, actor, an empty list, a reading dated in the future or
            two readings of one cell.
        """
        from sqlalchemy import select

        from ..safety import CellReading
        from ._store import _check_actor
        from .db._schema import SafetyCellReadingRow

        check_code(site, "site")
        actor = _check_actor(actor)
        items = list(readings)
        if not items:
            raise RegistryError(
                "Invalid value for 'readings': got none; allowed: at least one "
                "reading of a table cell."
            )
        seen: set[tuple[float, float]] = set()
        for r in items:
            if not isinstance(r, CellReading):
                raise RegistryError(
                    f"Invalid value for 'readings': got {type(r).__name__}; allowed: "
                    "plptms.safety.CellReading."
                )
            cell = (r.frequency_hz, r.intensity_pct_mt)
            if cell in seen:
                raise RegistryError(
                    f"Invalid value for 'readings': cell {r.frequency_hz:g} Hz x "
                    f"{r.intensity_pct_mt:g} % MT is read twice; allowed: one "
                    "reading per cell."
                )
            seen.add(cell)
        at = utc_now()
        today = clinic_today(at, tz=self.site_timezone(site))
        for r in items:
            if r.read_on > today:
                raise RegistryError(
                    f"Invalid value for 'read_on': got {r.read_on.isoformat()}; "
                    "allowed: today or earlier."
                )
        ids: list[int] = []
        with self._write() as s:
            for r in items:
                older = s.execute(
                    select(SafetyCellReadingRow).where(
                        SafetyCellReadingRow.site == site,
                        SafetyCellReadingRow.frequency_hz == r.frequency_hz,
                        SafetyCellReadingRow.intensity_pct_mt == r.intensity_pct_mt,
                        SafetyCellReadingRow.deleted_at.is_(None),
                    )
                ).scalars()
                for old_row in older:
                    self._supersede(
                        s, old_row, "safety_cell_readings", "reading", actor, at
                    )
                row = SafetyCellReadingRow(
                    site=site,
                    frequency_hz=r.frequency_hz,
                    intensity_pct_mt=r.intensity_pct_mt,
                    value_s=r.value_s,
                    lower_bound=r.lower_bound,
                    physician=r.physician,
                    read_on=r.read_on,
                    source=r.source,
                    created_at=at,
                )
                s.add(row)
                audit(s, actor, "insert", "safety_cell_readings", row, None, None, at)
                ids.append(int(row.id))
        return ids

    def cell_readings(self, site: str) -> tuple[CellReading, ...]:
        """Return the site's readings in force (newest per cell), table order.

        Parameters
        ----------
        site : str
            Site code.

        Returns
        -------
        readings : tuple of plptms.safety.CellReading
            One per cell read.
        """
        check_code(site, "site")
        with self._read() as s:
            return self._readings(s, site)

    @staticmethod
    def _readings(s: Session, site: str) -> tuple[CellReading, ...]:
        from sqlalchemy import select

        from ..safety import CellReading
        from .db._schema import SafetyCellReadingRow

        rows = s.execute(
            select(SafetyCellReadingRow)
            .where(
                SafetyCellReadingRow.site == site,
                SafetyCellReadingRow.deleted_at.is_(None),
            )
            .order_by(
                SafetyCellReadingRow.frequency_hz,
                SafetyCellReadingRow.intensity_pct_mt,
                SafetyCellReadingRow.id,
            )
        ).scalars()
        latest: dict[tuple[float, float], CellReading] = {}
        for row in rows:
            latest[(row.frequency_hz, row.intensity_pct_mt)] = CellReading(
                frequency_hz=row.frequency_hz,
                intensity_pct_mt=row.intensity_pct_mt,
                value_s=row.value_s,
                lower_bound=row.lower_bound,
                physician=row.physician,
                read_on=row.read_on,
                source=row.source,
            )
        return tuple(latest[k] for k in sorted(latest))

    def set_site_policy(
        self,
        site: str,
        *,
        name: str,
        train_duration_margin: float,
        margin_reason: str,
        actor: str,
    ) -> int:
        """Record the site's safety policy (it supersedes the previous one).

        Parameters
        ----------
        site : str
            Site code.
        name : str
            Policy name, shown on every verdict.
        train_duration_margin : float
            Factor in (0, 1] on every train-duration limit.
        margin_reason : str
            Why (required when the margin is not 1).
        actor : str
            Who records it.

        Returns
        -------
        id : int
            Row id.

        Raises
        ------
        RegistryError
            If the policy is invalid (the engine's own checks, with the field).
        """
        from pydantic import ValidationError

        from ..protocol import format_validation_error
        from ..safety import SafetyPolicy
        from ._store import _check_actor
        from .db._schema import SiteSafetyPolicyRow

        check_code(site, "site")
        actor = _check_actor(actor)
        try:
            pol = SafetyPolicy(
                name=name,
                train_duration_margin=train_duration_margin,
                margin_reason=margin_reason,
            )
        except ValidationError as exc:
            raise RegistryError(format_validation_error(exc)) from None
        at = utc_now()
        with self._write() as s:
            for old_row in self._policy_rows(s, site):
                self._supersede(s, old_row, "site_safety_policies", "policy", actor, at)
            row = SiteSafetyPolicyRow(
                site=site,
                name=pol.name,
                train_duration_margin=pol.train_duration_margin,
                margin_reason=pol.margin_reason,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "site_safety_policies", row, None, None, at)
            return int(row.id)

    def _supersede(
        self,
        s: Session,
        row: Any,
        table: str,
        what: str,
        actor: str,
        at: dt.datetime,
    ) -> None:
        """Soft-delete ``row`` as superseded by a newer ``what`` (audited)."""
        before = row_state(row)
        reason = f"superseded by a newer {what}"
        row.deleted_at = at
        row.deleted_reason = reason
        audit(s, actor, "delete", table, row, before, reason, at)

    @staticmethod
    def _policy_rows(s: Session, site: str) -> Iterator[Any]:
        from sqlalchemy import select

        from .db._schema import SiteSafetyPolicyRow

        yield from s.execute(
            select(SiteSafetyPolicyRow)
            .where(
                SiteSafetyPolicyRow.site == site,
                SiteSafetyPolicyRow.deleted_at.is_(None),
            )
            .order_by(SiteSafetyPolicyRow.id)
        ).scalars()

    def site_policy(self, site: str) -> SafetyPolicy:
        """Return the safety policy in force at a site, with its cell readings.

        Without a recorded policy the site uses the default (train limits as
        tabulated, no margin) with whatever cells its physicians have read.

        Parameters
        ----------
        site : str
            Site code.

        Returns
        -------
        policy : plptms.safety.SafetyPolicy
            The policy to check protocols with at this site.
        """
        from ..safety import SafetyPolicy

        check_code(site, "site")
        with self._read() as s:
            readings = self._readings(s, site)
            rows = list(self._policy_rows(s, site))
            if not rows:
                return SafetyPolicy(cell_readings=readings)
            row = rows[-1]
            return SafetyPolicy(
                name=row.name,
                train_duration_margin=row.train_duration_margin,
                margin_reason=row.margin_reason,
                cell_readings=readings,
            )
