"""Three sites write to one PostgreSQL registry at once, each through its own
site-scoped registry (row-level security, migration 0014).

Oracle: what each site wrote (its own list of patient codes). Afterwards each
site sees exactly its own rows, through the registry and through raw SQL; the
whole registry holds every row once (no loss, no duplicate); every row has one
audit insert entry; the audit chain verifies (as ``plptms audit verify``).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from plptms.registry import RecordNotFoundError, Registry, VisitIn

SITES = ("S01", "S02", "S03")
#: Patients each site registers (with one assessment and one adverse event each).
N_EACH = 6
DAY = dt.date(2026, 1, 5)
TABLES = ("patients", "visits", "assessments", "adverse_events")


def _site_writes(url: str, site: str, start: threading.Barrier, errors: list) -> None:  # type: ignore[type-arg]
    from plptms.workflow import (
        AdverseEventInput,
        AssessmentInput,
        record_adverse_event,
        record_assessment,
    )

    try:
        reg = Registry(url, migrate=False)
        try:
            view = reg.scoped({site})
            start.wait(timeout=30)
            for k in range(N_EACH):
                code = f"{site}-P{k:02d}"
                view.add_patient(site, code, history=None, actor=f"nurse.{site}")
                record_assessment(
                    view,
                    AssessmentInput(
                        site=site, code=code, scale_id="nrs_phantom_average",
                        visit=VisitIn(visit_date=DAY, kind="baseline"),
                        items={"1": k % 11},
                    ),
                    actor=f"rater.{site}",
                )  # fmt: skip
                record_adverse_event(
                    view,
                    AdverseEventInput(
                        site=site, code=code, actor=f"nurse.{site}",
                        term="headache", severity="mild", relatedness="possible",
                    ),
                )  # fmt: skip
        finally:
            reg.close()
    except Exception as exc:  # reported to the main thread
        errors.append((site, exc))


def _raw_counts(view: Registry) -> dict[str, int]:
    with view._read() as s:
        return {
            t: int(s.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in TABLES
        }


def test_three_sites_write_at_once_and_see_only_their_own(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    with Registry(db_url) as reg:
        # one audited write first: it creates the audit key the sites share
        reg.add_patient("S00", "SETUP", history=None, actor="admin")
        start = threading.Barrier(len(SITES))
        errors: list = []  # type: ignore[type-arg]
        threads = [
            threading.Thread(target=_site_writes, args=(db_url, s, start, errors))
            for s in SITES
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert errors == []
        for site in SITES:
            view = reg.scoped({site})
            wrote = [f"{site}-P{k:02d}" for k in range(N_EACH)]
            assert [p.code for p in view.list_patients()] == wrote
            assert _raw_counts(view) == dict.fromkeys(TABLES, N_EACH)
            other = next(s for s in SITES if s != site)
            with pytest.raises(RecordNotFoundError):
                view.get_patient(other, f"{other}-P00")
        with reg._read() as s:
            dupes = s.execute(
                sa.text(
                    "SELECT site, code FROM patients GROUP BY site, code "
                    "HAVING count(*) > 1"
                )
            ).all()
            audited = dict(
                s.execute(  # type: ignore[arg-type]
                    sa.text(
                        "SELECT table_name, count(*) FROM audit_log "
                        "WHERE action = 'insert' GROUP BY table_name"
                    )
                ).all()
            )
        assert dupes == []
        whole = len(SITES) * N_EACH
        assert _raw_counts(reg) == {
            "patients": whole + 1, "visits": whole, "assessments": whole,
            "adverse_events": whole,
        }  # fmt: skip
        assert {t: audited.get(t, 0) for t in TABLES} == _raw_counts(reg)
        report = reg.verify_audit()
        assert report.ok, report.problems
        assert report.entries == sum(audited.values())
