"""Allocation methods: keyed random source, simple, permuted blocks, minimisation."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math

import numpy as np
import pytest
from pydantic import ValidationError

from plptms.trial._prng import HmacRandom
from plptms.trial._randomisation import (
    AllocationRecord,
    Minimisation,
    PermutedBlocks,
    SimpleRandomisation,
    allocate,
    pocock_simon_scores,
)

ATOL = 1e-12
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


def _run(config, factors_list, secret=SECRET, trial="PLP-1"):
    draw = HmacRandom(secret, trial)
    history: list[AllocationRecord] = []
    out = []
    for f in factors_list:
        a = allocate(history, f, config, draw)
        history.append(AllocationRecord(arm=a.arm, factors=f, stratum=a.stratum))
        out.append(a)
    return history, out


def _patients(n, seed=0, n_sites=6):
    rng = np.random.default_rng(seed)
    return [
        {
            "site": f"S{rng.integers(n_sites)}",
            "limb": ("upper", "lower")[rng.integers(2)],
        }
        for _ in range(n)
    ]


# --------------------------------------------------------------------------------------
# Keyed random source
# --------------------------------------------------------------------------------------
def test_hmac_tag_matches_rfc4231_case_1():
    """The tag is HMAC-SHA256 (RFC 4231, test case 1: key 0x0b * 20, 'Hi There')."""
    src = HmacRandom(b"\x0b" * 20, "T")
    expected = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert src._tag("Hi There") == int(expected, 16)


def test_uniform_is_top_53_bits_of_the_documented_message():
    src = HmacRandom(SECRET, "PLP-1")
    msg = src.message(7, "arm", "site=A")
    assert msg == "PLP-1|site=A|7|arm"
    assert src.message(7, "arm") == "PLP-1||7|arm"
    tag = hmac.new(SECRET, msg.encode(), hashlib.sha256).digest()
    expected = (int.from_bytes(tag, "big") >> 203) / 2**53
    assert src.uniform(7, "arm", "site=A") == expected
    assert 0.0 <= expected < 1.0


def test_draws_are_deterministic_and_keyed():
    a, b = HmacRandom(SECRET, "PLP-1"), HmacRandom(SECRET, "PLP-1")
    assert [a.uniform(i, "arm") for i in range(5)] == [
        b.uniform(i, "arm") for i in range(5)
    ]
    c = HmacRandom(OTHER_SECRET, "PLP-1")
    d = HmacRandom(SECRET, "PLP-2")
    for other in (c, d):
        assert a.uniform(0, "arm") != other.uniform(0, "arm")
    assert a.uniform(0, "arm") != a.uniform(0, "block_size")
    assert a.uniform(0, "arm", "s1") != a.uniform(0, "arm", "s2")


def test_integer_draws_are_uniform_by_rejection():
    """n = 3 needs rejection (2 bits give 4 values); counts are near n_draws / 3."""
    src = HmacRandom(SECRET, "PLP-1")
    n_draws = 30_000
    draws = np.array([src.integer(3, i, "arm") for i in range(n_draws)])
    assert set(np.unique(draws)) == {0, 1, 2}
    counts = np.bincount(draws, minlength=3)
    sd = math.sqrt(n_draws * (1 / 3) * (2 / 3))
    assert np.all(np.abs(counts - n_draws / 3) < 5 * sd)
    assert src.integer(1, 0, "arm") == 0


def test_secret_is_checked_and_hidden():
    with pytest.raises(ValueError, match="'secret'"):
        HmacRandom(b"short", "T")
    with pytest.raises(TypeError, match="'secret'"):
        HmacRandom("not bytes" * 4, "T")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'trial_id'"):
        HmacRandom(SECRET, "a|b")
    src = HmacRandom(SECRET, "T")
    assert SECRET.hex() not in repr(src)
    assert "hidden" in repr(src)
    with pytest.raises(ValueError, match="'purpose'"):
        src.uniform(0, "arm|x")
    with pytest.raises(ValueError, match="'index'"):
        src.uniform(-1, "arm")
    with pytest.raises(ValueError, match="'n'"):
        src.integer(0, 0, "arm")


# --------------------------------------------------------------------------------------
# Simple randomisation
# --------------------------------------------------------------------------------------
def test_simple_replay_is_exact_and_secret_dependent():
    cfg = SimpleRandomisation(arms=("active", "sham"))
    pts = _patients(40)
    h1, out1 = _run(cfg, pts)
    h2, _ = _run(cfg, pts)
    h3, _ = _run(cfg, pts, secret=OTHER_SECRET)
    assert [r.arm for r in h1] == [r.arm for r in h2]
    assert [r.arm for r in h1] != [r.arm for r in h3]
    # the statistician replays allocation 25 from the stored history alone
    again = allocate(h1[:25], pts[25], cfg, HmacRandom(SECRET, "PLP-1"))
    assert again.arm == out1[25].arm
    assert again.message == "PLP-1||25|arm"


def test_simple_ratio_two_to_one_long_run():
    """Binomial: the share of arm A after n draws is within 4 SD of 2/3."""
    cfg = SimpleRandomisation(arms=("A", "B"), ratio=(2, 1))
    n = 1200
    _, out = _run(cfg, [{}] * n)
    share = sum(a.arm == "A" for a in out) / n
    assert abs(share - 2 / 3) < 4 * math.sqrt(2 / 9 / n)
    assert out[0].probabilities == pytest.approx({"A": 2 / 3, "B": 1 / 3}, abs=ATOL)


def test_config_validation_names_fields():
    with pytest.raises(ValidationError, match="'arms'"):
        SimpleRandomisation(arms=("A",))
    with pytest.raises(ValidationError, match="'arms'"):
        SimpleRandomisation(arms=("A", "A"))
    with pytest.raises(ValidationError, match="'ratio'"):
        SimpleRandomisation(arms=("A", "B"), ratio=(1, 0))
    with pytest.raises(ValidationError, match="'ratio'"):
        SimpleRandomisation(arms=("A", "B"), ratio=(1, 1, 1))
    with pytest.raises(ValidationError, match="'block_sizes'"):
        PermutedBlocks(arms=("A", "B"), ratio=(2, 1), block_sizes=(4,))
    with pytest.raises(ValidationError, match="'block_sizes'"):
        PermutedBlocks(arms=("A", "B"), block_sizes=())
    with pytest.raises(ValidationError, match="'factors'"):
        Minimisation(arms=("A", "B"), factors=())
    with pytest.raises(ValidationError, match="'weights'"):
        Minimisation(arms=("A", "B"), factors=("site",), weights=(1.0, 2.0))
    cfg = SimpleRandomisation(arms=("A", "B"))
    with pytest.raises(ValueError, match=r"history\[0\]\.arm"):
        cfg.allocate([AllocationRecord(arm="C")], {}, HmacRandom(SECRET, "T"))
    with pytest.raises(TypeError, match="'config'"):
        allocate([], {}, "simple", HmacRandom(SECRET, "T"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Permuted blocks
# --------------------------------------------------------------------------------------
def _blocks_of(arms, sizes):
    out, start = [], 0
    for size in sizes:
        out.append(arms[start : start + size])
        start += size
    return out


def test_blocks_are_balanced_per_stratum_with_sizes_from_the_set():
    cfg = PermutedBlocks(
        arms=("active", "sham"), block_sizes=(4, 6), strata=("site", "limb")
    )
    pts = _patients(240, n_sites=3)
    _, out = _run(cfg, pts)
    by_stratum: dict[str, list] = {}
    for a in out:
        by_stratum.setdefault(a.stratum, []).append(a)
    assert len(by_stratum) == 6
    seen_sizes = set()
    for allocs in by_stratum.values():
        arms = [a.arm for a in allocs]
        sizes = []
        for a in allocs:
            if a.block.position == 0:
                sizes.append(a.block.size)
        seen_sizes.update(sizes)
        full = _blocks_of(arms, sizes)
        for block, size in zip(full, sizes, strict=True):
            if len(block) == size:  # complete blocks hold each arm size / 2 times
                assert block.count("active") == block.count("sham") == size // 2
            else:
                assert abs(block.count("active") - block.count("sham")) <= size // 2
    assert seen_sizes == {4, 6}


def test_blocks_unequal_ratio_and_last_slot_forced():
    cfg = PermutedBlocks(arms=("A", "B"), ratio=(2, 1), block_sizes=(3, 6))
    _, out = _run(cfg, [{}] * 60)
    arms = [a.arm for a in out]
    sizes = [a.block.size for a in out if a.block.position == 0]
    for block, size in zip(_blocks_of(arms, sizes), sizes, strict=True):
        if len(block) == size:
            assert block.count("A") == 2 * block.count("B")
    for a in out:
        if a.block.position == a.block.size - 1:  # last slot: probability 1
            assert max(a.probabilities.values()) == pytest.approx(1.0, abs=ATOL)


def test_blocks_stratum_of_one():
    """A stratum with a single patient: block 0, slot 0, the block's composition."""
    cfg = PermutedBlocks(
        arms=("A", "B"), ratio=(2, 1), block_sizes=(6,), strata=("site",)
    )
    pts = [{"site": "big"}] * 10 + [{"site": "lonely"}]
    _, out = _run(cfg, pts)
    last = out[-1]
    assert last.stratum == "site=lonely"
    assert (last.block.number, last.block.position, last.block.size) == (0, 0, 6)
    assert last.probabilities == pytest.approx({"A": 2 / 3, "B": 1 / 3}, abs=ATOL)


