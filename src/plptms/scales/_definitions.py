"""The registry of scale definitions: identifiers, ranges and scoring rules as data.

Scales and their identifiers:

- pain intensity, one scale per instrument, site and summary: ``vas_phantom_average``,
  ``vas_phantom_worst``, ``vas_stump_average``, ``vas_stump_worst`` (VAS, 0-100 mm)
  and the same four with ``nrs_`` (NRS, 0-10), each with one item ``"1"``
  :footcite:`hawker2011`;
- ``sf_mpq``: SF-MPQ :footcite:`melzack1987`;
- ``sf_mpq2``: SF-MPQ-2 :footcite:`dworkin2009`;
- ``lanss``: LANSS Pain Scale :footcite:`bennett2001`;
- ``ham_a``: Hamilton Anxiety Rating Scale :footcite:`hamilton1959`, bands of
  :footcite:`matza2010`;
- ``ham_d17``: Hamilton Depression Rating Scale, 17 items :footcite:`hamilton1960`,
  bands of :footcite:`sharp2015`.

Missing items: no published prorating or imputation rule was found for the SF-MPQ,
SF-MPQ-2, LANSS, HAM-A or HAM-D 17 (the primary papers give none), so none is
applied. A total with any missing item is not computed; a subscale whose own items
are all present is still computed, because each subscale is reported as a score in
its own right in the source (the SF-MPQ sensory and affective indices, PPI and
VAS; the four SF-MPQ-2 subscales).

.. footbibliography::
"""

from __future__ import annotations

import functools
from enum import StrEnum

from ..utils import check_option
from ._constants import (
    HAM_A_BANDS,
    HAM_A_ITEM_MAX,
    HAM_A_N_ITEMS,
    HAM_D17_BANDS,
    HAM_D17_ITEM_MAX,
    LANSS_NEUROPATHIC_CUTOFF,
    LANSS_WEIGHTS,
    NRS_MAX,
    SF_MPQ2_AFFECTIVE_ITEMS,
    SF_MPQ2_CONTINUOUS_ITEMS,
    SF_MPQ2_INTERMITTENT_ITEMS,
    SF_MPQ2_ITEM_MAX,
    SF_MPQ2_N_ITEMS,
    SF_MPQ2_NEUROPATHIC_ITEMS,
    SF_MPQ_AFFECTIVE_ITEMS,
    SF_MPQ_DESCRIPTOR_MAX,
    SF_MPQ_PPI_MAX,
    SF_MPQ_SENSORY_ITEMS,
    SF_MPQ_VAS_MAX_MM,
    VAS_MAX_MM,
)
from ._models import (
    Aggregation,
    Band,
    ItemDefinition,
    ScaleDefinition,
    SubscaleDefinition,
)

__all__ = [
    "PainInstrument",
    "PainSite",
    "PainSummary",
    "get_scale",
    "list_scales",
    "pain_intensity_scale_id",
]

#: Statement used where no published missing-item rule exists.
_NO_MISSING_RULE = (
    "no published rule for missing items: a total with any missing item is not "
    "computed (nothing is imputed)"
)


class PainInstrument(StrEnum):
    """Pain intensity instrument."""

    #: Visual analogue scale, 0-100 mm.
    VAS = "vas"
    #: Numerical rating scale, 0-10.
    NRS = "nrs"


class PainSite(StrEnum):
    """Where the pain is felt."""

    #: In the missing (phantom) limb.
    PHANTOM = "phantom"
    #: In the residual limb (stump).
    STUMP = "stump"


class PainSummary(StrEnum):
    """Which pain over the recall period is rated."""

    #: Average pain.
    AVERAGE = "average"
    #: Worst pain.
    WORST = "worst"


def pain_intensity_scale_id(
    instrument: PainInstrument | str,
    site: PainSite | str,
    summary: PainSummary | str,
) -> str:
    """Return the scale id of one pain intensity rating, e.g. ``vas_phantom_worst``.

    Parameters
    ----------
    instrument : PainInstrument | str
        ``"vas"`` or ``"nrs"``.
    site : PainSite | str
        ``"phantom"`` or ``"stump"``.
    summary : PainSummary | str
        ``"average"`` or ``"worst"`` over the recall period.

    Returns
    -------
    scale_id : str
        The scale identifier.

    Raises
    ------
    ValueError
        If one of the arguments is not an allowed value.
    """
    inst = check_option(
        str(instrument), "instrument", [p.value for p in PainInstrument]
    )
    where = check_option(str(site), "site", [p.value for p in PainSite])
    what = check_option(str(summary), "summary", [p.value for p in PainSummary])
    return f"{inst}_{where}_{what}"


