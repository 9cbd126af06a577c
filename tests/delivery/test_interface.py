"""Additions to the interface: TrainResult.raise_for_fault and pulses_inferred."""

from __future__ import annotations

import pytest

from plptms.delivery import (
    DeviceTimeoutError,
    GarbledReplyError,
    OverTemperatureError,
    StimulatorFault,
    TrainResult,
)
from plptms.delivery._base import fault_text


def test_no_fault_does_not_raise() -> None:
    result = TrainResult(pulses=(), completed=True)
    result.raise_for_fault()
    assert not result.pulses_inferred


@pytest.mark.parametrize(
    "cls", [DeviceTimeoutError, GarbledReplyError, OverTemperatureError]
)
def test_round_trip_of_the_fault_class(cls: type[StimulatorFault]) -> None:
    text = fault_text(cls("coil at 41 degC"))
    result = TrainResult(pulses=(), completed=False, fault=text)
    with pytest.raises(cls, match="coil at 41 degC"):
        result.raise_for_fault()


def test_unknown_fault_text_raises_the_base_class() -> None:
    result = TrainResult(pulses=(), completed=False, fault="something odd")
    with pytest.raises(StimulatorFault, match="something odd") as info:
        result.raise_for_fault()
    assert type(info.value) is StimulatorFault
