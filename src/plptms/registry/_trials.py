"""Trials on the registry: versioned definitions, enrolments, kit codes, unblindings.

An allocation exists only once a patient is enrolled: :meth:`TrialStore.enrol`
reads the trial's earlier allocations, computes the next one with
:func:`plptms.trial.allocate` and the trial's keyed random source
(:class:`plptms.trial.HmacRandom`) and stores it, all in ONE serialised write
transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory lock), so
concurrent enrolments at several sites never share or skip an allocation index;
unique constraints (one index, one patient and one kit code per trial) make a
duplicate impossible even if that serialisation failed. An allocation is never
changed or deleted.

The trial's secret (32 random bytes) is NOT in the database: it is a file per
trial under the configuration directory, mode 0600, created with the trial
(:func:`trial_key_path`; ``$PLPTMS_TRIAL_KEY_DIR`` overrides the folder). The
database keeps only a fingerprint of it (``trials.key_check``), so a missing,
replaced or wrong key is refused instead of silently producing other
allocations.

Kit codes (:func:`kit_code`) are derived from the secret and the allocation
index only, never from the arm: active and sham kits look alike, and an
operator who sees kit codes learns nothing of the arms.

Who may see an arm, and who may unblind, is decided by the application layer
(:mod:`plptms.workflow`); the registry records every unblinding with its role,
reason and actor, in the same transaction that returns the arm.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..utils import utc_now
from ._models import DuplicateRecordError, RecordNotFoundError, RegistryError
from ._store import _aware, audit

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from ..trial import Allocation, AllocationRecord
    from ..trial._randomisation import AllocationConfig

__all__ = [
    "KIT_ALPHABET",
    "KIT_CODE_CHARS",
    "TRIAL_KEY_ENV",
    "EnrolmentOut",
    "TrialOut",
    "TrialStore",
    "TrialVersionOut",
    "UnblindingOut",
    "check_trial_id",
    "kit_code",
    "read_trial_key",
    "trial_key_check",
    "trial_key_path",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the folder of the trial key files.
TRIAL_KEY_ENV = "PLPTMS_TRIAL_KEY_DIR"

#: Length of a trial's secret, bytes.
TRIAL_KEY_BYTES = 32

#: Kit code alphabet: digits 2-9 and the capitals but I and O (no 0/O or 1/I to
#: confuse); 32 symbols, 5 bits each.
KIT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

#: Characters in a kit code (40 bits).
KIT_CODE_CHARS = 8

_TRIAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY_CHECK_TEXT = "plptms-trial-key-check"
_MAX_KIT_ATTEMPTS = 64


# --------------------------------------------------------------------------------------
# The trial's secret and the kit codes
# --------------------------------------------------------------------------------------
def check_trial_id(value: str, field: str = "trial_id") -> str:
    """Check a trial identifier (also a file name and part of every draw's message).

    Parameters
    ----------
    value : str
        The identifier.
    field : str
        The field name for the error message.

    Returns
    -------
    value : str
        The identifier.

    Raises
    ------
    RegistryError
        Unless it is 1-64 letters, digits, ``_``, ``.`` or ``-``, starting with a
        letter or digit.
    """
    if not isinstance(value, str) or not _TRIAL_ID.match(value):
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: 1-64 letters, "
            "digits, '_', '.' or '-', starting with a letter or digit."
        )
    return value


def trial_key_path(trial_id: str) -> Path:
    """Return where a trial's secret lives.

    Parameters
    ----------
    trial_id : str
        The trial identifier.

    Returns
    -------
    path : Path
        ``$PLPTMS_TRIAL_KEY_DIR/<trial_id>.key`` when the variable is set, else
        ``config_dir()/trials/<trial_id>.key``.
    """
    from ..utils import config_dir

    check_trial_id(trial_id)
    env = os.environ.get(TRIAL_KEY_ENV)
    folder = Path(env) if env else config_dir() / "trials"
    return folder / f"{trial_id}.key"


def read_trial_key(path: Path) -> bytes | None:
    """Read a trial's secret.

    Parameters
    ----------
    path : Path
        The key file (32 raw bytes).

    Returns
    -------
    key : bytes | None
        The secret, or ``None`` when the file does not exist.

    Raises
    ------
    RegistryError
        If the file cannot be read or does not hold 32 bytes.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"Cannot read the trial key {path}: {exc}.") from None
    if len(data) != TRIAL_KEY_BYTES:
        raise RegistryError(
            f"Invalid trial key {path}: got {len(data)} bytes; allowed: "
            f"{TRIAL_KEY_BYTES} random bytes."
        )
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            logger.warning(
                "The trial key %s is readable by other users (chmod 600 it).", path
            )
    return data


