"""Defaults of the session runner's pre-session checks."""

from __future__ import annotations

from typing import Final

#: Longest a resting motor threshold may be reused, days. Thresholds drift between
#: sessions, so clinics re-measure at least weekly; plptms's default, to be set by
#: the site's protocol. [design]
RMT_MAX_AGE_DAYS: Final[int] = 7

#: Longest a screening questionnaire stays valid, days: screen again at least every
#: 30 days during a course (plptms default; the guidelines ask for screening before
#: rTMS, Rossi et al. 2011). [rossi2011]
SCREENING_MAX_AGE_DAYS: Final[int] = 30
