"""Guarded trial-wide reads: analyses, interim looks, CONSORT, exports.

Each needs its permission at every site of the trial
(:func:`plptms.access.require_sites`): the user must be assigned all of them.
The analyses and the datasets reveal the arms (the statistician's); the ODM
export is blinded (kit codes), for the monitor too. They run on
``reg.scoped(principal.sites)``, which then covers the whole trial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require, require_sites
from ._views_trial import _trial_in_scope, engine_role

if TYPE_CHECKING:
    from ..registry import Registry
    from ..trial import InterimReport, TrialAnalysis

__all__ = [
    "DATASET_FORMATS",
    "ConsortImages",
    "consort_images_for",
    "odm_for",
    "trial_analysis_for",
    "trial_dataset_for",
    "trial_interim_for",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Dataset formats the statistician may download.
DATASET_FORMATS: Final[tuple[str, ...]] = ("csv", "parquet")


class ConsortImages(BaseModel):
    """The CONSORT diagram as drawn by :func:`plptms.trial.write_consort`."""

    model_config = _FROZEN

    png: bytes
    svg: bytes


def _trial_wide(
    reg: Registry, principal: Principal, trial_id: str, *perms: Permission
) -> Registry:
    """Check trial-wide permissions over every trial site; return the scoped view."""
    for p in perms:
        require(principal, p)
    line, _ = _trial_in_scope(reg, principal, trial_id)
    for p in perms:
        require_sites(principal, p, set(line.sites))
    return reg.scoped(principal.sites)


def trial_analysis_for(
    reg: Registry, principal: Principal, trial_id: str, analysis_set: str = "itt"
) -> TrialAnalysis:
    """Run the trial's planned analyses (statistician, every trial site).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    analysis_set : {'itt', 'pp'}
        The analysis set.

    Returns
    -------
    analysis : plptms.trial.TrialAnalysis
        Every endpoint.

    Raises
    ------
    plptms.access.AccessDeniedError
        Without ``trial.analyse`` at every site of the trial.
    TrialNotFoundError
        If the trial is not among the user's sites.
    plptms.trial.TrialAnalysisError, ValueError
        Too little data, or an unknown analysis set.
    """
    from ._trial_data import trial_analysis

    scoped = _trial_wide(reg, principal, trial_id, Permission.TRIAL_ANALYSE)
    return trial_analysis(
        scoped, trial_id, role=engine_role(principal), analysis_set=analysis_set
    )


def trial_interim_for(
    reg: Registry, principal: Principal, trial_id: str, look: int
) -> InterimReport:
    """Run an interim look (statistician, every trial site).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    look : int
        The look, from 1.

    Returns
    -------
    report : plptms.trial.InterimReport
        The information fraction, statistic, boundaries and decision.

    Raises
    ------
    plptms.access.AccessDeniedError
        Without ``trial.analyse`` at every site of the trial.
    TrialNotFoundError
        If the trial is not among the user's sites.
    ValueError
        An unknown look, or too little data.
    """
    from ._trial_data import trial_interim

    scoped = _trial_wide(reg, principal, trial_id, Permission.TRIAL_ANALYSE)
    return trial_interim(scoped, trial_id, role=engine_role(principal), look=look)


def consort_images_for(
    reg: Registry, principal: Principal, trial_id: str
) -> ConsortImages:
    """Draw the CONSORT 2010 flow diagram (statistician, every trial site).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.

    Returns
    -------
    images : ConsortImages
        PNG and SVG from :func:`plptms.trial.write_consort` (a temporary folder).

    Raises
    ------
    plptms.access.AccessDeniedError
        Without ``trial.analyse`` at every site of the trial.
    TrialNotFoundError
        If the trial is not among the user's sites.
    """
    import tempfile
    from pathlib import Path

    from ..trial import write_consort
    from ._trial_data import trial_consort

    scoped = _trial_wide(reg, principal, trial_id, Permission.TRIAL_ANALYSE)
    flow = trial_consort(scoped, trial_id, role=engine_role(principal))
    with tempfile.TemporaryDirectory(prefix="plptms-consort-") as tmp:
        png, svg = write_consort(flow, Path(tmp) / "consort", title=trial_id)
        return ConsortImages(png=png.read_bytes(), svg=svg.read_bytes())


def odm_for(reg: Registry, principal: Principal, trial_id: str) -> bytes:
    """Export the trial's clinical data as blinded ODM 1.3.2 (every trial site).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (monitor or statistician).
    trial_id : str
        The trial.

    Returns
    -------
    xml : bytes
        The validated document (kit codes, no arm).

    Raises
    ------
    plptms.access.AccessDeniedError
        Without ``trial.export`` at every site of the trial.
    TrialNotFoundError
        If the trial is not among the user's sites.
    """
    from ._trial_data import trial_odm

    scoped = _trial_wide(reg, principal, trial_id, Permission.TRIAL_EXPORT)
    return trial_odm(scoped, trial_id)


def trial_dataset_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    *,
    fmt: str,
    table: str = "long",
    analysis_set: str = "itt",
) -> bytes:
    """Export the analysis dataset, arms included (statistician, every site).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    fmt : {'csv', 'parquet'}
        The file format.
    table : {'long', 'patients'}
        The table.
    analysis_set : {'itt', 'pp'}
        The analysis set.

    Returns
    -------
    data : bytes
        The file's content.

    Raises
    ------
    plptms.access.AccessDeniedError
        Without ``trial.export`` and ``trial.analyse`` at every trial site.
    TrialNotFoundError
        If the trial is not among the user's sites.
    ValueError
        An unknown format, table or analysis set.
    """
    import tempfile
    from pathlib import Path

    from ._trial_data import trial_dataset

    if fmt not in DATASET_FORMATS:
        raise ValueError(
            f"Invalid value for 'fmt': got {fmt!r}; allowed values are "
            f"{', '.join(DATASET_FORMATS)}."
        )
    scoped = _trial_wide(
        reg, principal, trial_id, Permission.TRIAL_EXPORT, Permission.TRIAL_ANALYSE
    )
    ds = trial_dataset(
        scoped, trial_id, role=engine_role(principal), analysis_set=analysis_set
    )
    with tempfile.TemporaryDirectory(prefix="plptms-dataset-") as tmp:
        path = Path(tmp) / f"dataset.{fmt}"
        if fmt == "csv":
            ds.to_csv(path, table=table)  # type: ignore[arg-type]
        else:
            ds.to_parquet(path, table=table)  # type: ignore[arg-type]
        return path.read_bytes()
