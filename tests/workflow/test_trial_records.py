"""Records at trial visits (co-interventions, medication, blinding) and the
screening log, on the shipped example trial (SQLite).

The blinding oracle is computed by hand. With 4 patients in active arms guessing
active, active, active, sham and 4 in sham arms guessing active, sham, sham,
don't know, the table is [[3, 1, 0], [1, 2, 1]]:

- Bang et al. (2004): right minus wrong over the arm's respondents,
  (3 - 1) / 4 = 0.5 (active) and (2 - 1) / 4 = 0.25 (sham);
- James et al. (1996): P_dk = 1/8, q = 7/8; wrong guesses 2/8, so
  P_o = (2/8) / q = 2/7; guess totals (4/8, 3/8), arm totals among guessers
  (4/8, 3/8), P_e = (4/8 * 3/8 + 3/8 * 4/8) / q^2 = 24/49;
  kappa = (2/7 - 24/49) / (24/49) = -5/12;
  BI = (1 + 1/8 + 7/8 * (-5/12)) / 2 = 73/192.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.registry import (
    DuplicateRecordError,
    RecordNotFoundError,
    Registry,
    RegistryError,
)
from plptms.trial import TrialDefinition
from plptms.workflow import (
    BlindingGuessInput,
    CoInterventionInput,
    FollowUpRefusedError,
    MedicationChangeInput,
    ScreeningOutcomeInput,
    TrialVisitInput,
    blinding_assessment,
    create_trial,
    record_blinding_guess,
    record_cointervention,
    record_medication_change,
    record_screening_outcome,
    record_trial_visit,
    screening_log,
)

from ._trialdef import screen
from .test_trial_followup import DEFN, RANDOMISED_AT, TRIAL, enrol_at

ATOL = 1e-12  # exact fractions, computed in floating point
VISIT = "end_of_course"
EOC = dt.date(2026, 3, 17)  # inside 2026-03-16..2026-03-19
RECORDS = (
    "trial_cointerventions",
    "trial_medication_changes",
    "trial_blinding_guesses",
    "trial_screening_outcomes",
    "audit_log",
)

#: The example with permuted blocks of 8 over its 4 arms (one stratum): after 8
#: patients exactly 2 per arm, so 4 active and 4 sham.
BLOCKS = TrialDefinition.model_validate(
    {
        **DEFN.model_dump(mode="json"),
        "randomisation": {"method": "blocks", "block_sizes": [8], "stratify": False},
    }
)


def _counts(reg: Registry) -> dict[str, int]:
    with reg.engine.connect() as c:
        return {
            t: int(c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in RECORDS
        }


def _visit(reg: Registry, code: str) -> None:
    record_trial_visit(
        reg,
        TrialVisitInput(
            trial_id=TRIAL, site="S01", code=code, visit_id=VISIT, visit_date=EOC
        ),
        actor="rater",
    )


@pytest.fixture
def reg(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with Registry(f"sqlite:///{tmp_path / 'r.sqlite3'}") as r:
        r.set_site("S01", name="Site 1", timezone="Europe/Berlin", actor="admin")
        create_trial(r, BLOCKS, actor="statistician")
        for k in range(8):
            enrol_at(r, monkeypatch, f"P{k:03d}", RANDOMISED_AT)
        yield r


def test_cointerventions_need_the_visit_and_the_trials_ids(reg: Registry) -> None:
    mirror = CoInterventionInput(
        trial_id=TRIAL, site="S01", code="P000", visit_id=VISIT,
        co_intervention="mirror_therapy", delivered=True, minutes=150, sessions=10,
    )  # fmt: skip
    before = _counts(reg)
    with pytest.raises(RecordNotFoundError, match="visit_id"):
        record_cointervention(reg, mirror, actor="physio")
    _visit(reg, "P000")
    before = _counts(reg)
    with pytest.raises(ValueError, match="'co_intervention': got 'tens'") as err:
        record_cointervention(
            reg, mirror.model_copy(update={"co_intervention": "tens"}), actor="p"
        )
    assert "mirror_therapy, other" in str(err.value)
    with pytest.raises(ValueError, match="name"):
        record_cointervention(
            reg, mirror.model_copy(update={"co_intervention": "other"}), actor="p"
        )
    with pytest.raises(ValueError, match="'visit_id': got 'week_9'"):
        record_cointervention(
            reg, mirror.model_copy(update={"visit_id": "week_9"}), actor="p"
        )
    with pytest.raises(ValidationError, match="minutes"):
        CoInterventionInput.model_validate({**mirror.model_dump(), "minutes": -5})
    assert _counts(reg) == before
    out = record_cointervention(reg, mirror, actor="physio")
    assert (out.kind, out.co_intervention, out.name) == (
        "trial", "mirror_therapy", "Mirror therapy",
    )  # fmt: skip
    assert (out.minutes, out.sessions, out.delivered) == (150, 10, True)
    physio = mirror.model_copy(
        update={"co_intervention": "other", "name": "physiotherapy", "minutes": 60}
    )
    other = record_cointervention(reg, physio, actor="physio")
    assert (other.kind, other.co_intervention, other.name) == (
        "other", None, "physiotherapy",
    )  # fmt: skip
    assert [c.name for c in reg.list_cointerventions(TRIAL, "S01", "P000")] == [
        "Mirror therapy", "physiotherapy",
    ]  # fmt: skip
    assert reg.list_cointerventions(TRIAL, "S01", "P001") == []
    assert len(reg.list_cointerventions(TRIAL)) == 2


def test_medication_changes(reg: Registry) -> None:
    change = MedicationChangeInput(
        trial_id=TRIAL, site="S01", code="P001", visit_id=VISIT, drug="pregabalin",
        change="dose_increased", dose="150 mg twice daily", indication="PLP",
    )  # fmt: skip
    before = _counts(reg)
    with pytest.raises(RecordNotFoundError, match="visit_id"):
        record_medication_change(reg, change, actor="dr1")
    with pytest.raises(ValidationError, match="change"):
        MedicationChangeInput.model_validate({**change.model_dump(), "change": "more"})
    assert _counts(reg) == before
    _visit(reg, "P001")
    out = record_medication_change(reg, change, actor="dr1")
    assert (out.drug, out.change, out.dose) == (
        "pregabalin", "dose_increased", "150 mg twice daily",
    )  # fmt: skip
    stopped = change.model_copy(update={"drug": "tramadol", "change": "stopped"})
    record_medication_change(reg, stopped, actor="dr1")
    listed = reg.list_medication_changes(TRIAL, "S01", "P001")
    assert [(m.drug, m.change) for m in listed] == [
        ("pregabalin", "dose_increased"), ("tramadol", "stopped"),
    ]  # fmt: skip
    assert reg.verify_audit().ok


def test_blinding_table_and_indices_by_hand(reg: Registry) -> None:
    condition = {a.id: a.condition for a in BLOCKS.arms}
    groups: dict[str, list[str]] = {"active": [], "sham": []}
    for e in reg.list_enrolments(TRIAL):
        groups[condition[e.arm_id]].append(e.code)
    assert {k: len(v) for k, v in groups.items()} == {"active": 4, "sham": 4}
    answers = {
        "active": ["active", "active", "active", "sham"],
        "sham": ["active", "sham", "sham", "dont_know"],
    }
    for cond, codes in groups.items():
        for code, guess in zip(codes, answers[cond], strict=True):
            _visit(reg, code)
            record_blinding_guess(
                reg,
                BlindingGuessInput(
                    trial_id=TRIAL, site="S01", code=code, visit_id=VISIT,
                    respondent="patient", guess=guess,
                ),
                actor="rater",
            )  # fmt: skip
    before = _counts(reg)
    twice = BlindingGuessInput(
        trial_id=TRIAL, site="S01", code=groups["active"][0], visit_id=VISIT,
        respondent="patient", guess="sham",
    )  # fmt: skip
    with pytest.raises(DuplicateRecordError, match="respondent"):
        record_blinding_guess(reg, twice, actor="rater")
    with pytest.raises(ValidationError, match="guess"):
        BlindingGuessInput.model_validate(
            {**twice.model_dump(), "guess": "strongly_active"}
        )
    for role in ("operator", "physician", "rater"):
        with pytest.raises(FollowUpRefusedError, match="'role'"):
            blinding_assessment(
                reg, TRIAL, respondent="patient", visit_id=VISIT, role=role
            )
    assert _counts(reg) == before
    rep = blinding_assessment(
        reg, TRIAL, respondent="patient", visit_id=VISIT, role="statistician"
    )
    assert rep.table == ((3, 1, 0), (1, 2, 1))
    assert rep.columns == ("active", "sham", "dont_know")
    bang_active, bang_sham = rep.assessment.bang
    assert bang_active.estimate == pytest.approx(0.5, abs=ATOL)
    assert bang_sham.estimate == pytest.approx(0.25, abs=ATOL)
    assert rep.assessment.james.estimate == pytest.approx(73 / 192, abs=ATOL)
    assert rep.assessment.james.dont_know_fraction == pytest.approx(1 / 8, abs=ATOL)
    # the rater answered at no visit: a clear error, not an empty table
    with pytest.raises(ValueError, match="respondent 'rater'"):
        blinding_assessment(
            reg, TRIAL, respondent="rater", visit_id=VISIT, role="statistician"
        )


def test_five_answers_keep_five_columns(reg: Registry) -> None:
    condition = {a.id: a.condition for a in BLOCKS.arms}
    seen: dict[str, int] = {}
    for e in reg.list_enrolments(TRIAL):
        cond = condition[e.arm_id]
        if seen.get(cond, 0) == 2:
            continue
        seen[cond] = seen.get(cond, 0) + 1
        _visit(reg, e.code)
        guess = "strongly_active" if cond == "active" else "somewhat_sham"
        record_blinding_guess(
            reg,
            BlindingGuessInput(
                trial_id=TRIAL, site="S01", code=e.code, visit_id=VISIT,
                respondent="rater", guess=guess, answers=5,
            ),
            actor="rater",
        )  # fmt: skip
    rep = blinding_assessment(
        reg, TRIAL, respondent="rater", visit_id=VISIT, role="statistician"
    )
    assert rep.answers == 5
    assert rep.table == ((2, 0, 0, 0, 0), (0, 0, 2, 0, 0))
    # Bang 5-answer weights: strong right 1 (active), weak right 0.5 (sham)
    assert rep.assessment.bang[0].estimate == pytest.approx(1.0, abs=ATOL)
    assert rep.assessment.bang[1].estimate == pytest.approx(0.5, abs=ATOL)


def test_screening_log(reg: Registry) -> None:
    reg.add_patient("S01", "S100", history=None, actor="n")
    screen(reg, "S01", "S100", excluded=True)
    entry = ScreeningOutcomeInput(
        trial_id=TRIAL, site="S01", code="S100", outcome="not_eligible",
        reason="history of epilepsy",
    )  # fmt: skip
    before = _counts(reg)
    with pytest.raises(RegistryError, match="'code': got S01/P000"):
        record_screening_outcome(
            reg, entry.model_copy(update={"code": "P000"}), actor="dr1"
        )
    with pytest.raises(RecordNotFoundError, match="code"):
        record_screening_outcome(
            reg, entry.model_copy(update={"code": "S999"}), actor="dr1"
        )
    with pytest.raises(ValidationError, match="outcome"):
        ScreeningOutcomeInput.model_validate({**entry.model_dump(), "outcome": "no"})
    assert _counts(reg) == before
    out = record_screening_outcome(reg, entry, actor="dr1")
    assert (out.code, out.outcome) == ("S100", "not_eligible")
    with pytest.raises(DuplicateRecordError, match="screening log"):
        record_screening_outcome(reg, entry, actor="dr1")
    reg.add_patient("S01", "S101", history=None, actor="n")
    declined = entry.model_copy(
        update={"code": "S101", "outcome": "declined", "reason": "travel distance"}
    )
    record_screening_outcome(reg, declined, actor="dr1")
    assert [(x.code, x.outcome) for x in screening_log(reg, TRIAL)] == [
        ("S100", "not_eligible"), ("S101", "declined"),
    ]  # fmt: skip
    assert reg.verify_audit().ok


_GUESS = {
    "trial_id": TRIAL, "site": "S01", "code": "P001", "visit_id": VISIT,
    "respondent": "patient",
}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(guess=st.text(max_size=20), answers=st.sampled_from([3, 5]))
def test_blinding_guess_validator(guess: str, answers: int) -> None:
    """In the form's answers: accepted (and idempotent); else refused naming it."""
    allowed = {
        3: ("active", "sham", "dont_know"),
        5: ("strongly_active", "somewhat_active", "somewhat_sham", "strongly_sham",
            "dont_know"),
    }[answers]  # fmt: skip
    for g in (guess, *allowed):
        data = {**_GUESS, "guess": g, "answers": answers}
        if g in allowed:
            m = BlindingGuessInput.model_validate(data)
            assert BlindingGuessInput.model_validate(m.model_dump()) == m
        else:
            with pytest.raises(ValidationError, match="guess"):
                BlindingGuessInput.model_validate(data)
