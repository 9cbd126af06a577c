"""Closed-loop commands: calibrate on a resting baseline, run a session, replay."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..closedloop import (
        Calibration,
        ClosedLoopOutcome,
        ClosedLoopProgress,
        EEGSource,
        PhaseTrigger,
        SafetyGate,
        TriggerPolicy,
    )

closedloop_app = typer.Typer(
    help="EEG phase-triggered stimulation over Lab Streaming Layer.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None, typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL.")
]
StreamOpt = Annotated[
    str | None, typer.Option("--stream", help="Name of a live LSL EEG stream.")
]
RecordingOpt = Annotated[
    str | None,
    typer.Option(
        "--recording",
        help="An EEG file (FIF, EDF, BrainVision, EEGLAB) or a shipped recording "
        "(S001R01, S001R04, S002R01, S003R01).",
    ),
]
SimulateOpt = Annotated[
    float | None,
    typer.Option(
        "--simulate",
        help="Use simulated EEG (neurodsp) with this mu SNR, dB.",
    ),
]
CenterOpt = Annotated[
    str, typer.Option("--center", help="Hjorth centre over the target: C3 or C4.")
]

CALIBRATION_FORMAT = "plptms-closedloop-calibration"


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def _one_source(
    stream: str | None, recording: str | None, simulate: float | None
) -> str:
    given = [
        n
        for n, v in (
            ("--stream", stream),
            ("--recording", recording),
            ("--simulate", simulate),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise _fail(
            f"Invalid value for the EEG source: got {', '.join(given) or 'none'}; "
            "allowed: exactly one of --stream, --recording, --simulate."
        )
    return given[0]


def _simulated(seconds: float, snr_db: float, center: str, seed: int) -> Any:
    """Return simulated EEG as an MNE Raw (uV, 1 kHz): every path reads a Raw."""
    import mne  # type: ignore[import-untyped]

    from ..closedloop import simulate_mu_eeg

    eeg = simulate_mu_eeg(seconds, snr_db=snr_db, center=center, seed=seed)
    info = mne.create_info(list(eeg.ch_names), eeg.sfreq_hz, "eeg")
    return mne.io.RawArray(eeg.data.T, info, verbose="error")


def _load(
    recording: str | None,
    simulate: float | None,
    center: str,
    seconds: float,
    seed: int,
) -> tuple[Any, str]:
    """Return the EEG as an MNE Raw and its unit (uV simulated, V from MNE)."""
    from ..closedloop import read_recording

    if simulate is not None:
        try:
            return _simulated(seconds, simulate, center, seed), "uV"
        except ImportError as exc:  # neurodsp is optional: say how to get it
            raise _fail(str(exc)) from None
    assert recording is not None
    try:
        return read_recording(recording), "V"
    except ValueError as exc:
        raise _fail(str(exc)) from None


# ---------------------------------------------------------------- calibrate
@closedloop_app.command("calibrate")
def calibrate_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="Calibration file to write (JSON).")
    ],
    stream: StreamOpt = None,
    recording: RecordingOpt = None,
    simulate: SimulateOpt = None,
    center: CenterOpt = "C3",
    method: Annotated[str, typer.Option("--method", help="ar or etp.")] = "ar",
    seconds: Annotated[
        float, typer.Option("--seconds", help="Resting baseline length, s (>= 20).")
    ] = 120.0,
    percentile: Annotated[
        float,
        typer.Option("--percentile", help="Power gate: percentile of the baseline."),
    ] = 50.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of --simulate.", min=0, max=2**63 - 1)
    ] = 0,
) -> None:
    """Find the individual mu peak and power threshold from a resting baseline."""
    import numpy as np

    from ..closedloop import (
        HjorthFilter,
        SignalQualityError,
        StreamLostError,
        StreamMismatchError,
        TriggerPolicy,
        calibrate,
    )
    from ..utils import check_option

    kind = _one_source(stream, recording, simulate)
    console = Console(width=120)
    try:
        check_option(method, "--method", ("ar", "etp"))
        pol = TriggerPolicy(amplitude_percentile=percentile)
        if kind == "--stream":
            data, ch_names, sfreq, unit = _record_stream(stream, seconds, console)
            source = f"LSL stream {stream!r}"
        else:
            raw, unit = _load(recording, simulate, center, seconds, seed)
            n = min(raw.n_times, round(seconds * raw.info["sfreq"]))
            data = raw.get_data()[:, :n].T
            ch_names, sfreq = list(raw.ch_names), float(raw.info["sfreq"])
            source = (
                f"simulated EEG, SNR {simulate:g} dB, seed {seed}"
                if kind == "--simulate"
                else f"recording {recording}"
            )
        hj = HjorthFilter(ch_names, center)
        cal = calibrate(hj.apply(data), sfreq, method=method, policy=pol)  # type: ignore[arg-type]
    except (SignalQualityError, StreamMismatchError, StreamLostError) as exc:
        raise _fail(f"{exc} Calibration not written.", 1) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    doc = {
        "format": CALIBRATION_FORMAT,
        "version": 1,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": source,
        "center": hj.center,
        "neighbours": list(hj.neighbours),
        "sfreq_hz": sfreq,
        "unit": unit,
        "baseline_s": float(np.asarray(data).shape[0] / sfreq),
        "calibration": cal.to_dict(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    t = Table(title=f"Closed-loop calibration ({escape(source)})", show_header=False)
    t.add_row("derivation", f"{hj.center} Hjorth ({', '.join(hj.neighbours)})")
    t.add_row("baseline", f"{doc['baseline_s']:.1f} s at {sfreq:g} Hz")
    t.add_row("mu peak", f"{cal.peak.peak_hz:.1f} Hz, SNR {cal.peak.snr_db:.1f} dB")
    t.add_row(
        "power gate",
        f"{cal.amplitude_threshold:.4g} {unit} ({cal.amplitude_percentile:g}th "
        "percentile)",
    )
    t.add_row("estimator", cal.method.upper())
    if cal.etp is not None:
        t.add_row(
            "ETP",
            f"period {cal.etp.period_s * 1e3:.1f} ms, bias {cal.etp.bias_s * 1e3:+.1f}"
            f" ms, validation SD {cal.etp.validation_sd_deg:.0f} deg",
        )
    console.print(t)
    console.print(f"Calibration written to {out}")


def _record_stream(
    name: str | None, seconds: float, console: Console
) -> tuple[Any, list[str], float, str]:
    import time

    import numpy as np

    from ..closedloop import LSLSource, StreamLostError

    src = LSLSource(name)
    try:
        chunks: list[Any] = []
        got = 0
        need = round(seconds * src.sfreq_hz)
        last = time.monotonic()
        with Live(console=console, refresh_per_second=4) as live:
            while got < need:
                x, _ = src.pull()
                if x.shape[0]:
                    chunks.append(x)
                    got += x.shape[0]
                    last = time.monotonic()
                elif time.monotonic() - last > 2.0:
                    raise StreamLostError(
                        f"The stream {name!r} went silent after "
                        f"{got / src.sfreq_hz:.1f} s of baseline."
                    )
                else:
                    time.sleep(0.01)
                live.update(
                    Text(
                        f"Recording the resting baseline: {got / src.sfreq_hz:5.1f} / "
                        f"{seconds:g} s (eyes open, relaxed)"
                    )
                )
        data = np.concatenate(chunks)[:need]
        return data, list(src.ch_names), src.sfreq_hz, "stream unit"
    finally:
        src.close()


def _read_calibration(path: Path) -> tuple[dict[str, Any], Calibration]:
    from ..closedloop import Calibration
    from ..utils import DataFileError, load_data_file

    try:
        doc = load_data_file(path, what="calibration file", fmt="json")
    except DataFileError as exc:
        raise _fail(f"Invalid value for '--calibration': {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != CALIBRATION_FORMAT:
        raise _fail(
            f"Invalid value for '--calibration': {path} is not a plptms closed-loop "
            "calibration (run `plptms closedloop calibrate`)."
        )
    try:
        return doc, Calibration.from_dict(doc["calibration"])
    except (KeyError, ValueError) as exc:
        raise _fail(f"Invalid value for '--calibration': {exc}") from None


def _trigger(
    doc: dict[str, Any],
    cal: Calibration,
    ch_names: list[str],
    gate: SafetyGate,
    policy: TriggerPolicy,
) -> PhaseTrigger:
    from ..closedloop import HjorthFilter, PhaseTrigger, make_estimator

    hj = HjorthFilter(ch_names, doc["center"], doc.get("neighbours"))
    est = make_estimator(cal, float(doc["sfreq_hz"]), horizon_s=policy.horizon_s)
    return PhaseTrigger(hj, est, gate, cal.amplitude_threshold, policy)


def _dose(
    pulses: int,
    intensity_rmt: float,
    min_interval_s: float,
    target: Any,
    laterality: Any,
) -> Any:
    from ..protocol import StimulationDose

    return StimulationDose.model_validate(
        {
            "pattern": "single_pulse",
            "target": target,
            "laterality": laterality,
            "frequency_hz": 1.0 / min_interval_s,
            "intensity_pct_rmt": intensity_rmt,
            "pulses_per_train": 1,
            "trains_per_session": pulses,
            "inter_train_interval_s": min_interval_s,
        }
    )


# ---------------------------------------------------------------- display
def _phase_dial(phase_deg: float, target_deg: float) -> str:
    """One line: where the phase is on the cycle, with the target marked."""
    width = 36
    if not math.isfinite(phase_deg):
        return "[" + "." * width + "]"
    cells = ["."] * width
    t = int(((target_deg % 360.0) / 360.0) * width) % width
    p = int(((phase_deg % 360.0) / 360.0) * width) % width
    cells[t] = "T"
    cells[p] = "*" if p != t else "@"
    return "[" + "".join(cells) + "]  0 = peak, 180 = trough"


def _live_view(p: ClosedLoopProgress, target_deg: float) -> Group:
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold", width=14)
    t.add_column()
    ratio = (
        p.amplitude / p.amplitude_threshold if p.amplitude_threshold > 0 else math.nan
    )
    bar_n = 0 if not math.isfinite(ratio) else min(30, round(15 * ratio))
    colour = "green" if math.isfinite(ratio) and ratio >= 1 else "yellow"
    t.add_row("time", f"{p.elapsed_s:7.1f} s")
    t.add_row(
        "mu power",
        f"[{colour}]{'#' * bar_n:<30}[/{colour}] "
        + ("-" if not math.isfinite(ratio) else f"{ratio:4.2f} x gate"),
    )
    t.add_row("mu phase", _phase_dial(p.phase_deg, target_deg))
    t.add_row(
        "confidence", "-" if not math.isfinite(p.confidence) else f"{p.confidence:.2f}"
    )
    t.add_row("triggers", f"{p.pulses} / {p.max_pulses}")
    t.add_row(
        "last latency",
        "-" if not math.isfinite(p.last_latency_ms) else f"{p.last_latency_ms:.2f} ms",
    )
    t.add_row("state", p.status)
    return Group(
        Text("Closed loop running (Ctrl-C = emergency stop)", style="bold"),
        t,
        Text(p.message, style="italic"),
    )


def _run_session(
    reg: Any,
    prepared: Any,
    source: EEGSource,
    stim: Any,
    actor: str,
    duration: float | None,
    console: Console,
    live_display: bool,
) -> ClosedLoopOutcome:
    """Run a prepared session through the workflow, with the live display."""
    from ..workflow import run_closedloop

    target_deg = math.degrees(prepared.policy.target_phase_rad)
    live = Live(console=console, refresh_per_second=8, transient=False)

    def show(p: ClosedLoopProgress) -> None:
        if live_display:
            live.update(_live_view(p, target_deg))

    @contextlib.contextmanager
    def controls(session: Any) -> Iterator[None]:
        previous = signal.signal(signal.SIGINT, lambda *_: session.emergency_stop())
        try:
            if live_display:
                with live:
                    yield
            else:
                yield
        finally:
            signal.signal(signal.SIGINT, previous)

    return run_closedloop(
        reg,
        prepared,
        source,
        stim,
        actor=actor,
        max_duration_s=duration,
        progress=show,
        controls=controls,
    )


def _replay_session(
    source: EEGSource,
    trigger: PhaseTrigger,
    duration: float | None,
    console: Console,
    live_display: bool,
) -> ClosedLoopOutcome:
    """Replay without a patient: simulator, in-memory log, the gate's dose."""
    from ..closedloop import ClosedLoopSession
    from ..delivery import MemoryDeliveryLog, SimulatedStimulator

    target_deg = math.degrees(trigger.policy.target_phase_rad)
    stim = SimulatedStimulator()
    live = Live(console=console, refresh_per_second=8, transient=False)

    def show(p: ClosedLoopProgress) -> None:
        if live_display:
            live.update(_live_view(p, target_deg))

    session = ClosedLoopSession(
        source,
        trigger,
        stim,
        None,
        MemoryDeliveryLog(),
        max_duration_s=duration,
        progress=show,
    )
    previous = signal.signal(signal.SIGINT, lambda *_: session.emergency_stop())
    try:
        with stim:
            if live_display:
                with live:
                    return session.run()
            return session.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        source.close()


