"""The trial engine: concealed allocation at enrolment, kit codes, blinding, replay.

Oracles are properties fixed by the methods' definitions, not the code's output:
permuted blocks of size 4 with a 1:1 ratio hold 2 + 2 in every completed block
(Schulz & Grimes 2002, not verified here; the definition of a permuted block);
Pocock-Simon minimisation with p = 1 on one factor with one level never lets the
arms differ by more than 1 (Pocock & Simon 1975); kit codes are recomputed with
the standard library's base-32 (RFC 4648) from the HMAC the module documents.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import multiprocessing as mp
import os
import stat
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from plptms.registry import (
    DuplicateRecordError,
    RecordNotFoundError,
    Registry,
    RegistryError,
)
from plptms.registry._trial_keys import KIT_ALPHABET, trial_key_path
from plptms.workflow import (
    ARM_VIEW_ROLES,
    EnrolmentRefusedError,
    UnblindingRefusedError,
    allocation_for,
    amend_trial,
    create_trial,
    enrol_patient,
    replay_allocations,
    unblind,
)
from tests.workflow._trialdef import StandInDefinition, definition, screen

TRIAL = "plp-m1"
LIMBS = ("upper", "lower")


def _enrol(reg: Registry, site: str, code: str, limb: str) -> Any:
    return enrol_patient(
        reg,
        TRIAL,
        site,
        code,
        {"limb": limb},
        actor="nurse1",
        definition_type=StandInDefinition,
    )


def _patients(reg: Registry, n: int, site: str = "S1", prefix: str = "P") -> list[str]:
    codes = []
    for k in range(n):
        code = f"{prefix}{k:03d}"
        reg.add_patient(site, code, history=None, actor="n1")
        screen(reg, site, code)
        codes.append(code)
    return codes


def _count(reg: Registry, table: str) -> int:
    with reg.engine.connect() as c:
        return int(c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def reg(db_url: str) -> Any:
    with Registry(db_url) as r:
        yield r


def test_blocks_balanced_kit_codes_and_replay(reg: Registry) -> None:
    """Permuted blocks of 4 (1:1) per limb stratum: every completed block is 2 + 2.

    A permuted block holds each arm in proportion to the ratio (Schulz & Grimes
    2002, not verified here); stratified, each stratum has its own blocks.
    """
    d = definition()
    create_trial(reg, d, actor="stat1")
    codes = _patients(reg, 24)
    out = [_enrol(reg, "S1", c, LIMBS[k % 3 == 0]) for k, c in enumerate(codes)]
    assert [e.allocation_index for e in out] == list(range(24))
    assert not hasattr(out[0], "arm_id")  # the enrolling operator sees no arm
    stored = reg.list_enrolments(TRIAL)
    for limb in LIMBS:
        arms = [e.arm_id for e in stored if e.factors["limb"] == limb]
        for start in range(0, len(arms) - len(arms) % 4, 4):
            assert Counter(arms[start : start + 4]) == {"active": 2, "sham": 2}
        # inside the block in progress, no arm is ahead by more than 2
        tail = Counter(arms[len(arms) - len(arms) % 4 :])
        assert max(tail.values(), default=0) <= 2
    # kit codes: 8 symbols of the alphabet, unique, HMAC(secret, "kit|n") in base 32
    secret = reg.trial_secret(TRIAL)
    table = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", KIT_ALPHABET)
    for e in stored:
        digest = hmac.new(
            secret, f"kit|{e.allocation_index}".encode(), hashlib.sha256
        ).digest()
        assert e.kit_code == base64.b32encode(digest[:5]).decode().translate(table)
    assert len({e.kit_code for e in stored}) == len(stored)
    report = replay_allocations(reg, TRIAL, d)
    assert report.ok, report.mismatches
    assert report.n_allocations == 24
    audit = reg.verify_audit()
    assert audit.ok, audit.problems


def test_minimisation_p1_keeps_arms_within_one(reg: Registry) -> None:
    """Deterministic minimisation (p = 1), one factor at one level: |A - B| <= 1.

    Pocock & Simon (1975): the arm with the smallest imbalance is chosen; with one
    level the imbalance is the difference of the arm totals, so they alternate
    back to balance after every pair.
    """
    d = definition(
        method="minimisation",
        p=1.0,
        stratification=[{"id": "limb", "levels": ["upper", "lower"]}],
    )
    create_trial(reg, d, actor="stat1")
    counts: Counter[str] = Counter()
    for c in _patients(reg, 12):
        _enrol(reg, "S1", c, "lower")
        counts[reg.get_enrolment(TRIAL, "S1", c).arm_id] += 1
        assert abs(counts["active"] - counts["sham"]) <= 1
    assert counts == {"active": 6, "sham": 6}
    assert replay_allocations(reg, TRIAL, d).ok


def test_secret_outside_database(reg: Registry) -> None:
    create_trial(reg, definition(), actor="stat1")
    path = trial_key_path(TRIAL)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_bytes()
    assert len(secret) == 32
    with reg.engine.connect() as c:
        rows = c.execute(sa.text("SELECT * FROM trials")).all()
        audit = c.execute(sa.text("SELECT new FROM audit_log")).scalars().all()
    dump = repr(rows) + "".join(a or "" for a in audit)
    assert secret.hex() not in dump
    # a replaced key is refused, not silently used
    path.write_bytes(os.urandom(32))
    reg.add_patient("S1", "P000", history=None, actor="n1")
    screen(reg, "S1", "P000")
    with pytest.raises(RegistryError, match="not the key of trial"):
        _enrol(reg, "S1", "P000", "upper")
    path.unlink()
    with pytest.raises(RegistryError, match="missing"):
        _enrol(reg, "S1", "P000", "upper")
    assert _count(reg, "trial_enrolments") == 0


def test_refusals_store_nothing(reg: Registry) -> None:
    create_trial(reg, definition(), actor="stat1")
    _patients(reg, 1)
    _enrol(reg, "S1", "P000", "upper")
    reg.add_patient("S1", "UNSCREENED", history=None, actor="n1")
    reg.add_patient("S1", "EXCL", history=None, actor="n1")
    screen(reg, "S1", "EXCL", excluded=True)
    reg.add_patient("S3", "P100", history=None, actor="n1")
    screen(reg, "S3", "P100")
    _patients(reg, 1, prefix="Q")
    before = (_count(reg, "trial_enrolments"), _count(reg, "audit_log"))
    with pytest.raises(DuplicateRecordError, match="already enrolled"):
        _enrol(reg, "S1", "P000", "upper")
    with pytest.raises(EnrolmentRefusedError, match="no screening"):
        _enrol(reg, "S1", "UNSCREENED", "upper")
    with pytest.raises(EnrolmentRefusedError, match="excluded"):
        _enrol(reg, "S1", "EXCL", "upper")
    with pytest.raises(EnrolmentRefusedError, match="'site'"):
        _enrol(reg, "S3", "P100", "upper")
    with pytest.raises(EnrolmentRefusedError, match="limb"):
        _enrol(reg, "S1", "Q000", "both")
    with pytest.raises(EnrolmentRefusedError, match="without 'limb'"):
        enrol_patient(
            reg, TRIAL, "S1", "Q000", {}, actor="n", definition_type=StandInDefinition
        )
    with pytest.raises(EnrolmentRefusedError, match="unknown factor"):
        enrol_patient(
            reg,
            TRIAL,
            "S1",
            "Q000",
            {"limb": "upper", "pain": "high"},
            actor="n",
            definition_type=StandInDefinition,
        )
    with pytest.raises(RecordNotFoundError, match="no such patient"):
        _enrol(reg, "S1", "NOBODY", "upper")
    with pytest.raises(RecordNotFoundError, match="no such trial"):
        enrol_patient(
            reg,
            "other",
            "S1",
            "Q000",
            {"limb": "upper"},
            actor="n",
            definition_type=StandInDefinition,
        )
    assert (_count(reg, "trial_enrolments"), _count(reg, "audit_log")) == before
    with pytest.raises(DuplicateRecordError, match="already exists"):
        create_trial(reg, definition(), actor="stat1")


def test_roles_and_emergency_unblinding(reg: Registry) -> None:
    create_trial(reg, definition(), actor="stat1")
    _patients(reg, 2)
    e = _enrol(reg, "S1", "P000", "upper")
    arm = reg.get_enrolment(TRIAL, "S1", "P000").arm_id
    for role in ("operator", "rater", "patient", "physician"):
        view = allocation_for(reg, TRIAL, "S1", "P000", role=role)
        assert view.arm_id is None
        assert view.kit_code == e.kit_code
    for role in ARM_VIEW_ROLES:
        assert allocation_for(reg, TRIAL, "S1", "P000", role=role).arm_id == arm
    before = _count(reg, "audit_log")
    for role, reason in [
        ("operator", "seizure during session, treating physician"),
        ("rater", "seizure during session, treating physician"),
        ("physician", ""),
        ("physician", "seizure"),  # under 10 characters
    ]:
        with pytest.raises(UnblindingRefusedError, match=r"role|reason"):
            unblind(reg, TRIAL, "S1", "P000", role=role, reason=reason, actor="dr2")
    with pytest.raises(RecordNotFoundError, match="not enrolled"):
        unblind(
            reg, TRIAL, "S1", "P001", role="physician", reason="x" * 20, actor="dr2"
        )
    assert reg.list_unblindings(TRIAL) == []
    assert _count(reg, "audit_log") == before
    reason = "Seizure during session 3; emergency care needs the arm."
    res = unblind(
        reg, TRIAL, "S1", "P000", role="physician", reason=reason, actor="dr2"
    )
    assert res.arm_id == arm
    (u,) = reg.list_unblindings(TRIAL)
    assert (u.code, u.role, u.actor, u.reason) == ("P000", "physician", "dr2", reason)
    with reg.engine.connect() as c:
        row = c.execute(
            sa.text(
                "SELECT actor, reason FROM audit_log WHERE table_name = "
                "'trial_unblindings'"
            )
        ).one()
    assert tuple(row) == ("dr2", reason)
    audit = reg.verify_audit()
    assert audit.ok, audit.problems


def test_amendment_versions_and_replay(reg: Registry) -> None:
    d1 = definition()
    create_trial(reg, d1, actor="stat1")
    codes = _patients(reg, 6)
    for c in codes[:3]:
        _enrol(reg, "S1", c, "upper")
    d2 = definition(version=2, block_sizes=(4, 8))
    with pytest.raises(RegistryError, match="reason"):
        amend_trial(reg, d2, reason="", actor="stat1")
    with pytest.raises(RegistryError, match="'version'"):
        amend_trial(reg, definition(version=3), reason="Larger blocks.", actor="s")
    with pytest.raises(ValueError, match="version"):
        create_trial(reg, definition(id="x", version=2), actor="s")
    dropped = definition(
        version=2,
        arms=[
            {"id": "active", "protocol_id": "a", "condition": "active"},
            {"id": "sham2", "protocol_id": "b", "condition": "sham"},
        ],
    )
    with pytest.raises(RegistryError, match="already allocated"):
        amend_trial(reg, dropped, reason="Rename the sham arm.", actor="stat1")
    v2 = amend_trial(reg, d2, reason="Block sizes 4 and 8 (DMC advice).", actor="s")
    assert v2.version == 2
    assert [v.version for v in reg.trial_versions(TRIAL)] == [1, 2]
    for c in codes[3:]:
        _enrol(reg, "S1", c, "upper")
    assert [e.version for e in reg.list_enrolments(TRIAL)] == [1, 1, 1, 2, 2, 2]
    assert replay_allocations(reg, TRIAL, d2).ok
    assert replay_allocations(reg, TRIAL, d1).ok
    # the statistician's copy must be the stored one
    other = replay_allocations(reg, TRIAL, definition(version=2, block_sizes=(6,)))
    assert [m.field for m in other.mismatches] == ["definition"]


def test_replay_reports_a_tampered_allocation(reg: Registry) -> None:
    d = definition(method="simple", stratification=[])
    create_trial(reg, d, actor="stat1")
    for c in _patients(reg, 8):
        enrol_patient(
            reg, TRIAL, "S1", c, {}, actor="n", definition_type=StandInDefinition
        )
    assert replay_allocations(reg, TRIAL, d).ok
    e = reg.list_enrolments(TRIAL)[5]
    flipped = "sham" if e.arm_id == "active" else "active"
    with reg.engine.begin() as c:
        c.execute(
            sa.text("UPDATE trial_enrolments SET arm_id = :a WHERE id = :i"),
            {"a": flipped, "i": e.id},
        )
    report = replay_allocations(reg, TRIAL, d)
    assert [(m.allocation_index, m.field) for m in report.mismatches] == [(5, "arm_id")]
    assert not reg.verify_audit().ok


# --------------------------------------------------------------------------------------
# concurrency: real processes enrolling at once
# --------------------------------------------------------------------------------------
N_PROC = 6
N_EACH = 8


def _enrol_worker(url: str, worker: int, start: Any) -> None:
    reg = Registry(url, migrate=False)
    try:
        start.wait(60)
        for k in range(N_EACH):
            site = "S1" if worker % 2 == 0 else "S2"
            enrol_patient(
                reg,
                TRIAL,
                site,
                f"W{worker}P{k:02d}",
                {"limb": LIMBS[(worker + k) % 2]},
                actor=f"site-nurse-{worker}",
                definition_type=StandInDefinition,
            )
    finally:
        reg.close()


@pytest.mark.slow
def test_concurrent_enrolments_no_duplicate_no_gap(db_url: str) -> None:
    """6 processes at 2 sites enrol 48 patients at once: indices are 0..47."""
    d = definition()
    with Registry(db_url) as reg:
        create_trial(reg, d, actor="stat1")
        for w in range(N_PROC):
            site = "S1" if w % 2 == 0 else "S2"
            for k in range(N_EACH):
                reg.add_patient(site, f"W{w}P{k:02d}", history=None, actor="setup")
                screen(reg, site, f"W{w}P{k:02d}")
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(N_PROC)
    procs = [
        ctx.Process(target=_enrol_worker, args=(db_url, w, start))
        for w in range(N_PROC)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    with Registry(db_url, migrate=False) as reg:
        stored = reg.list_enrolments(TRIAL)
        n = N_PROC * N_EACH
        assert sorted(e.allocation_index for e in stored) == list(range(n))
        assert len({e.code for e in stored}) == n
        assert len({e.kit_code for e in stored}) == n
        # the workers' enrolments interleave (they really ran at once)
        actors = [e.actor for e in stored]
        assert sum(a != b for a, b in itertools.pairwise(actors)) >= N_PROC
        report = replay_allocations(reg, TRIAL, d)
        assert report.ok, report.mismatches
        audit = reg.verify_audit()
        assert audit.ok, audit.problems
