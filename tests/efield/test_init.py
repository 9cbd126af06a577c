"""Package surface and import cost."""

from __future__ import annotations

import subprocess
import sys

import plptms.efield as ef

HEAVY = ["scipy", "matplotlib", "meshio", "yaml", "simnibs"]


def test_import_is_light() -> None:
    code = "import sys, plptms.efield; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    mods = set(out.stdout.split())
    assert not [m for m in HEAVY if m in mods]


def test_all_names_exist() -> None:
    for name in ef.__all__:
        assert hasattr(ef, name), name
    assert sorted(ef.__all__) == sorted(set(ef.__all__))
