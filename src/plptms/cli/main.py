"""The ``plptms`` command line: one Typer sub-app per domain.

Commands parse input into models, call one core function and render the result.
Exit codes: 0 accepted / eligible, 1 refused / excluded, 2 bad input,
3 incomplete check / physician review needed (screening), 4 physician review
required before the protocol is accepted (``protocols check``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from .. import __version__
from ..utils import set_log_level
from . import (
    _adverse,
    _clinic,
    _closedloop,
    _dose,
    _evidence,
    _followup,
    _motor,
    _plan,
    _registry,
    _report,
    _safety,
    _serve,
    _session,
    _sweeps,  # noqa: F401  (registers dose sweep and threshold compare)
    _targeting,
    _trial,
    _trial_analysis,  # noqa: F401  (registers its commands on trial_app)
    _trial_followup,  # noqa: F401  (registers its commands on trial_app)
    _trial_simulate,  # noqa: F401  (registers `trial simulate` on trial_app)
    _users,
)

app = typer.Typer(
    name="plptms",
    help="plptms: precision rTMS for phantom limb pain. Research software, not a "
    "certified medical device.",
    no_args_is_help=True,
    add_completion=False,
)
protocols_app = typer.Typer(
    help="Browse the protocol library and check protocols against the safety limits.",
    no_args_is_help=True,
)
app.add_typer(protocols_app, name="protocols")
app.add_typer(_registry.patient_app, name="patient")
app.add_typer(_registry.assess_app, name="assess")
app.add_typer(_registry.audit_app, name="audit")
app.command("export")(_registry.export_cmd)
app.add_typer(_motor.mep_app, name="mep")
app.add_typer(_motor.threshold_app, name="threshold")
app.add_typer(_targeting.target_app, name="target")
app.add_typer(_session.session_app, name="session")
app.add_typer(_evidence.evidence_app, name="evidence")
app.add_typer(_dose.dose_app, name="dose")
app.add_typer(_closedloop.closedloop_app, name="closedloop")
app.add_typer(_plan.plan_app, name="plan")
app.add_typer(_safety.safety_app, name="safety")
app.command("report")(_report.report_cmd)
app.command("assign")(_clinic.assign_cmd)
app.command("amend")(_clinic.amend_cmd)
app.add_typer(_adverse.ae_app, name="ae")
app.add_typer(_adverse.site_app, name="site")
app.add_typer(_trial.trial_app, name="trial")
app.add_typer(_users.user_app, name="user")
app.command("serve")(_serve.serve_cmd)
app.command("followup")(_followup.followup_cmd)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_REVIEW = 4
EXIT_UNAVAILABLE = 5


def _console() -> Console:
    return Console(width=160, soft_wrap=False)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {message}", markup=True, highlight=False
    )
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"plptms {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress (INFO level).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """plptms: precision rTMS for phantom limb pain (research software)."""
    if verbose:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger("plptms").addHandler(handler)
    set_log_level(verbose)


@protocols_app.command("list")
def protocols_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the protocols and ranges in the library."""
    from rich.table import Table

    from ..protocol import load_library

    lib = load_library()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "protocols": [
                        p.model_dump(mode="json") for p in lib.protocols.values()
                    ],
                    "ranges": [r.model_dump(mode="json") for r in lib.ranges.values()],
                },
                indent=2,
            )
        )
        return
    table = Table(title="Protocol library")
    for col in (
        "id",
        "source",
        "targets",
        "pattern",
        "Hz",
        "% RMT",
        "pulses/session",
        "sessions",
    ):
        table.add_column(col, overflow="fold")
    for p in lib.protocols.values():
        study = lib.studies.get(p.study_id) if p.study_id else None
        table.add_row(
            p.id,
            study.citation if study else "plptms example",
            " then ".join(
                ("+".join(b.dose.target.value for b in p.blocks if b.phase == ph))
                for ph in sorted({b.phase for b in p.blocks})
            ),
            ", ".join(sorted({b.dose.pattern.value for b in p.blocks})),
            ", ".join(
                f"{b.dose.frequency_hz:g}" if b.dose.frequency_hz else "?"
                for b in p.blocks
            ),
            ", ".join(
                f"{b.dose.intensity_pct_rmt:g}" if b.dose.intensity_pct_rmt else "?"
                for b in p.blocks
            ),
            ", ".join(str(b.dose.pulses_per_session or "?") for b in p.blocks),
            ", ".join(str(b.sessions or "?") for b in p.blocks),
        )
    console = _console()
    console.print(table)
    for r in lib.ranges.values():
        console.print(
            f"Range [cyan]{r.id}[/cyan] ({r.citation}): {r.frequency_hz} , "
            f"{r.intensity_pct_rmt}, {r.pulses_per_session}, {r.sessions}"
        )


