"""Trial follow-up commands on ``plptms trial``: visits, withdrawals, records.

``visits`` (due/overdue/missed per site), ``visit`` (record one), ``withdraw``,
``cointervention``, ``medication``, ``blinding-guess``, ``blinding`` (indices,
arm-viewing roles only) and ``screen-log``. Each parses, calls one use case of
:mod:`plptms.workflow` and renders. Exit codes: 0 done, 1 refused (outside the
window, already recorded, wrong role), 2 bad input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from rich.table import Table

from ._registry import _console, _fail
from ._trial import DbOpt, TrialOpt, trial_app

_M = TypeVar("_M", bound=BaseModel)

PatientArg = Annotated[str, typer.Argument(help="The enrolled patient, SITE/CODE.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who records it.")]
VisitOpt = Annotated[
    str, typer.Option("--visit-id", help="A visit of the schedule (e.g. followup_1m).")
]


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"Invalid value for '{field}': got {value!r}; allowed: YYYY-MM-DD."
        ) from None


def _build(model: type[_M], **values: Any) -> _M:
    """Validate the input model; exit 2 naming the first bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or model.__name__
        raise _fail(
            f"Invalid value for {field!r}: got {err.get('input')!r}; {err['msg']}."
        ) from None


@contextmanager
def _handled(db: str | None, *, create: bool) -> Iterator[Any]:
    """Open the registry; map refusals to exit 1 and bad input to exit 2."""
    from ..registry import DuplicateRecordError, RegistryError
    from ..workflow import EnrolmentRefusedError, FollowUpRefusedError
    from ._registry import open_registry

    try:
        with open_registry(db, create=create) as reg:
            yield reg
    except (FollowUpRefusedError, DuplicateRecordError, EnrolmentRefusedError) as exc:
        raise _fail(str(exc), 1) from None
    except (RegistryError, ValueError, KeyError) as exc:
        raise _fail(str(exc)) from None


def _patient(patient: str) -> tuple[str, str]:
    from ._plan import parse_patient

    return parse_patient(patient)


def _record(
    db: str | None, call: Callable[[Any], BaseModel], done: Callable[[Any], str]
) -> None:
    with _handled(db, create=False) as reg:
        out = call(reg)
    _console().print(done(out))


