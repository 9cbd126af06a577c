"""The targeting sheet renders to a non-empty PNG with the disclaimer."""

from __future__ import annotations

from pathlib import Path

import pytest

from plptms.protocol import Amputation
from plptms.targeting import HeadMeasurements, plan_targets, plot_targeting_sheet

DISCLAIMER = "plptms - research software, not a certified medical device."


def _texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.get_text() for t in fig.texts]


@pytest.mark.parametrize(
    ("side", "limb"), [("left", "upper"), ("right", "lower"), ("bilateral", "upper")]
)
def test_sheet_renders_png(
    head: HeadMeasurements, tmp_path: Path, side: str, limb: str
) -> None:
    from matplotlib.figure import Figure

    amp = Amputation(side=side, limb=limb)
    lat = "bilateral" if side == "bilateral" else "contralateral"
    targets = ("m1", "dlpfc", "s1", "smc")
    plans = [plan_targets(amp, t, head, laterality=lat) for t in targets]
    fig = plot_targeting_sheet(plans, patient_code="PLP-0042")
    assert isinstance(fig, Figure)
    texts = _texts(fig)
    assert DISCLAIMER in texts
    assert any("PLP-0042" in t for t in texts)
    assert any("Herwig" in t for t in texts)  # the 5 cm rule warning
    assert any("SMC:" in t for t in texts)  # the SMC reasoning
    assert any("Lancaster" in t for t in texts)  # Talairach -> MNI note
    out = tmp_path / f"sheet_{side}_{limb}.png"
    fig.savefig(out, dpi=80)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


def test_single_plan(head: HeadMeasurements, tmp_path: Path) -> None:
    plan = plan_targets(Amputation(side="right", limb="upper"), "m1", head)
    fig = plot_targeting_sheet(plan, patient_code="X1")
    fig.savefig(tmp_path / "one.png", dpi=50)
    assert (tmp_path / "one.png").stat().st_size > 0


def test_errors(head: HeadMeasurements) -> None:
    plan = plan_targets(Amputation(side="right", limb="upper"), "m1", head)
    other = plan_targets(
        Amputation(side="right", limb="upper"),
        "m1",
        HeadMeasurements(nasion_inion_cm=35, tragus_tragus_cm=35, circumference_cm=56),
    )
    with pytest.raises(ValueError, match="plans"):
        plot_targeting_sheet([], patient_code="X1")
    with pytest.raises(ValueError, match="plans"):
        plot_targeting_sheet([plan, other], patient_code="X1")
    with pytest.raises(TypeError, match="plans"):
        plot_targeting_sheet(["m1"], patient_code="X1")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="patient_code"):
        plot_targeting_sheet(plan, patient_code=42)  # type: ignore[arg-type]
