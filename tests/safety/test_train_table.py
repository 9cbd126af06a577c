"""Train-duration table: every cell at and just beyond its boundary."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.safety import (
    CellReading,
    Decision,
    Override,
    RuleStatus,
    check_protocol,
    max_train_duration,
    max_train_duration_array,
    table_cells,
)
from plptms.safety._train_table import monotone_envelope

from ..conftest import dose, protocol_of

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wassermann1998_train_table.json").read_text()
)
RTOL = 1e-12


def _cell_cases() -> list[tuple[float, float, float, bool]]:
    cases = []
    lowered = DATA["lowered_unverified_cells"]
    for r, f in enumerate(DATA["frequencies_hz"]):
        for c, i in enumerate(DATA["intensities_pct_mt"]):
            printed = DATA["cells"][r][c]
            published = float(printed.lstrip(">"))
            expected = float(lowered.get(f"{f}x{i}", published))
            cases.append((float(f), float(i), expected, printed.startswith(">")))
    return cases


CELLS = _cell_cases()


def test_table_matches_pinned_reference() -> None:
    cells = table_cells()
    assert len(cells) == len(CELLS) == 65
    for cell, (f, i, _, lower) in zip(cells, CELLS, strict=True):
        r = DATA["frequencies_hz"].index(f)
        c = DATA["intensities_pct_mt"].index(i)
        printed = DATA["cells"][r][c]
        assert (cell.frequency_hz, cell.intensity_pct_mt) == (f, i)
        assert math.isclose(cell.published_s, float(printed.lstrip(">")), rel_tol=RTOL)
        assert cell.lower_bound is lower
        assert cell.printed == (">" if lower else "") + f"{cell.published_s:g}"


def test_only_chen_cell_is_verified() -> None:
    verified = [
        (c.frequency_hz, c.intensity_pct_mt) for c in table_cells() if c.verified
    ]
    assert verified == [(20.0, 110.0)]


@pytest.mark.parametrize(("f", "i", "limit", "lower"), CELLS)
def test_cell_limit(f: float, i: float, limit: float, lower: bool) -> None:
    lim = max_train_duration(f, i)
    assert lim.in_table
    assert lim.limit_s is not None
    assert math.isclose(lim.limit_s, limit, rel_tol=RTOL)


@pytest.mark.parametrize(("f", "i", "limit", "lower"), CELLS)
def test_cell_boundary_through_engine(
    f: float, i: float, limit: float, lower: bool
) -> None:
    """A train of exactly the limit is within it (passed where the cell is verified,
    unverified otherwise: never refused); one more pulse is refused."""
    n_at = round(limit * f)
    assert math.isclose(n_at / f, limit, rel_tol=1e-9), "limit must be whole pulses"
    ok = check_protocol(
        protocol_of(
            dose(
                frequency_hz=f,
                intensity_pct_rmt=i,
                pulses_per_train=n_at,
                trains_per_session=1,
            )
        )
    )
    rule = next(r for r in ok.rules if r.rule_id == "train_duration")
    verified = (f, i) == (20.0, 110.0)  # the cell Chen et al. (1997) agrees with
    expected = RuleStatus.PASSED if verified else RuleStatus.UNVERIFIED
    assert rule.status is expected, rule.message
    assert ok.decision is (Decision.ACCEPTED if verified else Decision.REVIEW)
    if not verified:
        assert f"{f:g} Hz x {i:g} % MT" in rule.message
        assert "not verified" in rule.message
    beyond = check_protocol(
        protocol_of(
            dose(
                frequency_hz=f,
                intensity_pct_rmt=i,
                pulses_per_train=n_at + 1,
                trains_per_session=1,
            )
        )
    )
    assert beyond.decision is Decision.REFUSED
    rule = next(r for r in beyond.rules if r.rule_id == "train_duration")
    assert rule.status is RuleStatus.FAILED
    assert rule.field == "pulses_per_train"
    assert "'pulses_per_train'" in rule.message
    assert "Wassermann 1998" in rule.citation
    assert not rule.overridable  # inside the table: never overridable


def test_between_cells_uses_stricter_neighbour() -> None:
    # 15 Hz, 115 % lies between 10/20 Hz and 110/120 %: strictest of the four is
    # 20 Hz x 120 % = 1.0 s
    lim = max_train_duration(15.0, 115.0)
    assert lim.limit_s == pytest.approx(1.0, rel=RTOL)
    assert "stricter neighbour" in lim.basis
    # never longer than either bracketing row at the same intensity
    for f in (12.0, 17.5, 22.0):
        for i in (105.0, 145.0, 215.0):
            lim = max_train_duration(f, i)
            assert lim.limit_s is not None
            lo = max_train_duration(math.floor(f / 5) * 5 or 1, i).limit_s
            assert lo is not None
            assert lim.limit_s <= lo


def test_between_cells_never_longer_than_neighbours_dense() -> None:
    cells = {(c.frequency_hz, c.intensity_pct_mt): c.applied_s for c in table_cells()}
    fs = DATA["frequencies_hz"]
    is_ = DATA["intensities_pct_mt"]
    for a in range(len(fs) - 1):
        for b in range(len(is_) - 1):
            f = (fs[a] + fs[a + 1]) / 2
            i = (is_[b] + is_[b + 1]) / 2
            lim = max_train_duration(f, i).limit_s
            neighbours = [
                cells[(float(x), float(y))]
                for x in fs[a : a + 2]
                for y in is_[b : b + 2]
            ]
            assert lim == pytest.approx(min(neighbours), rel=RTOL)


def test_below_table_bounded_by_edge() -> None:
    lim = max_train_duration(10.0, 90.0)
    assert lim.limit_s == pytest.approx(5.0, rel=RTOL)
    assert lim.extrapolated
    lim = max_train_duration(0.5, 80.0)
    assert lim.limit_s == pytest.approx(1800.0, rel=RTOL)
    assert lim.extrapolated


@pytest.mark.parametrize(
    ("f", "i", "field"),
    [(30.0, 100.0, "frequency_hz"), (10.0, 230.0, "intensity_pct_rmt")],
)
def test_above_table_refused_unless_override(f: float, i: float, field: str) -> None:
    assert max_train_duration(f, i).limit_s is None
    p = protocol_of(
        dose(
            frequency_hz=f,
            intensity_pct_rmt=i,
            pulses_per_train=5,
            trains_per_session=1,
        )
    )
    v = check_protocol(p)
    assert v.decision is Decision.REFUSED
    fail = v.failures[0]
    assert fail.rule_id == "train_table_range"
    assert fail.field == field
    assert fail.overridable
    ov = Override(
        rule_id="train_table_range",
        block="B0",
        operator="Dr Test",
        reason="research protocol approved by the ethics board 2026-17",
    )
    v2 = check_protocol(p, overrides=[ov])
    assert v2.decision is not Decision.REFUSED
    assert v2.overrides == (ov,)
    assert v2.needs_review
    overridden = [r for r in v2.rules if r.status is RuleStatus.OVERRIDDEN]
    assert overridden
    assert "ethics board" in overridden[0].message


def test_in_table_refusal_cannot_be_overridden() -> None:
    p = protocol_of(
        dose(
            frequency_hz=20.0,
            intensity_pct_rmt=110.0,
            pulses_per_train=40,
            trains_per_session=1,
        )
    )
    ov = Override(
        rule_id="train_duration",
        operator="Dr Test",
        reason="I want a longer train anyway please",
    )
    with pytest.raises(ValueError, match="cannot be overridden"):
        check_protocol(p, overrides=[ov])


def test_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(0)
    f = np.concatenate([rng.uniform(0.1, 30.0, 2000), np.array(DATA["frequencies_hz"])])
    i = np.concatenate(
        [rng.uniform(50.0, 240.0, 2000), np.array(DATA["intensities_pct_mt"][:5])]
    )
    vec = max_train_duration_array(f, i)
    for fv, iv, lv in zip(f, i, vec, strict=True):
        s = max_train_duration(float(fv), float(iv)).limit_s
        if s is None:
            assert np.isnan(lv)
        else:
            assert lv == pytest.approx(s, rel=RTOL)


# ------------------------------------------------------------------ envelope
def _published() -> np.ndarray:
    return np.array(
        [[float(c.lstrip(">")) for c in row] for row in DATA["cells"]], dtype=float
    )


def _envelope_oracle(a: np.ndarray) -> np.ndarray:
    """Definition by brute force: the minimum over the lower-left rectangle."""
    out = np.empty_like(a)
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            out[r, c] = a[: r + 1, : c + 1].min()
    return out


def test_envelope_of_shipped_table_lowers_exactly_the_pinned_cells() -> None:
    """The hand-worked list of cells lowered by the envelope (pinned in
    tests/data from Wassermann 1998 as transcribed) is reproduced."""
    raw = _published()
    env = monotone_envelope(raw)
    lowered = {
        k: v for k, v in DATA["lowered_unverified_cells"].items() if k != "comment"
    }
    fs, is_ = DATA["frequencies_hz"], DATA["intensities_pct_mt"]
    for r, f in enumerate(fs):
        for c, i in enumerate(is_):
            expected = lowered.get(f"{f}x{i}", raw[r, c])
            assert math.isclose(env[r, c], expected, rel_tol=RTOL), (f, i)


def test_envelope_cuts_a_large_upward_error_but_not_a_small_one() -> None:
    """The envelope does not guarantee that a copying error can only shorten a
    limit. 10 Hz x 120 % MT is printed 4.2 s (Wassermann 1998, as transcribed); its
    strictest less-risky neighbour is 10 Hz x 110 % MT (>5 s). An upward error to
    4.8 s stays below 5 s and survives; one to 6.2 s is cut back to 5 s."""
    raw = _published()
    r = DATA["frequencies_hz"].index(10)
    c = DATA["intensities_pct_mt"].index(120)
    small = raw.copy()
    small[r, c] = 4.8
    assert monotone_envelope(small)[r, c] == pytest.approx(4.8, rel=RTOL)
    large = raw.copy()
    large[r, c] = 6.2
    assert monotone_envelope(large)[r, c] == pytest.approx(5.0, rel=RTOL)
    # the unperturbed cell applies its printed value
    assert monotone_envelope(raw)[r, c] == pytest.approx(4.2, rel=RTOL)


def test_perturbed_table_through_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same demonstration on the engine's own table: a mistyped 4.8 s in the
    10 Hz x 120 % cell is applied as 4.8 s (and flagged unverified), 6.2 s as 5 s."""
    from plptms.safety import _train_table as tt

    def patched(value: float) -> tuple[tuple[tuple[float, bool], ...], ...]:
        rows = [list(row) for row in tt.TRAIN_TABLE_S]
        rows[2][2] = (value, False)  # 10 Hz x 120 % MT
        return tuple(tuple(row) for row in rows)

    try:
        for typo, applied in ((4.8, 4.8), (6.2, 5.0)):
            monkeypatch.setattr(tt, "TRAIN_TABLE_S", patched(typo))
            tt._cells.cache_clear()
            tt._limit.cache_clear()
            lim = tt.max_train_duration(10.0, 120.0)
            assert lim.limit_s == pytest.approx(applied, rel=RTOL)
            assert not lim.verified
            assert lim.unverified_cells == (f"10 Hz x 120 % MT = {typo:g} s",)
    finally:
        monkeypatch.undo()
        tt._cells.cache_clear()
        tt._limit.cache_clear()
        tt._applied_grid.cache_clear()
    assert tt.max_train_duration(10.0, 120.0).limit_s == pytest.approx(4.2, rel=RTOL)


