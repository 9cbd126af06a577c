"""Helpers for the scale tests."""

from __future__ import annotations

import pytest

from plptms.scales import ScaleDefinition, ScaleScore

#: Relative and absolute tolerances for scores (means of small integers).
RTOL = 1e-12
ATOL = 1e-12


def fill_to_total(scale: ScaleDefinition, total: int) -> dict[str, int]:
    """Item values (unweighted sum scales) that add up to ``total``."""
    values: dict[str, int] = {}
    left = total
    for item in scale.items:
        v = min(int(item.max), left)
        values[item.id] = v
        left -= v
    assert left == 0, f"{total} is above the maximum of {scale.id}"
    return values


def assert_same_score(a: ScaleScore, b: ScaleScore) -> None:
    """Two results are the same: exact for labels, within tolerance for floats."""
    assert a.scale_id == b.scale_id
    assert a.computed == b.computed
    assert a.band == b.band
    assert a.missing_items == b.missing_items
    assert a.reason == b.reason
    assert a.citation == b.citation
    if a.total is None:
        assert b.total is None
    else:
        assert b.total == pytest.approx(a.total, rel=RTOL, abs=ATOL)
    assert a.subscales.keys() == b.subscales.keys()
    for key, value in a.subscales.items():
        if value is None:
            assert b.subscales[key] is None
        else:
            assert b.subscales[key] == pytest.approx(value, rel=RTOL, abs=ATOL)
