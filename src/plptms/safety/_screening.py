"""TMS safety screening: questionnaire items as data, answers, and a verdict.

Findings are collected into a :class:`ScreeningReport` before anything is raised,
as NiBabel's battery runners do; :meth:`ScreeningReport.raise_if_excluded` raises.

The items follow the standard questionnaire proposed by :footcite:`rossi2009`. The
consensus behind it, restated in :footcite:`rossi2011`, was that a "yes" to questions
1-13 is not by itself an absolute contraindication; the 2011 letter called question
12 (spinal surgery) superfluous and question 13 (spinal or ventricular derivations)
conceptually misleading, and widened question 6 (metal) to spinal implants. Where
plptms is stricter than that consensus (it excludes epilepsy, metal in the head and
implanted devices outright, or asks more), the item's :class:`Strictness` is
``plptms_choice`` and its ``strictness_rationale`` says why; every finding carries
both, so every rendering of a screening can show them.

.. footbibliography::
"""

from __future__ import annotations

import datetime as dt
import functools
from enum import StrEnum
from importlib import resources
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..protocol import StrictDate
from ..utils import check_not_future
from ._verdict import SafetyContraindicationError

__all__ = [
    "Answer",
    "ItemClass",
    "ScreeningAnswers",
    "ScreeningFinding",
    "ScreeningItem",
    "ScreeningReport",
    "ScreeningStatus",
    "Strictness",
    "load_screening_items",
    "screen",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ItemClass(StrEnum):
    """How a "yes" to an item weighs."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Strictness(StrEnum):
    """How an item's weight compares with the guidelines (Rossi 2009, 2011).

    ``guideline``: a "yes" weighs as the 2009 consensus (updated 2011) weighs it,
    a flag for the physician's risk/benefit judgement. ``plptms_choice``: plptms is
    stricter (it excludes where the consensus only flags, or it asks what the
    2011-updated questionnaire does not ask).
    """

    GUIDELINE = "guideline"
    PLPTMS_CHOICE = "plptms_choice"


#: Text shown beside an item that is stricter than the guidelines.
PLPTMS_CHOICE_LABEL = "plptms choice, stricter than the guidelines"
_NOT_VERIFIED = "not verified"


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
    """One screening item (plptms wording; topic after Rossi 2009/2011).

    Attributes
    ----------
    id, topic, question : str
        Identifier, short topic and the question (plptms wording).
    item_class : ItemClass
        ``absolute`` (a "yes" excludes) or ``relative`` (physician review).
    source : str
        Short citation.
    rationale : str
        Why the topic matters.
    history : str
        What the guidelines said about the topic (questionnaire history).
    history_verified : bool
        Whether every statement of ``history`` was read in its source; when false,
        ``history`` says which part is "not verified".
    strictness : Strictness
        ``guideline`` or ``plptms_choice`` (stricter than the guidelines).
    strictness_rationale : str
        Why plptms is stricter; required for ``plptms_choice``, empty otherwise.
    rossi2009_question : int | None
        Number of the item in the 2009 questionnaire (1-15), only where verified.
    citations : tuple of str
        Bibliography keys (``docs/references.bib``).
    """

    model_config = _FROZEN

    id: str
    topic: str
    question: str
    item_class: ItemClass
    source: str
    rationale: str
    history: str
    history_verified: bool
    strictness: Strictness
    strictness_rationale: str = ""
    rossi2009_question: int | None = Field(default=None, ge=1, le=15)
    citations: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_strictness(self) -> Self:
        choice = self.strictness is Strictness.PLPTMS_CHOICE
        if choice and not self.strictness_rationale.strip():
            raise ValueError(
                f"Invalid value for 'strictness_rationale' of item {self.id!r}: got "
                "an empty text; allowed: a reason why plptms is stricter than the "
                "guidelines (required for strictness 'plptms_choice')."
            )
        if not choice and self.strictness_rationale:
            raise ValueError(
                f"Invalid value for 'strictness_rationale' of item {self.id!r}: got "
                f"{self.strictness_rationale!r}; allowed: empty for strictness "
                "'guideline'."
            )
        if self.item_class is ItemClass.ABSOLUTE and not choice:
            # Rossi 2011: a "yes" to questions 1-13 is not by itself absolute.
            raise ValueError(
                f"Invalid value for 'strictness' of item {self.id!r}: got "
                f"{self.strictness.value!r}; allowed: 'plptms_choice' for an "
                "absolute item (the guidelines treat a yes as a flag for review)."
            )
        if not self.history_verified and _NOT_VERIFIED not in self.history:
            raise ValueError(
                f"Invalid value for 'history' of item {self.id!r}: got a text "
                f"without {_NOT_VERIFIED!r}; allowed: a history that says what is "
                "not verified (or history_verified: true)."
            )
        return self


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
    #: ``None`` only in reports stored before plptms recorded it.
    strictness: Strictness | None = None
    strictness_rationale: str = ""

    @property
    def basis(self) -> str:
        """Whether the item follows the guidelines or is a plptms choice, and why."""
        if self.strictness is Strictness.PLPTMS_CHOICE:
            return f"{PLPTMS_CHOICE_LABEL}: {self.strictness_rationale}"
        if self.strictness is Strictness.GUIDELINE:
            return "guideline (Rossi et al. 2009, 2011)"
        return "not recorded"


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
    from ..utils import load_data_text

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
        choice = it.strictness is Strictness.PLPTMS_CHOICE
        label = f"; {PLPTMS_CHOICE_LABEL}" if choice else ""
        cited = f"{it.topic} ({it.source}{label})"
        if ans is Answer.YES and it.item_class is ItemClass.ABSOLUTE:
            consequence = f"excludes (absolute contraindication{label})"
            absolute.append(cited)
        elif ans is Answer.YES:
            consequence = f"physician review (relative contraindication{label})"
            relative.append(cited)
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
                strictness=it.strictness,
                strictness_rationale=it.strictness_rationale,
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
