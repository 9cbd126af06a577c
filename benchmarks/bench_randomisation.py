"""Randomisation benchmark: imbalance and predictability of each method, and speed.

A PLP-sized multicentre design: 120 patients, two arms 1:1, 6 sites (equal
recruitment), stratification or minimisation factors site, limb (upper/lower,
equal) and baseline pain band (moderate/severe, equal). 10,000 simulated trials
per method, vectorised with NumPy (``simulate_allocations``). Measures (randomizeR's,
Uschner et al. 2018): the expected absolute final imbalance ``|N_A - N_B|``, the
marginal imbalance per factor (sum over levels of ``|N_lA - N_lB|``) and the
probability of a correct guess under the convergence strategy (Blackwell & Hodges
1957), for a guesser who sees the whole trial and for one who sees only their own
site. Exact values are printed beside the simulated ones where they are known.
Throughput is that of the replayable HMAC ``allocate`` on a growing history (the
path an enrolment takes), best of several runs.

Run standalone: ``python benchmarks/bench_randomisation.py``.
"""

from __future__ import annotations

import time

import numpy as np

from plptms.trial import (
    AllocationRecord,
    HmacRandom,
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

N_PATIENTS = 120
N_TRIALS = 10_000
SEED = 2024
REPEATS = 3
ARMS = ("active", "sham")
LEVELS = {"site": [1 / 6] * 6, "limb": [0.5, 0.5], "pain_band": [0.5, 0.5]}
FACTORS = ("site", "limb", "pain_band")

METHODS = [
    ("simple 1:1", SimpleRandomisation(arms=ARMS)),
    ("blocks of 4, no strata", PermutedBlocks(arms=ARMS, block_sizes=(4,))),
    (
        "blocks of 2/4/6, by site",
        PermutedBlocks(arms=ARMS, block_sizes=(2, 4, 6), strata=("site",)),
    ),
    (
        "blocks of 2/4, by site x limb x pain",
        PermutedBlocks(arms=ARMS, block_sizes=(2, 4), strata=FACTORS),
    ),
    ("minimisation, range, p = 0.8", Minimisation(arms=ARMS, factors=FACTORS, p=0.8)),
    ("minimisation, range, p = 1", Minimisation(arms=ARMS, factors=FACTORS, p=1.0)),
    (
        "minimisation, variance, p = 0.7",
        Minimisation(arms=ARMS, factors=FACTORS, imbalance="variance", p=0.7),
    ),
]


def _throughput(config: object, n: int) -> float:
    rng = np.random.default_rng(SEED)
    pts = [
        {
            "site": str(rng.integers(6)),
            "limb": str(rng.integers(2)),
            "pain_band": str(rng.integers(2)),
        }
        for _ in range(n)
    ]
    best = float("inf")
    for _ in range(REPEATS):
        draw = HmacRandom(b"benchmark-secret-0123456789abcdef", "bench")
        hist: list[AllocationRecord] = []
        t0 = time.perf_counter()
        for f in pts:
            a = allocate(hist, f, config, draw)  # type: ignore[arg-type]
            hist.append(AllocationRecord(arm=a.arm, factors=f, stratum=a.stratum))
        best = min(best, time.perf_counter() - t0)
    return n / best


def run() -> list[str]:
    rows = []
    for label, cfg in METHODS:
        t0 = time.perf_counter()
        sim = simulate_allocations(cfg, N_PATIENTS, N_TRIALS, LEVELS, seed=SEED)
        t_sim = time.perf_counter() - t0
        imb = final_imbalance(sim)
        site = factor_imbalance(sim, "site")
        limb = factor_imbalance(sim, "limb")
        g_all = correct_guess_probability(sim)
        g_site = correct_guess_probability(sim, "site")
        rate = _throughput(cfg, N_PATIENTS)
        rows.append(
            f"| {label} | {imb.mean():.2f} | {np.mean(imb > 10):.3f} | "
            f"{site.mean():.2f} | {limb.mean():.2f} | {g_all.mean():.3f} | "
            f"{g_site.mean():.3f} | {t_sim:.2f} | {rate:,.0f} |"
        )
    # exact values to set beside the simulations
    block4 = PermutedBlocks(arms=ARMS, block_sizes=(4,))
    sim4 = simulate_allocations(block4, N_PATIENTS, N_TRIALS, seed=SEED + 1)
    g4 = correct_guess_probability(sim4).mean()
    simple = simulate_allocations(SimpleRandomisation(arms=ARMS), N_PATIENTS, N_TRIALS)
    return [
        f"## Randomisation: imbalance and predictability over {N_TRIALS:,} trials",
        "",
        f"Design: {N_PATIENTS} patients, two arms 1:1, 6 sites, limb (2 levels) and "
        "baseline pain band (2 levels), all levels equally likely. Final imbalance "
        "is |N_A - N_B| (and the share of trials with more than 10); a factor's "
        "imbalance is the sum over its levels of |N_lA - N_lB|. Correct guesses: "
        "convergence strategy (guess the arm allocated least so far, a tie scores "
        "1/2), seeing the whole trial or only the patient's site. 'Sim (s)' is the "
        f"vectorised simulation of {N_TRIALS:,} trials; 'allocations/s' is the "
        f"replayable HMAC `allocate` over a growing history of {N_PATIENTS} "
        f"(best of {REPEATS}).",
        "",
        "| method | E abs imbalance | P(imbalance > 10) | site imbalance | "
        "limb imbalance | P(correct), trial | P(correct), site | sim (s) | "
        "allocations/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Exact values: simple 1:1, E |N_A - N_B| at n = 120 is "
        f"{exact_simple_imbalance(N_PATIENTS):.3f} (binomial; simulated "
        f"{final_imbalance(simple).mean():.3f}) and P(correct) is 0.5; blocks of 4, "
        f"P(correct) = {exact_block_correct_guesses(4) / 4:.4f} "
        f"(= (2 + 8/6 - 1/2) / 4; simulated {g4:.4f}).",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
