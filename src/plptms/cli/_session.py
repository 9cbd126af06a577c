"""Session commands: run, show and resume a stimulation session."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ._registry import ID_MAX

session_app = typer.Typer(
    help="Deliver and review stimulation sessions.", no_args_is_help=True
)

DbOpt = Annotated[
    str | None, typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL.")
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def _progress_table(p: Any, blinded: bool, condition: str) -> Table:
    t = Table(
        title="Stimulation in progress (keys: p pause, r resume, a abort, "
        "s emergency stop; Ctrl-C = emergency stop)"
    )
    for col in (
        "train",
        "pulses",
        "time left",
        "intensity",
        "coil temp",
        "state",
        "condition",
    ):
        t.add_column(col)
    temp = "-" if p.coil_temperature_c is None else f"{p.coil_temperature_c:.1f} C"
    t.add_row(
        f"{p.train_index + 1}/{p.n_trains}",
        f"{p.pulses_delivered}/{p.pulses_total}",
        f"{p.seconds_left:.0f} s",
        f"{p.intensity_pct_mso:.1f} % MSO",
        temp,
        p.state,
        "blinded" if blinded else condition,
    )
    return t


def _keyboard(runner: Any, stop: threading.Event) -> None:
    """Read single-letter commands from stdin while the session runs."""
    actions = {
        "p": runner.pause,
        "r": runner.resume,
        "a": runner.abort,
        "s": runner.emergency_stop,
    }
    while not stop.is_set():
        line = sys.stdin.readline()
        if not line:
            return
        act = actions.get(line.strip().lower()[:1])
        if act is not None:
            act()


@contextlib.contextmanager
def _controls(runner: Any, interactive: bool) -> Iterator[None]:
    """Ctrl-C is an emergency stop; single-letter keys while the session runs."""
    previous = signal.signal(signal.SIGINT, lambda *_: runner.emergency_stop())
    stop_keys = threading.Event()
    if interactive and sys.stdin.isatty():
        threading.Thread(
            target=_keyboard, args=(runner, stop_keys), daemon=True
        ).start()
    try:
        yield
    finally:
        stop_keys.set()
        signal.signal(signal.SIGINT, previous)


def _print_checks(console: Console, checks: Any) -> None:
    for c in checks:
        mark = "[green]ok[/green]" if c.passed else "[bold red]BLOCKED[/bold red]"
        console.print(f"{mark} {c.check}: {escape(c.message)}")


def _deliver(
    reg: Any,
    prepared: Any,
    port: str | None,
    actor: str,
    lsl_markers: bool = False,
) -> int:
    from ..delivery import open_stimulator
    from ..delivery.sim import default_pulse_log
    from ..workflow import run_delivery

    console = Console(width=140)
    plan = prepared.plan
    options: dict[str, Any] = {}
    if prepared.device == "sim":
        # the simulator keeps its pulse count on disk, as a real device does; a
        # site with several simulated stimulators names each ($PLPTMS_SIM_SERIAL)
        serial = os.environ.get("PLPTMS_SIM_SERIAL", "SIM-0001")
        options["serial"] = serial
        options["pulse_log"] = default_pulse_log(serial)
        if plan.condition.value == "sham":
            options["sham"] = True
    stim = open_stimulator(prepared.device, port=port, **options)
    if lsl_markers:
        from ..delivery import LSLMarkerOutlet, MarkedStimulator

        stim = MarkedStimulator(stim, LSLMarkerOutlet())
        console.print("Pulse markers on the LSL stream 'plptms-pulses'.")
    live = Live(console=console, refresh_per_second=4, transient=False)
    with live:
        outcome = run_delivery(
            reg,
            prepared,
            stim,
            actor=actor,
            progress=lambda p: live.update(
                _progress_table(p, prepared.blinded, plan.condition.value)
            ),
            controls=lambda runner: _controls(runner, True),
        )
    ok = outcome.status == "completed"
    colour = "green" if ok else "bold red"
    console.print(
        f"[{colour}]Session {prepared.session_id} {outcome.status}[/{colour}]: "
        f"{outcome.pulses_delivered}/{outcome.pulses_total} pulses. "
        f"{escape(outcome.detail)}"
    )
    return 0 if ok else 1


def _refused(console: Console, exc: Exception) -> typer.Exit:
    checks = getattr(exc, "checks", None)
    if checks:
        _print_checks(console, checks)
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Refused:[/bold red] {escape(str(exc))}", highlight=False
    )
    return typer.Exit(1)


@session_app.command("run")
def session_run(
    patient: Annotated[str, typer.Argument(help="SITE/CODE of a registered patient.")],
    protocol: Annotated[str, typer.Option("--protocol", help="Assigned protocol id.")],
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
    blinded: Annotated[
        bool, typer.Option("--blinded", help="Hide the condition.")
    ] = False,
    lsl_markers: Annotated[
        bool, typer.Option("--lsl-markers", help="Send one LSL marker per pulse.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Check, then deliver one session train by train (every pulse logged)."""
    from ..registry import Registry, SessionLeasedError
    from ..workflow import SessionRefusedError, prepare_start

    if "/" not in patient:
        raise _fail(
            f"Invalid value for 'PATIENT': got {patient!r}; allowed: SITE/CODE."
        )
    site, code = patient.split("/", 1)
    console = Console(width=140)
    try:
        with Registry(db) as reg:
            try:
                prepared = prepare_start(
                    reg,
                    site,
                    code,
                    protocol,
                    number,
                    device=device,
                    actor=actor,
                    ae_reviewed=ae_reviewed,
                    blinded=blinded,
                )
            except SessionRefusedError as exc:
                raise _refused(console, exc) from None
            _print_checks(console, prepared.checks)
            plan = prepared.plan
            console.print(
                f"Delivery session {prepared.session_id}: {plan.total_pulses} pulses "
                f"in {len(plan.trains)} trains at "
                f"{plan.trains[0].intensity_pct_mso:.1f} % MSO."
            )
            code_ = _deliver(reg, prepared, port, actor, lsl_markers)
    except SessionLeasedError as exc:
        raise _refused(console, exc) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code_)


