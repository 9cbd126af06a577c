"""MEP-amplitude likelihood and posterior engine of the amplitude-informed hunt.

A pulse that reports only whether the MEP reached 50 uV carries at most
``2 / (pi sigma^2)`` of Fisher information on the threshold (see
``docs/threshold.md``). The MEP amplitude says more: a pulse well above threshold
gives a large MEP, one just above a small one. This module reads it through a
linearised two-source MEP model after :footcite:`goetz2014` (input-side
excitability noise before the recruitment nonlinearity, output-side noise after
it, on a log scale; the linearisation and every number are plptms choices):

* latent excitation relative to threshold ``u = (x - T) / T + r z0``,
  ``z0 ~ N(0, 1)``: the MEP is present (amplitude >= criterion ``c``) iff
  ``u >= 0``, so ``P(MEP) = Phi((x - T) / (r T))`` exactly as the binary hunts
  assume;
* a present MEP's log-amplitude over the criterion, ``y = ln(A / c)``, is
  ``beta u + s z1``, ``z1 ~ N(0, 1)``: log-amplitude rises linearly with the
  excitation at the foot of the recruitment curve (the foot of a Boltzmann
  sigmoid is exponential; :footcite:`goetz2019` use a logarithmic recruitment
  curve), with subject-specific slope ``beta`` and output noise ``s``.

The joint density of ``(MEP present, y)`` is closed-form (a bivariate normal
with one coordinate censored, as a Tobit model):
``L = phi((y - beta m) / S) / S * Phi(mu / sd)`` with ``m = (x - T) / T``,
``S^2 = beta^2 r^2 + s^2``, ``mu = m + beta r^2 (y - beta m) / S^2``,
``sd = r s / S``; an absent MEP gives ``Phi(-m / r)`` as before. A small
mixture weight ``amplitude_lapse`` keeps an amplitude that fits no curve from
dominating: with that weight a present MEP counts as yes/no only.

Amplitudes that carry no information (a clipped or saturating amplifier, a
system that reports a placeholder for every MEP) would be read as real ones and
bias the estimate (a constant 500 uV reads as "well above threshold" at any
intensity). The engine therefore keeps, beside the amplitude posterior, the
yes/no posterior of the same pulses on the same grid; as soon as two present
MEPs of a subject have the same amplitude (to a relative 1e-9: a real EMG
peak-to-peak is a continuous quantity, a clipped or placeholder one repeats),
that subject's amplitudes are treated as uninformative from then on and for
every earlier pulse: its posterior becomes the yes/no posterior and its pulses
go at the posterior mean (``offset_sd`` 0), as the yes/no Bayesian hunt
(``hunt_psi(placement="estimate")``). ``repeat_fallback=False`` turns this off.

The posterior lives on a grid of (threshold, relative spread ``r``, slope
``beta``), the nuisances ``r`` and ``beta`` marginalised; ``s`` is fixed.
Priors (deliberately not the simulator's sampling distributions):
``r`` log-normal (median 0.07, log SD 0.5, as :func:`~plptms.motor.hunt_psi`);
``beta`` log-normal with median 12 per unit of relative intensity (the
simulator's foot slope is about 14.8) and log SD 0.5; ``s = 0.7`` (the simulator
uses 0.5 on the part above the criterion). Pulses go at the posterior mean of
the threshold plus ``offset_sd`` (default 0.5) times the posterior-mean spread ``r T``:
above threshold most MEPs are present and each carries its amplitude, where a
yes/no pulse carries most at the threshold itself (:footcite:`qi2011` place it
at the estimate). The stop is on the posterior SD of the threshold.

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

import numpy as np

from ..utils import check_range, check_type
from . import _constants as C
from ._threshold import (
    _NUMBER,
    ThresholdMethod,
    _check_common,
    _Engine,
    _round_to,
    _settle_posterior,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["amplitude_log_likelihood"]

#: Prior median of the foot slope ``beta`` of the log-amplitude, per unit of
#: relative intensity (x / T). A plptms choice: a Boltzmann recruitment curve
#: with SI50 at 127.5 % RMT (Pitcher et al., 2015) and a plateau of 1-5 mV has a
#: foot slope ln(M / c - 1) / 0.275 of about 11-17; 12 is deliberately below
#: the simulator's 14.8. [pitcher2015] [simdesign]
AMP_SLOPE_PRIOR_MEDIAN: Final[float] = 12.0
#: SD of the natural logarithm of the slope prior (a factor 1.65 either way).
#: [simdesign]
AMP_SLOPE_PRIOR_LOG_SD: Final[float] = 0.5
#: Output-side noise: SD of ln(MEP) given the excitation, after the two-source
#: model of Goetz et al. (2014; the value is a plptms choice, larger than the
#: simulator's 0.5, not verified against the paper's fits). [goetz2014]
AMP_OUTPUT_LOG_SD: Final[float] = 0.7
#: Weight of the "amplitude uninformative" component of a present MEP.
AMP_LAPSE: Final[float] = 0.05
#: Pulse placement: posterior-mean threshold + this many spreads (r T).
AMP_OFFSET_SD: Final[float] = 0.5
#: Density given to y = ln(A / c) by the uninformative component: uniform on
#: [0, 10] (1 / 10 per unit of ln amplitude).
_LAPSE_DENSITY = 0.1
#: Relative tolerance under which two present MEP amplitudes count as the same
#: value (a repeat: clipped or placeholder amplitudes).
_REPEAT_RTOL = 1e-9
#: Slope grid points (log-spaced over +/- 2 prior log SDs).
_N_SLOPE = 5
#: Relative-spread grid (as the Psi engine's range, fewer points).
_R_GRID = (0.02, 0.30, 6)
#: Threshold grid, % MSO: start, stop (exclusive), step.
_T_GRID = (20.0, 110.0 + 1e-9, 0.5)


def _log_ndtr(z: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import log_ndtr  # type: ignore[import-untyped]

    return np.asarray(log_ndtr(z), dtype=np.float64)


def _log_lik(
    m: NDArray[np.float64],
    r: NDArray[np.float64],
    beta: NDArray[np.float64],
    y: NDArray[np.float64],
    present: NDArray[np.bool_],
    s: float,
    lapse: float,
) -> NDArray[np.float64]:
    """Log-likelihood per grid point; ``m, r, beta`` broadcast with ``y, present``.

    ``m = (x - T) / T``; ``y = ln(A / c)`` (ignored where absent).
    """
    log_absent = _log_ndtr(-m / r)
    s2 = beta**2 * r**2 + s**2
    big_s = np.sqrt(s2)
    resid = y - beta * m
    mu = m + beta * r**2 * resid / s2
    sd = r * s / big_s
    log_amp = (
        -0.5 * (resid / big_s) ** 2
        - np.log(big_s)
        - 0.5 * math.log(2.0 * math.pi)
        + _log_ndtr(mu / sd)
    )
    if lapse > 0.0:
        log_yes = _log_ndtr(m / r) + math.log(lapse * _LAPSE_DENSITY)
        log_amp = np.logaddexp(math.log1p(-lapse) + log_amp, log_yes)
    return np.asarray(np.where(present, log_amp, log_absent), dtype=np.float64)


def amplitude_log_likelihood(
    intensity_pct_mso: float,
    amplitude_uv: float,
    *,
    threshold_pct_mso: float,
    relative_spread: float,
    slope: float,
    output_log_sd: float = AMP_OUTPUT_LOG_SD,
    amplitude_lapse: float = 0.0,
    mep_threshold_uv: float = C.MEP_PRESENT_UV,
) -> float:
    """Log-likelihood of one pulse's MEP amplitude under the linearised model.

    An MEP below the criterion contributes ``ln Phi(-(x - T) / (r T))``; one at
    or above it the log of the censored bivariate-normal density of
    ``y = ln(A / c)`` described in the module docstring (a density per unit of
    ``y``, so likelihoods of present MEPs compare between parameter values, not
    with absent ones).

    Parameters
    ----------
    intensity_pct_mso : float
        Pulse intensity ``x``, % MSO, in [0, 100].
    amplitude_uv : float
        Peak-to-peak MEP amplitude ``A``, uV, >= 0.
    threshold_pct_mso : float
        Threshold ``T``, % MSO, in (0, 200].
    relative_spread : float
        Relative spread ``r`` of the excitation, in (0, 1].
    slope : float
        Foot slope ``beta`` of ``ln(A / c)`` per unit of ``x / T``, in (0, 1000].
    output_log_sd : float
        Output noise ``s``, SD of ``ln A`` given the excitation, in (0, 5].
    amplitude_lapse : float
        Weight of the uninformative component, in [0, 0.5].
    mep_threshold_uv : float
        MEP criterion ``c``, uV, in (0, 10000].

    Returns
    -------
    log_likelihood : float
        The log-likelihood.

    Raises
    ------
    TypeError
        If an argument is not a number.
    ValueError
        If an argument is out of range.
    """
    for name, value in (
        ("intensity_pct_mso", intensity_pct_mso),
        ("amplitude_uv", amplitude_uv),
        ("threshold_pct_mso", threshold_pct_mso),
        ("relative_spread", relative_spread),
        ("slope", slope),
    ):
        check_type(value, _NUMBER, name)
    x = check_range(intensity_pct_mso, "intensity_pct_mso", 0.0, C.MAX_PCT_MSO)
    a = check_range(amplitude_uv, "amplitude_uv", 0.0, None, unit="uV")
    t = check_range(
        threshold_pct_mso, "threshold_pct_mso", 0.0, 200.0, low_inclusive=False
    )
    r = check_range(relative_spread, "relative_spread", 0.0, 1.0, low_inclusive=False)
    b = check_range(slope, "slope", 0.0, 1000.0, low_inclusive=False)
    s, lapse = _check_noise(output_log_sd, amplitude_lapse)
    c = _check_common(mep_threshold_uv)
    present = a >= c
    y = math.log(a / c) if present else 0.0
    out = _log_lik(
        np.array([(x - t) / t]),
        np.array([r]),
        np.array([b]),
        np.array([y]),
        np.array([present]),
        s,
        lapse,
    )
    return float(out[0])


def _check_noise(output_log_sd: float, amplitude_lapse: float) -> tuple[float, float]:
    check_type(output_log_sd, _NUMBER, "output_log_sd")
    check_type(amplitude_lapse, _NUMBER, "amplitude_lapse")
    s = check_range(output_log_sd, "output_log_sd", 0.0, 5.0, low_inclusive=False)
    lapse = check_range(amplitude_lapse, "amplitude_lapse", 0.0, 0.5)
    return s, lapse


class _AmpPsi(_Engine):
    """Batch engine: posterior on (threshold, spread, slope) from amplitudes."""

    method = ThresholdMethod.PSI

    def __init__(
        self,
        n: int,
        start: NDArray[np.float64],
        *,
        prior_means: NDArray[np.float64],
        prior_sds: NDArray[np.float64],
        max_pulses: int,
        min_pulses: int,
        target_sd_pct_mso: float,
        resolution_pct_mso: float,
        offset_sd: float,
        output_log_sd: float,
        amplitude_lapse: float,
        slope_prior: tuple[float, float],
        spread_prior: tuple[float, float] = (
            C.PSI_PRIOR_SPREAD_MEDIAN,
            C.PSI_PRIOR_SPREAD_LOG_SD,
        ),
        grid: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
        | None = None,
        repeat_fallback: bool = True,
    ) -> None:
        super().__init__(n)
        if grid is None:
            t_grid = np.round(np.arange(*_T_GRID), 6)
            r_grid = np.geomspace(*_R_GRID[:2], _R_GRID[2])
            med, lsd = slope_prior
            b_grid = med * np.exp(np.linspace(-2.0 * lsd, 2.0 * lsd, _N_SLOPE))
        else:
            t_grid, r_grid, b_grid = grid
        tt, rr, bb = np.meshgrid(t_grid, r_grid, b_grid, indexing="ij")
        self.theta_t = tt.ravel()
        self.theta_r = rr.ravel()
        self.theta_b = bb.ravel()
        self._n_slope = int(b_grid.size)
        self.s = output_log_sd
        self.lapse = amplitude_lapse
        self.max_pulses = max_pulses
        self.min_pulses = min_pulses
        self.target_sd = target_sd_pct_mso
        self.resolution = resolution_pct_mso
        self.offset_sd = offset_sd
        r_med, r_lsd = spread_prior
        b_med, b_lsd = slope_prior
        w = -0.5 * (np.log(self.theta_r / r_med) / r_lsd) ** 2
        w = w - 0.5 * (np.log(self.theta_b / b_med) / b_lsd) ** 2
        z = (self.theta_t[None, :] - prior_means[:, None]) / prior_sds[:, None]
        logp = w[None, :] - 0.5 * z**2
        self.log_post = logp - logp.max(axis=1, keepdims=True)
        #: Yes/no posterior of the same pulses (the fallback).
        self.log_bin = self.log_post.copy()
        self.repeat_fallback = repeat_fallback
        #: Subjects whose amplitudes repeated (now hunted on yes/no only).
        self.degraded = np.zeros(n, dtype=bool)
        #: Present MEP amplitudes seen so far per subject (NaN: none).
        self._seen = np.full((n, max_pulses), np.nan)
        self.next_x = start.astype(np.float64).copy()

    def propose(self, idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.asarray(self.next_x[idx], dtype=np.float64)

    def observe_amplitude(
        self,
        idx: NDArray[np.intp],
        x: NDArray[np.float64],
        amplitude_uv: NDArray[np.float64],
        criterion_uv: float,
    ) -> None:
        """Update the posterior of subjects ``idx`` with one pulse each."""
        self.pulses[idx] += 1
        present = amplitude_uv >= criterion_uv
        y = np.where(
            present, np.log(np.maximum(amplitude_uv, criterion_uv) / criterion_uv), 0.0
        )
        m = (x[:, None] - self.theta_t[None, :]) / self.theta_t[None, :]
        ll = _log_lik(
            m,
            self.theta_r[None, :],
            self.theta_b[None, :],
            y[:, None],
            present[:, None],
            self.s,
            self.lapse,
        )
        lp = self.log_post[idx] + ll
        lp -= lp.max(axis=1, keepdims=True)
        self.log_post[idx] = lp
        degraded = self._update_fallback(idx, m, present, amplitude_uv)
        if degraded.any():
            lp[degraded] = self.log_bin[idx[degraded]]
        post = np.exp(lp)
        post /= post.sum(axis=1, keepdims=True)
        spread = post @ (self.theta_r * self.theta_t)
        mean, _, live = _settle_posterior(self, idx, post, self.theta_t)
        if live.any():
            offset = np.where(degraded, 0.0, self.offset_sd)
            nxt = mean[live] + offset[live] * spread[live]
            nxt = np.clip(
                _round_to(nxt, self.resolution), self.resolution, C.MAX_PCT_MSO
            )
            self.next_x[idx[live]] = nxt

    def _update_fallback(
        self,
        idx: NDArray[np.intp],
        m: NDArray[np.float64],
        present: NDArray[np.bool_],
        amplitude_uv: NDArray[np.float64],
    ) -> NDArray[np.bool_]:
        """Update the yes/no posterior and the repeat check; degraded flags of idx."""
        if not self.repeat_fallback:
            return np.zeros(idx.size, dtype=bool)
        # The yes/no likelihood does not depend on the slope (the last, fastest
        # grid axis): compute it once per (threshold, spread) and repeat it.
        nb = self._n_slope
        z = m[:, ::nb] / self.theta_r[None, ::nb]
        ll_bin = np.repeat(_log_ndtr(np.where(present[:, None], z, -z)), nb, axis=1)
        lb = self.log_bin[idx] + ll_bin
        self.log_bin[idx] = lb - lb.max(axis=1, keepdims=True)
        seen = self._seen[idx]
        k = self.pulses[idx] - 1
        rep = np.isclose(seen, amplitude_uv[:, None], rtol=_REPEAT_RTOL, atol=0.0).any(
            axis=1
        )
        self.degraded[idx] |= present & rep
        rows = np.flatnonzero(present)
        self._seen[idx[rows], k[rows]] = amplitude_uv[rows]
        return np.asarray(self.degraded[idx], dtype=np.bool_)
