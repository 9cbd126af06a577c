"""Constants of the protocol models: plausibility bounds and the consensus range."""

from __future__ import annotations

from typing import Final

# --- Plausibility bounds for a protocol description (not safety limits: those live
# --- in plptms.safety and cite their sources). A value outside these bounds cannot
# --- describe a TMS protocol at all and is refused as malformed.

#: Highest repetition or intra-burst frequency a description may carry; theta burst
#: uses 50 Hz bursts (Huang et al., 2005), so 100 Hz leaves room. [huang2005]
MAX_FREQUENCY_HZ: Final[float] = 100.0

#: Highest intensity a description may carry, in % of the resting motor threshold;
#: the Wassermann (1998) train table stops at 220 % MT. [wassermann1998]
MAX_INTENSITY_PCT_RMT: Final[float] = 250.0

#: Single-pulse TMS is given below 1 Hz; regular trains at >= 1 Hz are rTMS
#: (Rossi et al., 2009, section 2). [rossi2009]
SINGLE_PULSE_MAX_RATE_HZ: Final[float] = 1.0

#: Most sessions a week a schedule may carry (two a day, every day); accelerated
#: schedules beyond that must be described session by session. [design]
MAX_SESSIONS_PER_WEEK: Final[float] = 14.0

#: Longest course a description may carry, in weeks. [design]
MAX_COURSE_WEEKS: Final[float] = 104.0

#: Most sessions one course block may carry: a plausibility limit chosen by plptms
#: (five sessions a week for about 40 years), not a literature value. [design]
MAX_SESSIONS_PER_COURSE: Final[int] = 10_000

#: Most pulses one train may carry: a plausibility limit chosen by plptms. The
#: longest continuous trains in use are a few thousand pulses (1 Hz trains of
#: 1,200-1,800 pulses; cTBS of 600), so 10,000 leaves room. [design]
MAX_PULSES_PER_TRAIN: Final[int] = 10_000

#: Most trains one session may carry (single pulses count one train each): a
#: plausibility limit chosen by plptms. [design]
MAX_TRAINS_PER_SESSION: Final[int] = 10_000

#: Most pulses a source may report for one session (``reported_pulses_per_session``,
#: and the study moderator ``pulses_per_session``): a plausibility limit chosen by
#: plptms, several times the largest session of the shipped library (3,000
#: pulses). [design]
MAX_PULSES_PER_SESSION: Final[int] = 20_000

#: Most pulses in one theta burst: a plausibility limit chosen by plptms (the
#: standard burst has 3; Huang et al., 2005). [huang2005] [design]
MAX_PULSES_PER_BURST: Final[int] = 10

#: Longest pause between two trains a description may carry, in s (one hour): a
#: plausibility limit chosen by plptms. [design]
MAX_INTER_TRAIN_INTERVAL_S: Final[float] = 3600.0

#: Most participants a study (or one of its arms) may report: a plausibility limit
#: chosen by plptms, far above any rTMS trial. [design]
MAX_PARTICIPANTS: Final[int] = 100_000

#: Standard theta-burst pattern: 3 pulses per burst (Huang et al., 2005). [huang2005]
TBS_STANDARD_PULSES_PER_BURST: Final[int] = 3

#: Standard theta-burst intra-burst frequency, Hz (Huang et al., 2005). [huang2005]
TBS_STANDARD_INTRA_BURST_HZ: Final[float] = 50.0

#: Standard theta-burst repetition (burst) frequency, Hz (Huang et al., 2005).
#: [huang2005]
TBS_STANDARD_BURST_HZ: Final[float] = 5.0