@session_app.command("resume")
def session_resume(
    session_id: Annotated[
        int, typer.Argument(help="Delivery session id.", min=1, max=ID_MAX)
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
    db: DbOpt = None,
) -> None:
    """Resume an interrupted session: every check again, then no pulse repeated.

    The resume runs the pre-session checks against the registry as it is now,
    derives the plan again from the assignment (it must equal the session's),
    keeps the inter-train interval across the interruption and refuses while
    another runner holds the session.
    """
    from ..registry import Registry, SessionLeasedError
    from ..workflow import SessionRefusedError, prepare_resume

    console = Console(width=140)
    try:
        with Registry(db) as reg:
            try:
                prepared = prepare_resume(
                    reg, session_id, device=device, ae_reviewed=ae_reviewed
                )
            except SessionRefusedError as exc:
                raise _refused(console, exc) from None
            _print_checks(console, prepared.checks)
            code_ = _deliver(reg, prepared, port, actor)
    except SessionLeasedError as exc:
        raise _refused(console, exc) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code_)


@session_app.command("authorise-restart")
def session_authorise_restart(
    session_id: Annotated[
        int, typer.Argument(help="Delivery session id.", min=1, max=ID_MAX)
    ],
    physician: Annotated[
        str, typer.Option("--physician", help="Physician authorising the restart.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it may continue.")],
    db: DbOpt = None,
) -> None:
    """Record a physician's reasoned restart of a session stopped by an operator."""
    from ..workflow import authorise_restart
    from ._registry import open_registry

    try:
        with open_registry(db, create=False) as reg:
            authorise_restart(reg, session_id, physician=physician, reason=reason)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    Console().print(
        f"Session {session_id}: restart authorised by {escape(physician)}; resume "
        "it with plptms session resume (every check runs again)."
    )


@session_app.command("abort")
def session_abort(
    session_id: Annotated[
        int, typer.Argument(help="Delivery session id.", min=1, max=ID_MAX)
    ],
    actor: Annotated[str, typer.Option("--actor", help="Who aborts it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is not resumed.")],
    db: DbOpt = None,
) -> None:
    """End an interrupted session that will not be resumed, as aborted (audited).

    Refused while a runner holds the session (exit 1). After an abort the session
    resumes only after a physician's reasoned restart. Exit 0 aborted, 2 bad input.
    """
    from ..registry import SessionLeasedError
    from ..workflow import abort_session
    from ._registry import open_registry

    try:
        with open_registry(db, create=False) as reg:
            abort_session(reg, session_id, actor=actor, reason=reason)
    except SessionLeasedError as exc:
        raise _fail(str(exc), 1) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    Console().print(f"Session {session_id}: aborted ({escape(reason.strip())}).")


@session_app.command("show")
def session_show(
    session_id: Annotated[
        int, typer.Argument(help="Delivery session id.", min=1, max=ID_MAX)
    ],
    db: DbOpt = None,
) -> None:
    """Show what a session delivered, train by train, with faults and stops."""
    from ..delivery import SessionPlan, replay_events
    from ._registry import open_registry

    try:
        with open_registry(db, create=False) as reg:
            d = reg.get_delivery(session_id)
            events = reg.delivery_events(session_id)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    plan = SessionPlan.model_validate(d.plan)
    st = replay_events(events)
    c = Console(width=140)
    cond = "blinded" if d.blinded else plan.condition.value
    c.print(
        f"Session {d.id} (assignment {d.assignment_id}, #{d.number}) on {d.device}: "
        f"{d.status}; condition {cond}; {st.total}/{plan.total_pulses} pulses"
    )
    t = Table(title="Trains")
    for col in ("train", "planned", "delivered"):
        t.add_column(col)
    for tr in plan.trains:
        got = st.delivered.get(tr.index, 0)
        if got or tr.index <= max(st.delivered, default=-1):
            t.add_row(str(tr.index + 1), str(tr.n_pulses), str(got))
    c.print(t)
    for e in events:
        if e.kind not in ("pulse", "pulse_intent", "train_start", "train_end"):
            c.print(f"  {e.seq:>6} {e.at} {e.kind} {escape(e.detail)}")
    if st.uncertain:
        c.print(
            f"[yellow]{len(st.uncertain)} pulse(s) issued without confirmation: "
            "resume the session to settle them with the device.[/yellow]"
        )