@settings(max_examples=200)
@given(
    st.lists(
        st.lists(st.floats(0.01, 2000.0), min_size=13, max_size=13),
        min_size=5,
        max_size=5,
    )
)
def test_envelope_is_monotone_and_the_largest_below(table: list[list[float]]) -> None:
    """For any table the envelope is monotone non-increasing in frequency and
    intensity, never above the table, and equals its brute-force definition."""
    a = np.array(table)
    env = monotone_envelope(a)
    assert np.all(env <= a)
    assert np.all(np.diff(env, axis=0) <= 0)
    assert np.all(np.diff(env, axis=1) <= 0)
    np.testing.assert_allclose(env, _envelope_oracle(a), rtol=RTOL)
    np.testing.assert_allclose(monotone_envelope(env), env, rtol=RTOL)  # idempotent


def test_envelope_rejects_non_table() -> None:
    with pytest.raises(ValueError, match="values"):
        monotone_envelope(np.zeros(3))


# ------------------------------------------------------------------ site readings
def _reading(f: float, i: float, value: float, lower: bool = False) -> CellReading:
    return CellReading(
        frequency_hz=f,
        intensity_pct_mt=i,
        value_s=value,
        lower_bound=lower,
        physician="Dr Reader",
        read_on=dt.date(2026, 12, 1),
    )


