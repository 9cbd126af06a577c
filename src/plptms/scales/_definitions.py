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
  bands of :footcite:`sharp2015`;
- ``pgic``: Patient Global Impression of Change, one item ``"1"`` coded 1 (very much
  improved) to 7 (very much worse); the total is the category code and the band
  its label :footcite:`farrar2001,ninds2020pgic`; the responder rule is in
  :func:`plptms.scales.is_pgic_responder`;
- ``bpi_interference``: Brief Pain Inventory (short form) pain interference, items
  ``"9A"`` to ``"9G"`` (0-10), scored as their mean when at least 4 of the 7 are
  answered :footcite:`cleeland2009`;
- ``eq5d5l_england`` and ``eq5d5l_us``: EQ-5D-5L index from the value set for
  England :footcite:`devlin2018` or the United States :footcite:`pickard2019`
  (dimensions ``"MO"``, ``"SC"``, ``"UA"``, ``"PD"``, ``"AD"``, levels 1-5; the
  coefficients and their provenance are in ``data/eq5d5l_value_sets.yaml``), with
  the EQ VAS (item ``"vas"``, 0-100) reported as the subscale ``"vas"``. Neither
  value set's coefficient table was read in its paper (see the data file); NICE
  does not recommend the England value set for its reference-case analyses
  :footcite:`nice2019eq5d5l`.

Missing items: no published prorating or imputation rule was found for the SF-MPQ,
SF-MPQ-2, LANSS, HAM-A or HAM-D 17 (the primary papers give none), so none is
applied. A total with any missing item is not computed; a subscale whose own items
are all present is still computed, because each subscale is reported as a score in
its own right in the source (the SF-MPQ sensory and affective indices, PPI and
VAS; the four SF-MPQ-2 subscales). The BPI interference score has a published rule
(the mean of the answered items, when at least 4 of 7 are answered), and it is
applied. The EQ-5D-5L index needs all five dimensions; a missing EQ VAS leaves the
index computed.