def _summary(console: Console, out: ClosedLoopOutcome, target_rad: float) -> None:
    import numpy as np

    t = Table(title="Closed-loop session", show_header=False)
    colour = "green" if out.status == "completed" else "bold red"
    t.add_row("outcome", f"[{colour}]{out.status}[/{colour}]: {escape(out.detail)}")
    t.add_row("pulses", str(out.pulses))
    if out.latency_s.size:
        lat = out.latency_s * 1e3
        t.add_row(
            "latency (ms)",
            f"p50 {np.percentile(lat, 50):.2f}, p99 {np.percentile(lat, 99):.2f}, "
            f"max {lat.max():.2f}",
        )
    if out.compute_s.size:
        c = out.compute_s * 1e6
        t.add_row(
            "compute/decision (us)",
            f"p50 {np.percentile(c, 50):.0f}, p99 {np.percentile(c, 99):.0f}",
        )
    b = out.biomarkers
    if b is not None:
        t.add_row(
            "band power",
            f"theta {b.theta_rel:.0%}, alpha {b.alpha_rel:.0%}, beta {b.beta_rel:.0%} "
            "of 4-30 Hz",
        )
        if b.mu_peak_hz is not None:
            t.add_row("mu peak", f"{b.mu_peak_hz:.1f} Hz, SNR {b.mu_snr_db:.1f} dB")
        if b.true_circular_sd_deg is not None:
            t.add_row(
                "phase at triggers",
                f"mean error {b.true_mean_error_deg:+.0f} deg, circular SD "
                f"{b.true_circular_sd_deg:.0f} deg, {b.true_within_45:.0%} within "
                f"+/-45 deg of {math.degrees(target_rad):.0f} deg (offline ground "
                "truth from the session's own EEG)",
            )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(out.status_counts.items()))
    t.add_row("decisions", counts or "-")
    console.print(t)


