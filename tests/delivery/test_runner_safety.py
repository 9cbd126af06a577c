"""Issue 13: timing that cannot collapse, and pulses settled, never repeated.

A slow or busy durable log once made the runner fire every overdue pulse at once
(1.4 ms apart in a 20 Hz train); a restarted simulator counter once made a fired
pulse fire again after a resume. These pin the fixes.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from plptms.delivery._runner import (
    MemoryDeliveryLog,
    PlannedTrain,
    SessionPlan,
    SessionRunner,
    build_session_plan,
    replay_events,
)
from plptms.protocol import Protocol
from plptms.safety import PhysicianReview, check_protocol

from .test_runner import FakeStimulator, VirtualClock


def _plan(frequency_hz: float, n: int, trains: int, pause: float) -> SessionPlan:
    return SessionPlan(
        protocol_id="t",
        block="M1",
        condition="active",
        rmt_pct_mso=50.0,
        intensity_pct_rmt=80.0,
        pattern="rtms",
        trains=tuple(
            PlannedTrain(
                index=k,
                block="M1",
                frequency_hz=frequency_hz,
                n_pulses=n,
                intensity_pct_mso=40.0,
                pause_after_s=pause if k < trains - 1 else 0.0,
            )
            for k in range(trains)
        ),
    )


class SlowLog(MemoryDeliveryLog):
    """A durable log whose commits take ``delay()`` seconds of the clock."""

    def __init__(self, clock: VirtualClock, delay: Any) -> None:
        super().__init__()
        self.clock = clock
        self.delay = delay

    def append(self, kind: str, **fields: Any) -> int:
        self.clock.t += self.delay()
        return super().append(kind, **fields)


class TimedStimulator(FakeStimulator):
    """Records the clock at every pulse."""

    def __init__(self, clock: VirtualClock, **kw: Any) -> None:
        super().__init__(clock, **kw)
        self.times: list[float] = []
        self.on_fire = lambda n: self.times.append(clock())


def _intervals(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize(
    ("frequency_hz", "delay_s"),
    [(20.0, 0.08), (20.0, 0.03), (1.0, 1.7), (10.0, 0.0)],
)
def test_a_slow_log_stretches_a_train_and_never_compresses_it(
    frequency_hz: float, delay_s: float
) -> None:
    # observed: with 8 writers on the registry, a 20 Hz train fired pulses 1.4 ms
    # apart and a 1 Hz session two pulses 2 ms apart
    clock = VirtualClock()
    stim = TimedStimulator(clock)
    log = SlowLog(clock, lambda: delay_s)
    plan = _plan(frequency_hz, 20, 2, 5.0)
    out = SessionRunner(stim, plan, log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "completed"
    assert stim.fired == 40
    period = 1.0 / frequency_hz
    within = _intervals(stim.times[:20]) + _intervals(stim.times[20:])
    assert min(within) >= period - 1e-9
    # the pause between trains is at least the inter-train interval
    assert stim.times[20] - stim.times[19] >= 5.0 + period - 1e-9


def test_random_commit_stalls_never_shorten_an_interval() -> None:
    rng = random.Random(13)
    clock = VirtualClock()
    stim = TimedStimulator(clock)
    # stalls up to 4 periods, as a busy disk or database gives
    log = SlowLog(clock, lambda: rng.choice([0.0, 0.0, 0.001, 0.02, 0.2]))
    out = SessionRunner(
        stim, _plan(20.0, 40, 3, 5.0), log, clock=clock, sleep=clock.sleep
    ).run()
    assert out.status == "completed"
    trains = [stim.times[k * 40 : (k + 1) * 40] for k in range(3)]
    assert min(min(_intervals(t)) for t in trains) >= 0.05 - 1e-9


def test_a_fast_log_keeps_the_planned_rate() -> None:
    # stretching only when late: with a fast log the rate is the planned one
    clock = VirtualClock()
    stim = TimedStimulator(clock)
    log = SlowLog(clock, lambda: 0.002)
    SessionRunner(
        stim, _plan(10.0, 50, 1, 0.0), log, clock=clock, sleep=clock.sleep
    ).run()
    assert stim.times[-1] - stim.times[0] == pytest.approx(49 * 0.1, abs=1e-3)


def _crashed_log(count_at_start: int, device_id: str) -> MemoryDeliveryLog:
    """A log as a crash leaves it: 5 pulses recorded, the 6th issued unconfirmed."""
    log = MemoryDeliveryLog()
    log.append(
        "session_start", detail=f"device_count={count_at_start} device_id={device_id}"
    )
    log.append("train_start", train_index=0)
    for k in range(5):
        log.append("pulse_intent", train_index=0, pulse_index=k)
        log.append("pulse", train_index=0, pulse_index=k)
    log.append("pulse_intent", train_index=0, pulse_index=5)
    return log


class CountingStimulator(TimedStimulator):
    def __init__(self, clock: VirtualClock, count: int, ident: str | None) -> None:
        super().__init__(clock)
        self.start_count = count
        self.ident = ident

    def device_pulse_count(self) -> int | None:
        return self.start_count + self.fired

    def device_id(self) -> str | None:
        return self.ident


@pytest.mark.parametrize(
    ("count_now", "ident", "expected"),
    [
        # the counter restarted (the old simulator, a reset device): count 0 is
        # below the 5 pulses logged since the baseline 1000 -> unknown -> delivered
        (0, "SIM-0001", "reconciled_delivered"),
        (1003, "SIM-0001", "reconciled_delivered"),
        # another device: its count says nothing about this pulse
        (1005, "SIM-0002", "reconciled_delivered"),
        # the same device fired far more than the log can place: unknown
        (1300, "SIM-0001", "reconciled_delivered"),
        # the same device, count consistent: it decides both ways
        (1006, "SIM-0001", "reconciled_delivered"),
        (1005, "SIM-0001", "reconciled_not_delivered"),
    ],
)
def test_an_uncertain_pulse_is_settled_only_by_a_trustworthy_count(
    count_now: int, ident: str, expected: str
) -> None:
    # observed: a pulse fired just before a SIGKILL fired again after the resume
    log = _crashed_log(1000, "SIM-0001")
    clock = VirtualClock()
    stim = CountingStimulator(clock, count_now, ident)
    plan = _plan(10.0, 10, 1, 0.0)
    out = SessionRunner(stim, plan, log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "completed"
    settled = [e for e in log.events() if e.kind.startswith("reconciled")]
    assert [(e.kind, e.pulse_index) for e in settled] == [(expected, 5)]
    # the uncertain pulse is never given again when it may have been fired
    assert stim.fired == (4 if expected == "reconciled_delivered" else 5)
    assert replay_events(log.events()).total == 10


def test_resume_baseline_is_the_count_at_the_resume() -> None:
    # a second crash after a resume is settled against the resume's baseline
    log = _crashed_log(1000, "SIM-0001")
    clock = VirtualClock()
    stim = CountingStimulator(clock, 1006, "SIM-0001")  # the 6th pulse fired

    def crash(n: int) -> None:
        stim.times.append(clock())
        if n == 2:
            raise KeyboardInterrupt("simulated crash")

    stim.on_fire = crash
    with pytest.raises(KeyboardInterrupt):
        SessionRunner(
            stim, _plan(10.0, 10, 1, 0.0), log, clock=clock, sleep=clock.sleep
        ).run()
    resume = [e for e in log.events() if e.kind == "resume_session"]
    assert resume[0].detail.startswith("device_count=1006 device_id=SIM-0001")
    st = replay_events(log.events())
    assert st.device_count_at_start == 1006
    assert st.total_at_baseline == 6
    # the crash hit during the second pulse of the resumed run: it counts (the
    # device's count went up), so the next run settles it as delivered
    stim2 = CountingStimulator(clock, 1006 + 2, "SIM-0001")
    SessionRunner(
        stim2, _plan(10.0, 10, 1, 0.0), log, clock=clock, sleep=clock.sleep
    ).run()
    assert replay_events(log.events()).total == 10
    assert stim.fired + stim2.fired + 6 == 10


def _single_pulse_plan(frequency_hz: float, n: int) -> SessionPlan:
    from plptms.delivery._runner import build_session_plan
    from plptms.protocol import Protocol
    from plptms.safety import check_protocol

    proto = Protocol.model_validate(
        {
            "id": "sp",
            "name": "single pulses",
            "condition": "active",
            "blocks": [
                {
                    "label": "M1",
                    "dose": {
                        "pattern": "single_pulse",
                        "target": "m1_hand",
                        "laterality": "contralateral",
                        "frequency_hz": frequency_hz,
                        "intensity_pct_rmt": 100,
                        "pulses_per_train": 1,
                        "trains_per_session": n,
                        "inter_train_interval_s": "unreported",
                    },
                    "sessions": 1,
                    "sessions_per_week": 1,
                    "course_weeks": 1,
                }
            ],
        }
    )
    return build_session_plan(proto, check_protocol(proto, rmt_pct_mso=50.0), 50.0)


def test_single_pulses_are_fired_at_the_planned_rate() -> None:
    # found by the crash campaign: a 0.5 Hz single-pulse protocol fired every 4 s
    clock = VirtualClock()
    stim = TimedStimulator(clock)
    plan = _single_pulse_plan(0.5, 5)
    out = SessionRunner(
        stim, plan, MemoryDeliveryLog(), clock=clock, sleep=clock.sleep
    ).run()
    assert out.status == "completed"
    gaps = _intervals(stim.times)
    assert gaps == pytest.approx([2.0] * 4, abs=1e-3)


def test_an_operator_pause_inside_an_inter_train_pause_is_logged() -> None:
    # found by the crash campaign: a pause pressed during a wait was not logged
    clock = VirtualClock()
    stim = TimedStimulator(clock)
    log = MemoryDeliveryLog()
    runner = SessionRunner(
        stim, _plan(10.0, 5, 2, 5.0), log, clock=clock, sleep=clock.sleep
    )
    state = {"paused_at": None}

    def on_fire(n: int) -> None:
        stim.times.append(clock())
        if n == 5:
            runner.pause(by="tech1")
            state["paused_at"] = clock()

    stim.on_fire = on_fire
    real_sleep = clock.sleep

    def sleep(s: float) -> None:
        real_sleep(s)
        if state["paused_at"] is not None and clock() - state["paused_at"] > 20:
            runner.resume(by="dr1")

    runner._sleep = sleep
    out = runner.run()
    assert out.status == "completed"
    kinds = [e.kind for e in log.events()]
    assert kinds.count("pause") == 1
    assert kinds.count("resume") == 1
    assert kinds.index("pause") < kinds.index("resume")
    # who pressed each control is logged with it
    details = {e.kind: e.detail for e in log.events() if e.kind in ("pause", "resume")}
    assert details == {"pause": "by=tech1", "resume": "by=dr1"}
    # the pause held the session: the second train began after the resume
    assert stim.times[5] - stim.times[4] > 20


# ------------------------------------------------------------------ issue 14
def _consensus() -> Any:
    from plptms.protocol import load_library

    return load_library().protocol("consensus2024-example-10hz")


_REVIEW_RMT = 50.0
_REVIEW = PhysicianReview(physician="Dr S", reason="unverified cell reviewed")


def _reviewed_runner(proto: Protocol) -> tuple[SessionRunner, MemoryDeliveryLog]:
    """A runner on ``proto``'s plan at RMT 50 % MSO, its review recorded."""
    plan = build_session_plan(
        proto,
        check_protocol(proto, rmt_pct_mso=_REVIEW_RMT, review=_REVIEW),
        _REVIEW_RMT,
    )
    clock = VirtualClock()
    log = MemoryDeliveryLog()
    runner = SessionRunner(
        FakeStimulator(clock), plan, log, clock=clock, sleep=clock.sleep
    )
    return runner, log


