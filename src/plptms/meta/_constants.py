"""Literature constants of the meta-analysis engine (thresholds and defaults)."""

from __future__ import annotations

from typing import Final

# --- Heterogeneity labels ----------------------------------------------------------

#: I^2 of 25 %, 50 % and 75 % tentatively labelled low, moderate and high
#: heterogeneity (Higgins et al., 2003, BMJ 327:557, p. 559). [higgins2003]
I2_LOW_PCT: Final[float] = 25.0

#: Moderate heterogeneity threshold for I^2, % (Higgins et al., 2003, p. 559).
#: [higgins2003]
I2_MODERATE_PCT: Final[float] = 50.0

#: High heterogeneity threshold for I^2, % (Higgins et al., 2003, p. 559).
#: [higgins2003]
I2_HIGH_PCT: Final[float] = 75.0

# --- Standardised mean difference labels -------------------------------------------

#: A "small" standardised mean difference (Cohen, 1988, section 2.2.3). [cohen1988]
SMD_SMALL: Final[float] = 0.2

#: A "medium" standardised mean difference (Cohen, 1988, section 2.2.3). [cohen1988]
SMD_MEDIUM: Final[float] = 0.5

#: A "large" standardised mean difference (Cohen, 1988, section 2.2.3). [cohen1988]
SMD_LARGE: Final[float] = 0.8

# --- Small-study effects --------------------------------------------------------------

#: Tests for funnel-plot asymmetry should be used only with at least 10 studies
#: (Sterne et al., 2011, BMJ 343:d4002, box "recommendations"). [sterne2011]
EGGER_MIN_STUDIES: Final[int] = 10

#: Iteration limit of the trim-and-fill algorithm, as in metafor's ``trimfill``
#: (Viechtbauer, 2010; Duval & Tweedie, 2000). [viechtbauer2010] [duval2000]
TRIM_FILL_MAX_ITER: Final[int] = 100

# --- Permutation tests ---------------------------------------------------------------

#: Default number of permutations of metafor's ``permutest`` (argument ``iter``;
#: Viechtbauer, 2010). [viechtbauer2010]
PERMUTATION_DEFAULT_N: Final[int] = 1000

#: Tolerance of metafor's ``permutest`` when comparing a permuted statistic with
#: the observed one, ``sqrt(.Machine$double.eps)`` (control ``comptol``;
#: Viechtbauer, 2010). [viechtbauer2010]
PERMUTATION_COMPTOL: Final[float] = 2.0**-26

# --- Stimulation frequency classes (moderators) -------------------------------------

#: Low-frequency rTMS is 1 Hz or less (Lefaucheur et al., 2014, section 1).
#: [lefaucheur2014]
LOW_FREQUENCY_MAX_HZ: Final[float] = 1.0

#: High-frequency rTMS is 5 Hz or more (Lefaucheur et al., 2014, section 1).
#: [lefaucheur2014]
HIGH_FREQUENCY_MIN_HZ: Final[float] = 5.0

# --- Plausibility bounds of a study outcome file -----------------------------------

#: Longest follow-up a study outcome may report, days after the end of the course
#: (20 years): a plausibility limit chosen by plptms. [design]
MAX_FOLLOW_UP_DAYS: Final[float] = 7305.0
