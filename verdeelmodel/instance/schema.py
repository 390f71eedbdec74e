"""The instance format: every table, every column, its unit, range and default.

This module is the single manifest of the input (after Temoa's component manifest):
the loader, the validator and the generated documentation (docs/instance-format.md)
all read it. A row model is a pydantic class; ``Field(description=...)`` is the
column's documentation and ``json_schema_extra={"unit": ...}`` its unit.

All money is in whole euros (``_eur`` columns), never thousands of euros.
Every table has a ``source`` column naming a row of ``sources.csv``; a column
``source_<column>`` may override the source for one number of the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from verdeelmodel.models.manifest import FAMILY_NAMES, STAGE_NAMES, Stage
from verdeelmodel.models.rules import BASES, KIND_NAMES

Echelon = Literal["nulde_lijn", "basis", "specialist", "hoogspecialistisch"]
#: Order of echelons from light to heavy: substitution must go to a lighter one.
ECHELON_ORDER = {"nulde_lijn": 0, "basis": 1, "specialist": 2, "hoogspecialistisch": 3}
FundingForm = Literal["inspanning", "output", "taak"]
Scope = Literal["local", "regional"]
SourceKind = Literal["public", "derived", "assumption", "synthetic"]

_ID = dict(min_length=1, max_length=120)


def _unit(unit: str) -> dict:
    return {"unit": unit}


def _invalid(en: str, nl: str) -> ValueError:
    """A ValueError for a validator: its text (pydantic's message) in the language of the moment;
    ``.en`` (stable, what programs match on) and ``.nl`` carry both for the validator's report."""
    from verdeelmodel.fmt import t

    err = ValueError(t(nl, en))
    err.en, err.nl = en, nl
    return err


class Row(BaseModel):
    """Base for table rows: unknown columns are errors, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    source: str = Field(..., min_length=1, description="Key into sources.csv: where the numbers of this row come from.")


class SourceRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    source: str = Field(..., **_ID, description="Identifier used by the `source` columns of the other tables.")
    kind: SourceKind = Field(
        ...,
        description="public (published figure), derived (computed from public figures by a stated rule), assumption (a stated choice), synthetic (generated).",
    )
    description: str = Field(..., min_length=1, description="What the source is and, for derived or assumed numbers, the rule used.")
    reference: str = Field("", description="Citation: document, table, page or URL.")


class GemeenteRow(Row):
    gemeente: str = Field(..., **_ID, description="Name of the gemeente (as the CBS spells it).")
    inhabitants: int = Field(
        ..., gt=0, description="Inhabitants on 1 January of the instance year.", json_schema_extra=_unit("inhabitants")
    )
    available_reserve_eur: float = Field(
        0.0,
        ge=0,
        description="Part of the reserves earmarked for the social domain (e.g. a bestemmingsreserve sociaal domein): shown beside "
        "the social-domain risk, never rated on its own.",
        json_schema_extra=_unit("eur"),
    )
    weerstandscapaciteit_eur: float | None = Field(
        None,
        ge=0,
        description="Beschikbare weerstandscapaciteit of the whole begroting (paragraaf weerstandsvermogen): the ratio and the "
        "rating A-F are computed on it against the whole risk profile; blank = no rating.",
        json_schema_extra=_unit("eur"),
    )
    reserve_floor_eur: float = Field(
        0.0,
        ge=0,
        description="Floor the council sets for the reserve earmarked for the social domain (`available_reserve_eur` is its opening "
        "balance): a multi-year plan draws a tekort from the reserve down to this floor; what remains goes to the algemene middelen.",
        json_schema_extra=_unit("eur"),
    )
    cbs_code: str = Field("", description="CBS gemeentecode (GMxxxx), optional.")


class BudgetRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente (key into gemeenten).")
    domain: str = Field(..., **_ID, description="Domain (a key of `domains` in instance.yaml).")
    region: str = Field(
        ..., **_ID, description="Region the gemeente belongs to for this domain: the community that shares regional lots and pools risk."
    )
    budget_eur: float = Field(
        ..., ge=0, description="Integratie-uitkering (Rijk's money) for this gemeente and domain.", json_schema_extra=_unit("eur")
    )
    own_funds_eur: float = Field(0.0, ge=0, description="Own funds the gemeente adds to the domain budget.", json_schema_extra=_unit("eur"))


class PopulationRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente (key into gemeenten).")
    population: str = Field(
        ...,
        **_ID,
        description="Population name, unique within the gemeente: an area (wijk, gebied) or a target group (jeugd 0-18, Wmo 18+).",
    )
    kind: Literal["area", "target_group"] = Field("target_group", description="area or target_group.")
    inhabitants: int = Field(
        0,
        ge=0,
        description="Inhabitants of the population (used by the ingroeipad cap per inhabitant).",
        json_schema_extra=_unit("inhabitants"),
    )


class MaatstafRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente.")
    population: str = Field(..., **_ID, description="Population of that gemeente.")
    maatstaf: str = Field(..., **_ID, description="Distribution characteristic (e.g. jongeren_0_17, minderjarigen_laag_inkomen).")
    value: float = Field(
        ..., ge=0, description="Number of units of the maatstaf in the population.", json_schema_extra=_unit("units of the maatstaf")
    )


class BedragRow(Row):
    maatstaf: str = Field(..., **_ID, description="Maatstaf (key used in maatstaven).")
    domain: str = Field(..., **_ID, description="Domain whose reference budget the maatstaf feeds.")
    bedrag_eur: float = Field(
        ...,
        ge=0,
        description="Bedrag per eenheid: euros per unit of the maatstaf before the uitkeringsfactor.",
        json_schema_extra=_unit("eur per unit"),
    )


class HistoricalRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente.")
    population: str = Field(..., **_ID, description="Population of that gemeente.")
    domain: str = Field(..., **_ID, description="Domain.")
    historical_eur: float = Field(
        ...,
        ge=0,
        description="Historical spending (or budget) of the population in the domain; its share feeds the historical blend and the ingroeipad.",
        json_schema_extra=_unit("eur"),
    )


#: The Iv3 taakvelden of the sociaal domein a lot can be booked on (BBV, Iv3 2017+).
TAAKVELDEN = {
    "6.1": "Samenkracht en burgerparticipatie",
    "6.2": "Toegang en eerstelijnsvoorzieningen",
    "6.3": "Inkomensregelingen",
    "6.4": "Begeleide participatie",
    "6.5": "Arbeidsparticipatie",
    "6.6": "Maatwerkvoorzieningen (Wmo)",
    "6.71": "Maatwerkdienstverlening 18+",
    "6.72": "Maatwerkdienstverlening 18-",
    "6.81": "Geëscaleerde zorg 18+",
    "6.82": "Geëscaleerde zorg 18-",
}
Taakveld = Literal["6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.71", "6.72", "6.81", "6.82"]


class LotRow(Row):
    lot: str = Field(..., **_ID, description="Lot (perceel) identifier.")
    label: str = Field("", description="Business name shown in reports; defaults to `lot`.")
    domain: str = Field(..., **_ID, description="Domain of the lot.")
    echelon: Echelon = Field(..., description="nulde_lijn, basis, specialist or hoogspecialistisch (light to heavy).")
    funding_form: FundingForm = Field(
        ..., description="inspanning (price x volume), output (price per arrangement/trajectory) or taak (lumpsum)."
    )
    scope: Scope = Field(..., description="local (contracted per gemeente) or regional (contracted by the region).")
    tariff_eur: float = Field(
        ..., gt=0, description="Tariff in euros per unit; need in euros = volume x tariff.", json_schema_extra=_unit("eur per unit")
    )
    unit: str = Field(..., min_length=1, description="Unit of volume: hour, day, client_year, arrangement, trajectory, lumpsum ...")
    taakveld: Taakveld | None = Field(
        None,
        description="Iv3 taakveld the lot is booked on in the begroting (6.1 samenkracht, 6.2 toegang, 6.71/6.72 maatwerkdienstverlening "
        "18+/18-, 6.81/6.82 geëscaleerde zorg 18+/18-, ...): the meerjarenraming of `verdeelmodel plan` is per taakveld.",
    )
    priority_weight: float = Field(
        1.0, ge=0, description="Weight of one euro of unmet need of this (non-statutory) lot in the unmet stage of the objective."
    )
    statutory: bool = Field(
        False,
        description="A statutory task (wettelijke taak: jeugdhulp, Wmo maatwerk): its need is always provided in full; what the budget cannot "
        "carry is a tekort, care above a plafond a plafondoverschrijding. Non-statutory lots (prevention, algemene voorzieningen) may stay unfunded.",
    )
    category: str = Field("", description="Vierkant category of the lot (for vierkant goals); blank if none.")


class NeedRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente.")
    population: str = Field(..., **_ID, description="Population of that gemeente.")
    lot: str = Field(..., **_ID, description="Lot.")
    volume: float = Field(
        ...,
        ge=0,
        description="Expected volume in the lot's unit; need in euros = volume x tariff_eur.",
        json_schema_extra=_unit("lot unit"),
    )


class ProviderRow(Row):
    provider: str = Field(..., **_ID, description="Provider (aanbieder) identifier.")
    label: str = Field("", description="Business name; defaults to `provider`.")
    ceiling_eur: float | None = Field(
        None, ge=0, description="Plafond over all the provider's contracts; blank = none.", json_schema_extra=_unit("eur")
    )
    minimum_eur: float | None = Field(
        None, ge=0, description="Guaranteed minimum over all the provider's contracts; blank = none.", json_schema_extra=_unit("eur")
    )


class ContractRow(Row):
    provider: str = Field(..., **_ID, description="Provider.")
    lot: str = Field(..., **_ID, description="Lot contracted.")
    region: str = Field("", description="Region of a regional contract (blank when `gemeente` is given).")
    gemeente: str = Field("", description="Gemeente of a local contract (blank when `region` is given).")
    ceiling_eur: float | None = Field(
        None, ge=0, description="Plafond of the provider on this lot; blank = none.", json_schema_extra=_unit("eur")
    )
    minimum_eur: float | None = Field(
        None, ge=0, description="Guaranteed minimum of the provider on this lot; blank = none.", json_schema_extra=_unit("eur")
    )


class CeilingRow(Row):
    lot: str = Field(..., **_ID, description="Lot.")
    region: str = Field(
        "", description="Region: the limit applies to the lot's budget summed over the region (blank when `gemeente` is given)."
    )
    gemeente: str = Field(
        "", description="Gemeente: the limit applies to the lot's budget of this gemeente (blank when `region` is given)."
    )
    ceiling_eur: float | None = Field(None, ge=0, description="Plafond; blank = none.", json_schema_extra=_unit("eur"))
    minimum_eur: float | None = Field(
        None, ge=0, description="Guaranteed minimum (volume guarantee); blank = none.", json_schema_extra=_unit("eur")
    )


class SubstitutionRow(Row):
    from_lot: str = Field(..., **_ID, description="Heavier lot whose need can be replaced.")
    to_lot: str = Field(..., **_ID, description="Lighter lot that takes over.")
    ratio: float = Field(..., gt=0, description="rho: euros of heavier need one euro in the lighter lot replaces.")
    max_share: float = Field(..., ge=0, le=1, description="phi: at most this share of the heavier lot's need may be substituted.")
    gemeente: str = Field("", description="Only for this gemeente; blank = every gemeente.")
    population: str = Field("", description="Only for this population; blank = every population.")
    label: str = Field("", description="Business name of the option (e.g. expertiseschil).")


class GoalRow(Row):
    goal: Literal["basis_share", "specialist_reduction", "funded_share"] = Field(
        ...,
        description="basis_share: basis-echelon share of a population's domain budget >= value; specialist_reduction: specialist budget <= (1 - value) x baseline; "
        "funded_share: a protected minimum for non-statutory care (prevention, algemene voorzieningen) -- at least this share of the need of the "
        "non-statutory lots in scope (`lot`, or all of the domain) is funded, even where that adds to the tekort.",
    )
    domain: str = Field(..., **_ID, description="Domain.")
    value: float = Field(
        ..., ge=0, le=1, description="sigma (basis_share), delta (specialist_reduction) or the protected share (funded_share), as a share."
    )
    gemeente: str = Field("", description="Only for this gemeente; blank = every gemeente.")
    population: str = Field("", description="Only for this population; blank = every population.")
    lot: str = Field(
        "",
        description="funded_share: only this (non-statutory) lot; blank = every non-statutory lot of the domain. Blank for the other goals.",
    )
    baseline_eur: float | None = Field(
        None,
        ge=0,
        description="specialist_reduction baseline per population; blank = the population's specialist need.",
        json_schema_extra=_unit("eur"),
    )


class VierkantRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente.")
    population: str = Field("", description="Population; blank = every population of the gemeente.")
    domain: str = Field(..., **_ID, description="Domain of the lumpsum.")
    category: str = Field(..., **_ID, description="Category (lots.category); at most 4 per vierkant.")
    planned_share: float = Field(
        ..., ge=0, le=1, description="Planned share of the lumpsum for the category; shares of a vierkant add up to 1."
    )
    max_shift: float = Field(
        ..., ge=0, le=1, description="Allowed shift in share points (0.05 = the category may be 5 points above or below plan)."
    )


PoolingKind = Literal[KIND_NAMES]  # the registry of rule kinds, models/rules.py
KeyBasis = Literal[BASES]


class PoolingRuleRow(Row):
    rule: str = Field(..., **_ID, description="Rule name (used by pools.csv and by `verdeelmodel pool --rule`). `profijt` is built in.")
    kind: PoolingKind = Field(..., description=f"{', '.join(KIND_NAMES[:-1])} or {KIND_NAMES[-1]} (see docs/pooling.md).")
    basis: KeyBasis = Field(
        "inhabitants",
        description="Key for the shared part: inhabitants, iu (share of budgets.budget_eur), budget (budget + own funds), reference (reference allocation), history (use in earlier years, see `years`).",
    )
    years: int = Field(
        1, ge=1, le=10, description="N: years of use history averaged (uitgesteld_profijt, or basis=history); 1 = use in t-1."
    )
    history_measure: Literal["clients", "cost_eur"] = Field(
        "clients", description="What counts as use in the history: clients or cost_eur."
    )
    w_own: float = Field(0.0, ge=0, le=1, description="mixed: weight of the gemeente's own cost (profijt part).")
    w_inhabitants: float = Field(0.0, ge=0, le=1, description="mixed: weight of the inhabitants key.")
    w_iu: float = Field(0.0, ge=0, le=1, description="mixed: weight of the IU-share key.")
    w_budget: float = Field(0.0, ge=0, le=1, description="mixed: weight of the budget-share key.")
    w_reference: float = Field(0.0, ge=0, le=1, description="mixed: weight of the reference-allocation key.")
    w_history: float = Field(0.0, ge=0, le=1, description="mixed: weight of the use-history key (over `years`).")
    fixed_eur: float | None = Field(
        None,
        ge=0,
        description="vast_variabel: fixed costs of the pool per region (e.g. availability of beds), shared by the key on top of use.",
        json_schema_extra=_unit("eur"),
    )
    fixed_share: float | None = Field(
        None, ge=0, le=1, description="vast_variabel: alternatively, the share of the pooled cost that is fixed and shared by the key."
    )
    minimum_eur: float | None = Field(
        None, ge=0, description="onderbenutting: guaranteed minimum the region pays for the pool per year.", json_schema_extra=_unit("eur")
    )
    gap_basis: Literal["inhabitants", "budget", "surcharge"] = Field(
        "inhabitants",
        description="onderbenutting: the gap below the minimum is shared by inhabitants, by budget, or as an equal % surcharge on each gemeente's use.",
    )
    threshold_eur: float | None = Field(
        None,
        ge=0,
        description="high_cost_pool: H, the cost per client above which the pool pays.",
        json_schema_extra=_unit("eur per client"),
    )
    pool_share: float | None = Field(None, ge=0, le=1, description="high_cost_pool: q, the share of the cost above H the pool pays.")
    fund_threshold_eur_per_inhabitant: float | None = Field(
        None,
        ge=0,
        description="threshold_fund: X, the deficit per inhabitant above which a gemeente is compensated.",
        json_schema_extra=_unit("eur per inhabitant"),
    )
    fund_cap_eur: float | None = Field(
        None,
        ge=0,
        description="threshold_fund: size cap of the fund per region; claims above it are scaled pro rata. Blank = no cap.",
        json_schema_extra=_unit("eur"),
    )
    compensation_share: float = Field(
        1.0, ge=0, le=1, description="threshold_fund: share of the deficit above the threshold that is compensated."
    )
    label: str = Field("", description="Business name of the rule.")


class PoolRow(Row):
    region: str = Field(..., **_ID, description="Region whose gemeenten pool (a region of the lots' domain in budgets).")
    pool: str = Field(..., **_ID, description="Name of the pool (a lot or lot group), e.g. jeugdzorg_plus.")
    lots: str = Field(..., min_length=1, description="The lot, or lots separated by ';', whose cost is pooled; all of one domain.")
    rule: str = Field(..., **_ID, description="The agreed rule (a rule of pooling_rules.csv, or profijt).")


class UseHistoryRow(Row):
    gemeente: str = Field(..., **_ID, description="Gemeente.")
    lot: str = Field(..., **_ID, description="Lot.")
    year: int = Field(..., ge=2000, le=2100, description="Year of use.")
    clients: float = Field(..., ge=0, description="Clients (or client-years) in the year.", json_schema_extra=_unit("clients"))
    cost_eur: float = Field(0.0, ge=0, description="Cost in the year.", json_schema_extra=_unit("eur"))


class RealisedCostRow(Row):
    """A row of a realised-costs file for `verdeelmodel pool --costs` (not part of an instance)."""

    gemeente: str = Field(..., **_ID, description="Gemeente whose clients incurred the cost.")
    lot: str = Field(..., **_ID, description="Lot.")
    year: int = Field(..., ge=2000, le=2100, description="Year of the cost.")
    clients: float = Field(
        ...,
        ge=0,
        description="Clients on this row; one row per client is allowed (needed for an exact high-cost pool).",
        json_schema_extra=_unit("clients"),
    )
    cost_eur: float = Field(..., ge=0, description="Cost of these clients in the year.", json_schema_extra=_unit("eur"))
    source: str = Field("", description="Optional: where the figure comes from (e.g. the gemeente's administration).")


class YearRow(Row):
    """A year of the planning horizon (meerjarenraming): the first is the instance's year."""

    year: int = Field(..., ge=2015, le=2100, description="Year of the horizon: the instance year and the years after it, consecutive.")
    label: str = Field("", description="What the year is in the P&C cycle, e.g. begroting, raming.")
    blend_lambda: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Ingroeipad by blending: the objective model's weight in the reference allocation in that year (1 - lambda by "
        "historical share, needs historical.csv); blank = options.reference.blend_lambda.",
    )


