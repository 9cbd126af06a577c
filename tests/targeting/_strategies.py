"""Hypothesis strategies for head measurements."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from plptms.targeting import HeadMeasurements


@st.composite
def heads(draw: st.DrawFn) -> HeadMeasurements:
    """Valid adult head measurements (rejection only near the bounds)."""
    cf = draw(st.floats(46.0, 68.0))
    ni = draw(st.floats(0.56, 0.74)) * cf
    tt = ni * draw(st.floats(0.88, 1.13))
    try:
        return HeadMeasurements(
            nasion_inion_cm=ni, tragus_tragus_cm=tt, circumference_cm=cf
        )
    except ValueError:
        assume(False)
        raise  # unreachable: assume(False) stops the example