@protocols_app.command("show")
def protocols_show(
    protocol_id: Annotated[str, typer.Argument(help="Library protocol id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one library protocol with its source and derived values."""
    from ..protocol import load_library
    from ._render import render_conformance, render_protocol

    lib = load_library()
    try:
        p = lib.protocol(protocol_id)
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    if as_json:
        typer.echo(p.model_dump_json(indent=2))
        return
    console = _console()
    render_protocol(console, p, lib.studies.get(p.study_id) if p.study_id else None)
    for rng in lib.ranges.values():
        render_conformance(console, rng, rng.conformance(p))


@protocols_app.command("check")
def protocols_check(
    source: Annotated[
        str, typer.Argument(help="Protocol file (JSON/YAML) or library protocol id.")
    ],
    rmt: Annotated[
        float | None,
        typer.Option("--rmt", help="Patient's resting motor threshold, % MSO."),
    ] = None,
    override: Annotated[
        list[str] | None,
        typer.Option(
            "--override", help="RULE[:BLOCK]=REASON; only for overridable refusals."
        ),
    ] = None,
    operator: Annotated[
        str | None, typer.Option("--operator", help="Who records the overrides.")
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            "--margin",
            help="Factor on train limits, (0, 1]; a site policy: needs "
            "--policy-name and --margin-reason (0.75 = Chen 1997 margin).",
        ),
    ] = 1.0,
    margin_reason: Annotated[
        str,
        typer.Option("--margin-reason", help="Why the site applies the margin."),
    ] = "",
    policy_name: Annotated[
        str | None,
        typer.Option(
            "--policy-name", help="Name of the safety policy (plptms-default)."
        ),
    ] = None,
    review_physician: Annotated[
        str | None,
        typer.Option(
            "--review-physician",
            help="Physician who reviewed the rules needing review (with "
            "--review-reason).",
        ),
    ] = None,
    review_reason: Annotated[
        str | None,
        typer.Option(
            "--review-reason",
            help="Why the protocol may proceed (recorded with the verdict).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a protocol against the safety limits.

    Exit 0 accepted (with the recorded review, where one was needed), 1 refused,
    2 bad input, 3 incomplete (unreported parameters), 4 physician review required
    (a limit rests on an unverified source, a rule is flagged for review or
    overridden, and no review was recorded: give --review-physician and
    --review-reason).
    """
    from ..safety import (
        DEFAULT_POLICY_NAME,
        Decision,
        SafetyPolicy,
        check_protocol,
    )
    from ._options import (
        REVIEW_HINT,
        load_protocol_arg,
        parse_overrides,
        parse_review,
    )
    from ._render import render_verdict

    review = parse_review(review_physician, review_reason)
    protocol = load_protocol_arg(source)
    try:
        policy = SafetyPolicy(
            name=DEFAULT_POLICY_NAME if policy_name is None else policy_name,
            train_duration_margin=margin,
            margin_reason=margin_reason,
        )
        overrides = parse_overrides(override or [], operator)
        verdict = check_protocol(
            protocol,
            rmt_pct_mso=rmt,
            overrides=overrides,
            policy=policy,
            review=review,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(verdict.model_dump_json(indent=2))
    else:
        render_verdict(_console(), verdict, review_hint=REVIEW_HINT)
    code = {
        Decision.ACCEPTED: EXIT_OK,
        Decision.REFUSED: EXIT_REFUSED,
        Decision.INCOMPLETE: EXIT_INCOMPLETE,
        Decision.REVIEW: EXIT_REVIEW,
    }[verdict.decision]
    raise typer.Exit(code)


@app.command("screen")
def screen_cmd(
    file: Annotated[Path, typer.Argument(help="Screening answers (JSON/YAML).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient", help="SITE/CODE: store the report in the registry too."
        ),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who records it (with --patient).")
    ] = None,
    db: _registry.DbOpt = None,
) -> None:
    """Screen a patient for TMS contraindications (and store it with --patient).

    Exit 0 eligible, 1 excluded, 2 bad input, 3 physician review needed.
    """
    from ..protocol import ProtocolFileError, load_data, validate_model
    from ..safety import ScreeningAnswers, ScreeningStatus, screen
    from ._render import render_screening

    try:
        answers = validate_model(
            ScreeningAnswers, load_data(file, what="screening file"), str(file)
        )
        report = screen(answers)
    except (ProtocolFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if patient is not None:
        from ..registry import RegistryError
        from ..workflow import record_screening
        from ._plan import parse_patient

        site, code = parse_patient(patient)
        if not actor:
            raise _fail(
                "Invalid value for '--actor': got nothing; storing a screening "
                "needs who records it."
            )
        reg = _registry.open_registry(db)
        try:
            _, report = record_screening(reg, site, code, answers, actor=actor)
        except (RegistryError, ValueError) as exc:
            raise _fail(str(exc)) from None
        finally:
            reg.close()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        render_screening(_console(), report)
    raise typer.Exit(
        {
            ScreeningStatus.ELIGIBLE: EXIT_OK,
            ScreeningStatus.EXCLUDED: EXIT_REFUSED,
            ScreeningStatus.NEEDS_REVIEW: EXIT_INCOMPLETE,
        }[report.status]
    )


@app.command("demo")
def demo(
    patient_file: Annotated[
        Path | None,
        typer.Option(
            "--patient", help="Patient file; the shipped fictional one if omitted."
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for the demo registry and figure (recreated on each run).",
        ),
    ] = Path("plptms-demo"),
) -> None:
    """Run the whole path on a fictional patient, from assessment to report."""
    from ..protocol import ProtocolFileError, load_library, plan_blocks
    from ..safety import ScreeningStatus, check_protocol, screen
    from ._demo import load_demo_patient
    from ._render import (
        DISCLAIMER,
        render_conformance,
        render_protocol,
        render_screening,
        render_verdict,
    )

    console = _console()
    try:
        pat = load_demo_patient(patient_file)
        lib = load_library()
        protocol = lib.protocol(pat.protocol)
    except (ProtocolFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    console.rule(f"plptms demo - patient {pat.patient}")
    console.print(f"[italic]{DISCLAIMER}[/italic]")
    console.rule("1. Screening")
    report = screen(pat.screening)
    render_screening(console, report)
    if report.status is ScreeningStatus.EXCLUDED:
        console.print("[bold red]Excluded: no plan is made.[/bold red]")
        raise typer.Exit(EXIT_REFUSED)
    console.rule("2. Protocol from the library")
    render_protocol(
        console,
        protocol,
        lib.studies.get(protocol.study_id) if protocol.study_id else None,
    )
    for rng in lib.ranges.values():
        render_conformance(console, rng, rng.conformance(protocol))
    console.rule("3. Safety check")
    verdict = check_protocol(protocol, rmt_pct_mso=pat.rmt_pct_mso)
    render_verdict(console, verdict)
    console.rule("4. Plan")
    try:
        planned = plan_blocks(protocol, pat.amputation, pat.rmt_pct_mso)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for pb, block in zip(planned, protocol.blocks, strict=True):
        mso = (
            "not yet known (measure RMT)"
            if pb.intensity_pct_mso is None
            else f"{pb.intensity_pct_mso:.1f} % MSO"
        )
        console.print(
            f"[bold]{pb.label}[/bold]: {pb.target.value}, {pb.hemisphere.value} "
            f"hemisphere; {pb.intensity_pct_rmt:g} % RMT = {mso}; "
            f"{block.sessions} sessions, {block.mean_sessions_per_week:g}/week"
        )
        console.print(f"  why: {pb.explanation}")
    if pat.head is not None:
        from ..targeting import HeadMeasurements, plan_targets, plot_targeting_sheet

        head = HeadMeasurements.model_validate(pat.head)
        tplans = [
            plan_targets(
                pat.amputation, blk.dose.target, head, laterality=blk.dose.laterality
            )
            for blk in protocol.blocks
        ]
        for tp in tplans:
            for site in tp.sites:
                console.print(f"  scalp: {escape(site.position.how_to_measure)}")
        out.mkdir(parents=True, exist_ok=True)
        sheet = out / "targeting_sheet.png"
        plot_targeting_sheet(tplans, patient_code=pat.patient).savefig(sheet, dpi=110)
        console.print(f"  targeting sheet: {sheet}")
    status = verdict.decision.value.upper()
    screening = report.status.value
    console.print(
        f"\nPlan verdict: safety [bold]{status}[/bold]; screening [bold]{screening}"
        "[/bold]"
        + (
            " - a physician must review before the first session."
            if screening != "eligible" or verdict.needs_review
            else "."
        )
    )
    import time

    from ._demo import run_course

    t0 = time.perf_counter()
    outputs = run_course(console, pat, report, out)
    if pat.head is not None:
        outputs.insert(1, out / "targeting_sheet.png")
    console.rule("Outputs")
    for path in outputs:
        console.print(f"  {escape(str(path))}")
    console.print(
        f"Demonstration finished in {time.perf_counter() - t0:.0f} s (steps 5-12). "
        "Open the reports first; `plptms --help` lists every command."
    )
    console.print(f"[italic]{DISCLAIMER}[/italic]")


def run() -> None:
    """Run the command line (the ``plptms`` script and ``python -m plptms``).

    A registry that became unreachable after it was opened (network or server
    down) ends the command with exit code 5 and the registry's own message (what
    was written, what to do), not a traceback.
    """
    from ..registry.db._engine import RegistryUnavailableError

    try:
        app()
    except RegistryUnavailableError as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]Registry unavailable:[/bold red] {exc}",
            markup=True,
            highlight=False,
        )
        raise SystemExit(EXIT_UNAVAILABLE) from None
