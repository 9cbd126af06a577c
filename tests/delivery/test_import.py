"""Importing plptms.delivery pulls in no device or LSL library."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ["pylsl", "mne_lsl", "serial", "magpy", "magicpy", "numpy", "scipy"]


def test_import_delivery_is_light() -> None:
    code = "import sys, plptms.delivery; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    mods = set(out.stdout.split())
    assert not [m for m in OPTIONAL if m in mods]
