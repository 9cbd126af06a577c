"""Registry aggregate: EEG biomarkers of sessions (closed loop or resting)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._models import BiomarkerOut, RecordNotFoundError, RegistryError
from ._patients import patient_row
from ._store import _check_actor, _now, audit, rows_out

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["BiomarkerStore"]


class BiomarkerStore:
    """Registry methods for session biomarkers (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

        # provided by SiteStore (the site's calendar date)
        def _site_day(self, site: str, at: dt.datetime | None = None) -> dt.date: ...

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
            p = patient_row(s, site, code)
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
            audit(s, actor, "insert", "session_biomarkers", row, None, None, at)
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
            p = patient_row(s, site, code)
            return rows_out(
                s, BiomarkerOut, B, B.patient_id == p.id, order_by=(B.measured_on, B.id)
            )
