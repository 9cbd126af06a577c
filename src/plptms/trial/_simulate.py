"""Virtual trials: whole trials simulated through the trial engine's own code.

A :class:`VirtualDesign` is a trial definition plus what a simulation needs to
know about the patients: how many, how they spread over the sites, their
baseline pain and amputation level, the site effects, the true treatment effect
and its heterogeneity across sites, and dropout. :func:`simulate_trial` runs one
virtual trial:

1. patients are drawn one at a time (site, amputation level, baseline pain);
2. each is allocated by the engine's own randomiser
   (:func:`plptms.trial.allocate` with :meth:`TrialDefinition.randomiser`, i.e.
   simple randomisation, permuted blocks or minimisation as the definition says),
   keyed by an :class:`~plptms.trial.HmacRandom` whose secret is drawn from the
   caller's generator, so a seeded run is reproducible;
3. the primary endpoint's pain scale is generated at every simulated visit, and
   dropout removes a patient's later visits;
4. the records go through :func:`plptms.trial.build_dataset` and the planned
   primary analysis :func:`plptms.trial.analyse_trial` (the MMRM), on the
   definition cut down to the primary endpoint and the simulated visits.

Nothing here re-implements the allocation or the analysis. The outcome model
(``change = common + site + limb + active x (effect + site's deviation) + e``,
errors correlated within a patient, compound symmetry) is plptms's simulation
model, documented on :class:`VirtualDesign`. Every virtual trial is analysed at
its end at the definition's ``alpha`` (the design without looks); when the
definition has interim looks, it is also analysed at each look and at its end
by the engine's group-sequential code (:mod:`plptms.trial._virtual_looks`).

:func:`summarise_virtual_trials` turns many results into the performance
measures of a simulation study (rejection rate, bias, empirical SE, coverage,
imbalance), each with its Monte Carlo standard error (see
:mod:`plptms.trial._simulate_summary`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..scales import get_scale
from ..utils import check_type
from ._dataset import build_dataset
from ._dataset_inputs import AnalysisPatient, AnalysisScore
from ._definition import TrialDefinition, _pain_intensity_ids
from ._prng import HmacRandom
from ._randomisation import AllocationRecord, allocate
from ._simulate_summary import (
    MonteCarloEstimate,
    VirtualTrialResult,
    VirtualTrialSummary,
    summarise_virtual_trials,
)
from ._trial_analysis import TrialAnalysisError, analyse_trial
from ._trial_models import level_pct
from ._virtual_looks import analyse_looks

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "MonteCarloEstimate",
    "VirtualDesign",
    "VirtualTrialResult",
    "VirtualTrialSummary",
    "simulate_trial",
    "summarise_virtual_trials",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: Day 0 of the first virtual patient; one patient is randomised per day after it.
_START = dt.date(2030, 1, 7)
_SECRET_BYTES = 32
#: Factors a virtual patient has: the site, the amputated limb, the baseline pain band.
_KNOWN_FACTORS = ("site", "limb", "pain_band")
#: Least share of the baseline distribution inside the eligible range (rejection
#: sampling then needs at most 100 draws per patient on average).
_MIN_BASELINE_MASS = 0.01
_MAX_DRAWS = 100_000


class VirtualDesign(BaseModel):
    """A trial definition and the patients a virtual trial of it simulates.

    The outcome is the primary endpoint's pain scale (a change from baseline on
    a pain intensity scale). Patient ``i`` at site ``s`` with amputated limb
    ``l`` has, at every simulated post-baseline visit ``j``,
    ``value_ij = baseline_i + common_change + u_s + limb_effect[l]
    + a_i (true_effect + v_s) + e_ij``, where ``a_i`` is 1 in an active arm and 0
    in a sham arm, ``u_s ~ N(0, site_sd^2)`` and ``v_s ~ N(0,
    effect_sd_across_sites^2)`` are drawn once per site and trial, and ``e_i ~
    N(0, residual_sd^2 [(1 - rho) I + rho J])`` (compound symmetry). Scores are
    continuous and not clipped to the scale's range (so that the true effect
    is the estimand). Co-interventions have no effect in this model.

    The numeric defaults are example values chosen by plptms to give a
    plausible PLP trial; they are not taken from a source, and a power
    calculation states its own with their justification.

    Parameters
    ----------
    definition : TrialDefinition
        The trial (sites, arms, randomisation, visits, primary endpoint, alpha,
        sidedness), e.g. from :func:`plptms.trial.read_trial_definition`. It
        has active and sham arms; its first primary endpoint must be a
        ``change_from_baseline`` on a pain intensity scale, and its
        stratification factors among ``site``, ``limb`` and ``pain_band``.
    n_patients : int
        Patients randomised per virtual trial, at least 2 per arm; also the
        planned sample size the information fraction of an interim look is a
        share of (the definition's ``sample_size`` is replaced by it).
    true_effect : float
        Active minus sham difference in the mean change from baseline at every
        post-baseline visit, in scale points (negative: less pain on active).
    site_shares : dict of str to float | None
        Relative recruitment of each site (site code to a positive weight,
        normalised to sum 1); ``None`` for equal shares.
    visits : tuple of str | None
        The post-baseline visits simulated and analysed (they must collect the
        primary scale and include the primary endpoint's visit); ``None`` for
        every post-baseline visit that collects it.
    baseline_pain_mean, baseline_pain_sd : float
        Normal distribution of baseline pain, scale points, truncated to the
        eligibility minimum (when the eligibility scale is the primary scale)
        and the scale's range. Defaults 6.5 and 1.5 (example values).
    amputation_level_mix : dict of str to float
        Share of each amputated limb (``upper``, ``lower``); normalised. It
        gives the ``limb`` factor. Default 0.3 upper, 0.7 lower (example).
    amputation_level_effect : dict of str to float
        Points added to every post-baseline value of patients with that limb
        (a prognostic factor the analysis does not adjust for); default none.
    pain_band_lower : dict of str to float
        Lower bound of each level of the ``pain_band`` factor (a patient is in
        the band with the largest lower bound not above the baseline). Default
        ``nrs_4_6`` from 4 and ``nrs_7_10`` from 7, the example trial's bands.
    common_change : float
        Mean change from baseline in every arm (sham response and natural
        course), points. Default -1.0 (example).
    site_sd : float
        SD of the site effect on the change, points. Default 0.5 (example).
    effect_sd_across_sites : float
        SD of the treatment effect across sites, points. Default 0.
    residual_sd : float
        Within-site SD of a patient's change at a visit, points. Default 2.0
        (example).
    within_patient_correlation : float
        Correlation of a patient's errors across visits, in ``[0, 1)``.
        Default 0.5 (example).
    dropout_per_visit : float
        Probability that a patient still followed drops out before each
        simulated post-baseline visit (missing completely at random; all later
        visits are missing), in ``[0, 1)``. Default 0.05 (example).
    recruitment_interval_days : int
        Days between two consecutive randomisations (>= 1); with the visit days
        it sets when interim looks happen and how many patients are randomised
        by then. Default 1 (example).

    Raises
    ------
    ValueError
        If a value is out of range, a site, limb, band or visit is unknown, a
        stratification factor cannot be simulated, or the primary endpoint is
        not a change in pain intensity.
    """

    model_config = _FROZEN

    definition: TrialDefinition
    n_patients: int
    true_effect: float
    site_shares: dict[str, float] | None = None
    visits: tuple[str, ...] | None = None
    baseline_pain_mean: float = 6.5
    baseline_pain_sd: float = Field(default=1.5, gt=0)
    amputation_level_mix: dict[str, float] = Field(
        default_factory=lambda: {"upper": 0.3, "lower": 0.7}
    )
    amputation_level_effect: dict[str, float] = Field(default_factory=dict)
    pain_band_lower: dict[str, float] = Field(
        default_factory=lambda: {"nrs_4_6": 4.0, "nrs_7_10": 7.0}
    )
    common_change: float = -1.0
    site_sd: float = 0.5
    effect_sd_across_sites: float = 0.0
    residual_sd: float = 2.0
    within_patient_correlation: float = 0.5
    dropout_per_visit: float = 0.05
    recruitment_interval_days: int = 1

    @model_validator(mode="after")
    def _check(self) -> Self:
        defn = self.definition
        n_min = 2 * len(defn.arms)
        if self.n_patients < n_min:
            raise ValueError(
                f"Invalid value for 'n_patients': got {self.n_patients}; allowed "
                f"range is [{n_min}, inf) patients (at least 2 per arm)."
            )
        for name in ("true_effect", "baseline_pain_mean", "common_change"):
            _finite(getattr(self, name), name)
        for name in ("site_sd", "effect_sd_across_sites", "residual_sd"):
            value = getattr(self, name)
            positive = name == "residual_sd"
            if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
                raise ValueError(
                    f"Invalid value for {name!r}: got {value!r}; allowed range is "
                    f"{'(0' if positive else '[0'}, inf) points."
                )
        for name in ("within_patient_correlation", "dropout_per_visit"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value < 1):
                raise ValueError(
                    f"Invalid value for {name!r}: got {value!r}; allowed range is "
                    "[0, 1)."
                )
        if self.recruitment_interval_days < 1:
            raise ValueError(
                f"Invalid value for 'recruitment_interval_days': got "
                f"{self.recruitment_interval_days!r}; allowed range is [1, inf) days."
            )
        self._check_endpoint()
        self._check_baseline()
        _shares(self.site_shares, defn.site_codes, "site_shares")
        limbs = _factor_levels(defn, "limb") or tuple(self.amputation_level_mix)
        _shares(self.amputation_level_mix, limbs, "amputation_level_mix")
        for lmb, eff in self.amputation_level_effect.items():
            if lmb not in self.amputation_level_mix:
                raise ValueError(
                    f"Invalid value for 'amputation_level_effect': got limb {lmb!r}; "
                    f"allowed values are {', '.join(self.amputation_level_mix)}."
                )
            _finite(eff, f"amputation_level_effect[{lmb!r}]")
        bands = _factor_levels(defn, "pain_band")
        if bands is not None:
            self._check_bands(bands)
        unknown = [f.id for f in defn.stratification if f.id not in _KNOWN_FACTORS]
        if unknown:
            raise ValueError(
                f"Invalid value for 'stratification': got factors {unknown} in the "
                f"definition; allowed: factors a virtual patient has "
                f"({', '.join(_KNOWN_FACTORS)})."
            )
        self.simulated_visits()
        return self

    def _check_endpoint(self) -> None:
        conditions = sorted({a.condition for a in self.definition.arms})
        if conditions != ["active", "sham"]:
            raise ValueError(
                f"Invalid value for 'definition': got arms of condition(s) "
                f"{conditions}; allowed: active and sham arms (the true effect is "
                "active minus sham)."
            )
        ep = self.definition.primary_endpoints[0]
        pain = _pain_intensity_ids()
        if ep.measure != "change_from_baseline" or ep.scale_id not in pain:
            raise ValueError(
                f"Invalid value for 'definition': got primary endpoint {ep.id!r} "
                f"({ep.measure} of {ep.scale_id!r}); allowed: a change_from_baseline "
                f"of a pain intensity scale ({', '.join(pain)})."
            )

    def _check_baseline(self) -> None:
        low, high = self.baseline_range()
        mu, sd = self.baseline_pain_mean, self.baseline_pain_sd
        mass = _phi((high - mu) / sd) - _phi((low - mu) / sd)
        if mass < _MIN_BASELINE_MASS:
            raise ValueError(
                f"Invalid value for 'baseline_pain_mean': got {mu!r} (SD {sd!r}), "
                f"which puts {mass:.2g} of patients in the eligible range "
                f"[{low:g}, {high:g}] points; allowed: at least "
                f"{_MIN_BASELINE_MASS:g}."
            )

    def _check_bands(self, levels: tuple[str, ...]) -> None:
        if set(self.pain_band_lower) != set(levels):
            raise ValueError(
                f"Invalid value for 'pain_band_lower': got levels "
                f"{sorted(self.pain_band_lower)}; allowed: exactly the levels of the "
                f"factor 'pain_band' {list(levels)}."
            )
        for level, low in self.pain_band_lower.items():
            _finite(low, f"pain_band_lower[{level!r}]")
        low_pain, _ = self.baseline_range()
        if min(self.pain_band_lower.values()) > low_pain:
            raise ValueError(
                f"Invalid value for 'pain_band_lower': got lowest bound "
                f"{min(self.pain_band_lower.values()):g}; allowed: at most the lowest "
                f"baseline pain {low_pain:g}, so that every patient has a band."
            )

    def baseline_range(self) -> tuple[float, float]:
        """Return the interval baseline pain is truncated to, in scale points.

        Returns
        -------
        low, high : float
            The eligibility minimum (when the eligibility scale is the primary
            scale, else the scale's minimum) and the scale's maximum.
        """
        ep = self.definition.primary_endpoints[0]
        item = get_scale(ep.scale_id).items[0]
        elig = self.definition.eligibility
        low = float(item.min)
        if elig.pain_scale_id == ep.scale_id:
            low = max(low, float(elig.min_baseline_pain))
        return low, float(item.max)

    def simulated_visits(self) -> tuple[str, ...]:
        """Return the post-baseline visits simulated, in schedule order.

        Returns
        -------
        visits : tuple of str
            ``visits`` in schedule order, or every post-baseline visit that
            collects the primary scale.

        Raises
        ------
        ValueError
            If a visit is unknown or does not collect the primary scale, or the
            primary endpoint's visit is missing.
        """
        ep = self.definition.primary_endpoints[0]
        allowed = [v.id for v in self.definition.visits[1:] if ep.scale_id in v.scales]
        if self.visits is None:
            return tuple(allowed)
        bad = [v for v in self.visits if v not in allowed]
        if bad or len(set(self.visits)) != len(self.visits):
            raise ValueError(
                f"Invalid value for 'visits': got {list(self.visits)}; allowed: "
                f"distinct post-baseline visits that collect {ep.scale_id!r} "
                f"({', '.join(allowed)})."
            )
        if ep.visit_id not in self.visits:
            raise ValueError(
                f"Invalid value for 'visits': got {list(self.visits)}; allowed: "
                f"visits that include the primary endpoint's visit {ep.visit_id!r}."
            )
        return tuple(v for v in allowed if v in self.visits)

    def analysis_definition(self) -> TrialDefinition:
        """Return the definition cut down to what a virtual trial analyses.

        The baseline and the simulated visits, each collecting the primary scale
        only, the first primary endpoint only, and ``n_patients`` as the planned
        sample size; everything else (sites, arms, randomisation, interim looks,
        alpha, sidedness) is the definition's.

        Returns
        -------
        definition : TrialDefinition
            The cut-down definition (same id and version).
        """
        defn = self.definition
        ep = defn.primary_endpoints[0]
        keep = {defn.baseline_visit.id, *self.simulated_visits()}
        data = defn.model_dump()
        data["visits"] = [
            {**v, "scales": [ep.scale_id]} for v in data["visits"] if v["id"] in keep
        ]
        data["endpoints"] = [ep.model_dump()]
        data["sample_size"] = self.n_patients
        return TrialDefinition.model_validate(data)


def _finite(value: float, field: str) -> None:
    if not math.isfinite(value):
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a finite number."
        )


def _factor_levels(defn: TrialDefinition, factor_id: str) -> tuple[str, ...] | None:
    for f in defn.stratification:
        if f.id == factor_id:
            return f.levels
    return None


def _shares(
    weights: Mapping[str, float] | None, keys: Sequence[str], field: str
) -> tuple[float, ...]:
    """Normalised shares over ``keys`` (equal when ``weights`` is None)."""
    if weights is None:
        return tuple(1.0 / len(keys) for _ in keys)
    if set(weights) != set(keys) or any(
        not (math.isfinite(w) and w > 0) for w in weights.values()
    ):
        raise ValueError(
            f"Invalid value for {field!r}: got {dict(weights)!r}; allowed: a "
            f"positive weight for each of {', '.join(keys)}."
        )
    total = sum(weights[k] for k in keys)
    return tuple(weights[k] / total for k in keys)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _imbalance(arms: list[int], ratio: np.ndarray, n_arms: int) -> float:
    counts = np.bincount(np.asarray(arms, dtype=np.intp), minlength=n_arms) / ratio
    return float(counts.max() - counts.min())


def _max_imbalance(
    groups: dict[str, list[int]], ratio: np.ndarray, n_arms: int
) -> float:
    return max((_imbalance(a, ratio, n_arms) for a in groups.values()), default=0.0)


def simulate_trial(
    design: VirtualDesign, rng: np.random.Generator
) -> VirtualTrialResult:
    """Simulate one virtual trial through the engine's allocation and analysis.

    Parameters
    ----------
    design : VirtualDesign
        The trial and its simulated patients.
    rng : numpy.random.Generator
        The trial's random stream (e.g. one generator of
        ``SeedSequence(seed).spawn(n)``). The allocation secret is drawn from it
        first, then the site effects, then each patient in turn, so the same
        seed gives the same trial.

    Returns
    -------
    result : VirtualTrialResult
        The primary contrast, the rejection, the counts and the arm balance.

    Raises
    ------
    TypeError
        If ``design`` or ``rng`` has the wrong type.
    """
    check_type(design, VirtualDesign, "design")
    check_type(rng, np.random.Generator, "rng")
    defn = design.analysis_definition()
    config = defn.randomiser()
    draw = HmacRandom(rng.bytes(_SECRET_BYTES), defn.id)
    sites = defn.site_codes
    visits = [defn.visit(v) for v in design.simulated_visits()]
    scale = defn.primary_endpoints[0].scale_id
    baseline_id = defn.baseline_visit.id
    site_p = np.asarray(_shares(design.site_shares, sites, "site_shares"))
    limbs = tuple(design.amputation_level_mix)
    limb_p = np.asarray(_shares(design.amputation_level_mix, limbs, "limbs"))
    bands = sorted(design.pain_band_lower.items(), key=lambda kv: kv[1])
    if _factor_levels(defn, "pain_band") is None:
        bands = []
    low, high = design.baseline_range()
    m = len(visits)
    rho = design.within_patient_correlation
    chol = np.linalg.cholesky(
        design.residual_sd**2 * ((1 - rho) * np.eye(m) + rho * np.ones((m, m)))
    )
    site_effect = rng.normal(0.0, design.site_sd, len(sites))
    effect_dev = rng.normal(0.0, design.effect_sd_across_sites, len(sites))
    history: list[AllocationRecord] = []
    patients: list[AnalysisPatient] = []
    scores: list[AnalysisScore] = []
    arm_index = {a: k for k, a in enumerate(defn.arm_ids)}
    groups: dict[str, dict[str, list[int]]] = {"site": {}, "stratum": {}, "level": {}}
    observed = dict.fromkeys(design.simulated_visits(), 0)
    dropped = 0
    for k in range(design.n_patients):
        s = int(rng.choice(len(sites), p=site_p))
        limb = limbs[int(rng.choice(len(limbs), p=limb_p))]
        base = _truncated_normal(rng, design.baseline_pain_mean,
                                 design.baseline_pain_sd, low, high)  # fmt: skip
        band = [lv for lv, b in bands if b <= base][-1] if bands else ""
        have = {"site": sites[s], "limb": limb, "pain_band": band}
        factors = {f.id: have[f.id] for f in defn.stratification}
        alloc = allocate(history, factors, config, draw)
        history.append(AllocationRecord(arm=alloc.arm, factors=factors,
                                        stratum=alloc.stratum))  # fmt: skip
        a = arm_index[alloc.arm]
        groups["site"].setdefault(sites[s], []).append(a)
        groups["stratum"].setdefault(repr(sorted(factors.items())), []).append(a)
        for name, level in factors.items():
            groups["level"].setdefault(f"{name}={level}", []).append(a)
        active = defn.arm(alloc.arm).condition == "active"
        mean = (
            design.common_change
            + site_effect[s]
            + design.amputation_level_effect.get(limb, 0.0)
            + active * (design.true_effect + effect_dev[s])
        )
        err = chol @ rng.standard_normal(m)
        stay = rng.random(m) >= design.dropout_per_visit
        n_seen = int(np.argmin(stay)) if not stay.all() else m
        pid = f"V{k:05d}"
        day0 = _START + dt.timedelta(days=k * design.recruitment_interval_days)
        withdrawn = None
        if n_seen < m:
            dropped += 1
            prev_day = visits[n_seen - 1].day if n_seen else 0
            withdrawn = day0 + dt.timedelta(days=max(prev_day, 0))
        patients.append(
            AnalysisPatient(
                patient=pid, site=sites[s], arm_id=alloc.arm, randomised_on=day0,
                sessions_planned=1, sessions_received=1, withdrawn_on=withdrawn,
            )
        )  # fmt: skip
        scores.append(_score(pid, baseline_id, scale, base, day0))
        for j, v in enumerate(visits[:n_seen]):
            on = day0 + dt.timedelta(days=max(v.day, 0))
            scores.append(_score(pid, v.id, scale, base + mean + err[j], on))
            observed[v.id] += 1
    ratio = np.asarray(config.ratio_weights, dtype=float)
    n_arms = len(defn.arm_ids)
    all_arms = [arm_index[r.arm] for r in history]
    common = {
        "level_pct": level_pct(defn),
        "n_randomised": design.n_patients,
        "n_by_arm": {a: all_arms.count(arm_index[a]) for a in defn.arm_ids},
        "n_observed_by_visit": observed,
        "n_dropped_out": dropped,
        "imbalance_overall": _imbalance(all_arms, ratio, n_arms),
        "imbalance_site": _max_imbalance(groups["site"], ratio, n_arms),
        "imbalance_stratum": _max_imbalance(groups["stratum"], ratio, n_arms),
        "imbalance_level": _max_imbalance(groups["level"], ratio, n_arms),
    }
    try:
        analysis = analyse_trial(defn, build_dataset(defn, patients, scores))
    except TrialAnalysisError as exc:
        return VirtualTrialResult(
            estimable=False, reason=str(exc), rejected=False, **common
        )
    ep = analysis.endpoints[0]
    c = ep.contrasts[0]
    sequential = analyse_looks(defn, patients, scores, c) if defn.interim else None
    if defn.sided == 2:
        rejected = c.pvalue < defn.alpha
    else:
        # a lower pain score is a benefit: the one-sided test is of estimate < 0
        rejected = c.estimate < 0 and c.pvalue / 2 < defn.alpha
    return VirtualTrialResult(
        estimable=True,
        estimate=c.estimate,
        se=c.se,
        df=c.df,
        ci_lower=c.ci_lower,
        ci_upper=c.ci_upper,
        pvalue=c.pvalue,
        rejected=bool(rejected),
        converged=ep.converged,
        sequential=sequential,
        **common,
    )


def _truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, low: float, high: float
) -> float:
    """One draw of N(mean, sd^2) truncated to [low, high] (by rejection)."""
    for _ in range(_MAX_DRAWS):
        x = float(rng.normal(mean, sd))
        if low <= x <= high:
            return x
    raise RuntimeError(  # pragma: no cover - needs a mass below 1e-4 (refused)
        "Rejection sampling of the baseline pain did not terminate."
    )


def _score(
    pid: str, visit: str, scale: str, value: float, on: dt.date
) -> AnalysisScore:
    return AnalysisScore(patient=pid, visit_id=visit, scale_id=scale, value=value,
                         done_on=on, in_window=True)  # fmt: skip
