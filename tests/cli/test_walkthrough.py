"""From an empty registry to a delivered session, command by command.

Every step of the clinic's path before delivery has a command: register the
patient, store the screening, hunt and store the RMT, assign the protocol (with
the physician's review its unverified limits need), then run the session. The
assignment's review is what lets the session start: without it nothing is
assigned (issue 14: no verdict resting on an unverified limit is accepted
without review).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry
from plptms.safety import load_screening_items

runner = CliRunner()

#: One train of 5 pulses at 10 Hz, 90 % RMT, every session: its limit is the
#: 10 Hz x 100 % MT cell (printed ">5" s; Wassermann 1998, Table 4), which is
#: not verified against the paper, so the verdict needs physician review.
ONE_TRAIN = {
    "id": "one-train-10hz",
    "name": "walk-through: one 10 Hz train of 5 pulses",
    "condition": "active",
    "blocks": [
        {
            "label": "M1",
            "dose": {
                "pattern": "rtms",
                "target": "m1_hand",
                "laterality": "contralateral",
                "frequency_hz": 10,
                "intensity_pct_rmt": 90,
                "pulses_per_train": 5,
                "trains_per_session": 1,
                "inter_train_interval_s": 0,
            },
            "sessions": 10,
            "sessions_per_week": 5,
            "course_weeks": 2,
        }
    ],
}


def _run(db: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--db", db])


@pytest.mark.slow
def test_from_an_empty_registry_to_a_delivered_session(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"answers": {i.id: "no" for i in load_screening_items()}})
    )
    proto = tmp_path / "one-train.json"
    proto.write_text(json.dumps(ONE_TRAIN))

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
