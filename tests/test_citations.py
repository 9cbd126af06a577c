"""Every literature constant carries a citation that resolves in references.bib."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BIB_KEYS = set(
    re.findall(r"@\w+\{([\w-]+),", (ROOT / "docs" / "references.bib").read_text())
)
CONSTANT_FILES = sorted(
    [
        *(ROOT / "src" / "plptms").glob("*/_constants.py"),
        *(ROOT / "src" / "plptms").glob("*/_*_defaults.py"),
    ]
)


def _constants(path: Path) -> list[tuple[str, str]]:
    """(name, preceding #: comment block) for every Final constant."""
    lines = path.read_text().splitlines()
    out = []
    for k, line in enumerate(lines):
        m = re.match(r"^([A-Z][A-Z0-9_]+): Final\[", line)
        if not m:
            continue
        j = k - 1
        comment: list[str] = []
        while j >= 0 and lines[j].startswith("#:"):
            comment.insert(0, lines[j])
            j -= 1
        out.append((m.group(1), " ".join(comment)))
    return out


def test_constant_files_found() -> None:
    assert len(CONSTANT_FILES) >= 2


@pytest.mark.parametrize(
    "path", CONSTANT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_constant_cited(path: Path) -> None:
    consts = _constants(path)
    assert consts
    for name, comment in consts:
        assert comment, f"{name} has no '#:' doc comment"
        keys = re.findall(r"\[([\w-]+)\]", comment)
        assert keys, f"{name} has no [bibkey] citation"
        for key in keys:
            assert key in BIB_KEYS, f"{name} cites unknown key {key!r}"
