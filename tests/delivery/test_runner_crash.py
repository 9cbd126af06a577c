"""Kill the runner (SIGKILL) at random points; the record must match the device."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plptms.delivery._pulselog import read_pulse_log
from plptms.delivery._runner import PlannedTrain, SessionPlan, replay_events
from plptms.registry import Registry
from tests._review import REVIEW

_RUN = """
import sys
from plptms.delivery import SimulatedStimulator
from plptms.delivery._runner import SessionPlan, SessionRunner
from plptms.registry import RegistryDeliveryLog
from plptms.registry import Registry
url, sid, plan_path, log_path = sys.argv[1:5]
reg = Registry(url, migrate=False)
plan = SessionPlan.model_validate_json(open(plan_path).read())
stim = SimulatedStimulator(pulse_log=log_path)
print("start", flush=True)
with stim:
    out = SessionRunner(stim, plan, RegistryDeliveryLog(reg, int(sid))).run()
print(out.status, out.pulses_delivered, flush=True)
"""


def _plan() -> SessionPlan:
    trains = tuple(
        PlannedTrain(
            index=k,
            block="M1",
            frequency_hz=20.0,
            n_pulses=20,
            intensity_pct_mso=40.0,
            # a safe inter-train interval: a train cut by a kill is resumed as two
            # trains with this pause between them, which must pass the rules
            pause_after_s=5.0 if k < 2 else 0.0,
        )
        for k in range(3)
    )
    return SessionPlan(
        protocol_id="crash-test",
        block="M1",
        condition="active",
        rmt_pct_mso=50.0,
        intensity_pct_rmt=80.0,
        pattern="rtms",
        trains=trains,
    )


@pytest.mark.slow
def test_sigkill_never_loses_or_repeats_a_pulse(tmp_path: Path) -> None:
    from plptms.protocol import Protocol
    from plptms.safety import check_protocol

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    plan = _plan()
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan.model_dump_json())
    device_log = tmp_path / "device_pulses.jsonl"
    proto = Protocol.model_validate(
        {
            "id": "crash-test",
            "name": "crash",
            "condition": "active",
            "blocks": [
                {
                    "label": "M1",
                    "dose": {
                        "pattern": "rtms",
                        "target": "m1_hand",
                        "laterality": "left",
                        "frequency_hz": 20,
                        "intensity_pct_rmt": 80,
                        "pulses_per_train": 20,
                        "trains_per_session": 3,
                        "inter_train_interval_s": 5,
                    },
                    "sessions": 1,
                    "sessions_per_week": 1,
                    "course_weeks": 1,
                }
            ],
        }
    )
    with Registry(url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="t")
        aid = reg.assign_protocol(
            "S1", "P001", proto, check_protocol(proto, review=REVIEW), actor="t"
        )
        sid = reg.start_delivery(
            aid,
            1,
            device="sim",
            plan=json.loads(plan.model_dump_json()),
            blinded=False,
            actor="t",
        )
    rng = random.Random(20261124)
    args = [sys.executable, "-c", _RUN, url, str(sid), str(plan_path), str(device_log)]
    status = ""
    for attempt in range(12):
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "start"
        if attempt < 6:
            time.sleep(rng.uniform(0.8, 2.5))  # arming takes about 1 s
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            with Registry(url, migrate=False) as reg:
                st = replay_events(reg.delivery_events(sid))
            fired = len(read_pulse_log(device_log))
            # at most one pulse can be in flight when the runner dies
            assert st.total <= fired <= st.total + len(st.uncertain)
            assert len(st.uncertain) <= 1
        else:
            out, _ = proc.communicate(timeout=120)
            status = out.strip()
            assert proc.returncode == 0, out
            break
    assert status.startswith("completed")
    with Registry(url, migrate=False) as reg:
        events = reg.delivery_events(sid)
    st = replay_events(events)
    fired = len(read_pulse_log(device_log))
    recorded = [
        (e.train_index, e.pulse_index)
        for e in events
        if e.kind in ("pulse", "reconciled_delivered")
    ]
    assert fired == plan.total_pulses == 60
    assert len(recorded) == len(set(recorded)) == 60  # none lost, none repeated
    assert st.uncertain == []
