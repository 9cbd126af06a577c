"""Several processes writing at once; a writer killed mid-transaction."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from tests.registry._records import record

from plptms.registry import Registry, VisitIn

N_PROC = 4
N_EACH = 15
SF2 = {str(i): (i % 11) for i in range(1, 23)}


def _writer(url: str, worker: int, n: int) -> None:
    reg = Registry(url, migrate=False)
    try:
        for k in range(n):
            day = dt.date.today() - dt.timedelta(days=k)
            record(
                reg,
                "S1",
                f"P{worker:03d}",
                VisitIn(visit_date=day, kind="follow_up"),
                "sf_mpq2",
                SF2,
                actor=f"worker{worker}",
            )
    finally:
        reg.close()


def _counts(reg: Registry) -> tuple[int, int, int]:
    with reg.engine.connect() as c:
        a = c.execute(sa.text("SELECT count(*) FROM assessments")).scalar_one()
        v = c.execute(sa.text("SELECT count(*) FROM visits")).scalar_one()
        ins = c.execute(
            sa.text(
                "SELECT count(*) FROM audit_log WHERE table_name = 'assessments' "
                "AND action = 'insert'"
            )
        ).scalar_one()
    return int(a), int(v), int(ins)


@pytest.mark.slow
def test_parallel_writers_lose_nothing(db_url: str) -> None:
    with Registry(db_url) as reg:
        for w in range(N_PROC):
            reg.add_patient("S1", f"P{w:03d}", history=None, actor="setup")
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(db_url, w, N_EACH)) for w in range(N_PROC)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    with Registry(db_url, migrate=False) as reg:
        assert _counts(reg) == (N_PROC * N_EACH, N_PROC * N_EACH, N_PROC * N_EACH)
        report = reg.verify_audit()
        assert report.ok, report.problems
        assert report.entries == N_PROC + 2 * N_PROC * N_EACH


_LOOP = """
import datetime as dt, sys
from plptms.registry import Registry, VisitIn
from plptms.workflow import AssessmentInput, record_assessment
reg = Registry(sys.argv[1], migrate=False)
sf2 = {str(i): (i % 11) for i in range(1, 23)}
k = int(sys.argv[2])
print("ready", flush=True)
while True:
    day = dt.date.today() - dt.timedelta(days=k)
    rec = AssessmentInput(site="S1", code="P001", scale_id="sf_mpq2", items=sf2,
                          visit=VisitIn(visit_date=day, kind="follow_up"))
    record_assessment(reg, rec, actor="loop")
    k += 1
"""


@pytest.mark.slow
def test_killed_writer_leaves_consistent_database(db_url: str) -> None:
    rng = random.Random(1234)
    with Registry(db_url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="setup")
    start = 0
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", _LOOP, db_url, str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Registry(db_url, migrate=False) as reg:
            a, v, ins = _counts(reg)
            assert a == ins  # every stored assessment is audited, and vice versa
            assert v == a  # no visit without its assessment (one transaction)
            report = reg.verify_audit()
            assert report.ok, report.problems
        start += a + 1000  # fresh dates for the next run
