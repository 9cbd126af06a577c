"""Literature constants for scalp and stereotaxic targeting.

Verification status (see ``shared/domain/REFERENCES.md``): ``verified`` means read in
the primary source, its abstract, or a maintained implementation that states the
figure; ``to verify`` means taken from a secondary source (or reconstructed) and still
to be checked in the cited paper; ``[design]`` marks a plptms choice, not a literature
value. Every constant says which.

Coordinates are in mm and for the LEFT hemisphere (negative x). Published MNI
coordinates are mirrored (x -> -x) for the right hemisphere; Talairach coordinates
(Mayka et al., 2006) are stored as published and converted to MNI with the inverse
of the Lancaster et al. (2007) icbm2tal transform (see ``_talairach.py``), after
mirroring in Talairach space for the right hemisphere.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Head measurements: plausibility bounds for adults.
# ---------------------------------------------------------------------------

#: Nasion-inion arc over the vertex, lower bound, cm. Plausibility bound chosen to
#: include small adult heads with margin; not an anthropometric centile. [design]
NASION_INION_MIN_CM: Final[float] = 26.0

#: Nasion-inion arc over the vertex, upper bound, cm. Plausibility bound. [design]
NASION_INION_MAX_CM: Final[float] = 46.0

#: Tragus-tragus (preauricular) arc over the vertex, lower bound, cm. Plausibility
#: bound. [design]
TRAGUS_TRAGUS_MIN_CM: Final[float] = 26.0

#: Tragus-tragus (preauricular) arc over the vertex, upper bound, cm. Plausibility
#: bound. [design]
TRAGUS_TRAGUS_MAX_CM: Final[float] = 46.0

#: Head circumference (at the Fpz-T7-Oz-T8 level), lower bound, cm. Plausibility
#: bound well below adult norms; adult circumference depends on height (Bushby et
#: al., 1992, abstract read; centile values not transcribed, to verify). [design]
#: [bushby1992]
CIRCUMFERENCE_MIN_CM: Final[float] = 46.0

#: Head circumference, upper bound, cm. Plausibility bound well above adult norms
#: (Bushby et al., 1992; to verify). [design] [bushby1992]
CIRCUMFERENCE_MAX_CM: Final[float] = 68.0

#: Smallest ratio of an over-the-vertex arc (nasion-inion or tragus-tragus) to the
#: circumference. A sphere gives 1 / (2 cos 18 deg) = 0.53; the Colin27 template
#: head about 0.62. Plausibility bound. [design]
ARC_TO_CIRCUMFERENCE_MIN_RATIO: Final[float] = 0.55

#: Largest ratio of an over-the-vertex arc to the circumference. Plausibility bound.
#: [design]
ARC_TO_CIRCUMFERENCE_MAX_RATIO: Final[float] = 0.75

#: Largest ratio between the nasion-inion and tragus-tragus arcs (either way round).
#: Plausibility bound (the Colin27 template has 0.99; beyond 1.15 the fitted
#: template must be distorted by more than a factor 1.7). [design]
NI_TT_MAX_RATIO: Final[float] = 1.15

# ---------------------------------------------------------------------------
# International 10-20 system (Jasper, 1958). Percentages of the nasion-inion arc
# (NI, from the nasion), of the tragus-tragus arc (TT, from the left tragus) and
# of the circumference (CF) through Fpz-T7-Oz-T8 (from Fpz, towards the left ear).
# ---------------------------------------------------------------------------

#: Midline positions, % of NI from the nasion: Fpz 10, Fz 30, Cz 50, Pz 70, Oz 90
#: (Jasper, 1958). Standard construction, to verify in the paper; cross-checked
#: against the MNE Colin27 10-05 template in the tests. [jasper1958]
TEN_TWENTY_MIDLINE_PCT_NI: Final[tuple[tuple[str, float], ...]] = (
    ("Fpz", 10.0),
    ("Fz", 30.0),
    ("Cz", 50.0),
    ("Pz", 70.0),
    ("Oz", 90.0),
)

#: Central (coronal) positions, % of TT from the left tragus: T7 (T3) 10, C3 30,
#: Cz 50, C4 70, T8 (T4) 90 (Jasper, 1958). To verify in the paper; cross-checked
#: against the MNE template in the tests. [jasper1958]
TEN_TWENTY_CORONAL_PCT_TT: Final[tuple[tuple[str, float], ...]] = (
    ("T7", 10.0),
    ("C3", 30.0),
    ("Cz", 50.0),
    ("C4", 70.0),
    ("T8", 90.0),
)

#: Left half of the circumference, % of CF from Fpz: Fp1 5, F7 (F7) 15, T7 25,
#: P7 (T5) 35, O1 45, Oz 50 (10 % steps of the half-circumference; Jasper, 1958).
#: The right half (Fp2, F8, T8, P8, O2) is the mirror image. To verify in the paper;
#: cross-checked against the MNE template in the tests. [jasper1958]
TEN_TWENTY_RING_PCT_CF: Final[tuple[tuple[str, float], ...]] = (
    ("Fp1", 5.0),
    ("F7", 15.0),
    ("T7", 25.0),
    ("P7", 35.0),
    ("O1", 45.0),
)

# ---------------------------------------------------------------------------
# Beam F3 method (Beam et al., 2009). The web-calculator formulas are verified from
# a public MATLAB transcription (shared/domain/REFERENCES.md); its X output matches a
# public demonstration (TT 36, NI 38, CF 60 cm -> 6.95 cm). The "paper" variant is
# the geometric construction printed in the paper, as read from public
# transcriptions that disagree in typography: to verify against the printed paper.
# ---------------------------------------------------------------------------

#: Fraction of the NI and TT arcs from Cz to the circumference (R1 = 0.4 NI,
#: R2 = 0.4 TT; Beam et al., 2009). Verified (calculator transcription). [beam2009]
BEAM_ARC_FRACTION: Final[float] = 0.4

#: Polar angle of F7 in the Beam construction, degrees (Beam et al., 2009).
#: Verified (calculator transcription). [beam2009]
BEAM_F7_ANGLE_DEG: Final[float] = 324.0

#: Polar angle of Fp1, web calculator, degrees (Beam et al., 2009). Verified
#: (calculator transcription). [beam2009]
BEAM_WEB_FP1_ANGLE_DEG: Final[float] = 298.0

#: Polar angle of Fp1, published construction, degrees (Beam et al., 2009). To
#: verify in the printed paper. [beam2009]
BEAM_PAPER_FP1_ANGLE_DEG: Final[float] = 288.0

#: Factor from the chart radius r to the tape distance Y, web calculator
#: (Beam et al., 2009). Verified (calculator transcription). [beam2009]
BEAM_WEB_Y_FACTOR: Final[float] = 0.91

#: Factor from the chart radius r to the tape distance Y, published construction
#: (Beam et al., 2009). To verify in the printed paper. [beam2009]
BEAM_PAPER_Y_FACTOR: Final[float] = 0.9

# ---------------------------------------------------------------------------
# The "5 cm rule" for DLPFC and its known error.
# ---------------------------------------------------------------------------

#: Standard DLPFC procedure: coil placed 5 cm rostral (anterior) to the motor
#: hotspot (as described by Herwig et al., 2001, abstract). Verified. [herwig2001]
FIVE_CM_RULE_DISTANCE_CM: Final[float] = 5.0

#: With the 5 cm rule, Brodmann area 9 of the DLPFC was hit in 7 of 22 subjects;
#: in the other 15 the coil was more dorsal (e.g. over premotor cortex)
#: (Herwig et al., 2001, abstract). Verified. [herwig2001]
FIVE_CM_RULE_HITS_HERWIG2001: Final[tuple[int, int]] = (7, 22)

#: The 5 cm rule misses the DLPFC in more than one third of cases (Mir-Moghtadaei
#: et al., 2015, abstract, background statement). Verified. [mirmoghtadaei2015]
FIVE_CM_RULE_MISS_FRACTION_MIN: Final[float] = 1.0 / 3.0

#: Beam F3 versus MRI-guided scalp site for the MNI target (-38, 44, 26): 50 %,
#: 75 % and 95 % of 100 subjects within 0.65, 0.99 and 1.36 cm (Mir-Moghtadaei et
#: al., 2015, abstract). Verified. [mirmoghtadaei2015]
BEAM_VS_MRI_DISCREPANCY_CM: Final[tuple[float, float, float]] = (0.65, 0.99, 1.36)

#: The average Beam F3 site lay 2.6 +/- 1.0 cm anterolateral to the 5.5 cm rule
#: site (mean, SD; Trapp et al., 2020, abstract). Verified. [trapp2020]
BEAM_ANTEROLATERAL_TO_5P5CM_CM: Final[tuple[float, float]] = (2.6, 1.0)

# ---------------------------------------------------------------------------
# Sensorimotor scalp sites.
# ---------------------------------------------------------------------------

#: S1 index-finger site lies about 2 cm lateral to the M1 hand (FDI) scalp site
#: (Holmes et al., 2019, abstract). Verified. [holmes2019]
S1_LATERAL_TO_M1_HAND_CM: Final[float] = 2.0

#: S1 index-finger site lies about 0.5 cm posterior to the M1 hand scalp site
#: (Holmes et al., 2019, abstract). Verified. [holmes2019]
S1_POSTERIOR_TO_M1_HAND_CM: Final[float] = 0.5

#: Mean tibialis anterior hotspot, lateral to the vertex, cm: 1.29 cm (Sivaramakrish-
#: nan et al., 2016, abstract; value for the non-lesioned hemisphere of stroke
#: survivors, the healthy-group value was not read: to verify). [sivaramakrishnan2016]
LEG_HOTSPOT_LATERAL_TO_VERTEX_CM: Final[float] = 1.29

#: Mean tibialis anterior hotspot, posterior to the vertex, cm: 0.55 cm
#: (Sivaramakrishnan et al., 2016, abstract; non-lesioned hemisphere; to verify
#: for healthy adults). [sivaramakrishnan2016]
LEG_HOTSPOT_POSTERIOR_TO_VERTEX_CM: Final[float] = 0.55

# ---------------------------------------------------------------------------
# Stereotaxic coordinates for neuronavigation, left hemisphere, mm: MNI where the
# source published MNI, Talairach (converted to MNI in _mni.py) where it did not.
# ---------------------------------------------------------------------------

#: Left DLPFC MNI target (-38, 44, 26) used as the MRI-guided site against which
#: Beam F3 was compared (Mir-Moghtadaei et al., 2015, abstract). Verified
#: (abstract). Third-party tools attribute the same coordinate to Fox et al. (2012):
#: that attribution is to verify. [mirmoghtadaei2015] [fox2012]
DLPFC_MNI_MIRMOGHTADAEI2015_MM: Final[tuple[float, float, float]] = (-38.0, 44.0, 26.0)

#: Left DLPFC MNI target (-46, 45, 38) of Fitzgerald et al. (2009) as tabulated by
#: Fox et al. (2012) and reused by SimNIBS-based tools. To verify (secondary
#: sources only). [fitzgerald2009] [fox2012]
DLPFC_MNI_FITZGERALD2009_MM: Final[tuple[float, float, float]] = (-46.0, 45.0, 38.0)

#: Approximate left M1 leg (mesial precentral) area near the vertex. No literature
#: coordinate was verified: a plptms approximation, to verify. [design]
M1_LEG_MNI_APPROX_MM: Final[tuple[float, float, float]] = (-6.0, -26.0, 72.0)

#: Start point for S1 of the leg: 2 cm posterior to the leg hotspot estimate on a
#: parasagittal line. No verified scalp rule exists in the sources read: a plptms
#: approximation, to verify; prefer MRI guidance. [design]
S1_LEG_POSTERIOR_TO_M1_LEG_CM: Final[float] = 2.0

# ---------------------------------------------------------------------------
# Talairach coordinates as published, and the Talairach -> MNI transform.
# ---------------------------------------------------------------------------

#: M1 centre (-37, -21, 58) of the Mayka et al. (2006) meta-analysis, in
#: Talairach space as published (M1 as a whole, not the hand area; left-hemisphere
#: sign). SimNIBS example scripts use the same numbers as an MNI hand-knob target,
#: which they are not. Two public transcriptions agree on the values and the
#: space; the paper's table was not read: not verified. [mayka2006]
M1_TAL_MAYKA2006_MM: Final[tuple[float, float, float]] = (-37.0, -21.0, 58.0)

#: S1 centre (-40, -24, 50) of the Mayka et al. (2006) meta-analysis, Talairach as
#: published (left-hemisphere sign). Public transcriptions only; not verified.
#: [mayka2006]
S1_TAL_MAYKA2006_MM: Final[tuple[float, float, float]] = (-40.0, -24.0, 50.0)

#: SMA-proper centre (-2, -7, 55) of the Mayka et al. (2006) meta-analysis,
#: Talairach as published (a left-hemisphere value just off the midline). Read in
#: one public transcription of the paper's centres (a Python list of Mayka's
#: Talairach centres found by exact-string search, repository not identified; it
#: lists M1 and S1 as above); the paper was not read: not verified.
#: The same list gives pre-SMA as (-3, -6, 53), which looks mistyped (pre-SMA is
#: conventionally anterior to the VCA line, y > 0, and the list's pooled mesial
#: premotor centre (-2, -1, 54) fits a pre-SMA y near +6), so pre-SMA is not used.
#: [mayka2006]
SMA_PROPER_TAL_MAYKA2006_MM: Final[tuple[float, float, float]] = (-2.0, -7.0, 55.0)

#: MNI (ICBM-152, FSL/FLIRT fit) to Talairach affine of Lancaster et al. (2007),
#: rows of the 3 x 4 matrix [A | t]: tal = A @ mni + t. Read in the GingerALE
#: function icbm_fsl2tal.m (ric.uthscsa.edu, 3/14/07) as redistributed in
#: ThomasYeoLab/CBIG (external_packages/matlab/transforms/icbm_fsl2tal.m). The
#: paper's abstract was read; its printed matrices were not compared: not
#: verified against the paper. [lancaster2007]
LANCASTER2007_ICBM_FSL2TAL: Final[tuple[tuple[float, float, float, float], ...]] = (
    (0.9464, 0.0034, -0.0026, -1.0680),
    (-0.0083, 0.9479, -0.0580, -1.0239),
    (0.0053, 0.0617, 0.9010, 3.1883),
)

#: MNI (ICBM-152, SPM2 fit) to Talairach affine of Lancaster et al. (2007), rows
#: of [A | t]. Read in icbm_spm2tal.m / tal2icbm_spm.m (ric.uthscsa.edu, 3/14/07)
#: as redistributed in ThomasYeoLab/CBIG (external_packages/matlab/transforms/
#: tal2icbm_spm.m) and cliff007/fMRI-Grocer; not verified against the paper.
#: [lancaster2007]
LANCASTER2007_ICBM_SPM2TAL: Final[tuple[tuple[float, float, float, float], ...]] = (
    (0.9254, 0.0024, -0.0118, -1.0207),
    (-0.0048, 0.9316, -0.0871, -1.7667),
    (0.0152, 0.0883, 0.8924, 4.0926),
)

#: MNI (templates other than SPM's and FSL's) to Talairach affine of Lancaster et
#: al. (2007), rows of [A | t]. Read in icbm_other2tal.m (ric.uthscsa.edu,
#: 3/14/07) as redistributed in ThomasYeoLab/CBIG (external_packages/matlab/
#: transforms/icbm_other2tal.m); not verified against the paper. [lancaster2007]
LANCASTER2007_ICBM_OTHER2TAL: Final[tuple[tuple[float, float, float, float], ...]] = (
    (0.9357, 0.0029, -0.0072, -1.0423),
    (-0.0065, 0.9396, -0.0726, -1.3940),
    (0.0103, 0.0752, 0.8967, 3.6475),
)

# ---------------------------------------------------------------------------
# Supplementary motor complex (SMC: SMA proper and pre-SMA), a mesial target.
# ---------------------------------------------------------------------------

#: SMA scalp site on the midline 3 cm anterior to Cz: one of the cortical target
#: sites "commonly used in clinical and cognitive studies" listed by Janssen et al.
#: (2015, Table 1; table read; current direction listed as medial-lateral
#: leftwards). The primary studies that table cites were not read: not verified.
#: [janssen2015]
SMC_ANTERIOR_TO_CZ_CM: Final[float] = 3.0

#: Second SMA scalp site of the same table, 5 cm anterior to Cz on the midline
#: (Janssen et al., 2015, Table 1; primary studies not read: not verified).
#: [janssen2015]
SMC_ANTERIOR_TO_CZ_ALT_CM: Final[float] = 5.0

#: Largest lateral offset of the SMC coil centre from the midline towards the
#: target hemisphere, cm. A plptms bound on an optional offset (default 0: on the
#: midline), chosen because the SMC lies on the mesial surface (SMA-proper centre
#: x = -2 mm Talairach, Mayka et al., 2006, not verified). [design] [mayka2006]
SMC_LATERAL_MAX_CM: Final[float] = 1.5
