"""Audited writes with SQLAlchemy Core: batched inserts, the same hash chain.

The ORM's unit of work (identity map, attribute history, one flush per audit
call) costs most of an audited write's time. The helpers here write the same
rows with Core ``INSERT ... RETURNING`` statements (executemany, batched by the
dialect) and append the same audit entries, made by the one entry builder
:func:`plptms.registry._audit.audit_entry`, in one ``executemany``: for the same
input, clock and key the rows, entries, hashes and MACs are byte for byte those
of the ORM path. They run inside :meth:`RegistryStore._write` (the serialised
transaction that holds the write lock and the site key), so the chain head read
here cannot move before the commit, and the new head is left in
``session.info`` to be anchored after the commit, as the ORM path does.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast

from ._audit import GENESIS_HASH, HEAD_INFO, KEY_INFO, _norm, audit_entry
from ._models import RegistryError

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from sqlalchemy import Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

__all__ = ["CoreChain", "execute_many", "insert_rows", "values_state"]


@functools.cache
def _statements(table: Table) -> tuple[Any, Any, Any]:
    """Return ``table``'s insert, insert-returning-key and max-key statements.

    Built once per table, so that each write reuses the compiled form instead of
    building and compiling a new statement.
    """
    from sqlalchemy import func, insert, select

    (pk,) = table.primary_key.columns
    return (
        insert(table),
        insert(table).returning(pk, sort_by_parameter_order=True),
        select(func.max(pk)),
    )


#: A marker that is no column value.
_UNSEEN = object()


class _DriverInsert:
    """An ``INSERT`` of named columns as SQLAlchemy sends it to the DBAPI.

    Compiled once per table, dialect and column names: the SQL text, the order
    of its positional parameters and the bind processors of the columns (dates,
    datetimes and JSON turned into what the dialect stores). :meth:`params`
    applies them exactly as ``Connection.execute`` would (the same processors,
    in the same order), without SQLAlchemy's per-row parameter machinery, and
    the rows go to the driver through ``Connection.exec_driver_sql`` inside the
    same transaction.
    """

    __slots__ = ("keys", "procs", "sql")

    def __init__(self, table: Table, dialect: Any, keys: tuple[str, ...]) -> None:
        from sqlalchemy import insert

        compiled: Any = insert(table).compile(dialect=dialect, column_keys=list(keys))
        order = tuple(compiled.positiontup or ())
        if (
            not compiled.positional
            or set(order) != set(keys)
            or compiled.insert_prefetch
            or compiled.literal_execute_params
            or compiled.post_compile_params
        ):  # defaults to fill in, or not one parameter per column: not handled
            raise NotImplementedError(table.name)
        processors = compiled._bind_processors
        self.sql: str = compiled.string
        self.keys: tuple[str, ...] = order
        self.procs = tuple(processors.get(k) for k in order)

    def params(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Return the DBAPI parameters of ``rows`` (one tuple per row).

        Parameters
        ----------
        rows : sequence of dict
            Column values, each row naming exactly this insert's columns.

        Returns
        -------
        params : list of tuple
            The values in parameter order, through the columns' processors.
        """
        keys = self.keys
        # per processed column: [index, processor, last input, its output]; a
        # value that is the very object of the row before (a batch's clock
        # reading) reuses its output
        procs = [[i, p, _UNSEEN, None] for i, p in enumerate(self.procs) if p]
        out = []
        for r in rows:
            values = [r[k] for k in keys]
            for slot in procs:
                i, p, last, done = slot
                v = values[i]
                if v is not last:
                    slot[2], slot[3] = v, (done := p(v))
                values[i] = done
            out.append(tuple(values))
        return out


@functools.lru_cache(maxsize=64)
def _driver_insert(
    table: Table, dialect: Any, keys: tuple[str, ...]
) -> _DriverInsert | None:
    """Return the driver-level insert of ``keys`` (``None``: use SQLAlchemy's)."""
    if dialect.name != "sqlite":
        return None
    try:
        return _DriverInsert(table, dialect, keys)
    except NotImplementedError:
        return None


