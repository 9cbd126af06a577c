"""A scored administration as it is stored: raw items with their scores.

:func:`score_record` scores one administration (:func:`plptms.scales.score`) and
returns a :class:`ScoredRecord`, the value the registry stores. The registry never
scores: it takes a record scored here. A record built by hand is re-scored when it
is validated, so a record whose scores its items do not give cannot exist.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Self, cast

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, model_validator

from ._scoring import score

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ScoredRecord", "score_record"]

#: Tolerance when a hand-built record's scores are checked against its items
#: (numerical, not from the literature: the same rule gives the same float).
_SCORE_RTOL = 1e-12


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=_SCORE_RTOL, abs_tol=_SCORE_RTOL)


class ScoredRecord(BaseModel):
    """One administration of a scale, scored: what the registry stores.

    Parameters
    ----------
    scale_id : str
        The scale (see :func:`plptms.scales.list_scales`).
    items : dict of str to int | float | None
        The raw item values as recorded; ``None`` marks a missing item.
    total : float | None
        The total, ``None`` when it could not be computed.
    subscales : dict of str to float | None
        Each subscale, ``None`` when one of its items is missing.
    band : str | None
        Severity band of the total, if the scale has bands.
    computed : bool
        Whether the total was computed.
    reason : str | None
        Why a score was not computed, or ``None``.

    Notes
    -----
    Make one with :func:`score_record`. A record built directly (or read from
    JSON) is validated by scoring its items again: scores that differ from what
    the items give are refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scale_id: str
    items: dict[str, StrictInt | StrictFloat | None]
    total: float | None
    subscales: dict[str, float | None]
    band: str | None
    computed: bool
    reason: str | None

    @model_validator(mode="after")
    def _check_scores(self) -> Self:
        res = score(self.scale_id, self.items)
        if not (
            _same(self.total, res.total)
            and self.subscales.keys() == res.subscales.keys()
            and all(_same(v, res.subscales[k]) for k, v in self.subscales.items())
            and (self.band, self.computed, self.reason)
            == (res.band, res.computed, res.reason)
        ):
            raise ValueError(
                f"Invalid value for 'scores': got total {self.total!r}, subscales "
                f"{self.subscales!r}, band {self.band!r}; allowed: the scores its "
                f"items give under {self.scale_id!r} (total {res.total!r}, "
                f"subscales {dict(res.subscales)!r}, band {res.band!r}); make the "
                "record with plptms.scales.score_record."
            )
        return self


def _plain(value: object) -> float | None:
    """Return a validated item value as a plain int or float (numpy included)."""
    if value is None or type(value) in (int, float):
        return cast("float | None", value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(cast("float", value))  # a real number: score() checked it


def score_record(
    scale_id: str, items: Mapping[str, float | int | None]
) -> ScoredRecord:
    """Score one administration and return it as the record to store.

    Parameters
    ----------
    scale_id : str
        Scale identifier (see :func:`plptms.scales.list_scales`).
    items : mapping of str to int | float | None
        Raw item values by item id; ``None``, or an item left out, is missing.

    Returns
    -------
    record : ScoredRecord
        The raw items (as plain numbers) with the total, subscales, band and
        the reason a score was not computed, from :func:`plptms.scales.score`.

    Raises
    ------
    TypeError
        If ``items`` is not a mapping, or a key or value has the wrong type.
    ValueError
        If the scale or an item is unknown, or a value is out of range (the
        message names the item, e.g. ``'ham_d17.item_4'``).
    """
    res = score(scale_id, items)
    # scored just now: construct without scoring a second time
    return ScoredRecord.model_construct(
        scale_id=res.scale_id,
        items={str(k): _plain(v) for k, v in items.items()},
        total=res.total,
        subscales=dict(res.subscales),
        band=res.band,
        computed=res.computed,
        reason=res.reason,
    )
