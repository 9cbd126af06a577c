"""Virtual trials (simulate_trial) and their summary (summarise_virtual_trials).

The oracles: the nominal alpha of an exact t test (one visit, complete model),
the true effect simulated, the dropout probability of the design, the engine's
own allocate/analyse_trial seen through spies, and hand-computed summaries.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plptms.trial
from plptms.trial import HmacRandom, Minimisation, PermutedBlocks, TrialDefinition
from plptms.trial import _simulate as sim
from plptms.trial._simulate import (
    VirtualDesign,
    VirtualTrialResult,
    simulate_trial,
    summarise_virtual_trials,
)

from ._analysis_data import example_data

N_NULL_TRIALS = 200  # type I error run (about 6 s)
N_EFFECT_TRIALS = 100  # known-effect run (about 5 s)
K_MCSE = 3.0  # a simulated measure must lie within 3 Monte Carlo SE of its truth
ATOL_HAND = 1e-12  # summaries against values computed by hand
ALPHA = 0.05  # the example trial's two-sided alpha
SIGMA = 2.0  # residual SD of the null run, points
EFFECT = -1.5  # known effect, NRS points


def _definition(
    *,
    factorial: bool = False,
    sites: int = 2,
    visits: tuple[str, ...] = ("end_of_course",),
    randomisation: dict[str, Any] | None = None,
    stratification: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> TrialDefinition:
    """The example trial with ``sites`` sites, the given visits and NRS only."""
    data = example_data()
    codes = [f"S{k:02d}" for k in range(1, sites + 1)]
    data["sites"] = [{"code": c, "name": f"Site {c}"} for c in codes]
    strat = data["stratification"] if stratification is None else stratification
    data["stratification"] = [
        {**f, "levels": codes} if f["id"] == "site" else f for f in strat
    ]
    if not factorial:
        proto = data["arms"][0]["protocol_id"]
        data["co_interventions"] = []
        data["arms"] = [
            {"id": "active", "label": "Active", "condition": "active",
             "protocol_id": proto},
            {"id": "sham", "label": "Sham", "condition": "sham", "protocol_id": proto},
        ]  # fmt: skip
    if randomisation is not None:
        data["randomisation"] = randomisation
    keep = {"baseline", *visits}
    data["visits"] = [v for v in data["visits"] if v["id"] in keep]
    data["endpoints"] = [e for e in data["endpoints"] if e["kind"] == "primary"]
    data["sample_size"] = None
    data.update(extra)
    return TrialDefinition.model_validate(data)


def _run(design: VirtualDesign, n: int, seed: int) -> list[VirtualTrialResult]:
    streams = np.random.SeedSequence(seed).spawn(n)
    return [simulate_trial(design, np.random.default_rng(s)) for s in streams]


@pytest.fixture(scope="module")
def null_design() -> VirtualDesign:
    """Two arms, two sites, permuted blocks, one post-baseline visit, no effect."""
    defn = _definition(
        randomisation={"method": "blocks", "block_sizes": [2, 4]},
        stratification=[{"id": "site", "levels": ["S01", "S02"]}],
    )
    return VirtualDesign(definition=defn, n_patients=40, true_effect=0.0,
                         residual_sd=SIGMA, dropout_per_visit=0.0)  # fmt: skip


@pytest.fixture(scope="module")
def null_results(null_design: VirtualDesign) -> list[VirtualTrialResult]:
    return _run(null_design, N_NULL_TRIALS, seed=20260318)


@pytest.fixture(scope="module")
def effect_design() -> VirtualDesign:
    """The 2x2 factorial by minimisation over site, limb and pain band, 3 visits."""
    defn = _definition(
        factorial=True, sites=3,
        visits=("end_of_course", "followup_1m", "followup_3m"),
        interim=[],  # no look: this run checks the analysis at the end only
    )  # fmt: skip
    return VirtualDesign(
        definition=defn, n_patients=48, true_effect=EFFECT, site_shares=None,
        effect_sd_across_sites=0.5, amputation_level_effect={"upper": 0.5},
        dropout_per_visit=0.15,
    )  # fmt: skip


@pytest.fixture(scope="module")
def effect_results(effect_design: VirtualDesign) -> list[VirtualTrialResult]:
    return _run(effect_design, N_EFFECT_TRIALS, seed=99)


# -- the operating characteristics against their truths --------------------------------


def test_type_i_error_is_alpha(null_results: list[VirtualTrialResult]) -> None:
    """No effect: the rejection rate is within 3 binomial MCSE of the nominal alpha.

    With one visit, complete data and site as a fixed effect the MMRM is the
    ANCOVA, whose t test is exact; the truth is the nominal alpha.
    """
    s = summarise_virtual_trials(null_results, 0.0)
    assert s.n_estimable == N_NULL_TRIALS
    assert s.measure == "type_i_error"
    mcse = math.sqrt(ALPHA * (1 - ALPHA) / N_NULL_TRIALS)
    assert abs(s.rejection_rate.value - ALPHA) <= K_MCSE * mcse, s.rejection_rate
    assert abs(s.coverage.value - (1 - ALPHA)) <= K_MCSE * mcse, s.coverage
    assert abs(s.bias.value) <= K_MCSE * s.bias.mcse, s.bias


def test_type_i_error_with_the_interim_look_is_alpha(
    null_results: list[VirtualTrialResult],
) -> None:
    """The example trial's look (half the information, O'Brien-Fleming-type).

    Lan-DeMets spending keeps the overall type I error at alpha whatever the
    looks: the rejection rate with the look is within 3 binomial MCSE of it.
    """
    s = summarise_virtual_trials(null_results, 0.0)
    assert s.sequential is not None
    assert s.sequential.planned_fractions == (0.5,)
    mcse = math.sqrt(ALPHA * (1 - ALPHA) / N_NULL_TRIALS)
    got = s.sequential.rejection_rate.value
    assert abs(got - ALPHA) <= K_MCSE * mcse, s.sequential.rejection_rate
    assert s.sequential.looks[0].taken.value == 1.0


def test_empirical_se_is_the_analytic_se(
    null_results: list[VirtualTrialResult],
) -> None:
    """SE of a difference of means, sigma sqrt(1/n1 + 1/n2), 20 patients an arm.

    The ANCOVA adds about 1/(n - 4) to the variance (under 2 % of the SE here),
    well inside the 3-MCSE band (15 %).
    """
    s = summarise_virtual_trials(null_results, 0.0)
    analytic = SIGMA * math.sqrt(1 / 20 + 1 / 20)
    assert abs(s.empirical_se.value - analytic) <= K_MCSE * s.empirical_se.mcse
    assert abs(s.model_se.value - analytic) <= 0.05 * analytic


def test_rejection_matches_the_interval(
    null_results: list[VirtualTrialResult], effect_results: list[VirtualTrialResult]
) -> None:
    """Two-sided: rejected exactly when the 95 % interval excludes 0."""
    for r in [*null_results, *effect_results]:
        assert r.ci_lower is not None
        assert r.ci_upper is not None
        assert r.rejected == (not r.ci_lower <= 0.0 <= r.ci_upper)


def test_one_sided_rejection_matches_the_upper_bound() -> None:
    """One-sided: rejected when the upper bound of the 90 % interval is below 0."""
    defn = _definition(sided=1)
    design = VirtualDesign(definition=defn, n_patients=24, true_effect=EFFECT)
    results = _run(design, 20, seed=3)
    assert results[0].level_pct == pytest.approx(90.0)
    assert any(r.rejected for r in results)
    for r in results:
        assert r.ci_upper is not None
        assert r.rejected == (r.ci_upper < 0.0)


def test_estimate_is_unbiased(effect_results: list[VirtualTrialResult]) -> None:
    """A known effect, heterogeneous across sites, with dropout: bias within 3 MCSE."""
    s = summarise_virtual_trials(effect_results, EFFECT)
    assert s.measure == "power"
    assert s.n_estimable == N_EFFECT_TRIALS
    assert abs(s.bias.value) <= K_MCSE * s.bias.mcse, s.bias
    assert 0.0 < s.rejection_rate.value < 1.0


def test_dropout_matches_the_design(
    effect_design: VirtualDesign, effect_results: list[VirtualTrialResult]
) -> None:
    """Share observed at the k-th visit is (1 - d)^k, within 3 binomial MCSE."""
    d = effect_design.dropout_per_visit
    n = sum(r.n_randomised for r in effect_results)
    for k, visit in enumerate(effect_design.simulated_visits(), start=1):
        seen = sum(r.n_observed_by_visit[visit] for r in effect_results) / n
        p = (1 - d) ** k
        assert abs(seen - p) <= K_MCSE * math.sqrt(p * (1 - p) / n), (visit, seen)
    gone = sum(r.n_dropped_out for r in effect_results) / n
    p = 1 - (1 - d) ** 3
    assert abs(gone - p) <= K_MCSE * math.sqrt(p * (1 - p) / n)


def test_site_shares_are_respected() -> None:
    """Recruitment 3:1 between two sites: the shares within 3 binomial MCSE."""
    defn = _definition(randomisation={"method": "simple"}, stratification=[])
    design = VirtualDesign(definition=defn, n_patients=40, true_effect=0.0,
                           site_shares={"S01": 3.0, "S02": 1.0})  # fmt: skip
    spy: list[str] = []
    real = sim.AnalysisPatient

    def record(**kw: Any) -> Any:
        spy.append(kw["site"])
        return real(**kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sim, "AnalysisPatient", record)
        _run(design, 10, seed=4)
    share = spy.count("S01") / len(spy)
    assert abs(share - 0.75) <= K_MCSE * math.sqrt(0.75 * 0.25 / len(spy))


# -- the engine does the allocation and the analysis -----------------------------------


def test_allocation_is_the_engines(
    effect_design: VirtualDesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every patient goes through plptms.trial.allocate with the definition's method."""
    assert sim.allocate is plptms.trial.allocate
    calls: list[Any] = []
    real = plptms.trial.allocate

    def spy(history: Any, factors: Any, config: Any, draw: Any) -> Any:
        out = real(history, factors, config, draw)
        calls.append((len(history), dict(factors), config, draw, out.arm))
        return out

    monkeypatch.setattr(sim, "allocate", spy)
    r = simulate_trial(effect_design, np.random.default_rng(1))
    assert [c[0] for c in calls] == list(range(effect_design.n_patients))
    assert all(c[2] == effect_design.definition.randomiser() for c in calls)
    assert isinstance(calls[0][2], Minimisation)
    assert all(isinstance(c[3], HmacRandom) for c in calls)
    assert set(calls[0][1]) == {"site", "limb", "pain_band"}
    arms = [c[4] for c in calls]
    assert r.n_by_arm == {a: arms.count(a) for a in effect_design.definition.arm_ids}


