"""Parsers shared by commands: overrides and physician reviews."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def parse_overrides(values: list[str], operator: str | None) -> list[Any]:
    """Parse ``--override RULE[:BLOCK]=REASON`` values (with ``--operator``).

    Parameters
    ----------
    values : list of str
        The option values.
    operator : str | None
        Who records them (required when any is given).

    Returns
    -------
    overrides : list of plptms.safety.Override
        The overrides.

    Raises
    ------
    typer.Exit
        With code 2 on a malformed value or a missing operator.
    """
    from ..safety import Override

    out: list[Any] = []
    for raw in values:
        if "=" not in raw:
            raise _fail(
                f"Invalid value for '--override': got {raw!r}; allowed form is "
                "RULE[:BLOCK]=REASON."
            )
        key, reason = raw.split("=", 1)
        rule, _, block = key.partition(":")
        if not operator:
            raise _fail(
                "Invalid value for '--operator': got nothing; an override "
                "needs the operator's name."
            )
        try:
            out.append(
                Override(
                    rule_id=rule, block=block or "*", reason=reason, operator=operator
                )
            )
        except ValueError as exc:
            raise _fail(str(exc)) from None
    return out


def parse_review(physician: str | None, reason: str | None) -> Any:
    """Parse ``--review-physician`` and ``--review-reason`` (both or neither).

    Parameters
    ----------
    physician, reason : str | None
        The option values.

    Returns
    -------
    review : plptms.safety.PhysicianReview | None
        The review, or ``None`` when neither was given.

    Raises
    ------
    typer.Exit
        With code 2 when only one is given or the review is invalid.
    """
    from ..safety import PhysicianReview

    if (physician is None) != (reason is None):
        given, missing = (
            ("--review-physician", "--review-reason")
            if reason is None
            else ("--review-reason", "--review-physician")
        )
        raise _fail(
            f"Invalid value for '{missing}': got nothing with {given}; a review "
            "needs both the physician and the reason."
        )
    if physician is None or reason is None:
        return None
    from pydantic import ValidationError

    try:
        return PhysicianReview(physician=physician, reason=reason)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err.get("loc", ()))
        raise _fail(msg if "Invalid value" in msg else f"{field}: {msg}") from None