def _pain_intensity(
    instrument: PainInstrument, site: PainSite, summary: PainSummary
) -> ScaleDefinition:
    vas = instrument is PainInstrument.VAS
    site_text = "phantom limb" if site is PainSite.PHANTOM else "residual limb (stump)"
    return ScaleDefinition(
        id=pain_intensity_scale_id(instrument, site, summary),
        name=(
            f"{'Visual analogue scale' if vas else 'Numerical rating scale'}, "
            f"{summary.value} {site_text} pain"
        ),
        citation="Hawker et al., 2011",
        bib_key="hawker2011",
        items=(
            ItemDefinition(
                id="1",
                min=0.0,
                max=VAS_MAX_MM if vas else float(NRS_MAX),
                integer=not vas,
                unit="mm" if vas else "",
                label=f"{summary.value} {site.value} pain intensity",
            ),
        ),
        total_items=("1",),
        total_aggregation=Aggregation.SUM,
        unit="mm" if vas else "",
        missing_rule="single item: a missing rating gives no score",
    )


def _sf_mpq() -> ScaleDefinition:
    descriptors = tuple(
        ItemDefinition(id=i, min=0, max=SF_MPQ_DESCRIPTOR_MAX, integer=True)
        for i in SF_MPQ_SENSORY_ITEMS + SF_MPQ_AFFECTIVE_ITEMS
    )
    return ScaleDefinition(
        id="sf_mpq",
        name="Short-form McGill Pain Questionnaire (SF-MPQ)",
        citation="Melzack, 1987",
        bib_key="melzack1987",
        items=(
            *descriptors,
            ItemDefinition(
                id="ppi",
                min=0,
                max=SF_MPQ_PPI_MAX,
                integer=True,
                label="present pain intensity",
            ),
            ItemDefinition(
                id="vas",
                min=0.0,
                max=SF_MPQ_VAS_MAX_MM,
                integer=False,
                unit="mm",
                label="visual analogue scale",
            ),
        ),
        # total pain rating index: sensory + affective descriptors
        total_items=SF_MPQ_SENSORY_ITEMS + SF_MPQ_AFFECTIVE_ITEMS,
        total_aggregation=Aggregation.SUM,
        subscales=(
            SubscaleDefinition(
                id="sensory", items=SF_MPQ_SENSORY_ITEMS, aggregation=Aggregation.SUM
            ),
            SubscaleDefinition(
                id="affective",
                items=SF_MPQ_AFFECTIVE_ITEMS,
                aggregation=Aggregation.SUM,
            ),
            SubscaleDefinition(id="ppi", items=("ppi",), aggregation=Aggregation.SUM),
            SubscaleDefinition(id="vas", items=("vas",), aggregation=Aggregation.SUM),
        ),
        missing_rule=(
            f"{_NO_MISSING_RULE}; the sensory and affective indices, PPI and VAS are "
            "computed whenever their own items are present"
        ),
    )


def _sf_mpq2() -> ScaleDefinition:
    ids = tuple(str(i) for i in range(1, SF_MPQ2_N_ITEMS + 1))
    return ScaleDefinition(
        id="sf_mpq2",
        name="Short-form McGill Pain Questionnaire 2 (SF-MPQ-2)",
        citation="Dworkin et al., 2009",
        bib_key="dworkin2009",
        items=tuple(
            ItemDefinition(id=i, min=0, max=SF_MPQ2_ITEM_MAX, integer=True) for i in ids
        ),
        total_items=ids,
        total_aggregation=Aggregation.MEAN,
        subscales=tuple(
            SubscaleDefinition(id=name, items=members, aggregation=Aggregation.MEAN)
            for name, members in (
                ("continuous", SF_MPQ2_CONTINUOUS_ITEMS),
                ("intermittent", SF_MPQ2_INTERMITTENT_ITEMS),
                ("neuropathic", SF_MPQ2_NEUROPATHIC_ITEMS),
                ("affective", SF_MPQ2_AFFECTIVE_ITEMS),
            )
        ),
        missing_rule=(
            f"{_NO_MISSING_RULE}; each subscale is computed whenever its own items "
            "are present"
        ),
    )


