"""Connection-pool settings of a shared PostgreSQL registry, and their sizing rule.

Several sites share one PostgreSQL registry (``docs/multisite.md``). Every
process that opens it (a web worker, a command, a session runner) holds its own
SQLAlchemy pool; the settings below size that pool and bound how long an
operation waits for the server. They come from environment variables beside
``$PLPTMS_DB_URL`` (how the registry URL is configured) and apply to PostgreSQL
only; a SQLite registry is one file on one machine and ignores them.

===================================  ==================  =======  ==============
variable                             field               default  allowed
===================================  ==================  =======  ==============
``PLPTMS_DB_POOL_SIZE``              ``pool_size``       5        [1, 200]
``PLPTMS_DB_MAX_OVERFLOW``           ``max_overflow``    10       [0, 200]
``PLPTMS_DB_POOL_TIMEOUT_S``         ``pool_timeout_s``  30       (0, 600] s
``PLPTMS_DB_POOL_RECYCLE_S``         ``pool_recycle_s``  1800     [60, 86400] s
``PLPTMS_DB_POOL_PRE_PING``          ``pool_pre_ping``   1        0 or 1
``PLPTMS_DB_CONNECT_TIMEOUT_S``      ``connect_...``     10       [2, 300] s
``PLPTMS_DB_STATEMENT_TIMEOUT_S``    ``statement_...``   60       [0, 86400] s
===================================  ==================  =======  ==============

The pool defaults are SQLAlchemy's own (5 + 10, 30 s); the timeouts are plptms
choices [design], not measured optima.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, field_validator

from ...utils import check_range, check_type, short_repr

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "POOL_ENV",
    "PoolSettings",
    "check_connection_budget",
    "pool_settings_from_env",
    "site_connections",
]

#: field -> (environment variable, kind, low, high). Bounds are plptms choices
#: [design]; libpq waits at least 2 s for a connection (PostgreSQL docs,
#: ``connect_timeout``; not verified against every libpq version).
_FIELDS: Final[dict[str, tuple[str, type, float, float]]] = {
    "pool_size": ("PLPTMS_DB_POOL_SIZE", int, 1, 200),
    "max_overflow": ("PLPTMS_DB_MAX_OVERFLOW", int, 0, 200),
    "pool_timeout_s": ("PLPTMS_DB_POOL_TIMEOUT_S", float, 0, 600),
    "pool_recycle_s": ("PLPTMS_DB_POOL_RECYCLE_S", float, 60, 86400),
    "pool_pre_ping": ("PLPTMS_DB_POOL_PRE_PING", bool, 0, 1),
    "connect_timeout_s": ("PLPTMS_DB_CONNECT_TIMEOUT_S", int, 2, 300),
    "statement_timeout_s": ("PLPTMS_DB_STATEMENT_TIMEOUT_S", float, 0, 86400),
}

#: The environment variable of each pool setting.
POOL_ENV: Final[dict[str, str]] = {k: v[0] for k, v in _FIELDS.items()}

#: PostgreSQL's default ``superuser_reserved_connections`` (PostgreSQL docs,
#: runtime-config-connection; not verified beyond versions 13-17).
PG_SUPERUSER_RESERVED: Final[int] = 3


def _check_field(name: str, value: Any, label: str) -> Any:
    """Check one setting (``label`` names it in the message)."""
    _, kind, low, high = _FIELDS[name]
    if kind is bool:
        check_type(value, bool, label)
        return value
    if kind is int:
        check_type(value, int, label)
        check_range(value, label, low, high)
        return int(value)
    check_type(value, (int, float), label)
    unit = "s"
    if name == "pool_timeout_s":
        check_range(value, label, low, high, low_inclusive=False, unit=unit)
    else:
        check_range(value, label, low, high, unit=unit)
    return float(value)


class PoolSettings(BaseModel):
    """The pool and timeouts of one process's PostgreSQL engine.

    Parameters
    ----------
    pool_size : int
        Connections kept open, [1, 200].
    max_overflow : int
        Extra connections opened under load and closed after, [0, 200]. A process
        holds at most ``pool_size + max_overflow`` connections.
    pool_timeout_s : float
        How long an operation waits for a free connection of the pool, (0, 600] s.
    pool_recycle_s : float
        A connection older than this is replaced, [60, 86400] s (firewalls and
        NAT drop idle connections silently).
    pool_pre_ping : bool
        Test a connection before handing it out, so that one broken by a network
        outage is replaced instead of failing the operation.
    connect_timeout_s : int
        How long opening one connection may take, [2, 300] s: the bound on how
        long an operation fails when the server cannot be reached.
    statement_timeout_s : float
        PostgreSQL's ``statement_timeout`` for every statement, [0, 86400] s
        (0: none). It also bounds the wait for the registry's write lock.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: float = 30.0
    pool_recycle_s: float = 1800.0
    pool_pre_ping: bool = True
    connect_timeout_s: int = 10
    statement_timeout_s: float = 60.0

    @field_validator("*", mode="before")
    @classmethod
    def _valid(cls, value: Any, info: Any) -> Any:
        return _check_field(info.field_name, value, info.field_name)

    @property
    def max_connections(self) -> int:
        """The most connections this process opens (``pool_size + max_overflow``)."""
        return self.pool_size + self.max_overflow

    def engine_kwargs(self) -> dict[str, Any]:
        """Return the pool arguments of :func:`sqlalchemy.create_engine`.

        Returns
        -------
        kwargs : dict
            ``pool_size``, ``max_overflow``, ``pool_timeout``, ``pool_recycle``
            and ``pool_pre_ping``.
        """
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout_s,
            "pool_recycle": int(self.pool_recycle_s),
            "pool_pre_ping": self.pool_pre_ping,
        }

    def connect_args(self, options: str | None = None) -> dict[str, Any]:
        """Return the libpq connection arguments (psycopg and psycopg2).

        Parameters
        ----------
        options : str | None
            The ``options`` already given in the URL; the statement timeout is
            appended to them.

        Returns
        -------
        kwargs : dict
            ``connect_timeout`` (s) and ``options`` carrying
            ``statement_timeout`` (ms).
        """
        ms = round(self.statement_timeout_s * 1000.0)
        parts = [options.strip()] if options and options.strip() else []
        parts.append(f"-c statement_timeout={ms}")
        return {"connect_timeout": self.connect_timeout_s, "options": " ".join(parts)}


