"""Imbalance and predictability by simulation, against exact values."""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from plptms.trial._prng import HmacRandom
from plptms.trial._randomisation import (
    AllocationRecord,
    Minimisation,
    PermutedBlocks,
    SimpleRandomisation,
    allocate,
    correct_guess_probability,
    exact_block_correct_guesses,
    exact_simple_imbalance,
    factor_imbalance,
    final_imbalance,
    simulate_allocations,
)

N_TRIALS = 4000
Z = 4.5  # tolerance in standard errors of a simulated mean


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(x.size))


@cache
def _block_guesses_enumerated(a_left: int, b_left: int) -> Fraction:
    """Exact expected correct guesses for the rest of a block, by enumeration.

    The state is the number of A and B slots left; the convergence guesser names
    the arm with more slots left (fewer allocated so far), a tie earns 1/2. Every
    remaining order of the slots is equally likely, so the next arm is A with
    probability a_left / (a_left + b_left).
    """
    n = a_left + b_left
    if n == 0:
        return Fraction(0)
    pa = Fraction(a_left, n)
    if a_left > b_left:
        now = pa
    elif b_left > a_left:
        now = 1 - pa
    else:
        now = Fraction(1, 2)
    rest = Fraction(0)
    if a_left:
        rest += pa * _block_guesses_enumerated(a_left - 1, b_left)
    if b_left:
        rest += (1 - pa) * _block_guesses_enumerated(a_left, b_left - 1)
    return now + rest


@pytest.mark.parametrize("b", [1, 2, 3, 4, 5, 8])
def test_block_correct_guesses_closed_form_matches_enumeration(b):
    """b + 2^(2b-1)/C(2b, b) - 1/2 (Blackwell & Hodges 1957; not verified) is exact.

    The oracle is an independent exact enumeration over the block's orders.
    """
    exact = _block_guesses_enumerated(b, b)
    assert exact_block_correct_guesses(2 * b) == pytest.approx(float(exact), rel=1e-13)
    if b == 1:
        assert exact == Fraction(3, 2)  # tie, then forced
    if b == 2:
        assert exact == Fraction(17, 6)  # 1/2 + 2/3 + 2/3 + 1


@pytest.mark.parametrize("size", [2, 4, 6])
def test_simulated_block_predictability_matches_exact(size):
    """Fixed blocks of size 2b, n a multiple of 2b: P(correct) = E[block] / 2b."""
    cfg = PermutedBlocks(arms=("A", "B"), block_sizes=(size,))
    sim = simulate_allocations(cfg, 12 * size, N_TRIALS, seed=size)
    p = correct_guess_probability(sim)
    expected = exact_block_correct_guesses(size) / size
    assert abs(p.mean() - expected) < Z * _se(p) + 1e-12
    assert np.all(final_imbalance(sim) == 0)


def test_simple_randomisation_guess_is_one_half():
    """Independent fair draws: any guess is right with probability exactly 1/2."""
    cfg = SimpleRandomisation(arms=("A", "B"))
    sim = simulate_allocations(cfg, 60, N_TRIALS, {"site": [0.5, 0.5]}, seed=1)
    for scope in (None, "site"):
        p = correct_guess_probability(sim, scope)
        assert abs(p.mean() - 0.5) < Z * _se(p)


