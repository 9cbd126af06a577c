"""Verdicts: every rule checked, with value, limit, status and citation."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Decision",
    "Override",
    "RuleResult",
    "RuleStatus",
    "SafetyCheckIncompleteError",
    "SafetyContraindicationError",
    "SafetyError",
    "UnsafeProtocolError",
    "Verdict",
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


class SafetyContraindicationError(SafetyError):
    """Screening found an absolute contraindication."""


class RuleStatus(StrEnum):
    """Outcome of one rule."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"
    REVIEW = "review"
    OVERRIDDEN = "overridden"


class Decision(StrEnum):
    """Overall outcome of a protocol check."""

    ACCEPTED = "accepted"
    INCOMPLETE = "incomplete"
    REFUSED = "refused"


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


class Verdict(BaseModel):
    """The outcome of checking one protocol.

    Attributes
    ----------
    protocol_id : str
        Protocol checked.
    decision : Decision
        ``accepted``, ``incomplete`` (nothing failed, but something could not be
        checked) or ``refused``.
    rules : tuple of RuleResult
        Every rule checked, passed or failed.
    overrides : tuple of Override
        Overrides applied (each is also visible as an ``overridden`` rule).
    rmt_pct_mso : float | None
        The patient's RMT used, % of maximum stimulator output.
    policy : str
        Description of the safety policy in force.
    """

    model_config = _FROZEN

    protocol_id: str
    decision: Decision
    rules: tuple[RuleResult, ...]
    overrides: tuple[Override, ...] = ()
    rmt_pct_mso: float | None = None
    policy: str = ""

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """Rules that failed."""
        return tuple(r for r in self.rules if r.status is RuleStatus.FAILED)

    @property
    def not_checked(self) -> tuple[RuleResult, ...]:
        """Rules that could not be checked."""
        return tuple(r for r in self.rules if r.status is RuleStatus.NOT_CHECKED)

    @property
    def needs_review(self) -> bool:
        """Whether a physician must review (review flags or overrides present)."""
        return any(
            r.status in (RuleStatus.REVIEW, RuleStatus.OVERRIDDEN) for r in self.rules
        )

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
        return self
