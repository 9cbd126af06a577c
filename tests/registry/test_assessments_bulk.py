"""Assessments written with Core inserts: the same rows and audit as the ORM path.

The oracle is the ORM path as it was before the Core writes (commit b4a5cdb):
it is reproduced below (``_orm_store_one``, ``_orm_store_many``: ORM rows, one
unit-of-work flush, the ORM audit chain) and run on a second fresh database with
the same input, clock, version and site key. Every data row and every audit row
(text, hash, MAC) must be equal. The head hash of the scenario is also pinned as
the old code wrote it, so a change of the shared entry builder cannot pass
unseen.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from plptms.registry import (
    DuplicateRecordError,
    RecordNotFoundError,
    Registry,
    RegistryError,
    VisitIn,
)
from plptms.scales import ScoredRecord, score_record

#: The fixed clock and version of both paths.
AT = dt.datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
VERSION = "0.0.test"
D0 = dt.date(2025, 1, 6)
NRS, VAS = "nrs_phantom_average", "vas_phantom_average"

#: Hash of entry 18, the head after :func:`_scenario`, as written by the ORM
#: path at commit b4a5cdb (plptms 0.x, before the Core writes), same clock and
#: version.
HEAD_SEQ = 18
HEAD_HASH = "c1df7954dc7ab727a848c11e4a4e0947f12f2932768664333443574bad6f31fb"

TABLES = ("patients", "visits", "assessments", "audit_log")


def _visit(days: int, kind: str = "follow_up", note: str = "") -> VisitIn:
    return VisitIn.model_validate(
        {"visit_date": D0 + dt.timedelta(days=days), "kind": kind, "note": note}
    )


def _batch() -> list[tuple[str, str, VisitIn, ScoredRecord]]:
    sf = {str(i): i % 4 for i in range(1, 16)} | {"ppi": 2, "vas": 41.5}
    sf_missing: dict[str, float | int | None] = dict(sf)
    sf_missing["7"] = None  # total not computed, with its reason
    lanss = {"A1": 1, "A2": 1, "A3": 1, "A4": 0, "A5": 1, "B1": 1, "B2": 0}
    phone = "Kontrolle \u2013 \u00fcber Telefon"  # non-ASCII kept as UTF-8
    return [
        ("S1", "P1", _visit(0, "baseline"), score_record("sf_mpq", sf)),
        ("S1", "P1", _visit(7, note=phone), score_record(NRS, {"1": 6})),
        ("S1", "P1", _visit(7, note=phone), score_record("sf_mpq", sf_missing)),
        ("S1", "P2", _visit(0, "baseline"), score_record(VAS, {"1": 37.5})),
        ("S2", "P1", _visit(3, "baseline"), score_record("lanss", lanss)),
        ("S2", "P1", _visit(10), score_record(NRS, {"1": None})),
    ]  # fmt: skip


# ------------------------------------------------ the ORM path, as at b4a5cdb
def _orm_store_one(
    reg: Registry, site: str, code: str, visit: VisitIn, sc: ScoredRecord
) -> None:
    from plptms.registry._assessments import _scored
    from plptms.registry._patients import new_visit, patient_row
    from plptms.registry._store import audit
    from plptms.registry.db._schema import AssessmentRow, VisitRow

    with reg._write() as s:
        p = patient_row(s, site, code)
        v = s.execute(
            sa.select(VisitRow).where(
                VisitRow.patient_id == p.id,
                VisitRow.visit_date == visit.visit_date,
                VisitRow.kind == visit.kind.value,
                VisitRow.deleted_at.is_(None),
            )
        ).scalar_one_or_none()
        if v is None:
            v = new_visit(s, p, visit, AT)
            audit(s, "nurse", "insert", "visits", v, None, None, AT)
        row = AssessmentRow(
            visit_id=v.id,
            scale_id=sc.scale_id,
            created_at=AT,
            scored_with=VERSION,
            **_scored(sc),
        )
        s.add(row)
        audit(s, "nurse", "insert", "assessments", row, None, None, AT)


def _orm_store_many(
    reg: Registry, records: list[tuple[str, str, VisitIn, ScoredRecord]]
) -> None:
    from plptms.registry._assessments import _scored
    from plptms.registry._store import audit_inserts
    from plptms.registry.db._schema import AssessmentRow, PatientRow, VisitRow

    with reg._write() as s:
        visits: dict[tuple[int, dt.date, str], Any] = {
            (v.patient_id, v.visit_date, v.kind): v
            for v in s.execute(sa.select(VisitRow)).scalars()
        }
        new_visits, rows = [], []
        for site, code, visit, sc in records:
            p = s.execute(
                sa.select(PatientRow).where(
                    PatientRow.site == site, PatientRow.code == code
                )
            ).scalar_one()
            key = (p.id, visit.visit_date, visit.kind.value)
            if key not in visits:
                visits[key] = VisitRow(
                    patient_id=p.id,
                    visit_date=visit.visit_date,
                    kind=visit.kind.value,
                    note=visit.note,
                    created_at=AT,
                )
                new_visits.append(visits[key])
            rows.append((visits[key], sc))
        s.add_all(new_visits)
        s.flush()
        orm_rows = [
            AssessmentRow(
                visit_id=v.id,
                scale_id=sc.scale_id,
                created_at=AT,
                scored_with=VERSION,
                **_scored(sc),
            )
            for v, sc in rows
        ]
        s.add_all(orm_rows)
        s.flush()
        audit_inserts(s, "import", "visits", new_visits, AT)
        audit_inserts(s, "import", "assessments", orm_rows, AT)


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same clock and version for both paths."""
    import plptms.registry._assessment_rows as rows_mod
    import plptms.registry._assessments as assess_mod
    import plptms.registry._patients as patients_mod

    monkeypatch.setattr(assess_mod, "_now", lambda: AT)
    monkeypatch.setattr(patients_mod, "_now", lambda: AT)
    monkeypatch.setattr(rows_mod, "__version__", VERSION)


