"""The audit chain's roots outside the database: the site key and the head anchors.

Anyone who can write the database file can also recompute a plain hash chain or
cut its newest entries off. Two things kept *outside* the database make that
detectable:

- the **site key** (32 random bytes, ``config_dir()/audit.key`` or the file named
  by ``$PLPTMS_AUDIT_KEY_FILE``): every audit entry and every delivery event carries
  an HMAC-SHA256 of its hash under it, so a chain re-forged without the key fails;
- the **head anchor** (``state_dir()/anchors/<sha256 of the database URL>.json``):
  after every audited write the new head (sequence number, hash, MAC) is written
  there, so removing the newest entries (truncation) or re-forging the chain is
  caught even when the forger also strips the MACs. An exported checkpoint
  (:meth:`plptms.registry.Registry.export_checkpoint`) is the same record, kept
  wherever the site chooses (ideally somewhere the database's writers cannot
  write).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ._models import RegistryError

__all__ = [
    "ANCHOR_SLOT_BYTES",
    "KEY_ENV",
    "AuditHead",
    "anchor_name",
    "anchor_path",
    "audit_key_path",
    "create_audit_key",
    "database_id",
    "mac",
    "read_anchor",
    "read_audit_key",
    "read_head_file",
    "write_head_file",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the audit key file (overrides the default path).
KEY_ENV = "PLPTMS_AUDIT_KEY_FILE"

#: Length of the site key, bytes.
KEY_BYTES = 32


class AuditHead(BaseModel):
    """The head of the audit chain, as anchored or exported as a checkpoint.

    Attributes
    ----------
    database : str
        The database URL, without its password.
    seq : int
        Sequence number of the head entry.
    hash : str
        Its hash (hex SHA-256).
    mac : str | None
        Its HMAC-SHA256 under the site key (``None`` for an entry written before
        keying).
    at : datetime.datetime
        When the head was recorded (UTC).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: str
    seq: int
    hash: str
    mac: str | None
    at: dt.datetime


def audit_key_path() -> Path:
    """Return where the site key lives.

    Returns
    -------
    path : Path
        ``$PLPTMS_AUDIT_KEY_FILE`` when set, else ``config_dir()/audit.key``.
    """
    from ..utils import config_dir

    env = os.environ.get(KEY_ENV)
    return Path(env) if env else config_dir() / "audit.key"


def read_audit_key(path: Path) -> bytes | None:
    """Read the site key.

    Parameters
    ----------
    path : Path
        The key file: 32 raw bytes, or 64 hexadecimal characters.

    Returns
    -------
    key : bytes | None
        The key, or ``None`` when the file does not exist.

    Raises
    ------
    RegistryError
        If the file exists but does not hold a key.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"Cannot read the audit key {path}: {exc}.") from None
    if len(data) == KEY_BYTES:
        key = data
    else:
        try:
            key = bytes.fromhex(data.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise RegistryError(
                f"Invalid audit key {path}: got {len(data)} bytes; allowed: "
                f"{KEY_BYTES} random bytes or {2 * KEY_BYTES} hexadecimal characters."
            )
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            logger.warning(
                "The audit key %s is readable by other users (chmod 600 it).", path
            )
    return key


def create_audit_key(path: Path) -> bytes:
    """Create the site key (mode 0600) unless another process just did.

    The key is written to a temporary file in the same folder and linked into
    place, so a concurrent reader never sees half a key and two processes starting
    at once end up with the same one.

    Parameters
    ----------
    path : Path
        Where to create it.

    Returns
    -------
    key : bytes
        The key now at ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
    key = read_audit_key(path)
    assert key is not None
    logger.info("Created the audit key %s.", path)
    return key


def mac(key: bytes, domain: str, digest: str) -> str:
    """Return the HMAC-SHA256 of a hash under the site key.

    Parameters
    ----------
    key : bytes
        The site key.
    domain : str
        ``audit`` or ``event`` (a MAC of one kind never verifies as the other).
    digest : str
        The hash (hex).

    Returns
    -------
    mac : str
        Hex HMAC-SHA256.
    """
    # one-shot HMAC in C (no HMAC object per call); the same bytes as hmac.new
    return hmac.digest(key, f"{domain}:{digest}".encode("ascii"), "sha256").hex()


def database_id(url: str) -> str:
    """Return the database URL without its password (SQLite paths made absolute).

    Parameters
    ----------
    url : str
        SQLAlchemy URL.

    Returns
    -------
    text : str
        The URL that names the anchor.
    """
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        u = u.set(database=str(Path(u.database).resolve()))
    return u._replace(password=None).render_as_string(hide_password=False)


def anchor_name(url: str) -> str | None:
    """Return the file name of a database's head anchor.

    Parameters
    ----------
    url : str
        SQLAlchemy URL.

    Returns
    -------
    name : str | None
        ``<sha256 of the URL without password>.json``; ``None`` for an in-memory
        SQLite database (nothing outlives it).
    """
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:"):
        return None
    return hashlib.sha256(database_id(url).encode("utf-8")).hexdigest() + ".json"


