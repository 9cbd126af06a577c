"""Verdicts: every rule checked, with value, limit, status and citation.

A verdict's decision follows one precedence, shared by the protocol check and the
closed-loop gate (:func:`decide`): ``refused`` (a rule failed) before ``incomplete``
(a protocol rule could not be checked) before ``review`` (a rule rests on an
unverified source, is flagged for review, or was overridden, and no physician review
is recorded) before ``accepted``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "Decision",
    "Override",
    "PhysicianReview",
    "RuleResult",
    "RuleStatus",
    "SafetyCheckIncompleteError",
    "SafetyContraindicationError",
    "SafetyError",
    "SafetyReviewRequiredError",
    "UnsafeProtocolError",
    "Verdict",
    "decide",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Shortest override reason accepted, characters: a reason must say something.
MIN_OVERRIDE_REASON_CHARS = 10


class SafetyError(ValueError):
    """Base class of safety refusals."""


class UnsafeProtocolError(SafetyError):
    """A protocol parameter breaks a safety limit; nothing is clamped."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.verdict = verdict


class SafetyCheckIncompleteError(SafetyError):
    """A protocol could not be fully checked (unreported parameters)."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.verdict = verdict


class SafetyReviewRequiredError(SafetyError):
    """A protocol needs a physician's review that has not been recorded.

    Nothing failed and everything that can be checked was checked, but a rule rests
    on an unverified source, is flagged for review, or was overridden.
    """

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.verdict = verdict


class SafetyContraindicationError(SafetyError):
    """Screening found an absolute contraindication."""


class RuleStatus(StrEnum):
    """Outcome of one rule.

    ``passed``: within a limit that rests on verified sources. ``unverified``: within
    a limit, but the limit rests on a table cell (or a source condition) not verified
    against the paper. ``review``: within the limits, but outside established
    practice or the conditions a source tested: a physician must review.
    ``overridden``: failed, and an operator recorded a reason to proceed.
    ``not_checked``: a parameter needed by the rule is unknown. ``failed``: refused.
    """

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"
    REVIEW = "review"
    UNVERIFIED = "unverified"
    OVERRIDDEN = "overridden"


#: Rule statuses that need a physician's review before a protocol is accepted.
REVIEW_STATUSES = frozenset(
    {RuleStatus.REVIEW, RuleStatus.UNVERIFIED, RuleStatus.OVERRIDDEN}
)


class Decision(StrEnum):
    """Overall outcome of a protocol check.

    Precedence: refused > incomplete > review > accepted.
    """

    ACCEPTED = "accepted"
    REVIEW = "review"
    INCOMPLETE = "incomplete"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        """Words for the operator (``review`` reads ``physician review``)."""
        return "physician review" if self is Decision.REVIEW else self.value


class Override(BaseModel):
    """An operator's recorded decision to proceed past an overridable refusal.

    Parameters
    ----------
    rule_id : str
        The rule overridden (e.g. ``"train_table_range"``).
    block : str
        Block label, or ``"*"`` for every block.
    reason : str
        Why; stored with the verdict.
    operator : str
        Who decided.
    """

    model_config = _FROZEN

    rule_id: str = Field(min_length=1)
    block: str = "*"
    reason: str
    operator: str = Field(min_length=1)

    @field_validator("reason")
    @classmethod
    def _check_reason(cls, v: str) -> str:
        if len(v.strip()) < MIN_OVERRIDE_REASON_CHARS:
            raise ValueError(
                f"Invalid value for 'reason': got {v!r}; allowed: an explanation of at "
                f"least {MIN_OVERRIDE_REASON_CHARS} characters."
            )
        return v.strip()


class PhysicianReview(BaseModel):
    """A physician's recorded review of a verdict that needs one.

    Parameters
    ----------
    physician : str
        Who reviewed (non-empty).
    reason : str
        Why the protocol may proceed despite the rules under review (at least
        ``MIN_OVERRIDE_REASON_CHARS`` characters); stored with the verdict.
    """

    model_config = _FROZEN

    physician: str
    reason: str

    @field_validator("physician")
    @classmethod
    def _check_physician(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(
                f"Invalid value for 'physician': got {v!r}; allowed: the reviewing "
                "physician's name (non-empty)."
            )
        return v.strip()

    @field_validator("reason")
    @classmethod
    def _check_reason(cls, v: str) -> str:
        if len(v.strip()) < MIN_OVERRIDE_REASON_CHARS:
            raise ValueError(
                f"Invalid value for 'reason': got {v!r}; allowed: an explanation of at "
                f"least {MIN_OVERRIDE_REASON_CHARS} characters."
            )
        return v.strip()


class RuleResult(BaseModel):
    """One rule as applied to one block.

    Attributes
    ----------
    rule_id : str
        Stable rule identifier.
    block : str
        Block label.
    field : str
        The protocol field the rule is about (the one to change on a refusal).
    status : RuleStatus
        Outcome.
    value, limit : float | None
        The value checked and its limit, in ``unit``.
    unit : str
        Unit of value and limit.
    citation : str
        Source of the limit.
    message : str
        A sentence for the operator.
    overridable : bool
        Whether an operator may override a failure of this rule with a reason.
    needs_patient : bool
        Whether the rule needs patient data (e.g. the RMT) to be checked.
    """

    model_config = _FROZEN

    rule_id: str
    block: str
    field: str
    status: RuleStatus
    value: float | None
    limit: float | None
    unit: str
    citation: str
    message: str
    overridable: bool = False
    needs_patient: bool = False


def decide(rules: Iterable[RuleResult], *, reviewed: bool = False) -> Decision:
    """Decide a verdict from its rule results.

    Parameters
    ----------
    rules : iterable of RuleResult
        Every rule applied.
    reviewed : bool
        Whether a physician's review is recorded.

    Returns
    -------
    decision : Decision
        ``refused`` if any rule failed; else ``incomplete`` if a rule not needing
        patient data could not be checked; else ``review`` if a rule is ``review``,
        ``unverified`` or ``overridden`` and no review is recorded; else
        ``accepted``.
    """
    results = tuple(rules)
    if any(r.status is RuleStatus.FAILED for r in results):
        return Decision.REFUSED
    if any(r.status is RuleStatus.NOT_CHECKED and not r.needs_patient for r in results):
        return Decision.INCOMPLETE
    if not reviewed and any(r.status in REVIEW_STATUSES for r in results):
        return Decision.REVIEW
    return Decision.ACCEPTED


class Verdict(BaseModel):
    """The outcome of checking one protocol.

    Attributes
    ----------
    protocol_id : str
        Protocol checked.
    decision : Decision
        ``refused`` (a rule failed), ``incomplete`` (nothing failed, but something
        could not be checked), ``review`` (nothing failed and everything was checked,
        but a rule is ``review``, ``unverified`` or ``overridden`` and no physician
        review is recorded) or ``accepted``.
    rules : tuple of RuleResult
        Every rule checked, passed or failed. A review does not change them: they
        still show what was reviewed.
    policy_name : str
        Name of the safety policy used (e.g. ``plptms-default``).
    overrides : tuple of Override
        Overrides applied (each is also visible as an ``overridden`` rule).
    review : PhysicianReview | None
        The physician's review that accepted a verdict needing one; ``None``
        otherwise (never attached to a refused or incomplete verdict).
    rmt_pct_mso : float | None
        The patient's RMT used, % of maximum stimulator output.
    policy : str
        One-line description of the safety policy in force.
    """

    model_config = _FROZEN

    protocol_id: str
    decision: Decision
    rules: tuple[RuleResult, ...]
    policy_name: str = Field(min_length=1)
    overrides: tuple[Override, ...] = ()
    review: PhysicianReview | None = None
    rmt_pct_mso: float | None = None
    policy: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        expected = decide(self.rules, reviewed=self.review is not None)
        if self.review is not None and (
            expected is not Decision.ACCEPTED or not self.needs_review
        ):
            raise ValueError(
                f"Invalid value for 'review': got a review by "
                f"{self.review.physician!r} on a verdict that "
                + (
                    f"is {expected.value}"
                    if expected is not Decision.ACCEPTED
                    else "needs no review"
                )
                + "; allowed: a review only where rules need one and nothing failed "
                "or went unchecked."
            )
        if self.decision is not expected:
            raise ValueError(
                f"Invalid value for 'decision': got {self.decision.value!r}; the "
                f"rules give {expected.value!r} (refused > incomplete > review > "
                "accepted)."
            )
        return self

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """Rules that failed."""
        return tuple(r for r in self.rules if r.status is RuleStatus.FAILED)

    @property
    def not_checked(self) -> tuple[RuleResult, ...]:
        """Rules that could not be checked."""
        return tuple(r for r in self.rules if r.status is RuleStatus.NOT_CHECKED)

    @property
    def to_review(self) -> tuple[RuleResult, ...]:
        """Rules a physician must review.

        Those ``review``, ``unverified`` or ``overridden``, whether or not a review
        is recorded.
        """
        return tuple(r for r in self.rules if r.status in REVIEW_STATUSES)

    @property
    def needs_review(self) -> bool:
        """Whether a rule needs a physician's review.

        True when review flags, unverified limits or overrides are present, whether
        or not the review is recorded.
        """
        return bool(self.to_review)

    def require_accepted(self) -> Verdict:
        """Return ``self`` if accepted, else raise.

        Returns
        -------
        verdict : Verdict
            This verdict.

        Raises
        ------
        UnsafeProtocolError
            If refused; the message names each offending field, value, limit and
            source.
        SafetyCheckIncompleteError
            If some rule could not be checked.
        SafetyReviewRequiredError
            If a physician must review and no review is recorded; the message lists
            the rules to review.
        """
        if self.decision is Decision.REFUSED:
            lines = [f"Protocol {self.protocol_id!r} refused:"]
            lines += [f"  - [{r.block}] {r.message}" for r in self.failures]
            raise UnsafeProtocolError("\n".join(lines), self)
        if self.decision is Decision.INCOMPLETE:
            lines = [f"Protocol {self.protocol_id!r} could not be fully checked:"]
            lines += [
                f"  - [{r.block}] {r.message}"
                for r in self.not_checked
                if not r.needs_patient
            ]
            raise SafetyCheckIncompleteError("\n".join(lines), self)
        if self.decision is Decision.REVIEW:
            lines = [
                f"Protocol {self.protocol_id!r} needs a physician's review (policy "
                f"{self.policy_name!r}); no review is recorded. Rules to review:"
            ]
            lines += [
                f"  - [{r.block}] {r.rule_id} ({r.status.value}): {r.message}"
                for r in self.to_review
            ]
            raise SafetyReviewRequiredError("\n".join(lines), self)
        return self
