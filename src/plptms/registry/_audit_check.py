"""Verifying the audit trail: the chain, the live rows, the events, the heads.

:func:`verify_chain` walks the whole chain and replays it against the tables;
:func:`verify_rows` checks named rows without walking it. The entries and their
hashes are made in :mod:`plptms.registry._audit`.
"""

from __future__ import annotations

import hmac
import itertools
import json
from typing import TYPE_CHECKING, Any

from ._anchor import mac
from ._audit import (
    GENESIS_HASH,
    AuditReport,
    TrustRoots,
    _entry_hash,
    _hash_fields,
    canonical,
    event_hash,
    row_state,
)
from ._models import RegistryError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.orm import Session

__all__ = ["verify_chain", "verify_rows"]


def _loads(state: str | None) -> dict[str, Any] | None:
    if state is None:
        return None
    out = json.loads(state)
    return out if isinstance(out, dict) else {"": out}


def _same_state(earlier: str | None, later: str | None) -> bool:
    """Whether two audited states of a row are the same.

    A column added to the table by a later migration is absent from states
    audited before it; it matches there only while it is NULL.
    """
    if earlier == later:
        return True
    a, b = _loads(earlier), _loads(later)
    if a is None or b is None:
        return False
    for k in a.keys() | b.keys():
        if k not in a:
            if b[k] is not None:
                return False
        elif k not in b:
            if a[k] is not None:
                return False
        elif a[k] != b[k]:
            return False
    return True


def _ranges(values: Sequence[int]) -> str:
    parts = []
    for _, grp in itertools.groupby(enumerate(values), lambda p: p[1] - p[0]):
        run = [v for _, v in grp]
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    text = ", ".join(parts[:8])
    return text + (", ..." if len(parts) > 8 else "")


