"""The CLI: help everywhere, exit codes, JSON output, clear errors."""

from __future__ import annotations

import importlib.metadata
import json
import re
from typing import TYPE_CHECKING

import pytest
import yaml
from packaging.version import Version
from typer.testing import CliRunner

import plptms
from plptms.cli.main import app

from ..conftest import RTMS_DEFAULTS, billion_laughs
from .conftest import assert_one_line_error, write_protocol

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["protocols"],
        ["protocols", "list"],
        ["protocols", "show"],
        ["protocols", "check"],
        ["screen"],
        ["demo"],
    ],
)
def test_help_everywhere(args: list[str]) -> None:
    res = _run(*args, "--help")
    assert res.exit_code == 0
    assert "Usage" in res.output


#: Canonical public version (PEP 440, Appendix B).
PEP440_CANONICAL = re.compile(
    r"^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*"
    r"((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$"
)


def _check_version_output(output: str) -> str:
    """Assert ``output`` is ``plptms <version>``: installed, canonical PEP 440."""
    m = re.fullmatch(r"plptms (\S+)\n", output)
    assert m is not None, output
    shown = m.group(1)
    assert PEP440_CANONICAL.match(shown), shown
    assert str(Version(shown)) == shown
    assert shown == importlib.metadata.version("plptms")
    assert shown == plptms.__version__
    return shown


def test_version() -> None:
    """The CLI prints the installed distribution's version (PEP 440)."""
    res = _run("--version")
    assert res.exit_code == 0
    _check_version_output(res.output)


@pytest.mark.parametrize("wrong", ["9.9.9", "0.1", "dev", "0.1.0-beta", "v0.1.0"])
def test_version_check_rejects_a_wrong_version(
    monkeypatch: pytest.MonkeyPatch, wrong: str
) -> None:
    import plptms.cli.main as cli_main

    monkeypatch.setattr(cli_main, "__version__", wrong)
    res = _run("--version")
    assert res.output == f"plptms {wrong}\n"
    with pytest.raises(AssertionError):
        _check_version_output(res.output)


def test_protocols_list_and_json() -> None:
    res = _run("protocols", "list")
    assert res.exit_code == 0
    assert "malavera2016-m1-10hz" in res.output
    data = json.loads(_run("protocols", "list", "--json").output)
    assert len(data["protocols"]) == 11
    assert data["ranges"][0]["id"] == "consensus2024-m1-hf"


def test_protocols_show() -> None:
    res = _run("protocols", "show", "grammer2015-s1-dlpfc")
    assert res.exit_code == 0
    assert "Grammer et al., 2015" in res.output
    assert "first-line" in res.output
    assert "second-line" in res.output
    bad = _run("protocols", "show", "grammer2015")
    assert bad.exit_code == 2
    assert "Did you mean" in bad.output


def _write(tmp_path: Path, **changes: object) -> Path:
    return write_protocol(tmp_path, {**RTMS_DEFAULTS, **changes}, pid="cli-protocol")


def test_check_accepted(tmp_path: Path) -> None:
    # ten 20 Hz, 1.6 s trains at 110 % MT, 5 s apart: verified (Chen et al., 1997)
    f = _write(
        tmp_path,
        frequency_hz=20.0,
        intensity_pct_rmt=110.0,
        pulses_per_train=32,
        trains_per_session=10,
        inter_train_interval_s=5.0,
    )
    res = _run("protocols", "check", str(f), "--rmt", "50")
    assert res.exit_code == 0, res.output
    assert "ACCEPTED" in res.output


def test_check_refused_nonzero_and_json(tmp_path: Path) -> None:
    f = _write(
        tmp_path, frequency_hz=20.0, intensity_pct_rmt=110.0, pulses_per_train=100
    )
    res = _run("protocols", "check", str(f))
    assert res.exit_code == 1
    assert "REFUSED" in res.output
    assert "failed [M1] 'pulses_per_train' = 100" in res.output
    res = _run("protocols", "check", str(f), "--json")
    assert res.exit_code == 1
    v = json.loads(res.output)
    assert v["decision"] == "refused"
    assert any(
        r["field"] == "pulses_per_train" and r["status"] == "failed" for r in v["rules"]
    )


def test_check_incomplete_library_id() -> None:
    res = _run("protocols", "check", "xu2019-m1-10hz")
    assert res.exit_code == 3
    assert "INCOMPLETE" in res.output
    # Malavera 2016 as published (6 s trains at 10 Hz) is refused
    res = _run("protocols", "check", "malavera2016-m1-10hz")
    assert res.exit_code == 1
    assert "REFUSED" in res.output


