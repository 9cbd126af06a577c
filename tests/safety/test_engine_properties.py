"""Property-based tests of the safety engine (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.protocol import ProtocolFileError, StimulationDose, read_protocol
from plptms.safety import (
    CellReading,
    Decision,
    PhysicianReview,
    RuleStatus,
    SafetyPolicy,
    SafetyReviewRequiredError,
    UnsafeProtocolError,
    check_protocol,
    max_train_duration,
)

from ..conftest import protocol_of

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wassermann1998_train_table.json").read_text()
)
FREQS = [float(f) for f in DATA["frequencies_hz"]]
INTS = [float(i) for i in DATA["intensities_pct_mt"]]
PUBLISHED = [[float(c.lstrip(">")) for c in row] for row in DATA["cells"]]
DOSE_FIELDS = set(StimulationDose.model_fields)
#: Cells verified against a primary source: 20 Hz x 110 % MT agrees with the
#: abstract of Chen et al. (1997).
VERIFIED = {(20.0, 110.0)}
REVIEW = PhysicianReview(physician="Dr P", reason="rules reviewed by the physician")


def oracle_limit(f: float, i: float) -> float | None:
    """Independent oracle: the strictest printed value at or below the upper
    bracketing row and column (never longer than any tabulated neighbour)."""
    if f > FREQS[-1] or i > INTS[-1]:
        return None
    ru = next(k for k, x in enumerate(FREQS) if x >= f)
    cu = next(k for k, x in enumerate(INTS) if x >= i)
    return min(PUBLISHED[r][c] for r in range(ru + 1) for c in range(cu + 1))


def bracketing_cells(f: float, i: float) -> list[tuple[float, float]]:
    """Independent oracle: the table cells a limit at (f, i) rests on."""

    def around(values: list[float], x: float) -> list[float]:
        if x <= values[0]:
            return [values[0]]
        if x in values:
            return [x]
        k = next(k for k, v in enumerate(values) if v > x)
        return [values[k - 1], values[k]]

    return [(a, b) for a in around(FREQS, f) for b in around(INTS, i)]


rtms = st.fixed_dictionaries(
    {
        "pattern": st.just("rtms"),
        "target": st.sampled_from(["m1", "m1_hand", "m1_leg", "s1", "dlpfc"]),
        "laterality": st.sampled_from(["contralateral", "left", "right"]),
        "frequency_hz": st.one_of(
            st.sampled_from(FREQS), st.floats(0.1, 40.0, allow_nan=False)
        ),
        "intensity_pct_rmt": st.one_of(
            st.sampled_from(INTS), st.floats(40.0, 240.0, allow_nan=False)
        ),
        "pulses_per_train": st.integers(1, 4000),
        "trains_per_session": st.integers(1, 80),
        "inter_train_interval_s": st.floats(0.0, 60.0, allow_nan=False),
    }
)
rmt = st.one_of(st.none(), st.floats(20.0, 100.0, allow_nan=False))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(rtms, rmt)
def test_accepted_protocols_exceed_no_limit(
    d: dict[str, Any], rmt_mso: float | None
) -> None:
    """Accepted or review: neither exceeds a limit (Wassermann 1998 table; Chen et
    al. 1997 intervals)."""
    dose = StimulationDose.model_validate(d)
    v = check_protocol(protocol_of(dose), rmt_pct_mso=rmt_mso)
    if v.decision not in (Decision.ACCEPTED, Decision.REVIEW):
        return
    f, i = dose.frequency_hz, dose.intensity_pct_rmt
    assert f is not None
    assert i is not None
    lim = oracle_limit(f, i)
    assert lim is not None
    assert dose.train_duration_s is not None
    assert dose.train_duration_s <= lim * (1 + 1e-9)
    if f > 1.0 and dose.trains_per_session and dose.trains_per_session > 1:
        assert dose.inter_train_interval_s is not None
        assert dose.inter_train_interval_s >= 5.0 * (1 - 1e-9)
    if rmt_mso is not None:
        assert i * rmt_mso / 100.0 <= 100.0 * (1 + 1e-9)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(rtms, rmt)
def test_no_verdict_on_an_unverified_limit_is_accepted_without_review(
    d: dict[str, Any], rmt_mso: float | None
) -> None:
    """Whenever the train limit rests on a cell not verified against the paper
    (every cell but 20 Hz x 110 % MT, Chen et al. 1997), the verdict is not
    accepted unless a physician's review is recorded; with a review it is accepted
    only where it would have been review."""
    dose = StimulationDose.model_validate(d)
    p = protocol_of(dose)
    v = check_protocol(p, rmt_pct_mso=rmt_mso)
    f, i = dose.frequency_hz, dose.intensity_pct_rmt
    assert f is not None
    assert i is not None
    in_table = f <= FREQS[-1] and i <= INTS[-1]
    if in_table and any(c not in VERIFIED for c in bracketing_cells(f, i)):
        assert v.decision is not Decision.ACCEPTED
    if v.decision is Decision.ACCEPTED:
        assert v.review is None
        assert not v.needs_review
    if v.needs_review and v.decision is not Decision.REFUSED:
        assert v.decision in (Decision.REVIEW, Decision.INCOMPLETE)
    if v.decision is Decision.REVIEW:
        with pytest.raises(SafetyReviewRequiredError):
            v.require_accepted()
    reviewed = check_protocol(p, rmt_pct_mso=rmt_mso, review=REVIEW)
    assert reviewed.rules == v.rules
    if v.decision is Decision.REVIEW:
        assert reviewed.decision is Decision.ACCEPTED
        assert reviewed.review == REVIEW
    else:
        # a review never turns refused or incomplete into accepted
        assert reviewed.decision is v.decision
        assert reviewed.review is None


policy_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(rtms, policy_names, st.sampled_from([1.0, 0.9, 0.75]))
def test_every_verdict_names_its_policy(
    d: dict[str, Any], name: str, margin: float
) -> None:
    if name == "plptms-default" and margin != 1.0:
        return
    pol = SafetyPolicy(
        name=name,
        train_duration_margin=margin,
        margin_reason="" if margin == 1.0 else "recorded site margin",
    )
    v = check_protocol(protocol_of(StimulationDose.model_validate(d)), policy=pol)
    assert v.policy_name == name
    assert name in v.policy
    assert check_protocol(
        protocol_of(StimulationDose.model_validate(d))
    ).policy_name == ("plptms-default")


readings_st = st.lists(
    st.builds(
        CellReading,
        frequency_hz=st.sampled_from(FREQS),
        intensity_pct_mt=st.sampled_from(INTS),
        value_s=st.floats(0.01, 3000.0),
        lower_bound=st.booleans(),
        physician=st.just("Dr R"),
        read_on=st.just(__import__("datetime").date(2026, 12, 1)),
    ),
    max_size=12,
    unique_by=lambda r: (r.frequency_hz, r.intensity_pct_mt),
).map(tuple)


@settings(max_examples=300)
@given(
    readings_st,
    st.one_of(st.sampled_from(FREQS), st.floats(0.1, 25.0)),
    st.one_of(st.sampled_from(INTS), st.floats(40.0, 220.0)),
)
def test_site_readings_never_loosen_a_limit(
    readings: tuple[CellReading, ...], f: float, i: float
) -> None:
    """Whatever a site reads, no limit is longer than the shipped one, and a looser
    reading of a cell the limit rests on sends it to review."""
    shipped = max_train_duration(f, i)
    site = max_train_duration(f, i, readings)
    assert shipped.limit_s is not None
    assert site.limit_s is not None
    assert site.limit_s <= shipped.limit_s * (1 + 1e-12)
    on = set(bracketing_cells(f, i))
    for r in readings:
        if r.cell not in on:
            continue
        ri, ci = FREQS.index(r.frequency_hz), INTS.index(r.intensity_pct_mt)
        printed = DATA["cells"][ri][ci]
        value, lower = float(printed.lstrip(">")), printed.startswith(">")
        looser = r.value_s > value * (1 + 1e-9) or (
            abs(r.value_s - value) <= 1e-9 * value and r.lower_bound and not lower
        )
        if looser:
            assert site.conflicts
            assert not site.verified


@settings(max_examples=200)
@given(
    st.sampled_from(FREQS),
    st.sampled_from(INTS),
    st.floats(0.0, 1.0),
)
def test_verified_cells_still_pass(f: float, i: float, fraction: float) -> None:
    """At a site that read every cell as shipped (all verified), a train within the
    limit passes, as does the shipped verified cell 20 Hz x 110 % MT (Chen et al.,
    1997) without any reading."""
    readings = tuple(
        CellReading(
            frequency_hz=fr,
            intensity_pct_mt=it,
            value_s=float(DATA["cells"][a][b].lstrip(">")),
            lower_bound=DATA["cells"][a][b].startswith(">"),
            physician="Dr R",
            read_on=__import__("datetime").date(2026, 12, 1),
        )
        for a, fr in enumerate(FREQS)
        for b, it in enumerate(INTS)
    )
    pol = SafetyPolicy(name="all-read", cell_readings=readings)
    lim = max_train_duration(f, i, readings)
    assert lim.verified
    assert lim.limit_s is not None
    n = max(1, int(lim.limit_s * f * fraction))
    dose = StimulationDose.model_validate(
        {
            "pattern": "rtms",
            "target": "m1",
            "laterality": "left",
            "frequency_hz": f,
            "intensity_pct_rmt": i,
            "pulses_per_train": n,
            "trains_per_session": 1,
            "inter_train_interval_s": 0.0,
        }
    )
    v = check_protocol(protocol_of(dose), policy=pol)
    rule = next(r for r in v.rules if r.rule_id == "train_duration")
    assert rule.status is RuleStatus.PASSED, rule.message
    if (f, i) in VERIFIED:
        v0 = check_protocol(protocol_of(dose))
        rule = next(r for r in v0.rules if r.rule_id == "train_duration")
        assert rule.status is RuleStatus.PASSED


@settings(max_examples=400)
@given(rtms, rmt)
def test_every_refusal_names_its_field(
    d: dict[str, Any], rmt_mso: float | None
) -> None:
    dose = StimulationDose.model_validate(d)
    v = check_protocol(protocol_of(dose), rmt_pct_mso=rmt_mso)
    for r in v.rules:
        if r.status is RuleStatus.FAILED:
            assert r.field in DOSE_FIELDS
            assert f"'{r.field}'" in r.message
            assert r.citation
            assert r.value is not None
            assert r.limit is not None
    if v.decision is Decision.REFUSED:
        with pytest.raises(UnsafeProtocolError, match="refused") as exc:
            v.require_accepted()
        for r in v.failures:
            assert f"'{r.field}'" in str(exc.value)


@settings(max_examples=200)
@given(rtms, rmt)
def test_check_is_idempotent_and_pure(d: dict[str, Any], rmt_mso: float | None) -> None:
    dose = StimulationDose.model_validate(d)
    p = protocol_of(dose)
    before = p.model_dump()
    a = check_protocol(p, rmt_pct_mso=rmt_mso)
    b = check_protocol(p, rmt_pct_mso=rmt_mso)
    assert a == b
    assert p.model_dump() == before  # never adjusted


@settings(max_examples=200)
@given(rtms)
def test_validation_roundtrip_idempotent(d: dict[str, Any]) -> None:
    dose = StimulationDose.model_validate(d)
    again = StimulationDose.model_validate(dose.model_dump(mode="json"))
    assert again == dose


@given(
    st.sampled_from(
        [
            "frequency_hz",
            "intensity_pct_rmt",
            "pulses_per_train",
            "trains_per_session",
            "inter_train_interval_s",
        ]
    ),
    st.one_of(st.floats(-1e6, 0.0, exclude_max=True), st.floats(1e4, 1e9)),
)
def test_out_of_range_raises_naming_field(field: str, value: float) -> None:
    d: dict[str, Any] = {
        "pattern": "rtms",
        "target": "m1",
        "laterality": "left",
        "frequency_hz": 10.0,
        "intensity_pct_rmt": 90.0,
        "pulses_per_train": 50,
        "trains_per_session": 30,
        "inter_train_interval_s": 25.0,
    }
    d[field] = (
        int(value) if field in ("pulses_per_train", "trains_per_session") else value
    )
    if field in ("pulses_per_train", "trains_per_session") and d[field] >= 1:
        return  # very large counts are valid models (and refused by the engine)
    with pytest.raises(ValidationError, match=field):
        StimulationDose.model_validate(d)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.integers(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(json_values, st.sampled_from([".json", ".yaml"]))
def test_malformed_files_give_clear_error(
    tmp_path: Path, doc: Any, suffix: str
) -> None:
    f = tmp_path / f"p{suffix}"
    f.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc))
    with pytest.raises(ProtocolFileError) as exc:
        read_protocol(f)
    assert str(f) in str(exc.value)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_garbage_bytes_give_clear_error(tmp_path: Path, blob: bytes) -> None:
    f = tmp_path / "p.yaml"
    f.write_bytes(blob)
    with pytest.raises(ProtocolFileError):
        read_protocol(f)


tbs = st.fixed_dictionaries(
    {
        "pattern": st.sampled_from(["itbs", "ctbs"]),
        "target": st.just("m1_hand"),
        "laterality": st.just("left"),
        "frequency_hz": st.floats(2.0, 10.0, allow_nan=False),
        "intensity_pct_rmt": st.floats(40.0, 150.0, allow_nan=False),
        "pulses_per_burst": st.integers(2, 5),
        "intra_burst_frequency_hz": st.floats(30.0, 100.0, allow_nan=False),
        "bursts_per_train": st.integers(1, 250),
        "trains_per_session": st.integers(1, 40),
        "inter_train_interval_s": st.floats(0.0, 20.0, allow_nan=False),
    }
)


@settings(max_examples=300)
@given(tbs)
def test_accepted_theta_burst_within_limits(d: dict[str, Any]) -> None:
    d = dict(d)
    d["pulses_per_train"] = d.pop("bursts_per_train") * d["pulses_per_burst"]
    try:
        dose = StimulationDose.model_validate(d)
    except ValidationError:
        return  # e.g. bursts overlapping: not a valid description
    v = check_protocol(protocol_of(dose))
    for r in v.failures:
        assert f"'{r.field}'" in r.message
    if v.decision not in (Decision.ACCEPTED, Decision.REVIEW):
        return
    if v.decision is Decision.ACCEPTED:
        assert dose.intensity_pct_rmt is not None
        assert dose.intensity_pct_rmt <= 80.0  # above: review (Huang et al., 2005)
    assert dose.pulses_per_burst == 3
    assert dose.intra_burst_frequency_hz is not None
    assert dose.intra_burst_frequency_hz <= 50.0
    assert dose.frequency_hz is not None
    assert 4.0 <= dose.frequency_hz <= 8.0
    assert dose.intensity_pct_rmt is not None
    assert dose.train_duration_s is not None
    if dose.pattern.value == "ctbs":
        assert dose.intensity_pct_rmt < 100.0
        assert dose.train_duration_s <= 40.0 * (1 + 1e-9)
    else:
        assert dose.intensity_pct_rmt <= 120.0
        assert dose.train_duration_s <= 2.0 * (1 + 1e-9)
        if dose.trains_per_session and dose.trains_per_session > 1:
            assert dose.inter_train_interval_s is not None
            assert dose.inter_train_interval_s >= 8.0 * (1 - 1e-9)
