"""Many virtual trials of a design on :func:`plptms.batch.run_tasks`, summarised.

:func:`run_virtual_trials` runs ``n_trials`` virtual trials
(:func:`~plptms.trial._simulate.simulate_trial`) of a design for each true effect
asked for, on any back-end of :mod:`plptms.batch`, and summarises each effect's
trials (:func:`~plptms.trial._simulate_summary.summarise_virtual_trials`): one
summary gives power (or type I error), bias and coverage with their Monte Carlo
SEs; several effects give a power curve.

**Seed blocks.** The trials of effect ``e`` draw from the block
``SeedSequence(seed, spawn_key=(EFFECT_BLOCK_TAG, hi, lo))``, where ``hi`` and
``lo`` are the high and low 32-bit words of ``e``'s IEEE 754 double (``-0.0``
counted as ``0.0``); trial ``i`` of the effect draws from that block's
``spawn(n_trials)[i]`` (what :func:`~plptms.batch.run_tasks` gives task ``i``). A
block depends on the seed and the effect's value only, not on the other
effects or their order: adding, removing or reordering effects leaves every
other effect's trials bit for bit as they were, and a run without ``effects``
is the run of the design's own ``true_effect``.

**Sample sizes.** Given ``sizes`` (a power curve over the total sample size),
the trials of effect ``e`` at ``n`` patients draw from
``SeedSequence(seed, spawn_key=(SIZE_BLOCK_TAG, n, hi, lo))`` instead: one block
per size and effect, again independent of the other sizes and effects (a run
with ``sizes`` never shares a stream with a run without).
"""

from __future__ import annotations

import math
import struct
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..batch import run_tasks
from ..utils import check_type
from ._simulate import VirtualDesign, simulate_trial
from ._simulate_summary import (
    VirtualTrialResult,
    VirtualTrialSummary,
    summarise_virtual_trials,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

__all__ = [
    "EFFECT_BLOCK_TAG",
    "SIZE_BLOCK_TAG",
    "VirtualStudy",
    "effect_seed",
    "run_virtual_trials",
    "simulate_design_json",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: First word of every effect's spawn key (ASCII ``"vtri"``), so that effect
#: blocks never share a key with the plain children ``SeedSequence(seed).spawn``.
EFFECT_BLOCK_TAG: Final[int] = 0x76747269
#: First word of the spawn key of a (sample size, effect) block (ASCII ``"vtrn"``).
SIZE_BLOCK_TAG: Final[int] = 0x7674726E
#: Time of one virtual trial for the batching rule of ``run_tasks``: about 0.07 s
#: for the example (4 sites, 120 patients, 4 visits; measured, docs/trials.md), so
#: two trials per batch; designs with more visits take longer per trial.
_TRIAL_TIME_S: Final[float] = 0.07


class VirtualStudy(BaseModel):
    """A virtual-trial study: one summary per true effect.

    Parameters
    ----------
    definition_id : str
        The trial definition's id.
    n_patients : int
        Patients randomised per virtual trial (the design's).
    sizes : list of int | None
        The sample sizes of a power curve over sizes (``None``: the design's).
    n_trials : int
        Virtual trials per effect.
    alpha : float
        The definition's significance level (two-sided, or one-sided as
        ``sided`` says), the type I error a valid test keeps to.
    sided : int
        1 or 2, from the definition.
    seed : int
        The study's seed (each effect's block is spawned from it).
    summaries : list of VirtualTrialSummary
        One per effect, in the order the effects were given; with ``sizes``, one
        per size and effect (sizes outer, effects inner).
    """

    model_config = _FROZEN

    definition_id: str
    n_patients: int
    sizes: list[int] | None = None
    n_trials: int
    alpha: float
    sided: int
    seed: int
    summaries: list[VirtualTrialSummary]


def effect_seed(
    seed: int, effect: float, n_patients: int | None = None
) -> np.random.SeedSequence:
    """Return the seed block of one true effect (and sample size).

    Parameters
    ----------
    seed : int
        The study's seed, >= 0.
    effect : float
        The true effect, points (finite).
    n_patients : int | None
        The sample size of a power curve over sizes; ``None`` for a run
        without ``sizes``.

    Returns
    -------
    block : numpy.random.SeedSequence
        ``SeedSequence(seed, spawn_key=(EFFECT_BLOCK_TAG, hi, lo))`` with ``hi``,
        ``lo`` the 32-bit words of ``effect``'s IEEE 754 double (``-0.0`` as
        ``0.0``); with ``n_patients``, ``spawn_key=(SIZE_BLOCK_TAG, n_patients,
        hi, lo)``.
    """
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(effect) + 0.0))
    hi, lo = bits >> 32, bits & 0xFFFFFFFF
    if n_patients is None:
        return np.random.SeedSequence(seed, spawn_key=(EFFECT_BLOCK_TAG, hi, lo))
    return np.random.SeedSequence(
        seed, spawn_key=(SIZE_BLOCK_TAG, int(n_patients), hi, lo)
    )


@lru_cache(maxsize=8)
def _design(design_json: str) -> VirtualDesign:
    return VirtualDesign.model_validate_json(design_json)


def simulate_design_json(
    design_json: str, rng: np.random.Generator
) -> VirtualTrialResult:
    """Simulate one virtual trial of a design given as JSON (a batch task).

    The task function :func:`run_virtual_trials` maps: the design travels as its
    JSON text, whose pickle is the same in every interpreter (a pydantic model's
    pickle holds a set, whose order changes between runs), so a checkpoint's
    fingerprint is stable and a killed run resumes.

    Parameters
    ----------
    design_json : str
        ``VirtualDesign.model_dump_json()``.
    rng : numpy.random.Generator
        The trial's random stream.

    Returns
    -------
    result : VirtualTrialResult
        As :func:`~plptms.trial._simulate.simulate_trial` returns it.
    """
    return simulate_trial(_design(design_json), rng)