def _create_trial_key(path: Path) -> bytes:
    """Create a trial's secret (mode 0600) unless the file already exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trial-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_bytes(TRIAL_KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
    key = read_trial_key(path)
    assert key is not None
    return key


def trial_key_check(secret: bytes, trial_id: str) -> str:
    """Return the fingerprint of a trial's secret stored in the database.

    Parameters
    ----------
    secret : bytes
        The secret.
    trial_id : str
        The trial identifier.

    Returns
    -------
    check : str
        Hex ``HMAC-SHA256(secret, "plptms-trial-key-check|<trial_id>")``; it
        reveals nothing of the secret and is never a message of a draw or a kit.
    """
    text = f"{_KEY_CHECK_TEXT}|{trial_id}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def kit_code(secret: bytes, index: int, taken: Collection[str] = ()) -> str:
    """Return the kit code of allocation ``index`` (the same rule for every arm).

    The code is the top 40 bits of ``HMAC-SHA256(secret, "kit|<index>")`` written
    as 8 symbols of :data:`KIT_ALPHABET` (5 bits each, most significant first).
    In the rare case that the code is already used in the trial (``taken``), the
    message ``"kit|<index>|<attempt>"`` with attempt 1, 2, ... is used instead,
    so the code is still a pure function of the secret and the trial's history.

    Parameters
    ----------
    secret : bytes
        The trial's secret.
    index : int
        The 0-based allocation index.
    taken : collection of str
        Kit codes already used by earlier allocations of the trial.

    Returns
    -------
    code : str
        Eight symbols, e.g. ``'K7QX3MZD'``.

    Raises
    ------
    ValueError
        If ``index`` is negative.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(
            f"Invalid value for 'index': got {index!r}; allowed range is [0, inf)."
        )
    for attempt in range(_MAX_KIT_ATTEMPTS):
        text = f"kit|{index}" if attempt == 0 else f"kit|{index}|{attempt}"
        digest = hmac.new(secret, text.encode("ascii"), hashlib.sha256).digest()
        bits = int.from_bytes(digest[:5], "big")  # top 40 bits
        code = "".join(
            KIT_ALPHABET[(bits >> (5 * (KIT_CODE_CHARS - 1 - k))) & 31]
            for k in range(KIT_CODE_CHARS)
        )
        if code not in taken:
            return code
    raise RuntimeError(  # pragma: no cover - needs 64 collisions in 2**40 codes
        "No free kit code was found."
    )


# --------------------------------------------------------------------------------------
# Boundary models
# --------------------------------------------------------------------------------------
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class TrialOut(BaseModel):
    """A stored trial with its newest definition.

    Attributes
    ----------
    trial_id : str
        The trial identifier.
    title : str
        Its title.
    version : int
        The newest definition version.
    definition : dict
        The newest definition (JSON data, as given).
    created_at : datetime.datetime
        When the trial was created (UTC).
    actor : str
        Who created it.
    """

    model_config = _FROZEN

    trial_id: str
    title: str
    version: int
    definition: dict[str, Any]
    created_at: dt.datetime
    actor: str