# ---------------------------------------------------------------- run
@closedloop_app.command("run")
def run_cmd(
    patient: Annotated[str, typer.Argument(help="SITE/CODE of a registered patient.")],
    calibration: Annotated[
        Path, typer.Option("--calibration", help="File from `closedloop calibrate`.")
    ],
    protocol: Annotated[str, typer.Option("--protocol", help="Assigned protocol id.")],
    number: Annotated[
        int,
        typer.Option("--number", help="Session number (1...).", min=1, max=2**63 - 1),
    ],
    actor: Annotated[str, typer.Option("--actor", help="Operator.")],
    stream: StreamOpt = None,
    recording: RecordingOpt = None,
    device: Annotated[
        str, typer.Option("--device", help="sim, magstim, magventure.")
    ] = "sim",
    port: Annotated[str | None, typer.Option("--port", help="Serial port.")] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this long, s.")
    ] = None,
    ae_reviewed: Annotated[
        bool,
        typer.Option(
            "--ae-reviewed", help="Adverse events since the last session were reviewed."
        ),
    ] = False,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="Dry run: play --recording in virtual time (no LSL, simulator only).",
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Deliver the assigned dose phase-triggered (mu trough), every pulse logged.

    The dose is the assignment's (with the amendment in force, `plptms amend`) at
    the patient's stored RMT, after the same pre-session checks as `plptms
    session run`; the EEG decides only when each pulse goes. Exit 0 completed,
    1 blocked or not completed, 2 bad input.
    """
    from contextlib import nullcontext

    from ..closedloop import (
        LSLSource,
        StreamLostError,
        StreamMismatchError,
        play_recording,
        read_recording,
        recording_source,
    )
    from ..delivery import open_stimulator
    from ..safety import UnsafeProtocolError
    from ..workflow import SessionRefusedError, prepare_closedloop
    from ._plan import parse_patient
    from ._registry import open_registry

    site, code = parse_patient(patient)
    if (stream is None) == (recording is None):
        raise _fail(
            "Invalid value for the EEG source: allowed: exactly one of --stream (a "
            "live LSL stream) or --recording (played on LSL with PlayerLSL)."
        )
    if fast and (recording is None or device != "sim"):
        raise _fail(
            "Invalid value for '--fast': a dry run needs --recording and --device "
            "sim (a live stream or device runs in real time)."
        )
    doc, _ = _read_calibration(calibration)
    console = Console(width=120)
    try:
        with open_registry(db, create=False) as reg:
            ctx: Any = nullcontext()
            stream_name: str | None = stream
            raw: Any = None
            if recording is not None:
                raw = read_recording(recording)
                stream_name = "plptms-closedloop-replay"
                if not fast:
                    ctx = play_recording(raw, name=stream_name)
            with ctx:
                src: Any = recording_source(raw) if fast else LSLSource(stream_name)
                try:
                    prepared = prepare_closedloop(
                        reg,
                        site,
                        code,
                        protocol,
                        number,
                        source=src,
                        calibration=doc,
                        device=device,
                        actor=actor,
                        ae_reviewed=ae_reviewed,
                        stream=stream_name,
                        dry_run=fast,
                    )
                except SessionRefusedError as exc:
                    src.close()
                    for c in exc.checks:
                        _print_check(console, c)
                    raise _fail(str(exc), 1) from None
                except BaseException:
                    src.close()
                    raise
                for c in prepared.checks:
                    _print_check(console, c)
                pol = prepared.policy
                amended = (
                    ""
                    if prepared.plan.amendment_id is None
                    else f", amendment {prepared.plan.amendment_id}"
                )
                console.print(
                    f"Delivery session {prepared.session_id}: up to "
                    f"{prepared.max_pulses} pulses at "
                    f"{prepared.intensity_pct_mso:.1f} % MSO "
                    f"({prepared.plan.intensity_pct_rmt:g} % RMT of "
                    f"{prepared.plan.rmt_pct_mso:.1f} % MSO{amended}), at "
                    f"{math.degrees(pol.target_phase_rad):.0f} deg, >= "
                    f"{pol.min_interpulse_interval_s:g} s apart."
                )
                out = _run_session(
                    reg,
                    prepared,
                    src,
                    open_stimulator(device, port=port),
                    actor,
                    duration,
                    console,
                    not fast,
                )
            _summary(console, out, pol.target_phase_rad)
    except (StreamMismatchError, StreamLostError, UnsafeProtocolError) as exc:
        raise _fail(str(exc), 1) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(0 if out.status == "completed" else 1)


def _print_check(console: Console, c: Any) -> None:
    mark = "[green]ok[/green]" if c.passed else "[bold red]BLOCKED[/bold red]"
    console.print(f"{mark} {c.check}: {escape(c.message)}")


# ---------------------------------------------------------------- replay
@closedloop_app.command("replay")
def replay_cmd(
    recording: RecordingOpt = None,
    simulate: SimulateOpt = None,
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration",
            help="Calibration file; default: calibrate on the first --calibrate-s s.",
        ),
    ] = None,
    calibrate_s: Annotated[
        float, typer.Option("--calibrate-s", help="Baseline taken from the start, s.")
    ] = 30.0,
    center: CenterOpt = "C3",
    method: Annotated[str, typer.Option("--method", help="ar or etp.")] = "ar",
    seconds: Annotated[
        float, typer.Option("--seconds", help="Length of --simulate EEG, s.")
    ] = 120.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of --simulate.", min=0, max=2**63 - 1)
    ] = 0,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast/--lsl",
            help="--fast: replay in virtual time without LSL; --lsl (default): play "
            "on LSL with PlayerLSL in real time and read it back.",
        ),
    ] = False,
    polar: Annotated[
        Path | None, typer.Option("--polar", help="Write a polar histogram PNG.")
    ] = None,
    live_display: Annotated[
        bool, typer.Option("--live/--no-live", help="Show the live display.")
    ] = True,
    rmt: Annotated[
        float,
        typer.Option(
            "--rmt",
            help="A fictional subject's RMT, % MSO; pulses go at 110 % of it.",
            min=1.0,
            max=90.0,
        ),
    ] = 45.0,
) -> None:
    """Replay a recording through the whole loop on the simulator and score it."""
    from ..closedloop import (
        HjorthFilter,
        LSLSource,
        SafetyGate,
        SignalQualityError,
        StreamLostError,
        StreamMismatchError,
        TriggerPolicy,
        calibrate,
        offline_phase,
        phase_accuracy,
        play_recording,
        polar_histogram,
        recording_source,
    )

    kind = _one_source(None, recording, simulate)
    console = Console(width=120)
    raw, _ = _load(recording, simulate, center, seconds, seed)
    fs = float(raw.info["sfreq"])
    label = f"simulated SNR {simulate:g} dB" if kind == "--simulate" else str(recording)
    try:
        if calibration is not None:
            doc, cal = _read_calibration(calibration)
            run_raw = raw
        else:
            n_cal = round(calibrate_s * fs)
            if n_cal + round(20 * fs) > raw.n_times:
                raise _fail(
                    f"Invalid value for '--calibrate-s': got {calibrate_s:g} s; the "
                    f"recording has {raw.n_times / fs:.0f} s and at least 20 s must "
                    "remain to replay."
                )
            hj = HjorthFilter(list(raw.ch_names), center)
            cal = calibrate(
                hj.apply(raw.get_data()[:, :n_cal].T),
                fs,
                method=method,  # type: ignore[arg-type]
            )
            doc = {
                "center": hj.center,
                "neighbours": list(hj.neighbours),
                "sfreq_hz": fs,
            }
            run_raw = raw.copy().crop(tmin=n_cal / fs)
        policy = TriggerPolicy(amplitude_percentile=cal.amplitude_percentile)
        # no patient: a fictional subject's RMT; the gate computes the % MSO fired
        gate = SafetyGate(
            _dose(
                10_000,
                110.0,
                policy.min_interpulse_interval_s,
                "m1_hand",
                "contralateral",
            ),
            rmt_pct_mso=rmt,
        )
        console.print(
            f"Replaying {escape(label)}: {run_raw.n_times / fs:.0f} s at {fs:g} Hz, "
            f"{cal.method.upper()} estimator, mu peak {cal.peak.peak_hz:.1f} Hz "
            f"({'virtual time' if fast else 'LSL, real time'}), simulated stimulator "
            f"at {gate.intensity_pct_mso:.1f} % MSO (110 % of RMT {rmt:g} % MSO)."
        )
        if fast:
            src: Any = recording_source(run_raw, chunk_size=1)
            trig = _trigger(doc, cal, list(run_raw.ch_names), gate, policy)
            out = _replay_session(src, trig, None, console, False)
        else:
            with play_recording(run_raw, name="plptms-replay", chunk_size=1):
                src = LSLSource("plptms-replay")
                trig = _trigger(doc, cal, list(src.ch_names), gate, policy)
                duration = run_raw.n_times / fs - 0.5
                out = _replay_session(src, trig, duration, console, live_display)
    except (SignalQualityError, StreamMismatchError, StreamLostError) as exc:
        raise _fail(f"{exc}", 1) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _summary(console, out, policy.target_phase_rad)
    if out.pulses and out.signal.size:
        keep = out.fire_samples < out.signal.size
        truth = offline_phase(out.signal, fs, cal.peak.peak_hz).phase_rad
        ph = truth[out.fire_samples[keep]]
        acc = phase_accuracy(ph, policy.target_phase_rad)
        console.print(
            f"Accuracy against the offline ground truth: mean error "
            f"{acc.mean_error_deg:+.0f} deg, circular SD "
            f"{acc.circular_sd_deg:.0f} deg, "
            f"{acc.share_within:.0%} of {acc.n_triggers} triggers within +/-45 deg."
        )
        if polar is not None:
            fig = polar_histogram(
                {f"{label} ({cal.method.upper()})": ph},
                policy.target_phase_rad,
                title="True phase at the triggers",
            )
            polar.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(polar, dpi=120)
            console.print(f"Polar histogram: {polar}")
