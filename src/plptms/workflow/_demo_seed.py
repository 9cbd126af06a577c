"""Demonstration data for the web application (`make run`): fictional, all of it.

:func:`seed_demo` fills an empty registry through the ordinary use cases:
three sites (the example trial's S01-S03, each with its time zone), one user
per role with a demonstration password, fictional patients at each site with
their PLP history, screening and assessments, two Berlin patients who finished
a course of rTMS (a follow-up visit due and one overdue), and the shipped example
trial with a few enrolments. Nothing here is a real person; the passwords are
printed for the demonstration and must never be used elsewhere.
"""

from __future__ import annotations

import datetime as dt
import logging
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["DEMO_PASSWORD", "DemoAccount", "DemoSeed", "seed_demo"]

logger = logging.getLogger(__name__)

#: The demonstration password of every demo account (printed by `make run`).
DEMO_PASSWORD: Final[str] = "plptms-demo-only"

_SITES: Final[tuple[tuple[str, str, str], ...]] = (
    ("S01", "Demo clinic Berlin", "Europe/Berlin"),
    ("S02", "Demo clinic Leeds", "Europe/London"),
    ("S03", "Demo clinic Auckland", "Pacific/Auckland"),
)
_ALL = frozenset(s[0] for s in _SITES)
#: username, display name, role, sites
_ACCOUNTS: Final[tuple[tuple[str, str, str, frozenset[str]], ...]] = (
    ("admin", "Demo administrator", "administrator", _ALL),
    ("dr.berlin", "Dr Demo (Berlin)", "physician", frozenset({"S01"})),
    ("tech.berlin", "Demo technician (Berlin)", "operator", frozenset({"S01"})),
    ("rater.berlin", "Demo rater (Berlin)", "rater", frozenset({"S01"})),
    ("dr.leeds", "Dr Demo (Leeds)", "physician", frozenset({"S02"})),
    ("monitor", "Demo trial monitor", "monitor", _ALL),
    ("stat", "Demo trial statistician", "statistician", _ALL),
)


class DemoAccount(BaseModel):
    """A demonstration sign-in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    role: str
    sites: tuple[str, ...]


class DemoSeed(BaseModel):
    """What :func:`seed_demo` stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: tuple[DemoAccount, ...]
    password: str
    patients: int
    trial_id: str
    enrolled: int


def _demo_patient() -> dict[str, Any]:
    from ..utils import load_data_file

    res = resources.files("plptms") / "data" / "demo_patient.yaml"
    with resources.as_file(res) as path:
        data = load_data_file(path)
    assert isinstance(data, dict)
    return data


def seed_demo(reg: Registry, *, today: dt.date | None = None) -> DemoSeed:
    """Fill an empty registry with the demonstration sites, users and patients.

    Parameters
    ----------
    reg : Registry
        An empty registry (no user yet).
    today : datetime.date | None
        The day the demonstration runs (the UTC date when ``None``); visits are
        placed before it.

    Returns
    -------
    seed : DemoSeed
        The accounts (password :data:`DEMO_PASSWORD`), counts and the trial id.

    Raises
    ------
    plptms.registry.RegistryError
        If the registry already has users (it is not seeded twice).
    """
    from ..access import Role
    from ..registry import VisitIn
    from ..safety import ScreeningAnswers
    from ..trial import read_trial_definition
    from ..utils import utc_now
    from ._accounts import UserInput, create_user, principal_for
    from ._clinic import record_screening
    from ._records import (
        AssessmentInput,
        PatientInput,
        record_assessment,
        register_patient,
    )
    from ._sites import set_site
    from ._trials import create_trial, enrol_patient

    day0 = today or utc_now().date()
    admin = None
    for username, name, role, sites in _ACCOUNTS:
        user = UserInput(
            username=username, display_name=name, role=Role(role), sites=sites,
            password=DEMO_PASSWORD,
        )  # fmt: skip
        create_user(reg, user, by=admin)
        if admin is None:
            admin = principal_for(reg, username)
    for code, name, tz in _SITES:
        set_site(reg, code, name=name, timezone=tz, actor="admin")
    demo = _demo_patient()
    screened_on = day0 - dt.timedelta(days=121)
    answers = ScreeningAnswers.model_validate(
        {**demo["screening"], "screened_on": screened_on}
    )
    # the patients enrolled in the trial answer no to every item (eligible)
    clear = ScreeningAnswers.model_validate(
        {
            "screened_on": screened_on,
            "answers": dict.fromkeys(demo["screening"]["answers"], "no"),
        }
    )
    baseline = day0 - dt.timedelta(days=120)
    n = 0
    for k, (site, _, _) in enumerate(_SITES):
        for j in range(3):
            code = f"DEMO-{k + 1}{j + 1:02d}"
            register_patient(
                reg,
                PatientInput(site=site, code=code, history=demo["history"]),
                actor="dr.berlin" if site == "S01" else "demo",
            )
            record_screening(
                reg, site, code, clear if j == 0 else answers, actor="demo"
            )
            shift = j - 1  # three trajectories around the demo patient's
            for a in demo["assessments"]:
                items = dict(a["items"])
                if a["scale"] == "nrs_phantom_average":
                    items["1"] = max(0, min(10, int(items["1"]) + shift))
                record_assessment(
                    reg,
                    AssessmentInput(
                        site=site, code=code, scale_id=a["scale"], items=items,
                        visit=VisitIn(
                            visit_date=baseline + dt.timedelta(days=a["day"]),
                            kind=a["kind"],
                        ),
                    ),
                    actor="rater.berlin" if site == "S01" else "demo",
                )  # fmt: skip
            n += 1
    trial = read_trial_definition(
        resources.files("plptms.trial") / "data" / "example_trial.yaml"  # type: ignore[arg-type]
    )
    create_trial(reg, trial, actor="stat")
    n += _demo_courses(reg, demo, day0, answers, baseline)
    enrolled = 0
    for k, (site, _, _) in enumerate(_SITES):
        code = f"DEMO-{k + 1}01"
        enrol_patient(
            reg, trial.id, site, code,
            {"limb": "upper", "pain_band": "nrs_7_10"}, actor="demo",
        )  # fmt: skip
        enrolled += 1
    accounts = tuple(
        DemoAccount(username=u, role=r, sites=tuple(sorted(s)))
        for u, _, r, s in _ACCOUNTS
    )
    logger.info("Demo registry seeded: %d patients, %d enrolled.", n, enrolled)
    return DemoSeed(
        accounts=accounts,
        password=DEMO_PASSWORD,
        patients=n,
        trial_id=trial.id,
        enrolled=enrolled,
    )


