"""The shipped evidence base (Table 2 studies) and reading user study files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.meta import (
    EffectMeasure,
    EvidenceFileError,
    NotEstimable,
    collect_effects,
    estimate_effect,
    load_evidence,
    meta_analysis,
    read_outcome_study,
)
from plptms.protocol import load_library

from .conftest import DATA, RTOL, assert_close
from .test_models import STUDY

TABLE2 = {
    "ahmed2011",
    "dirollo2011",
    "grammer2015",
    "lee2015",
    "malavera2016",
    "vats2024",
    "wang2022",
    "xu2019",
}


def test_shipped_studies_are_the_table2_studies() -> None:
    studies = load_evidence()
    assert {s.id for s in studies} == TABLE2
    assert load_evidence() is studies  # cached


@pytest.mark.parametrize("study_id", sorted(TABLE2))
def test_shipped_data_agree_with_protocol_library(study_id: str) -> None:
    """Sizes and moderators are the protocol library's (same sources)."""
    lib = load_library()
    s = next(x for x in load_evidence() if x.id == study_id)
    ref = lib.study(study_id)
    assert s.n_total == ref.n_total
    assert s.citation == ref.citation
    lib_n = {a.label: a.n for a in ref.arms}
    for o in s.outcomes:
        for arm in (o.treatment, o.control):
            if arm is not None and arm.label in lib_n:
                assert arm.n == lib_n[arm.label], (o.id, arm.label)
    assert s.protocol_ids
    block = lib.protocol(s.protocol_ids[0]).blocks[0]
    m = s.moderators
    assert block.dose.target.value == m.targets[0].value
    assert block.dose.frequency_hz == m.frequency_hz[0]
    assert block.dose.intensity_pct_rmt == m.intensity_pct_rmt
    assert block.dose.pulses_per_session == m.pulses_per_session
    if block.sessions is not None:
        assert block.sessions == m.sessions


#: Malavera et al. (2016), abstract: VAS percent change 15 days after treatment,
#: mean +/- SD and n per arm, and the published difference with its 95 % CI.
MALAVERA = {
    "active": (-53.38, 53.12, 27),
    "sham": (-22.93, 57.16, 27),
    "difference": 30.44,
    "ci": (0.30, 60.58),
    "p": 0.03,
}
#: Rounding of the published CI bounds (2 decimals) plus the rounding of the
#: published means and SDs.
MALAVERA_CI_ATOL = 0.02


def test_malavera_effect_from_means_and_sds() -> None:
    """Hedges' g from the published means and SDs (Malavera et al., 2016).

    Hand computation (Borenstein et al., 2009, ch. 4; exact J of Hedges, 1981):
    pooled SD, d = (m1 - m2) / s_pooled, J = Gamma(df/2) / (sqrt(df/2)
    Gamma((df-1)/2)), g = J d, V_g = J^2 ((n1 + n2) / (n1 n2) + d^2 / (2 (n1 +
    n2))). The mean-difference t interval with the pooled SD reproduces the
    published 95 % CI 0.30 to 60.58; the published p = .03 does not follow from
    these SDs (they give p = 0.048), so the p-value is not used.
    """
    import math

    from scipy import stats

    (m1, s1, n1), (m2, s2, n2) = MALAVERA["active"], MALAVERA["sham"]
    df = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    d = (m1 - m2) / sp
    j = math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2))
    g = j * d
    var_g = j**2 * ((n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2)))
    s = next(x for x in load_evidence() if x.id == "malavera2016")
    eff = estimate_effect(s, "vas-end", "smd")
    assert not isinstance(eff, NotEstimable)
    assert_close([eff.estimate, eff.variance], [g, var_g], rtol=1e-12)
    assert eff.estimate < 0  # favours rTMS on a lower-is-better scale
    assert "percent change" in eff.method
    assert not eff.assumptions  # nothing recovered from a p-value
    # The record's numbers are the published ones.
    rec = s.outcome("vas-end")
    assert rec.treatment is not None
    assert rec.control is not None
    assert (rec.treatment.percent_change, rec.treatment.percent_change_sd) == (m1, s1)
    assert (rec.control.percent_change, rec.control.percent_change_sd) == (m2, s2)
    assert rec.test is None
    # Mean difference with the pooled-SD t interval (df 52) gives the published CI.
    pc = estimate_effect(s, "vas-end", "pct_change")
    assert not isinstance(pc, NotEstimable)
    diff = -pc.estimate  # published as sham minus active
    assert abs(diff - MALAVERA["difference"]) < MALAVERA_CI_ATOL
    se_pooled = sp * math.sqrt(1 / n1 + 1 / n2)
    half = float(stats.t.ppf(0.975, df)) * se_pooled
    lo, hi = MALAVERA["ci"]
    assert abs((diff - half) - lo) < MALAVERA_CI_ATOL
    assert abs((diff + half) - hi) < MALAVERA_CI_ATOL
    # ... while p from these SDs is about 0.048, not the published 0.03.
    p_sds = 2 * float(stats.t.sf(diff / se_pooled, df))
    assert abs(p_sds - 0.048) < 0.001
    assert abs(p_sds - MALAVERA["p"]) > 0.01
    for measure in ("md", "rom"):
        ne = estimate_effect(s, "vas-end", measure)
        assert isinstance(ne, NotEstimable)
        assert "percent change" in ne.reason
    follow = estimate_effect(s, "vas-30d", "smd")
    assert isinstance(follow, NotEstimable)


