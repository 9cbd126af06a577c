"""The state space model of SSPE: parameters, matrices and the steady-state filter.

Split from :mod:`plptms.closedloop._sspe` (which re-exports these names): the
damped-oscillator model of :footcite:t:`matsuda2017` as used by
:footcite:t:`wodeyar2021`, with an optional autoregressive background, its
transition and observation matrices, one Kalman step, the steady-state gain from
the discrete algebraic Riccati equation and the steady-state filter.

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SSPEModel", "kalman_step"]


@dataclass(frozen=True, slots=True)
class SSPEModel:
    """Parameters of the oscillator state space model.

    Attributes
    ----------
    sfreq_hz : float, Hz
        Sampling rate the model was fitted at.
    freqs_hz : tuple of float, Hz
        Centre frequency of each oscillator.
    damping : tuple of float
        Damping ``a_k`` of each oscillator, in (0, 1).
    state_var : tuple of float
        State noise variance ``sigma_k^2`` of each oscillator (input unit squared).
    obs_var : float
        Observation noise variance ``r`` (input unit squared).
    target : int
        Index of the oscillator whose phase is estimated.
    n_iter : int
        EM iterations run (0 for a model given by hand).
    log_likelihood : float
        Log-likelihood per sample of the training segment at the fitted
        parameters (nats; ``nan`` for a model given by hand).
    ar_coefs : tuple of float
        Coefficients ``phi_1..phi_p`` of an autoregressive background
        ``n_t = sum_k phi_k n_{t-k} + e_t`` added to the observation (empty: no
        background component, the white observation noise alone).
    ar_var : float
        Innovation variance of that background (input unit squared; 0 when
        ``ar_coefs`` is empty).
    """

    sfreq_hz: float
    freqs_hz: tuple[float, ...]
    damping: tuple[float, ...]
    state_var: tuple[float, ...]
    obs_var: float
    target: int = 0
    n_iter: int = 0
    log_likelihood: float = math.nan
    ar_coefs: tuple[float, ...] = ()
    ar_var: float = 0.0

    def __post_init__(self) -> None:
        # a JSON round trip gives a list: store a tuple of floats
        object.__setattr__(self, "ar_coefs", tuple(float(c) for c in self.ar_coefs))
        k = len(self.freqs_hz)
        if k == 0 or len(self.damping) != k or len(self.state_var) != k:
            raise ValueError(
                f"Invalid value for 'freqs_hz': got {k} oscillators with "
                f"{len(self.damping)} damping and {len(self.state_var)} state "
                "variance values; allowed: the same number (at least 1) of each."
            )
        check_range(self.sfreq_hz, "sfreq_hz", 100.0, 20000.0, unit="Hz")
        for f in self.freqs_hz:
            check_range(f, "freqs_hz", 0.0, self.sfreq_hz / 2.0, unit="Hz")
        for a in self.damping:
            check_range(
                a, "damping", 0.0, 1.0, low_inclusive=False, high_inclusive=False
            )
        for s in self.state_var:
            check_range(s, "state_var", 0.0, None, low_inclusive=False)
        check_range(self.obs_var, "obs_var", 0.0, None, low_inclusive=False)
        check_range(self.target, "target", 0, k - 1)
        if self.ar_coefs:
            check_range(len(self.ar_coefs), "ar_coefs", 2, 200)
            check_range(self.ar_var, "ar_var", 0.0, None, low_inclusive=False)
            roots = np.roots(np.r_[1.0, -np.asarray(self.ar_coefs)])
            if np.max(np.abs(roots)) >= 1.0:
                raise ValueError(
                    f"Invalid value for 'ar_coefs': got a background with a root "
                    f"of modulus {np.max(np.abs(roots)):.6f}; allowed: all roots "
                    "inside the unit circle (a stationary background)."
                )
        elif self.ar_var != 0.0:
            raise ValueError(
                f"Invalid value for 'ar_var': got {self.ar_var}; allowed: 0 when "
                "'ar_coefs' is empty."
            )

    @property
    def target_hz(self) -> float:
        """Frequency of the target oscillator, Hz."""
        return self.freqs_hz[self.target]


def _rotation(omega: float) -> NDArray[np.float64]:
    c, s = math.cos(omega), math.sin(omega)
    return np.array([[c, -s], [s, c]])


def _matrices(
    model: SSPEModel,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Transition ``F``, state covariance ``Q`` and observation row ``H``."""
    k = len(model.freqs_hz)
    f_mat = np.zeros((2 * k, 2 * k))
    q_diag = np.zeros(2 * k)
    for i, (f, a, s) in enumerate(
        zip(model.freqs_hz, model.damping, model.state_var, strict=True)
    ):
        omega = 2.0 * math.pi * f / model.sfreq_hz
        f_mat[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = a * _rotation(omega)
        q_diag[2 * i : 2 * i + 2] = s
    h = np.zeros(2 * k)
    h[0::2] = 1.0
    p = len(model.ar_coefs)
    if p:
        # companion block of the AR background, observed through its first lag
        d = 2 * k + p
        f_full = np.zeros((d, d))
        f_full[: 2 * k, : 2 * k] = f_mat
        f_full[2 * k, 2 * k :] = model.ar_coefs
        f_full[2 * k + 1 :, 2 * k : d - 1] = np.eye(p - 1)
        q_full = np.zeros(d)
        q_full[: 2 * k] = q_diag
        q_full[2 * k] = model.ar_var
        h_full = np.zeros(d)
        h_full[: 2 * k] = h
        h_full[2 * k] = 1.0
        return f_full, np.diag(q_full), h_full
    return f_mat, np.diag(q_diag), h


def kalman_step(
    x: NDArray[np.float64],
    p: NDArray[np.float64],
    y: float,
    f_mat: NDArray[np.float64],
    q: NDArray[np.float64],
    h: NDArray[np.float64],
    r: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One predict-update step of the Kalman filter (scalar observation).

    Parameters
    ----------
    x, p : ndarray
        Filtered mean and covariance at ``t - 1``.
    y : float
        Observation at ``t``.
    f_mat, q : ndarray
        Transition matrix and state noise covariance.
    h : ndarray
        Observation row.
    r : float
        Observation noise variance.

    Returns
    -------
    x, p : ndarray
        Filtered mean and covariance at ``t``.
    """
    x_pred = f_mat @ x
    p_pred = f_mat @ p @ f_mat.T + q
    s = float(h @ p_pred @ h) + r
    gain = p_pred @ h / s
    x_new = x_pred + gain * (y - float(h @ x_pred))
    p_new = p_pred - np.outer(gain, h @ p_pred)
    return x_new, 0.5 * (p_new + p_new.T)


@dataclass(frozen=True, slots=True)
class _SteadyState:
    f_mat: NDArray[np.float64]
    h: NDArray[np.float64]
    p_pred: NDArray[np.float64]
    p_filt: NDArray[np.float64]
    gain: NDArray[np.float64]
    innov_var: float


def _steady_state(model: SSPEModel) -> _SteadyState:
    from scipy.linalg import solve_discrete_are  # type: ignore[import-untyped]

    f_mat, q, h = _matrices(model)
    r = np.array([[model.obs_var]])
    # filter Riccati equation = control DARE of the dual system (F', H')
    p_pred = solve_discrete_are(f_mat.T, h[:, None], q, r)
    p_pred = 0.5 * (p_pred + p_pred.T)
    s = float(h @ p_pred @ h) + model.obs_var
    gain = p_pred @ h / s
    p_filt = p_pred - np.outer(gain, h @ p_pred)
    return _SteadyState(f_mat, h, p_pred, 0.5 * (p_filt + p_filt.T), gain, s)


def _recursion(
    a_mat: NDArray[np.float64], u: NDArray[np.float64], s0: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``s_t = A s_{t-1} + u_t`` for all rows of ``u``, with ``s_{-1} = s0``.

    ``A`` is diagonalised, ``A = V diag(lambda) V^-1``, and each mode runs as a
    first-order complex recursion in :func:`scipy.signal.lfilter` (C speed, and
    numerically stable where a 2K-order transfer function would not be).
    """
    from scipy.signal import lfilter  # type: ignore[import-untyped]

    lam, vec = np.linalg.eig(a_mat)
    inv = np.linalg.inv(vec)
    modes_u = u @ inv.T  # (n, d) complex
    z0 = inv @ s0
    out = np.empty(modes_u.shape, dtype=complex)
    for i, li in enumerate(lam):
        zi = np.array([li * z0[i]])
        out[:, i], _ = lfilter([1.0], [1.0, -li], modes_u[:, i], zi=zi)
    return np.asarray((out @ vec.T).real, dtype=float)


def _filter(
    ss: _SteadyState, y: NDArray[np.float64], x0: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Steady-state filtered means, shape (n, 2K), from ``x_{-1} = x0``."""
    kh = np.outer(ss.gain, ss.h)
    a_mat = (np.eye(ss.h.size) - kh) @ ss.f_mat
    return _recursion(a_mat, np.outer(y, ss.gain), x0)
