"""Adverse-event and site commands: record, list and review events; site settings."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ._registry import ID_MAX, DbOpt, _console, _fail, open_registry

ae_app = typer.Typer(
    help="Record adverse events and their physicians' reviews (an unreviewed event "
    "blocks the patient's next session).",
    no_args_is_help=True,
)
site_app = typer.Typer(
    help="A site's settings: display name and time zone (its calendar date).",
    no_args_is_help=True,
)

PatientArg = Annotated[str, typer.Argument(help="The patient, SITE/CODE.")]
SiteArg = Annotated[str, typer.Argument(help="Site code.")]


def _validated(model: Any, data: dict[str, Any]) -> Any:
    """Build a workflow input model; exit 2 naming the field on a bad value."""
    from pydantic import ValidationError

    from ..protocol import format_validation_error

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _fail(format_validation_error(exc)) from None


def _event_line(e: Any) -> str:
    review = e.review
    if review is None:
        state = "NOT REVIEWED"
    else:
        verdict = "may continue" if review.continue_treatment else "STOPPED"
        state = (
            f"reviewed by {review.physician} on "
            f"{review.reviewed_at.date().isoformat()}: {verdict}"
        )
    return f"{e.label()}: {state}"


TermOpt = Annotated[
    str, typer.Option("--term", help="Controlled term, e.g. headache, seizure.")
]
SeverityOpt = Annotated[
    str, typer.Option("--severity", help="mild, moderate or severe (intensity).")
]
RelatednessOpt = Annotated[
    str,
    typer.Option(
        "--relatedness", help="unrelated, unlikely, possible, probable or definite."
    ),
]
SeriousOpt = Annotated[
    bool,
    typer.Option("--serious", help="Serious (ICH E2A); needs --serious-criterion."),
]
SeriousCriterionOpt = Annotated[
    str | None,
    typer.Option(
        "--serious-criterion",
        help="death, life_threatening, hospitalisation, disability, "
        "congenital_anomaly or medically_important.",
    ),
]
OnsetOpt = Annotated[
    str | None,
    typer.Option("--onset", help="Onset date YYYY-MM-DD (the site's today)."),
]
DescriptionOpt = Annotated[
    str, typer.Option("--description", help="Free text (required for 'other').")
]
ActionOpt = Annotated[
    str, typer.Option("--action", help="Action taken, e.g. none, session_stopped.")
]
OutcomeOpt = Annotated[
    str, typer.Option("--outcome", help="e.g. recovered, recovering, unknown.")
]
SessionOpt = Annotated[
    int | None,
    typer.Option("--session", min=1, max=ID_MAX, help="Delivery session id."),
]


def event_input(patient: str, **fields: Any) -> Any:
    """Parse the options of an adverse event into the workflow's input (exit 2)."""
    from ..utils import check_strict_date
    from ..workflow import AdverseEventInput
    from ._plan import parse_patient

    site, code = parse_patient(patient)
    onset = fields.pop("onset")
    try:
        onset_on = None if onset is None else check_strict_date(onset, "onset_on")
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return _validated(
        AdverseEventInput,
        {
            "site": site,
            "code": code,
            "onset_on": onset_on,
            "action_taken": fields.pop("action"),
            "delivery_session_id": fields.pop("session"),
            **fields,
        },
    )


