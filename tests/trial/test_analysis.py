"""Responder rates, durability, moderators and analysis sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from plptms.trial import (
    MMRMSpec,
    analysis_sets,
    durability,
    fit_mmrm,
    moderator_analysis,
    responder_analysis,
)


def _wilson(r: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval, written out from its formula."""
    z = norm.ppf(1 - (1 - level) / 2)
    p = r / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _newcombe(r1: int, n1: int, r0: int, n0: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10), from its formula."""
    l1, u1 = _wilson(r1, n1)
    l0, u0 = _wilson(r0, n0)
    p1, p0 = r1 / n1, r0 / n0
    z = norm.ppf(0.975)
    d = p1 - p0
    lower = d - z * math.sqrt(l1 * (1 - l1) / n1 + u0 * (1 - u0) / n0)
    upper = d + z * math.sqrt(u1 * (1 - u1) / n1 + l0 * (1 - l0) / n0)
    return lower, upper


def test_responders_at_the_immpact_thresholds() -> None:
    # 10 -> 7 is exactly 30 %: a responder at 30 %, not at 50 %
    rows = [("active", 10.0, 7.0)] * 56 + [("active", 10.0, 9.0)] * 14
    rows += [("sham", 8.0, 5.6)] * 48 + [("sham", 8.0, None)] * 32
    res = responder_analysis(rows, arm="active", reference="sham")
    by = {a.arm: a for a in res.arms}
    assert (by["active"].n, by["active"].responders) == (70, 56)
    assert (by["sham"].n, by["sham"].responders) == (80, 48)  # missing: non-resp.
    assert (by["active"].ci_lower, by["active"].ci_upper) == pytest.approx(
        _wilson(56, 70), abs=1e-12
    )
    assert res.difference == pytest.approx(56 / 70 - 48 / 80)
    assert (res.ci_lower, res.ci_upper) == pytest.approx(
        _newcombe(56, 70, 48, 80), abs=1e-10
    )
    at_50 = responder_analysis(rows, arm="active", reference="sham", threshold_pct=50)
    assert {a.arm: a.responders for a in at_50.arms} == {"active": 0, "sham": 0}
    dropped = responder_analysis(
        rows, arm="active", reference="sham", missing="exclude"
    )
    assert {a.arm: a.n for a in dropped.arms} == {"active": 70, "sham": 48}


def test_responder_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"'rows\[0\].baseline'"):
        responder_analysis([("a", 0.0, 0.0)], arm="a", reference="b")
    with pytest.raises(ValueError, match="'arm'"):
        responder_analysis([("a", 5.0, 1.0)], arm="a", reference="b")
    with pytest.raises(ValueError, match="'threshold_pct'"):
        responder_analysis([("a", 5.0, 1.0)], arm="a", reference="a", threshold_pct=0)


def _trial(
    n: int, effect: float, interaction: float, seed: int
) -> dict[str, list[object]]:
    """Three visits; the effect grows with a moderator by ``interaction``."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list[object]] = {
        k: [] for k in ("id", "visit", "arm", "base", "mod", "y")
    }
    for i in range(n):
        arm = "active" if i % 2 else "sham"
        base = rng.normal(7, 1)
        mod = rng.normal(0, 1)
        subject = rng.normal(0, 1)
        for v in (1, 2, 3):
            y = 0.5 * base + subject + rng.normal(0, 1) - 0.3 * v
            if arm == "active":
                y += effect + interaction * mod
            for k, val in zip(cols, (f"p{i}", v, arm, base, mod, y), strict=True):
                cols[k].append(val)
    return cols


SPEC = MMRMSpec(
    outcome="y", subject="id", visit="visit", arm="arm", baseline="base",
    levels={"arm": ("sham", "active")},
)  # fmt: skip


def test_a_known_interaction_is_recovered_and_none_is_found_where_none_is() -> None:
    data = _trial(300, effect=-1.0, interaction=-0.8, seed=3)
    est, _ = moderator_analysis(data, SPEC, "mod", arm="active")
    assert est.ci_lower < -0.8 < est.ci_upper
    assert est.pvalue < 1e-6
    null = _trial(300, effect=-1.0, interaction=0.0, seed=4)
    est0, _ = moderator_analysis(null, SPEC, "mod", arm="active")
    assert est0.ci_lower < 0.0 < est0.ci_upper


def test_durability_is_the_arm_difference_at_each_visit() -> None:
    data = _trial(200, effect=-1.5, interaction=0.0, seed=5)
    res = fit_mmrm(data, SPEC)
    ests = durability(res, [1, 2, 3], arm="active", reference="sham")
    assert [e.label for e in ests] == [f"active - sham at {v}" for v in (1, 2, 3)]
    for e in ests:
        assert e.ci_lower < -1.5 < e.ci_upper


def test_analysis_sets() -> None:
    sets = analysis_sets(
        [("P1", 10, 10, False), ("P2", 7, 10, False), ("P3", 10, 10, True),
         ("P4", 8, 10, False)]
    )  # fmt: skip
    assert sets.itt == ("P1", "P2", "P3", "P4")
    assert sets.per_protocol == ("P1", "P4")
    assert sets.excluded_per_protocol == {
        "P2": "received 7 of 10 planned sessions",
        "P3": "major protocol deviation",
    }
    with pytest.raises(ValueError, match="listed twice"):
        analysis_sets([("P1", 1, 2, False), ("P1", 1, 2, False)])
    with pytest.raises(ValueError, match="received"):
        analysis_sets([("P1", 3, 2, False)])
