"""Motor commands: MEP analysis, threshold hunting, hotspot search."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

mep_app = typer.Typer(help="Analyse motor evoked potentials.", no_args_is_help=True)
threshold_app = typer.Typer(
    help="Find the motor hotspot and the resting motor threshold.",
    no_args_is_help=True,
)

_DEVICES = ("sim", "magstim", "magventure")


def _console() -> Console:
    return Console(width=160)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def _device(device: str, seed: int | None) -> Any:
    from ..utils import check_option

    try:
        check_option(device, "--device", _DEVICES)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if device != "sim":
        raise _fail(
            f"Invalid value for '--device': got {device!r}; a hotspot search on a "
            "real stimulator is guided by hand: use `threshold hunt` with --port and "
            "--emg-stream, or --device sim."
        )
    from ..motor import SimulatedSubject, sample_subject_parameters

    return SimulatedSubject(sample_subject_parameters(seed), seed=seed)


def _live_responder(
    device: str, port: str | None, emg_stream: str | None, emg_channel: str | None
) -> Any:
    """Return a real stimulator, a live EMG stream (LSL) and the responder class."""
    if not emg_stream or emg_channel is None:
        raise _fail(
            f"Invalid value for '--emg-stream': a hunt on {device!r} needs the live "
            "EMG: give --emg-stream NAME and --emg-channel LABEL."
        )
    from ..delivery import open_stimulator
    from ..motor import LSLEmgSource, StimulatorResponder

    try:
        stim = open_stimulator(device, port=port)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    channel: int | str = int(emg_channel) if emg_channel.isdigit() else emg_channel
    return stim, LSLEmgSource(emg_stream, channel), StimulatorResponder


@mep_app.command("analyse")
def mep_analyse(
    file: Annotated[
        Path, typer.Argument(help="EMG recording (FIF, EDF, BrainVision).")
    ],
    channel: Annotated[str, typer.Option("--channel", help="EMG channel name.")],
    muscle: Annotated[
        str, typer.Option("--muscle", help="FDI, APB, ADM, TA, EDB.")
    ] = "FDI",
    window: Annotated[
        tuple[float, float] | None,
        typer.Option("--window", help="Custom MEP window, ms after the pulse."),
    ] = None,
    stim_channel: Annotated[
        str | None, typer.Option("--stim-channel", help="Trigger channel.")
    ] = None,
    annotation: Annotated[
        str | None, typer.Option("--annotation", help="Trigger annotation, e.g. TMS.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV rows.")] = False,
) -> None:
    """Measure peak-to-peak MEP amplitude and latency per pulse."""
    from ..motor import MepParams, analyse_mep_file

    try:
        params = MepParams(muscle=muscle, window_ms=window)
        res = analyse_mep_file(
            file,
            channel,
            params=params,
            stim_channel=stim_channel,
            annotation=annotation,
        )
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(res.model_dump_json(indent=2))
        return
    if as_csv:
        typer.echo(res.to_csv(), nl=False)
        return
    table = Table(title=f"MEPs in {escape(str(file))} ({escape(channel)})")
    for col in ("#", "time s", "amplitude uV", "latency ms", "MEP", "rejected"):
        table.add_column(col)
    for t in res.trials:
        table.add_row(
            str(t.index),
            f"{t.time_s:.3f}",
            f"{t.amplitude_uv:.1f}",
            "" if t.latency_ms is None else f"{t.latency_ms:.1f}",
            "" if t.mep_present is None else ("yes" if t.mep_present else "no"),
            "" if not t.rejected else str(t.rejection_reason),
        )
    c = _console()
    c.print(table)
    s = res.summary
    c.print(escape(s.model_dump_json()))


@threshold_app.command("hunt")
def threshold_hunt(
    method: Annotated[
        str, typer.Option("--method", help="relative_frequency, ml_pest or psi.")
    ],
    start: Annotated[
        float, typer.Option("--start", help="Start intensity, % MSO (suprathreshold).")
    ],
    device: Annotated[
        str, typer.Option("--device", help="sim, magstim, magventure.")
    ] = "sim",
    port: Annotated[str | None, typer.Option("--port", help="Serial port.")] = None,
    emg_stream: Annotated[
        str | None, typer.Option("--emg-stream", help="LSL EMG stream (name/type).")
    ] = None,
    emg_channel: Annotated[
        str | None, typer.Option("--emg-channel", help="EMG channel label or index.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Simulated subject seed.")
    ] = None,
    max_pulses: Annotated[
        int | None, typer.Option("--max-pulses", help="Pulse budget.")
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Record for this site.")
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="... and patient.")] = None,
    hemisphere: Annotated[
        str, typer.Option("--hemisphere", help="left/right.")
    ] = "left",
    muscle: Annotated[str, typer.Option("--muscle", help="Target muscle.")] = "FDI",
    actor: Annotated[str | None, typer.Option("--actor", help="Who measures.")] = None,
    db: Annotated[
        str | None, typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hunt the resting motor threshold; exit 1 if the hunt does not converge.

    With --site/--code/--actor the RMT is stored in the registry, only if the hunt
    converged.
    """
    from ..motor import hunt_threshold

    if device == "sim":
        responder = _device(device, seed)
        try:
            res = hunt_threshold(
                responder, method, start_intensity_pct_mso=start, max_pulses=max_pulses
            )
        except ValueError as exc:
            raise _fail(str(exc)) from None
    else:
        stim, emg, make = _live_responder(device, port, emg_stream, emg_channel)
        try:
            with stim, emg:
                responder = make(stim, emg)
                res = hunt_threshold(
                    responder,
                    method,
                    start_intensity_pct_mso=start,
                    max_pulses=max_pulses,
                )
        except (ValueError, RuntimeError) as exc:
            raise _fail(f"Hunt stopped, no RMT recorded: {exc}", code=1) from None
    if as_json:
        typer.echo(res.model_dump_json(indent=2))
    else:
        c = _console()
        state = (
            "[green]converged[/green]" if res.converged else "[red]NOT converged[/red]"
        )
        est = (
            "-" if res.estimate_pct_mso is None else f"{res.estimate_pct_mso:.1f} % MSO"
        )
        c.print(
            f"{res.method.value}: {state}, estimate {est}, {res.pulses_used} pulses "
            f"({res.stop_reason.value}); {escape(res.citation)}"
        )
        if device == "sim":
            c.print(f"simulated true RMT: {responder.true_threshold_pct_mso:.1f} % MSO")
    if site or code:
        if not (site and code and actor):
            raise _fail("Recording an RMT needs --site, --code and --actor.")
        from pydantic import ValidationError

        from ..protocol import format_validation_error
        from ..workflow import RMTInput, record_rmt
        from ._registry import open_registry

        try:
            rmt_in = RMTInput(
                site=site,
                code=code,
                result=res,
                hemisphere=hemisphere,
                muscle=muscle,
                stimulator=device,
            )
        except ValidationError as exc:
            raise _fail(format_validation_error(exc)) from None
        try:
            with open_registry(db) as reg:
                recorded = record_rmt(reg, rmt_in, actor=actor)
        except ValueError as exc:
            raise _fail(f"RMT not recorded: {exc}", code=1) from None
        if not as_json:
            c = _console()
            c.print(
                f"Recorded RMT {recorded.rmt_pct_mso:.1f} % MSO for "
                f"{escape(site)}/{escape(code)}."
            )
            for pid, v in recorded.verdicts.items():
                rules = "; ".join(r.rule_id for r in v.failures or v.to_review)
                c.print(
                    f"  {escape(pid)}: {v.decision.value} at this RMT"
                    + (
                        ""
                        if v.decision.value == "accepted"
                        else f" (the next session will be blocked: {escape(rules)})"
                    ),
                    highlight=False,
                )
    raise typer.Exit(0 if res.converged else 1)


