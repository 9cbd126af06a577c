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


def test_a_seizure_pauses_enrolment_until_it_is_reviewed(db_url: str) -> None:
    """The example's rule: any seizure pauses enrolment and stimulation."""
    from plptms.workflow import (
        AdverseEventInput,
        AdverseEventReviewInput,
        EnrolmentRefusedError,
        record_adverse_event,
        review_adverse_event,
    )

    defn = read_trial_definition(EXAMPLE)
    factors = {"limb": "upper", "pain_band": "nrs_7_10"}
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        for code in ("P001", "P002"):
            reg.add_patient("S01", code, history=None, actor="n")
            screen(reg, "S01", code)
        enrol_patient(reg, defn.id, "S01", "P001", factors, actor="c")
        # a headache matches no rule: enrolment goes on
        record_adverse_event(
            reg,
            AdverseEventInput(
                site="S01", code="P001", actor="n", term="headache",
                severity="mild", relatedness="possible",
            ),
        )  # fmt: skip
        seizure = record_adverse_event(
            reg,
            AdverseEventInput(
                site="S01", code="P001", actor="n", term="seizure",
                severity="severe", serious=True,
                serious_criterion="medically_important", relatedness="possible",
            ),
        )  # fmt: skip
        with pytest.raises(EnrolmentRefusedError, match="any_seizure"):
            enrol_patient(reg, defn.id, "S01", "P002", factors, actor="c")
        assert len(reg.list_enrolments(defn.id)) == 1
        # the rule's action is pause_stimulation: no trial session starts either
        from plptms.workflow import prepare_trial_session

        with pytest.raises(EnrolmentRefusedError, match=r"Stimulation .* paused"):
            prepare_trial_session(
                reg, defn.id, "S01", "P001", 1, device="sim", actor="t",
                ae_reviewed=True,
            )  # fmt: skip
        assert reg.list_assignments("S01", "P001") == []
        review_adverse_event(
            reg,
            AdverseEventReviewInput(
                event_id=seizure.event.id, physician="Dr DMC",
                note="Reviewed by the safety committee; trial may continue.",
                continue_treatment=True,
            ),
        )  # fmt: skip
        e = enrol_patient(reg, defn.id, "S01", "P002", factors, actor="c")
        assert e.allocation_index == 1


def test_sessions_of_both_arms_go_through_the_same_blinded_path(
    db_url: str,
) -> None:
    """Active and sham are delivered alike; only the plan's condition differs."""
    from plptms.delivery import SimulatedStimulator, VirtualClock
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.workflow import prepare_trial_session, run_delivery
    from tests._review import REVIEW

    defn = read_trial_definition(EXAMPLE)
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="statistician")
        conditions = set()
        for k in range(8):
            code = f"P{k:03d}"
            reg.add_patient("S01", code, history=None, actor="n")
            screen(reg, "S01", code)
            hunt = hunt_ml_pest(
                SimulatedSubject(SubjectParameters(threshold_pct_mso=50.0), seed=k),
                start_intensity_pct_mso=60.0,
            )
            reg.record_rmt(
                "S01", code, hunt, hemisphere="left", muscle="FDI", stimulator="sim",
                actor="t",
            )  # fmt: skip
            enrol_patient(
                reg, defn.id, "S01", code, {"limb": "upper", "pain_band": "nrs_7_10"},
                actor="c",
            )  # fmt: skip
            start = prepare_trial_session(
                reg, defn.id, "S01", code, 1, device="sim", actor="tech",
                ae_reviewed=True, review=REVIEW,
            )  # fmt: skip
            prepared = start.prepared
            assert prepared.blinded
            arm = allocation_for(reg, defn.id, "S01", code, role="statistician")
            expected = defn.arm(str(arm.arm_id)).condition
            assert prepared.plan.condition.value == expected
            conditions.add(expected)
            clock = VirtualClock()
            stim = SimulatedStimulator(clock=clock.now, sleep=clock.sleep)
            out = run_delivery(
                reg, prepared, stim, actor="tech", clock=clock.now, sleep=clock.sleep
            )
            assert out.status == "completed"
            d = reg.get_delivery(prepared.session_id)
            assert d.blinded
        assert conditions == {"active", "sham"}
