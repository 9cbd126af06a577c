"""Screening history: what the guidelines said, and where plptms is stricter.

Facts pinned here were read in the Rossi et al. (2011) letter ("Screening
questionnaire before TMS: an update", Clin Neurophysiol 122:1686; text read from a
public copy): Rossi et al. (2009) proposed a 15-item questionnaire; the consensus was
that a "yes" to questions 1-13 is not by itself an absolute contraindication;
question 12 (spinal surgery) is superfluous, question 13 (spinal or ventricular
derivations) conceptually misleading, and question 6 (brain/skull metal) should also
ask about spinal implants.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from rich.console import Console

from plptms.cli._render import render_screening
from plptms.safety import (
    ItemClass,
    ScreeningAnswers,
    ScreeningReport,
    ScreeningStatus,
    load_screening_items,
    screen,
)
from plptms.safety._screening import (
    PLPTMS_CHOICE_LABEL,
    ScreeningItem,
    Strictness,
)

ROOT = Path(__file__).parents[2]
BIB_KEYS = set(
    re.findall(r"@\w+\{([\w-]+),", (ROOT / "docs" / "references.bib").read_text())
)
ITEMS = {it.id: it for it in load_screening_items()}
ALL_NO = dict.fromkeys(ITEMS, "no")


def test_spinal_surgery_was_question_12_of_2009_called_superfluous_in_2011() -> None:
    """Question 12 was a 2009 item; Rossi et al. (2011) called it superfluous."""
    it = ITEMS["spinal_surgery"]
    assert it.rossi2009_question == 12
    assert it.history_verified
    assert "superfluous" in it.history
    assert "not a 2011 addition" in it.history
    assert {"rossi2009", "rossi2011"} <= set(it.citations)
    assert it.strictness is Strictness.PLPTMS_CHOICE  # still asked: stricter


def test_shunt_was_question_13_of_2009_called_misleading_in_2011() -> None:
    """Question 13 was a 2009 item; Rossi et al. (2011): conceptually misleading."""
    it = ITEMS["shunt"]
    assert it.rossi2009_question == 13
    assert it.history_verified
    assert "conceptually misleading" in it.history
    assert "not a 2011 addition" in it.history
    assert {"rossi2009", "rossi2011"} <= set(it.citations)
    assert it.strictness is Strictness.PLPTMS_CHOICE


def test_metal_question_6_widened_to_spinal_implants_in_2011() -> None:
    """Rossi et al. (2011): question 6 (brain/skull metal) should cover the spine."""
    head = ITEMS["metal_in_head"]
    assert head.rossi2009_question == 6
    assert "spinal implants" in head.history
    assert "rossi2011" in head.citations
    spine = ITEMS["metal_elsewhere"]
    assert "spine" in spine.question
    assert "spinal implants" in spine.history
    assert "rossi2011" in spine.citations


def test_no_item_says_spinal_questions_were_added_in_2011() -> None:
    """Rossi et al. (2011) modified 2009 questions; it added no spinal question."""
    for it in ITEMS.values():
        text = " ".join((it.history, it.rationale, it.strictness_rationale))
        assert not re.search(r"added in (the )?2011", text, re.IGNORECASE), it.id


def test_only_verified_question_numbers_are_recorded() -> None:
    """Only questions 6, 12 and 13 are named in the Rossi et al. (2011) letter."""
    numbered = {it.id: it.rossi2009_question for it in ITEMS.values()}
    assert {k: v for k, v in numbered.items() if v is not None} == {
        "metal_in_head": 6,
        "spinal_surgery": 12,
        "shunt": 13,
    }


@pytest.mark.parametrize("item_id", ["epilepsy", "metal_in_head"])
def test_epilepsy_and_head_metal_exclusions_are_plptms_choices(item_id: str) -> None:
    """Rossi et al. (2011): a yes to questions 1-13 is not by itself absolute."""
    it = ITEMS[item_id]
    assert it.item_class is ItemClass.ABSOLUTE
    assert it.strictness is Strictness.PLPTMS_CHOICE
    assert "stricter than the 2009 consensus" in it.strictness_rationale
    # the reasoning rests on the 2009 risk discussion, which was not read
    assert "Rossi et al. 2009" in it.strictness_rationale
    assert "not verified" in it.strictness_rationale


def test_every_absolute_item_is_a_plptms_choice_with_a_reason() -> None:
    """Rossi et al. (2011): the 2009 consensus names no absolute questionnaire item."""
    absolute = [it for it in ITEMS.values() if it.item_class is ItemClass.ABSOLUTE]
    assert {it.id for it in absolute} >= {"epilepsy", "metal_in_head"}
    for it in absolute:
        assert it.strictness is Strictness.PLPTMS_CHOICE, it.id
        assert "outright" in it.strictness_rationale, it.id


def test_guideline_items_carry_no_strictness_rationale() -> None:
    for it in ITEMS.values():
        if it.strictness is Strictness.GUIDELINE:
            assert it.item_class is ItemClass.RELATIVE
            assert it.strictness_rationale == ""
        else:
            assert it.strictness_rationale.strip()


def test_history_is_verified_or_says_what_is_not() -> None:
    for it in ITEMS.values():
        assert it.history.strip(), it.id
        if not it.history_verified:
            assert "not verified" in it.history, it.id


def test_citations_resolve_and_match_the_authors_named() -> None:
    """Each Rossi year named in an item's texts is among its bib keys."""
    for it in ITEMS.values():
        assert set(it.citations) <= BIB_KEYS, it.id
        text = " ".join((it.source, it.history, it.strictness_rationale))
        for year in ("2009", "2011", "2021"):
            if re.search(rf"Rossi et al\.,? \(?(\d{{4}}, )?{year}", text):
                assert f"rossi{year}" in it.citations, (it.id, year)


