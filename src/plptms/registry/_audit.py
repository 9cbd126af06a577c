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
status changes. Verification is in :mod:`plptms.registry._audit_check`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_str
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ._anchor import mac
from ._models import RegistryError

if TYPE_CHECKING:
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
]

#: Hash that the first entry (and each session's first event) chains to.
GENESIS_HASH = "0" * 64

#: ``Session.info`` key holding the site key inside a registry write.
KEY_INFO = "plptms_audit_key"

#: ``Session.info`` key where :class:`AuditChain` leaves the new head
#: ``(seq, hash, mac)`` for the registry to anchor after the commit.
HEAD_INFO = "plptms_audit_head"


@functools.lru_cache(maxsize=64)
def _norm_date(value: dt.date) -> str:
    """Return a date as ISO text, a datetime as UTC ISO text (microseconds).

    Memoised: a write stamps every row and entry with the same clock reading.
    Equal keys give equal text (aware datetimes are equal only at the same
    instant; a naive one never equals an aware one, nor a date a datetime).
    """
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value.isoformat()


def _norm(value: Any) -> Any:
    if isinstance(value, dt.date):  # one check for the common, non-date case
        return _norm_date(value)
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


#: The canonical JSON of an entry's hashed fields, keys in sorted order, for
#: :func:`_entry_text` (``%s`` takes JSON values).
_ENTRY_TEMPLATE = (
    '{"action":%s,"actor":%s,"at":%s,"new":%s,"old":%s,"prev_hash":%s,'
    '"reason":%s,"row_id":%s,"seq":%s,"table":%s}'
)


#: The string (or ``None``) fields of :data:`_ENTRY_TEMPLATE`, in its order
#: (``row_id`` and ``seq`` go between the last two).
_STRING_KEYS = ("action", "actor", "at", "new", "old", "prev_hash", "reason", "table")


def _entry_text(fields: dict[str, Any]) -> str:
    """Return ``canonical(fields)`` for an entry's hashed fields, built directly.

    The fields are ten known keys of ``str`` (or a subclass, such as a table's
    ``quoted_name``)/``None`` and plain ``int`` values, so the canonical text is
    the template with each value JSON-encoded by the same string encoder
    :func:`canonical` uses (``ensure_ascii=False``; it encodes a subclass by its
    text) and each integer as ``int.__repr__`` (as the encoder does); any other
    type goes through :func:`canonical` itself. Several times faster than
    the general encoder, which sorts the keys on every call.
    """
    seq, row_id = fields["seq"], fields["row_id"]
    if type(seq) is not int or type(row_id) is not int or len(fields) != 10:
        return canonical(fields)
    try:  # the string encoder refuses anything but str (and its subclasses)
        *text, table = [
            "null" if x is None else _json_str(x) for x in map(fields.get, _STRING_KEYS)
        ]
    except TypeError:
        return canonical(fields)
    return _ENTRY_TEMPLATE % (*text, int.__repr__(row_id), int.__repr__(seq), table)


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
    fields = _hash_fields(
        seq, at_s, actor, action, table, row_id, old_s, new_s, reason, prev_hash
    )
    digest = hashlib.sha256(_entry_text(fields).encode("utf-8")).hexdigest()
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
