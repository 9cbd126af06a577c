"""Scoring against worked examples computed by hand from the published rules."""

from __future__ import annotations

import re

import numpy as np
import pytest

from plptms.scales import get_scale, list_scales, score, validate_item

from .conftest import ATOL, RTOL, fill_to_total

# --------------------------------------------------------------------------- VAS/NRS


def test_vas_worked_example() -> None:
    r = score("vas_phantom_average", {"1": 37.5})
    assert r.computed
    assert r.total == pytest.approx(37.5, rel=RTOL)  # the single item, in mm
    assert r.band is None
    assert r.subscales == {}
    assert r.missing_items == ()
    assert r.reason is None
    assert r.citation == "Hawker et al., 2011"


def test_nrs_worked_example() -> None:
    r = score("nrs_stump_worst", {"1": 7})
    assert r.total == pytest.approx(7.0, rel=RTOL)


@pytest.mark.parametrize(
    ("scale_id", "low", "high"),
    [("vas_stump_worst", 0.0, 100.0), ("nrs_phantom_average", 0, 10)],
)
def test_pain_intensity_edges(scale_id: str, low: float, high: float) -> None:
    assert score(scale_id, {"1": low}).total == pytest.approx(low, abs=ATOL)
    assert score(scale_id, {"1": high}).total == pytest.approx(high, rel=RTOL)


def test_pain_intensity_refusals() -> None:
    with pytest.raises(ValueError, match=re.escape("'vas_phantom_worst.item_1'")):
        score("vas_phantom_worst", {"1": 100.5})
    with pytest.raises(ValueError, match=re.escape("[0, 100] mm")):
        score("vas_phantom_worst", {"1": -0.1})
    with pytest.raises(ValueError, match=re.escape("'nrs_phantom_worst.item_1'")):
        score("nrs_phantom_worst", {"1": 6.5})  # NRS takes whole numbers only


def test_pain_intensity_missing() -> None:
    r = score("nrs_stump_average", {"1": None})
    assert not r.computed
    assert r.total is None
    assert r.missing_items == ("1",)
    assert r.reason is not None
    assert "1 missing" in r.reason
    assert score("nrs_stump_average", {}).missing_items == ("1",)


# --------------------------------------------------------------------------- SF-MPQ

SF_MPQ_EXAMPLE = {
    # sensory 1-11
    "1": 3, "2": 2, "3": 0, "4": 1, "5": 0, "6": 2, "7": 1, "8": 0, "9": 0,
    "10": 1, "11": 2,
    # affective 12-15
    "12": 1, "13": 2, "14": 0, "15": 1,
    "ppi": 3, "vas": 62.5,
}  # fmt: skip


def test_sf_mpq_worked_example() -> None:
    r = score("sf_mpq", SF_MPQ_EXAMPLE)
    # sensory: 3+2+0+1+0+2+1+0+0+1+2 = 12
    assert r.subscales["sensory"] == pytest.approx(12.0, rel=RTOL)
    # affective: 1+2+0+1 = 4
    assert r.subscales["affective"] == pytest.approx(4.0, rel=RTOL)
    # total pain rating index: 12 + 4 = 16
    assert r.total == pytest.approx(16.0, rel=RTOL)
    assert r.subscales["ppi"] == pytest.approx(3.0, rel=RTOL)
    assert r.subscales["vas"] == pytest.approx(62.5, rel=RTOL)
    assert r.band is None
    assert r.citation == "Melzack, 1987"


def test_sf_mpq_edges() -> None:
    ids = [str(i) for i in range(1, 16)]
    top = score("sf_mpq", {**dict.fromkeys(ids, 3), "ppi": 5, "vas": 100.0})
    assert top.total == pytest.approx(45.0, rel=RTOL)  # 15 x 3
    assert top.subscales["sensory"] == pytest.approx(33.0, rel=RTOL)  # 11 x 3
    assert top.subscales["affective"] == pytest.approx(12.0, rel=RTOL)  # 4 x 3
    bottom = score("sf_mpq", {**dict.fromkeys(ids, 0), "ppi": 0, "vas": 0.0})
    assert bottom.total == pytest.approx(0.0, abs=ATOL)


