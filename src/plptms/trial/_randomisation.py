"""Allocation methods for multicentre trials, generated at enrolment and replayable.

Three methods, each a small frozen configuration with one ``allocate`` method
(the module function :func:`allocate` dispatches to it):

- :class:`SimpleRandomisation`: independent draws with an allocation ratio;
- :class:`PermutedBlocks`: stratified permuted blocks whose sizes are drawn at
  random from a configured set (each a multiple of the ratio sum);
- :class:`Minimisation`: Pocock-Simon minimisation :footcite:`pocock1975` over
  marginal factor totals, with range, variance or SD imbalance, factor weights,
  unequal ratios and a random element ``p``.

An allocation is a pure function of the stored history (the earlier allocations
with their arms, factors and strata), of the new patient's factors, of the
configuration and of a keyed random source (:class:`~._prng.HmacRandom`). No
allocation list exists before enrolment and no generator state is kept, so the
trial statistician replays every allocation from the history and the secret, and
an operator who sees the history but not the secret cannot predict the next arm
(except where the method itself forces it, e.g. the last slot of a block).

Design properties are assessed by simulation, vectorised over many trials with
NumPy (:func:`simulate_allocations`), with the measures of the R package randomizeR
:footcite:`uschner2018`: the probability of a correct guess under the convergence
strategy of Blackwell and Hodges :footcite:`blackwell1957` and the expected
absolute final imbalance. :func:`exact_block_correct_guesses` and
:func:`exact_simple_imbalance` give exact values to set against the simulations.

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..utils import check_option, check_type
from ._prng import HmacRandom

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

__all__ = [
    "Allocation",
    "AllocationRecord",
    "Minimisation",
    "PermutedBlocks",
    "SimpleRandomisation",
    "SimulatedAllocations",
    "allocate",
    "correct_guess_probability",
    "exact_block_correct_guesses",
    "exact_simple_imbalance",
    "factor_imbalance",
    "final_imbalance",
    "pocock_simon_scores",
    "simulate_allocations",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_TIE_ATOL = 1e-9  # imbalance scores closer than this are ties

ImbalanceKind = Literal["range", "variance", "sd"]


# --------------------------------------------------------------------------------------
# Records and results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AllocationRecord:
    """One earlier allocation, as stored: what a replay needs.

    Parameters
    ----------
    arm : str
        The arm allocated.
    factors : Mapping[str, str]
        The patient's factor levels (site, limb, pain band, ...) at enrolment.
    stratum : str | None
        The stratum key the allocation was made in (permuted blocks); ``None``
        means "compute it from ``factors``".
    """

    arm: str
    factors: Mapping[str, str] = field(default_factory=dict)
    stratum: str | None = None


@dataclass(frozen=True, slots=True)
class BlockState:
    """Where an allocation fell in its stratum's permuted blocks.

    Parameters
    ----------
    number : int
        0-based number of the block within the stratum.
    size : int
        The block's size.
    position : int
        0-based position of this allocation in the block.
    """

    number: int
    size: int
    position: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """One allocation with what an auditor needs to check it.

    Parameters
    ----------
    arm : str
        The arm allocated.
    index : int
        0-based enrolment index in the trial (the length of the history).
    method : str
        ``'simple'``, ``'permuted_blocks'`` or ``'minimisation'``.
    stratum : str | None
        The stratum key (permuted blocks), else ``None``.
    probabilities : Mapping[str, float]
        Probability of each arm for this allocation, given the history.
    draw : float
        The uniform number used (``k / m`` for an integer draw ``k`` of ``m``).
    message : str
        The text that was authenticated for the draw (no secret in it).
    scores : Mapping[str, float] | None
        Minimisation: the weighted imbalance if the patient joined each arm.
    block : BlockState | None
        Permuted blocks: the block and position.
    """

    arm: str
    index: int
    method: str
    stratum: str | None
    probabilities: Mapping[str, float]
    draw: float
    message: str
    scores: Mapping[str, float] | None = None
    block: BlockState | None = None


# --------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------
class _ArmsConfig(BaseModel):
    """Arms and allocation ratio shared by every method."""

    model_config = _FROZEN

    arms: tuple[str, ...]
    ratio: tuple[int, ...] | None = None

    @model_validator(mode="after")
    def _check_arms(self) -> _ArmsConfig:
        if len(self.arms) < 2:
            raise ValueError(
                f"Invalid value for 'arms': got {list(self.arms)!r}; allowed: at "
                "least 2 arms."
            )
        if len(set(self.arms)) != len(self.arms) or any(not a for a in self.arms):
            raise ValueError(
                f"Invalid value for 'arms': got {list(self.arms)!r}; allowed: "
                "distinct, non-empty names."
            )
        if self.ratio is not None:
            if len(self.ratio) != len(self.arms):
                raise ValueError(
                    f"Invalid value for 'ratio': got {list(self.ratio)!r}; allowed: "
                    f"{len(self.arms)} whole numbers, one per arm."
                )
            if any(r < 1 for r in self.ratio):
                raise ValueError(
                    f"Invalid value for 'ratio': got {list(self.ratio)!r}; allowed: "
                    "whole numbers >= 1."
                )
        return self

    @property
    def ratio_weights(self) -> tuple[int, ...]:
        """The ratio, all ones when none was given."""
        return self.ratio if self.ratio is not None else (1,) * len(self.arms)

    @property
    def shares(self) -> NDArray[np.float64]:
        """Target share of each arm, ``ratio / sum(ratio)``."""
        w = np.asarray(self.ratio_weights, dtype=np.float64)
        out: NDArray[np.float64] = w / w.sum()
        return out

    def _arm_index(self, history: Sequence[AllocationRecord]) -> NDArray[np.intp]:
        """Arm index of each history record, checking records and arms."""
        lookup = {a: k for k, a in enumerate(self.arms)}
        out = np.empty(len(history), dtype=np.intp)
        for j, rec in enumerate(history):
            check_type(rec, AllocationRecord, f"history[{j}]")
            if rec.arm not in lookup:
                check_option(rec.arm, f"history[{j}].arm", self.arms)
            out[j] = lookup[rec.arm]
        return out


class SimpleRandomisation(_ArmsConfig):
    """Simple (unrestricted) randomisation with an allocation ratio.

    Each patient is allocated independently: arm ``k`` with probability
    ``ratio[k] / sum(ratio)``, from one whole-number draw on ``[0, sum(ratio))``.

    Parameters
    ----------
    arms : tuple of str
        Arm names, at least two.
    ratio : tuple of int | None
        Allocation ratio, e.g. ``(2, 1)``; ``None`` means equal.
    """

    method: Literal["simple"] = "simple"

    def allocate(
        self,
        history: Sequence[AllocationRecord],
        patient_factors: Mapping[str, str],
        draw: HmacRandom,
    ) -> Allocation:
        """Allocate the next patient.

        Parameters
        ----------
        history : sequence of AllocationRecord
            Every earlier allocation in the trial, in enrolment order.
        patient_factors : Mapping[str, str]
            The new patient's factors (not used by this method).
        draw : HmacRandom
            The trial's keyed random source.

        Returns
        -------
        allocation : Allocation
            The arm and its audit data.

        Raises
        ------
        TypeError, ValueError
            If the history names an unknown arm or an argument has the wrong type.
        """
        check_type(draw, HmacRandom, "draw")
        self._arm_index(history)
        index = len(history)
        total = sum(self.ratio_weights)
        k = draw.integer(total, index, "arm")
        arm = int(np.searchsorted(np.cumsum(self.ratio_weights), k, side="right"))
        return Allocation(
            arm=self.arms[arm],
            index=index,
            method=self.method,
            stratum=None,
            probabilities=dict(zip(self.arms, self.shares.tolist(), strict=True)),
            draw=k / total,
            message=draw.message(index, "arm"),
        )


def _stratum_key(factors: Mapping[str, str], strata: Sequence[str], where: str) -> str:
    parts = []
    for name in strata:
        if name not in factors:
            raise ValueError(
                f"Invalid value for {where!r}: got factors {sorted(factors)!r}; "
                f"allowed: a mapping that gives the stratification factor {name!r}."
            )
        level = factors[name]
        check_type(level, str, f"{where}[{name!r}]")
        if any(c in level for c in "|;="):
            raise ValueError(
                f"Invalid value for {where}[{name!r}]: got {level!r}; allowed: "
                "text without '|', ';' or '='."
            )
        parts.append(f"{name}={level}")
    return ";".join(parts)


class PermutedBlocks(_ArmsConfig):
    """Stratified permuted blocks with randomly varying block sizes.

    Within each stratum (one combination of the levels of ``strata``), patients are
    allocated in consecutive blocks. Block ``b`` of stratum ``s`` has a size drawn
    uniformly from ``block_sizes`` (draw ``(s, b, 'block_size')``) and holds each
    arm in proportion to the ratio; the next patient is allocated by a draw from
    the slots still free in the current block (draw ``(s, n_s, 'arm')`` where
    ``n_s`` counts the earlier allocations in the stratum), which is a random
    permutation of the block revealed one patient at a time. The block in progress
    is reconstructed from the history; a history whose arms do not fit the blocks
    (a record edited, or another secret) is refused.

    Parameters
    ----------
    arms : tuple of str
        Arm names, at least two.
    ratio : tuple of int | None
        Allocation ratio; ``None`` means equal.
    block_sizes : tuple of int
        The sizes to choose from, each a multiple of ``sum(ratio)``, e.g. ``(4, 6)``
        for two arms 1:1.
    strata : tuple of str
        Names of the stratification factors (e.g. ``('site', 'limb')``); empty for
        one stratum (the whole trial).
    """

    method: Literal["permuted_blocks"] = "permuted_blocks"
    block_sizes: tuple[int, ...]
    strata: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_blocks(self) -> PermutedBlocks:
        total = sum(self.ratio_weights)
        sizes = list(self.block_sizes)
        if not sizes or len(set(sizes)) != len(sizes):
            raise ValueError(
                f"Invalid value for 'block_sizes': got {sizes!r}; allowed: one or "
                "more distinct sizes."
            )
        bad = [s for s in sizes if s < total or s % total]
        if bad:
            raise ValueError(
                f"Invalid value for 'block_sizes': got {sizes!r}; allowed: "
                f"multiples of the ratio sum {total} (e.g. {total}, {2 * total})."
            )
        if len(set(self.strata)) != len(self.strata):
            raise ValueError(
                f"Invalid value for 'strata': got {list(self.strata)!r}; allowed: "
                "distinct factor names."
            )
        return self

    def stratum_of(self, factors: Mapping[str, str]) -> str | None:
        """Return the stratum key of a patient (``None`` without strata).

        Parameters
        ----------
        factors : Mapping[str, str]
            The patient's factor levels.

        Returns
        -------
        key : str | None
            E.g. ``'site=A;limb=upper'``.
        """
        if not self.strata:
            return None
        return _stratum_key(factors, self.strata, "patient_factors")

    def _block_size(self, draw: HmacRandom, stratum: str | None, number: int) -> int:
        k = draw.integer(len(self.block_sizes), number, "block_size", stratum)
        return self.block_sizes[k]

    def allocate(
        self,
        history: Sequence[AllocationRecord],
        patient_factors: Mapping[str, str],
        draw: HmacRandom,
    ) -> Allocation:
        """Allocate the next patient.

        Parameters
        ----------
        history : sequence of AllocationRecord
            Every earlier allocation in the trial, in enrolment order.
        patient_factors : Mapping[str, str]
            The new patient's factors; must give every stratification factor.
        draw : HmacRandom
            The trial's keyed random source.

        Returns
        -------
        allocation : Allocation
            The arm, the stratum, the block and its audit data.

        Raises
        ------
        ValueError
            If a stratification factor is missing, the history names an unknown
            arm, or the stratum's history does not fit its blocks.
        """
        check_type(draw, HmacRandom, "draw")
        arms = self._arm_index(history)
        stratum = self.stratum_of(patient_factors)
        in_stratum = []
        for j, rec in enumerate(history):
            key = rec.stratum
            if key is None and self.strata:
                key = _stratum_key(rec.factors, self.strata, f"history[{j}].factors")
            if key == stratum:
                in_stratum.append(arms[j])
        seq = np.asarray(in_stratum, dtype=np.intp)
        n_s = len(seq)
        weights = np.asarray(self.ratio_weights)
        total = int(weights.sum())
        number, start = 0, 0
        while True:
            size = self._block_size(draw, stratum, number)
            composition = weights * (size // total)
            stop = min(start + size, n_s)
            used = np.bincount(seq[start:stop], minlength=len(self.arms))
            if np.any(used > composition):
                raise ValueError(
                    f"Invalid value for 'history': the allocations in stratum "
                    f"{stratum or '(all)'!r} do not fit block {number} (size {size}, "
                    f"composition {composition.tolist()}, got {used.tolist()}); "
                    "allowed: a history produced by this configuration and secret."
                )
            if start + size > n_s:
                break
            start += size
            number += 1
        remaining = composition - used
        free = int(remaining.sum())
        k = draw.integer(free, n_s, "arm", stratum)
        arm = int(np.searchsorted(np.cumsum(remaining), k, side="right"))
        probs = remaining / free
        return Allocation(
            arm=self.arms[arm],
            index=len(history),
            method=self.method,
            stratum=stratum,
            probabilities=dict(zip(self.arms, probs.tolist(), strict=True)),
            draw=k / free,
            message=draw.message(n_s, "arm", stratum),
            block=BlockState(number=number, size=size, position=n_s - start),
        )


def pocock_simon_scores(
    counts: NDArray[np.float64] | Sequence[Sequence[float]],
    *,
    ratio: Sequence[int] | None = None,
    weights: Sequence[float] | None = None,
    imbalance: ImbalanceKind = "range",
) -> NDArray[np.float64]:
    """Weighted Pocock-Simon imbalance if the next patient joined each arm.

    For factor ``i`` let ``x_ik`` be the number of earlier patients with the new
    patient's level of that factor in arm ``k``. If the patient joined arm ``t``
    the counts become ``x_ik + [k = t]``; each is divided by the arm's ratio
    weight ``r_k`` (so that a 2:1 design is balanced when counts are 2:1), and
    ``D_i(t)`` is the range, variance (over arms, divisor ``K``) or SD of the
    adjusted counts. The score is ``G_t = sum_i w_i D_i(t)``
    :footcite:`pocock1975`; the preferred arm has the smallest score.

    Dividing by the ratio is the usual extension to unequal allocation; that it is
    the rule discussed by Kuznetsova and Tymofyeyev :footcite:`kuznetsova2012` is
    not verified (the paper was not read).

    Parameters
    ----------
    counts : array-like, shape (n_factors, n_arms) or (..., n_factors, n_arms)
        Earlier patients per arm at the new patient's level of each factor; extra
        leading axes are batches (e.g. simulated trials).
    ratio : sequence of int | None
        Allocation ratio; ``None`` means equal.
    weights : sequence of float | None
        Factor weights ``w_i``; ``None`` means all 1.
    imbalance : {'range', 'variance', 'sd'}
        The imbalance function ``D``.

    Returns
    -------
    scores : ndarray, shape (n_arms,) or (..., n_arms)
        ``G_t`` for each arm ``t``.

    Raises
    ------
    ValueError
        If shapes, ratio, weights or ``imbalance`` are invalid.

    References
    ----------
    .. footbibliography::
    """
    check_option(imbalance, "imbalance", ("range", "variance", "sd"))
    x = np.asarray(counts, dtype=float)
    if x.ndim < 2 or x.shape[-1] < 2 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(
            f"Invalid value for 'counts': got shape {x.shape}; allowed: finite, "
            "non-negative counts of shape (n_factors, n_arms >= 2)."
        )
    n_factors, n_arms = x.shape[-2:]
    r = np.ones(n_arms) if ratio is None else np.asarray(ratio, dtype=float)
    if r.shape != (n_arms,) or np.any(r <= 0):
        raise ValueError(
            f"Invalid value for 'ratio': got {ratio!r}; allowed: {n_arms} positive "
            "numbers."
        )
    w = np.ones(n_factors) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_factors,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            f"Invalid value for 'weights': got {weights!r}; allowed: {n_factors} "
            "finite, non-negative numbers."
        )
    # hyp[..., i, t, k]: counts of factor i if the patient joined arm t
    hyp = x[..., :, None, :] + np.eye(n_arms)
    adj = hyp / r
    if imbalance == "range":
        d = adj.max(axis=-1) - adj.min(axis=-1)
    else:
        d = adj.var(axis=-1)
        if imbalance == "sd":
            d = np.sqrt(d)
    scores: NDArray[np.float64] = np.einsum("...it,i->...t", d, w)
    return scores


def _mixing_weight(p: float, n_arms: int) -> float:
    """Weight of the preferred arm(s) in the mixture with simple randomisation."""
    return 1.0 if p == 1.0 else (p * n_arms - 1.0) / (n_arms - 1.0)


def _minimisation_probabilities(
    scores: NDArray[np.float64], shares: NDArray[np.float64], p: float
) -> NDArray[np.float64]:
    """Allocation probabilities from scores: ``lam * preferred + (1 - lam) * ratio``."""
    best = scores.min(axis=-1, keepdims=True)
    pref = np.abs(scores - best) <= _TIE_ATOL
    pref_share = np.where(pref, shares, 0.0)
    pref_share = pref_share / pref_share.sum(axis=-1, keepdims=True)
    lam = _mixing_weight(p, shares.shape[-1])
    out: NDArray[np.float64] = lam * pref_share + (1.0 - lam) * shares
    return out


class Minimisation(_ArmsConfig):
    """Pocock-Simon minimisation with a random element.

    The new patient's score ``G_t`` for each arm is computed by
    :func:`pocock_simon_scores` from the earlier patients who share each of the
    patient's factor levels (a level never seen before counts zero in every arm).
    The arm(s) with the smallest score are preferred :footcite:`pocock1975`.

    The random element ``p`` is the probability of the preferred arm in an equal
    allocation design, as in Pocock and Simon's rule: the preferred arm gets ``p``
    and the others ``(1 - p) / (K - 1)``. plptms writes this as a mixture,
    ``P = lam * preferred + (1 - lam) * ratio`` with ``lam = (p K - 1) / (K - 1)``,
    and keeps the mixture for unequal ratios, so that every arm keeps at least
    ``(1 - lam)`` times its ratio share and a preferred arm never gets less than
    its share (a plptms rule; with a fixed ``p`` for the preferred arm, a 2:1
    design at ``p = 0.6`` would make the larger arm less likely when preferred than
    under simple randomisation). Ties share the preferred weight in proportion to
    the ratio. ``p = 1`` is deterministic except for ties; ``p = 1/K`` is simple
    randomisation; ``p`` below ``1/K`` (including ``p = 0``, which would always
    allocate away from balance) is refused.

    Parameters
    ----------
    arms : tuple of str
        Arm names, at least two.
    ratio : tuple of int | None
        Allocation ratio; ``None`` means equal.
    factors : tuple of str
        Names of the minimisation factors, e.g. ``('site', 'limb', 'pain_band')``.
    weights : tuple of float | None
        One weight per factor; ``None`` means all 1.
    imbalance : {'range', 'variance', 'sd'}
        The imbalance function ``D``.
    p : float
        The random element, in ``[1/K, 1]``; default 0.8.

    References
    ----------
    .. footbibliography::
    """

    method: Literal["minimisation"] = "minimisation"
    factors: tuple[str, ...]
    weights: tuple[float, ...] | None = None
    imbalance: ImbalanceKind = "range"
    p: float = 0.8

    @model_validator(mode="after")
    def _check_minimisation(self) -> Minimisation:
        if not self.factors or len(set(self.factors)) != len(self.factors):
            raise ValueError(
                f"Invalid value for 'factors': got {list(self.factors)!r}; allowed: "
                "one or more distinct factor names."
            )
        if self.weights is not None and (
            len(self.weights) != len(self.factors)
            or any(not math.isfinite(w) or w < 0 for w in self.weights)
            or sum(self.weights) <= 0
        ):
            raise ValueError(
                f"Invalid value for 'weights': got {list(self.weights)!r}; allowed: "
                f"{len(self.factors)} finite, non-negative numbers, not all 0."
            )
        n_arms = len(self.arms)
        if not (math.isfinite(self.p) and 1.0 / n_arms <= self.p <= 1.0):
            raise ValueError(
                f"Invalid value for 'p': got {self.p!r}; allowed range is "
                f"[{1.0 / n_arms:g}, 1] (1/K to 1 for K = {n_arms} arms; below 1/K "
                "the preferred arm would be less likely than under simple "
                "randomisation, and p = 0 would always allocate away from balance)."
            )
        return self

    @property
    def factor_weights(self) -> tuple[float, ...]:
        """The factor weights, all ones when none were given."""
        return self.weights if self.weights is not None else (1.0,) * len(self.factors)

    def _level(self, factors: Mapping[str, str], name: str, where: str) -> str:
        if name not in factors:
            raise ValueError(
                f"Invalid value for {where!r}: got factors {sorted(factors)!r}; "
                f"allowed: a mapping that gives the minimisation factor {name!r}."
            )
        level = factors[name]
        check_type(level, str, f"{where}[{name!r}]")
        return level

    def level_counts(
        self, history: Sequence[AllocationRecord], patient_factors: Mapping[str, str]
    ) -> NDArray[np.float64]:
        """Count earlier patients per arm at the new patient's level of each factor.

        Parameters
        ----------
        history : sequence of AllocationRecord
            Every earlier allocation in the trial.
        patient_factors : Mapping[str, str]
            The new patient's factors.

        Returns
        -------
        counts : ndarray, shape (n_factors, n_arms)
            ``x_ik`` of :func:`pocock_simon_scores`.
        """
        arms = self._arm_index(history)
        levels = [
            self._level(patient_factors, f, "patient_factors") for f in self.factors
        ]
        counts = np.zeros((len(self.factors), len(self.arms)))
        for j, rec in enumerate(history):
            for i, name in enumerate(self.factors):
                if self._level(rec.factors, name, f"history[{j}].factors") == levels[i]:
                    counts[i, arms[j]] += 1
        return counts

    def allocate(
        self,
        history: Sequence[AllocationRecord],
        patient_factors: Mapping[str, str],
        draw: HmacRandom,
    ) -> Allocation:
        """Allocate the next patient.

        Parameters
        ----------
        history : sequence of AllocationRecord
            Every earlier allocation in the trial, in enrolment order.
        patient_factors : Mapping[str, str]
            The new patient's factors; must give every minimisation factor.
        draw : HmacRandom
            The trial's keyed random source.

        Returns
        -------
        allocation : Allocation
            The arm, the scores and the probabilities used.

        Raises
        ------
        ValueError
            If a factor is missing or the history names an unknown arm.
        """
        check_type(draw, HmacRandom, "draw")
        counts = self.level_counts(history, patient_factors)
        scores = pocock_simon_scores(
            counts,
            ratio=self.ratio_weights,
            weights=self.factor_weights,
            imbalance=self.imbalance,
        )
        probs = _minimisation_probabilities(scores, self.shares, self.p)
        index = len(history)
        u = draw.uniform(index, "arm")
        arm = _categorical(probs, u)
        return Allocation(
            arm=self.arms[arm],
            index=index,
            method=self.method,
            stratum=None,
            probabilities=dict(zip(self.arms, probs.tolist(), strict=True)),
            draw=u,
            message=draw.message(index, "arm"),
            scores=dict(zip(self.arms, scores.tolist(), strict=True)),
        )


def _categorical(probs: NDArray[np.float64], u: float) -> int:
    """Index ``k`` with ``cumsum(probs)[k-1] <= u < cumsum(probs)[k]``."""
    cum = np.cumsum(probs)
    k = int(np.searchsorted(cum, u, side="right"))
    # guard the last arm against rounding (cum[-1] may be 1 - 1e-16); never pick an
    # arm of probability 0
    k = min(k, len(probs) - 1)
    while probs[k] <= 0.0:
        k -= 1
    return k


AllocationConfig = SimpleRandomisation | PermutedBlocks | Minimisation


def allocate(
    history: Sequence[AllocationRecord],
    patient_factors: Mapping[str, str],
    config: AllocationConfig,
    draw: HmacRandom,
) -> Allocation:
    """Allocate the next patient with the configured method.

    Parameters
    ----------
    history : sequence of AllocationRecord
        Every earlier allocation in the trial, in enrolment order.
    patient_factors : Mapping[str, str]
        The new patient's factor levels.
    config : SimpleRandomisation | PermutedBlocks | Minimisation
        The method and its settings.
    draw : HmacRandom
        The trial's keyed random source.

    Returns
    -------
    allocation : Allocation
        The arm and its audit data.

    Raises
    ------
    TypeError
        If ``config`` is not one of the three methods.
    ValueError
        See the method's ``allocate``.
    """
    check_type(config, (SimpleRandomisation, PermutedBlocks, Minimisation), "config")
    return config.allocate(history, patient_factors, draw)


# --------------------------------------------------------------------------------------
# Simulation: imbalance and predictability over many trials (vectorised)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SimulatedAllocations:
    """Allocations of many simulated trials.

    Parameters
    ----------
    arms : ndarray of int, shape (n_trials, n_patients)
        Arm index of each patient, in enrolment order.
    factors : ndarray of int, shape (n_trials, n_patients, n_factors)
        Level index of each patient's factors.
    factor_names : tuple of str
        Names of the factors, in the order of the last axis of ``factors``.
    n_arms : int
        Number of arms.
    ratio : tuple of int
        The allocation ratio.
    """

    arms: NDArray[np.intp]
    factors: NDArray[np.intp]
    factor_names: tuple[str, ...]
    n_arms: int
    ratio: tuple[int, ...]

    def factor(self, name: str) -> NDArray[np.intp]:
        """Return the level index of one factor, shape (n_trials, n_patients).

        Parameters
        ----------
        name : str
            The factor's name.

        Returns
        -------
        levels : ndarray of int
            Level indices.
        """
        check_option(name, "name", self.factor_names)
        return self.factors[..., self.factor_names.index(name)]


def _draw_factors(
    rng: np.random.Generator,
    factor_levels: Mapping[str, Sequence[float]],
    n_trials: int,
    n_patients: int,
) -> NDArray[np.intp]:
    out = np.empty((n_trials, n_patients, len(factor_levels)), dtype=np.intp)
    for j, (name, probs) in enumerate(factor_levels.items()):
        pr = np.asarray(probs, dtype=float)
        if pr.ndim != 1 or pr.size < 1 or np.any(pr < 0) or abs(pr.sum() - 1) > 1e-9:
            raise ValueError(
                f"Invalid value for 'factor_levels[{name!r}]': got {list(pr)!r}; "
                "allowed: level probabilities that are >= 0 and sum to 1."
            )
        u = rng.random((n_trials, n_patients))
        out[..., j] = np.minimum(
            np.searchsorted(np.cumsum(pr), u, side="right"), pr.size - 1
        )
    return out


def _check_sim_factors(
    needed: Sequence[str], factor_levels: Mapping[str, Sequence[float]]
) -> None:
    missing = [f for f in needed if f not in factor_levels]
    if missing:
        raise ValueError(
            f"Invalid value for 'factor_levels': got factors {list(factor_levels)!r}; "
            f"allowed: a mapping that also gives {missing!r}."
        )


def simulate_allocations(
    config: AllocationConfig,
    n_patients: int,
    n_trials: int,
    factor_levels: Mapping[str, Sequence[float]] | None = None,
    *,
    seed: int | None = None,
) -> SimulatedAllocations:
    """Simulate many trials allocated by one method, vectorised over trials.

    Patients' factor levels are drawn independently from ``factor_levels``. The
    random numbers come from NumPy's generator (``seed``), not from the keyed source:
    the simulation studies the design, not one trial. Each method's probabilities
    are those of its ``allocate``; the minimisation scores use the same
    :func:`pocock_simon_scores`.

    Parameters
    ----------
    config : SimpleRandomisation | PermutedBlocks | Minimisation
        The method.
    n_patients : int
        Patients per trial.
    n_trials : int
        Number of simulated trials.
    factor_levels : Mapping[str, sequence of float] | None
        For each factor, the probabilities of its levels (level ``j`` is
        ``str(j)``); must include the method's strata or minimisation factors.
    seed : int | None
        Seed of the NumPy generator.

    Returns
    -------
    sim : SimulatedAllocations
        The allocations and factors.

    Raises
    ------
    ValueError
        If sizes are not positive or a factor the method needs is missing.
    """
    check_type(config, (SimpleRandomisation, PermutedBlocks, Minimisation), "config")
    for value, name in ((n_patients, "n_patients"), (n_trials, "n_trials")):
        check_type(value, int, name)
        if value < 1:
            raise ValueError(
                f"Invalid value for {name!r}: got {value}; allowed range is [1, inf)."
            )
    levels = dict(factor_levels or {})
    rng = np.random.default_rng(seed)
    factors = _draw_factors(rng, levels, n_trials, n_patients)
    names = tuple(levels)
    n_arms = len(config.arms)
    shares = config.shares
    if isinstance(config, SimpleRandomisation):
        u = rng.random((n_trials, n_patients))
        arms = np.minimum(
            np.searchsorted(np.cumsum(shares), u, side="right"), n_arms - 1
        )
    elif isinstance(config, PermutedBlocks):
        _check_sim_factors(config.strata, levels)
        arms = _simulate_blocks(config, rng, factors, names, levels, n_patients)
    else:
        _check_sim_factors(config.factors, levels)
        arms = _simulate_minimisation(config, rng, factors, names, levels)
    return SimulatedAllocations(
        arms=arms.astype(np.intp),
        factors=factors,
        factor_names=names,
        n_arms=n_arms,
        ratio=config.ratio_weights,
    )


def _simulate_blocks(
    config: PermutedBlocks,
    rng: np.random.Generator,
    factors: NDArray[np.intp],
    names: tuple[str, ...],
    levels: Mapping[str, Sequence[float]],
    n_patients: int,
) -> NDArray[np.intp]:
    n_trials = factors.shape[0]
    stratum = np.zeros(factors.shape[:2], dtype=np.intp)
    n_strata = 1
    for name in config.strata:
        stratum = stratum * len(levels[name]) + factors[..., names.index(name)]
        n_strata *= len(levels[name])
    sizes = np.asarray(config.block_sizes)
    big = int(sizes.max())
    weights = np.asarray(config.ratio_weights)
    total = int(weights.sum())
    patterns = np.full((sizes.size, big), -1, dtype=np.intp)
    for j, size in enumerate(sizes):
        row = np.repeat(np.arange(len(weights)), weights * (size // total))
        patterns[j, : row.size] = row
    # one allocation sequence per (trial, stratum), block after block
    seq = np.full((n_trials, n_strata, n_patients + 2 * big), -1, dtype=np.int16)
    pos = np.zeros((n_trials, n_strata), dtype=np.intp)
    slots = np.arange(big)
    for _ in range(-(-n_patients // int(sizes.min()))):
        choice = rng.integers(sizes.size, size=(n_trials, n_strata))
        pat = patterns[choice]
        keys = rng.random(pat.shape)
        keys[pat < 0] = np.inf
        perm = np.take_along_axis(pat, np.argsort(keys, axis=-1), axis=-1)
        np.put_along_axis(seq, pos[..., None] + slots, perm.astype(np.int16), axis=-1)
        pos += np.where(pos < n_patients, sizes[choice], 0)
    rows = np.arange(n_trials)
    used = np.zeros((n_trials, n_strata), dtype=np.intp)
    arms = np.empty((n_trials, n_patients), dtype=np.intp)
    for i in range(n_patients):
        s = stratum[:, i]
        arms[:, i] = seq[rows, s, used[rows, s]]
        used[rows, s] += 1
    return arms


def _simulate_minimisation(
    config: Minimisation,
    rng: np.random.Generator,
    factors: NDArray[np.intp],
    names: tuple[str, ...],
    levels: Mapping[str, Sequence[float]],
) -> NDArray[np.intp]:
    n_trials, n_patients = factors.shape[:2]
    n_arms = len(config.arms)
    cols = [names.index(f) for f in config.factors]
    counts = [np.zeros((n_trials, len(levels[f]), n_arms)) for f in config.factors]
    rows = np.arange(n_trials)
    arms = np.empty((n_trials, n_patients), dtype=np.intp)
    shares = config.shares
    for i in range(n_patients):
        lv = [factors[:, i, c] for c in cols]
        x = np.stack([cnt[rows, lvl] for cnt, lvl in zip(counts, lv, strict=True)], 1)
        scores = pocock_simon_scores(
            x,
            ratio=config.ratio_weights,
            weights=config.factor_weights,
            imbalance=config.imbalance,
        )
        probs = _minimisation_probabilities(scores, shares, config.p)
        cum = np.cumsum(probs, axis=1)
        cum[:, -1] = np.inf
        arm = np.argmax(rng.random((n_trials, 1)) < cum, axis=1)
        arms[:, i] = arm
        for cnt, lvl in zip(counts, lv, strict=True):
            cnt[rows, lvl, arm] += 1
    return arms


def correct_guess_probability(
    sim: SimulatedAllocations, scope: str | None = None
) -> NDArray[np.float64]:
    """Proportion of correct guesses per trial under the convergence strategy.

    Before each patient the guesser names the arm allocated least so far relative
    to the ratio (smallest ``n_k / r_k``) :footcite:`blackwell1957`; a tie among
    ``m`` arms earns ``1/m`` (the expected credit of a random pick among them, as
    randomizeR's and SeqAlloc's ``cguess`` do for two arms). With ``scope`` the
    guesser sees only the allocations of the patient's own level of that factor,
    e.g. ``'site'``: an investigator who knows the allocations at the site.

    Parameters
    ----------
    sim : SimulatedAllocations
        The simulated trials.
    scope : str | None
        Factor whose level limits what the guesser sees; ``None`` for the whole
        trial.

    Returns
    -------
    p_correct : ndarray, shape (n_trials,)
        Mean credit over the patients of each trial.

    References
    ----------
    .. footbibliography::
    """
    check_type(sim, SimulatedAllocations, "sim")
    n_trials, n_patients = sim.arms.shape
    if scope is None:
        group = np.zeros((n_trials, n_patients), dtype=np.intp)
    else:
        group = sim.factor(scope)
    n_groups = int(group.max()) + 1
    counts = np.zeros((n_trials, n_groups, sim.n_arms))
    r = np.asarray(sim.ratio, dtype=float)
    rows = np.arange(n_trials)
    credit = np.zeros(n_trials)
    for i in range(n_patients):
        g = group[:, i]
        adj = counts[rows, g] / r
        guess = np.abs(adj - adj.min(axis=1, keepdims=True)) <= _TIE_ATOL
        arm = sim.arms[:, i]
        credit += guess[rows, arm] / guess.sum(axis=1)
        counts[rows, g, arm] += 1
    out: NDArray[np.float64] = credit / n_patients
    return out


def final_imbalance(sim: SimulatedAllocations) -> NDArray[np.float64]:
    """Absolute final imbalance of each trial: ``sum_k |N_k - n r_k / sum(r)|``.

    For two arms 1:1 this is ``|N_A - N_B|``, randomizeR's final imbalance
    :footcite:`uschner2018`.

    Parameters
    ----------
    sim : SimulatedAllocations
        The simulated trials.

    Returns
    -------
    imbalance : ndarray, shape (n_trials,)
        Distance of the arm totals from the target allocation.

    References
    ----------
    .. footbibliography::
    """
    check_type(sim, SimulatedAllocations, "sim")
    n = sim.arms.shape[1]
    shares = np.asarray(sim.ratio, dtype=float) / sum(sim.ratio)
    totals = np.stack([(sim.arms == k).sum(axis=1) for k in range(sim.n_arms)], 1)
    out: NDArray[np.float64] = np.abs(totals - n * shares).sum(axis=1)
    return out


def factor_imbalance(sim: SimulatedAllocations, name: str) -> NDArray[np.float64]:
    """Imbalance of one factor: ``sum_levels sum_k |N_lk - N_l r_k / sum(r)|``.

    For two arms 1:1 it is the sum over the factor's levels of ``|N_lA - N_lB|``,
    the marginal imbalance that minimisation targets.

    Parameters
    ----------
    sim : SimulatedAllocations
        The simulated trials.
    name : str
        The factor.

    Returns
    -------
    imbalance : ndarray, shape (n_trials,)
        The factor's imbalance in each trial.
    """
    check_type(sim, SimulatedAllocations, "sim")
    lv = sim.factor(name)
    shares = np.asarray(sim.ratio, dtype=float) / sum(sim.ratio)
    out = np.zeros(sim.arms.shape[0])
    for level in range(int(lv.max()) + 1):
        at = lv == level
        n_l = at.sum(axis=1)
        for k in range(sim.n_arms):
            out += np.abs(((sim.arms == k) & at).sum(axis=1) - n_l * shares[k])
    return out


def exact_simple_imbalance(n_patients: int) -> float:
    """Return the expected ``|N_A - N_B|`` after ``n`` patients, simple 1:1.

    ``N_A`` is binomial(``n``, 1/2), so the expectation is the finite sum
    ``sum_j C(n, j) 2^-n |2 j - n|``, computed exactly in integers.

    Parameters
    ----------
    n_patients : int
        Number of patients, at least 1.

    Returns
    -------
    expected : float
        ``E |N_A - N_B|``.
    """
    check_type(n_patients, int, "n_patients")
    if n_patients < 1:
        raise ValueError(
            f"Invalid value for 'n_patients': got {n_patients}; allowed range is "
            "[1, inf)."
        )
    num = sum(
        math.comb(n_patients, j) * abs(2 * j - n_patients)
        for j in range(n_patients + 1)
    )
    return float(num / 2**n_patients)


def exact_block_correct_guesses(block_size: int) -> float:
    """Return the expected correct guesses in a permuted block (2 arms, 1:1).

    For a block of size ``2b`` (the random allocation rule within the block) the
    convergence guesser is right ``b + 2^(2b-1) / C(2b, b) - 1/2`` times on
    average, counting a tie as 1/2. plptms derives this from the block's random
    walk (the form attributed to Blackwell and Hodges :footcite:`blackwell1957`
    and to Matts and Lachin :footcite:`matts1988`; neither paper was read, so the
    attribution is not verified); the tests check it against an exact enumeration
    of the block's sequences.

    Parameters
    ----------
    block_size : int
        An even block size ``2b >= 2``.

    Returns
    -------
    expected : float
        Expected number of correct guesses in the block.

    References
    ----------
    .. footbibliography::
    """
    check_type(block_size, int, "block_size")
    if block_size < 2 or block_size % 2:
        raise ValueError(
            f"Invalid value for 'block_size': got {block_size}; allowed: an even "
            "whole number >= 2."
        )
    b = block_size // 2
    return float(b + 2 ** (2 * b - 1) / math.comb(2 * b, b) - 0.5)