class TrialVersionOut(BaseModel):
    """One version of a trial definition.

    Attributes
    ----------
    trial_id : str
        The trial identifier.
    version : int
        Version number (1 at creation).
    definition : dict
        The definition (JSON data).
    reason : str | None
        Why it was amended (``None`` for version 1).
    actor : str
        Who recorded it.
    created_at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    definition: dict[str, Any]
    reason: str | None
    actor: str
    created_at: dt.datetime


class EnrolmentOut(BaseModel):
    """A stored enrolment with its allocation (the arm included: registry level).

    Attributes
    ----------
    id : int
        Enrolment id.
    trial_id : str
        The trial identifier.
    version : int
        The definition version in force at enrolment.
    site, code : str
        The patient.
    allocation_index : int
        0-based index of the allocation in the trial.
    arm_id : str
        The arm allocated.
    kit_code : str
        The kit code operators see.
    factors : dict of str to str
        The patient's factor levels at enrolment.
    stratum : str | None
        The stratum key (permuted blocks), else ``None``.
    allocation : dict
        Audit data of the allocation (method, draw, probabilities, message, ...).
    enrolled_at : datetime.datetime
        When (UTC).
    actor : str
        Who enrolled the patient.
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    version: int
    site: str
    code: str
    allocation_index: int
    arm_id: str
    kit_code: str
    factors: dict[str, str]
    stratum: str | None
    allocation: dict[str, Any]
    enrolled_at: dt.datetime
    actor: str