def test_a_verdict_needing_review_does_not_start_a_session() -> None:
    """The consensus example's train limit rests on the unverified 10 Hz x 100 %
    cell (Wassermann 1998) and its interval lies outside the conditions of Chen et
    al. (1997): without a recorded review the pre-session checks block it and no
    session plan is built; with the review both go ahead."""
    import datetime as dt

    from plptms.delivery._runner import build_session_plan, pre_session_checks
    from plptms.safety import (
        Decision,
        SafetyReviewRequiredError,
        check_protocol,
    )

    proto = _consensus()
    v = check_protocol(proto, rmt_pct_mso=_REVIEW_RMT)
    assert v.decision is Decision.REVIEW
    checks = {
        c.check: c
        for c in pre_session_checks(
            today=dt.date(2026, 12, 1),
            screening=None,
            rmt_measured_on=None,
            verdict=v,
            adverse_events_reviewed=True,
        )
    }
    assert not checks["verdict"].passed
    assert "physician review not recorded" in checks["verdict"].message
    assert "train_duration [M1] unverified" in checks["verdict"].message
    with pytest.raises(SafetyReviewRequiredError, match="train_duration"):
        build_session_plan(proto, v, _REVIEW_RMT)
    ok = check_protocol(proto, rmt_pct_mso=_REVIEW_RMT, review=_REVIEW)
    checks = {
        c.check: c
        for c in pre_session_checks(
            today=dt.date(2026, 12, 1),
            screening=None,
            rmt_measured_on=None,
            verdict=ok,
            adverse_events_reviewed=True,
        )
    }
    assert checks["verdict"].passed
    assert "review by Dr S" in checks["verdict"].message
    assert build_session_plan(proto, ok, _REVIEW_RMT).total_pulses == 1500


