"""Registry fixtures: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def registry(db_url: str):  # type: ignore[no-untyped-def]
    from plptms.registry import Registry

    reg = Registry(db_url)
    try:
        yield reg
    finally:
        reg.close()
