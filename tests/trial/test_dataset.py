"""Analysis datasets: typed inputs, checks, the long and patient tables, files."""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from plptms.trial._dataset import (
    AnalysisDataset,
    AnalysisPatient,
    AnalysisScore,
    build_dataset,
)
from plptms.trial._definition import TrialDefinition

from ._analysis_data import DAY0, NRS, patient, score, simulate, small_definition

ATOL = 1e-12  # baseline and change are one subtraction of the inputs


@pytest.fixture(scope="module")
def defn() -> TrialDefinition:
    return small_definition(factorial=True)


def _three(defn: TrialDefinition) -> tuple[list[AnalysisPatient], list[AnalysisScore]]:
    """Three patients, hand-made: P1 complete, P2 no end of course, P3 no baseline."""
    patients = [
        patient("P3", "sham_no_mt", site="S02", received=5),
        patient("P1", "active_mt", covariates={"months_since_amputation": 14.0}),
        patient("P2", "sham_mt", major_deviation=True,
                covariates={"months_since_amputation": 30.0, "mu_power": 0.4}),
    ]  # fmt: skip
    scores = [
        score("P1", "baseline", NRS, 7.0),
        score("P1", "end_of_course", NRS, 4.0, day=15),
        score("P1", "followup_1m", NRS, 5.5, day=60, ok=False),  # out of window
        score("P1", "end_of_course", "pgic", 6.0, day=15),
        score("P2", "baseline", NRS, 6.0),
        score("P2", "followup_1m", NRS, 6.5, day=44),
        score("P2", "end_of_course", "pgic", None, day=14),  # not scored
        score("P3", "end_of_course", NRS, 8.0, day=14),
        score("P3", "followup_1m", NRS, 7.0, day=44),
    ]
    return patients, scores


def test_baseline_and_change_by_hand(defn: TrialDefinition) -> None:
    ds = build_dataset(defn, *_three(defn))
    cols = ds.columns()
    # rows: patient, then scale (NRS, PGIC, BPI interference), then visit
    keys = list(zip(cols["patient"], cols["scale_id"], cols["visit"], strict=True))
    nrs = [("end_of_course", "followup_1m")]
    expected = [
        (p, s, v)
        for p in ("P1", "P2", "P3")
        for s, vs in ((NRS, nrs[0]), ("pgic", ("end_of_course",)),
                      ("bpi_interference", ("end_of_course",)))
        for v in vs
    ]  # fmt: skip
    assert keys == expected
    row = {k: {c: cols[c][i] for c in cols} for i, k in enumerate(keys)}
    p1 = row[("P1", NRS, "end_of_course")]
    assert (p1["baseline"], p1["value"]) == (7.0, 4.0)
    assert p1["change"] == pytest.approx(-3.0, abs=ATOL)
    assert (p1["day"], p1["study_day"], p1["in_window"]) == (14, 15, True)
    assert (p1["arm"], p1["stimulation"], p1["mirror_therapy"]) == (
        "active_mt", "active", "yes",
    )  # fmt: skip
    late = row[("P1", NRS, "followup_1m")]
    assert late["change"] == pytest.approx(-1.5, abs=ATOL)
    assert late["in_window"] is False  # kept (ITT) and flagged
    p2 = row[("P2", NRS, "end_of_course")]  # no score: a row with nothing in it
    assert (p2["baseline"], p2["value"], p2["change"], p2["in_window"]) == (
        6.0, None, None, None,
    )  # fmt: skip
    assert row[("P2", NRS, "followup_1m")]["change"] == pytest.approx(0.5, abs=ATOL)
    pg = row[("P2", "pgic", "end_of_course")]  # a record without a total
    assert (pg["baseline"], pg["value"], pg["in_window"]) == (None, None, True)
    p3 = row[("P3", NRS, "end_of_course")]  # no baseline: no change
    assert (p3["baseline"], p3["value"], p3["change"]) == (None, 8.0, None)
    assert (p3["site"], p3["stimulation"]) == ("S02", "sham")
    assert p3["mirror_therapy"] == "no"
    late_nrs = [r["pp"] for k, r in row.items() if k[1:] == (NRS, "followup_1m")]
    assert late_nrs == [True, False, False]
    assert all(cols["itt"])


def test_patient_table(defn: TrialDefinition) -> None:
    ds = build_dataset(defn, *_three(defn), pp_min_share=0.8)
    pt = ds.columns("patients")
    assert pt["patient"] == ["P1", "P2", "P3"]
    assert pt["arm"] == ["active_mt", "sham_mt", "sham_no_mt"]
    assert pt["mirror_therapy"] == ["yes", "yes", "no"]
    assert pt["pp"] == [True, False, False]
    assert pt["pp_exclusion"] == [
        None, "major protocol deviation", "received 5 of 10 planned sessions",
    ]  # fmt: skip
    # covariates: one column each, missing where a patient has none
    assert pt["months_since_amputation"] == [14.0, 30.0, None]
    assert pt["mu_power"] == [None, 0.4, None]
    assert pt["randomised_on"] == [DAY0] * 3
    pp = build_dataset(defn, *_three(defn), analysis_set="pp")
    assert pp.columns("patients")["patient"] == ["P1"]
    assert set(pp.columns()["patient"]) == {"P1"}
    assert pp.analysis_set == "pp"


