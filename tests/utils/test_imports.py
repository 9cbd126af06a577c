"""One soft import for optional libraries, with the install command."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plptms.utils._imports import soft_import


def test_soft_import_returns_the_module() -> None:
    import json

    assert soft_import("json", "read JSON") is json


def test_soft_import_names_what_to_install() -> None:
    with pytest.raises(ImportError, match=r"pip install no-such-dist") as exc:
        soft_import("no_such_mod_xyz.sub", "do a thing", package="no-such-dist")
    assert "'no_such_mod_xyz.sub' is needed to do a thing" in str(exc.value)
    with pytest.raises(ImportError, match=r"pip install no_such_mod_xyz`"):
        soft_import("no_such_mod_xyz.sub", "do a thing")


def test_closedloop_simulate_without_neurodsp_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`closedloop calibrate --simulate` without neurodsp: exit 2 and the hint."""
    from plptms.cli.main import app

    for name in list(sys.modules):
        if name == "neurodsp" or name.startswith("neurodsp."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "neurodsp", None)
    res = CliRunner().invoke(
        app,
        [
            "closedloop",
            "calibrate",
            "--simulate",
            "6",
            "--out",
            str(tmp_path / "c.json"),
        ],
    )
    assert res.exit_code == 2, res.output
    assert "pip install neurodsp" in res.output
    assert "Traceback" not in res.output
