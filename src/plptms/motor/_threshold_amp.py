"""Amplitude-informed Bayesian threshold hunt: MEP size, not only yes/no.

One subject (:func:`hunt_amplitude`), a re-hunt with the previous RMT as prior
(:func:`rehunt_amplitude`) and a population in lockstep
(:func:`hunt_population_amplitude`). The likelihood of an MEP amplitude under a
linearised two-source MEP model :footcite:`goetz2014`, the posterior on
(threshold, relative spread, recruitment slope) and the pulse placement are in
:mod:`plptms.motor._amp_model`; the method, its priors and where it meets the
target of issue 19 are in ``docs/threshold.md``.

.. footbibliography::
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ..utils import check_range, check_type
from . import _constants as C
from ._amp_model import (
    AMP_LAPSE,
    AMP_OFFSET_SD,
    AMP_OUTPUT_LOG_SD,
    AMP_SLOPE_PRIOR_LOG_SD,
    AMP_SLOPE_PRIOR_MEDIAN,
    _AmpPsi,
    _check_noise,
    amplitude_log_likelihood,
)
from ._rehunt import rehunt_defaults
from ._threshold import (
    _NUMBER,
    _REASONS,
    PopulationHunt,
    ThresholdMethod,
    ThresholdResult,
    _check_common,
    _check_int,
    _check_start,
    _per_subject,
    _run_single,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ._responder import PopulationResponder, Responder

__all__ = [
    "amplitude_log_likelihood",
    "hunt_amplitude",
    "hunt_population_amplitude",
    "rehunt_amplitude",
]

#: Default stop: posterior SD of the threshold, % MSO (chosen on the simulated
#: population, docs/threshold.md).
AMP_TARGET_SD_PCT_MSO: Final[float] = 2.0
#: Default pulse budget.
AMP_MAX_PULSES: Final[int] = 40
#: Re-hunt stop: posterior SD, % MSO (the yes/no re-hunt's 1.45, not re-tuned).
AMP_REHUNT_TARGET_SD_PCT_MSO: Final[float] = 1.45


def _amp_engine(
    n: int,
    start: NDArray[np.float64],
    *,
    max_pulses: int = AMP_MAX_PULSES,
    min_pulses: int = 1,
    target_sd_pct_mso: float = AMP_TARGET_SD_PCT_MSO,
    resolution_pct_mso: float = C.INTENSITY_RESOLUTION_PCT_MSO,
    offset_sd: float = AMP_OFFSET_SD,
    output_log_sd: float = AMP_OUTPUT_LOG_SD,
    amplitude_lapse: float = AMP_LAPSE,
    slope_prior_median: float = AMP_SLOPE_PRIOR_MEDIAN,
    slope_prior_log_sd: float = AMP_SLOPE_PRIOR_LOG_SD,
    threshold_prior_mean_pct_mso: ArrayLike = C.SIM_RMT_MEAN_PCT_MSO,
    threshold_prior_sd_pct_mso: ArrayLike = C.SIM_RMT_SD_PCT_MSO,
    repeat_fallback: bool = True,
) -> _AmpPsi:
    budget = _check_int(max_pulses, "max_pulses", 1, C.MAX_PULSES_LIMIT)
    least = _check_int(min_pulses, "min_pulses", 1, budget)
    for name, value in (
        ("target_sd_pct_mso", target_sd_pct_mso),
        ("resolution_pct_mso", resolution_pct_mso),
        ("offset_sd", offset_sd),
        ("slope_prior_median", slope_prior_median),
        ("slope_prior_log_sd", slope_prior_log_sd),
    ):
        check_type(value, _NUMBER, name)
    target = check_range(
        target_sd_pct_mso,
        "target_sd_pct_mso",
        0.0,
        50.0,
        low_inclusive=False,
        unit="% MSO",
    )
    res = check_range(resolution_pct_mso, "resolution_pct_mso", 0.1, 10.0, unit="% MSO")
    offset = check_range(offset_sd, "offset_sd", -3.0, 3.0)
    s, lapse = _check_noise(output_log_sd, amplitude_lapse)
    b_med = check_range(
        slope_prior_median, "slope_prior_median", 0.0, 1000.0, low_inclusive=False
    )
    b_lsd = check_range(slope_prior_log_sd, "slope_prior_log_sd", 0.01, 3.0)
    check_type(repeat_fallback, bool, "repeat_fallback")
    means = _per_subject(
        threshold_prior_mean_pct_mso,
        "threshold_prior_mean_pct_mso",
        n,
        10.0,
        130.0,
        True,
    )
    sds = _per_subject(
        threshold_prior_sd_pct_mso, "threshold_prior_sd_pct_mso", n, 0.5, 100.0, True
    )
    return _AmpPsi(
        n,
        start,
        prior_means=means,
        prior_sds=sds,
        max_pulses=budget,
        min_pulses=least,
        target_sd_pct_mso=target,
        resolution_pct_mso=res,
        offset_sd=offset,
        output_log_sd=s,
        amplitude_lapse=lapse,
        slope_prior=(b_med, b_lsd),
        repeat_fallback=repeat_fallback,
    )


_CITATION_AMP = (
    "Bayesian hunt on MEP amplitudes: linearised two-source MEP model after "
    "Goetz et al. 2014; population or previous-RMT prior and precision stop after "
    "Qi et al. 2011"
)


def hunt_amplitude(
    responder: Responder,
    *,
    start_intensity_pct_mso: float,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
    max_pulses: int = AMP_MAX_PULSES,
    min_pulses: int = 1,
    target_sd_pct_mso: float = AMP_TARGET_SD_PCT_MSO,
    resolution_pct_mso: float = C.INTENSITY_RESOLUTION_PCT_MSO,
    offset_sd: float = AMP_OFFSET_SD,
    output_log_sd: float = AMP_OUTPUT_LOG_SD,
    amplitude_lapse: float = AMP_LAPSE,
    slope_prior_median: float = AMP_SLOPE_PRIOR_MEDIAN,
    slope_prior_log_sd: float = AMP_SLOPE_PRIOR_LOG_SD,
    threshold_prior_mean_pct_mso: float = C.SIM_RMT_MEAN_PCT_MSO,
    threshold_prior_sd_pct_mso: float = C.SIM_RMT_SD_PCT_MSO,
    repeat_fallback: bool = True,
) -> ThresholdResult:
    """Amplitude-informed Bayesian threshold hunt on one subject.

    Each pulse updates a posterior on (threshold, relative spread, recruitment
    slope) with the likelihood of its MEP amplitude (module docstring); the next
    pulse goes at the posterior mean plus ``offset_sd`` spreads; the hunt stops
    when the posterior SD of the threshold reaches ``target_sd_pct_mso``.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    start_intensity_pct_mso : float
        First intensity, % MSO, in (0, 100].
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000].
    max_pulses : int
        Pulse budget, in [1, 2000].
    min_pulses : int
        Fewest pulses before the precision rule may stop, in [1, max_pulses].
    target_sd_pct_mso : float
        Posterior SD of the threshold at which to stop, % MSO, in (0, 50].
    resolution_pct_mso : float
        Stimulator resolution, % MSO, in [0.1, 10].
    offset_sd : float
        Next pulse at the posterior mean + ``offset_sd`` x the posterior-mean
        spread ``r T``, in [-3, 3].
    output_log_sd : float
        Output noise, SD of ln(MEP) given the excitation, in (0, 5].
    amplitude_lapse : float
        Weight of the component in which a present MEP's amplitude is
        uninformative, in [0, 0.5].
    slope_prior_median, slope_prior_log_sd : float
        Log-normal prior on the foot slope of ln(MEP) per unit of ``x / T``:
        median in (0, 1000], SD of its logarithm in [0.01, 3].
    threshold_prior_mean_pct_mso, threshold_prior_sd_pct_mso : float
        Normal prior on the threshold, % MSO: mean in [10, 130] (default the
        population mean :footcite:`silbert2013`; for a re-hunt the previous
        RMT), SD in [0.5, 100] (for a re-hunt
        :func:`~plptms.motor._rehunt.rehunt_prior_sd`).
    repeat_fallback : bool
        When two present MEPs repeat an amplitude (clipped or placeholder
        amplitudes), hunt that subject on yes/no outcomes only, for every pulse
        so far and after (:mod:`plptms.motor._amp_model`). Default on.

    Returns
    -------
    result : ThresholdResult
        Estimate (posterior mean), 95 % interval (mean +/- 1.96 SD), trace and
        stop reason; ``method`` is ``psi`` (a Bayesian grid hunt).

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range, or the responder returns an invalid
        amplitude.

    References
    ----------
    .. footbibliography::
    """

    def make_engine(n: int, start: NDArray[np.float64]) -> _AmpPsi:
        return _amp_engine(
            n,
            start,
            max_pulses=max_pulses,
            min_pulses=min_pulses,
            target_sd_pct_mso=target_sd_pct_mso,
            resolution_pct_mso=resolution_pct_mso,
            offset_sd=offset_sd,
            output_log_sd=output_log_sd,
            amplitude_lapse=amplitude_lapse,
            slope_prior_median=slope_prior_median,
            slope_prior_log_sd=slope_prior_log_sd,
            threshold_prior_mean_pct_mso=threshold_prior_mean_pct_mso,
            threshold_prior_sd_pct_mso=threshold_prior_sd_pct_mso,
            repeat_fallback=repeat_fallback,
        )

    return _run_single(
        ThresholdMethod.PSI,
        responder,
        start_intensity_pct_mso,
        mep_threshold_uv,
        {},
        make_engine=make_engine,
        citation=_CITATION_AMP,
    )


def hunt_population_amplitude(
    responder: PopulationResponder,
    *,
    start_intensity_pct_mso: ArrayLike,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
    chunk_size: int = 256,
    **options: Any,
) -> PopulationHunt:
    """Run :func:`hunt_amplitude` on every subject of a population, in lockstep.

    Parameters
    ----------
    responder : PopulationResponder
        The subjects.
    start_intensity_pct_mso : float | array-like of float
        First intensity per subject (or one for all), % MSO, in (0, 100].
    mep_threshold_uv : float
        MEP criterion, uV, in (0, 10000].
    chunk_size : int
        Subjects run together (memory: about 140 kB each), in [1, 100000].
    **options
        As :func:`hunt_amplitude`; ``threshold_prior_mean_pct_mso`` and
        ``threshold_prior_sd_pct_mso`` may be arrays, one value per subject
        (a re-hunt with each patient's previous RMT).

    Returns
    -------
    hunt : PopulationHunt
        Estimates, pulses, convergence and stop reasons per subject.

    Raises
    ------
    TypeError
        If an argument has the wrong type or an option is unknown.
    ValueError
        If an argument is out of range.
    """
    criterion = _check_common(mep_threshold_uv)
    size = _check_int(chunk_size, "chunk_size", 1, 100_000)
    n = int(responder.n_subjects)
    start = _check_start(start_intensity_pct_mso, n)
    per_subject = ("threshold_prior_mean_pct_mso", "threshold_prior_sd_pct_mso")
    # Validate every option (and the per-subject priors) before any pulse.
    _amp_engine(
        1, start[:1], **{k: v for k, v in options.items() if k not in per_subject}
    )
    opts = dict(options)
    for key, default, low, high in (
        (per_subject[0], C.SIM_RMT_MEAN_PCT_MSO, 10.0, 130.0),
        (per_subject[1], C.SIM_RMT_SD_PCT_MSO, 0.5, 100.0),
    ):
        opts[key] = _per_subject(opts.get(key, default), key, n, low, high, True)
    estimate = np.full(n, np.nan)
    pulses = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    reason = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        chunk = {k: (v[lo:hi] if k in per_subject else v) for k, v in opts.items()}
        engine = _amp_engine(hi - lo, start[lo:hi], **chunk)
        while engine.active.any():
            idx = np.flatnonzero(engine.active)
            x = engine.propose(idx)
            amp = np.asarray(
                responder.stimulate_subjects(idx + lo, x), dtype=np.float64
            )
            engine.observe_amplitude(idx, x, amp, criterion)
        estimate[lo:hi] = engine.estimate
        pulses[lo:hi] = engine.pulses
        converged[lo:hi] = engine.converged
        reason[lo:hi] = engine.reason
    return PopulationHunt(
        method=ThresholdMethod.PSI,
        estimate_pct_mso=estimate,
        pulses_used=pulses,
        converged=converged,
        stop_reasons=tuple(_REASONS[int(k)] for k in reason),
    )


def rehunt_amplitude(
    responder: Responder,
    *,
    previous_rmt_pct_mso: float,
    previous_rmt_sd_pct_mso: float | None = None,
    start_intensity_pct_mso: float | None = None,
    target_sd_pct_mso: float = AMP_REHUNT_TARGET_SD_PCT_MSO,
    max_pulses: int = AMP_MAX_PULSES,
) -> ThresholdResult:
    """Re-hunt the RMT from MEP amplitudes, the previous session's RMT as prior.

    :func:`hunt_amplitude` with a normal threshold prior centred on
    ``previous_rmt_pct_mso`` (SD ``previous_rmt_sd_pct_mso``), the first pulse at
    the previous RMT and the stop at posterior SD ``target_sd_pct_mso``, as
    :func:`~plptms.motor._rehunt.rehunt_psi` does with yes/no outcomes
    :footcite:`qi2011`.

    Parameters
    ----------
    responder : Responder
        Delivers pulses and returns MEP amplitudes (uV).
    previous_rmt_pct_mso : float
        The patient's previous measured RMT, % MSO, in [10, 100].
    previous_rmt_sd_pct_mso : float | None
        Prior SD, % MSO, in [0.5, 100]; ``None``:
        :func:`~plptms.motor._rehunt.rehunt_prior_sd` with its defaults (2.4).
    start_intensity_pct_mso : float | None
        First pulse, % MSO, in (0, 100]; ``None``: the previous RMT rounded.
    target_sd_pct_mso : float
        Posterior SD at which to stop, % MSO, in (0, 50].
    max_pulses : int
        Pulse budget, in [1, 2000].

    Returns
    -------
    result : ThresholdResult
        The estimate, trace and stop reason.

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
    prev = check_range(
        previous_rmt_pct_mso, "previous_rmt_pct_mso", 10.0, 100.0, unit="% MSO"
    )
    sd, start = rehunt_defaults(prev, previous_rmt_sd_pct_mso, start_intensity_pct_mso)
    return hunt_amplitude(
        responder,
        start_intensity_pct_mso=start,
        threshold_prior_mean_pct_mso=prev,
        threshold_prior_sd_pct_mso=sd,
        target_sd_pct_mso=target_sd_pct_mso,
        max_pulses=max_pulses,
    )
