"""Percentage change in pain from baseline and IMMPACT responder classes.

The IMMPACT benchmarks for a decrease in pain intensity :footcite:`dworkin2008`
(Table 1) are 10-20 % (minimally important), at least 30 % (moderately important)
and at least 50 % (substantially important). The classes used here are:

==========================  ===========================================
change from baseline        class
==========================  ===========================================
< 10 % (or any worsening)   ``none``
>= 10 % and < 30 %          ``minimally_important``
>= 30 % and < 50 %          ``moderately_important``
>= 50 %                     ``substantially_important``
==========================  ===========================================

The paper gives 10-20 % as the spread of the minimal estimates, so its lower end is
the threshold; a decrease of 20 % up to 30 % exceeds the minimal benchmark without
reaching the moderate one and is classed as minimally important. The comparison
with each threshold allows an absolute tolerance of
:data:`~plptms.scales._constants.RESPONSE_THRESHOLD_ATOL_PCT` percentage points so
that float rounding does not move a change across a threshold. The same rules
apply at any follow-up time point.

Two other IMMPACT core domains have their own rules here. Global improvement: a
PGIC of "much improved" or "very much improved" (codes 1 and 2) marks a clinically
important improvement :footcite:`farrar2001` (:func:`is_pgic_responder`), and
:func:`classify_pgic` gives the IMMPACT tier of a PGIC code
:footcite:`dworkin2008`. Physical functioning: a decrease of at least 1 point in
the BPI interference score is minimally important :footcite:`dworkin2008`
(:func:`is_bpi_interference_responder`).

.. footbibliography::
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ..utils import check_finite, check_range, check_type
from ._constants import (
    BPI_INTERFERENCE_MIN_IMPORTANT_DECREASE,
    BPI_ITEM_MAX,
    IMMPACT_MINIMAL_PCT,
    IMMPACT_MODERATE_PCT,
    IMMPACT_SUBSTANTIAL_PCT,
    PGIC_MINIMAL_MAX_CODE,
    PGIC_RESPONDER_MAX_CODE,
    PGIC_SUBSTANTIAL_MAX_CODE,
    RESPONSE_THRESHOLD_ATOL_PCT,
)
from ._scoring import validate_item

__all__ = [
    "ResponderClass",
    "ResponseResult",
    "assess_response",
    "classify_percent_change",
    "classify_pgic",
    "classify_response",
    "is_bpi_interference_responder",
    "is_pgic_responder",
    "percent_change",
]

#: Absolute tolerance, in points, when a change in a 0-10 mean score is compared
#: with a threshold (numerical, not from the literature).
_POINTS_ATOL = 1e-9


class ResponderClass(StrEnum):
    """Clinical importance of a decrease in pain intensity (IMMPACT)."""

    #: Less than a 10 % decrease, no change, or a worsening.
    NONE = "none"
    #: A decrease of at least 10 % and less than 30 %.
    MINIMALLY_IMPORTANT = "minimally_important"
    #: A decrease of at least 30 % and less than 50 %.
    MODERATELY_IMPORTANT = "moderately_important"
    #: A decrease of at least 50 %.
    SUBSTANTIALLY_IMPORTANT = "substantially_important"


class ResponseResult(BaseModel):
    """Change in pain from baseline to one follow-up, and its IMMPACT class.

    Parameters
    ----------
    baseline : float
        Pain score at baseline (any pain intensity scale, > 0).
    follow_up : float
        Pain score at follow-up, same scale.
    percent_change : float
        Decrease as % of baseline; negative for a worsening.
    responder_class : ResponderClass
        IMMPACT class of the change.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: float
    follow_up: float
    percent_change: float
    responder_class: ResponderClass

    @property
    def worsened(self) -> bool:
        """Whether pain is higher at follow-up than at baseline."""
        return self.percent_change < 0


def percent_change(baseline: float, follow_up: float) -> float:
    """Return the decrease in pain as a percentage of baseline.

    ``(baseline - follow_up) / baseline * 100``: a reduction is positive, a
    worsening negative.

    Parameters
    ----------
    baseline : float
        Pain score at baseline; must be greater than 0.
    follow_up : float
        Pain score at follow-up on the same scale; must be 0 or more.

    Returns
    -------
    change_pct : float
        Change in % of baseline.

    Raises
    ------
    TypeError
        If a value is not a number (bools are refused).
    ValueError
        If a value is not finite or negative, or the baseline is 0 (the percentage
        change from no pain is undefined).
    """
    check_type(baseline, (int, float), "baseline")
    check_type(follow_up, (int, float), "follow_up")
    base = check_finite(baseline, "baseline")
    if base == 0:
        raise ValueError(
            f"Invalid value for 'baseline': got {baseline!r}; allowed range is "
            "(0, inf): the percentage change from a baseline of 0 is undefined."
        )
    check_range(base, "baseline", 0.0, None, low_inclusive=False)
    follow = check_range(follow_up, "follow_up", 0.0, None)
    return (base - follow) / base * 100.0


