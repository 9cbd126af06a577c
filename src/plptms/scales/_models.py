"""Scale definitions as data, and the result of scoring one administration.

A :class:`ScaleDefinition` holds what is needed to score an instrument: item
identifiers, item ranges, which items make up the total and each subscale, how
they are combined (sum or mean, with optional item weights, or a preference-based
:class:`ValueSet` of decrements per item level), the severity bands and the rule
for missing items. It never holds the (often licensed) item wording.
"""

from __future__ import annotations

import itertools
import math
from enum import StrEnum
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Aggregation",
    "Band",
    "ItemDecrements",
    "ItemDefinition",
    "ScaleDefinition",
    "ScaleScore",
    "SubscaleDefinition",
    "ValueSet",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Aggregation(StrEnum):
    """How item values are combined into a score."""

    #: Sum of the (weighted) item values.
    SUM = "sum"
    #: Mean of the (weighted) item values.
    MEAN = "mean"
    #: A preference-based index: full health minus the value set's decrement for
    #: the level of each item (the total only; see :class:`ValueSet`).
    VALUE_SET = "value_set"


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


class ItemDecrements(BaseModel):
    """The decrement from full health for each level of one item of a value set.

    Parameters
    ----------
    item : str
        Item identifier, e.g. ``"MO"``.
    decrements : tuple of float
        One decrement per level, lowest level first (level 1, "no problems",
        usually 0). Non-negative and non-decreasing with the level.
    """

    model_config = _FROZEN

    item: str = Field(min_length=1, max_length=16)
    decrements: tuple[float, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _check_decrements(self) -> Self:
        d = self.decrements
        if not all(math.isfinite(x) and x >= 0 for x in d) or any(
            b < a for a, b in itertools.pairwise(d)
        ):
            raise ValueError(
                f"Invalid value for 'decrements.{self.item}': got {list(d)}; "
                "allowed: finite decrements >= 0 that do not fall as the level "
                "rises."
            )
        return self


class ValueSet(BaseModel):
    """A preference-based value set: the index of a health state.

    The index of a state is ``full_health`` minus the sum, over the items, of the
    decrement for the level recorded on each item (an additive model without
    interaction or constant terms, as the EQ-5D-5L value set for England).

    Parameters
    ----------
    id : str
        Value set identifier, e.g. ``"england"``.
    name : str
        Human-readable name.
    citation : str
        Source of the coefficients, as (Author, year).
    bib_key : str
        Key of the source in ``docs/references.bib``.
    verified : bool
        Whether the coefficients were read in the primary source.
    provenance : str
        Where the coefficients were read and what was checked against them.
    full_health : float
        Index of the best state (every item at its lowest level, when its
        decrements start at 0).
    decrements : tuple of ItemDecrements
        Decrements per item, one entry per item.
    """

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    citation: str = Field(min_length=1)
    bib_key: str = Field(min_length=1)
    verified: bool
    provenance: str = Field(min_length=1)
    full_health: float = 1.0
    decrements: tuple[ItemDecrements, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_items(self) -> Self:
        ids = [d.item for d in self.decrements]
        if len(set(ids)) != len(ids):
            raise ValueError(
                f"Invalid value for 'decrements': got items {ids}; allowed: each "
                "item once."
            )
        return self

    def item_decrements(self, item_id: str) -> tuple[float, ...]:
        """Return the decrements of one item, lowest level first.

        Parameters
        ----------
        item_id : str
            Item identifier.

        Returns
        -------
        decrements : tuple of float
            One decrement per level.

        Raises
        ------
        KeyError
            If the value set has no such item.
        """
        for d in self.decrements:
            if d.item == item_id:
                return d.decrements
        raise KeyError(
            f"Invalid value for '{self.id}.item': got {item_id!r}; allowed values "
            f"are {[d.item for d in self.decrements]}."
        )

    def index(self, levels: Mapping[str, int]) -> float:
        """Return the index of one health state.

        Parameters
        ----------
        levels : mapping of str to int
            The level (1 = lowest) recorded on each item of the value set.

        Returns
        -------
        index : float
            ``full_health`` minus the summed decrements.

        Raises
        ------
        KeyError
            If an item of the value set is not in ``levels``.
        ValueError
            If a level is outside ``1 .. number of levels`` of its item.
        """
        parts: list[float] = []
        for d in self.decrements:
            level = levels[d.item]
            n = len(d.decrements)
            if isinstance(level, bool) or level not in range(1, n + 1):
                raise ValueError(
                    f"Invalid value for '{self.id}.{d.item}': got {level!r}; "
                    f"allowed: a whole level in [1, {n}]."
                )
            parts.append(d.decrements[level - 1])
        return self.full_health - math.fsum(parts)


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
    min_answered : int | None
        Published prorating rule of a mean total: the total is the mean of the
        answered total items when at least this many are answered (the BPI
        interference score: 4 of 7). ``None``: every total item is needed.
    value_set : ValueSet | None
        The value set of a preference-based index (``total_aggregation`` is
        ``"value_set"``); ``None`` otherwise.
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
    min_answered: int | None = None
    value_set: ValueSet | None = None

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
        self._check_rules()
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

    def _check_rules(self) -> None:
        if any(s.aggregation is Aggregation.VALUE_SET for s in self.subscales):
            raise ValueError(
                "Invalid value for 'subscales': got aggregation 'value_set'; "
                "allowed: 'sum' or 'mean' (a value set scores the total only)."
            )
        if self.min_answered is not None and not (
            self.total_aggregation is Aggregation.MEAN
            and 1 <= self.min_answered <= len(self.total_items)
        ):
            raise ValueError(
                f"Invalid value for 'min_answered': got {self.min_answered!r} with "
                f"total aggregation {self.total_aggregation.value!r}; allowed: a "
                f"mean total and a count in [1, {len(self.total_items)}]."
            )
        is_vs = self.total_aggregation is Aggregation.VALUE_SET
        if is_vs != (self.value_set is not None):
            raise ValueError(
                "Invalid value for 'value_set': got "
                f"{'none' if self.value_set is None else 'one'} with total "
                f"aggregation {self.total_aggregation.value!r}; allowed: a value "
                "set exactly when the total aggregation is 'value_set'."
            )
        if self.value_set is None:
            return
        vs_items = sorted(d.item for d in self.value_set.decrements)
        if vs_items != sorted(self.total_items):
            raise ValueError(
                f"Invalid value for 'value_set': got items {vs_items}; allowed: "
                f"the total items {sorted(self.total_items)}."
            )
        for d in self.value_set.decrements:
            item = self.item(d.item)
            levels = item.max - item.min + 1
            if not (item.integer and item.min == 1 and len(d.decrements) == levels):
                raise ValueError(
                    f"Invalid value for 'value_set.{d.item}': got "
                    f"{len(d.decrements)} decrements for item range "
                    f"[{item.min:g}, {item.max:g}]; allowed: a whole-number item "
                    "from level 1 with one decrement per level."
                )

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
        if how is Aggregation.VALUE_SET and self.value_set is not None:
            vs = self.value_set
            worst = math.fsum(vs.item_decrements(m)[-1] for m in members)
            best = math.fsum(vs.item_decrements(m)[0] for m in members)
            return vs.full_health - worst, vs.full_health - best
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
