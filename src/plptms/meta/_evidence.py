"""Evidence base: study outcome files, the shipped Table 2 studies, effect tables."""

from __future__ import annotations

import functools
import logging
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ..protocol import ProtocolFileError, load_data, problems_message
from ..utils import check_option, check_type
from ._effects import EffectMeasure, EffectSize, NotEstimable, estimate_effect
from ._models import Comparison, OutcomeStudy, Timepoint

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    #: User study files or directories: one path or several.
    StudyPathsT: TypeAlias = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]

__all__ = [
    "EffectTable",
    "EvidenceFileError",
    "collect_effects",
    "load_evidence",
    "read_outcome_study",
    "validate_outcome_study",
]

logger = logging.getLogger(__name__)

#: Moderators that :meth:`EffectTable.moderator_matrix` can build.
ModeratorName = Literal[
    "frequency_hz", "intensity_pct_rmt", "pulses_per_session", "sessions"
]
_MODERATORS: tuple[str, ...] = (
    "frequency_hz",
    "intensity_pct_rmt",
    "pulses_per_session",
    "sessions",
)


class EvidenceFileError(ProtocolFileError):
    """A study outcome file that cannot be read or is invalid."""


def validate_outcome_study(data: Any, source: str = "<data>") -> OutcomeStudy:
    """Validate parsed data as an :class:`OutcomeStudy`.

    Parameters
    ----------
    data : object
        Parsed JSON/YAML (a mapping).
    source : str
        Where the data came from, for the message.

    Returns
    -------
    study : OutcomeStudy
        The validated study.

    Raises
    ------
    EvidenceFileError
        If invalid; one line per problem, each naming the field
        (e.g. ``outcomes.0.treatment.n``).
    """
    if not isinstance(data, dict):
        raise EvidenceFileError(
            f"{source}: expected a mapping of fields for an OutcomeStudy, got "
            f"{type(data).__name__}; allowed: a YAML/JSON mapping of its fields."
        )
    try:
        return OutcomeStudy.model_validate(data)
    except ValidationError as exc:
        raise EvidenceFileError(
            problems_message(f"{source}: invalid study outcome data:", exc)
        ) from None


def read_outcome_study(path: str | Path) -> OutcomeStudy:
    """Read a study outcome file (YAML or JSON) and validate it.

    Parameters
    ----------
    path : str | Path
        File with suffix ``.yaml``, ``.yml`` or ``.json``; see the shipped files in
        ``plptms/meta/data`` for the format.

    Returns
    -------
    study : OutcomeStudy
        The validated study.

    Raises
    ------
    EvidenceFileError
        If the file is invalid (the message names each field).
    ProtocolFileError
        If the file is missing, has another suffix or cannot be parsed.
    """
    return validate_outcome_study(load_data(path, what="study outcome file"), str(path))


#: Suffixes of study outcome files (a directory contributes every such file).
_STUDY_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")


@functools.cache
def _shipped() -> tuple[tuple[OutcomeStudy, str], ...]:
    """Return the shipped studies with their files, sorted by id (cached)."""
    from ..utils import DataFileError, load_data_text

    root = resources.files("plptms.meta") / "data"
    entries: list[tuple[OutcomeStudy, str]] = []
    taken: dict[str, str] = {}
    for f in sorted(root.iterdir(), key=lambda f: f.name):
        if not f.name.endswith(".yaml"):
            continue
        source = f"plptms/meta/data/{f.name} (shipped)"
        try:
            data = load_data_text(f.read_bytes(), fmt="yaml", source=source)
        except DataFileError as exc:
            raise EvidenceFileError(str(exc)) from None
        study = validate_outcome_study(data, source)
        if study.id in taken:
            raise EvidenceFileError(_duplicate_message(study.id, source, taken))
        taken[study.id] = source
        entries.append((study, source))
    return tuple(sorted(entries, key=lambda e: e[0].id))


@functools.cache
def _shipped_studies() -> tuple[OutcomeStudy, ...]:
    return tuple(study for study, _ in _shipped())


def _duplicate_message(study_id: str, source: str, taken: dict[str, str]) -> str:
    return (
        f"{source}: Invalid value for 'id': got {study_id!r}; allowed: an id no "
        f"other study uses ({taken[study_id]} already has it)."
    )


def _study_files(extra: StudyPathsT) -> tuple[list[Path], list[str]]:
    """Expand files and directories into study files: (files, problems)."""
    items: Iterable[Any] = [extra] if isinstance(extra, str | os.PathLike) else extra
    files: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()
    allowed = (
        "allowed: study files ("
        + ", ".join(_STUDY_SUFFIXES)
        + ") or directories holding them."
    )
    for item in items:
        check_type(item, (str, os.PathLike), "extra")
        path = Path(item)
        if path.is_dir():
            found = sorted(
                f
                for f in path.iterdir()
                if f.is_file()
                and not f.name.startswith(".")
                and f.suffix.lower() in _STUDY_SUFFIXES
            )
            if not found:
                problems.append(
                    f"Invalid value for 'extra': got {str(path)!r}, a directory "
                    f"without study files; {allowed}"
                )
        elif path.exists():
            found = [path]
        else:
            problems.append(
                f"Invalid value for 'extra': got {str(path)!r}, which does not "
                f"exist; {allowed}"
            )
            found = []
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, problems


