"""E-field dose model: coils, the spherical head model, dose transfer, coil placement.

Pure core (numpy only at import time): SciPy (mesh search), meshio (SimNIBS meshes)
and Matplotlib (the figure) are imported inside the functions that use them.
"""

from ._ccd import CcdFormatError, read_ccd, write_ccd
from ._coils import (
    STANDARD_COILS,
    Coil,
    circular_coil,
    coil_from_arrays,
    figure_of_eight_coil,
    standard_coil,
)
from ._dose import (
    CoilTransfer,
    DoseRefusedError,
    DoseTransfer,
    FieldAtTarget,
    field_at_target,
    field_per_didt_on_axis,
    transfer_between_coils,
    transfer_dose,
)
from ._figures import plot_field_map
from ._placement import PlacementResult, optimise_placement, placement_grid
from ._pose import CoilPose, pose_on_sphere, tangent_basis
from ._simnibs import SimnibsFieldAtTarget, read_simnibs_field
from ._sphere import (
    ENGINES,
    SphereHead,
    e_field_sphere,
    e_field_sphere_loop,
    resolve_engine,
)
from ._stimulators import STIMULATORS, Stimulator, get_stimulator

__all__ = [
    "ENGINES",
    "STANDARD_COILS",
    "STIMULATORS",
    "CcdFormatError",
    "Coil",
    "CoilPose",
    "CoilTransfer",
    "DoseRefusedError",
    "DoseTransfer",
    "FieldAtTarget",
    "PlacementResult",
    "SimnibsFieldAtTarget",
    "SphereHead",
    "Stimulator",
    "circular_coil",
    "coil_from_arrays",
    "e_field_sphere",
    "e_field_sphere_loop",
    "field_at_target",
    "field_per_didt_on_axis",
    "figure_of_eight_coil",
    "get_stimulator",
    "optimise_placement",
    "placement_grid",
    "plot_field_map",
    "pose_on_sphere",
    "read_ccd",
    "read_simnibs_field",
    "resolve_engine",
    "standard_coil",
    "tangent_basis",
    "transfer_between_coils",
    "transfer_dose",
    "write_ccd",
]