class BudgetYearRow(Row):
    """Budget per gemeente and domain in a later year of the horizon (the instance year uses budgets.csv)."""

    gemeente: str = Field(..., **_ID, description="Gemeente (key into gemeenten).")
    domain: str = Field(..., **_ID, description="Domain.")
    year: int = Field(..., ge=2015, le=2100, description="A year of years.csv after the instance year.")
    budget_eur: float = Field(
        ..., ge=0, description="Integratie-uitkering (or algemene-uitkering share) in that year.", json_schema_extra=_unit("eur")
    )
    own_funds_eur: float = Field(0.0, ge=0, description="Own funds the gemeente adds in that year.", json_schema_extra=_unit("eur"))


class YearFactorRow(Row):
    """How tariffs and demand move in a later year, relative to the instance year (cumulative)."""

    year: int = Field(..., ge=2015, le=2100, description="A year of years.csv after the instance year.")
    target: str = Field(..., **_ID, description="A lot, a domain or * (all lots); the most specific row applies.")
    tariff_factor: float = Field(
        1.0, gt=0, description="Tariff relative to the instance year (loon- en prijsbijstelling, cumulative), e.g. 1.031."
    )
    demand_factor: float = Field(
        1.0, gt=0, description="Need relative to the instance year (growth, or the transformation's shift), e.g. 0.95."
    )


