"""Database engines: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ._pool import PoolSettings

__all__ = [
    "ALLOWED_URLS",
    "DEFAULT_DB_ENV",
    "DatabaseOpenError",
    "RegistryMissingError",
    "RegistryUnavailableError",
    "default_url",
    "make_engine",
    "sqlite_file",
    "write_lock",
]

#: Environment variable naming the database URL.
DEFAULT_DB_ENV = "PLPTMS_DB_URL"

#: Advisory lock key serialising registry writes on PostgreSQL (keeps the audit
#: chain linear).
_PG_LOCK_KEY = 7_275_817


#: What a registry URL may be (for messages).
ALLOWED_URLS = (
    "sqlite:///PATH (a file in a writable directory) or "
    "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
)


class DatabaseOpenError(ValueError):
    """The registry database cannot be opened: a bad URL, path, driver or server.

    Parameters
    ----------
    url : str
        The URL, with any password hidden.
    reason : str
        Why it cannot be opened.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = " ".join(reason.split())
        super().__init__(
            f"Invalid value for the database URL (--db, ${DEFAULT_DB_ENV}): got "
            f"{url!r}; {self.reason}; allowed: {ALLOWED_URLS}."
        )


class RegistryMissingError(DatabaseOpenError):
    """A command that only reads found no registry at the URL (nothing created)."""

    def __init__(self, url: str, where: str) -> None:
        super().__init__(url, f"no registry at {where} yet")
        self.where = where


class RegistryUnavailableError(ConnectionError):
    """The registry's PostgreSQL server cannot be reached (network or server down).

    Raised by any registry operation while the server is unreachable, after at
    most the connect timeout (opening the registry then raises
    :class:`DatabaseOpenError` with the same reason). plptms keeps no local
    copy: nothing is written anywhere else, so no record forks from the
    registry. It is a :class:`ConnectionError`, not a ``ValueError``: code that
    refuses bad input (``except ValueError``) does not mistake an outage for a
    refusal.

    Parameters
    ----------
    url : str
        The URL, with any password hidden.
    address : str
        ``host:port`` of the server.
    detail : str
        What the driver said (one line).
    outcome : {"not_written", "unknown"}
        ``not_written``: the operation wrote nothing (it failed before or inside
        its transaction, which the server rolls back). ``unknown``: the
        connection dropped while committing; the change is stored whole or not
        at all, and which one cannot be known here.
    """

    def __init__(self, url: str, address: str, detail: str, outcome: str) -> None:
        self.url = url
        self.address = address
        self.detail = " ".join(detail.split())[:300]
        self.outcome = outcome
        if outcome == "unknown":
            what = (
                f"the connection to the registry database at {address} was lost "
                f"while saving ({self.detail}): the change is either stored whole "
                "or not at all, and plptms cannot tell which; nothing was written "
                "anywhere else. When the registry is reachable again, look the "
                "record up before entering it again"
            )
        else:
            what = (
                f"the registry database at {address} cannot be reached "
                f"({self.detail}): nothing was written, here or anywhere else "
                "(plptms keeps no local copy). Check the network to the registry "
                "server and that PostgreSQL runs there, then retry; meanwhile "
                "record on paper (docs/multisite.md)"
            )
        self.reason = what
        super().__init__(what[0].upper() + what[1:] + ".")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the constructor's arguments (worker processes)."""
        detail = self.detail
        return (type(self), (self.url, self.address, detail, self.outcome))


#: SQLite page cache per connection, KiB (the default is 2,000 KiB). A large
#: registry's indexes stay in memory across write transactions: audited bulk
#: writes at 10,000 patients ran about 25 % faster with 64 MiB and the larger
#: checkpoint interval below (``benchmarks/bench_registry.py``). Memory is taken
#: as pages are read, up to this much per open connection.
SQLITE_CACHE_KIB = 65_536

#: WAL pages before an automatic checkpoint (the default is 1,000): a page
#: rewritten by many commits is copied into the database once per checkpoint.
#: Durability is the commit's WAL sync (``synchronous=FULL``), unchanged.
SQLITE_WAL_CHECKPOINT_PAGES = 10_000

#: Size the WAL file is truncated back to after a checkpoint, bytes.
SQLITE_WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def sqlite_file(url: str) -> Path | None:
    """Return the file of a ``sqlite:///PATH`` URL (``None`` for memory/others).

    Parameters
    ----------
    url : str
        SQLAlchemy URL.

    Returns
    -------
    path : pathlib.Path | None
        The database file, or ``None`` when the URL names no file.
    """
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path.split("?", 1)[0])


