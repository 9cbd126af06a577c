"""Per-method performance of a threshold benchmark, with Monte Carlo SEs.

With ``N`` subjects, of which ``n`` hunts converged with errors
``e_i = estimate_i - true threshold_i`` (% MSO), the measures and their Monte
Carlo standard errors (MCSE) are the usual ones of simulation studies
:footcite:`morris2019` (their Table 6, not verified in this session; the same
formulas as :func:`plptms.trial.summarise_virtual_trials`):

- convergence rate ``c = n / N``, MCSE ``sqrt(c (1 - c) / N)``;
- bias ``mean(e)``, MCSE ``sd(e) / sqrt(n)``;
- RMSE ``sqrt(mean(e^2))``, MCSE ``sd(e^2) / sqrt(n) / (2 RMSE)`` (the delta
  method on the MSE, whose MCSE is ``sd(e^2) / sqrt(n)``);
- mean absolute error ``mean(|e|)``, MCSE ``sd(|e|) / sqrt(n)``;
- pulses used, mean over all ``N`` hunts (converged or not), MCSE
  ``sd / sqrt(N)``.

``sd`` has divisor ``n - 1``. A measure over fewer than 2 values has MCSE NaN (and
over none, value NaN).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..trial import MonteCarloEstimate
from ..utils import check_type

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

__all__ = ["MethodSummary", "summarise_threshold_records"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MethodSummary(BaseModel):
    """Performance of one threshold method over simulated subjects.

    Parameters
    ----------
    key : str
        The method's key in the records.
    n_subjects : int
        Subjects hunted.
    n_converged : int
        Hunts that converged; the error measures are over these.
    convergence_rate : MonteCarloEstimate
        Share of hunts that converged.
    bias_pct_mso : MonteCarloEstimate
        Mean of estimate minus true threshold, % MSO.
    rmse_pct_mso : MonteCarloEstimate
        Root mean square error, % MSO.
    mae_pct_mso : MonteCarloEstimate
        Mean absolute error, % MSO.
    pulses_used : MonteCarloEstimate
        Mean pulses per hunt, over all hunts.
    """

    model_config = _FROZEN

    key: str
    n_subjects: int
    n_converged: int
    convergence_rate: MonteCarloEstimate
    bias_pct_mso: MonteCarloEstimate
    rmse_pct_mso: MonteCarloEstimate
    mae_pct_mso: MonteCarloEstimate
    pulses_used: MonteCarloEstimate


def _sd(x: NDArray[np.float64]) -> float:
    return float(x.std(ddof=1)) if len(x) > 1 else math.nan


def _mean(x: NDArray[np.float64]) -> MonteCarloEstimate:
    if len(x) == 0:
        return MonteCarloEstimate(value=math.nan, mcse=math.nan)
    return MonteCarloEstimate(value=float(x.mean()), mcse=_sd(x) / math.sqrt(len(x)))


def _summary(records: Sequence[Mapping[str, object]], key: str) -> MethodSummary:
    n_all = len(records)
    conv = np.asarray([bool(r[f"{key}.converged"]) for r in records])
    truth = np.asarray([float(r["true_threshold_pct_mso"]) for r in records])  # type: ignore[arg-type]
    est = np.asarray(
        [
            math.nan
            if r[f"{key}.estimate_pct_mso"] is None
            else r[f"{key}.estimate_pct_mso"]
            for r in records
        ],
        dtype=float,
    )
    pulses = np.asarray([r[f"{key}.pulses_used"] for r in records], dtype=float)
    err = est[conv] - truth[conv]
    n = len(err)
    rate = n / n_all
    sq = err * err
    if n:
        rmse = math.sqrt(float(sq.mean()))
        rmse_mcse = _sd(sq) / math.sqrt(n) / (2.0 * rmse) if rmse > 0 else math.nan
    else:
        rmse, rmse_mcse = math.nan, math.nan
    return MethodSummary(
        key=key,
        n_subjects=n_all,
        n_converged=n,
        convergence_rate=MonteCarloEstimate(
            value=rate, mcse=math.sqrt(rate * (1.0 - rate) / n_all)
        ),
        bias_pct_mso=_mean(err),
        rmse_pct_mso=MonteCarloEstimate(value=rmse, mcse=rmse_mcse),
        mae_pct_mso=_mean(np.abs(err)),
        pulses_used=_mean(pulses),
    )


def summarise_threshold_records(
    records: Sequence[Mapping[str, object]], keys: Sequence[str]
) -> tuple[MethodSummary, ...]:
    """Summarise benchmark records per method (see the module notes).

    Parameters
    ----------
    records : sequence of dict
        Records of :func:`~plptms.sweeps.hunt_subject` (for instance read back
        from a checkpoint's Parquet files), at least one.
    keys : sequence of str
        The method keys to summarise.

    Returns
    -------
    summaries : tuple of MethodSummary
        One per key, in ``keys`` order.

    Raises
    ------
    TypeError
        If a record is not a mapping.
    ValueError
        If there are no records, or a key has no columns in the records.

    References
    ----------
    .. footbibliography::
    """
    if len(records) == 0:
        raise ValueError(
            "Invalid value for 'records': got 0 records; allowed: at least 1."
        )
    for k, r in enumerate(records[:1]):
        check_type(r, dict, f"records[{k}]")
    columns = set(records[0])
    for key in keys:
        missing = [
            c
            for c in ("estimate_pct_mso", "pulses_used", "converged")
            if f"{key}.{c}" not in columns
        ]
        if missing:
            found = sorted({c.split(".")[0] for c in columns if "." in c})
            raise ValueError(
                f"Invalid value for 'keys': got {key!r}, which has no columns in "
                f"the records; allowed: {', '.join(found)}."
            )
    return tuple(_summary(records, key) for key in keys)
