"""Planner commands: rank and plan for a registered patient, size a trial.

``plptms plan SITE/CODE`` is short for ``plptms plan patient SITE/CODE``.
Exit codes: 0 plan made and nothing pending, 1 screening excluded the patient or the
protocol was refused or cannot be planned, 2 bad input, 3 plan made but something
must be done before delivery (screening, RMT, train structure, physician review, a
recorded target deviation).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from ..utils import clinic_today
from ._registry import DbOpt


class _PatientByDefault(TyperGroup):
    """``plan SITE/CODE ...`` runs ``plan patient SITE/CODE ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["patient", *args]
        return super().parse_args(ctx, args)


plan_app = typer.Typer(
    cls=_PatientByDefault,
    help="Rank the protocols for a registered patient and plan a course "
    "(`plptms plan SITE/CODE`), or size a new trial (`plptms plan trial-size`).",
    no_args_is_help=True,
)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_PENDING = 3

ProtocolOpt = Annotated[
    str | None,
    typer.Option("--protocol", help="Library protocol id to plan (default: rank 1)."),
]
StartOpt = Annotated[
    str | None,
    typer.Option("--start", help="First possible treatment day, YYYY-MM-DD (today)."),
]
SpwOpt = Annotated[
    int | None,
    typer.Option(
        "--sessions-per-week", help="Sessions a week, 1-5 (default: the protocol's)."
    ),
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        help="Plan a block on a target its study did not use, BLOCK=TARGET or TARGET "
        "for every block (repeat per block); needs --target-reason and --operator. "
        "Shown as NOT STUDIED in the plan and the reports.",
    ),
]
TargetReasonOpt = Annotated[
    str | None,
    typer.Option("--target-reason", help="Why the studied target is not used."),
]
OperatorOpt = Annotated[
    str | None,
    typer.Option("--operator", help="Who decided the target deviation."),
]
PriorOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--prior",
        help="Earlier course and its response, PROTOCOL=responder|non-responder "
        "(repeat); the registry does not record responses.",
    ),
]


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def parse_patient(patient: str) -> tuple[str, str]:
    """Split ``SITE/CODE``; exit 2 on anything else."""
    site, sep, code = patient.partition("/")
    if not sep or not site or not code:
        raise _fail(
            f"Invalid value for 'PATIENT': got {patient!r}; allowed: SITE/CODE."
        )
    return site, code


def parse_start(start: str | None) -> dt.date:
    """Parse ``--start`` (today when ``None``); exit 2 if it is not a date."""
    if start is None:
        return clinic_today()
    try:
        return dt.date.fromisoformat(start)
    except ValueError:
        raise _fail(
            f"Invalid value for '--start': got {start!r}; allowed: a date YYYY-MM-DD."
        ) from None


def parse_priors(values: list[str] | None) -> tuple[Any, ...]:
    """Parse ``--prior PROTOCOL=RESPONSE`` values; exit 2 on a bad one."""
    from pydantic import ValidationError

    from ..planner import PriorTreatment

    out = []
    for raw in values or []:
        pid, sep, response = raw.partition("=")
        try:
            if not sep:
                raise ValueError("missing '='")
            out.append(
                PriorTreatment(protocol_id=pid.strip(), response=response.strip())
            )
        except (ValidationError, ValueError):
            raise _fail(
                f"Invalid value for '--prior': got {raw!r}; allowed form is "
                "PROTOCOL=responder or PROTOCOL=non-responder."
            ) from None
    return tuple(out)


def parse_deviations(
    values: list[str] | None, reason: str | None, operator: str | None
) -> tuple[Any, ...]:
    """Parse ``--target [BLOCK=]TARGET`` values into target deviations; exit 2."""
    from pydantic import ValidationError

    from ..protocol import TargetDeviation, TargetSite

    if not values:
        if reason is not None or operator is not None:
            raise _fail(
                "Invalid value for '--target': got none with --target-reason or "
                "--operator; allowed: --target [BLOCK=]TARGET with both."
            )
        return ()
    if not reason or not operator:
        raise _fail(
            "Invalid value for '--target-reason, --operator': got "
            f"{reason!r}, {operator!r}; allowed: both given (a target deviation "
            "is recorded with who decided it and why)."
        )
    allowed = ", ".join(t.value for t in TargetSite)
    out = []
    for raw in values:
        block, sep, target = raw.rpartition("=")
        try:
            out.append(
                TargetDeviation(
                    block=block.strip() if sep else "*",
                    target=target.strip(),
                    reason=reason,
                    operator=operator,
                )
            )
        except ValidationError as exc:
            raise _fail(
                f"Invalid value for '--target': got {raw!r}; allowed form is "
                f"[BLOCK=]TARGET with TARGET one of {allowed} and a reason of at "
                f"least 10 characters ({exc.errors()[0]['msg']})."
            ) from None
    return tuple(out)


