"""Trial commands: check a trial definition, show a patient's visit calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ._adverse import (
    ActionOpt,
    DescriptionOpt,
    OnsetOpt,
    OutcomeOpt,
    RelatednessOpt,
    SeriousCriterionOpt,
    SeriousOpt,
    SessionOpt,
    SeverityOpt,
    TermOpt,
    event_input,
)
from ._registry import _console, _fail

trial_app = typer.Typer(
    help="Multicentre randomised trials: definition, enrolment, blinding.",
    no_args_is_help=True,
)

DefinitionArg = Annotated[
    Path, typer.Argument(help="A trial definition (YAML or JSON).")
]


def _read(path: Path) -> object:
    from ..protocol import ProtocolFileError
    from ..trial import TrialDefinitionError, read_trial_definition

    try:
        return read_trial_definition(path)
    except TrialDefinitionError as exc:
        raise _fail(str(exc), 1) from None
    except (ProtocolFileError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None


@trial_app.command("check")
def check_cmd(definition: DefinitionArg) -> None:
    """Validate a trial definition: arms through the safety engine, boundaries.

    Exit 0 valid (arms accepted or needing review, listed), 1 an arm's protocol
    is refused, 2 invalid file.
    """
    from ..trial import TrialDefinition, definition_verdicts

    defn = _read(definition)
    assert isinstance(defn, TrialDefinition)
    con = _console()
    con.print(
        f"[bold]{escape(defn.title)}[/bold] ({escape(defn.id)}, version "
        f"{defn.version}): {len(defn.sites)} sites, {len(defn.arms)} arms, "
        f"randomisation {defn.randomisation.method}."
    )
    t = Table(title="Arms")
    for col in ("arm", "protocol", "condition", "ratio", "safety verdict"):
        t.add_column(col)
    verdicts = definition_verdicts(defn)
    for a in defn.arms:
        t.add_row(
            a.id, a.protocol_id, a.condition, str(a.ratio),
            verdicts[a.id].decision.value,
        )  # fmt: skip
    con.print(t)
    if defn.interim:
        b = defn.boundaries()
        t = Table(title=f"Efficacy boundaries ({b.method}, alpha {b.alpha:g})")
        for col in ("information", "z boundary", "nominal alpha", "cumulative alpha"):
            t.add_column(col)
        for row in zip(
            b.information_fractions,
            b.upper,
            b.nominal_alpha,
            b.cumulative_alpha,
            strict=True,
        ):
            t.add_row(*(f"{v:.4g}" for v in row))
        con.print(t)
    con.print(
        "Visits: " + ", ".join(f"{v.id} (day {v.day})" for v in defn.visits) + "."
    )


@trial_app.command("calendar")
def calendar_cmd(
    definition: DefinitionArg,
    randomised_on: Annotated[
        str, typer.Option("--randomised-on", help="Randomisation date, YYYY-MM-DD.")
    ],
    today: Annotated[
        str | None,
        typer.Option("--today", help="Show each visit's state on this date."),
    ] = None,
) -> None:
    """Print a patient's visit calendar (due dates and windows)."""
    from ..trial import TrialDefinition, visit_calendar, visit_status

    def _date(value: str, field: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _fail(
                f"Invalid value for '{field}': got {value!r}; allowed: YYYY-MM-DD."
            ) from None

    start = _date(randomised_on, "--randomised-on")
    defn = _read(definition)
    assert isinstance(defn, TrialDefinition)
    calendar = visit_calendar(defn, start)
    states = (
        {}
        if today is None
        else {
            s.visit_id: s.state
            for s in visit_status(calendar, {}, _date(today, "--today"))
        }
    )
    t = Table(title=f"Visit calendar from {start.isoformat()}")
    for col in ("visit", "due", "window", *(["state"] if states else [])):
        t.add_column(col)
    for v in calendar:
        row = [
            v.visit_id,
            v.due.isoformat(),
            f"{v.window_start.isoformat()} to {v.window_end.isoformat()}",
        ]
        if states:
            row.append(str(getattr(states[v.visit_id], "value", states[v.visit_id])))
        t.add_row(*row)
    _console().print(t)


DbOpt = Annotated[
    str | None, typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL.")
]
TrialOpt = Annotated[str, typer.Option("--trial", help="The trial's id.")]


def _factors(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, level = v.partition("=")
        if not sep or not key or not level:
            raise _fail(
                f"Invalid value for '--factor': got {v!r}; allowed: FACTOR=LEVEL "
                "(e.g. limb=upper)."
            )
        out[key.strip()] = level.strip()
    return out


@trial_app.command("create")
def create_cmd(
    definition: DefinitionArg,
    actor: Annotated[str, typer.Option("--actor", help="Who creates it.")],
    db: DbOpt = None,
) -> None:
    """Create a trial from its definition (version 1).

    Its secret seed is kept outside the database (the trials folder of the
    configuration directory, mode 0600).
    """
    from ..registry import RegistryError
    from ..trial import TrialDefinition
    from ..workflow import create_trial
    from ._registry import open_registry

    defn = _read(definition)
    assert isinstance(defn, TrialDefinition)
    try:
        with open_registry(db) as reg:
            out = create_trial(reg, defn, actor=actor)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _console().print(f"Trial {escape(out.trial_id)} created (version 1).")


@trial_app.command("enrol")
def enrol_cmd(
    patient: Annotated[str, typer.Argument(help="The patient, SITE/CODE.")],
    trial: TrialOpt,
    actor: Annotated[str, typer.Option("--actor", help="Who enrols.")],
    factor: Annotated[
        list[str] | None,
        typer.Option("--factor", help="FACTOR=LEVEL for each stratification factor."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Enrol an eligible patient: the allocation is made now, concealed.

    Prints the kit code only. Exit 0 enrolled, 1 refused (nothing stored), 2 bad
    input.
    """
    from ..registry import DuplicateRecordError, RegistryError
    from ..workflow import EnrolmentRefusedError, enrol_patient
    from ._plan import parse_patient
    from ._registry import open_registry

    site, code = parse_patient(patient)
    factors = _factors(factor)
    try:
        with open_registry(db, create=False) as reg:
            e = enrol_patient(reg, trial, site, code, factors, actor=actor)
    except (EnrolmentRefusedError, DuplicateRecordError) as exc:
        raise _fail(str(exc), 1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _console().print(
        f"{escape(site)}/{escape(code)} enrolled in {escape(trial)}: allocation "
        f"{e.allocation_index}, kit [bold]{e.kit_code}[/bold]."
    )


@trial_app.command("allocation")
def allocation_cmd(
    patient: Annotated[str, typer.Argument(help="The patient, SITE/CODE.")],
    trial: TrialOpt,
    role: Annotated[str, typer.Option("--role", help="Your role in the trial.")],
    db: DbOpt = None,
) -> None:
    """Show a patient's kit code (and the arm, to the roles allowed to see it)."""
    from ..registry import RegistryError
    from ..workflow import allocation_for
    from ._plan import parse_patient
    from ._registry import open_registry

    site, code = parse_patient(patient)
    try:
        with open_registry(db, create=False) as reg:
            v = allocation_for(reg, trial, site, code, role=role)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    arm = "hidden (blinded)" if v.arm_id is None else v.arm_id
    _console().print(
        f"{escape(site)}/{escape(code)}: kit {v.kit_code}, arm {escape(arm)}."
    )


@trial_app.command("unblind")
def unblind_cmd(
    patient: Annotated[str, typer.Argument(help="The patient, SITE/CODE.")],
    trial: TrialOpt,
    role: Annotated[str, typer.Option("--role", help="physician or statistician.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    actor: Annotated[str, typer.Option("--actor", help="Who unblinds.")],
    db: DbOpt = None,
) -> None:
    """Emergency unblinding of one patient (a permitted role and a reason).

    Exit 0 unblinded (audited), 1 refused, 2 bad input.
    """
    from ..registry import RegistryError
    from ..workflow import UnblindingRefusedError, unblind
    from ._plan import parse_patient
    from ._registry import open_registry

    site, code = parse_patient(patient)
    try:
        with open_registry(db, create=False) as reg:
            r = unblind(reg, trial, site, code, role=role, reason=reason, actor=actor)
    except UnblindingRefusedError as exc:
        raise _fail(str(exc), 1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _console().print(
        f"{escape(site)}/{escape(code)} (kit {r.kit_code}) is in arm "
        f"[bold]{escape(r.arm_id)}[/bold]; unblinding {r.unblinding_id} recorded."
    )


@trial_app.command("replay")
def replay_cmd(
    definition: DefinitionArg,
    db: DbOpt = None,
) -> None:
    """Recompute every allocation from the stored history and the secret.

    Exit 0 all match, 1 a mismatch (listed).
    """
    from ..registry import RegistryError
    from ..trial import TrialDefinition
    from ..workflow import replay_allocations
    from ._registry import open_registry

    defn = _read(definition)
    assert isinstance(defn, TrialDefinition)
    try:
        with open_registry(db, create=False) as reg:
            rep = replay_allocations(reg, defn.id, defn)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    con = _console()
    if rep.ok:
        con.print(f"{escape(defn.id)}: every allocation replays from the history.")
        return
    for m in rep.mismatches:
        con.print(
            f"[bold red]allocation {m.allocation_index}[/bold red] {m.field}: "
            f"stored {escape(m.stored)}, replayed {escape(m.replayed)}"
        )
    raise typer.Exit(1)


@trial_app.command("session")
def session_cmd(
    patient: Annotated[str, typer.Argument(help="The enrolled patient, SITE/CODE.")],
    trial: TrialOpt,
    number: Annotated[
        int, typer.Option("--number", help="Session number (1...).", min=1, max=10_000)
    ],
    actor: Annotated[str, typer.Option("--actor", help="Operator.")],
    device: Annotated[
        str, typer.Option("--device", help="sim, magstim, magventure.")
    ] = "sim",
    port: Annotated[str | None, typer.Option("--port", help="Serial port.")] = None,
    ae_reviewed: Annotated[
        bool,
        typer.Option(
            "--ae-reviewed", help="Adverse events since the last session were reviewed."
        ),
    ] = False,
    review_physician: Annotated[
        str | None,
        typer.Option(
            "--review-physician",
            help="Trial physician who reviewed what the arm's verdict asks to review.",
        ),
    ] = None,
    review_reason: Annotated[
        str | None, typer.Option("--review-reason", help="Why it may proceed.")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Deliver a blinded session of the patient's allocated arm (kit code shown).

    The same checks, plan and runner as `plptms session run`; the condition is
    hidden. Exit 0 completed, 1 blocked or not completed, 2 bad input.
    """
    from rich.console import Console

    from ..registry import RegistryError, SessionLeasedError
    from ..workflow import (
        AssignmentRefusedError,
        EnrolmentRefusedError,
        SessionRefusedError,
        prepare_trial_session,
    )
    from ._options import parse_review
    from ._plan import parse_patient
    from ._registry import open_registry
    from ._session import _deliver, _print_checks, _refused

    site, code = parse_patient(patient)
    review = parse_review(review_physician, review_reason)
    console = Console(width=140)
    try:
        with open_registry(db, create=False) as reg:
            try:
                start = prepare_trial_session(
                    reg, trial, site, code, number, device=device, actor=actor,
                    ae_reviewed=ae_reviewed, review=review,
                )  # fmt: skip
            except (SessionRefusedError, AssignmentRefusedError) as exc:
                raise _refused(console, exc) from None
            prepared = start.prepared
            _print_checks(console, prepared.checks)
            console.print(
                f"Kit {start.kit_code}, delivery session {prepared.session_id}: "
                f"{prepared.plan.total_pulses} pulses in {len(prepared.plan.trains)} "
                "trains (condition blinded)."
            )
            code_ = _deliver(reg, prepared, port, actor, False)
    except (SessionLeasedError, EnrolmentRefusedError) as exc:
        raise _fail(str(exc), 1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code_)


@trial_app.command("amend")
def amend_cmd(
    definition: DefinitionArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it changes (audited).")],
    actor: Annotated[str, typer.Option("--actor", help="Who amends it.")],
    db: DbOpt = None,
) -> None:
    """Store an amended definition as the trial's next version.

    The file keeps the trial id and carries the next version number. The
    amendment is refused, and nothing stored, if its reason is too short, if
    an arm's protocol fails a trial site's safety policy, or (once patients are
    enrolled) if it changes what the stored allocations depend on (arms,
    ratios, randomisation, stratification). Exit 0 stored, 1 refused, 2 bad
    input.
    """
    from ..registry import RegistryError
    from ..trial import TrialDefinition, TrialDefinitionError
    from ..workflow import amend_trial
    from ._registry import open_registry

    defn = _read(definition)
    assert isinstance(defn, TrialDefinition)
    try:
        with open_registry(db, create=False) as reg:
            v = amend_trial(reg, defn, reason=reason, actor=actor)
    except TrialDefinitionError as exc:  # the amendment and safety refusals
        raise _fail(str(exc), 1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _console().print(
        f"Trial {escape(v.trial_id)} amended: version {v.version} "
        f"({escape(v.reason or '')})."
    )


def _rule_table(status: object) -> Table:
    from ..workflow import TrialSafetyStatus

    assert isinstance(status, TrialSafetyStatus)
    table = Table(
        title=f"Stopping rules of {status.trial_id} (version {status.version})"
    )
    for col in ("rule", "action", "counted / needed", "events", "state"):
        table.add_column(col)
    for r in status.rules:
        table.add_row(
            escape(r.rule_id),
            r.action,
            f"{len(r.counted)} / {r.count}",
            ", ".join(map(str, r.matching)) or "-",
            "[bold red]MET[/bold red]" if r.met else "not met",
        )
    return table


@trial_app.command("ae")
def ae_cmd(
    patient: Annotated[str, typer.Argument(help="The patient, SITE/CODE.")],
    trial: TrialOpt,
    term: TermOpt,
    severity: SeverityOpt,
    relatedness: RelatednessOpt,
    actor: Annotated[str, typer.Option("--actor", help="Who records it.")],
    serious: SeriousOpt = False,
    serious_criterion: SeriousCriterionOpt = None,
    onset: OnsetOpt = None,
    description: DescriptionOpt = "",
    action: ActionOpt = "none",
    outcome: OutcomeOpt = "unknown",
    session: SessionOpt = None,
    db: DbOpt = None,
) -> None:
    """Record an adverse event of an enrolled patient; apply the stopping rules.

    A serious adverse event is flagged at once; a rule it meets pauses
    enrolment (or stimulation, or stops the trial) until reviewed. Exit 0
    recorded, 2 bad input or not enrolled (nothing stored).
    """
    from ..registry import RegistryError
    from ..workflow import record_trial_adverse_event
    from ._registry import open_registry

    event = event_input(
        patient,
        actor=actor,
        term=term,
        onset=onset,
        description=description,
        severity=severity,
        serious=serious,
        serious_criterion=serious_criterion,
        relatedness=relatedness,
        action=action,
        outcome=outcome,
        session=session,
    )
    try:
        with open_registry(db, create=False) as reg:
            result = record_trial_adverse_event(reg, trial, event)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    con = _console()
    style = "bold red" if result.serious or result.triggered else ""
    con.print(escape(result.message), style=style, highlight=False)
    if result.status.rules:
        con.print(_rule_table(result.status))


@trial_app.command("safety")
def safety_cmd(trial: TrialOpt, db: DbOpt = None) -> None:
    """Show the trial's stopping rules and whether enrolment or stimulation is held.

    Exit 0 nothing held, 1 a rule is met.
    """
    from ..registry import RegistryError
    from ..workflow import stopping_rule_states
    from ._registry import open_registry

    try:
        with open_registry(db, create=False) as reg:
            status = stopping_rule_states(reg, trial)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    con = _console()
    con.print(_rule_table(status))
    if status.stopped:
        con.print("[bold red]The trial is stopped.[/bold red]")
    elif status.stimulation_paused:
        con.print("[bold red]Enrolment and every trial session are paused.[/bold red]")
    elif status.enrolment_paused:
        con.print("[bold red]Enrolment is paused.[/bold red]")
    else:
        con.print("No stopping rule is met.")
    if status.enrolment_paused:
        raise typer.Exit(1)
