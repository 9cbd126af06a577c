"""A template scalp fitted to three tape measurements (private geometry).

The 10-05 positions of an MNE-Python standard montage :footcite:`gramfort2013` are
moved to the head coordinate frame (origin between the preauricular points, x to
the right, y to the nasion, z up) and an axis-aligned ellipsoid is fitted to them.
The patient's head is the template scaled along x, y and z so that three arcs on
the ellipsoid match the tape measurements: the nasion-inion arc over Cz, the
tragus-tragus arc over Cz and the circumference through the template's 10-05 ring
(Fpz, F7, T7, Oz, T8, ...).

All curves are worked in "sphere space" ``u = (x - centre) / axes``, where the
ellipsoid is the unit sphere and scaling leaves every direction unchanged; lengths
are measured back on the scaled ellipsoid. A plane section of the ellipsoid is a
circle in sphere space.

.. footbibliography::
"""

from __future__ import annotations

import functools
import importlib
import itertools
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..utils import check_option

if TYPE_CHECKING:
    from types import ModuleType

    from numpy.typing import NDArray

    from ._head import HeadMeasurements

    Vec = NDArray[np.float64]

__all__: list[str] = []

#: Montages whose channel names follow the 10-05 system.
MONTAGES = ("colin27_1005", "fsaverage_1005", "standard_1005")
DEFAULT_MONTAGE = "colin27_1005"

# Points used to fit the ellipsoid exclude ear lobes and mastoids.
_NOT_SCALP = frozenset({"A1", "A2", "M1", "M2"})
_REQUIRED = ("Cz", "Fpz", "Oz", "Iz", "T7", "T8")
_RING_LEFT = (
    "Fpz", "Fp1h", "Fp1", "AFp7", "AF7", "AFF7", "F7", "FFT7", "FT7", "FTT7", "T7",
    "TTP7", "TP7", "TPP7", "P7", "PPO7", "PO7", "POO7", "O1", "O1h", "Oz",
)  # fmt: skip
_RING_RIGHT = (
    "Fpz", "Fp2h", "Fp2", "AFp8", "AF8", "AFF8", "F8", "FFT8", "FT8", "FTT8", "T8",
    "TTP8", "TP8", "TPP8", "P8", "PPO8", "PO8", "POO8", "O2", "O2h", "Oz",
)  # fmt: skip
_RING_REQUIRED = ("Fp1", "F7", "T7", "P7", "O1", "Fp2", "F8", "T8", "P8", "O2")
_SAMPLES_PER_TURN = 4096
_SLERP_STEPS = 48
_EPS = 1e-9
_MIDLINE_MM = 2.5

Side = Literal["left", "right", "midline"]


def _unit(v: Vec) -> Vec:
    n = float(np.linalg.norm(v))
    if n < _EPS:
        raise ValueError("degenerate direction")
    out: Vec = v / n
    return out


def _slerp(a: Vec, b: Vec, n: int) -> Vec:
    """Points from ``a`` to ``b`` (unit vectors) on the great circle, ``n`` steps."""
    omega = math.acos(max(-1.0, min(1.0, float(a @ b))))
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    if omega < 1e-12:
        return np.repeat(a[None, :], n + 1, axis=0)
    out: Vec = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)
    return out


def _length(points: Vec, axes: Vec) -> float:
    """Length on the ellipsoid of a dense polyline given in sphere space."""
    return float(np.linalg.norm(np.diff(points, axis=0) * axes, axis=1).sum())


