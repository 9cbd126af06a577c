"""Reading virtual-trial design files (`read_virtual_design`)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from plptms.protocol import ProtocolFileError
from plptms.trial import read_trial_definition
from plptms.trial._virtual_design import read_virtual_design

DATA = Path(str(files("plptms.trial") / "data"))
EXAMPLE_TRIAL = DATA / "example_trial.yaml"
ATOL = 1e-12


def _write(tmp_path: Path, doc: object, name: str = "design.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "definition": str(EXAMPLE_TRIAL),
        "n_patients": 16,
        "true_effect": -1.5,
        "visits": ["end_of_course"],
    }
    doc.update(changes)
    return doc


def test_shipped_example_is_the_briefed_design() -> None:
    d = read_virtual_design(DATA / "example_virtual.yaml")
    # the brief: 4 sites, 120 patients, the 2x2 example, -1.5 NRS points, 4 visits
    assert d.definition.site_codes == ("S01", "S02", "S03", "S04")
    assert d.n_patients == 120
    assert abs(d.true_effect - (-1.5)) < ATOL
    assert len(d.simulated_visits()) == 4
    assert len(d.definition.arms) == 4
    assert d.definition.primary_endpoints[0].scale_id == "nrs_phantom_average"
    site = next(f for f in d.definition.stratification if f.id == "site")
    assert site.levels == ("S01", "S02", "S03", "S04")
    # everything but the overridden fields is the example trial's
    base = read_trial_definition(EXAMPLE_TRIAL)
    assert d.definition.arms == base.arms
    assert d.definition.visits == base.visits
    assert d.definition.randomisation == base.randomisation


def test_relative_path_and_inline_definition_give_the_same_design(
    tmp_path: Path,
) -> None:
    (tmp_path / "trial.yaml").write_text(EXAMPLE_TRIAL.read_text())
    by_path = read_virtual_design(_write(tmp_path, _doc(definition="trial.yaml")))
    inline = yaml.safe_load(EXAMPLE_TRIAL.read_text())
    by_map = read_virtual_design(_write(tmp_path, _doc(definition=inline), "b.yaml"))
    assert by_path == by_map
    assert by_path.definition == read_trial_definition(EXAMPLE_TRIAL)


def test_json_design_reads(tmp_path: Path) -> None:
    import json

    path = tmp_path / "d.json"
    path.write_text(json.dumps(_doc()))
    assert read_virtual_design(path).n_patients == 16


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"n_patients": 16, "true_effect": -1.0}, "definition"),
        (_doc(definition=3), "definition"),
        (_doc(definition_overrides=["sites"]), "definition_overrides"),
        (_doc(definition_overrides={"site": []}), "definition_overrides.site"),
        (_doc(definition_overrides={"alpha": 2.0}), "alpha"),
        (_doc(n_patients=3), "n_patients"),
        (_doc(true_effect="big"), "true_effect"),
        (_doc(visits=["nowhere"]), "visits"),
        (_doc(dropout_per_visit=1.0), "dropout_per_visit"),
        (_doc(n_patient=16), "n_patient"),
        (_doc(site_shares={"S01": 1.0}), "site_shares"),
    ],
)
def test_bad_field_is_refused_and_named(
    tmp_path: Path, doc: dict[str, object], field: str
) -> None:
    with pytest.raises(ProtocolFileError, match=field):
        read_virtual_design(_write(tmp_path, doc))


def test_missing_definition_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProtocolFileError, match=r"nope\.yaml"):
        read_virtual_design(_write(tmp_path, _doc(definition="nope.yaml")))


def test_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProtocolFileError, match="VirtualDesign"):
        read_virtual_design(_write(tmp_path, [1, 2]))


def test_definition_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ProtocolFileError, match="definition"):
        read_virtual_design(_write(tmp_path, _doc(definition="list.yaml")))


def test_unsafe_arm_is_refused_by_the_safety_engine(tmp_path: Path) -> None:
    from plptms.trial import TrialDefinitionError

    inline = yaml.safe_load(EXAMPLE_TRIAL.read_text())
    inline["arms"][0]["protocol_id"] = "no-such-protocol"
    with pytest.raises((TrialDefinitionError, ProtocolFileError), match="protocol"):
        read_virtual_design(_write(tmp_path, _doc(definition=inline)))
