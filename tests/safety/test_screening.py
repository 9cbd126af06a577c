"""TMS safety screening."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from plptms.safety import (
    Answer,
    ItemClass,
    SafetyContraindicationError,
    ScreeningAnswers,
    ScreeningStatus,
    load_screening_items,
    screen,
)

ITEMS = load_screening_items()
ALL_NO = {it.id: "no" for it in ITEMS}


def test_items_are_classified_and_cited() -> None:
    ids = [it.id for it in ITEMS]
    assert len(ids) == len(set(ids))
    for required in (
        "epilepsy",
        "seizure_history",
        "metal_in_head",
        "cardiac_device",
        "cochlear_implant",
        "pregnancy",
        "seizure_threshold_medication",
        "sleep_deprivation",
        "alcohol",
        "prior_tms_problems",
    ):
        assert required in ids
    for it in ITEMS:
        assert it.source
        assert it.rationale
    classes = {it.id: it.item_class for it in ITEMS}
    assert classes["cochlear_implant"] is ItemClass.ABSOLUTE
    assert classes["pregnancy"] is ItemClass.RELATIVE


def test_all_no_is_eligible() -> None:
    r = screen(ScreeningAnswers(answers=ALL_NO))
    assert r.status is ScreeningStatus.ELIGIBLE
    assert r.raise_if_excluded() is r
    assert len(r.findings) == len(ITEMS)


@pytest.mark.parametrize(
    "item",
    [it for it in ITEMS if it.item_class is ItemClass.ABSOLUTE],
    ids=lambda it: it.id,
)
def test_each_absolute_item_excludes(item) -> None:  # type: ignore[no-untyped-def]
    r = screen(ScreeningAnswers(answers={**ALL_NO, item.id: "yes"}))
    assert r.status is ScreeningStatus.EXCLUDED
    assert any(item.topic in reason for reason in r.reasons)
    with pytest.raises(SafetyContraindicationError, match=item.topic):
        r.raise_if_excluded()


@pytest.mark.parametrize(
    "item",
    [it for it in ITEMS if it.item_class is ItemClass.RELATIVE],
    ids=lambda it: it.id,
)
def test_each_relative_item_needs_review(item) -> None:  # type: ignore[no-untyped-def]
    r = screen(ScreeningAnswers(answers={**ALL_NO, item.id: True}))
    assert r.status is ScreeningStatus.NEEDS_REVIEW
    assert any(item.topic in reason for reason in r.reasons)


def test_absolute_dominates_relative() -> None:
    r = screen(
        ScreeningAnswers(
            answers={**ALL_NO, "pregnancy": "yes", "cochlear_implant": "yes"}
        )
    )
    assert r.status is ScreeningStatus.EXCLUDED
    assert any("Pregnancy" in x for x in r.reasons)


def test_unanswered_is_not_no() -> None:
    partial = dict(ALL_NO)
    del partial["epilepsy"]
    r = screen(ScreeningAnswers(answers=partial))
    assert r.status is ScreeningStatus.NEEDS_REVIEW
    f = next(x for x in r.findings if x.item_id == "epilepsy")
    assert f.answer is Answer.UNKNOWN
    assert any("not answered: Epilepsy" in x for x in r.reasons)


def test_bad_answers() -> None:
    with pytest.raises(ValidationError, match=r"answers.epilepsy"):
        ScreeningAnswers(answers={"epilepsy": "maybe"})
    with pytest.raises(ValueError, match="Did you mean 'epilepsy'"):
        screen(ScreeningAnswers(answers={"epilepsi": "no"}))


def test_future_screening_date_refused() -> None:
    # a screening dated 2099 was reported eligible
    answers = {"answers": ALL_NO, "screened_on": "2099-01-01"}
    with pytest.raises(ValidationError, match="'screened_on': got 2099-01-01") as exc:
        ScreeningAnswers.model_validate(answers)
    assert "not in the future" in str(exc.value)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="screened_on"):
        ScreeningAnswers(answers=ALL_NO, screened_on=tomorrow)  # type: ignore[arg-type]
    today = ScreeningAnswers(answers=ALL_NO, screened_on=dt.date.today())  # type: ignore[arg-type]
    assert screen(today).status is ScreeningStatus.ELIGIBLE


@pytest.mark.parametrize("value", [0, 20240101, 1.5, True])
def test_screening_date_is_not_a_number(value: object) -> None:
    with pytest.raises(ValidationError, match=r"'screened_on'.*YYYY-MM-DD"):
        ScreeningAnswers.model_validate({"answers": ALL_NO, "screened_on": value})
