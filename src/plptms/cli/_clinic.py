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