@threshold_app.command("hotspot")
def threshold_hotspot(
    intensity: Annotated[
        float, typer.Option("--intensity", help="Suprathreshold intensity, % MSO.")
    ],
    device: Annotated[
        str, typer.Option("--device", help="sim, magstim, magventure.")
    ] = "sim",
    seed: Annotated[
        int | None, typer.Option("--seed", help="Simulated subject seed.")
    ] = None,
    strategy: Annotated[
        str, typer.Option("--strategy", help="hill_climb or exhaustive.")
    ] = "hill_climb",
    pulses: Annotated[int, typer.Option("--pulses", help="Pulses per position.")] = 5,
) -> None:
    """Search the motor hotspot on a 1 cm grid around C3/C4."""
    from ..motor import search_hotspot

    responder = _device(device, seed)
    try:
        res = search_hotspot(
            responder,
            intensity_pct_mso=intensity,
            strategy=strategy,
            pulses_per_position=pulses,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    table = Table(title="Hotspot search (offsets from the grid centre, cm)")
    for col in ("x cm", "y cm", "n", "mean uV", "SD uV"):
        table.add_column(col)
    for ev in sorted(res.evidence, key=lambda e: -e.mean_uv):
        table.add_row(
            f"{ev.position.x_cm:+.1f}",
            f"{ev.position.y_cm:+.1f}",
            str(ev.n),
            f"{ev.mean_uv:.0f}",
            f"{ev.sd_uv:.0f}",
        )
    c = _console()
    c.print(table)
    c.print(
        f"Hotspot: x {res.hotspot.x_cm:+.1f} cm, y {res.hotspot.y_cm:+.1f} cm "
        f"({res.pulses_used} pulses, {res.stop_reason})"
    )
    if device == "sim":
        p = responder.parameters
        c.print(
            f"simulated true hotspot: x {p.hotspot_x_cm:+.2f}, y {p.hotspot_y_cm:+.2f}"
        )