@pytest.mark.parametrize(
    ("study_id", "words"),
    [
        ("dirollo2011", "single-case report"),
        ("lee2015", "single-case report"),
        ("grammer2015", "single-case report"),
        ("ahmed2011", "percent change; control arm n"),
        ("vats2024", "median"),
        ("wang2022", "treatment arm n; control arm n"),
        ("xu2019", "needs"),
    ],
)
def test_not_estimable_reasons(study_id: str, words: str) -> None:
    s = next(x for x in load_evidence() if x.id == study_id)
    ne = estimate_effect(s, s.outcomes[0].id, "smd")
    assert isinstance(ne, NotEstimable)
    assert words in ne.reason
    assert ne.study_id == study_id


def test_collect_effects_from_table2() -> None:
    table = collect_effects()
    assert [e.study_id for e in table.effects] == ["malavera2016"]
    assert len(table.not_estimable) == 7
    assert table.labels == ("Malavera et al., 2016",)
    assert table.groups("target") == ("m1_hand",)
    assert table.groups("frequency_class") == ("high",)
    assert_close(
        table.moderator_matrix(
            ["frequency_hz", "intensity_pct_rmt", "pulses_per_session", "sessions"]
        ),
        [[10.0, 90.0, 1200.0, 10.0]],
    )
    res = meta_analysis(table.estimates, table.variances, labels=table.labels)
    assert_close(res.estimate, table.estimates[0])
    pct = collect_effects(measure="pct_change")
    assert pct.measure == EffectMeasure.PCT_CHANGE
    with pytest.raises(ValueError, match="'measure'"):
        collect_effects(measure="or")
    with pytest.raises(ValueError, match="'timepoint'"):
        collect_effects(timepoint="baseline")


def test_user_study_files(tmp_path: Path) -> None:
    p_yaml = tmp_path / "demo.yaml"
    p_yaml.write_text(yaml.safe_dump(STUDY), encoding="utf-8")
    p_json = tmp_path / "demo.json"
    p_json.write_text(json.dumps(STUDY), encoding="utf-8")
    a, b = read_outcome_study(p_yaml), read_outcome_study(p_json)
    assert a == b
    table = collect_effects([*load_evidence(), a])
    assert len(table.effects) == 2
    res = meta_analysis(table.estimates, table.variances, method="DL")
    assert res.k == 2
    assert np.isfinite(res.estimate)


def test_user_study_file_errors_name_the_field(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(STUDY))
    bad["outcomes"][0]["treatment"]["sd"] = -2
    bad["moderators"]["frequency_hz"] = ["fast"]
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(EvidenceFileError) as err:
        read_outcome_study(p)
    msg = str(err.value)
    assert "outcomes.0.treatment.sd" in msg
    assert "moderators.frequency_hz.0" in msg
    assert str(p) in msg
    with pytest.raises(ValueError, match="'path'"):
        read_outcome_study(tmp_path / "study.txt")


