"""The CONSORT 2010 flow diagram of a two- or more-arm randomised trial.

The diagram follows the CONSORT 2010 template (Schulz, Altman & Moher 2010,
Figure: "Flow diagram of the progress through the phases of a parallel
randomised trial of two groups"): enrolment (assessed for eligibility,
excluded with reasons, randomised), allocation (per arm: allocated, received
the intervention, did not receive it with reasons), follow-up (lost to follow-up
and discontinued, with reasons) and analysis (analysed, excluded from analysis
with reasons) :footcite:`schulz2010consort`. The counts are checked for
consistency before anything is drawn; the registry supplies them.

.. footbibliography::
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

__all__ = ["ConsortArm", "ConsortFlow", "consort_diagram", "write_consort"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ConsortArm(BaseModel):
    """One arm's counts.

    Parameters
    ----------
    label : str
        The arm as the report names it.
    allocated : int
        Allocated to the arm.
    not_received : dict of str to int
        Allocated but did not receive the intervention, by reason.
    lost : dict of str to int
        Lost to follow-up, by reason.
    discontinued : dict of str to int
        Discontinued the intervention, by reason.
    excluded_from_analysis : dict of str to int
        Excluded from the analysis, by reason.
    """

    model_config = _FROZEN

    label: str = Field(min_length=1, max_length=60)
    allocated: NonNegativeInt
    not_received: dict[str, NonNegativeInt] = {}
    lost: dict[str, NonNegativeInt] = {}
    discontinued: dict[str, NonNegativeInt] = {}
    excluded_from_analysis: dict[str, NonNegativeInt] = {}

    @property
    def received(self) -> int:
        """Received the allocated intervention."""
        return self.allocated - sum(self.not_received.values())

    @property
    def analysed(self) -> int:
        """Analysed (allocated, less those excluded from the analysis)."""
        return self.allocated - sum(self.excluded_from_analysis.values())

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("not_received", "lost", "discontinued", "excluded_from_analysis"):
            total = sum(getattr(self, name).values())
            if total > self.allocated:
                raise ValueError(
                    f"Invalid value for '{self.label}.{name}': {total} in all; "
                    f"allowed: at most the {self.allocated} allocated."
                )
        return self


class ConsortFlow(BaseModel):
    """The counts of a trial's CONSORT flow.

    Parameters
    ----------
    assessed : int
        Assessed for eligibility.
    excluded : dict of str to int
        Excluded before randomisation, by reason (e.g. not meeting inclusion
        criteria, declined to participate, other reasons).
    arms : tuple of ConsortArm
        The arms, in the order drawn.
    """

    model_config = _FROZEN

    assessed: NonNegativeInt
    excluded: dict[str, NonNegativeInt] = {}
    arms: tuple[ConsortArm, ...] = Field(min_length=2, max_length=6)

    @property
    def randomised(self) -> int:
        """Randomised: the sum of the arms' allocations."""
        return sum(a.allocated for a in self.arms)

    @model_validator(mode="after")
    def _check(self) -> Self:
        excluded = sum(self.excluded.values())
        if excluded + self.randomised != self.assessed:
            raise ValueError(
                f"Invalid value for 'assessed': got {self.assessed}; the excluded "
                f"({excluded}) and the randomised ({self.randomised}) add up to "
                f"{excluded + self.randomised}: every patient assessed is either "
                "excluded or randomised."
            )
        return self


def _lines(title: str, n: int, reasons: dict[str, int]) -> str:
    out = [f"{title} (n = {n})"]
    out += [f"  \u2022 {r} (n = {k})" for r, k in reasons.items()]
    return "\n".join(out)


#: Height of one text line at 9 pt with matplotlib's default spacing, inches
#: (9 pt x 1.2 line spacing / 72), and the box padding (0.5 em), inches.
_LINE_IN, _PAD_IN = 9 * 1.2 / 72, 0.5 * 9 / 72


def _half_height(text: str) -> float:
    """Half the height of a boxed text, inches (= data units here)."""
    return (len(text.splitlines()) * _LINE_IN) / 2 + _PAD_IN


