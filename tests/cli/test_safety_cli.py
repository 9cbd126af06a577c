"""`plptms safety`: a site's policy and its physicians' readings of the table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry

from .conftest import assert_one_line_error

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def _row(output: str, hz: str, pct: str) -> str:
    """The table row of one cell."""
    for line in output.splitlines():
        cols = [c.strip() for c in line.split("│")]
        if len(cols) > 3 and cols[1] == hz and cols[2] == pct:
            return line
    raise AssertionError(output)


def test_verify_records_the_reading_and_the_table_shows_it(db_url: str) -> None:
    """A cell read as printed ('>5' at 10 Hz x 100 % MT) is verified at the site."""
    res = _run(
        "safety",
        "verify",
        "S1",
        "--physician",
        "Dr Paper",
        "--cell",
        "10x100=>5",
        "--db",
        db_url,
    )
    assert res.exit_code == 0, res.output
    assert "10 Hz x 100 % MT read as >5 s" in res.output
    with Registry(db_url) as reg:
        (r,) = reg.cell_readings("S1")
        assert (r.frequency_hz, r.intensity_pct_mt, r.value_s, r.lower_bound) == (
            10.0,
            100.0,
            5.0,
            True,
        )
        assert r.physician == "Dr Paper"
        assert reg.verify_audit().ok
    table = _run("safety", "table", "S1", "--db", db_url)
    assert table.exit_code == 0, table.output
    row = _row(table.output, "10", "100")
    assert "verified" in row
    assert "not verified" not in row
    assert ">5 by Dr Paper" in row
    other = _run("safety", "table", "S2", "--db", db_url)
    row2 = _row(other.output, "10", "100")
    assert "not verified" in row2


def test_verify_from_a_file(db_url: str, tmp_path: Path) -> None:
    """The whole table (or part) can be read from a file."""
    f = tmp_path / "cells.yaml"
    f.write_text(
        "cells:\n"
        "  - {frequency_hz: 20, intensity_pct_mt: 100, value_s: 2.05,"
        " lower_bound: false}\n"
        "  - {frequency_hz: 25, intensity_pct_mt: 100, value_s: 1.28,"
        " lower_bound: false}\n"
    )
    res = _run(
        "safety",
        "verify",
        "S1",
        "--physician",
        "Dr P",
        "--file",
        str(f),
        "--db",
        db_url,
    )
    assert res.exit_code == 0, res.output
    with Registry(db_url) as reg:
        assert len(reg.cell_readings("S1")) == 2


def test_bad_cells_are_refused_in_one_line(db_url: str) -> None:
    """A malformed cell or one that is not in the table names the field."""
    assert_one_line_error(
        _run(
            "safety",
            "verify",
            "S1",
            "--physician",
            "Dr P",
            "--cell",
            "10-100=5",
            "--db",
            db_url,
        ),
        "--cell",
    )
    assert_one_line_error(
        _run(
            "safety",
            "verify",
            "S1",
            "--physician",
            "Dr P",
            "--cell",
            "15x100=5",
            "--db",
            db_url,
        ),
        "frequency_hz",
    )
    with Registry(db_url) as reg:
        assert reg.cell_readings("S1") == ()


def test_policy_margin_needs_a_reason(db_url: str) -> None:
    """A train-duration margin is an explicit policy with a recorded reason."""
    assert_one_line_error(
        _run(
            "safety", "policy", "S1", "--margin", "0.75", "--actor", "c", "--db", db_url
        ),
        "margin_reason",
    )
    res = _run(
        "safety",
        "policy",
        "S1",
        "--name",
        "chen-cut",
        "--margin",
        "0.75",
        "--reason",
        "Committee decision: Chen 1997 25 % cut.",
        "--actor",
        "c",
        "--db",
        db_url,
    )
    assert res.exit_code == 0, res.output
    assert "chen-cut" in res.output
    assert "0.75" in res.output
    shown = _run("safety", "policy", "S1", "--db", db_url)
    assert "chen-cut" in shown.output
