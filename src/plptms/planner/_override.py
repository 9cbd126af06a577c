"""What a safety override of a refused protocol would need, rule by rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ..safety import Verdict

__all__ = ["OVERRIDE_REQUIREMENT", "OverrideNeed", "override_needs", "override_text"]

#: What every override needs, in plptms (the safety engine stores the operator and
#: reason with the verdict; an overridden rule makes the verdict need review).
OVERRIDE_REQUIREMENT = (
    "an override needs a recorded operator reason (stored with the verdict) and "
    "physician review before delivery"
)


class OverrideNeed(BaseModel):
    """One refused rule of a verdict and what proceeding past it would need.

    Attributes
    ----------
    block : str
        Block label.
    rule_id : str
        The rule that refused (e.g. ``"train_duration"``).
    field : str
        The protocol field to change, or to override the rule for.
    value, limit : float | None
        The value checked and its limit, in ``unit``.
    unit : str
        Unit of value and limit.
    overridable : bool
        Whether an operator may override the refusal with a recorded reason.
    citation : str
        Source of the limit.
    message : str
        The engine's sentence.
    requirement : str
        What an override needs, or why none is possible.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    block: str
    rule_id: str
    field: str
    value: float | None
    limit: float | None
    unit: str
    overridable: bool
    citation: str
    message: str
    requirement: str


def override_needs(verdict: Verdict) -> tuple[OverrideNeed, ...]:
    """List what overriding each refused rule of ``verdict`` would need.

    Parameters
    ----------
    verdict : plptms.safety.Verdict
        A verdict (any decision; only its failed rules are listed).

    Returns
    -------
    needs : tuple of OverrideNeed
        One entry per failed rule, in the verdict's order; empty when nothing
        failed.
    """
    out = []
    for r in verdict.failures:
        requirement = (
            f"overridable: {OVERRIDE_REQUIREMENT}"
            if r.overridable
            else f"not overridable: change {r.field!r} (the engine refuses any "
            "override of this rule)"
        )
        out.append(
            OverrideNeed(
                block=r.block,
                rule_id=r.rule_id,
                field=r.field,
                value=r.value,
                limit=r.limit,
                unit=r.unit,
                overridable=r.overridable,
                citation=r.citation,
                message=r.message,
                requirement=requirement,
            )
        )
    return tuple(out)


def override_text(need: OverrideNeed) -> str:
    """Describe one override need in a line.

    Parameters
    ----------
    need : OverrideNeed
        The need.

    Returns
    -------
    text : str
        E.g. ``"[M1] rule train_duration, field pulses_per_train: 6 s, limit 5 s;
        overridable: an override needs ..."``.
    """

    def num(x: float | None) -> str:
        return "?" if x is None else f"{x:g} {need.unit}".strip()

    return (
        f"[{need.block}] rule {need.rule_id}, field {need.field}: value "
        f"{num(need.value)}, limit {num(need.limit)} ({need.citation}); "
        f"{need.requirement}"
    )