def test_per_train_rechecks_refuse_only_failed_rules() -> None:
    """A reviewed plan's intensity change is re-checked: a value within an
    unverified limit (10 Hz x 100 % cell, Wassermann 1998) is not refused for
    being unverified; a value whose 5 s train breaks the table is refused."""
    from plptms.safety import UnsafeProtocolError

    proto = _consensus()
    runner, log = _reviewed_runner(proto)
    # 100 % RMT: still within the unverified >5 s cell -> no safety rule fails
    assert not runner._failed_rules(100.0, 50, 30, 25.0)
    # lowering the intensity (tolerability) is allowed
    runner.change_intensity(40.0)
    assert log.events()[-1].kind == "intensity_change"
    # 120 % RMT: above the assigned dose, and a 5 s train exceeds the 4.2 s cell
    # -> refused, and the refusal's verdict names the policy it used
    with pytest.raises(UnsafeProtocolError, match="pulses_per_train") as exc:
        runner.change_intensity(60.0)
    assert [r.rule_id for r in exc.value.verdict.failures] == [
        "assigned_dose",
        "train_duration",
    ]
    assert exc.value.verdict.policy_name == "plptms-default"
    assert log.events()[-1].kind == "intensity_refused"


def test_an_increase_beyond_the_assigned_dose_is_refused() -> None:
    """The dose fired is never more than the checked, assigned dose (issue 15).

    100 % RMT passes every safety rule here (10 Hz, 5 s trains within the
    >5 s cell; Wassermann 1998, Table 4), yet exceeds the assigned 90 % RMT.
    """
    from plptms.safety import UnsafeProtocolError

    proto = _consensus()
    runner, log = _reviewed_runner(proto)
    assigned = runner.plan.trains[0].intensity_pct_mso
    with pytest.raises(UnsafeProtocolError, match="assigned dose") as exc:
        runner.change_intensity(assigned * 1.01)
    assert [r.rule_id for r in exc.value.verdict.failures] == ["assigned_dose"]
    assert log.events()[-1].kind == "intensity_refused"
    runner.change_intensity(assigned)  # the assigned dose itself is allowed
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        runner.change_intensity(0.0)


