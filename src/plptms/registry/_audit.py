"""The audit trail: an append-only hash chain over every change to the registry.

Each entry stores who, when, what (table, row, action), the old and new row state
as canonical JSON, and the reason. Its hash covers all of these and the previous
entry's hash, so any edit, insertion or removal in the log breaks the chain.
Verification also replays the log against the live tables: a row changed outside
plptms no longer matches its last audited state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "GENESIS_HASH",
    "AuditChain",
    "AuditReport",
    "append_audit",
    "canonical",
    "row_state",
    "verify_chain",
]

#: Hash that the first entry chains to.
GENESIS_HASH = "0" * 64


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical(obj: Any) -> str:
    """Serialise to canonical JSON (sorted keys, no spaces, UTF-8 kept).

    Parameters
    ----------
    obj : object
        JSON-compatible data.

    Returns
    -------
    text : str
        Canonical JSON.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def row_state(row: Any) -> dict[str, Any]:
    """Return a row's columns as JSON-compatible values.

    Parameters
    ----------
    row : ORM instance
        The row.

    Returns
    -------
    state : dict
        Column name to value (dates as ISO text, datetimes as UTC ISO text).
    """
    return {c.key: _norm(getattr(row, c.key)) for c in row.__table__.columns}


def _entry_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def _hash_fields(
    seq: int,
    at: str,
    actor: str,
    action: str,
    table: str,
    row_id: int,
    old: str | None,
    new: str | None,
    reason: str | None,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "table": table,
        "row_id": row_id,
        "old": old,
        "new": new,
        "reason": reason,
        "prev_hash": prev_hash,
    }


class AuditChain:
    """Appends entries to the chain within one write transaction.

    The chain head is read once when the chain is opened; the caller holds the
    write lock for the whole transaction, so no other writer can extend the chain
    meanwhile.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Session inside the write transaction.
    """

    def __init__(self, session: Session) -> None:
        from sqlalchemy import select

        from .db._schema import AuditRow

        self._session = session
        last = session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
        self.seq = 0 if last is None else int(last[0])
        self.head = GENESIS_HASH if last is None else str(last[1])

    def append(
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
        """Add one entry (flushed with the transaction).

        Parameters
        ----------
        actor : str
            Who made the change.
        action : str
            ``insert``, ``correct`` or ``delete``.
        table : str
            Table name.
        row_id : int
            Primary key of the row.
        old, new : dict | None
            Row state before and after.
        reason : str | None
            Why (required for corrections and deletions by the caller).
        at : datetime.datetime
            When (UTC).
        """
        from .db._schema import AuditRow

        seq = self.seq + 1
        at_s = _norm(at)
        old_s = None if old is None else canonical(old)
        new_s = None if new is None else canonical(new)
        digest = _entry_hash(
            _hash_fields(
                seq, at_s, actor, action, table, row_id, old_s, new_s, reason, self.head
            )
        )
        self._session.add(
            AuditRow(
                seq=seq,
                at=at_s,
                actor=actor,
                action=action,
                table_name=table,
                row_id=row_id,
                old=old_s,
                new=new_s,
                reason=reason,
                prev_hash=self.head,
                hash=digest,
            )
        )
        self.seq = seq
        self.head = digest


def append_audit(
    session: Session,
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
    """Append one entry to the chain (the caller holds the write lock).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Session inside the write transaction.
    actor, action, table, row_id, old, new, reason, at
        As for :meth:`AuditChain.append`.
    """
    AuditChain(session).append(
        actor=actor,
        action=action,
        table=table,
        row_id=row_id,
        old=old,
        new=new,
        reason=reason,
        at=at,
    )
    session.flush()


class AuditReport(BaseModel):
    """Result of verifying the audit trail end to end.

    Attributes
    ----------
    ok : bool
        ``True`` when the chain is intact and every row matches its audit state.
    entries : int
        Entries checked.
    head_hash : str
        Hash of the last entry (record it elsewhere to detect truncation).
    problems : tuple of str
        What is wrong, one line each.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    entries: int
    head_hash: str
    problems: tuple[str, ...]


def verify_chain(session: Session, tables: dict[str, Any]) -> AuditReport:
    """Verify the chain and replay it against the live tables.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session.
    tables : dict of str to ORM class
        Audited tables by name.

    Returns
    -------
    report : AuditReport
        The verdict with every problem found.
    """
    from sqlalchemy import select

    from .db._schema import AuditRow

    problems: list[str] = []
    prev = GENESIS_HASH
    expected_seq = 1
    last_state: dict[tuple[str, int], str | None] = {}
    n = 0
    for row in session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars():
        n += 1
        if row.seq != expected_seq:
            problems.append(
                f"entry {row.seq}: expected sequence number {expected_seq} (entries "
                "missing or inserted)"
            )
        if row.prev_hash != prev:
            problems.append(f"entry {row.seq}: does not chain to the previous entry")
        digest = _entry_hash(
            _hash_fields(
                row.seq,
                row.at,
                row.actor,
                row.action,
                row.table_name,
                row.row_id,
                row.old,
                row.new,
                row.reason,
                row.prev_hash,
            )
        )
        if digest != row.hash:
            problems.append(
                f"entry {row.seq}: content does not match its hash (edited)"
            )
        prev = row.hash
        expected_seq = row.seq + 1
        last_state[(row.table_name, row.row_id)] = row.new
    for name, model in tables.items():
        seen: set[int] = set()
        for obj in session.execute(select(model)).scalars():
            key = (name, obj.id)
            seen.add(obj.id)
            if key not in last_state:
                problems.append(
                    f"{name} row {obj.id}: not in the audit trail "
                    "(inserted outside plptms)"
                )
                continue
            if canonical(row_state(obj)) != last_state[key]:
                problems.append(
                    f"{name} row {obj.id}: differs from its last audited "
                    "state (changed outside plptms)"
                )
        for tname, rid in last_state:
            if tname == name and rid not in seen:
                problems.append(
                    f"{name} row {rid}: audited but missing (deleted outside plptms)"
                )
    return AuditReport(
        ok=not problems, entries=n, head_hash=prev, problems=tuple(problems)
    )
