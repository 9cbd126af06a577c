"""The head anchor synced off the write path (``$PLPTMS_ANCHOR_SYNC=deferred``).

Oracle for durability: a model of the disk. ``os.fdatasync`` is replaced by a
function that copies the file's bytes to a "disk image" (what a crash keeps); a
crash is then any mix, page by page, of the disk image, the page-cache version
and a torn page (half new, half old). Whatever the crash, the anchor must read
back a head that was written, no older than the marked head (whose slot must be
on disk unchanged); once the syncs are flushed, the mark is the newest head.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from plptms.registry import Registry, RegistryError, VisitIn
from plptms.registry._anchor import (
    ANCHOR_SLOT_BYTES,
    AuditHead,
    anchor_path,
    read_head_file,
)
from plptms.registry._anchor_sync import (
    ANCHOR_SYNC_ENV,
    flush_anchor_syncs,
    write_anchor,
)
from plptms.scales import score_record

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PAGE = ANCHOR_SLOT_BYTES


def _head(seq: int) -> AuditHead:
    return AuditHead(
        database="sqlite:////x", seq=seq, hash=f"{seq:064x}", mac=None, at=AT
    )


class Disk:
    """What survives a crash: the file's bytes at its last ``fdatasync``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.image = b""
        self.synced_seq = 0  # newest head in the image
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0
        self.real = os.fdatasync

    def fdatasync(self, fd: int) -> None:
        if threading.current_thread().name == "plptms-anchor-sync":  # stalled
            assert self.gate.wait(10), "the test never opened the gate"
        self.calls += 1
        self.image = os.pread(fd, 3 * PAGE + 1, 0)
        heads = [read_head_file_bytes(self.image)]
        self.synced_seq = max(self.synced_seq, *(h.seq for h in heads))

    def crashes(self) -> list[bytes]:
        """Every file a crash could leave (page by page: old, new or torn)."""
        now = self.path.read_bytes()
        n_pages = max(len(now), len(self.image)) // PAGE
        options = []
        for k in range(n_pages):
            old = self.image[k * PAGE : (k + 1) * PAGE]
            new = now[k * PAGE : (k + 1) * PAGE]
            if old == new:
                options.append([old])
            else:
                torn = new[: PAGE // 2] + old[PAGE // 2 :] if old else new[: PAGE // 2]
                options.append([old, new, torn])
        return [b"".join(c) for c in itertools.product(*options)]


def read_head_file_bytes(data: bytes) -> AuditHead:
    import tempfile

    with tempfile.NamedTemporaryFile(delete=False) as fh:
        fh.write(data)
    try:
        return read_head_file(fh.name)
    finally:
        os.unlink(fh.name)


def _check_every_crash(disk: Disk, written: int) -> None:
    """The marked slot is on disk as it is in the file, so every crash reads
    back a head between the marked one and the newest written."""
    now = disk.path.read_bytes()
    mark = int(now[2 * PAGE :].split()[1])
    slot = next(
        k for k in range(2) if f'"seq":{mark},'.encode() in now[k * PAGE :][:PAGE]
    )
    assert disk.image[slot * PAGE : (slot + 1) * PAGE] == now[slot * PAGE :][:PAGE]
    for image in disk.crashes():
        head = read_head_file_bytes(image)  # never unreadable
        assert mark <= head.seq <= written


def test_deferred_writes_survive_every_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "anchor.json"
    write_anchor(path, _head(1), sync="deferred")  # created whole, synced
    disk = Disk(path)
    disk.image, disk.synced_seq = path.read_bytes(), 1
    monkeypatch.setattr(os, "fdatasync", disk.fdatasync)
    disk.gate.clear()  # the background sync stalls: writes pile up unsynced
    for seq in range(2, 7):
        write_anchor(path, _head(seq), sync="deferred")
        assert read_head_file(path).seq == seq  # in the page cache at once
        _check_every_crash(disk, seq)
    disk.gate.set()
    assert flush_anchor_syncs(10)
    assert disk.synced_seq == 6  # the last head reached the disk
    assert path.read_bytes()[2 * PAGE :].startswith(b"synced 6 ")  # and is marked
    _check_every_crash(disk, 6)
    for seq in range(7, 12):  # syncing as they come
        write_anchor(path, _head(seq), sync="deferred")
        _check_every_crash(disk, seq)
    assert flush_anchor_syncs(10)
    assert disk.synced_seq == 11
    assert path.read_bytes()[2 * PAGE :].startswith(b"synced 11 ")
    # stalled again, now that this process knows a durable head (11): the next
    # writes still leave the durable slot alone
    disk.gate.clear()
    for seq in range(12, 16):
        write_anchor(path, _head(seq), sync="deferred")
        _check_every_crash(disk, seq)
    disk.gate.set()
    assert flush_anchor_syncs(10)
    assert path.read_bytes()[2 * PAGE :].startswith(b"synced 15 ")
    assert path.stat().st_size == 3 * PAGE


def test_inline_sync_is_done_before_the_call_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "anchor.json"
    write_anchor(path, _head(1), sync="inline")
    disk = Disk(path)
    monkeypatch.setattr(os, "fdatasync", disk.fdatasync)
    for seq in (2, 3, 4):
        write_anchor(path, _head(seq), sync="inline")
        assert disk.synced_seq == seq
        assert disk.calls == seq - 1


def test_a_second_writer_honours_the_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # while a sync is pending, an inline writer (another process's setting)
    # still leaves the marked, durable slot alone
    path = tmp_path / "anchor.json"
    write_anchor(path, _head(1), sync="deferred")
    disk = Disk(path)
    disk.image, disk.synced_seq = path.read_bytes(), 1
    monkeypatch.setattr(os, "fdatasync", disk.fdatasync)
    disk.gate.clear()
    write_anchor(path, _head(2), sync="deferred")
    slot_of_1 = 0 if b'"seq":1,' in path.read_bytes()[:PAGE] else 1
    write_anchor(path, _head(3), sync="inline")  # the background sync is stalled
    data = path.read_bytes()
    assert read_head_file(path).seq == 3
    assert b'"seq":1,' in data[slot_of_1 * PAGE :][:PAGE]  # left alone
    assert b'"seq":3,' in data[(1 - slot_of_1) * PAGE :][:PAGE]
    assert data[2 * PAGE :].startswith(b"synced 3 ")  # synced inline: marked
    disk.gate.set()
    assert flush_anchor_syncs(10)
    assert path.read_bytes()[2 * PAGE :].startswith(b"synced 3 ")


def test_bad_sync_setting_refused_when_the_registry_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ANCHOR_SYNC_ENV, "sometimes")
    with pytest.raises(RegistryError, match=r"PLPTMS_ANCHOR_SYNC.*'sometimes'"):
        Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}")


@pytest.mark.parametrize("mode", ["deferred", "inline"])
def test_registry_writes_anchor_and_close_syncs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv(ANCHOR_SYNC_ENV, mode)
    monkeypatch.setenv("PLPTMS_STATE_DIR", str(tmp_path / "state"))
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    reg = Registry(url)
    reg.add_patient("S1", "P1", history=None, actor="nurse")
    path = anchor_path(url)
    assert path is not None
    calls: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    visit = VisitIn(visit_date=dt.date(2026, 1, 5), kind="baseline")
    reg.store_assessment(
        "S1", "P1", visit, score_record("nrs_phantom_average", {"1": 4}), actor="n"
    )
    head = reg.audit_head()
    assert read_head_file(path).seq == head.seq  # anchored at once
    reg.close()  # waits for the background sync
    assert calls  # the anchor was synced (inline: in the call; deferred: after)
    data: Any = path.read_bytes()
    assert data[2 * PAGE :].startswith(f"synced {head.seq}".encode())
    reopened = Registry(url)
    try:
        assert reopened.verify_audit().ok
    finally:
        reopened.close()