def _item(**changes: Any) -> dict[str, Any]:
    base = ITEMS["pregnancy"].model_dump(mode="json")
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"strictness": "plptms_choice", "strictness_rationale": ""},
            "strictness_rationale",
        ),
        (
            {"strictness": "guideline", "strictness_rationale": "x"},
            "strictness_rationale",
        ),
        ({"item_class": "absolute", "strictness": "guideline"}, "'strictness'"),
        ({"history": "From the 2009 paper.", "history_verified": False}, "'history'"),
        ({"rossi2009_question": 16}, "rossi2009_question"),
        ({"citations": []}, "citations"),
        ({"strictness": "stricter"}, "strictness"),
    ],
)
def test_item_model_refuses_inconsistent_history(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        ScreeningItem.model_validate(_item(**changes))


def test_item_model_accepts_a_consistent_item() -> None:
    it = ScreeningItem.model_validate(_item())
    assert it == ITEMS["pregnancy"]


def test_findings_and_reasons_say_plptms_choice() -> None:
    """An exclusion stricter than Rossi et al. (2011) is labelled in the report."""
    r = screen(ScreeningAnswers(answers={**ALL_NO, "epilepsy": "yes"}))
    assert r.status is ScreeningStatus.EXCLUDED
    f = next(x for x in r.findings if x.item_id == "epilepsy")
    assert f.strictness is Strictness.PLPTMS_CHOICE
    assert PLPTMS_CHOICE_LABEL in f.consequence
    assert f.strictness_rationale == ITEMS["epilepsy"].strictness_rationale
    assert f.basis.startswith(PLPTMS_CHOICE_LABEL)
    assert any(PLPTMS_CHOICE_LABEL in x for x in r.reasons)
    with pytest.raises(ValueError, match="plptms choice"):
        r.raise_if_excluded()
    g = next(x for x in r.findings if x.item_id == "pregnancy")
    assert g.strictness is Strictness.GUIDELINE
    assert PLPTMS_CHOICE_LABEL not in g.consequence
    assert g.basis.startswith("guideline")


def test_relative_plptms_choice_is_labelled_but_not_excluding() -> None:
    r = screen(ScreeningAnswers(answers={**ALL_NO, "spinal_surgery": "yes"}))
    assert r.status is ScreeningStatus.NEEDS_REVIEW
    assert any("Spinal surgery" in x and PLPTMS_CHOICE_LABEL in x for x in r.reasons)


def test_reports_stored_before_strictness_still_load() -> None:
    r = screen(ScreeningAnswers(answers=ALL_NO))
    old = r.model_dump(mode="json")
    for f in old["findings"]:
        del f["strictness"], f["strictness_rationale"]
    back = ScreeningReport.model_validate(old)
    assert back.status is ScreeningStatus.ELIGIBLE
    assert all(f.strictness is None for f in back.findings)
    assert back.findings[0].basis == "not recorded"


def test_cli_rendering_shows_basis_and_reason() -> None:
    r = screen(
        ScreeningAnswers(answers={**ALL_NO, "metal_in_head": "yes", "pregnancy": "yes"})
    )
    console = Console(record=True, width=250)
    render_screening(console, r)
    out = re.sub(r"\s+", " ", console.export_text())
    assert "basis" in out
    assert "plptms choice" in out
    assert "guideline" in out
    # the reason for the stricter item is printed in full
    reason = re.sub(r"\s+", " ", ITEMS["metal_in_head"].strictness_rationale)
    assert reason in out
