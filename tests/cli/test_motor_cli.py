"""Motor commands of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from plptms.cli.main import app

from .conftest import assert_one_line_error

runner = CliRunner()


def test_help() -> None:
    for args in (
        ["mep", "analyse", "--help"],
        ["threshold", "hunt", "--help"],
        ["threshold", "hotspot", "--help"],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 0
        assert "Usage" in res.output


def test_hunt_sim_and_record(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert (
        runner.invoke(
            app,
            [
                "patient",
                "add",
                "--site",
                "S1",
                "--code",
                "P001",
                "--actor",
                "n1",
                "--db",
                db,
            ],
        ).exit_code
        == 0
    )
    res = runner.invoke(
        app,
        [
            "threshold",
            "hunt",
            "--method",
            "ml_pest",
            "--start",
            "70",
            "--seed",
            "4",
            "--json",
            "--site",
            "S1",
            "--code",
            "P001",
            "--actor",
            "tech1",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    first = res.output.split("\n}\n")[0] + "\n}"
    data = json.loads(first)
    assert data["converged"] is True
    assert data["pulses_used"] == 20
    # a failed hunt (pulse budget far too small) records nothing and exits 1
    res = runner.invoke(
        app,
        [
            "threshold",
            "hunt",
            "--method",
            "relative_frequency",
            "--start",
            "99",
            "--seed",
            "4",
            "--max-pulses",
            "3",
            "--site",
            "S1",
            "--code",
            "P001",
            "--actor",
            "tech1",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 1
    from plptms.registry import Registry

    with Registry(db) as reg:
        rmt, _ = reg.latest_rmt("S1", "P001")  # type: ignore[misc]
    assert rmt == pytest.approx(data["estimate_pct_mso"])


def test_hunt_device_errors() -> None:
    res = runner.invoke(
        app,
        [
            "threshold",
            "hunt",
            "--method",
            "ml_pest",
            "--start",
            "60",
            "--device",
            "magstim",
        ],
    )
    assert res.exit_code == 2
    assert "--emg-stream" in res.output  # a real device needs the live EMG
    res = runner.invoke(
        app,
        [
            "threshold",
            "hunt",
            "--method",
            "ml_pest",
            "--start",
            "60",
            "--device",
            "magstim",
            "--emg-stream",
            "EMG",
            "--emg-channel",
            "FDI",
        ],
    )
    assert res.exit_code == 2
    assert "port" in res.output  # ... and its serial port
    res = runner.invoke(
        app,
        [
            "threshold",
            "hunt",
            "--method",
            "ml_pest",
            "--start",
            "60",
            "--device",
            "magstym",
        ],
    )
    assert res.exit_code == 2
    res = runner.invoke(
        app, ["threshold", "hunt", "--method", "ml_pst", "--start", "60"]
    )
    assert res.exit_code == 2
    assert "ml_pest" in res.output


def test_hotspot_sim() -> None:
    res = runner.invoke(
        app, ["threshold", "hotspot", "--intensity", "75", "--seed", "2"]
    )
    assert res.exit_code == 0, res.output
    assert "Hotspot:" in res.output


def _mep_raw():  # type: ignore[no-untyped-def]
    import mne

    sfreq = 5000.0
    n = int(sfreq * 12)
    rng = np.random.default_rng(0)
    emg = rng.normal(0, 5e-6, n)
    stim = np.zeros(n)
    t = np.arange(int(0.03 * sfreq)) / sfreq
    wave = 400e-6 * np.sin(2 * np.pi * t / 0.03) * np.hanning(t.size)
    for k in range(10):
        s0 = int((1 + k) * sfreq)
        stim[s0] = 1
        emg[s0 + int(0.022 * sfreq) : s0 + int(0.022 * sfreq) + t.size] += wave
    info = mne.create_info(["FDI", "STI"], sfreq, ["emg", "stim"])
    return mne.io.RawArray(np.vstack([emg, stim]), info, verbose=False)


def test_mep_analyse(tmp_path: Path) -> None:
    raw = _mep_raw()
    f = tmp_path / "emg_raw.fif"
    raw.save(f, verbose=False)
    res = runner.invoke(
        app,
        [
            "mep",
            "analyse",
            str(f),
            "--channel",
            "FDI",
            "--stim-channel",
            "STI",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert len(data["trials"]) == 10
    assert data["summary"]["n_accepted"] == 10
    bad = runner.invoke(app, ["mep", "analyse", str(f), "--channel", "APB"])
    assert bad.exit_code == 2
    assert "FDI" in bad.output


def test_mep_analyse_truncated_edf_exits_2(tmp_path: Path) -> None:
    # a truncated EDF was analysed with exit 0 (MNE reads it as a shorter file)
    import mne

    full = tmp_path / "emg.edf"
    mne.export.export_raw(full, _mep_raw(), fmt="edf", verbose=False)
    args = ["--channel", "FDI", "--stim-channel", "STI", "--json"]
    res = runner.invoke(app, ["mep", "analyse", str(full), *args])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["trials"]) == 10
    cut = tmp_path / "cut.edf"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    res = runner.invoke(app, ["mep", "analyse", str(cut), *args])
    assert_one_line_error(res, "'fname'", str(cut), "truncated", "data records")
