"""Registry commands of the CLI (SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from plptms.cli.main import app

from ..conftest import billion_laughs
from .conftest import assert_one_line_error

runner = CliRunner()
TODAY = dt.date.today()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def _run(db: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--db", db])


def test_help() -> None:
    for args in (
        ["patient", "--help"],
        ["assess", "record", "--help"],
        ["audit", "verify", "--help"],
        ["export", "--help"],
        ["patient", "plot", "--help"],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 0
        assert "Usage" in res.output


def test_patient_assess_audit_export(db: str, tmp_path: Path) -> None:
    res = _run(
        db, "patient", "add", "--site", "S1", "--code", "P001", "--actor", "nurse1"
    )
    assert res.exit_code == 0, res.output
    base = (TODAY - dt.timedelta(days=14)).isoformat()
    res = _run(
        db,
        "assess",
        "record",
        "--site",
        "S1",
        "--code",
        "P001",
        "--scale",
        "sf_mpq2",
        "--date",
        base,
        "--kind",
        "baseline",
        "--actor",
        "nurse1",
        *[f"--item={i}={i % 11}" for i in range(1, 23)],
    )
    assert res.exit_code == 0, res.output
    assert "5" in res.output
    # out of range: refused, named, nothing stored
    res = _run(
        db,
        "assess",
        "record",
        "--site",
        "S1",
        "--code",
        "P001",
        "--scale",
        "sf_mpq2",
        "--date",
        TODAY.isoformat(),
        "--kind",
        "follow_up",
        "--actor",
        "nurse1",
        *[f"--item={i}=11" for i in range(1, 23)],
    )
    assert res.exit_code == 2
    assert "sf_mpq2" in res.output
    res = _run(db, "patient", "show", "--site", "S1", "--code", "P001", "--json")
    data = json.loads(res.output)
    assert len(data["assessments"]) == 1
    assert len(data["visits"]) == 1
    aid = data["assessments"][0]["id"]
    res = _run(
        db,
        "assess",
        "correct",
        str(aid),
        "--actor",
        "dr1",
        "--reason",
        "transcription error",
        *[f"--item={i}=2" for i in range(1, 23)],
    )
    assert res.exit_code == 0, res.output
    res = _run(db, "assess", "show", "--site", "S1", "--code", "P001", "--json")
    assert json.loads(res.output)[0]["total"] == pytest.approx(2.0)
    assert _run(db, "audit", "verify").exit_code == 0
    out = tmp_path / "export"
    res = _run(db, "export", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert (out / "long.csv").exists()
    assert (out / "audit_log.csv").exists()
    png = tmp_path / "p.png"
    res = _run(
        db,
        "patient",
        "plot",
        "--site",
        "S1",
        "--code",
        "P001",
        "--scale",
        "sf_mpq2",
        "--out",
        str(png),
    )
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 0
    # tampering makes verify fail
    eng = sa.create_engine(db)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE assessments SET total = 0"))
    eng.dispose()
    res = _run(db, "audit", "verify")
    assert res.exit_code == 1
    assert "TAMPERED" in res.output


def test_patient_errors(db: str) -> None:
    res = _run(
        db,
        "patient",
        "add",
        "--site",
        "S1",
        "--code",
        "John Smith",
        "--actor",
        "nurse1",
    )
    assert res.exit_code == 2
    assert "'code'" in res.output
    res = _run(db, "patient", "show", "--site", "S1", "--code", "P404")
    assert res.exit_code == 2
    res = _run(db, "patient", "list", "--json")
    assert json.loads(res.output) == []


def test_history_file_and_responses(db: str, tmp_path: Path) -> None:
    hist = tmp_path / "h.yaml"
    hist.write_text(
        "side: right\nlimb: lower\nlevel: transfemoral\ncause: vascular\n"
        f"amputation_date: {(TODAY - dt.timedelta(days=900)).isoformat()}\n"
        f"assessed_on: {(TODAY - dt.timedelta(days=60)).isoformat()}\n"
        "prosthesis_use: occasional\nphantom_sensations: true\ntelescoping: false\n"
    )
    res = _run(
        db,
        "patient",
        "add",
        "--site",
        "S1",
        "--code",
        "P002",
        "--history",
        str(hist),
        "--actor",
        "nurse1",
    )
    assert res.exit_code == 0, res.output
    for days, kind, val in (
        (30, "baseline", 8),
        (10, "post_treatment", 4),
        (1, "follow_up", 6),
    ):
        d = (TODAY - dt.timedelta(days=days)).isoformat()
        res = _run(
            db,
            "assess",
            "record",
            "--site",
            "S1",
            "--code",
            "P002",
            "--scale",
            "nrs_phantom_average",
            "--date",
            d,
            "--kind",
            kind,
            "--item",
            f"1={val}",
            "--actor",
            "nurse1",
        )
        assert res.exit_code == 0, res.output
    res = _run(
        db,
        "assess",
        "show",
        "--site",
        "S1",
        "--code",
        "P002",
        "--scale",
        "nrs_phantom_average",
        "--responses",
    )
    assert res.exit_code == 0, res.output
    assert "50.0" in res.output
    assert "substantially important" in res.output
    assert "25.0" in res.output
    assert "minimally important" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(hist.read_text().replace("transfemoral", "transradial"))
    res = _run(
        db,
        "patient",
        "add",
        "--site",
        "S1",
        "--code",
        "P003",
        "--history",
        str(bad),
        "--actor",
        "nurse1",
    )
    assert res.exit_code == 2
    assert "level" in res.output


def test_audit_checkpoint_and_verify_against_it(db: str, tmp_path: Path) -> None:
    from plptms.registry._anchor import anchor_path

    for code in ("P001", "P002"):
        res = _run(
            db, "patient", "add", "--site", "S1", "--code", code, "--actor", "nurse1"
        )
        assert res.exit_code == 0, res.output
    cp = tmp_path / "head.json"
    res = _run(db, "audit", "checkpoint", "--out", str(cp))
    assert res.exit_code == 0, res.output
    assert json.loads(cp.read_text())["seq"] == 2
    res = _run(db, "audit", "verify", "--checkpoint", str(cp))
    assert res.exit_code == 0, res.output
    assert "intact" in res.output
    # the newest insert and its entry removed, the anchor deleted too
    eng = sa.create_engine(db)
    with eng.begin() as c:
        c.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        c.execute(sa.text("DELETE FROM patients WHERE code = 'P002'"))
        c.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
    eng.dispose()
    path = anchor_path(db)
    assert path is not None
    path.unlink()
    res = _run(db, "audit", "verify", "--checkpoint", str(cp))
    assert res.exit_code == 1
    assert "TAMPERED" in res.output
    assert "truncated" in res.output
    res = _run(db, "audit", "verify", "--checkpoint", str(tmp_path / "nope.json"))
    assert res.exit_code == 2
    assert "checkpoint" in res.output


# --- hostile and wrong input (issue 13): one clean line, exit 2, nothing stored -----

_TABLES = ("patients", "visits", "assessments", "screenings", "audit_log")


def _counts(db: str) -> dict[str, int]:
    """Rows per table, read with SQLAlchemy directly (not through the registry)."""
    eng = sa.create_engine(db)
    try:
        with eng.connect() as c:
            return {
                t: int(c.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in _TABLES
            }
    finally:
        eng.dispose()


def _history(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "side": "left",
        "limb": "lower",
        "cause": "trauma",
        "amputation_date": "2020-03-01",
        "assessed_on": "2024-03-01",
        "prosthesis_use": "daily",
        "phantom_sensations": True,
        "telescoping": False,
        "opioids": [{"drug": "tramadol", "dose": 100, "unit": "mg/day"}],
    }
    base.update(changes)
    return base


@pytest.fixture
def registered(db: str) -> str:
    res = _run(db, "patient", "add", "--site", "S1", "--code", "P001", "--actor", "n1")
    assert res.exit_code == 0, res.output
    return db


def test_tramadol_1e300_not_stored(registered: str, tmp_path: Path) -> None:
    # a tramadol dose of 1e300 mg/day was stored
    before = _counts(registered)
    f = tmp_path / "h.json"
    bad = [{"drug": "tramadol", "dose": 1e300, "unit": "mg/day"}]
    f.write_text(json.dumps(_history(opioids=bad)))
    res = _run(
        registered, "patient", "add", "--site", "S1", "--code", "P002",
        "--actor", "n1", "--history", str(f),
    )  # fmt: skip
    assert_one_line_error(res, "opioids.0", "'dose'", "tramadol", "allowed range")
    assert _counts(registered) == before


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("side: left\nside: right\n", "duplicate key 'side'"),
        (None, "alias"),
        ("a: " + "[" * 100_000 + "]" * 100_000, "nest"),
        ("- 1\n- 2\n", "'--history'"),
        ("", "'--history'"),
        ("", "assessed_on"),
    ],
    ids=["duplicate", "bomb", "deep", "list", "empty", "future"],
)
def test_bad_history_file_not_stored(
    registered: str, tmp_path: Path, text: str | None, words: str
) -> None:
    before = _counts(registered)
    f = tmp_path / "h.yaml"
    if words == "assessed_on":
        f.write_text(yaml.safe_dump(_history(assessed_on="2099-01-01")))
    else:
        f.write_text(billion_laughs() if text is None else text)
    res = _run(
        registered, "patient", "add", "--site", "S1", "--code", "P002",
        "--actor", "n1", "--history", str(f),
    )  # fmt: skip
    assert_one_line_error(res, words)
    assert _counts(registered) == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"1": "7"}', "'7'"),
        ('{"1": true}', "not a bool"),
        ('{"1": 7, "1": 3}', "duplicate key '1'"),
        ('{"1": NaN}', "NaN"),
    ],
    ids=["text", "bool", "duplicate", "nan"],
)
def test_bad_items_file_not_stored(
    registered: str, tmp_path: Path, content: str, words: str
) -> None:
    # a text item value escaped as a TypeError traceback
    before = _counts(registered)
    f = tmp_path / "items.json"
    f.write_text(content)
    res = _run(
        registered, "assess", "record", "--site", "S1", "--code", "P001",
        "--scale", "nrs_phantom_average", "--date", TODAY.isoformat(),
        "--kind", "baseline", "--actor", "n1", "--items", str(f),
    )  # fmt: skip
    assert_one_line_error(res, words)
    assert _counts(registered) == before


def test_future_visit_date_not_stored(registered: str) -> None:
    before = _counts(registered)
    res = _run(
        registered, "assess", "record", "--site", "S1", "--code", "P001",
        "--scale", "nrs_phantom_average", "--date", "2099-01-01",
        "--kind", "baseline", "--actor", "n1", "--item", "1=5",
    )  # fmt: skip
    assert_one_line_error(res, "'visit_date': got 2099-01-01", "not in the future")
    assert _counts(registered) == before
    res = _run(
        registered, "assess", "record", "--site", "S1", "--code", "P001",
        "--scale", "nrs_phantom_average", "--date", "01/02/2024",
        "--kind", "baseline", "--actor", "n1", "--item", "1=5",
    )  # fmt: skip
    assert_one_line_error(res, "'--date'", "YYYY-MM-DD")


@pytest.mark.parametrize("assessment_id", [str(2**63), str(2**64 + 5), "0"])
def test_out_of_range_ids_exit_2(registered: str, assessment_id: str) -> None:
    # ids >= 2^63 escaped as an OverflowError traceback from SQLite
    before = _counts(registered)
    res = _run(
        registered, "assess", "correct", "--", assessment_id,
        "--actor", "dr1", "--reason", "transcription error",
        "--item", "1=2",
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "'assessment_id'" in res.output
    assert ("9223372036854775807" in res.output) != (assessment_id == "0")
    assert _counts(registered) == before


def test_largest_id_is_a_clean_not_found(registered: str) -> None:
    res = _run(
        registered, "assess", "correct", str(2**63 - 1),
        "--actor", "dr1", "--reason", "transcription error",
        "--item", "1=2",
    )  # fmt: skip
    assert_one_line_error(res, "'assessment_id'", "no such assessment")


def test_export_onto_a_file_exits_2(registered: str, tmp_path: Path) -> None:
    # `export --out` onto an existing file raised FileExistsError
    target = tmp_path / "taken.csv"
    target.write_text("keep me")
    for out in (target, target / "sub"):
        res = _run(registered, "export", "--out", str(out))
        assert_one_line_error(res, "'--out'", "existing file")
    assert target.read_text() == "keep me"


def _not_a_database(tmp_path: Path) -> str:
    f = tmp_path / "notes.sqlite3"
    f.write_bytes(b"these are my notes, not a database" * 50)
    return f"sqlite:///{f}"


def _other_application(tmp_path: Path) -> str:
    f = tmp_path / "other.sqlite3"
    eng = sa.create_engine(f"sqlite:///{f}")
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE patients (x TEXT)"))
    eng.dispose()
    return f"sqlite:///{f}"


@pytest.mark.parametrize(
    ("make_url", "words"),
    [
        (lambda p: "not a url", "not a database URL"),
        (lambda p: str(p / "registry.sqlite3"), "not a database URL"),
        (lambda p: "nosuchdialect://host/db", "unknown kind of database"),
        (lambda p: f"sqlite:///{p}", "cannot open the database"),
        (lambda p: f"sqlite:///{p / 'afile' / 'r.sqlite3'}", "cannot be created"),
        (_not_a_database, "cannot open the database"),
        (_other_application, "not a plptms registry"),
    ],
    ids=[
        "garbage",
        "path-without-scheme",
        "unknown-dialect",
        "directory",
        "under-a-file",
        "not-a-database",
        "other-application",
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["patient", "list"],
        ["patient", "add", "--site", "S1", "--code", "P1", "--actor", "n1"],
        ["audit", "verify"],
        ["assess", "show", "--site", "S1", "--code", "P1"],
    ],
    ids=["list", "add", "verify", "show"],
)
def test_bad_db_exits_2_in_one_line(
    tmp_path: Path, make_url: Any, words: str, command: list[str]
) -> None:
    # a bad --db URL or path raised a SQLAlchemy or OSError traceback
    (tmp_path / "afile").write_text("x")
    url = make_url(tmp_path)
    before = _snapshot(tmp_path)
    res = runner.invoke(app, [*command, "--db", url])
    assert_one_line_error(res, "'--db'", words)
    assert _snapshot(tmp_path) == before  # nothing written, no file created


def _snapshot(folder: Path) -> dict[str, object]:
    """Each file's bytes; for an SQLite database, its schema and rows instead (the
    journal mode in its header may change on opening)."""
    out: dict[str, object] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            out[p.name] = "dir"
        elif p.read_bytes()[:16] == b"SQLite format 3\x00":
            eng = sa.create_engine(f"sqlite:///{p}")
            with eng.connect() as c:
                schema = c.execute(sa.text("SELECT sql FROM sqlite_master")).all()
                rows = c.execute(sa.text("SELECT * FROM patients")).all()
            eng.dispose()
            out[p.name] = (sorted(map(str, schema)), rows)
        else:
            out[p.name] = p.read_bytes()
    return out


def test_password_is_not_echoed(tmp_path: Path) -> None:
    url = "postgresql+nosuchdriver://clinician:s3cret@localhost/registry"
    res = runner.invoke(app, ["patient", "list", "--db", url])
    line = assert_one_line_error(res, "'--db'")
    assert "s3cret" not in line