def test_blocks_replay_without_stored_strata_and_refuse_tampering():
    cfg = PermutedBlocks(arms=("A", "B"), block_sizes=(2, 4), strata=("site",))
    pts = _patients(50, n_sites=2)
    hist, out = _run(cfg, pts)
    bare = [AllocationRecord(arm=r.arm, factors=r.factors) for r in hist]
    draw = HmacRandom(SECRET, "PLP-1")
    nxt = {"site": "S0", "limb": "upper"}
    assert allocate(bare, nxt, cfg, draw) == allocate(hist, nxt, cfg, draw)
    # a complete block edited to hold two A's is refused
    first = [j for j, r in enumerate(hist) if r.factors["site"] == "S0"]
    size0 = out[first[0]].block.size
    tampered = list(hist)
    for j in first[:size0]:
        tampered[j] = AllocationRecord(arm="A", factors=hist[j].factors)
    with pytest.raises(ValueError, match="do not fit block 0"):
        allocate(tampered, nxt, cfg, draw)
    with pytest.raises(ValueError, match="'site'"):
        allocate(hist, {"limb": "upper"}, cfg, draw)


# --------------------------------------------------------------------------------------
# Minimisation
# --------------------------------------------------------------------------------------
# Lim & In (2019), Korean J Anesthesiol 72(3):221-232, Table 4 (read at PMC6547231):
# 14 patients, 7 per group; the 15th is female, 74 years old, at site 2.
# Marginal totals (control, treatment): site 1 (4, 2), site 2 (3, 5); male (4, 4),
# female (3, 3); age < 20 (2, 2), 20-64 (2, 2), >= 65 (3, 3). The joint rows below
# are one history with exactly these marginals (minimisation sees marginals only).
LIM_IN_CONTROL = [
    ("1", "M", "<20"),
    ("1", "M", "<20"),
    ("1", "M", "20-64"),
    ("1", "F", "20-64"),
    ("2", "M", ">=65"),
    ("2", "F", ">=65"),
    ("2", "F", ">=65"),
]
LIM_IN_TREATMENT = [
    ("1", "M", "<20"),
    ("1", "M", "<20"),
    ("2", "M", "20-64"),
    ("2", "M", "20-64"),
    ("2", "F", ">=65"),
    ("2", "F", ">=65"),
    ("2", "F", ">=65"),
]