@ae_app.command("record")
def record_cmd(
    patient: PatientArg,
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
    """Record an adverse event of a patient (audited).

    The patient's next session is blocked until a physician reviews the event
    (plptms ae review ID). Exit 0 recorded, 2 bad input (nothing stored).
    """
    from ..registry import RegistryError
    from ..workflow import record_adverse_event

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
    reg = open_registry(db)
    try:
        result = record_adverse_event(reg, event)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    _console().print(escape(result.message), highlight=False)


@ae_app.command("list")
def list_cmd(patient: PatientArg, db: DbOpt = None) -> None:
    """List a patient's adverse events with their reviews."""
    from ..registry import RegistryError
    from ..workflow import list_adverse_events
    from ._plan import parse_patient

    site, code = parse_patient(patient)
    reg = open_registry(db, create=False)
    try:
        events = list_adverse_events(reg, site, code)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    con = _console()
    if not events:
        con.print(f"No adverse events recorded for {escape(site)}/{escape(code)}.")
        return
    t = Table(title=f"Adverse events of {site}/{code}")
    for col in (
        "id",
        "onset",
        "term",
        "severity",
        "serious",
        "relatedness",
        "action",
        "outcome",
        "physician review",
    ):
        t.add_column(col)
    for e in events:
        r = e.review
        if r is None:
            review = "[red]not reviewed[/red]"
        else:
            decision = "may continue" if r.continue_treatment else "[red]stopped[/red]"
            review = (
                f"{escape(r.physician)}, {r.reviewed_at.date().isoformat()}: {decision}"
            )
        t.add_row(
            str(e.id),
            e.onset_on.isoformat(),
            e.term.value,
            e.severity.value,
            "yes (" + e.serious_criterion.value + ")"
            if e.serious and e.serious_criterion is not None
            else "no",
            e.relatedness.value,
            e.action_taken.value,
            e.outcome.value,
            review,
        )
    con.print(t)


@ae_app.command("review")
def review_cmd(
    event_id: Annotated[
        int, typer.Argument(min=1, max=ID_MAX, help="The adverse event id.")
    ],
    physician: Annotated[
        str, typer.Option("--physician", help="The reviewing physician.")
    ],
    note: Annotated[str, typer.Option("--note", help="The review (recorded).")],
    continue_treatment: Annotated[
        bool | None,
        typer.Option(
            "--continue-treatment/--stop-treatment",
            help="Whether stimulation may go on; required for a serious event or a "
            "seizure (default for others: may continue).",
        ),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who records it (the physician).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Record a physician's review of an adverse event (audited).

    Exit 0 recorded, 2 bad input (nothing stored).
    """
    from ..registry import RegistryError
    from ..workflow import AdverseEventReviewInput, review_adverse_event

    review = _validated(
        AdverseEventReviewInput,
        {
            "event_id": event_id,
            "physician": physician,
            "note": note,
            "continue_treatment": continue_treatment,
            "actor": actor,
        },
    )
    reg = open_registry(db, create=False)
    try:
        event = review_adverse_event(reg, review)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    _console().print(escape(_event_line(event)), highlight=False)


@site_app.command("set")
def site_set_cmd(
    site: SiteArg,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Berlin.")
    ],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    actor: Annotated[str, typer.Option("--actor", help="Who records it.")],
    db: DbOpt = None,
) -> None:
    """Record a site's name and time zone: its dates are taken in that zone."""
    from ..registry import RegistryError
    from ..workflow import set_site

    reg = open_registry(db)
    try:
        out = set_site(reg, site, name=name, timezone=timezone, actor=actor)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    _console().print(
        f"{escape(out.site)} ({escape(out.name)}): time zone {escape(out.timezone)}.",
        highlight=False,
    )


@site_app.command("show")
def site_show_cmd(site: SiteArg, db: DbOpt = None) -> None:
    """Show a site's settings and its calendar date now."""
    from ..registry import RegistryError
    from ..workflow import get_site, site_today

    reg = open_registry(db, create=False)
    try:
        out = get_site(reg, site)
        today = site_today(reg, site)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    con = _console()
    if out is None:
        con.print(
            f"{escape(site)}: no site settings recorded; dates use $PLPTMS_TIMEZONE "
            f"(else the machine's zone). Today there: {today.isoformat()}.",
            highlight=False,
        )
        return
    con.print(
        f"{escape(out.site)} ({escape(out.name)}): time zone {escape(out.timezone)}, "
        f"set by {escape(out.actor)} at {out.updated_at.isoformat()}. Today there: "
        f"{today.isoformat()}.",
        highlight=False,
    )