def test_moderator_matrix_refuses_unreported() -> None:
    data = json.loads(json.dumps(STUDY))
    data["moderators"]["sessions"] = "unreported"
    table = collect_effects([read_outcome_study_from(data)])
    with pytest.raises(ValueError, match="'names'"):
        table.moderator_matrix(["sessions"])
    with pytest.raises(ValueError, match="'names'"):
        table.moderator_matrix(["coil"])  # type: ignore[list-item]


def read_outcome_study_from(data: dict[str, Any]) -> Any:
    from plptms.meta import validate_outcome_study

    return validate_outcome_study(data)


# --------------------------------------------------------------------------------------
# User study files added to the shipped ones (load_evidence(extra=...))

#: The fictional example study file shipped for the docs and tests.
EXAMPLE = DATA / "evidence_user_study_example.yaml"

#: metafor 3.8-1 on the example's arms, in the variance of Borenstein et al. (2009)
#: that plptms uses:
#: escalc("SMD", m1i=5.1, sd1i=2.0, n1i=20, m2i=5.3, sd2i=2.2, n2i=20, vtype="LS2")
EXAMPLE_G = (-0.093238195441989802, 0.096170307050145301)

#: metafor 3.8-1 on the example's Hedges' g and, as a fixed input, the g recovered
#: from p = 0.03 with n 27/27 that plptms used for Malavera before its means and
#: SDs were read (escalc(..., vtype="LS2"); ti = -qt(0.985, 52)):
#: rma(yi, vi, method="REML", test="knha", control=list(threshold=1e-12)) gives
#: b, se, tau2, ci.lb, ci.ub, pval, QE, I2 as below.
POOLED_REML_KNHA = {
    "estimate": -0.36654919712878165,
    "se": 0.2517650205442214,
    "tau2": 0.041914222162524467,
    "ci_lower": -3.56552709357089,
    "ci_upper": 2.8324286993133265,
    "pvalue": 0.38314778848492442,
    "q": 1.4890023904973915,
    "i2_pct": 32.840940593389071,
}


def _write(path: Path, data: Any) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def test_example_study_file_is_fictional_and_estimable() -> None:
    s = read_outcome_study(EXAMPLE)
    assert "FICTIONAL" in s.citation
    assert "no such trial" in s.source
    assert "FICTIONAL STUDY" in EXAMPLE.read_text(encoding="utf-8")
    assert s.id not in TABLE2
    for measure in ("smd", "md", "rom"):
        assert not isinstance(estimate_effect(s, "nrs-end", measure), NotEstimable)
    g = estimate_effect(s, "nrs-end", "smd")
    assert not isinstance(g, NotEstimable)
    assert_close([g.estimate, g.variance], EXAMPLE_G, rtol=RTOL)


