"""The SQLite settings every registry connection gets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plptms.registry import Registry
from plptms.registry.db._engine import (
    SQLITE_CACHE_KIB,
    SQLITE_WAL_CHECKPOINT_PAGES,
    SQLITE_WAL_SIZE_LIMIT_BYTES,
)

if TYPE_CHECKING:
    from pathlib import Path

#: SQLite's numbering of synchronous modes (FULL = 2).
SYNCHRONOUS_FULL = 2


def test_every_connection_is_durable_and_sized(tmp_path: Path) -> None:
    reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        with reg.engine.connect() as conn:

            def pragma(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == SYNCHRONOUS_FULL  # commits still sync
            assert pragma("foreign_keys") == 1
            # a negative cache_size is KiB (SQLite's convention)
            assert pragma("cache_size") == -SQLITE_CACHE_KIB
            assert pragma("wal_autocheckpoint") == SQLITE_WAL_CHECKPOINT_PAGES
            assert pragma("journal_size_limit") == SQLITE_WAL_SIZE_LIMIT_BYTES
    finally:
        reg.close()
