"""Fuzz the data-file loaders with random and hostile YAML/JSON (issue 13).

Protocol, screening, PLP history and study outcome files are generated from a valid
document by hostile mutations (wrong types, bools, numeric text, huge and
non-finite numbers, far-future dates, deleted and unknown fields), then written as
YAML or JSON and, at random, damaged at the text level (duplicate keys, aliases and
alias bombs, deep nesting, truncation, random bytes). Every example must end in
success or a clean ``ValueError`` within the hypothesis deadline; no other
exception, no hang. The CLI paths that store (``patient add --history``, ``assess
record --items``) must exit 0 or 2 and store nothing when they exit 2 (rows are
counted with SQLAlchemy directly, not through the registry).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.meta._evidence import read_outcome_study
from plptms.protocol import read_protocol
from plptms.protocol._io import load_data, validate_model
from plptms.safety import ScreeningAnswers, load_screening_items, screen
from plptms.scales import PLPHistory
from plptms.utils._load import DataFileError

from ..conftest import RTMS_DEFAULTS

#: Per-example limit, ms: "no hang over a few seconds".
DEADLINE_MS = 2000
#: Examples per loader: the whole module stays well under 30 s on two cores.
EXAMPLES = 60
EXAMPLES_CLI = 25

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE_MS,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_CLI = settings(FUZZ, max_examples=EXAMPLES_CLI)

DATA = Path(__file__).parents[1] / "data"
runner = CliRunner()

# --- valid documents ---------------------------------------------------------------

PROTOCOL: dict[str, Any] = {
    "id": "fuzz-protocol",
    "name": "fuzz",
    "condition": "active",
    "blocks": [
        {
            "label": "M1",
            "dose": dict(RTMS_DEFAULTS),
            "sessions": 10,
            "sessions_per_week": 5,
            "course_weeks": 2,
        }
    ],
}
SCREENING: dict[str, Any] = {
    "patient": "P001",
    "screened_on": "2024-03-01",
    "answers": {it.id: "no" for it in load_screening_items()},
}
HISTORY: dict[str, Any] = {
    "side": "left",
    "limb": "lower",
    "level": "transtibial",
    "cause": "trauma",
    "amputation_date": "2020-03-01",
    "assessed_on": "2024-03-01",
    "prosthesis_use": "daily",
    "phantom_sensations": True,
    "telescoping": False,
    "attack_frequency": {"count": 3, "per": "week"},
    "attack_duration_s": 90.0,
    "opioids": [{"drug": "tramadol", "dose": 100, "unit": "mg/day"}],
}
STUDY: dict[str, Any] = yaml.safe_load(
    (DATA / "evidence_user_study_example.yaml").read_text(encoding="utf-8")
)
ITEMS: dict[str, Any] = {"1": 5}

# --- hostile values and mutations -------------------------------------------------

_SPECIAL = [
    True,
    False,
    None,
    0,
    -1,
    2**63,
    10**30,
    1e300,
    -1e300,
    math.nan,
    math.inf,
    -math.inf,
    "20",
    "1e3",
    "",
    "unreported",
    "2099-01-01",
    "yes",
    ".nan",
    [],
    {},
]
leaves = st.one_of(
    st.sampled_from(_SPECIAL),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.dates().map(dt.date.isoformat),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """Replace, delete or add one entry somewhere in ``doc`` (a deep copy)."""
    doc = copy.deepcopy(doc)
    node = doc
    for _ in range(data.draw(st.integers(0, 4), label="depth")):
        if isinstance(node, dict) and node:
            child = node[data.draw(st.sampled_from(sorted(node)), label="key")]
        elif isinstance(node, list) and node:
            child = node[data.draw(st.integers(0, len(node) - 1), label="index")]
        else:
            break
        if not isinstance(child, dict | list):
            break
        node = child
    action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
    if isinstance(node, dict) and node and action != "add":
        key = data.draw(st.sampled_from(sorted(node)), label="target")
        if action == "delete":
            del node[key]
        else:
            node[key] = data.draw(values, label="value")
    elif isinstance(node, dict):
        node[data.draw(st.text(max_size=8), label="new key")] = data.draw(values)
    elif isinstance(node, list) and node:
        node[data.draw(st.integers(0, len(node) - 1))] = data.draw(values)
    return doc


def _bomb(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [
        f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * width)}]" for k in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


def _document(base: Any, data: st.DataObject) -> tuple[bytes, str]:
    """A possibly hostile document derived from ``base``: (bytes, suffix)."""
    doc = base
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        doc = _mutate(doc, data)
    fmt = data.draw(st.sampled_from(["yaml", "json"]), label="format")
    text = (
        json.dumps(doc, default=str)
        if fmt == "json"
        else yaml.safe_dump(doc, sort_keys=False)
    )
    damage = data.draw(
        st.sampled_from(
            ["none", "duplicate", "alias", "bomb", "deep", "truncate", "random"]
        ),
        label="damage",
    )
    if damage == "duplicate" and isinstance(doc, dict) and doc:
        key = data.draw(st.sampled_from(sorted(doc)))
        extra = {key: data.draw(values)}
        if fmt == "json":
            text = text.rstrip().rstrip("}") + ", " + json.dumps(extra)[1:]
        else:
            text += yaml.safe_dump(extra)
    elif damage == "alias" and fmt == "yaml":
        text = "x: &a [1, 2, {b: 3}]\ny: *a\n" + text
    elif damage == "bomb" and fmt == "yaml":
        levels = data.draw(st.sampled_from([2, 6, 9, 12]), label="levels")
        text = _bomb(levels, data.draw(st.sampled_from([3, 9, 12]), label="width"))
    elif damage == "deep":
        depth = data.draw(st.sampled_from([10, 49, 51, 1_000, 100_000]), label="n")
        text = "[" * depth + "]" * depth
    elif damage == "truncate":
        text = text[: data.draw(st.integers(0, len(text)), label="cut")]
    raw = text.encode("utf-8", "surrogatepass")
    if damage == "random":
        raw = data.draw(st.binary(max_size=200), label="bytes")
    return raw, f".{fmt}"


_names = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(folder: Path, raw: bytes, suffix: str) -> Path:
    f = folder / f"doc{next(_names)}{suffix}"
    f.write_bytes(raw)
    return f


def _clean(call: Any, path: Path) -> None:
    """Run ``call``: success, or a ValueError with a message; nothing else."""
    error: ValueError | None = None
    try:
        call()
    except ValueError as exc:  # DataFileError, ProtocolFileError, ValidationError
        error = exc
    if error is not None:
        message = str(error)
        assert message.strip()
        if isinstance(error, DataFileError):  # a file error names the file
            assert str(path) in message.splitlines()[0]


# --- the loaders (API) ------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_protocol_loader_fuzz(folder: Path, data: st.DataObject) -> None:
    f = _write(folder, *_document(PROTOCOL, data))
    _clean(lambda: read_protocol(f), f)


@FUZZ
@given(data=st.data())
def test_screening_loader_fuzz(folder: Path, data: st.DataObject) -> None:
    f = _write(folder, *_document(SCREENING, data))

    def run() -> None:
        answers = validate_model(ScreeningAnswers, load_data(f), str(f))
        report = screen(answers)
        if answers.screened_on is not None:
            assert answers.screened_on <= dt.date.today()
        assert report.status

    _clean(run, f)


@FUZZ
@given(data=st.data())
def test_history_loader_fuzz(folder: Path, data: st.DataObject) -> None:
    f = _write(folder, *_document(HISTORY, data))

    def run() -> None:
        loaded = load_data(f)
        if isinstance(loaded, dict):
            h = PLPHistory.model_validate(loaded)
            assert h.assessed_on <= dt.date.today()
            assert all(math.isfinite(o.dose) for o in h.opioids)

    _clean(run, f)


@FUZZ
@given(data=st.data())
def test_study_loader_fuzz(folder: Path, data: st.DataObject) -> None:
    f = _write(folder, *_document(STUDY, data))
    _clean(lambda: read_outcome_study(f), f)


# --- the CLI paths that store -----------------------------------------------------

_TABLES = ("patients", "visits", "assessments", "audit_log")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzzdb') / 'r.sqlite3'}"
    add = ["patient", "add", "--site", "S1", "--code", "P001", "--actor", "n1"]
    res = runner.invoke(app, [*add, "--db", url])
    assert res.exit_code == 0, res.output
    return url


def _counts(url: str) -> dict[str, int]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return {
                t: int(c.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in _TABLES
            }
    finally:
        eng.dispose()


def _invoke_storing(url: str, args: list[str]) -> None:
    before = _counts(url)
    res = runner.invoke(app, [*args, "--db", url])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(
        res.exception
    )
    assert res.exit_code in (0, 2), res.output
    if res.exit_code == 2:
        assert "Traceback" not in res.output
        assert res.output.startswith("Error: ")
        assert _counts(url) == before


_codes = itertools.count()


@FUZZ_CLI
@given(data=st.data())
def test_patient_add_history_stores_nothing_on_error(
    db: str, folder: Path, data: st.DataObject
) -> None:
    f = _write(folder, *_document(HISTORY, data))
    code = f"F{next(_codes):05d}"
    add = ["patient", "add", "--site", "S1", "--code", code, "--actor", "n1"]
    _invoke_storing(db, [*add, "--history", str(f)])


@FUZZ_CLI
@given(data=st.data())
def test_assess_record_items_stores_nothing_on_error(
    db: str, folder: Path, data: st.DataObject
) -> None:
    f = _write(folder, *_document(ITEMS, data))
    record = [
        "assess", "record", "--site", "S1", "--code", "P001",
        "--scale", "nrs_phantom_average", "--date", "2024-03-01",
        "--kind", "follow_up", "--actor", "n1",
    ]  # fmt: skip
    _invoke_storing(db, [*record, "--items", str(f)])
