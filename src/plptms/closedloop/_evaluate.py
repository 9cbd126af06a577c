"""Offline replay of a recording through the trigger, and its polar histogram.

:func:`replay` pushes a recording through a :class:`~plptms.closedloop.PhaseTrigger`
chunk by chunk, exactly as a stream would, and keeps every decision that fired
with the compute time of every decision that estimated a phase. The phase of the
ground truth at the fired samples is then summarised by
:func:`~plptms.closedloop.phase_accuracy` and drawn by :func:`polar_histogram`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from ..utils import check_range
from ._circular import circular_mean, wrap_phase
from ._trigger import TriggerStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from matplotlib.figure import Figure
    from matplotlib.projections.polar import PolarAxes
    from numpy.typing import ArrayLike, NDArray

    from ._trigger import PhaseTrigger, TriggerDecision

__all__ = ["ReplayResult", "polar_histogram", "replay"]

_ESTIMATED = {
    TriggerStatus.FIRE,
    TriggerStatus.WAIT_PHASE,
    TriggerStatus.LOW_POWER,
    TriggerStatus.POOR_SIGNAL,
    TriggerStatus.GATE_REFUSED,
}


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay produced.

    Attributes
    ----------
    fired : tuple of TriggerDecision
        Decisions that fired, in order.
    fire_samples : ndarray of int
        Sample index at which each pulse should land (newest sample plus the
        horizon), into the replayed recording.
    compute_s : ndarray of float, s
        Wall time of :meth:`PhaseTrigger.push` for every decision that estimated a
        phase (the per-decision compute cost).
    status_counts : dict of str to int
        Decisions per status.
    """

    fired: tuple[TriggerDecision, ...]
    fire_samples: NDArray[np.intp]
    compute_s: NDArray[np.float64]
    status_counts: dict[str, int]

    @property
    def estimated_phase_rad(self) -> NDArray[np.float64]:
        """Estimated phase at each trigger, rad."""
        return np.asarray([d.phase_rad for d in self.fired], dtype=float)


def replay(
    trigger: PhaseTrigger,
    data: ArrayLike,
    *,
    chunk_size: int = 1,
    t0_s: float = 0.0,
) -> ReplayResult:
    """Push a recording through a trigger as a stream would.

    Parameters
    ----------
    trigger : PhaseTrigger
        A fresh trigger (its gate and state are used as they are).
    data : array-like of float, shape (n_times, n_channels)
        The recording in the trigger's channel order, at its sampling rate.
    chunk_size : int
        Samples per push, in [1, 1000].
    t0_s : float, s
        Timestamp of the first sample.

    Returns
    -------
    result : ReplayResult
        Fired decisions, their sample indices and the compute times.

    Raises
    ------
    ValueError
        If ``chunk_size`` is out of range.
    """
    check_range(chunk_size, "chunk_size", 1, 1000)
    x = np.asarray(data, dtype=float)
    n = x.shape[0]
    fs = trigger.sfreq_hz
    horizon = round(trigger.policy.horizon_s * fs)
    ts_all = t0_s + np.arange(n) / fs
    fired: list[TriggerDecision] = []
    samples: list[int] = []
    compute: list[float] = []
    counts: dict[str, int] = {}
    perf = time.perf_counter
    step = int(chunk_size)
    for start in range(0, n, step):
        stop = min(n, start + step)
        t = perf()
        d = trigger.push(x[start:stop], ts_all[start:stop])
        dt = perf() - t
        counts[d.status.value] = counts.get(d.status.value, 0) + 1
        if d.status in _ESTIMATED:
            compute.append(dt)
        if d.fire:
            fired.append(d)
            samples.append(stop - 1 + horizon)
    return ReplayResult(
        fired=tuple(fired),
        fire_samples=np.asarray(samples, dtype=np.intp),
        compute_s=np.asarray(compute, dtype=float),
        status_counts=counts,
    )


def polar_histogram(
    phases_rad: Mapping[str, ArrayLike],
    target_rad: float,
    *,
    title: str = "",
    n_bins: int = 24,
) -> Figure:
    """Polar histograms of the true phase at the triggers, one panel per condition.

    Parameters
    ----------
    phases_rad : mapping of str to array-like of float, rad
        Condition label (e.g. ``"SNR 5 dB"``) to the ground-truth phases at its
        triggers.
    target_rad : float, rad
        Target phase, drawn as a line (cosine convention: pi = trough).
    title : str
        Figure title.
    n_bins : int
        Bins over the circle, in [4, 360].

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure (no pyplot state is touched); save it with ``savefig``.

    Raises
    ------
    ValueError
        If there is no condition or ``n_bins`` is out of range.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    check_range(n_bins, "n_bins", 4, 360)
    if not phases_rad:
        raise ValueError(
            "Invalid value for 'phases_rad': got an empty mapping; allowed: at least "
            "one condition."
        )
    n = len(phases_rad)
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.0 * ncols, 3.0 * nrows + 0.7), layout="constrained")
    edges = np.linspace(-math.pi, math.pi, int(n_bins) + 1)
    width = edges[1] - edges[0]
    for k, (label, values) in enumerate(phases_rad.items()):
        ax = cast("PolarAxes", fig.add_subplot(nrows, ncols, k + 1, projection="polar"))
        ph = wrap_phase(np.asarray(values, dtype=float))
        counts, _ = np.histogram(ph, bins=edges)
        ax.bar(
            edges[:-1] + width / 2,
            counts,
            width=width * 0.95,
            color="tab:blue",
            alpha=0.75,
            edgecolor="white",
        )
        top = max(1, int(counts.max()) if counts.size else 1)
        ax.plot([target_rad, target_rad], [0, top], color="tab:red", lw=2)
        if ph.size:
            mean = circular_mean(ph)
            r = float(np.abs(np.mean(np.exp(1j * ph))))
            ax.annotate(
                "",
                xy=(mean, r * top),
                xytext=(0, 0),
                arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.5},
            )
        ax.set_title(f"{label}\n(n = {ph.size})", fontsize=9, pad=8)
        ax.set_xticks(np.radians([0, 90, 180, 270]))
        ax.set_xticklabels(["0\npeak", "90", "180\ntrough", "270"], fontsize=7)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_rlabel_position(67.5)
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    note = "red: target phase; arrow: circular mean (length = R x tallest bar)"
    fig.suptitle(f"{title}\n{note}" if title else note, fontsize=9)
    return fig
