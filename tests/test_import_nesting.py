"""Importing plptms does no work and pulls in no heavy or optional dependency."""

from __future__ import annotations

import subprocess
import sys

HEAVY = [
    "scipy",
    "sqlalchemy",
    "fastapi",
    "pylsl",
    "mne_lsl",
    "simnibs",
    "mne",
    "matplotlib",
    "yaml",
    "typer",
    "rich",
]


def _modules_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_import_plptms_is_light() -> None:
    mods = _modules_after("import plptms")
    assert not [m for m in HEAVY if m in mods]


def test_import_core_subpackages_is_light() -> None:
    mods = _modules_after(
        "import plptms.protocol, plptms.safety, plptms.scales, plptms.motor, "
        "plptms.registry, plptms.targeting, plptms.efield, plptms.meta, "
        "plptms.closedloop, plptms.sweeps"
    )
    assert not [m for m in HEAVY if m in mods]


CORE = (
    "batch",
    "sweeps",
    "protocol",
    "safety",
    "scales",
    "targeting",
    "motor",
    "efield",
    "meta",
    "closedloop",
    "delivery",
    "planner",
    "report",
    "trial",
    "access",
    "utils",
)
HIGHER = ("registry", "workflow", "cli", "web")


def test_core_packages_import_no_higher_layer_at_module_level() -> None:
    import ast
    from pathlib import Path

    import plptms

    root = Path(plptms.__file__).parent
    bad: list[str] = []
    for pkg in CORE:
        for path in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:  # module level only; TYPE_CHECKING blocks are If
                if isinstance(node, ast.ImportFrom):
                    mod = node.module or ""
                    parts = mod.split(".")
                    target = (
                        parts[0]
                        if node.level >= 2
                        else parts[1]
                        if mod.startswith("plptms.")
                        else ""
                    )
                    if target in HIGHER:
                        bad.append(f"{path.relative_to(root)}: {mod}")
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        head = alias.name.split(".")
                        if head[0] == "plptms" and len(head) > 1 and head[1] in HIGHER:
                            bad.append(f"{path.relative_to(root)}: {alias.name}")
    assert bad == []


def test_no_subpackage_imports_another_subpackages_private_module() -> None:
    """Subpackages use each other's public names only (``from ..safety import``).

    A module may import its own subpackage's private modules; reaching into
    another subpackage's (``from ..delivery._runner import ...``) is refused, so
    each subpackage's ``__init__`` is its whole interface.
    """
    import ast
    from pathlib import Path

    import plptms

    root = Path(plptms.__file__).parent
    bad: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            continue
        own = rel.parts[0]
        depth = len(rel.parts) - 1
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            parts = node.module.split(".")
            if node.level == depth + 1 and len(parts) >= 2:
                pkg, mod = parts[0], parts[1]
            elif node.level == 0 and parts[0] == "plptms" and len(parts) >= 3:
                pkg, mod = parts[1], parts[2]
            else:
                continue
            if pkg != own and mod.startswith("_"):
                bad.append(f"{rel}:{node.lineno}: {node.module}")
    assert bad == []


def test_core_packages_never_import_a_higher_layer_even_lazily() -> None:
    """No import of the registry, workflow or CLI anywhere in a core package.

    Function-level (lazy) imports count too; only ``if TYPE_CHECKING:`` blocks
    (annotations, never run) are allowed.
    """
    import ast
    from pathlib import Path

    import plptms

    root = Path(plptms.__file__).parent
    bad: list[str] = []

    def typing_only(node: ast.AST) -> bool:
        test = getattr(node, "test", None)
        return isinstance(node, ast.If) and (
            (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        )

    def visit(node: ast.AST, path: Path) -> None:
        for child in ast.iter_child_nodes(node):
            if typing_only(child):
                continue
            if isinstance(child, ast.ImportFrom):
                mod = child.module or ""
                parts = mod.split(".")
                if child.level >= 2:
                    target = parts[0]
                elif mod.startswith("plptms."):
                    target = parts[1]
                else:
                    target = ""
                if target in HIGHER:
                    bad.append(f"{path.relative_to(root)}:{child.lineno}: {mod}")
            visit(child, path)

    for pkg in CORE:
        for path in sorted((root / pkg).rglob("*.py")):
            visit(ast.parse(path.read_text(encoding="utf-8")), path)
    assert bad == []
