"""The public namespace of plptms.scales; importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import plptms.scales

HEAVY = ["scipy", "sqlalchemy", "matplotlib", "yaml", "fastapi", "typer", "rich"]


def test_all_names_exist() -> None:
    for name in plptms.scales.__all__:
        assert hasattr(plptms.scales, name), name
    # no name twice (the order itself is ruff's RUF022: constants first)
    assert len(set(plptms.scales.__all__)) == len(plptms.scales.__all__)


def test_import_is_light() -> None:
    code = "import sys, plptms.scales; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    mods = set(out.stdout.split())
    assert not [m for m in HEAVY if m in mods]
    # the scale registry is built on first use, not at import
    code = (
        "import plptms.scales._definitions as d; "
        "print(d._registry.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "0"
