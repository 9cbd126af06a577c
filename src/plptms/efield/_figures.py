"""Figure: field magnitude over the cortical shell under the coil, target marked."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range, check_type
from . import _constants as C
from ._coils import Coil
from ._sphere import SphereHead, as_points, e_field_sphere

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

    from ._pose import CoilPose

__all__ = ["plot_field_map"]


def plot_field_map(
    coil: Coil,
    pose: CoilPose,
    *,
    didt_a_per_s: float,
    head: SphereHead | None = None,
    depth_mm: float = C.CORTEX_DEPTH_MM,
    target_m: ArrayLike | None = None,
    extent_mm: float = 60.0,
    n_grid: int = 161,
    title: str | None = None,
) -> Figure:
    """Map of ``|E|`` over the cortical shell under the coil.

    The shell is the sphere ``depth_mm`` below the scalp; the map is its azimuthal
    equidistant projection about the point under the coil centre, in the coil's
    ``x``/``y`` axes (distances along the shell, mm). The half-maximum contour, the
    coil centre and the target (projected radially onto the shell) are drawn.

    Parameters
    ----------
    coil : Coil
        The coil.
    pose : CoilPose
        Its pose.
    didt_a_per_s : float
        Coil dI/dt, A/s.
    head : SphereHead | None
        Head model.
    depth_mm : float
        Depth of the shell below the scalp, mm.
    target_m : array-like, shape (3,) | None
        Target to mark, m.
    extent_mm : float
        Half-width of the map, mm, in (0, 150].
    n_grid : int
        Grid points per side, in [11, 1001].
    title : str | None
        Title; a default names coil, depth and dI/dt.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not shown; save it with ``fig.savefig``).

    Raises
    ------
    ValueError
        If a size is out of range.
    """
    from matplotlib.figure import Figure

    check_type(coil, Coil, "coil")
    hd = SphereHead() if head is None else head
    depth = check_range(
        depth_mm,
        "depth_mm",
        0.0,
        hd.scalp_radius_m * 1e3,
        low_inclusive=False,
        high_inclusive=False,
        unit="mm",
    )
    extent = check_range(
        extent_mm, "extent_mm", 0.0, 150.0, low_inclusive=False, unit="mm"
    )
    check_type(n_grid, int, "n_grid")
    check_range(n_grid, "n_grid", 11, 1001)
    rot = pose.rotation
    x_ax, y_ax = rot[:, 0], rot[:, 1]
    u0 = -rot[:, 2]
    r_c = hd.scalp_radius_m - depth * 1e-3
    g = np.linspace(-extent, extent, n_grid)
    xx, yy = np.meshgrid(g, g)
    rho = np.hypot(xx, yy) * 1e-3 / r_c  # angle along the shell
    phi = np.arctan2(yy, xx)
    tang = np.cos(phi)[..., None] * x_ax + np.sin(phi)[..., None] * y_ax
    pts = hd.center + r_c * (
        np.cos(rho)[..., None] * u0 + np.sin(rho)[..., None] * tang
    )
    pos, mom = coil.in_head(pose)
    e = e_field_sphere(pos, mom, pts.reshape(-1, 3), didt_a_per_s, center_m=hd.center)
    mag = np.linalg.norm(e, axis=1).reshape(xx.shape)

    fig = Figure(figsize=(6.4, 5.4), layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(xx, yy, mag, shading="auto", cmap="viridis")
    cbar = fig.colorbar(mesh, ax=ax, shrink=0.9)
    cbar.set_label("|E| (V/m)")
    peak = float(mag.max())
    ax.contour(xx, yy, mag, levels=[0.5 * peak], colors="white", linewidths=1.0)
    if target_m is not None:
        t = as_points(target_m, "target_m", ndim2=False) - hd.center
        t_u = t / np.linalg.norm(t)
        ang = math.acos(float(np.clip(t_u @ u0, -1.0, 1.0)))
        tx, ty = float(t_u @ x_ax), float(t_u @ y_ax)
        az = math.atan2(ty, tx)
        d = ang * r_c * 1e3
        e_t = e_field_sphere(pos, mom, hd.center + t, didt_a_per_s, center_m=hd.center)
        ax.plot(
            [d * math.cos(az)],
            [d * math.sin(az)],
            marker="*",
            color="red",
            markeredgecolor="black",
            markersize=16,
            ls="none",
            label=f"target: {float(np.linalg.norm(e_t)):.0f} V/m",
            zorder=3,
        )
    ax.plot(
        [0.0],
        [0.0],
        marker="+",
        color="white",
        markersize=14,
        mew=2,
        ls="none",
        label="under coil centre",
        zorder=4,
    )
    ax.plot([], [], color="white", lw=1.0, label=f"half max ({0.5 * peak:.0f} V/m)")
    ax.legend(
        loc="upper right",
        fontsize=8,
        framealpha=0.6,
        facecolor="0.3",
        labelcolor="white",
    )
    ax.set_aspect("equal")
    ax.set_xlabel("along coil x (mm, on the cortical shell)")
    ax.set_ylabel("along coil y (mm)")
    ax.set_title(
        title
        or (
            f"{coil.name}: |E| at {depth:.1f} mm depth, "
            f"dI/dt {didt_a_per_s * 1e-6:.0f} A/\u00b5s (peak {peak:.0f} V/m)"
        ),
        fontsize=10,
    )
    return fig
