"""Tests of the live responder (stimulator + EMG) and the LSL EMG source."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from plptms.delivery import PulseRecord, SimulatedStimulator, VirtualClock
from plptms.motor import (
    MepParams,
    RejectionReason,
    SamplingRateTooLowError,
    SimulatedSubject,
    SubjectParameters,
    hunt_threshold,
)
from plptms.motor._live import (
    DEFAULT_INTER_PULSE_S,
    MIN_INTER_PULSE_S,
    EmgStreamError,
    EmgWindow,
    LSLEmgSource,
    MepRejectedError,
    StimulatorResponder,
)

#: Sampling rate of the synthetic EMG, Hz.
SFREQ_HZ = 5000.0
#: Latency of the synthetic MEP's centre, ms after the pulse.
MEP_CENTRE_MS = 25.0
#: Width (SD) of the Gaussian whose derivative is the synthetic MEP, ms.
MEP_SIGMA_MS = 2.0
#: Tolerance on amplitudes measured from noise-free synthetic EMG, relative.
RTOL = 1e-9
#: Tolerance on amplitudes measured from noisy streamed EMG, uV.
ATOL_STREAM_UV = 15.0
#: Tolerance on the threshold estimate against the truth, % MSO.
ATOL_THRESHOLD_PCT = 4.0
#: Tolerance on the MEP onset latency after LSL clock conversion, ms.
ATOL_LATENCY_MS = 1.0


def mep_waveform(t_ms: np.ndarray, amplitude_uv: float) -> np.ndarray:
    """Biphasic MEP (Gaussian derivative) with peak-to-peak ``amplitude_uv``."""
    z = (t_ms - MEP_CENTRE_MS) / MEP_SIGMA_MS
    shape = -z * np.exp(-0.5 * z**2)
    return amplitude_uv * shape / (2.0 * math.exp(-0.5))


class SubjectEmg:
    """Fake EMG source: renders the simulated subject's MEP at every pulse."""

    def __init__(self, subject: Any, *, preactivated: int = 0) -> None:
        self.subject = subject
        self.preactivated = preactivated
        self.amplitudes: list[float] = []
        self._by_time: dict[float, tuple[float, bool]] = {}

    def on_pulse(self, record: PulseRecord) -> None:
        amp = float(self.subject.stimulate(record.intensity_pct_mso))
        self.amplitudes.append(amp)
        active = self.preactivated > 0
        self.preactivated -= 1
        self._by_time[record.t_monotonic_s] = (amp, active)

    def window_after(
        self,
        t_pulse_monotonic_s: float,
        *,
        pre_s: float,
        post_s: float,
        timeout_s: float,
    ) -> EmgWindow:
        if t_pulse_monotonic_s not in self._by_time:
            raise EmgStreamError(f"fake: no EMG for the pulse at {t_pulse_monotonic_s}")
        amp, active = self._by_time[t_pulse_monotonic_s]
        n_pre = math.ceil(pre_s * SFREQ_HZ) + 2
        n_post = math.ceil(post_s * SFREQ_HZ) + 2
        t_ms = (np.arange(-n_pre, n_post + 1)) / SFREQ_HZ * 1000.0
        data = mep_waveform(t_ms, amp)
        if active:  # a 200 uV burst of voluntary EMG in the baseline
            data += 100.0 * np.sin(2 * np.pi * 0.1 * t_ms) * (t_ms < -10.0)
        return EmgWindow(data, SFREQ_HZ, n_pre, "FDI")


def virtual_rig(
    threshold: float = 48.0, *, seed: int = 7, preactivated: int = 0, **sim: Any
) -> tuple[SimulatedStimulator, SubjectEmg, VirtualClock]:
    vc = VirtualClock(1000.0)
    stim = SimulatedStimulator(clock=vc.now, sleep=vc.sleep, **sim)
    stim.connect()
    subject = SimulatedSubject(
        SubjectParameters(threshold_pct_mso=threshold), seed=seed
    )
    emg = SubjectEmg(subject, preactivated=preactivated)
    stim.add_pulse_listener(emg.on_pulse)
    return stim, emg, vc


def responder(
    stim: SimulatedStimulator, emg: Any, vc: VirtualClock, **kw: Any
) -> StimulatorResponder:
    return StimulatorResponder(stim, emg, clock=vc.now, sleep=vc.sleep, **kw)