def anchor_path(url: str, name: str | None = "") -> Path | None:
    """Return the head anchor file of a database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL.
    name : str | None
        Its :func:`anchor_name`, if already known.

    Returns
    -------
    path : Path | None
        ``state_dir()/anchors/<sha256 of the URL without password>.json``;
        ``None`` for an in-memory SQLite database.
    """
    from ..utils import state_dir

    if name == "":
        name = anchor_name(url)
    return None if name is None else state_dir() / "anchors" / name


def write_head_file(path: Path, head: AuditHead, *, fsync: bool = True) -> None:
    """Write a head record atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    path : Path
        Destination.
    head : AuditHead
        The head.
    fsync : bool
        Flush the temporary file to disk before the rename, so that a crash never
        leaves an empty or partial file (the folder is not synced: after a crash
        the previous, older anchor may come back, which only weakens the check).
    """
    _replace_file(path, (head.model_dump_json(indent=2) + "\n").encode(), fsync=fsync)


def _replace_file(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        try:
            os.write(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: Bytes per slot of a head anchor file (one page: a slot is written whole).
ANCHOR_SLOT_BYTES = 4096

_HEX = re.compile(rb"[0-9a-f]{64} ")


def _slot(head: AuditHead) -> bytes | None:
    """Return a head as one anchor slot (``None`` if it does not fit in one).

    A slot is ``<sha256 of the JSON> <JSON>``, padded with spaces, ending in a
    newline: a slot torn by a crash fails its checksum.
    """
    payload = head.model_dump_json().encode("utf-8")
    line = hashlib.sha256(payload).hexdigest().encode("ascii") + b" " + payload
    if len(line) >= ANCHOR_SLOT_BYTES:
        return None
    return line.ljust(ANCHOR_SLOT_BYTES - 1) + b"\n"


def _slot_head(slot: bytes) -> AuditHead | None:
    """Return the head in one slot, or ``None`` if it is blank or torn."""
    line = slot.rstrip(b" \n")
    digest, _, payload = line.partition(b" ")
    if not payload or hashlib.sha256(payload).hexdigest().encode() != digest:
        return None
    try:
        return AuditHead.model_validate_json(payload)
    except ValidationError:
        return None


#: Slots this process has written or checked, to their head's ``seq`` (``-1``:
#: blank or torn). A slot's meaning depends on its bytes only, so a slot read
#: back unchanged is not parsed and validated again (two per anchor write).
_SLOT_SEQS: dict[bytes, int] = {}


def _slot_seq(slot: bytes) -> int:
    """Return the ``seq`` of the head in one slot (``-1``: blank or torn)."""
    seq = _SLOT_SEQS.get(slot)
    if seq is None:
        head = _slot_head(slot)
        seq = -1 if head is None else head.seq
        _remember_slot(slot, seq)
    return seq


def _remember_slot(slot: bytes, seq: int) -> None:
    if len(_SLOT_SEQS) >= 16:
        _SLOT_SEQS.clear()
    _SLOT_SEQS[slot] = seq


def _read_slots(data: bytes) -> AuditHead:
    heads = [
        h
        for k in range(2)
        if (h := _slot_head(data[k * ANCHOR_SLOT_BYTES : (k + 1) * ANCHOR_SLOT_BYTES]))
        is not None
    ]
    if not heads:
        raise ValueError("neither slot holds an intact head record")
    return max(heads, key=lambda h: h.seq)


def read_head_file(path: str | Path) -> AuditHead:
    """Read a head anchor or an exported checkpoint.

    Parameters
    ----------
    path : str | Path
        The file.

    Returns
    -------
    head : AuditHead
        The recorded head.

    Raises
    ------
    RegistryError
        If the file cannot be read or is not a head record.
    """
    try:
        data = Path(path).read_bytes()
        if len(data) in (2 * ANCHOR_SLOT_BYTES, 3 * ANCHOR_SLOT_BYTES) and (
            _HEX.fullmatch(data[:65])
        ):
            return _read_slots(data)
        return AuditHead.model_validate(json.loads(data.decode("utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise RegistryError(
            f"Invalid value for 'checkpoint': {path} is not a readable audit head "
            f"record ({type(exc).__name__}: {str(exc).splitlines()[0]})."
        ) from None


def read_anchor(url: str) -> AuditHead | None:
    """Read a database's head anchor.

    Parameters
    ----------
    url : str
        SQLAlchemy URL.

    Returns
    -------
    head : AuditHead | None
        The anchored head, or ``None`` when there is no anchor file.

    Raises
    ------
    RegistryError
        If the anchor exists but cannot be read.
    """
    path = anchor_path(url)
    if path is None or not path.exists():
        return None
    return read_head_file(path)
