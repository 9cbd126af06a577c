"""Input checks shared by the whole package.

Every message names the field, the value received and what is allowed, with units,
following MNE-Python's ``_check_option`` and PyMARE's ``Interval.check`` wording.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import numbers
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "check_finite",
    "check_not_future",
    "check_option",
    "check_range",
    "check_strict_date",
    "check_strict_number",
    "check_type",
    "format_range",
    "short_repr",
]


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def short_repr(value: Any) -> str:
    """Return the ``repr`` of a received value, cut short (an input may be huge).

    Parameters
    ----------
    value : object
        The value received.

    Returns
    -------
    text : str
        Its ``repr``, at most about 80 characters.
    """
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4300 digits has no repr
        return f"a {type(value).__name__} too long to show"
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


_short = short_repr


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
    try:
        fvalue = float(value)
    except OverflowError:  # an int too large for a float
        fvalue = math.inf
    if not math.isfinite(fvalue):
        raise ValueError(
            f"Invalid value for {field!r}: got {_short(value)}; allowed: a finite "
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
            f"Invalid value for {field!r}: got {_short(value)}; allowed range is "
            f"{interval}."
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


def check_strict_number(
    value: Any,
    field: str,
    *,
    integer: bool = False,
    unit: str = "",
    unreported: bool = False,
) -> int | float:
    """Refuse anything but a real number in parsed input (for pydantic validators).

    Data files and API bodies are parsed before they are validated, and a lax
    parser turns ``true`` into 1 and ``"20"`` into 20. This check runs first: it
    accepts only ``int`` and ``float`` (and other real numbers such as NumPy's),
    never ``bool`` or text, and only finite values. It raises ``ValueError``, not
    ``TypeError``, because pydantic reports only ``ValueError`` as a field error.

    Parameters
    ----------
    value : object
        The parsed value.
    field : str
        Name of the field, used in the message.
    integer : bool
        Whether a whole number is required; a float with an integral value (e.g.
        ``50.0``) is returned as an ``int``.
    unit : str
        Unit for the message.
    unreported : bool
        Whether the field also takes ``'unreported'`` (checked by the caller); only
        changes the message.

    Returns
    -------
    value : int | float
        The value (an ``int`` when ``integer``).

    Raises
    ------
    ValueError
        If the value is a bool, text or another non-number, not finite, or (with
        ``integer``) not a whole number, e.g. ``Invalid value for
        'intensity_pct_rmt': got True (bool); allowed: a finite number in % RMT,
        not a bool or text.``
    """
    kind = "a whole number" if integer else "a finite number"
    allowed = f"{kind}{' in ' + unit if unit else ''}"
    if unreported:
        allowed += " or 'unreported'"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"Invalid value for {field!r}: got {_short(value)} "
            f"({type(value).__name__}); allowed: {allowed}, not a bool or text."
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        fvalue = float(value)
    except OverflowError:  # pragma: no cover - a real too large for a float
        fvalue = math.inf
    if not math.isfinite(fvalue):
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: {allowed}."
        )
    if integer:
        if not fvalue.is_integer():
            raise ValueError(
                f"Invalid value for {field!r}: got {value!r}; allowed: {allowed}."
            )
        return int(fvalue)
    return fvalue


def check_strict_date(value: Any, field: str) -> Any:
    """Refuse a number or bool where a date is meant (for pydantic validators).

    A lax parser reads a number as a Unix timestamp (``0`` is 1970-01-01). Dates,
    datetimes and ``YYYY-MM-DD`` text pass through unchanged, for pydantic to
    parse.

    Parameters
    ----------
    value : object
        The parsed value.
    field : str
        Name of the field, used in the message.

    Returns
    -------
    value : object
        The value, unchanged.

    Raises
    ------
    ValueError
        If the value is a bool or a number.
    """
    if isinstance(value, bool | numbers.Number):
        raise ValueError(
            f"Invalid value for {field!r}: got {_short(value)} "
            f"({type(value).__name__}); allowed: a date, YYYY-MM-DD."
        )
    return value


def check_not_future(value: dt.date, field: str) -> dt.date:
    """Refuse a date after today.

    "Today" is the local calendar date, :meth:`datetime.date.today`; this is the
    one place that decides it.

    Parameters
    ----------
    value : datetime.date
        The date (a datetime is compared by its date).
    field : str
        Name of the field, used in the message.

    Returns
    -------
    value : datetime.date
        The value, unchanged.

    Raises
    ------
    ValueError
        If the date lies in the future, e.g. ``Invalid value for 'screened_on':
        got 2099-01-01; allowed: a date not in the future (on or before
        2025-06-01).``
    """
    day = value.date() if isinstance(value, dt.datetime) else value
    from ._clock import clinic_today

    today = clinic_today()
    if day > today:
        raise ValueError(
            f"Invalid value for {field!r}: got {day.isoformat()}; allowed: a date "
            f"not in the future (on or before {today.isoformat()})."
        )
    return value
