"""Input checks shared by the whole package.

Every message names the field, the value received and what is allowed, with units,
following MNE-Python's ``_check_option`` and PyMARE's ``Interval.check`` wording.
"""

from __future__ import annotations

import difflib
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "check_finite",
    "check_option",
    "check_range",
    "check_type",
    "format_range",
]


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def format_range(
    low: float | None,
    high: float | None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
) -> str:
    """Format an interval in bracket notation, e.g. ``[0.5, 20.0] Hz``.

    Parameters
    ----------
    low, high : float | None
        Bounds; ``None`` means unbounded.
    low_inclusive, high_inclusive : bool
        Whether each bound is included.
    unit : str
        Unit appended after the interval.

    Returns
    -------
    text : str
        The interval as text.
    """
    left = "[" if (low_inclusive and low is not None) else "("
    right = "]" if (high_inclusive and high is not None) else ")"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}{_unit(unit)}"


def check_type(value: Any, types: type | tuple[type, ...], field: str) -> None:
    """Raise ``TypeError`` naming ``field`` when ``value`` is not of ``types``.

    Parameters
    ----------
    value : object
        The value to check.
    types : type | tuple of type
        Allowed types.
    field : str
        Name of the field, used in the message.

    Raises
    ------
    TypeError
        If the type is wrong. ``bool`` is never accepted as a number.
    """
    tup = types if isinstance(types, tuple) else (types,)
    is_bool_as_number = isinstance(value, bool) and bool not in tup
    if is_bool_as_number or not isinstance(value, tup):
        names = ", ".join(t.__name__ for t in tup)
        raise TypeError(
            f"Invalid type for {field!r}: got {type(value).__name__} ({value!r}); "
            f"allowed: {names}."
        )


def check_finite(value: float, field: str, unit: str = "") -> float:
    """Raise ``ValueError`` unless ``value`` is a finite number.

    Parameters
    ----------
    value : float
        The value.
    field : str
        Name of the field.
    unit : str
        Unit for the message.

    Returns
    -------
    value : float
        The value as a float.

    Raises
    ------
    ValueError
        If the value is NaN or infinite.
    """
    fvalue = float(value)
    if not math.isfinite(fvalue):
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a finite "
            f"number{_unit(unit)}."
        )
    return fvalue


def check_range(
    value: float,
    field: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
) -> float:
    """Raise ``ValueError`` unless ``value`` lies in the interval.

    Parameters
    ----------
    value : float
        The value.
    field : str
        Name of the field.
    low, high : float | None
        Bounds; ``None`` means unbounded.
    low_inclusive, high_inclusive : bool
        Whether each bound is included.
    unit : str
        Unit for the message.

    Returns
    -------
    value : float
        The value as a float.

    Raises
    ------
    ValueError
        If the value is not finite or lies outside the interval; the message reads
        ``Invalid value for 'frequency_hz': got 25.0; allowed range is [0.5, 20] Hz.``
    """
    fvalue = check_finite(value, field, unit)
    ok_low = low is None or (fvalue >= low if low_inclusive else fvalue > low)
    ok_high = high is None or (fvalue <= high if high_inclusive else fvalue < high)
    if not (ok_low and ok_high):
        interval = format_range(
            low,
            high,
            low_inclusive=low_inclusive,
            high_inclusive=high_inclusive,
            unit=unit,
        )
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed range is {interval}."
        )
    return fvalue


def check_option(value: Any, field: str, allowed: Iterable[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``.

    Parameters
    ----------
    value : object
        The value.
    field : str
        Name of the field.
    allowed : iterable
        The allowed values.

    Returns
    -------
    value : object
        The value, unchanged.

    Raises
    ------
    ValueError
        If the value is not allowed; the message lists the options and suggests the
        closest one, as MNE-Python's ``_check_option`` does.
    """
    options = list(allowed)
    if value in options:
        return value
    text = ", ".join(repr(o) for o in options)
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [str(o) for o in options], n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    raise ValueError(
        f"Invalid value for {field!r}: got {value!r}; allowed values are {text}.{hint}"
    )
