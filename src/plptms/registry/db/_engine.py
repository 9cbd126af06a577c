"""Database engines: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["DEFAULT_DB_ENV", "default_url", "make_engine", "write_lock"]

#: Environment variable naming the database URL.
DEFAULT_DB_ENV = "PLPTMS_DB_URL"

#: Advisory lock key serialising registry writes on PostgreSQL (keeps the audit
#: chain linear).
_PG_LOCK_KEY = 7_275_817


def default_url() -> str:
    """Return the registry URL: ``$PLPTMS_DB_URL`` or the default SQLite file.

    The default file is ``$XDG_DATA_HOME/plptms/registry.sqlite3`` (falling back to
    ``~/.local/share/plptms/registry.sqlite3``).

    Returns
    -------
    url : str
        A SQLAlchemy URL.
    """
    env = os.environ.get(DEFAULT_DB_ENV)
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    path = Path(base) / "plptms" / "registry.sqlite3"
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """Create an engine with the registry's connection settings.

    SQLite: WAL journal, foreign keys on, ``synchronous=FULL`` (a committed record
    survives a crash), a 60 s busy timeout, and every transaction opened with
    ``BEGIN IMMEDIATE`` so that writers queue instead of failing mid-transaction
    (read-only work passes the execution option ``plptms_readonly=True`` and gets a
    plain deferred ``BEGIN``).

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).

    Returns
    -------
    engine : sqlalchemy.engine.Engine
        The engine.
    """
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60.0})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            readonly = conn.get_execution_options().get("plptms_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def write_lock(connection: Any) -> None:
    """Serialise writers for the current transaction (PostgreSQL advisory lock).

    On SQLite ``BEGIN IMMEDIATE`` already holds the write lock.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection | sqlalchemy.orm.Session
        Inside an open transaction.
    """
    from sqlalchemy import text

    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    if bind.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}
        )