def test_rechecks_use_the_sites_policy_not_the_default() -> None:
    """A plan built under a site's margin policy re-checks under that margin.

    With the 25 % cut (Chen et al. 1997) as a recorded site policy, a 5 s train at
    100 % RMT (within the 10 Hz x 100 % MT cell, >5 s; Wassermann 1998, Table 4)
    is beyond 0.75 x 5 s = 3.75 s and is refused; under the default policy the
    same change is allowed (the test above).
    """
    from plptms.delivery._runner import build_session_plan
    from plptms.protocol import Protocol
    from plptms.safety import (
        PhysicianReview,
        SafetyPolicy,
        UnsafeProtocolError,
        check_protocol,
    )

    pol = SafetyPolicy(
        name="site-chen-cut",
        train_duration_margin=0.75,
        margin_reason="Site committee applies the Chen 1997 cut.",
    )
    # 2 trains of 30 pulses (3 s at 10 Hz): within 0.75 x 5 s
    proto = Protocol.model_validate(
        {
            "id": "short-10hz",
            "name": "test: 3 s trains",
            "condition": "active",
            "blocks": [
                {
                    "label": "M1",
                    "dose": {
                        "pattern": "rtms",
                        "target": "m1_hand",
                        "laterality": "contralateral",
                        "frequency_hz": 10,
                        "intensity_pct_rmt": 90,
                        "pulses_per_train": 30,
                        "trains_per_session": 2,
                        "inter_train_interval_s": 30,
                    },
                    "sessions": 1,
                    "sessions_per_week": 1,
                    "course_weeks": 1,
                }
            ],
        }
    )
    review = PhysicianReview(physician="Dr S", reason="unverified cell reviewed")
    verdict = check_protocol(proto, rmt_pct_mso=_REVIEW_RMT, review=review, policy=pol)
    with pytest.raises(ValueError, match="policy"):
        build_session_plan(proto, verdict, _REVIEW_RMT)  # default policy: refused
    plan = build_session_plan(proto, verdict, _REVIEW_RMT, policy=pol)
    assert plan.policy == pol
    clock = VirtualClock()
    log = MemoryDeliveryLog()
    runner = SessionRunner(
        FakeStimulator(clock), plan, log, clock=clock, sleep=clock.sleep
    )
    # a 3 s train at 100 % RMT is within 3.75 s
    assert not runner._failed_rules(100.0, 30, 2, 30.0)
    bad = runner._failed_rules(100.0, 40, 2, 30.0)  # 4 s > 3.75 s
    assert [r.rule_id for r in bad] == ["train_duration"]
    assert bad[0].limit == pytest.approx(3.75, rel=1e-12)
    with pytest.raises(UnsafeProtocolError) as exc:
        runner.change_intensity(_REVIEW_RMT * 1.3)  # 130 % RMT: 3 s > 0.75 x 2.9 s
    assert exc.value.verdict.policy_name == "site-chen-cut"
