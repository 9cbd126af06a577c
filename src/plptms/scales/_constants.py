"""Scoring rules, cut-offs and conversion factors of the clinical scales.

Only item identifiers, ranges and scoring rules are stored here: the item wording
of several instruments (SF-MPQ, SF-MPQ-2, LANSS) is licensed and is never copied.

Verification status (see ``shared/domain/REFERENCES.md``): ``verified`` means read
in the primary source, its abstract, or a verbatim reproduction of the cited table;
``to verify`` means taken from a secondary source and still to be checked in the
paper. Every constant says which.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Pain intensity: visual analogue scale (VAS) and numerical rating scale (NRS).
# ---------------------------------------------------------------------------

#: VAS: a 100 mm line from "no pain" (0) to the worst pain (100), read in mm
#: (Hawker et al., 2011, VAS section). Verified. [hawker2011]
VAS_MAX_MM: Final[float] = 100.0

#: NRS: whole numbers 0 (no pain) to 10 (worst pain) (Hawker et al., 2011, NRS
#: section). Verified. [hawker2011]
NRS_MAX: Final[int] = 10

# ---------------------------------------------------------------------------
# Short-form McGill Pain Questionnaire (SF-MPQ; Melzack, 1987).
# ---------------------------------------------------------------------------

#: SF-MPQ descriptors are rated 0 (none), 1 (mild), 2 (moderate), 3 (severe)
#: (Melzack, 1987). Verified. [melzack1987]
SF_MPQ_DESCRIPTOR_MAX: Final[int] = 3

#: SF-MPQ sensory descriptors: items 1-11 (Melzack, 1987). Verified. [melzack1987]
SF_MPQ_SENSORY_ITEMS: Final[tuple[str, ...]] = tuple(str(i) for i in range(1, 12))

#: SF-MPQ affective descriptors: items 12-15 (Melzack, 1987). Verified.
#: [melzack1987]
SF_MPQ_AFFECTIVE_ITEMS: Final[tuple[str, ...]] = ("12", "13", "14", "15")

#: SF-MPQ present pain intensity (PPI): 0 (no pain) to 5 (excruciating)
#: (Melzack, 1987). Verified. [melzack1987]
SF_MPQ_PPI_MAX: Final[int] = 5

#: SF-MPQ visual analogue scale: a 10 cm line, recorded here in mm
#: (Melzack, 1987). Verified. [melzack1987]
SF_MPQ_VAS_MAX_MM: Final[float] = 100.0

# ---------------------------------------------------------------------------
# SF-MPQ-2 (Dworkin et al., 2009). Subscale and total scores are MEANS of the
# item ratings.
# ---------------------------------------------------------------------------

#: SF-MPQ-2 has 22 items (Dworkin et al., 2009). Verified. [dworkin2009]
SF_MPQ2_N_ITEMS: Final[int] = 22

#: SF-MPQ-2 items are rated 0 (none) to 10 (worst possible) (Dworkin et al.,
#: 2009). Verified. [dworkin2009]
SF_MPQ2_ITEM_MAX: Final[int] = 10

#: SF-MPQ-2 continuous-pain subscale: items 1, 5, 6, 8, 9, 10 (Dworkin et al.,
#: 2009). Verified. [dworkin2009]
SF_MPQ2_CONTINUOUS_ITEMS: Final[tuple[str, ...]] = ("1", "5", "6", "8", "9", "10")

#: SF-MPQ-2 intermittent-pain subscale: items 2, 3, 4, 11, 16, 18 (Dworkin et al.,
#: 2009). Verified. [dworkin2009]
SF_MPQ2_INTERMITTENT_ITEMS: Final[tuple[str, ...]] = ("2", "3", "4", "11", "16", "18")

#: SF-MPQ-2 neuropathic-pain subscale: items 7, 17, 19, 20, 21, 22 (Dworkin et al.,
#: 2009). Verified. [dworkin2009]
SF_MPQ2_NEUROPATHIC_ITEMS: Final[tuple[str, ...]] = (
    "7", "17", "19", "20", "21", "22",
)  # fmt: skip

#: SF-MPQ-2 affective subscale: items 12, 13, 14, 15 (Dworkin et al., 2009).
#: Verified. [dworkin2009]
SF_MPQ2_AFFECTIVE_ITEMS: Final[tuple[str, ...]] = ("12", "13", "14", "15")

# ---------------------------------------------------------------------------
# LANSS Pain Scale (Bennett, 2001). Each item is answered no (0) or yes (1); a
# "yes" scores the item's weight.
# ---------------------------------------------------------------------------

#: LANSS weights of a "yes": symptom items A1-A5 score 5, 5, 3, 2, 1; examination
#: items B1 (allodynia) 5 and B2 (altered pin-prick threshold) 3; total 0-24
#: (Bennett, 2001, scoring sheet). Verified. [bennett2001]
LANSS_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("A1", 5), ("A2", 5), ("A3", 3), ("A4", 2), ("A5", 1), ("B1", 5), ("B2", 3),
)  # fmt: skip

#: LANSS total at or above which neuropathic mechanisms are likely to contribute
#: to the pain (Bennett, 2001). Verified. [bennett2001]
LANSS_NEUROPATHIC_CUTOFF: Final[int] = 12

# ---------------------------------------------------------------------------
# Hamilton Anxiety Rating Scale (HAM-A; Hamilton, 1959).
# ---------------------------------------------------------------------------

#: HAM-A has 14 items (Hamilton, 1959). Verified. [hamilton1959]
HAM_A_N_ITEMS: Final[int] = 14

#: HAM-A items are rated 0 (not present) to 4 (very severe); total 0-56
#: (Hamilton, 1959). Verified. [hamilton1959]
HAM_A_ITEM_MAX: Final[int] = 4

#: HAM-A severity bands as (label, lowest total in the band): no or minimal <= 7,
#: mild 8-14, moderate 15-23, severe >= 24 (Matza et al., 2010, abstract).
#: Verified (abstract). Other sources give other bands: e.g. <= 17 mild, 18-24
#: mild to moderate, 25-30 moderate to severe (widely reproduced without a
#: derivation; Thompson, 2015 words it as "> 17 mild"). [matza2010] [thompson2015]
HAM_A_BANDS: Final[tuple[tuple[str, int], ...]] = (
    ("no or minimal", 0),
    ("mild", 8),
    ("moderate", 15),
    ("severe", 24),
)

# ---------------------------------------------------------------------------
# Hamilton Depression Rating Scale, 17 items (HAM-D 17; Hamilton, 1960).
# ---------------------------------------------------------------------------

#: HAM-D 17 item maxima: items 1-3, 7-11 and 15 are rated 0-4; items 4-6, 12-14,
#: 16 and 17 are rated 0-2; total 0-52 (Hamilton, 1960). Verified. [hamilton1960]
HAM_D17_ITEM_MAX: Final[tuple[tuple[str, int], ...]] = (
    ("1", 4), ("2", 4), ("3", 4), ("4", 2), ("5", 2), ("6", 2), ("7", 4),
    ("8", 4), ("9", 4), ("10", 4), ("11", 4), ("12", 2), ("13", 2), ("14", 2),
    ("15", 4), ("16", 2), ("17", 2),
)  # fmt: skip

#: HAM-D 17 severity bands as (label, lowest total in the band): normal 0-7, mild
#: 8-13, moderate 14-18, severe 19-22, very severe >= 23 (Sharp, 2015). To verify
#: in the paper. Zimmerman et al. (2013) derived other cut-offs (mild 8-16,
#: moderate 17-23, severe >= 24). [sharp2015] [zimmerman2013]
HAM_D17_BANDS: Final[tuple[tuple[str, int], ...]] = (
    ("normal", 0),
    ("mild", 8),
    ("moderate", 14),
    ("severe", 19),
    ("very severe", 23),
)

# ---------------------------------------------------------------------------
# Responder classification (IMMPACT; Dworkin et al., 2008, Table 1).
# Table 1 lists a 10-20 % decrease in pain intensity as minimally important, a
# decrease of at least 30 % as moderately important and of at least 50 % as
# substantially important. The 10-20 % range is the spread of the minimal
# estimates, so its lower end is the threshold; decreases of 20 % up to 30 %
# exceed the minimal benchmark without reaching the moderate one and are
# classed as minimally important.
# ---------------------------------------------------------------------------

#: Smallest decrease in pain intensity that is minimally important, % of baseline
#: (Dworkin et al., 2008, Table 1: "10-20 %"). Verified. [dworkin2008]
IMMPACT_MINIMAL_PCT: Final[float] = 10.0

#: Smallest decrease that is moderately important, % of baseline (Dworkin et al.,
#: 2008, Table 1: "at least 30 %"). Verified. [dworkin2008]
IMMPACT_MODERATE_PCT: Final[float] = 30.0

#: Smallest decrease that is substantially important, % of baseline (Dworkin et
#: al., 2008, Table 1: "at least 50 %"). Verified. [dworkin2008]
IMMPACT_SUBSTANTIAL_PCT: Final[float] = 50.0

#: Absolute tolerance, in percentage points, when a percentage change is compared
#: with an IMMPACT threshold, so that float rounding (e.g. 7 -> 4.9 giving
#: 29.999999999999993 %) does not move a change across a threshold. [design]
RESPONSE_THRESHOLD_ATOL_PCT: Final[float] = 1e-9

# ---------------------------------------------------------------------------
# Morphine milligram equivalents (MME): CDC clinical practice guideline for
# prescribing opioids for pain, 2022 (Dowell et al., 2022, Table). Multiply the
# daily dose (mg/day; transdermal fentanyl in mcg/h) by the factor to get MME/day.
# Each factor below was checked against a verbatim reproduction of the Table
# (including its footnotes), not the MMWR PDF itself.
# ---------------------------------------------------------------------------

#: Codeine, MME per mg (Dowell et al., 2022, Table). Verified. [dowell2022]
MME_FACTOR_CODEINE: Final[float] = 0.15

#: Transdermal fentanyl, MME/day per mcg/h of patch rate (Dowell et al., 2022,
#: Table). Verified. [dowell2022]
MME_FACTOR_FENTANYL_TRANSDERMAL: Final[float] = 2.4

#: Hydrocodone, MME per mg (Dowell et al., 2022, Table). Verified. [dowell2022]
MME_FACTOR_HYDROCODONE: Final[float] = 1.0

#: Hydromorphone, MME per mg (Dowell et al., 2022, Table). Verified. [dowell2022]
MME_FACTOR_HYDROMORPHONE: Final[float] = 5.0

#: Methadone, MME per mg (Dowell et al., 2022, Table; the guideline warns that the
#: conversion is especially uncertain for methadone). Verified. [dowell2022]
MME_FACTOR_METHADONE: Final[float] = 4.7

#: Morphine, MME per mg (Dowell et al., 2022, Table). Verified. [dowell2022]
MME_FACTOR_MORPHINE: Final[float] = 1.0

#: Oxycodone, MME per mg (Dowell et al., 2022, Table). Verified. [dowell2022]
MME_FACTOR_OXYCODONE: Final[float] = 1.5

#: Oxymorphone, MME per mg (Dowell et al., 2022, Table). Verified. [dowell2022]
MME_FACTOR_OXYMORPHONE: Final[float] = 3.0

#: Tapentadol, MME per mg (Dowell et al., 2022, Table and its footnote).
#: Verified. [dowell2022]
MME_FACTOR_TAPENTADOL: Final[float] = 0.4

#: Tramadol, MME per mg (Dowell et al., 2022, Table and its footnote; the 2016
#: guideline used 0.1). Verified. [dowell2022]
MME_FACTOR_TRAMADOL: Final[float] = 0.2

# ---------------------------------------------------------------------------
# PLP history: plausibility bounds for a description (not literature values).
# ---------------------------------------------------------------------------

#: Mean length of a month in days (365.25 / 12), used to put attack frequencies
#: given per month on a per-day basis. [design]
DAYS_PER_MONTH: Final[float] = 365.25 / 12

#: Mean length of a year in days, used for the time since amputation in years.
#: [design]
DAYS_PER_YEAR: Final[float] = 365.25

#: Most pain attacks a day a history may carry (one a minute). [design]
MAX_ATTACKS_PER_DAY: Final[float] = 1440.0

#: Longest typical attack a history may carry, s (one day; longer pain is
#: continuous rather than paroxysmal). [design]
MAX_ATTACK_DURATION_S: Final[float] = 86400.0

#: Longest time from amputation to assessment a history may carry, in years (a
#: human lifespan): a plausibility limit chosen by plptms. [design]
MAX_YEARS_SINCE_AMPUTATION: Final[float] = 120.0

# ---------------------------------------------------------------------------
# Opioid doses: plausibility bounds for a recorded daily dose (not clinical or
# safety limits, and not literature values). A dose above its bound is almost
# surely an entry error (a unit slip, a misplaced decimal) and is refused.
# ---------------------------------------------------------------------------

#: Highest daily dose of one opioid a history may carry, in MME/day (the dose times
#: its CDC 2022 factor): a plausibility limit chosen by plptms, far above the doses
#: seen outside palliative care. Applies to every opioid without a ceiling below.
#: [design] [dowell2022]
MAX_DAILY_MME_PER_OPIOID: Final[float] = 10_000.0

#: Highest daily tramadol dose a history may carry, mg/day: a plausibility limit
#: chosen by plptms. Tramadol has a labelled daily maximum well below it (seizure
#: and serotonergic risk; to verify in the label). [design]
MAX_DOSE_TRAMADOL_MG_PER_DAY: Final[float] = 1_000.0

#: Highest daily tapentadol dose a history may carry, mg/day: a plausibility limit
#: chosen by plptms. Tapentadol has a labelled daily maximum below it (to verify
#: in the label). [design]
MAX_DOSE_TAPENTADOL_MG_PER_DAY: Final[float] = 1_000.0

#: Highest daily codeine dose a history may carry, mg/day: a plausibility limit
#: chosen by plptms. Codeine has a labelled daily maximum below it (to verify in
#: the label). [design]
MAX_DOSE_CODEINE_MG_PER_DAY: Final[float] = 1_000.0

# ---------------------------------------------------------------------------
# Patient Global Impression of Change (PGIC): one item, seven categories.
# ---------------------------------------------------------------------------

#: PGIC categories in code order, 1 = very much improved to 7 = very much worse.
#: The seven-point PGIC and its categories "much improved" and "very much
#: improved" are from Farrar et al. (2001, abstract; verified); the coding
#: 1 = very much improved ... 7 = very much worse is the NINDS Common Data Element
#: for the PGIC (NINDS CDE page, read; it cites Hurst and Bolton, 2004);
#: "minimally improved" is read in Dworkin et al. (2008), Table 1 (as transcribed
#: by Bandolier). "no change" and the three "worse" labels mirror the improved side:
#: not verified. Some sources code the scale the other way round (7 = very much
#: improved): record in this coding only. [farrar2001] [ninds2020pgic]
#: [hurst2004] [dworkin2008]
PGIC_CATEGORIES: Final[tuple[str, ...]] = (
    "very much improved",
    "much improved",
    "minimally improved",
    "no change",
    "minimally worse",
    "much worse",
    "very much worse",
)

#: PGIC responder rule: "much improved" or "very much improved" (codes 1 and 2)
#: marks a clinically important improvement (Farrar et al., 2001, abstract;
#: verified), the rule IMMPACT's PGIC benchmarks build on (Dworkin et al., 2008).
#: [farrar2001] [dworkin2008]
PGIC_RESPONDER_MAX_CODE: Final[int] = 2

#: PGIC code at or below which a change is minimally important ("minimally
#: improved"; Dworkin et al., 2008, Table 1, as transcribed by Bandolier).
#: Verified only in that transcription. [dworkin2008]
PGIC_MINIMAL_MAX_CODE: Final[int] = 3

#: PGIC code at or below which a change is substantially important ("very much
#: improved"; Dworkin et al., 2008, Table 1, as transcribed by Bandolier). The
#: moderately important tier is "much improved" (code 2) here; the transcription
#: reads "moderately improved", not a PGIC category: to verify in the paper.
#: [dworkin2008]
PGIC_SUBSTANTIAL_MAX_CODE: Final[int] = 1

# ---------------------------------------------------------------------------
# Brief Pain Inventory, short form (BPI-SF): pain interference items 9A-9G.
# ---------------------------------------------------------------------------

#: BPI-SF pain interference items 9A-9G, one per daily activity, each rated
#: 0 (does not interfere) to 10 (completely interferes); the interference score is
#: their mean (Cleeland, 2009, BPI user guide, "How to Score the BPI: Pain
#: Interference", read in a reproduction of the guide: seven items, mean score).
#: The item letters 9A-9G are the short form's numbering (not verified against the
#: form itself). [cleeland2009]
BPI_INTERFERENCE_ITEMS: Final[tuple[str, ...]] = (
    "9A", "9B", "9C", "9D", "9E", "9F", "9G",
)  # fmt: skip

#: BPI interference items are rated 0-10 (Cleeland, 2009, user guide; read in a
#: reproduction). [cleeland2009]
BPI_ITEM_MAX: Final[int] = 10

#: BPI interference: the mean "can be used if more than 50 %, or four of seven"
#: items are answered (Cleeland, 2009, user guide, read in a reproduction of the
#: scoring page; the sentence is cut off there after "four of seven, of th", so the
#: rest of it is not verified). [cleeland2009]
BPI_INTERFERENCE_MIN_ANSWERED: Final[int] = 4

#: Decrease of the BPI interference score (0-10 mean) that is minimally important:
#: 1 point (Dworkin et al., 2008, Table 1, as transcribed by Bandolier; the same
#: 1-point figure is quoted by the ePPOC documentation). Verified only in those
#: transcriptions. [dworkin2008]
BPI_INTERFERENCE_MIN_IMPORTANT_DECREASE: Final[float] = 1.0

# ---------------------------------------------------------------------------
# EQ-5D-5L: five dimensions, five levels; preference-based index from a value
# set (coefficients in data/eq5d5l_value_sets.yaml) and the EQ VAS.
# ---------------------------------------------------------------------------

#: EQ-5D-5L dimensions: mobility (MO), self-care (SC), usual activities (UA),
#: pain/discomfort (PD), anxiety/depression (AD), in the order of the health-state
#: code (e.g. 21232 is MO 2, SC 1, UA 2, PD 3, AD 2), as the eq5d R package
#: (Morton and Nijjar) names and orders them (read in its code and tests); the
#: value set of Devlin et al. (2018) has one coefficient per dimension and level.
#: [morton_eq5d] [devlin2018]
EQ5D_DIMENSIONS: Final[tuple[str, ...]] = ("MO", "SC", "UA", "PD", "AD")

#: EQ-5D-5L levels per dimension: 1 (no problems) to 5 (extreme problems)
#: (Devlin et al., 2018, abstract: 55555 is "extreme problems on all dimensions";
#: verified). [devlin2018]
EQ5D5L_LEVELS: Final[int] = 5

#: EQ VAS: self-rated health from 0 (worst imaginable) to 100 (best imaginable)
#: (EuroQol EQ-5D-5L user guide: not read, not verified). [euroqol_5l_userguide]
EQ_VAS_MAX: Final[float] = 100.0