@dataclass(frozen=True)
class _Circle:
    """Intersection of a plane ``n . u = h`` with the unit sphere."""

    n: Vec
    h: float

    @classmethod
    def with_normal(cls, normal: Vec, h: float) -> _Circle:
        n = _unit(normal)
        if h < 0:
            n, h = -n, -h
        if h >= 1.0:
            raise ValueError("plane misses the head surface")
        return cls(n=n, h=float(h))

    @classmethod
    def through(cls, a: Vec, b: Vec, c: Vec) -> _Circle:
        n = _unit(np.cross(b - a, c - a))
        return cls.with_normal(n, float(n @ a))

    @property
    def centre(self) -> Vec:
        out: Vec = self.h * self.n
        return out

    @property
    def radius(self) -> float:
        return math.sqrt(max(0.0, 1.0 - self.h * self.h))

    def basis(self, ref: Vec) -> tuple[Vec, Vec]:
        v = ref - self.centre
        v = v - (v @ self.n) * self.n
        e1 = _unit(v)
        return e1, np.cross(self.n, e1)

    def sample(self, start: Vec, direction: Vec, turn: float = 2 * math.pi) -> Vec:
        """Points from ``start`` round the circle in the sense of ``direction``."""
        e1, e2 = self.basis(start)
        sense = 1.0 if float(direction @ e2) >= 0 else -1.0
        k = max(16, int(_SAMPLES_PER_TURN * turn / (2 * math.pi)))
        t = np.linspace(0.0, turn, k + 1)[:, None] * sense
        out: Vec = self.centre + self.radius * (np.cos(t) * e1 + np.sin(t) * e2)
        return out

    def turn_to(self, start: Vec, end: Vec, direction: Vec) -> float:
        """Angle in [0, 2 pi) from ``start`` to ``end`` in the given sense."""
        e1, e2 = self.basis(start)
        sense = 1.0 if float(direction @ e2) >= 0 else -1.0
        v = end - self.centre
        ang = math.atan2(float(v @ e2), float(v @ e1)) * sense
        return ang % (2 * math.pi)


def _plane_pair_on_sphere(c1: _Circle, c2: _Circle) -> list[Vec]:
    """Points on the unit sphere lying on both planes (0 or 2 points)."""
    d = np.cross(c1.n, c2.n)
    dd = float(d @ d)
    if dd < 1e-12:
        return []
    # the point on both planes closest to the origin
    p0 = np.linalg.solve(np.array([c1.n, c2.n, d]), np.array([c1.h, c2.h, 0.0]))
    disc = 1.0 - float(p0 @ p0)
    if disc < 0:
        return []
    du = d / math.sqrt(dd)
    s = math.sqrt(disc)
    return [p0 + s * du, p0 - s * du]


@dataclass(frozen=True)
class _Template:
    """Template montage in sphere space plus its fitted ellipsoid (mm)."""

    montage: str
    centre: Vec
    axes: Vec
    u: dict[str, Vec]
    nasion: Vec
    lpa: Vec
    rpa: Vec
    ring: Vec  # dense closed ring, Fpz -> left -> Oz -> right -> Fpz
    ring_oz_index: int

    @property
    def cz(self) -> Vec:
        return self.u["Cz"]

    @property
    def inion(self) -> Vec:
        return self.u["Iz"]


