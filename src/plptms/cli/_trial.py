"""Trial commands: check a trial definition, show a patient's visit calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ._registry import _console, _fail

trial_app = typer.Typer(
    help="Multicentre randomised trials (definition, calendar).",
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
