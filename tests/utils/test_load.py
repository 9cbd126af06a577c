"""The safe loader: limits on size, nesting, alias expansion; duplicate keys refused.

Each hostile document below once ran for minutes, exhausted memory or escaped as a
``RecursionError`` traceback (issue 13). The oracle is the document's construction:
a known expansion count, depth or duplicated key, never the loader's own output.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from plptms.utils._load import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    DataFileError,
    load_data_file,
    load_data_text,
)

from ..conftest import billion_laughs

if TYPE_CHECKING:
    from pathlib import Path

#: Seconds a refusal may take; the bombs below took 111 s or ran out of memory.
FAST_S = 2.0


def _refused(text: str | bytes, fmt: str, match: str) -> DataFileError:
    start = time.perf_counter()
    with pytest.raises(DataFileError, match=match) as exc:
        load_data_text(text, fmt=fmt, source="t")
    assert time.perf_counter() - start < FAST_S
    assert "\n" not in str(exc.value)
    return exc.value


def test_billion_laughs_refused_without_being_built() -> None:
    bomb = billion_laughs()
    assert len(bomb.encode()) < 1000  # the reported bomb was 758 bytes
    assert 9**9 > MAX_NODES
    _refused(bomb, "yaml", f"more than {MAX_NODES} nodes")


def test_recursive_alias_refused() -> None:
    _refused("a: &x [1, *x]\n", "yaml", "nested more than")


def test_aliases_within_budget_and_merge_keys_still_work() -> None:
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  x: 3\nagain: *b\n"
    assert load_data_text(text, fmt="yaml") == {
        "base": {"x": 1, "y": 2},
        "use": {"x": 3, "y": 2},
        "again": {"x": 1, "y": 2},
    }


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("[" * 100_000 + "]" * 100_000, "json"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "json"),
        ("- " * 100_000 + "x\n", "yaml"),
        ("a: " + "[" * 100_000 + "]" * 100_000, "yaml"),
    ],
    ids=["json-list", "json-object", "yaml-block", "yaml-flow"],
)
def test_deep_nesting_refused_without_recursion_error(text: str, fmt: str) -> None:
    _refused(text, fmt, "nest")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_nesting_at_the_limit_is_read(fmt: str) -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    data = load_data_text(text, fmt=fmt)
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []
    _refused("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), fmt, "nest")


def test_duplicate_yaml_key_named_with_both_lines() -> None:
    text = "pattern: rtms\nfrequency_hz: 20\nintensity_pct_rmt: 90\nfrequency_hz: 1\n"
    err = _refused(text, "yaml", "duplicate key 'frequency_hz'")
    assert "line 4 (first at line 2)" in str(err)
    assert "allowed: each key once" in str(err)


def test_duplicate_yaml_key_in_nested_and_flow_mappings() -> None:
    _refused("a:\n  b: 1\n  b: 2\n", "yaml", "duplicate key 'b'")
    _refused("a: {b: 1, b: 2}\n", "yaml", "duplicate key 'b'")


def test_duplicate_json_key_refused() -> None:
    _refused('{"frequency_hz": 20, "frequency_hz": 1}', "json", "'frequency_hz'")


@pytest.mark.parametrize("name", ["NaN", "Infinity", "-Infinity"])
def test_json_non_finite_constants_refused(name: str) -> None:
    _refused(f'{{"a": {name}}}', "json", name)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("d: 2024-02-30\n", "day is out of range"),
        ("n: " + "9" * 5000 + "\n", "more than 4300 digits"),
        ("a: !!python/object/apply:os.system [ls]\n", "not valid YAML"),
        ("a: [1, 2\n", "not valid YAML at line 1"),
        ("--- a\n--- b\n", "single document"),
    ],
)
def test_malformed_yaml_is_one_clean_line(text: str, match: str) -> None:
    _refused(text, "yaml", match)


def test_json_with_huge_integer() -> None:
    _refused('{"n": ' + "9" * 5000 + "}", "json", "more than 4300 digits")


def test_not_utf8_refused() -> None:
    _refused(b"a: \xff\xfe\n", "yaml", "not UTF-8")


def test_size_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text("a: " + "x" * MAX_FILE_BYTES)
    start = time.perf_counter()
    with pytest.raises(DataFileError, match=f"larger than {MAX_FILE_BYTES} bytes"):
        load_data_file(f)
    assert time.perf_counter() - start < FAST_S


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"protocol file '.*nope\.yaml': no such"):
        load_data_file(tmp_path / "nope.yaml", what="protocol file")
    with pytest.raises(DataFileError, match="is a directory"):
        load_data_file(tmp_path, fmt="yaml")
    other = tmp_path / "p.txt"
    other.write_text("a: 1")
    with pytest.raises(DataFileError, match=r"unknown suffix '\.txt'"):
        load_data_file(other)


def test_valid_documents_round_trip(tmp_path: Path) -> None:
    doc = {"id": "p", "blocks": [{"n": 1, "x": 2.5, "s": "unreported"}], "ok": True}
    j = tmp_path / "d.json"
    j.write_text(json.dumps(doc))
    y = tmp_path / "d.yml"
    y.write_text("id: p\nblocks:\n  - {n: 1, x: 2.5, s: unreported}\nok: true\n")
    assert load_data_file(j) == doc
    assert load_data_file(y) == doc
    assert load_data_text("", fmt="yaml") is None


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="'fmt'"):
        load_data_text("a: 1", fmt="toml")