_LANSS_LABELS = {
    "A1": "dysaesthesia",
    "A2": "autonomic changes",
    "A3": "evoked pain",
    "A4": "paroxysmal pain",
    "A5": "thermal pain",
    "B1": "allodynia",
    "B2": "altered pin-prick threshold",
}


def _lanss() -> ScaleDefinition:
    return ScaleDefinition(
        id="lanss",
        name="Leeds Assessment of Neuropathic Symptoms and Signs (LANSS) Pain Scale",
        citation="Bennett, 2001",
        bib_key="bennett2001",
        items=tuple(
            ItemDefinition(
                id=i, min=0, max=1, integer=True, weight=w, label=_LANSS_LABELS[i]
            )
            for i, w in LANSS_WEIGHTS
        ),
        total_items=tuple(i for i, _ in LANSS_WEIGHTS),
        total_aggregation=Aggregation.SUM,
        bands=(
            Band(label="not neuropathic", low=0),
            Band(label="neuropathic", low=LANSS_NEUROPATHIC_CUTOFF),
        ),
        band_citation="Bennett, 2001",
        missing_rule=_NO_MISSING_RULE,
    )


def _ham_a() -> ScaleDefinition:
    ids = tuple(str(i) for i in range(1, HAM_A_N_ITEMS + 1))
    return ScaleDefinition(
        id="ham_a",
        name="Hamilton Anxiety Rating Scale (HAM-A)",
        citation="Hamilton, 1959",
        bib_key="hamilton1959",
        items=tuple(
            ItemDefinition(id=i, min=0, max=HAM_A_ITEM_MAX, integer=True) for i in ids
        ),
        total_items=ids,
        total_aggregation=Aggregation.SUM,
        bands=tuple(Band(label=label, low=low) for label, low in HAM_A_BANDS),
        band_citation="Matza et al., 2010",
        missing_rule=_NO_MISSING_RULE,
    )


def _ham_d17() -> ScaleDefinition:
    return ScaleDefinition(
        id="ham_d17",
        name="Hamilton Depression Rating Scale, 17 items (HAM-D 17)",
        citation="Hamilton, 1960",
        bib_key="hamilton1960",
        items=tuple(
            ItemDefinition(id=i, min=0, max=top, integer=True)
            for i, top in HAM_D17_ITEM_MAX
        ),
        total_items=tuple(i for i, _ in HAM_D17_ITEM_MAX),
        total_aggregation=Aggregation.SUM,
        bands=tuple(Band(label=label, low=low) for label, low in HAM_D17_BANDS),
        band_citation="Sharp, 2015",
        missing_rule=_NO_MISSING_RULE,
    )


def _build() -> dict[str, ScaleDefinition]:
    scales = [
        _pain_intensity(instrument, site, summary)
        for instrument in PainInstrument
        for site in PainSite
        for summary in PainSummary
    ]
    scales += [_sf_mpq(), _sf_mpq2(), _lanss(), _ham_a(), _ham_d17()]
    return {s.id: s for s in scales}


@functools.cache
def _registry() -> dict[str, ScaleDefinition]:
    # built on first use: importing the module does no work
    return _build()


def list_scales() -> tuple[ScaleDefinition, ...]:
    """Return every scale definition, pain intensity scales first.

    Returns
    -------
    scales : tuple of ScaleDefinition
        All scale definitions.
    """
    return tuple(_registry().values())


def get_scale(scale_id: str) -> ScaleDefinition:
    """Return the definition of one scale.

    Parameters
    ----------
    scale_id : str
        Scale identifier, e.g. ``"sf_mpq2"`` or ``"nrs_stump_worst"``.

    Returns
    -------
    scale : ScaleDefinition
        The definition.

    Raises
    ------
    ValueError
        If there is no such scale; the message lists the scale ids and suggests
        the closest one.
    """
    registry = _registry()
    check_option(scale_id, "scale_id", list(registry))
    return registry[scale_id]
