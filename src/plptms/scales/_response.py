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

.. footbibliography::
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ..utils import check_finite, check_range, check_type
from ._constants import (
    IMMPACT_MINIMAL_PCT,
    IMMPACT_MODERATE_PCT,
    IMMPACT_SUBSTANTIAL_PCT,
    RESPONSE_THRESHOLD_ATOL_PCT,
)

__all__ = [
    "ResponderClass",
    "ResponseResult",
    "assess_response",
    "classify_percent_change",
    "classify_response",
    "percent_change",
]


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
