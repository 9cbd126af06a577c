"""Constants of the treatment planner: follow-up criteria and trial-design defaults."""

from __future__ import annotations

from typing import Final

#: Reduction of pain intensity from baseline judged moderately important by IMMPACT
#: (Dworkin et al., 2008, Table 1: "at least 30 %"); below it at a follow-up the plan
#: suggests considering maintenance sessions. [dworkin2008]
IMMPACT_MODERATE_PCT: Final[float] = 30.0

#: Highest total of the 17-item Hamilton Depression Rating Scale (Hamilton, 1960).
#: [hamilton1960]
HAMD17_MAX_TOTAL: Final[int] = 52

#: Highest total of the Hamilton Anxiety Rating Scale, 14 items scored 0-4
#: (Hamilton, 1959). [hamilton1959]
HAMA_MAX_TOTAL: Final[int] = 56

#: Sessions a week assumed when a protocol reports neither sessions per week nor
#: course length: one session each weekday, plptms's planning default, stated as an
#: assumption in the plan. [design]
DEFAULT_SESSIONS_PER_WEEK: Final[int] = 5

#: Most sessions a week the calendar can hold at one session per weekday. [design]
MAX_CALENDAR_SESSIONS_PER_WEEK: Final[int] = 5

#: Default follow-up visits, weeks after the last session (short- and mid-term
#: follow-ups as in the trials of the source review). [design]
DEFAULT_FOLLOW_UP_WEEKS: Final[tuple[int, ...]] = (4, 12)

#: Conventional two-sided significance level for trial planning (Cohen, 1988,
#: ch. 1). [cohen1988]
DEFAULT_ALPHA: Final[float] = 0.05

#: Conventional power for trial planning, 0.80 (Cohen, 1988, ch. 2.4). [cohen1988]
DEFAULT_POWER: Final[float] = 0.80

#: Level of the prediction interval whose lower bound is the planning effect under
#: heterogeneity (Higgins et al., 2009, section 4.2: 95 % prediction interval).
#: [higgins2009]
PREDICTION_LEVEL_PCT: Final[float] = 95.0
