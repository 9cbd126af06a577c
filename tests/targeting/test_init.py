"""Public API and import cost of plptms.targeting."""

from __future__ import annotations

import subprocess
import sys

import plptms.targeting as targeting


def test_all_exported() -> None:
    for name in targeting.__all__:
        assert hasattr(targeting, name), name
    assert sorted(targeting.__all__) == sorted(set(targeting.__all__))


def test_import_is_light() -> None:
    code = (
        "import sys, plptms.targeting; "
        "print(' '.join(m for m in ('mne', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
