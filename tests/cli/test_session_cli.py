"""Session commands of the CLI on the simulated stimulator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.protocol import Protocol
from plptms.registry import Registry
from tests._review import REVIEW

runner = CliRunner()

SMALL = {
    "id": "small-10hz",
    "name": "test: 2 trains of 5 pulses",
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
                "trains_per_session": 2,
                "inter_train_interval_s": 5,
            },
            "sessions": 10,
            "sessions_per_week": 5,
            "course_weeks": 2,
        }
    ],
}


@pytest.fixture
def db(tmp_path: Path) -> str:
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.safety import (
        ScreeningAnswers,
        check_protocol,
        load_screening_items,
        screen,
    )

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    with Registry(url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        reg.record_screening(
            "S1",
            "P001",
            screen(ScreeningAnswers(answers=answers, screened_on=dt.date.today())),
            actor="dr1",
        )
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=50.0), seed=3),
            start_intensity_pct_mso=60.0,
        )
        reg.record_rmt(
            "S1",
            "P001",
            hunt,
            hemisphere="right",
            muscle="FDI",
            stimulator="sim",
            actor="tech1",
        )
        proto = Protocol.model_validate(SMALL)
        reg.assign_protocol(
            "S1", "P001", proto, check_protocol(proto, review=REVIEW), actor="dr1"
        )
        sham = Protocol.model_validate(
            {**SMALL, "id": "small-sham", "condition": "sham"}
        )
        reg.assign_protocol(
            "S1", "P001", sham, check_protocol(sham, review=REVIEW), actor="dr1"
        )
    return url


@pytest.mark.slow
def test_session_run_show(db: str) -> None:
    res = runner.invoke(
        app,
        [
            "session",
            "run",
            "S1/P001",
            "--protocol",
            "small-10hz",
            "--number",
            "1",
            "--actor",
            "tech1",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 1  # adverse events not reviewed: blocked
    assert "BLOCKED adverse_events" in res.output
    res = runner.invoke(
        app,
        [
            "session",
            "run",
            "S1/P001",
            "--protocol",
            "small-10hz",
            "--number",
            "1",
            "--actor",
            "tech1",
            "--ae-reviewed",
            "--lsl-markers",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "completed" in res.output
    assert "plptms-pulses" in res.output
    assert "10/10 pulses" in res.output
    with Registry(db) as reg:
        events = reg.delivery_events(1)
        assert sum(e.kind == "pulse" for e in events) == 10
        assert reg.get_delivery(1).status == "completed"
        assert reg.verify_audit().ok
    res = runner.invoke(app, ["session", "show", "1", "--db", db])
    assert res.exit_code == 0, res.output
    assert "10/10 pulses" in res.output
    res = runner.invoke(app, ["session", "resume", "1", "--actor", "t", "--db", db])
    assert res.exit_code == 2
    assert "already completed" in res.output
    res = runner.invoke(
        app,
        [
            "session",
            "run",
            "S1/P001",
            "--protocol",
            "nope",
            "--number",
            "2",
            "--actor",
            "t",
            "--ae-reviewed",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 2
    assert "not assigned" in res.output


@pytest.mark.slow
def test_sham_session_is_blinded(db: str) -> None:
    res = runner.invoke(
        app,
        [
            "session",
            "run",
            "S1/P001",
            "--protocol",
            "small-sham",
            "--number",
            "1",
            "--actor",
            "tech1",
            "--ae-reviewed",
            "--blinded",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "sham" not in res.output.lower()  # the operator never sees the condition
    assert "blinded" in res.output
    res = runner.invoke(app, ["session", "show", "1", "--db", db])
    assert "condition blinded" in res.output
    res = runner.invoke(
        app,
        [
            "session",
            "run",
            "S1/P001",
            "--protocol",
            "small-sham",
            "--number",
            "2",
            "--actor",
            "tech1",
            "--ae-reviewed",
            "--device",
            "magstim",
            "--port",
            "/dev/null",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 2


@pytest.mark.parametrize("command", ["show", "resume"])
def test_session_ids_beyond_64_bits_are_refused_in_one_line(
    db: str, command: str
) -> None:
    # observed: ids >= 2^63 ended in an OverflowError traceback
    args = ["session", command, str(2**63), "--db", db]
    if command == "resume":
        args += ["--actor", "t"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "session_id" in res.output


def test_unknown_device_leaves_no_session(db: str) -> None:
    # observed: session run --device toaster left a running session with 0 pulses
    res = runner.invoke(
        app,
        [
            "session",
            "run",
            "S1/P001",
            "--protocol",
            "small-10hz",
            "--number",
            "1",
            "--actor",
            "t",
            "--ae-reviewed",
            "--device",
            "toaster",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 2
    assert "toaster" in res.output
    with Registry(db) as reg:
        assert reg.list_deliveries(1) == []


def test_session_abort_ends_an_interrupted_session(db: str) -> None:
    from plptms.delivery import FaultKind, FaultPlan, SimulatedStimulator
    from plptms.workflow import prepare_start, run_delivery

    with Registry(db) as reg:
        prepared = prepare_start(
            reg, "S1", "P001", "small-10hz", 1, device="sim", actor="t",
            ae_reviewed=True,
        )  # fmt: skip
        stim = SimulatedStimulator(
            arm_delay_s=0.0,
            faults=FaultPlan(kind=FaultKind.OVER_TEMPERATURE, after_pulses=2),
        )
        assert run_delivery(reg, prepared, stim, actor="t").status == "faulted"
    sid = str(prepared.session_id)
    args = ["session", "abort", sid, "--actor", "tech1", "--db", db]
    res = runner.invoke(app, [*args, "--reason", "Patient declined to go on."])
    assert res.exit_code == 0, res.output
    assert "aborted" in res.output
    with Registry(db) as reg:
        assert reg.get_delivery(prepared.session_id).status == "aborted"
    res = runner.invoke(app, [*args, "--reason", "Patient declined to go on."])
    assert res.exit_code == 2
    assert "status 'aborted'" in res.output
