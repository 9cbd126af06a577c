"""CDISC ODM 1.3.2 export, validated against the schema odmlib ships."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from plptms.trial import (
    OdmEvent,
    OdmForm,
    OdmItem,
    OdmRecord,
    OdmStudy,
    OdmValidationError,
    odm_xml,
    validate_odm,
    write_odm,
)

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
AT = dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)
STUDY = OdmStudy(
    id="PLP-DEMO",
    name="PLP rTMS trial (fictional)",
    protocol_name="plp-2x2",
    version=2,
    events=(
        OdmEvent(id="baseline", name="Baseline", forms=("nrs", "eq5d")),
        OdmEvent(id="eoc", name="End of course", forms=("nrs",)),
    ),
    forms=(
        OdmForm(
            id="nrs",
            name="NRS phantom pain, average",
            items=(
                OdmItem(id="1", name="average pain", data_type="integer"),
                OdmItem(id="total", name="total"),
            ),
        ),
        OdmForm(
            id="eq5d",
            name="EQ-5D-5L",
            items=(
                OdmItem(id="MO", name="mobility", data_type="integer"),
                OdmItem(id="on", name="date", data_type="date"),
            ),
        ),
    ),
)
RECORDS = [
    OdmRecord(subject="S1-P002", event="eoc", form="nrs", values={"1": 3}),
    OdmRecord(
        subject="S1-P001", event="baseline", form="nrs", values={"1": 7, "total": 7.0}
    ),
    OdmRecord(
        subject="S1-P001",
        event="baseline",
        form="eq5d",
        values={"MO": 2, "on": dt.date(2026, 11, 2)},
    ),
    OdmRecord(
        subject="S1-P001", event="eoc", form="nrs", values={"1": 3, "total": None}
    ),
]


def test_the_document_validates_and_holds_every_value(tmp_path: Path) -> None:
    path = write_odm(STUDY, RECORDS, tmp_path / "odm.xml", created_at=AT)
    root = ET.parse(path).getroot()
    assert root.get("ODMVersion") == "1.3.2"
    assert root.get("CreationDateTime") == "2026-12-03T05:00:00+00:00"
    assert root.find("odm:Study/odm:MetaDataVersion", NS).get("OID") == (
        "MDV.PLP-DEMO.v2"
    )
    subjects = root.findall("odm:ClinicalData/odm:SubjectData", NS)
    assert [s.get("SubjectKey") for s in subjects] == ["S1-P001", "S1-P002"]
    values = {
        (s.get("SubjectKey"), e.get("StudyEventOID"), i.get("ItemOID")): i.get("Value")
        for s in subjects
        for e in s.findall("odm:StudyEventData", NS)
        for i in e.iter(f"{{{NS['odm']}}}ItemData")
    }
    assert values == {
        ("S1-P001", "SE.baseline", "IT.nrs.1"): "7",
        ("S1-P001", "SE.baseline", "IT.nrs.total"): "7.0",
        ("S1-P001", "SE.baseline", "IT.eq5d.MO"): "2",
        ("S1-P001", "SE.baseline", "IT.eq5d.on"): "2026-11-02",
        ("S1-P001", "SE.eoc", "IT.nrs.1"): "3",  # a missing value is left out
        ("S1-P002", "SE.eoc", "IT.nrs.1"): "3",
    }
    # events in the schedule's order within a subject
    events = [e.get("StudyEventOID") for e in subjects[0]]
    assert events == ["SE.baseline", "SE.eoc"]


def test_the_schema_check_catches_a_broken_document() -> None:
    """The validator is not a rubber stamp: schema violations are refused."""
    xml = odm_xml(STUDY, RECORDS, created_at=AT)
    validate_odm(xml)
    no_file_oid = xml.replace(b'FileOID="F.PLP-DEMO.20261203T050000" ', b"")
    with pytest.raises(OdmValidationError, match=r"ODM 1\.3\.2"):
        validate_odm(no_file_oid)
    bad_type = xml.replace(b'DataType="integer"', b'DataType="number"', 1)
    with pytest.raises(OdmValidationError):
        validate_odm(bad_type)


def test_undefined_references_name_the_field_and_write_nothing(
    tmp_path: Path,
) -> None:
    bad = [
        OdmRecord(subject="S1-P001", event="week9", form="nrs", values={"1": 1}),
        OdmRecord(subject="S1-P001", event="eoc", form="eq5d", values={"MO": 1}),
        OdmRecord(subject="S1-P001", event="eoc", form="nrs", values={"x": 1}),
    ]
    for record, field in zip(
        bad, ("records[0].event", "records[0].form", "records[0].values"), strict=True
    ):
        with pytest.raises(ValueError, match=field.replace("[", r"\[")):
            write_odm(STUDY, [record], tmp_path / "x.xml", created_at=AT)
    assert not (tmp_path / "x.xml").exists()
    with pytest.raises(ValueError, match="'created_at'"):
        odm_xml(STUDY, RECORDS, created_at=dt.datetime(2026, 12, 3))