def execute_many(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows that all name the same columns, in one ``executemany``.

    On SQLite the rows go to the driver as :class:`_DriverInsert` prepares them:
    the statement, parameters and stored values of ``conn.execute(insert(table),
    rows)``, without SQLAlchemy's per-row work. Elsewhere that call is made.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The write transaction's connection.
    table : sqlalchemy.Table
        The table.
    rows : sequence of dict
        Column values, at least one row.
    """
    plan = _driver_insert(table, conn.dialect, tuple(rows[0]))
    if plan is None:
        conn.execute(_statements(table)[0], list(rows))
    else:
        conn.exec_driver_sql(plan.sql, plan.params(rows))


@functools.cache
def _head_stmt() -> Any:
    from sqlalchemy import select

    from .db._schema import AuditRow

    return select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)


@functools.cache
def _column_keys(table: Table) -> tuple[str, ...]:
    return tuple(c.key for c in table.columns)


def values_state(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """Return the audited state of a row inserted from ``values``.

    The same state :func:`plptms.registry._audit.row_state` gives for the ORM
    row built from the same values: every column of the table, absent ones as
    ``None``, dates as ISO text and datetimes as UTC ISO text.

    Parameters
    ----------
    table : sqlalchemy.Table
        The table.
    values : dict
        The inserted values, with the row's ``id``.

    Returns
    -------
    state : dict
        Column name to JSON-compatible value.
    """
    get = values.get
    return {k: _norm(get(k)) for k in _column_keys(table)}


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows in batches and return their new ids, in the order given.

    The ids are those one ORM insert per row, in the same order, would get. On
    SQLite (an ``INTEGER PRIMARY KEY``: the next rowid is the largest + 1) they
    are assigned here, after the largest id, and the rows go in one
    ``executemany``: under the write lock no other writer can take them, and
    SQLite would return ``INSERT ... RETURNING`` ids one statement per row to
    keep their order. Elsewhere (PostgreSQL) the database's sequence gives them,
    through batched ``INSERT ... RETURNING`` sorted by parameter order.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The write transaction's connection (holding the write lock).
    table : sqlalchemy.Table
        The table (with an integer ``id`` primary key).
    rows : sequence of dict
        Column values (without ``id``); every row names the same columns.

    Returns
    -------
    ids : list of int
        The ids, ``ids[k]`` for ``rows[k]``.
    """
    if not rows:
        return []
    plain, returning, top_id = _statements(table)
    if len(rows) == 1:
        plan = _driver_insert(table, conn.dialect, tuple(rows[0]))
        if plan is not None:  # SQLite: the rowid, as inserted_primary_key gives it
            return [int(conn.exec_driver_sql(plan.sql, plan.params(rows)[0]).lastrowid)]
        pk = conn.execute(plain, rows[0]).inserted_primary_key
        assert pk is not None  # an insert of one row gives its key
        return [int(pk[0])]
    if conn.dialect.name == "sqlite":
        top = conn.execute(top_id).scalar_one()
        first = 1 if top is None else int(top) + 1
        ids = list(range(first, first + len(rows)))
        execute_many(
            conn, table, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)]
        )
        return ids
    return [int(i) for i in conn.execute(returning, list(rows)).scalars()]


class CoreChain:
    """Appends audit entries to the chain and writes them in one ``executemany``.

    The head is read once when the chain is opened; :meth:`flush` writes the
    pending entries and leaves the new head in ``session.info`` for the registry
    to anchor after the commit.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The session of :meth:`RegistryStore._write` (it carries the site key and
        holds the write lock).
    head : tuple of (int | None, str | None) | None
        The chain head ``(seq, hash)`` already read in this transaction
        (``(None, None)``: an empty chain), e.g. by
        :func:`plptms.registry._assessment_rows.find_visit`; ``None``: read here.

    Raises
    ------
    RegistryError
        If the session carries no site key (not opened by a registry write).
    """

    def __init__(
        self, session: Session, head: tuple[int | None, str | None] | None = None
    ) -> None:
        key = session.info.get(KEY_INFO)
        if not isinstance(key, bytes):
            raise RegistryError(
                "Invalid value for 'session': no audit key in this session; audited "
                "writes go through the registry's write transaction."
            )
        self._key = key
        self._session = session
        self.conn = session.connection()
        if head is None:
            last = self.conn.execute(_head_stmt()).first()
            head = (None, None) if last is None else (last[0], last[1])
        self.seq = 0 if head[0] is None else int(head[0])
        self.head = GENESIS_HASH if head[1] is None else str(head[1])
        self._pending: list[dict[str, Any]] = []

    def add(
        self,
        *,
        actor: str,
        action: str,
        table: str,
        row_id: int,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
        reason: str | None,
        at: dt.datetime,
    ) -> None:
        """Chain one entry (written by :meth:`flush`).

        Parameters
        ----------
        actor, action, table, row_id, old, new, reason, at
            As for :meth:`plptms.registry._audit.AuditChain.append`.
        """
        entry = audit_entry(
            self._key,
            seq=self.seq + 1,
            at=at,
            actor=actor,
            action=action,
            table=table,
            row_id=row_id,
            old=old,
            new=new,
            reason=reason,
            prev_hash=self.head,
        )
        self._pending.append(entry)
        self.seq = entry["seq"]
        self.head = entry["hash"]

    def inserts(
        self,
        actor: str,
        table: Table,
        rows: Sequence[dict[str, Any]],
        at: dt.datetime,
    ) -> None:
        """Chain the insert entries of new rows (their ``id`` set), in order.

        Parameters
        ----------
        actor : str
            Who.
        table : sqlalchemy.Table
            Their table.
        rows : sequence of dict
            The inserted values, each with its ``id``.
        at : datetime.datetime
            When.
        """
        # the name as a plain str: the driver would look up an adapter for a
        # str subclass (``quoted_name``) in every row (the stored text is the same)
        name = str.__str__(table.name)
        for values in rows:
            self.add(
                actor=actor,
                action="insert",
                table=name,
                row_id=values["id"],
                old=None,
                new=values_state(table, values),
                reason=None,
                at=at,
            )

    def flush(self) -> None:
        """Write the pending entries (one ``executemany``)."""
        from .db._schema import AuditRow

        if not self._pending:
            return
        last = self._pending[-1]
        execute_many(self.conn, cast("Table", AuditRow.__table__), self._pending)
        self._pending = []
        self._session.info[HEAD_INFO] = (last["seq"], last["hash"], last["mac"])
