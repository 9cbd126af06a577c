"""Parsers shared by commands: a protocol argument, overrides, physician reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._registry import _fail

#: How to record a physician review, ending the "needs review" sentence.
REVIEW_HINT = "- record it with --review-physician and --review-reason"


def load_protocol_arg(source: str) -> Any:
    """Load a protocol named on the command line: a file, or a library id.

    Parameters
    ----------
    source : str
        A JSON/YAML protocol file, or the id of a library protocol.

    Returns
    -------
    protocol : plptms.protocol.Protocol
        The validated protocol.

    Raises
    ------
    typer.Exit
        With code 2 on a bad file or an unknown id.
    """
    from ..protocol import ProtocolFileError, load_library, read_protocol

    path = Path(source)
    try:
        if path.suffix.lower() in (".json", ".yaml", ".yml") or path.exists():
            return read_protocol(path)
        return load_library().protocol(source)
    except (ProtocolFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None


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

    from ..protocol import format_validation_error

    try:
        return PhysicianReview(physician=physician, reason=reason)
    except ValidationError as exc:
        raise _fail(format_validation_error(exc)) from None