def test_load_evidence_with_extra_files_and_directories(tmp_path: Path) -> None:
    shipped = load_evidence()
    for extra in (EXAMPLE, str(EXAMPLE), [EXAMPLE], (EXAMPLE, EXAMPLE)):
        studies = load_evidence(extra=extra)  # a file given twice is read once
        assert [s.id for s in studies] == sorted([*TABLE2, "fictional2031"])
    # A directory: every .yaml/.yml/.json file in it, sorted by id in the result.
    other = _example()
    other["id"] = "fictional2032"
    _write(tmp_path / "b.json", other)
    (tmp_path / "a.yml").write_text(EXAMPLE.read_text(encoding="utf-8"), "utf-8")
    (tmp_path / "notes.txt").write_text("not a study", encoding="utf-8")
    (tmp_path / ".hidden.yaml").write_text("id: [", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("id: [", encoding="utf-8")
    studies = load_evidence(extra=[tmp_path])
    assert [s.id for s in studies][:2] == ["ahmed2011", "dirollo2011"]
    assert {"fictional2031", "fictional2032"} <= {s.id for s in studies}
    assert len(studies) == len(TABLE2) + 2
    # The shipped set is unchanged and still cached.
    assert load_evidence() is shipped
    assert load_evidence(extra=[]) == shipped


def _reml_knha(y: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """REML with the Hartung-Knapp interval, written out independently.

    REML: tau^2 maximises the restricted log-likelihood (Viechtbauer, 2005, eq.
    10), found here by bounded scalar minimisation; Hartung & Knapp (2001): SE^2 =
    sum w (y - mu)^2 / ((k - 1) sum w), t with k - 1 df; Q with fixed-effect weights
    (Cochran, 1954); I^2 = tau^2 / (tau^2 + s^2) with the typical within-study
    variance s^2 of Higgins & Thompson (2002).
    """
    from scipy import optimize, stats

    k = len(y)

    def nll(t2: float) -> float:
        w = 1 / (v + t2)
        mu = np.sum(w * y) / np.sum(w)
        return float(
            0.5
            * (np.sum(np.log(v + t2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))
        )

    r = optimize.minimize_scalar(
        nll, bounds=(0.0, 100.0), method="bounded", options={"xatol": 1e-14}
    )
    t2 = float(r.x) if nll(float(r.x)) < nll(0.0) else 0.0
    w = 1 / (v + t2)
    mu = float(np.sum(w * y) / np.sum(w))
    se = float(np.sqrt(np.sum(w * (y - mu) ** 2) / ((k - 1) * np.sum(w))))
    tq = float(stats.t.ppf(0.975, k - 1))
    wf = 1 / v
    q = float(np.sum(wf * (y - np.sum(wf * y) / np.sum(wf)) ** 2))
    s2 = (k - 1) * np.sum(wf) / (np.sum(wf) ** 2 - np.sum(wf**2))
    return {
        "estimate": mu,
        "se": se,
        "tau2": t2,
        "ci_lower": mu - tq * se,
        "ci_upper": mu + tq * se,
        "pvalue": float(2 * stats.t.sf(abs(mu) / se, k - 1)),
        "q": q,
        "i2_pct": float(100 * t2 / (t2 + s2)),
    }


#: Agreement of the independent REML/Hartung-Knapp computation (numerical
#: optimisation to 1e-14 in tau^2) with metafor and with plptms.
ORACLE_RTOL = 1e-6


def test_reml_knha_oracle_and_plptms_agree_with_metafor(
    bcg_ref: dict[str, Any],
) -> None:
    """Both reproduce metafor 3.8-1 on a fixed pair of effects (POOLED_REML_KNHA)."""
    e = bcg_ref["escalc_smd_from_t"]
    y = np.array([EXAMPLE_G[0], e["yi"][2]])
    v = np.array([EXAMPLE_G[1], e["vi"][2]])
    oracle = _reml_knha(y, v)
    res = meta_analysis(y, v, test="knha")
    for attr, value in POOLED_REML_KNHA.items():
        assert_close(oracle[attr], value, rtol=ORACLE_RTOL)
        assert_close(getattr(res, attr), value, rtol=RTOL)


def test_collect_effects_with_extra_pools_as_oracle() -> None:
    table = collect_effects(extra=[EXAMPLE])
    assert [e.study_id for e in table.effects] == ["fictional2031", "malavera2016"]
    assert len(table.not_estimable) == 7
    assert table.labels[0] == "Fictional et al., 2031 (FICTIONAL EXAMPLE)"
    assert_close(table.estimates[0], EXAMPLE_G[0], rtol=RTOL)
    y, v = np.array(table.estimates), np.array(table.variances)
    res = meta_analysis(y, v, test="knha")
    for attr, value in _reml_knha(y, v).items():
        assert_close(getattr(res, attr), value, rtol=ORACLE_RTOL)
    # The pooled estimate moves from Malavera's effect alone (k = 1).
    alone = collect_effects()
    assert abs(res.estimate - alone.estimates[0]) > 0.15
    # DerSimonian-Laird by hand: Q, C = sum w - sum w^2 / sum w, tau^2 = (Q - 1) / C.
    w = 1 / v
    q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    tau2 = max(0.0, (q - 1) / (w.sum() - np.sum(w**2) / w.sum()))
    w_re = 1 / (v + tau2)
    est = float(np.sum(w_re * y) / np.sum(w_re))
    se = float(np.sqrt(1 / np.sum(w_re)))
    dl = meta_analysis(y, v, method="DL")
    assert tau2 > 0
    assert_close([dl.q, dl.tau2, dl.estimate, dl.se], [q, tau2, est, se], rtol=RTOL)
    assert_close(dl.ci_lower, est - 1.959963984540054 * se, rtol=RTOL)


def test_collect_effects_extra_adds_to_given_studies(tmp_path: Path) -> None:
    malavera = [s for s in load_evidence() if s.id == "malavera2016"]
    table = collect_effects(malavera, extra=EXAMPLE)
    assert [e.study_id for e in table.effects] == ["malavera2016", "fictional2031"]
    clash = _example()
    clash["id"] = "malavera2016"
    p = _write(tmp_path / "clash.yaml", clash)
    with pytest.raises(EvidenceFileError, match="'studies' argument") as err:
        collect_effects(malavera, extra=p)
    assert str(p) in str(err.value)


def _mutate(data: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "missing_field":
        del data["outcomes"][0]["source"]
    elif kind == "negative_sd":
        data["outcomes"][0]["treatment"]["sd"] = -2.0
    elif kind == "unknown_key":
        data["outcomes"][0]["control"]["sdd"] = 2.2
    elif kind == "duplicate_id":
        data["id"] = "malavera2016"
    return data


#: What each bad file's message must hold: the field, the value, what is allowed.
BAD_FILES = {
    "missing_field": ("outcomes.0.source", "required field is missing"),
    "negative_sd": ("outcomes.0.treatment.sd", "got -2.0; allowed range is (0, inf)"),
    "unknown_key": ("outcomes.0.control.sdd", "unknown field (got 2.2)"),
    "duplicate_id": (
        "Invalid value for 'id': got 'malavera2016'",
        "plptms/meta/data/malavera2016.yaml (shipped) already has it",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_bad_user_file_refuses_the_whole_set(
    tmp_path: Path, kind: str, suffix: str
) -> None:
    good = _example()
    good["id"] = "fictional2032"
    _write(tmp_path / "a_good.yaml", good)
    bad = _write(tmp_path / f"b_{kind}{suffix}", _mutate(_example(), kind))
    for extra in ([tmp_path], [bad], [tmp_path / "a_good.yaml", bad]):
        with pytest.raises(EvidenceFileError) as err:
            load_evidence(extra=extra)
        msg = str(err.value)
        assert str(bad) in msg
        for words in BAD_FILES[kind]:
            assert words in msg
        assert "nothing was loaded (1 problem)" in msg
        with pytest.raises(EvidenceFileError):
            collect_effects(extra=extra)
    assert load_evidence(extra=[tmp_path / "a_good.yaml"])  # the good file alone


def test_duplicate_id_between_user_files_names_both(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.yaml", _example())
    b = _write(tmp_path / "b.json", _example())
    with pytest.raises(EvidenceFileError, match="'id'") as err:
        load_evidence(extra=[tmp_path])
    assert f"{b}: Invalid value for 'id': got 'fictional2031'" in str(err.value)
    assert f"({a} already has it)" in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    bad = [
        _write(tmp_path / f"{k}.yaml", _mutate(_example(), k))
        for k in ("missing_field", "negative_sd")
    ]
    (tmp_path / "broken.yaml").write_text("id: [unclosed", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "nope"
    txt = tmp_path / "study.txt"
    txt.write_text("id: x", encoding="utf-8")
    with pytest.raises(EvidenceFileError) as err:
        load_evidence(extra=[tmp_path, empty, missing, txt])
    msg = str(err.value)
    assert "nothing was loaded (6 problems)" in msg
    for p in (*bad, tmp_path / "broken.yaml", txt):
        assert str(p) in msg
    assert f"got {str(empty)!r}, a directory without study files" in msg
    assert f"got {str(missing)!r}, which does not exist" in msg
    assert "allowed suffixes are" in msg
    with pytest.raises(TypeError, match="'extra'"):
        load_evidence(extra=[3])  # type: ignore[list-item]


@settings(max_examples=25, deadline=None)
@given(sd=st.floats(-10.0, 10.0, allow_nan=False))
def test_user_file_sd_checked_on_load(sd: float) -> None:
    data = _example()
    data["outcomes"][0]["control"]["sd"] = sd
    with tempfile.TemporaryDirectory() as d:
        p = _write(Path(d) / "study.yaml", data)
        for _ in range(2):  # the check is idempotent
            if sd > 0:
                (study,) = [
                    s for s in load_evidence(extra=p) if s.id == "fictional2031"
                ]
                assert study.outcomes[0].control is not None
                assert_close(study.outcomes[0].control.sd, sd, rtol=0.0)
            else:
                with pytest.raises(EvidenceFileError, match=r"control\.sd") as err:
                    load_evidence(extra=p)
                assert str(p) in str(err.value)
                assert f"got {sd!r}" in str(err.value)
