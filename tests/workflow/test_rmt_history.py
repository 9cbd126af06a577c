"""The RMT history on the patient page: every stored hunt, oldest first."""

from __future__ import annotations

import datetime as dt

from plptms.access import Principal, Role
from plptms.registry import Registry
from plptms.workflow import patient_page


def test_rmt_history_lists_every_hunt(db_url: str) -> None:
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest

    with Registry(db_url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n")
        stored = []
        for day, true in ((dt.date(2026, 1, 5), 48.0), (dt.date(2026, 2, 2), 53.0)):
            hunt = hunt_ml_pest(
                SimulatedSubject(SubjectParameters(threshold_pct_mso=true), seed=3),
                start_intensity_pct_mso=true + 10.0,
            )
            stored.append(
                reg.record_rmt("S1", "P001", hunt, hemisphere="right", muscle="FDI",
                               stimulator="sim", measured_on=day, actor="tech1")
            )  # fmt: skip
        dr = Principal(username="dr1", role=Role.PHYSICIAN, sites=frozenset({"S1"}))
        page = patient_page(reg, dr, "S1", "P001")
        assert [r.measured_on for r in page.rmt_history] == [
            dt.date(2026, 1, 5), dt.date(2026, 2, 2),
        ]  # fmt: skip
        assert [r.rmt_pct_mso for r in page.rmt_history] == stored
        assert page.rmt is not None
        assert page.rmt.rmt_pct_mso == stored[-1]
        assert [r.method for r in page.rmt_history] == ["ml_pest", "ml_pest"]
        assert all(
            r.hemisphere == "right" and r.muscle == "FDI" for r in page.rmt_history
        )
