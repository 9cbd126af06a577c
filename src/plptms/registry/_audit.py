"""The audit trail: an append-only, keyed hash chain over every change to the registry.

Each entry stores who, when, what (table, row, action), the old and new row state
as canonical JSON, and the reason. Its hash covers all of these and the previous
entry's hash, so any edit, insertion or removal in the log breaks the chain, and
its MAC (HMAC-SHA256 of the hash under the site key, kept outside the database)
makes a chain recomputed by someone without the key fail. Verification also
replays the log against the live tables (a row changed outside plptms no longer
matches its last audited state) and checks that each entry's old state is the
previous entry's new state for that row (an edit outside plptms is not laundered
by the next audited write).

Delivery events (one per pulse) are chained per session the same way, and the
session's event count and head hash are sealed into its audited row whenever its
status changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ._anchor import mac
from ._models import RegistryError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.orm import Session

    from ._anchor import AuditHead

__all__ = [
    "GENESIS_HASH",
    "HEAD_INFO",
    "KEY_INFO",
    "AuditChain",
    "AuditReport",
    "TrustRoots",
    "append_audit",
    "audit_entry",
    "canonical",
    "event_hash",
    "row_state",
    "seal_event",
    "verify_chain",
    "verify_rows",
]

#: Hash that the first entry (and each session's first event) chains to.
GENESIS_HASH = "0" * 64

#: ``Session.info`` key holding the site key inside a registry write.
KEY_INFO = "plptms_audit_key"

#: ``Session.info`` key where :class:`AuditChain` leaves the new head
#: ``(seq, hash, mac)`` for the registry to anchor after the commit.
HEAD_INFO = "plptms_audit_head"


def _norm(value: Any) -> Any:
    if isinstance(value, dt.date):  # one check for the common, non-date case
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return value.isoformat()
    return value


#: The canonical encoder, made once (``json.dumps`` with these arguments makes a
#: new one per call; the text is the same).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


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
    return _CANONICAL.encode(obj)


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


def audit_entry(
    key: bytes,
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    table: str,
    row_id: int,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str | None,
    prev_hash: str,
) -> dict[str, Any]:
    """Return the columns of one keyed audit entry (``audit_log``), hashed.

    The one place an entry's stored text, hash and MAC are made: the ORM chain
    (:class:`AuditChain`) and the batched Core writes (:mod:`._bulk`) both call
    it, so the two write the same bytes for the same change.

    Parameters
    ----------
    key : bytes
        The site key.
    seq : int
        The entry's sequence number (the head's + 1).
    at : datetime.datetime
        When (stored as UTC ISO text, microseconds).
    actor, action, table : str
        Who, what and where.
    row_id : int
        Primary key of the row.
    old, new : dict | None
        Row state before and after (stored as canonical JSON).
    reason : str | None
        Why.
    prev_hash : str
        Hash of the entry before (:data:`GENESIS_HASH` for the first).

    Returns
    -------
    columns : dict
        ``audit_log`` column name to value.
    """
    at_s = _norm(at)
    old_s = None if old is None else canonical(old)
    new_s = None if new is None else canonical(new)
    digest = _entry_hash(
        _hash_fields(
            seq, at_s, actor, action, table, row_id, old_s, new_s, reason, prev_hash
        )
    )
    return {
        "seq": seq,
        "at": at_s,
        "actor": actor,
        "action": action,
        "table_name": table,
        "row_id": row_id,
        "old": old_s,
        "new": new_s,
        "reason": reason,
        "prev_hash": prev_hash,
        "hash": digest,
        "mac": mac(key, "audit", digest),
    }


class AuditChain:
    """Appends keyed entries to the chain within one write transaction.

    The chain head is read once when the chain is opened; the caller holds the
    write lock for the whole transaction, so no other writer can extend the chain
    meanwhile. Each entry's MAC is computed with the site key that the registry
    put in ``session.info`` (:data:`KEY_INFO`), and the new head is left in
    ``session.info`` (:data:`HEAD_INFO`) to be anchored after the commit.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Session inside the write transaction.

    Raises
    ------
    RegistryError
        If the session carries no site key (not opened by a registry write).
    """

    def __init__(self, session: Session) -> None:
        from sqlalchemy import select

        from .db._schema import AuditRow

        key = session.info.get(KEY_INFO)
        if not isinstance(key, bytes):
            raise RegistryError(
                "Invalid value for 'session': no audit key in this session; audited "
                "writes go through the registry's write transaction."
            )
        self._key = key
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
        self._session.add(AuditRow(**entry))
        self.seq = entry["seq"]
        self.head = entry["hash"]
        self._session.info[HEAD_INFO] = (self.seq, self.head, entry["mac"])


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


# ---------------------------------------------------------------- delivery events
def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    # as the database returns it: SQLite keeps no NaN and no negative zero
    return None if not math.isfinite(x) else x + 0.0


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def event_hash(row: Any) -> str:
    """Return the hash of one delivery event (its fields and ``prev_hash``).

    Parameters
    ----------
    row : DeliveryEventRow
        The event.

    Returns
    -------
    digest : str
        Hex SHA-256 of the event's canonical JSON.
    """
    fields = {
        "session_id": row.session_id,
        "seq": row.seq,
        "kind": row.kind,
        "train_index": row.train_index,
        "pulse_index": row.pulse_index,
        "t_monotonic_s": row.t_monotonic_s,
        "at": row.at,
        "intensity_pct_mso": row.intensity_pct_mso,
        "detail": row.detail,
        "prev_hash": row.prev_hash,
    }
    # structured fields (migration 0008) are hashed when present: the hashes of
    # events written before them are unchanged, and adding or removing them
    # later breaks the chain
    data = getattr(row, "data", None)
    if data is not None:
        fields["data"] = data
    return _entry_hash(fields)


def seal_event(row: Any, key: bytes) -> None:
    """Set a new event's hash and MAC (its ``prev_hash`` already set).

    Numbers are first put in the form the database gives back (integers as
    ``int``; floats as ``float``, a non-finite value as ``None``, ``-0.0`` as
    ``0.0``), so that the hash recomputed from the stored row matches.

    Parameters
    ----------
    row : DeliveryEventRow
        The event, not yet flushed.
    key : bytes
        The site key.
    """
    row.train_index = _as_int(row.train_index)
    row.pulse_index = _as_int(row.pulse_index)
    row.t_monotonic_s = _as_float(row.t_monotonic_s)
    row.intensity_pct_mso = _as_float(row.intensity_pct_mso)
    row.hash = event_hash(row)
    row.mac = mac(key, "event", row.hash)


# ---------------------------------------------------------------- verification
class AuditReport(BaseModel):
    """Result of verifying the audit trail (end to end, or of named records).

    Attributes
    ----------
    ok : bool
        ``True`` when nothing is wrong and every check could be made.
    entries : int
        Audit entries checked.
    head_hash : str
        Hash of the last entry of the chain.
    problems : tuple of str
        What is wrong, or could not be checked, one line each.
    notes : tuple of str
        What was found but is not a failure (e.g. entries written before the
        chain was keyed).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    entries: int
    head_hash: str
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrustRoots:
    """What verification trusts from outside the database.

    Attributes
    ----------
    key : bytes | None
        The site key (``None``: not available, so no MAC can be checked).
    key_path : str
        Where the key was looked for.
    anchor : AuditHead | None
        The head anchored by the last audited write on this machine.
    anchor_path : str | None
        The anchor file (``None`` where no anchor is kept: in-memory databases).
    checkpoint : AuditHead | None
        An exported checkpoint to check against.
    checkpoint_path : str
        Its file.
    """

    key: bytes | None = None
    key_path: str = ""
    anchor: AuditHead | None = None
    anchor_path: str | None = None
    checkpoint: AuditHead | None = None
    checkpoint_path: str = ""


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