def test_check_override(tmp_path: Path) -> None:
    f = _write(tmp_path, frequency_hz=30.0, pulses_per_train=10, trains_per_session=1)
    assert _run("protocols", "check", str(f)).exit_code == 1
    res = _run(
        "protocols",
        "check",
        str(f),
        "--override",
        "train_table_range:M1=approved research protocol (ethics 2026-3)",
        "--operator",
        "Dr Test",
        "--json",
    )
    assert res.exit_code == 4, res.output  # an override needs physician review
    v = json.loads(res.output)
    assert v["overrides"][0]["operator"] == "Dr Test"
    no_op = _run(
        "protocols",
        "check",
        str(f),
        "--override",
        "train_table_range=approved research protocol",
    )
    assert no_op.exit_code == 2
    assert "--operator" in no_op.output


def test_check_bad_file(tmp_path: Path) -> None:
    f = _write(tmp_path, frequency_hz=-1)
    res = _run("protocols", "check", str(f))
    assert res.exit_code == 2
    assert "frequency_hz" in res.output
    res = _run("protocols", "check", str(tmp_path / "missing.yaml"))
    assert res.exit_code == 2


def test_screen(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("patient: P1\nanswers:\n  cochlear_implant: yes\n")
    res = _run("screen", str(f))
    assert res.exit_code == 1
    assert "excluded" in res.output
    f.write_text("answers:\n  epilepsy: perhaps\n")
    res = _run("screen", str(f))
    assert res.exit_code == 2
    assert "answers.epilepsy" in res.output


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    res = _run("demo", "--out", str(tmp_path / "demo"))
    assert res.exit_code == 0, res.output
    for text in (
        "Screening",
        "Safety check",
        # the consensus example's limits rest on unverified table cells
        "PHYSICIAN REVIEW",
        "Physician review: [M1]",
        "right hemisphere",
        "46.8 % MSO",
        "not a certified medical device",
        "RMT",
        "V/m",
        "1500/1500 pulses",
        # closed loop: the assigned dose, lowered by a recorded amendment
        "Amendment 1 from session 2",
        "(the checked dose), at the mu trough",
        "Biomarkers stored",
        "post_treatment",
        "Audit trail intact",
        "Outputs",
    ):
        assert text in res.output
    reports = tmp_path / "demo" / "reports"
    for name in ("clinician", "patient"):
        for ext in ("html", "pdf"):
            assert (reports / f"DEMO-DEMO-001-{name}.{ext}").stat().st_size > 5_000


# --- hostile and wrong input (issue 13): one clean line, exit 2 -------------------


def _bomb(tmp_path: Path, suffix: str = ".yaml") -> Path:
    f = tmp_path / f"bomb{suffix}"
    f.write_text(billion_laughs())
    return f


@pytest.mark.parametrize("command", [["screen"], ["protocols", "check"]])
def test_alias_bomb_exits_2_in_one_line(tmp_path: Path, command: list[str]) -> None:
    # a 758-byte alias bomb ran 111 s and died with MemoryError: run it in a child
    # process with a timeout, so a regression cannot take the test session down
    import subprocess
    import sys
    import time

    f = _bomb(tmp_path)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "plptms", *command, str(f)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "alias" in lines[0]
    assert str(f) in lines[0]
    assert elapsed < 60


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("command", [["screen"], ["protocols", "check"]])
def test_deep_nesting_exits_2_in_one_line(
    tmp_path: Path, suffix: str, command: list[str]
) -> None:
    # 100k-deep nesting raised RecursionError tracebacks
    f = tmp_path / f"deep{suffix}"
    f.write_text("[" * 100_000 + "]" * 100_000)
    assert_one_line_error(_run(*command, str(f)), str(f), "nest")


def test_screening_dated_2099_exits_2(tmp_path: Path) -> None:
    # a screening dated 2099 was reported eligible (exit 0)
    from plptms.safety import load_screening_items

    f = tmp_path / "s.yaml"
    answers = {it.id: "no" for it in load_screening_items()}
    f.write_text(yaml.safe_dump({"screened_on": "2099-01-01", "answers": answers}))
    assert_one_line_error(_run("screen", str(f)), "'screened_on': got 2099-01-01")
    f.write_text(yaml.safe_dump({"answers": answers}))
    assert _run("screen", str(f)).exit_code == 0


def test_bool_intensity_protocol_exits_2(tmp_path: Path) -> None:
    # `intensity_pct_rmt: true` was read as 1 % RMT
    f = _write(tmp_path, intensity_pct_rmt=True)
    assert_one_line_error(
        _run("protocols", "check", str(f)),
        "blocks.0.dose.intensity_pct_rmt",
        "got True (bool)",
    )


def test_duplicate_key_protocol_exits_2(tmp_path: Path) -> None:
    # a repeated key kept its last value: 20 Hz became 1 Hz
    from ..protocol.test_io import DUPLICATE_KEY_PROTOCOL

    f = tmp_path / "dup.yaml"
    f.write_text(DUPLICATE_KEY_PROTOCOL)
    assert_one_line_error(
        _run("protocols", "check", str(f)), "duplicate key 'frequency_hz' at line 18"
    )
