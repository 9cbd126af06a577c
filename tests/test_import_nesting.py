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
        "plptms.closedloop"
    )
    assert not [m for m in HEAVY if m in mods]
