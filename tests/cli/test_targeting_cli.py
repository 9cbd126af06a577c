"""Targeting commands of the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from plptms.cli.main import app

runner = CliRunner()
TODAY = dt.date.today()


def test_help() -> None:
    res = runner.invoke(app, ["target", "plan", "--help"])
    assert res.exit_code == 0
    assert "Usage" in res.output


def test_plan_from_file(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        "patient: T-001\namputation: {side: right, limb: lower, level: transtibial}\n"
        "head: {nasion_inion_cm: 36, tragus_tragus_cm: 36, circumference_cm: 57}\n"
        "protocol: grammer2015-s1-dlpfc\n"
    )
    out = tmp_path / "sheet.png"
    res = runner.invoke(app, ["target", "plan", str(f), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "left" in res.output  # contralateral to a right amputation
    assert "s1" in res.output
    assert "dlpfc" in res.output
    assert out.stat().st_size > 20_000


def test_plan_from_registry(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    hist = tmp_path / "h.yaml"
    hist.write_text(
        "side: left\nlimb: upper\nlevel: transradial\ncause: trauma\n"
        f"amputation_date: {(TODAY - dt.timedelta(days=900)).isoformat()}\n"
        f"assessed_on: {TODAY.isoformat()}\n"
        "prosthesis_use: daily\nphantom_sensations: true\ntelescoping: false\n"
    )
    assert (
        runner.invoke(
            app,
            [
                "patient",
                "add",
                "--site",
                "S1",
                "--code",
                "P1",
                "--history",
                str(hist),
                "--actor",
                "n",
                "--db",
                db,
            ],
        ).exit_code
        == 0
    )
    out = tmp_path / "s.png"
    res = runner.invoke(
        app,
        [
            "target",
            "plan",
            "S1/P1",
            "--ni",
            "35",
            "--tt",
            "34",
            "--cf",
            "56",
            "--target",
            "m1",
            "--out",
            str(out),
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "m1_hand" in res.output
    assert "right" in res.output


def test_plan_bad_head(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("amputation: {side: left, limb: upper}\n")
    res = runner.invoke(
        app,
        [
            "target",
            "plan",
            str(f),
            "--ni",
            "90",
            "--tt",
            "35",
            "--cf",
            "57",
            "--target",
            "dlpfc",
            "--out",
            str(tmp_path / "x.png"),
        ],
    )
    assert res.exit_code == 2
    assert "nasion_inion_cm" in res.output


def test_plan_from_registry_takes_the_assigned_protocol(tmp_path: Path) -> None:
    from plptms.protocol import Protocol
    from plptms.registry import Registry
    from plptms.safety import check_protocol
    from tests._review import REVIEW
    from tests.workflow.conftest import protocol_data
    from tests.workflow.test_targeting_views import history

    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    with Registry(db) as reg:
        reg.add_patient("S1", "P1", history=history("left", "upper"), actor="n")
        reg.add_patient("S1", "P2", history=history("left", "upper"), actor="n")
        proto = Protocol.model_validate(protocol_data())  # m1_hand, contralateral
        reg.assign_protocol(
            "S1", "P1", proto, check_protocol(proto, review=REVIEW), actor="dr"
        )
    head = ["--ni", "38", "--tt", "36", "--cf", "60", "--db", db]
    out = tmp_path / "s.png"
    res = runner.invoke(app, ["target", "plan", "S1/P1", *head, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "m1_hand" in res.output
    assert "right" in res.output  # contralateral to the left arm
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = runner.invoke(app, ["target", "plan", "S1/P2", *head, "--out", str(out)])
    assert res.exit_code == 2
    assert "protocol_id" in res.output
    assert "no assigned protocol" in res.output
