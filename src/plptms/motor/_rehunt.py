"""Re-hunting the RMT within a course, with the previous session's RMT as prior.

Clinics re-determine the resting motor threshold before each session, and plptms
stores every patient's RMT history. On a re-hunt the threshold is not unknown: it
is the previous measured RMT give or take the between-session change of the true
RMT and the previous hunt's own error. A normal prior with that centre and SD
(:func:`rehunt_prior_sd`) makes the Bayesian hunt of :footcite:`qi2011` (pulses at
the posterior mean, stop on the posterior SD) reach relative frequency's accuracy
in about ten pulses, where a first hunt with a population prior needs about 18
(see ``docs/threshold.md``).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

import numpy as np

from ..utils import check_range, check_type
from ._subject import SimulatedPopulation
from ._threshold import ThresholdResult, hunt_psi

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ._responder import Responder

__all__ = ["next_session_population", "rehunt_prior_sd", "rehunt_psi"]

#: Between-session SD of the true RMT, % MSO. A plptms choice of the order of the
#: between-session reliability reported for RMT (Schambra et al., 2015,
#: single-rater test-retest on consecutive days; the paper's figures were **not
#: verified**: only its abstract was read). [schambra2015]
RMT_BETWEEN_SESSION_SD_PCT_MSO: Final[float] = 2.0
#: SD of the previous relative-frequency RMT's error, % MSO: measured on the
#: plptms simulated population (benchmarks/bench_threshold.py, 1 % MSO steps; about
#: 1.3-1.4). A plptms simulation figure, not a literature value.
PREVIOUS_RMT_ERROR_SD_PCT_MSO: Final[float] = 1.35
#: Re-hunt stop: posterior SD of the threshold, % MSO (chosen on the simulated
#: population so that the re-hunt averages <= 10 pulses; docs/threshold.md).
REHUNT_TARGET_SD_PCT_MSO: Final[float] = 1.45
#: Re-hunt pulse budget.
REHUNT_MAX_PULSES: Final[int] = 40

_NUMBER = (int, float, np.integer, np.floating)


def rehunt_prior_sd(
    between_session_sd_pct_mso: float = RMT_BETWEEN_SESSION_SD_PCT_MSO,
    previous_error_sd_pct_mso: float = PREVIOUS_RMT_ERROR_SD_PCT_MSO,
) -> float:
    """SD of today's RMT around the previous measured RMT, % MSO.

    Today's true RMT is the previous true RMT plus an independent between-session
    change; the previous measured RMT is the previous true RMT plus the previous
    hunt's error. Their difference has SD ``sqrt(between^2 + error^2)``.

    Parameters
    ----------
    between_session_sd_pct_mso : float
        SD of the change of the true RMT between sessions, % MSO, in [0, 20].
    previous_error_sd_pct_mso : float
        SD of the previous hunt's error, % MSO, in [0, 20].

    Returns
    -------
    sd_pct_mso : float
        The prior SD, % MSO.

    Raises
    ------
    TypeError
        If an argument is not a number.
    ValueError
        If an argument is out of range, or both are 0.
    """
    check_type(between_session_sd_pct_mso, _NUMBER, "between_session_sd_pct_mso")
    check_type(previous_error_sd_pct_mso, _NUMBER, "previous_error_sd_pct_mso")
    a = check_range(
        between_session_sd_pct_mso,
        "between_session_sd_pct_mso",
        0.0,
        20.0,
        unit="% MSO",
    )
    b = check_range(
        previous_error_sd_pct_mso, "previous_error_sd_pct_mso", 0.0, 20.0, unit="% MSO"
    )
    sd = math.hypot(a, b)
    if sd == 0.0:
        raise ValueError(
            "Invalid value for 'between_session_sd_pct_mso': got 0.0 with "
            "previous_error_sd_pct_mso=0.0; allowed: a positive prior SD (at least "
            "one of them > 0)."
        )
    return sd


def rehunt_defaults(
    previous_rmt_pct_mso: float,
    previous_rmt_sd_pct_mso: float | None,
    start_intensity_pct_mso: float | None,
) -> tuple[float, float]:
    """Return a re-hunt's prior SD and first intensity, filling in the defaults.

    The prior SD defaults to :func:`rehunt_prior_sd` (its defaults), the first
    pulse to the previous RMT rounded to 1 % MSO (within [1, 100]). Shared by
    :func:`rehunt_psi` and the amplitude-informed re-hunt; the values themselves
    are checked by the hunt they are passed to.
    """
    sd = (
        rehunt_prior_sd()
        if previous_rmt_sd_pct_mso is None
        else previous_rmt_sd_pct_mso
    )
    start = start_intensity_pct_mso
    if start is None:
        start = float(min(100.0, max(1.0, round(previous_rmt_pct_mso))))
    return sd, start


def rehunt_psi(
    responder: Responder,
    *,
    previous_rmt_pct_mso: float,
    previous_rmt_sd_pct_mso: float | None = None,
    start_intensity_pct_mso: float | None = None,
    target_sd_pct_mso: float = REHUNT_TARGET_SD_PCT_MSO,
    max_pulses: int = REHUNT_MAX_PULSES,
) -> ThresholdResult:
    """Re-hunt the RMT with the previous session's RMT as prior.

    :func:`~plptms.motor.hunt_psi` with ``placement="estimate"``, a normal prior
    on the threshold centred on ``previous_rmt_pct_mso`` with SD
    ``previous_rmt_sd_pct_mso``, the first pulse at the previous RMT, and the stop
    at posterior SD ``target_sd_pct_mso`` :footcite:`qi2011`.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    previous_rmt_pct_mso : float
        The patient's previous measured RMT, % MSO, in (0, 100].
    previous_rmt_sd_pct_mso : float | None
        Prior SD, % MSO, in [0.5, 100]; ``None``: :func:`rehunt_prior_sd` with its
        defaults (2.4 % MSO).
    start_intensity_pct_mso : float | None
        First pulse, % MSO, in (0, 100]; ``None``: the previous RMT rounded to
        1 % MSO.
    target_sd_pct_mso : float
        Posterior SD at which to stop, % MSO, in (0, 50].
    max_pulses : int
        Pulse budget, in [1, 2000].

    Returns
    -------
    result : ThresholdResult
        The estimate, trace and stop reason (method ``psi``).

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.

    References
    ----------
    .. footbibliography::
    """
    check_type(previous_rmt_pct_mso, _NUMBER, "previous_rmt_pct_mso")
    sd, start = rehunt_defaults(
        float(previous_rmt_pct_mso), previous_rmt_sd_pct_mso, start_intensity_pct_mso
    )
    return hunt_psi(
        responder,
        start_intensity_pct_mso=start,
        placement="estimate",
        previous_rmt_pct_mso=previous_rmt_pct_mso,
        previous_rmt_sd_pct_mso=sd,
        target_sd_pct_mso=target_sd_pct_mso,
        min_pulses=1,
        max_pulses=max_pulses,
    )


def next_session_population(
    population: SimulatedPopulation,
    *,
    between_session_sd_pct_mso: float = RMT_BETWEEN_SESSION_SD_PCT_MSO,
    seed: int | np.random.Generator | None = None,
) -> tuple[SimulatedPopulation, NDArray[np.float64]]:
    """Draw the same subjects at their next session, each true RMT changed.

    Today's true RMT = the previous true RMT + N(0, ``between_session_sd_pct_mso``),
    clipped to [1, 100] % MSO; every other parameter is kept.

    Parameters
    ----------
    population : SimulatedPopulation
        The subjects at the previous session.
    between_session_sd_pct_mso : float
        SD of the change, % MSO, in [0, 20].
    seed : int | numpy.random.Generator | None
        Seed of the changes and then of today's pulses.

    Returns
    -------
    today : SimulatedPopulation
        The subjects today.
    thresholds_pct_mso : ndarray of float, shape (n,)
        Today's true RMTs, % MSO.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If the SD is out of range.
    """
    check_type(population, SimulatedPopulation, "population")
    check_type(between_session_sd_pct_mso, _NUMBER, "between_session_sd_pct_mso")
    sd = check_range(
        between_session_sd_pct_mso,
        "between_session_sd_pct_mso",
        0.0,
        20.0,
        unit="% MSO",
    )
    rng = np.random.default_rng(seed)
    n = population.n_subjects
    before = population.thresholds_pct_mso
    today = np.clip(before + sd * rng.standard_normal(n), 1.0, 100.0)
    params = [
        population.subject_parameters(i).model_copy(
            update={"threshold_pct_mso": float(today[i])}
        )
        for i in range(n)
    ]
    return SimulatedPopulation(params, seed=rng), today