def _lim_in_history():
    hist = []
    for arm, rows in (("control", LIM_IN_CONTROL), ("treatment", LIM_IN_TREATMENT)):
        for site, sex, age in rows:
            f = {"site": site, "sex": sex, "age": age}
            hist.append(AllocationRecord(arm=arm, factors=f))
    # interleave, as enrolment would be; order does not matter to minimisation
    return [hist[j] for j in itertools.chain(*zip(range(7), range(7, 14), strict=True))]


LIM_IN_PATIENT = {"site": "2", "sex": "F", "age": ">=65"}


def test_minimisation_reproduces_lim_in_2019_table_4():
    """Lim & In 2019, Table 4: total imbalance 3 if control, 5 if treatment.

    The published sums are (5 - 4) + (4 - 3) + (4 - 3) = 3 and
    (6 - 3) + (4 - 3) + (4 - 3) = 5; the patient goes to control.
    """
    cfg = Minimisation(
        arms=("control", "treatment"), factors=("site", "sex", "age"), p=1.0
    )
    hist = _lim_in_history()
    counts = cfg.level_counts(hist, LIM_IN_PATIENT)
    np.testing.assert_array_equal(counts, [[3, 5], [3, 3], [3, 3]])
    a = allocate(hist, LIM_IN_PATIENT, cfg, HmacRandom(SECRET, "T"))
    assert a.scores == pytest.approx({"control": 3.0, "treatment": 5.0}, abs=ATOL)
    assert a.arm == "control"
    assert a.probabilities == pytest.approx({"control": 1.0, "treatment": 0.0})


