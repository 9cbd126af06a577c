"""Web load benchmark: page views and API writes against Uvicorn on loopback.

The production app (``plptms.web._app:app_from_env``, the real accounts) runs
in a Uvicorn subprocess on 127.0.0.1. Each client is a thread with its own
HTTP connection (httpx): it signs in through the form once, then for a bounded
time alternates a patient page view (HTML, session cookie) and an assessment
write through the API (bearer token, one new visit per write). One client
runs first as the baseline, then :data:`N_CLIENTS` at once. After each run
the stored assessments of the run's patients are counted and compared with
the 201 answers: lost = answered 201 but not stored, duplicated = stored more
than once (or more rows than 201s).

Runnable alone: ``python benchmarks/bench_web.py`` (``PLPTMS_BENCH_WEB_S``
sets the seconds per run, default 10).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

#: Concurrent clients of the loaded run (the baseline is 1).
N_CLIENTS = int(os.environ.get("PLPTMS_BENCH_WEB_CLIENTS", "8"))
#: Seconds each run lasts.
DURATION_S = float(os.environ.get("PLPTMS_BENCH_WEB_S", "10"))
PASSWORD = "bench-passphrase-long"
SECRET = "bench-secret-key-" + "y" * 40
SCALE = "vas_phantom_average"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str, patients: list[str]) -> str:
    """Create the accounts and patients; return the physician's API token."""
    from plptms.access import Role
    from plptms.registry import Registry
    from plptms.workflow import (
        PatientInput,
        UserInput,
        create_user,
        issue_api_token,
        principal_for,
        register_patient,
    )

    with Registry(url) as reg:
        create_user(
            reg,
            UserInput(
                username="admin",
                display_name="Admin",
                role=Role.ADMINISTRATOR,
                password=PASSWORD,
            ),
            by=None,
        )
        create_user(
            reg,
            UserInput(
                username="dr",
                display_name="Doctor",
                role=Role.PHYSICIAN,
                sites=frozenset({"S01"}),
                password=PASSWORD,
            ),
            by=principal_for(reg, "admin"),
        )
        for code in patients:
            register_patient(reg, PatientInput(site="S01", code=code), actor="dr")
        return issue_api_token(reg, principal_for(reg, "dr"), label="bench")


class _Client(threading.Thread):
    def __init__(self, base: str, token: str, code: str, stop_at: float) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.code, self.stop_at = base, token, code, stop_at
        self.pages: list[float] = []
        self.writes: list[float] = []
        self.created: list[int] = []
        self.errors: dict[int, int] = {}
        self.failure: str | None = None

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported in the table, never hidden
            self.failure = repr(exc)

    def _run(self) -> None:
        import re

        import httpx

        with httpx.Client(base_url=self.base, timeout=60.0) as c:
            form = c.get("/sign-in").text
            csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
            assert csrf is not None
            r = c.post(
                "/sign-in",
                data={"username": "dr", "password": PASSWORD, "csrf_token": csrf[1]},
            )
            assert r.status_code == 303, r.status_code
            auth = {"Authorization": f"Bearer {self.token}"}
            today = dt.date.today()
            k = 0
            while time.perf_counter() < self.stop_at:
                t0 = time.perf_counter()
                r = c.get(f"/patients/S01/{self.code}")
                self.pages.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    self.errors[r.status_code] = self.errors.get(r.status_code, 0) + 1
                body = {
                    "scale_id": SCALE,
                    "visit_date": (today - dt.timedelta(days=k)).isoformat(),
                    "visit_kind": "follow_up",
                    "items": {"1": float(k % 100)},
                }
                k += 1
                t0 = time.perf_counter()
                r = c.post(
                    f"/api/v1/patients/S01/{self.code}/assessments",
                    json=body,
                    headers=auth,
                )
                self.writes.append(time.perf_counter() - t0)
                if r.status_code == 201:
                    self.created.append(int(r.json()["id"]))
                else:
                    self.errors[r.status_code] = self.errors.get(r.status_code, 0) + 1


def _pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) * 1000.0 if values else float("nan")


