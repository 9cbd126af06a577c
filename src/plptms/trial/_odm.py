"""CDISC ODM 1.3.2 export of a trial's clinical data, validated against the schema.

The Operational Data Model (ODM) is CDISC's XML standard for exchanging and
archiving clinical trial data :footcite:`cdisc2013odm`. plptms writes one
snapshot document: the study's metadata (visits as study events, scales as
forms, their items with data types) and the clinical data (per subject, per
visit, per form, the item values). Every document is validated against the ODM
1.3.2 XML schema as shipped by odmlib (MIT) before it is returned; a document
that fails is never written.

.. footbibliography::
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal
from xml.etree import ElementTree as ET

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "OdmEvent",
    "OdmForm",
    "OdmItem",
    "OdmRecord",
    "OdmStudy",
    "OdmValidationError",
    "odm_xml",
    "validate_odm",
    "write_odm",
]

#: The ODM 1.3 namespace (ODM 1.3.2 keeps it).
ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class OdmValidationError(ValueError):
    """The document does not validate against the ODM 1.3.2 schema."""


class OdmItem(BaseModel):
    """A data item (a scale item, a derived score)."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    data_type: Literal["integer", "float", "text", "date", "boolean"] = "float"


class OdmForm(BaseModel):
    """A form (one scale, or a case report form) and its items."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    items: tuple[OdmItem, ...] = Field(min_length=1)


class OdmEvent(BaseModel):
    """A study event (a visit of the schedule) and the forms collected there."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    forms: tuple[str, ...] = ()


class OdmStudy(BaseModel):
    """The study's metadata."""

    model_config = _FROZEN

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    protocol_name: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    events: tuple[OdmEvent, ...] = Field(min_length=1)
    forms: tuple[OdmForm, ...] = Field(min_length=1)


class OdmRecord(BaseModel):
    """One form's values for one subject at one event."""

    model_config = _FROZEN

    subject: str = Field(min_length=1, max_length=100)
    event: str
    form: str
    values: dict[str, int | float | str | bool | dt.date | None]


def _value(v: int | float | str | bool | dt.date) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _check_references(study: OdmStudy, records: list[OdmRecord]) -> None:
    forms = {f.id: f for f in study.forms}
    events = {e.id: e for e in study.events}
    for name, ids in (("forms", list(forms)), ("events", list(events))):
        if len(set(ids)) != len(ids):
            raise ValueError(f"Invalid value for 'study.{name}': an id is repeated.")
    for e in study.events:
        for f in e.forms:
            if f not in forms:
                raise ValueError(
                    f"Invalid value for 'study.events[{e.id}].forms': got {f!r}; "
                    f"allowed: a defined form ({', '.join(forms)})."
                )
    for k, r in enumerate(records):
        if r.event not in events:
            raise ValueError(
                f"Invalid value for 'records[{k}].event': got {r.event!r}; allowed: "
                f"{', '.join(events)}."
            )
        if r.form not in events[r.event].forms:
            raise ValueError(
                f"Invalid value for 'records[{k}].form': got {r.form!r}; allowed at "
                f"{r.event!r}: {', '.join(events[r.event].forms) or 'none'}."
            )
        items = {i.id for i in forms[r.form].items}
        unknown = sorted(set(r.values) - items)
        if unknown:
            raise ValueError(
                f"Invalid value for 'records[{k}].values': got {unknown[0]!r}; "
                f"allowed: the items of {r.form!r} ({', '.join(sorted(items))})."
            )