def test_amplitudes_match_subject_and_pulses_are_spaced() -> None:
    stim, emg, vc = virtual_rig()
    resp = responder(stim, emg, vc)
    intensities = [30.0, 45.0, 50.0, 55.0, 60.0, 70.0, 80.0]
    got = [resp.stimulate(x) for x in intensities]
    np.testing.assert_allclose(got, emg.amplitudes, rtol=RTOL, atol=1e-9)
    assert stim.pulses_fired == len(intensities)
    times = np.array([t.pulse.t_monotonic_s for t in resp.trials])
    assert np.all(np.diff(times) >= DEFAULT_INTER_PULSE_S - 1e-9)
    assert [t.pulse.intensity_pct_mso for t in resp.trials] == intensities


@pytest.mark.parametrize("method", ["ml_pest", "relative_frequency"])
def test_hunt_through_responder_matches_direct_hunt(method: str) -> None:
    threshold = 47.0
    stim, emg, vc = virtual_rig(threshold, seed=11)
    live = hunt_threshold(responder(stim, emg, vc), method, start_intensity_pct_mso=60)
    direct = hunt_threshold(
        SimulatedSubject(SubjectParameters(threshold_pct_mso=threshold), seed=11),
        method,
        start_intensity_pct_mso=60,
    )
    assert live.converged
    est = live.rmt_or_raise()
    assert abs(est - threshold) <= ATOL_THRESHOLD_PCT
    assert est == pytest.approx(direct.rmt_or_raise(), abs=1e-9)
    assert stim.pulses_fired == live.pulses_used


def test_preactivated_trial_is_repeated_once() -> None:
    stim, emg, vc = virtual_rig(preactivated=1)
    resp = responder(stim, emg, vc)
    amp = resp.stimulate(70.0)
    assert stim.pulses_fired == 2
    first, second = resp.trials
    assert first.trial.rejected
    assert first.trial.rejection_reason is RejectionReason.PRESTIM_PTP
    assert not second.trial.rejected
    assert amp == pytest.approx(emg.amplitudes[1], rel=RTOL)
    gap = second.pulse.t_monotonic_s - first.pulse.t_monotonic_s
    assert gap >= DEFAULT_INTER_PULSE_S - 1e-9


def test_rejected_every_time_raises() -> None:
    stim, emg, vc = virtual_rig(preactivated=3)
    resp = responder(stim, emg, vc, max_retries=1)
    with pytest.raises(MepRejectedError, match="rejected") as info:
        resp.stimulate(70.0)
    assert len(info.value.trials) == 2
    assert stim.pulses_fired == 2


def test_no_retry_raises_at_once() -> None:
    stim, emg, vc = virtual_rig(preactivated=1)
    resp = responder(stim, emg, vc, max_retries=0)
    with pytest.raises(MepRejectedError):
        resp.stimulate(70.0)
    assert stim.pulses_fired == 1


@pytest.mark.parametrize("bad", [-1.0, 100.5, float("nan"), float("inf")])
def test_intensity_refused_before_any_pulse(bad: float) -> None:
    stim, emg, vc = virtual_rig()
    resp = responder(stim, emg, vc)
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        resp.stimulate(bad)
    assert stim.pulses_fired == 0


def test_intensity_wrong_type_refused() -> None:
    stim, emg, vc = virtual_rig()
    with pytest.raises(TypeError, match="intensity_pct_mso"):
        responder(stim, emg, vc).stimulate("50")  # type: ignore[arg-type]


def test_fractional_intensity_refused_when_driver_is_whole() -> None:
    stim, emg, vc = virtual_rig(whole_intensity=True)
    resp = responder(stim, emg, vc)
    with pytest.raises(ValueError, match="whole"):
        resp.stimulate(50.5)
    assert stim.pulses_fired == 0
    assert resp.stimulate(50.0) >= 0.0
    assert stim.pulses_fired == 1


@pytest.mark.parametrize("interval", [0.0, 1.0, MIN_INTER_PULSE_S - 0.01])
def test_short_inter_pulse_interval_refused(interval: float) -> None:
    stim, emg, vc = virtual_rig()
    with pytest.raises(ValueError, match="inter_pulse_s"):
        responder(stim, emg, vc, inter_pulse_s=interval)


