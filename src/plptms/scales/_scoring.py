"""Score one administration of a scale from its item values.

Values in, values out: :func:`score` validates every item against the scale
definition, then combines the items by the published rule. Nothing is imputed: a
missing item (``None`` or absent) leaves every score that needs it uncomputed,
unless the scale has a published prorating rule (the BPI interference score: the
mean of the answered items when at least 4 of 7 are answered), and the result says
which items were missing, why, and which rule was applied.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from ..utils import check_option, check_range, format_range
from ._definitions import get_scale
from ._models import Aggregation, ScaleScore

if TYPE_CHECKING:
    from ._models import ItemDefinition, ScaleDefinition

__all__ = ["score", "validate_item"]


def _field(scale: ScaleDefinition, item_id: str) -> str:
    return f"{scale.id}.item_{item_id}"


def validate_item(scale_id: str, item_id: str, value: object) -> float | None:
    """Check one item value against its definition.

    Parameters
    ----------
    scale_id : str
        Scale identifier.
    item_id : str
        Item identifier.
    value : int | float | None
        The recorded value; ``None`` means missing.

    Returns
    -------
    value : float | None
        The value as a float, ``None`` if missing.

    Raises
    ------
    TypeError
        If the value is neither a number nor ``None``.
    ValueError
        If the scale or item is unknown, or the value is a bool, not finite, out of
        range, or not a whole number where the item requires one. The message names
        the field as ``'<scale_id>.item_<item_id>'``.
    """
    scale = get_scale(scale_id)
    check_option(item_id, f"{scale.id}.item", scale.item_ids)
    return _validate(scale, scale.item(item_id), value)


def _validate(
    scale: ScaleDefinition, item: ItemDefinition, value: object
) -> float | None:
    field = _field(scale, item.id)
    if value is None:
        return None
    interval = format_range(item.min, item.max, unit=item.unit)
    if isinstance(value, bool):
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a number in "
            f"{interval}, not a bool."
        )
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid type for {field!r}: got {type(value).__name__} ({value!r}); "
            "allowed: int, float or None (missing)."
        )
    fvalue = check_range(
        cast("float", value), field, item.min, item.max, unit=item.unit
    )
    if item.integer and not fvalue.is_integer():
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a whole number "
            f"in {interval}."
        )
    return fvalue


def _combine(
    scale: ScaleDefinition,
    values: Mapping[str, float | None],
    members: tuple[str, ...],
    how: Aggregation,
) -> float | None:
    parts: list[float] = []
    for m in members:
        v = values[m]
        if v is None:
            return None
        parts.append(v * scale.item(m).scored_weight)
    total = math.fsum(parts)
    return total / len(parts) if how is Aggregation.MEAN else total


def _ids(items: tuple[str, ...]) -> str:
    return ", ".join(items)


def _total(
    scale: ScaleDefinition, values: Mapping[str, float | None]
) -> tuple[float | None, str | None]:
    """Return the total and the reason (or the rule applied) for missing items."""
    missing = tuple(i for i in scale.total_items if values[i] is None)
    vs = scale.value_set
    if vs is not None:
        if missing:
            return None, (
                f"Total not computed: item(s) {_ids(missing)} missing; "
                f"{scale.missing_rule}."
            )
        levels = {i: int(cast("float", values[i])) for i in scale.total_items}
        return vs.index(levels), None
    if scale.min_answered is not None and missing:
        n_items = len(scale.total_items)
        answered = [
            cast("float", values[i]) * scale.item(i).scored_weight
            for i in scale.total_items
            if values[i] is not None
        ]
        if len(answered) >= scale.min_answered:
            return math.fsum(answered) / len(answered), (
                f"Total is the mean of the {len(answered)} answered items "
                f"(item(s) {_ids(missing)} missing): {scale.citation} scores the "
                f"mean when at least {scale.min_answered} of {n_items} items are "
                "answered."
            )
        return None, (
            f"Total not computed: only {len(answered)} of {n_items} items answered "
            f"(item(s) {_ids(missing)} missing); {scale.citation} requires at "
            f"least {scale.min_answered}."
        )
    total = _combine(scale, values, scale.total_items, scale.total_aggregation)
    if total is None:
        return None, (
            f"Total not computed: item(s) {_ids(missing)} missing; "
            f"{scale.citation} gives no rule for missing items, so nothing is "
            "imputed."
        )
    return total, None


def score(scale_id: str, items: Mapping[str, float | int | None]) -> ScaleScore:
    """Score one administration of a scale by its published rules.

    Parameters
    ----------
    scale_id : str
        Scale identifier (see :func:`list_scales`), e.g. ``"ham_d17"``.
    items : mapping of str to int | float | None
        Item values by item identifier. ``None``, or an item left out, means
        missing. LANSS items are recorded as 0 (no) or 1 (yes); the PGIC as its
        category code 1 (very much improved) to 7 (very much worse); EQ-5D-5L
        dimensions as levels 1 to 5.

    Returns
    -------
    result : ScaleScore
        Total (for the EQ-5D-5L, the index from the scale's value set), subscales,
        severity band (for the PGIC, the category), missing items and, when
        something could not be computed or a prorating rule was applied, the
        reason.

    Raises
    ------
    TypeError
        If ``items`` is not a mapping, a key is not a string, or a value is neither
        a number nor ``None``.
    ValueError
        If the scale or an item id is unknown (the message lists the allowed ids),
        or a value is a bool, not finite, out of range or not a whole number where
        one is required, e.g. ``Invalid value for 'ham_d17.item_4': got 3; allowed
        range is [0, 2].``
    """
    scale = get_scale(scale_id)
    if not isinstance(items, Mapping):
        raise TypeError(
            f"Invalid type for '{scale.id}.items': got {type(items).__name__}; "
            "allowed: a mapping of item id to value."
        )
    for key in items:
        if not isinstance(key, str):
            raise TypeError(
                f"Invalid type for '{scale.id}.item': got {type(key).__name__} "
                f"({key!r}); allowed: str item ids {list(scale.item_ids)}."
            )
        check_option(key, f"{scale.id}.item", scale.item_ids)
    values = {
        item.id: _validate(scale, item, items.get(item.id)) for item in scale.items
    }
    missing = tuple(i for i in scale.item_ids if values[i] is None)

    subscales = {
        sub.id: _combine(scale, values, sub.items, sub.aggregation)
        for sub in scale.subscales
    }
    total, reason = _total(scale, values)
    for sub in scale.subscales:
        if subscales[sub.id] is None:
            gone = tuple(i for i in sub.items if values[i] is None)
            note = f"Subscale {sub.id!r} not computed: item(s) {_ids(gone)} missing."
            reason = note if reason is None else f"{reason} {note}"

    citation = scale.citation
    if scale.band_citation and scale.band_citation != scale.citation:
        citation = f"{scale.citation}; bands: {scale.band_citation}"
    return ScaleScore(
        scale_id=scale.id,
        total=total,
        subscales=subscales,
        band=None if total is None else scale.band_of(total),
        computed=total is not None,
        missing_items=missing,
        reason=reason,
        citation=citation,
    )
