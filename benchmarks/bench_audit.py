"""Audit cost: one audited write and one per-pulse delivery event, SQLite.

Times on a fresh SQLite registry (WAL, ``synchronous=FULL``) in a temporary
folder: an audited write (``add_patient``: one transaction, one audit entry and,
since the keyed chain, the head anchor file); an audited assessment
(``store_assessment``: its new visit and the assessment, two entries, Core
inserts) beside the same rows written the same way without audit (the plain
baseline, alternating call by call); ``append_delivery_event`` (the per-pulse
path: one durable transaction per event); and the anchor file write alone: in
place (two slots, ``fdatasync``) and the earlier atomic replacement with and
without fsync. Prints p50 and p99 per call in milliseconds, and the mean CPU
time per call (process time: on a loaded machine it moves less than the wall
clock). Runs once in the system's temporary folder (on disk) and once in
``/dev/shm`` where there is one (tmpfs: the syncs cost nothing, so what is left
is CPU); ``$PLPTMS_BENCH_DIRS`` (folders separated by ``:``) chooses others.

Run it on two source trees side by side to compare them, e.g.::

    PYTHONPATH=src python benchmarks/bench_audit.py
    PYTHONPATH=/tmp/old/src python benchmarks/bench_audit.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from typing import Any

N_WRITES = int(os.environ.get("PLPTMS_BENCH_WRITES", "300"))
N_EVENTS = int(os.environ.get("PLPTMS_BENCH_EVENTS", "2000"))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


#: CPU seconds of each timed call, by label (filled by :func:`_clock`).
_CPU: dict[str, list[float]] = {}


class _clock:
    """Time one call into ``into`` (wall) and ``_CPU[label]`` (CPU)."""

    def __init__(self, label: str, into: list[float]) -> None:
        self.label, self.into = label, into

    def __enter__(self) -> None:
        self.c0, self.t0 = time.process_time(), time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.into.append(time.perf_counter() - self.t0)
        _CPU.setdefault(self.label, []).append(time.process_time() - self.c0)


def _summary(label: str, values_s: list[float], key: str = "") -> str:
    ms = [v * 1e3 for v in values_s]
    cpu = _CPU.pop(key or label, [])
    cpu_ms = f"{statistics.fmean(cpu) * 1e3:.3f}" if cpu else ""
    return (
        f"| {label} | {len(ms)} | {statistics.median(ms):.3f} | {_pct(ms, 0.99):.3f} "
        f"| {statistics.fmean(ms):.3f} | {cpu_ms} |"
    )


def bench(url: str) -> list[str]:
    """Time the two paths on ``url``; return markdown table rows."""
    from plptms.protocol import load_library
    from plptms.registry import Registry
    from plptms.safety import PhysicianReview, check_protocol

    _BENCH_REVIEW = PhysicianReview(
        physician="Dr Bench",
        reason="Benchmark: unverified table cells reviewed.",
    )

    reg = Registry(url)
    writes = []
    for k in range(N_WRITES):
        with _clock("write", writes):
            reg.add_patient("S1", f"P{k:05d}", history=None, actor="bench")
    assessed, plain_times = _assessments(reg, url)
    proto = load_library().protocol("consensus2024-example-10hz")
    aid = reg.assign_protocol(
        "S1", "P00000", proto, check_protocol(proto, review=_BENCH_REVIEW), actor="b"
    )
    sid = reg.start_delivery(aid, 1, device="sim", plan={}, blinded=False, actor="b")
    events = []
    for k in range(N_EVENTS):
        with _clock("event", events):
            reg.append_delivery_event(
                sid,
                "pulse",
                train_index=k // 50,
                pulse_index=k % 50,
                t_monotonic_s=0.1 * k,
                intensity_pct_mso=55.0,
            )
    t0 = time.perf_counter()
    report = reg.verify_audit()
    t_verify = time.perf_counter() - t0
    reg.close()
    return [
        _summary("audited write (add_patient)", writes, "write"),
        *(
            [
                _summary("audited assessment (store_assessment)", assessed, "a"),
                _summary("same rows, no audit (plain)", plain_times, "plain"),
                f"| audited / plain, p50 | | "
                f"{statistics.median(assessed) / statistics.median(plain_times):.2f}x"
                " | | | |",
            ]
            if assessed
            else []
        ),
        _summary("append_delivery_event", events, "event"),
        f"| verify_audit ({report.entries} entries, {N_EVENTS} events, "
        f"ok={report.ok}) | 1 | {t_verify * 1e3:.1f} | | | |",
    ]


def _assessments(reg: Any, url: str) -> tuple[list[float], list[float]]:
    """Time store_assessment and the same rows unaudited (new code only)."""
    import datetime as dt

    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from bench_registry import _plain_one
        from plptms.registry import Registry, VisitIn
        from plptms.scales import score_record
    except ImportError:
        return [], []
    plain = Registry(url.replace("bench.sqlite3", "plain.sqlite3"))
    for r in (reg, plain):
        r.add_patient("S1", "ASSESS", history=None, actor="bench")
    sc = score_record("nrs_phantom_average", {"1": 3})
    today = dt.date.today()
    audited, plain_times = [], []
    for k in range(N_WRITES):
        visit = VisitIn(visit_date=today - dt.timedelta(days=k), kind="follow_up")
        with _clock("a", audited):
            reg.store_assessment("S1", "ASSESS", visit, sc, actor="bench")
        with _clock("plain", plain_times):
            _plain_one(plain, "S1", "ASSESS", visit, sc)
    plain.close()
    return audited, plain_times


def bench_anchor(folder: str) -> list[str]:
    """Time the head anchor write alone, with and without fsync (new code only)."""
    try:
        from plptms.registry._anchor import AuditHead, write_head_file
    except ImportError:
        return []
    import datetime as dt
    from pathlib import Path

    head = AuditHead(
        database="sqlite:////bench",
        seq=1,
        hash="a" * 64,
        mac="b" * 64,
        at=dt.datetime.now(dt.UTC),
    )
    out = []
    try:
        from plptms.registry._anchor import write_anchor
    except ImportError:
        pass
    else:
        times = []
        for k in range(N_WRITES):
            h = head.model_copy(update={"seq": k + 1})
            t0 = time.perf_counter()
            write_anchor(Path(folder) / "slots.json", h)
            times.append(time.perf_counter() - t0)
        out.append(_summary("anchor write in place (two slots, fdatasync)", times))
    for fsync in (True, False):
        times = []
        for _ in range(N_WRITES):
            t0 = time.perf_counter()
            write_head_file(Path(folder) / "anchor.json", head, fsync=fsync)
            times.append(time.perf_counter() - t0)
        out.append(_summary(f"anchor replaced (tmp + rename), fsync={fsync}", times))
    return out


def main() -> None:
    """Print the table."""
    import plptms

    print(f"plptms from {os.path.dirname(plptms.__file__)}")
    dirs = os.environ.get("PLPTMS_BENCH_DIRS")
    parents = dirs.split(":") if dirs else [tempfile.gettempdir()]
    if not dirs and os.path.isdir("/dev/shm"):
        parents.append("/dev/shm")
    for parent in parents:
        print(f"\nIn {parent}:\n")
        print("| path | n | p50 (ms) | p99 (ms) | mean (ms) | CPU mean (ms) |")
        print("| --- | --- | --- | --- | --- | --- |")
        with tempfile.TemporaryDirectory(dir=parent) as tmp:
            os.environ["PLPTMS_STATE_DIR"] = os.path.join(tmp, "state")
            os.environ["PLPTMS_CONFIG_DIR"] = os.path.join(tmp, "config")
            for line in [*bench(f"sqlite:///{tmp}/bench.sqlite3"), *bench_anchor(tmp)]:
                print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
