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