class ContractSumRow(Row):
    """A contract sum over several years of the horizon (a multi-year plafond): what a lot may
    cost in a region or a gemeente over those years together."""

    lot: str = Field(..., **_ID, description="Lot (key into lots).")
    region: str = Field("", description="Region the sum covers (or blank with a gemeente).")
    gemeente: str = Field("", description="Gemeente the sum covers (or blank with a region).")
    first_year: int = Field(..., ge=2015, le=2100, description="First year of the horizon the sum covers.")
    last_year: int = Field(..., ge=2015, le=2100, description="Last year it covers.")
    ceiling_eur: float = Field(
        ..., ge=0, description="The sum over those years, in euros as agreed (nominal).", json_schema_extra=_unit("eur")
    )


class ContractOptionRow(Row):
    """A funding form a lot may be contracted under in an area, with its price for risk
    (verdeelmodel contract). Options of one lot and area exclude each other: one is chosen."""

    lot: str = Field(..., **_ID, description="Lot (key into lots).")
    region: str = Field("", description="Region the contract covers (a regional lot), or blank with a gemeente.")
    gemeente: str = Field("", description="Gemeente the contract covers (a local lot), or blank with a region.")
    form: Literal["inspanning", "output", "taak", "corridor", "plafond"] = Field(
        ...,
        description="inspanning: tariff x units, the gemeente carries count and intensity risk; output: a price per client, the "
        "provider carries the intensity risk; taak: a lump sum for the population, the provider carries the volume risk; "
        "corridor: the expected cost is paid, the provider carries deviations within the band, beyond it they are shared; "
        "plafond (non-statutory lots only): tariff x units up to a plafond for the area, care above it waits (a waiting list, "
        "no tekort). On a non-statutory lot the other forms pay all demand (an open contract).",
    )
    variant: str = Field(
        "",
        max_length=120,
        description="A name that tells apart several options of one form for the lot and area (plafond levels, corridor "
        "bands, lump sums offered); blank when the form is offered once.",
    )
    current: bool = Field(False, description="The form in force today (at most one per lot and area; none marked: inspanning).")
    premium: float = Field(
        0.0,
        ge=0,
        le=1,
        description="The provider's loading for the risk it carries, on the expected cost of what it takes over (output: the "
        "price per client is the expected cost per client x (1 + premium); taak: the lump sum is the expected cost x (1 + premium)).",
    )
    lump_sum_eur: float | None = Field(
        None,
        ge=0,
        description="taak: a lump sum offered for the area (blank: expected cost x (1 + premium)).",
        json_schema_extra=_unit("eur"),
    )
    corridor_band: float = Field(
        0.1,
        ge=0,
        le=1,
        description="corridor: the band around the expected cost (a share of it) within which the provider carries deviations.",
    )
    corridor_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="corridor: the gemeente's share of overruns and savings beyond the band (the provider carries the rest).",
    )
    viability_floor: float = Field(
        0.9,
        ge=0,
        le=2,
        description="taak: a lump sum below this share of the expected cost is no real option (the provider would not survive it) and is never chosen.",
    )
    withheld_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="taak: the share of the lump sum withheld until the results are met (Alphen aan den Rijn: 0.05, seed 002).",
    )
    results_probability: float = Field(
        1.0,
        ge=0,
        le=1,
        description="taak: the probability that the results are met and the withheld share is paid (drawn per scenario).",
    )
    plafond_eur: float | None = Field(
        None,
        ge=0,
        description="plafond: the plafond for the area in euros; blank with plafond_share blank = what the plan funds on the lot "
        "in the area (the plafond the reserves assume for a non-statutory lot).",
        json_schema_extra=_unit("eur"),
    )
    plafond_share: float | None = Field(
        None,
        ge=0,
        le=10,
        description="plafond: the plafond as a share of what the plan funds on the lot in the area (instead of plafond_eur).",
    )
    waiting_list_weight: float = Field(
        1.0,
        ge=0,
        description="plafond: what a euro of care that waits counts for in the objective, in euros paid (1: as much as a euro "
        "paid; the council's valuation of the waiting list).",
    )


