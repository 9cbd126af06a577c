"""Helpers shared by the hardware drivers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from .._interface import PulseRecord, TrainRequest

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["TrainTiming", "inferred_pulses", "soft_import", "tenths"]

#: How a train is timed: by the host pulse by pulse, by the device, or chosen from
#: the train's rate.
TrainTiming = Literal["auto", "host", "device"]


def soft_import(name: str, package: str) -> ModuleType:
    """Import ``name`` when needed, with an install hint if it is missing.

    Parameters
    ----------
    name : str
        Module to import.
    package : str
        Distribution that provides it.

    Returns
    -------
    module : ModuleType
        The module.

    Raises
    ------
    ImportError
        With the ``pip install`` command to run.
    """
    from ...utils import soft_import as _soft

    return _soft(name, "drive this stimulator", package=package)


def tenths(value: float, field: str, unit: str) -> int:
    """Return ``value`` in tenths, refusing values that need a finer resolution.

    Parameters
    ----------
    value : float
        Value in base units.
    field : str
        Field name for the message.
    unit : str
        Unit for the message.

    Returns
    -------
    count : int
        ``value * 10`` as an integer.

    Raises
    ------
    ValueError
        If ``value`` is not a multiple of 0.1 (within 1e-9).
    """
    scaled = value * 10.0
    count = round(scaled)
    if not math.isfinite(scaled) or abs(scaled - count) > 1e-9:
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: multiples of "
            f"0.1 {unit} (the device has 0.1 {unit} resolution)."
        )
    return int(count)


def inferred_pulses(
    train: TrainRequest, t0_s: float, until_s: float, *, completed: bool
) -> tuple[PulseRecord, ...]:
    """Nominal pulses of a device-timed train that may have left by ``until_s``.

    Parameters
    ----------
    train : TrainRequest
        The train.
    t0_s : float
        When the start command was issued, s (the first pulse leaves then or soon
        after).
    until_s : float
        When the train was last known to be running or was stopped, s.
    completed : bool
        Whether the device reported the train complete (all pulses are returned).

    Returns
    -------
    pulses : tuple of PulseRecord
        Pulse ``k`` at ``t0_s + k / frequency_hz``, for every ``k`` due by
        ``until_s``: an upper bound on what the device fired.
    """
    period = 1.0 / train.frequency_hz if train.n_pulses > 1 else 0.0
    if completed:
        count = train.n_pulses
    elif period == 0.0:
        count = 1 if until_s >= t0_s else 0
    else:
        count = min(train.n_pulses, math.floor((until_s - t0_s) / period) + 1)
    return tuple(
        PulseRecord(
            index=k,
            t_monotonic_s=t0_s + k * period,
            intensity_pct_mso=train.intensity_pct_mso,
        )
        for k in range(max(0, count))
    )
