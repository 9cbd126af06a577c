"""Closed-loop constants from the literature, each with its source.

Parameters of the phase estimators follow the published implementations: the
phastimate toolbox (Zrenner et al., 2020) and the closed-loop code of Shirinpour
et al. (2020), both at 1 kHz. Where a paper gives a range rather than a value, the
range and the chosen value are both stated. Values are for a 1 kHz stream; an
estimator converts durations to samples at its own sampling rate.
"""

from __future__ import annotations

from typing import Final

# ----------------------------------------------------------------------- stream

#: Processing rate of the published real-time systems, Hz: 1 kHz after
#: down-sampling (Zrenner et al., 2018; Shirinpour et al., 2020, ``fs = 1000``).
#: [zrenner2018] [shirinpour2020]
SFREQ_HZ: Final[float] = 1000.0

#: Sensorimotor mu band, Hz (Shirinpour et al., 2020, ``targetFreq = [8 13]``).
#: [shirinpour2020]
MU_BAND_HZ: Final[tuple[float, float]] = (8.0, 13.0)

# ------------------------------------------------------------- spatial filter

#: Nearest neighbours of C3 for a Hjorth (small Laplacian) derivation: the four
#: electrodes one step away on the 10-10 grid (Hjorth, 1975). [hjorth1975]
HJORTH_NEIGHBOURS_C3: Final[tuple[str, ...]] = ("FC3", "CP3", "C1", "C5")

#: Nearest neighbours of C4 (mirror of C3; Hjorth, 1975). [hjorth1975]
HJORTH_NEIGHBOURS_C4: Final[tuple[str, ...]] = ("FC4", "CP4", "C2", "C6")

#: Alternative C3 neighbours used in the real-time mu studies: C3 minus the mean
#: of FC1, FC5, CP1, CP5 (Zrenner et al., 2018). [zrenner2018]
HJORTH_DIAGONAL_C3: Final[tuple[str, ...]] = ("FC1", "FC5", "CP1", "CP5")

#: Alternative C4 neighbours (mirror of the C3 set; Zrenner et al., 2018).
#: [zrenner2018]
HJORTH_DIAGONAL_C4: Final[tuple[str, ...]] = ("FC2", "FC6", "CP2", "CP6")

# ------------------------------------------------------- individual mu peak

#: Welch segment length, s: Hann windows of 2 s without overlap, as in
#: phastimate's ``estimate_SNR.m`` (Zrenner et al., 2020; Welch, 1967).
#: [zrenner2020] [welch1967]
WELCH_SEGMENT_S: Final[float] = 2.0

#: Bands, Hz, used to fit the aperiodic 1/f line in log-log space before the peak
#: is read off, as in phastimate's ``estimate_SNR.m`` (Zrenner et al., 2020).
#: [zrenner2020]
APERIODIC_FIT_BANDS_HZ: Final[tuple[tuple[float, float], ...]] = (
    (0.5, 7.0),
    (35.0, 65.0),
)

#: Minimum prominence of a spectral peak above the 1/f fit, dB (phastimate's
#: ``findpeaks(..., 'MinPeakProminence', 0.5)``; Zrenner et al., 2020).
#: [zrenner2020]
PEAK_MIN_PROMINENCE_DB: Final[float] = 0.5

#: Subjects whose mu peak lies below the 1/f fit (peak SNR < 0 dB) were excluded
#: before phase estimation (Zrenner et al., 2020, phastimate ``main_script.m``).
#: [zrenner2020]
MIN_PEAK_SNR_DB: Final[float] = 0.0

# ------------------------------------------- autoregressive forward prediction

#: Sliding window, s (Zrenner et al., 2018: 500 ms; the phastimate optimisation
#: searched 400-750 ms, Zrenner et al., 2020). [zrenner2018] [zrenner2020]
AR_WINDOW_S: Final[float] = 0.5

#: Samples trimmed at each end of the zero-phase filtered window, s. The
#: phastimate optimisation searched 30-120 ms (Zrenner et al., 2020); 64 ms is
#: Shirinpour et al.'s (2020) 32 samples at 500 Hz. [zrenner2020] [shirinpour2020]
AR_EDGE_S: Final[float] = 0.064

#: Yule-Walker autoregressive model order (Zrenner et al., 2018; Shirinpour et
#: al., 2020, ``p = 30``; phastimate searched 5-60). [zrenner2018] [shirinpour2020]
AR_ORDER: Final[int] = 30

#: FIR band-pass order at 1 kHz, designed by the window method. phastimate
#: searched 100-250 (Zrenner et al., 2020); Shirinpour et al. (2020) used 128 at
#: 500 Hz (256 ms). 192 was chosen inside that range on a tuning simulation kept
#: apart from the benchmark (192 and 250 gave 7-9 deg lower circular SD than 128).
#: [zrenner2020] [shirinpour2020]
AR_FILTER_ORDER: Final[int] = 192

#: Half-width of the band-pass around the individual peak, Hz: cut-offs at
#: peak -/+ 1 Hz (phastimate ``design_phastimate_filter``; Zrenner et al., 2020).
#: [zrenner2020]
AR_PASSBAND_HALF_WIDTH_HZ: Final[float] = 1.0

