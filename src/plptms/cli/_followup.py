"""``plptms followup``: the clinic's follow-up calendar (patients outside a trial).

Parses ``--site`` and ``--on``, calls :func:`plptms.workflow.clinic_followup`
and prints a table per site, the most urgent patients first. Exit codes: 0
shown, 2 bad input (a date not written YYYY-MM-DD, a bad site code, no
registry).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ._registry import _console, _fail

__all__ = ["followup_cmd"]

#: How each state is printed (words, never a colour alone).
_STATE = {
    "overdue": "OVERDUE",
    "due": "due",
    "in_course": "in course",
    "upcoming": "upcoming",
    "done": "done",
    "trial": "trial patient",
}


def _on(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"Invalid value for '--on': got {value!r}; allowed: a calendar date "
            "written YYYY-MM-DD."
        ) from None


def followup_cmd(
    site: Annotated[
        str | None,
        typer.Option("--site", help="Only this site (default: every site)."),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on", help="States on this date, YYYY-MM-DD (default: each site's today)."
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL."),
    ] = None,
) -> None:
    """Show the clinic's follow-up calendar: overdue and due visits first.

    Patients with an assigned protocol outside a trial: course progress, then
    the follow-up visits after a complete course (4 and 12 weeks after the last
    session, a window of 7 days either side) and whether phantom pain was
    recorded inside each window. Trial patients are listed with their trial
    only (see `plptms trial visits`).
    """
    from ..registry import RegistryError
    from ..workflow import clinic_followup
    from ._registry import open_registry

    day = _on(on)
    try:
        with open_registry(db, create=False) as reg:
            cal = clinic_followup(reg, sites=None if site is None else [site], on=day)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    con = _console()
    con.print(
        f"Follow-up {' and '.join(map(str, cal.follow_up_weeks))} weeks after the "
        f"last session; window {cal.window_days} days either side; done when "
        f"{' or '.join(cal.pain_scales)} is recorded inside it."
    )
    if not cal.sites:
        con.print("No patient in the registry.")
    for table in cal.sites:
        t = Table(title=f"{escape(table.site)}: states on {table.on.isoformat()}")
        for col in ("patient", "state", "protocol", "sessions", "last session"):
            t.add_column(col)
        t.add_column("follow-up visits")
        for r in table.rows:
            sessions = (
                ""
                if r.sessions_delivered is None
                else f"{r.sessions_delivered} of {r.sessions_planned or '?'}"
                + (f" (next {r.next_session})" if r.next_session else "")
            )
            visits = "\n".join(
                f"{v.weeks_after_course} wk {v.date.isoformat()} "
                f"[{v.window_start.isoformat()} to {v.window_end.isoformat()}]: "
                f"{_STATE[v.status]}"
                + (f" on {v.done_on.isoformat()}" if v.done_on else "")
                for v in r.visits
            )
            if r.trial_id:
                visits = f"see the trial calendar ({escape(r.trial_id)})"
            t.add_row(
                f"{escape(r.site)}/{escape(r.code)}", _STATE[r.status],
                escape(r.protocol_id or ""), sessions,
                "" if r.last_session_on is None else r.last_session_on.isoformat(),
                visits,
            )  # fmt: skip
        if not table.rows:
            con.print(f"{escape(table.site)}: no patient with an assigned protocol.")
        else:
            con.print(t)