def _check_effects(effects: Sequence[float]) -> list[float]:
    if isinstance(effects, str | bytes):
        raise TypeError(
            "Invalid type for 'effects': got str; allowed: a sequence of numbers "
            "(points)."
        )
    out: list[float] = []
    for k, e in enumerate(effects):
        check_type(e, (int, float), f"effects[{k}]")
        value = float(e) + 0.0
        if not math.isfinite(value):
            raise ValueError(
                f"Invalid value for 'effects': got {e!r} at position {k}; allowed: "
                "finite numbers of points."
            )
        if value in out:
            raise ValueError(
                f"Invalid value for 'effects': got {e!r} twice; allowed: distinct "
                "effects."
            )
        out.append(value)
    if not out:
        raise ValueError(
            "Invalid value for 'effects': got an empty list; allowed: at least one "
            "effect, or None for the design's own true_effect."
        )
    return out


def _check_sizes(sizes: Sequence[int], design: VirtualDesign) -> list[int]:
    if isinstance(sizes, str | bytes):
        raise TypeError(
            "Invalid type for 'sizes': got str; allowed: a sequence of ints (patients)."
        )
    low = 2 * len(design.definition.arms)
    out: list[int] = []
    for k, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(
                f"Invalid type for 'sizes[{k}]': got {type(n).__name__}; allowed: int."
            )
        if n < low or n in out:
            raise ValueError(
                f"Invalid value for 'sizes': got {n!r} at position {k}; allowed: "
                f"distinct sample sizes >= {low} (at least 2 patients per arm)."
            )
        out.append(n)
    if not out:
        raise ValueError(
            "Invalid value for 'sizes': got an empty list; allowed: at least one "
            "sample size, or None for the design's n_patients."
        )
    return out


def run_virtual_trials(
    design: VirtualDesign,
    n_trials: int,
    *,
    seed: int,
    backend: str = "auto",
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = False,
    effects: Sequence[float] | None = None,
    n_workers: int | None = None,
    sizes: Sequence[int] | None = None,
) -> VirtualStudy:
    """Run ``n_trials`` virtual trials per true effect and summarise each effect.

    Each effect's trials run through :func:`plptms.batch.run_tasks` (the task
    :func:`simulate_design_json`) with that effect's own seed block
    (:func:`effect_seed`; see the module notes), so the results are the same on
    every back-end and adding an effect does not change the others.

    Parameters
    ----------
    design : VirtualDesign
        The design; its ``true_effect`` is replaced by each effect in turn.
    n_trials : int
        Virtual trials per effect, >= 2.
    seed : int
        The study's seed, >= 0.
    backend : str
        A :func:`~plptms.batch.run_tasks` back-end: ``'auto'``, ``'serial'``,
        ``'processes'``, ``'dask'`` or a Dask scheduler address.
    checkpoint : str | os.PathLike | None
        A folder; each effect checkpoints in its sub-folder
        ``effect_<repr(effect)>`` (e.g. ``effect_-1.5``), so a rerun of the same
        call resumes. ``None`` for no checkpoint.
    progress : bool
        Show a progress bar per effect (rich, on stderr).
    effects : sequence of float | None
        True effects, points (distinct, finite); ``None`` for the design's own
        ``true_effect``.
    n_workers : int | None
        Worker processes (``None``: one per CPU).
    sizes : sequence of int | None
        Total sample sizes (distinct, at least 2 per arm) for a power curve over
        the sample size: the design is run at each in turn (``n_patients``, which
        is also the planned size of interim looks); ``None`` for the design's.
        Each (size, effect) has its own seed block (see the module notes) and
        checkpoint sub-folder ``n_<size>/effect_<repr(effect)>``.

    Returns
    -------
    study : VirtualStudy
        One summary per effect, in ``effects`` order (per size and effect with
        ``sizes``).

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n_trials``, ``seed``, ``effects``, ``sizes``, ``backend`` or
        ``n_workers`` has a wrong value, fewer than 2 trials of an effect are
        estimable, or the checkpoint holds another run
        (:class:`~plptms.batch.CheckpointMismatchError`).
    """
    check_type(design, VirtualDesign, "design")
    for name, value, low in (("n_trials", n_trials, 2), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"Invalid type for {name!r}: got {type(value).__name__}; allowed: int."
            )
        if value < low:
            raise ValueError(
                f"Invalid value for {name!r}: got {value!r}; allowed range is "
                f"[{low}, inf)."
            )
    values = _check_effects([design.true_effect] if effects is None else effects)
    size_list = None if sizes is None else _check_sizes(sizes, design)
    root = Path(checkpoint) if checkpoint is not None else None
    summaries = []
    for n in [None] if size_list is None else size_list:
        for effect in values:
            update: dict[str, object] = {"true_effect": effect}
            folder = root
            if n is not None:
                update["n_patients"] = n
                folder = None if root is None else root / f"n_{n}"
            variant = design.model_copy(update=update)
            results = run_tasks(
                simulate_design_json,
                [variant.model_dump_json()] * n_trials,
                seed=effect_seed(seed, effect, n),
                backend=backend,
                checkpoint=None if folder is None else folder / f"effect_{effect!r}",
                progress=progress,
                task_time_s=_TRIAL_TIME_S,
                n_workers=n_workers,
            )
            summaries.append(summarise_virtual_trials(results, effect))
    return VirtualStudy(
        definition_id=design.definition.id,
        n_patients=design.n_patients,
        sizes=size_list,
        n_trials=n_trials,
        alpha=design.definition.alpha,
        sided=design.definition.sided,
        seed=seed,
        summaries=summaries,
    )
