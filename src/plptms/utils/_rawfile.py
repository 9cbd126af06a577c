"""Read a user's recording (FIF, EDF/BDF, BrainVision, ...) and refuse a damaged one.

MNE-Python reads a truncated EDF as a shorter recording and only warns; a
truncated FIF warns and fails late, with an unclear message; markers after the end
of a BrainVision data file are dropped with a warning. :func:`read_raw_checked`
checks an EDF/BDF file's size against its header before reading, loads the data
inside the guarded block, and turns those warnings and read failures into one
clear error.

MNE-Python is imported inside the function (see the import-nesting test).
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

__all__ = ["RecordingFileError", "edf_truncation", "read_raw_checked"]

#: Warnings MNE-Python gives, then reading on as if nothing was wrong, for a file
#: that is cut short or corrupt.
_TRUNCATION_WARNINGS: Final[tuple[str, ...]] = (
    "does not match the file size",  # EDF/BDF: fewer records than the header says
    "Invalid tag",  # FIF: a tag cut off
    "outside data range",  # markers (annotations) after the end of the data
)

#: Bytes of the fixed part of an EDF/BDF header, and per signal.
_EDF_FIXED_BYTES: Final[int] = 256
_EDF_SIGNAL_BYTES: Final[int] = 256
#: Offset of the samples-per-record fields within the signal headers.
_EDF_SAMPLES_OFFSET: Final[int] = 216


class RecordingFileError(ValueError):
    """A recording that is truncated, corrupt or cannot be read."""


def _ascii_int(raw: bytes) -> int:
    return int(raw.decode("ascii").strip())


def edf_truncation(path: str | os.PathLike[str]) -> str | None:
    """Compare an EDF/BDF file's size with what its header declares.

    Parameters
    ----------
    path : str | path-like
        The EDF or BDF file.

    Returns
    -------
    problem : str | None
        What is wrong (e.g. ``"100592 bytes, but its header declares 10 data
        records (201184 bytes)"``), or ``None`` when the file holds every record its
        header declares (or, for a record count of ``-1``, whole records).
    """
    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as fh:
        fixed = fh.read(_EDF_FIXED_BYTES)
        if len(fixed) < _EDF_FIXED_BYTES:
            return f"only {size} bytes, shorter than the 256-byte EDF header"
        try:
            header_bytes = _ascii_int(fixed[184:192])
            n_records = _ascii_int(fixed[236:244])
            n_signals = _ascii_int(fixed[252:256])
        except (UnicodeDecodeError, ValueError):
            return "a malformed EDF header (header bytes, records or signals)"
        if n_signals < 1 or header_bytes != _EDF_SIGNAL_BYTES * (n_signals + 1):
            return (
                f"a malformed EDF header ({n_signals} signals in {header_bytes} "
                "header bytes)"
            )
        fh.seek(_EDF_FIXED_BYTES + _EDF_SAMPLES_OFFSET * n_signals)
        counts = fh.read(8 * n_signals)
    if len(counts) < 8 * n_signals:
        return f"only {size} bytes, shorter than its {header_bytes}-byte header"
    try:
        per_record = sum(
            _ascii_int(counts[8 * k : 8 * k + 8]) for k in range(n_signals)
        )
    except (UnicodeDecodeError, ValueError):
        return "a malformed EDF header (samples per record)"
    if per_record < 1:
        return "a malformed EDF header (no samples per record)"
    bdf = fixed[:1] == b"\xff" or p.suffix.lower() == ".bdf"
    record_bytes = per_record * (3 if bdf else 2)
    data_bytes = size - header_bytes
    if n_records == -1:  # count left open: the data must still be whole records
        if data_bytes < record_bytes or data_bytes % record_bytes:
            return (
                f"{max(data_bytes, 0)} data bytes, not a whole number of "
                f"{record_bytes}-byte records"
            )
        return None
    if n_records < 1:
        return f"a malformed EDF header ({n_records} data records)"
    expected = header_bytes + n_records * record_bytes
    if size < expected:
        return (
            f"{size} bytes, but its header declares {n_records} data records "
            f"({expected} bytes)"
        )
    return None


def read_raw_checked(
    path: str | os.PathLike[str],
    *,
    field: str = "fname",
    load: Callable[[Any], None] | None = None,
    error: type[ValueError] = RecordingFileError,
) -> Any:
    """Read a recording with ``mne.io.read_raw``, refusing a truncated or corrupt one.

    Parameters
    ----------
    path : str | path-like
        The recording (any format ``mne.io.read_raw`` reads).
    field : str
        Name of the argument that gave the path, for the message.
    load : callable | None
        Called with the raw object inside the guarded block to pick channels and
        load the data (so that reading the data is checked too); ``None`` loads
        every channel.
    error : type of ValueError
        The error raised (a subclass of ``ValueError``).

    Returns
    -------
    raw : mne.io.BaseRaw
        The recording.

    Raises
    ------
    ValueError
        Of type ``error``: if an EDF/BDF file is shorter than its header declares,
        MNE-Python warns of a truncated or corrupt file, or reading fails; the
        message is one line naming the file.
    """
    mne = importlib.import_module("mne")
    p = Path(path)
    where = f"Invalid value for {field!r}: got {str(p)!r}"
    if p.suffix.lower() in (".edf", ".bdf"):
        problem = edf_truncation(p)
        if problem is not None:
            raise error(
                f"{where}, a truncated or corrupt recording ({problem}); allowed: a "
                "complete EDF/BDF file (copy or export it again)."
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw(p, preload=False, verbose="warning")
            if load is None:
                raw.load_data(verbose="warning")
            else:
                load(raw)
        except Exception as exc:  # any failure to read an untrusted file
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise error(
                f"{where}, which cannot be read: truncated, corrupt or of an unknown "
                f"format ({detail}); allowed: a complete FIF, EDF/BDF or BrainVision "
                "recording."
            ) from None
    for w in caught:
        text = " ".join(str(w.message).split())
        if any(marker in text for marker in _TRUNCATION_WARNINGS):
            raise error(
                f"{where}, a truncated or corrupt recording ({text}); allowed: a "
                "complete recording (copy or export it again)."
            )
    for w in caught:  # pass on every other warning
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return raw
