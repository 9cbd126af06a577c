"""Reading a virtual-trial design (:class:`VirtualDesign`) from YAML or JSON.

A design file holds the fields of :class:`~plptms.trial._simulate.VirtualDesign`
with its ``definition`` given as a path to a trial definition file (relative to
the design file) or inline, plus optional ``definition_overrides``: top-level
fields of the definition replaced as a whole (e.g. the sites and the
stratification factors, to try a design with more sites)::

    definition: example_trial.yaml
    definition_overrides:
      sites: [...]
      stratification: [...]
    n_patients: 120
    true_effect: -1.5
    visits: [end_of_course, followup_1m, followup_3m, followup_6m]

The shipped example is ``plptms/trial/data/example_virtual.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..protocol import ProtocolFileError, load_data, validate_model
from ..utils import short_repr
from ._definition import TrialDefinition, check_definition_safety
from ._simulate import VirtualDesign

__all__ = ["read_virtual_design"]

_WHAT = "virtual trial design file"


def _definition_data(raw: object, source: Path) -> tuple[dict[str, Any], str]:
    """Return the definition's fields (from a file or inline) and their source."""
    if isinstance(raw, str):
        path = Path(raw)
        if not path.is_absolute():
            path = source.parent / path
        data = load_data(path, what="trial definition file")
        if not isinstance(data, dict):
            raise ProtocolFileError(
                f"{source}: Invalid value for 'definition': the file {str(path)!r} "
                f"holds a {type(data).__name__}; allowed: a mapping of the fields of "
                "a trial definition."
            )
        return data, f"{source} (definition {path})"
    if isinstance(raw, dict):
        return raw, f"{source} (definition)"
    raise ProtocolFileError(
        f"{source}: Invalid value for 'definition': got {short_repr(raw)}; allowed: "
        "a path to a trial definition file (relative to the design file) or a "
        "mapping of its fields."
    )


def read_virtual_design(path: str | Path) -> VirtualDesign:
    """Read a virtual-trial design from YAML or JSON and check it.

    The file holds the fields of :class:`~plptms.trial._simulate.VirtualDesign`;
    its ``definition`` is a path to a trial definition file (relative to the
    design file's folder) or the definition's fields inline, and the optional
    ``definition_overrides`` maps top-level fields of the definition to the
    values that replace them (each replaced as a whole). The definition is
    validated and its arms go through the safety engine, as
    :func:`~plptms.trial.read_trial_definition` does.

    Parameters
    ----------
    path : str | Path
        A ``.yaml``, ``.yml`` or ``.json`` file.

    Returns
    -------
    design : VirtualDesign
        The validated design.

    Raises
    ------
    plptms.protocol.ProtocolFileError
        If a file cannot be read or a field is invalid; the message names the
        file and the field (``definition``, ``definition_overrides.<field>``,
        or a field of the definition or the design).
    plptms.trial.TrialDefinitionError
        If an arm's protocol is refused by the safety engine.
    """
    source = Path(path)
    data = load_data(source, what=_WHAT)
    if not isinstance(data, dict):
        raise ProtocolFileError(
            f"{source}: expected a mapping of fields for a VirtualDesign, got "
            f"{type(data).__name__}; allowed: a YAML/JSON mapping of its fields."
        )
    fields = dict(data)
    if "definition" not in fields:
        raise ProtocolFileError(
            f"{source}: Invalid value for 'definition': required field is missing; "
            "allowed: a path to a trial definition file or a mapping of its fields."
        )
    defn_data, defn_source = _definition_data(fields.pop("definition"), source)
    overrides = fields.pop("definition_overrides", None) or {}
    if not isinstance(overrides, dict):
        raise ProtocolFileError(
            f"{source}: Invalid value for 'definition_overrides': got "
            f"{short_repr(overrides)}; allowed: a mapping of top-level fields of the "
            "trial definition to their new values."
        )
    known = set(TrialDefinition.model_fields)
    for key in overrides:
        if key not in known:
            raise ProtocolFileError(
                f"{source}: Invalid value for 'definition_overrides.{key}': not a "
                f"field of a trial definition; allowed: {', '.join(sorted(known))}."
            )
    defn = validate_model(TrialDefinition, {**defn_data, **overrides}, defn_source)
    check_definition_safety(defn)
    return validate_model(VirtualDesign, {**fields, "definition": defn}, str(source))