class RiskRow(Row):
    """A risk of the gemeente outside the modelled social domain (its risicoregister): it occurs
    with its probability in a scenario, independently, and then costs its amount, or a
    triangular draw between low, amount (most likely) and high."""

    gemeente: str = Field(..., **_ID, description="Gemeente (key into gemeenten).")
    risk: str = Field(..., **_ID, description="Name of the risk (grondexploitatie, garantstelling, ...).")
    amount_eur: float = Field(
        ..., gt=0, description="Amount when the risk occurs (the most likely amount).", json_schema_extra=_unit("eur")
    )
    probability: float = Field(..., gt=0, le=1, description="Probability that the risk occurs in the year.")
    low_eur: float | None = Field(
        None, ge=0, description="Lowest amount when it occurs; blank = the amount.", json_schema_extra=_unit("eur")
    )
    high_eur: float | None = Field(
        None, ge=0, description="Highest amount when it occurs; blank = the amount.", json_schema_extra=_unit("eur")
    )


class DemandRow(Row):
    """How demand for a lot fluctuates between scenarios (Monte Carlo)."""

    lot: str = Field(..., **_ID, description="Lot.")
    distribution: Literal["poisson", "negbin", "fixed"] = Field(
        "poisson", description="Client count around the expected volume: poisson, negbin (overdispersed) or fixed."
    )
    dispersion: float | None = Field(None, gt=0, description="negbin: size k (variance = mean + mean^2 / k); smaller k, wilder swings.")
    units_per_client: float = Field(
        1.0,
        gt=0,
        description="Volume units per client (e.g. hours per client per year); expected clients = volume / units_per_client.",
        json_schema_extra=_unit("lot units per client"),
    )
    cost_cv: float = Field(
        0.0,
        ge=0,
        le=5,
        description="Coefficient of variation of the cost per client (lognormal, mean = tariff x units_per_client); 0 = every client costs the mean. Use for high-cost lots.",
    )
    shock_sd: float = Field(
        0.0,
        ge=0,
        le=2,
        description="Standard deviation of a common shock on demand (lognormal multiplier with mean 1), shared by the gemeenten of a region in a scenario: correlation.",
    )
    intensity_sd: float = Field(
        0.0,
        ge=0,
        le=2,
        description="Standard deviation of a common shock on the cost per client (lognormal multiplier with mean 1), one per region and lot and scenario: "
        "the intensity or mix of arrangements drifting for everyone at once (the middelingsprincipe's risk: heavier arrangements used more raise the price per client).",
    )
    shock_scope: Literal["region", "lot", "none"] = Field(
        "region",
        description="region: one shock per region and scenario shared by the lots with a shock; lot: one per region, lot and scenario.",
    )
    shock_persistence: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Over a horizon of years: how much of a year's shock lasts into the next (AR(1) coefficient rho of the "
        "standard normal behind the shock: z_t = rho z_(t-1) + sqrt(1 - rho^2) e_t); 0 = independent years. Lots sharing a "
        "region shock use the mean of theirs.",
    )