def test_variance_and_sd_imbalance_on_lim_in_counts():
    """Two arms: variance (divisor K) of (a, b) is (a - b)^2 / 4, SD is |a - b| / 2.

    Per-factor differences are (1, 1, 1) if control and (3, 1, 1) if treatment
    (Lim & In 2019, Table 4), so variance sums 3/4 and 11/4, SD sums 3/2 and 5/2.
    """
    counts = [[3, 5], [3, 3], [3, 3]]
    var = pocock_simon_scores(counts, imbalance="variance")
    sd = pocock_simon_scores(counts, imbalance="sd")
    np.testing.assert_allclose(var, [0.75, 2.75], atol=ATOL)
    np.testing.assert_allclose(sd, [1.5, 2.5], atol=ATOL)
    # factor weights: site counted twice -> 2*1 + 1 + 1 and 2*3 + 1 + 1
    w = pocock_simon_scores(counts, weights=[2.0, 1.0, 1.0])
    np.testing.assert_allclose(w, [4.0, 8.0], atol=ATOL)
    with pytest.raises(ValueError, match="'imbalance'"):
        pocock_simon_scores(counts, imbalance="mad")  # type: ignore[arg-type]


def test_random_element_p_equal_ratio_is_pocock_simon_p():
    """Pocock & Simon 1975: the preferred arm gets p, the others (1 - p) / (K - 1)."""
    hist = _lim_in_history()
    for p in (0.5, 0.7, 0.8, 1.0):
        cfg = Minimisation(
            arms=("control", "treatment"), factors=("site", "sex", "age"), p=p
        )
        a = allocate(hist, LIM_IN_PATIENT, cfg, HmacRandom(SECRET, "T"))
        assert a.probabilities["control"] == pytest.approx(p, abs=ATOL)
    three = Minimisation(arms=("A", "B", "C"), factors=("site",), p=0.7)
    hist3 = [AllocationRecord(arm=x, factors={"site": "1"}) for x in ("A", "B")]
    a = three.allocate(hist3, {"site": "1"}, HmacRandom(SECRET, "T"))
    assert a.probabilities == pytest.approx({"A": 0.15, "B": 0.15, "C": 0.7}, abs=ATOL)


