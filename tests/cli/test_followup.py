"""`plptms followup`: the clinic follow-up calendar in the terminal.

Hand dates: P001's course (10 sessions) ends Fri 2026-03-06; the 4-week visit
is Fri 2026-04-03 with window 2026-03-27 to 2026-04-10, the 12-week one Fri
2026-05-29 (2026-05-22 to 2026-06-05). P002 has 3 of 10 sessions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry
from tests.cli.conftest import assert_one_line_error
from tests.workflow.test_clinic_followup import COURSE, _course

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    with Registry(url) as reg:
        _course(reg, "S1", "P001")
        _course(reg, "S1", "P002", COURSE[:3])
        _course(reg, "S2", "Q001")
    return url


def test_followup_lists_overdue_first_with_hand_dates(db: str) -> None:
    res = runner.invoke(
        app, ["followup", "--site", "S1", "--on", "2026-04-11", "--db", db]
    )
    assert res.exit_code == 0, res.output
    out = res.output
    assert "S1: states on 2026-04-11" in out
    assert "4 wk 2026-04-03 [2026-03-27 to 2026-04-10]: OVERDUE" in out
    assert "12 wk 2026-05-29 [2026-05-22 to 2026-06-05]: upcoming" in out
    assert out.index("S1/P001") < out.index("S1/P002")  # overdue before in course
    assert "3 of 10 (next 4)" in out
    assert "S2/Q001" not in out  # one site asked for


def test_followup_every_site_and_due_on_window_start(db: str) -> None:
    res = runner.invoke(app, ["followup", "--on", "2026-03-27", "--db", db])
    assert res.exit_code == 0, res.output
    assert "S1: states on 2026-03-27" in res.output
    assert "S2: states on 2026-03-27" in res.output
    assert "[2026-03-27 to 2026-04-10]: due" in res.output


@pytest.mark.parametrize("bad", ["2026-4-1", "20260401", "2026-02-30", "today"])
def test_followup_refuses_a_bad_date(db: str, bad: str) -> None:
    res = runner.invoke(app, ["followup", "--on", bad, "--db", db])
    assert_one_line_error(res, "'--on'", bad)


def test_followup_refuses_a_bad_site_code(db: str) -> None:
    res = runner.invoke(app, ["followup", "--site", "S,1", "--db", db])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
