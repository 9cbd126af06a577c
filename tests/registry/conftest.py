"""Registry fixtures: every test runs on SQLite and on PostgreSQL (``db_url``,
from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def registry(db_url: str):  # type: ignore[no-untyped-def]
    from plptms.registry import Registry

    reg = Registry(db_url)
    try:
        yield reg
    finally:
        reg.close()