@pytest.mark.parametrize("n", [1, 2, 10, 11, 120])
def test_exact_simple_imbalance_closed_form(n):
    """E|N_A - N_B| = 2m C(2m, m) / 2^(2m) with 2m = n rounded up to even.

    (Binomial random walk: E|S_(2m)| = 2m C(2m, m) 2^(-2m), and
    E|S_(2m-1)| = E|S_(2m)|.)
    """
    m2 = n + (n % 2)
    closed = m2 * math.comb(m2, m2 // 2) / 2**m2
    assert exact_simple_imbalance(n) == pytest.approx(closed, rel=1e-13)


def test_simulated_simple_imbalance_matches_binomial():
    n = 120
    cfg = SimpleRandomisation(arms=("A", "B"))
    sim = simulate_allocations(cfg, n, N_TRIALS, seed=2)
    imb = final_imbalance(sim)
    assert abs(imb.mean() - exact_simple_imbalance(n)) < Z * _se(imb)


def test_simulated_simple_ratio_proportion():
    cfg = SimpleRandomisation(arms=("A", "B"), ratio=(2, 1))
    sim = simulate_allocations(cfg, 90, N_TRIALS, seed=3)
    share = (sim.arms == 0).mean(axis=1)
    assert abs(share.mean() - 2 / 3) < Z * _se(share)


def test_deterministic_minimisation_alternates():
    """One factor with one level and p = 1: ties at odd positions, forced after.

    The guesser earns 1/2 on each tie and 1 on each forced allocation, so the
    correct-guess probability is exactly 3/4 and |N_A - N_B| is 0 for even n.
    """
    cfg = Minimisation(arms=("A", "B"), factors=("all",), p=1.0)
    sim = simulate_allocations(cfg, 40, 500, {"all": [1.0]}, seed=4)
    np.testing.assert_allclose(correct_guess_probability(sim), 0.75, atol=1e-12)
    assert np.all(final_imbalance(sim) == 0)


@pytest.mark.parametrize("p", [0.6, 0.8, 1.0])
def test_minimisation_unequal_ratio_long_run(p):
    """2:1 minimisation: the share of arm A approaches 2/3 at every p.

    A fixed probability p for the preferred arm would, at p = 0.6, give the larger
    arm less than its share whenever it is preferred (the unequal-ratio pitfall);
    the mixture rule keeps it at or above 2/3.
    """
    cfg = Minimisation(arms=("A", "B"), ratio=(2, 1), factors=("site", "limb"), p=p)
    levels = {"site": [1 / 6] * 6, "limb": [0.5, 0.5]}
    sim = simulate_allocations(cfg, 300, 1000, levels, seed=5)
    share = (sim.arms == 0).mean(axis=1)
    assert abs(share.mean() - 2 / 3) < 0.01
    assert (
        final_imbalance(sim).mean()
        < final_imbalance(
            simulate_allocations(
                SimpleRandomisation(arms=("A", "B"), ratio=(2, 1)), 300, 1000, seed=5
            )
        ).mean()
    )


def test_minimisation_balances_factors_better_than_simple():
    levels = {"site": [1 / 6] * 6, "limb": [0.5, 0.5]}
    mini = simulate_allocations(
        Minimisation(arms=("A", "B"), factors=("site", "limb"), p=0.8),
        120,
        2000,
        levels,
        seed=6,
    )
    simple = simulate_allocations(
        SimpleRandomisation(arms=("A", "B")), 120, 2000, levels, seed=6
    )
    for name in ("site", "limb"):
        assert (
            factor_imbalance(mini, name).mean()
            < 0.5 * factor_imbalance(simple, name).mean()
        )


def _replayed(config, patients_per_trial, n_trials, levels, seed):
    """Run the scalar HMAC allocate for many small trials (different trial ids)."""
    rng = np.random.default_rng(seed)
    names = list(levels)
    arms = np.empty((n_trials, patients_per_trial), dtype=int)
    facs = np.empty((n_trials, patients_per_trial, len(names)), dtype=int)
    for t in range(n_trials):
        draw = HmacRandom(b"k" * 32, f"trial-{t}")
        hist: list[AllocationRecord] = []
        for i in range(patients_per_trial):
            lv = [int(rng.choice(len(levels[n]), p=levels[n])) for n in names]
            f = {n: str(v) for n, v in zip(names, lv, strict=True)}
            a = allocate(hist, f, config, draw)
            hist.append(AllocationRecord(arm=a.arm, factors=f, stratum=a.stratum))
            arms[t, i] = config.arms.index(a.arm)
            facs[t, i] = lv
    return arms, facs


@pytest.mark.parametrize(
    "config",
    [
        Minimisation(arms=("A", "B"), factors=("site", "limb"), p=0.8),
        PermutedBlocks(arms=("A", "B"), block_sizes=(2, 4), strata=("site",)),
    ],
    ids=["minimisation", "blocks"],
)
def test_vectorised_simulation_agrees_with_replayed_allocations(config):
    """The NumPy simulation and the HMAC allocate give the same design properties."""
    levels = {"site": [0.5, 0.3, 0.2], "limb": [0.5, 0.5]}
    n, trials = 24, 300
    arms, facs = _replayed(config, n, trials, levels, seed=7)
    sim = simulate_allocations(config, n, 4000, levels, seed=8)
    replay = type(sim)(
        arms=arms, factors=facs, factor_names=tuple(levels), n_arms=2, ratio=(1, 1)
    )
    for measure in (
        lambda s: final_imbalance(s),
        lambda s: factor_imbalance(s, "site"),
        lambda s: correct_guess_probability(s, "site"),
    ):
        a, b = measure(replay), measure(sim)
        assert abs(a.mean() - b.mean()) < Z * math.hypot(_se(a), _se(b)) + 1e-12


def test_simulation_input_checks():
    cfg = Minimisation(arms=("A", "B"), factors=("site",))
    with pytest.raises(ValueError, match="'factor_levels'"):
        simulate_allocations(cfg, 10, 10, {"limb": [0.5, 0.5]})
    with pytest.raises(ValueError, match="'n_trials'"):
        simulate_allocations(cfg, 10, 0, {"site": [1.0]})
    with pytest.raises(ValueError, match="factor_levels"):
        simulate_allocations(cfg, 10, 10, {"site": [0.5, 0.6]})
    with pytest.raises(ValueError, match="'block_size'"):
        exact_block_correct_guesses(3)
