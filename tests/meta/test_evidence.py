"""The shipped evidence base (Table 2 studies) and reading user study files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

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

from .conftest import RTOL, assert_close
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
    """Sizes and moderators are the protocol library's (both from Table 2)."""
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
    assert block.dose.reported_pulses_per_session == m.pulses_per_session
    if block.sessions is not None:
        assert block.sessions == m.sessions


def test_malavera_effect_from_p_value(bcg_ref: dict[str, Any]) -> None:
    """VAS -53.4 % vs -22.9 %, p = 0.03, n 27/27: Hedges' g from the p-value."""
    s = next(x for x in load_evidence() if x.id == "malavera2016")
    g = estimate_effect(s, "vas-end", "smd")
    assert not isinstance(g, NotEstimable)
    exp = bcg_ref["escalc_smd_from_t"]  # metafor escalc on t = -qt(0.985, 52)
    assert_close([g.estimate, g.variance], [exp["yi"][2], exp["vi"][2]], rtol=RTOL)
    assert g.estimate < 0  # favours rTMS on a lower-is-better scale
    pc = estimate_effect(s, "vas-end", "pct_change")
    assert not isinstance(pc, NotEstimable)
    assert_close(pc.estimate, -30.5)
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
    assert table.groups("target") == ("m1",)
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
