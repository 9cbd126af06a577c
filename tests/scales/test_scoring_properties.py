"""Property-based tests of scoring (hypothesis)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.scales import ItemDefinition, ScaleDefinition, list_scales, score

from .conftest import ATOL, assert_same_score

SCALES = list_scales()


def _in_range(item: ItemDefinition) -> st.SearchStrategy[Any]:
    if item.integer:
        return st.integers(int(item.min), int(item.max))
    return st.floats(item.min, item.max, allow_nan=False, allow_infinity=False)


@st.composite
def complete_items(draw: st.DrawFn) -> tuple[ScaleDefinition, dict[str, Any]]:
    scale = draw(st.sampled_from(SCALES))
    values = {item.id: draw(_in_range(item)) for item in scale.items}
    return scale, values


@st.composite
def out_of_range(draw: st.DrawFn) -> tuple[ScaleDefinition, str, float]:
    scale = draw(st.sampled_from(SCALES))
    item = draw(st.sampled_from(scale.items))
    above = st.floats(item.max, 1e9, exclude_min=True, allow_nan=False)
    below = st.floats(-1e9, item.min, exclude_max=True, allow_nan=False)
    return scale, item.id, draw(st.one_of(above, below))


@settings(max_examples=300)
@given(complete_items())
def test_in_range_scores_within_scale_range(
    case: tuple[ScaleDefinition, dict[str, Any]],
) -> None:
    scale, items = case
    r = score(scale.id, items)
    assert r.computed
    assert r.total is not None
    assert scale.total_min - ATOL <= r.total <= scale.total_max + ATOL
    assert r.missing_items == ()
    assert r.reason is None
    for sub, value in r.subscales.items():
        low, high = scale.subscale_range(sub)
        assert value is not None
        assert low - ATOL <= value <= high + ATOL
    assert (r.band is None) == (not scale.bands)


@settings(max_examples=300)
@given(out_of_range())
def test_out_of_range_raises_naming_item(
    case: tuple[ScaleDefinition, str, float],
) -> None:
    scale, item_id, value = case
    with pytest.raises(ValueError, match=re.escape(f"'{scale.id}.item_{item_id}'")):
        score(scale.id, {item_id: value})


@settings(max_examples=200)
@given(
    st.sampled_from([(s, i) for s in SCALES for i in s.items if i.integer]),
    st.floats(-5.0, 105.0, allow_nan=False).filter(lambda x: not x.is_integer()),
)
def test_non_integer_raises_naming_item(
    pair: tuple[ScaleDefinition, ItemDefinition], value: float
) -> None:
    scale, item = pair
    with pytest.raises(ValueError, match=re.escape(f"'{scale.id}.item_{item.id}'")):
        score(scale.id, {item.id: value})


@settings(max_examples=200)
@given(complete_items())
def test_scoring_is_idempotent(case: tuple[ScaleDefinition, dict[str, Any]]) -> None:
    scale, items = case
    first = score(scale.id, items)
    assert_same_score(first, score(scale.id, dict(items)))
    # scoring the validated (float) values again gives the same result
    as_floats = {k: float(v) for k, v in items.items()}
    assert_same_score(first, score(scale.id, as_floats))


@settings(max_examples=300)
@given(complete_items(), st.data())
def test_missing_items_never_imputed(
    case: tuple[ScaleDefinition, dict[str, Any]], data: st.DataObject
) -> None:
    scale, items = case
    gone = data.draw(st.sets(st.sampled_from(scale.item_ids)))
    partial = {k: (None if k in gone else v) for k, v in items.items()}
    r = score(scale.id, partial)
    assert set(r.missing_items) == gone
    lost = gone.intersection(scale.total_items)
    if scale.min_answered is None:
        assert r.computed == (not lost)
    else:  # published prorating rule (BPI interference: 4 of 7 answered)
        answered = len(scale.total_items) - len(lost)
        assert r.computed == (answered >= scale.min_answered)
        if r.computed:  # the mean of the answered items only
            kept = [float(items[i]) for i in scale.total_items if i not in gone]
            assert r.total == pytest.approx(sum(kept) / len(kept), abs=ATOL)
    for sub in scale.subscales:
        assert (r.subscales[sub.id] is None) == bool(gone.intersection(sub.items))
    assert (r.reason is None) == (not gone)
