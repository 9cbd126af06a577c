"""score_record: a scored administration as the registry stores it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pydantic import ValidationError

from plptms.scales import ScoredRecord, score_record

from .conftest import ATOL, RTOL
from .test_scoring import SF_MPQ2_EXAMPLE

# LANSS worked example of tests/scales/test_scoring.py: A1, A3, A4, B2 "yes"
LANSS_EXAMPLE = {"A1": 1, "A2": 0, "A3": 1, "A4": 1, "A5": 0, "B1": 0, "B2": 1}


def test_sf_mpq2_worked_example() -> None:
    """SF-MPQ-2 (Dworkin et al., 2009): subscale and total means, by hand."""
    r = score_record("sf_mpq2", SF_MPQ2_EXAMPLE)
    assert r.scale_id == "sf_mpq2"
    assert r.items == SF_MPQ2_EXAMPLE  # raw items kept as given
    # continuous 1,5,6,8,9,10: (4+5+3+2+1+3)/6; intermittent 2,3,4,11,16,18:
    # (6+2+0+4+7+3)/6; neuropathic 7,17,19,20,21,22: (8+6+2+9+4+1)/6;
    # affective 12-15: (2+0+1+5)/4; total: mean of the 22 items = 78/22
    expected = {
        "continuous": 18 / 6,
        "intermittent": 22 / 6,
        "neuropathic": 30 / 6,
        "affective": 8 / 4,
    }
    assert r.subscales.keys() == expected.keys()
    for key, value in expected.items():
        assert r.subscales[key] == pytest.approx(value, rel=RTOL, abs=ATOL)
    assert r.total == pytest.approx(78 / 22, rel=RTOL)
    assert r.computed
    assert r.band is None
    assert r.reason is None


def test_lanss_worked_example_with_band() -> None:
    """LANSS (Bennett, 2001): 5 + 3 + 2 + 3 = 13, at or above 12 is neuropathic."""
    r = score_record("lanss", LANSS_EXAMPLE)
    assert r.total == pytest.approx(13.0, rel=RTOL)
    assert r.band == "neuropathic"


def test_missing_item_kept_with_reason() -> None:
    """SF-MPQ-2 (Dworkin et al., 2009): no rule for a missing item, no total."""
    r = score_record("sf_mpq2", {**SF_MPQ2_EXAMPLE, "7": None})
    assert r.items["7"] is None
    assert not r.computed
    assert r.total is None
    assert r.subscales["neuropathic"] is None
    assert r.subscales["affective"] == pytest.approx(2.0, rel=RTOL)
    assert r.reason is not None
    assert "item(s) 7 missing" in r.reason


def test_numpy_items_stored_as_plain_numbers() -> None:
    r = score_record("lanss", {k: np.int64(v) for k, v in LANSS_EXAMPLE.items()})  # type: ignore[misc]
    assert all(type(v) is int for v in r.items.values())
    assert r.total == pytest.approx(13.0, rel=RTOL)


def test_bad_item_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=re.escape("'sf_mpq2.item_7'")):
        score_record("sf_mpq2", {**SF_MPQ2_EXAMPLE, "7": 11})


def test_hand_built_record_must_match_its_items() -> None:
    """A record whose scores its items do not give cannot be built."""
    good = {
        "scale_id": "lanss",
        "items": LANSS_EXAMPLE,
        "total": 13.0,  # Bennett, 2001 weights: 5 + 3 + 2 + 3
        "subscales": {},
        "band": "neuropathic",
        "computed": True,
        "reason": None,
    }
    assert ScoredRecord(**good).total == pytest.approx(13.0, rel=RTOL)
    for change in ({"total": 12.0}, {"band": "not neuropathic"}):
        with pytest.raises(ValidationError, match="scores"):
            ScoredRecord(**{**good, **change})
    with pytest.raises(ValidationError, match=re.escape("lanss.item_A1")):
        ScoredRecord(**{**good, "items": {**LANSS_EXAMPLE, "A1": 5}})


def test_record_is_frozen() -> None:
    r = score_record("lanss", LANSS_EXAMPLE)
    with pytest.raises(ValidationError):
        r.total = 0.0  # type: ignore[misc]