class UnblindingOut(BaseModel):
    """A recorded emergency unblinding.

    Attributes
    ----------
    id : int
        Unblinding id.
    trial_id : str
        The trial identifier.
    site, code : str
        The patient.
    allocation_index : int
        The allocation unblinded.
    role : str
        The role of who asked.
    reason : str
        Why.
    actor : str
        Who asked.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    allocation_index: int
    role: str
    reason: str
    actor: str
    at: dt.datetime


def allocation_detail(allocation: Allocation) -> dict[str, Any]:
    """Return an allocation's audit data as JSON (what ``allocation`` stores).

    Parameters
    ----------
    allocation : plptms.trial.Allocation
        The allocation.

    Returns
    -------
    detail : dict
        Method, draw, probabilities, the authenticated message, and the block or
        the minimisation scores where the method has them.
    """
    block = allocation.block
    return {
        "method": allocation.method,
        "draw": allocation.draw,
        "probabilities": dict(allocation.probabilities),
        "message": allocation.message,
        "scores": None if allocation.scores is None else dict(allocation.scores),
        "block": None
        if block is None
        else {"number": block.number, "size": block.size, "position": block.position},
    }


def _check_factors(factors: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(factors, dict) or any(
        not isinstance(k, str) or not isinstance(v, str) or not k or not v
        for k, v in factors.items()
    ):
        raise RegistryError(
            f"Invalid value for 'factors': got {factors!r}; allowed: a dict of "
            "non-empty factor names to non-empty levels (text)."
        )
    return dict(factors)


def _check_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(definition, dict) or not definition:
        raise RegistryError(
            f"Invalid value for 'definition': got {type(definition).__name__}; "
            "allowed: the trial definition as JSON data (a non-empty dict)."
        )
    return definition


def _check_version(version: int, field: str = "version") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RegistryError(
            f"Invalid value for {field!r}: got {version!r}; allowed: a whole number "
            ">= 1."
        )
    return version


class TrialStore:
    """Registry methods for trials and their enrolments (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    # ----------------------------------------------------------------------------------
    # trials and versions
    # ----------------------------------------------------------------------------------
    def create_trial(
        self,
        trial_id: str,
        definition: Mapping[str, Any],
        *,
        title: str,
        actor: str,
        version: int = 1,
    ) -> TrialOut:
        """Create a trial with its first definition and its secret (audited).

        The secret is created at :func:`trial_key_path` (mode 0600) when no file
        is there; an existing file (e.g. left by an earlier attempt) is used.

        Parameters
        ----------
        trial_id : str
            The trial identifier (unique).
        definition : dict
            The definition as JSON data (validated by the application layer).
        title : str
            A title (1-200 characters).
        actor : str
            Who creates it.
        version : int
            The definition's version number (1 for a new trial).

        Returns
        -------
        trial : TrialOut
            The trial as stored.

        Raises
        ------
        DuplicateRecordError
            If a trial with this identifier exists.
        RegistryError
            On bad input (nothing is stored).
        """
        from sqlalchemy import select

        from ._store import _check_actor
        from .db._schema import TrialRow, TrialVersionRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        definition = _check_definition(definition)
        _check_version(version)
        if not isinstance(title, str) or not title.strip() or len(title.strip()) > 200:
            raise RegistryError(
                f"Invalid value for 'title': got {title!r}; allowed: 1-200 characters."
            )
        at = utc_now()
        with self._write() as s:
            if s.execute(select(TrialRow.id).where(TrialRow.slug == trial_id)).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'trial_id': got {trial_id!r}; a trial with "
                    "this identifier already exists (amend it instead)."
                )
            path = trial_key_path(trial_id)
            secret = read_trial_key(path)
            if secret is None:
                secret = _create_trial_key(path)
                logger.info("Created the trial key %s.", path)
            else:
                logger.warning("Using the existing trial key %s.", path)
            trial = TrialRow(
                slug=trial_id,
                title=title.strip(),
                key_check=trial_key_check(secret, trial_id),
                created_at=at,
                actor=actor,
            )
            s.add(trial)
            audit(s, actor, "insert", "trials", trial, None, None, at)
            row = TrialVersionRow(
                trial_id=trial.id,
                version=version,
                definition=definition,
                reason=None,
                actor=actor,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_versions", row, None, None, at)
            return _trial_out(trial, row)

    def amend_trial(
        self,
        trial_id: str,
        definition: Mapping[str, Any],
        *,
        version: int,
        arms: Collection[str],
        reason: str,
        actor: str,
    ) -> TrialVersionOut:
        """Store a new version of a trial's definition (audited).

        Parameters
        ----------
        trial_id : str
            The trial.
        definition : dict
            The new definition as JSON data.
        version : int
            Its version number: the newest stored one plus 1.
        arms : collection of str
            The arms of the new definition's randomiser; every arm already
            allocated must be among them (an allocation is never reassigned, and
            the allocation history must stay replayable).
        reason : str
            Why (at least 5 characters).
        actor : str
            Who amends it.

        Returns
        -------
        version : TrialVersionOut
            The new version as stored.

        Raises
        ------
        RecordNotFoundError
            If there is no such trial.
        RegistryError
            On a wrong version number, a dropped allocated arm or bad input.
        """
        from sqlalchemy import select

        from ._store import _check_actor, _check_reason
        from .db._schema import TrialEnrolmentRow, TrialVersionRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        reason = _check_reason(reason, "amend a trial")
        definition = _check_definition(definition)
        _check_version(version)
        at = utc_now()
        with self._write() as s:
            trial = _trial_row(s, trial_id)
            latest = _latest_version(s, trial.id)
            if version != latest.version + 1:
                raise RegistryError(
                    f"Invalid value for 'version': got {version}; allowed: "
                    f"{latest.version + 1} (the newest stored version is "
                    f"{latest.version})."
                )
            allocated = set(
                s.execute(
                    select(TrialEnrolmentRow.arm_id)
                    .where(TrialEnrolmentRow.trial_id == trial.id)
                    .distinct()
                ).scalars()
            )
            dropped = sorted(allocated - set(arms))
            if dropped:
                raise RegistryError(
                    f"Invalid value for 'definition': its arms {sorted(arms)!r} drop "
                    f"{dropped!r}, already allocated; allowed: a definition that "
                    "keeps every allocated arm."
                )
            row = TrialVersionRow(
                trial_id=trial.id,
                version=version,
                definition=definition,
                reason=reason,
                actor=actor,
                created_at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_versions", row, None, reason, at)
            return _version_out(trial_id, row)

    def get_trial(self, trial_id: str) -> TrialOut:
        """Return a trial with its newest definition.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        trial : TrialOut
            The trial.

        Raises
        ------
        RecordNotFoundError
            If there is no such trial.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            trial = _trial_row(s, trial_id)
            return _trial_out(trial, _latest_version(s, trial.id))

    def trial_versions(self, trial_id: str) -> list[TrialVersionOut]:
        """Return every version of a trial's definition, oldest first.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        versions : list of TrialVersionOut
            The versions.
        """
        from sqlalchemy import select

        from .db._schema import TrialVersionRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = _trial_row(s, trial_id)
            rows = s.execute(
                select(TrialVersionRow)
                .where(TrialVersionRow.trial_id == trial.id)
                .order_by(TrialVersionRow.version)
            ).scalars()
            return [_version_out(trial_id, r) for r in rows]

    def trial_secret(self, trial_id: str) -> bytes:
        """Return a trial's secret, checked against the stored fingerprint.

        Only the allocation engine and the statistician's replay need it.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        secret : bytes
            The 32-byte secret.

        Raises
        ------
        RecordNotFoundError
            If there is no such trial.
        RegistryError
            If the key file is missing or is not the trial's key.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            trial = _trial_row(s, trial_id)
            return _secret(trial)

    # ----------------------------------------------------------------------------------
    # enrolment
    # ----------------------------------------------------------------------------------
    def enrol(
        self,
        trial_id: str,
        site: str,
        code: str,
        factors: Mapping[str, str],
        *,
        version: int,
        config: AllocationConfig,
        actor: str,
    ) -> EnrolmentOut:
        """Enrol a patient and allocate them, in one serialised transaction.

        The transaction reads the trial's allocations so far, computes the next
        one (index = their number) with :func:`plptms.trial.allocate` and the
        trial's :class:`plptms.trial.HmacRandom`, derives the kit code and
        stores it with its audit entry. Eligibility, site and factor levels are
        the application layer's checks (:func:`plptms.workflow.enrol_patient`).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The patient.
        factors : dict of str to str
            The patient's factor levels.
        version : int
            The definition version ``config`` comes from; it must be the newest
            (an amendment in between refuses the enrolment: retry).
        config : SimpleRandomisation | PermutedBlocks | Minimisation
            The randomiser of that version.
        actor : str
            Who enrols the patient.

        Returns
        -------
        enrolment : EnrolmentOut
            The enrolment with its allocation.

        Raises
        ------
        RecordNotFoundError
            If the trial or the patient does not exist.
        DuplicateRecordError
            If the patient is already enrolled in the trial.
        RegistryError
            On a stale version, a missing or wrong trial key, or bad input
            (nothing is stored).
        """
        from sqlalchemy import select

        from ..trial import HmacRandom, allocate
        from ._patients import patient_row
        from ._store import _check_actor
        from .db._schema import TrialEnrolmentRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        factors = _check_factors(factors)
        _check_version(version)
        at = utc_now()
        with self._write() as s:
            trial = _trial_row(s, trial_id)
            latest = _latest_version(s, trial.id).version
            if version != latest:
                raise RegistryError(
                    f"Invalid value for 'version': got {version}; allowed: {latest} "
                    f"(trial {trial_id!r} was amended; enrol under the newest "
                    "definition)."
                )
            patient = patient_row(s, site, code)
            if s.execute(
                select(TrialEnrolmentRow.id).where(
                    TrialEnrolmentRow.trial_id == trial.id,
                    TrialEnrolmentRow.patient_id == patient.id,
                )
            ).first():
                raise DuplicateRecordError(
                    f"Invalid value for 'code': got {site}/{code}; this patient is "
                    f"already enrolled in trial {trial_id!r} (an allocation is never "
                    "repeated or reassigned)."
                )
            secret = _secret(trial)
            rows = _enrolment_rows(s, trial.id)
            history = _history(rows)
            try:
                allocation = allocate(
                    history, factors, config, HmacRandom(secret, trial_id)
                )
            except (TypeError, ValueError) as exc:
                raise RegistryError(str(exc)) from None
            kit = kit_code(secret, allocation.index, {r.kit_code for r in rows})
            row = TrialEnrolmentRow(
                trial_id=trial.id,
                version=version,
                patient_id=patient.id,
                site=site,
                allocation_index=allocation.index,
                arm_id=allocation.arm,
                kit_code=kit,
                factors=factors,
                stratum=allocation.stratum,
                allocation=allocation_detail(allocation),
                enrolled_at=at,
                actor=actor,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_enrolments", row, None, None, at)
            return _enrolment_out(row, trial_id, code)

    def list_enrolments(self, trial_id: str) -> list[EnrolmentOut]:
        """Return a trial's enrolments in allocation order (arms included).

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        enrolments : list of EnrolmentOut
            The enrolments.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            trial = _trial_row(s, trial_id)
            codes = _patient_codes(s, trial.id)
            return [
                _enrolment_out(r, trial_id, codes[r.patient_id])
                for r in _enrolment_rows(s, trial.id)
            ]

    def get_enrolment(self, trial_id: str, site: str, code: str) -> EnrolmentOut:
        """Return one patient's enrolment in a trial.

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The patient.

        Returns
        -------
        enrolment : EnrolmentOut
            The enrolment.

        Raises
        ------
        RecordNotFoundError
            If the trial or patient does not exist or the patient is not enrolled.
        """
        check_trial_id(trial_id)
        with self._read() as s:
            row = _enrolment_of(s, trial_id, site, code)
            return _enrolment_out(row, trial_id, code)

    # ----------------------------------------------------------------------------------
    # unblinding
    # ----------------------------------------------------------------------------------
    def record_unblinding(
        self,
        trial_id: str,
        site: str,
        code: str,
        *,
        role: str,
        reason: str,
        actor: str,
    ) -> tuple[EnrolmentOut, UnblindingOut]:
        """Record an emergency unblinding and return the allocation (audited).

        The record and its audit entry are written in the transaction that reads
        the arm: an arm is never returned without its unblinding being stored.
        Which roles may unblind is the application layer's rule
        (:func:`plptms.workflow.unblind`).

        Parameters
        ----------
        trial_id : str
            The trial.
        site, code : str
            The patient.
        role : str
            The role of who asks (1-32 characters).
        reason : str
            Why (at least 5 characters here; the workflow asks for more).
        actor : str
            Who asks.

        Returns
        -------
        enrolment : EnrolmentOut
            The enrolment with its arm.
        unblinding : UnblindingOut
            The stored unblinding.

        Raises
        ------
        RecordNotFoundError
            If the patient is not enrolled in the trial.
        RegistryError
            On bad input (nothing is stored).
        """
        from ._store import _check_actor, _check_reason
        from .db._schema import TrialUnblindingRow

        check_trial_id(trial_id)
        actor = _check_actor(actor)
        reason = _check_reason(reason, "unblind an allocation")
        if not isinstance(role, str) or not role.strip() or len(role.strip()) > 32:
            raise RegistryError(
                f"Invalid value for 'role': got {role!r}; allowed: 1-32 characters."
            )
        at = utc_now()
        with self._write() as s:
            enrolment = _enrolment_of(s, trial_id, site, code)
            row = TrialUnblindingRow(
                enrolment_id=enrolment.id,
                role=role.strip(),
                reason=reason,
                actor=actor,
                at=at,
            )
            s.add(row)
            audit(s, actor, "insert", "trial_unblindings", row, None, reason, at)
            return (
                _enrolment_out(enrolment, trial_id, code),
                _unblinding_out(row, trial_id, site, code, enrolment.allocation_index),
            )

    def list_unblindings(self, trial_id: str) -> list[UnblindingOut]:
        """Return a trial's unblindings, oldest first.

        Parameters
        ----------
        trial_id : str
            The trial.

        Returns
        -------
        unblindings : list of UnblindingOut
            The unblindings.
        """
        from sqlalchemy import select

        from .db._schema import PatientRow, TrialEnrolmentRow, TrialUnblindingRow

        check_trial_id(trial_id)
        with self._read() as s:
            trial = _trial_row(s, trial_id)
            rows = s.execute(
                select(
                    TrialUnblindingRow,
                    PatientRow.site,
                    PatientRow.code,
                    TrialEnrolmentRow.allocation_index,
                )
                .join(
                    TrialEnrolmentRow,
                    TrialEnrolmentRow.id == TrialUnblindingRow.enrolment_id,
                )
                .join(PatientRow, PatientRow.id == TrialEnrolmentRow.patient_id)
                .where(TrialEnrolmentRow.trial_id == trial.id)
                .order_by(TrialUnblindingRow.id)
            ).all()
            return [
                _unblinding_out(u, trial_id, site, code, index)
                for u, site, code, index in rows
            ]


# --------------------------------------------------------------------------------------
# helpers (inside a transaction)
# --------------------------------------------------------------------------------------
def _trial_row(s: Session, trial_id: str) -> Any:
    from sqlalchemy import select

    from .db._schema import TrialRow

    row = s.execute(
        select(TrialRow).where(TrialRow.slug == trial_id)
    ).scalar_one_or_none()
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'trial_id': got {trial_id!r}; no such trial."
        )
    return row


def _latest_version(s: Session, trial_pk: int) -> Any:
    from sqlalchemy import select

    from .db._schema import TrialVersionRow

    return s.execute(
        select(TrialVersionRow)
        .where(TrialVersionRow.trial_id == trial_pk)
        .order_by(TrialVersionRow.version.desc())
        .limit(1)
    ).scalar_one()


def _secret(trial: Any) -> bytes:
    path = trial_key_path(trial.slug)
    secret = read_trial_key(path)
    if secret is None:
        raise RegistryError(
            f"The key of trial {trial.slug!r} is missing ({path}): restore the key "
            f"file (or point ${TRIAL_KEY_ENV} at its folder); without it no "
            "allocation can be made or replayed."
        )
    if not hmac.compare_digest(trial_key_check(secret, trial.slug), trial.key_check):
        raise RegistryError(
            f"The key file {path} is not the key of trial {trial.slug!r} (its "
            "fingerprint differs from the one stored at creation): restore the "
            "trial's own key."
        )
    return secret


def _enrolment_rows(s: Session, trial_pk: int) -> list[Any]:
    from sqlalchemy import select

    from .db._schema import TrialEnrolmentRow

    rows = list(
        s.execute(
            select(TrialEnrolmentRow)
            .where(TrialEnrolmentRow.trial_id == trial_pk)
            .order_by(TrialEnrolmentRow.allocation_index)
        ).scalars()
    )
    for n, row in enumerate(rows):
        if row.allocation_index != n:
            raise RegistryError(
                f"The allocations of trial {trial_pk} are not contiguous: index "
                f"{row.allocation_index} stored at position {n}; the allocation "
                "history is damaged (check the audit trail)."
            )
    return rows


def _history(rows: Sequence[Any]) -> list[AllocationRecord]:
    from ..trial import AllocationRecord

    return [
        AllocationRecord(arm=r.arm_id, factors=dict(r.factors), stratum=r.stratum)
        for r in rows
    ]


def _patient_codes(s: Session, trial_pk: int) -> dict[int, str]:
    from sqlalchemy import select

    from .db._schema import PatientRow, TrialEnrolmentRow

    pairs = s.execute(
        select(PatientRow.id, PatientRow.code)
        .join(TrialEnrolmentRow, TrialEnrolmentRow.patient_id == PatientRow.id)
        .where(TrialEnrolmentRow.trial_id == trial_pk)
    ).all()
    return {int(pid): str(code) for pid, code in pairs}


def _enrolment_of(s: Session, trial_id: str, site: str, code: str) -> Any:
    from sqlalchemy import select

    from ._patients import patient_row
    from .db._schema import TrialEnrolmentRow

    trial = _trial_row(s, trial_id)
    patient = patient_row(s, site, code)
    row = s.execute(
        select(TrialEnrolmentRow).where(
            TrialEnrolmentRow.trial_id == trial.id,
            TrialEnrolmentRow.patient_id == patient.id,
        )
    ).scalar_one_or_none()
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'code': got {site}/{code}; this patient is not "
            f"enrolled in trial {trial_id!r}."
        )
    return row


def _trial_out(trial: Any, version: Any) -> TrialOut:
    return TrialOut(
        trial_id=trial.slug,
        title=trial.title,
        version=version.version,
        definition=version.definition,
        created_at=_aware(trial.created_at),
        actor=trial.actor,
    )


def _version_out(trial_id: str, row: Any) -> TrialVersionOut:
    return TrialVersionOut(
        trial_id=trial_id,
        version=row.version,
        definition=row.definition,
        reason=row.reason,
        actor=row.actor,
        created_at=_aware(row.created_at),
    )


def _enrolment_out(row: Any, trial_id: str, code: str) -> EnrolmentOut:
    return EnrolmentOut(
        id=row.id,
        trial_id=trial_id,
        version=row.version,
        site=row.site,
        code=code,
        allocation_index=row.allocation_index,
        arm_id=row.arm_id,
        kit_code=row.kit_code,
        factors=dict(row.factors),
        stratum=row.stratum,
        allocation=dict(row.allocation),
        enrolled_at=_aware(row.enrolled_at),
        actor=row.actor,
    )


def _unblinding_out(
    row: Any, trial_id: str, site: str, code: str, index: int
) -> UnblindingOut:
    return UnblindingOut(
        id=row.id,
        trial_id=trial_id,
        site=site,
        code=code,
        allocation_index=index,
        role=row.role,
        reason=row.reason,
        actor=row.actor,
        at=_aware(row.at),
    )