def _shown(url: str) -> str:
    """Return the URL with its password hidden (as given when it does not parse)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return url


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


def make_engine(url: str, pool: PoolSettings | None = None) -> Engine:
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
    pool : PoolSettings | None
        PostgreSQL's pool and timeouts (:mod:`plptms.registry.db._pool`); from
        the ``PLPTMS_DB_*`` environment variables when ``None``. SQLite ignores
        them.

    Returns
    -------
    engine : sqlalchemy.engine.Engine
        The engine; a first connection has been opened and closed, so that a
        database that cannot be opened fails here.

    Raises
    ------
    DatabaseOpenError
        If the URL does not parse, names an unknown dialect or a driver that is not
        installed, its SQLite directory cannot be created, or the database cannot be
        connected to (a directory, a file that is not a database, no server); the
        message is one line; a PostgreSQL server that cannot be reached is named
        by its ``host:port``, within the connect timeout.
    ValueError
        If a ``PLPTMS_DB_*`` pool setting is not allowed (it names the variable).

    Notes
    -----
    On PostgreSQL, a connection lost to the network (or a server that cannot be
    reached) makes any later operation raise :class:`RegistryUnavailableError`
    instead of the driver's error; the pool then replaces its connections
    (pre-ping), so operations succeed again once the server is back, without
    reopening the registry.
    """
    from sqlalchemy.engine import make_url

    if not isinstance(url, str) or not url.strip():
        raise DatabaseOpenError(str(url), "an empty URL")
    if pool is None and url.startswith("postgresql"):
        from ._pool import pool_settings_from_env

        pool = pool_settings_from_env()
    engine: Engine | None = None
    try:
        make_url(url)
        engine = _create(url, pool)
        with engine.connect():
            pass
    except Exception as exc:
        if engine is not None:
            engine.dispose()  # close what the probe opened (and SQLite's WAL files)
        error = _open_error(url, exc)
        if error is None:
            raise
        raise error from None
    return engine


def _open_error(url: str, exc: Exception) -> DatabaseOpenError | None:
    """Map a failure to open ``url`` to a :class:`DatabaseOpenError` (or ``None``)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    if isinstance(exc, DatabaseOpenError):
        return exc
    if isinstance(exc, RegistryUnavailableError):
        return DatabaseOpenError(exc.url, exc.reason)
    if isinstance(exc, NoSuchModuleError):
        return DatabaseOpenError(
            _shown(url), f"an unknown kind of database or driver ({exc})"
        )
    if isinstance(exc, ArgumentError):
        return DatabaseOpenError(_shown(url), "not a database URL")
    if isinstance(exc, SQLAlchemyError | ImportError | OSError | ValueError):
        detail = getattr(exc, "orig", None) or exc
        return DatabaseOpenError(
            _shown(url), f"cannot open the database ({type(exc).__name__}: {detail})"
        )
    return None


def _create(url: str, pool: PoolSettings | None = None) -> Engine:
    """Create the engine (see :func:`make_engine`), without connecting."""
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            parent = Path(path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseOpenError(
                    _shown(url),
                    f"its directory {str(parent)!r} cannot be created "
                    f"({exc.strerror or exc})",
                ) from None
        engine = create_engine(url, connect_args={"timeout": 60.0})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_SIZE_LIMIT_BYTES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            readonly = conn.get_execution_options().get("plptms_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if pool is None or not url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_driver_name() in ("psycopg", "psycopg2"):
        options = parsed.query.get("options")
        connect_args = pool.connect_args(options if isinstance(options, str) else None)
    engine = create_engine(url, connect_args=connect_args, **pool.engine_kwargs())
    _report_unavailable(engine, url)
    return engine


#: PostgreSQL error classes that mean the server cannot serve the connection:
#: class 08 (connection exception) and 57P01-57P03 (shut down, crashed, starting
#: up) (PostgreSQL docs, Appendix A "Error codes").
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")

#: What the server says (``FATAL``) while it starts, stops or recovers.
_SERVER_DOWN_WORDS = ("starting up", "shutting down", "in recovery mode")


def _unreachable(ctx: Any) -> bool:
    """Whether a failed operation means the server cannot be reached."""
    from sqlalchemy.exc import OperationalError

    if ctx.is_disconnect:
        return True
    if not isinstance(ctx.sqlalchemy_exception, OperationalError):
        return False
    orig = ctx.original_exception
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is not None:
        return str(state).startswith("08") or state in _UNAVAILABLE_STATES
    text = str(orig)
    if ctx.connection is None and "FATAL:" in text:
        # the server answered (a wrong password, an unknown database): reachable
        return any(w in text for w in _SERVER_DOWN_WORDS)
    return ctx.connection is None


def _report_unavailable(engine: Engine, url: str) -> None:
    """Turn a lost or impossible connection into :class:`RegistryUnavailableError`."""
    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    address = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    shown = _shown(url)

    @event.listens_for(engine, "handle_error")
    def _on_error(ctx: Any) -> BaseException | None:
        if ctx.is_pre_ping or not _unreachable(ctx):
            return None  # a failed pre-ping is retried on a new connection
        # no statement and a live connection: the failure came while committing
        committing = ctx.connection is not None and ctx.statement is None
        detail = str(ctx.original_exception).strip().splitlines() or ["no detail"]
        return RegistryUnavailableError(
            shown, address, detail[0], "unknown" if committing else "not_written"
        )


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
