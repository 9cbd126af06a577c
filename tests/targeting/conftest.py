"""Fixtures for the targeting tests."""

from __future__ import annotations

import pytest

from plptms.targeting import HeadMeasurements


@pytest.fixture(scope="module")
def head() -> HeadMeasurements:
    """An adult head: NI 38, TT 36, CF 60 cm (the Beam demonstration values)."""
    return HeadMeasurements(
        nasion_inion_cm=38.0, tragus_tragus_cm=36.0, circumference_cm=60.0
    )