def odm_xml(
    study: OdmStudy,
    records: Iterable[OdmRecord],
    *,
    created_at: dt.datetime | None = None,
    source_version: str = "",
) -> bytes:
    """Build and validate an ODM 1.3.2 snapshot document.

    Parameters
    ----------
    study : OdmStudy
        The metadata.
    records : iterable of OdmRecord
        The clinical data (missing values are left out, as ODM does).
    created_at : datetime.datetime | None
        The document's creation time (UTC now when ``None``; aware).
    source_version : str
        The plptms version, recorded as the source system's.

    Returns
    -------
    xml : bytes
        The document, UTF-8, validated.

    Raises
    ------
    ValueError
        If a record names an undefined event, form or item.
    OdmValidationError
        If the document does not validate (a bug: reported, never written).
    """
    rows = list(records)
    _check_references(study, rows)
    at = created_at or dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        raise ValueError(
            "Invalid value for 'created_at': got a naive time; allowed: an aware "
            "datetime (ODM times carry their offset)."
        )
    ET.register_namespace("", ODM_NS)

    def q(tag: str) -> str:
        return f"{{{ODM_NS}}}{tag}"

    study_oid, mdv_oid = f"ST.{study.id}", f"MDV.{study.id}.v{study.version}"
    root = ET.Element(
        q("ODM"),
        {
            "FileOID": f"F.{study.id}.{at.strftime('%Y%m%dT%H%M%S')}",
            "FileType": "Snapshot",
            "CreationDateTime": at.isoformat(timespec="seconds"),
            "ODMVersion": "1.3.2",
            "Originator": "plptms",
            "SourceSystem": "plptms",
            "SourceSystemVersion": source_version or "unknown",
        },
    )
    st = ET.SubElement(root, q("Study"), {"OID": study_oid})
    gv = ET.SubElement(st, q("GlobalVariables"))
    ET.SubElement(gv, q("StudyName")).text = study.name
    ET.SubElement(gv, q("StudyDescription")).text = study.description or study.name
    ET.SubElement(gv, q("ProtocolName")).text = study.protocol_name
    mdv = ET.SubElement(
        st,
        q("MetaDataVersion"),
        {"OID": mdv_oid, "Name": f"{study.name}, version {study.version}"},
    )
    proto = ET.SubElement(mdv, q("Protocol"))
    for n, e in enumerate(study.events, start=1):
        ET.SubElement(
            proto,
            q("StudyEventRef"),
            {"StudyEventOID": f"SE.{e.id}", "OrderNumber": str(n), "Mandatory": "No"},
        )
    for e in study.events:
        sed = ET.SubElement(
            mdv,
            q("StudyEventDef"),
            {"OID": f"SE.{e.id}", "Name": e.name, "Repeating": "No",
             "Type": "Scheduled"},
        )  # fmt: skip
        for form_id in e.forms:
            ET.SubElement(
                sed, q("FormRef"), {"FormOID": f"FO.{form_id}", "Mandatory": "No"}
            )
    for f in study.forms:
        fd = ET.SubElement(
            mdv, q("FormDef"), {"OID": f"FO.{f.id}", "Name": f.name, "Repeating": "No"}
        )
        ET.SubElement(
            fd, q("ItemGroupRef"), {"ItemGroupOID": f"IG.{f.id}", "Mandatory": "Yes"}
        )
    for f in study.forms:
        ig = ET.SubElement(
            mdv,
            q("ItemGroupDef"),
            {"OID": f"IG.{f.id}", "Name": f.name, "Repeating": "No"},
        )
        for i in f.items:
            ET.SubElement(
                ig, q("ItemRef"), {"ItemOID": f"IT.{f.id}.{i.id}", "Mandatory": "No"}
            )
    for f in study.forms:
        for i in f.items:
            ET.SubElement(
                mdv,
                q("ItemDef"),
                {"OID": f"IT.{f.id}.{i.id}", "Name": i.name, "DataType": i.data_type},
            )
    cd = ET.SubElement(
        root, q("ClinicalData"), {"StudyOID": study_oid, "MetaDataVersionOID": mdv_oid}
    )
    by_subject: dict[str, dict[str, list[OdmRecord]]] = {}
    for r in rows:
        by_subject.setdefault(r.subject, {}).setdefault(r.event, []).append(r)
    order = {e.id: n for n, e in enumerate(study.events)}
    for subject in sorted(by_subject):
        sd = ET.SubElement(cd, q("SubjectData"), {"SubjectKey": subject})
        for event in sorted(by_subject[subject], key=order.__getitem__):
            ev = ET.SubElement(
                sd, q("StudyEventData"), {"StudyEventOID": f"SE.{event}"}
            )
            for r in by_subject[subject][event]:
                fo = ET.SubElement(ev, q("FormData"), {"FormOID": f"FO.{r.form}"})
                ig = ET.SubElement(
                    fo, q("ItemGroupData"), {"ItemGroupOID": f"IG.{r.form}"}
                )
                for item, v in r.values.items():
                    if v is None:
                        continue
                    ET.SubElement(
                        ig,
                        q("ItemData"),
                        {"ItemOID": f"IT.{r.form}.{item}", "Value": _value(v)},
                    )
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    validate_odm(xml)
    return xml


def validate_odm(xml: bytes) -> None:
    """Validate a document against the ODM 1.3.2 schema shipped by odmlib.

    Parameters
    ----------
    xml : bytes
        The document.

    Raises
    ------
    OdmValidationError
        With the schema's first complaint.
    """
    from odmlib import odm_parser

    validator = odm_parser.ODMSchemaValidator(standard="odm", version="1.3.2")
    errors = list(validator.xsd.iter_errors(xml.decode("utf-8")))
    if errors:
        first = re.sub(r"\s+", " ", str(errors[0].reason or errors[0]))[:300]
        raise OdmValidationError(
            f"The ODM document does not validate against ODM 1.3.2: {first} "
            f"({len(errors)} problem(s))."
        )


def write_odm(
    study: OdmStudy,
    records: Iterable[OdmRecord],
    path: Path,
    *,
    created_at: dt.datetime | None = None,
    source_version: str = "",
) -> Path:
    """Write a validated ODM 1.3.2 snapshot (nothing is written if it fails).

    Parameters
    ----------
    study : OdmStudy
        The metadata.
    records : iterable of OdmRecord
        The clinical data.
    path : Path
        The file.
    created_at : datetime.datetime | None
        The creation time (UTC now when ``None``).
    source_version : str
        The plptms version.

    Returns
    -------
    path : Path
        The file written.
    """
    xml = odm_xml(study, records, created_at=created_at, source_version=source_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xml)
    return path