def classify_percent_change(change_pct: float) -> ResponderClass:
    """Return the IMMPACT class of a percentage decrease in pain.

    Parameters
    ----------
    change_pct : float
        Decrease as % of baseline (negative for a worsening).

    Returns
    -------
    responder_class : ResponderClass
        The class.

    Raises
    ------
    ValueError
        If the value is not finite.
    """
    pct = check_finite(change_pct, "change_pct", "%") + RESPONSE_THRESHOLD_ATOL_PCT
    if pct >= IMMPACT_SUBSTANTIAL_PCT:
        return ResponderClass.SUBSTANTIALLY_IMPORTANT
    if pct >= IMMPACT_MODERATE_PCT:
        return ResponderClass.MODERATELY_IMPORTANT
    if pct >= IMMPACT_MINIMAL_PCT:
        return ResponderClass.MINIMALLY_IMPORTANT
    return ResponderClass.NONE


def classify_response(baseline: float, follow_up: float) -> ResponderClass:
    """Return the IMMPACT class of the change from baseline to a follow-up.

    Parameters
    ----------
    baseline : float
        Pain score at baseline; must be greater than 0.
    follow_up : float
        Pain score at follow-up (any time point) on the same scale.

    Returns
    -------
    responder_class : ResponderClass
        The class.

    Raises
    ------
    TypeError, ValueError
        As :func:`percent_change`.
    """
    return classify_percent_change(percent_change(baseline, follow_up))


def assess_response(baseline: float, follow_up: float) -> ResponseResult:
    """Return the percentage change and its IMMPACT class together.

    Parameters
    ----------
    baseline : float
        Pain score at baseline; must be greater than 0.
    follow_up : float
        Pain score at follow-up (any time point) on the same scale.

    Returns
    -------
    result : ResponseResult
        Baseline, follow-up, percentage change and class.

    Raises
    ------
    TypeError, ValueError
        As :func:`percent_change`.
    """
    change = percent_change(baseline, follow_up)
    return ResponseResult(
        baseline=float(baseline),
        follow_up=float(follow_up),
        percent_change=change,
        responder_class=classify_percent_change(change),
    )


def _pgic_code(code: int) -> int:
    value = validate_item("pgic", "1", code)
    if value is None:
        raise ValueError(
            "Invalid value for 'pgic.item_1': got None; allowed: a whole number in "
            "[1, 7] (a missing PGIC has no responder status)."
        )
    return int(value)


def is_pgic_responder(code: int) -> bool:
    """Return whether a PGIC rating is a clinically important improvement.

    "Much improved" or "very much improved" (codes 1 and 2 of the seven-point
    PGIC, 1 = very much improved ... 7 = very much worse) :footcite:`farrar2001`.

    Parameters
    ----------
    code : int
        The PGIC category code, 1 to 7.

    Returns
    -------
    responder : bool
        ``True`` for codes 1 and 2.

    Raises
    ------
    TypeError
        If the code is not a number.
    ValueError
        If the code is missing, a bool, not a whole number or outside [1, 7]; the
        message names ``'pgic.item_1'``.

    References
    ----------
    .. footbibliography::
    """
    return _pgic_code(code) <= PGIC_RESPONDER_MAX_CODE


def classify_pgic(code: int) -> ResponderClass:
    """Return the IMMPACT tier of a PGIC rating.

    "Minimally improved" is minimally important, "much improved" moderately and
    "very much improved" substantially important :footcite:`dworkin2008` (Table 1,
    read only as transcribed by Bandolier, where the moderate tier reads
    "moderately improved": to verify in the paper). "No change" and worse are
    ``none``.

    Parameters
    ----------
    code : int
        The PGIC category code, 1 (very much improved) to 7 (very much worse).

    Returns
    -------
    responder_class : ResponderClass
        The tier.

    Raises
    ------
    TypeError, ValueError
        As :func:`is_pgic_responder`.

    References
    ----------
    .. footbibliography::
    """
    c = _pgic_code(code)
    if c <= PGIC_SUBSTANTIAL_MAX_CODE:
        return ResponderClass.SUBSTANTIALLY_IMPORTANT
    if c <= PGIC_RESPONDER_MAX_CODE:
        return ResponderClass.MODERATELY_IMPORTANT
    if c <= PGIC_MINIMAL_MAX_CODE:
        return ResponderClass.MINIMALLY_IMPORTANT
    return ResponderClass.NONE


def is_bpi_interference_responder(baseline: float, follow_up: float) -> bool:
    """Return whether the BPI interference score fell by a minimally important step.

    A decrease of at least 1 point in the 0-10 interference score (the mean of
    items 9A-9G) is minimally important :footcite:`dworkin2008` (Table 1, read as
    transcribed by Bandolier).

    Parameters
    ----------
    baseline : float
        Interference score at baseline, 0 to 10.
    follow_up : float
        Interference score at follow-up, 0 to 10.

    Returns
    -------
    responder : bool
        ``True`` if ``baseline - follow_up`` is at least 1 point.

    Raises
    ------
    TypeError
        If a value is not a number (bools are refused).
    ValueError
        If a value is not finite or outside [0, 10].

    References
    ----------
    .. footbibliography::
    """
    check_type(baseline, (int, float), "baseline")
    check_type(follow_up, (int, float), "follow_up")
    base = check_range(baseline, "baseline", 0.0, float(BPI_ITEM_MAX))
    follow = check_range(follow_up, "follow_up", 0.0, float(BPI_ITEM_MAX))
    return base - follow + _POINTS_ATOL >= BPI_INTERFERENCE_MIN_IMPORTANT_DECREASE
