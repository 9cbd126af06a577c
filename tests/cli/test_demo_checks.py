"""The demo delivers through the same pre-session checks as `session run` (issue 15).

Session 1 of the demo goes through ``plptms.workflow.prepare_start``: without an
RMT on record (or with a stale screening) it is blocked like any session, and
nothing is fired.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rich.console import Console

from plptms.cli._demo import _demo_deliver, load_demo_patient
from plptms.registry import Registry
from plptms.safety import ScreeningAnswers, load_screening_items, screen
from plptms.workflow import SessionRefusedError


def _registry(tmp_path: Path, *, screened_days_ago: int) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    pat = load_demo_patient()
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    day = dt.date.today() - dt.timedelta(days=screened_days_ago)
    with Registry(url) as reg:
        reg.add_patient("DEMO", pat.patient, history=pat.history, actor="t")
        reg.record_screening(
            "DEMO",
            pat.patient,
            screen(ScreeningAnswers(answers=answers, screened_on=day)),
            actor="t",
        )
    return url


def test_demo_session_is_blocked_without_an_rmt(tmp_path: Path) -> None:
    url = _registry(tmp_path, screened_days_ago=1)
    pat = load_demo_patient()
    with Registry(url) as reg:
        with pytest.raises(SessionRefusedError, match="rmt: no RMT recorded"):
            _demo_deliver(
                Console(quiet=True), reg, "DEMO", pat.patient, pat, None, 50.0
            )
        # the assignment was made (with its review), but no session was opened
        (a,) = reg.list_assignments("DEMO", pat.patient)
        assert reg.list_deliveries(a.id) == []
