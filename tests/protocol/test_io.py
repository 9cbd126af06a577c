"""Reading protocol files: malformed files give a clear error."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml

from plptms.protocol import ProtocolFileError, read_protocol

from ..conftest import RTMS_DEFAULTS

if TYPE_CHECKING:
    from pathlib import Path


def _doc(**dose_changes):  # type: ignore[no-untyped-def]
    d = dict(RTMS_DEFAULTS)
    d.update(dose_changes)
    return {
        "id": "file-protocol",
        "name": "from a file",
        "condition": "active",
        "blocks": [
            {
                "label": "M1",
                "dose": d,
                "sessions": 10,
                "sessions_per_week": 5,
                "course_weeks": 2,
            }
        ],
    }


def test_yaml_and_json_roundtrip(tmp_path: Path) -> None:
    y = tmp_path / "p.yaml"
    y.write_text(yaml.safe_dump(_doc()))
    j = tmp_path / "p.json"
    j.write_text(json.dumps(_doc()))
    assert read_protocol(y) == read_protocol(j)
    p = read_protocol(y)
    back = tmp_path / "back.json"
    back.write_text(p.model_dump_json())
    assert read_protocol(back) == p


def test_unreported_in_file(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        yaml.safe_dump(
            _doc(
                pulses_per_train="unreported",
                trains_per_session="unreported",
                reported_pulses_per_session=1000,
            )
        )
    )
    assert read_protocol(f).blocks[0].dose.pulses_per_train is None


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        ("id: [unclosed", ".yaml", r"not valid YAML at line 1"),
        ('{"id": ', ".json", r"not valid JSON at line 1"),
        ("- a\n- b\n", ".yaml", "expected a mapping"),
        ("", ".yaml", "expected a mapping"),
    ],
)
def test_malformed(tmp_path: Path, content: str, suffix: str, match: str) -> None:
    f = tmp_path / f"bad{suffix}"
    f.write_text(content)
    with pytest.raises(ProtocolFileError, match=match):
        read_protocol(f)


def test_invalid_fields_all_named(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    doc = _doc(frequency_hz=-3, intensity_pct_rmt=900)
    del doc["blocks"][0]["sessions"]
    doc["blocks"][0]["dose"]["colour"] = "red"
    f.write_text(yaml.safe_dump(doc))
    with pytest.raises(ProtocolFileError) as exc:
        read_protocol(f)
    msg = str(exc.value)
    assert "blocks.0.dose.frequency_hz" in msg
    assert "got -3" in msg
    assert "blocks.0.dose.intensity_pct_rmt" in msg
    assert "got 900" in msg
    assert "blocks.0.sessions: required field is missing" in msg
    assert "blocks.0.dose.colour: unknown field" in msg


def test_missing_file_and_suffix(tmp_path: Path) -> None:
    with pytest.raises(ProtocolFileError, match="no such file"):
        read_protocol(tmp_path / "nope.yaml")
    t = tmp_path / "p.txt"
    t.write_text("x")
    with pytest.raises(ProtocolFileError, match="suffix"):
        read_protocol(t)


def test_bool_intensity_in_a_file_refused(tmp_path: Path) -> None:
    # `intensity_pct_rmt: true` was read as 1 % RMT
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(_doc(intensity_pct_rmt=True)))
    with pytest.raises(ProtocolFileError, match=r"blocks\.0\.dose\.intensity_pct_rmt"):
        read_protocol(f)
    j = tmp_path / "p.json"
    j.write_text(json.dumps(_doc(frequency_hz="20")))
    with pytest.raises(ProtocolFileError, match=r"blocks\.0\.dose\.frequency_hz"):
        read_protocol(j)


DUPLICATE_KEY_PROTOCOL = """\
id: dup-protocol
name: a repeated key
condition: active
blocks:
  - label: M1
    sessions: 10
    sessions_per_week: 5
    course_weeks: 2
    dose:
      pattern: rtms
      target: m1_hand
      laterality: contralateral
      frequency_hz: 20
      intensity_pct_rmt: 90
      pulses_per_train: 40
      trains_per_session: 25
      inter_train_interval_s: 30
      frequency_hz: 1
"""


def test_duplicate_key_in_a_file_refused(tmp_path: Path) -> None:
    # a repeated key kept its last value: 20 Hz became 1 Hz
    f = tmp_path / "p.yaml"
    f.write_text(DUPLICATE_KEY_PROTOCOL)
    with pytest.raises(
        ProtocolFileError,
        match=r"duplicate key 'frequency_hz' at line 18 \(first at line 13\)",
    ):
        read_protocol(f)
    j = tmp_path / "p.json"
    j.write_text('{"id": "a", "id": "b"}')
    with pytest.raises(ProtocolFileError, match="duplicate key 'id'"):
        read_protocol(j)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_protocol_file_is_a_clean_error(tmp_path: Path, suffix: str) -> None:
    f = tmp_path / f"deep{suffix}"
    f.write_text('{"id": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ProtocolFileError, match="nest"):
        read_protocol(f)
