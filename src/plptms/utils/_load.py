"""One safe loader for every YAML or JSON document a user (or the package) supplies.

Every plptms data file (protocols, screening answers, PLP histories, scale items,
study outcome files, calibrations, the shipped library) is read here, with limits:

- size: at most :data:`MAX_FILE_BYTES`;
- nesting: at most :data:`MAX_DEPTH` levels of mappings and sequences, checked on
  the parser's event stream (YAML) or by a bracket scan (JSON) *before* anything
  recursive runs, so that no ``RecursionError`` can escape;
- YAML aliases: allowed (the shipped library uses anchors and merge keys), but the
  document as the aliases expand it may hold at most :data:`MAX_NODES` nodes,
  counted on the composed node graph before construction, so an alias bomb
  ("billion laughs") is refused without ever being built;
- duplicate mapping keys: refused, naming the key (and, for YAML, both lines);
- JSON's non-standard constants ``NaN``, ``Infinity`` and ``-Infinity``: refused.

Every failure raises :class:`DataFileError` (a ``ValueError``) whose message is one
line naming the file, what is wrong and what is allowed.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

if TYPE_CHECKING:
    import os

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "DataFileError",
    "load_data_file",
    "load_data_text",
]

#: Largest data file read, in bytes (1 MiB). The largest file plptms ships is a few
#: kB; a plausibility limit chosen by plptms, not a format limit.
MAX_FILE_BYTES: Final[int] = 1024 * 1024

#: Deepest nesting of mappings and sequences in a data file. Protocol files nest
#: about 6 levels; a plausibility limit chosen by plptms that also keeps every
#: recursive step (composer, constructor, pydantic, repr) far from Python's
#: recursion limit.
MAX_DEPTH: Final[int] = 50

#: Most nodes a YAML document may hold once its aliases are expanded. plptms data
#: files hold a few hundred; a plausibility limit chosen by plptms that refuses an
#: alias bomb ("billion laughs") after at most this many steps.
MAX_NODES: Final[int] = 100_000

_FORMATS: Final[tuple[str, ...]] = ("yaml", "json")
_SUFFIX_FORMAT: Final[dict[str, str]] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
}


class DataFileError(ValueError):
    """A data file (or text) that cannot be read safely or is malformed."""


def _fail(source: str, problem: str, allowed: str) -> NoReturn:
    text = f"{source}: {problem}; allowed: {allowed}."
    raise DataFileError(" ".join(text.split()))


# ---------------------------------------------------------------------------
# Public entry points.
# ---------------------------------------------------------------------------


def load_data_file(
    path: str | os.PathLike[str],
    *,
    what: str = "data file",
    fmt: str | None = None,
) -> Any:
    """Read and parse a YAML or JSON file, safely.

    Parameters
    ----------
    path : str | path-like
        The file. Its suffix (``.yaml``, ``.yml`` or ``.json``) selects the format
        unless ``fmt`` is given.
    what : str
        What the file holds (e.g. ``"protocol file"``), for the message.
    fmt : {"yaml", "json"} | None
        Format; ``None`` takes it from the suffix.

    Returns
    -------
    data : object
        The parsed document (``None`` for an empty YAML file).

    Raises
    ------
    DataFileError
        If the file is missing, unreadable, larger than :data:`MAX_FILE_BYTES`, not
        UTF-8, malformed, nested deeper than :data:`MAX_DEPTH`, expands past
        :data:`MAX_NODES` nodes, repeats a key, or (JSON) holds ``NaN`` or
        ``Infinity``. The message is one line naming the file.
    """
    p = Path(path)
    source = f"{what} {str(p)!r}"
    if fmt is None:
        fmt = _SUFFIX_FORMAT.get(p.suffix.lower())
        if fmt is None:
            _fail(
                source,
                f"unknown suffix {p.suffix!r}",
                "suffixes " + ", ".join(_SUFFIX_FORMAT),
            )
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        _fail(source, "no such file", "an existing file")
    except IsADirectoryError:
        _fail(source, "is a directory", "a file")
    except OSError as exc:
        _fail(source, f"cannot be read ({exc.strerror or exc})", "a readable file")
    return _parse_bytes(raw, source, fmt)


def load_data_text(
    text: str | bytes, *, fmt: str, source: str = "<text>", what: str = "data"
) -> Any:
    """Parse YAML or JSON text with the limits of :func:`load_data_file`.

    Parameters
    ----------
    text : str | bytes
        The document (bytes are decoded as UTF-8).
    fmt : {"yaml", "json"}
        Format.
    source : str
        Where the text came from, for the message.
    what : str
        What the text holds, for the message.

    Returns
    -------
    data : object
        The parsed document.

    Raises
    ------
    DataFileError
        As :func:`load_data_file`.
    """
    label = f"{what} {source}"
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _parse_bytes(raw, label, fmt)


# ---------------------------------------------------------------------------
# Parsing.
# ---------------------------------------------------------------------------


def _parse_bytes(raw: bytes, source: str, fmt: str) -> Any:
    if fmt not in _FORMATS:
        raise ValueError(
            f"Invalid value for 'fmt': got {fmt!r}; allowed values are "
            f"{', '.join(repr(f) for f in _FORMATS)}."
        )
    if len(raw) > MAX_FILE_BYTES:
        _fail(
            source,
            f"larger than {MAX_FILE_BYTES} bytes",
            f"files of at most {MAX_FILE_BYTES} bytes (1 MiB)",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(
            source,
            f"not UTF-8 text (byte {exc.start}: {exc.reason})",
            "a UTF-8 text file",
        )
    try:
        if fmt == "json":
            return _parse_json(text, source)
        return _parse_yaml(text, source)
    except DataFileError:
        raise
    except RecursionError:  # pragma: no cover - the depth checks come first
        _fail(source, "nested too deeply", f"at most {MAX_DEPTH} levels")
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        # e.g. a YAML date 2024-02-30 or an integer of more than 4300 digits
        problem = " ".join(str(exc).split()) or type(exc).__name__
        if "integer string conversion" in problem:
            problem = "an integer of more than 4300 digits"
        _fail(source, f"cannot be parsed ({problem})", "well-formed values")


# --- JSON --------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _json_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (malformed text may miscount)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets:
        return 0
    return max(accumulate(1 if c in "[{" else -1 for c in brackets))


def _parse_json(text: str, source: str) -> Any:
    depth = _json_depth(text)
    if depth > MAX_DEPTH:
        _fail(source, f"nested {depth} levels deep", f"at most {MAX_DEPTH} levels")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                _fail(
                    source,
                    f"duplicate key {key!r} in a JSON object",
                    "each key once per object",
                )
            out[key] = value
        return out

    def constant(name: str) -> NoReturn:
        _fail(source, f"holds the non-standard JSON value {name}", "finite numbers")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        _fail(
            source,
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "a JSON document",
        )


# --- YAML --------------------------------------------------------------------


def _yaml_mark(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _loader_classes() -> tuple[type[Any], Any]:
    import yaml

    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return base, yaml


def _make_loader(text: str, source: str) -> Any:
    base, yaml = _loader_classes()

    class _Loader(base):  # type: ignore[misc, valid-type]
        """SafeLoader that refuses duplicate keys."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # merged keys may be overridden: YAML merge semantics
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # the base class refuses unhashable keys
                key = self.construct_object(key_node)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # pragma: no cover - scalars are hashable
                    continue
                if first is not key_node:
                    _fail(
                        source,
                        f"duplicate key {key!r} at line "
                        f"{key_node.start_mark.line + 1} (first at line "
                        f"{first.start_mark.line + 1})",
                        "each key once per mapping",
                    )
            return super().construct_mapping(node, deep=deep)

    return _Loader(text)


