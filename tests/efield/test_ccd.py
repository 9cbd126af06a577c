"""SimNIBS .ccd coil files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plptms.efield import CcdFormatError, Coil, read_ccd, write_ccd

# The layout of a SimNIBS-distributed coil file (Drakaki et al. 2022 set): header with
# key=value pairs and a trailing ';', the count, a comment, then m and m^2 columns.
SAMPLE = """\
# Sample.ccd version 1.0 number of elements; dIdtmax=147.86;x=-300,300;y=-200,200;\
z=-200,200;resolution=3;stimulator=MagPro X100;brand=MagVenture;dIdtstim=151;\
coilname=Sample-B65;
3
# centers and weighted directions of the elements (magnetic dipoles)
-8.400000000000001e-02 -1.740000000000000e-02 -3.500000000000000e-02 0 0 -3.1e-06
-1.0e-02 0 -1.0e-03 1e-6 0 2e-6
2.0e-02 -2.0e-02 -2.0e-03 0 -1e-6 0
"""

LEGACY = """\
# number of elements
2
# centers and weighted directions of the elements (magnetic dipoles)
-0.01 0 -0.001 0 0 -1e-5
0.01 0 -0.001 0 0 1e-5
"""


def test_read_simnibs_layout(tmp_path: Path) -> None:
    p = tmp_path / "sample.ccd"
    p.write_text(SAMPLE)
    c = read_ccd(p)
    assert c.name == "Sample-B65"
    assert c.n_dipoles == 3
    assert c.max_didt_a_per_us == pytest.approx(147.86, rel=1e-15)
    assert c.stimulator == "MagPro X100"
    assert c.brand == "MagVenture"
    assert np.array_equal(c.positions_m[1], [-0.01, 0.0, -0.001])
    assert np.array_equal(c.moments[1], [1e-6, 0.0, 2e-6])


def test_read_legacy_header(tmp_path: Path) -> None:
    p = tmp_path / "legacy.ccd"
    p.write_text(LEGACY)
    c = read_ccd(p)
    assert c.name == "legacy"
    assert c.max_didt_a_per_us is None
    assert c.n_dipoles == 2


def test_round_trip_is_exact(tmp_path: Path, fig8: Coil) -> None:
    p = write_ccd(
        fig8,
        tmp_path / "fig8.ccd",
        max_didt_a_per_us=114.73,
        stimulator="Magstim Rapid",
    )
    c = read_ccd(p)
    assert np.array_equal(c.positions_m, fig8.positions_m)
    assert np.array_equal(c.moments, fig8.moments)
    assert c.name == fig8.name
    assert c.max_didt_a_per_us == pytest.approx(114.73, rel=1e-12)
    assert c.stimulator == "Magstim Rapid"
    lines = p.read_text().splitlines()
    assert lines[0].startswith("# magstim_70mm_fig8 version 1.1;dIdtmax=114.7300;")
    assert lines[1] == str(fig8.n_dipoles)
    assert lines[2].startswith("#")
    assert len(lines[3].split()) == 6


def test_writer_refuses_header_text_simnibs_cannot_parse(
    tmp_path: Path, fig8: Coil
) -> None:
    with pytest.raises(ValueError, match="stimulator"):
        write_ccd(fig8, tmp_path / "x.ccd", stimulator="Rapid v2.1")
    with pytest.raises(ValueError, match="max_didt_a_per_us"):
        write_ccd(fig8, tmp_path / "x.ccd", max_didt_a_per_us=-1.0)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("no hash\n1\n0 0 0 0 0 1\n", "header"),
        ("# x\nmany\n0 0 0 0 0 1\n", "count"),
        ("# x\n2\n0 0 0 0 0 1\n", "count"),
        ("# x\n1\n0 0 0 0 1\n", "dipole row"),
        ("# x\n1\n0 0 0 0 a 1\n", "dipole row"),
        ("# x;dIdtmax=fast\n1\n0 0 0 0 0 1\n", "dIdtmax"),
        ("# x;broken\n1\n0 0 0 0 0 1\n", "header"),
    ],
)
def test_malformed_files_raise(tmp_path: Path, text: str, field: str) -> None:
    p = tmp_path / "bad.ccd"
    p.write_text(text)
    with pytest.raises(CcdFormatError, match=field):
        read_ccd(p)
