"""Shared fixtures and factories."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plptms.protocol import Protocol, StimulationDose

RTMS_DEFAULTS: dict[str, Any] = {
    "pattern": "rtms",
    "target": "m1_hand",
    "laterality": "contralateral",
    "frequency_hz": 10.0,
    "intensity_pct_rmt": 90.0,
    "pulses_per_train": 50,
    "trains_per_session": 30,
    "inter_train_interval_s": 25.0,
    "coil": "figure_of_eight",
}

ITBS_DEFAULTS: dict[str, Any] = {
    "pattern": "itbs",
    "target": "dlpfc",
    "laterality": "left",
    "frequency_hz": 5.0,
    "intensity_pct_rmt": 80.0,
    "pulses_per_train": 30,
    "trains_per_session": 20,
    "inter_train_interval_s": 8.0,
    "pulses_per_burst": 3,
    "intra_burst_frequency_hz": 50.0,
}

CTBS_DEFAULTS: dict[str, Any] = {
    "pattern": "ctbs",
    "target": "m1_hand",
    "laterality": "contralateral",
    "frequency_hz": 5.0,
    "intensity_pct_rmt": 70.0,
    "pulses_per_train": 600,
    "trains_per_session": 1,
    "inter_train_interval_s": 0.0,
    "pulses_per_burst": 3,
    "intra_burst_frequency_hz": 50.0,
}


def dose(base: dict[str, Any] | None = None, **changes: Any) -> StimulationDose:
    """Build a dose from defaults with changes."""
    data = dict(RTMS_DEFAULTS if base is None else base)
    data.update(changes)
    return StimulationDose.model_validate(data)


def protocol_of(*doses: StimulationDose, pid: str = "test-protocol") -> Protocol:
    """Wrap doses into a protocol of one block each."""
    blocks = [
        {
            "label": f"B{i}",
            "dose": d,
            "sessions": 10,
            "sessions_per_week": 5,
            "course_weeks": 2,
        }
        for i, d in enumerate(doses)
    ]
    return Protocol.model_validate(
        {"id": pid, "name": "test", "condition": "active", "blocks": blocks}
    )


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic YAML alias bomb: ``width ** levels`` strings from ~800 bytes."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for k in range(1, levels):
        lines.append(f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """Keep every test's state and config files (simulator counter, audit key and
    anchors) out of the user's home and apart from other tests."""
    base = tmp_path_factory.mktemp("plptms-dirs")
    monkeypatch.setenv("PLPTMS_STATE_DIR", str(base / "state"))
    monkeypatch.setenv("PLPTMS_CONFIG_DIR", str(base / "config"))


@pytest.fixture(scope="session")
def library():  # type: ignore[no-untyped-def]
    from plptms.protocol import load_library

    return load_library()


PG_ENV = "PLPTMS_TEST_PG_URL"


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("PLPTMS_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL required (PLPTMS_REQUIRE_POSTGRES) but {PG_ENV} unset")
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip(f"no PostgreSQL server ({PG_ENV} unset): run `make test`")
    import sqlalchemy as sa

    name = f"plptms_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()
