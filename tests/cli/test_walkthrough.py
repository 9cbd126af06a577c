"""From an empty registry to a delivered session, command by command.

Every step of the clinic's path before delivery has a command: register the
patient, store the screening, hunt and store the RMT, assign the protocol (with
the physician's review its unverified limits need), then run the session. The
assignment's review is what lets the session start: without it nothing is
assigned (issue 14: no verdict resting on an unverified limit is accepted
without review).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry

runner = CliRunner()


def _run(db: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--db", db])


ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- walk-through: start -->", "<!-- walk-through: end -->"


def readme_walkthrough() -> list[list[str]]:
    """The README's walk-through, one argument list per command."""
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(START) + len(START) : text.index(END)]
    body = block.split("```bash", 1)[1].rsplit("```", 1)[0]
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "plptms", line
            commands.append(words[1:])
    return commands


@pytest.mark.slow
def test_the_readme_walkthrough_reaches_a_delivered_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the README's block as written, from the repository root."""
    monkeypatch.chdir(ROOT)
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    commands = readme_walkthrough()
    assert [c[0] for c in commands][:4] == ["patient", "screen", "threshold", "assign"]
    for args in commands:
        res = _run(db, *args)
        assert res.exit_code == 0, (args, res.output)
    with Registry(db) as reg:
        (a,) = reg.list_assignments("S1", "P001")
        first, second = reg.list_deliveries(a.id)
        assert (first.status, second.status) == ("completed", "completed")
        rmt = reg.latest_rmt("S1", "P001")
        assert rmt is not None
        for d, pct in ((first, 90.0), (second, 80.0)):  # the amendment lowered 2
            pulses = [e for e in reg.delivery_events(d.id) if e.kind == "pulse"]
            assert len(pulses) == 5
            for e in pulses:
                assert e.intensity_pct_mso == pytest.approx(pct * rmt[0] / 100)
        assert reg.assignment_verdict(a.id).review is not None
        assert reg.verify_audit().ok


@pytest.mark.slow
def test_from_an_empty_registry_to_a_delivered_session(tmp_path: Path) -> None:
    """The same path, and what is refused on the way (no review, no assignment)."""
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    # the README's files (examples/): every screening answer no; one 10 Hz
    # train of 5 pulses at 90 % RMT, whose 10 Hz x 100 % MT limit is printed
    # ">5" s and not verified (Wassermann 1998, Table 4): review needed
    answers = ROOT / "examples" / "answers-eligible.yaml"
    proto = ROOT / "examples" / "one-train-10hz.yaml"

    steps = [
        ("patient", "add", "--site", "S1", "--code", "P001", "--actor", "nurse1"),
        ("screen", str(answers), "--patient", "S1/P001", "--actor", "dr1"),
        (
            "threshold", "hunt", "--method", "ml_pest", "--start", "70", "--seed",
            "4", "--site", "S1", "--code", "P001", "--actor", "tech1",
        ),
    ]  # fmt: skip
    for args in steps:
        res = _run(db, *args)
        assert res.exit_code == 0, (args, res.output)

    # without the physician's review the protocol is not assigned (exit 4)
    res = _run(db, "assign", "S1/P001", "--protocol", str(proto), "--actor", "dr1")
    assert res.exit_code == 4, res.output
    assert "Not assigned" in res.output
    with Registry(db) as reg:
        assert reg.list_assignments("S1", "P001") == []

    # a session cannot start on a protocol that was never assigned
    run = (
        "session", "run", "S1/P001", "--protocol", "one-train-10hz", "--number",
        "1", "--actor", "tech1", "--ae-reviewed",
    )  # fmt: skip
    assert _run(db, *run).exit_code == 2

    res = _run(
        db, "assign", "S1/P001", "--protocol", str(proto), "--actor", "dr1",
        "--review-physician", "Dr A",
        "--review-reason", "Unverified 10 Hz x 100 % MT cell reviewed.",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Assigned one-train-10hz to S1/P001" in res.output

    res = _run(db, *run)
    assert res.exit_code == 0, res.output
    with Registry(db) as reg:
        (aid,) = [a.id for a in reg.list_assignments("S1", "P001")]
        (delivery,) = reg.list_deliveries(aid)
        assert delivery.status == "completed"
        pulses = [e for e in reg.delivery_events(delivery.id) if e.kind == "pulse"]
        assert len(pulses) == 5
        stored = reg.assignment_verdict(aid)
        assert stored.review is not None
        assert stored.review.physician == "Dr A"
        assert reg.verify_audit().ok


def test_assign_refuses_a_refused_protocol_and_bad_input(tmp_path: Path) -> None:
    """A refused studied dose (Malavera 2016 as published) is not assigned."""
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    _run(db, "patient", "add", "--site", "S1", "--code", "P001", "--actor", "n1")
    res = _run(
        db, "assign", "S1/P001", "--protocol", "malavera2016-m1-10hz", "--actor", "d"
    )
    assert res.exit_code == 1, res.output
    assert "train_duration" in res.output
    res = _run(
        db, "assign", "S1/P001", "--protocol", "wang2022-m1-1hz", "--actor", "d",
        "--review-physician", "Dr A",
    )  # fmt: skip
    assert res.exit_code == 2
    assert "--review-reason" in res.output
    with Registry(db) as reg:
        assert reg.list_assignments("S1", "P001") == []
