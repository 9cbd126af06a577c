"""Analysis datasets: a trial's collected records as long and patient-level tables.

The application layer maps the registry's records onto two plain, typed inputs,
:class:`AnalysisPatient` (one per randomised patient) and :class:`AnalysisScore`
(one per scale score at a visit); :func:`build_dataset` checks them against the
:class:`~plptms.trial.TrialDefinition` and returns an :class:`AnalysisDataset`:

- a long table, one row per patient x scale x post-baseline visit where the scale
  is collected (a visit without a score is a row with a missing value), with the
  patient's arm, its stimulation condition and co-intervention levels, the
  scale's baseline value, the value, the change from baseline and whether the
  score was taken inside the visit window;
- a patient-level table: arm, site, factors, baseline characteristics
  (covariates), sessions, withdrawal and the analysis sets.

Out-of-window scores are kept (intention to treat) and flagged; the per-protocol
analysis of :func:`plptms.trial.analyse_trial` leaves them out. The analysis sets
are those of :func:`plptms.trial.analysis_sets`. Rows are in a deterministic
order: patients by id, then scales in the order the definition first collects
them after baseline, then visits in schedule order.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_range, check_type, soft_import
from ._analysis import analysis_sets
from ._dataset_inputs import AnalysisPatient, AnalysisScore
from ._definition import TrialDefinition

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = [
    "AnalysisDataset",
    "AnalysisPatient",
    "AnalysisScore",
    "DatasetRow",
    "PatientRow",
    "build_dataset",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
AnalysisSetName = Literal["itt", "pp"]
TableName = Literal["long", "patients"]

#: Fixed columns of the long table, before and after the co-intervention columns.
_LONG_HEAD = ("patient", "site", "arm", "stimulation")
_LONG_TAIL = (
    "visit", "day", "study_day", "scale_id", "baseline", "value", "change",
    "in_window", "itt", "pp",
)  # fmt: skip
#: Fixed columns of the patient-level table, before the covariates.
_PATIENT_TAIL = (
    "randomised_on", "withdrawn_on", "sessions_planned", "sessions_received",
    "major_deviation", "itt", "pp", "pp_exclusion",
)  # fmt: skip
_TYPES: dict[str, str] = {
    "patient": "str", "site": "str", "arm": "str", "stimulation": "str",
    "visit": "str", "day": "int", "study_day": "int", "scale_id": "str",
    "baseline": "float", "value": "float", "change": "float", "in_window": "bool",
    "itt": "bool", "pp": "bool", "randomised_on": "date", "withdrawn_on": "date",
    "sessions_planned": "int", "sessions_received": "int",
    "major_deviation": "bool", "pp_exclusion": "str",
}  # fmt: skip


class DatasetRow(BaseModel):
    """One row of the long table (see :class:`AnalysisDataset`).

    Parameters
    ----------
    patient, site, arm : str
        The patient, its site and its arm.
    stimulation : {'active', 'sham'}
        The arm's stimulation condition.
    factors : dict of str to str
        Co-intervention id to the arm's level.
    visit : str
        The post-baseline visit.
    day : int
        The visit's scheduled day (from randomisation).
    study_day : int | None
        Days from randomisation to the score, ``None`` without a score.
    scale_id : str
        The scale.
    baseline : float | None
        The scale's value at the baseline visit.
    value : float | None
        The value at this visit.
    change : float | None
        ``value - baseline``.
    in_window : bool | None
        Whether the score was in the visit window (``None`` without a score).
    itt, pp : bool
        Whether the patient is in the intention-to-treat and per-protocol sets.
    """

    model_config = _FROZEN

    patient: str
    site: str
    arm: str
    stimulation: Literal["active", "sham"]
    factors: dict[str, str]
    visit: str
    day: int
    study_day: int | None
    scale_id: str
    baseline: float | None
    value: float | None
    change: float | None
    in_window: bool | None
    itt: bool
    pp: bool


class PatientRow(BaseModel):
    """One row of the patient-level table (see :class:`AnalysisDataset`).

    Parameters
    ----------
    patient, site, arm : str
        The patient, its site and its arm.
    stimulation : {'active', 'sham'}
        The arm's stimulation condition.
    factors : dict of str to str
        Co-intervention id to the arm's level.
    randomised_on : datetime.date
        Date of randomisation.
    withdrawn_on : datetime.date | None
        Date of withdrawal, if any.
    sessions_planned, sessions_received : int
        Stimulation sessions.
    major_deviation : bool
        Major protocol deviation.
    itt, pp : bool
        Analysis sets.
    pp_exclusion : str | None
        Why the patient is not in the per-protocol set.
    covariates : dict of str to float
        Baseline characteristics.
    """

    model_config = _FROZEN

    patient: str
    site: str
    arm: str
    stimulation: Literal["active", "sham"]
    factors: dict[str, str]
    randomised_on: dt.date
    withdrawn_on: dt.date | None
    sessions_planned: int
    sessions_received: int
    major_deviation: bool
    itt: bool
    pp: bool
    pp_exclusion: str | None
    covariates: dict[str, float]


class AnalysisDataset(BaseModel):
    """A trial's analysis dataset: the long table and the patient-level table.

    Parameters
    ----------
    trial_id : str
        The trial.
    version : int
        The definition version it was built with.
    analysis_set : {'itt', 'pp'}
        Which patients it holds: every randomised patient, or the per-protocol set.
    pp_min_share : float
        Share of the planned sessions a per-protocol patient received.
    factor_ids : tuple of str
        The co-intervention columns, in definition order.
    covariate_names : tuple of str
        The covariate columns of the patient-level table (sorted).
    rows : tuple of DatasetRow
        The long table.
    patients : tuple of PatientRow
        The patient-level table.
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    analysis_set: AnalysisSetName
    pp_min_share: float
    factor_ids: tuple[str, ...]
    covariate_names: tuple[str, ...]
    rows: tuple[DatasetRow, ...]
    patients: tuple[PatientRow, ...]

    def column_names(self, table: TableName = "long") -> tuple[str, ...]:
        """Names of a table's columns, in order.

        Parameters
        ----------
        table : {'long', 'patients'}
            The long or the patient-level table.

        Returns
        -------
        names : tuple of str
            The column names.
        """
        check_option(table, "table", ("long", "patients"))
        if table == "long":
            return (*_LONG_HEAD, *self.factor_ids, *_LONG_TAIL)
        return (*_LONG_HEAD, *self.factor_ids, *_PATIENT_TAIL, *self.covariate_names)

    def columns(self, table: TableName = "long") -> dict[str, list[Any]]:
        """Return a table as a dict of column name to values.

        Parameters
        ----------
        table : {'long', 'patients'}
            The long or the patient-level table.

        Returns
        -------
        columns : dict of str to list
            One list per column, in row order; a missing value is ``None``.

        Raises
        ------
        ValueError
            If ``table`` is not an allowed value.
        """
        names = self.column_names(table)
        out: dict[str, list[Any]] = {n: [] for n in names}
        rows: Sequence[DatasetRow | PatientRow] = (
            self.rows if table == "long" else self.patients
        )
        for row in rows:
            for n in names:
                if n in row.factors:
                    out[n].append(row.factors[n])
                elif isinstance(row, PatientRow) and n in self.covariate_names:
                    out[n].append(row.covariates.get(n))
                else:
                    out[n].append(getattr(row, n))
        return out

    def column_types(self, table: TableName = "long") -> dict[str, str]:
        """Return each column's type: ``str``, ``int``, ``float``, ``bool`` or ``date``.

        Parameters
        ----------
        table : {'long', 'patients'}
            The table.

        Returns
        -------
        types : dict of str to str
            Column name to type name.
        """
        names = self.column_names(table)
        return {n: _TYPES.get(n, "float" if n in self.covariate_names else "str")
                for n in names}  # fmt: skip

    def to_csv(self, path: str | Path, table: TableName = "long") -> None:
        """Write a table as CSV (comma separated, a header row, UTF-8).

        A missing value is an empty field, a boolean ``true``/``false``, a date
        ISO 8601, a float its shortest exact decimal (``repr``).

        Parameters
        ----------
        path : str | Path
            The file to write.
        table : {'long', 'patients'}
            The table.

        Raises
        ------
        ValueError
            If ``table`` is not an allowed value.
        """
        cols = self.columns(table)
        names = list(cols)
        n = len(next(iter(cols.values()))) if cols else 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            for k in range(n):
                writer.writerow([_csv_cell(cols[c][k]) for c in names])

    def to_parquet(self, path: str | Path, table: TableName = "long") -> None:
        """Write a table as Parquet, with typed columns (needs pyarrow).

        Parameters
        ----------
        path : str | Path
            The file to write.
        table : {'long', 'patients'}
            The table.

        Raises
        ------
        ImportError
            If pyarrow is not installed (the message says how to install it).
        ValueError
            If ``table`` is not an allowed value.
        """
        pa = soft_import("pyarrow", "write Parquet analysis datasets")
        pq = soft_import("pyarrow.parquet", "write Parquet analysis datasets",
                         package="pyarrow")  # fmt: skip
        arrow = {
            "str": pa.string(), "int": pa.int64(), "float": pa.float64(),
            "bool": pa.bool_(), "date": pa.date32(),
        }  # fmt: skip
        cols = self.columns(table)
        types = self.column_types(table)
        arrays = [pa.array(cols[n], type=arrow[types[n]]) for n in cols]
        pq.write_table(pa.Table.from_arrays(arrays, names=list(cols)), str(path))


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _allowed(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


def _check_patients(
    defn: TrialDefinition, patients: Sequence[AnalysisPatient]
) -> dict[str, AnalysisPatient]:
    by_id: dict[str, AnalysisPatient] = {}
    reserved = {*_LONG_HEAD, *_LONG_TAIL, *_PATIENT_TAIL, "factors", "covariates"}
    factor_ids = {c.id for c in defn.co_interventions}
    for k, p in enumerate(patients):
        check_type(p, AnalysisPatient, f"patients[{k}]")
        if p.patient in by_id:
            raise ValueError(
                f"Invalid value for 'patient': got {p.patient!r} twice (patients[{k}])"
                "; allowed: one entry per randomised patient."
            )
        if p.site not in defn.site_codes:
            raise ValueError(
                f"Invalid value for 'site': got {p.site!r} for patient {p.patient!r}; "
                f"allowed values are {_allowed(defn.site_codes)}."
            )
        if p.arm_id not in defn.arm_ids:
            raise ValueError(
                f"Invalid value for 'arm_id': got {p.arm_id!r} for patient "
                f"{p.patient!r}; allowed values are {_allowed(defn.arm_ids)}."
            )
        clash = sorted(set(p.covariates) & (reserved | factor_ids))
        if clash:
            raise ValueError(
                f"Invalid value for 'covariates': got names {clash} for patient "
                f"{p.patient!r}, which are columns of the dataset; allowed: other "
                "names."
            )
        by_id[p.patient] = p
    return by_id


def _check_scores(
    defn: TrialDefinition,
    by_patient: dict[str, AnalysisPatient],
    scores: Sequence[AnalysisScore],
) -> dict[tuple[str, str, str], AnalysisScore]:
    visits = {v.id: v for v in defn.visits}
    baseline_id = defn.baseline_visit.id
    out: dict[tuple[str, str, str], AnalysisScore] = {}
    for k, s in enumerate(scores):
        check_type(s, AnalysisScore, f"scores[{k}]")
        if s.patient not in by_patient:
            raise ValueError(
                f"Invalid value for 'patient': got {s.patient!r} in scores[{k}]; "
                f"allowed values are the patients given "
                f"({_allowed(sorted(by_patient))})."
            )
        if s.visit_id not in visits:
            raise ValueError(
                f"Invalid value for 'visit_id': got {s.visit_id!r} in scores[{k}]; "
                f"allowed values are {_allowed(list(visits))}."
            )
        collected = visits[s.visit_id].scales
        if s.scale_id not in collected:
            raise ValueError(
                f"Invalid value for 'scale_id': got {s.scale_id!r} at visit "
                f"{s.visit_id!r} in scores[{k}]; allowed values are "
                f"{_allowed(collected)} (the scales collected there)."
            )
        key = (s.patient, s.visit_id, s.scale_id)
        if key in out:
            raise ValueError(
                f"Invalid value for 'scores': got two scores of {s.scale_id!r} for "
                f"patient {s.patient!r} at visit {s.visit_id!r} (scores[{k}]); "
                "allowed: one per patient, visit and scale."
            )
        randomised = by_patient[s.patient].randomised_on
        if s.visit_id != baseline_id and s.done_on < randomised:
            raise ValueError(
                f"Invalid value for 'done_on': got {s.done_on} for {s.scale_id!r} of "
                f"patient {s.patient!r} at visit {s.visit_id!r}; allowed: on or "
                f"after randomisation ({randomised}) for a post-baseline visit."
            )
        out[key] = s
    return out


def build_dataset(
    defn: TrialDefinition,
    patients: Sequence[AnalysisPatient],
    scores: Sequence[AnalysisScore],
    *,
    analysis_set: AnalysisSetName = "itt",
    pp_min_share: float = 0.8,
) -> AnalysisDataset:
    """Turn a trial's records into its analysis dataset.

    Parameters
    ----------
    defn : TrialDefinition
        The trial's definition (arms, visits, the scales collected at each).
    patients : sequence of AnalysisPatient
        Every randomised patient, once.
    scores : sequence of AnalysisScore
        The scale scores; at most one per patient, visit and scale.
    analysis_set : {'itt', 'pp'}
        Keep every randomised patient (intention to treat) or only the
        per-protocol set.
    pp_min_share : float
        Share of the planned sessions, in (0, 1], that a per-protocol patient
        received (0.8 is a plptms default, not from a source; a trial's
        statistical analysis plan states its own).

    Returns
    -------
    dataset : AnalysisDataset
        The long and patient-level tables, in a deterministic order.

    Raises
    ------
    TypeError
        If ``defn``, a patient or a score has the wrong type.
    ValueError
        If a patient's site or arm, or a score's patient, visit or scale is not
        in the definition (the message names the field and lists the allowed
        values), a patient is listed twice, two scores share a patient, visit
        and scale, or a post-baseline score predates randomisation.
    """
    check_type(defn, TrialDefinition, "defn")
    check_option(analysis_set, "analysis_set", ("itt", "pp"))
    check_range(pp_min_share, "pp_min_share", 0.0, 1.0, low_inclusive=False)
    reserved = {*_LONG_HEAD, *_LONG_TAIL, *_PATIENT_TAIL, "factors", "covariates"}
    clash = sorted({c.id for c in defn.co_interventions} & reserved)
    if clash:
        raise ValueError(
            f"Invalid value for 'co_interventions': got ids {clash}, which are "
            "columns of the analysis dataset; allowed: other ids."
        )
    by_patient = _check_patients(defn, patients)
    by_key = _check_scores(defn, by_patient, scores)
    sets = analysis_sets(
        [(p.patient, p.sessions_received, p.sessions_planned, p.major_deviation)
         for p in by_patient.values()],
        min_share=pp_min_share,
    )  # fmt: skip
    pp = set(sets.per_protocol)
    baseline = defn.baseline_visit
    post = defn.visits[1:]
    scale_order: list[str] = []
    for v in post:
        scale_order += [s for s in v.scales if s not in scale_order]
    factor_ids = tuple(c.id for c in defn.co_interventions)
    covariates = sorted({c for p in by_patient.values() for c in p.covariates})
    rows: list[DatasetRow] = []
    prows: list[PatientRow] = []
    for pid in sorted(by_patient):
        if analysis_set == "pp" and pid not in pp:
            continue
        p = by_patient[pid]
        arm = defn.arm(p.arm_id)
        factors = {c: arm.co_interventions[c] for c in factor_ids}
        common = {"patient": pid, "site": p.site, "arm": arm.id,
                  "stimulation": arm.condition, "factors": factors}  # fmt: skip
        prows.append(
            PatientRow(
                **common,
                randomised_on=p.randomised_on,
                withdrawn_on=p.withdrawn_on,
                sessions_planned=p.sessions_planned,
                sessions_received=p.sessions_received,
                major_deviation=p.major_deviation,
                itt=True,
                pp=pid in pp,
                pp_exclusion=sets.excluded_per_protocol.get(pid),
                covariates=dict(sorted(p.covariates.items())),
            )
        )
        for scale in scale_order:
            base_score = by_key.get((pid, baseline.id, scale))
            base = None if base_score is None else base_score.value
            for v in post:
                if scale not in v.scales:
                    continue
                s = by_key.get((pid, v.id, scale))
                value = None if s is None else s.value
                day = None if s is None else (s.done_on - p.randomised_on).days
                rows.append(
                    DatasetRow(
                        **common,
                        visit=v.id,
                        day=v.day,
                        study_day=day,
                        scale_id=scale,
                        baseline=base,
                        value=value,
                        change=(
                            None if value is None or base is None else value - base
                        ),
                        in_window=None if s is None else s.in_window,
                        itt=True,
                        pp=pid in pp,
                    )
                )
    return AnalysisDataset(
        trial_id=defn.id,
        version=defn.version,
        analysis_set=analysis_set,
        pp_min_share=pp_min_share,
        factor_ids=factor_ids,
        covariate_names=tuple(covariates),
        rows=tuple(rows),
        patients=tuple(prows),
    )
