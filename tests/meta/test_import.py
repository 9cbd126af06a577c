"""Importing plptms.meta does no work and pulls in no heavy dependency."""

from __future__ import annotations

import subprocess
import sys


def test_import_meta_is_light() -> None:
    code = "import sys, plptms.meta; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    mods = set(out.stdout.split())
    heavy = ["scipy", "statsmodels", "matplotlib", "pandas", "yaml"]
    assert not [m for m in heavy if m in mods]