def _check_yaml_depth(text: str, source: str) -> None:
    """Walk the parser's events (iterative, no recursion) and bound the nesting."""
    base, yaml = _loader_classes()
    loader = base(text)
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, starts):
                depth += 1
                if depth > MAX_DEPTH:
                    _fail(
                        source,
                        f"nested more than {MAX_DEPTH} levels deep"
                        f"{_yaml_mark(event.start_mark)}",
                        f"at most {MAX_DEPTH} levels",
                    )
            elif isinstance(event, ends):
                depth -= 1
    finally:
        loader.dispose()


def _check_yaml_size(root: Any, source: str) -> None:
    """Count the nodes of the composed graph as aliases expand it (iteratively)."""
    import yaml

    count = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            _fail(
                source,
                f"expands to more than {MAX_NODES} nodes through its aliases",
                f"at most {MAX_NODES} nodes (is it an alias bomb?)",
            )
        if depth > MAX_DEPTH:
            _fail(
                source,
                f"nested more than {MAX_DEPTH} levels deep through its aliases"
                f"{_yaml_mark(node.start_mark)}",
                f"at most {MAX_DEPTH} levels (no recursive aliases)",
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))


def _parse_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        _check_yaml_depth(text, source)
        loader = _make_loader(text, source)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _check_yaml_size(root, source)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        context = getattr(exc, "context", None)
        context_mark = getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None)
        problem_mark = getattr(exc, "problem_mark", None)
        if context and context_mark and problem_mark:
            # where the construct began first, then where the parser gave up
            where = _yaml_mark(context_mark)
            at = _yaml_mark(problem_mark).strip()
            text = f"{context}, {problem} ({at})"
        else:
            where = _yaml_mark(problem_mark)
            text = ", ".join(str(p) for p in (context, problem) if p) or str(exc)
        _fail(source, f"not valid YAML{where}: {text}", "a YAML document")
