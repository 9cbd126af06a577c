"""Session commands: run, show and resume a stimulation session."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

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


def _deliver(
    reg: Any,
    session_id: int,
    plan: Any,
    device: str,
    port: str | None,
    blinded: bool,
    actor: str,
    interactive: bool,
    lsl_markers: bool = False,
) -> int:
    from ..delivery import open_stimulator
    from ..delivery._runner import RegistryDeliveryLog, SessionRunner

    console = Console(width=140)
    options: dict[str, Any] = {}
    if plan.condition.value == "sham":
        if device != "sim":
            raise _fail(
                f"Invalid value for '--device': got {device!r}; sham sessions on a "
                "real device need its sham coil, which plptms cannot confirm yet: "
                "use the simulator or deliver sham by hand."
            )
        options["sham"] = True
    stim = open_stimulator(device, port=port, **options)
    if lsl_markers:
        from ..delivery import LSLMarkerOutlet, MarkedStimulator

        stim = MarkedStimulator(stim, LSLMarkerOutlet())
        console.print("Pulse markers on the LSL stream 'plptms-pulses'.")
    log = RegistryDeliveryLog(reg, session_id)
    live = Live(console=console, refresh_per_second=4, transient=False)
    runner = SessionRunner(
        stim,
        plan,
        log,
        progress=lambda p: live.update(
            _progress_table(p, blinded, plan.condition.value)
        ),
    )
    previous = signal.signal(signal.SIGINT, lambda *_: runner.emergency_stop())
    stop_keys = threading.Event()
    if interactive and sys.stdin.isatty():
        threading.Thread(
            target=_keyboard, args=(runner, stop_keys), daemon=True
        ).start()
    try:
        with stim, live:
            outcome = runner.run()
    finally:
        stop_keys.set()
        signal.signal(signal.SIGINT, previous)
    status = {
        "completed": "completed",
        "aborted": "aborted",
        "emergency_stop": "aborted",
        "faulted": "faulted",
    }[outcome.status]
    reg.finish_delivery(session_id, status, actor=actor, detail=outcome.detail)
    colour = "green" if status == "completed" else "bold red"
    console.print(
        f"[{colour}]Session {session_id} {outcome.status}[/{colour}]: "
        f"{outcome.pulses_delivered}/{outcome.pulses_total} pulses. "
        f"{escape(outcome.detail)}"
    )
    return 0 if status == "completed" else 1


@session_app.command("run")
def session_run(
    patient: Annotated[str, typer.Argument(help="SITE/CODE of a registered patient.")],
    protocol: Annotated[str, typer.Option("--protocol", help="Assigned protocol id.")],
    number: Annotated[int, typer.Option("--number", help="Session number (1...).")],
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
    from ..delivery._runner import build_session_plan, pre_session_checks
    from ..registry import Registry
    from ..safety import check_protocol

    if "/" not in patient:
        raise _fail(
            f"Invalid value for 'PATIENT': got {patient!r}; allowed: SITE/CODE."
        )
    site, code = patient.split("/", 1)
    console = Console(width=140)
    try:
        with Registry(db) as reg:
            aid, proto = reg.find_assignment(site, code, protocol)
            rmt = reg.latest_rmt(site, code)
            screening = reg.latest_screening(site, code)
            verdict = None if rmt is None else check_protocol(proto, rmt_pct_mso=rmt[0])
            checks = pre_session_checks(
                today=dt.date.today(),
                screening=screening,
                rmt_measured_on=None if rmt is None else rmt[1],
                verdict=verdict,
                adverse_events_reviewed=ae_reviewed,
            )
            for c in checks:
                mark = (
                    "[green]ok[/green]" if c.passed else "[bold red]BLOCKED[/bold red]"
                )
                console.print(f"{mark} {c.check}: {escape(c.message)}")
            if not all(c.passed for c in checks):
                raise typer.Exit(1)
            assert rmt is not None
            assert verdict is not None
            plan = build_session_plan(proto, verdict, rmt[0])
            if plan.condition.value == "sham" and device != "sim":
                raise _fail(
                    f"Invalid value for '--device': got {device!r}; sham sessions on a "
                    "real device need its sham coil, which plptms cannot confirm yet."
                )
            sid = reg.start_delivery(
                aid,
                number,
                device=device,
                plan=plan.model_dump(mode="json"),
                blinded=blinded,
                actor=actor,
            )
            console.print(
                f"Delivery session {sid}: {plan.total_pulses} pulses in "
                f"{len(plan.trains)} trains at {plan.trains[0].intensity_pct_mso:.1f}"
                " % MSO."
            )
            code_ = _deliver(
                reg, sid, plan, device, port, blinded, actor, True, lsl_markers
            )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code_)


@session_app.command("resume")
def session_resume(
    session_id: Annotated[int, typer.Argument(help="Delivery session id.")],
    actor: Annotated[str, typer.Option("--actor", help="Operator.")],
    device: Annotated[
        str, typer.Option("--device", help="sim, magstim, magventure.")
    ] = "sim",
    port: Annotated[str | None, typer.Option("--port", help="Serial port.")] = None,
    db: DbOpt = None,
) -> None:
    """Resume an interrupted session from its log (no pulse repeated or skipped)."""
    from ..delivery._runner import SessionPlan
    from ..registry import Registry

    try:
        with Registry(db) as reg:
            d = reg.get_delivery(session_id)
            if d.status == "completed":
                raise _fail(
                    f"Invalid value for 'session_id': got {session_id}; it is "
                    "already completed."
                )
            plan = SessionPlan.model_validate(d.plan)
            reg.finish_delivery(session_id, "running", actor=actor, detail="resumed")
            code_ = _deliver(
                reg, session_id, plan, device, port, d.blinded, actor, True
            )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code_)


@session_app.command("show")
def session_show(
    session_id: Annotated[int, typer.Argument(help="Delivery session id.")],
    db: DbOpt = None,
) -> None:
    """Show what a session delivered, train by train, with faults and stops."""
    from ..delivery._runner import SessionPlan, replay_events
    from ..registry import Registry

    try:
        with Registry(db) as reg:
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
