"""Effect sizes of two-arm comparisons, from summary data or from reported tests.

Every effect is *treatment minus control* on the scale of the outcome: for pain
scores (lower is better) a negative effect favours the treatment arm.

Formulas
--------
- Standardised mean difference with the small-sample correction (Hedges' g):
  :footcite:`hedges1981`, with the variance of :footcite:`borenstein2009` (ch. 4):
  ``d = (m1 - m2) / s_pooled``, ``V_d = (n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2))``,
  ``g = J d``, ``V_g = J^2 V_d`` with the exact ``J`` of Hedges (1981).
- Mean difference, ``V = s1^2 / n1 + s2^2 / n2`` :footcite:`borenstein2009`.
- Log ratio of means, ``V = s1^2 / (n1 m1^2) + s2^2 / (n2 m2^2)``
  :footcite:`hedges1999`.
- From a reported t statistic, F(1, df) statistic or p-value and the group sizes: the
  Cochrane Handbook's route (chapter 6, section 6.5.2.3) :footcite:`higgins2023ch6`:
  ``t`` from the two-sided p-value with ``n1 + n2 - 2`` degrees of freedom,
  ``SE = |difference| / t`` and ``s_pooled = SE / sqrt(1/n1 + 1/n2)``; hence
  ``d = t sqrt(1/n1 + 1/n2)``. ``F(1, df) = t^2`` :footcite:`lipsey2001`.

References
----------
.. footbibliography::
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..utils import check_option, check_range, check_type
from ._models import (
    ArmSummary,
    Comparison,
    OutcomeRecord,
    OutcomeStudy,
    ReportedTest,
    StudyDesign,
    TestDirection,
)

__all__ = [
    "EffectMeasure",
    "EffectSize",
    "NotEstimable",
    "estimate_effect",
    "hedges_correction",
    "hedges_g",
    "log_ratio_of_means",
    "mean_difference",
    "mean_difference_from_test",
    "percent_change_difference",
    "smd_from_test",
    "t_from_p",
]


class EffectMeasure(StrEnum):
    """Effect measures of a two-arm comparison.

    ``smd``: Hedges' g (unitless); ``md``: mean difference (outcome units); ``rom``:
    log ratio of means (unitless, natural log); ``pct_change``: difference in mean
    percent change from baseline (percentage points).
    """

    SMD = "smd"
    MD = "md"
    ROM = "rom"
    PCT_CHANGE = "pct_change"


_FROZEN = ConfigDict(frozen=True, extra="forbid")


class EffectSize(BaseModel):
    """An estimated effect with its sampling variance.

    Parameters
    ----------
    measure : EffectMeasure
        The effect measure.
    estimate : float
        Treatment minus control, in the units of ``measure``.
    variance : float
        Sampling variance, in squared units of ``measure``.
    n_treatment, n_control : int | None
        Group sizes used.
    method : str
        How the effect was obtained, with the formula's source.
    assumptions : tuple of str
        Assumptions the computation makes.
    study_id, outcome_id : str | None
        Where the effect comes from, if from a study record.
    """

    model_config = _FROZEN

    measure: EffectMeasure
    estimate: float
    variance: float = Field(gt=0.0)
    n_treatment: int | None = None
    n_control: int | None = None
    method: str
    assumptions: tuple[str, ...] = ()
    study_id: str | None = None
    outcome_id: str | None = None

    @property
    def se(self) -> float:
        """Standard error, in the units of ``measure``."""
        return math.sqrt(self.variance)

    def ci(self, level_pct: float = 95.0) -> tuple[float, float]:
        """Normal-theory confidence interval.

        Parameters
        ----------
        level_pct : float
            Confidence level in %, in (0, 100).

        Returns
        -------
        lower, upper : float
            Bounds, in the units of ``measure``.
        """
        check_range(
            level_pct,
            "level_pct",
            0.0,
            100.0,
            low_inclusive=False,
            high_inclusive=False,
            unit="%",
        )
        from scipy import stats  # type: ignore[import-untyped]

        z = float(stats.norm.isf((1.0 - level_pct / 100.0) / 2.0))
        return self.estimate - z * self.se, self.estimate + z * self.se


class NotEstimable(BaseModel):
    """An effect that the reported data do not allow, with the reason.

    Parameters
    ----------
    measure : EffectMeasure
        The requested measure.
    reason : str
        Why it cannot be estimated.
    study_id, outcome_id : str | None
        Where it was requested.
    """

    model_config = _FROZEN

    measure: EffectMeasure
    reason: str
    study_id: str | None = None
    outcome_id: str | None = None


# --------------------------------------------------------------------------------------
# Checks


def _check_n(n: int, field: str) -> int:
    check_type(n, int, field)
    check_range(n, field, 2, None)
    return n


def _check_sd(sd: float, field: str) -> float:
    check_type(sd, (int, float), field)
    return check_range(sd, field, 0.0, None, low_inclusive=False)


def _check_num(x: float, field: str) -> float:
    check_type(x, (int, float), field)
    return check_range(x, field, None, None)


# --------------------------------------------------------------------------------------
# Formulas


def hedges_correction(df: float, *, exact: bool = True) -> float:
    """Small-sample bias correction ``J`` of the standardised mean difference.

    Parameters
    ----------
    df : float
        Degrees of freedom of the pooled SD (``n1 + n2 - 2``), > 1.
    exact : bool
        ``True`` for the exact gamma-function form of :footcite:`hedges1981`,
        ``False`` for the approximation ``1 - 3 / (4 df - 1)``
        (:footcite:`borenstein2009`, eq. 4.22).

    Returns
    -------
    j : float
        The correction factor, in (0, 1).

    Raises
    ------
    ValueError
        If ``df <= 1``.

    References
    ----------
    .. footbibliography::
    """
    check_range(df, "df", 1.0, None, low_inclusive=False)
    if not exact:
        return 1.0 - 3.0 / (4.0 * df - 1.0)
    return math.exp(
        math.lgamma(df / 2.0) - 0.5 * math.log(df / 2.0) - math.lgamma((df - 1.0) / 2.0)
    )


def _g_from_d(d: float, n1: int, n2: int, *, exact: bool = True) -> tuple[float, float]:
    j = hedges_correction(n1 + n2 - 2, exact=exact)
    var_d = (n1 + n2) / (n1 * n2) + d * d / (2.0 * (n1 + n2))
    return j * d, j * j * var_d


def hedges_g(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    *,
    exact: bool = True,
) -> EffectSize:
    """Standardised mean difference with the small-sample correction (Hedges' g).

    Parameters
    ----------
    mean1, sd1 : float
        Treatment-arm mean and SD, in outcome units.
    n1 : int
        Treatment-arm size (>= 2).
    mean2, sd2 : float
        Control-arm mean and SD, in outcome units.
    n2 : int
        Control-arm size (>= 2).
    exact : bool
        Exact (``True``) or approximate correction factor, see
        :func:`hedges_correction`.

    Returns
    -------
    effect : EffectSize
        ``g = J (mean1 - mean2) / s_pooled`` (unitless) and
        ``V_g = J^2 ((n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2)))``.

    Raises
    ------
    TypeError
        If a value has the wrong type.
    ValueError
        If an SD is not positive or a group has fewer than 2 participants.

    Notes
    -----
    metafor's ``escalc(measure="SMD")`` uses the large-sample variance
    ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` by default; the variance here is the one of
    :footcite:`borenstein2009` (ch. 4), which differs from it by a factor close to
    ``J^2`` in the first term.

    References
    ----------
    .. footbibliography::
    """
    m1, m2 = _check_num(mean1, "mean1"), _check_num(mean2, "mean2")
    s1, s2 = _check_sd(sd1, "sd1"), _check_sd(sd2, "sd2")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    sp = math.sqrt(((n1 - 1) * s1 * s1 + (n2 - 1) * s2 * s2) / (n1 + n2 - 2))
    g, var = _g_from_d((m1 - m2) / sp, n1, n2, exact=exact)
    return EffectSize(
        measure=EffectMeasure.SMD,
        estimate=g,
        variance=var,
        n_treatment=n1,
        n_control=n2,
        method=(
            "Hedges' g from arm means and SDs (Hedges, 1981; variance of Borenstein "
            "et al., 2009, ch. 4)"
        ),
    )


def mean_difference(
    mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int
) -> EffectSize:
    """Raw mean difference.

    Parameters
    ----------
    mean1, sd1 : float
        Treatment-arm mean and SD, in outcome units.
    n1 : int
        Treatment-arm size (>= 2).
    mean2, sd2 : float
        Control-arm mean and SD, in outcome units.
    n2 : int
        Control-arm size (>= 2).

    Returns
    -------
    effect : EffectSize
        ``mean1 - mean2`` (outcome units) with variance ``sd1^2/n1 + sd2^2/n2``
        (squared outcome units).

    Raises
    ------
    TypeError
        If a value has the wrong type.
    ValueError
        If an SD is not positive or a group has fewer than 2 participants.
    """
    m1, m2 = _check_num(mean1, "mean1"), _check_num(mean2, "mean2")
    s1, s2 = _check_sd(sd1, "sd1"), _check_sd(sd2, "sd2")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    return EffectSize(
        measure=EffectMeasure.MD,
        estimate=m1 - m2,
        variance=s1 * s1 / n1 + s2 * s2 / n2,
        n_treatment=n1,
        n_control=n2,
        method="mean difference from arm means and SDs (Borenstein et al., 2009)",
    )


def log_ratio_of_means(
    mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int
) -> EffectSize:
    """Log ratio of means (response ratio).

    Parameters
    ----------
    mean1, sd1 : float
        Treatment-arm mean (> 0) and SD, in outcome units.
    n1 : int
        Treatment-arm size (>= 2).
    mean2, sd2 : float
        Control-arm mean (> 0) and SD, in outcome units.
    n2 : int
        Control-arm size (>= 2).

    Returns
    -------
    effect : EffectSize
        ``ln(mean1 / mean2)`` (unitless) with variance
        ``sd1^2 / (n1 mean1^2) + sd2^2 / (n2 mean2^2)`` :footcite:`hedges1999`.

    Raises
    ------
    TypeError
        If a value has the wrong type.
    ValueError
        If a mean is not positive, an SD is not positive or a group is too small.

    References
    ----------
    .. footbibliography::
    """
    check_type(mean1, (int, float), "mean1")
    check_type(mean2, (int, float), "mean2")
    m1 = check_range(mean1, "mean1", 0.0, None, low_inclusive=False)
    m2 = check_range(mean2, "mean2", 0.0, None, low_inclusive=False)
    s1, s2 = _check_sd(sd1, "sd1"), _check_sd(sd2, "sd2")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    return EffectSize(
        measure=EffectMeasure.ROM,
        estimate=math.log(m1 / m2),
        variance=s1 * s1 / (n1 * m1 * m1) + s2 * s2 / (n2 * m2 * m2),
        n_treatment=n1,
        n_control=n2,
        method="log ratio of means (Hedges, Gurevitch & Curtis, 1999)",
    )


def t_from_p(p: float, df: float, *, sided: Literal[1, 2] = 2) -> float:
    """Return the |t| statistic that gives a p-value with ``df`` degrees of freedom.

    Parameters
    ----------
    p : float
        The p-value, in (0, 1).
    df : float
        Degrees of freedom, > 0.
    sided : {1, 2}
        One- or two-sided p-value.

    Returns
    -------
    t : float
        The absolute t statistic (Cochrane Handbook, section 6.5.2.3
        :footcite:`higgins2023ch6`).

    Raises
    ------
    ValueError
        If ``p`` or ``df`` is out of range or ``sided`` is not 1 or 2.

    References
    ----------
    .. footbibliography::
    """
    check_range(p, "p", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range(df, "df", 0.0, None, low_inclusive=False)
    check_option(sided, "sided", (1, 2))
    from scipy import stats

    return float(stats.t.isf(p / sided, df))


def _abs_t(test: ReportedTest, df: float) -> float:
    if test.statistic == "p":
        return t_from_p(test.value, df, sided=test.sided)
    if test.statistic == "f":
        return math.sqrt(test.value)
    return abs(test.value)


def _sign(test: ReportedTest) -> float:
    return -1.0 if test.direction == TestDirection.TREATMENT_LOWER else 1.0


def _test_text(test: ReportedTest) -> str:
    kind = {"t": "t statistic", "f": "F(1, df) statistic", "p": "p-value"}
    sided = f", {test.sided}-sided" if test.statistic == "p" else ""
    return f"{kind[test.statistic]} ({test.statistic} = {test.value:g}{sided})"


def _test_assumptions(test: ReportedTest, df: float) -> tuple[str, ...]:
    out = [
        f"the reported {test.statistic} comes from a two-sample t test (or F test with "
        f"one numerator df) on {test.quantity} with {df:g} degrees of freedom",
        f"the sign comes from the reported direction ({test.direction.value})",
    ]
    if test.statistic == "p":
        out.append(
            "the p-value is taken as exact; a rounded p-value makes the effect "
            "approximate"
        )
    return tuple(out)


def smd_from_test(test: ReportedTest, n1: int, n2: int) -> EffectSize:
    """Hedges' g recovered from a reported t, F(1, df) or p-value and group sizes.

    Parameters
    ----------
    test : ReportedTest
        The reported statistic and the direction of the difference.
    n1, n2 : int
        Treatment and control group sizes (>= 2 each).

    Returns
    -------
    effect : EffectSize
        ``g = J t sqrt(1/n1 + 1/n2)`` (unitless), signed by ``test.direction``, with
        the variance of :func:`hedges_g`.

    Raises
    ------
    TypeError
        If ``test`` is not a :class:`ReportedTest`.
    ValueError
        If a group has fewer than 2 participants.

    Notes
    -----
    Follows the Cochrane Handbook, section 6.5.2.3 :footcite:`higgins2023ch6`: the
    p-value gives ``t`` with ``n1 + n2 - 2`` degrees of freedom, ``t`` gives the
    standard error of the difference, and that gives the pooled SD.

    References
    ----------
    .. footbibliography::
    """
    check_type(test, ReportedTest, "test")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    df = test.df if test.df is not None else float(n1 + n2 - 2)
    d = _sign(test) * _abs_t(test, df) * math.sqrt(1.0 / n1 + 1.0 / n2)
    g, var = _g_from_d(d, n1, n2)
    return EffectSize(
        measure=EffectMeasure.SMD,
        estimate=g,
        variance=var,
        n_treatment=n1,
        n_control=n2,
        method=(
            f"Hedges' g from a reported {_test_text(test)} and group sizes (Cochrane "
            "Handbook, section 6.5.2.3; Hedges, 1981)"
        ),
        assumptions=_test_assumptions(test, df),
    )


def _difference_from_test(
    difference: float, test: ReportedTest, n1: int, n2: int
) -> tuple[float, tuple[str, ...]]:
    df = test.df if test.df is not None else float(n1 + n2 - 2)
    t = _abs_t(test, df)
    if difference == 0.0:
        raise ValueError(
            "Invalid value for 'difference': got 0.0; allowed: a non-zero difference "
            "to recover a standard error from a test statistic."
        )
    if math.copysign(1.0, difference) != _sign(test):
        raise ValueError(
            f"Invalid value for 'test.direction': got {test.direction.value!r} but "
            f"the arm difference is {difference:g}; allowed: the direction of the "
            "reported difference."
        )
    se = abs(difference) / t
    return se * se, _test_assumptions(test, df)


def mean_difference_from_test(
    mean1: float, mean2: float, test: ReportedTest, n1: int, n2: int
) -> EffectSize:
    """Raw mean difference with its standard error recovered from a reported test.

    Parameters
    ----------
    mean1, mean2 : float
        Treatment- and control-arm means, in outcome units.
    test : ReportedTest
        The reported t, F(1, df) or p-value of the comparison of the means.
    n1, n2 : int
        Group sizes (>= 2 each).

    Returns
    -------
    effect : EffectSize
        ``mean1 - mean2`` (outcome units) with variance ``(|mean1 - mean2| / t)^2``
        (Cochrane Handbook, section 6.5.2.3 :footcite:`higgins2023ch6`).

    Raises
    ------
    ValueError
        If the means are equal or the test's direction disagrees with them.

    References
    ----------
    .. footbibliography::
    """
    m1, m2 = _check_num(mean1, "mean1"), _check_num(mean2, "mean2")
    check_type(test, ReportedTest, "test")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    var, assumptions = _difference_from_test(m1 - m2, test, n1, n2)
    return EffectSize(
        measure=EffectMeasure.MD,
        estimate=m1 - m2,
        variance=var,
        n_treatment=n1,
        n_control=n2,
        method=(
            f"mean difference, standard error from a reported {_test_text(test)} "
            "(Cochrane Handbook, section 6.5.2.3)"
        ),
        assumptions=assumptions,
    )


def percent_change_difference(
    pct1: float,
    pct2: float,
    n1: int,
    n2: int,
    *,
    sd1: float | None = None,
    sd2: float | None = None,
    test: ReportedTest | None = None,
) -> EffectSize:
    """Difference in mean percent change from baseline between arms.

    Parameters
    ----------
    pct1, pct2 : float
        Mean percent change from baseline in the treatment and control arms, in %
        (negative = fall).
    n1, n2 : int
        Group sizes (>= 2 each).
    sd1, sd2 : float | None
        SDs of the individual percent changes, in percentage points.
    test : ReportedTest | None
        A between-arm test on the percent changes, used when the SDs are missing.

    Returns
    -------
    effect : EffectSize
        ``pct1 - pct2`` in percentage points, with variance ``sd1^2/n1 + sd2^2/n2``
        or, from a test, ``(|pct1 - pct2| / t)^2`` (Cochrane Handbook, section
        6.5.2.3 :footcite:`higgins2023ch6`), in squared percentage points.

    Raises
    ------
    ValueError
        If neither both SDs nor a test are given, or the test's direction disagrees
        with the difference.

    References
    ----------
    .. footbibliography::
    """
    p1, p2 = _check_num(pct1, "pct1"), _check_num(pct2, "pct2")
    n1, n2 = _check_n(n1, "n1"), _check_n(n2, "n2")
    diff = p1 - p2
    if sd1 is not None and sd2 is not None:
        s1, s2 = _check_sd(sd1, "sd1"), _check_sd(sd2, "sd2")
        var = s1 * s1 / n1 + s2 * s2 / n2
        method = "difference in mean percent change from arm SDs"
        assumptions: tuple[str, ...] = ()
    elif test is not None:
        check_type(test, ReportedTest, "test")
        var, assumptions = _difference_from_test(diff, test, n1, n2)
        method = (
            f"difference in mean percent change, standard error from a reported "
            f"{_test_text(test)} (Cochrane Handbook, section 6.5.2.3)"
        )
    else:
        raise ValueError(
            "Invalid value for 'sd1, sd2, test': got neither both SDs nor a test; "
            "allowed: both SDs, or a between-arm test statistic or p-value."
        )
    return EffectSize(
        measure=EffectMeasure.PCT_CHANGE,
        estimate=diff,
        variance=var,
        n_treatment=n1,
        n_control=n2,
        method=method,
        assumptions=assumptions,
    )


# --------------------------------------------------------------------------------------
# From a study record


def _reported_fields(arm: ArmSummary | None) -> str:
    if arm is None:
        return "nothing"
    names = {
        "n": "n",
        "baseline_mean": "baseline mean",
        "mean": "mean",
        "sd": "SD",
        "percent_change": "percent change",
        "percent_change_sd": "SD of percent change",
        "baseline_median": "baseline median",
        "median": "median",
    }
    got = [label for key, label in names.items() if getattr(arm, key) is not None]
    return ", ".join(got) if got else "no numbers"


def _describe(record: OutcomeRecord) -> str:
    test = "a between-arm test" if record.test is not None else "no test statistic"
    return (
        f"reported: treatment arm {_reported_fields(record.treatment)}; control arm "
        f"{_reported_fields(record.control)}; {test}"
    )


def estimate_effect(
    study: OutcomeStudy, outcome_id: str, measure: EffectMeasure | str = "smd"
) -> EffectSize | NotEstimable:
    """Compute an effect from what a study reported, or say why it cannot be done.

    Parameters
    ----------
    study : OutcomeStudy
        The study.
    outcome_id : str
        Id of the outcome record.
    measure : EffectMeasure | str
        ``"smd"``, ``"md"``, ``"rom"`` or ``"pct_change"``.

    Returns
    -------
    effect : EffectSize | NotEstimable
        The effect (treatment minus control), or the reason it is not estimable.
        Arm summaries are preferred to reported tests when both are available.

    Raises
    ------
    TypeError
        If ``study`` is not an :class:`OutcomeStudy`.
    ValueError
        If ``measure`` is unknown.
    KeyError
        If ``outcome_id`` is unknown.
    """
    check_type(study, OutcomeStudy, "study")
    check_option(str(measure), "measure", [m.value for m in EffectMeasure])
    meas = EffectMeasure(str(measure))
    record = study.outcome(outcome_id)
    ids = {"study_id": study.id, "outcome_id": record.id}

    def not_estimable(reason: str) -> NotEstimable:
        return NotEstimable(measure=meas, reason=reason, **ids)

    if study.design == StudyDesign.CASE_REPORT:
        return not_estimable(
            "single-case report (n = 1): no comparison group and no between-patient "
            "variance"
        )
    if study.comparison == Comparison.NONE or record.control is None:
        return not_estimable(f"no control arm; {_describe(record)}")
    t, c = record.treatment, record.control
    if t is None:
        return not_estimable(f"no treatment-arm data; {_describe(record)}")
    if t.n is None or c.n is None:
        return not_estimable(f"group sizes not reported; {_describe(record)}")
    if t.n < 2 or c.n < 2:
        return not_estimable("fewer than 2 participants in an arm")
    n1, n2 = t.n, c.n
    tm, ts, cm, cs = t.mean, t.sd, c.mean, c.sd
    effect: EffectSize | None = None
    tp, cp = t.percent_change, c.percent_change
    tps, cps = t.percent_change_sd, c.percent_change_sd
    if meas == EffectMeasure.SMD:
        if tm is not None and ts is not None and cm is not None and cs is not None:
            effect = hedges_g(tm, ts, n1, cm, cs, n2)
        elif tp is not None and tps is not None and cp is not None and cps is not None:
            effect = hedges_g(tp, tps, n1, cp, cps, n2)
            effect = effect.model_copy(
                update={
                    "method": effect.method + ", on the percent change from baseline"
                }
            )
        elif record.test is not None:
            effect = smd_from_test(record.test, n1, n2)
        missing = (
            "arm means with SDs, percent changes with SDs, or a test statistic or "
            "p-value"
        )
    elif meas == EffectMeasure.MD:
        if tm is not None and ts is not None and cm is not None and cs is not None:
            effect = mean_difference(tm, ts, n1, cm, cs, n2)
        elif tm is not None and cm is not None and record.test is not None:
            effect = mean_difference_from_test(tm, cm, record.test, n1, n2)
        missing = "arm means with SDs, or arm means with a test statistic"
    elif meas == EffectMeasure.ROM:
        if (
            tm is not None
            and ts is not None
            and cm is not None
            and cs is not None
            and min(tm, cm) > 0
        ):
            effect = log_ratio_of_means(tm, ts, n1, cm, cs, n2)
        missing = "positive arm means with SDs"
    else:
        if tp is not None and cp is not None:
            if tps is not None and cps is not None:
                effect = percent_change_difference(tp, cp, n1, n2, sd1=tps, sd2=cps)
            elif record.test is not None:
                effect = percent_change_difference(tp, cp, n1, n2, test=record.test)
        missing = "percent change in both arms with SDs, or with a test statistic"
    if effect is None:
        return not_estimable(f"needs {missing}; {_describe(record)}")
    return effect.model_copy(update=ids)