.. footbibliography::
"""

from __future__ import annotations

import functools
from enum import StrEnum
from importlib import resources

from ..utils import check_option
from ._constants import (
    BPI_INTERFERENCE_ITEMS,
    BPI_INTERFERENCE_MIN_ANSWERED,
    BPI_ITEM_MAX,
    EQ5D5L_LEVELS,
    EQ5D_DIMENSIONS,
    EQ_VAS_MAX,
    HAM_A_BANDS,
    HAM_A_ITEM_MAX,
    HAM_A_N_ITEMS,
    HAM_D17_BANDS,
    HAM_D17_ITEM_MAX,
    LANSS_NEUROPATHIC_CUTOFF,
    LANSS_WEIGHTS,
    NRS_MAX,
    PGIC_CATEGORIES,
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
    ValueSet,
)

__all__ = [
    "PainInstrument",
    "PainSite",
    "PainSummary",
    "get_scale",
    "list_scales",
    "load_value_sets",
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


def _pgic() -> ScaleDefinition:
    return ScaleDefinition(
        id="pgic",
        name="Patient Global Impression of Change (PGIC)",
        citation="Farrar et al., 2001",
        bib_key="farrar2001",
        items=(
            ItemDefinition(
                id="1",
                min=1,
                max=len(PGIC_CATEGORIES),
                integer=True,
                label="global impression of change since the start of treatment",
            ),
        ),
        total_items=("1",),
        total_aggregation=Aggregation.SUM,
        bands=tuple(
            Band(label=label, low=code)
            for code, label in enumerate(PGIC_CATEGORIES, start=1)
        ),
        band_citation="NINDS CDE, 2020",
        missing_rule="single item: a missing rating gives no score",
    )


#: Domain of each BPI-SF interference item (short names, not the item wording),
#: in the order general activity, mood, walking ability, normal work, relations
#: with other people, sleep, enjoyment of life (order as listed by secondary
#: sources; the letter of each domain is not verified against the form).
_BPI_LABELS = dict(
    zip(
        BPI_INTERFERENCE_ITEMS,
        (
            "general activity",
            "mood",
            "walking ability",
            "normal work",
            "relations with other people",
            "sleep",
            "enjoyment of life",
        ),
        strict=True,
    )
)


def _bpi_interference() -> ScaleDefinition:
    return ScaleDefinition(
        id="bpi_interference",
        name="Brief Pain Inventory (short form), pain interference",
        citation="Cleeland, 2009",
        bib_key="cleeland2009",
        items=tuple(
            ItemDefinition(
                id=i, min=0, max=BPI_ITEM_MAX, integer=True, label=_BPI_LABELS[i]
            )
            for i in BPI_INTERFERENCE_ITEMS
        ),
        total_items=BPI_INTERFERENCE_ITEMS,
        total_aggregation=Aggregation.MEAN,
        min_answered=BPI_INTERFERENCE_MIN_ANSWERED,
        missing_rule=(
            "the interference score is the mean of the answered items, computed "
            f"when at least {BPI_INTERFERENCE_MIN_ANSWERED} of "
            f"{len(BPI_INTERFERENCE_ITEMS)} are answered (BPI user guide)"
        ),
    )


_EQ5D_LABELS = {
    "MO": "mobility",
    "SC": "self-care",
    "UA": "usual activities",
    "PD": "pain/discomfort",
    "AD": "anxiety/depression",
}


def _eq5d5l(value_set: ValueSet) -> ScaleDefinition:
    return ScaleDefinition(
        id=f"eq5d5l_{value_set.id}",
        name=f"EQ-5D-5L index ({value_set.name}) and EQ VAS",
        citation=value_set.citation,
        bib_key=value_set.bib_key,
        items=(
            *(
                ItemDefinition(
                    id=d, min=1, max=EQ5D5L_LEVELS, integer=True, label=_EQ5D_LABELS[d]
                )
                for d in EQ5D_DIMENSIONS
            ),
            ItemDefinition(
                id="vas",
                min=0.0,
                max=EQ_VAS_MAX,
                integer=False,
                label="EQ VAS, self-rated health",
            ),
        ),
        total_items=EQ5D_DIMENSIONS,
        total_aggregation=Aggregation.VALUE_SET,
        value_set=value_set,
        subscales=(
            SubscaleDefinition(id="vas", items=("vas",), aggregation=Aggregation.SUM),
        ),
        missing_rule=(
            "the index needs all five dimensions: with any dimension missing it is "
            "not computed (nothing is imputed); the EQ VAS is reported on its own"
        ),
    )


def load_value_sets() -> tuple[ValueSet, ...]:
    """Load the EQ-5D-5L value sets shipped with plptms.

    Returns
    -------
    value_sets : tuple of ValueSet
        In file order, each with its citation and provenance.

    Raises
    ------
    plptms.utils.DataFileError
        If the shipped file cannot be parsed.
    pydantic.ValidationError
        If an entry is not a valid value set.
    """
    from ..utils import load_data_text

    raw = (
        resources.files("plptms.scales") / "data" / "eq5d5l_value_sets.yaml"
    ).read_bytes()
    data = load_data_text(
        raw, fmt="yaml", source="eq5d5l_value_sets.yaml", what="shipped value sets"
    )
    return tuple(ValueSet.model_validate(v) for v in data["value_sets"])


def _build() -> dict[str, ScaleDefinition]:
    scales = [
        _pain_intensity(instrument, site, summary)
        for instrument in PainInstrument
        for site in PainSite
        for summary in PainSummary
    ]
    scales += [_sf_mpq(), _sf_mpq2(), _lanss(), _ham_a(), _ham_d17()]
    scales += [_pgic(), _bpi_interference()]
    scales += [_eq5d5l(vs) for vs in load_value_sets()]
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