#: Length of the Hilbert window centred on "now", s: 128 samples at 1 kHz,
#: "appropriate for alpha" (phastimate ``HILBERTWIN``; Zrenner et al., 2020).
#: [zrenner2020]
HILBERT_WINDOW_S: Final[float] = 0.128

# ---------------------------------------------- educated temporal prediction

#: Online window, s (Shirinpour et al., 2020, ``win_length = fs/2``).
#: [shirinpour2020]
ETP_WINDOW_S: Final[float] = 0.5

#: Resting recording used to learn the period, s: 180 s, of which the first half
#: trains and the second half validates the bias correction (Shirinpour et al.,
#: 2020, ``rest_length_in_sec = 180``, ``training_length_in_sec = 90``).
#: [shirinpour2020]
ETP_REST_S: Final[float] = 180.0

#: Inter-peak intervals longer than this, s, are discarded before the typical
#: cycle is computed (Shirinpour et al., 2020, ``srate/6.7`` samples).
#: [shirinpour2020]
ETP_MAX_IPI_S: Final[float] = 1.0 / 6.7

#: Minimum peak distance during training is ``fs/(upper band edge + 3 Hz)`` and
#: online ``fs/(upper band edge + 1 Hz)`` (Shirinpour et al., 2020). These are the
#: two margins, Hz. [shirinpour2020]
ETP_PEAK_MARGIN_TRAIN_HZ: Final[float] = 3.0

#: Online margin, Hz (see :data:`ETP_PEAK_MARGIN_TRAIN_HZ`; Shirinpour et al.,
#: 2020). [shirinpour2020]
ETP_PEAK_MARGIN_ONLINE_HZ: Final[float] = 1.0

#: Online edge, in cycles of the band centre: peaks within ``1/(3 f_centre)`` of
#: the window end are ignored (Shirinpour et al., 2020,
#: ``edge = fs/(mean(targetFreq)*3)``). [shirinpour2020]
ETP_EDGE_CYCLES: Final[float] = 1.0 / 3.0

#: Spacing of the validation windows used for the bias correction, s
#: (Shirinpour et al., 2020, ``i*350`` samples at 1 kHz). [shirinpour2020]
ETP_VALIDATION_STEP_S: Final[float] = 0.35

#: Number of validation predictions used for the bias correction
#: (Shirinpour et al., 2020, ``trl_num = 255``). [shirinpour2020]
ETP_VALIDATION_TRIALS: Final[int] = 255

# ------------------------------------------------------------------- triggers

#: Minimum interval between triggers, s (Shirinpour et al., 2020,
#: ``TrigInt = 2``). [shirinpour2020]
MIN_INTERPULSE_INTERVAL_S: Final[float] = 2.0

#: Mu trough, rad, in the cosine convention (0 = positive peak): the phase of
#: higher corticospinal excitability targeted by Zrenner et al. (2018).
#: [zrenner2018]
MU_TROUGH_RAD: Final[float] = 3.141592653589793

#: Power gate: the phastimate parameters were optimised on epochs whose
#: amplitude was at or above the subject's median (Zrenner et al., 2020), so by
#: default a trigger needs the amplitude above the 50th percentile of baseline.
#: [zrenner2020]
AMPLITUDE_PERCENTILE: Final[float] = 50.0

# ----------------------------------------------------------------- biomarkers

#: Theta band, Hz: 4-8 Hz, as recommended for resting-state EEG by the IFCN
#: EEG research workgroup (Babiloni et al., 2020). [babiloni2020]
THETA_BAND_HZ: Final[tuple[float, float]] = (4.0, 8.0)

#: Alpha band, Hz: 8-13 Hz (Babiloni et al., 2020; the sensorimotor mu band of
#: Shirinpour et al., 2020, is the same range). [babiloni2020] [shirinpour2020]
ALPHA_BAND_HZ: Final[tuple[float, float]] = (8.0, 13.0)

#: Beta band, Hz: 13-30 Hz (Babiloni et al., 2020). [babiloni2020]
BETA_BAND_HZ: Final[tuple[float, float]] = (13.0, 30.0)

#: Shortest recording, s, from which band power is reported: ten 2 s Welch
#: segments (project choice, so that each band power averages >= 10 segments;
#: Welch, 1967). [design] [welch1967]
MIN_BIOMARKER_S: Final[float] = 20.0

#: Order of the AR background that :func:`~plptms.closedloop.calibrate` fits with
#: the state space phase estimator (``fit_sspe(..., background_order=...)``): the
#: 1/f background as coloured observation noise instead of white. A plptms
#: choice, not from Wodeyar et al. (2021): with white noise SSPE lost to AR on
#: 17 of 36 simulated cells; with an AR(8) background it won 22, tied 13, lost 1
#: (``benchmarks/bench_closedloop.py``, three seed sets; ``docs/closedloop.md``).
#: [wodeyar2021] [simdesign]
SSPE_BACKGROUND_ORDER: Final[int] = 8