@dataclass(frozen=True)
class TableSpec:
    name: str
    row: type[BaseModel]
    key: tuple[str, ...]
    required: bool
    doc: str
    doc_nl: str = ""  # the same in Dutch (messages about a missing table)


#: The manifest: every input table once, in load order.
TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "sources",
        SourceRow,
        ("source",),
        True,
        "Provenance of every number: one row per source, labelled public, derived, assumption or synthetic.",
        "Herkomst van elk getal: één rij per bron, gelabeld public, derived, assumption of synthetic.",
    ),
    TableSpec("gemeenten", GemeenteRow, ("gemeente",), True, "The gemeenten of the instance.", "De gemeenten van de instantie."),
    TableSpec(
        "budgets",
        BudgetRow,
        ("gemeente", "domain"),
        True,
        "Budget B per gemeente and domain, and the region per domain.",
        "Budget B per gemeente en domein, en de regio per domein.",
    ),
    TableSpec(
        "populations",
        PopulationRow,
        ("gemeente", "population"),
        True,
        "Populations per gemeente: areas or target groups.",
        "Populaties per gemeente: gebieden of doelgroepen.",
    ),
    TableSpec(
        "maatstaven",
        MaatstafRow,
        ("gemeente", "population", "maatstaf"),
        False,
        "Maatstaven per population: the reference allocation's characteristics.",
        "Maatstaven per populatie: de kenmerken van de referentieverdeling.",
    ),
    TableSpec(
        "bedragen",
        BedragRow,
        ("maatstaf", "domain"),
        False,
        "Bedrag per eenheid of each maatstaf per domain (Gemeentefonds arithmetic).",
        "Bedrag per eenheid van elke maatstaf per domein (rekenwijze van het Gemeentefonds).",
    ),
    TableSpec(
        "historical",
        HistoricalRow,
        ("gemeente", "population", "domain"),
        False,
        "Historical spending per population and domain (historical blend, ingroeipad).",
        "Historische uitgaven per populatie en domein (historische menging, ingroeipad).",
    ),
    TableSpec("lots", LotRow, ("lot",), True, "Lots (percelen).", "Percelen."),
    TableSpec(
        "need",
        NeedRow,
        ("gemeente", "population", "lot"),
        True,
        "Expected need per gemeente x population x lot, as volume.",
        "Verwachte behoefte per gemeente x populatie x perceel, als volume.",
    ),
    TableSpec(
        "providers",
        ProviderRow,
        ("provider",),
        False,
        "Providers (aanbieders) with their overall plafond and guaranteed minimum.",
        "Aanbieders met hun totale plafond en gegarandeerde minimum.",
    ),
    TableSpec(
        "contracts",
        ContractRow,
        ("provider", "lot", "region", "gemeente"),
        False,
        "Provider contracts per lot, per region or gemeente, with plafond and minimum.",
        "Contracten met aanbieders per perceel, per regio of gemeente, met plafond en minimum.",
    ),
    TableSpec(
        "ceilings",
        CeilingRow,
        ("lot", "region", "gemeente"),
        False,
        "Plafonds and guaranteed minimums per lot, per region or per gemeente.",
        "Plafonds en gegarandeerde minimums per perceel, per regio of per gemeente.",
    ),
    TableSpec(
        "substitutions",
        SubstitutionRow,
        ("from_lot", "to_lot", "gemeente", "population"),
        False,
        "Substitution options from a heavier to a lighter lot.",
        "Substitutiemogelijkheden van een zwaarder naar een lichter perceel.",
    ),
    TableSpec(
        "goals",
        GoalRow,
        ("goal", "domain", "gemeente", "population", "lot"),
        False,
        "Policy goals: basis share and specialist reduction (substitution), and protected minimums for non-statutory care (funded share).",
        "Beleidsdoelen: aandeel basis en vermindering specialistisch (substitutie), en beschermde minimums voor niet-wettelijke zorg (funded share).",
    ),
    TableSpec(
        "vierkant",
        VierkantRow,
        ("gemeente", "population", "domain", "category"),
        False,
        "Vierkant lumpsums: planned split over at most 4 categories with an allowed shift.",
        "Vierkant-lumpsums: geplande verdeling over hoogstens 4 categorieën met een toegestane verschuiving.",
    ),
    TableSpec(
        "pooling_rules",
        PoolingRuleRow,
        ("rule",),
        False,
        "Pooling rules (risicoverevening) with their parameters; `profijt` needs no row.",
        "Verdeelregels (risicoverevening) met hun parameters; `profijt` heeft geen rij nodig.",
    ),
    TableSpec(
        "pools",
        PoolRow,
        ("region", "pool"),
        False,
        "Which lots each region pools, and under which agreed rule.",
        "Welke percelen elke regio samen draagt (pool), en onder welke afgesproken verdeelregel.",
    ),
    TableSpec(
        "use_history",
        UseHistoryRow,
        ("gemeente", "lot", "year"),
        False,
        "Use in earlier years per gemeente and lot (uitgesteld profijt, history keys).",
        "Gebruik in eerdere jaren per gemeente en perceel (uitgesteld profijt, sleutels op historie).",
    ),
    TableSpec(
        "years",
        YearRow,
        ("year",),
        False,
        "The planning horizon (meerjarenraming): the instance year and the years after it.",
        "De planningshorizon (meerjarenraming): het jaar van de instantie en de jaren erna.",
    ),
    TableSpec(
        "budgets_by_year",
        BudgetYearRow,
        ("gemeente", "domain", "year"),
        False,
        "Budgets per gemeente and domain in the later years of the horizon.",
        "Budgetten per gemeente en domein in de latere jaren van de horizon.",
    ),
    TableSpec(
        "year_factors",
        YearFactorRow,
        ("year", "target"),
        False,
        "Tariff indexation and demand trend per later year of the horizon, per lot, domain or all lots.",
        "Tariefindexatie en trend in de vraag per later jaar van de horizon, per perceel, domein of voor alle percelen.",
    ),
    TableSpec(
        "contract_sums",
        ContractSumRow,
        ("lot", "region", "gemeente", "first_year"),
        False,
        "Contract sums over several years of the horizon (multi-year plafonds): they link the years into one model.",
        "Contractsommen over meerdere jaren van de horizon (meerjarige plafonds): ze verbinden de jaren tot één model.",
    ),
    TableSpec(
        "contract_options",
        ContractOptionRow,
        ("lot", "region", "gemeente", "form", "variant"),
        False,
        "Funding forms a lot may be contracted under, per area, with the provider's price for the risk it carries (verdeelmodel contract).",
        "Bekostigingsvormen waaronder een perceel kan worden ingekocht, per gebied, met de prijs van de aanbieder voor het risico dat hij draagt (verdeelmodel contract).",
    ),
    TableSpec(
        "risks",
        RiskRow,
        ("gemeente", "risk"),
        False,
        "The gemeente's other risks (risicoregister), for the whole risk profile of the paragraaf weerstandsvermogen.",
        "De overige risico's van de gemeente (risicoregister), voor het hele risicoprofiel van de paragraaf weerstandsvermogen.",
    ),
    TableSpec(
        "demand",
        DemandRow,
        ("lot",),
        False,
        "How demand per lot fluctuates in Monte Carlo scenarios; lots without a row: Poisson on volume as clients.",
        "Hoe de vraag per perceel schommelt in Monte Carlo-scenario's; percelen zonder rij: Poisson op het volume als cliënten.",
    ),
)
TABLE_BY_NAME = {t.name: t for t in TABLES}
COSTS_SPEC = TableSpec(
    "costs",
    RealisedCostRow,
    (),
    True,
    "Realised costs per gemeente, lot and year (rows per client allowed), for `verdeelmodel pool --costs`.",
    "Gerealiseerde kosten per gemeente, perceel en jaar (rijen per cliënt toegestaan), voor `verdeelmodel pool --costs`.",
)

