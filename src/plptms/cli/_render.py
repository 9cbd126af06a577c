"""Rendering verdicts, protocols and screening reports for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..protocol import Conformance, Protocol, ProtocolRange, Study
from ..safety import RuleStatus, ScreeningReport, ScreeningStatus, Verdict

DISCLAIMER = (
    "plptms is research software, not a certified medical device. Every plan must be "
    "reviewed and signed by a qualified physician."
)

_STATUS_STYLE = {
    RuleStatus.PASSED: "green",
    RuleStatus.FAILED: "bold red",
    RuleStatus.NOT_CHECKED: "yellow",
    RuleStatus.REVIEW: "magenta",
    RuleStatus.UNVERIFIED: "bold yellow",
    RuleStatus.OVERRIDDEN: "bold magenta",
}

_DECISION_STYLE = {
    "accepted": "green",
    "review": "bold magenta",
    "incomplete": "yellow",
    "refused": "bold red",
}


def _fmt(x: float | int | None, unit: str = "") -> str:
    if x is None:
        return "unreported"
    text = f"{x:.4g}" if isinstance(x, float) else str(x)
    return f"{text} {unit}".rstrip()


def render_protocol(
    console: Console, protocol: Protocol, study: Study | None = None
) -> None:
    """Print a protocol with its derived values."""
    console.print(
        f"[bold]{escape(protocol.name)}[/bold]  ([cyan]{protocol.id}[/cyan], "
        f"{protocol.condition.value})"
    )
    if study is not None:
        arms = ", ".join(f"{a.label}: n={_fmt(a.n)}" for a in study.arms)
        console.print(
            f"Source: {escape(study.citation)}, {study.design}, n={_fmt(study.n_total)}"
            f" ({escape(arms)})"
        )
        console.print(
            f"Population: {escape(study.population)}; outcome: {escape(study.outcome)}"
        )
        console.print(f"Reported effect: {escape(study.reported_effect)}")
        if study.notes:
            console.print(f"Notes: {escape(study.notes)}")
    if protocol.notes:
        console.print(f"Protocol notes: {escape(protocol.notes)}")
    dose_t = Table(title="Dose per session (as given; 'unreported' is not guessed)")
    for col in (
        "block",
        "pattern",
        "target",
        "side",
        "Hz",
        "% RMT",
        "pulses/train",
        "trains",
        "pause s",
        "coil",
    ):
        dose_t.add_column(col, overflow="fold")
    sched_t = Table(title="Schedule and derived values (computed, never stored)")
    for col in (
        "block",
        "train s",
        "session min",
        "pulses/session",
        "sessions",
        "per week",
        "weeks",
        "pulses/course",
    ):
        sched_t.add_column(col, overflow="fold")
    multi = len(protocol.blocks) > 1
    for b in protocol.blocks:
        d = b.dose
        label = escape(b.label + (f" [phase {b.phase}]" if multi else ""))
        if b.same_sessions_as:
            label += escape(f" (in {b.same_sessions_as} sessions)")
        dose_t.add_row(
            label,
            d.pattern.value,
            d.target.value,
            "unreported" if d.laterality is None else d.laterality.value,
            _fmt(d.frequency_hz),
            _fmt(d.intensity_pct_rmt),
            _fmt(d.pulses_per_train),
            _fmt(d.trains_per_session),
            _fmt(d.inter_train_interval_s),
            "unreported" if d.coil is None else d.coil.value,
        )
        session = d.session_duration_s
        sched_t.add_row(
            label,
            _fmt(d.train_duration_s),
            _fmt(None if session is None else session / 60.0),
            _fmt(d.pulses_per_session),
            _fmt(b.sessions),
            _fmt(b.mean_sessions_per_week),
            _fmt(b.course_weeks),
            _fmt(b.pulses_per_course),
        )
    console.print(dose_t)
    console.print(sched_t)


def render_verdict(
    console: Console, verdict: Verdict, *, review_hint: str = "before delivery"
) -> None:
    """Print a verdict: every rule with status, value, limit and source.

    Rules that are not ``passed`` are repeated with their message; ``unverified``
    (within a limit resting on a source not verified against the paper) and
    ``review`` rules say that a physician must review, and the decision names the
    policy used and any recorded review. ``review_hint`` ends the sentence saying
    that a review is needed (e.g. how to record it with this command).
    """
    table = Table(
        title=f"Safety verdict for {escape(verdict.protocol_id)} "
        f"(policy {escape(verdict.policy_name)})"
    )
    for col in ("block", "rule", "field", "status", "value", "limit", "source"):
        table.add_column(col, overflow="fold")
    for r in verdict.rules:
        style = _STATUS_STYLE[r.status]
        table.add_row(
            escape(r.block),
            r.rule_id,
            r.field,
            f"[{style}]{r.status.value}[/{style}]",
            "" if r.value is None else f"{r.value:.4g} {r.unit}",
            "" if r.limit is None else f"{r.limit:.4g} {r.unit}",
            escape(r.citation),
        )
    console.print(table)
    for r in verdict.rules:
        if r.status is not RuleStatus.PASSED:
            style = _STATUS_STYLE[r.status]
            text = escape(f"[{r.block}] {r.message}")
            console.print(f"[{style}]{r.status.value}[/{style}] {text}")
    n_unverified = sum(1 for r in verdict.rules if r.status is RuleStatus.UNVERIFIED)
    if n_unverified:
        console.print(
            f"[bold yellow]unverified[/bold yellow]: {n_unverified} rule(s) are within "
            "a limit that rests on a table cell or source condition not verified "
            "against the paper; a physician must review them."
        )
    colour = _DECISION_STYLE[verdict.decision.value]
    if verdict.review is not None:
        extra = escape(
            f" (physician review recorded by {verdict.review.physician}: "
            f"{verdict.review.reason}; {len(verdict.to_review)} rule(s) reviewed)"
        )
    elif verdict.needs_review:
        extra = (
            f" ({len(verdict.to_review)} rule(s) need physician review {review_hint})"
        )
    else:
        extra = ""
    console.print(
        f"Decision: [{colour}]{verdict.decision.label.upper()}[/{colour}]{extra}"
    )
    policy = verdict.policy or verdict.policy_name
    if verdict.policy_name not in policy:
        policy = f"{verdict.policy_name}: {policy}"
    console.print(f"Policy: {escape(policy)}")


def render_screening(console: Console, report: ScreeningReport) -> None:
    """Print a screening report."""
    table = Table(
        title=f"TMS safety screening{' - ' + report.patient if report.patient else ''}"
    )
    for col in ("item", "class", "basis", "answer", "consequence", "detail", "source"):
        table.add_column(col, overflow="fold")
    for f in report.findings:
        ans = {
            "yes": "[bold]yes[/bold]",
            "no": "no",
            "unknown": "[yellow]unknown[/yellow]",
        }[f.answer.value]
        table.add_row(
            escape(f.topic),
            f.item_class.value,
            "-" if f.strictness is None else f.strictness.value.replace("_", " "),
            ans,
            f.consequence,
            escape(f.detail),
            escape(f.source),
        )
    console.print(table)
    for f in report.findings:
        if f.answer.value == "yes" and f.strictness_rationale:
            console.print(f"  {escape(f.topic)}: {escape(f.basis)}")
    colour = {
        ScreeningStatus.ELIGIBLE: "green",
        ScreeningStatus.NEEDS_REVIEW: "yellow",
        ScreeningStatus.EXCLUDED: "bold red",
    }[report.status]
    console.print(f"Screening: [{colour}]{report.status.value}[/{colour}]")
    for reason in report.reasons:
        console.print(f"  - {escape(reason)}")


def render_conformance(console: Console, rng: ProtocolRange, conf: Conformance) -> None:
    """Print a comparison of a protocol block with a range."""
    table = Table(title=f"{conf.protocol_id} [{conf.block}] vs {rng.citation}")
    for col in ("parameter", "value", "range", "inside"):
        table.add_column(col)
    for item in conf.items:
        inside = {
            True: "[green]yes[/green]",
            False: "[red]no[/red]",
            None: "[yellow]unknown[/yellow]",
        }[item.inside]
        table.add_row(item.parameter, escape(item.value), escape(item.allowed), inside)
    console.print(table)
    for rec in rng.recommendations:
        console.print(f"  {escape(rec.line)}: {escape(rec.text)}")