def _stored(url: str, codes: list[str]) -> tuple[int, int]:
    """Rows of assessments of these patients, and distinct (patient, visit)."""
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            q = sa.text(
                "SELECT COUNT(*), COUNT(DISTINCT a.visit_id) FROM assessments a "
                "JOIN visits v ON v.id = a.visit_id "
                "JOIN patients p ON p.id = v.patient_id "
                "WHERE p.site = 'S01' AND p.code IN :codes"
            ).bindparams(sa.bindparam("codes", expanding=True))
            rows, visits = c.execute(q, {"codes": codes}).one()
            return int(rows), int(visits)
    finally:
        eng.dispose()


def _run(base: str, token: str, url: str, clients: int) -> dict[str, Any]:
    codes = [f"R{clients:02d}C{w:02d}" for w in range(clients)]
    stop_at = time.perf_counter() + DURATION_S
    threads = [_Client(base, token, code, stop_at) for code in codes]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    pages = [x for t in threads for x in t.pages]
    writes = [x for t in threads for x in t.writes]
    created = [i for t in threads for i in t.created]
    errors: dict[int, int] = {}
    for t in threads:
        for k, v in t.errors.items():
            errors[k] = errors.get(k, 0) + v
    rows, visits = _stored(url, codes)
    return {
        "clients": clients,
        "requests": len(pages) + len(writes),
        "rate": (len(pages) + len(writes)) / wall,
        "page": (_pct(pages, 50), _pct(pages, 99)),
        "write": (_pct(writes, 50), _pct(writes, 99)),
        "ok": len(created),
        "rows": rows,
        "lost": max(len(set(created)) - rows, 0),
        "dup": (len(created) - len(set(created)))
        + max(rows - len(created), 0)
        + (rows - visits),
        "errors": errors,
        "failures": [t.failure for t in threads if t.failure],
    }


def _serve(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "PLPTMS_SECRET_KEY": SECRET,
        "PLPTMS_DB_URL": url,
        "PLPTMS_COOKIE_SECURE": "0",
    }
    log = (tmp / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "plptms.web._app:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp / "uvicorn.log").read_text())
        try:
            if httpx.get(base + "/sign-in", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("uvicorn did not start within 60 s")


def run() -> list[str]:
    """Run the baseline and the loaded run; return the markdown section."""
    lines = [
        f"## Web: page views and API writes, {N_CLIENTS} concurrent clients",
        "",
        "Uvicorn (one worker) on loopback serving `app_from_env` on SQLite with "
        "the real accounts. Each client is a thread with its own connection: it "
        "signs in once, then alternates a patient page (HTML) and an assessment "
        f"written through the API (a new visit each) for {DURATION_S:g} s. The "
        "baseline is one client, side by side in the same run; ratio = requests/s "
        "over the baseline's. Lost = answered 201 but not stored; duplicated = "
        "stored more than once or more rows than 201 answers.",
        "",
        "| clients | requests | requests/s | ratio to 1 client | page p50 / p99 ms "
        "| write p50 / p99 ms | writes 201 | rows stored | lost | duplicated | "
        "other answers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory(prefix="plptms-bench-web-") as tmp_s:
        tmp = Path(tmp_s)
        os.environ.setdefault("PLPTMS_STATE_DIR", str(tmp / "state"))
        os.environ.setdefault("PLPTMS_CONFIG_DIR", str(tmp / "config"))
        url = f"sqlite:///{tmp / 'web.sqlite3'}"
        runs = (1, N_CLIENTS)
        codes = [f"R{c:02d}C{w:02d}" for c in runs for w in range(c)]
        token = _seed(url, codes)
        proc, base = _serve(url, tmp)
        try:
            results = [_run(base, token, url, c) for c in runs]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    first = results[0]["rate"]
    for r in results:
        other = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none"
        if r["failures"]:
            other += f"; client failures: {r['failures'][0]}"
        lines.append(
            f"| {r['clients']} | {r['requests']} | {r['rate']:.1f} | "
            f"{r['rate'] / first:.2f} | {r['page'][0]:.1f} / {r['page'][1]:.1f} | "
            f"{r['write'][0]:.1f} / {r['write'][1]:.1f} | {r['ok']} | {r['rows']} | "
            f"{r['lost']} | {r['dup']} | {other} |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
