"""Trial enrolment benchmark: concealed allocations under concurrent clients.

Each client is its own process (spawned), enrolling its own screened patients
into the shipped example trial (minimisation over site, limb and pain band)
through ``plptms.workflow.enrol_patient``. One client runs first as the baseline;
then 16 run at once, released together by a barrier. After each run the stored
allocation indices must be exactly 0..N-1 (no duplicate, no gap) and the
statistician's replay must reproduce every allocation.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

#: Concurrent clients (the issue's figure) and patients each.
N_CLIENTS = 16
PER_CLIENT = int(os.environ.get("PLPTMS_BENCH_ENROL_EACH", "10"))
EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))


def _factors(k: int) -> dict[str, str]:
    return {
        "limb": ("upper", "lower")[k % 2],
        "pain_band": ("nrs_4_6", "nrs_7_10")[(k // 2) % 2],
    }


def _client(url: str, w: int, n: int, start: Any, env: dict[str, str]) -> None:
    os.environ.update(env)
    from plptms.registry import Registry
    from plptms.trial import read_trial_definition
    from plptms.workflow import enrol_patient

    defn = read_trial_definition(EXAMPLE)
    with Registry(url, migrate=False) as reg:
        start.wait()
        for k in range(n):
            site = defn.site_codes[w % len(defn.site_codes)]
            enrol_patient(
                reg, defn.id, site, f"C{w:02d}P{k:03d}", _factors(k), actor=f"c{w}"
            )


def _setup(url: str, clients: int, n: int) -> Any:
    from plptms.registry import Registry
    from plptms.safety import ScreeningAnswers, load_screening_items, screen
    from plptms.trial import read_trial_definition
    from plptms.utils import clinic_today
    from plptms.workflow import PatientInput, create_trial, register_patient

    defn = read_trial_definition(EXAMPLE)
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    report = screen(ScreeningAnswers(answers=answers, screened_on=clinic_today()))
    with Registry(url) as reg:
        create_trial(reg, defn, actor="stat")
        for w in range(clients):
            site = defn.site_codes[w % len(defn.site_codes)]
            for k in range(n):
                code = f"C{w:02d}P{k:03d}"
                register_patient(reg, PatientInput(site=site, code=code), actor="n")
                reg.record_screening(site, code, report, actor="dr")
    return defn


def _run(url: str, clients: int, n: int) -> tuple[float, int, bool, bool]:
    """Enrol ``clients`` x ``n`` patients; return rate, count, exact, replayed."""
    from plptms.registry import Registry
    from plptms.workflow import replay_allocations

    # each run's trial gets its own secret (a new trial, a new key file)
    os.environ["PLPTMS_TRIAL_KEY_DIR"] = tempfile.mkdtemp(prefix="plptms-keys-")
    defn = _setup(url, clients, n)
    env = {k: v for k, v in os.environ.items() if k.startswith("PLPTMS_")}
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(clients + 1)
    procs = [
        ctx.Process(target=_client, args=(url, w, n, start, env))
        for w in range(clients)
    ]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    if any(p.exitcode != 0 for p in procs):
        raise RuntimeError("an enrolment client failed")
    with Registry(url, migrate=False) as reg:
        stored = reg.list_enrolments(defn.id)
        exact = sorted(e.allocation_index for e in stored) == list(range(clients * n))
        replayed = replay_allocations(reg, defn.id, defn).ok
    return clients * n / wall, len(stored), exact, replayed


def _backend(url_for: Any, label: str) -> list[str]:
    rows = []
    base = None
    for clients, n in ((1, PER_CLIENT * 4), (N_CLIENTS, PER_CLIENT)):
        rate, count, exact, replayed = _run(url_for(clients), clients, n)
        base = rate if base is None else base
        rows.append(
            f"| {label} | {clients} | {count} | {rate:.1f} | {rate / base:.2f} | "
            f"{'0' if exact else 'DUPLICATES OR GAPS'} | "
            f"{'all' if replayed else 'MISMATCH'} |"
        )
    return rows


def run() -> list[str]:
    lines = [
        f"## Trials: concealed enrolment, {N_CLIENTS} concurrent clients",
        "",
        "Each client is a process enrolling its own screened patients into the "
        "example trial (minimisation, p = 0.8) through `workflow.enrol_patient`: "
        "one serialised, audited transaction per enrolment. The baseline is one "
        "client alone, side by side in the same run; ratio = enrolments/s over "
        "the baseline's. Duplicates or gaps = stored allocation indices that are "
        "not exactly 0..N-1; replayed = the statistician's replay of every "
        "allocation from the history and the secret.",
        "",
        "| backend | clients | enrolments | enrolments/s | ratio to 1 client | "
        "duplicates or gaps | replayed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        lines += _backend(lambda c: f"sqlite:///{tmp}/enrol-{c}.sqlite3", "SQLite")
        pg = os.environ.get("PLPTMS_TEST_PG_URL")
        if pg:
            import uuid

            import sqlalchemy as sa

            admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
            names: list[str] = []

            def pg_url(clients: int) -> str:
                name = f"plptms_enrol_{clients}_{uuid.uuid4().hex[:6]}"
                with admin.connect() as c:
                    c.execute(sa.text(f'CREATE DATABASE "{name}"'))
                names.append(name)
                return f"{pg.rsplit('/', 1)[0]}/{name}"

            try:
                lines += _backend(pg_url, "PostgreSQL")
            finally:
                with admin.connect() as c:
                    for name in names:
                        c.execute(
                            sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                        )
                admin.dispose()
        else:
            lines.append(
                "| PostgreSQL | not run (no server; `make bench` starts one when "
                "PostgreSQL is installed) | | | | | |"
            )
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
