"""LSL markers: one per pulse, on the LSL clock, received by an inlet on loopback."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from plptms.delivery import (
    LSLMarkerOutlet,
    MarkedStimulator,
    PulseRecord,
    SimulatedStimulator,
    Stimulator,
    StimulatorStatus,
    TrainRequest,
    TrainResult,
)

pylsl = pytest.importorskip("pylsl", reason="pylsl is not installed")

#: LSL clock conversion: both clocks are read back to back, s.
CLOCK_ATOL_S = 1e-3


def _liblsl_works() -> bool:
    try:
        pylsl.local_clock()
    except Exception:
        return False
    return True


pytestmark = pytest.mark.skipif(not _liblsl_works(), reason="liblsl cannot be loaded")


def _inlet(source_id: str) -> object:
    streams = pylsl.resolve_byprop("source_id", source_id, timeout=5.0)
    assert streams, "the marker stream was not found on loopback"
    inlet = pylsl.StreamInlet(streams[0])
    inlet.open_stream(timeout=5.0)
    return inlet


def _pull_all(
    inlet: object, n: int, timeout_s: float = 5.0
) -> list[tuple[list[object], float]]:
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        sample, ts = inlet.pull_sample(timeout=0.5)  # type: ignore[attr-defined]
        if sample is not None:
            out.append((sample, ts))
    return out


def _sim() -> SimulatedStimulator:
    sim = SimulatedStimulator(arm_delay_s=0.0)
    sim.connect()
    sim.set_intensity(45)
    sim.arm()
    return sim


def test_markers_arrive_with_pulse_times() -> None:
    outlet = LSLMarkerOutlet(source_id=f"test-{uuid.uuid4().hex}")
    try:
        inlet = _inlet(outlet.source_id)
        time.sleep(0.2)  # let the inlet connect before pushing
        marked = MarkedStimulator(_sim(), outlet)
        result = marked.run_train(
            TrainRequest(frequency_hz=50.0, n_pulses=12, intensity_pct_mso=45)
        )
        assert result.completed
        received = _pull_all(inlet, 12)
        assert len(received) == outlet.pushed == 12
        for (sample, ts), record in zip(received, result.pulses, strict=True):
            marker = json.loads(str(sample[0]))
            assert marker == {
                "event": "pulse",
                "train": 1,
                "index": record.index,
                "intensity_pct_mso": 45.0,
            }
            assert ts == pytest.approx(
                outlet.to_lsl_time(record.t_monotonic_s), abs=CLOCK_ATOL_S
            )
        assert _pull_all(inlet, 1, timeout_s=0.5) == []  # no extra marker
    finally:
        outlet.close()


def test_int_markers_count_pulses() -> None:
    outlet = LSLMarkerOutlet(source_id=f"test-{uuid.uuid4().hex}", marker_format="int")
    try:
        inlet = _inlet(outlet.source_id)
        time.sleep(0.2)
        sim = _sim()
        sim.add_pulse_listener(outlet)  # the outlet is itself a pulse listener
        sim.run_train(
            TrainRequest(frequency_hz=100.0, n_pulses=5, intensity_pct_mso=45)
        )
        received = _pull_all(inlet, 5)
        assert [s[0] for s, _ in received] == [1, 2, 3, 4, 5]
    finally:
        outlet.close()


class _Plain(Stimulator):
    """A stimulator without pulse listeners: markers are pushed after each call."""

    name = "plain"

    def __init__(self) -> None:
        self.t = time.monotonic()

    def connect(self) -> None: ...
    def disconnect(self) -> None: ...
    def arm(self) -> None: ...
    def disarm(self) -> None: ...
    def set_intensity(self, intensity_pct_mso: float) -> None: ...
    def request_stop(self) -> None: ...

    def status(self) -> StimulatorStatus:
        return StimulatorStatus(
            connected=True,
            armed=True,
            ready=True,
            intensity_pct_mso=30,
            coil_temperature_c=None,
        )

    def fire(self) -> PulseRecord:
        return PulseRecord(index=0, t_monotonic_s=self.t, intensity_pct_mso=30)

    def run_train(self, train: TrainRequest) -> TrainResult:
        pulses = tuple(
            PulseRecord(index=k, t_monotonic_s=self.t + k, intensity_pct_mso=30)
            for k in range(train.n_pulses)
        )
        return TrainResult(pulses=pulses, completed=True)


def test_wrapper_marks_stimulators_without_listeners() -> None:
    outlet = LSLMarkerOutlet(source_id=f"test-{uuid.uuid4().hex}")
    try:
        inlet = _inlet(outlet.source_id)
        time.sleep(0.2)
        marked = MarkedStimulator(_Plain(), outlet)
        marked.fire()
        marked.run_train(TrainRequest(frequency_hz=1, n_pulses=3, intensity_pct_mso=30))
        received = _pull_all(inlet, 4)
        trains = [json.loads(str(s[0]))["train"] for s, _ in received]
        assert trains == [None, 1, 1, 1]
        assert marked.status().connected
        assert marked.device_pulse_count() is None
    finally:
        outlet.close()


def test_wrapper_delegates_and_closes() -> None:
    outlet = LSLMarkerOutlet(source_id=f"test-{uuid.uuid4().hex}")
    sim = _sim()
    marked = MarkedStimulator(sim, outlet)
    assert marked.name == "sim+lsl"
    marked.fire()
    assert marked.device_pulse_count() == 1
    marked.close()
    marked.fire()
    assert outlet.pushed == 1  # no longer marked
    outlet.close()
    with pytest.raises(RuntimeError, match="closed"):
        outlet.push(PulseRecord(index=0, t_monotonic_s=0.0, intensity_pct_mso=1.0))


def test_bad_marker_format() -> None:
    with pytest.raises(ValueError, match="marker_format"):
        LSLMarkerOutlet(marker_format="float")  # type: ignore[arg-type]
