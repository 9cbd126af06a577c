"""The site key and the head anchor: kept outside the database, where they belong."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from plptms.registry import Registry, RegistryError
from plptms.registry._anchor import (
    KEY_BYTES,
    anchor_path,
    audit_key_path,
    database_id,
    read_audit_key,
    read_head_file,
)
from plptms.utils._paths import config_dir, state_dir


def _head_row(reg: Registry) -> tuple[int, str, str]:
    with reg.engine.connect() as c:
        seq, digest, tag = c.execute(
            sa.text("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
        ).one()
    return int(seq), str(digest), str(tag)


def test_key_created_outside_the_database_on_first_write(registry: Registry) -> None:
    path = config_dir() / "audit.key"
    assert audit_key_path() == path
    assert not path.exists()  # opening (and migrating) is not a write
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    assert path.exists()
    assert len(path.read_bytes()) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    # the key is not stored in the database
    key = path.read_bytes()
    with registry.engine.connect() as c:
        for table in ("audit_log", "delivery_events"):
            rows = c.execute(sa.text(f"SELECT * FROM {table}")).all()
            assert all(key.hex() not in str(r) for r in rows)


def test_every_entry_carries_an_hmac_of_its_hash(registry: Registry) -> None:
    import hmac

    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    registry.add_patient("S1", "P002", history=None, actor="nurse1")
    key = (config_dir() / "audit.key").read_bytes()
    with registry.engine.connect() as c:
        rows = c.execute(sa.text("SELECT hash, mac FROM audit_log")).all()
    assert len(rows) == 2
    for digest, tag in rows:
        assert tag == hmac.new(key, f"audit:{digest}".encode(), "sha256").hexdigest()


def test_key_file_from_environment(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secrets" / "site.key"
    monkeypatch.setenv("PLPTMS_AUDIT_KEY_FILE", str(path))
    with Registry(db_url) as reg:
        with pytest.raises(RegistryError, match="PLPTMS_AUDIT_KEY_FILE"):
            reg.add_patient("S1", "P001", history=None, actor="nurse1")
        path.parent.mkdir()
        path.write_text(os.urandom(KEY_BYTES).hex() + "\n")  # hex is accepted too
        reg.add_patient("S1", "P001", history=None, actor="nurse1")
        assert reg.verify_audit().ok
    assert not (config_dir() / "audit.key").exists()


def test_bad_key_file_refused(tmp_path: Path) -> None:
    bad = tmp_path / "k"
    bad.write_bytes(b"short")
    with pytest.raises(RegistryError, match="audit key"):
        read_audit_key(bad)
    assert read_audit_key(tmp_path / "missing") is None


def test_verification_without_the_key_is_not_ok(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    (config_dir() / "audit.key").unlink()
    report = registry.verify_audit()
    assert not report.ok
    assert "keyed checks could not be made" in "\n".join(report.problems)
    assert not registry.verify_records([("patients", 1)]).ok


def test_another_key_fails_every_mac(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    registry.add_patient("S1", "P002", history=None, actor="nurse1")
    (config_dir() / "audit.key").write_bytes(os.urandom(KEY_BYTES))
    problems = registry.verify_audit().problems
    entries = [p for p in problems if p.startswith("entry ")]
    assert len(entries) == 2
    assert all("MAC does not match" in p for p in entries)
    assert any(p.startswith("anchor") and "MAC" in p for p in problems)


def test_lost_key_is_not_silently_replaced(db_url: str) -> None:
    with Registry(db_url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="nurse1")
    (config_dir() / "audit.key").unlink()
    with Registry(db_url) as reg:
        with pytest.raises(RegistryError, match="restore the key"):
            reg.add_patient("S1", "P002", history=None, actor="nurse1")
    assert not (config_dir() / "audit.key").exists()


def test_anchor_follows_every_audited_write(registry: Registry) -> None:
    path = anchor_path(registry.url)
    assert path is not None
    expected_name = hashlib.sha256(database_id(registry.url).encode()).hexdigest()
    assert path == state_dir() / "anchors" / f"{expected_name}.json"
    assert not path.exists()
    for k in range(3):
        registry.add_patient("S1", f"P00{k}", history=None, actor="nurse1")
        head = read_head_file(path)  # the newest intact slot
        assert (head.seq, head.hash, head.mac) == _head_row(registry)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files


def test_database_id_hides_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://clinic:s3cret@db.example:5432/plptms"
    assert "s3cret" not in database_id(url)
    assert database_id(url) == database_id(url.replace("s3cret", "other"))
    # one SQLite file, however it is named, has one anchor
    rel = os.path.relpath(tmp_path / "r.sqlite3")
    assert anchor_path(f"sqlite:///{rel}") == anchor_path(
        f"sqlite:///{tmp_path / 'r.sqlite3'}"
    )
    assert anchor_path("sqlite://") is None


def test_checkpoint_file_round_trip(registry: Registry, tmp_path: Path) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    cp = tmp_path / "cp" / "head.json"
    head = registry.export_checkpoint(cp)
    data = json.loads(cp.read_text())
    assert (data["seq"], data["hash"], data["mac"]) == _head_row(registry)
    assert data["database"] == database_id(registry.url)
    assert "at" in data
    assert head.seq == 1
    assert registry.verify_audit(checkpoint=cp).ok
    cp.write_text("{}")
    with pytest.raises(RegistryError, match="checkpoint"):
        registry.verify_audit(checkpoint=cp)


def test_empty_chain_has_no_head(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="empty"):
        registry.export_checkpoint(tmp_path / "cp.json")
    assert registry.verify_audit().ok  # nothing to verify, nothing missing


def test_unwritable_anchor_does_not_fail_the_write(
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("PLPTMS_STATE_DIR", str(blocker / "state"))
    with caplog.at_level("ERROR", logger="plptms"):
        p = registry.add_patient("S1", "P001", history=None, actor="nurse1")
    assert registry.get_patient("S1", "P001").id == p.id  # committed
    assert "anchor" in caplog.text
    report = registry.verify_audit()
    assert not report.ok
    assert "no head anchor" in "\n".join(report.problems)
