"""Crash campaign, smoke size: SIGKILL the real session CLI; nothing repeated."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_quick_crash_campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import crash_campaign

    result = crash_campaign.run_campaign(quick=True, workdir=tmp_path / "campaign")

    assert len(result.kills) >= 16
    # every aimed strategy was used (where each kill landed is placed afterwards)
    assert set(result.aimed) == set(crash_campaign.STRATEGIES)
    assert result.writes > 0
    assert result.sessions
    for s in result.sessions:
        where = f"session {s.session_id} ({s.protocol}): {s.problems}"
        assert s.status == "completed", where
        assert s.error == "", where
        assert s.repeated == 0, where
        assert s.intra_short == s.inter_short == s.resume_short == 0, where
        assert s.unsafe == 0, where
        assert s.recorded == s.fired == s.planned, where
        assert s.lost == s.recorded_duplicates == s.recorded_not_fired == 0, where
        assert s.uncertain_left == 0, where
        assert s.rivals_refused + s.rivals_took_over == s.rivals, where
    assert not result.failed
    lines = crash_campaign.section(result, "pytest")
    assert lines[0].startswith("## Delivery: crash campaign")
