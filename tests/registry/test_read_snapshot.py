"""A registry read is one snapshot, on SQLite and PostgreSQL.

Observed (make bench, 16 concurrent enrolment clients on PostgreSQL): listing a
trial's enrolments read the patients' codes and then the enrolments in two
statements; an enrolment committed in between had no code (KeyError). Under
PostgreSQL's default READ COMMITTED each statement sees newer commits; a read
transaction must see one state.
"""

from __future__ import annotations

from sqlalchemy import func, select

from plptms.registry import Registry
from plptms.registry.db._schema import PatientRow


def test_a_read_transaction_does_not_see_later_commits(db_url: str) -> None:
    with Registry(db_url) as reg, Registry(db_url) as other:
        reg.add_patient("S1", "P001", history=None, actor="n")
        with reg._read() as s:
            before = s.execute(select(func.count()).select_from(PatientRow)).scalar()
            other.add_patient("S1", "P002", history=None, actor="n")  # committed
            after = s.execute(select(func.count()).select_from(PatientRow)).scalar()
        assert before == after == 1
        assert len(reg.list_patients()) == 2  # a new read sees it
