"""The planned analyses (analyse_trial) and interim looks (interim_analysis)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from plptms.trial._analysis import durability, moderator_analysis
from plptms.trial._dataset import AnalysisDataset, build_dataset
from plptms.trial._definition import (
    TrialDefinition,
    amend_definition,
    diff_definitions,
    plan_amendment,
)
from plptms.trial._mmrm import MMRMSpec, fit_mmrm
from plptms.trial._sequential import evaluate_interim, lan_demets_boundaries
from plptms.trial._trial_analysis import (
    TrialAnalysis,
    TrialAnalysisError,
    analyse_trial,
)
from plptms.trial._trial_interim import interim_analysis, t_to_z

from ._analysis_data import NRS, example_data, patient, score, simulate
from ._analysis_data import small_definition as small

RTOL_OLS = 1e-6  # REML with one visit is OLS; the optimiser stops at |grad| < 1e-8
RTOL_REFIT = 1e-5  # two fits of one model, parametrised differently
ATOL_Z = 1e-9  # boundaries: the same integration, the same inputs
COVERAGE_TRIALS = 300  # simulated trials (about 25 s)
STIM = -1.5  # simulated stimulation effect on pain, NRS points (lower is better)


def _dataset(defn: TrialDefinition, n: int, **kw: Any) -> AnalysisDataset:
    return build_dataset(defn, *simulate(defn, n, **kw))


# -- the MMRM reduces to OLS with one post-baseline visit ------------------------------


def test_one_visit_two_arms_is_ancova_by_ols() -> None:
    """Complete data, one visit: the MMRM is the ANCOVA value ~ arm + baseline + site.

    The oracle is statsmodels' OLS on the value (not the change: the arm
    coefficient, its SE and df are the same); LS means are its predictions at
    the mean baseline averaged over the sites, minus the mean baseline.
    """
    smf = pytest.importorskip("statsmodels.formula.api")
    pd = pytest.importorskip("pandas")
    defn = small(factorial=False, post_visits=1, endpoints="primary")
    ds = _dataset(defn, 60, seed=11, sd=1.3)
    res = analyse_trial(defn, ds)
    ep = res.endpoint("nrs_change_eoc")
    frame = pd.DataFrame(ds.columns())
    frame = frame[frame["scale_id"] == NRS]
    ols = smf.ols(
        "value ~ C(arm, Treatment('sham')) + baseline + C(site)", data=frame
    ).fit()
    term = "C(arm, Treatment('sham'))[T.active]"
    (effect,) = ep.contrasts
    assert effect.label == "stimulation: active - sham at end_of_course"
    assert effect.estimate == pytest.approx(ols.params[term], rel=RTOL_OLS)
    assert effect.se == pytest.approx(ols.bse[term], rel=RTOL_OLS)
    assert effect.df == pytest.approx(ols.df_resid, rel=RTOL_OLS)  # 60 - 5
    assert effect.pvalue == pytest.approx(ols.pvalues[term], rel=1e-5)
    lo, hi = ols.conf_int(alpha=0.05).loc[term]
    assert (effect.ci_lower, effect.ci_upper) == pytest.approx((lo, hi), rel=RTOL_OLS)
    bbar = frame["baseline"].mean()
    for est in ep.lsmeans:
        grid = pd.DataFrame(
            {"arm": est.arm, "site": ["S01", "S02", "S03"], "baseline": bbar}
        )
        expected = ols.predict(grid).mean() - bbar
        assert est.estimate == pytest.approx(expected, rel=RTOL_OLS)
    assert (ep.n_patients, ep.n_observations) == (60, 60)


def test_factorial_contrasts_are_cell_mean_algebra() -> None:
    """One visit, one site, the value itself: LS means are the raw cell means.

    The main effects and the interaction are then sums of cell means, and their
    SE is ``s sqrt(sum c^2 / n)`` with the pooled within-cell SD on n - 4 df.
    """
    defn = small(post_visits=1, endpoints="primary")
    defn = defn.model_copy(
        update={
            "endpoints": (defn.endpoints[0].model_copy(update={"measure": "value"}),)
        }
    )
    ds = _dataset(defn, 80, seed=4, sites=1, mirror=0.7, interaction=0.4)
    res = analyse_trial(defn, ds)
    cols = ds.columns()
    nrs = np.asarray(cols["scale_id"]) == NRS
    y = np.asarray(cols["value"])[nrs].astype(float)
    arms = np.asarray(cols["arm"])[nrs]
    cell = {a: y[arms == a] for a in defn.arm_ids}
    means = {a: v.mean() for a, v in cell.items()}
    resid = np.concatenate([v - v.mean() for v in cell.values()])
    s2 = resid @ resid / (y.size - 4)
    c: dict[str, dict[str, float]] = {
        "stimulation": {"active_mt": .5, "active_no_mt": .5, "sham_mt": -.5,
                        "sham_no_mt": -.5},
        "mirror_therapy": {"active_mt": .5, "sham_mt": .5, "active_no_mt": -.5,
                           "sham_no_mt": -.5},
        "stimulation x": {"active_mt": 1, "active_no_mt": -1, "sham_mt": -1,
                          "sham_no_mt": 1},
    }  # fmt: skip
    ep = res.endpoint("nrs_change_eoc")
    assert [e.estimate for e in ep.lsmeans] == pytest.approx(
        [means[a] for a in defn.arm_ids], rel=RTOL_OLS
    )
    for (name, w), est in zip(c.items(), ep.contrasts, strict=True):
        assert est.label.startswith(name)
        assert est.estimate == pytest.approx(
            sum(w[a] * means[a] for a in w), rel=RTOL_OLS
        )
        se = math.sqrt(s2 * sum(w[a] ** 2 / cell[a].size for a in w))
        assert est.se == pytest.approx(se, rel=RTOL_OLS)
        assert est.df == pytest.approx(y.size - 4, rel=RTOL_OLS)


# -- simulated factorial trials --------------------------------------------------------


def test_large_factorial_recovers_the_effects() -> None:
    """800 patients, two visits: stimulation -1.5, mirror therapy 0, no interaction."""
    defn = small(endpoints="primary")
    res = analyse_trial(defn, _dataset(defn, 800, seed=21, missing=0.1))
    stim, mirror, inter = res.endpoint("nrs_change_eoc").contrasts
    for est, truth in ((stim, STIM), (mirror, 0.0), (inter, 0.0)):
        assert est.ci_lower <= truth <= est.ci_upper, est
        assert est.level_pct == pytest.approx(95.0)
    assert stim.pvalue < 1e-6
    assert len(res.durability) == 1
    assert res.durability[0].visit == "followup_1m"
    d = res.durability[0]
    assert d.ci_lower <= STIM <= d.ci_upper


def test_coverage_of_the_stimulation_effect() -> None:
    """Coverage of the 95 % interval over simulated 80-patient 2x2 trials.

    Correlated visits, 10 % missing at random; the coverage is within 3 binomial
    SE of 0.95.
    """
    defn = small(endpoints="primary")
    hits = 0
    for seed in range(COVERAGE_TRIALS):
        res = analyse_trial(defn, _dataset(defn, 80, seed=1000 + seed, missing=0.1))
        est = res.endpoints[0].contrasts[0]
        hits += est.ci_lower <= STIM <= est.ci_upper
    se = math.sqrt(0.95 * 0.05 / COVERAGE_TRIALS)
    assert abs(hits / COVERAGE_TRIALS - 0.95) <= 3 * se, hits


# -- durability and moderators against the existing functions --------------------------


def test_durability_and_moderator_match_the_core_functions() -> None:
    """Two arms: the same MMRM built by hand, through durability/moderator_analysis."""
    defn = small(factorial=False, endpoints="primary")
    ds = _dataset(defn, 60, seed=8, missing=0.15)
    res = analyse_trial(defn, ds)
    cols = ds.columns()
    pairs = zip(cols["scale_id"], cols["change"], strict=True)
    keep = [i for i, (s, ch) in enumerate(pairs) if s == NRS and ch is not None]
    data = {k: [cols[k][i] for i in keep] for k in
            ("patient", "visit", "arm", "site", "change", "baseline")}  # fmt: skip
    covariate = dict(
        zip(ds.columns("patients")["patient"],
            ds.columns("patients")["months_since_amputation"], strict=True)
    )  # fmt: skip
    data["months"] = [covariate[p] for p in data["patient"]]
    spec = MMRMSpec(
        outcome="change", subject="patient", visit="visit", arm="arm",
        baseline="baseline", site="site", baseline_by_visit=True,
        levels={"arm": ("sham", "active")},
    )  # fmt: skip
    fit = fit_mmrm(data, spec)
    expect = durability(fit, ["end_of_course", "followup_1m"], arm="active",
                        reference="sham")  # fmt: skip
    got = [res.endpoints[0].contrasts[0], *res.durability]
    for g, e in zip(got, expect, strict=True):
        assert (g.estimate, g.se, g.df) == pytest.approx(
            (e.estimate, e.se, e.df), rel=RTOL_REFIT
        )
    inter, _ = moderator_analysis(data, spec, "months", arm="active")
    (mod,) = res.moderators
    assert mod.covariate == "months_since_amputation"
    assert mod.interaction is not None
    assert (mod.interaction.estimate, mod.interaction.se) == pytest.approx(
        (inter.estimate, inter.se), rel=RTOL_REFIT
    )


# -- responders, hand counts -----------------------------------------------------------


def _responder_records() -> tuple[list[Any], list[Any]]:
    """Ten patients; reductions by hand (30 % / 50 % responder?)."""
    table = [  # patient, arm, baseline, end of course, in window
        ("A1", "active", 8.0, 4.0, True),  # 50 %: yes / yes
        ("A2", "active", 10.0, 7.0, True),  # 30 %: yes / no
        ("A3", "active", 6.0, 5.0, True),  # 17 %: no / no
        ("A4", "active", 5.0, None, True),  # missing: non-responder (ITT)
        ("A5", "active", None, 2.0, True),  # no baseline: non-responder (ITT)
        ("S1", "sham", 8.0, 6.0, True),  # 25 %
        ("S2", "sham", 9.0, 4.0, True),  # 56 %: yes / yes
        ("S3", "sham", 7.0, 7.5, True),  # worse
        ("S4", "sham", 6.0, 3.0, False),  # 50 %, out of window
        ("S5", "sham", 10.0, 8.0, True),  # 20 %
    ]
    patients = [patient(p, a) for p, a, *_ in table]
    scores = []
    for p, _, base, eoc, ok in table:
        if base is not None:
            scores.append(score(p, "baseline", NRS, base))
        if eoc is not None:
            scores.append(score(p, "end_of_course", NRS, eoc, day=14, ok=ok))
    return patients, scores


def test_responders_by_hand() -> None:
    defn = small(factorial=False, post_visits=1)
    res = analyse_trial(defn, build_dataset(defn, *_responder_records()))
    counts = {}
    for eid in ("nrs_r30", "nrs_r50"):
        ep = res.endpoint(eid)
        assert ep.status == "estimated"
        assert ep.responders is not None
        assert ep.responders_complete_case is not None
        counts[eid] = (
            {a.arm: (a.n, a.responders) for a in ep.responders.arms},
            {a.arm: (a.n, a.responders) for a in ep.responders_complete_case.arms},
        )
    assert counts["nrs_r30"] == (
        {"active": (5, 2), "sham": (5, 2)}, {"active": (3, 2), "sham": (5, 2)},
    )  # fmt: skip
    assert counts["nrs_r50"] == (
        {"active": (5, 1), "sham": (5, 2)}, {"active": (3, 1), "sham": (5, 2)},
    )  # fmt: skip
    r30 = res.endpoint("nrs_r30").responders
    assert r30 is not None
    assert r30.difference == pytest.approx(2 / 5 - 2 / 5, abs=1e-12)
    assert "non-responder" in res.endpoint("nrs_r30").method
    # secondaries without data are reported, not raised
    for eid in ("pgic_eoc", "bpi_eoc"):
        assert res.endpoint(eid).status.startswith("not estimable: no observed")
    # per protocol: S4's out-of-window value is left out (a non-responder)
    pp = analyse_trial(
        defn, build_dataset(defn, *_responder_records()), analysis_set="pp"
    )
    pp30 = pp.endpoint("nrs_r30").responders
    assert pp30 is not None
    assert {a.arm: (a.n, a.responders) for a in pp30.arms} == {
        "active": (5, 2), "sham": (5, 1),
    }  # fmt: skip


# -- analysis sets, errors, serialisation ----------------------------------------------


def test_per_protocol_analysis_leaves_out_patients_and_late_scores() -> None:
    defn = small(factorial=False, post_visits=1, endpoints="primary")
    patients, scores = simulate(defn, 40, seed=2)
    patients = [
        p.model_copy(update={"sessions_received": 5}) if p.patient < "P0006" else p
        for p in patients
    ]
    scores = [
        s.model_copy(update={"in_window": False})
        if s.patient.endswith("7") and s.visit_id != "baseline" else s
        for s in scores
    ]  # fmt: skip
    ds = build_dataset(defn, patients, scores)
    itt = analyse_trial(defn, ds).endpoints[0]
    pp = analyse_trial(defn, ds, analysis_set="pp").endpoints[0]
    late = {f"P{k:04d}" for k in range(40) if k % 10 == 7}
    assert itt.n_observations == 40
    assert pp.n_observations == 40 - 6 - len(late)
    assert analyse_trial(defn, ds, analysis_set="pp").n_by_arm == {
        "active": 17, "sham": 17,
    }  # fmt: skip
    with pytest.raises(ValueError, match="'analysis_set'"):
        analyse_trial(defn, build_dataset(defn, patients, scores, analysis_set="pp"))


def test_primary_without_data_is_an_error() -> None:
    defn = small(factorial=False, post_visits=1)
    patients, scores = simulate(defn, 20, seed=1)
    no_sham = [s for s in scores if not (s.visit_id != "baseline" and
               int(s.patient[1:]) % 2 == 1)]  # fmt: skip
    with pytest.raises(TrialAnalysisError, match=r"nrs_change_eoc.*\['sham'\]"):
        analyse_trial(defn, build_dataset(defn, patients, no_sham))
    baseline_only = [s for s in scores if s.visit_id == "baseline"]
    with pytest.raises(TrialAnalysisError, match=r"no observed change.*end_of_course"):
        analyse_trial(defn, build_dataset(defn, patients, baseline_only))
    other = small(factorial=False, post_visits=1, id="another-trial")
    with pytest.raises(ValueError, match="'dataset'"):
        analyse_trial(other, build_dataset(defn, patients, scores))


def test_analysis_is_json_serialisable() -> None:
    defn = small()
    res = analyse_trial(defn, _dataset(defn, 48, seed=9, missing=0.1))
    assert [e.status for e in res.endpoints] == ["estimated"] * 5
    text = res.model_dump_json()
    assert json.loads(text)["endpoints"][0]["contrasts"][0]["label"].startswith(
        "stimulation"
    )
    assert TrialAnalysis.model_validate_json(text) == res


# -- interim analyses ------------------------------------------------------------------


def _looks(fractions: list[float], sample_size: int = 100) -> TrialDefinition:
    return small(
        factorial=False, post_visits=1, endpoints="primary", sample_size=sample_size,
        interim=[{"information_fraction": f} for f in fractions],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fractions", "look", "n"), [([0.5], 1, 50), ([0.3, 0.6], 2, 60)]
)
def test_interim_boundary_at_the_planned_fraction(
    fractions: list[float], look: int, n: int
) -> None:
    defn = _looks(fractions)
    rep = interim_analysis(defn, _dataset(defn, n, seed=5), look=look)
    assert rep.information_fraction == pytest.approx(fractions[look - 1], abs=1e-15)
    planned = defn.boundaries()  # the design's own boundaries (final look at 1)
    assert rep.upper == pytest.approx(planned.upper[look - 1], abs=ATOL_Z)
    assert rep.lower == pytest.approx(-planned.upper[look - 1], abs=ATOL_Z)
    direct = lan_demets_boundaries(fractions[:look], 0.05, spending="obrien_fleming")
    assert rep.upper == pytest.approx(direct.upper[-1], abs=ATOL_Z)


def test_interim_decisions() -> None:
    defn = _looks([0.5])
    huge = interim_analysis(defn, _dataset(defn, 50, seed=6, stim=-3.0), look=1)
    assert huge.decision == "stop_for_efficacy"
    assert huge.z > huge.upper > 0  # lower pain is better: z favours active
    assert huge.contrast.estimate < 0
    null = interim_analysis(defn, _dataset(defn, 50, seed=6, stim=0.0), look=1)
    assert null.decision == "continue"
    # the same decision as evaluate_interim on the observed information
    for rep in (huge, null):
        ev = evaluate_interim([rep.z], [rep.n_observed], 100)
        assert ev.boundaries.upper[-1] == pytest.approx(rep.upper, abs=ATOL_Z)
        assert ev.stop_for_efficacy == (rep.decision != "continue")
    # fewer patients than planned: the boundary follows the observed fraction
    early = interim_analysis(defn, _dataset(defn, 40, seed=6), look=1)
    assert early.information_fraction == pytest.approx(0.4)
    assert early.fractions == (pytest.approx(0.4),)
    assert early.upper == pytest.approx(
        lan_demets_boundaries([0.4], 0.05).upper[0], abs=ATOL_Z
    )
    assert early.upper > huge.upper  # O'Brien-Fleming: later looks are easier


def test_t_to_z_closed_forms() -> None:
    """T with 1 df is Cauchy, F = 1/2 + atan(t)/pi; with 2 df, F = 1/2 + t/(2 sqrt(2 + t^2))."""  # noqa: E501
    for t in (-3.0, 0.4, 3.0, 25.0):
        z1 = stats.norm.ppf(0.5 + math.atan(t) / math.pi)
        assert t_to_z(t, 1.0) == pytest.approx(z1, rel=1e-9)
        z2 = stats.norm.ppf(0.5 + t / (2.0 * math.sqrt(2.0 + t * t)))
        assert t_to_z(t, 2.0) == pytest.approx(z2, rel=1e-9)
    assert t_to_z(2.5, math.inf) == 2.5
    assert abs(t_to_z(2.0, 10.0)) < 2.0  # heavier tails: a smaller z


def test_interim_errors_name_the_field() -> None:
    defn = _looks([0.5])
    ds = _dataset(defn, 50, seed=3)
    no_size = defn.model_copy(update={"sample_size": None})
    with pytest.raises(ValueError, match="'sample_size'"):
        interim_analysis(no_size, ds, look=1)
    with pytest.raises(ValueError, match=r"'look'.*\[1, 1\]"):
        interim_analysis(defn, ds, look=2)
    with pytest.raises(ValueError, match=r"'look'.*fraction 1 \(50 of 50.*\(0, 1\)"):
        interim_analysis(defn.model_copy(update={"sample_size": 50}), ds, look=1)
    with pytest.raises(TypeError, match="'look'"):
        interim_analysis(defn, ds, look=1.0)  # type: ignore[arg-type]
    pgic = defn.model_copy(
        update={"endpoints": (defn.endpoints[0].model_copy(
            update={"scale_id": "bpi_interference"}),)}
    )  # fmt: skip
    with pytest.raises(ValueError, match="'higher_is_better'"):
        interim_analysis(pgic, ds, look=1)


# -- sample_size in the definition -----------------------------------------------------


def test_sample_size_in_the_definition() -> None:
    data = example_data()
    assert TrialDefinition.model_validate(data).sample_size == 160
    with pytest.raises(ValueError, match=r"'sample_size'.*got 7.*\[8, inf\)"):
        TrialDefinition.model_validate({**data, "sample_size": 7})
    old = TrialDefinition.model_validate(data)
    new = TrialDefinition.model_validate({**data, "sample_size": 200, "version": 2})
    (change,) = diff_definitions(old, new)
    assert change.field == "sample_size"
    assert change.allowed_after_enrolment
    assert change.needs == "amendment; update the trial registration"
    reason = "Recruitment slower than planned; DMC advice"
    assert amend_definition(old, new, reason, enrolled=True) is new
    assert plan_amendment(old, new, reason).refused_after_enrolment == ()


# -- the shipped example -------------------------------------------------------------


def test_the_example_trial_end_to_end() -> None:
    """The 2x2 example: 14 NRS visits, 80 patients; EQ-5D and HAM-D not collected."""
    defn = TrialDefinition.model_validate(example_data())
    ds = _dataset(defn, 80, seed=12, missing=0.1)
    res = analyse_trial(defn, ds)
    status = {e.endpoint_id: e.status for e in res.endpoints}
    assert [k for k, v in status.items() if v == "estimated"] == [
        "nrs_change_eoc", "nrs_responder30_eoc", "pgic_eoc", "bpi_interference_eoc",
        "nrs_change_6m",
    ]  # fmt: skip
    assert status["hamd_eoc"].startswith("not estimable: no observed change")
    primary = res.endpoint("nrs_change_eoc")
    assert len(primary.visits) == 14
    stim = primary.contrasts[0]
    assert abs(stim.estimate - STIM) < 3.5 * stim.se  # 1 in 2,000 to fail by chance
    assert [d.visit for d in res.durability] == [
        "followup_1m", "followup_3m", "followup_6m",
    ]  # fmt: skip
    assert [m.covariate for m in res.moderators] == ["months_since_amputation"]
    rep = interim_analysis(defn, ds, look=1)
    assert rep.n_observed == sum(
        v is not None
        for v, s, vis in zip(ds.columns()["change"], ds.columns()["scale_id"],
                             ds.columns()["visit"], strict=True)
        if s == NRS and vis == "end_of_course"
    )  # fmt: skip
    assert rep.information_fraction == pytest.approx(rep.n_observed / 160)
