"""Registry benchmark: store rate and full export, SQLite and PostgreSQL.

10,000 patients with 20 visits each (one NRS assessment per visit, 200,000 in all,
each creating its visit) are scored once, then stored through the audited bulk
path (``Registry.store_assessments``: Core inserts, the hash-chained audit); the
single-assessment path (``Registry.store_assessment``: one durable transaction,
its visit and assessment audited, the head anchored: what a clinic does) is timed
on a sample. The full-registry export (CSV per table and the tidy long file) is
timed on the loaded registry.

Like for like: the plain baseline, run side by side on a second fresh registry
on the same backend, writes the same visit and assessment rows with the same
batched Core inserts in the same transactions, only without the audit entries
(and without the head anchor); cost = audited time / plain time for the same
rows. Both registries' data rows are checked to be the same. CPU time (process
time) is reported beside the wall clock: on a loaded machine it moves less. A
second SQLite row runs in ``/dev/shm`` where there is one (tmpfs: the syncs cost
nothing, what is left is CPU), on ``$PLPTMS_BENCH_TMPFS_PATIENTS`` patients
(default 1,000).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

N_PATIENTS = int(os.environ.get("PLPTMS_BENCH_PATIENTS", "10000"))
N_TMPFS_PATIENTS = int(os.environ.get("PLPTMS_BENCH_TMPFS_PATIENTS", "1000"))
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


def _plain_store(reg: Any, records: list[Any]) -> int:
    """Store the same rows as ``store_assessments``, the same way, unaudited."""
    from plptms.registry._assessment_rows import _assessment_values, plan_assessments
    from plptms.registry._assessments import _scored
    from plptms.registry._bulk import insert_rows
    from plptms.registry._store import _now
    from plptms.registry.db._schema import AssessmentRow, VisitRow

    prepared = [(s, c, v, sc.scale_id, _scored(sc)) for s, c, v, sc in records]
    at = _now()
    with reg._write() as s:
        conn = s.connection()
        new_visits, plan = plan_assessments(conn, prepared, at)
        for v, vid in zip(
            new_visits, insert_rows(conn, VisitRow.__table__, new_visits), strict=True
        ):
            v["id"] = vid
        rows = [_assessment_values(v["id"], sid, res, at) for v, sid, res in plan]
        insert_rows(conn, AssessmentRow.__table__, rows)
    return len(rows)


def _plain_one(reg: Any, site: str, code: str, visit: Any, sc: Any) -> None:
    """Store the same rows as ``store_assessment``, the same way, unaudited."""
    from plptms.registry._assessment_rows import (
        _assessment_values,
        _visit_values,
        find_visit,
    )
    from plptms.registry._assessments import _scored
    from plptms.registry._bulk import insert_rows
    from plptms.registry._store import _now
    from plptms.registry.db._schema import AssessmentRow, VisitRow

    result = _scored(sc)
    at = _now()
    with reg._write() as s:
        conn = s.connection()
        found = find_visit(conn, site, code, visit, sc.scale_id)
        vid = found.visit_id
        if vid is None:
            v = _visit_values(found.patient_id, visit, at)
            vid = insert_rows(conn, VisitRow.__table__, [v])[0]
        row = _assessment_values(vid, sc.scale_id, result, at)
        insert_rows(conn, AssessmentRow.__table__, [row])


def _scored_records(recs: list[Any]) -> list[Any]:
    from plptms.scales import score_record

    return [(r.site, r.code, r.visit, score_record(r.scale_id, r.items)) for r in recs]


def _data_rows(reg: Any) -> tuple[int, int, float]:
    import sqlalchemy as sa

    with reg.engine.connect() as c:
        return tuple(  # type: ignore[return-value]
            c.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM visits), count(*), sum(total) "
                    "FROM assessments"
                )
            ).one()
        )


def _sync_floor_ms(directory: str, n: int = 200) -> float:
    """Median time of an in-place 64-byte write + ``fdatasync`` in ``directory``.

    The disk's floor for one durable write, measured beside the registry's
    writes: a single audited write waits for one sync (the database commit;
    two with the anchor synced inline), a plain one for one.
    """
    import statistics

    path = Path(directory) / "sync-floor.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"\0" * 4096, 0)
        os.fsync(fd)
        times = []
        for k in range(n):
            t0 = time.perf_counter()
            os.pwrite(fd, k.to_bytes(8, "little") * 8, 0)
            os.fdatasync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times) * 1e3


def _load(url: str, n_patients: int) -> tuple[Any, float]:
    from plptms.registry import Registry

    reg = Registry(url)
    t0 = time.perf_counter()
    for start in range(0, n_patients, BATCH):
        reg.add_patients(
            [
                ("S1", f"P{p:05d}", None)
                for p in range(start, min(n_patients, start + BATCH))
            ],
            actor="bench",
        )
    reg.add_patient("S1", "SINGLE", history=None, actor="bench")
    return reg, time.perf_counter() - t0


def bench_backend(
    url: str, plain_url: str, label: str, n_patients: int = N_PATIENTS
) -> list[str]:
    from plptms.registry import VisitIn
    from plptms.registry.db._engine import sqlite_file
    from plptms.scales import score_record

    db_file = sqlite_file(url)
    floor_dir = None if db_file is None else str(db_file.parent)
    floors = [] if floor_dir is None else [_sync_floor_ms(floor_dir)]
    reg, t_patients = _load(url, n_patients)
    plain, _ = _load(plain_url, n_patients)
    scored = _scored_records(_records(n_patients))
    t_bulk = t_plain = c_bulk = c_single = 0.0
    for start in range(0, len(scored), BATCH):  # side by side, batch by batch
        batch = scored[start : start + BATCH]
        c0, t0 = time.process_time(), time.perf_counter()
        reg.store_assessments(batch, actor="bench")
        t_bulk += time.perf_counter() - t0
        c_bulk += time.process_time() - c0
        t0 = time.perf_counter()
        _plain_store(plain, batch)
        t_plain += time.perf_counter() - t0
    # single-assessment path on a sample (fresh visits), audited and plain in turn
    today = dt.date.today()
    t_single = t_single_plain = t_inline = 0.0
    for k in range(2 * N_SINGLE):
        visit = VisitIn(visit_date=today - dt.timedelta(days=k), kind="follow_up")
        sc = score_record("nrs_phantom_average", {"1": k % 11})
        # alternately: the anchor synced off the write path (the default) and
        # synced before the call returns (PLPTMS_ANCHOR_SYNC=inline)
        reg._anchor_sync = "inline" if k % 2 else "deferred"
        c0, t0 = time.process_time(), time.perf_counter()
        reg.store_assessment("S1", "SINGLE", visit, sc, actor="bench")
        dt_write = time.perf_counter() - t0
        if k % 2:
            t_inline += dt_write
        else:
            t_single += dt_write
            c_single += time.process_time() - c0
        t0 = time.perf_counter()
        _plain_one(plain, "S1", "SINGLE", visit, sc)
        t_single_plain += time.perf_counter() - t0
    if floor_dir is not None:
        floors.append(_sync_floor_ms(floor_dir))
    floor = "n/a" if not floors else " / ".join(f"{f:.2f}" for f in floors)
    same = _data_rows(reg) == _data_rows(plain)
    plain.close()
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
    n = len(scored)
    ms, ms_plain = t_single / N_SINGLE * 1e3, t_single_plain / (2 * N_SINGLE) * 1e3
    return [
        f"| {label} | {n_patients / t_patients:,.0f} | {n / t_bulk:,.0f} | "
        f"{n / c_bulk:,.0f} | {n / t_plain:,.0f} | {t_bulk / t_plain:.2f}x | "
        f"{ms:.2f} | {c_single / N_SINGLE * 1e3:.2f} | "
        f"{t_inline / N_SINGLE * 1e3:.2f} | {ms_plain:.2f} | "
        f"{ms / ms_plain:.2f}x | {floor} | {'yes' if same else 'NO'} | {t_csv:.1f} | "
        f"{t_long:.1f} | {size_mb:.0f} | "
        f"{t_verify:.1f} ({report.entries:,} entries, ok={report.ok}) |"
    ]


def run() -> list[str]:
    lines = [
        f"## Registry: {N_PATIENTS:,} patients x {N_VISITS} visits "
        f"({N_PATIENTS * N_VISITS:,} assessments)",
        "",
        "Bulk = audited `Registry.store_assessments` (scored beforehand; each "
        f"assessment creates its visit) in transactions of {BATCH:,}; single = "
        "`Registry.store_assessment`, one durable transaction, its visit and "
        f"assessment audited and the head anchored ({N_SINGLE} timed; the anchor "
        "synced off the write path, the default, and, alternating with it, synced "
        "before the call returns, `PLPTMS_ANCHOR_SYNC=inline`); plain = "
        "the same visit and assessment rows, the same Core inserts and "
        "transactions, without audit entries or anchor, on a second registry on "
        "the same backend, timed alternately with the audited path; cost = "
        "audited time / plain time for the same rows; same rows = both "
        "registries hold the same visits and assessments; disk sync floor = median "
        "in-place write + fdatasync of one page in the database's directory, "
        "measured before the loads and after the timed writes (a single audited "
        "write waits for one sync, the commit; with the anchor synced inline, two; "
        "a plain one, one). "
        "SQLite runs with WAL and "
        "synchronous=FULL; PostgreSQL is a local throwaway cluster (fsync off).",
        "",
        "| backend | patients/s | bulk audited assessments/s | same, per CPU s | "
        "bulk plain/s | bulk cost vs plain | single audited (ms) | same, CPU (ms) | "
        "same, anchor synced inline (ms) | "
        "single plain (ms) | single cost vs plain | disk sync floor, before / after "
        "(ms) | same rows | CSV export (s) | "
        "long export (s) | export MB | audit verify (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        lines += bench_backend(
            f"sqlite:///{tmp}/bench.sqlite3", f"sqlite:///{tmp}/plain.sqlite3", "SQLite"
        )
    if os.path.isdir("/dev/shm") and N_TMPFS_PATIENTS > 0:
        with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
            saved = os.environ.get("PLPTMS_STATE_DIR")
            os.environ["PLPTMS_STATE_DIR"] = tmp  # the anchor on tmpfs too
            try:
                lines += bench_backend(
                    f"sqlite:///{tmp}/bench.sqlite3",
                    f"sqlite:///{tmp}/plain.sqlite3",
                    f"SQLite on tmpfs ({N_TMPFS_PATIENTS:,} patients: CPU only)",
                    N_TMPFS_PATIENTS,
                )
            finally:
                if saved is None:
                    os.environ.pop("PLPTMS_STATE_DIR")
                else:
                    os.environ["PLPTMS_STATE_DIR"] = saved
    pg = os.environ.get("PLPTMS_TEST_PG_URL")
    if pg:
        import uuid

        import sqlalchemy as sa

        names = [f"plptms_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for name in names:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        base = pg.rsplit("/", 1)[0]
        try:
            lines += bench_backend(
                f"{base}/{names[0]}", f"{base}/{names[1]}", "PostgreSQL"
            )
        finally:
            with admin.connect() as c:
                for name in names:
                    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        lines.append(
            "| PostgreSQL | not run (no server; `make bench` starts one "
            "when PostgreSQL is installed) | | | | | | | | | | | | | | | |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
