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
    "VirtualStudy",
    "effect_seed",
    "run_virtual_trials",
    "simulate_design_json",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: First word of every effect's spawn key (ASCII ``"vtri"``), so that effect
#: blocks never share a key with the plain children ``SeedSequence(seed).spawn``.
EFFECT_BLOCK_TAG: Final[int] = 0x76747269
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
        Patients randomised per virtual trial.
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
        One per effect, in the order the effects were given.
    """

    model_config = _FROZEN

    definition_id: str
    n_patients: int
    n_trials: int
    alpha: float
    sided: int
    seed: int
    summaries: list[VirtualTrialSummary]


def effect_seed(seed: int, effect: float) -> np.random.SeedSequence:
    """Return the seed block of one true effect.

    Parameters
    ----------
    seed : int
        The study's seed, >= 0.
    effect : float
        The true effect, points (finite).

    Returns
    -------
    block : numpy.random.SeedSequence
        ``SeedSequence(seed, spawn_key=(EFFECT_BLOCK_TAG, hi, lo))`` with ``hi``,
        ``lo`` the 32-bit words of ``effect``'s IEEE 754 double (``-0.0`` as
        ``0.0``).
    """
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(effect) + 0.0))
    return np.random.SeedSequence(
        seed, spawn_key=(EFFECT_BLOCK_TAG, bits >> 32, bits & 0xFFFFFFFF)
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

    Returns
    -------
    study : VirtualStudy
        One summary per effect, in ``effects`` order.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n_trials``, ``seed``, ``effects``, ``backend`` or ``n_workers`` has
        a wrong value, fewer than 2 trials of an effect are estimable, or the
        checkpoint holds another run
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
    root = Path(checkpoint) if checkpoint is not None else None
    summaries = []
    for effect in values:
        variant = design.model_copy(update={"true_effect": effect})
        results = run_tasks(
            simulate_design_json,
            [variant.model_dump_json()] * n_trials,
            seed=effect_seed(seed, effect),
            backend=backend,
            checkpoint=None if root is None else root / f"effect_{effect!r}",
            progress=progress,
            task_time_s=_TRIAL_TIME_S,
            n_workers=n_workers,
        )
        summaries.append(summarise_virtual_trials(results, effect))
    return VirtualStudy(
        definition_id=design.definition.id,
        n_patients=design.n_patients,
        n_trials=n_trials,
        alpha=design.definition.alpha,
        sided=design.definition.sided,
        seed=seed,
        summaries=summaries,
    )
