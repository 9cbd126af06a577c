"""Real EEG recordings shipped with plptms (PhysioNet EEGMMIDB, ODC-By 1.0).

Four short recordings of the EEG Motor Movement/Imagery Database
:footcite:`schalk2004,goldberger2000`, cut to the 19 sensorimotor channels of the
C3/C4 Hjorth derivations, at their original 160 Hz. S001 and S002 show a mu
peak under C3; S003 has none that stands above the 1/f background (the closed
loop must refuse it). See ``data/README.md`` for provenance.

.. footbibliography::
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["RECORDINGS", "read_recording", "recording_path"]

#: Shipped recordings: name -> description.
RECORDINGS: dict[str, str] = {
    "S001R01": "EEGMMIDB subject 1, run 1: baseline, eyes open, 61 s",
    "S001R04": "EEGMMIDB subject 1, run 4: motor imagery (left/right fist), 125 s",
    "S002R01": "EEGMMIDB subject 2, run 1: baseline, eyes open, 61 s",
    "S003R01": "EEGMMIDB subject 3, run 1: baseline, eyes open, 61 s (no mu peak)",
}


def recording_path(name: str) -> Path:
    """Return the path of a shipped recording.

    Parameters
    ----------
    name : str
        One of :data:`RECORDINGS` (case-insensitive).

    Returns
    -------
    path : pathlib.Path
        The EDF file.

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    key = str(name).strip().upper()
    if key not in RECORDINGS:
        raise ValueError(
            f"Invalid value for 'name': got {name!r}; allowed values are "
            f"{', '.join(repr(k) for k in RECORDINGS)}."
        )
    ref = resources.files("plptms.closedloop") / "data" / f"eegmmidb_{key}.edf"
    return Path(str(ref))


def read_recording(name: str) -> Any:
    """Read a shipped recording (or any file MNE reads) into memory.

    Parameters
    ----------
    name : str
        One of :data:`RECORDINGS`, or a path to an EEG file (FIF, EDF/BDF,
        BrainVision ``.vhdr``, EEGLAB ``.set``).

    Returns
    -------
    raw : mne.io.BaseRaw
        The recording, loaded, EEG channels only.

    Raises
    ------
    ValueError
        If the name is neither a shipped recording nor an existing file, or the
        file is truncated or corrupt
        (:class:`plptms.utils._rawfile.RecordingFileError`).
    """
    key = str(name).strip().upper()
    path = recording_path(key) if key in RECORDINGS else Path(name)
    if not path.is_file():
        raise ValueError(
            f"Invalid value for 'recording': got {name!r}; allowed: a file that "
            f"exists, or one of {', '.join(RECORDINGS)}."
        )
    from ..utils import read_raw_checked

    raw = read_raw_checked(path, field="recording")
    raw.pick("eeg")
    return raw
