"""IMMPACT outcome instruments: PGIC, BPI interference and the EQ-5D-5L index.

Worked examples come from the published sources named in each test's docstring
(abstracts and scoring rules read; see docs/references.bib for what was read) or
are computed by hand from the published rule.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from plptms.scales import (
    Aggregation,
    ItemDefinition,
    ResponderClass,
    ScaleDefinition,
    ScoredRecord,
    ValueSet,
    classify_pgic,
    get_scale,
    is_bpi_interference_responder,
    is_pgic_responder,
    load_value_sets,
    score,
    score_record,
)

from .conftest import ATOL, RTOL

BIB = (Path(__file__).parents[2] / "docs" / "references.bib").read_text()
BIB_KEYS = set(re.findall(r"@\w+\{([\w-]+),", BIB))
REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "eq5d5l_reference_values.json").read_text()
)
#: Published index values are printed to 3 decimals.
EQ5D_ATOL = REFERENCE["atol"]
DIMS = ("MO", "SC", "UA", "PD", "AD")


def _state(code: str) -> dict[str, int]:
    return dict(zip(DIMS, (int(c) for c in code), strict=True))


# --------------------------------------------------------------------------- PGIC

PGIC_LABELS = [
    "very much improved",
    "much improved",
    "minimally improved",
    "no change",
    "minimally worse",
    "much worse",
    "very much worse",
]


@pytest.mark.parametrize(("code", "label"), list(enumerate(PGIC_LABELS, start=1)))
def test_pgic_score_is_the_category(code: int, label: str) -> None:
    """PGIC coded 1 = very much improved ... 7 = very much worse (NINDS CDE, 2020).

    The total is the category code and the band its label (Farrar et al., 2001).
    """
    r = score("pgic", {"1": code})
    assert r.computed
    assert r.total == pytest.approx(code, rel=RTOL)
    assert r.band == label
    assert r.citation.startswith("Farrar et al., 2001")


def test_pgic_definition() -> None:
    """One item, seven whole-number categories (Farrar et al., 2001, abstract)."""
    scale = get_scale("pgic")
    assert scale.item_ids == ("1",)
    item = scale.item("1")
    assert (item.min, item.max, item.integer) == (1, 7, True)
    assert [b.label for b in scale.bands] == PGIC_LABELS
    assert scale.bib_key in BIB_KEYS


@pytest.mark.parametrize(
    ("code", "responder"),
    [(1, True), (2, True), (3, False), (4, False), (5, False), (6, False), (7, False)],
)
def test_pgic_responder_rule(code: int, responder: bool) -> None:
    """Much or very much improved is clinically important (Farrar et al., 2001)."""
    assert is_pgic_responder(code) is responder


@pytest.mark.parametrize(
    ("code", "tier"),
    [
        (1, ResponderClass.SUBSTANTIALLY_IMPORTANT),
        (2, ResponderClass.MODERATELY_IMPORTANT),
        (3, ResponderClass.MINIMALLY_IMPORTANT),
        (4, ResponderClass.NONE),
        (7, ResponderClass.NONE),
    ],
)
def test_pgic_immpact_tiers(code: int, tier: ResponderClass) -> None:
    """IMMPACT PGIC tiers (Dworkin et al., 2008, Table 1, Bandolier transcription).

    Minimally improved is minimally important, very much improved substantially
    important; much improved is the moderate tier.
    """
    assert classify_pgic(code) is tier


@pytest.mark.parametrize("bad", [0, 8, -1, 2.5])
def test_pgic_refuses_bad_codes(bad: float) -> None:
    """A code outside the seven categories names the item and the range."""
    with pytest.raises(ValueError, match=re.escape("'pgic.item_1'")):
        score("pgic", {"1": bad})
    with pytest.raises(ValueError, match=re.escape("'pgic.item_1'")):
        is_pgic_responder(bad)  # type: ignore[arg-type]


def test_pgic_refuses_missing_bool_and_text() -> None:
    """A missing rating has no responder status; bools and text are refused."""
    with pytest.raises(ValueError, match=re.escape("'pgic.item_1'")):
        is_pgic_responder(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape("'pgic.item_1'")):
        classify_pgic(True)
    with pytest.raises(TypeError, match=re.escape("'pgic.item_1'")):
        is_pgic_responder("2")  # type: ignore[arg-type]
    r = score("pgic", {})
    assert not r.computed
    assert r.band is None
    assert r.missing_items == ("1",)


# ------------------------------------------------------------------ BPI interference

BPI_ITEMS = ("9A", "9B", "9C", "9D", "9E", "9F", "9G")


def test_bpi_definition() -> None:
    """BPI-SF interference: items 9A-9G, 0-10, mean score (Cleeland, 2009)."""
    scale = get_scale("bpi_interference")
    assert scale.item_ids == BPI_ITEMS
    assert all(i.min == 0 and i.max == 10 and i.integer for i in scale.items)
    assert scale.total_aggregation is Aggregation.MEAN
    assert scale.min_answered == 4
    assert scale.total_min == pytest.approx(0.0, abs=ATOL)
    assert scale.total_max == pytest.approx(10.0, rel=RTOL)
    assert all(i.label for i in scale.items)
    assert scale.bib_key in BIB_KEYS


def test_bpi_worked_example_all_answered() -> None:
    """Interference = mean of the 7 items (Cleeland, 2009): hand-computed example."""
    items = dict(zip(BPI_ITEMS, (3, 5, 4, 2, 7, 6, 1), strict=True))
    r = score("bpi_interference", items)
    # (3 + 5 + 4 + 2 + 7 + 6 + 1) / 7 = 28 / 7 = 4.0
    assert r.total == pytest.approx(4.0, rel=RTOL)
    assert r.computed
    assert r.reason is None
    assert r.band is None


def test_bpi_four_answered_is_scored() -> None:
    """The mean is used when at least 4 of 7 items are answered (Cleeland, 2009)."""
    items = {"9A": 3, "9B": 6, "9C": None, "9D": 2, "9F": 8}  # 9E, 9G left out
    r = score("bpi_interference", items)
    # (3 + 6 + 2 + 8) / 4 = 19 / 4 = 4.75: the answered items only, no zeros
    assert r.total == pytest.approx(4.75, rel=RTOL)
    assert r.computed
    assert r.missing_items == ("9C", "9E", "9G")
    assert r.reason is not None
    assert "mean of the 4 answered items" in r.reason
    assert "at least 4 of 7" in r.reason


def test_bpi_three_answered_is_not_scored() -> None:
    """With 3 of 7 answered the rule (at least 4) is not met (Cleeland, 2009)."""
    r = score("bpi_interference", {"9A": 3, "9B": 6, "9D": 2})
    assert not r.computed
    assert r.total is None
    assert r.reason is not None
    assert "only 3 of 7 items answered" in r.reason
    assert "at least 4" in r.reason


def test_bpi_record_round_trip() -> None:
    """A prorated BPI record re-scores to itself when read back (Cleeland, 2009)."""
    rec = score_record("bpi_interference", {"9A": 1, "9B": 2, "9C": 3, "9D": 6})
    assert rec.total == pytest.approx(3.0, rel=RTOL)  # (1 + 2 + 3 + 6) / 4
    again = ScoredRecord.model_validate_json(rec.model_dump_json())
    assert again.total == pytest.approx(rec.total, rel=RTOL)
    assert again.reason == rec.reason
    with pytest.raises(ValidationError, match="scores"):
        ScoredRecord.model_validate({**rec.model_dump(), "total": 12.0 / 7})


@pytest.mark.parametrize(("item", "bad"), [("9C", 11), ("9G", -1), ("9A", 4.5)])
def test_bpi_refusals_name_the_item(item: str, bad: float) -> None:
    """Out-of-range or fractional ratings name the item (0-10 whole numbers)."""
    with pytest.raises(ValueError, match=re.escape(f"'bpi_interference.item_{item}'")):
        score("bpi_interference", {item: bad})


def test_bpi_unknown_item_lists_ids() -> None:
    """An unknown item id is refused with the allowed ids listed."""
    with pytest.raises(ValueError, match=re.escape("allowed values are '9A', '9B'")):
        score("bpi_interference", {"9a": 3})


@pytest.mark.parametrize(
    ("baseline", "follow_up", "responder"),
    [(6.0, 5.0, True), (6.0, 5.5, False), (4.3, 3.3, True), (2.0, 4.0, False)],
)
def test_bpi_interference_responder(
    baseline: float, follow_up: float, responder: bool
) -> None:
    """A decrease of at least 1 point is minimally important (Dworkin et al., 2008).

    4.3 - 3.3 is 0.9999999999999996 in floating point and still counts.
    """
    assert is_bpi_interference_responder(baseline, follow_up) is responder


def test_bpi_interference_responder_refusals() -> None:
    """Scores outside 0-10 or of the wrong type name the argument."""
    with pytest.raises(ValueError, match="'baseline'"):
        is_bpi_interference_responder(10.5, 3.0)
    with pytest.raises(ValueError, match="'follow_up'"):
        is_bpi_interference_responder(5.0, -0.5)
    with pytest.raises(TypeError, match="'baseline'"):
        is_bpi_interference_responder("5", 3.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- EQ-5D-5L


@pytest.mark.parametrize(
    "code", sorted(REFERENCE["value_sets"]["england"]["abstract"]["values"])
)
def test_eq5d5l_england_abstract_values(code: str) -> None:
    """55555 = -0.285 and 11211 = 0.950 (Devlin et al., 2018, abstract)."""
    expected = REFERENCE["value_sets"]["england"]["abstract"]["values"][code]
    r = score("eq5d5l_england", _state(code))
    assert r.total == pytest.approx(expected, abs=EQ5D_ATOL)


def _all_indices(value_set: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for levels in itertools.product(range(1, 6), repeat=5):
        code = "".join(map(str, levels))
        total = score(f"eq5d5l_{value_set}", _state(code)).total
        assert total is not None
        out[code] = total
    return out


def test_eq5d5l_england_distribution_matches_abstract() -> None:
    """Range and share of states worse than dead (Devlin et al., 2018, abstract).

    Of the 3,125 states, 5.1 % are worse than dead; values run from -0.285 to
    0.950 below full health.
    """
    pinned = REFERENCE["value_sets"]["england"]["abstract"]
    values = _all_indices("england")
    assert len(values) == 3125
    assert values["11111"] == pytest.approx(1.0, abs=ATOL)
    below = [v for k, v in values.items() if k != "11111"]
    assert max(below) == pytest.approx(pinned["max_below_full_health"], abs=EQ5D_ATOL)
    assert min(values.values()) == pytest.approx(-0.285, abs=EQ5D_ATOL)
    pct = 100.0 * sum(v < 0 for v in values.values()) / len(values)
    assert pct == pytest.approx(pinned["percent_worse_than_dead"], abs=0.05)


@pytest.mark.parametrize(
    ("value_set", "code"),
    [
        (vs, code)
        for vs in ("england", "us")
        for code in sorted(REFERENCE["value_sets"][vs]["implementation"]["values"])
    ],
)
def test_eq5d5l_against_eq5d_package(value_set: str, code: str) -> None:
    """Index values pinned by the eq5d R package's tests (Morton and Nijjar).

    England: Devlin et al. (2018); US: Pickard et al. (2019). These check the
    transcription of the coefficients against an independent implementation.
    """
    expected = REFERENCE["value_sets"][value_set]["implementation"]["values"][code]
    r = score(f"eq5d5l_{value_set}", _state(code))
    assert r.total == pytest.approx(expected, abs=EQ5D_ATOL)


def test_eq5d5l_hand_computed_21232() -> None:
    """21232 from the England coefficients (Devlin et al., 2018), by hand.

    1 - (MO2 0.058 + SC1 0 + UA2 0.050 + PD3 0.084 + AD2 0.078) = 0.730.
    """
    r = score("eq5d5l_england", {**_state("21232"), "vas": 65})
    assert r.total == pytest.approx(0.730, abs=1e-12)
    assert r.subscales == {"vas": pytest.approx(65.0, rel=RTOL)}
    assert r.reason is None
    assert r.band is None


@pytest.mark.parametrize(
    ("scale_id", "low"), [("eq5d5l_england", -0.285), ("eq5d5l_us", -0.573)]
)
def test_eq5d5l_ranges(scale_id: str, low: float) -> None:
    """Index from the worst state (55555) to full health (11111), EQ VAS 0-100."""
    scale = get_scale(scale_id)
    assert scale.total_min == pytest.approx(low, abs=1e-12)
    assert scale.total_max == pytest.approx(1.0, abs=1e-12)
    assert scale.subscale_range("vas") == pytest.approx((0.0, 100.0))
    assert scale.item_ids == (*DIMS, "vas")
    assert all(scale.item(d).max == 5 and scale.item(d).integer for d in DIMS)


def test_eq5d5l_missing_dimension_and_vas() -> None:
    """A missing dimension leaves no index; a missing EQ VAS leaves the index."""
    r = score("eq5d5l_england", {**_state("21232"), "PD": None, "vas": 70})
    assert not r.computed
    assert r.total is None
    assert r.subscales["vas"] == pytest.approx(70.0, rel=RTOL)
    assert r.reason is not None
    assert "PD missing" in r.reason
    assert "all five dimensions" in r.reason
    r = score("eq5d5l_us", _state("21354"))
    assert r.total == pytest.approx(0.090, abs=EQ5D_ATOL)
    assert r.subscales["vas"] is None
    assert r.missing_items == ("vas",)


@pytest.mark.parametrize(
    ("item", "bad"), [("MO", 0), ("SC", 6), ("AD", 2.5), ("vas", 100.5), ("vas", -1)]
)
def test_eq5d5l_refusals_name_the_item(item: str, bad: float) -> None:
    """Levels outside 1-5 (whole) or an EQ VAS outside 0-100 name the item."""
    items: dict[str, Any] = {**_state("11111"), item: bad}
    with pytest.raises(ValueError, match=re.escape(f"'eq5d5l_england.item_{item}'")):
        score("eq5d5l_england", items)


def test_eq5d5l_record_round_trip() -> None:
    """The stored record of an EQ-5D-5L administration re-scores to itself."""
    rec = score_record("eq5d5l_england", {**_state("55555"), "vas": 20})
    assert rec.total == pytest.approx(-0.285, abs=EQ5D_ATOL)
    again = ScoredRecord.model_validate_json(rec.model_dump_json())
    assert again.total == pytest.approx(rec.total, abs=1e-12)


def test_value_sets_data_file() -> None:
    """Each shipped value set is cited, and says where it was read."""
    sets = {vs.id: vs for vs in load_value_sets()}
    assert set(sets) == {"england", "us"}
    for vs in sets.values():
        assert vs.bib_key in BIB_KEYS
        assert [d.item for d in vs.decrements] == list(DIMS)
        assert all(len(d.decrements) == 5 for d in vs.decrements)
        if not vs.verified:
            assert "not verified" in vs.provenance
        assert get_scale(f"eq5d5l_{vs.id}").value_set == vs
    assert sets["england"].citation == "Devlin et al., 2018"
    assert sets["us"].citation == "Pickard et al., 2019"


# ------------------------------------------------------------- model validation


def _vs(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "toy",
        "name": "toy value set",
        "citation": "Toy, 2000",
        "bib_key": "toy2000",
        "verified": False,
        "provenance": "made up for a test: not verified",
        "decrements": [{"item": "A", "decrements": [0.0, 0.1, 0.3]}],
    }
    base.update(changes)
    return base


def test_value_set_refuses_bad_decrements() -> None:
    """Decrements must be >= 0 and must not fall as the level rises."""
    with pytest.raises(ValidationError, match=re.escape("'decrements.A'")):
        ValueSet.model_validate(
            _vs(decrements=[{"item": "A", "decrements": [0.0, 0.3, 0.1]}])
        )
    with pytest.raises(ValidationError, match=re.escape("'decrements.A'")):
        ValueSet.model_validate(
            _vs(decrements=[{"item": "A", "decrements": [-0.1, 0.3]}])
        )
    with pytest.raises(ValidationError, match="each item once"):
        ValueSet.model_validate(
            _vs(
                decrements=[
                    {"item": "A", "decrements": [0.0, 0.1]},
                    {"item": "A", "decrements": [0.0, 0.2]},
                ]
            )
        )
    vs = ValueSet.model_validate(_vs())
    assert vs.index({"A": 3}) == pytest.approx(0.7, abs=1e-12)  # 1 - 0.3
    with pytest.raises(ValueError, match=re.escape("'toy.A'")):
        vs.index({"A": 4})
    with pytest.raises(KeyError, match=re.escape("'toy.item'")):
        vs.item_decrements("B")


def test_scale_definition_rule_consistency() -> None:
    """Value sets and prorating rules are only accepted where they apply."""
    item = ItemDefinition(id="A", min=1, max=3, integer=True)
    vs = ValueSet.model_validate(_vs())
    common: dict[str, Any] = {
        "id": "toy",
        "name": "toy",
        "citation": "Toy, 2000",
        "bib_key": "toy2000",
        "items": (item,),
        "total_items": ("A",),
        "missing_rule": "none",
    }
    ok = ScaleDefinition(
        **common, total_aggregation=Aggregation.VALUE_SET, value_set=vs
    )
    assert ok.total_max == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValidationError, match="'value_set'"):
        ScaleDefinition(**common, total_aggregation=Aggregation.SUM, value_set=vs)
    with pytest.raises(ValidationError, match="'value_set'"):
        ScaleDefinition(**common, total_aggregation=Aggregation.VALUE_SET)
    with pytest.raises(ValidationError, match="'min_answered'"):
        ScaleDefinition(**common, total_aggregation=Aggregation.SUM, min_answered=1)
    with pytest.raises(ValidationError, match="'min_answered'"):
        ScaleDefinition(**common, total_aggregation=Aggregation.MEAN, min_answered=2)
    wide = ItemDefinition(id="A", min=1, max=4, integer=True)
    with pytest.raises(ValidationError, match=re.escape("'value_set.A'")):
        ScaleDefinition(
            **{**common, "items": (wide,)},
            total_aggregation=Aggregation.VALUE_SET,
            value_set=vs,
        )
