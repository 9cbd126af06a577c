"""Recordings: an EDF/BDF shorter than its header declares is refused.

The files are built byte by byte from the EDF specification (Kemp et al., 1992:
a 256-byte fixed header, 256 bytes per signal, then the data records), so the
expected size is known independently of the code under test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from plptms.utils._rawfile import RecordingFileError, edf_truncation, read_raw_checked

if TYPE_CHECKING:
    from pathlib import Path


def _field(text: str | int, width: int) -> bytes:
    return str(text).ljust(width).encode("ascii")


def edf_bytes(
    *, n_records: int, samples: tuple[int, ...], records_written: float
) -> bytes:
    """An EDF file with ``records_written`` of its records (a fraction cuts one)."""
    ns = len(samples)
    fixed = (
        _field("0", 8)
        + _field("patient", 80)
        + _field("recording", 80)
        + _field("01.01.24", 8)
        + _field("00.00.00", 8)
        + _field(256 * (ns + 1), 8)
        + _field("", 44)
        + _field(n_records, 8)
        + _field("1", 8)
        + _field(ns, 4)
    )
    assert len(fixed) == 256
    per_signal = b"".join(
        _field(f"ch{k}", 16) for k in range(ns)
    )  # labels; the other signal fields are blank except samples per record
    per_signal += b" " * (200 * ns)  # transducer ... digital maximum (16+80+8*5)
    per_signal += b"".join(_field(n, 8) for n in samples)
    per_signal += b" " * (32 * ns)
    assert len(per_signal) == 256 * ns
    record = b"\x00\x00" * sum(samples)
    data = record * int(records_written)
    data += record[: int(len(record) * (records_written % 1))]
    return fixed + per_signal + data


@pytest.mark.parametrize("written", [10, 12])
def test_complete_edf_passes(tmp_path: Path, written: int) -> None:
    f = tmp_path / "ok.edf"
    f.write_bytes(edf_bytes(n_records=10, samples=(100, 20), records_written=written))
    assert edf_truncation(f) is None


@pytest.mark.parametrize("written", [0, 3, 9.5])
def test_short_edf_named(tmp_path: Path, written: float) -> None:
    f = tmp_path / "cut.edf"
    f.write_bytes(edf_bytes(n_records=10, samples=(100, 20), records_written=written))
    expected = 256 * 3 + 10 * 120 * 2
    problem = edf_truncation(f)
    assert problem is not None
    assert f"declares 10 data records ({expected} bytes)" in problem


def test_unknown_record_count_needs_whole_records(tmp_path: Path) -> None:
    f = tmp_path / "open.edf"
    f.write_bytes(edf_bytes(n_records=-1, samples=(50,), records_written=4))
    assert edf_truncation(f) is None
    f.write_bytes(edf_bytes(n_records=-1, samples=(50,), records_written=4.5))
    problem = edf_truncation(f)
    assert problem is not None
    assert "not a whole number of 100-byte records" in problem


def test_bdf_uses_three_bytes_per_sample(tmp_path: Path) -> None:
    f = tmp_path / "x.bdf"
    # 2 records of 10 samples written as EDF (2 bytes each): short for a BDF
    f.write_bytes(edf_bytes(n_records=2, samples=(10,), records_written=2))
    problem = edf_truncation(f)
    assert problem is not None
    assert "(572 bytes)" in problem  # 512 header bytes + 2 x 10 x 3


@pytest.mark.parametrize(
    "payload", [b"", b"0" * 100, b"0" * 300, b" " * 256 + b"x" * 300]
)
def test_malformed_header_named(tmp_path: Path, payload: bytes) -> None:
    f = tmp_path / "bad.edf"
    f.write_bytes(payload)
    assert edf_truncation(f) is not None
    with pytest.raises(RecordingFileError, match=r"'recording'.*truncated or corrupt"):
        read_raw_checked(f, field="recording")


def test_custom_error_type(tmp_path: Path) -> None:
    class MyError(ValueError):
        pass

    f = tmp_path / "cut.edf"
    f.write_bytes(edf_bytes(n_records=10, samples=(100,), records_written=2))
    with pytest.raises(MyError, match="'fname'"):
        read_raw_checked(f, error=MyError)