def load_patient_plan(
    db: str | None,
    patient: str,
    *,
    protocol: str | None,
    start: str | None,
    sessions_per_week: int | None,
    prior: list[str] | None,
    target: list[str] | None = None,
    target_reason: str | None = None,
    operator: str | None = None,
) -> tuple[Any, Any]:
    """Read the patient from the registry, rank and plan; exit 2 on bad input.

    Returns
    -------
    context, result : RegistryContext, PatientPlan
        The registry view of the patient and the ranking with the plan.
    """
    from ..planner import plan_for_patient
    from ..workflow import context_from_registry
    from ._registry import open_registry

    site, code = parse_patient(patient)
    start_date = parse_start(start)
    priors = parse_priors(prior)
    deviations = parse_deviations(target, target_reason, operator)
    try:
        with open_registry(db, create=False) as reg:
            context = context_from_registry(reg, site, code, prior_treatments=priors)
        result = plan_for_patient(
            context.context,
            start_date=start_date,
            protocol_id=protocol,
            sessions_per_week=sessions_per_week,
            target_deviations=deviations,
            policy=context.policy,
        )
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return context, result


def plan_exit_code(result: Any) -> int:
    """Exit code of a :class:`plptms.planner.PatientPlan` (see the module doc)."""
    from ..safety import Decision, ScreeningStatus

    if result.plan is None:
        return EXIT_REFUSED
    pending = (
        result.patient.screening is not ScreeningStatus.ELIGIBLE
        or result.patient.rmt_pct_mso is None
        or result.verdict.decision is not Decision.ACCEPTED
        or result.verdict.needs_review
        or bool(result.plan.target_deviations)
    )
    return EXIT_PENDING if pending else EXIT_OK


def _render_context(c: Console, context: Any) -> None:
    c.rule(f"Patient {escape(context.patient_id)} (from the registry)")
    for s in context.sources:
        c.print(f"  {escape(s)}")
    if context.unknown:
        c.print("[yellow]Not in the registry (left unknown, never guessed):[/yellow]")
        for u in context.unknown:
            c.print(f"  [yellow]-[/yellow] {escape(u)}")


def _render_ranking(c: Console, result: Any) -> None:
    from ..planner import consensus_text, effect_text, evidence_tier_text

    c.rule("Candidate protocols")
    if not result.rankings:
        return
    for rng in result.rankings[0].consensus:
        c.print(
            f"[bold]Consensus[/bold] {escape(rng.citation)} ({rng.range_id}) - the "
            "review quotes it in two ways, both shown:"
        )
        c.print(f"  [cyan]first-line[/cyan] (non-drug): {escape(rng.first_line)}")
        c.print(f"  [cyan]second-line[/cyan]: {escape(rng.second_line)}")
    table = Table(title="Ranking (safety, prior response, evidence, consensus, n)")
    for col, width in (
        ("#", 3),
        ("protocol", 28),
        ("evidence", 18),
        ("effect vs sham (Hedges' g, 95 % CI)", 44),
        ("n", 4),
        ("safety", 10),
        ("consensus", 26),
        ("flags", 30),
    ):
        table.add_column(col, overflow="fold", max_width=width)
    colour = {
        "accepted": "green",
        "review": "magenta",
        "incomplete": "yellow",
        "refused": "bold red",
    }
    for r in result.rankings:
        d = r.verdict.decision.value
        mark = " *" if r.protocol_id == result.protocol_id else ""
        table.add_row(
            f"{r.rank}{mark}",
            escape(r.protocol_id)
            + (" [red](down-ranked)[/red]" if r.down_ranked else ""),
            evidence_tier_text(r.evidence),
            escape(effect_text(r.evidence)),
            "?" if r.evidence.n_total is None else str(r.evidence.n_total),
            f"[{colour[d]}]{d}[/{colour[d]}]",
            escape(consensus_text(r)),
            escape(
                "; ".join(
                    [
                        *r.flags,
                        *(
                            f"refused by {n.rule_id} ("
                            + ("overridable" if n.overridable else "not overridable")
                            + ")"
                            for n in r.override_needs
                        ),
                    ]
                )
            ),
        )
    c.print(table)
    c.print("* planned below. " + escape(result.rankings[0].variability_note))


