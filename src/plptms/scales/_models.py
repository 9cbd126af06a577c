"""Scale definitions as data, and the result of scoring one administration.

A :class:`ScaleDefinition` holds what is needed to score an instrument: item
identifiers, item ranges, which items make up the total and each subscale, how
they are combined (sum or mean, with optional item weights), the severity bands
and the rule for missing items. It never holds the (often licensed) item wording.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Aggregation",
    "Band",
    "ItemDefinition",
    "ScaleDefinition",
    "ScaleScore",
    "SubscaleDefinition",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Aggregation(StrEnum):
    """How item values are combined into a score."""

    #: Sum of the (weighted) item values.
    SUM = "sum"
    #: Mean of the (weighted) item values.
    MEAN = "mean"


class ItemDefinition(BaseModel):
    """One item of a scale: identifier, range and scoring weight.

    Parameters
    ----------
    id : str
        Item identifier as printed on the scoring sheet (``"1"`` ... ``"22"``,
        ``"A1"``, ``"ppi"``), never the item wording.
    min, max : float
        Allowed range of the recorded value (inclusive).
    integer : bool
        Whether only whole numbers may be recorded.
    weight : float | None
        Multiplier applied to the value when it is scored (LANSS: a "yes", recorded
        as 1, scores the item's weight); ``None`` means 1.
    unit : str
        Unit of the recorded value (e.g. ``"mm"``), empty if none.
    label : str | None
        Short, non-licensed name of the domain the item rates (e.g.
        ``"allodynia"``), or ``None``.
    """

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=16)
    min: float
    max: float
    integer: bool
    weight: float | None = None
    unit: str = ""
    label: str | None = None

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if not self.min < self.max:
            raise ValueError(
                f"Invalid value for 'max': got {self.max!r} for item {self.id!r}; "
                f"allowed range is ({self.min:g}, inf)."
            )
        return self

    @property
    def scored_weight(self) -> float:
        """The weight used when scoring (1 when no weight is given)."""
        return 1.0 if self.weight is None else self.weight


class SubscaleDefinition(BaseModel):
    """A subscale (or separately reported component) of a scale.

    Parameters
    ----------
    id : str
        Subscale identifier, e.g. ``"neuropathic"``.
    items : tuple of str
        Item identifiers that make up the subscale.
    aggregation : Aggregation
        Sum or mean of the items.
    """

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=32)
    items: tuple[str, ...] = Field(min_length=1)
    aggregation: Aggregation


class Band(BaseModel):
    """A severity band: the total scores from ``low`` up to the next band's ``low``.

    Parameters
    ----------
    label : str
        Name of the band, e.g. ``"mild"``.
    low : float
        Lowest total in the band (inclusive). The band ends where the next band
        starts; the last band ends at the scale maximum.
    """

    model_config = _FROZEN

    label: str = Field(min_length=1, max_length=40)
    low: float


class ScaleDefinition(BaseModel):
    """Everything needed to score one instrument.

    Parameters
    ----------
    id : str
        Scale identifier, e.g. ``"ham_d17"``.
    name : str
        Human-readable name.
    citation : str
        Source of the scoring rules, as (Author, year).
    bib_key : str
        Key of the source in ``docs/references.bib``.
    items : tuple of ItemDefinition
        All items that may be recorded, in sheet order.
    total_items : tuple of str
        Items that make up the total.
    total_aggregation : Aggregation
        Sum or mean of the total items.
    subscales : tuple of SubscaleDefinition
        Subscales or separately reported components.
    bands : tuple of Band
        Severity bands of the total, in increasing order; empty if the scale has
        none.
    band_citation : str | None
        Source of the bands, as (Author, year).
    unit : str
        Unit of the total, empty if none.
    missing_rule : str
        The published rule for missing items, or a statement that none was found
        (then a total with any missing item is not computed).
    """

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    citation: str
    bib_key: str
    items: tuple[ItemDefinition, ...] = Field(min_length=1)
    total_items: tuple[str, ...] = Field(min_length=1)
    total_aggregation: Aggregation
    subscales: tuple[SubscaleDefinition, ...] = ()
    bands: tuple[Band, ...] = ()
    band_citation: str | None = None
    unit: str = ""
    missing_rule: str

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        ids = [item.id for item in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(
                f"Invalid value for 'items': got duplicate ids {dupes}; allowed: "
                "unique ids."
            )
        groups = [("total_items", self.total_items)] + [
            (f"subscales.{s.id}", s.items) for s in self.subscales
        ]
        for field, members in groups:
            unknown = [m for m in members if m not in ids]
            if unknown:
                raise ValueError(
                    f"Invalid value for {field!r}: got unknown item ids {unknown}; "
                    f"allowed values are {ids}."
                )
        lows = [b.low for b in self.bands]
        if self.bands and (
            lows != sorted(set(lows))
            or lows[0] != self.total_min
            or lows[-1] > self.total_max
        ):
            raise ValueError(
                f"Invalid value for 'bands': got lower bounds {lows}; allowed: "
                f"strictly increasing, starting at the scale minimum "
                f"{self.total_min:g} and not above the maximum {self.total_max:g}."
            )
        return self

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Identifiers of all items, in sheet order."""
        return tuple(item.id for item in self.items)

    def item(self, item_id: str) -> ItemDefinition:
        """Return the definition of one item.

        Parameters
        ----------
        item_id : str
            Item identifier.

        Returns
        -------
        item : ItemDefinition
            The item.

        Raises
        ------
        KeyError
            If the scale has no such item.
        """
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(
            f"Invalid value for '{self.id}.item': got {item_id!r}; allowed values "
            f"are {list(self.item_ids)}."
        )

    def _bounds(
        self, members: tuple[str, ...], how: Aggregation
    ) -> tuple[float, float]:
        lows = [self.item(m).min * self.item(m).scored_weight for m in members]
        highs = [self.item(m).max * self.item(m).scored_weight for m in members]
        lo, hi = (
            sum(min(a, b) for a, b in zip(lows, highs, strict=True)),
            sum(max(a, b) for a, b in zip(lows, highs, strict=True)),
        )
        if how is Aggregation.MEAN:
            return lo / len(members), hi / len(members)
        return lo, hi

    @property
    def total_min(self) -> float:
        """Lowest possible total."""
        return self._bounds(self.total_items, self.total_aggregation)[0]

    @property
    def total_max(self) -> float:
        """Highest possible total."""
        return self._bounds(self.total_items, self.total_aggregation)[1]

    def subscale_range(self, subscale_id: str) -> tuple[float, float]:
        """Return the lowest and highest possible value of a subscale.

        Parameters
        ----------
        subscale_id : str
            Subscale identifier.

        Returns
        -------
        low, high : tuple of float
            The range of the subscale.

        Raises
        ------
        KeyError
            If the scale has no such subscale.
        """
        for sub in self.subscales:
            if sub.id == subscale_id:
                return self._bounds(sub.items, sub.aggregation)
        raise KeyError(
            f"Invalid value for '{self.id}.subscale': got {subscale_id!r}; allowed "
            f"values are {[s.id for s in self.subscales]}."
        )

    def band_of(self, total: float) -> str | None:
        """Return the severity band of a total, ``None`` if the scale has no bands.

        Parameters
        ----------
        total : float
            A total within the scale's range.

        Returns
        -------
        band : str | None
            Label of the band that contains ``total``.
        """
        label: str | None = None
        for band in self.bands:
            if total >= band.low:
                label = band.label
        return label


class ScaleScore(BaseModel):
    """The result of scoring one administration of a scale.

    Parameters
    ----------
    scale_id : str
        The scale.
    total : float | None
        The total, ``None`` when it could not be computed.
    subscales : dict of str to float | None
        Each subscale (or separately reported component), ``None`` when one of its
        items is missing.
    band : str | None
        Severity band of the total (``"neuropathic"`` / ``"not neuropathic"`` for
        LANSS), ``None`` when the scale has no bands or the total is missing.
    computed : bool
        Whether the total was computed.
    missing_items : tuple of str
        Items recorded as missing (``None`` or absent), in sheet order.
    reason : str | None
        Why the total (or a subscale) was not computed, or which published
        missing-item rule was applied; ``None`` when every item was present.
    citation : str
        Source of the scoring rules (and of the bands, when they differ).
    """

    model_config = _FROZEN

    scale_id: str
    total: float | None
    subscales: dict[str, float | None]
    band: str | None
    computed: bool
    missing_items: tuple[str, ...]
    reason: str | None
    citation: str

    @model_validator(mode="after")
    def _check_computed(self) -> Self:
        if self.computed != (self.total is not None):
            raise ValueError(
                f"Invalid value for 'computed': got {self.computed!r} with total "
                f"{self.total!r}; allowed: computed is True exactly when a total is "
                "given."
            )
        return self
