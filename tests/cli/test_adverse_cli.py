"""`plptms ae` and `plptms site`: adverse events, reviews and site settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry

from .conftest import assert_one_line_error

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    with Registry(url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    return url


def test_record_list_review(db: str) -> None:
    res = _run(
        "ae", "record", "S1/P001", "--term", "headache", "--severity", "mild",
        "--relatedness", "possible", "--actor", "nurse1", "--onset", "2026-01-10",
        "--db", db,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "AE 1 (headache, mild, onset 2026-01-10)" in res.output
    assert "blocked until a physician reviews" in res.output
    listed = _run("ae", "list", "S1/P001", "--db", db)
    assert listed.exit_code == 0, listed.output
    assert "not reviewed" in listed.output
    assert "2026-01-10" in listed.output
    rev = _run(
        "ae", "review", "1", "--physician", "Dr Rev", "--note", "Tension headache.",
        "--db", db,
    )  # fmt: skip
    assert rev.exit_code == 0, rev.output
    assert "reviewed by Dr Rev" in rev.output
    assert "may continue" in rev.output
    with Registry(db) as reg:
        (e,) = reg.list_adverse_events("S1", "P001")
        assert e.reviewed
        assert e.review is not None
        assert e.review.note == "Tension headache."
        assert reg.verify_audit().ok


def test_a_serious_event_needs_a_criterion_and_a_decision(db: str) -> None:
    """Serious by ICH E2A needs the criterion met; its review must decide."""
    bad = _run(
        "ae", "record", "S1/P001", "--term", "syncope", "--severity", "moderate",
        "--serious", "--relatedness", "possible", "--actor", "n1", "--db", db,
    )  # fmt: skip
    assert_one_line_error(bad, "serious_criterion")
    ok = _run(
        "ae", "record", "S1/P001", "--term", "syncope", "--severity", "moderate",
        "--serious", "--serious-criterion", "hospitalisation", "--relatedness",
        "possible", "--actor", "n1", "--db", db,
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "serious event" in ok.output
    undecided = _run(
        "ae", "review", "1", "--physician", "Dr R", "--note", "Seen.", "--db", db
    )
    assert_one_line_error(undecided, "continue_treatment")
    stop = _run(
        "ae", "review", "1", "--physician", "Dr R", "--note", "Stop for now.",
        "--stop-treatment", "--db", db,
    )  # fmt: skip
    assert stop.exit_code == 0, stop.output
    assert "STOPPED" in stop.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--term", "migraine"], ["term", "migraine"]),
        (["--severity", "grade7"], ["severity", "grade7"]),
        (["--relatedness", "maybe"], ["relatedness", "maybe"]),
        (["--onset", "2999-01-01"], ["onset_on", "2999-01-01"]),
        (["--onset", "yesterday"], ["onset_on"]),
    ],
)
def test_bad_record_input_exits_2_and_stores_nothing(
    db: str, args: list[str], words: list[str]
) -> None:
    base = {
        "--term": "headache",
        "--severity": "mild",
        "--relatedness": "possible",
        "--actor": "n1",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    res = _run("ae", "record", "S1/P001", *flat, "--db", db)
    assert_one_line_error(res, *words)
    with Registry(db) as reg:
        assert reg.list_adverse_events("S1", "P001") == []


def test_reads_do_not_create_a_registry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    for args in (["ae", "list", "S1/P001"], ["site", "show", "S1"]):
        res = _run(*args, "--db", url)
        assert_one_line_error(res, "no registry")
    assert not (tmp_path / "none.sqlite3").exists()


def test_site_set_and_show(db: str) -> None:
    res = _run(
        "site", "set", "S1", "--timezone", "Pacific/Kiritimati", "--name", "Line",
        "--actor", "admin", "--db", db,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Pacific/Kiritimati" in res.output
    # the date shown is the date at UTC+14 (Kiritimati has no DST), taken just
    # before and after the command in case midnight passes in between
    kiritimati = dt.timezone(dt.timedelta(hours=14))
    first = dt.datetime.now(kiritimati).date()
    shown = _run("site", "show", "S1", "--db", db)
    last = dt.datetime.now(kiritimati).date()
    assert shown.exit_code == 0, shown.output
    assert "Pacific/Kiritimati" in shown.output
    assert f"Today there: {first.isoformat()}" in shown.output or (
        f"Today there: {last.isoformat()}" in shown.output
    )
    bad = _run(
        "site", "set", "S1", "--timezone", "Mars/Olympus", "--name", "X",
        "--actor", "a", "--db", db,
    )  # fmt: skip
    assert_one_line_error(bad, "timezone", "Mars/Olympus")
    with Registry(db) as reg:
        site = reg.get_site("S1")
        assert site is not None
        assert site.timezone == "Pacific/Kiritimati"


def test_show_an_unset_site(db: str) -> None:
    res = _run("site", "show", "S7", "--db", db)
    assert res.exit_code == 0, res.output
    assert "no site settings recorded" in res.output