def test_sf_mpq_missing_components() -> None:
    # VAS not done: total and indices still computed, the VAS is not
    items = {**SF_MPQ_EXAMPLE, "vas": None}
    r = score("sf_mpq", items)
    assert r.computed
    assert r.total == pytest.approx(16.0, rel=RTOL)
    assert r.subscales["vas"] is None
    assert r.missing_items == ("vas",)
    assert r.reason == "Subscale 'vas' not computed: item(s) vas missing."
    # one affective descriptor missing: no total, no affective index,
    # the sensory index (all its items present) is still computed
    r = score("sf_mpq", {**SF_MPQ_EXAMPLE, "13": None})
    assert not r.computed
    assert r.total is None
    assert r.subscales["affective"] is None
    assert r.subscales["sensory"] == pytest.approx(12.0, rel=RTOL)
    assert r.missing_items == ("13",)
    assert r.reason is not None
    assert r.reason.startswith("Total not computed: item(s) 13 missing")
    assert "nothing is imputed" in r.reason


# --------------------------------------------------------------------------- SF-MPQ-2

SF_MPQ2_EXAMPLE = {
    "1": 4, "2": 6, "3": 2, "4": 0, "5": 5, "6": 3, "7": 8, "8": 2, "9": 1,
    "10": 3, "11": 4, "12": 2, "13": 0, "14": 1, "15": 5, "16": 7, "17": 6,
    "18": 3, "19": 2, "20": 9, "21": 4, "22": 1,
}  # fmt: skip


def test_sf_mpq2_worked_example() -> None:
    r = score("sf_mpq2", SF_MPQ2_EXAMPLE)
    # continuous 1,5,6,8,9,10: (4+5+3+2+1+3)/6 = 18/6 = 3.0
    assert r.subscales["continuous"] == pytest.approx(3.0, rel=RTOL)
    # intermittent 2,3,4,11,16,18: (6+2+0+4+7+3)/6 = 22/6
    assert r.subscales["intermittent"] == pytest.approx(22 / 6, rel=RTOL)
    # neuropathic 7,17,19,20,21,22: (8+6+2+9+4+1)/6 = 30/6 = 5.0
    assert r.subscales["neuropathic"] == pytest.approx(5.0, rel=RTOL)
    # affective 12,13,14,15: (2+0+1+5)/4 = 8/4 = 2.0
    assert r.subscales["affective"] == pytest.approx(2.0, rel=RTOL)
    # total: mean of all 22 = (18+22+30+8)/22 = 78/22
    assert r.total == pytest.approx(78 / 22, rel=RTOL)
    assert r.band is None


def test_sf_mpq2_edges() -> None:
    ids = [str(i) for i in range(1, 23)]
    top = score("sf_mpq2", dict.fromkeys(ids, 10))
    assert top.total == pytest.approx(10.0, rel=RTOL)
    assert all(v == pytest.approx(10.0, rel=RTOL) for v in top.subscales.values())
    bottom = score("sf_mpq2", dict.fromkeys(ids, 0))
    assert bottom.total == pytest.approx(0.0, abs=ATOL)


def test_sf_mpq2_missing_item_keeps_other_subscales() -> None:
    r = score("sf_mpq2", {**SF_MPQ2_EXAMPLE, "7": None})
    assert not r.computed
    assert r.total is None
    assert r.subscales["neuropathic"] is None
    # the other three subscales have all their items
    assert r.subscales["continuous"] == pytest.approx(3.0, rel=RTOL)
    assert r.subscales["intermittent"] == pytest.approx(22 / 6, rel=RTOL)
    assert r.subscales["affective"] == pytest.approx(2.0, rel=RTOL)
    assert r.missing_items == ("7",)
    assert r.reason is not None
    assert "item(s) 7 missing" in r.reason
    assert "Subscale 'neuropathic' not computed" in r.reason


# --------------------------------------------------------------------------- LANSS


