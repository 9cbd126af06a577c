"""Registry benchmark: store rate and full export, SQLite and PostgreSQL.

10,000 patients with 20 visits each (one NRS assessment per visit, 200,000 in all)
are loaded through the audited bulk path; the single-assessment path (one
transaction, one audit entry each: what a clinic does) is timed on a sample. The
full-registry export (CSV per table and the tidy long file) is timed on the loaded
registry. The baseline run side by side is a plain ``executemany`` insert of the
same rows into an unaudited table on the same backend (no scoring, no audit).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

N_PATIENTS = int(os.environ.get("PLPTMS_BENCH_PATIENTS", "10000"))
N_VISITS = 20
N_SINGLE = 300
BATCH = 2000


def _records(n_patients: int) -> list[Any]:
    from plptms.registry import VisitIn
    from plptms.workflow import AssessmentInput

    today = dt.date.today()
    recs = []
    for p in range(n_patients):
        for v in range(N_VISITS):
            kind = "baseline" if v == 0 else "follow_up"
            visit = VisitIn(
                visit_date=today - dt.timedelta(days=7 * (N_VISITS - v)), kind=kind
            )
            recs.append(
                AssessmentInput(
                    site="S1",
                    code=f"P{p:05d}",
                    visit=visit,
                    scale_id="nrs_phantom_average",
                    items={"1": (p + v) % 11},
                )
            )
    return recs


def bench_backend(url: str, label: str) -> list[str]:
    import sqlalchemy as sa

    from plptms.registry import Registry, VisitIn
    from plptms.workflow import (
        AssessmentInput,
        record_assessment,
        record_assessments,
    )

    reg = Registry(url)
    t0 = time.perf_counter()
    for start in range(0, N_PATIENTS, BATCH):
        reg.add_patients(
            [
                ("S1", f"P{p:05d}", None)
                for p in range(start, min(N_PATIENTS, start + BATCH))
            ],
            actor="bench",
        )
    t_patients = time.perf_counter() - t0
    recs = _records(N_PATIENTS)
    t0 = time.perf_counter()
    for start in range(0, len(recs), BATCH):
        record_assessments(reg, recs[start : start + BATCH], actor="bench")
    t_bulk = time.perf_counter() - t0
    # single-assessment path on a sample (fresh visits)
    reg.add_patient("S1", "SINGLE", history=None, actor="bench")
    today = dt.date.today()
    t0 = time.perf_counter()
    for k in range(N_SINGLE):
        rec = AssessmentInput(
            site="S1",
            code="SINGLE",
            visit=VisitIn(visit_date=today - dt.timedelta(days=k), kind="follow_up"),
            scale_id="nrs_phantom_average",
            items={"1": k % 11},
        )
        record_assessment(reg, rec, actor="bench")
    t_single = time.perf_counter() - t0
    # baseline: plain executemany of the same number of single rows, unaudited
    with reg.engine.begin() as c:
        c.execute(
            sa.text(
                "CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, "
                "patient TEXT, visit_date DATE, value FLOAT)"
            )
        )
    rows = [
        {
            "id": i,
            "patient": r.code,
            "visit_date": r.visit.visit_date,
            "value": float(r.items["1"]),
        }
        for i, r in enumerate(recs)
    ]
    t0 = time.perf_counter()
    with reg.engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO bench_plain VALUES (:id, :patient, :visit_date, :value)"
            ),
            rows,
        )
    t_plain = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        reg.export_csv(Path(tmp) / "csv")
        t_csv = time.perf_counter() - t0
        t0 = time.perf_counter()
        reg.export_long(Path(tmp) / "long.csv")
        t_long = time.perf_counter() - t0
        size_mb = sum(f.stat().st_size for f in Path(tmp).rglob("*.csv")) / 1e6
    t0 = time.perf_counter()
    report = reg.verify_audit()
    t_verify = time.perf_counter() - t0
    reg.close()
    n = len(recs)
    return [
        f"| {label} | {N_PATIENTS / t_patients:,.0f} | {n / t_bulk:,.0f} | "
        f"{N_SINGLE / t_single:,.0f} | {n / t_plain:,.0f} | "
        f"{t_bulk / t_plain:.0f}x | {t_csv:.1f} | {t_long:.1f} | {size_mb:.0f} | "
        f"{t_verify:.1f} ({report.entries:,} entries, ok={report.ok}) |"
    ]


def run() -> list[str]:
    lines = [
        f"## Registry: {N_PATIENTS:,} patients x {N_VISITS} visits "
        f"({N_PATIENTS * N_VISITS:,} assessments)",
        "",
        "Bulk = audited `workflow.record_assessments` (scored, then stored in one "
        f"transaction) in batches of {BATCH:,}; single = "
        "`workflow.record_assessment`, one durable transaction and "
        f"audit entry each ({N_SINGLE} timed); plain = unaudited `executemany` of "
        "the same rows on the same backend (the baseline); cost = audited bulk "
        "time / plain time for the same rows. SQLite runs with WAL and "
        "synchronous=FULL; PostgreSQL is a local throwaway cluster (fsync off).",
        "",
        "| backend | patients/s | bulk assessments/s | single assessments/s | "
        "plain rows/s | audited cost vs plain | CSV export (s) | long export (s) | "
        "export MB | audit verify (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        lines += bench_backend(f"sqlite:///{tmp}/bench.sqlite3", "SQLite")
    pg = os.environ.get("PLPTMS_TEST_PG_URL")
    if pg:
        import uuid

        import sqlalchemy as sa

        name = f"plptms_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            lines += bench_backend(f"{pg.rsplit('/', 1)[0]}/{name}", "PostgreSQL")
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        lines.append(
            "| PostgreSQL | not run (no server; `make bench` starts one "
            "when PostgreSQL is installed) | | | | | | | | |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
