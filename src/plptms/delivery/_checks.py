"""Checks on stimulation requests: intensity and trains are refused, never clamped."""

from __future__ import annotations

import math

from ..utils import check_range, check_type
from ._constants import MSO_MAX_PCT, MSO_MIN_PCT
from ._interface import TrainRequest

__all__ = ["check_intensity", "check_train"]


def check_intensity(
    value: float, field: str = "intensity_pct_mso", *, whole: bool = False
) -> float:
    """Return ``value`` as a float after checking it is a settable intensity.

    Parameters
    ----------
    value : float
        Intensity, % MSO.
    field : str
        Name of the field, used in messages.
    whole : bool
        Also require a whole number of % MSO (devices with 1 % resolution).

    Returns
    -------
    value : float
        The intensity, % MSO, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not finite, outside [0, 100] % MSO, or not whole when ``whole``.
    """
    check_type(value, (int, float), field)
    fvalue = check_range(value, field, MSO_MIN_PCT, MSO_MAX_PCT, unit="% MSO")
    if whole and not float(fvalue).is_integer():
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a whole number of "
            "% MSO in [0, 100] (the device has 1 % MSO resolution; round it before "
            "calling, the driver never rounds)."
        )
    return fvalue


def check_train(train: TrainRequest, *, whole: bool = False) -> TrainRequest:
    """Check a train request before any pulse is fired.

    Parameters
    ----------
    train : TrainRequest
        The train.
    whole : bool
        Require a whole-number intensity.

    Returns
    -------
    train : TrainRequest
        The train, unchanged.

    Raises
    ------
    TypeError
        If ``train`` is not a :class:`TrainRequest`.
    ValueError
        If ``n_pulses`` < 1, the frequency is not a positive finite number (for more
        than one pulse) or the intensity is refused by :func:`check_intensity`.
    """
    check_type(train, TrainRequest, "train")
    check_range(train.n_pulses, "n_pulses", 1, None, unit="pulses")
    if train.n_pulses > 1:
        check_range(
            train.frequency_hz,
            "frequency_hz",
            0.0,
            None,
            low_inclusive=False,
            unit="Hz",
        )
    elif not math.isfinite(train.frequency_hz):
        check_range(train.frequency_hz, "frequency_hz", unit="Hz")
    check_intensity(train.intensity_pct_mso, whole=whole)
    return train