def _read_extra(extra: StudyPathsT, taken: dict[str, str]) -> tuple[OutcomeStudy, ...]:
    """Read and validate user study files; all or nothing.

    ``taken`` maps the ids already present to where they come from; it is not
    modified. Every file is read before anything is refused, so that one error lists
    every bad file.
    """
    files, problems = _study_files(extra)
    taken = dict(taken)
    studies: list[OutcomeStudy] = []
    for f in files:
        try:
            study = read_outcome_study(f)
        except ProtocolFileError as exc:
            problems.append(str(exc))
            continue
        if study.id in taken:
            problems.append(_duplicate_message(study.id, str(f), taken))
            continue
        taken[study.id] = str(f)
        studies.append(study)
    if len(problems) == 1 and "\n" not in problems[0]:
        raise EvidenceFileError(
            f"Refused the study files, nothing was loaded (1 problem): {problems[0]}"
        )
    if problems:
        n = len(problems)
        raise EvidenceFileError(
            f"Refused the study files, nothing was loaded ({n} "
            f"problem{'s' if n > 1 else ''}):\n" + "\n".join(problems)
        )
    logger.debug("Read %d user study files: %s", len(files), [str(f) for f in files])
    return tuple(sorted(studies, key=lambda s: s.id))


def load_evidence(extra: StudyPathsT | None = None) -> tuple[OutcomeStudy, ...]:
    """Load the shipped study outcome data and, optionally, user study files.

    Parameters
    ----------
    extra : str | os.PathLike | iterable of str or os.PathLike | None
        User study files (``.yaml``, ``.yml`` or ``.json``, in the format of the
        shipped files in ``plptms/meta/data``; see :func:`read_outcome_study`) or
        directories: every such file directly in a directory is read (not its
        subdirectories; names starting with ``.`` are skipped).

    Returns
    -------
    studies : tuple of OutcomeStudy
        The Table 2 studies of the source review (with only what the review
        reports) and the user studies, sorted by id. Without ``extra`` the shipped
        studies are read once and cached.

    Raises
    ------
    EvidenceFileError
        If a path does not exist, a directory holds no study file, a file cannot be
        read or parsed, a file is invalid (each line names the file, the field, the
        value and what is allowed), or a study id is used twice (naming both
        files). Every file is checked first and the message lists every problem;
        nothing is loaded unless every file is valid.
    TypeError
        If an entry of ``extra`` is not a path.
    """
    shipped = _shipped_studies()
    if extra is None:
        return shipped
    taken = {s.id: source for s, source in _shipped()}
    added = _read_extra(extra, taken)
    return tuple(sorted((*shipped, *added), key=lambda s: s.id))


