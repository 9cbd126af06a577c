"""Train-duration table: every cell at and just beyond its boundary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from plptms.safety import (
    Decision,
    Override,
    RuleStatus,
    check_protocol,
    max_train_duration,
    max_train_duration_array,
    table_cells,
)

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
    """A train of exactly the limit passes; one more pulse is refused."""
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
    assert rule.status is RuleStatus.PASSED, rule.message
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
