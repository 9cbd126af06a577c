"""TMS safety screening: questionnaire items as data, answers, and a verdict.

Findings are collected into a :class:`ScreeningReport` before anything is raised,
as NiBabel's battery runners do; :meth:`ScreeningReport.raise_if_excluded` raises.
"""

from __future__ import annotations

import datetime as dt
import functools
from enum import StrEnum
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..protocol._models import StrictDate
from ..utils._checks import check_not_future
from ._verdict import SafetyContraindicationError

__all__ = [
    "Answer",
    "ItemClass",
    "ScreeningAnswers",
    "ScreeningFinding",
    "ScreeningItem",
    "ScreeningReport",
    "ScreeningStatus",
    "load_screening_items",
    "screen",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ItemClass(StrEnum):
    """How a "yes" to an item weighs."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Answer(StrEnum):
    """An answer to a screening item."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class ScreeningStatus(StrEnum):
    """Screening outcome."""

    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_physician_review"
    EXCLUDED = "excluded"


class ScreeningItem(BaseModel):
    """One screening item (plptms wording; topic after Rossi 2009/2011)."""

    model_config = _FROZEN

    id: str
    topic: str
    question: str
    item_class: ItemClass
    source: str
    rationale: str


class ScreeningAnswers(BaseModel):
    """A patient's answers.

    Parameters
    ----------
    answers : dict of str to Answer
        Item id to ``yes``, ``no`` or ``unknown`` (YAML booleans are accepted).
    details : dict of str to str
        Free text per item (e.g. the medication).
    screened_on : datetime.date | None
        Date of screening; not in the future.
    patient : str | None
        Pseudonymous patient code.
    """

    model_config = _FROZEN

    answers: dict[str, Answer]
    details: dict[str, Annotated[str, Field(max_length=2000)]] = {}
    screened_on: StrictDate | None = None
    patient: str | None = Field(default=None, max_length=200)

    @field_validator("screened_on")
    @classmethod
    def _not_future(cls, v: dt.date | None) -> dt.date | None:
        return None if v is None else check_not_future(v, "screened_on")

    @field_validator("answers", mode="before")
    @classmethod
    def _bools(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out = {}
            for key, val in v.items():
                if val is True:
                    val = Answer.YES
                elif val is False:
                    val = Answer.NO
                elif val is None:
                    val = Answer.UNKNOWN
                elif isinstance(val, str):
                    val = val.strip().lower()
                    if val not in {a.value for a in Answer}:
                        raise ValueError(
                            f"Invalid value for 'answers.{key}': got {val!r}; allowed "
                            "values are 'yes', 'no', 'unknown'."
                        )
                out[str(key)] = val
            return out
        return v


class ScreeningFinding(BaseModel):
    """One item with its answer and what it means."""

    model_config = _FROZEN

    item_id: str
    topic: str
    item_class: ItemClass
    answer: Answer
    detail: str
    source: str
    consequence: str


class ScreeningReport(BaseModel):
    """Screening outcome with every item and the reasons.

    Attributes
    ----------
    status : ScreeningStatus
        ``eligible``, ``needs_physician_review`` or ``excluded``.
    findings : tuple of ScreeningFinding
        Every item, in questionnaire order.
    reasons : tuple of str
        Why the status is what it is.
    """

    model_config = _FROZEN

    status: ScreeningStatus
    findings: tuple[ScreeningFinding, ...]
    reasons: tuple[str, ...]
    screened_on: dt.date | None = None
    patient: str | None = None

    def raise_if_excluded(self) -> ScreeningReport:
        """Raise if an absolute contraindication was found.

        Returns
        -------
        report : ScreeningReport
            ``self``, when not excluded.

        Raises
        ------
        SafetyContraindicationError
            Listing every absolute contraindication.
        """
        if self.status is ScreeningStatus.EXCLUDED:
            raise SafetyContraindicationError(
                "Excluded from TMS: " + "; ".join(self.reasons)
            )
        return self


@functools.cache
def load_screening_items() -> tuple[ScreeningItem, ...]:
    """Load the screening items shipped with plptms.

    Returns
    -------
    items : tuple of ScreeningItem
        In questionnaire order.
    """
    from ..utils._load import load_data_text

    raw = (resources.files("plptms.safety") / "data" / "screening.yaml").read_bytes()
    data = load_data_text(
        raw, fmt="yaml", source="screening.yaml", what="shipped screening items"
    )
    return tuple(ScreeningItem.model_validate(item) for item in data["items"])


def screen(
    answers: ScreeningAnswers, items: tuple[ScreeningItem, ...] | None = None
) -> ScreeningReport:
    """Screen a patient for TMS.

    Parameters
    ----------
    answers : ScreeningAnswers
        The answers. An item with no answer counts as ``unknown``.
    items : tuple of ScreeningItem | None
        The questionnaire; the shipped one when ``None``.

    Returns
    -------
    report : ScreeningReport
        ``excluded`` if any absolute item is answered yes; ``needs_physician_review``
        if any relative item is yes or any item is unknown; ``eligible`` otherwise.

    Raises
    ------
    ValueError
        If an answer names an unknown item (the message suggests the closest id).
    """
    its = load_screening_items() if items is None else items
    ids = [it.id for it in its]
    for key in list(answers.answers) + list(answers.details):
        if key not in ids:
            import difflib

            close = difflib.get_close_matches(key, ids, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Invalid value for 'answers': got unknown item {key!r}; allowed "
                f"values are {', '.join(ids)}.{hint}"
            )
    findings = []
    absolute: list[str] = []
    relative: list[str] = []
    unknown: list[str] = []
    for it in its:
        ans = answers.answers.get(it.id, Answer.UNKNOWN)
        detail = answers.details.get(it.id, "")
        if ans is Answer.YES and it.item_class is ItemClass.ABSOLUTE:
            consequence = "excludes (absolute contraindication)"
            absolute.append(f"{it.topic} ({it.source})")
        elif ans is Answer.YES:
            consequence = "physician review (relative contraindication)"
            relative.append(f"{it.topic} ({it.source})")
        elif ans is Answer.UNKNOWN:
            consequence = "physician review (not answered)"
            unknown.append(it.topic)
        else:
            consequence = "none"
        findings.append(
            ScreeningFinding(
                item_id=it.id,
                topic=it.topic,
                item_class=it.item_class,
                answer=ans,
                detail=detail,
                source=it.source,
                consequence=consequence,
            )
        )
    reasons: list[str] = []
    if absolute:
        status = ScreeningStatus.EXCLUDED
        reasons += [f"absolute contraindication: {a}" for a in absolute]
    elif relative or unknown:
        status = ScreeningStatus.NEEDS_REVIEW
    else:
        status = ScreeningStatus.ELIGIBLE
        reasons.append("no item answered yes; every item answered")
    reasons += [f"relative contraindication: {r}" for r in relative]
    reasons += [f"not answered: {u}" for u in unknown]
    return ScreeningReport(
        status=status,
        findings=tuple(findings),
        reasons=tuple(reasons),
        screened_on=answers.screened_on,
        patient=answers.patient,
    )