def _render_study(c: Console, study: Any) -> None:
    """Print the planned protocol's study: primary source, arms, corrections."""
    from ..planner import source_text

    if study is None:
        return
    c.print(
        f"[bold]Source:[/bold] {escape(study.citation)}: "
        f"{escape(study.primary_citation)} [{escape(study.bibkey)}]; read: "
        f"{escape(source_text(study))}; quoted by the review in {escape(study.review)}"
    )
    if study.from_review:
        c.print(
            "  from the review only (not verified): "
            + escape(", ".join(study.from_review))
        )
    for a in study.arms:
        same = (
            f", same participant(s) as {a.same_participants_as}"
            if a.same_participants_as
            else ""
        )
        c.print(
            f"  arm {escape(a.label)} (n = {'?' if a.n is None else a.n}{escape(same)}"
            f"): {a.outcome.value.replace('_', ' ')}"
            + (f" - {escape(a.result)}" if a.result else "")
        )
    for corr in study.corrections:
        c.print(
            f"  [cyan]corrected[/cyan] {escape(corr.field)}: review "
            f"{escape(corr.as_quoted_by_review)!r} -> published "
            f"{escape(corr.as_published)!r} ({escape(corr.source)})"
        )


def _render_plan(c: Console, result: Any) -> None:
    from ..planner import mso_text, override_text, rmt_text, target_basis_text, weeks
    from ._render import render_verdict

    how = "requested" if result.requested else "rank 1"
    c.rule(f"Plan: {escape(str(result.protocol_id))} ({how})")
    if result.plan is None:
        c.print(f"[bold red]No plan is made:[/bold red] {escape(str(result.problem))}")
        if result.override_needs:
            c.print(
                "[yellow]What an override would need[/yellow] (the studied dose stays "
                "evidence; it is not deliverable without a recorded override):"
            )
            for n in result.override_needs:
                c.print(f"  [yellow]-[/yellow] {escape(override_text(n))}")
        if result.verdict is not None:
            render_verdict(c, result.verdict)
        _render_study(c, result.study)
        return
    plan = result.plan
    blocks = Table(title="Target and intensity")
    for col in (
        "block",
        "target",
        "studied?",
        "hemisphere",
        "how to find it",
        "% RMT",
        "% MSO",
    ):
        blocks.add_column(col, overflow="fold")
    for b, loc in zip(plan.blocks, plan.localisation, strict=True):
        basis = escape(target_basis_text(b))
        blocks.add_row(
            escape(b.label),
            b.target.value,
            basis if b.studied else f"[bold yellow]{basis}[/bold yellow]",
            b.hemisphere.value,
            escape(loc.split(": ", 1)[-1]),
            rmt_text(b),
            mso_text(b),
        )
    c.print(blocks)
    for b in plan.blocks:
        c.print(f"  {escape(b.label)}: {escape(b.explanation)}")
    _render_study(c, result.study)
    multi = len({label for s in plan.sessions for label in s.blocks}) > 1
    cal = Table(
        title=f"Calendar: {len(plan.sessions)} sessions, {plan.sessions_per_week} a "
        f"week, {plan.sessions[0].date.isoformat()} to "
        f"{plan.sessions[-1].date.isoformat()}"
    )
    cal.add_column("week of")
    cal.add_column("sessions", overflow="fold")
    for monday, visits in weeks(plan.sessions):
        cal.add_row(
            monday.isoformat(),
            ", ".join(
                f"#{s.number} {s.date.strftime('%a %d %b')}"
                + (f" ({'+'.join(s.blocks)})" if multi else "")
                for s in visits
            ),
        )
    c.print(cal)
    fu = Table(title="Follow-up visits")
    for col in ("weeks after course", "date", "assess"):
        fu.add_column(col, overflow="fold")
    for f in plan.follow_ups:
        fu.add_row(str(f.weeks_after_course), f.date.isoformat(), escape(f.assessment))
    c.print(fu)
    c.print(f"[bold]Maintenance:[/bold] {escape(plan.maintenance)}")
    render_verdict(c, plan.verdict)
    if plan.warnings:
        c.print("[yellow]Before delivery:[/yellow]")
        for w in plan.warnings:
            c.print(f"  [yellow]-[/yellow] {escape(w)}")


