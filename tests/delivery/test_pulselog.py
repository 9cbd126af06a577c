"""The pulse log survives a killed host: a separate process compares it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from plptms.delivery import read_pulse_log

_HOST = textwrap.dedent(
    """
    import sys
    from plptms.delivery import SimulatedStimulator, TrainRequest

    sim = SimulatedStimulator(arm_delay_s=0.0, pulse_log=sys.argv[1])
    sim.connect()
    sim.set_intensity(50)
    sim.arm()
    sim.add_pulse_listener(lambda r: print(r.index, flush=True))
    sim.run_train(TrainRequest(frequency_hz=20.0, n_pulses=1000, intensity_pct_mso=50))
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_log_matches_a_killed_host(tmp_path: Path) -> None:
    log = tmp_path / "pulses.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOST, str(log)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    seen: list[int] = []
    deadline = time.monotonic() + 20.0
    while len(seen) < 10 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            seen.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    seen += [int(line) for line in proc.stdout.read().split()]
    entries = read_pulse_log(log)
    # every pulse the host saw is on record; at most one more was fired after it
    assert [e.index for e in entries[: len(seen)]] == seen
    assert len(seen) <= len(entries) <= len(seen) + 1
