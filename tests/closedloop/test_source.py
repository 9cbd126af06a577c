"""EEG sources: an array in virtual time, and LSL through mne-lsl's player."""

from __future__ import annotations

import time

import numpy as np
import pytest

from plptms.closedloop import (
    RECORDINGS,
    ArraySource,
    LSLSource,
    StreamLostError,
    StreamMismatchError,
    individual_peak_frequency,
    play_recording,
    read_recording,
    recording_path,
)


def test_array_source_delivers_every_sample_once_with_timestamps() -> None:
    data = np.arange(30.0).reshape(10, 3)
    src = ArraySource(data, 100.0, ["a", "b", "c"], chunk_size=4, t0_s=5.0)
    got, ts = [], []
    while not src.exhausted:
        x, t = src.pull()
        got.append(x)
        ts.append(t)
    assert np.array_equal(np.concatenate(got), data)
    assert np.allclose(np.concatenate(ts), 5.0 + np.arange(10) / 100.0)
    x, t = src.pull()
    assert x.shape == (0, 3)
    assert t.size == 0
    # the clock runs on, one chunk per call, once the data stop
    t1 = src.now()
    assert src.now() == pytest.approx(t1 + 0.04)


def test_array_source_stall_keeps_the_clock_running() -> None:
    src = ArraySource(
        np.zeros((1000, 1)), 100.0, ["C3"], chunk_size=10, stall_after_s=1.0
    )
    n = 0
    while True:
        x, _ = src.pull()
        if x.shape[0] == 0:
            break
        n += x.shape[0]
    assert n == 100
    assert not src.exhausted
    t1 = src.now()
    assert src.now() == pytest.approx(t1 + 0.1)


def test_array_source_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="'data'"):
        ArraySource(np.zeros((10, 2)), 100.0, ["C3"])
    with pytest.raises(ValueError, match="'chunk_size'"):
        ArraySource(np.zeros((10, 1)), 100.0, ["C3"], chunk_size=0)


def test_shipped_recordings() -> None:
    assert set(RECORDINGS) == {"S001R01", "S001R04", "S002R01", "S003R01"}
    for name in RECORDINGS:
        raw = read_recording(name.lower())
        assert raw.info["sfreq"] == 160.0
        assert len(raw.ch_names) == 19
        assert {"C3", "C4", "Cz"} <= set(raw.ch_names)
        seconds = 125.0 if name == "S001R04" else 61.0
        assert raw.n_times / 160.0 == pytest.approx(seconds, abs=0.01)
        # microvolt-range EEG, in volts
        assert 1e-6 < np.abs(raw.get_data()).max() < 1e-3
    with pytest.raises(ValueError, match="allowed values are 'S001R01'"):
        recording_path("S009R01")
    with pytest.raises(ValueError, match="'recording'"):
        read_recording("/no/such/file.edf")


def test_shipped_mu_peaks_are_as_documented() -> None:
    from plptms.closedloop import HjorthFilter, SignalQualityError

    for name, has_peak in (("S001R01", True), ("S002R01", True), ("S003R01", False)):
        raw = read_recording(name)
        x = HjorthFilter(raw.ch_names, "C3").apply(raw.get_data().T)
        if has_peak:
            assert 8.0 <= individual_peak_frequency(x, 160.0).peak_hz <= 13.0
        else:
            with pytest.raises(SignalQualityError):
                individual_peak_frequency(x, 160.0)


def test_lsl_round_trip_through_the_player() -> None:
    raw = read_recording("S002R01").crop(tmax=8.0)
    with play_recording(raw, name="plptms-test-rt", chunk_size=4):
        src = LSLSource("plptms-test-rt", timeout=10.0, picks=["C3", "FC3", "CP3"])
        try:
            assert src.ch_names == ("FC3", "C3", "CP3")
            assert src.sfreq_hz == 160.0
            chunks, stamps = [], []
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                x, t = src.pull()
                if x.shape[0]:
                    chunks.append(x)
                    stamps.append(t)
                time.sleep(0.005)
        finally:
            src.close()
    got = np.concatenate(chunks)
    ts = np.concatenate(stamps)
    assert got.shape[0] > 200  # about 3 s at 160 Hz
    assert np.all(np.diff(ts) > 0)  # each sample once, in order
    # the samples are the recording's, in order (float32 on the wire)
    ref = raw.get_data(picks=["FC3", "C3", "CP3"]).T
    start = int(np.argmin(np.abs(ref[:, 1] - got[0, 1])))
    assert np.allclose(got[:50], ref[start : start + 50], rtol=1e-5, atol=1e-9)


def test_lsl_source_errors() -> None:
    with pytest.raises(StreamLostError, match="No LSL stream found"):
        LSLSource("plptms-no-such-stream", timeout=0.5)
    raw = read_recording("S002R01").crop(tmax=4.0)
    with play_recording(raw, name="plptms-test-picks"):
        with pytest.raises(StreamMismatchError, match="no channel O1"):
            LSLSource("plptms-test-picks", timeout=10.0, picks=["C3", "O1"])