def test_p_zero_and_below_one_over_k_are_refused():
    """p = 0 would always allocate away from balance: refused, naming 'p'."""
    for p, arms in ((0.0, ("A", "B")), (0.49, ("A", "B")), (0.3, ("A", "B", "C"))):
        with pytest.raises(ValidationError, match="'p'"):
            Minimisation(arms=arms, factors=("site",), p=p)
    with pytest.raises(ValidationError, match="'p'"):
        Minimisation(arms=("A", "B"), factors=("site",), p=1.01)
    with pytest.raises(ValidationError, match="'p'"):
        Minimisation(arms=("A", "B"), factors=("site",), p=float("nan"))


def test_p_one_over_k_is_simple_randomisation():
    cfg = Minimisation(arms=("A", "B"), ratio=(2, 1), factors=("site",), p=0.5)
    hist = [AllocationRecord(arm="A", factors={"site": "1"})] * 5
    a = cfg.allocate(hist, {"site": "1"}, HmacRandom(SECRET, "T"))
    assert a.probabilities == pytest.approx({"A": 2 / 3, "B": 1 / 3}, abs=ATOL)


def test_p_one_is_deterministic_except_for_ties():
    cfg = Minimisation(arms=("A", "B"), factors=("site",), p=1.0)
    draw = HmacRandom(SECRET, "T")
    first = cfg.allocate([], {"site": "1"}, draw)  # all tied: a fair draw
    assert first.probabilities == pytest.approx({"A": 0.5, "B": 0.5}, abs=ATOL)
    # one site, p = 1: allocations alternate within each pair
    _hist, out = _run(cfg, [{"site": "1"}] * 20)
    arms = [a.arm for a in out]
    for j in range(0, 20, 2):
        assert {arms[j], arms[j + 1]} == {"A", "B"}
    for a in out[1::2]:
        assert max(a.probabilities.values()) == 1.0


def test_arm_with_no_allocations_is_counted_as_zero():
    """An arm never allocated so far has count 0 at every level and is preferred."""
    cfg = Minimisation(arms=("A", "B", "C"), factors=("site", "limb"), p=0.9)
    hist = [
        AllocationRecord(arm="A", factors={"site": "1", "limb": "upper"}),
        AllocationRecord(arm="B", factors={"site": "1", "limb": "upper"}),
        AllocationRecord(arm="A", factors={"site": "2", "limb": "lower"}),
    ]
    counts = cfg.level_counts(hist, {"site": "1", "limb": "upper"})
    np.testing.assert_array_equal(counts, [[1, 1, 0], [1, 1, 0]])
    a = cfg.allocate(hist, {"site": "1", "limb": "upper"}, HmacRandom(SECRET, "T"))
    # range if C: (1,1,1) -> 0 per factor; if A or B: (2,1,0) -> 2 per factor
    assert a.scores == pytest.approx({"A": 4.0, "B": 4.0, "C": 0.0}, abs=ATOL)
    assert a.probabilities["C"] == pytest.approx(0.9, abs=ATOL)


def test_level_never_seen_before():
    """A new level counts zero everywhere and adds the same range 1 to every arm."""
    cfg = Minimisation(arms=("A", "B"), factors=("site", "limb"), p=0.8)
    hist = [
        AllocationRecord(arm="A", factors={"site": "1", "limb": "upper"}),
        AllocationRecord(arm="A", factors={"site": "2", "limb": "upper"}),
        AllocationRecord(arm="B", factors={"site": "2", "limb": "lower"}),
    ]
    a = cfg.allocate(hist, {"site": "new", "limb": "upper"}, HmacRandom(SECRET, "T"))
    # limb=upper counts (2, 0): A -> range 3, B -> range 1; new site: 1 and 1
    assert a.scores == pytest.approx({"A": 4.0, "B": 2.0}, abs=ATOL)
    assert a.probabilities["B"] == pytest.approx(0.8, abs=ATOL)


