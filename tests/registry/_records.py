"""Record assessments the way callers do: scored in plptms.scales, then stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from plptms.workflow import AssessmentInput, record_assessment

if TYPE_CHECKING:
    from plptms.registry import AssessmentOut, Registry, VisitIn


def record(
    reg: Registry,
    site: str,
    code: str,
    visit: VisitIn,
    scale_id: str,
    items: Mapping[str, float | int | None],
    *,
    actor: str,
) -> AssessmentOut:
    """Score and store one administration through the workflow use case."""
    rec = AssessmentInput(
        site=site, code=code, visit=visit, scale_id=scale_id, items=dict(items)
    )
    return record_assessment(reg, rec, actor=actor)