class EffectTable(BaseModel):
    """Effects of one outcome at one time point across studies, ready to pool.

    Parameters
    ----------
    measure : EffectMeasure
        The effect measure.
    outcome : str
        The outcome construct (e.g. ``"pain_intensity"``).
    timepoint : Timepoint
        The time point.
    effects : tuple of EffectSize
        Estimable effects, one per study.
    studies : tuple of OutcomeStudy
        The studies of ``effects``, in the same order.
    not_estimable : tuple of NotEstimable
        Studies without an estimable effect, with the reason.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    measure: EffectMeasure
    outcome: str
    timepoint: Timepoint
    effects: tuple[EffectSize, ...]
    studies: tuple[OutcomeStudy, ...]
    not_estimable: tuple[NotEstimable, ...]

    @property
    def estimates(self) -> tuple[float, ...]:
        """Effect estimates, in the units of ``measure``."""
        return tuple(e.estimate for e in self.effects)

    @property
    def variances(self) -> tuple[float, ...]:
        """Sampling variances, in squared units of ``measure``."""
        return tuple(e.variance for e in self.effects)

    @property
    def labels(self) -> tuple[str, ...]:
        """Study citations."""
        return tuple(s.citation for s in self.studies)

    def groups(self, by: Literal["target", "frequency_class"]) -> tuple[str, ...]:
        """Subgroup of each study for :func:`subgroup_analysis`.

        Parameters
        ----------
        by : {"target", "frequency_class"}
            Target(s) (e.g. ``"m1"``, ``"s1+dlpfc"``) or frequency class
            (``"low"``, ``"intermediate"``, ``"high"``, ``"mixed"``).

        Returns
        -------
        groups : tuple of str
            One label per effect.

        Raises
        ------
        ValueError
            If ``by`` is unknown.
        """
        check_option(by, "by", ("target", "frequency_class"))
        if by == "target":
            return tuple(s.moderators.target_label for s in self.studies)
        return tuple(s.moderators.frequency_class.value for s in self.studies)

    def moderator_matrix(self, names: Sequence[ModeratorName]) -> np.ndarray:
        """Moderator values for :func:`meta_regression`, one row per effect.

        Parameters
        ----------
        names : sequence of str
            Among ``"frequency_hz"`` (Hz), ``"intensity_pct_rmt"`` (% RMT),
            ``"pulses_per_session"`` and ``"sessions"``; for several targets the
            frequency of the first (main) target is used.

        Returns
        -------
        matrix : ndarray, shape (n_effects, n_moderators)
            The values.

        Raises
        ------
        ValueError
            If a name is unknown or a study did not report a moderator.
        """
        cols = []
        for name in names:
            check_option(name, "names", _MODERATORS)
            col = []
            for s in self.studies:
                m = s.moderators
                value = (
                    m.frequency_hz[0] if name == "frequency_hz" else getattr(m, name)
                )
                if value is None:
                    raise ValueError(
                        f"Invalid value for 'names': got {name!r}, which study "
                        f"{s.id!r} did not report; allowed: moderators every study "
                        "reports (drop the study or the moderator)."
                    )
                col.append(float(value))
            cols.append(col)
        return np.array(cols, dtype=float).T.reshape(len(self.studies), len(cols))


def collect_effects(
    studies: Iterable[OutcomeStudy] | None = None,
    *,
    measure: EffectMeasure | str = "smd",
    outcome: str = "pain_intensity",
    timepoint: Timepoint | str = "end_of_treatment",
    comparison: Comparison | str = "sham",
    extra: StudyPathsT | None = None,
) -> EffectTable:
    """Compute one effect per study for an outcome and time point.

    Parameters
    ----------
    studies : iterable of OutcomeStudy | None
        Studies; default :func:`load_evidence` (the shipped studies).
    measure : EffectMeasure | str
        ``"smd"`` (Hedges' g), ``"md"``, ``"rom"`` or ``"pct_change"``.
    outcome : str
        Outcome construct to collect (e.g. ``"pain_intensity"``).
    timepoint : Timepoint | str
        ``"end_of_treatment"`` or ``"follow_up"``.
    comparison : Comparison | str
        Comparator the pooled studies must share (``"sham"`` by default).
    extra : str | os.PathLike | iterable of str or os.PathLike | None
        User study files or directories of them, added to ``studies`` after being
        validated as in :func:`load_evidence` (all or nothing; an id already among
        ``studies`` is refused).

    Returns
    -------
    table : EffectTable
        Estimable effects and, for every other study, the reason.

    Raises
    ------
    ValueError
        If an option is unknown.
    EvidenceFileError
        If a file of ``extra`` is missing or invalid, or repeats a study id.

    Notes
    -----
    When a study has several records for the outcome and time point (e.g. several
    follow-ups), the first in its file is used, so no study counts twice.
    """
    check_option(str(measure), "measure", [m.value for m in EffectMeasure])
    check_option(str(timepoint), "timepoint", [t.value for t in Timepoint])
    check_option(str(comparison), "comparison", [c.value for c in Comparison])
    meas = EffectMeasure(str(measure))
    tp = Timepoint(str(timepoint))
    comp = Comparison(str(comparison))
    if studies is None:
        pool = load_evidence(extra)
    else:
        pool = tuple(studies)
        if extra is not None:
            for s in pool:
                check_type(s, OutcomeStudy, "studies")
            taken = {s.id: "the 'studies' argument" for s in pool}
            pool = (*pool, *_read_extra(extra, taken))
    effects: list[EffectSize] = []
    used: list[OutcomeStudy] = []
    skipped: list[NotEstimable] = []
    for s in pool:
        check_type(s, OutcomeStudy, "studies")
        records = [o for o in s.outcomes if o.outcome == outcome and o.timepoint == tp]
        if not records:
            skipped.append(
                NotEstimable(
                    measure=meas,
                    reason=f"no {outcome} outcome reported at {tp.value}",
                    study_id=s.id,
                )
            )
            continue
        if s.comparison != comp and s.design.value != "case_report":
            skipped.append(
                NotEstimable(
                    measure=meas,
                    reason=(
                        f"comparator is {s.comparison.value!r}, not {comp.value!r}"
                    ),
                    study_id=s.id,
                    outcome_id=records[0].id,
                )
            )
            continue
        result = estimate_effect(s, records[0].id, meas)
        if isinstance(result, NotEstimable):
            skipped.append(result)
        else:
            effects.append(result)
            used.append(s)
    return EffectTable(
        measure=meas,
        outcome=outcome,
        timepoint=tp,
        effects=tuple(effects),
        studies=tuple(used),
        not_estimable=tuple(skipped),
    )
