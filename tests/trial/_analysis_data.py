"""Small trial definitions and simulated trial records (tests of the analyses)."""

from __future__ import annotations

import copy
import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from plptms.protocol import load_data
from plptms.trial._dataset import AnalysisPatient, AnalysisScore
from plptms.trial._definition import TrialDefinition

EXAMPLE = Path(str(resources.files("plptms.trial") / "data" / "example_trial.yaml"))
NRS = "nrs_phantom_average"
DAY0 = dt.date(2025, 3, 3)


def example_data() -> dict[str, Any]:
    data = load_data(EXAMPLE)
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def small_definition(
    *,
    factorial: bool = True,
    post_visits: int = 2,
    endpoints: str = "all",
    **extra: Any,
) -> TrialDefinition:
    """The example trial cut down: baseline, end of course, [1-month follow-up].

    Two arms (active vs sham, no co-interventions) when ``factorial`` is false.
    ``endpoints``: ``"primary"`` (NRS change at the end of course) or ``"all"``
    (also NRS responders at 30 % and 50 % and the PGIC value).
    """
    data = example_data()
    data["visits"] = [
        {"id": "baseline", "label": "Baseline", "day": 0, "window_before_days": 14,
         "scales": [NRS, "bpi_interference"]},
        {"id": "end_of_course", "label": "End of course", "day": 14,
         "window_after_days": 3, "scales": [NRS, "pgic", "bpi_interference"]},
        {"id": "followup_1m", "label": "Follow-up", "day": 44,
         "window_before_days": 7, "window_after_days": 7, "scales": [NRS]},
    ][: 1 + post_visits]  # fmt: skip
    eps = [
        {"id": "nrs_change_eoc", "kind": "primary", "scale_id": NRS,
         "visit_id": "end_of_course", "measure": "change_from_baseline"},
        {"id": "nrs_r30", "kind": "secondary", "scale_id": NRS,
         "visit_id": "end_of_course", "measure": "responder_30"},
        {"id": "nrs_r50", "kind": "secondary", "scale_id": NRS,
         "visit_id": "end_of_course", "measure": "responder_50"},
        {"id": "pgic_eoc", "kind": "secondary", "scale_id": "pgic",
         "visit_id": "end_of_course", "measure": "value"},
        {"id": "bpi_eoc", "kind": "secondary", "scale_id": "bpi_interference",
         "visit_id": "end_of_course", "measure": "change_from_baseline"},
    ]  # fmt: skip
    data["endpoints"] = eps[:1] if endpoints == "primary" else eps
    if not factorial:
        data["co_interventions"] = []
        data["arms"] = [
            {"id": "active", "label": "Active rTMS", "condition": "active",
             "protocol_id": data["arms"][0]["protocol_id"]},
            {"id": "sham", "label": "Sham rTMS", "condition": "sham",
             "protocol_id": data["arms"][0]["protocol_id"]},
        ]  # fmt: skip
        data["sample_size"] = 100
    data.update(extra)
    return TrialDefinition.model_validate(data)


def simulate(
    defn: TrialDefinition,
    n: int,
    *,
    seed: int,
    stim: float = -1.5,
    mirror: float = 0.0,
    interaction: float = 0.0,
    sd: float = 1.0,
    rho: float = 0.5,
    missing: float = 0.0,
    sites: int = 3,
) -> tuple[list[AnalysisPatient], list[AnalysisScore]]:
    """Patients allocated in turn to the arms, NRS scores with known effects.

    ``value = baseline + 0.3 (site) + stim [active] + mirror [mirror yes]
    + interaction [both] + e``: e ~ N(0, sd^2), correlation ``rho`` across the
    post-baseline visits. PGIC and BPI interference get independent noise.
    """
    rng = np.random.default_rng(seed)
    post = defn.visits[1:]
    m = len(post)
    cov = sd**2 * (rho * np.ones((m, m)) + (1 - rho) * np.eye(m))
    chol = np.linalg.cholesky(cov)
    patients, scores = [], []
    for k in range(n):
        arm = defn.arms[k % len(defn.arms)]
        pid = f"P{k:04d}"
        site = defn.site_codes[(k // len(defn.arms)) % sites]
        patients.append(
            AnalysisPatient(
                patient=pid, site=site, arm_id=arm.id, randomised_on=DAY0,
                covariates={"months_since_amputation": float(rng.integers(6, 240))},
                sessions_planned=10, sessions_received=10,
            )
        )  # fmt: skip
        active = arm.condition == "active"
        mt = arm.co_interventions.get("mirror_therapy") == "yes"
        mean = stim * active + mirror * mt + interaction * (active and mt)
        mean += 0.3 * defn.site_codes.index(site)
        base = float(rng.uniform(4.0, 9.0))
        bpi = float(rng.uniform(2.0, 8.0))
        scores.append(_score(pid, "baseline", NRS, base, DAY0))
        scores.append(_score(pid, "baseline", "bpi_interference", bpi, DAY0))
        err = chol @ rng.standard_normal(m)
        for j, v in enumerate(post):
            on = DAY0 + dt.timedelta(days=v.day)
            if rng.random() >= missing:
                scores.append(_score(pid, v.id, NRS, base + mean + err[j], on))
            if "pgic" in v.scales:
                pg = float(rng.integers(1, 8))
                scores.append(_score(pid, v.id, "pgic", pg, on))
            if "bpi_interference" in v.scales:
                val = bpi + 0.5 * mean + float(rng.normal())
                scores.append(_score(pid, v.id, "bpi_interference", val, on))
    return patients, scores


def _score(
    pid: str, visit: str, scale: str, value: float | None, on: dt.date, ok: bool = True
) -> AnalysisScore:
    return AnalysisScore(
        patient=pid, visit_id=visit, scale_id=scale, value=value, done_on=on,
        in_window=ok,
    )  # fmt: skip


def score(
    pid: str, visit: str, scale: str, value: float | None, *, day: int = 0,
    ok: bool = True,
) -> AnalysisScore:  # fmt: skip
    """One score, ``day`` days after :data:`DAY0`."""
    return _score(pid, visit, scale, value, DAY0 + dt.timedelta(days=day), ok)


def patient(
    pid: str, arm: str, *, site: str = "S01", received: int = 10, **kw: Any
) -> AnalysisPatient:
    """One patient randomised on :data:`DAY0` with 10 planned sessions."""
    return AnalysisPatient(
        patient=pid, site=site, arm_id=arm, randomised_on=DAY0, sessions_planned=10,
        sessions_received=received, **kw,
    )  # fmt: skip
