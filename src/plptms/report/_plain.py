"""Plain-language wording for the patient report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import Hemisphere, Limb, TargetSite

if TYPE_CHECKING:
    import datetime as dt

    from ..protocol import Amputation, PlannedBlock, Protocol

__all__ = ["long_date", "plain_target", "stimulation_minutes"]


def _limb_part(target: TargetSite, amputation: Amputation) -> str:
    if target is TargetSite.M1_HAND:
        return "hand"
    if target is TargetSite.M1_LEG:
        return "leg"
    return "arm" if amputation.limb is Limb.UPPER else "leg"


def plain_target(block: PlannedBlock, amputation: Amputation) -> str:
    """Say where the coil goes, in everyday words.

    Parameters
    ----------
    block : plptms.protocol.PlannedBlock
        A planned block.
    amputation : plptms.protocol.Amputation
        The patient's amputation.

    Returns
    -------
    text : str
        E.g. ``"the area of the brain that moves your hand, on the right side of
        your head"``.
    """
    part = _limb_part(block.target, amputation)
    if block.target in (TargetSite.M1, TargetSite.M1_HAND, TargetSite.M1_LEG):
        where = f"the area of the brain that moves your {part}"
    elif block.target is TargetSite.S1:
        where = f"the area of the brain that feels touch from your {part}"
    elif block.target is TargetSite.SMC:
        where = (
            "an area near the top of your head, just in front of the areas that "
            "move your body, that helps to plan movements"
        )
    else:
        where = (
            "an area at the front of the brain that takes part in mood and in how "
            "pain is felt"
        )
    side = {
        Hemisphere.LEFT: "on the left side of your head",
        Hemisphere.RIGHT: "on the right side of your head",
        Hemisphere.BOTH: "on both sides of your head",
    }[block.hemisphere]
    return f"{where}, {side}"


def stimulation_minutes(protocol: Protocol | None) -> float | None:
    """Minutes of stimulation in one session, ``None`` if the source leaves it open.

    Parameters
    ----------
    protocol : plptms.protocol.Protocol | None
        The protocol planned.

    Returns
    -------
    minutes : float | None
        The longest block's stimulation time (blocks of one session add up), or
        ``None`` when a block's duration is unreported.
    """
    if protocol is None:
        return None
    per_phase: dict[int, float] = {}
    for b in protocol.blocks:
        s = b.dose.session_duration_s
        if s is None:
            return None
        per_phase[b.phase] = per_phase.get(b.phase, 0.0) + s / 60.0
    return max(per_phase.values()) if per_phase else None


def long_date(day: dt.date) -> str:
    """Write a date in full, e.g. ``"Monday 2 March 2026"``.

    Parameters
    ----------
    day : datetime.date
        The date.

    Returns
    -------
    text : str
        Weekday, day, month and year.
    """
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B %Y')}"
