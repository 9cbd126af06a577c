"""`plptms trial visits|visit|withdraw|cointervention|medication|blinding-guess|
blinding|screen-log` on the shipped example trial.

Dates are computed by hand: randomised 2026-03-02, ``followup_1m`` (day 44,
window -7/+7) is due 2026-04-15 with window 2026-04-08..2026-04-22. The
blinding example: with permuted blocks of 4 over the example's 4 arms, 4
patients fill one block (2 active, 2 sham); all guessing "active" gives the
table [[2, 0, 0], [2, 0, 0]], Bang indices 1 (active: all right) and -1 (sham:
all wrong), and James' index 0.5 (P_dk = 0; P_o = 1/2, P_e = 1 * 1/2 = 1/2,
kappa = 0, BI = (1 + 0 + 0) / 2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry
from plptms.trial import TrialDefinition
from plptms.workflow import create_trial, enrol_patient
from tests.workflow._trialdef import screen
from tests.workflow.test_trial_followup import DEFN, RANDOMISED_AT, TRIAL

runner = CliRunner()
ARMS = ("active_mt", "active_no_mt", "sham_mt", "sham_no_mt")
BLOCKS = TrialDefinition.model_validate(
    {
        **DEFN.model_dump(mode="json"),
        "randomisation": {"method": "blocks", "block_sizes": [4], "stratify": False},
    }
)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Four patients of S01 enrolled on 2026-03-02 (Berlin), one block of 4."""
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    monkeypatch.setattr("plptms.registry._trials.utc_now", lambda: RANDOMISED_AT)
    with Registry(url) as reg:
        reg.set_site("S01", name="Site 1", timezone="Europe/Berlin", actor="admin")
        create_trial(reg, BLOCKS, actor="statistician")
        for k in range(1, 5):
            code = f"P{k:03d}"
            reg.add_patient("S01", code, history=None, actor="n")
            screen(reg, "S01", code)
            enrol_patient(
                reg, TRIAL, "S01", code, {"limb": "upper", "pain_band": "nrs_4_6"},
                actor="c",
            )  # fmt: skip
    return url


def run(db: str, *args: str) -> Any:
    return runner.invoke(app, ["trial", *args, "--trial", TRIAL, "--db", db])


def test_visit_window_withdraw_and_the_sites_lists(db: str) -> None:
    base = ("visit", "S01/P001", "--visit-id", "followup_1m", "--actor", "rater")
    res = run(db, *base, "--date", "2026-04-23")
    assert res.exit_code == 1, res.output
    assert "2026-04-08 to 2026-04-22" in " ".join(res.output.split())
    res = run(db, *base, "--date", "2026-04-23", "--deviation-reason", "came late")
    assert res.exit_code == 0, res.output
    assert "protocol deviation: +1 day(s)" in res.output
    res = run(db, *base, "--date", "2026-04-23", "--deviation-reason", "came late")
    assert res.exit_code == 1  # recorded already
    res = run(db, "visit", "S01/P001", "--visit-id", "week_9", "--date",
              "2026-04-15", "--actor", "r")  # fmt: skip
    assert res.exit_code == 2
    assert "visit_id" in res.output
    res = run(db, *base[:-2], "--date", "2026-13-01", "--actor", "r")
    assert res.exit_code == 2
    # on 2026-04-10 followup_1m is due for everyone (P001's visit is later)
    res = run(db, "visits", "--site", "S01", "--today", "2026-04-10")
    assert res.exit_code == 0, res.output
    assert "Due (4)" in res.output
    assert "2026-04-15" in res.output
    assert not any(arm in res.output for arm in ARMS)  # kit codes, never arms
    withdraw = ("withdraw", "S01/P002", "--on", "2026-03-10", "--actor", "c")
    res = run(db, *withdraw, "--reason", "moved_away")
    assert res.exit_code == 2
    assert "reason" in res.output
    res = run(db, *withdraw, "--reason", "withdrew_consent")
    assert res.exit_code == 0, res.output
    assert run(db, *withdraw, "--reason", "withdrew_consent").exit_code == 1
    res = run(db, "visits", "--site", "S01", "--today", "2026-04-10")
    assert "Due (3)" in res.output
    assert "withdrew on 2026-03-10" in res.output


def test_records_blinding_and_screening_log(db: str) -> None:
    for k in range(1, 5):
        res = run(db, "visit", f"S01/P{k:03d}", "--visit-id", "end_of_course",
                  "--date", "2026-03-17", "--actor", "rater")  # fmt: skip
        assert res.exit_code == 0, res.output
        res = run(db, "blinding-guess", f"S01/P{k:03d}", "--visit-id",
                  "end_of_course", "--respondent", "patient", "--guess", "active",
                  "--actor", "rater")  # fmt: skip
        assert res.exit_code == 0, res.output
    at = ("S01/P001", "--visit-id", "end_of_course", "--actor", "physio")
    res = run(db, "cointervention", *at, "--co-intervention", "mirror_therapy",
              "--minutes", "150", "--sessions", "10")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Mirror therapy (delivered)" in res.output
    res = run(db, "cointervention", *at, "--co-intervention", "tens")
    assert res.exit_code == 2
    assert "co_intervention" in res.output
    res = run(db, "cointervention", *at, "--co-intervention", "other", "--name",
              "physiotherapy", "--not-delivered")  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run(db, "medication", *at, "--drug", "pregabalin", "--change", "started",
              "--dose", "75 mg bid")  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run(db, "medication", *at, "--drug", "pregabalin", "--change", "more")
    assert res.exit_code == 2
    assert "change" in res.output
    res = run(db, "medication", "S01/P002", "--visit-id", "followup_1m", "--drug",
              "x", "--change", "started", "--actor", "d")  # fmt: skip
    assert res.exit_code == 2  # the visit is not recorded yet
    assert "record the visit first" in " ".join(res.output.split())
    blinding = ("blinding", "--visit-id", "end_of_course", "--respondent", "patient")
    res = run(db, *blinding, "--role", "operator")
    assert res.exit_code == 1
    assert "role" in res.output
    res = run(db, *blinding, "--role", "statistician")
    assert res.exit_code == 0, res.output
    assert "James index 0.500" in res.output
    assert "Bang index, active: 1.000" in res.output
    assert "Bang index, placebo: -1.000" in res.output
    # screening log
    with Registry(db) as reg:
        reg.add_patient("S01", "S100", history=None, actor="n")
    log = ("screen-log", "--patient", "S01/S100", "--outcome", "declined",
           "--reason", "travel distance", "--actor", "dr1")  # fmt: skip
    assert run(db, *log).exit_code == 0
    assert run(db, *log).exit_code == 1  # logged already
    res = run(db, "screen-log", "--patient", "S01/P001", "--outcome", "declined",
              "--reason", "x", "--actor", "dr1")  # fmt: skip
    assert res.exit_code == 2
    assert "enrolled" in res.output
    res = run(db, "screen-log")
    assert res.exit_code == 0, res.output
    assert "S01/S100" in res.output
    assert "declined" in res.output
    assert dt.datetime.now(dt.UTC).date().isoformat() in res.output