def _box(stage: str, a: ConsortArm) -> str:
    """Return the text of one arm's box at one stage of the template."""
    if stage == "Allocation":
        parts = [
            _lines(f"Allocated to {a.label}", a.allocated, {}),
            _lines("  Received allocated intervention", a.received, {}),
            _lines(
                "  Did not receive allocated intervention",
                sum(a.not_received.values()),
                a.not_received,
            ),
        ]
    elif stage == "Follow-up":
        parts = [
            _lines("Lost to follow-up", sum(a.lost.values()), a.lost),
            _lines(
                "Discontinued intervention",
                sum(a.discontinued.values()),
                a.discontinued,
            ),
        ]
    else:
        parts = [
            _lines("Analysed", a.analysed, {}),
            _lines(
                "  Excluded from analysis",
                sum(a.excluded_from_analysis.values()),
                a.excluded_from_analysis,
            ),
        ]
    return "\n".join(parts)


def consort_diagram(flow: ConsortFlow, *, title: str | None = None) -> Figure:
    """Draw the CONSORT 2010 flow diagram.

    Parameters
    ----------
    flow : ConsortFlow
        The counts (checked).
    title : str | None
        A title above the diagram.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The diagram.
    """
    from matplotlib.figure import Figure

    k = len(flow.arms)
    width = max(8.0, 4.2 * k)
    fig = Figure(figsize=(width, 11.0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, 11.0)
    ax.axis("off")
    box = {"boxstyle": "square,pad=0.5", "facecolor": "white", "edgecolor": "black"}
    stage = {"boxstyle": "round,pad=0.3", "facecolor": "#cfe2f3", "edgecolor": "none"}
    font = {"fontsize": 9, "family": "DejaVu Sans"}
    mid = width / 2
    if title:
        ax.text(mid, 10.75, title, ha="center", va="center", fontsize=12,
                fontweight="bold")  # fmt: skip

    def text(x: float, y: float, s: str, **kw: object) -> None:
        ax.text(x, y, s, ha="center", va="center", bbox=box, **font, **kw)  # type: ignore[arg-type]

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate(
            "", xy=(x1, y1), xytext=(x0, y0),
            arrowprops={"arrowstyle": "->", "lw": 1.0},
        )  # fmt: skip

    ax.text(0.35, 9.6, "Enrolment", rotation=90, ha="center", va="center",
            bbox=stage, fontsize=10)  # fmt: skip
    text(mid, 10.2, f"Assessed for eligibility (n = {flow.assessed})")
    excl = sum(flow.excluded.values())
    ax.text(mid + 0.4, 9.45, _lines("Excluded", excl, flow.excluded), ha="left",
            va="center", bbox=box, **font)  # type: ignore[arg-type]  # fmt: skip
    arrow(mid, 9.95, mid, 8.95)
    ax.plot([mid, mid + 0.4], [9.45, 9.45], color="black", lw=1.0)
    text(mid, 8.7, f"Randomised (n = {flow.randomised})")
    xs = [width * (i + 0.5) / k for i in range(k)]
    rows = ("Allocation", "Follow-up", "Analysis")
    ax.plot([xs[0], xs[-1]], [8.25, 8.25], color="black", lw=1.0)
    ax.plot([mid, mid], [8.45, 8.25], color="black", lw=1.0)
    top = 8.25  # where the arrows into the next row start
    for name in rows:
        texts = [_box(name, a) for a in flow.arms]
        half = max(_half_height(t) for t in texts)
        y = top - 0.35 - half
        ax.text(0.35, y, name, rotation=90, ha="center", va="center", bbox=stage,
                fontsize=10)  # fmt: skip
        for x, t in zip(xs, texts, strict=True):
            ax.text(x, y, t, ha="center", va="center", bbox=box,
                    **font)  # type: ignore[arg-type]  # fmt: skip
            arrow(x, top, x, y + _half_height(t))
        top = y - half
    ax.set_ylim(top - 0.3, 11.0)
    fig.set_size_inches(width, 11.0 - (top - 0.3))
    return fig


def write_consort(
    flow: ConsortFlow, out: Path, *, title: str | None = None
) -> list[Path]:
    """Write the diagram as PNG and SVG next to each other.

    Parameters
    ----------
    flow : ConsortFlow
        The counts.
    out : Path
        Output path without suffix (``.png`` and ``.svg`` are added).
    title : str | None
        A title.

    Returns
    -------
    paths : list of Path
        The PNG and the SVG.
    """
    fig = consort_diagram(flow, title=title)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths
