"""Session runner: plan, durable log, faults, stop and resume, reconciliation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from plptms.delivery._interface import (
    OverTemperatureError,
    PulseRecord,
    Stimulator,
    StimulatorStatus,
    TrainRequest,
    TrainResult,
)
from plptms.delivery._runner import (
    MemoryDeliveryLog,
    SessionRunner,
    build_session_plan,
    pre_session_checks,
    replay_events,
)
from plptms.protocol import load_library
from plptms.safety import (
    PhysicianReview,
    SafetyCheckIncompleteError,
    ScreeningAnswers,
    UnsafeProtocolError,
    check_protocol,
    screen,
)

RMT = 50.0


class VirtualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += max(s, 1e-4)


class FakeStimulator(Stimulator):
    """Test double: counts pulses, can fault at a given pulse number."""

    name = "fake"

    def __init__(
        self, clock: VirtualClock, *, fault_at: int | None = None, counter: bool = True
    ) -> None:
        self.clock = clock
        self.fired = 0
        self.armed = False
        self.intensity = 0.0
        self.fault_at = fault_at
        self.counter = counter
        self.on_fire: Any = None

    def connect(self) -> None: ...
    def disconnect(self) -> None: ...

    def arm(self) -> None:
        self.armed = True

    def disarm(self) -> None:
        self.armed = False

    def set_intensity(self, intensity_pct_mso: float) -> None:
        if not 0 <= intensity_pct_mso <= 100:
            raise ValueError("intensity_pct_mso")
        self.intensity = intensity_pct_mso

    def fire(self) -> PulseRecord:
        assert self.armed, "fired while disarmed"
        if self.fault_at is not None and self.fired == self.fault_at:
            raise OverTemperatureError("coil 41.5 degC")
        self.fired += 1
        if self.on_fire is not None:
            self.on_fire(self.fired)
        return PulseRecord(
            index=0, t_monotonic_s=self.clock(), intensity_pct_mso=self.intensity
        )

    def run_train(self, train: TrainRequest) -> TrainResult:  # pragma: no cover
        raise NotImplementedError

    def status(self) -> StimulatorStatus:
        return StimulatorStatus(
            connected=True,
            armed=self.armed,
            ready=self.armed,
            intensity_pct_mso=self.intensity,
            coil_temperature_c=30.0,
        )

    def request_stop(self) -> None: ...

    def device_pulse_count(self) -> int | None:
        return self.fired if self.counter else None


class MemoryLog(MemoryDeliveryLog):
    """The in-memory log, able to simulate a crash at one event kind."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_on: str | None = None

    def append(self, kind: str, **fields: Any) -> int:
        if self.fail_on == kind:
            self.fail_on = None
            raise KeyboardInterrupt("simulated crash")
        return super().append(kind, **fields)


#: The consensus example's train limit rests on an unverified table cell: its
#: verdict needs a physician's review before a session (issue 14).
REVIEW = PhysicianReview(physician="Dr Test", reason="reviewed for the runner tests")


def _plan(n_trains: int | None = None):  # type: ignore[no-untyped-def]
    proto = load_library().protocol("consensus2024-example-10hz")
    if n_trains is not None:
        blk = proto.blocks[0]
        dose = blk.dose.model_copy(update={"trains_per_session": n_trains})
        proto = proto.model_copy(
            update={"blocks": (blk.model_copy(update={"dose": dose}),)}
        )
    verdict = check_protocol(proto, rmt_pct_mso=RMT, review=REVIEW)
    return build_session_plan(proto, verdict, RMT)


def _pulses(log: MemoryLog) -> list[tuple[int, int]]:
    return [
        (e.train_index or 0, e.pulse_index or 0)
        for e in log.events()
        if e.kind in ("pulse", "reconciled_delivered")
    ]


def test_plan_from_accepted_verdict() -> None:
    plan = _plan()
    assert len(plan.trains) == 30
    assert plan.total_pulses == 1500
    assert plan.trains[0].intensity_pct_mso == pytest.approx(45.0)
    assert plan.trains[-1].pause_after_s == 0.0
    lib = load_library()
    p = lib.protocol("xu2019-m1-10hz")  # train structure unreported
    v = check_protocol(p, rmt_pct_mso=RMT)
    with pytest.raises(SafetyCheckIncompleteError):
        build_session_plan(p, v, RMT)
    p = lib.protocol("consensus2024-example-10hz")
    with pytest.raises(ValueError, match="rmt_pct_mso"):
        build_session_plan(p, check_protocol(p, rmt_pct_mso=RMT, review=REVIEW), 60.0)
    blk = p.blocks[0]
    hot = p.model_copy(
        update={
            "blocks": (
                blk.model_copy(
                    update={
                        "dose": blk.dose.model_copy(
                            update={"intensity_pct_rmt": 120.0, "pulses_per_train": 40}
                        )
                    }
                ),
            )
        }
    )
    with pytest.raises(UnsafeProtocolError, match="MSO"):  # 120 % x 90 = 108 % MSO
        build_session_plan(hot, check_protocol(hot, rmt_pct_mso=90.0), 90.0)


def test_complete_session_every_pulse_logged() -> None:
    clock = VirtualClock()
    stim = FakeStimulator(clock)
    log = MemoryLog()
    seen: list[int] = []
    out = SessionRunner(
        stim,
        _plan(4),
        log,
        progress=lambda p: seen.append(p.pulses_delivered),
        clock=clock,
        sleep=clock.sleep,
    ).run()
    assert out.status == "completed"
    assert out.pulses_delivered == stim.fired == 200
    assert len(_pulses(log)) == 200
    assert len(set(_pulses(log))) == 200
    assert not stim.armed
    assert seen[-1] == 200
    # pulses 0.1 s apart within a train, trains 5 s long then 25 s pauses
    times = [e.t_monotonic_s for e in log.events() if e.kind == "pulse"]
    assert times[1] - times[0] == pytest.approx(0.1, abs=2e-3)
    assert times[50] - times[49] == pytest.approx(25.1, abs=0.06)


def test_fault_stops_at_once_and_records_exactly() -> None:
    clock = VirtualClock()
    stim = FakeStimulator(clock, fault_at=73)
    log = MemoryLog()
    out = SessionRunner(stim, _plan(4), log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "faulted"
    assert "OverTemperatureError" in out.detail
    assert stim.fired == 73 == len(_pulses(log))
    assert not stim.armed
    kinds = [e.kind for e in log.events()]
    assert "fault" in kinds
    # the pulse issued when the fault struck is settled with the device's count
    assert kinds[-1] == "reconciled_not_delivered"


def test_emergency_stop_then_resume_without_repeat_or_skip() -> None:
    clock = VirtualClock()
    stim = FakeStimulator(clock)
    log = MemoryLog()
    runner = SessionRunner(stim, _plan(4), log, clock=clock, sleep=clock.sleep)
    stim.on_fire = lambda n: runner.emergency_stop() if n == 120 else None
    out = runner.run()
    assert out.status == "emergency_stop"
    assert stim.fired == 120 == len(_pulses(log))
    stim.on_fire = None
    out2 = SessionRunner(stim, _plan(4), log, clock=clock, sleep=clock.sleep).run()
    assert out2.status == "completed"
    pulses = _pulses(log)
    assert len(pulses) == len(set(pulses)) == 200 == stim.fired


@pytest.mark.parametrize("counter", [True, False])
def test_crash_between_fire_and_log_is_reconciled(counter: bool) -> None:
    clock = VirtualClock()
    stim = FakeStimulator(clock, counter=counter)
    log = MemoryLog()

    def crash_on_fire(n: int) -> None:
        if n == 57:
            log.fail_on = "pulse"  # the process "dies" after firing, before logging

    stim.on_fire = crash_on_fire
    with pytest.raises(KeyboardInterrupt):
        SessionRunner(stim, _plan(4), log, clock=clock, sleep=clock.sleep).run()
    # the last durable record is the intent of the pulse whose record was lost
    last = log.events()[-1]
    assert (last.kind, last.train_index, last.pulse_index) == ("pulse_intent", 1, 6)
    assert stim.fired == 57
    assert len(_pulses(log)) == 56  # the 57th fired but its record was lost
    assert replay_events(log.events()).uncertain == [(1, 6)]
    stim.on_fire = None
    stim.armed = False
    out = SessionRunner(stim, _plan(4), log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "completed"
    pulses = _pulses(log)
    assert len(pulses) == len(set(pulses)) == 200
    assert stim.fired == 200  # nothing repeated, nothing skipped
    kinds = [e.kind for e in log.events()]
    assert "reconciled_delivered" in kinds


def test_crash_before_fire_is_not_counted() -> None:
    clock = VirtualClock()
    stim = FakeStimulator(clock)
    log = MemoryLog()
    stim.on_fire = lambda n: (
        setattr(log, "fail_on", "pulse_intent") if n == 30 else None
    )
    with pytest.raises(KeyboardInterrupt):
        SessionRunner(stim, _plan(2), log, clock=clock, sleep=clock.sleep).run()
    assert stim.fired == 30
    stim.on_fire = None
    out = SessionRunner(stim, _plan(2), log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "completed"
    assert stim.fired == 100 == len(_pulses(log))


def test_unsafe_intensity_change_refused() -> None:
    clock = VirtualClock()
    stim = FakeStimulator(clock)
    log = MemoryLog()
    runner = SessionRunner(stim, _plan(2), log, clock=clock, sleep=clock.sleep)
    with pytest.raises(UnsafeProtocolError, match="pulses_per_train"):
        runner.change_intensity(99.0)  # 198 % RMT: a 5 s train is far too long
    assert log.events()[-1].kind == "intensity_refused"
    runner.change_intensity(42.0)
    out = runner.run()
    assert out.status == "completed"
    assert {e.intensity_pct_mso for e in log.events() if e.kind == "pulse"} == {42.0}


def test_pre_session_checks() -> None:
    today = dt.date(2026, 11, 24)
    ok_screen = screen(
        ScreeningAnswers(
            answers=dict.fromkeys(
                [
                    i.id
                    for i in __import__(
                        "plptms.safety", fromlist=["x"]
                    ).load_screening_items()
                ],
                "no",
            ),
            screened_on=today - dt.timedelta(days=3),
        )
    )
    proto = load_library().protocol("consensus2024-example-10hz")
    verdict = check_protocol(proto, rmt_pct_mso=RMT, review=REVIEW)
    res = pre_session_checks(
        today=today,
        screening=ok_screen,
        rmt_measured_on=today - dt.timedelta(days=2),
        verdict=verdict,
        adverse_events_reviewed=True,
    )
    assert all(r.passed for r in res)
    res = pre_session_checks(
        today=today,
        screening=ok_screen,
        rmt_measured_on=today - dt.timedelta(days=8),
        verdict=verdict,
        adverse_events_reviewed=False,
    )
    failed = {r.check for r in res if not r.passed}
    assert failed == {"rmt", "adverse_events"}
    old = ok_screen.model_copy(update={"screened_on": today - dt.timedelta(days=31)})
    res = pre_session_checks(
        today=today,
        screening=old,
        rmt_measured_on=today,
        verdict=verdict,
        adverse_events_reviewed=True,
    )
    assert {r.check for r in res if not r.passed} == {"screening"}
    res = pre_session_checks(
        today=today,
        screening=None,
        rmt_measured_on=None,
        verdict=None,
        adverse_events_reviewed=True,
    )
    assert {r.check for r in res if not r.passed} == {"screening", "rmt", "verdict"}


class DeviceTimedFake(FakeStimulator):
    """A device whose host-timed single pulses stop at 1 Hz (like a Rapid)."""

    class _Settings:
        host_max_frequency_hz = 1.0

    settings = _Settings()

    def __init__(self, clock: VirtualClock, *, stop_after: int | None = None) -> None:
        super().__init__(clock, counter=False)
        self.stop_after = stop_after
        self.trains: list[TrainRequest] = []

    def fire(self) -> PulseRecord:  # pragma: no cover - must not be used
        raise AssertionError("host-timed fire used above the device's limit")

    def run_train(self, train: TrainRequest) -> TrainResult:
        self.trains.append(train)
        pulses = []
        for k in range(train.n_pulses):
            if self.stop_after is not None and self.fired >= self.stop_after:
                return TrainResult(
                    pulses=tuple(pulses),
                    completed=False,
                    fault="OverTemperatureError: coil 41 degC",
                )
            self.fired += 1
            self.clock.t += 1.0 / train.frequency_hz
            pulses.append(
                PulseRecord(
                    index=k,
                    t_monotonic_s=self.clock.t,
                    intensity_pct_mso=train.intensity_pct_mso,
                )
            )
        return TrainResult(pulses=tuple(pulses), completed=True)


def test_device_timed_trains_above_host_limit() -> None:
    clock = VirtualClock()
    stim = DeviceTimedFake(clock)
    log = MemoryLog()
    out = SessionRunner(stim, _plan(3), log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "completed"
    assert [t.n_pulses for t in stim.trains] == [50, 50, 50]
    assert stim.fired == 150 == len(_pulses(log))
    # a device fault mid-train: the reported pulses are kept, the rest not counted
    clock2 = VirtualClock()
    stim2 = DeviceTimedFake(clock2, stop_after=70)
    log2 = MemoryLog()
    out2 = SessionRunner(stim2, _plan(3), log2, clock=clock2, sleep=clock2.sleep).run()
    assert out2.status == "faulted"
    assert stim2.fired == 70 == len(_pulses(log2))
    assert replay_events(log2.events()).uncertain == []


def test_crash_during_device_timed_train_is_settled_conservatively() -> None:
    clock = VirtualClock()
    stim = DeviceTimedFake(clock)
    log = MemoryLog()
    log.fail_on = "pulse"  # dies after the device ran the train, before logging it
    with pytest.raises(KeyboardInterrupt):
        SessionRunner(stim, _plan(3), log, clock=clock, sleep=clock.sleep).run()
    assert stim.fired == 50
    assert len(replay_events(log.events()).uncertain) == 50
    out = SessionRunner(stim, _plan(3), log, clock=clock, sleep=clock.sleep).run()
    assert out.status == "completed"
    # without a device counter the in-flight train counts as delivered: the
    # patient never gets more than planned, and nothing is repeated
    assert stim.fired == 150 == len(_pulses(log))
