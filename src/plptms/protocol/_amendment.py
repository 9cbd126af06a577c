"""Dose amendments: a recorded, reasoned change that may only lower the dose.

An assigned protocol is delivered as assigned. What a clinic may change for one
patient without a new assignment is a *lower* dose: a lower intensity (for
tolerability), fewer trains in a session, and, for a closed-loop session, the
trigger rule (which phase, how far apart at least). An amendment states those
values; a value it leaves empty keeps the assigned one. Anything that would
raise the dose (a higher intensity, more trains, pulses allowed closer together
than the assigned rate) is refused here, before the safety engine is asked; the
amended dose is then checked by the safety engine again before it can be
delivered (the application layer does that, :func:`plptms.workflow.amend_dose`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..utils import check_range
from ._models import StrictCount, StrictNumber

if TYPE_CHECKING:
    from ._models import Protocol, StimulationDose

__all__ = [
    "AmendmentRefusedError",
    "ClosedLoopRule",
    "DoseAmendment",
    "amend_protocol",
    "apply_amendment",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AmendmentRefusedError(ValueError):
    """The amendment would raise the dose (or does not fit the protocol)."""


class ClosedLoopRule(BaseModel):
    """The trigger rule of a closed-loop session (each field optional).

    Parameters
    ----------
    target_phase_deg : float | None, deg
        Phase to fire at, cosine convention, in [-360, 360]; 180 is the mu trough.
    min_interpulse_interval_s : float | None, s
        Shortest interval between triggers, in [0.05, 600] s; never shorter than
        the assigned rate's period (``1 / frequency_hz``).

    Notes
    -----
    The amplitude the rhythm must reach is set when the patient's baseline is
    calibrated (``plptms closedloop calibrate``), not here.
    """

    model_config = _FROZEN

    target_phase_deg: StrictNumber | None = None
    min_interpulse_interval_s: StrictNumber | None = None

    @field_validator("target_phase_deg")
    @classmethod
    def _check_phase(cls, v: float | None) -> float | None:
        if v is not None:
            check_range(v, "target_phase_deg", -360.0, 360.0, unit="deg")
        return v

    @field_validator("min_interpulse_interval_s")
    @classmethod
    def _check_interval(cls, v: float | None) -> float | None:
        if v is not None:
            check_range(v, "min_interpulse_interval_s", 0.05, 600.0, unit="s")
        return v


class DoseAmendment(BaseModel):
    """A lower dose for one assignment, from one session of the course on.

    Parameters
    ----------
    from_session : int
        First session (1...) it applies to; it applies until a newer amendment
        takes over.
    block : str | None
        The block it changes (its label); required when the protocol has more
        than one block.
    intensity_pct_rmt : float | None, % RMT
        Lower intensity; at most the assigned one.
    trains_per_session : int | None
        Fewer trains; at most the assigned number.
    closed_loop : ClosedLoopRule | None
        The trigger rule for closed-loop sessions.
    reason : str
        Why (tolerability, a physician's instruction ...); recorded and audited.
    """

    model_config = _FROZEN

    from_session: StrictCount = 1
    block: str | None = Field(default=None, min_length=1, max_length=40)
    intensity_pct_rmt: StrictNumber | None = None
    trains_per_session: StrictCount | None = None
    closed_loop: ClosedLoopRule | None = None
    reason: str = Field(min_length=3, max_length=500)

    @field_validator("intensity_pct_rmt")
    @classmethod
    def _check_intensity(cls, v: float | None) -> float | None:
        if v is not None:
            check_range(v, "intensity_pct_rmt", 0.0, None, low_inclusive=False)
        return v

    @field_validator("reason")
    @classmethod
    def _check_reason(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("Invalid value for 'reason': got blank text.")
        return v.strip()

    @property
    def changes(self) -> tuple[str, ...]:
        """The fields it changes."""
        out = [
            name
            for name in ("intensity_pct_rmt", "trains_per_session")
            if getattr(self, name) is not None
        ]
        if self.closed_loop is not None:
            out.append("closed_loop")
        return tuple(out)


def apply_amendment(dose: StimulationDose, amendment: DoseAmendment) -> StimulationDose:
    """Return the dose with the amendment's lower values.

    Parameters
    ----------
    dose : StimulationDose
        The assigned per-session dose.
    amendment : DoseAmendment
        The amendment.

    Returns
    -------
    amended : StimulationDose
        The dose to deliver (validated again).

    Raises
    ------
    AmendmentRefusedError
        If a value raises the dose or is not comparable with an unreported
        assigned value.
    """
    updates: dict[str, float | int] = {}
    if amendment.intensity_pct_rmt is not None:
        _not_above(
            "intensity_pct_rmt", amendment.intensity_pct_rmt, dose.intensity_pct_rmt
        )
        updates["intensity_pct_rmt"] = float(amendment.intensity_pct_rmt)
    if amendment.trains_per_session is not None:
        _not_above(
            "trains_per_session", amendment.trains_per_session, dose.trains_per_session
        )
        updates["trains_per_session"] = int(amendment.trains_per_session)
    rule = amendment.closed_loop
    if rule is not None and rule.min_interpulse_interval_s is not None:
        if dose.frequency_hz is None:
            raise AmendmentRefusedError(
                "Invalid value for 'closed_loop.min_interpulse_interval_s': the "
                "assigned frequency is unreported, so no interval can be shown not "
                "to raise the rate."
            )
        period = 1.0 / dose.frequency_hz
        if rule.min_interpulse_interval_s < period * (1.0 - 1e-12):
            raise AmendmentRefusedError(
                "Invalid value for 'closed_loop.min_interpulse_interval_s': got "
                f"{rule.min_interpulse_interval_s:g} s; allowed: at least "
                f"{period:g} s (the assigned {dose.frequency_hz:g} Hz); an "
                "amendment may not raise the pulse rate."
            )
    if not updates:
        return dose
    data = dose.model_dump()
    data.update(updates)
    if "trains_per_session" in updates and dose.reported_pulses_per_session:
        data["reported_pulses_per_session"] = None  # no longer the reported total
    return type(dose).model_validate(data)


def amend_protocol(protocol: Protocol, amendment: DoseAmendment) -> Protocol:
    """Return the protocol with the amended block's dose replaced.

    Parameters
    ----------
    protocol : Protocol
        The assigned protocol.
    amendment : DoseAmendment
        The amendment.

    Returns
    -------
    amended : Protocol
        Same id and schedule; the block's dose lowered.

    Raises
    ------
    AmendmentRefusedError
        If the block is unknown or ambiguous, or a value raises the dose.
    """
    labels = [b.label for b in protocol.blocks]
    label = amendment.block
    if label is None:
        if len(labels) > 1:
            raise AmendmentRefusedError(
                f"Invalid value for 'block': got none; {protocol.id!r} has "
                f"{len(labels)} blocks, allowed: one of {', '.join(labels)}."
            )
        label = labels[0]
    if label not in labels:
        raise AmendmentRefusedError(
            f"Invalid value for 'block': got {label!r}; allowed: {', '.join(labels)}."
        )
    blocks = [
        b.model_copy(update={"dose": apply_amendment(b.dose, amendment)})
        if b.label == label
        else b
        for b in protocol.blocks
    ]
    return protocol.model_copy(update={"blocks": tuple(blocks)})


def _not_above(field: str, value: float, assigned: float | None) -> None:
    if assigned is None:
        raise AmendmentRefusedError(
            f"Invalid value for {field!r}: got {value:g}; the assigned value is "
            "unreported, so no value can be shown to be lower."
        )
    if not math.isfinite(value) or value > assigned * (1.0 + 1e-12):
        raise AmendmentRefusedError(
            f"Invalid value for {field!r}: got {value:g}; allowed: at most the "
            f"assigned {assigned:g} (an amendment may only lower the dose)."
        )