def test_zero_weight_ignores_a_factor():
    cfg = Minimisation(arms=("A", "B"), factors=("site", "limb"), weights=(0.0, 1.0))
    hist = [AllocationRecord(arm="A", factors={"site": "1", "limb": "upper"})] * 3
    a = cfg.allocate(hist, {"site": "1", "limb": "lower"}, HmacRandom(SECRET, "T"))
    assert a.scores == pytest.approx({"A": 1.0, "B": 1.0}, abs=ATOL)  # limb tie
    assert a.probabilities == pytest.approx({"A": 0.5, "B": 0.5}, abs=ATOL)


def test_unequal_ratio_minimisation_counts_are_divided_by_ratio():
    """2:1 with counts (2, 1) is balanced: joining A gives (1.5, 1), B (1, 2).

    Range: A -> 0.5, B -> 1.0, so A is preferred; the preferred larger arm gets
    lam + (1 - lam) 2/3 with lam = 2 p - 1 (never less than its share 2/3).
    """
    cfg = Minimisation(arms=("A", "B"), ratio=(2, 1), factors=("site",), p=0.6)
    hist = [AllocationRecord(arm=x, factors={"site": "1"}) for x in "AAB"]
    a = cfg.allocate(hist, {"site": "1"}, HmacRandom(SECRET, "T"))
    assert a.scores == pytest.approx({"A": 0.5, "B": 1.0}, abs=ATOL)
    lam = 2 * 0.6 - 1
    assert a.probabilities["A"] == pytest.approx(lam + (1 - lam) * 2 / 3, abs=ATOL)
    assert a.probabilities["A"] > 2 / 3


def test_unequal_ratio_minimisation_long_run_proportion():
    """Replayed HMAC allocations of 600 patients at 2:1 end near 2/3 in arm A."""
    cfg = Minimisation(arms=("A", "B"), ratio=(2, 1), factors=("site", "limb"), p=0.8)
    _, out = _run(cfg, _patients(600, seed=3))
    share = sum(a.arm == "A" for a in out) / 600
    assert abs(share - 2 / 3) < 0.02


def test_minimisation_needs_every_factor_and_replays():
    cfg = Minimisation(arms=("A", "B"), factors=("site", "limb"), p=0.8)
    draw = HmacRandom(SECRET, "T")
    with pytest.raises(ValueError, match="'limb'"):
        cfg.allocate([], {"site": "1"}, draw)
    bad = [AllocationRecord(arm="A", factors={"site": "1"})]
    with pytest.raises(ValueError, match=r"history\[0\]\.factors"):
        cfg.allocate(bad, {"site": "1", "limb": "upper"}, draw)
    pts = _patients(30, seed=5)
    hist, out = _run(cfg, pts, trial="T")
    for j in (0, 11, 29):
        again = allocate(hist[:j], pts[j], cfg, draw)
        assert again == out[j]


def test_single_patient_trial_minimisation():
    """A first patient (a stratum of one).

    Equal ratio: every arm ties and the draw is fair. Ratio 1:2:1: joining A gives
    adjusted counts (1, 0, 0), range 1; B gives (0, 1/2, 0), range 1/2; C range 1;
    so B, the larger arm, is preferred.
    """
    eq = Minimisation(arms=("A", "B", "C"), factors=("site",), p=1.0)
    a = eq.allocate([], {"site": "1"}, HmacRandom(SECRET, "T"))
    assert a.probabilities == pytest.approx({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})
    cfg = Minimisation(arms=("A", "B", "C"), ratio=(1, 2, 1), factors=("site",), p=1.0)
    a = cfg.allocate([], {"site": "1"}, HmacRandom(SECRET, "T"))
    assert a.scores == pytest.approx({"A": 1.0, "B": 0.5, "C": 1.0}, abs=ATOL)
    assert a.arm == "B"
