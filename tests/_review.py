"""A physician review for tests that deliver protocols resting on unverified limits.

Nearly every cell of the shipped train table is not yet verified against the
paper, so the engine sends such protocols to physician review (issue 14); tests
that are about something else sign the review off with this one.
"""

from __future__ import annotations

from plptms.safety import PhysicianReview

#: A review recorded by a fictional physician.
REVIEW = PhysicianReview(
    physician="Dr Test",
    reason="Reviewed the unverified limits of this test protocol.",
)
