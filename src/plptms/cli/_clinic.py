"""Clinic commands before delivery: assign a protocol to a registered patient."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ._registry import DbOpt, _console, _fail, open_registry


def assign_cmd(
    patient: Annotated[str, typer.Argument(help="The patient, SITE/CODE.")],
    protocol: Annotated[
        str,
        typer.Option("--protocol", help="Library protocol id or a protocol file."),
    ],
    actor: Annotated[str, typer.Option("--actor", help="Who assigns.")],
    review_physician: Annotated[
        str | None,
        typer.Option(
            "--review-physician",
            help="Physician who reviewed what the verdict asks to review.",
        ),
    ] = None,
    review_reason: Annotated[
        str | None,
        typer.Option("--review-reason", help="Why it may proceed (recorded)."),
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
    db: DbOpt = None,
) -> None:
    """Assign a protocol to a patient, with the verdict it gets at the site.

    The protocol is checked under the site's safety policy with the patient's
    latest RMT. A refused protocol (without a recorded override) or one that
    cannot be fully checked is not assigned (exit 1); one that needs physician
    review is assigned only with --review-physician and --review-reason (exit 4
    without them). Exit 0 assigned, 2 bad input.
    """
    from ..registry import RegistryError
    from ..workflow import AssignmentRefusedError, assign_protocol
    from ._options import (
        REVIEW_HINT,
        load_protocol_arg,
        parse_overrides,
        parse_review,
    )
    from ._plan import parse_patient
    from ._render import render_verdict

    site, code = parse_patient(patient)
    review = parse_review(review_physician, review_reason)
    overrides = parse_overrides(override or [], operator)
    proto = load_protocol_arg(protocol)
    reg = open_registry(db)
    try:
        result = assign_protocol(
            reg, site, code, proto, actor=actor, overrides=overrides, review=review
        )
    except AssignmentRefusedError as exc:
        con = _console()
        render_verdict(con, exc.verdict, review_hint=REVIEW_HINT)
        con.print(f"[bold red]Not assigned:[/bold red] {escape(str(exc))}")
        raise typer.Exit(4 if exc.verdict.decision.value == "review" else 1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    con = _console()
    render_verdict(con, result.verdict)
    con.print(
        f"Assigned {escape(proto.id)} to {escape(site)}/{escape(code)} "
        f"(assignment {result.assignment_id}).",
        highlight=False,
    )


def amend_cmd(
    patient: Annotated[str, typer.Argument(help="The patient, SITE/CODE.")],
    protocol: Annotated[str, typer.Option("--protocol", help="Assigned protocol id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded, audited).")],
    actor: Annotated[str, typer.Option("--actor", help="Who records it.")],
    from_session: Annotated[
        int,
        typer.Option(
            "--from-session", help="First session it applies to.", min=1, max=10_000
        ),
    ] = 1,
    block: Annotated[
        str | None, typer.Option("--block", help="Block label (several blocks).")
    ] = None,
    intensity_rmt: Annotated[
        float | None,
        typer.Option("--intensity-rmt", help="Lower intensity, % RMT."),
    ] = None,
    trains: Annotated[
        int | None,
        typer.Option("--trains", help="Fewer trains per session.", min=1),
    ] = None,
    target_phase: Annotated[
        float | None,
        typer.Option(
            "--target-phase-deg",
            help="Closed loop: phase to fire at, deg (180: trough).",
        ),
    ] = None,
    min_interval: Annotated[
        float | None,
        typer.Option(
            "--min-interval",
            help="Closed loop: shortest interval between pulses, s (never shorter "
            "than the assigned rate's period).",
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Record a lower dose for an assigned protocol, from a session on.

    An amendment may only lower the dose (intensity, trains, the closed-loop
    trigger rule); the amended dose is checked by the safety engine again before
    it is stored. Sessions from --from-session on are planned from it. Exit 0
    recorded, 1 refused (nothing recorded), 2 bad input.
    """
    from pydantic import ValidationError

    from ..protocol import (
        AmendmentRefusedError,
        ClosedLoopRule,
        DoseAmendment,
        format_validation_error,
    )
    from ..registry import RegistryError
    from ..workflow import amend_dose
    from ._plan import parse_patient
    from ._render import render_verdict

    site, code = parse_patient(patient)
    try:
        rule = (
            None
            if target_phase is None and min_interval is None
            else ClosedLoopRule(
                target_phase_deg=target_phase, min_interpulse_interval_s=min_interval
            )
        )
        amendment = DoseAmendment(
            from_session=from_session,
            block=block,
            intensity_pct_rmt=intensity_rmt,
            trains_per_session=trains,
            closed_loop=rule,
            reason=reason,
        )
    except ValidationError as exc:
        raise _fail(format_validation_error(exc)) from None
    if not amendment.changes:
        raise _fail(
            "Invalid value for the amendment: it changes nothing; allowed: at least "
            "one of --intensity-rmt, --trains, --target-phase-deg, --min-interval."
        )
    reg = open_registry(db, create=False)
    try:
        result = amend_dose(reg, site, code, protocol, amendment, actor=actor)
    except AmendmentRefusedError as exc:
        _console().print(f"[bold red]Not recorded:[/bold red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    con = _console()
    render_verdict(con, result.verdict)
    con.print(
        f"Amendment {result.amendment_id} of {escape(protocol)} for "
        f"{escape(site)}/{escape(code)} recorded ({', '.join(amendment.changes)}), "
        f"from session {from_session}.",
        highlight=False,
    )
