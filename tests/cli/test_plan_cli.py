"""``plptms plan``: rank and plan for a registered patient; size a trial."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.planner import PatientPlan, plan_for_patient, trial_design
from plptms.planner._text import MSO_UNKNOWN, mso_text
from plptms.registry import Registry
from plptms.workflow import context_from_registry

from ..report._patients import add_patient

runner = CliRunner()
START = "2026-03-02"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('plan') / 'r.sqlite3'}"
    add_patient(url, "FULL", course=True)
    add_patient(url, "NORMT", rmt_pct_mso=None)
    add_patient(url, "HIGHRMT", rmt_pct_mso=92.0)
    add_patient(url, "EXCL", screening="excluded")
    add_patient(url, "NOHIST", history=False)
    return url


def _plan(db: str, *args: str) -> Any:
    return runner.invoke(app, ["plan", *args, "--db", db])


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_json_equals_planner_output(db: str) -> None:
    res = _plan(db, "S1/FULL", "--start", START, "--json")
    # rank 1 (wang2022, 1 Hz) passes every limit for this screened patient with
    # an RMT, but the 1 Hz limits rest on table cells not verified against the
    # paper (Wassermann 1998, Table 4): physician review pending, exit 3
    assert res.exit_code == 3, res.output
    out = json.loads(res.output)
    with Registry(db) as reg:
        ctx = context_from_registry(reg, "S1", "FULL")
    expected = plan_for_patient(ctx.context, start_date=dt.date(2026, 3, 2))
    assert PatientPlan.model_validate(out["result"]) == expected
    assert out["context"]["unknown"] == list(ctx.unknown)
    assert "not a certified medical device" in out["disclaimer"]


def test_text_output_shows_plan_values(db: str) -> None:
    res = _plan(db, "S1/FULL", "--start", START)
    assert res.exit_code == 3, res.output  # physician review of unverified limits
    text = _flat(res.output)
    with Registry(db) as reg:
        ctx = context_from_registry(reg, "S1", "FULL")
    expected = plan_for_patient(ctx.context, start_date=dt.date(2026, 3, 2))
    plan = expected.plan
    assert plan is not None
    assert f"Plan: {expected.protocol_id} (rank 1)" in text
    for b in plan.blocks:
        assert mso_text(b) in text
        assert f"{b.intensity_pct_rmt:g} % RMT" in text
    for s in plan.sessions:
        assert f"#{s.number} {s.date.strftime('%a %d %b')}" in text
    for f in plan.follow_ups:
        assert f.date.isoformat() in text
    # the consensus, in both of the review's wordings
    c = expected.rankings[0].consensus[0]
    assert f"first-line (non-drug): {c.first_line}" in text
    assert f"second-line: {c.second_line}" in text
    assert "not a certified medical device" in text
    # the registry gap is named
    assert "Not in the registry" in text
    assert "wang2022-m1-1hz" in text
    # the M1 area is inferred (the review gives none) and the source is named
    assert "area inferred, not studied" in text
    assert "primary paper not reached" in text
    assert "refused by train_duration" in text


def test_refused_studied_protocol_shows_override_needs(db: str) -> None:
    """Malavera et al. (2016) as published: refused, with what an override needs."""
    res = _plan(db, "S1/FULL", "--start", START, "--protocol", "malavera2016-m1-10hz")
    assert res.exit_code == 1, res.output
    text = _flat(res.output)
    assert "No plan is made" in text
    assert "What an override would need" in text
    assert "rule train_duration, field pulses_per_train: value 6 s, limit 5 s" in text
    assert "operator reason" in text
    assert "physician review" in text
    # the study's source and the review's errors, side by side
    assert "read: the published abstract" in text
    assert "corrected target: review 'contralateral M1'" in text
    out = json.loads(
        _plan(
            db,
            "S1/FULL",
            "--start",
            START,
            "--protocol",
            "malavera2016-m1-10hz",
            "--json",
        ).output
    )
    (need,) = out["result"]["override_needs"]
    assert need["rule_id"] == "train_duration"
    assert need["overridable"] is True


def test_target_deviation_option(db: str) -> None:
    args = ["S1/FULL", "--start", START, "--protocol", "consensus2024-example-10hz"]
    res = _plan(
        db,
        *args,
        "--target",
        "M1=m1_leg",
        "--target-reason",
        "testing a deviation end to end",
        "--operator",
        "dr cli",
    )
    assert res.exit_code == 3, res.output  # a recorded deviation is pending review
    text = _flat(res.output)
    assert "NOT STUDIED" in text
    assert "dr cli" in text
    for bad, needle in (
        (["--target", "M1=m1_leg"], "--target-reason"),
        (
            ["--target", "M1=leg", "--target-reason", "x" * 12, "--operator", "a"],
            "m1_hand",
        ),
        (["--target-reason", "x" * 12], "--target"),
        (
            ["--target", "S1=s1", "--target-reason", "x" * 12, "--operator", "a"],
            "deviation.block",
        ),
    ):
        r = _plan(db, *args, *bad)
        assert r.exit_code == 2, (bad, r.output)
        assert needle in _flat(r.output), (bad, r.output)


def test_default_subcommand_is_patient(db: str) -> None:
    a = _plan(db, "S1/FULL", "--start", START, "--json")
    b = _plan(db, "patient", "S1/FULL", "--start", START, "--json")
    assert a.exit_code == b.exit_code == 3
    assert json.loads(a.output) == json.loads(b.output)


def test_missing_rmt_mso_not_yet_known(db: str) -> None:
    res = _plan(db, "S1/NORMT", "--protocol", "consensus2024-example-10hz")
    assert res.exit_code == 3, res.output
    text = _flat(res.output)
    assert MSO_UNKNOWN in text
    assert "resting motor threshold: not measured" in text


def test_prior_non_response_down_ranks(db: str) -> None:
    res = _plan(
        db,
        "S1/FULL",
        "--prior",
        "malavera2016-m1-10hz=non-responder",
        "--json",
    )
    out = json.loads(res.output)
    rows = {r["protocol_id"]: r for r in out["result"]["rankings"]}
    assert rows["malavera2016-m1-10hz"]["down_ranked"]
    assert out["result"]["protocol_id"] != "malavera2016-m1-10hz"


def test_refused_protocol_exit_1(db: str) -> None:
    res = _plan(db, "S1/HIGHRMT", "--protocol", "grammer2015-s1-dlpfc")
    assert res.exit_code == 1, res.output
    text = _flat(res.output)
    assert "No plan is made" in text
    assert "refused" in text
    assert "Decision: REFUSED" in text


def test_excluded_exit_1(db: str) -> None:
    res = _plan(db, "S1/EXCL")
    assert res.exit_code == 1, res.output
    assert "screening excluded the patient" in _flat(res.output)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["S1/NOPE"], "no such patient"),
        (["NOSLASH"], "SITE/CODE"),
        (["S1/NOHIST"], "'history'"),
        (["S1/FULL", "--protocol", "nope"], "protocol_id"),
        (["S1/FULL", "--start", "2026-02-30"], "--start"),
        (["S1/FULL", "--prior", "x"], "--prior"),
        (["S1/FULL", "--sessions-per-week", "6"], "sessions_per_week"),
    ],
)
def test_bad_input_exit_2(db: str, args: list[str], needle: str) -> None:
    res = _plan(db, *args)
    assert res.exit_code == 2, res.output
    assert needle in _flat(res.output)


def test_unknown_patient_message(db: str) -> None:
    res = _plan(db, "S9/P999")
    assert res.exit_code == 2
    assert "Invalid value for 'code': got S9/P999; no such patient" in _flat(res.output)


def test_trial_size(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "trial-size", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == json.loads(trial_design().model_dump_json())
    res = runner.invoke(app, ["plan", "trial-size", "--effect", "0.5"])
    assert res.exit_code == 0, res.output
    # Cohen (1988): 64 per group for d = 0.5
    assert re.search(r"\b64\b.*\b64\b.*\b128\b", res.output)
    res = runner.invoke(app, ["plan", "trial-size", "--effect", "0.5", "--alpha", "2"])
    assert res.exit_code == 2
    assert "alpha" in res.output


def test_help() -> None:
    res = runner.invoke(app, ["plan", "--help"])
    assert res.exit_code == 0
    assert "trial-size" in res.output
    assert "SITE/CODE" in res.output
