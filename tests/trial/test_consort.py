"""The CONSORT 2010 flow diagram (Schulz, Altman & Moher 2010)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from plptms.trial import ConsortArm, ConsortFlow, consort_diagram, write_consort


def _flow(assessed: int = 160) -> ConsortFlow:
    return ConsortFlow(
        assessed=assessed,
        excluded={"Not meeting inclusion criteria": 22, "Declined to participate": 10},
        arms=(
            ConsortArm(
                label="active rTMS",
                allocated=64,
                not_received={"withdrew consent": 2},
                lost={"moved away": 3},
                excluded_from_analysis={"no post-baseline visit": 1},
            ),
            ConsortArm(label="sham rTMS", allocated=64, lost={"no reason": 4}),
        ),
    )


def test_counts_are_derived_and_checked() -> None:
    flow = _flow()
    assert flow.randomised == 128
    assert flow.arms[0].received == 62
    assert flow.arms[0].analysed == 63
    # assessed = excluded + randomised, or the flow is refused
    with pytest.raises(ValidationError, match="'assessed'"):
        _flow(assessed=161)
    with pytest.raises(ValidationError, match="at most the 2 allocated"):
        ConsortArm(label="x", allocated=2, lost={"a": 2, "b": 1})
    with pytest.raises(ValidationError):
        ConsortFlow(assessed=2, arms=(ConsortArm(label="only", allocated=2),))


def test_the_diagram_shows_every_box_of_the_template(tmp_path: Path) -> None:
    fig = consort_diagram(_flow(), title="fictional")
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    for stage in ("Enrolment", "Allocation", "Follow-up", "Analysis"):
        assert stage in texts
    for line in (
        "Assessed for eligibility (n = 160)",
        "Excluded (n = 32)",
        "Randomised (n = 128)",
        "Allocated to active rTMS (n = 64)",
        "Received allocated intervention (n = 62)",
        "withdrew consent (n = 2)",
        "Lost to follow-up (n = 4)",
        "Analysed (n = 63)",
        "Analysed (n = 64)",
    ):
        assert line in texts, line
    png, svg = write_consort(_flow(), tmp_path / "consort")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text()[:500]
