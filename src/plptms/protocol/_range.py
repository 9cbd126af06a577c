"""A protocol range (such as an expert consensus) and conformance to it."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from ..utils import format_range
from ._models import CourseBlock, Laterality, Pattern, Protocol, TargetSite

__all__ = [
    "Conformance",
    "ConformanceItem",
    "Interval",
    "ProtocolRange",
    "Recommendation",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Interval(BaseModel):
    """A closed interval ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Bounds, ``low <= high``.
    unit : str
        Unit for display.
    """

    model_config = _FROZEN

    low: float
    high: float
    unit: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.low > self.high:
            raise ValueError(
                f"Invalid value for 'low': got {self.low!r}; allowed range is "
                f"(-inf, {self.high!r}] (low must not exceed high)."
            )
        return self

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high

    def __str__(self) -> str:
        return format_range(self.low, self.high, unit=self.unit)


class Recommendation(BaseModel):
    """One way a source positions the range (e.g. first-line or second-line).

    Parameters
    ----------
    line : str
        ``"first-line"`` or ``"second-line"``.
    text : str
        What the source says, in plptms's own words.
    """

    model_config = _FROZEN

    line: str
    text: str


class ConformanceItem(BaseModel):
    """One parameter compared with the range."""

    model_config = _FROZEN

    parameter: str
    value: str
    allowed: str
    inside: bool | None


class Conformance(BaseModel):
    """Result of comparing a protocol block with a range.

    ``inside`` is ``True`` when every parameter is inside, ``False`` when any is
    outside, ``None`` when none is outside but some could not be compared.
    """

    model_config = _FROZEN

    range_id: str
    protocol_id: str
    block: str
    items: tuple[ConformanceItem, ...]

    @property
    def inside(self) -> bool | None:
        """Overall conformance (see class docstring)."""
        states = [i.inside for i in self.items]
        if any(s is False for s in states):
            return False
        if any(s is None for s in states):
            return None
        return True


class ProtocolRange(BaseModel):
    """A range of protocols, such as a published consensus starting point.

    Parameters
    ----------
    id : str
        Slug.
    citation : str
        Source.
    bibkey : str | None
        Key of the source in ``docs/references.bib``.
    pattern : Pattern
        Pattern.
    targets : tuple of TargetSite
        Allowed targets.
    laterality : Laterality
        Side relative to the amputation.
    frequency_hz, intensity_pct_rmt, pulses_per_session, sessions : Interval
        Allowed ranges.
    recommendations : tuple of Recommendation
        How the source positions the range; all are shown, none is chosen silently.
    notes : str
        Free text.
    """

    model_config = _FROZEN

    id: str
    citation: str
    bibkey: str | None = None
    pattern: Pattern
    targets: tuple[TargetSite, ...]
    laterality: Laterality
    frequency_hz: Interval
    intensity_pct_rmt: Interval
    pulses_per_session: Interval
    sessions: Interval
    recommendations: tuple[Recommendation, ...]
    notes: str = ""

    def conformance(self, protocol: Protocol, block: str | None = None) -> Conformance:
        """Compare one block of ``protocol`` with this range.

        Parameters
        ----------
        protocol : Protocol
            The protocol.
        block : str | None
            Block label; the first block when ``None``.

        Returns
        -------
        conformance : Conformance
            Per-parameter comparison; unreported values compare as unknown.
        """
        b: CourseBlock = protocol.blocks[0] if block is None else protocol.block(block)
        d = b.dose

        def num(name: str, value: float | None, interval: Interval) -> ConformanceItem:
            if value is None:
                return ConformanceItem(
                    parameter=name,
                    value="unreported",
                    allowed=str(interval),
                    inside=None,
                )
            return ConformanceItem(
                parameter=name,
                value=f"{value:g}",
                allowed=str(interval),
                inside=value in interval,
            )

        items = (
            ConformanceItem(
                parameter="pattern",
                value=d.pattern.value,
                allowed=self.pattern.value,
                inside=d.pattern is self.pattern,
            ),
            ConformanceItem(
                parameter="target",
                value=d.target.value,
                allowed=", ".join(t.value for t in self.targets),
                inside=d.target in self.targets,
            ),
            ConformanceItem(
                parameter="laterality",
                value="unreported" if d.laterality is None else d.laterality.value,
                allowed=self.laterality.value,
                inside=None
                if d.laterality is None
                else d.laterality is self.laterality,
            ),
            num("frequency_hz", d.frequency_hz, self.frequency_hz),
            num("intensity_pct_rmt", d.intensity_pct_rmt, self.intensity_pct_rmt),
            num("pulses_per_session", d.pulses_per_session, self.pulses_per_session),
            num("sessions", b.sessions, self.sessions),
        )
        return Conformance(
            range_id=self.id, protocol_id=protocol.id, block=b.label, items=items
        )
