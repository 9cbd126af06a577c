"""Writing the head anchor file, and syncing it off the write path.

The anchor file (see :mod:`plptms.registry._anchor`) holds two slots, each one page
with a whole, checksummed head record, and a third page, the **mark**: the ``seq``
of a head known to be on disk. A new head overwrites the slot that does *not* hold
the marked head, so one slot always holds a head that is already durable whatever
a crash does to the page being written.

Syncing (``$PLPTMS_ANCHOR_SYNC``):

- ``deferred`` (the default): the head is written into the page cache under the
  file's lock (it survives the process at once) and a background thread makes it
  durable with ``fdatasync`` as soon as it can, then moves the mark. A single
  audited write then waits for one disk sync (its database commit) instead of
  two. Until that sync, an operating-system crash or power cut can only bring back
  the marked, older head: the anchor lags behind the chain, which it may do
  anyway, and never runs ahead of it (it is written after the commit).
  :meth:`plptms.registry.Registry.close` and interpreter exit wait for pending
  syncs.
- ``inline``: ``fdatasync`` before the write returns (the anchor is durable when
  the call returns; one more disk sync per write).

Several processes may write one anchor: the slot choice and write run under an
exclusive ``flock`` on the file, and the mark moves only to a head that was in the
file before the sync and is still there after it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from ._anchor import _HEX, ANCHOR_SLOT_BYTES, _replace_file, _slot, _slot_seq
from ._models import RegistryError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ._anchor import AuditHead

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: every write syncs inline
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ANCHOR_SYNC_ENV",
    "ANCHOR_SYNC_MODES",
    "anchor_sync_mode",
    "flush_anchor_syncs",
    "mark_durable",
    "write_anchor",
]

logger = logging.getLogger(__name__)

#: Environment variable choosing how the anchor is synced.
ANCHOR_SYNC_ENV = "PLPTMS_ANCHOR_SYNC"

#: Its allowed values (the first is the default).
ANCHOR_SYNC_MODES = ("deferred", "inline")

_MARK_PREFIX = b"synced "

#: How long the sync thread waits after a request before syncing, so that the
#: anchors of writes in quick succession share one ``fdatasync`` (and the
#: thread wakes once for them, not once per write), s.
_COALESCE_S = 0.002


def anchor_sync_mode() -> str:
    """Return the anchor sync mode from ``$PLPTMS_ANCHOR_SYNC``.

    Returns
    -------
    mode : str
        ``"deferred"`` (default) or ``"inline"``; ``"inline"`` where ``flock`` is
        not available.

    Raises
    ------
    RegistryError
        If the variable holds another value.
    """
    value = os.environ.get(ANCHOR_SYNC_ENV, "").strip() or ANCHOR_SYNC_MODES[0]
    if value not in ANCHOR_SYNC_MODES:
        raise RegistryError(
            f"Invalid value for '${ANCHOR_SYNC_ENV}': got {value!r}; allowed values "
            f"are {', '.join(ANCHOR_SYNC_MODES)}."
        )
    return "inline" if fcntl is None else value


def _mark_page(seq: int) -> bytes:
    return (_MARK_PREFIX + str(seq).encode("ascii")).ljust(
        ANCHOR_SLOT_BYTES - 1
    ) + b"\n"


def _mark_seq(page: bytes) -> int | None:
    """Return the marked ``seq`` (``None``: no mark, or an unreadable one)."""
    line = page.rstrip(b" \n")
    if not line.startswith(_MARK_PREFIX):
        return None
    digits = line[len(_MARK_PREFIX) :]
    return int(digits) if digits.isdigit() else None


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _state(fd: int) -> tuple[list[int], int | None] | None:
    """Read the slots' ``seq`` (-1: blank or torn) and the mark.

    ``None``: not a slotted anchor (empty, or the single-record format).
    """
    data = os.pread(fd, 3 * ANCHOR_SLOT_BYTES + 1, 0)
    if len(data) not in (2 * ANCHOR_SLOT_BYTES, 3 * ANCHOR_SLOT_BYTES):
        return None
    if not _HEX.fullmatch(data[:65]):
        return None
    seqs = [
        _slot_seq(data[:ANCHOR_SLOT_BYTES]),
        _slot_seq(data[ANCHOR_SLOT_BYTES : 2 * ANCHOR_SLOT_BYTES]),
    ]
    mark = (
        _mark_seq(data[2 * ANCHOR_SLOT_BYTES :])
        if len(data) > 2 * ANCHOR_SLOT_BYTES
        else None
    )
    return seqs, mark


def write_anchor(path: Path, head: AuditHead, *, sync: str | None = None) -> None:
    """Record a new head in a head anchor file, in place.

    The new head goes into the slot that does not hold the marked (durable) head;
    with no valid mark (a file written by ``inline`` syncs, or after a reboot,
    when everything on disk is durable), into the slot of the older head, the
    newer one being marked. The file keeps its inode and size, so a data sync
    journals no metadata. A missing anchor, or one in the single-record format of
    earlier versions, is replaced atomically by a slotted one (synced).

    Parameters
    ----------
    path : Path
        The anchor file.
    head : AuditHead
        The new head.
    sync : str | None
        ``"deferred"`` or ``"inline"`` (see the module docstring); ``None``: from
        :func:`anchor_sync_mode`.
    """
    mode = anchor_sync_mode() if sync is None else sync
    record = _slot(head)
    if record is None:  # a database name too long for a slot: one record
        from ._anchor import write_head_file

        write_head_file(path, head)
        return
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        fd = -1
    if fd >= 0:
        try:
            with _locked(fd):
                state = _state(fd)
                if state is not None:
                    seqs, mark = state
                    old_mark = mark
                    durable = _SYNCER.durable(path)
                    if durable >= 0 and durable in seqs:  # synced by this process
                        mark = durable if mark is None else max(mark, durable)
                    if mark is not None and mark >= 0 and mark in seqs:
                        target = 1 - seqs.index(mark)
                    else:  # all on disk is durable: keep the newer head
                        target = 1 if seqs[0] >= seqs[1] else 0
                        mark = seqs[1 - target]
                    os.pwrite(fd, record, target * ANCHOR_SLOT_BYTES)
                    if mode == "inline":
                        os.fdatasync(fd)
                        mark = max(seqs[1 - target], head.seq)
                    if mark != old_mark:
                        os.pwrite(fd, _mark_page(mark), 2 * ANCHOR_SLOT_BYTES)
                    if mode == "deferred":
                        _SYNCER.request(path, head.seq)
                    return
        finally:
            os.close(fd)
    blank = b" " * (ANCHOR_SLOT_BYTES - 1) + b"\n"
    _replace_file(path, record + blank + _mark_page(head.seq))


def mark_durable(path: Path, seq: int) -> None:
    """Mark ``seq`` as the durable head of an anchor, if a slot still holds it.

    Parameters
    ----------
    path : Path
        The anchor file.
    seq : int
        A head known to be on disk (written before a completed ``fdatasync``).
    """
    fd = os.open(path, os.O_RDWR)
    try:
        with _locked(fd):
            state = _state(fd)
            if state is not None and seq >= 0 and seq in state[0]:
                mark = state[1]
                if mark is None or mark < seq:
                    os.pwrite(fd, _mark_page(seq), 2 * ANCHOR_SLOT_BYTES)
    finally:
        os.close(fd)


class _Syncer:
    """One background thread per process syncing the anchors written (deferred).

    A writer asks for a sync of the head it has just written; the thread runs
    ``fdatasync`` (without the file's lock and without the GIL) and records the
    newest head asked for before the sync as durable. The next writer moves the
    mark to it under the lock (:func:`write_anchor`), so the thread does nothing
    else per write; :meth:`flush` moves the marks itself.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[str, int] = {}
        self._durable: dict[str, int] = {}
        self._requested = 0
        self._done = 0
        self._thread: threading.Thread | None = None

    def durable(self, path: Path) -> int:
        """Return the newest head of ``path`` this process synced (-1: none)."""
        return self._durable.get(str(path), -1)

    def request(self, path: Path, seq: int) -> None:
        key = str(path)
        with self._cond:
            self._pending[key] = max(self._pending.get(key, -1), seq)
            self._requested += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="plptms-anchor-sync", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            time.sleep(_COALESCE_S)  # let a burst of writes share one sync
            with self._cond:
                batch = self._pending
                self._pending = {}
                upto = self._requested
            for key, seq in batch.items():
                try:
                    # opened each time: a replaced file (new inode) is the one synced
                    fd = os.open(key, os.O_RDWR)
                    try:
                        os.fdatasync(fd)
                    finally:
                        os.close(fd)
                except Exception as exc:  # keep the thread alive whatever happens
                    logger.error(
                        "Could not sync the audit head anchor %s (%s): after a "
                        "system crash it may lag further behind the chain.",
                        key,
                        exc,
                    )
                    continue
                with self._cond:
                    self._durable[key] = max(self._durable.get(key, -1), seq)
            with self._cond:
                self._done = max(self._done, upto)
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        with self._cond:
            target = self._requested
            done = self._cond.wait_for(lambda: self._done >= target, timeout)
            durable = dict(self._durable)
        from pathlib import Path

        for key, seq in durable.items():
            try:
                mark_durable(Path(key), seq)
            except OSError as exc:
                logger.error("Could not mark the audit head anchor %s (%s).", key, exc)
        return done


_SYNCER = _Syncer()


def _reset_after_fork() -> None:  # pragma: no cover - run in a forked child
    global _SYNCER  # the parent's thread does not exist in the child
    _SYNCER = _Syncer()


os.register_at_fork(after_in_child=_reset_after_fork)


def flush_anchor_syncs(timeout: float | None = 30.0) -> bool:
    """Wait until every anchor written so far by this process is synced.

    Parameters
    ----------
    timeout : float | None
        Seconds to wait at most (``None``: no limit).

    Returns
    -------
    done : bool
        ``False`` if the timeout ran out first.
    """
    return _SYNCER.flush(timeout)


atexit.register(flush_anchor_syncs, 10.0)
