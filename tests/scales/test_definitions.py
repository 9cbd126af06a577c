"""The scale registry: identifiers, ranges and sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plptms.scales import (
    PainInstrument,
    PainSite,
    PainSummary,
    get_scale,
    list_scales,
    pain_intensity_scale_id,
)

from .conftest import ATOL, RTOL

BIB = (Path(__file__).parents[2] / "docs" / "references.bib").read_text()
BIB_KEYS = set(re.findall(r"@\w+\{([\w-]+),", BIB))

PAIN_IDS = [
    f"{i}_{s}_{k}"
    for i in ("vas", "nrs")
    for s in ("phantom", "stump")
    for k in ("average", "worst")
]
ALL_IDS = [
    *PAIN_IDS,
    "sf_mpq",
    "sf_mpq2",
    "lanss",
    "ham_a",
    "ham_d17",
    "pgic",
    "bpi_interference",
    "eq5d5l_england",
    "eq5d5l_us",
]


def test_list_scales_ids() -> None:
    assert [s.id for s in list_scales()] == ALL_IDS


@pytest.mark.parametrize("scale_id", ALL_IDS)
def test_get_scale_and_citation(scale_id: str) -> None:
    scale = get_scale(scale_id)
    assert scale.id == scale_id
    assert scale.bib_key in BIB_KEYS
    assert scale.citation
    assert scale.missing_rule


def test_unknown_scale_suggests() -> None:
    with pytest.raises(ValueError, match="scale_id") as exc:
        get_scale("ham_d")
    assert "Did you mean 'ham_d17'?" in str(exc.value)
    assert "'sf_mpq2'" in str(exc.value)


@pytest.mark.parametrize(
    ("scale_id", "low", "high"),
    [
        ("vas_phantom_average", 0.0, 100.0),
        ("nrs_stump_worst", 0.0, 10.0),
        ("sf_mpq", 0.0, 45.0),  # 15 descriptors x 3
        ("sf_mpq2", 0.0, 10.0),  # mean of 0-10 items
        ("lanss", 0.0, 24.0),  # 5 + 5 + 3 + 2 + 1 + 5 + 3
        ("ham_a", 0.0, 56.0),  # 14 x 4
        ("ham_d17", 0.0, 52.0),  # 9 x 4 + 8 x 2
    ],
)
def test_total_range(scale_id: str, low: float, high: float) -> None:
    scale = get_scale(scale_id)
    assert scale.total_min == pytest.approx(low, rel=RTOL, abs=ATOL)
    assert scale.total_max == pytest.approx(high, rel=RTOL, abs=ATOL)


def test_sf_mpq_components() -> None:
    scale = get_scale("sf_mpq")
    assert scale.item_ids == (*[str(i) for i in range(1, 16)], "ppi", "vas")
    expected = {"sensory": 33.0, "affective": 12.0, "ppi": 5.0, "vas": 100.0}
    for sub, top in expected.items():
        low, high = scale.subscale_range(sub)
        assert low == pytest.approx(0.0, abs=ATOL)
        assert high == pytest.approx(top, rel=RTOL)
    assert scale.item("vas").unit == "mm"
    assert not scale.item("vas").integer
    with pytest.raises(KeyError, match="subscale"):
        scale.subscale_range("evaluative")
    with pytest.raises(KeyError, match=re.escape("sf_mpq.item")):
        scale.item("16")


def test_sf_mpq2_subscales_cover_items_once() -> None:
    scale = get_scale("sf_mpq2")
    members = [m for sub in scale.subscales for m in sub.items]
    assert sorted(members, key=int) == [str(i) for i in range(1, 23)]
    assert {s.id: s.items for s in scale.subscales} == {
        "continuous": ("1", "5", "6", "8", "9", "10"),
        "intermittent": ("2", "3", "4", "11", "16", "18"),
        "neuropathic": ("7", "17", "19", "20", "21", "22"),
        "affective": ("12", "13", "14", "15"),
    }
    assert all(s.aggregation == "mean" for s in scale.subscales)
    assert scale.total_aggregation == "mean"


def test_ham_d17_item_ranges() -> None:
    scale = get_scale("ham_d17")
    two = {i.id for i in scale.items if i.max == 2}
    four = {i.id for i in scale.items if i.max == 4}
    assert two == {"4", "5", "6", "12", "13", "14", "16", "17"}
    assert four == {"1", "2", "3", "7", "8", "9", "10", "11", "15"}


def test_lanss_weights() -> None:
    scale = get_scale("lanss")
    weights = {i.id: i.weight for i in scale.items}
    assert weights == {"A1": 5, "A2": 5, "A3": 3, "A4": 2, "A5": 1, "B1": 5, "B2": 3}
    assert all(i.min == 0 and i.max == 1 and i.integer for i in scale.items)


def test_pain_intensity_items() -> None:
    vas = get_scale("vas_stump_average")
    nrs = get_scale("nrs_phantom_worst")
    assert vas.item_ids == nrs.item_ids == ("1",)
    assert not vas.items[0].integer
    assert vas.unit == "mm"
    assert nrs.items[0].integer
    assert "residual limb" in vas.name
    assert "phantom" in nrs.name
    assert "worst" in nrs.name


def test_pain_intensity_scale_id() -> None:
    assert pain_intensity_scale_id("vas", "phantom", "average") == "vas_phantom_average"
    assert (
        pain_intensity_scale_id(PainInstrument.NRS, PainSite.STUMP, PainSummary.WORST)
        == "nrs_stump_worst"
    )
    with pytest.raises(ValueError, match="'site'"):
        pain_intensity_scale_id("vas", "residual", "average")
    with pytest.raises(ValueError, match="'summary'"):
        pain_intensity_scale_id("vas", "stump", "mean")
    with pytest.raises(ValueError, match="'instrument'"):
        pain_intensity_scale_id("vrs", "stump", "worst")


def test_registry_built_once() -> None:
    assert get_scale("ham_a") is get_scale("ham_a")