@plan_app.command("patient")
def plan_patient(
    patient: Annotated[str, typer.Argument(help="Registered patient, SITE/CODE.")],
    protocol: ProtocolOpt = None,
    start: StartOpt = None,
    sessions_per_week: SpwOpt = None,
    prior: PriorOpt = None,
    target: TargetOpt = None,
    target_reason: TargetReasonOpt = None,
    operator: OperatorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Rank the protocols for a registered patient and plan the first (or --protocol).

    Exit 0 plan made, 1 excluded / refused, 2 bad input, 3 plan made with steps
    pending before delivery.
    """
    from ._render import DISCLAIMER

    context, result = load_patient_plan(
        db,
        patient,
        protocol=protocol,
        start=start,
        sessions_per_week=sessions_per_week,
        prior=prior,
        target=target,
        target_reason=target_reason,
        operator=operator,
    )
    code = plan_exit_code(result)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "context": context.model_dump(mode="json"),
                    "result": result.model_dump(mode="json"),
                    "disclaimer": DISCLAIMER,
                },
                indent=2,
            )
        )
        raise typer.Exit(code)
    c = Console(width=160)
    c.print(f"[italic]{DISCLAIMER}[/italic]")
    _render_context(c, context)
    if result.excluded:
        c.print(f"[bold red]{escape(str(result.problem))}[/bold red]")
        raise typer.Exit(code)
    _render_ranking(c, result)
    _render_plan(c, result)
    c.print(f"[italic]{DISCLAIMER}[/italic]")
    raise typer.Exit(code)


@plan_app.command("trial-size")
def plan_trial_size(
    effect: Annotated[
        float | None,
        typer.Option(
            "--effect",
            help="Standardised mean difference to plan for (default: the pooled "
            "effect of the shipped evidence).",
        ),
    ] = None,
    tau2: Annotated[
        float | None,
        typer.Option("--tau2", help="Between-study variance (default: pooled)."),
    ] = None,
    se: Annotated[
        float | None,
        typer.Option("--se", help="Standard error of the effect (default: pooled)."),
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Two-sided significance level.")
    ] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Power.")] = 0.80,
    ratio: Annotated[
        float, typer.Option("--ratio", help="Control / treatment allocation ratio.")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Size a new two-arm sham-controlled trial, with and without heterogeneity."""
    from ..planner import trial_design

    try:
        design = trial_design(
            effect, tau2=tau2, se=se, alpha=alpha, power=power, ratio=ratio
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(design.model_dump_json(indent=2))
        return
    c = Console(width=160)
    c.print(
        f"Effect: d = {design.effect_size_d:.3f} ({escape(design.source)}"
        + (f": {escape(', '.join(design.studies))}" if design.studies else "")
        + f"), SE {design.se:.3g}, tau^2 {design.tau2:.3g}"
    )
    t = Table(
        title=f"Participants for alpha = {alpha:g} (two-sided), power = {power:g}"
    )
    for col in ("planned for", "d used", "treatment", "control", "total", "power"):
        t.add_column(col, overflow="fold")
    rows = [("|d| (optimistic)", design.optimistic)]
    if design.conservative is not None:
        rows.append(("95 % prediction interval, lower bound", design.conservative))
    for label, s in rows:
        t.add_row(
            label,
            f"{s.planning_d:.3f}",
            str(s.n_treatment),
            str(s.n_control),
            str(s.n_total),
            f"{s.achieved_power:.3f}",
        )
    c.print(t)
    if design.conservative_note:
        c.print(
            f"[yellow]Allowing for heterogeneity:[/yellow] "
            f"{escape(design.conservative_note)}"
        )
    for label, s in rows:
        c.print(f"  {label}: {escape(s.method)}")