def test_blocks_are_the_engines_blocks(null_design: VirtualDesign) -> None:
    """Permuted blocks of 2 and 4 within each site: a site is never off by more than
    2 (half the largest block), and the blocks method was used."""
    assert isinstance(null_design.definition.randomiser(), PermutedBlocks)
    for seed in range(5):
        r = simulate_trial(null_design, np.random.default_rng(seed))
        assert r.imbalance_site <= 2.0


def test_analysis_is_the_engines(
    effect_design: VirtualDesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result is the primary contrast of plptms.trial.analyse_trial."""
    assert sim.analyse_trial is plptms.trial.analyse_trial
    seen: list[Any] = []
    real = plptms.trial.analyse_trial

    def spy(defn: Any, dataset: Any, **kw: Any) -> Any:
        out = real(defn, dataset, **kw)
        seen.append((defn, dataset, out))
        return out

    monkeypatch.setattr(sim, "analyse_trial", spy)
    r = simulate_trial(effect_design, np.random.default_rng(2))
    (defn, dataset, analysis), = seen  # fmt: skip
    assert defn == effect_design.analysis_definition()
    assert len(dataset.patients) == effect_design.n_patients
    c = analysis.endpoints[0].contrasts[0]
    assert c.label.startswith("stimulation: active - sham")
    assert (r.estimate, r.se, r.df, r.pvalue) == (c.estimate, c.se, c.df, c.pvalue)
    assert (r.ci_lower, r.ci_upper) == (c.ci_lower, c.ci_upper)


def test_not_estimable_is_reported_not_raised() -> None:
    """A trial whose every patient drops out before the endpoint is reported."""
    defn = _definition()
    design = VirtualDesign(definition=defn, n_patients=8, true_effect=0.0,
                           dropout_per_visit=0.999)  # fmt: skip
    r = simulate_trial(design, np.random.default_rng(0))
    assert not r.estimable
    assert not r.rejected
    assert r.estimate is None
    assert r.reason is not None
    assert "nrs_change_eoc" in r.reason
    assert r.n_dropped_out == r.n_randomised == 8


# -- reproducibility -------------------------------------------------------------------


def test_seeded_runs_are_identical(effect_design: VirtualDesign) -> None:
    """Same seed, same trial (exactly); another seed, another trial."""
    a = simulate_trial(effect_design, np.random.default_rng(7))
    b = simulate_trial(effect_design, np.random.default_rng(7))
    c = simulate_trial(effect_design, np.random.default_rng(8))
    assert a == b
    assert a != c


def test_design_and_result_pickle(effect_design: VirtualDesign) -> None:
    """Designs and results cross process boundaries (a process pool, Dask)."""
    r = simulate_trial(effect_design, np.random.default_rng(5))
    design = pickle.loads(pickle.dumps(effect_design))
    assert design == effect_design
    assert pickle.loads(pickle.dumps(r)) == r
    assert simulate_trial(design, np.random.default_rng(5)) == r


# -- the summary against values computed by hand ---------------------------------------


def _result(est: float | None, se: float, lo: float, hi: float, rej: bool,
            imb: float, dropped: int) -> VirtualTrialResult:  # fmt: skip
    fields: dict[str, Any] = {}
    if est is not None:
        fields = {"estimate": est, "se": se, "df": 30.0, "ci_lower": lo,
                  "ci_upper": hi, "pvalue": 0.5, "converged": True}  # fmt: skip
    return VirtualTrialResult(
        estimable=est is not None, reason=None if est is not None else "none",
        level_pct=95.0, rejected=rej, n_randomised=10, n_by_arm={"a": 5, "b": 5},
        n_observed_by_visit={"v": 10 - dropped}, n_dropped_out=dropped,
        imbalance_overall=imb, imbalance_site=imb, imbalance_stratum=imb,
        imbalance_level=imb, **fields,
    )  # fmt: skip


def test_summary_by_hand() -> None:
    """Four estimable trials and one that is not, every measure worked by hand.

    Estimates -1, -2, 0, -3 (mean -1.5; squared deviations sum 5, var 5/3),
    truth -1: bias -0.5, MCSE sqrt(5/12); empSE sqrt(5/3), MCSE sqrt(5/18).
    Rejected 3 of 4: 0.75, MCSE sqrt(0.75 * 0.25 / 4). Intervals (-2, 0),
    (-3, -1.2), (-1.5, 1.5), (-4, -2) cover -1 twice: 0.5, MCSE 0.25. SEs 1, 1,
    2, 2: mean square 2.5, modSE sqrt(2.5), var of squares 3, MCSE
    sqrt(3/4) / (2 sqrt(2.5)). Imbalances 0, 2, 2, 4, 2 over all five: mean 2,
    var 2, MCSE sqrt(2/5). Dropout 0-4 of 10: mean 0.2, var 0.025, MCSE
    sqrt(0.025/5).
    """
    results = [
        _result(-1.0, 1.0, -2.0, 0.0, True, 0.0, 0),
        _result(-2.0, 1.0, -3.0, -1.2, True, 2.0, 1),
        _result(0.0, 2.0, -1.5, 1.5, False, 2.0, 2),
        _result(-3.0, 2.0, -4.0, -2.0, True, 4.0, 3),
        _result(None, 0.0, 0.0, 0.0, False, 2.0, 4),
    ]
    s = summarise_virtual_trials(results, -1.0)
    expected = {
        "bias": (-0.5, math.sqrt(5 / 12)),
        "empirical_se": (math.sqrt(5 / 3), math.sqrt(5 / 18)),
        "rejection_rate": (0.75, math.sqrt(0.75 * 0.25 / 4)),
        "coverage": (0.5, 0.25),
        "model_se": (math.sqrt(2.5), math.sqrt(3 / 4) / (2 * math.sqrt(2.5))),
        "imbalance_overall": (2.0, math.sqrt(2 / 5)),
        "imbalance_level": (2.0, math.sqrt(2 / 5)),
        "dropout_share": (0.2, math.sqrt(0.025 / 5)),
    }
    for name, (value, mcse) in expected.items():
        got = getattr(s, name)
        assert got.value == pytest.approx(value, abs=ATOL_HAND), name
        assert got.mcse == pytest.approx(mcse, abs=ATOL_HAND), name
    assert (s.n_trials, s.n_estimable, s.measure) == (5, 4, "power")
    assert summarise_virtual_trials(results, 0).measure == "type_i_error"


def test_summary_errors_name_the_field() -> None:
    one = _result(-1.0, 1.0, -2.0, 0.0, True, 0.0, 0)
    with pytest.raises(ValueError, match="'results'"):
        summarise_virtual_trials([one, _result(None, 0, 0, 0, False, 0, 0)], 0.0)
    with pytest.raises(TypeError, match=r"results\[1\]"):
        summarise_virtual_trials([one, "x"], 0.0)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="'true_effect'"):
        summarise_virtual_trials([one, one], math.nan)


# -- the design's checks ---------------------------------------------------------------


def test_design_errors_name_the_field() -> None:
    defn = _definition()
    ok: dict[str, Any] = {"definition": defn, "n_patients": 20, "true_effect": 0.0}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"n_patients": 3}, "'n_patients'"),
        ({"site_shares": {"S01": 1.0, "S09": 1.0}}, "'site_shares'"),
        ({"site_shares": {"S01": 1.0, "S02": 0.0}}, "'site_shares'"),
        ({"dropout_per_visit": 1.0}, "'dropout_per_visit'"),
        ({"within_patient_correlation": -0.1}, "'within_patient_correlation'"),
        ({"residual_sd": 0.0}, "'residual_sd'"),
        ({"site_sd": -1.0}, "'site_sd'"),
        ({"true_effect": math.inf}, "'true_effect'"),
        ({"visits": ("followup_1m",)}, "'visits'"),
        ({"amputation_level_mix": {"arm": 1.0}}, "'amputation_level_mix'"),
        ({"amputation_level_effect": {"hand": 1.0}}, "'amputation_level_effect'"),
        ({"pain_band_lower": {"low": 4.0}}, "'pain_band_lower'"),
        ({"pain_band_lower": {"nrs_4_6": 5.0, "nrs_7_10": 7.0}}, "'pain_band_lower'"),
        ({"baseline_pain_mean": -20.0}, "'baseline_pain_mean'"),
    ]
    for change, field in bad:
        with pytest.raises(ValueError, match=field):
            VirtualDesign(**{**ok, **change})
    data = defn.model_dump()
    data["stratification"] = [*data["stratification"],
                              {"id": "sex", "levels": ["f", "m"]}]  # fmt: skip
    with pytest.raises(ValueError, match="'stratification'"):
        VirtualDesign(**{**ok, "definition": TrialDefinition.model_validate(data)})
    data = defn.model_dump()
    data["endpoints"] = [{**data["endpoints"][0], "measure": "value"}]
    with pytest.raises(ValueError, match="'definition'"):
        VirtualDesign(**{**ok, "definition": TrialDefinition.model_validate(data)})
    data = defn.model_dump()
    data["arms"][1]["condition"] = "active"
    data["arms"][1]["co_interventions"] = {}
    two_active = TrialDefinition.model_validate(
        {**data, "arms": [data["arms"][0], {**data["arms"][1], "id": "active_2",
                                             "protocol_id": "xu2019-m1-10hz"}]}
    )  # fmt: skip
    with pytest.raises(ValueError, match="'definition'"):
        VirtualDesign(**{**ok, "definition": two_active})
    design = VirtualDesign(**ok)
    with pytest.raises(TypeError, match="'rng'"):
        simulate_trial(design, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'design'"):
        simulate_trial(ok, np.random.default_rng())  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(d=st.floats(min_value=-2.0, max_value=3.0, allow_nan=False))
def test_dropout_range(d: float) -> None:
    """In [0, 1) passes and is kept; outside raises and names the field."""
    defn = _definition()
    if 0.0 <= d < 1.0:
        design = VirtualDesign(definition=defn, n_patients=20, true_effect=0.0,
                               dropout_per_visit=d)  # fmt: skip
        assert design.dropout_per_visit == d
        assert VirtualDesign.model_validate(design.model_dump()) == design
    else:
        with pytest.raises(ValueError, match="'dropout_per_visit'"):
            VirtualDesign(definition=defn, n_patients=20, true_effect=0.0,
                          dropout_per_visit=d)  # fmt: skip


def test_analysis_definition_keeps_the_design() -> None:
    """Cut down to the primary scale and visits; arms, sites, method unchanged."""
    defn = _definition(
        factorial=True, sites=4, visits=("end_of_course", "followup_1m", "followup_6m")
    )
    design = VirtualDesign(definition=defn, n_patients=40, true_effect=-1.0,
                           visits=("followup_6m", "end_of_course"))  # fmt: skip
    cut = design.analysis_definition()
    assert [v.id for v in cut.visits] == ["baseline", "end_of_course", "followup_6m"]
    assert all(v.scales == ("nrs_phantom_average",) for v in cut.visits)
    assert [e.id for e in cut.endpoints] == ["nrs_change_eoc"]
    assert cut.randomiser() == defn.randomiser()
    assert (cut.site_codes, cut.arm_ids) == (defn.site_codes, defn.arm_ids)
    assert design.baseline_range() == (4.0, 10.0)
