"""Defaults of the MEP analysis, each with its source and verification status.

Verification status follows ``shared/domain/REFERENCES.md``: ``verified`` means the
figure was read in the primary source or its abstract; ``verified (secondary)``
means read in a verbatim quotation or a secondary source that cites the paper;
``to verify`` means not yet checked in the cited paper. ``[design]`` marks a choice
of this package, derived from the cited figures where it says so; it is not a
literature value.

These constants live apart from ``motor/_constants.py`` (motor-threshold
constants) only to avoid concurrent edits; they follow the same ``#:`` comment and
``[bibkey]`` rules and are meant to be merged into it.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# MEP criterion.
# ---------------------------------------------------------------------------

#: An MEP is "present" when its peak-to-peak amplitude is at least 50 uV, the
#: criterion of the resting motor threshold (Rossini et al., 1994). Verified
#: (secondary): quoted with the 1994 citation in later papers; to verify in the
#: primary report. [rossini1994]
MEP_PRESENT_MIN_UV: Final[float] = 50.0

# ---------------------------------------------------------------------------
# Sampling rate.
# ---------------------------------------------------------------------------

#: Hard floor on the EMG sampling rate, Hz: 1 kHz gives 1 ms latency resolution
#: and a 500 Hz Nyquist frequency, the usual surface-EMG low-pass corner. Design
#: bound, not a guideline figure; the recording standards of Rossini et al. (2015)
#: and Groppa et al. (2012) are to verify. [design] [rossini2015] [groppa2012]
MIN_SFREQ_HZ: Final[float] = 1000.0

#: Recommended EMG sampling rate, Hz; below it the analysis runs but logs a
#: warning. Design value (commonly recommended in MEP toolboxes); to verify
#: against Groppa et al. (2012). [design] [groppa2012]
RECOMMENDED_SFREQ_HZ: Final[float] = 2000.0

# ---------------------------------------------------------------------------
# Epoch, baseline and artefact windows, ms relative to the TMS pulse.
# ---------------------------------------------------------------------------

#: Epoch start, ms: 100 ms of pre-stimulus EMG, enough for the baseline window
#: below. [design] [summers2020]
EPOCH_TMIN_MS: Final[float] = -100.0

#: Epoch end, ms: covers the latest default measurement window (EDB, 80 ms).
#: [design]
EPOCH_TMAX_MS: Final[float] = 100.0

#: Pre-stimulus baseline, ms: -100 to -5 ms, the window whose SD sets the onset
#: threshold in Summers et al. (2020). Verified (secondary): methods quoted
#: verbatim in the tool-dimep package (agricolab/tool-dimep, summers.py).
#: [summers2020]
BASELINE_WINDOW_MS: Final[tuple[float, float]] = (-100.0, -5.0)

#: TMS artefact window, ms: the coil discharge and amplifier recovery occupy the
#: first few ms after the pulse. Samples in this window are never measured; they
#: are optionally replaced by a straight line. Design value, to verify against the
#: artefact duration of the recording system in use. [design]
ARTEFACT_WINDOW_MS: Final[tuple[float, float]] = (-1.0, 5.0)

# ---------------------------------------------------------------------------
# Rejection of pre-activated trials.
# ---------------------------------------------------------------------------

#: Reject a trial whose baseline peak-to-peak EMG exceeds this, uV. Design value
#: set equal to the 50 uV MEP criterion (Rossini et al., 1994): activity that
#: would count as an MEP after the pulse must not be there before it. Whether
#: Rossini et al. (2015) or Groppa et al. (2012) give a figure is to verify.
#: [design] [rossini1994]
PRESTIM_MAX_PTP_UV: Final[float] = 50.0

#: Suggested limit on baseline RMS EMG, uV, for the optional RMS criterion (off
#: by default). Design value; 10 uV RMS is a rejection level reported in
#: resting-threshold studies, to verify against a citable source. [design]
PRESTIM_MAX_RMS_UV: Final[float] = 10.0

# ---------------------------------------------------------------------------
# Onset latency.
# ---------------------------------------------------------------------------

#: Onset threshold, in baseline SDs of the rectified EMG above its baseline mean
#: (Summers et al., 2020: "three SD threshold, constructed from baseline EMG").
#: Verified (secondary), as above. [summers2020]
ONSET_SD_FACTOR: Final[float] = 3.0

#: The rectified EMG must stay above the onset threshold this long, ms, so that
#: a single noise sample does not count as the onset. Design value (Chen et al.,
#: 2003, used a 5 ms criterion on averaged traces; a single trial is noisier but
#: its MEP phases are shorter). [design]
ONSET_MIN_DURATION_MS: Final[float] = 1.0

# ---------------------------------------------------------------------------
# Measurement windows by muscle, ms after the pulse.
# ---------------------------------------------------------------------------

#: APB MEP latency at 120 % MT, ms, mean and SD: 21.77 +/- 1.47 (Jitsakulchaidej
#: et al., 2022, abstract). Verified. [jitsakulchaidej2022]
APB_LATENCY_MS: Final[tuple[float, float]] = (21.77, 1.47)

#: EDB MEP latency at 120 % MT, ms, mean and SD: 37.14 +/- 2.85 (Jitsakulchaidej
#: et al., 2022, abstract). Verified. [jitsakulchaidej2022]
EDB_LATENCY_MS: Final[tuple[float, float]] = (37.14, 2.85)

#: FDI cortical MEP latency during mild contraction, ms, mean and SD: 19.5 +/-
#: 1.45 (mean - 1.96 SD = 16.7 ms) (Cantone et al., 2019, descriptive-statistics
#: table). The figures were read, but the row labels were not legible in the copy
#: read; the row is taken as FDI cortical latency because it equals the sum of the
#: adjacent PMCT and CMCT rows (13.6 + 5.9 ms). To verify. [cantone2019]
FDI_LATENCY_MS: Final[tuple[float, float]] = (19.5, 1.45)

#: Hand muscles (FDI, APB, ADM): 15-50 ms. Starts below the lower normal limit of
#: the hand latencies above (about 16.7 ms) and ends after the MEP (a few tens of
#: ms long) is over. Design window built from the cited latencies. [design]
#: [cantone2019] [jitsakulchaidej2022]
HAND_WINDOW_MS: Final[tuple[float, float]] = (15.0, 50.0)

#: Tibialis anterior: 20-70 ms. Design window; the TA latency (about 30 ms in
#: healthy adults, reported by Cantone et al., 2019) is to verify. [design]
#: [cantone2019]
TA_WINDOW_MS: Final[tuple[float, float]] = (20.0, 70.0)

#: Extensor digitorum brevis: 25-80 ms, around the verified EDB latency of
#: 37.14 +/- 2.85 ms (Jitsakulchaidej et al., 2022). Design window. [design]
#: [jitsakulchaidej2022]
EDB_WINDOW_MS: Final[tuple[float, float]] = (25.0, 80.0)

#: Default measurement window per muscle code, ms (see the windows above).
#: [design] [cantone2019] [jitsakulchaidej2022]
MUSCLE_WINDOWS_MS: Final[dict[str, tuple[float, float]]] = {
    "FDI": HAND_WINDOW_MS,
    "APB": HAND_WINDOW_MS,
    "ADM": HAND_WINDOW_MS,
    "TA": TA_WINDOW_MS,
    "EDB": EDB_WINDOW_MS,
}

#: Default stimulus-channel annotation label for TMS pulses. [design]
TMS_ANNOTATION: Final[str] = "TMS"