@pytest.fixture
def second_url(db_url: str, tmp_path: Any) -> Iterator[str]:
    """A second fresh database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'orm.sqlite3'}"
        return
    admin = os.environ["PLPTMS_TEST_PG_URL"]
    name = f"plptms_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


def _patients(reg: Registry) -> None:
    reg.add_patients(
        [("S1", "P1", None), ("S1", "P2", None), ("S2", "P1", None)], actor="nurse"
    )


def _dump(reg: Registry) -> dict[str, list[tuple[Any, ...]]]:
    with reg.engine.connect() as c:
        return {
            t: [tuple(r) for r in c.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1"))]
            for t in TABLES
        }


def _counts(reg: Registry) -> dict[str, int]:
    with reg.engine.connect() as c:
        return {
            t: int(c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in TABLES
        }


# --------------------------------------------------------------------- tests
@pytest.mark.usefixtures("fixed")
def test_core_writes_equal_the_orm_path_row_for_row(
    db_url: str, second_url: str
) -> None:
    scored = {k: score_record("nrs_phantom_average", {"1": k}) for k in (7, 4, 2)}
    with Registry(db_url) as core, Registry(second_url) as orm:
        _patients(core)
        _patients(orm)
        # single, bulk (existing and new visits), single at existing and new visits
        core.store_assessment(
            "S1", "P1", _visit(0, "baseline"), scored[7], actor="nurse"
        )
        _orm_store_one(orm, "S1", "P1", _visit(0, "baseline"), scored[7])
        assert core.store_assessments(_batch(), actor="import") == len(_batch())
        _orm_store_many(orm, _batch())
        for visit, sc in ((_visit(0, "baseline"), scored[4]), (_visit(14), scored[2])):
            core.store_assessment("S1", "P2", visit, sc, actor="nurse")
            _orm_store_one(orm, "S1", "P2", visit, sc)
        got, expected = _dump(core), _dump(orm)
        assert [len(got[t]) for t in TABLES] == [3, 6, 9, 18]
        for table in TABLES:
            assert got[table] == expected[table], table
        head = got["audit_log"][-1]
        assert (head[0], head[-2]) == (HEAD_SEQ, HEAD_HASH)  # as pinned at b4a5cdb
        for reg in (core, orm):
            report = reg.verify_audit()
            assert report.ok, report.problems
            assert report.head_hash == HEAD_HASH
    # triggers unchanged: the audit log is still append-only
    with Registry(db_url) as core, pytest.raises(sa.exc.DBAPIError, match="append"):
        with core.engine.begin() as c:
            c.execute(sa.text("UPDATE audit_log SET actor = 'x' WHERE seq = 5"))


def test_anchor_and_later_orm_writes_follow_a_bulk_write(registry: Registry) -> None:
    from plptms.registry._anchor import read_anchor

    _patients(registry)
    registry.store_assessments(_batch(), actor="import")
    with registry.engine.connect() as c:
        seq, digest = c.execute(
            sa.text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        ).one()
    anchor = read_anchor(registry.url)
    assert anchor is not None
    assert (anchor.seq, anchor.hash) == (seq, digest)
    # ids taken by the Core inserts are not given again (SQLite rowids, PG sequences)
    v = registry.add_visit("S1", "P2", _visit(30), actor="nurse")
    assert v.id == 6  # 5 visits from the batch, then this one
    out = registry.store_assessment(
        "S1", "P2", _visit(31), score_record("nrs_phantom_average", {"1": 1}), actor="n"
    )
    assert (out.id, out.total, out.computed) == (7, 1.0, True)  # after the batch's 6
    assert registry.verify_audit().ok


@pytest.mark.parametrize("case", ["unknown patient", "scale at that visit", "twice"])
def test_a_bad_record_in_a_batch_stores_nothing(registry: Registry, case: str) -> None:
    _patients(registry)
    nrs = score_record(NRS, {"1": 3})
    registry.store_assessment("S1", "P1", _visit(0, "baseline"), nrs, actor="nurse")
    before = _counts(registry)
    head = registry.verify_audit().head_hash
    bad: tuple[str, str, VisitIn, ScoredRecord]
    if case == "unknown patient":
        bad, match = ("S1", "P9", _visit(40), nrs), r"records\[6\]"
    elif case == "scale at that visit":
        bad = ("S1", "P1", _visit(0, "baseline"), nrs)
        match = r"records\[6\]\.scale_id"
    else:
        bad, match = _batch()[1], r"records\[6\]\.scale_id"
    error = RegistryError if case == "unknown patient" else DuplicateRecordError
    with pytest.raises(error, match=match):
        registry.store_assessments([*_batch(), bad], actor="import")
    assert _counts(registry) == before
    assert registry.verify_audit().head_hash == head


def test_not_scored_refused_before_anything_is_written(registry: Registry) -> None:
    _patients(registry)
    before = _counts(registry)
    raw = ("S1", "P1", _visit(1), {"1": 3})
    with pytest.raises(RegistryError, match=r"records\[6\]"):
        registry.store_assessments([*_batch(), raw], actor="import")  # type: ignore[list-item]
    assert _counts(registry) == before


def test_single_write_refusals_store_nothing(registry: Registry) -> None:
    _patients(registry)
    sc = score_record("nrs_phantom_average", {"1": 3})
    first = registry.store_assessment("S1", "P1", _visit(2), sc, actor="nurse")
    before = _counts(registry)
    with pytest.raises(DuplicateRecordError, match="scale_id") as err:
        registry.store_assessment("S1", "P1", _visit(2), sc, actor="nurse")
    assert f"assessment {first.id}" in str(err.value)
    with pytest.raises(RecordNotFoundError, match="code"):
        registry.store_assessment("S1", "P9", _visit(2), sc, actor="nurse")
    with pytest.raises(RegistryError, match="actor"):
        registry.store_assessment("S1", "P1", _visit(3), sc, actor=" ")
    assert _counts(registry) == before


def test_visit_before_amputation_refused(registry: Registry) -> None:
    from plptms.registry.db._schema import PatientRow

    _patients(registry)
    with registry.engine.begin() as c:  # an amputation date, set directly
        c.execute(
            sa.update(PatientRow)
            .where(PatientRow.code == "P2")
            .values(amputation_date=D0 + dt.timedelta(days=1))
        )
    before = _counts(registry)
    sc = score_record("nrs_phantom_average", {"1": 3})
    with pytest.raises(RegistryError, match="visit_date"):
        registry.store_assessment("S1", "P2", _visit(0), sc, actor="nurse")
    with pytest.raises(RegistryError, match=r"records\[3\]\.visit_date"):
        registry.store_assessments(_batch(), actor="import")
    assert _counts(registry) == before


# ------------------------------------------------------- the head anchor file
def _head(seq: int) -> Any:
    from plptms.registry._anchor import AuditHead

    return AuditHead(
        database="sqlite:////x", seq=seq, hash=f"{seq:064x}", mac=None, at=AT
    )


def test_anchor_is_updated_in_place_and_survives_a_torn_slot(tmp_path: Any) -> None:
    from plptms.registry._anchor import ANCHOR_SLOT_BYTES, read_head_file
    from plptms.registry._anchor_sync import write_anchor

    path = tmp_path / "anchor.json"
    write_anchor(path, _head(1), sync="inline")
    inode = path.stat().st_ino
    for seq in (2, 3, 4):
        write_anchor(path, _head(seq), sync="inline")
        assert read_head_file(path).seq == seq
    # overwritten in place (no new file, no temporary left), two slots and the mark
    assert path.stat().st_ino == inode
    assert path.stat().st_size == 3 * ANCHOR_SLOT_BYTES
    assert [p.name for p in tmp_path.iterdir()] == ["anchor.json"]
    data = bytearray(path.read_bytes())
    newest = 0 if b'"seq":4,' in data[:ANCHOR_SLOT_BYTES] else 1
    older = data[(1 - newest) * ANCHOR_SLOT_BYTES :][:ANCHOR_SLOT_BYTES]
    assert b'"seq":3,' in older
    # a crash tears the slot being written: the other slot's head (3) is read
    start = newest * ANCHOR_SLOT_BYTES + 100
    data[start : start + 20] = b"x" * 20
    path.write_bytes(bytes(data))
    assert read_head_file(path).seq == 3  # lags by one write, never ahead
    write_anchor(path, _head(5), sync="inline")  # the torn slot is overwritten
    assert read_head_file(path).seq == 5
    # both slots torn: unreadable, said so
    path.write_bytes(b"0" * 64 + b" " + b"x" * (3 * ANCHOR_SLOT_BYTES - 65))
    with pytest.raises(RegistryError, match="intact head"):
        read_head_file(path)


def test_anchor_in_the_earlier_format_is_read_then_replaced(tmp_path: Any) -> None:
    from plptms.registry._anchor import (
        ANCHOR_SLOT_BYTES,
        read_head_file,
        write_head_file,
    )
    from plptms.registry._anchor_sync import write_anchor

    path = tmp_path / "anchor.json"
    write_head_file(path, _head(7))  # one JSON record, as earlier versions wrote
    assert read_head_file(path).seq == 7
    write_anchor(path, _head(8), sync="inline")
    assert read_head_file(path).seq == 8
    assert path.stat().st_size == 3 * ANCHOR_SLOT_BYTES


# ------------------------------------------------ the cost of one write (issue 19)
#: Statements a single audited write may send: the transaction's opening (SQLite
#: ``BEGIN IMMEDIATE``; PostgreSQL's advisory write lock), the one lookup
#: (patient, visit, scale there, chain head), the visit's, the assessment's and
#: the audit entries' inserts (one ``executemany``). One fewer at an existing visit.
MAX_STATEMENTS_NEW_VISIT = 5


def test_a_single_write_sends_a_bounded_number_of_statements(
    registry: Registry,
) -> None:
    _patients(registry)
    sc = score_record(NRS, {"1": 3})
    registry.store_assessment("S1", "P1", _visit(0, "baseline"), sc, actor="nurse")
    statements: list[tuple[str, bool]] = []
    commits: list[int] = []

    def on_statement(conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        statements.append((sql, bool(rest[-1])))  # (text, executemany)

    sa.event.listen(registry.engine, "before_cursor_execute", on_statement)
    sa.event.listen(registry.engine, "commit", lambda conn: commits.append(1))
    try:
        registry.store_assessment("S1", "P1", _visit(7), sc, actor="nurse")
        new_visit, statements[:] = list(statements), []
        registry.store_assessment(
            "S1", "P1", _visit(7), score_record(VAS, {"1": 2}), actor="nurse"
        )
        existing_visit = list(statements)
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_statement)
    assert len(new_visit) <= MAX_STATEMENTS_NEW_VISIT, new_visit
    assert len(existing_visit) <= MAX_STATEMENTS_NEW_VISIT - 1, existing_visit
    assert len(commits) == 2  # one commit per write
    for sql, _ in new_visit:  # no per-write settings, savepoints or reflection
        assert not sql.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE"))
    audit_inserts = [many for sql, many in new_visit if "INTO audit_log" in sql]
    assert audit_inserts == [True]  # both entries in one executemany
    assert registry.verify_audit().ok


# -------------------------------------- the entry text, built without the encoder
@given(
    strings=st.lists(
        st.one_of(st.none(), st.text(max_size=40)), min_size=8, max_size=8
    ),
    seq=st.integers(min_value=0, max_value=2**62),
    row_id=st.integers(min_value=-(2**62), max_value=2**62),
)
def test_entry_text_is_the_canonical_json(
    strings: list[str | None], seq: int, row_id: int
) -> None:
    from sqlalchemy.sql.elements import quoted_name

    from plptms.registry._audit import _STRING_KEYS, _entry_text, canonical

    fields: dict[str, Any] = dict(zip(_STRING_KEYS, strings, strict=True))
    fields |= {"seq": seq, "row_id": row_id}
    assert _entry_text(fields) == canonical(fields)
    if strings[-1] is not None:  # a table's name is a str subclass
        fields["table"] = quoted_name(strings[-1], None)
        assert _entry_text(fields) == canonical(fields)


@pytest.mark.parametrize(
    "change", [{"seq": True}, {"row_id": 2.0}, {"old": {"a": 1}}, {"extra": 1}]
)
def test_entry_text_falls_back_to_the_encoder(change: dict[str, Any]) -> None:
    from plptms.registry._audit import _STRING_KEYS, _entry_text, canonical

    fields: dict[str, Any] = dict.fromkeys(_STRING_KEYS, "x") | {"seq": 1, "row_id": 2}
    fields |= change
    assert _entry_text(fields) == canonical(fields)


def _norm_as_before(value: Any) -> Any:
    """The date normalisation as it was before it was memoised (the oracle)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@given(
    values=st.lists(
        st.one_of(
            st.datetimes(timezones=st.none() | st.timezones()),
            st.dates(),
            st.integers(),
        ),
        max_size=20,
    )
)
def test_memoised_date_text_is_the_same(values: list[Any]) -> None:
    from plptms.registry._audit import _norm

    # each value twice: the second comes from the memo; equal keys of different
    # kinds (naive and aware, date and datetime) must not share their text
    for value in values + values:
        assert _norm(value) == _norm_as_before(value)