#: Constraint families the instance can switch off in instance.yaml (options.families): the
#: formulation's manifest, models/manifest.py.
FAMILIES = FAMILY_NAMES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReferenceOptions(Strict):
    scale: Literal["domain", "region", "gemeente"] = Field(
        "region",
        description="Where the uitkeringsfactor scales the references to the money available: per domain over the whole instance, per region and domain, or per gemeente and domain (splitting each gemeente's IU over its populations).",
    )
    blend_lambda: float = Field(
        1.0,
        ge=0,
        le=1,
        description="lambda: weight of the objective model; 1 - lambda goes by historical share (needs historical.csv when < 1).",
    )
    ingroeipad_eur_per_inhabitant: float | None = Field(
        None,
        ge=0,
        description="Cap on the change of a population's reference against its historical amount, in euros per inhabitant per year (needs historical.csv); blank = no cap.",
    )


class ObjectiveOptions(Strict):
    mode: Literal["lexicographic", "weighted"] = Field(
        "lexicographic",
        description="lexicographic (default): tekort, plafondoverschrijding, unmet non-statutory need, reference deviation, spend, "
        "equal treatment, each kept while the next is optimised (docs/formulation.md). weighted: one linear objective with `weights` "
        "(no equal-treatment stage).",
    )
    tolerance_rel: float = Field(
        1e-9,
        ge=0,
        le=0.1,
        description="Each later stage keeps earlier stage objectives within opt + min(|opt| x tolerance_rel, tolerance_max_eur) "
        "+ tolerance_abs_eur.",
    )
    tolerance_abs_eur: float = Field(1e-6, ge=0, description="Absolute tolerance in euros for keeping earlier stages.")
    tolerance_max_eur: float = Field(
        0.01,
        ge=0,
        description="The most (in euros) a later stage may give up of an earlier optimum, however large: 1e-9 of a tekort of "
        "€ 10 bn would otherwise let € 10 move from statutory care to a later stage's goal.",
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: {s.value: s.default_weight for s in Stage},
        description="Weights of the weighted mode, per stage name.",
    )

    @field_validator("weights")
    @classmethod
    def _known_stages(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(STAGE_NAMES)
        if unknown:
            raise _invalid(
                f"unknown stage(s) {sorted(unknown)}; expected {', '.join(STAGE_NAMES)}",
                f"bekende fasen ({', '.join(STAGE_NAMES)}); onbekend: {sorted(unknown)}",
            )
        if any(not (0 <= w < float("inf")) for w in v.values()):  # also nan and inf
            raise _invalid("weights must be finite and >= 0", "eindige gewichten >= 0")
        return v


class Options(Strict):
    budget_scope: Literal["per_domain", "total"] = Field(
        "per_domain",
        description="per_domain: a budget constraint per gemeente and domain; total: one per gemeente over all domains (money may move between domains).",
    )
    reference: ReferenceOptions = Field(default_factory=ReferenceOptions)
    objective: ObjectiveOptions = Field(default_factory=ObjectiveOptions)
    families: dict[str, bool] = Field(default_factory=dict, description="Switch constraint families off (false) or on (true, the default).")

    @field_validator("families")
    @classmethod
    def _known_families(cls, v: dict[str, bool]) -> dict[str, bool]:
        unknown = set(v) - set(FAMILIES)
        if unknown:
            raise _invalid(
                f"unknown constraint families {sorted(unknown)}; expected some of {', '.join(FAMILIES)}",
                f"bekende families van restricties (een of meer van {', '.join(FAMILIES)}); onbekend: {sorted(unknown)}",
            )
        return v


class Units(Strict):
    money: Literal["EUR"] = Field("EUR", description="All amounts are whole euros; thousands of euros are not accepted.")


class InstanceMeta(Strict):
    name: str = Field(..., min_length=1, description="Short name; also the default output folder out/<name>.")
    year: int = Field(..., ge=2015, le=2100, description="Budget year the figures describe.")
    description: str = Field(..., min_length=1, description="What the instance represents, its main sources and what is assumed.")
    units: Units = Field(default_factory=Units)
    domains: dict[str, str] = Field(..., min_length=1, description="Domain keys with their labels, e.g. {jeugd: Jeugdhulp, wmo: Wmo 2015}.")
    synthetic: bool = Field(False, description="True when the instance is (partly) generated; reports say so.")
    options: Options = Field(default_factory=Options)

    @field_validator("name", "description")
    @classmethod
    def _plain_text(cls, v: str) -> str:
        """The name reaches the console, file names and reports: no control characters (terminal
        escapes), one Unicode spelling (NFC)."""
        import unicodedata

        v = unicodedata.normalize("NFC", v)
        from .problems import unsafe_char

        ctrl = unsafe_char(v)
        if ctrl is not None:
            raise _invalid(
                f"text without control characters (found U+{ord(ctrl):04X})", f"tekst zonder stuurtekens (gevonden: U+{ord(ctrl):04X})"
            )
        return v