def _soft_import(name: str) -> ModuleType:
    """Import ``name`` at call time, with an install hint if it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - both are core dependencies
        package = name.split(".")[0]
        raise ImportError(
            f"plptms.targeting needs {package!r} for the template head; install it "
            f"with 'pip install {package}'."
        ) from err


def resolve_montage(montage: str) -> str:
    """Return the builtin montage to load for ``montage`` (checks the name)."""
    check_option(montage, "montage", MONTAGES)
    mne = _soft_import("mne")

    builtin = {name for name, _ in mne.channels.get_builtin_montages(descriptions=True)}
    if montage == "standard_1005" and "colin27_1005" in builtin:
        return "colin27_1005"  # same positions; the old name is deprecated
    if montage == "colin27_1005" and montage not in builtin:
        return "standard_1005"
    if montage not in builtin:
        raise ValueError(
            f"Invalid value for 'montage': got {montage!r}; allowed values are "
            f"{sorted(builtin & set(MONTAGES))} with MNE-Python {mne.__version__}."
        )
    return montage


@functools.lru_cache(maxsize=4)
def load_template(montage: str) -> _Template:
    """Load ``montage``, move it to the head frame and fit the ellipsoid."""
    mne = _soft_import("mne")
    transforms = _soft_import("mne.transforms")
    least_squares = _soft_import("scipy.optimize").least_squares

    name = resolve_montage(montage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pos = mne.channels.make_standard_montage(name).get_positions()
    if pos["nasion"] is None or pos["lpa"] is None or pos["rpa"] is None:
        raise ValueError(f"montage {name!r} has no fiducials")
    trans = transforms.get_ras_to_neuromag_trans(pos["nasion"], pos["lpa"], pos["rpa"])

    def to_head(x: Vec) -> Vec:
        out: Vec = np.asarray(transforms.apply_trans(trans, np.asarray(x)), float)
        out = out * 1000.0
        return out

    ch = {k: to_head(v) for k, v in pos["ch_pos"].items() if np.all(np.isfinite(v))}
    missing = [n for n in (*_REQUIRED, *_RING_REQUIRED) if n not in ch]
    if missing:
        raise ValueError(f"montage {name!r} lacks the positions {missing}")
    pts = np.array([p for k, p in ch.items() if k not in _NOT_SCALP])

    def resid(q: Vec) -> Vec:
        out: Vec = np.linalg.norm((pts - q[:3]) / q[3:], axis=1) - 1.0
        return out

    fit = least_squares(resid, np.array([0.0, 0.0, 0.0, 90.0, 100.0, 100.0]))
    centre, axes = np.asarray(fit.x[:3]), np.asarray(fit.x[3:])

    def to_u(x: Vec) -> Vec:
        return _unit((x - centre) / axes)

    u = {k: to_u(v) for k, v in ch.items()}
    left = [u[n] for n in _RING_LEFT if n in u]
    right = [u[n] for n in _RING_RIGHT if n in u]
    chain = [*left, *right[::-1][1:]]  # Fpz .. Oz .. Fpz
    pieces = [_slerp(a, b, _SLERP_STEPS)[:-1] for a, b in itertools.pairwise(chain)]
    ring = np.vstack([*pieces, chain[-1][None, :]])
    return _Template(
        montage=name,
        centre=centre,
        axes=axes,
        u=u,
        nasion=to_u(to_head(pos["nasion"])),
        lpa=to_u(to_head(pos["lpa"])),
        rpa=to_u(to_head(pos["rpa"])),
        ring=ring,
        ring_oz_index=(len(left) - 1) * _SLERP_STEPS,
    )


class HeadModel:
    """The template ellipsoid scaled to one patient (lengths in mm).

    Parameters
    ----------
    template : _Template
        The loaded template.
    scale : array, shape (3,)
        Scale factors along x, y and z.
    """

    def __init__(self, template: _Template, scale: Vec) -> None:
        self.template = template
        self.scale = np.asarray(scale, float)
        self.axes: Vec = template.axes * self.scale
        self.centre: Vec = template.centre * self.scale
        t = template
        self.mid = _Circle.through(t.nasion, t.inion, t.cz)
        self.coronal = _Circle.through(t.lpa, t.rpa, t.cz)
        # x in sphere space increases towards the right ear
        self._mid_sign = 1.0 if float(self.mid.n @ t.rpa) - self.mid.h > 0 else -1.0
        ring_steps = np.linalg.norm(np.diff(t.ring, axis=0) * self.axes, axis=1)
        self._ring_cum: Vec = np.concatenate([[0.0], np.cumsum(ring_steps)])

    # -- measurements ---------------------------------------------------------
    def arc(self, circle: _Circle, a: Vec, b: Vec, direction: Vec) -> float:
        """Arc length (mm) from ``a`` to ``b`` on ``circle`` in a given sense."""
        turn = circle.turn_to(a, b, direction)
        if turn < 1e-12:
            return 0.0
        return _length(circle.sample(a, direction, turn), self.axes)

    def walk(self, circle: _Circle, a: Vec, direction: Vec, dist_mm: float) -> Vec:
        """Point reached after ``dist_mm`` along ``circle`` from ``a``."""
        if dist_mm <= 0:
            return a
        pts = circle.sample(a, direction)
        cum = np.concatenate(
            [[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0) * self.axes, axis=1))]
        )
        if dist_mm > cum[-1]:
            raise ValueError("distance exceeds the curve length")
        i = int(np.searchsorted(cum, dist_mm))
        f = (dist_mm - cum[i - 1]) / (cum[i] - cum[i - 1])
        return _unit(pts[i - 1] + f * (pts[i] - pts[i - 1]))

    @property
    def nasion_inion_mm(self) -> float:
        t = self.template
        return self.arc(self.mid, t.nasion, t.inion, t.cz - t.nasion)

    @property
    def tragus_tragus_mm(self) -> float:
        t = self.template
        return self.arc(self.coronal, t.lpa, t.rpa, t.cz - t.lpa)

    @property
    def circumference_mm(self) -> float:
        return float(self._ring_cum[-1])

    # -- coordinates ----------------------------------------------------------
    def xyz(self, u: Vec) -> Vec:
        """Head-frame coordinates (mm) of a sphere-space direction."""
        out: Vec = self.centre + self.axes * u
        return out

    def side(self, u: Vec) -> Side:
        """Left, right or midline (within 2.5 mm of the midsagittal plane)."""
        s = self._mid_sign * (float(self.mid.n @ u) - self.mid.h)
        if abs(s) * self.axes[0] < _MIDLINE_MM:
            return "midline"
        return "right" if s > 0 else "left"

    def polar(self, u: Vec) -> tuple[float, float | None]:
        """Arc from Cz (mm) and circumference mark from Fpz (mm) of ``u``."""
        cz = self.template.cz
        if float(np.linalg.norm(u - cz)) < 1e-6:
            return 0.0, None
        k = np.cross(cz, u)
        if float(np.linalg.norm(k)) < 1e-9:
            return 0.0, None
        circle = _Circle.with_normal(k, 0.0)
        from_vertex = self.arc(circle, cz, u, u - cz)
        ring = self.template.ring
        s = ring @ circle.n
        tangent = u - float(u @ cz) * cz
        best: tuple[float, float] | None = None  # (score, ring arc)
        for i in np.nonzero(s[:-1] * s[1:] <= 0)[0]:
            if s[i] == s[i + 1]:
                continue
            f = s[i] / (s[i] - s[i + 1])
            mark = ring[i] + f * (ring[i + 1] - ring[i])
            score = float(mark @ tangent)
            cum = self._ring_cum[i] + f * (self._ring_cum[i + 1] - self._ring_cum[i])
            arc = cum if i < self.template.ring_oz_index else self._ring_cum[-1] - cum
            if best is None or score > best[0]:
                best = (score, float(arc))
        return from_vertex, (None if best is None else best[1])

    def sagittal(self, u: Vec) -> tuple[float, float] | None:
        """Arc from the nasion along the midline and lateral arc (mm), or None.

        The lateral arc lies in the plane through both tragi and the point; the
        midline point is where that plane crosses the midsagittal section.
        """
        t = self.template
        try:
            through = _Circle.through(t.lpa, t.rpa, u)
        except ValueError:
            return None
        cands = _plane_pair_on_sphere(self.mid, through)
        if not cands:
            return None
        m = max(cands, key=lambda c: float(c @ u))
        total = self.arc(self.mid, t.nasion, t.inion, t.cz - t.nasion)
        along = self.arc(self.mid, t.nasion, m, t.cz - t.nasion)
        if along > total:
            return None
        if float(np.linalg.norm(u - m)) < 1e-9:
            return along, 0.0
        return along, self.arc(through, m, u, u - m)

    # -- construction ---------------------------------------------------------
    def from_sagittal(
        self, from_nasion_mm: float, lateral_mm: float, side: Side
    ) -> Vec:
        """Point ``lateral_mm`` from the midline, ``from_nasion_mm`` from nasion."""
        t = self.template
        m = self.walk(self.mid, t.nasion, t.cz - t.nasion, from_nasion_mm)
        if lateral_mm <= 0 or side == "midline":
            return m
        through = _Circle.through(t.lpa, t.rpa, m)
        tragus = t.lpa if side == "left" else t.rpa
        return self.walk(through, m, tragus - m, lateral_mm)

    def ring_point(self, ring_mm: float, side: Side) -> Vec:
        """Point on the circumference ``ring_mm`` from Fpz towards ``side``."""
        cum = self._ring_cum
        half = cum[self.template.ring_oz_index]
        pos = ring_mm if side == "left" else cum[-1] - ring_mm
        if not 0 <= ring_mm <= max(half, cum[-1] - half) + 1e-6:
            raise ValueError("ring distance exceeds the half circumference")
        i = int(np.clip(np.searchsorted(cum, pos), 1, len(cum) - 1))
        f = (pos - cum[i - 1]) / (cum[i] - cum[i - 1])
        ring = self.template.ring
        return _unit(ring[i - 1] + f * (ring[i] - ring[i - 1]))

    def from_polar(self, from_vertex_mm: float, ring_mm: float, side: Side) -> Vec:
        """Point ``from_vertex_mm`` from Cz towards the circumference mark."""
        cz = self.template.cz
        mark = self.ring_point(ring_mm, side)
        circle = _Circle.with_normal(np.cross(cz, mark), 0.0)
        return self.walk(circle, cz, mark - cz, from_vertex_mm)

    def offset(self, u: Vec, anterior_mm: float, lateral_mm: float, side: Side) -> Vec:
        """Move along a parasagittal line, then along the tragus-tragus line.

        Parameters
        ----------
        u : array
            Start point (sphere space).
        anterior_mm : float
            Distance towards the nose (negative: towards the back), mm.
        lateral_mm : float
            Distance away from the midline towards ``side`` (negative: towards the
            midline), mm.
        side : str
            ``"left"`` or ``"right"``.

        Returns
        -------
        u : array
            The end point.
        """
        t = self.template
        out = u
        if anterior_mm:
            para = _Circle.with_normal(np.array([1.0, 0.0, 0.0]), float(u[0]))
            direction = np.array([0.0, math.copysign(1.0, anterior_mm), 0.0])
            out = self.walk(para, out, direction, abs(anterior_mm))
        if lateral_mm:
            through = _Circle.through(t.lpa, t.rpa, out)
            sign = -1.0 if side == "left" else 1.0
            direction = np.array([sign * math.copysign(1.0, lateral_mm), 0.0, 0.0])
            out = self.walk(through, out, direction, abs(lateral_mm))
        return out


def _template_arcs(template: _Template, scale: Vec) -> Vec:
    model = HeadModel(template, scale)
    return np.array(
        [model.nasion_inion_mm, model.tragus_tragus_mm, model.circumference_mm]
    )


@functools.lru_cache(maxsize=256)
def _fit_cached(montage: str, ni_cm: float, tt_cm: float, cf_cm: float) -> HeadModel:
    least_squares = _soft_import("scipy.optimize").least_squares
    template = load_template(montage)
    target = np.array([ni_cm, tt_cm, cf_cm]) * 10.0
    base = _template_arcs(template, np.ones(3))

    def resid(log_scale: Vec) -> Vec:
        out: Vec = _template_arcs(template, np.exp(log_scale)) / target - 1.0
        return out

    ratio = target / base
    x0 = np.log(np.array([ratio[1], ratio[0], 0.5 * (ratio[0] + ratio[1])]))
    sol = least_squares(resid, x0, xtol=1e-12, ftol=1e-12, gtol=1e-12)
    if float(np.max(np.abs(sol.fun))) > 1e-6:
        raise ValueError(
            "Invalid value for 'head': the measurements "
            f"(nasion_inion_cm={ni_cm:g}, tragus_tragus_cm={tt_cm:g}, "
            f"circumference_cm={cf_cm:g}) cannot be matched by scaling the "
            f"{template.montage!r} template; check the tape paths."
        )
    return HeadModel(template, np.exp(sol.x))


def fit_head(head: HeadMeasurements, montage: str = DEFAULT_MONTAGE) -> HeadModel:
    """Scale the template so that its NI, TT and CF arcs match ``head``.

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.
    montage : str
        One of :data:`MONTAGES`.

    Returns
    -------
    model : HeadModel
        The fitted head.

    Raises
    ------
    ValueError
        If the montage is unknown or the measurements cannot be matched.
    """
    return _fit_cached(
        montage, head.nasion_inion_cm, head.tragus_tragus_cm, head.circumference_cm
    )
