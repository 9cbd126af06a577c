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
from plptms.safety import Decision, RuleStatus, UnsafeProtocolError, check_protocol

from ..conftest import protocol_of

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wassermann1998_train_table.json").read_text()
)
FREQS = [float(f) for f in DATA["frequencies_hz"]]
INTS = [float(i) for i in DATA["intensities_pct_mt"]]
PUBLISHED = [[float(c.lstrip(">")) for c in row] for row in DATA["cells"]]
DOSE_FIELDS = set(StimulationDose.model_fields)


def oracle_limit(f: float, i: float) -> float | None:
    """Independent oracle: the strictest printed value at or below the upper
    bracketing row and column (never longer than any tabulated neighbour)."""
    if f > FREQS[-1] or i > INTS[-1]:
        return None
    ru = next(k for k, x in enumerate(FREQS) if x >= f)
    cu = next(k for k, x in enumerate(INTS) if x >= i)
    return min(PUBLISHED[r][c] for r in range(ru + 1) for c in range(cu + 1))


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
    dose = StimulationDose.model_validate(d)
    v = check_protocol(protocol_of(dose), rmt_pct_mso=rmt_mso)
    if v.decision is not Decision.ACCEPTED:
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
    if v.decision is not Decision.ACCEPTED:
        return
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
