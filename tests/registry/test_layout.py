"""The registry's layout: persistence never scores; each part is small."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import plptms.registry
from plptms.registry import Registry

REGISTRY_DIR = Path(plptms.registry.__file__).parent

#: Longest a module composing Registry may be, lines (issue 15: each part small
#: enough to read at once).
MAX_LINES = 600

#: What computes scores in plptms.scales: none of it is the registry's to call.
SCORING = {"score", "score_record", "validate_item"}
SCORING_MODULES = {"_scoring", "_records"}


def _scales_imports(path: Path) -> list[str]:
    """Names a module imports from plptms.scales, anywhere in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            parts = mod.split(".")
            in_scales = (node.level == 2 and parts[0] == "scales") or mod.startswith(
                "plptms.scales"
            )
            if in_scales:
                found += [f"{mod}.{a.name}" for a in node.names]
                found += [mod for p in parts if p in SCORING_MODULES]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("plptms.scales")]
        elif isinstance(node, ast.Attribute) and node.attr in SCORING:
            found.append(f"<attribute>.{node.attr}")
    return found


def test_registry_modules_do_not_score() -> None:
    modules = sorted(REGISTRY_DIR.rglob("*.py"))
    assert len(modules) > 10
    bad = {
        str(p.relative_to(REGISTRY_DIR)): names
        for p in modules
        if (
            names := [
                n
                for n in _scales_imports(p)
                if n.rsplit(".", 1)[-1] in SCORING
                or any(m in n.split(".") for m in SCORING_MODULES)
            ]
        )
    }
    assert bad == {}


def test_scoring_import_is_detected(tmp_path: Path) -> None:
    # the check above can fail: a module that scores is caught
    f = tmp_path / "_bad.py"
    f.write_text("def f():\n    from ..scales import score_record, PLPHistory\n")
    assert _scales_imports(f) == ["scales.score_record", "scales.PLPHistory"]
    f.write_text("import plptms.scales as s\nx = s.score('vas', {})\n")
    assert "<attribute>.score" in _scales_imports(f)


def test_each_part_of_registry_is_small() -> None:
    parts = {
        Path(inspect.getfile(cls))
        for cls in Registry.__mro__
        if cls.__module__.startswith("plptms.registry")
    }
    names = {p.name for p in parts}
    assert {"_store.py", "_patients.py", "_assessments.py", "_delivery.py"} <= names
    long = {
        p.name: n for p in parts if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