def test_table_cells_with_readings() -> None:
    readings = (_reading(10, 120, 4.0), _reading(10, 130, 3.5))
    cells = {(c.frequency_hz, c.intensity_pct_mt): c for c in table_cells(readings)}
    stricter = cells[(10.0, 120.0)]
    assert stricter.verified
    assert not stricter.conflict
    assert stricter.applied_s == pytest.approx(4.0, rel=RTOL)
    assert stricter.published_s == pytest.approx(4.2, rel=RTOL)
    looser = cells[(10.0, 130.0)]  # shipped 2.9 s
    assert looser.conflict
    assert not looser.verified
    assert looser.applied_s == pytest.approx(2.9, rel=RTOL)
    lim = max_train_duration(10.0, 130.0, readings)
    assert lim.conflicts
    assert "site reading 3.5 s" in lim.conflicts[0]
    assert not lim.verified
    # the shipped table is untouched
    assert max_train_duration(10.0, 120.0).limit_s == pytest.approx(4.2, rel=RTOL)
    vec = max_train_duration_array([10.0, 10.0], [120.0, 130.0], readings)
    np.testing.assert_allclose(vec, [4.0, 2.9], rtol=RTOL)


def test_readings_must_be_a_tuple_of_readings_one_per_cell() -> None:
    with pytest.raises(TypeError, match="readings"):
        max_train_duration(10.0, 120.0, [_reading(10, 120, 4.0)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="readings"):
        max_train_duration(10.0, 120.0, ("4.0",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two readings"):
        table_cells((_reading(10, 120, 4.0), _reading(10, 120, 4.0)))
