"""The trial engine on the shipped example definition (2x2, minimisation)."""

from __future__ import annotations

from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest

from plptms.registry import Registry
from plptms.trial import read_trial_definition
from plptms.workflow import (
    allocation_for,
    create_trial,
    enrol_patient,
    replay_allocations,
)

from ._trialdef import screen

EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))


def test_the_example_trial_enrols_and_replays(db_url: str) -> None:
    """Minimisation over site, limb and pain band, with p = 0.8 (Pocock-Simon).

    Four arms at 1:1:1:1: after 24 patients the arm totals differ by at most a
    few (minimisation keeps the marginal totals close), every allocation
    replays from the stored history, and operators see kit codes only.
    """
    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        kits = set()
        for k in range(24):
            site = defn.site_codes[k % 3]
            code = f"P{k:03d}"
            reg.add_patient(site, code, history=None, actor="n")
            screen(reg, site, code)
            e = enrol_patient(
                reg,
                defn.id,
                site,
                code,
                {
                    "limb": ("upper", "lower")[k % 2],
                    "pain_band": ("nrs_4_6", "nrs_7_10")[(k // 2) % 2],
                },
                actor="coordinator",
            )
            assert e.allocation_index == k
            kits.add(e.kit_code)
        assert len(kits) == 24
        arms = Counter(
            allocation_for(
                reg, defn.id, defn.site_codes[k % 3], f"P{k:03d}", role="statistician"
            ).arm_id
            for k in range(24)
        )
        assert set(arms) == {a.id for a in defn.arms}
        assert max(arms.values()) - min(arms.values()) <= 3
        blind = allocation_for(reg, defn.id, "S01", "P000", role="operator")
        assert blind.arm_id is None
        assert replay_allocations(reg, defn.id, defn).ok
        assert reg.verify_audit().ok


def test_the_example_refuses_a_level_it_does_not_list(db_url: str) -> None:
    from plptms.workflow import EnrolmentRefusedError

    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        reg.add_patient("S01", "P001", history=None, actor="n")
        screen(reg, "S01", "P001")
        with pytest.raises((EnrolmentRefusedError, ValueError), match="pain_band"):
            enrol_patient(
                reg, defn.id, "S01", "P001",
                {"limb": "upper", "pain_band": "nrs_0_3"}, actor="c",
            )  # fmt: skip
        assert reg.list_enrolments(defn.id) == []
