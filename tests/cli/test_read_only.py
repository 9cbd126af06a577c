"""Commands that only read never create a database (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app

from .conftest import assert_one_line_error

runner = CliRunner()

READERS = (
    ("patient", "list"),
    ("patient", "show", "--site", "S1", "--code", "P001"),
    ("assess", "show", "--site", "S1", "--code", "P001"),
    ("audit", "verify"),
    ("plan", "S1/P001"),
    ("report", "S1/P001", "--out", "reports"),
    ("safety", "table", "S1"),
    ("safety", "policy", "S1"),
    ("session", "show", "1"),
    ("target", "plan", "S1/P001", "--ni", "36", "--tt", "35", "--cf", "57"),
)


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a[:2]))
def test_a_read_on_a_missing_registry_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    db_file = tmp_path / "nothing-here" / "r.sqlite3"
    res = runner.invoke(app, [*args, "--db", f"sqlite:///{db_file}"])
    assert_one_line_error(res, "'--db'", "no registry at", "plptms patient add")
    assert not db_file.exists()
    assert not db_file.parent.exists() or not any(db_file.parent.iterdir())


def test_a_write_creates_it_and_then_reads_work(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    res = runner.invoke(
        app,
        [
            "patient",
            "add",
            "--site",
            "S1",
            "--code",
            "P001",
            "--actor",
            "n",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["patient", "list", "--db", db])
    assert res.exit_code == 0, res.output
    assert "P001" in res.output
