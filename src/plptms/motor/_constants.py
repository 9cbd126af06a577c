"""Motor-threshold constants: criteria, method settings and the simulated subject.

Verification status follows ``shared/domain/REFERENCES.md``: ``verified`` means read
in a primary source (or its abstract, where the abstract states the figure) or, where
said so, in the authors' own published code; ``to verify`` means taken from a
secondary source or a common convention and still to be checked in the paper.
Simulation settings that are modelling choices, not literature values, cite
``[simdesign]``; validation bounds cite ``[design]``.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Definition of the resting motor threshold (RMT).
# ---------------------------------------------------------------------------

#: MEP-present criterion: peak-to-peak amplitude of at least 50 uV in the relaxed
#: target muscle (Rossini et al., 1994; Rossini et al., 2015). To verify in the
#: primary texts; the same 50 uV criterion is used by the authors' code of Wang et
#: al. (2023), ``GenerateSubjects.m``: ``y_thresh = 50e-6`` (verified there).
#: [rossini1994] [rossini2015] [wang2023]
MEP_PRESENT_UV: Final[float] = 50.0

#: Relative-frequency RMT: trials per block (Rossini et al., 1994; 2015): "at least
#: 5 of 10 trials". To verify in the primary texts. [rossini1994] [rossini2015]
RF_TRIALS_PER_BLOCK: Final[int] = 10

#: Relative-frequency RMT: positive trials required per block, 5 of 10 (Rossini et
#: al., 1994; 2015). To verify in the primary texts. [rossini1994] [rossini2015]
RF_POSITIVES_REQUIRED: Final[int] = 5

#: Relative-frequency step, % MSO: 1 % MSO near threshold (Rossini et al., 2015);
#: to verify in the primary. Wang et al. (2023) simulate the IFCN method with 1 and
#: 2 % MSO steps (``IFCNmethod.m``, verified in their code). [rossini2015] [wang2023]
RF_STEP_PCT_MSO: Final[float] = 1.0

#: Relative-frequency pulse budget before a hunt is declared not converged. A
#: descending hunt from 30 % MSO above RMT in 1 % steps needs about 6 pulses per
#: step with early stopping, i.e. about 200; 300 leaves margin. [design]
RF_MAX_PULSES: Final[int] = 300

# ---------------------------------------------------------------------------
# Adaptive maximum-likelihood threshold hunting (ML-PEST; Awiszus, 2003; MTAT 2.0,
# Awiszus & Borckardt, 2011).
# ---------------------------------------------------------------------------

#: ML-PEST model: P(MEP | x) = Phi((x - t) / s) with the spread fixed at
#: s = 0.07 t (Awiszus, 2003). Verified in the authors' code of Wang et al. (2023),
#: ``MLEstimation.m`` version 1, labelled "Awiszus, 2003": ``0.07*t``; to verify in
#: Awiszus (2003) itself. [awiszus2003] [wang2023]
MLPEST_RELATIVE_SPREAD: Final[float] = 0.07

#: ML-PEST threshold grid step, % MSO (explicit likelihood evaluation at
#: ``t_step = 0.002`` of MSO; Wang et al., 2023, ``MLEstimation.m``, verified in
#: code). [wang2023]
MLPEST_GRID_STEP_PCT_MSO: Final[float] = 0.2

#: ML-PEST threshold grid top, % MSO: the grid runs to 130 % MSO so that a threshold
#: above the stimulator's range is representable; a pseudo-observation "MEP" at the
#: top plus one step and "no MEP" at 0 % MSO seed the likelihood (Wang et al., 2023,
#: ``MLEstimation.m``, verified in code). [wang2023]
MLPEST_GRID_MAX_PCT_MSO: Final[float] = 130.0

#: ML-PEST pulses per hunt, fixed count as used with MTAT 2.0: Awiszus (2003) and
#: Ah Sen et al. (2017) report about 15-20 pulses for an accuracy similar to
#: relative frequency (REFERENCES.md); 20 is the upper end. To verify the exact
#: MTAT 2.0 default. [awiszus2003] [awiszus2011] [ahsen2017]
MLPEST_PULSES: Final[int] = 20

#: Consecutive pulses at 100 % MSO without an MEP after which ML-PEST stops as not
#: converged (the threshold lies above the stimulator's range). [design]
MLPEST_MAX_NO_MEP_AT_MAX_OUTPUT: Final[int] = 3

#: Fewest ML-PEST pulses before the optional confidence-interval rule may stop a
#: hunt. [design]
MLPEST_CI_MIN_PULSES: Final[int] = 10

#: Width of the 95 % likelihood-ratio confidence interval, % MSO, at which the
#: optional confidence-interval stopping rule ends an ML-PEST hunt. MTAT-derived
#: programs stop on a 95 % confidence interval (FCBG NMOD wiki, MTAT_fcbg_rest.m);
#: the width is a design choice. [design]
MLPEST_CI_WIDTH_PCT_MSO: Final[float] = 4.0

# ---------------------------------------------------------------------------
# Bayesian adaptive Psi method (Kontsevich & Tyler, 1999), with a precision-based
# stopping rule as proposed for TMS by Qi et al. (2011).
# ---------------------------------------------------------------------------

#: Psi: stop once the posterior SD of the threshold falls to this value, % MSO.
#: Qi et al. (2011, abstract, verified) stop on "estimation of MT precision"; the
#: value is a design choice tuned on the simulated population. [qi2011] [simdesign]
PSI_TARGET_SD_PCT_MSO: Final[float] = 1.5

#: Psi: minimum pulses before the precision rule may stop the hunt. [simdesign]
PSI_MIN_PULSES: Final[int] = 8

#: Psi: pulse budget; a hunt that has not reached the target precision by then is
#: reported as not converged. [simdesign]
PSI_MAX_PULSES: Final[int] = 60

#: Psi prior on the relative spread s / t: log-normal with this median, the
#: ML-PEST assumption (Awiszus, 2003, via Wang et al., 2023 code). [awiszus2003]
PSI_PRIOR_SPREAD_MEDIAN: Final[float] = 0.07

#: Psi prior on the relative spread: SD of its natural logarithm (weakly
#: informative). [simdesign]
PSI_PRIOR_SPREAD_LOG_SD: Final[float] = 0.5

#: Psi: posterior probability that the threshold exceeds 100 % MSO above which the
#: hunt stops as not converged. [simdesign]
PSI_ABOVE_MAX_OUTPUT_PROB: Final[float] = 0.95

# ---------------------------------------------------------------------------
# Simulated subject (Goetz et al., 2014, 2019; Wang et al., 2023).
# ---------------------------------------------------------------------------

#: Median relative spread s / t of the MEP probability function in the simulated
#: population: 0.0763, derived from the population prior of Wang et al. (2023),
#: ``p_ab.m`` (mean t = 0.658 MSO, mean log10 s = -1.299; verified in code), which
#: was fitted to virtual subjects of the Goetz et al. (2019) MEP model.
#: [wang2023] [goetz2019]
SIM_RELATIVE_SPREAD_MEDIAN: Final[float] = 0.0763

#: Inter-subject SD of ln(s / t): 0.14, propagated from the covariance of the same
#: prior (Wang et al., 2023, ``p_ab.m``; verified in code). [wang2023]
SIM_RELATIVE_SPREAD_LOG_SD: Final[float] = 0.14

#: Population mean RMT, % MSO: 52.6 % MSO by relative frequency in healthy
#: controls (Silbert et al., 2013, abstract, verified). [silbert2013]
SIM_RMT_MEAN_PCT_MSO: Final[float] = 52.6

#: Population SD of RMT, % MSO: the abstract of Silbert et al. (2013) prints
#: +/- 2.6 % MSO for n = 10; read as an SEM that is an SD of about 8.2 % MSO. To
#: verify; 8 % MSO is used. [silbert2013] [simdesign]
SIM_RMT_SD_PCT_MSO: Final[float] = 8.0

#: RMT range of the simulated population, % MSO: draws outside are redrawn.
#: [simdesign]
SIM_RMT_RANGE_PCT_MSO: Final[tuple[float, float]] = (30.0, 90.0)

#: Intensity of the half-maximal MEP (SI50) relative to RMT: 127.5 +/- 11.3 % RMT
#: in 176 subjects (Pitcher et al., 2015, abstract, verified). [pitcher2015]
SIM_SI50_PCT_RMT: Final[float] = 127.5

#: Plateau of the sigmoid recruitment curve, uV (resting FDI). [simdesign]
SIM_MEP_MAX_UV: Final[float] = 3000.0

#: Trial-to-trial variability of suprathreshold MEPs: SD of the natural logarithm
#: of the part above the criterion (output-side variability of the two-source model
#: of Goetz et al., 2014; the value is a design choice). [goetz2014] [simdesign]
SIM_AMPLITUDE_LOG_SD: Final[float] = 0.5

#: Background EMG, peak-to-peak in the MEP window, median uV (log-normal).
#: [simdesign]
SIM_NOISE_MEDIAN_UV: Final[float] = 10.0

#: Background EMG: SD of the natural logarithm of its peak-to-peak value.
#: [simdesign]
SIM_NOISE_LOG_SD: Final[float] = 0.3

#: Spatial tuning: threshold at distance d from the hotspot is
#: T(d) = T0 exp(d^2 / (2 w^2)) with w = 2 cm (Gaussian fall-off of efficacy;
#: +13 % at 1 cm, +65 % at 2 cm). [simdesign]
SIM_SPATIAL_WIDTH_CM: Final[float] = 2.0

#: SD of the hotspot's offset from the grid centre (C3/C4) in each direction, cm.
#: [simdesign]
SIM_HOTSPOT_OFFSET_SD_CM: Final[float] = 1.0

# ---------------------------------------------------------------------------
# Hotspot search.
# ---------------------------------------------------------------------------

#: Grid spacing for the hotspot search, cm (1 cm around C3/C4). [design]
HOTSPOT_GRID_SPACING_CM: Final[float] = 1.0

#: Grid half-width in steps: a 7 x 7 grid (+/- 3 cm) by default. [design]
HOTSPOT_GRID_HALF_WIDTH: Final[int] = 3

#: Pulses per coil position in the hotspot search. [design]
HOTSPOT_PULSES_PER_POSITION: Final[int] = 5

#: Pulse budget of a hotspot search. [design]
HOTSPOT_MAX_PULSES: Final[int] = 500

# ---------------------------------------------------------------------------
# Device and validation bounds.
# ---------------------------------------------------------------------------

#: A stimulator cannot exceed 100 % of its maximum output. [device]
MAX_PCT_MSO: Final[float] = 100.0

#: Stimulators are set in whole % MSO: intensities requested by the adaptive
#: methods are rounded to this resolution. [device]
INTENSITY_RESOLUTION_PCT_MSO: Final[float] = 1.0

#: Largest step accepted for relative-frequency hunting, % MSO. [design]
MAX_STEP_PCT_MSO: Final[float] = 10.0

#: Largest pulse budget accepted by any hunt. [design]
MAX_PULSES_LIMIT: Final[int] = 2000

#: Default interval between single pulses of a live hunt, s: the middle of the
#: 4-6 s range commonly used for single-pulse MEP measurements. [design]
DEFAULT_INTER_PULSE_S: Final[float] = 5.0

#: Shortest interval between single pulses that a live hunt accepts, s: the lower
#: end of the 4-6 s commonly used, so a hunt never becomes ~1 Hz rTMS. [design]
MIN_INTER_PULSE_S: Final[float] = 4.0
