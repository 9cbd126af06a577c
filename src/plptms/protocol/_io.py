"""Reading protocols from JSON or YAML, with errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..utils import DataFileError, load_data_file
from ..utils import short_repr as _short
from ._models import Protocol

__all__ = [
    "ProtocolFileError",
    "format_validation_error",
    "load_data",
    "problems_message",
    "read_protocol",
]

_M = TypeVar("_M", bound=BaseModel)

_SUFFIXES = (".json", ".yaml", ".yml")


class ProtocolFileError(DataFileError):
    """A protocol (or other plptms data) file that cannot be read or is invalid."""


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "(document)"


def format_validation_error(exc: ValidationError) -> str:
    """Turn a pydantic error into lines that each name the field and the problem.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error.

    Returns
    -------
    text : str
        One line per problem: ``field: message``.
    """
    lines = []
    errors = exc.errors()
    locs = [tuple(err["loc"]) for err in errors]
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue  # "0 items after validation": only because an item failed
        msg = str(err["msg"])
        msg = msg.removeprefix("Value error, ")
        where = _loc(tuple(err["loc"]))
        if err["type"] == "missing":
            msg = "required field is missing (give a value, or 'unreported')"
        elif err["type"] == "extra_forbidden":
            msg = f"unknown field (got {_short(err.get('input'))}); check its spelling"
        elif "input" in err and "Invalid value" not in msg:
            msg = f"{msg} (got {_short(err['input'])})"
        lines.append(f"{where}: {msg}")
    return "\n".join(lines)


def problems_message(prefix: str, exc: ValidationError) -> str:
    """Prefix a validation error's problems: one line when there is one problem.

    Parameters
    ----------
    prefix : str
        What was invalid, e.g. ``"p.yaml: invalid Protocol:"``.
    exc : pydantic.ValidationError
        The error.

    Returns
    -------
    text : str
        ``prefix problem`` on one line for a single problem, else the prefix
        followed by one line per problem (see :func:`format_validation_error`).
    """
    problems = format_validation_error(exc)
    sep = "\n" if "\n" in problems else " "
    return f"{prefix}{sep}{problems}"


def load_data(path: str | Path, *, what: str = "data file") -> Any:
    """Parse a JSON or YAML file, with the limits of the safe loader.

    Parameters
    ----------
    path : str | Path
        File with suffix ``.json``, ``.yaml`` or ``.yml``.
    what : str
        What the file holds (e.g. ``"protocol file"``), for the message.

    Returns
    -------
    data : object
        The parsed document.

    Raises
    ------
    ProtocolFileError
        If the file is missing, has another suffix, is too large, too deeply nested,
        expands too far through YAML aliases, repeats a key or cannot be parsed
        (see :func:`plptms.utils._load.load_data_file`); the message is one line.
    """
    p = Path(path)
    if p.suffix.lower() not in _SUFFIXES:
        raise ProtocolFileError(
            f"Invalid value for 'path': got {str(p)!r}; allowed suffixes are "
            f"{', '.join(_SUFFIXES)}."
        )
    try:
        return load_data_file(p, what=what)
    except DataFileError as exc:
        raise ProtocolFileError(str(exc)) from None


def validate_model(model: type[_M], data: Any, source: str) -> _M:
    """Validate ``data`` as ``model``, raising a readable error.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The model.
    data : object
        Parsed data.
    source : str
        Where the data came from (for the message).

    Returns
    -------
    instance : BaseModel
        The validated model.

    Raises
    ------
    ProtocolFileError
        Listing every invalid field.
    """
    if not isinstance(data, dict):
        raise ProtocolFileError(
            f"{source}: expected a mapping of fields for a {model.__name__}, got "
            f"{type(data).__name__}; allowed: a YAML/JSON mapping of its fields."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolFileError(
            problems_message(f"{source}: invalid {model.__name__}:", exc)
        ) from None


def read_protocol(path: str | Path) -> Protocol:
    """Read one protocol from a JSON or YAML file.

    Parameters
    ----------
    path : str | Path
        The file.

    Returns
    -------
    protocol : Protocol
        The validated protocol.

    Raises
    ------
    ProtocolFileError
        If the file is missing, malformed or describes an invalid protocol; the
        message names every offending field.
    """
    data = load_data(path, what="protocol file")
    return validate_model(Protocol, data, str(path))
