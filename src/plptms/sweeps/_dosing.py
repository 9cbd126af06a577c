"""Population dosing sweeps: the field at a target and the best coil placement.

Every point of a grid of head sizes x scalp-to-cortex distances (SCD) x targets is
one task of :func:`plptms.batch.run_tasks`; each task calls plptms.efield's own
functions (:func:`~plptms.efield.field_at_target`,
:func:`~plptms.efield.optimise_placement`) and returns one flat record, so
checkpoints are Parquet tables.

In the spherical head model a target is its depth below the scalp (the SCD axis of
the grid) and, for the ``"normal"`` objective, its cortical normal: the field is
rotation-equivariant, so where on the sphere the target lies changes nothing (the
efield tests check this). The target is placed under the vertex, ``(0, 0, R - SCD)``
from the centre; its normal is tilted ``normal_tilt_deg`` from the radial
direction towards the azimuth ``normal_azimuth_deg`` (from +x towards +y). A
target without a tilt is searched for the largest ``|E|``.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, model_validator

from ..batch import run_tasks
from ..efield import (
    STANDARD_COILS,
    STIMULATORS,
    Coil,
    SphereHead,
    field_at_target,
    get_stimulator,
    optimise_placement,
    standard_coil,
)
from ..utils import check_option, check_range, check_type

if TYPE_CHECKING:
    import os

    import numpy as np

__all__ = [
    "DOSING_TASK_TIME_S",
    "DosingGrid",
    "DosingPoint",
    "SweepTarget",
    "dosing_sweep",
    "evaluate_dosing_point",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Wall time of one grid point at the default pose grid (200 x 36, fig-8 coil),
#: measured on the development machine (about 0.05 s); for the batching rule.
DOSING_TASK_TIME_S = 0.05

Record = dict[str, bool | int | float | str | None]


class SweepTarget(BaseModel):
    """A cortical target of a dosing sweep.

    Parameters
    ----------
    name : str
        Label (non-empty).
    normal_tilt_deg : float | None
        Angle of the cortical normal from the radial direction, degrees, in
        [0, 90]; ``None`` to maximise ``|E|`` (no normal). In a sphere the field
        is tangential, so a radial normal (0 degrees) gets no normal field.
    normal_azimuth_deg : float
        Azimuth of the tilt, degrees, in [0, 360).
    """

    model_config = _FROZEN

    name: str
    normal_tilt_deg: float | None = None
    normal_azimuth_deg: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.name.strip():
            raise ValueError(
                "Invalid value for 'name': got an empty string; allowed: a label."
            )
        if self.normal_tilt_deg is not None:
            check_range(self.normal_tilt_deg, "normal_tilt_deg", 0.0, 90.0, unit="deg")
        check_range(
            self.normal_azimuth_deg,
            "normal_azimuth_deg",
            0.0,
            360.0,
            high_inclusive=False,
            unit="deg",
        )
        return self

    @property
    def normal(self) -> tuple[float, float, float] | None:
        """Unit normal in head coordinates (target under the vertex), or None."""
        if self.normal_tilt_deg is None:
            return None
        t = math.radians(self.normal_tilt_deg)
        a = math.radians(self.normal_azimuth_deg)
        return (math.sin(t) * math.cos(a), math.sin(t) * math.sin(a), math.cos(t))


class DosingPoint(BaseModel):
    """One grid point of a dosing sweep (one task).

    Parameters
    ----------
    head_radius_mm : float
        Scalp radius of the spherical head, mm, in (40, 150].
    scalp_to_cortex_mm : float
        Depth of the target below the scalp, mm, in (0, head_radius_mm).
    target : SweepTarget
        The target's name and cortical normal.
    coil : str
        One of :data:`~plptms.efield.STANDARD_COILS`.
    stimulator : str
        A key of :data:`~plptms.efield.STIMULATORS` (dI/dt at 100 % MSO).
    intensity_pct_mso : float
        Stimulator output, % MSO, in (0, 100].
    coil_distance_mm : float
        Scalp-coil gap, mm, in [0, 50].
    n_positions, n_orientations : int
        Pose grid of the placement search (see
        :func:`~plptms.efield.placement_grid`).
    max_offset_mm : float
        Radius of the searched scalp cap, mm, in (0, 150].
    """

    model_config = _FROZEN

    head_radius_mm: float
    scalp_to_cortex_mm: float
    target: SweepTarget
    coil: str = "magstim_70mm_fig8"
    stimulator: str = "magstim_rapid/d70"
    intensity_pct_mso: float = 100.0
    coil_distance_mm: float = 0.0
    n_positions: int = 200
    n_orientations: int = 36
    max_offset_mm: float = 30.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_common(self)
        check_range(
            self.head_radius_mm,
            "head_radius_mm",
            40.0,
            150.0,
            low_inclusive=False,
            unit="mm",
        )
        check_range(
            self.scalp_to_cortex_mm,
            "scalp_to_cortex_mm",
            0.0,
            self.head_radius_mm,
            low_inclusive=False,
            high_inclusive=False,
            unit="mm",
        )
        return self


class DosingGrid(BaseModel):
    """A grid of head sizes x scalp-to-cortex distances x targets.

    Parameters
    ----------
    head_radius_mm : tuple of float
        Scalp radii, mm, each in (40, 150] (at least one).
    scalp_to_cortex_mm : tuple of float
        Depths, mm, each in (0, smallest radius) (at least one).
    targets : tuple of SweepTarget
        Targets (at least one; names unique).
    coil, stimulator, intensity_pct_mso, coil_distance_mm, n_positions, n_orientations, max_offset_mm
        As in :class:`DosingPoint`, shared by every point.
    """  # noqa: E501

    model_config = _FROZEN

    head_radius_mm: tuple[float, ...]
    scalp_to_cortex_mm: tuple[float, ...]
    targets: tuple[SweepTarget, ...] = (SweepTarget(name="max |E|"),)
    coil: str = "magstim_70mm_fig8"
    stimulator: str = "magstim_rapid/d70"
    intensity_pct_mso: float = 100.0
    coil_distance_mm: float = 0.0
    n_positions: int = 200
    n_orientations: int = 36
    max_offset_mm: float = 30.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        for field in ("head_radius_mm", "scalp_to_cortex_mm", "targets"):
            if not getattr(self, field):
                raise ValueError(
                    f"Invalid value for {field!r}: got an empty tuple; allowed: at "
                    "least one value."
                )
        names = [t.name for t in self.targets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"Invalid value for 'targets': got the name(s) {dup} more than once; "
                "allowed: unique target names."
            )
        _check_common(self)
        for r in self.head_radius_mm:
            check_range(
                r, "head_radius_mm", 40.0, 150.0, low_inclusive=False, unit="mm"
            )
        r_min = min(self.head_radius_mm)
        for d in self.scalp_to_cortex_mm:
            check_range(
                d,
                "scalp_to_cortex_mm",
                0.0,
                r_min,
                low_inclusive=False,
                high_inclusive=False,
                unit="mm",
            )
        return self

    def points(self) -> list[DosingPoint]:
        """Every grid point, head radius slowest, then depth, then target.

        Returns
        -------
        points : list of DosingPoint
            ``len(head_radius_mm) x len(scalp_to_cortex_mm) x len(targets)``.
        """
        shared = self.model_dump(
            exclude={"head_radius_mm", "scalp_to_cortex_mm", "targets"}
        )
        return [
            DosingPoint(head_radius_mm=r, scalp_to_cortex_mm=d, target=t, **shared)
            for r in self.head_radius_mm
            for d in self.scalp_to_cortex_mm
            for t in self.targets
        ]


def _check_common(m: DosingPoint | DosingGrid) -> None:
    check_option(m.coil, "coil", STANDARD_COILS)
    check_option(m.stimulator, "stimulator", list(STIMULATORS))
    check_range(
        m.intensity_pct_mso,
        "intensity_pct_mso",
        0.0,
        100.0,
        low_inclusive=False,
        unit="% MSO",
    )
    check_range(m.coil_distance_mm, "coil_distance_mm", 0.0, 50.0, unit="mm")
    check_range(m.n_positions, "n_positions", 1, 100_000)
    check_range(m.n_orientations, "n_orientations", 1, 3600)
    check_range(
        m.max_offset_mm, "max_offset_mm", 0.0, 150.0, low_inclusive=False, unit="mm"
    )


@functools.lru_cache(maxsize=8)
def _standard_coil(name: str) -> Coil:
    """Build a standard coil once per process (a few ms each)."""
    return standard_coil(name)


def evaluate_dosing_point(point: DosingPoint, *, coil: Coil | None = None) -> Record:
    """Field at the target and the best placement at one grid point.

    Parameters
    ----------
    point : DosingPoint
        The grid point.
    coil : Coil | None
        Coil model to use instead of ``standard_coil(point.coil)`` (for a
        user-built coil; the record keeps ``coil.name``).

    Returns
    -------
    record : dict
        A flat record: the point (``head_radius_mm``, ``scalp_to_cortex_mm``,
        ``target``, ``normal_tilt_deg``, ``normal_azimuth_deg``, ``coil``,
        ``stimulator``, ``intensity_pct_mso``, ``didt_a_per_us``) and

        - ``on_axis_v_per_m``: ``|E|`` at the target with the coil centred above
          it (angle 0), V/m (:func:`~plptms.efield.field_at_target`);
        - ``best_objective_v_per_m``: the maximised ``|E|`` or ``E . n``, V/m;
        - ``best_magnitude_v_per_m``: ``|E|`` at the best pose, V/m;
        - ``best_offset_mm``: scalp arc from the point above the target to the
          best coil centre, mm; ``best_angle_deg``: its orientation, degrees;
        - ``objective``, ``strategy``, ``n_poses``: the search
          (:func:`~plptms.efield.optimise_placement`).

    Raises
    ------
    TypeError
        If ``point`` or ``coil`` has the wrong type.
    """
    check_type(point, DosingPoint, "point")
    if coil is not None:
        check_type(coil, Coil, "coil")
    model = _standard_coil(point.coil) if coil is None else coil
    head = SphereHead(scalp_radius_m=point.head_radius_mm * 1e-3)
    stim = get_stimulator(point.stimulator)
    didt = stim.didt_a_per_s(point.intensity_pct_mso)
    depth_m = (point.head_radius_mm - point.scalp_to_cortex_mm) * 1e-3
    target = (0.0, 0.0, depth_m)
    on_axis = field_at_target(
        model,
        stim,
        point.intensity_pct_mso,
        scalp_to_cortex_mm=point.scalp_to_cortex_mm,
        head=head,
    )
    normal = point.target.normal
    best = optimise_placement(
        model,
        target,
        head=head,
        objective="magnitude" if normal is None else "normal",
        normal=normal,
        max_offset_mm=point.max_offset_mm,
        n_positions=point.n_positions,
        n_orientations=point.n_orientations,
        coil_distance_mm=point.coil_distance_mm,
        didt_a_per_s=didt,
    )
    cos_off = min(1.0, max(-1.0, best.direction[2]))
    return {
        "head_radius_mm": point.head_radius_mm,
        "scalp_to_cortex_mm": point.scalp_to_cortex_mm,
        "target": point.target.name,
        "normal_tilt_deg": point.target.normal_tilt_deg,
        "normal_azimuth_deg": point.target.normal_azimuth_deg,
        "coil": model.name,
        "stimulator": point.stimulator,
        "intensity_pct_mso": point.intensity_pct_mso,
        "didt_a_per_us": didt * 1e-6,
        "on_axis_v_per_m": on_axis.magnitude_v_per_m,
        "objective": best.objective,
        "best_objective_v_per_m": best.objective_value_v_per_m,
        "best_magnitude_v_per_m": best.magnitude_v_per_m,
        "best_offset_mm": point.head_radius_mm * math.acos(cos_off),
        "best_angle_deg": best.angle_deg,
        "strategy": best.strategy,
        "n_poses": best.n_poses,
    }


def _dosing_task(point: DosingPoint, rng: np.random.Generator) -> Record:
    """One task of :func:`dosing_sweep` (deterministic: ``rng`` is not used)."""
    del rng
    return evaluate_dosing_point(point)


def dosing_sweep(
    grid: DosingGrid,
    *,
    seed: int = 0,
    backend: str = "auto",
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = False,
    n_workers: int | None = None,
) -> list[Record]:
    """Sweep the field at the target and the best placement over a grid.

    Each grid point (:meth:`DosingGrid.points`) is one task of
    :func:`plptms.batch.run_tasks` and gives one record
    (:func:`evaluate_dosing_point`). The model is deterministic: ``seed`` changes
    no value, but it is part of a checkpoint's fingerprint.

    Parameters
    ----------
    grid : DosingGrid
        Head radii x depths x targets, and the shared settings.
    seed : int
        Seed passed to ``run_tasks`` (>= 0).
    backend : str
        ``"serial"``, ``"processes"``, ``"dask"``, ``"auto"`` or a Dask scheduler
        address (see :func:`plptms.batch.run_tasks`).
    batch_size : int | None
        Grid points per batch; ``None`` applies the batching rule.
    checkpoint : str | os.PathLike | None
        Directory for finished batches (Parquet), to resume a killed run.
    progress : bool
        Show a progress bar.
    n_workers : int | None
        Local worker processes; ``None`` for one per CPU.

    Returns
    -------
    records : list of dict
        One flat record per grid point, in :meth:`DosingGrid.points` order.

    Raises
    ------
    TypeError
        If ``grid`` is not a :class:`DosingGrid`.
    ValueError
        If a ``run_tasks`` argument has a wrong value.
    """
    check_type(grid, DosingGrid, "grid")
    return run_tasks(
        _dosing_task,
        grid.points(),
        seed=seed,
        backend=backend,
        batch_size=batch_size,
        checkpoint=checkpoint,
        progress=progress,
        task_time_s=DOSING_TASK_TIME_S,
        n_workers=n_workers,
    )