#: Berlin patients with a finished course: code, protocol, days from the last
#: session to the demonstration day (30: the 4-week visit is due; 45: its
#: window has closed, overdue).
_COURSES: Final[tuple[tuple[str, str, int], ...]] = (
    ("DEMO-104", "wang2022-m1-1hz", 30),
    ("DEMO-105", "wang2022-m1-1hz", 45),
)
#: Sessions in each demonstration course (one a weekday).
_COURSE_SESSIONS: Final[int] = 10


def _demo_courses(
    reg: Registry,
    demo: dict[str, Any],
    day0: dt.date,
    screening: Any,
    baseline: dt.date,
) -> int:
    """Register the Berlin patients of :data:`_COURSES` with a finished course.

    Each is registered, screened, assessed at baseline, assigned its protocol
    through :func:`plptms.workflow.assign_protocol` (the safety engine's verdict
    asks for review of the unverified train limit: the demonstration physician's
    review is recorded) and has every session recorded as completed.
    """
    from ..protocol import load_library
    from ..registry import SessionStatus, VisitIn
    from ..safety import PhysicianReview
    from ._clinic import assign_protocol, record_screening
    from ._records import (
        AssessmentInput,
        PatientInput,
        record_assessment,
        register_patient,
    )

    review = PhysicianReview(
        physician="Dr Demo (Berlin)",
        reason="Demonstration: reviewed the unverified train-duration limit.",
    )
    for code, protocol_id, days_ago in _COURSES:
        register_patient(
            reg,
            PatientInput(site="S01", code=code, history=demo["history"]),
            actor="dr.berlin",
        )
        record_screening(reg, "S01", code, screening, actor="dr.berlin")
        for a in demo["assessments"]:
            if a["kind"] == "baseline":
                record_assessment(
                    reg,
                    AssessmentInput(
                        site="S01", code=code, scale_id=a["scale"],
                        items=dict(a["items"]),
                        visit=VisitIn(visit_date=baseline, kind="baseline"),
                    ),
                    actor="rater.berlin",
                )  # fmt: skip
        days: list[dt.date] = []
        day = day0 - dt.timedelta(days=days_ago)
        while len(days) < _COURSE_SESSIONS:
            if day.weekday() < 5:
                days.append(day)
            day -= dt.timedelta(days=1)
        days.reverse()
        result = assign_protocol(
            reg, "S01", code, load_library().protocol(protocol_id),
            actor="dr.berlin", review=review, assigned_on=days[0],
        )  # fmt: skip
        for number, day in enumerate(days, start=1):
            reg.record_session(
                result.assignment_id, number, day, SessionStatus.COMPLETED,
                actor="tech.berlin",
            )  # fmt: skip
    return len(_COURSES)
