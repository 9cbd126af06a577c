"""Safety limits from the literature, each with its source and verification status.

Verification status follows ``shared/domain/REFERENCES.md``: ``verified`` means read
in a primary source (or its abstract, where the abstract states the figure);
``to_verify`` means a reconstruction of a published table that has not yet been
checked cell by cell against the paper. A train within a limit that rests on a
``to_verify`` cell is ``unverified``, never ``passed``, and sends the verdict to
physician review (see :func:`plptms.safety.max_train_duration`); a site may verify
cells itself with :class:`plptms.safety.CellReading`.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Maximum safe single-train duration (Wassermann, 1998, Table 4; reproduced in
# Rossi et al., 2009). Rows: frequency (Hz); columns: intensity (% of motor
# threshold). Each cell is (seconds, lower_bound) where lower_bound=True means the
# paper printed ">": no adverse effect was seen up to that duration, the longest
# tested, which is therefore the limit used.
# ---------------------------------------------------------------------------

#: Table rows, Hz (Wassermann, 1998, Table 4). [wassermann1998]
TRAIN_TABLE_FREQUENCIES_HZ: Final[tuple[float, ...]] = (1.0, 5.0, 10.0, 20.0, 25.0)

#: Table columns, % MT (Wassermann, 1998, Table 4). [wassermann1998]
TRAIN_TABLE_INTENSITIES_PCT_MT: Final[tuple[float, ...]] = (
    100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0,
    170.0, 180.0, 190.0, 200.0, 210.0, 220.0,
)  # fmt: skip

#: Maximum safe single-train durations, s, as (value, printed_with_">") per cell
#: (Wassermann, 1998, Table 4; Rossi et al., 2009). Reconstruction from
#: shared/domain/REFERENCES.md, to verify cell by cell. [wassermann1998]
TRAIN_TABLE_S: Final[tuple[tuple[tuple[float, bool], ...], ...]] = (
    # 1 Hz
    ((1800, True), (1800, True), (360, True), (50, True), (50, True), (50, True),
     (50, True), (27, True), (11, True), (11, True), (8, True), (7, True),
     (6, True)),
    # 5 Hz
    ((10, True), (10, True), (10, True), (10, True), (7.6, False), (5.2, False),
     (3.6, False), (2.6, False), (2.4, False), (1.6, False), (1.4, False),
     (1.6, False), (1.2, False)),
    # 10 Hz
    ((5, True), (5, True), (4.2, False), (2.9, False), (1.3, False), (0.8, False),
     (0.9, False), (0.8, False), (0.5, False), (0.6, False), (0.4, False),
     (0.3, False), (0.3, False)),
    # 20 Hz
    ((2.05, False), (1.6, False), (1.0, False), (0.55, False), (0.35, False),
     (0.25, False), (0.25, False), (0.15, False), (0.2, False), (0.25, False),
     (0.2, False), (0.1, False), (0.1, False)),
    # 25 Hz
    ((1.28, False), (0.84, False), (0.4, False), (0.24, False), (0.2, False),
     (0.24, False), (0.2, False), (0.12, False), (0.08, False), (0.12, False),
     (0.12, False), (0.08, False), (0.08, False)),
)  # fmt: skip

#: Cells checked against a primary source, keyed (Hz, % MT) -> source. 20 Hz at
#: 110 % MT for 1.6 s agrees with the abstract of Chen et al. (1997). [chen1997]
TRAIN_TABLE_VERIFIED: Final[dict[tuple[float, float], str]] = {
    (20.0, 110.0): "Chen et al., 1997 (abstract): 20 Hz, 1.6 s trains at 110 % MT",
}

#: Citation of the train table (Wassermann, 1998). [wassermann1998]
TRAIN_TABLE_CITATION: Final[str] = (
    "Wassermann 1998, Table 4 (reproduced in Rossi et al. 2009)"
)

#: Chen et al. (1997, abstract read) advise reducing individual train durations by
#: 25 % from "our previous recommendations", the NIH group's earlier tables
#: (Pascual-Leone et al., 1993; not verified). Whether the table of Wassermann
#: (1998) already includes that cut could not be read, so the factor is not applied
#: by default: it is available only as an explicit, recorded site policy.
#: [chen1997] [pascualleone1993]
CHEN1997_TRAIN_MARGIN: Final[float] = 0.75

# ---------------------------------------------------------------------------
# Inter-train intervals (Chen et al., 1997; summarised in Rossi et al., 2009).
# ---------------------------------------------------------------------------

#: Ten 20 Hz, 1.6 s trains at 110 % MT were safe with 5 s between trains
#: (Chen et al., 1997, abstract). [chen1997]
ITI_SAFE_S: Final[float] = 5.0

#: Intensity up to which the 5 s interval was shown safe, % MT (Chen et al., 1997,
#: abstract). [chen1997]
ITI_SAFE_TESTED_UP_TO_PCT_MT: Final[float] = 110.0

#: Frequency of the trains with which the 5 s interval was shown safe, Hz (Chen et
#: al., 1997, abstract: 20 Hz only). [chen1997]
ITI_SAFE_TESTED_FREQUENCY_HZ: Final[float] = 20.0

#: Duration of the trains with which the 5 s interval was shown safe, s (Chen et
#: al., 1997, abstract: 1.6 s). [chen1997]
ITI_SAFE_TESTED_TRAIN_S: Final[float] = 1.6

#: Number of trains with which the 5 s interval was shown safe (Chen et al., 1997,
#: abstract: ten trains). [chen1997]
ITI_SAFE_TESTED_TRAINS: Final[int] = 10

#: Intervals of 1 s or less were unsafe above 100 % MT (Chen et al., 1997,
#: abstract). [chen1997]
ITI_UNSAFE_MAX_S: Final[float] = 1.0

#: Intensity above which intervals <= 1 s were unsafe, % MT (Chen et al., 1997).
#: [chen1997]
ITI_UNSAFE_ABOVE_PCT_MT: Final[float] = 100.0

#: Frequencies above this are "high-frequency" trains to which the inter-train
#: findings apply (Chen et al., 1997 tested 20 Hz; Rossi et al., 2009 apply the
#: interval guidance to conventional high-frequency rTMS). [rossi2009]
ITI_APPLIES_ABOVE_HZ: Final[float] = 1.0

# ---------------------------------------------------------------------------
# Theta burst (Huang et al., 2005; Oberman & Pascual-Leone, 2009; Rossi et al.,
# 2009, 2021; Blumberger et al., 2018).
# ---------------------------------------------------------------------------

#: Standard pulses per burst (Huang et al., 2005). [huang2005]
TBS_PULSES_PER_BURST: Final[int] = 3

#: Standard intra-burst frequency, Hz; faster bursts are outside the studied
#: pattern (Huang et al., 2005). [huang2005]
TBS_MAX_INTRA_BURST_HZ: Final[float] = 50.0

#: Theta band for the burst repetition rate, Hz (Huang et al., 2005 used 5 Hz).
#: [huang2005]
TBS_BURST_HZ_RANGE: Final[tuple[float, float]] = (4.0, 8.0)

#: iTBS: 2 s trains (10 bursts) every 10 s, i.e. 8 s pauses (Huang et al., 2005).
#: [huang2005]
ITBS_MAX_TRAIN_S: Final[float] = 2.0

#: iTBS pause between trains, s (Huang et al., 2005). [huang2005]
ITBS_MIN_ITI_S: Final[float] = 8.0

#: cTBS: one continuous 40 s train of 600 pulses (Huang et al., 2005). [huang2005]
CTBS_MAX_TRAIN_S: Final[float] = 40.0

#: Standard pulses per TBS session (Huang et al., 2005); longer sessions are
#: reported (Rossi et al., 2021) but need review. [huang2005]
TBS_STANDARD_PULSES: Final[int] = 600

#: A seizure occurred during cTBS at 100 % RMT in a healthy subject (Oberman &
#: Pascual-Leone, 2009; cited by Rossi et al., 2009): cTBS below this, % RMT.
#: [oberman2009]
CTBS_MAX_PCT_RMT: Final[float] = 100.0

#: iTBS at 120 % RMT over DLPFC was tolerated in a large trial (Blumberger et al.,
#: 2018; discussed in Rossi et al., 2021): ceiling for iTBS, % RMT.
#: [blumberger2018]
ITBS_MAX_PCT_RMT: Final[float] = 120.0

#: Intensity of the original TBS studies, 80 % of active MT, which lies below RMT
#: (Huang et al., 2005); above 80 % RMT the engine asks for review. [huang2005]
TBS_REVIEW_ABOVE_PCT_RMT: Final[float] = 80.0

# ---------------------------------------------------------------------------
# Session and device limits.
# ---------------------------------------------------------------------------

#: A stimulator cannot exceed 100 % of its maximum output. [device]
MAX_PCT_MSO: Final[float] = 100.0

#: 3000 pulses per session is the FDA-cleared depression protocol (O'Reardon et
#: al., 2007) and the top of the PLP consensus range; more asks for review.
#: [oreardon2007]
SESSION_PULSES_REVIEW_ABOVE: Final[int] = 3000