def test_lanss_worked_example() -> None:
    # A1 yes (5), A3 yes (3), A4 yes (2), B2 yes (3): 5+3+2+3 = 13
    items = {"A1": 1, "A2": 0, "A3": 1, "A4": 1, "A5": 0, "B1": 0, "B2": 1}
    r = score("lanss", items)
    assert r.total == pytest.approx(13.0, rel=RTOL)
    assert r.band == "neuropathic"
    assert r.citation == "Bennett, 2001"


@pytest.mark.parametrize(
    ("yes", "total", "band"),
    [
        ((), 0, "not neuropathic"),
        (("A1", "A3", "B2"), 11, "not neuropathic"),  # 5 + 3 + 3
        (("A1", "A2", "A4"), 12, "neuropathic"),  # 5 + 5 + 2
        (("A1", "A2", "A3", "A4", "A5", "B1", "B2"), 24, "neuropathic"),
    ],
)
def test_lanss_cutoff(yes: tuple[str, ...], total: int, band: str) -> None:
    items = {i: int(i in yes) for i in ("A1", "A2", "A3", "A4", "A5", "B1", "B2")}
    r = score("lanss", items)
    assert r.total == pytest.approx(float(total), abs=ATOL)
    assert r.band == band


def test_lanss_refuses_weight_as_value() -> None:
    # a "yes" is recorded as 1; the weight is applied by the scoring
    with pytest.raises(ValueError, match=re.escape("'lanss.item_A1'")):
        score("lanss", {"A1": 5})


def test_lanss_missing_item() -> None:
    # 17 points already present, but there is no published missing-item rule
    items = {"A1": 1, "A2": 1, "A3": 1, "A4": 1, "A5": None, "B1": None, "B2": 1}
    r = score("lanss", items)
    assert not r.computed
    assert r.band is None
    assert r.missing_items == ("A5", "B1")


# --------------------------------------------------------------------------- HAM-A


def test_ham_a_worked_example() -> None:
    values = [2, 3, 1, 2, 1, 2, 1, 0, 1, 0, 1, 0, 2, 1]
    items = {str(k): v for k, v in enumerate(values, start=1)}
    r = score("ham_a", items)
    # 2+3+1+2+1+2+1+0+1+0+1+0+2+1 = 17
    assert r.total == pytest.approx(17.0, rel=RTOL)
    assert r.band == "moderate"  # Matza 2010: 15-23
    assert r.citation == "Hamilton, 1959; bands: Matza et al., 2010"


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "no or minimal"),
        (7, "no or minimal"),
        (8, "mild"),
        (14, "mild"),
        (15, "moderate"),
        (23, "moderate"),
        (24, "severe"),
        (56, "severe"),
    ],
)
def test_ham_a_band_edges(total: int, band: str) -> None:
    r = score("ham_a", fill_to_total(get_scale("ham_a"), total))
    assert r.total == pytest.approx(float(total), abs=ATOL)
    assert r.band == band


# --------------------------------------------------------------------------- HAM-D 17

HAM_D17_EXAMPLE = {
    "1": 3, "2": 2, "3": 1, "4": 2, "5": 1, "6": 0, "7": 3, "8": 1, "9": 2,
    "10": 3, "11": 2, "12": 1, "13": 2, "14": 1, "15": 1, "16": 0, "17": 1,
}  # fmt: skip


def test_ham_d17_worked_example() -> None:
    r = score("ham_d17", HAM_D17_EXAMPLE)
    # 3+2+1 = 6; +2+1+0 = 9; +3+1+2+3+2 = 20; +1+2+1 = 24; +1 = 25; +0+1 = 26
    assert r.total == pytest.approx(26.0, rel=RTOL)
    assert r.band == "very severe"  # >= 23
    assert r.citation == "Hamilton, 1960; bands: Sharp, 2015"


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "normal"),
        (7, "normal"),
        (8, "mild"),
        (13, "mild"),
        (14, "moderate"),
        (18, "moderate"),
        (19, "severe"),
        (22, "severe"),
        (23, "very severe"),
        (52, "very severe"),
    ],
)
def test_ham_d17_band_edges(total: int, band: str) -> None:
    r = score("ham_d17", fill_to_total(get_scale("ham_d17"), total))
    assert r.total == pytest.approx(float(total), abs=ATOL)
    assert r.band == band


