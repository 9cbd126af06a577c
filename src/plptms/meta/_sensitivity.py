"""Leave-one-out analysis and subgroup analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_type
from ._fit import MetaResult, Tau2Method, TestType, _as_data, meta_analysis

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

__all__ = ["LeaveOneOutRow", "SubgroupResult", "leave_one_out", "subgroup_analysis"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class LeaveOneOutRow(BaseModel):
    """The model refitted without one study.

    Parameters
    ----------
    omitted : str
        Label of the omitted study.
    estimate, se, statistic, pvalue, ci_lower, ci_upper : float
        Pooled effect without the study (see :class:`MetaResult`).
    q, q_pvalue : float
        Cochran's Q and its p-value.
    tau2, i2_pct, h2 : float
        Heterogeneity without the study.
    """

    model_config = _FROZEN

    omitted: str
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    q: float
    q_pvalue: float
    tau2: float
    i2_pct: float
    h2: float


def leave_one_out(result: MetaResult) -> tuple[LeaveOneOutRow, ...]:
    """Refit a meta-analysis leaving out each study in turn.

    Parameters
    ----------
    result : MetaResult
        The fitted model; the refits use its method, test and level.

    Returns
    -------
    rows : tuple of LeaveOneOutRow
        One row per omitted study, in the order of the studies.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`MetaResult`.
    ValueError
        If the model has fewer than 2 studies (3 with ``test="knha"``).
    """
    check_type(result, MetaResult, "result")
    need = 3 if result.test == "knha" else 2
    if result.k < need:
        raise ValueError(
            f"Invalid value for 'result': got k = {result.k} studies; allowed: at "
            f"least {need} for leave-one-out with test={result.test!r}."
        )
    y = np.array(result.effects)
    v = np.array(result.variances)
    rows = []
    for i, label in enumerate(result.labels):
        keep = np.arange(result.k) != i
        r = meta_analysis(
            y[keep],
            v[keep],
            method=result.method,
            test=result.test,
            level_pct=result.level_pct,
        )
        rows.append(
            LeaveOneOutRow(
                omitted=label,
                estimate=r.estimate,
                se=r.se,
                statistic=r.statistic,
                pvalue=r.pvalue,
                ci_lower=r.ci_lower,
                ci_upper=r.ci_upper,
                q=r.q,
                q_pvalue=r.q_pvalue,
                tau2=r.tau2,
                i2_pct=r.i2_pct,
                h2=r.h2,
            )
        )
    return tuple(rows)


class SubgroupResult(BaseModel):
    """Separate meta-analyses per subgroup and the test of subgroup differences.

    Parameters
    ----------
    groups : tuple of str
        Subgroup names, in order of first appearance.
    results : tuple of MetaResult
        One model per subgroup (its own tau^2).
    q_between, q_between_df, q_between_pvalue : float, int, float
        Cochran's Q of the subgroup estimates under a fixed-effect model, its
        degrees of freedom (groups - 1) and p-value.
    """

    model_config = _FROZEN

    groups: tuple[str, ...]
    results: tuple[MetaResult, ...]
    q_between: float
    q_between_df: int
    q_between_pvalue: float

    def result(self, group: str) -> MetaResult:
        """Return the model of one subgroup.

        Parameters
        ----------
        group : str
            Subgroup name.

        Returns
        -------
        result : MetaResult
            The subgroup's model.

        Raises
        ------
        ValueError
            If the group is unknown.
        """
        check_option(group, "group", self.groups)
        return self.results[self.groups.index(group)]


def subgroup_analysis(
    effects: ArrayLike,
    variances: ArrayLike,
    groups: Sequence[str],
    *,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level_pct: float = 95.0,
    labels: Sequence[str] | None = None,
) -> SubgroupResult:
    """Meta-analyse each subgroup (e.g. target, frequency class) and compare them.

    Parameters
    ----------
    effects, variances : array-like of float
        Study effects and sampling variances, as in :func:`meta_analysis`.
    groups : sequence of str
        Subgroup of each study (e.g. ``"m1"``, ``"dlpfc"``; ``"low"``, ``"high"``).
    method, test, level_pct : see :func:`meta_analysis`
        Settings of the per-subgroup models.
    labels : sequence of str | None
        Study labels.

    Returns
    -------
    result : SubgroupResult
        Per-subgroup models and the between-subgroup Q test.

    Raises
    ------
    ValueError
        If ``groups`` does not give one subgroup per study, there are fewer than two
        subgroups, or a subgroup is too small for ``test``.

    Notes
    -----
    Each subgroup has its own tau^2; the subgroup estimates are then compared with
    Cochran's Q under a fixed-effect model with weights ``1 / se_g^2``
    (:footcite:`borenstein2009`, ch. 19, "separate estimates of tau^2"). For a common
    tau^2 fit a meta-regression on dummy variables and use
    :meth:`MetaRegressionResult.test_coefficients`.

    References
    ----------
    .. footbibliography::
    """
    y, v, labs = _as_data(effects, variances, labels)
    grp = [str(g) for g in groups]
    if len(grp) != y.size:
        raise ValueError(
            f"Invalid value for 'groups': got {len(grp)} groups; allowed: one per "
            f"effect ({y.size})."
        )
    names = tuple(dict.fromkeys(grp))
    if len(names) < 2:
        raise ValueError(
            f"Invalid value for 'groups': got {len(names)} subgroup; allowed: at least "
            "2 subgroups."
        )
    g_arr = np.array(grp)
    results = []
    for name in names:
        sel = g_arr == name
        results.append(
            meta_analysis(
                y[sel],
                v[sel],
                method=method,
                test=test,
                level_pct=level_pct,
                labels=[lab for lab, s in zip(labs, sel, strict=True) if s],
            )
        )
    between = meta_analysis(
        [r.estimate for r in results],
        [r.se**2 for r in results],
        method="FE",
        labels=names,
    )
    return SubgroupResult(
        groups=names,
        results=tuple(results),
        q_between=between.q,
        q_between_df=between.q_df,
        q_between_pvalue=between.q_pvalue,
    )