class _Checker:
    """Collects problems and notes; each check appends one line per finding."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.first_keyed: int | None = None
        self.unkeyed: list[int] = []
        self.keyed_entries = 0
        self.keyed_events = 0
        self.legacy_events: dict[int, int] = {}
        self.unsealed: list[int] = []

    # audit entries -------------------------------------------------------
    def entry(self, row: Any) -> None:
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
            self.problems.append(
                f"entry {row.seq}: content does not match its hash (edited)"
            )
        if row.mac is None:
            if self.first_keyed is not None and row.seq > self.first_keyed:
                self.problems.append(
                    f"entry {row.seq}: MAC missing after keyed entry "
                    f"{self.first_keyed} (stripped, or inserted outside plptms)"
                )
            else:
                self.unkeyed.append(row.seq)
            return
        self.keyed_entries += 1
        if self.key is not None and not hmac.compare_digest(
            row.mac, mac(self.key, "audit", row.hash)
        ):
            self.problems.append(
                f"entry {row.seq}: MAC does not match (chain re-forged without the "
                "site key, or written under another key)"
            )

    def continuity(
        self,
        row: Any,
        last_state: dict[tuple[str, int], str | None],
    ) -> None:
        key = (row.table_name, row.row_id)
        where = f"entry {row.seq}: {row.table_name} row {row.row_id}"
        if row.action == "insert":
            if key in last_state:
                self.problems.append(f"{where}: inserted twice")
            elif row.old is not None:
                self.problems.append(f"{where}: an insert with an old state")
        elif key not in last_state:
            self.problems.append(
                f"{where}: {row.action} of a row with no earlier audited state"
            )
        elif not _same_state(last_state[key], row.old):
            self.problems.append(
                f"{where}: its old state differs from the previous entry's new "
                "state: row edited outside plptms between audited writes "
                "(laundered)"
            )
        last_state[key] = row.new

    def live_row(
        self, name: str, obj: Any, last_state: dict[tuple[str, int], str | None]
    ) -> None:
        key = (name, obj.id)
        if key not in last_state:
            self.problems.append(
                f"{name} row {obj.id}: not in the audit trail (inserted outside plptms)"
            )
        elif not _same_state(last_state[key], canonical(row_state(obj))):
            self.problems.append(
                f"{name} row {obj.id}: differs from its last audited state (changed "
                "outside plptms)"
            )

    def heads(self, session: Session, roots: TrustRoots, last: int) -> None:
        from .db._schema import AuditRow

        heads = []
        if roots.anchor is not None:
            heads.append((f"anchor {roots.anchor_path}", roots.anchor))
        if roots.checkpoint is not None:
            heads.append((f"checkpoint {roots.checkpoint_path}", roots.checkpoint))
        for label, h in heads:
            if h.seq > last:
                self.problems.append(
                    f"{label} records entry {h.seq} but the chain ends at entry "
                    f"{last}: entries removed (truncated)"
                )
            else:
                row = session.get(AuditRow, h.seq)
                if row is None:
                    self.problems.append(f"{label}: entry {h.seq} is missing")
                elif row.hash != h.hash:
                    self.problems.append(
                        f"{label}: entry {h.seq} has hash {row.hash[:16]}..., the "
                        f"{label.split()[0]} records {h.hash[:16]}... (chain "
                        "re-forged or rewritten)"
                    )
            if (
                h.mac is not None
                and self.key is not None
                and not hmac.compare_digest(h.mac, mac(self.key, "audit", h.hash))
            ):
                self.problems.append(
                    f"{label}: its MAC does not match its hash (not written by "
                    "plptms under this site key)"
                )

    # delivery events ------------------------------------------------------
    def events(
        self,
        session_id: int,
        events: Iterable[Any],
        audited: str | None,
        keyed: bool,
    ) -> None:
        where = f"delivery session {session_id}"
        state = _loads(audited)
        count = None if state is None else state.get("event_count")
        sealed_head = None if state is None else state.get("event_head")
        prev = GENESIS_HASH
        expected = 1
        chained = False
        head_at_count = GENESIS_HASH if count == 0 else None
        last = 0
        for e in events:
            w = f"{where} event {e.seq}"
            if e.seq != expected:
                self.problems.append(
                    f"{w}: expected sequence number {expected} (events deleted or "
                    "inserted)"
                )
            expected = e.seq + 1
            last = e.seq
            if e.hash is None:
                if chained or keyed:
                    self.problems.append(
                        f"{w}: hash missing (inserted or stripped outside plptms)"
                    )
                else:
                    self.legacy_events[session_id] = (
                        self.legacy_events.get(session_id, 0) + 1
                    )
            else:
                chained = True
                if e.prev_hash != prev:
                    self.problems.append(f"{w}: does not chain to the previous event")
                if event_hash(e) != e.hash:
                    self.problems.append(
                        f"{w}: content does not match its hash (edited)"
                    )
                if e.mac is None:
                    self.problems.append(
                        f"{w}: MAC missing (stripped, or inserted outside plptms)"
                    )
                else:
                    self.keyed_events += 1
                    if self.key is not None and not hmac.compare_digest(
                        e.mac, mac(self.key, "event", e.hash)
                    ):
                        self.problems.append(
                            f"{w}: MAC does not match (re-forged without the site "
                            "key, or written under another key)"
                        )
                prev = e.hash
            if count is not None and e.seq == count:
                head_at_count = prev
        if state is None:
            if last:
                self.problems.append(
                    f"{where}: has {last} events but no audited session row"
                )
            return
        if count is None:
            self.unsealed.append(session_id)
            return
        closed = state.get("status") != "running"
        if last < count:
            self.problems.append(
                f"{where}: {last} events, but {count} were sealed in the audit "
                "trail: events removed (truncated or deleted)"
            )
        elif closed and last > count:
            self.problems.append(
                f"{where}: {last} events, but it was closed "
                f"({state.get('status')}) with {count}: events added after it was "
                "closed (inserted outside plptms)"
            )
        elif head_at_count is not None and head_at_count != sealed_head:
            self.problems.append(
                f"{where}: the event chain at event {count} differs from the head "
                "sealed in the audit trail (events rewritten)"
            )

    # summary ---------------------------------------------------------------
    def finish(
        self, entries: int, head_hash: str, roots: TrustRoots, *, full: bool
    ) -> AuditReport:
        if self.unkeyed:
            if self.first_keyed is not None:
                cover = (
                    f"covered by keyed entry {self.first_keyed}, which chains to them"
                    if full
                    else "the full verification checks that a keyed entry covers them"
                )
            else:
                cover = "no keyed entry covers them yet"
            self.notes.append(
                f"entries {_ranges(self.unkeyed)}: unkeyed (written before keying); "
                f"{cover}"
            )
        if self.legacy_events:
            n = sum(self.legacy_events.values())
            self.notes.append(
                f"delivery sessions {_ranges(sorted(self.legacy_events))}: {n} "
                "events written before keying (not chained)"
            )
        if self.unsealed:
            self.notes.append(
                f"delivery sessions {_ranges(sorted(self.unsealed))}: no sealed "
                "event count (status last changed before keying)"
            )
        if entries and self.key is None:
            self.problems.append(
                f"keyed checks could not be made: no audit key at {roots.key_path} "
                "(MACs "
                f"of {self.keyed_entries} entries and {self.keyed_events} delivery "
                "events not checked)"
            )
        if entries and roots.anchor is None and roots.anchor_path is not None:
            msg = (
                f"no head anchor for this database at {roots.anchor_path}: a "
                "truncation of the newest entries cannot be ruled out"
            )
            if roots.checkpoint is not None:
                self.notes.append(msg + " beyond the checkpoint")
            else:
                self.problems.append(msg + " (verify against an exported checkpoint)")
        return AuditReport(
            ok=not self.problems,
            entries=entries,
            head_hash=head_hash,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
        )


def verify_chain(
    session: Session, tables: dict[str, Any], roots: TrustRoots | None = None
) -> AuditReport:
    """Verify the whole chain, replay it against the tables, check every event.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session.
    tables : dict of str to ORM class
        Audited tables by name.
    roots : TrustRoots | None
        What is kept outside the database: the site key and the recorded heads
        (none at all when ``None``, which is a problem for a non-empty chain).

    Returns
    -------
    report : AuditReport
        The verdict with every problem found.
    """
    from sqlalchemy import select

    from .db._schema import AuditRow, DeliveryEventRow

    roots = roots or TrustRoots()
    chk = _Checker(roots.key)
    prev = GENESIS_HASH
    expected_seq = 1
    last_state: dict[tuple[str, int], str | None] = {}
    keyed_insert: dict[tuple[str, int], bool] = {}
    n = 0
    last_seq = 0
    for row in session.execute(
        select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=2000)
    ).scalars():
        n += 1
        if row.seq != expected_seq:
            problem = f"entry {row.seq}: expected sequence number {expected_seq} "
            chk.problems.append(problem + "(entries missing or inserted)")
        if row.prev_hash != prev:
            chk.problems.append(
                f"entry {row.seq}: does not chain to the previous entry"
            )
        if row.mac is not None and chk.first_keyed is None:
            chk.first_keyed = row.seq
        chk.entry(row)
        chk.continuity(row, last_state)
        if row.action == "insert":
            keyed_insert[(row.table_name, row.row_id)] = row.mac is not None
        prev = row.hash
        expected_seq = row.seq + 1
        last_seq = row.seq
    for name, model in tables.items():
        seen: set[int] = set()
        for obj in session.execute(select(model)).scalars():
            seen.add(obj.id)
            chk.live_row(name, obj, last_state)
        for tname, rid in last_state:
            if tname == name and rid not in seen:
                chk.problems.append(
                    f"{name} row {rid}: audited but missing (deleted outside plptms)"
                )
    # delivery events, session by session
    sessions = sorted(rid for t, rid in last_state if t == "delivery_sessions")
    done: set[int] = set()
    stream = session.execute(
        select(DeliveryEventRow)
        .order_by(DeliveryEventRow.session_id, DeliveryEventRow.seq)
        .execution_options(yield_per=5000)
    ).scalars()
    for sid, events in itertools.groupby(stream, key=lambda e: int(e.session_id)):
        done.add(sid)
        chk.events(
            sid,
            events,
            last_state.get(("delivery_sessions", sid)),
            keyed_insert.get(("delivery_sessions", sid), False),
        )
    for sid in sessions:
        if sid not in done:
            chk.events(
                sid,
                (),
                last_state[("delivery_sessions", sid)],
                keyed_insert.get(("delivery_sessions", sid), False),
            )
    chk.heads(session, roots, last_seq)
    return chk.finish(n, prev, roots, full=True)


def verify_rows(
    session: Session,
    tables: dict[str, Any],
    refs: Sequence[tuple[str, int]],
    roots: TrustRoots | None = None,
) -> AuditReport:
    """Verify named rows against their audit entries, without walking the chain.

    For each row: every audit entry of it hashes and MACs correctly and chains
    to the entry before it (which is fetched and checked too), each entry's old
    state is the previous entry's new state, and the live row matches the last
    audited state; a delivery session's events are checked as well. The chain's
    head entry and the recorded heads (anchor, checkpoint) are checked.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session.
    tables : dict of str to ORM class
        Audited tables by name.
    refs : sequence of (str, int)
        The rows, as (table name, row id).
    roots : TrustRoots | None
        As for :func:`verify_chain`.

    Returns
    -------
    report : AuditReport
        The verdict for these rows; ``entries`` counts the entries checked.

    Raises
    ------
    RegistryError
        If a table is not audited or an id is not an integer.
    """
    from sqlalchemy import func, select

    from .db._schema import AuditRow, DeliveryEventRow

    wanted: list[tuple[str, int]] = []
    for ref in refs:
        table, rid = ref
        if table not in tables:
            raise RegistryError(
                f"Invalid value for 'refs': got table {table!r}; allowed: "
                f"{', '.join(sorted(tables))}."
            )
        if not isinstance(rid, int) or isinstance(rid, bool):
            raise RegistryError(
                f"Invalid value for 'refs': got id {rid!r} for {table}; allowed: an "
                "integer row id."
            )
        if (table, rid) not in wanted:
            wanted.append((table, rid))
    roots = roots or TrustRoots()
    chk = _Checker(roots.key)
    chk.first_keyed = session.execute(
        select(func.min(AuditRow.seq)).where(AuditRow.mac.is_not(None))
    ).scalar_one()
    head = session.execute(
        select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)
    ).scalar_one_or_none()
    checked: set[int] = set()

    def check(row: Any) -> None:
        if row.seq not in checked:
            checked.add(row.seq)
            chk.entry(row)

    if head is not None:
        check(head)
    for table, rid in wanted:
        entries = (
            session.execute(
                select(AuditRow)
                .where(AuditRow.table_name == table, AuditRow.row_id == rid)
                .order_by(AuditRow.seq)
            )
            .scalars()
            .all()
        )
        last_state: dict[tuple[str, int], str | None] = {}
        for e in entries:
            check(e)
            if e.seq == 1:
                if e.prev_hash != GENESIS_HASH:
                    chk.problems.append(
                        "entry 1: does not chain to the start of the chain"
                    )
            else:
                before = session.get(AuditRow, e.seq - 1)
                if before is None:
                    chk.problems.append(
                        f"entry {e.seq}: entry {e.seq - 1} before it is missing "
                        "(entries removed)"
                    )
                else:
                    check(before)
                    if e.prev_hash != before.hash:
                        chk.problems.append(
                            f"entry {e.seq}: does not chain to the previous entry"
                        )
            chk.continuity(e, last_state)
        obj = session.get(tables[table], rid)
        if obj is None:
            if entries:
                chk.problems.append(
                    f"{table} row {rid}: audited but missing (deleted outside plptms)"
                )
            else:
                chk.problems.append(f"{table} row {rid}: no such row")
        else:
            chk.live_row(table, obj, last_state)
        if table == "delivery_sessions" and entries:
            events = session.execute(
                select(DeliveryEventRow)
                .where(DeliveryEventRow.session_id == rid)
                .order_by(DeliveryEventRow.seq)
            ).scalars()
            chk.events(
                rid,
                events,
                last_state.get((table, rid)),
                entries[0].action == "insert" and entries[0].mac is not None,
            )
    chk.heads(session, roots, 0 if head is None else int(head.seq))
    head_hash = GENESIS_HASH if head is None else str(head.hash)
    return chk.finish(len(checked), head_hash, roots, full=False)