def _parse(name: str, raw: str) -> Any:
    env, kind, low, high = _FIELDS[name]
    text = raw.strip()
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(
            f"Invalid value for {env!r}: got {short_repr(raw)}; allowed values are "
            "1, true, yes, on, 0, false, no, off."
        )
    try:
        return int(text) if kind is int else float(text)
    except ValueError:
        what = "an integer" if kind is int else "a number of seconds"
        raise ValueError(
            f"Invalid value for {env!r}: got {short_repr(raw)}; allowed: {what} in "
            f"[{low:g}, {high:g}]."
        ) from None


def pool_settings_from_env(environ: Mapping[str, str] | None = None) -> PoolSettings:
    """Read the pool settings from the environment (defaults for unset ones).

    Parameters
    ----------
    environ : mapping | None
        The environment (``os.environ`` when ``None``).

    Returns
    -------
    settings : PoolSettings
        The settings.

    Raises
    ------
    ValueError
        If a variable is set to something that is not allowed; the message names
        the variable, the value and what is allowed.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (var, *_) in _FIELDS.items():
        raw = env.get(var)
        if raw is None or not raw.strip():
            continue
        parsed = _parse(name, raw)
        try:
            values[name] = _check_field(name, parsed, var)
        except ValueError as exc:
            # name the text received (the variable), not the number parsed
            _, _, allowed = str(exc).partition("; allowed ")
            raise ValueError(
                f"Invalid value for {var!r}: got {short_repr(raw)}; allowed {allowed}"
            ) from None
    return PoolSettings(**values)


def site_connections(web_workers: int, threads_per_worker: int, runners: int) -> int:
    """Return the connections one site needs at most (the sizing rule).

    Each web worker is one process with its own pool; it needs as many
    connections as threads that use the registry at once (its pool's
    ``pool_size + max_overflow`` should equal that). Each stimulation session
    running (a runner) writes its events on one connection of its own.

    Parameters
    ----------
    web_workers : int
        Web server processes at the site, >= 0.
    threads_per_worker : int
        Threads of one worker that use the registry at once, >= 1.
    runners : int
        Stimulation sessions that may run at once at the site, >= 0.

    Returns
    -------
    connections : int
        ``web_workers * threads_per_worker + runners``.

    Raises
    ------
    TypeError
        If a count is not an integer.
    ValueError
        If a count is out of range.
    """
    for field, value, low in (
        ("web_workers", web_workers, 0),
        ("threads_per_worker", threads_per_worker, 1),
        ("runners", runners, 0),
    ):
        check_type(value, int, field)
        check_range(value, field, low, 10_000)
    return web_workers * threads_per_worker + runners


def check_connection_budget(
    per_site: Mapping[str, int],
    *,
    max_connections: int,
    reserved: int,
    superuser_reserved: int = PG_SUPERUSER_RESERVED,
) -> int:
    """Check that every site's connections fit in the server; return the headroom.

    Parameters
    ----------
    per_site : mapping of str to int
        Site code -> its connections (:func:`site_connections`).
    max_connections : int
        The server's ``max_connections`` (``SHOW max_connections``).
    reserved : int
        Connections kept for everything else: the administrator's commands,
        migrations, backups (``pg_dump`` holds one), monitoring.
    superuser_reserved : int
        The server's ``superuser_reserved_connections`` (default 3).

    Returns
    -------
    headroom : int
        ``max_connections - superuser_reserved - reserved - sum(per_site)``,
        >= 0.

    Raises
    ------
    ValueError
        If the sites need more than the server allows (the message names the
        sites' total and the budget), or a count is negative.
    """
    for field, value in (
        ("max_connections", max_connections),
        ("reserved", reserved),
        ("superuser_reserved", superuser_reserved),
        *per_site.items(),
    ):
        check_type(value, int, field)
        check_range(value, field, 0, None)
    budget = max_connections - superuser_reserved - reserved
    total = sum(per_site.values())
    if total > budget:
        sites = ", ".join(f"{k}={v}" for k, v in sorted(per_site.items()))
        raise ValueError(
            f"Invalid value for 'per_site': got {total} connections ({sites}); "
            f"allowed: at most max_connections - superuser_reserved - reserved = "
            f"{max_connections} - {superuser_reserved} - {reserved} = {budget}. "
            "Lower the pools (PLPTMS_DB_POOL_SIZE, PLPTMS_DB_MAX_OVERFLOW) or the "
            "workers, or raise the server's max_connections."
        )
    return budget - total