@trial_app.command("visits")
def visits_cmd(
    trial: TrialOpt,
    site: Annotated[str, typer.Option("--site", help="The site's code.")],
    today: Annotated[
        str | None,
        typer.Option("--today", help="States on this date (default: site today)."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """List a site's due, overdue and missed trial visits (kit codes, no arms)."""
    from ..workflow import trial_visit_lists

    day = None if today is None else _date(today, "--today")
    with _handled(db, create=False) as reg:
        lists = trial_visit_lists(reg, trial, site, today=day)
    con = _console()
    con.print(
        f"{escape(trial)} at {escape(site)} on {lists.today.isoformat()}: "
        f"{len(lists.patients)} patient(s); definition version {lists.version}."
    )
    for title, rows in (
        ("Due", lists.due),
        ("Overdue", lists.overdue),
        ("Missed", lists.missed),
    ):
        t = Table(title=f"{title} ({len(rows)})")
        for col in ("patient", "kit", "visit", "due", "window"):
            t.add_column(col)
        for v in rows:
            t.add_row(
                f"{escape(v.site)}/{escape(v.code)}", v.kit_code, v.visit_id,
                v.due.isoformat(),
                f"{v.window_start.isoformat()} to {v.window_end.isoformat()}",
            )  # fmt: skip
        con.print(t)
    gone = [p for p in lists.patients if p.withdrawn_on is not None]
    for p in gone:
        assert p.withdrawn_on is not None
        con.print(
            f"{escape(p.site)}/{escape(p.code)} (kit {p.kit_code}) withdrew on "
            f"{p.withdrawn_on.isoformat()}: later visits are not expected."
        )


@trial_app.command("visit")
def visit_cmd(
    patient: PatientArg,
    trial: TrialOpt,
    visit_id: VisitOpt,
    date: Annotated[str, typer.Option("--date", help="Visit date, YYYY-MM-DD.")],
    actor: ActorOpt,
    deviation_reason: Annotated[
        str | None,
        typer.Option(
            "--deviation-reason",
            help="Outside the window only: why (stored as a protocol deviation).",
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Record a scheduled trial visit (its date must be in the visit's window).

    Exit 0 recorded, 1 refused (outside the window without a reason, already
    recorded), 2 bad input.
    """
    from ..workflow import TrialVisitInput, record_trial_visit

    site, code = _patient(patient)
    visit = _build(
        TrialVisitInput, trial_id=trial, site=site, code=code, visit_id=visit_id,
        visit_date=_date(date, "--date"), deviation_reason=deviation_reason,
    )  # fmt: skip

    def done(v: Any) -> str:
        dev = (
            f" [bold yellow]protocol deviation: {v.days_outside:+d} day(s) outside "
            "the window[/bold yellow]"
            if v.out_of_window
            else ""
        )
        return (
            f"{escape(site)}/{escape(code)} (kit {v.kit_code}): visit "
            f"{escape(v.visit_id)} recorded on {v.done_on.isoformat()}.{dev}"
        )

    _record(db, lambda reg: record_trial_visit(reg, visit, actor=actor), done)


@trial_app.command("withdraw")
def withdraw_cmd(
    patient: PatientArg,
    trial: TrialOpt,
    on: Annotated[str, typer.Option("--on", help="Withdrawal date, YYYY-MM-DD.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="withdrew_consent, lost_to_follow_up, adverse_event, death, "
            "investigator_decision or other.",
        ),
    ],
    actor: ActorOpt,
    detail: Annotated[str, typer.Option("--detail", help="In words.")] = "",
    db: DbOpt = None,
) -> None:
    """Record a patient's withdrawal from the trial (once; nothing is deleted)."""
    from ..workflow import WithdrawalInput, withdraw_patient

    site, code = _patient(patient)
    w = _build(
        WithdrawalInput, trial_id=trial, site=site, code=code,
        on=_date(on, "--on"), reason=reason, detail=detail,
    )  # fmt: skip
    _record(
        db,
        lambda reg: withdraw_patient(reg, w, actor=actor),
        lambda x: (
            f"{escape(site)}/{escape(code)} withdrew from {escape(trial)} on "
            f"{x.withdrawn_on.isoformat()} ({x.reason})."
        ),
    )


@trial_app.command("cointervention")
def cointervention_cmd(
    patient: PatientArg,
    trial: TrialOpt,
    visit_id: VisitOpt,
    co_intervention: Annotated[
        str,
        typer.Option(
            "--co-intervention",
            help="The trial's co-intervention id, or 'other' (with --name).",
        ),
    ],
    actor: ActorOpt,
    delivered: Annotated[
        bool, typer.Option("--delivered/--not-delivered", help="Delivered or not.")
    ] = True,
    name: Annotated[
        str | None, typer.Option("--name", help="For 'other': its name.")
    ] = None,
    minutes: Annotated[int | None, typer.Option("--minutes")] = None,
    sessions: Annotated[int | None, typer.Option("--sessions")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    db: DbOpt = None,
) -> None:
    """Record a co-intervention at a recorded trial visit."""
    from ..workflow import CoInterventionInput, record_cointervention

    site, code = _patient(patient)
    rec = _build(
        CoInterventionInput, trial_id=trial, site=site, code=code,
        visit_id=visit_id, co_intervention=co_intervention, name=name,
        delivered=delivered, minutes=minutes, sessions=sessions, note=note,
    )  # fmt: skip
    _record(
        db,
        lambda reg: record_cointervention(reg, rec, actor=actor),
        lambda x: (
            f"{escape(x.name)} ({'delivered' if x.delivered else 'not delivered'}) "
            f"recorded at {escape(x.visit_id)} of {escape(site)}/{escape(code)}."
        ),
    )


@trial_app.command("medication")
def medication_cmd(
    patient: PatientArg,
    trial: TrialOpt,
    visit_id: VisitOpt,
    drug: Annotated[str, typer.Option("--drug", help="The drug.")],
    change: Annotated[
        str,
        typer.Option(
            "--change", help="started, stopped, dose_increased or dose_decreased."
        ),
    ],
    actor: ActorOpt,
    dose: Annotated[str, typer.Option("--dose")] = "",
    indication: Annotated[str, typer.Option("--indication")] = "",
    note: Annotated[str, typer.Option("--note")] = "",
    db: DbOpt = None,
) -> None:
    """Record a concomitant medication change at a recorded trial visit."""
    from ..workflow import MedicationChangeInput, record_medication_change

    site, code = _patient(patient)
    rec = _build(
        MedicationChangeInput, trial_id=trial, site=site, code=code,
        visit_id=visit_id, drug=drug, change=change, dose=dose,
        indication=indication, note=note,
    )  # fmt: skip
    _record(
        db,
        lambda reg: record_medication_change(reg, rec, actor=actor),
        lambda x: (
            f"{escape(x.drug)} {x.change} recorded at {escape(x.visit_id)} of "
            f"{escape(site)}/{escape(code)}."
        ),
    )


@trial_app.command("blinding-guess")
def blinding_guess_cmd(
    patient: PatientArg,
    trial: TrialOpt,
    visit_id: VisitOpt,
    respondent: Annotated[
        str, typer.Option("--respondent", help="patient, rater or operator.")
    ],
    guess: Annotated[
        str,
        typer.Option(
            "--guess",
            help="active, sham, dont_know (3 answers); strongly_active, "
            "somewhat_active, somewhat_sham, strongly_sham, dont_know (5 answers).",
        ),
    ],
    actor: ActorOpt,
    answers: Annotated[
        int, typer.Option("--answers", help="The questionnaire's form: 3 or 5.")
    ] = 3,
    db: DbOpt = None,
) -> None:
    """Record a blinding questionnaire answer (one per visit and respondent)."""
    from ..workflow import BlindingGuessInput, record_blinding_guess

    site, code = _patient(patient)
    rec = _build(
        BlindingGuessInput, trial_id=trial, site=site, code=code,
        visit_id=visit_id, respondent=respondent, guess=guess, answers=answers,
    )  # fmt: skip
    _record(
        db,
        lambda reg: record_blinding_guess(reg, rec, actor=actor),
        lambda x: (
            f"Blinding answer of the {x.respondent} recorded at "
            f"{escape(x.visit_id)} of {escape(site)}/{escape(code)}."
        ),
    )


@trial_app.command("blinding")
def blinding_cmd(
    trial: TrialOpt,
    visit_id: VisitOpt,
    respondent: Annotated[
        str, typer.Option("--respondent", help="patient, rater or operator.")
    ],
    role: Annotated[
        str,
        typer.Option("--role", help="Your role (statistician)."),
    ],
    db: DbOpt = None,
) -> None:
    """Show the arm x guess table and the James and Bang blinding indices.

    Only the roles that may see arms get it. Exit 0 shown, 1 refused (role), 2
    bad input or no answers.
    """
    from ..workflow import blinding_assessment

    with _handled(db, create=False) as reg:
        rep = blinding_assessment(
            reg, trial, respondent=respondent, visit_id=visit_id, role=role
        )
    con = _console()
    t = Table(title=f"{escape(respondent)} guesses at {escape(visit_id)}")
    t.add_column("arm")
    for col in rep.columns:
        t.add_column(col)
    for arm, row in zip(("active", "sham"), rep.table, strict=True):
        t.add_row(arm, *(str(n) for n in row))
    con.print(t)
    j = rep.assessment.james
    con.print(
        f"James index {j.estimate:.3f} ({j.level_pct:g} % CI {j.ci_lower:.3f} to "
        f"{j.ci_upper:.3f}; 1 = complete blinding, 0.5 = chance), n = {j.n}."
    )
    for b in rep.assessment.bang:
        con.print(
            f"Bang index, {b.arm}: {b.estimate:.3f} ({b.level_pct:g} % CI "
            f"{b.ci_lower:.3f} to {b.ci_upper:.3f}; 0 = random guessing), n = {b.n}."
        )


@trial_app.command("screen-log")
def screen_log_cmd(
    trial: TrialOpt,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="Log SITE/CODE (screened, not enrolled)."),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option("--outcome", help="declined, not_eligible or other."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    db: DbOpt = None,
) -> None:
    """Log a patient screened and not enrolled (with --patient), or list the log."""
    from ..workflow import (
        ScreeningOutcomeInput,
        record_screening_outcome,
        screening_log,
    )

    if patient is None:
        with _handled(db, create=False) as reg:
            log = screening_log(reg, trial)
        t = Table(title=f"Screened, not enrolled ({len(log)})")
        for col in ("patient", "outcome", "reason", "by", "at"):
            t.add_column(col)
        for x in log:
            t.add_row(
                f"{escape(x.site)}/{escape(x.code)}", x.outcome, escape(x.reason),
                escape(x.actor), x.at.date().isoformat(),
            )  # fmt: skip
        _console().print(t)
        return
    if actor is None:
        raise _fail("Invalid value for '--actor': got None; allowed: who logs it.")
    site, code = _patient(patient)
    rec = _build(
        ScreeningOutcomeInput, trial_id=trial, site=site, code=code,
        outcome=outcome, reason=reason,
    )  # fmt: skip
    _record(
        db,
        lambda reg: record_screening_outcome(reg, rec, actor=actor),
        lambda x: (
            f"{escape(site)}/{escape(code)} logged as {x.outcome} for {escape(trial)}."
        ),
    )
