"""The protocol library shipped with plptms (Table 2 studies and the consensus)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from ..utils import DataFileError, load_data_text
from ._io import ProtocolFileError, validate_model
from ._models import Protocol, Study
from ._range import ProtocolRange

__all__ = ["ProtocolLibrary", "load_library"]


@dataclass(frozen=True)
class ProtocolLibrary:
    """Protocols, their studies and protocol ranges, keyed by id."""

    protocols: dict[str, Protocol]
    studies: dict[str, Study]
    ranges: dict[str, ProtocolRange]

    def protocol(self, protocol_id: str) -> Protocol:
        """Return a protocol by id.

        Parameters
        ----------
        protocol_id : str
            The id.

        Returns
        -------
        protocol : Protocol
            The protocol.

        Raises
        ------
        KeyError
            If unknown; the message lists the ids and suggests the closest.
        """
        return _get(self.protocols, protocol_id, "protocol_id")

    def study(self, study_id: str) -> Study:
        """Return a study by id (see :meth:`protocol`)."""
        return _get(self.studies, study_id, "study_id")

    def range(self, range_id: str) -> ProtocolRange:
        """Return a protocol range by id (see :meth:`protocol`)."""
        return _get(self.ranges, range_id, "range_id")


_T = TypeVar("_T")


def _get(mapping: dict[str, _T], key: str, field: str) -> _T:
    if key in mapping:
        return mapping[key]
    import difflib

    close = difflib.get_close_matches(key, list(mapping), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(
        f"Invalid value for {field!r}: got {key!r}; allowed values are "
        f"{', '.join(sorted(mapping))}.{hint}"
    )


@functools.cache
def load_library() -> ProtocolLibrary:
    """Load the library shipped in the package (cached).

    Returns
    -------
    library : ProtocolLibrary
        All shipped protocols, studies and ranges.

    Raises
    ------
    ProtocolFileError
        If a shipped file is invalid or two entries share an id.
    """
    protocols: dict[str, Protocol] = {}
    studies: dict[str, Study] = {}
    ranges: dict[str, ProtocolRange] = {}
    root = resources.files("plptms.protocol") / "data" / "library"
    files = sorted(
        (f for f in root.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name
    )
    for f in files:
        src = f"library/{f.name}"
        try:
            data = load_data_text(
                f.read_bytes(), fmt="yaml", source=src, what="shipped library file"
            )
        except DataFileError as exc:
            raise ProtocolFileError(str(exc)) from None
        if not isinstance(data, dict):
            raise ProtocolFileError(
                f"{src}: expected a mapping with 'study', 'protocols' or 'ranges', "
                f"got {type(data).__name__}."
            )
        entries: list[tuple[str, dict[str, Any], Any]] = []
        if "study" in data:
            entries.append(
                ("study", studies, validate_model(Study, data["study"], src))
            )
        for item in data.get("protocols", []):
            entries.append(("protocol", protocols, validate_model(Protocol, item, src)))
        for item in data.get("ranges", []):
            entries.append(("range", ranges, validate_model(ProtocolRange, item, src)))
        for kind, mapping, obj in entries:
            if obj.id in mapping:
                raise ProtocolFileError(f"{src}: duplicate {kind} id {obj.id!r}.")
            mapping[obj.id] = obj
    for p in protocols.values():
        if p.study_id is not None and p.study_id not in studies:
            raise ProtocolFileError(
                f"protocol {p.id!r}: unknown study_id {p.study_id!r}."
            )
    return ProtocolLibrary(protocols=protocols, studies=studies, ranges=ranges)
