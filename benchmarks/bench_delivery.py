"""Delivery benchmark: timing jitter of trains and the cost of durable logging.

The simulator delivers 20 Hz trains through the session runner. Jitter is the
difference between each inter-pulse interval and the nominal 50 ms. The runner is
run side by side with an in-memory event log (baseline) and with the registry's
durable log (SQLite, WAL, synchronous=FULL: two committed events per pulse).
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np

from plptms.delivery import MemoryDeliveryLog

if TYPE_CHECKING:
    from collections.abc import Sequence

N_TRAINS = int(os.environ.get("PLPTMS_BENCH_TRAINS", "10"))
PULSES = 40  # 2 s at 20 Hz


def _plan() -> Any:
    from plptms.delivery import PlannedTrain, SessionPlan

    trains = tuple(
        PlannedTrain(
            index=k,
            block="M1",
            frequency_hz=20.0,
            n_pulses=PULSES,
            intensity_pct_mso=40.0,
            pause_after_s=0.3 if k < N_TRAINS - 1 else 0.0,
        )
        for k in range(N_TRAINS)
    )
    return SessionPlan(
        protocol_id="bench",
        block="M1",
        condition="active",
        rmt_pct_mso=50.0,
        intensity_pct_rmt=80.0,
        pattern="rtms",
        trains=trains,
    )


def _jitter_ms(events: Sequence[Any]) -> np.ndarray:
    out = []
    by_train: dict[int, list[float]] = {}
    for e in events:
        if e.kind == "pulse" and e.t_monotonic_s is not None:
            by_train.setdefault(e.train_index, []).append(e.t_monotonic_s)
    for times in by_train.values():
        d = np.diff(np.asarray(times)) * 1e3 - 50.0
        out.append(d)
    return np.concatenate(out) if out else np.zeros(0)


def _run(log: Any) -> tuple[np.ndarray, float]:
    import time

    from plptms.delivery import SessionRunner, SimulatedStimulator

    stim = SimulatedStimulator()
    with stim:
        t0 = time.perf_counter()
        SessionRunner(stim, _plan(), log).run()
        wall = time.perf_counter() - t0
    return _jitter_ms(log.events()), wall


def run() -> list[str]:
    from plptms.protocol import load_library
    from plptms.registry import Registry, RegistryDeliveryLog
    from plptms.safety import PhysicianReview
    from plptms.workflow import PatientInput, assign_protocol, register_patient

    _BENCH_REVIEW = PhysicianReview(
        physician="Dr Bench",
        reason="Benchmark: unverified table cells reviewed.",
    )

    mem_j, mem_wall = _run(MemoryDeliveryLog())
    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(f"sqlite:///{tmp}/bench.sqlite3")
        register_patient(reg, PatientInput(site="S1", code="B1"), actor="bench")
        proto = load_library().protocol("consensus2024-example-10hz")
        aid = assign_protocol(
            reg, "S1", "B1", proto, actor="bench", review=_BENCH_REVIEW
        ).assignment_id
        # a component benchmark of the runner's durable log: the timing plan
        # (0.3 s pauses) is the benchmark's own, so the session is opened here
        # rather than through prepare_start, which would refuse it
        sid = reg.start_delivery(
            aid, 1, device="sim", plan={}, blinded=False, actor="bench"
        )
        db_j, db_wall = _run(RegistryDeliveryLog(reg, sid))
        reg.close()

    def row(name: str, j: np.ndarray, wall: float) -> str:
        a = np.abs(j)
        return (
            f"| {name} | {j.size} | {np.percentile(a, 50):.3f} | "
            f"{np.percentile(a, 99):.3f} | {a.max():.3f} | {np.mean(j):+.3f} | "
            f"{wall:.2f} |"
        )

    return [
        f"## Delivery: {N_TRAINS} trains of {PULSES} pulses at 20 Hz on the simulator",
        "",
        "Jitter = |inter-pulse interval - 50 ms| on the host's monotonic clock. The "
        "durable log commits a `pulse_intent` and a `pulse` event per pulse (SQLite "
        "WAL, synchronous=FULL) before going on; the in-memory log is the baseline run "
        "side by side.",
        "",
        "| event log | intervals | p50 (ms) | p99 (ms) | max (ms) | mean error (ms) | "
        "session wall time (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        row("in memory (baseline)", mem_j, mem_wall),
        row("registry, durable per pulse", db_j, db_wall),
        "",
        f"Overhead of durable logging: session time x {db_wall / mem_wall:.3f}; the "
        "runner schedules each pulse from the train start, so logging time is "
        "absorbed in the 50 ms period instead of accumulating.",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
