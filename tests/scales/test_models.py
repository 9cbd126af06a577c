"""Scale definition and score models: validated, frozen, no extra fields."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from plptms.scales import (
    Band,
    ItemDefinition,
    ScaleDefinition,
    ScaleScore,
    SubscaleDefinition,
    get_scale,
)


def _scale(**changes: object) -> ScaleDefinition:
    data: dict[str, object] = {
        "id": "toy",
        "name": "toy scale",
        "citation": "Nobody, 2000",
        "bib_key": "design",
        "items": [
            {"id": "1", "min": 0, "max": 3, "integer": True},
            {"id": "2", "min": 0, "max": 3, "integer": True},
        ],
        "total_items": ["1", "2"],
        "total_aggregation": "sum",
        "missing_rule": "none",
    }
    data.update(changes)
    return ScaleDefinition.model_validate(data)


def test_toy_scale() -> None:
    s = _scale(bands=[{"label": "low", "low": 0}, {"label": "high", "low": 4}])
    assert s.total_max == 6
    assert s.band_of(3) == "low"
    assert s.band_of(4) == "high"
    assert s.band_of(6) == "high"
    assert _scale().band_of(2) is None


def test_duplicate_item_ids_refused() -> None:
    items = [
        {"id": "1", "min": 0, "max": 3, "integer": True},
        {"id": "1", "min": 0, "max": 3, "integer": True},
    ]
    with pytest.raises(ValidationError, match="'items'"):
        _scale(items=items, total_items=["1"])


def test_unknown_member_refused() -> None:
    with pytest.raises(ValidationError, match="'total_items'"):
        _scale(total_items=["1", "3"])
    with pytest.raises(ValidationError, match=re.escape("'subscales.a'")):
        _scale(subscales=[{"id": "a", "items": ["9"], "aggregation": "sum"}])


@pytest.mark.parametrize(
    "lows",
    [
        [1, 4],  # does not start at the minimum
        [0, 4, 4],  # not strictly increasing
        [0, 7],  # above the maximum
    ],
)
def test_bad_bands_refused(lows: list[int]) -> None:
    bands = [{"label": f"b{k}", "low": low} for k, low in enumerate(lows)]
    with pytest.raises(ValidationError, match="'bands'"):
        _scale(bands=bands)


def test_item_range_refused() -> None:
    with pytest.raises(ValidationError, match="'max'"):
        ItemDefinition(id="1", min=3, max=3, integer=True)


def test_frozen_and_forbid_extra() -> None:
    scale = get_scale("ham_a")
    with pytest.raises(ValidationError):
        scale.id = "other"
    with pytest.raises(ValidationError):
        Band.model_validate({"label": "x", "low": 0, "high": 3})
    with pytest.raises(ValidationError):
        SubscaleDefinition.model_validate(
            {"id": "x", "items": ["1"], "aggregation": "median"}
        )


def test_score_computed_matches_total() -> None:
    base: dict[str, object] = {
        "scale_id": "ham_a",
        "subscales": {},
        "band": None,
        "missing_items": (),
        "reason": None,
        "citation": "x",
    }
    with pytest.raises(ValidationError, match="'computed'"):
        ScaleScore.model_validate({**base, "total": None, "computed": True})
    with pytest.raises(ValidationError, match="'computed'"):
        ScaleScore.model_validate({**base, "total": 3.0, "computed": False})


def test_definitions_round_trip_json() -> None:
    scale = get_scale("sf_mpq2")
    again = ScaleDefinition.model_validate_json(scale.model_dump_json())
    assert again == scale