def test_row_order_is_deterministic(defn: TrialDefinition) -> None:
    patients, scores = simulate(defn, 12, seed=3)
    a = build_dataset(defn, patients, scores)
    b = build_dataset(defn, patients[::-1], scores[::-1])
    assert a == b
    assert a.columns()["patient"] == sorted(a.columns()["patient"])


def _parse(text: str, kind: str) -> Any:
    if text == "":
        return None
    return {
        "str": str, "int": int, "float": float,
        "bool": {"true": True, "false": False}.__getitem__,
        "date": dt.date.fromisoformat,
    }[kind](text)  # fmt: skip


@pytest.mark.parametrize("table", ["long", "patients"])
def test_csv_round_trip(defn: TrialDefinition, tmp_path: Path, table: Any) -> None:
    patients, scores = simulate(defn, 8, seed=5, missing=0.3)
    ds = build_dataset(defn, [*patients, *_three(defn)[0]], [*scores, *_three(defn)[1]])
    path = tmp_path / f"{table}.csv"
    ds.to_csv(path, table)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    types = ds.column_types(table)
    back = {c: [_parse(r[j], types[c]) for r in body] for j, c in enumerate(header)}
    assert back == ds.columns(table)  # floats written with repr: exact
    assert any(v is None for v in back["months_since_amputation" if table ==
                                       "patients" else "value"])  # fmt: skip


@pytest.mark.parametrize("table", ["long", "patients"])
def test_parquet_round_trip(defn: TrialDefinition, tmp_path: Path, table: Any) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    patients, scores = simulate(defn, 8, seed=6, missing=0.3)
    ds = build_dataset(defn, [*patients, *_three(defn)[0]], [*scores, *_three(defn)[1]])
    path = tmp_path / f"{table}.parquet"
    ds.to_parquet(path, table)
    read = pq.read_table(path)
    assert read.column_names == list(ds.column_names(table))
    assert read.to_pydict() == ds.columns(table)
    kinds = {str(f.type) for f in read.schema}
    assert kinds <= {"string", "int64", "double", "bool", "date32[day]"}


def test_parquet_without_pyarrow_says_how_to_install(
    defn: TrialDefinition, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = build_dataset(defn, *_three(defn))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        ds.to_parquet(tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_dataset_is_json_round_trip(defn: TrialDefinition) -> None:
    ds = build_dataset(defn, *_three(defn))
    assert AnalysisDataset.model_validate_json(ds.model_dump_json()) == ds


# -- bad input -------------------------------------------------------------------------


def _bad_patient(defn: TrialDefinition, **kw: Any) -> None:
    build_dataset(defn, [patient("P9", "active_mt", **kw)], [])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"arm": "placebo"}, r"'arm_id'.*'placebo'.*active_mt, active_no_mt"),
        ({"site": "S09"}, r"'site'.*'S09'.*S01, S02, S03"),
    ],
)
def test_unknown_arm_or_site(defn: TrialDefinition, kw: dict, match: str) -> None:
    arm = kw.pop("arm", "active_mt")
    with pytest.raises(ValueError, match=match):
        build_dataset(defn, [patient("P9", arm, **kw)], [])


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (score("P1", "week_2", NRS, 3.0), r"'visit_id'.*'week_2'.*baseline, end_of"),
        (score("P1", "followup_1m", "pgic", 3.0),
         r"'scale_id'.*'pgic'.*followup_1m.*nrs_phantom_average"),
        (score("P7", "baseline", NRS, 3.0), r"'patient'.*'P7'.*P1, P2, P3"),
        (score("P1", "baseline", NRS, 3.0), r"'scores'.*two scores.*'P1'.*baseline"),
        (score("P2", "end_of_course", NRS, 3.0, day=-2), r"'done_on'"),
    ],
)  # fmt: skip
def test_bad_scores_name_the_field(
    defn: TrialDefinition, bad: AnalysisScore, match: str
) -> None:
    patients, scores = _three(defn)
    with pytest.raises(ValueError, match=match):
        build_dataset(defn, patients, [*scores, bad])


def test_bad_patients_name_the_field(defn: TrialDefinition) -> None:
    patients, _ = _three(defn)
    with pytest.raises(ValueError, match=r"'patient'.*'P1' twice"):
        build_dataset(defn, [*patients, patient("P1", "sham_mt")], [])
    with pytest.raises(ValidationError, match="sessions_received"):
        patient("P1", "sham_mt", received=11)
    with pytest.raises(ValidationError, match="covariates"):
        patient("P1", "sham_mt", covariates={"mu_power": math.nan})
    with pytest.raises(ValidationError, match="covariates"):
        patient("P1", "sham_mt", covariates={"Bad Name": 1.0})
    with pytest.raises(ValueError, match=r"'covariates'.*\['visit'\]"):
        build_dataset(defn, [patient("P1", "sham_mt", covariates={"visit": 1.0})], [])
    with pytest.raises(ValidationError, match="withdrawn_on"):
        patient("P1", "sham_mt", withdrawn_on=DAY0 - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="value"):
        score("P1", "baseline", NRS, math.inf)
    with pytest.raises(TypeError, match=r"'patients\[0\]'"):
        build_dataset(defn, [{"patient": "P1"}], [])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="'analysis_set'"):
        build_dataset(defn, patients, [], analysis_set="mitt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'pp_min_share'"):
        build_dataset(defn, patients, [], pp_min_share=0.0)
