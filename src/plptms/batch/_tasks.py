"""Per-task random streams and the function one worker runs for one batch.

Task ``i`` draws from ``numpy.random.default_rng(SeedSequence(seed).spawn(n)[i])``.
The child sequence is rebuilt from the parent's state and the index alone (the way
``SeedSequence.spawn`` builds it: the same entropy and pool size, the spawn key
extended by ``n_children_spawned + i``), so a worker needs no other task's state
and the stream of a task never depends on its batch, worker or back-end.
"""

from __future__ import annotations

import pickle
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from ..utils import short_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["Failure", "SeedState", "run_batch", "seed_state", "task_generator"]

#: (entropy, spawn_key, pool_size, n_children_spawned) of the run's SeedSequence.
SeedState: TypeAlias = tuple[Any, tuple[int, ...], int, int]


def seed_state(seed: int | np.random.SeedSequence) -> SeedState:
    """Check ``seed`` and return the state its task streams are spawned from.

    Parameters
    ----------
    seed : int | numpy.random.SeedSequence
        An int >= 0, or a ``SeedSequence``. A ``SeedSequence`` is read, not
        advanced: the same object gives the same streams at every call (spawn
        children yourself, ``seed.spawn(k)``, for independent runs).

    Returns
    -------
    state : tuple
        ``(entropy, spawn_key, pool_size, n_children_spawned)``.

    Raises
    ------
    TypeError
        If ``seed`` is neither an int nor a ``SeedSequence``.
    ValueError
        If ``seed`` is a negative int.
    """
    if isinstance(seed, np.random.SeedSequence):
        return (
            seed.entropy,
            tuple(int(k) for k in seed.spawn_key),
            int(seed.pool_size),
            int(seed.n_children_spawned),
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"Invalid type for 'seed': got {type(seed).__name__} ({short_repr(seed)})"
            "; allowed: int >= 0, numpy.random.SeedSequence."
        )
    if seed < 0:
        raise ValueError(
            f"Invalid value for 'seed': got {short_repr(seed)}; allowed: an int >= 0 "
            "or a numpy.random.SeedSequence."
        )
    root = np.random.SeedSequence(int(seed))
    return (root.entropy, (), int(root.pool_size), 0)


def task_generator(state: SeedState, index: int) -> np.random.Generator:
    """Return task ``index``'s generator: that of ``spawn(n)[index]``.

    Parameters
    ----------
    state : tuple
        From :func:`seed_state`.
    index : int
        The task's position in params.

    Returns
    -------
    rng : numpy.random.Generator
        A PCG64 generator on the task's child ``SeedSequence``.
    """
    entropy, key, pool_size, spawned = state
    child = np.random.SeedSequence(
        entropy, spawn_key=(*key, spawned + index), pool_size=pool_size
    )
    return np.random.default_rng(child)


@dataclass(frozen=True)
class Failure:
    """A task that raised: its index, the exception and the worker's traceback."""

    index: int
    error: BaseException
    traceback: str


def _portable(err: BaseException) -> BaseException:
    """Return ``err`` if it survives pickling, else a ``RuntimeError`` naming it."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err


def run_batch(
    func: Callable[[Any, np.random.Generator], Any],
    params: Sequence[Any],
    start: int,
    state: SeedState,
    portable: bool = True,
) -> list[Any] | Failure:
    """Run ``params[start:start + len(params)]`` one after the other.

    Parameters
    ----------
    func : callable
        ``func(param, rng) -> result``.
    params : sequence
        This batch's params.
    start : int
        Index of the batch's first param in the whole run.
    state : tuple
        From :func:`seed_state`.
    portable : bool
        Whether a failure crosses a process boundary (make its exception
        picklable).

    Returns
    -------
    results : list | Failure
        The results in order, or the first task's failure (the batch stops there).
    """
    out: list[Any] = []
    for k, param in enumerate(params):
        try:
            out.append(func(param, task_generator(state, start + k)))
        except Exception as err:
            error = _portable(err) if portable else err
            return Failure(start + k, error, traceback.format_exc())
    return out