def test_ham_d17_message_wording() -> None:
    with pytest.raises(ValueError, match="ham_d17") as exc:
        score("ham_d17", {**HAM_D17_EXAMPLE, "4": 3})
    assert str(exc.value) == (
        "Invalid value for 'ham_d17.item_4': got 3; allowed range is [0, 2]."
    )


def test_ham_d17_missing_no_prorating() -> None:
    r = score("ham_d17", {**HAM_D17_EXAMPLE, "16": None})
    assert not r.computed
    assert r.total is None
    assert r.band is None
    assert r.missing_items == ("16",)
    assert r.reason is not None
    assert "Hamilton, 1960 gives no rule for missing items" in r.reason


# --------------------------------------------------------------------------- refusals

ALL_ITEMS = [(s.id, i.id) for s in list_scales() for i in s.items]


@pytest.mark.parametrize(("scale_id", "item_id"), ALL_ITEMS)
def test_every_item_refuses_out_of_range(scale_id: str, item_id: str) -> None:
    item = get_scale(scale_id).item(item_id)
    field = re.escape(f"'{scale_id}.item_{item_id}'")
    for bad in (item.max + 1, item.min - 1, item.max + 0.001, item.min - 0.001):
        with pytest.raises(ValueError, match=field):
            score(scale_id, {item_id: bad})
    with pytest.raises(ValueError, match=field):
        score(scale_id, {item_id: float("nan")})
    with pytest.raises(ValueError, match=field):
        score(scale_id, {item_id: float("inf")})
    with pytest.raises(ValueError, match=field):
        score(scale_id, {item_id: True})
    with pytest.raises(TypeError, match=field):
        score(scale_id, {item_id: "1"})  # type: ignore[dict-item]
    if item.integer:
        with pytest.raises(ValueError, match=field):
            score(scale_id, {item_id: item.min + 0.5})


def test_unknown_item_names_item_and_allowed_ids() -> None:
    with pytest.raises(ValueError, match=re.escape("'ham_a.item'")) as exc:
        score("ham_a", {"15": 2})
    assert "got '15'" in str(exc.value)
    assert "'14'" in str(exc.value)
    with pytest.raises(ValueError, match=re.escape("'lanss.item'")):
        score("lanss", {"a1": 1})


def test_unknown_scale() -> None:
    with pytest.raises(ValueError, match="Did you mean 'sf_mpq2'"):
        score("sf-mpq2", {})


def test_bad_containers() -> None:
    with pytest.raises(TypeError, match=re.escape("'ham_a.items'")):
        score("ham_a", [1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("'ham_a.item'")):
        score("ham_a", {1: 2})  # type: ignore[dict-item]


def test_whole_floats_and_numpy_accepted() -> None:
    r = score("ham_d17", {k: float(v) for k, v in HAM_D17_EXAMPLE.items()})
    assert r.total == pytest.approx(26.0, rel=RTOL)
    as_numpy = {k: np.int64(v) for k, v in HAM_D17_EXAMPLE.items()}
    r = score("ham_d17", as_numpy)  # type: ignore[arg-type]
    assert r.total == pytest.approx(26.0, rel=RTOL)


def test_validate_item() -> None:
    assert validate_item("ham_d17", "4", 2) == pytest.approx(2.0, rel=RTOL)
    assert validate_item("ham_d17", "4", None) is None
    with pytest.raises(ValueError, match=re.escape("'ham_d17.item_4'")):
        validate_item("ham_d17", "4", 3)
    with pytest.raises(ValueError, match=re.escape("'ham_d17.item'")):
        validate_item("ham_d17", "18", 1)


def test_all_missing() -> None:
    r = score("sf_mpq2", {})
    assert not r.computed
    assert r.missing_items == tuple(str(i) for i in range(1, 23))
    assert all(v is None for v in r.subscales.values())