def test_bad_arguments_refused() -> None:
    stim, emg, _ = virtual_rig()
    with pytest.raises(TypeError, match="stimulator"):
        StimulatorResponder(object(), emg)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="emg"):
        StimulatorResponder(stim, object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="params"):
        StimulatorResponder(stim, emg, params={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries"):
        StimulatorResponder(stim, emg, max_retries=9)


def test_emg_timeout_propagates() -> None:
    stim, _, vc = virtual_rig()

    class Silent:
        def window_after(self, t: float, **kw: float) -> EmgWindow:
            raise EmgStreamError("Timed out waiting for LSL EMG stream 'x'")

    resp = responder(stim, Silent(), vc)
    with pytest.raises(EmgStreamError, match="'x'"):
        resp.stimulate(50.0)


def test_custom_window_params_used() -> None:
    stim, emg, vc = virtual_rig()
    # a window that ends before the synthetic MEP sees almost nothing
    resp = responder(stim, emg, vc, params=MepParams(window_ms=(6.0, 12.0)))
    amp = resp.stimulate(90.0)
    assert emg.amplitudes[0] > 100.0
    assert amp < 0.05 * emg.amplitudes[0]


# ---------------------------------------------------------------------------
# LSL source, on loopback.
# ---------------------------------------------------------------------------


def mep_uv_for(intensity_pct_mso: float) -> float:
    """Deterministic recruitment of the streamed synthetic subject, uV."""
    return max(0.0, 20.0 * (intensity_pct_mso - 40.0))


class SyntheticEmgOutlet:
    """An LSL EMG outlet pushing noise plus an MEP after each pulse, in real time."""

    def __init__(
        self,
        name: str,
        *,
        sfreq_hz: float = SFREQ_HZ,
        noise_uv: float = 1.0,
        stype: str = "EMG",
    ) -> None:
        import pylsl  # type: ignore[import-untyped]

        self.pylsl = pylsl
        self.sfreq = sfreq_hz
        self.noise_uv = noise_uv
        info = pylsl.StreamInfo(name, stype, 2, sfreq_hz, "float32", name)
        chans = info.desc().append_child("channels")
        for label in ("EMG1", "FDI"):
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "microvolts")
        self.outlet = pylsl.StreamOutlet(info, chunk_size=25)
        self._pulses: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rng = np.random.default_rng(0)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def on_pulse(self, record: PulseRecord) -> None:
        offset = self.pylsl.local_clock() - time.monotonic()
        with self._lock:
            self._pulses.append(
                (record.t_monotonic_s + offset, mep_uv_for(record.intensity_pct_mso))
            )

    def _run(self) -> None:
        t0 = self.pylsl.local_clock()
        sent = 0
        while not self._stop.is_set():
            now = self.pylsl.local_clock()
            n = int((now - t0) * self.sfreq) - sent
            if n > 0:
                t = t0 + (sent + np.arange(n)) / self.sfreq
                fdi = self.noise_uv * self._rng.standard_normal(n)
                with self._lock:
                    pulses = list(self._pulses)
                for tp, amp in pulses:
                    fdi += mep_waveform((t - tp) * 1000.0, amp)
                chunk = np.column_stack([np.zeros(n), fdi]).astype(np.float32)
                self.outlet.push_chunk(chunk, timestamp=float(t[-1]))
                sent += n
            time.sleep(0.002)

    def __enter__(self) -> SyntheticEmgOutlet:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


@pytest.fixture
def emg_outlet() -> Iterator[SyntheticEmgOutlet]:
    pytest.importorskip("pylsl")
    tag = uuid.uuid4().hex[:8]
    with SyntheticEmgOutlet(f"plptms-test-emg-{tag}", stype=f"EMG-{tag}") as out:
        yield out


def _name(out: SyntheticEmgOutlet) -> str:
    return str(out.outlet.get_info().name())


@pytest.mark.slow
def test_lsl_end_to_end_with_simulated_stimulator(
    emg_outlet: SyntheticEmgOutlet,
) -> None:
    stim = SimulatedStimulator(arm_delay_s=0.05)
    stim.connect()
    stim.add_pulse_listener(emg_outlet.on_pulse)
    with LSLEmgSource(_name(emg_outlet), "FDI", buffer_s=5.0) as src:
        assert src.sfreq_hz == pytest.approx(SFREQ_HZ)
        assert abs(src.clock_offset_s) < 1e-3  # same CLOCK_MONOTONIC on Linux
        time.sleep(0.3)  # let the baseline before the first pulse arrive
        resp = StimulatorResponder(stim, src, inter_pulse_s=MIN_INTER_PULSE_S)
        got = [resp.stimulate(x) for x in (35.0, 60.0)]
    np.testing.assert_allclose(got, [0.0, mep_uv_for(60.0)], atol=ATOL_STREAM_UV)
    quiet, mep = resp.trials
    assert quiet.trial.mep_present is False
    assert mep.trial.mep_present is True
    # onset where the MEP leaves the 1 uV noise: before the centre, after 15 ms
    assert mep.trial.latency_ms is not None
    assert 15.0 <= mep.trial.latency_ms < MEP_CENTRE_MS
    gap = mep.pulse.t_monotonic_s - quiet.pulse.t_monotonic_s
    assert gap >= MIN_INTER_PULSE_S


@pytest.mark.slow
def test_lsl_window_is_aligned_on_the_pulse(emg_outlet: SyntheticEmgOutlet) -> None:
    stype = str(emg_outlet.outlet.get_info().type())
    with LSLEmgSource(stype, 1) as src:  # resolved by type, channel by index
        time.sleep(0.2)
        t_pulse = time.monotonic()
        emg_outlet.on_pulse(
            PulseRecord(index=0, t_monotonic_s=t_pulse, intensity_pct_mso=70.0)
        )
        win = src.window_after(t_pulse, pre_s=0.1, post_s=0.1, timeout_s=2.0)
    t_ms = (np.arange(win.data_uv.size) - win.pulse_sample) / win.sfreq_hz * 1000.0
    peak_ms = t_ms[np.argmin(win.data_uv)]
    trough_expected = MEP_CENTRE_MS + MEP_SIGMA_MS
    assert abs(peak_ms - trough_expected) <= ATOL_LATENCY_MS
    assert win.channel == "FDI"


def test_lsl_timeout_names_the_stream(emg_outlet: SyntheticEmgOutlet) -> None:
    name = _name(emg_outlet)
    with LSLEmgSource(name, "FDI") as src:
        with pytest.raises(EmgStreamError, match=name):
            src.window_after(
                time.monotonic() + 5.0, pre_s=0.1, post_s=0.1, timeout_s=0.2
            )
        with pytest.raises(EmgStreamError, match="no data"):
            src.window_after(time.monotonic(), pre_s=9.0, post_s=0.1, timeout_s=1.0)


@pytest.mark.parametrize("channel", ["APB", 2, -1])
def test_lsl_wrong_channel(emg_outlet: SyntheticEmgOutlet, channel: Any) -> None:
    src = LSLEmgSource(_name(emg_outlet), channel)
    with pytest.raises(ValueError, match="channel"):
        src.start()
    assert not src.running


def test_lsl_sampling_rate_too_low() -> None:
    pytest.importorskip("pylsl")
    name = f"plptms-test-slow-{uuid.uuid4().hex[:8]}"
    with SyntheticEmgOutlet(name, sfreq_hz=500.0):
        with pytest.raises(SamplingRateTooLowError, match=name):
            LSLEmgSource(name, "FDI").start()


def test_lsl_stream_not_found() -> None:
    pytest.importorskip("pylsl")
    name = f"plptms-absent-{uuid.uuid4().hex[:8]}"
    with pytest.raises(EmgStreamError, match=name):
        LSLEmgSource(name, 0, resolve_timeout_s=0.3).start()


def test_lsl_source_not_started_and_bad_arguments() -> None:
    src = LSLEmgSource("EMG", 0)
    with pytest.raises(EmgStreamError, match="not running"):
        src.window_after(0.0, pre_s=0.1, post_s=0.1, timeout_s=0.1)
    with pytest.raises(ValueError, match="buffer_s"):
        LSLEmgSource("EMG", 0, buffer_s=0.1)
    with pytest.raises(ValueError, match="unit"):
        LSLEmgSource("EMG", 0, unit="nV")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="channel"):
        LSLEmgSource("EMG", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pre_s"):
        src.window_after(0.0, pre_s=8.0, post_s=5.0, timeout_s=0.1)
