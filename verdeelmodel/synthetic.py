"""Synthetic national instance: 342 gemeenten in 42 regions (``instances/nl-synthetic``).

Every number this module writes is *synthetic*: generated from a seed, shaped only by
public orders of magnitude (about 17.9 million inhabitants in 342 gemeenten and 42
jeugdregio's, a few large cities, a median gemeente of about 28,000 inhabitants, a
jeugd integratie-uitkering of about EUR 3.9 bn and a Wmo one of about EUR 1.5 bn around
2018). Gemeenten, regions and providers have made-up names ("Gemeente 001", "Regio 01",
"Aanbieder 01-A") so that no synthetic number can be mistaken for a real gemeente's.

Use it to test scale (one national run, 42 independent regional problems) and the
reporting, never to draw conclusions about a real gemeente.

Risicoverevening: every region pools its two hoogspecialistisch lots (``pools.csv``) under
solidariteit, uitgesteld profijt or a mixed key (a third of the regions each, drawn per
pool); ``pooling_rules.csv`` also holds a high-cost pool and a threshold fund as candidate
rules, and ``use_history.csv`` the three years of use before the instance year.

Demand scenarios: ``demand.csv`` gives each lot's fluctuation for ``verdeelmodel reserves``
(client counts, cost per client, common regional shocks); the parameters are constants of
the generator (:data:`DEMAND`), the same in every region, so they draw no random numbers and
leave every other table unchanged.

Horizon (meerjarenraming): ``years.csv`` holds the instance year and three raming years.
``budgets_by_year.csv`` grows each domain's national IU by :data:`BUDGET_GROWTH` a year and splits
it in proportion to the instance-year budgets moved by a small random walk (its own stream, so no
other table changes); ``year_factors.csv`` indexes every tariff by :data:`TARIFF_INDEXATION` and
moves demand by :data:`DEMAND_GROWTH` per domain, less :data:`SPECIALIST_SHIFT` for the specialist
lots, the use history's growth for the pooled lots; ``lots.csv`` books each lot on an Iv3 taakveld
(:data:`TAAKVELD`) and ``demand.csv`` gives the common shocks a persistence over the years
(:data:`SHOCK_PERSISTENCE`), which single-year scenarios do not use.

Reproducibility: the same seed gives byte-identical files on every machine. Therefore

* random numbers come only from ``numpy.random.default_rng((seed, stage)).random()``
  (uniform doubles from PCG64, whose stream numpy keeps stable); normal variates are
  made from them by the inverse CDF of :class:`statistics.NormalDist` (pure Python)
  rather than by ``Generator.normal``/``lognormal``, whose algorithms numpy does not
  promise to keep across versions;
* arithmetic is scalar Python (``math``, ``math.fsum``), not numpy's SIMD loops, whose
  last bits may differ between CPUs;
* euros are rounded to whole euros, volumes and tariffs to cents, and written with an
  explicit format; rows are sorted; files are UTF-8 with ``\\n`` newlines.

Command line::

    python -m verdeelmodel.synthetic --seed 20260101 --out instances/nl-synthetic
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import pathlib
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_SEED = 20260101
INSTANCE_NAME = "nl-synthetic"
YEAR = 2018

N_GEMEENTEN = 342
N_REGIONS = 42
TOTAL_INHABITANTS = 17_900_000
#: The four large cities (about Amsterdam, Rotterdam, Den Haag, Utrecht in size only).
LARGE_CITIES = (930_000, 670_000, 600_000, 370_000)
MEDIAN_INHABITANTS = 28_000
#: Spread (log scale) of the sizes below the median; the spread above it is solved.
SIZE_SIGMA_LOW = 0.6
#: Above this size the lognormal tail is compressed as TAPER x (size / TAPER) ** POWER
#: (the Netherlands has no 400k city below the four large ones: the fifth is about 240k).
SIZE_TAPER = 120_000
SIZE_TAPER_POWER = 0.5
#: The two smallest gemeenten (Wadden-island-like), before a little jitter.
SMALLEST = (950, 1_200)
#: Gemeenten of at least this size are cut into areas instead of target groups.
AREA_THRESHOLDS = ((300_000, 4), (200_000, 3), (150_000, 2))

DOMAINS = {"jeugd": "Jeugdhulp (Jeugdwet)", "wmo": "Wmo 2015"}
#: National integratie-uitkering per domain (order of magnitude around 2018).
BUDGET_TOTAL_EUR = {"jeugd": 3_900_000_000, "wmo": 1_500_000_000}
#: National need over national budget: a deficit of a few percent.
NEED_OVER_BUDGET = {"jeugd": 1.045, "wmo": 1.035}
#: Gemeente-level lognormal spread of need against the objective reference.
GEMEENTE_NEED_SIGMA = {"jeugd": 0.09, "wmo": 0.07}
#: Weight of the objective reference in the budget; the rest follows historical need.
BUDGET_OBJECTIVE_WEIGHT = 0.75

#: Maatstaven and the share of the domain's money each one carries (gives the bedragen).
MAATSTAF_SHARES = {
    "jeugd": (("jongeren_0_17", 0.75), ("minderjarigen_laag_inkomen", 0.25)),
    "wmo": (("inwoners_18plus", 0.70), ("inwoners_65plus", 0.30)),
}


@dataclass(frozen=True)
class LotSpec:
    lot: str
    label: str
    domain: str
    echelon: str
    funding_form: str
    scope: str
    tariff_eur: float
    unit: str
    priority_weight: float
    statutory: bool
    need_share: float  # national share of the domain's need
    noise: float  # lot-level lognormal sigma for a 28k gemeente (scaled by size)


#: The lot catalogue, the same in every region. Tariffs are assumed orders of magnitude,
#: not a published tariff list: where the bundled nijmegen-2018 instance has the same
#: kind of lot its (equally assumed) tariff is used (wijkteam fte, begeleiding,
#: dagbesteding, specialistische begeleiding, behandeling, kortdurend verblijf); the
#: GGZ trajectory equals westfriesland-2021's light arrangement; jeugd verblijf lies
#: between nijmegen-2018's verblijf (48k) and Jeugdzorg Plus (175k) per client-year.
LOTS: tuple[LotSpec, ...] = (
    LotSpec(
        "jeugd_basis_wijkteam", "Jeugd - basis (wijkteam)", "jeugd", "basis", "taak", "local", 85_000.00, "fte", 1.0, False, 0.10, 0.06
    ),
    LotSpec("jeugd_begeleiding", "Jeugd - begeleiding", "jeugd", "basis", "inspanning", "local", 60.00, "hour", 1.0, True, 0.12, 0.08),
    LotSpec("jeugd_ggz", "Jeugd - GGZ", "jeugd", "specialist", "output", "regional", 3_900.00, "trajectory", 2.0, True, 0.13, 0.10),
    LotSpec(
        "jeugd_dagbesteding",
        "Jeugd - dagbesteding",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        48.00,
        "dagdeel",
        2.0,
        True,
        0.06,
        0.12,
    ),
    LotSpec(
        "jeugd_specialistische_begeleiding",
        "Jeugd - specialistische begeleiding",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        75.00,
        "hour",
        2.0,
        True,
        0.14,
        0.10,
    ),
    LotSpec(
        "jeugd_behandeling", "Jeugd - behandeling", "jeugd", "specialist", "inspanning", "regional", 95.00, "hour", 2.0, True, 0.13, 0.10
    ),
    LotSpec(
        "jeugd_kortdurend_verblijf",
        "Jeugd - kortdurend verblijf",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        160.00,
        "etmaal",
        2.0,
        True,
        0.05,
        0.20,
    ),
    LotSpec(
        "jeugd_verblijf_hoogspecialistisch",
        "Jeugd - verblijf / jeugdzorg plus (hoogspecialistisch)",
        "jeugd",
        "hoogspecialistisch",
        "output",
        "regional",
        80_000.00,
        "client_year",
        3.0,
        True,
        0.27,
        0.25,
    ),
    LotSpec(
        "wmo_basis",
        "Wmo - basis (wijkteam, algemene voorziening)",
        "wmo",
        "basis",
        "taak",
        "local",
        85_000.00,
        "fte",
        1.0,
        False,
        0.10,
        0.06,
    ),
    LotSpec(
        "wmo_huishoudelijke_ondersteuning",
        "Wmo - huishoudelijke ondersteuning",
        "wmo",
        "basis",
        "inspanning",
        "local",
        27.50,
        "hour",
        1.0,
        True,
        0.30,
        0.06,
    ),
    LotSpec("wmo_begeleiding", "Wmo - begeleiding", "wmo", "basis", "inspanning", "local", 55.00, "hour", 1.0, True, 0.22, 0.08),
    LotSpec("wmo_dagbesteding", "Wmo - dagbesteding", "wmo", "basis", "inspanning", "local", 42.00, "dagdeel", 1.0, True, 0.14, 0.08),
    LotSpec(
        "wmo_hulpmiddelen",
        "Wmo - hulpmiddelen en woonvoorzieningen",
        "wmo",
        "specialist",
        "output",
        "local",
        1_850.00,
        "voorziening",
        2.0,
        True,
        0.08,
        0.10,
    ),
    LotSpec(
        "wmo_specialistische_begeleiding",
        "Wmo - specialistische begeleiding",
        "wmo",
        "specialist",
        "inspanning",
        "regional",
        70.00,
        "hour",
        2.0,
        True,
        0.08,
        0.10,
    ),
    LotSpec(
        "wmo_beschermd_wonen",
        "Wmo - beschermd wonen (hoogspecialistisch)",
        "wmo",
        "hoogspecialistisch",
        "output",
        "regional",
        135.00,
        "etmaal",
        3.0,
        True,
        0.08,
        0.25,
    ),
)
LOT_BY_NAME = {lot.lot: lot for lot in LOTS}

#: Lots with provider contracts (region level) and lots with a regional ceiling/minimum.
CONTRACT_LOTS = ("jeugd_ggz", "wmo_specialistische_begeleiding")
#: (lot, kind, low, high, share of regions): plafond or guaranteed minimum as a fraction
#: of the region's need on the lot, drawn uniformly in [low, high].
REGION_LIMITS = (
    ("jeugd_specialistische_begeleiding", "ceiling", 0.92, 1.06, 1.0),
    ("jeugd_verblijf_hoogspecialistisch", "minimum", 0.60, 0.80, 1.0),
    ("jeugd_kortdurend_verblijf", "ceiling", 0.85, 1.05, 0.5),
    ("wmo_beschermd_wonen", "ceiling", 0.90, 1.08, 0.5),
)
#: The expertiseschil: GGZ specialists at GPs and schools replace referrals to jeugd-GGZ.
SUBSTITUTION = dict(
    from_lot="jeugd_ggz", to_lot="jeugd_basis_wijkteam", ratio=1.5, label="Expertiseschil (jeugd-GGZ-specialist bij huisarts en school)"
)

#: Risicoverevening: every region pools its hoogspecialistisch lots, one pool per lot.
POOLS = (
    ("jeugdzorg_plus_verblijf", "jeugd_verblijf_hoogspecialistisch"),
    ("beschermd_wonen", "wmo_beschermd_wonen"),
)
#: Lot units per client-year (use history counts clients as client-years).
UNITS_PER_CLIENT_YEAR = {"jeugd_verblijf_hoogspecialistisch": 1.0, "wmo_beschermd_wonen": 365.0}
#: Years of use history before the instance year.
HISTORY_YEARS = 3
#: Assumed yearly growth of the pooled lots' volume and yearly tariff indexation.
HISTORY_VOLUME_GROWTH = {"jeugd_verblijf_hoogspecialistisch": 0.03, "wmo_beschermd_wonen": 0.02}
HISTORY_PRICE_INDEX = 0.02
#: Year-on-year correlation of a gemeente's deviation from its expected use (AR(1)).
HISTORY_AR = 0.5
#: The pooling rules (PoolingRuleRow columns; blank ones take the schema default). The
#: high-cost threshold is lowered from the German Risikopool's EUR 100,000 to EUR 60,000 so
#: that it lies between a client-year of beschermd wonen (135 x 365 = 49,275) and one of jeugd
#: verblijf (80,000): with the generator's tariffs a 100,000 threshold would never be reached.
POOLING_RULES = (
    dict(
        rule="high_cost_pool",
        kind="high_cost_pool",
        basis="inhabitants",
        threshold_eur=60_000,
        pool_share=0.8,
        label="Hoge-kostenpool: 80 % van de kosten per client boven EUR 60.000, gedeeld naar inwoners",
    ),
    dict(
        rule="mixed", kind="mixed", w_own=0.5, w_inhabitants=0.5, label="Gemengde sleutel: 50 % eigen gebruik (profijt), 50 % naar inwoners"
    ),
    dict(rule="solidariteit", kind="solidariteit", basis="inhabitants", label="Solidariteit: totale kosten naar inwoners"),
    dict(
        rule="threshold_fund",
        kind="threshold_fund",
        basis="inhabitants",
        fund_threshold_eur_per_inhabitant=40,
        compensation_share=1.0,
        label="Tekortfonds: tekort boven EUR 40 per inwoner gecompenseerd, fonds gevuld naar inwoners",
    ),
    dict(
        rule="uitgesteld_profijt",
        kind="uitgesteld_profijt",
        basis="history",
        years=3,
        history_measure="clients",
        label="Uitgesteld profijt: naar gemiddeld aantal cliënten over de drie voorgaande jaren",
    ),
)
POOLING_RULE_COLUMNS = (
    "rule",
    "kind",
    "basis",
    "years",
    "history_measure",
    "w_own",
    "w_inhabitants",
    "w_iu",
    "w_budget",
    "w_reference",
    "w_history",
    "fixed_eur",
    "fixed_share",
    "minimum_eur",
    "gap_basis",
    "threshold_eur",
    "pool_share",
    "fund_threshold_eur_per_inhabitant",
    "fund_cap_eur",
    "compensation_share",
    "label",
)
#: The rules regions agree on, a third of the regions each (drawn per pool).
AGREED_RULES = ("solidariteit", "uitgesteld_profijt", "mixed")


@dataclass(frozen=True)
class DemandSpec:
    """One row of demand.csv (schema DemandRow) and the reason, for the README."""

    distribution: str  # poisson, negbin or fixed
    dispersion: float | None  # negbin size k
    units_per_client: float
    cost_cv: float
    shock_sd: float
    shock_scope: str  # region, lot or none
    why: str


#: sd of the one common shock per region on the client-driven specialist and basis lots. The
#: engine gives all lots with shock_scope region in a region one shared shock with one sd, so
#: every such lot carries this same value.
REGION_SHOCK_SD = 0.05
#: Demand fluctuation per lot (demand.csv), in the spirit of the bundled nijmegen-2018 and
#: westfriesland-2021 instances (same kinds of lot, same units per client where the lot is the
#: same). Lumpsum capacity (fte) is fixed: 0.01 fte is a technical unit so that the rounded
#: count reproduces the volume (given to cents) exactly. The pooled lots use the
#: UNITS_PER_CLIENT_YEAR of the use history. cost_cv is kept to the hoogspecialistisch lots:
#: at tens of thousands of clients a per-client spread adds little and would mean hundreds of
#: millions of lognormal draws per 1,000 scenarios.
DEMAND = {
    "jeugd_basis_wijkteam": DemandSpec("fixed", None, 0.01, 0.0, 0.0, "none", "fte capacity (taak): no volume risk in the budget year"),
    "jeugd_begeleiding": DemandSpec(
        "poisson", None, 80.0, 0.0, REGION_SHOCK_SD, "region", "80 hours per client a year (about 2 hours a week)"
    ),
    "jeugd_ggz": DemandSpec("poisson", None, 1.0, 0.0, REGION_SHOCK_SD, "region", "one trajectory per client, fixed price"),
    "jeugd_dagbesteding": DemandSpec(
        "poisson", None, 140.0, 0.0, REGION_SHOCK_SD, "region", "140 dagdelen per client a year (about 3 a week)"
    ),
    "jeugd_specialistische_begeleiding": DemandSpec("poisson", None, 100.0, 0.0, REGION_SHOCK_SD, "region", "100 hours per client a year"),
    "jeugd_behandeling": DemandSpec("poisson", None, 50.0, 0.0, REGION_SHOCK_SD, "region", "50 hours per client a year"),
    "jeugd_kortdurend_verblijf": DemandSpec(
        "poisson", None, 30.0, 0.0, REGION_SHOCK_SD, "region", "30 etmalen per client a year (logeren: a weekend a month)"
    ),
    "jeugd_verblijf_hoogspecialistisch": DemandSpec(
        "negbin",
        30.0,
        1.0,
        0.6,
        0.08,
        "lot",
        "one client per client-year; placements cluster (siblings, crises): k = 30, about 18 % swing beyond chance; cost spread 0.6 over pleegzorg, residential care and Jeugdzorg Plus; own shock 8 %",
    ),
    "wmo_basis": DemandSpec("fixed", None, 0.01, 0.0, 0.0, "none", "fte capacity (taak): no volume risk in the budget year"),
    "wmo_huishoudelijke_ondersteuning": DemandSpec(
        "poisson", None, 130.0, 0.0, REGION_SHOCK_SD, "region", "130 hours per client a year (about 2.5 hours a week)"
    ),
    "wmo_begeleiding": DemandSpec("poisson", None, 100.0, 0.0, REGION_SHOCK_SD, "region", "100 hours per client a year"),
    "wmo_dagbesteding": DemandSpec("poisson", None, 120.0, 0.0, REGION_SHOCK_SD, "region", "120 dagdelen per client a year (2.5 a week)"),
    "wmo_hulpmiddelen": DemandSpec("poisson", None, 1.0, 0.0, REGION_SHOCK_SD, "region", "one voorziening per client"),
    "wmo_specialistische_begeleiding": DemandSpec("poisson", None, 120.0, 0.0, REGION_SHOCK_SD, "region", "120 hours per client a year"),
    "wmo_beschermd_wonen": DemandSpec(
        "negbin",
        50.0,
        365.0,
        0.4,
        0.08,
        "lot",
        "365 etmalen per client (a client-year); k = 50, about 14 % swing beyond chance; cost spread 0.4 (intensity, part-year stays); own shock 8 %",
    ),
}
DEMAND_COLUMNS = ("lot", "distribution", "dispersion", "units_per_client", "cost_cv", "shock_sd", "shock_scope", "shock_persistence")
#: Over a horizon of years, how much of a year's common shock lasts into the next (demand.csv
#: shock_persistence, the AR(1) coefficient of the shock's normal), per shock_scope: the region
#: shock (a region's demand climate) lasts longer than a hoogspecialistisch lot's own shock
#: (waves of placements). Only year > first of a path uses it: single-year scenarios stay the same.
SHOCK_PERSISTENCE = {"region": 0.5, "lot": 0.3, "none": 0.0}

# --------------------------------------------------------------------------- horizon (meerjarenraming)

#: The planning horizon (years.csv): the instance year and three raming years.
HORIZON_LABELS = ("begroting", "raming", "raming", "raming")
HORIZON = tuple(range(YEAR, YEAR + len(HORIZON_LABELS)))
#: Yearly change of the national integratie-uitkering per domain (nominal, compounding on the
#: instance year's national total): the price compensation plus a little growth.
BUDGET_GROWTH = {"jeugd": 0.030, "wmo": 0.025}
#: sd of the yearly step of the random walk (log scale) that moves each gemeente's share of its
#: domain's national IU away from its instance-year share (herverdeling: new maatstaf figures).
BUDGET_SHARE_DRIFT_SD = 0.005
#: Tariff indexation per year (loon- en prijsbijstelling), the use history's price index.
TARIFF_INDEXATION = HISTORY_PRICE_INDEX
#: Yearly volume growth of demand per domain (the domain's rows: its basis lots).
DEMAND_GROWTH = {"jeugd": 0.020, "wmo": 0.015}
#: The transformation: a specialist lot grows this much a year less than its domain (care moves
#: to the basis). The pooled hoogspecialistisch lots continue the use history's
#: HISTORY_VOLUME_GROWTH instead.
SPECIALIST_SHIFT = 0.010
#: Iv3 taakveld per lot (BBV, Iv3 2017+): wijkteams and the Wmo algemene voorziening are
#: toegang en eerstelijnsvoorzieningen (6.2); ambulant jeugdhulp 6.72, Wmo begeleiding,
#: dagbesteding and huishoudelijke ondersteuning as maatwerk 6.71, Wmo hulpmiddelen and
#: woonvoorzieningen the material maatwerkvoorzieningen (6.6); jeugdhulp with verblijf (also
#: kortdurend verblijf) 6.82, beschermd wonen 6.81.
TAAKVELD = {
    "jeugd_basis_wijkteam": "6.2",
    "jeugd_begeleiding": "6.72",
    "jeugd_ggz": "6.72",
    "jeugd_dagbesteding": "6.72",
    "jeugd_specialistische_begeleiding": "6.72",
    "jeugd_behandeling": "6.72",
    "jeugd_kortdurend_verblijf": "6.82",
    "jeugd_verblijf_hoogspecialistisch": "6.82",
    "wmo_basis": "6.2",
    "wmo_huishoudelijke_ondersteuning": "6.71",
    "wmo_begeleiding": "6.71",
    "wmo_dagbesteding": "6.71",
    "wmo_hulpmiddelen": "6.6",
    "wmo_specialistische_begeleiding": "6.71",
    "wmo_beschermd_wonen": "6.81",
}

SOURCE = "synthetic"
_ND = statistics.NormalDist()


# --------------------------------------------------------------------------- random numbers


class _Stream:
    """Uniform and normal variates from one PCG64 stream (see the module docstring)."""

    def __init__(self, seed: int, stage: int) -> None:
        self._rng = np.random.default_rng((seed, stage))

    def uniform(self) -> float:
        return float(self._rng.random())

    def uniforms(self, n: int) -> list[float]:
        return [float(v) for v in self._rng.random(n)]

    def normal(self) -> float:
        u = min(max(self.uniform(), 1e-12), 1.0 - 1e-12)
        return _ND.inv_cdf(u)

    def shuffle(self, items: list) -> list:
        """Fisher-Yates with our own uniforms (independent of numpy's shuffle algorithm)."""
        items = list(items)
        for i in range(len(items) - 1, 0, -1):
            j = min(int(self.uniform() * (i + 1)), i)
            items[i], items[j] = items[j], items[i]
        return items


def _split_int(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer total in proportion to weights (largest remainder, ties by index)."""
    wsum = math.fsum(weights)
    exact = [total * w / wsum for w in weights]
    parts = [math.floor(e) for e in exact]
    rest = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def _round_down(value: float, step: int) -> int:
    return int(math.floor(value / step) * step)


# --------------------------------------------------------------------------- gemeenten and regions


def _other_sizes(s: _Stream) -> list[float]:
    """Sizes of the gemeenten other than the large cities, ascending, before rounding.

    Stratified quantiles of a two-piece lognormal around a median of 28k: spread
    SIZE_SIGMA_LOW below the median; above it a spread solved (by bisection) so that all
    gemeenten add up to the national total, with the tail compressed above SIZE_TAPER.
    The two smallest are set island-like.
    """
    n = N_GEMEENTEN - len(LARGE_CITIES)
    u = s.uniforms(n)
    z = [_ND.inv_cdf((i + u[i]) / n) for i in range(n)]
    islands = (SMALLEST[0] + 100 * s.uniform(), SMALLEST[1] + 200 * s.uniform())
    target = TOTAL_INHABITANTS - sum(LARGE_CITIES)

    def sizes(sigma_high: float) -> list[float]:
        raw = [MEDIAN_INHABITANTS * math.exp((SIZE_SIGMA_LOW if zi < 0 else sigma_high) * zi) for zi in z]
        raw = [r if r <= SIZE_TAPER else SIZE_TAPER * (r / SIZE_TAPER) ** SIZE_TAPER_POWER for r in raw]
        raw[0], raw[1] = islands
        return raw

    lo, hi = 0.2, 3.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if math.fsum(sizes(mid)) < target:
            lo = mid
        else:
            hi = mid
    return sizes(0.5 * (lo + hi))


def _gemeente_sizes(s: _Stream) -> list[int]:
    """All 342 sizes, descending, adding up to TOTAL_INHABITANTS exactly."""
    others = [int(round(v)) for v in _other_sizes(s)]
    others[-1] += TOTAL_INHABITANTS - sum(LARGE_CITIES) - sum(others)
    return sorted(list(LARGE_CITIES) + others, reverse=True)


def _region_sizes(s: _Stream) -> list[int]:
    """42 region sizes (number of gemeenten) between 2 and 20 adding up to 342."""
    u = s.uniforms(N_REGIONS)
    sizes = [min(20, max(2, int(round(7.3 * math.exp(0.5 * _ND.inv_cdf((i + u[i]) / N_REGIONS)))))) for i in range(N_REGIONS)]
    sizes[0] = 2
    while sum(sizes) != N_GEMEENTEN:
        step = 1 if sum(sizes) < N_GEMEENTEN else -1
        eligible = [i for i in range(1, N_REGIONS) if 2 < sizes[i] + step <= 20]
        sizes[eligible[min(int(s.uniform() * len(eligible)), len(eligible) - 1)]] += step
    return s.shuffle(sizes)


@dataclass
class Gemeente:
    name: str
    region: str
    inhabitants: int
    youths: int = 0
    adults: int = 0
    elderly: int = 0
    low_income_minors: int = 0
    reserve_eur: int = 0


@dataclass
class Population:
    gemeente: str
    name: str
    kind: str
    inhabitants: int
    maatstaven: dict  # maatstaf -> value
    domains: tuple[str, ...]


def _regions(seed: int) -> list[Gemeente]:
    """Gemeenten with their region: the 42 largest are the regions' central cities, 12
    regions get a second centre, the rest is spread at random. Regions are numbered by
    the size of their central city, gemeenten by region and size."""
    sizes = _gemeente_sizes(_Stream(seed, 1))
    s = _Stream(seed, 2)
    region_sizes = _region_sizes(s)
    members: list[list[int]] = [[r] for r in range(N_REGIONS)]  # indices into sizes (rank)
    second = [r for r in s.shuffle(list(range(N_REGIONS))) if region_sizes[r] >= 7][:12]
    for k, r in enumerate(second):
        members[r].append(N_REGIONS + k)
    slots = [r for r in range(N_REGIONS) for _ in range(region_sizes[r] - len(members[r]))]
    rest = s.shuffle(list(range(N_REGIONS + len(second), N_GEMEENTEN)))
    assert len(slots) == len(rest)
    for r, rank in zip(slots, rest):
        members[r].append(rank)
    order = sorted(range(N_REGIONS), key=lambda r: min(members[r]))
    gemeenten: list[Gemeente] = []
    for rnum, r in enumerate(order, start=1):
        for rank in sorted(members[r]):
            gemeenten.append(Gemeente(f"Gemeente {len(gemeenten) + 1:03d}", f"Regio {rnum:02d}", sizes[rank]))
    return gemeenten


def _demography(gemeenten: list[Gemeente], seed: int) -> None:
    """Youths 0-17, adults, 65+, low-income minors and the available reserve."""
    s = _Stream(seed, 3)
    for g in gemeenten:
        size_log = math.log(g.inhabitants / MEDIAN_INHABITANTS)
        youth_share = min(0.27, max(0.14, 0.196 - 0.004 * size_log + 0.015 * s.normal()))
        old_share = min(0.32, max(0.10, 0.205 - 0.025 * size_log + 0.025 * s.normal()))
        low_share = min(0.30, max(0.02, 0.075 * math.exp(0.25 * size_log + 0.30 * s.normal())))
        g.youths = int(round(g.inhabitants * youth_share))
        g.adults = g.inhabitants - g.youths
        g.elderly = min(g.adults, int(round(g.inhabitants * old_share)))
        g.low_income_minors = int(round(g.youths * low_share))
        # beschikbare weerstandscapaciteit for the social domain: EUR 35 per inhabitant, lognormal
        g.reserve_eur = _round_down(g.inhabitants * 35.0 * math.exp(0.6 * s.normal() - 0.18), 1_000)


def _populations(gemeenten: list[Gemeente], seed: int) -> list[Population]:
    """Target groups jeugd and wmo; large cities are cut into 2-4 areas instead."""
    s = _Stream(seed, 4)
    pops: list[Population] = []
    for g in gemeenten:
        n_areas = next((n for threshold, n in AREA_THRESHOLDS if g.inhabitants >= threshold), 0)
        if n_areas == 0:
            pops.append(
                Population(
                    g.name,
                    "jeugd",
                    "target_group",
                    g.youths,
                    {"jongeren_0_17": g.youths, "minderjarigen_laag_inkomen": g.low_income_minors},
                    ("jeugd",),
                )
            )
            pops.append(
                Population(g.name, "wmo", "target_group", g.adults, {"inwoners_18plus": g.adults, "inwoners_65plus": g.elderly}, ("wmo",))
            )
            continue
        weights = [1.0 + 0.6 * u for u in s.uniforms(n_areas)]
        inhabitants = _split_int(g.inhabitants, weights)
        youths = _split_int(g.youths, [w * math.exp(0.10 * s.normal()) for w in inhabitants])
        low = _split_int(g.low_income_minors, [y * math.exp(0.40 * s.normal()) for y in youths])
        elderly = _split_int(g.elderly, [w * math.exp(0.15 * s.normal()) for w in inhabitants])
        for a in range(n_areas):
            m = {
                "jongeren_0_17": youths[a],
                "minderjarigen_laag_inkomen": low[a],
                "inwoners_18plus": inhabitants[a] - youths[a],
                "inwoners_65plus": min(elderly[a], inhabitants[a] - youths[a]),
            }
            pops.append(Population(g.name, f"Gebied {a + 1}", "area", inhabitants[a], m, ("jeugd", "wmo")))
    return pops


# --------------------------------------------------------------------------- money


def _bedragen(pops: list[Population]) -> dict[tuple[str, str], float]:
    """Bedrag per eenheid so that the objective model spends the national budget
    (uitkeringsfactor about 1): share of the domain's money / national units."""
    out = {}
    for domain, shares in MAATSTAF_SHARES.items():
        for maatstaf, share in shares:
            units = math.fsum(p.maatstaven.get(maatstaf, 0) for p in pops)
            out[(maatstaf, domain)] = round(share * BUDGET_TOTAL_EUR[domain] / units, 2)
    return out


def _reference(pop: Population, domain: str, bedragen: dict) -> float:
    return math.fsum(pop.maatstaven.get(m, 0) * bedragen[(m, domain)] for m, _ in MAATSTAF_SHARES[domain])


def _need(gemeenten: list[Gemeente], pops: list[Population], bedragen: dict, seed: int) -> dict[tuple[str, str, str], float]:
    """Need volume per (gemeente, population, lot): the objective reference with a
    gemeente-level and a lot-level lognormal factor (wider for small gemeenten), each
    lot scaled to its national share of NEED_OVER_BUDGET x budget."""
    s = _Stream(seed, 5)
    eur: dict[tuple[str, str, str], float] = {}
    by_gemeente: dict[str, list[Population]] = {}
    for p in pops:
        by_gemeente.setdefault(p.gemeente, []).append(p)
    for g in gemeenten:
        gpops = by_gemeente[g.name]
        size_factor = (MEDIAN_INHABITANTS / g.inhabitants) ** 0.25
        for domain in DOMAINS:
            sigma = GEMEENTE_NEED_SIGMA[domain]
            g_factor = math.exp(sigma * s.normal() - 0.5 * sigma * sigma)
            dpops = [p for p in gpops if domain in p.domains]
            refs = [_reference(p, domain, bedragen) for p in dpops]
            for lot in LOTS:
                if lot.domain != domain:
                    continue
                sig = min(0.6, lot.noise * size_factor)
                l_factor = math.exp(sig * s.normal() - 0.5 * sig * sig)
                for p, ref in zip(dpops, refs):
                    a_factor = math.exp(0.08 * s.normal()) if len(dpops) > 1 else 1.0
                    eur[(g.name, p.name, lot.lot)] = ref * g_factor * l_factor * a_factor * lot.need_share
    volume: dict[tuple[str, str, str], float] = {}
    for lot in LOTS:
        keys = [k for k in eur if k[2] == lot.lot]
        target = lot.need_share * NEED_OVER_BUDGET[lot.domain] * BUDGET_TOTAL_EUR[lot.domain]
        scale = target / math.fsum(eur[k] for k in keys)
        for k in keys:
            volume[k] = round(eur[k] * scale / lot.tariff_eur, 2)
    return volume


def _need_eur(volume: dict) -> dict[tuple[str, str, str], float]:
    return {k: v * LOT_BY_NAME[k[2]].tariff_eur for k, v in volume.items()}


def _budgets(gemeenten, pops, bedragen, need_eur, seed) -> dict[tuple[str, str], tuple[int, int]]:
    """Budget (IU) per gemeente and domain: 75 % objective share, 25 % historical
    (need) share with a little noise; own funds for about one in five rows."""
    s = _Stream(seed, 6)
    by_gemeente: dict[str, list[Population]] = {}
    for p in pops:
        by_gemeente.setdefault(p.gemeente, []).append(p)
    need_gd: dict[tuple[str, str], float] = {}
    for (g, _p, lot), v in need_eur.items():
        key = (g, LOT_BY_NAME[lot].domain)
        need_gd[key] = need_gd.get(key, 0.0) + v
    out = {}
    for domain in DOMAINS:
        ref = {g.name: math.fsum(_reference(p, domain, bedragen) for p in by_gemeente[g.name] if domain in p.domains) for g in gemeenten}
        hist = {g.name: need_gd[(g.name, domain)] * math.exp(0.04 * s.normal()) for g in gemeenten}
        ref_sum, hist_sum = math.fsum(ref.values()), math.fsum(hist.values())
        for g in gemeenten:
            share = BUDGET_OBJECTIVE_WEIGHT * ref[g.name] / ref_sum + (1 - BUDGET_OBJECTIVE_WEIGHT) * hist[g.name] / hist_sum
            budget = int(round(share * BUDGET_TOTAL_EUR[domain]))
            own = _round_down(budget * (0.01 + 0.02 * s.uniform()), 1_000) if s.uniform() < 0.2 else 0
            out[(g.name, domain)] = (budget, own)
    return out


def _historical(pops, need_eur, seed) -> dict[tuple[str, str, str], int]:
    """Last year's spending per population and domain: 96 % of need, 5 % noise."""
    s = _Stream(seed, 7)
    tot: dict[tuple[str, str, str], float] = {}
    for (g, p, lot), v in need_eur.items():
        key = (g, p, LOT_BY_NAME[lot].domain)
        tot[key] = tot.get(key, 0.0) + v
    return {k: int(round(tot[k] * 0.96 * math.exp(0.05 * s.normal()))) for k in sorted(tot)}


def _region_need(gemeenten, need_eur) -> dict[tuple[str, str], float]:
    region = {g.name: g.region for g in gemeenten}
    out: dict[tuple[str, str], list[float]] = {}
    for (g, _p, lot), v in need_eur.items():
        out.setdefault((region[g], lot), []).append(v)
    return {k: math.fsum(v) for k, v in out.items()}


def _limits(regions: list[str], region_need, seed) -> list[dict]:
    """Regional plafonds and guaranteed minimums (CeilingRow) on 2-3 lots per region."""
    s = _Stream(seed, 8)
    rows = []
    for r in regions:
        for lot, kind, lo, hi, share in REGION_LIMITS:
            frac = lo + (hi - lo) * s.uniform()
            if s.uniform() >= share:
                continue
            need = region_need[(r, lot)]
            if kind == "ceiling":
                rows.append(dict(lot=lot, region=r, gemeente="", ceiling_eur=_round_down(need * frac, 1_000), minimum_eur=None))
            else:
                rows.append(dict(lot=lot, region=r, gemeente="", ceiling_eur=None, minimum_eur=_round_down(need * frac, 1_000)))
    return rows


def _providers(regions: list[str], region_need, seed) -> tuple[list[dict], list[dict]]:
    """A few providers per region with region-level contracts on CONTRACT_LOTS.

    Market shares are random; the contract plafonds add up to 95-115 % of the region's
    need on the lot (the largest provider sometimes has none). Raamcontracten for ambulant
    care give no volume guarantee (seed 001, ch. 5 advice 1), so contracts carry no minimum
    (the draw that once sized one is kept, so the other numbers stay as they were)."""
    s = _Stream(seed, 9)
    providers, contracts = [], []
    for r in regions:
        rnum = r.split()[-1]
        n_jeugd = 2 + min(int(3 * s.uniform()), 2)
        n_wmo = 2 + min(int(2 * s.uniform()), 1)
        shared = s.uniform() < 0.5  # one provider holds both lots
        ids = [f"Aanbieder {rnum}-{letter}" for letter in "ABCDEFGH"]
        jeugd_ids = ids[:n_jeugd]
        first_wmo = n_jeugd - 1 if shared else n_jeugd
        wmo_ids = ids[first_wmo : first_wmo + n_wmo]
        for pid in sorted(set(jeugd_ids) | set(wmo_ids)):
            providers.append(dict(provider=pid, label=f"Synthetische aanbieder {pid.split()[-1]}", ceiling_eur=None, minimum_eur=None))
        for lot, ids in zip(CONTRACT_LOTS, (jeugd_ids, wmo_ids)):
            need = region_need[(r, lot)]
            weights = [0.3 - math.log(1.0 - u) for u in s.uniforms(len(ids))]
            wsum = math.fsum(weights)
            cap_frac = 0.95 + 0.20 * s.uniform()
            _min_frac = 0.40 + 0.20 * s.uniform()  # no longer used: no volume guarantees
            no_cap = s.uniform() < 0.3
            largest = max(range(len(ids)), key=lambda i: (weights[i], -i))
            for i, pid in enumerate(ids):
                share = weights[i] / wsum
                ceiling = None if (no_cap and i == largest) else _round_down(share * need * cap_frac, 1_000)
                contracts.append(
                    dict(
                        provider=pid,
                        lot=lot,
                        region=r,
                        gemeente="",
                        ceiling_eur=ceiling,
                        minimum_eur=None,
                    )
                )
    return providers, contracts


def _substitutions(gemeenten, seed) -> list[dict]:
    """One expertiseschil option per gemeente; how far it reaches (max_share) varies."""
    s = _Stream(seed, 10)
    return [
        dict(
            from_lot=SUBSTITUTION["from_lot"],
            to_lot=SUBSTITUTION["to_lot"],
            ratio=SUBSTITUTION["ratio"],
            max_share=round(0.10 + 0.15 * s.uniform(), 2),
            gemeente=g.name,
            population="",
            label=SUBSTITUTION["label"],
        )
        for g in gemeenten
    ]


# --------------------------------------------------------------------------- risicoverevening


def _use_history(gemeenten, volume, seed) -> list[dict]:
    """Use of the pooled lots in the HISTORY_YEARS years before YEAR, per gemeente and lot.

    Expected clients (client-years) in year y: the gemeente's need volume of the instance year
    over UNITS_PER_CLIENT_YEAR, deflated by HISTORY_VOLUME_GROWTH per year back. Realised
    clients: expected x exp(sigma z_y - sigma^2 / 2) with z an AR(1) series over the years
    (correlation HISTORY_AR) and sigma = min(0.5, sqrt(0.05^2 + 1 / (n + 1))) for n expected
    clients, Poisson-like: small gemeenten swing most. Cost: clients x tariff per client-year
    (deflated by HISTORY_PRICE_INDEX per year) x a price factor exp(0.06 w - 0.0018)."""
    s = _Stream(seed, 11)
    lots = [lot for _pool, lot in POOLS]
    by_gl: dict[tuple[str, str], list[float]] = {}
    for (g, _p, lot), v in volume.items():
        if lot in lots:
            by_gl.setdefault((g, lot), []).append(v)
    years = list(range(YEAR - HISTORY_YEARS, YEAR))
    rows = []
    for g in sorted(gemeenten, key=lambda g: g.name):
        for lot in sorted(lots):
            spec = LOT_BY_NAME[lot]
            units = UNITS_PER_CLIENT_YEAR[lot]
            now = math.fsum(by_gl.get((g.name, lot), [])) / units
            z = s.normal()
            for k, y in enumerate(years):
                if k:
                    z = HISTORY_AR * z + math.sqrt(1.0 - HISTORY_AR * HISTORY_AR) * s.normal()
                back = YEAR - y
                expected = now / (1.0 + HISTORY_VOLUME_GROWTH[lot]) ** back
                sigma = min(0.5, math.sqrt(0.05 * 0.05 + 1.0 / (expected + 1.0)))
                clients = round(expected * math.exp(sigma * z - 0.5 * sigma * sigma), 2)
                price = spec.tariff_eur * units / (1.0 + HISTORY_PRICE_INDEX) ** back * math.exp(0.06 * s.normal() - 0.0018)
                rows.append(dict(gemeente=g.name, lot=lot, year=y, clients=clients, cost_eur=int(round(clients * price))))
    return rows


def _pools(regions: list[str], seed: int) -> list[dict]:
    """One pool per hoogspecialistisch lot in every region; the agreed rule is drawn per pool
    so that each of AGREED_RULES is agreed in a third of the regions (a shuffled balanced list)."""
    s = _Stream(seed, 12)
    rows = []
    for pool, lot in POOLS:
        balanced = [AGREED_RULES[i % len(AGREED_RULES)] for i in range(len(regions))]
        for r, rule in zip(regions, s.shuffle(balanced)):
            rows.append(dict(region=r, pool=pool, lots=lot, rule=rule))
    return rows


#: Contract options (verdeelmodel contract) per region: (lot, forms). The pooled lots' forms go
#: through the region's pool (its agreed rule is affine in the cost).
CONTRACT_OPTIONS = (
    ("jeugd_ggz", ("inspanning", "output", "taak")),
    ("jeugd_specialistische_begeleiding", ("inspanning", "output", "corridor")),
    ("wmo_specialistische_begeleiding", ("inspanning", "output", "taak")),
    ("jeugd_verblijf_hoogspecialistisch", ("output", "taak")),
    ("wmo_beschermd_wonen", ("output", "corridor")),
)
#: The provider's premium per form, drawn uniformly in [low, high] per region and lot.
PREMIUM_RANGE = {"inspanning": (0.0, 0.0), "output": (0.02, 0.05), "taak": (0.05, 0.10), "corridor": (0.01, 0.03)}


def _contract_options(regions: list[str], seed: int) -> list[dict]:
    """Contract options per region: the lot's funding form today (lots.csv) and the other forms
    with a provider premium drawn in PREMIUM_RANGE; a lump sum at the expected cost x (1 +
    premium), viability floor 0.9; corridors with a 10 % band and half shared beyond it."""
    s = _Stream(seed, 14)
    rows = []
    for r in regions:
        for lot, forms in CONTRACT_OPTIONS:
            today = LOT_BY_NAME[lot].funding_form if LOT_BY_NAME[lot].funding_form in forms else forms[0]
            for form in forms:
                low, high = PREMIUM_RANGE[form]
                premium = round(low + (high - low) * s.uniform(), 2) if high > low else 0.0
                rows.append(
                    dict(
                        lot=lot,
                        region=r,
                        gemeente="",
                        form=form,
                        current=form == today,
                        premium=premium,
                        corridor_band=0.1 if form == "corridor" else None,
                        corridor_share=0.5 if form == "corridor" else None,
                        viability_floor=0.9 if form == "taak" else None,
                    )
                )
    return rows


def _pooling_rule_rows() -> list[list]:
    return [[rule.get(c) for c in POOLING_RULE_COLUMNS] for rule in sorted(POOLING_RULES, key=lambda r: r["rule"])]


# --------------------------------------------------------------------------- horizon


def _budgets_by_year(gemeenten, budgets, seed) -> list[dict]:
    """Budget per gemeente and domain in the later years of HORIZON (BudgetYearRow).

    The national IU of domain d in year YEAR + k is the instance year's national total x
    (1 + BUDGET_GROWTH[d]) ** k, rounded to whole euros. It is split over the gemeenten in
    proportion to budget_2018 x exp(w), w a random walk per gemeente and domain (w_0 = 0, steps
    BUDGET_SHARE_DRIFT_SD x z), by largest remainder, so the national total is exact and a
    gemeente's share drifts a little each year. Own funds stay at their instance-year amount."""
    s = _Stream(seed, 13)
    names = sorted(g.name for g in gemeenten)
    rows = []
    for d in sorted(DOMAINS):
        base = [budgets[(g, d)][0] for g in names]
        national = sum(base)
        walk = [0.0] * len(names)
        for k, year in enumerate(HORIZON[1:], start=1):
            walk = [w + BUDGET_SHARE_DRIFT_SD * s.normal() for w in walk]
            total = int(round(national * (1.0 + BUDGET_GROWTH[d]) ** k))
            amounts = _split_int(total, [b * math.exp(w) for b, w in zip(base, walk)])
            for g, amount in zip(names, amounts):
                rows.append(dict(gemeente=g, domain=d, year=year, budget_eur=amount, own_funds_eur=budgets[(g, d)][1]))
    return sorted(rows, key=lambda r: (r["gemeente"], r["domain"], r["year"]))


def _cumulative(rate: float, k: int) -> float:
    """(1 + rate) ** k, rounded to 4 decimals (as written in year_factors.csv)."""
    return round((1.0 + round(rate, 6)) ** k, 4)


def _lot_growth(lot: LotSpec) -> float | None:
    """A lot's own yearly demand growth, or None when it follows its domain (the basis lots)."""
    if lot.lot in HISTORY_VOLUME_GROWTH:
        return HISTORY_VOLUME_GROWTH[lot.lot]
    if lot.echelon == "specialist":
        return DEMAND_GROWTH[lot.domain] - SPECIALIST_SHIFT
    return None


def _year_factors() -> list[dict]:
    """Tariff and demand factors per later year of HORIZON (YearFactorRow), cumulative against
    YEAR: every row carries the tariff indexation (the most specific row gives both factors);
    `*` no demand change, a domain its DEMAND_GROWTH, a specialist or pooled lot its own."""
    rows = []
    for k, year in enumerate(HORIZON[1:], start=1):
        tf = _cumulative(TARIFF_INDEXATION, k)
        rows.append(dict(year=year, target="*", tariff_factor=tf, demand_factor=1.0))
        for d in DOMAINS:
            rows.append(dict(year=year, target=d, tariff_factor=tf, demand_factor=_cumulative(DEMAND_GROWTH[d], k)))
        for lot in LOTS:
            g = _lot_growth(lot)
            if g is not None:
                rows.append(dict(year=year, target=lot.lot, tariff_factor=tf, demand_factor=_cumulative(g, k)))
    return sorted(rows, key=lambda r: (r["year"], r["target"]))


def _factors_of(year_factors: list[dict], year: int, lot: LotSpec) -> tuple[float, float]:
    """(tariff, demand) factor of a lot in a later year: the lot's row, else its domain's, else *."""
    rows = {r["target"]: r for r in year_factors if r["year"] == year}
    r = rows.get(lot.lot) or rows.get(lot.domain) or rows["*"]
    return r["tariff_factor"], r["demand_factor"]


# --------------------------------------------------------------------------- checks


def _check(gemeenten, budgets, region_need, ceilings, contracts) -> None:
    """Feasibility: every guaranteed minimum fits under its plafond, and the regional
    minimums of a domain fit in the region's budget of that domain."""
    region_budget: dict[tuple[str, str], int] = {}
    for g in gemeenten:
        for d in DOMAINS:
            key = (g.region, d)
            region_budget[key] = region_budget.get(key, 0) + budgets[(g.name, d)][0]
    minimums: dict[tuple[str, str], float] = {}
    for row in ceilings:
        if row["ceiling_eur"] is not None and row["minimum_eur"] is not None:
            assert row["minimum_eur"] <= row["ceiling_eur"], row
        if row["minimum_eur"] is not None:
            key = (row["region"], LOT_BY_NAME[row["lot"]].domain)
            minimums[key] = minimums.get(key, 0) + row["minimum_eur"]
            assert row["minimum_eur"] <= region_need[(row["region"], row["lot"])], row
    limited = {(row["region"], row["lot"]) for row in ceilings}
    for row in contracts:
        assert (row["region"], row["lot"]) not in limited, "contract lot has a regional limit too"
        if row["minimum_eur"] is None:
            continue
        if row["ceiling_eur"] is not None:
            assert row["minimum_eur"] <= row["ceiling_eur"], row
        key = (row["region"], LOT_BY_NAME[row["lot"]].domain)
        minimums[key] = minimums.get(key, 0) + row["minimum_eur"]
    for key, m in minimums.items():
        assert m <= 0.5 * region_budget[key], (key, m, region_budget[key])


def _check_pooling(gemeenten, regions, use_history, pools) -> None:
    """Every region pools every POOLS lot under one of AGREED_RULES, and every member gemeente
    has use history in each of the HISTORY_YEARS years (uitgesteld profijt needs them all)."""
    assert {(r["region"], r["lots"]) for r in pools} == {(r, lot) for r in regions for _p, lot in POOLS}
    assert all(r["rule"] in AGREED_RULES for r in pools)
    keys = {(r["gemeente"], r["lot"], r["year"]) for r in use_history}
    assert keys == {(g.name, lot, y) for g in gemeenten for _p, lot in POOLS for y in range(YEAR - HISTORY_YEARS, YEAR)}
    per_region: dict[tuple[str, str], float] = {}
    region = {g.name: g.region for g in gemeenten}
    for r in use_history:
        key = (region[r["gemeente"]], r["lot"])
        per_region[key] = per_region.get(key, 0.0) + r["clients"]
    assert all(v > 0 for v in per_region.values()), "a region without use: the history key has no shares"


def _check_demand() -> None:
    """demand.csv has a row per lot; the pooled lots count clients as the use history does;
    every region-scope shock has the same sd (the engine shares one shock per region)."""
    assert set(DEMAND) == set(LOT_BY_NAME)
    for lot, units in UNITS_PER_CLIENT_YEAR.items():
        assert DEMAND[lot].units_per_client == units, lot
    assert {d.shock_sd for d in DEMAND.values() if d.shock_scope == "region"} == {REGION_SHOCK_SD}
    for d in DEMAND.values():
        assert (d.dispersion is not None) == (d.distribution == "negbin")
        assert (d.shock_sd > 0) == (d.shock_scope != "none")
    assert all(0.0 <= rho < 1.0 for rho in SHOCK_PERSISTENCE.values()) and SHOCK_PERSISTENCE["none"] == 0.0


def _check_horizon(gemeenten, budgets, budgets_by_year, year_factors) -> None:
    """Every budget row in every later year, the national IU growing by BUDGET_GROWTH; every
    lot has an Iv3 taakveld of the schema; the factors are positive."""
    from verdeelmodel.instance.schema import TAAKVELDEN

    assert len(HORIZON_LABELS) == len(HORIZON) and HORIZON[0] == YEAR
    assert set(TAAKVELD) == set(LOT_BY_NAME) and set(TAAKVELD.values()) <= set(TAAKVELDEN)
    keys = {(r["gemeente"], r["domain"], r["year"]) for r in budgets_by_year}
    assert keys == {(g.name, d, y) for g in gemeenten for d in DOMAINS for y in HORIZON[1:]}
    assert len(keys) == len(budgets_by_year)
    for d in DOMAINS:
        national = sum(budgets[(g.name, d)][0] for g in gemeenten)
        for k, y in enumerate(HORIZON[1:], start=1):
            total = sum(r["budget_eur"] for r in budgets_by_year if r["domain"] == d and r["year"] == y)
            assert total == int(round(national * (1.0 + BUDGET_GROWTH[d]) ** k)), (d, y)
    assert all(r["budget_eur"] > 0 for r in budgets_by_year)
    assert all(r["tariff_factor"] > 0 and r["demand_factor"] > 0 for r in year_factors)
    assert {r["year"] for r in year_factors} == set(HORIZON[1:])


# --------------------------------------------------------------------------- writing


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.2f}"
        return "0.00" if text == "-0.00" else text
    return str(value)


def _csv(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for row in rows:
        w.writerow([_fmt(v) for v in row])
    return buf.getvalue()


def _write(path: pathlib.Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _dict_rows(rows: list[dict], header: Sequence[str], key: Sequence[str]) -> list[list]:
    return [[r[c] for c in header] for r in sorted(rows, key=lambda r: tuple(r[k] for k in key))]


def _instance_yaml(seed: int) -> str:
    return f"""name: {INSTANCE_NAME}
year: {YEAR}
description: >
  SYNTHETIC national instance, generated by verdeelmodel.synthetic with seed {seed}:
  {N_GEMEENTEN} made-up gemeenten ("Gemeente 001" ...) in {N_REGIONS} made-up regions
  ("Regio 01" ...), about {TOTAL_INHABITANTS / 1e6:.1f} million inhabitants, 15 lots (8 jeugd,
  7 wmo) with assumed tariffs, need a few percent above the integratie-uitkering in
  most gemeenten. Only the orders of magnitude follow public figures (number of
  gemeenten and jeugdregio's, inhabitants, size of the largest cities, IU jeugd about
  EUR 3.9 bn and Wmo about EUR 1.5 bn around 2018); no number describes a real
  gemeente, region or provider. Every region pools its two hoogspecialistisch lots
  (risicoverevening) under solidariteit, uitgesteld profijt or a mixed key, with
  {HISTORY_YEARS} years of synthetic use history. Use it to test scale and reports, not
  for policy.
units: {{money: EUR}}
domains: {{jeugd: {DOMAINS["jeugd"]}, wmo: {DOMAINS["wmo"]}}}
synthetic: true
options:
  budget_scope: per_domain
  reference: {{scale: region, blend_lambda: 1.0}}
  objective: {{mode: lexicographic}}
"""


def _source_row(seed: int) -> list[str]:
    description = (
        f"Generated by verdeelmodel.synthetic.generate(seed={seed}); every number of this instance is synthetic. "
        "Gemeente sizes: stratified quantiles of a two-piece lognormal (median 28,000, sigma 0.6 below the median, above it a sigma solved to reach the total, tail compressed above 120,000) "
        "plus four large cities of 930k, 670k, 600k and 370k and two island-like gemeenten of about 1,000, scaled to 17.9 million. "
        "Regions: the 42 largest gemeenten are the central cities, 12 regions get a second centre, the rest is assigned at random; 2 to 20 gemeenten per region. "
        "Demography: youths about 19.6 %, 65+ about 20.5 % (fewer in large cities), low-income minors about 7.5 % of youths (more in large cities), with noise. "
        "Bedragen: 75 % of the jeugd money by youths and 25 % by low-income minors, 70 % of the wmo money by inhabitants 18+ and 30 % by 65+ (uitkeringsfactor about 1). "
        "Budgets: 75 % objective share and 25 % historical share of the national IU. "
        "Need: objective reference x gemeente lognormal factor (sigma 0.09 jeugd, 0.07 wmo) x lot lognormal factor, scaled so national need is 4.5 % (jeugd) and 3.5 % (wmo) above the budget; "
        "Lot shares, tariffs, plafonds, minimums, contracts, reserves and the expertiseschil are assumptions of the generator; "
        "contract options (verdeelmodel contract) on five lots per region, today's form as lots.csv gives it, provider premiums drawn per region and lot: "
        "output 2-5 %, taak 5-10 % (lump sum at the expected cost plus premium, viability floor 0.9), corridor 1-3 % (band 10 %, half shared beyond it); "
        "tariffs reuse the (equally assumed) tariffs of the bundled nijmegen-2018 instance where the lot is of the same kind. "
        f"Risicoverevening (assumed): every region pools its two hoogspecialistisch lots (one pool per lot); the agreed rule is drawn per pool so that solidariteit, uitgesteld profijt and a mixed key are each agreed in a third of the regions; "
        f"rule parameters: solidariteit by inhabitants, uitgesteld profijt by clients averaged over {HISTORY_YEARS} years, mixed 50 % own use and 50 % inhabitants, high-cost pool 80 % above EUR 60,000 per client-year (the German anchor's EUR 100,000 lowered to this instance's tariffs), threshold fund above EUR 40 per inhabitant. "
        f"Use history {YEAR - HISTORY_YEARS}-{YEAR - 1} of the pooled lots: the need volume in client-years, deflated by 3 % (jeugd verblijf) or 2 % (beschermd wonen) volume growth and 2 % price indexation per year back, "
        "with AR(1) year-on-year noise (correlation 0.5, Poisson-like spread: larger for small gemeenten) on clients and 6 % lognormal noise on the cost per client."
    )
    reference = (
        "Orders of magnitude only, not reproduced figures: CBS StatLine population by gemeente (about 17.9 million inhabitants in 342 gemeenten, 2024); "
        "the 42 jeugdzorgregio's; Gemeentefonds circulaires (integratie-uitkering sociaal domein around 2018: jeugd about EUR 3.9 bn, Wmo about EUR 1.5 bn for the decentralised parts). "
        "Pooling rule kinds after 'Sturing en bekostiging in het sociale domein, een stoomcursus voor bestuurders' (voorjaar 2014, section risicoverevening: solidariteit, profijt, uitgesteld profijt); "
        "parameter anchors only: Noordoost-Brabant's 3-year client average for care with accommodation, Germany's Risikopool (80 % above EUR 100,000), Fonds tekortgemeenten 2018 (EUR 40 per inhabitant). "
        "Code: verdeelmodel/synthetic.py."
    )
    return [SOURCE, "synthetic", description, reference]


def _readme(
    seed: int, gemeenten, region_sizes, budgets, need_by_domain, deficits, counts, pools, use_history, volume, budgets_by_year, year_factors
) -> str:
    sizes = sorted(g.inhabitants for g in gemeenten)
    median = statistics.median(sizes)
    lines = [
        f"# {INSTANCE_NAME}: synthetic national instance (seed {seed})",
        "",
        "**Every number in this folder is synthetic.** The instance is generated by",
        f"`python -m verdeelmodel.synthetic --seed {seed} --out instances/{INSTANCE_NAME}`; the same seed",
        "gives byte-identical files (tests/test_synthetic.py checks this). Gemeenten, regions and",
        "providers have made-up names so that no number can be read as a real gemeente's.",
        "",
        "It has the shape of the Netherlands: "
        f"{N_GEMEENTEN} gemeenten in {N_REGIONS} regions (like the jeugdzorgregio's), {sum(sizes):,} inhabitants, "
        f"median gemeente {median:,.0f}, smallest {sizes[0]:,}, largest {sizes[-1]:,}; regions of "
        f"{min(region_sizes)} to {max(region_sizes)} gemeenten, each with one or two central cities. "
        "Gemeenten of 150,000 inhabitants or more are cut into 2-4 areas (`Gebied n`, both domains); "
        "all others have two target groups, `jeugd` (youths 0-17) and `wmo` (inhabitants 18+).",
        "",
        "## Sources",
        "",
        "| source | kind | what |",
        "|---|---|---|",
        "| synthetic | synthetic | the generator (verdeelmodel/synthetic.py) with the seed above; orders of magnitude from CBS inhabitants (2024), the 42 jeugdregio's and the IU sociaal domein around 2018 |",
        "",
        "Public are only the anchors of the orders of magnitude (number of gemeenten and regions, national",
        "inhabitants, the size of the four largest cities, national IU jeugd about EUR 3.9 bn and Wmo about",
        "EUR 1.5 bn). Assumed by the generator: the size distribution, the demography, the lot catalogue",
        "and its tariffs (prices of a realistic order, not a published tariff list: where the bundled",
        "nijmegen-2018 instance has the same kind of lot, its equally assumed tariff is reused; the GGZ",
        "trajectory equals westfriesland-2021's light arrangement), the national split of need over lots,",
        "the noise, plafonds, minimums, providers, contracts, the expertiseschil and the reserves, and",
        "the risicoverevening: which lots are pooled, the agreed rules, their parameters and the use history.",
        "",
        "## Totals",
        "",
        "| domain | budget (IU) EUR | own funds EUR | need EUR | need / budget | gemeenten with need > budget |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for d in DOMAINS:
        b = sum(budgets[(g.name, d)][0] for g in gemeenten)
        o = sum(budgets[(g.name, d)][1] for g in gemeenten)
        n = need_by_domain[d]
        lines.append(f"| {d} | {b:,} | {o:,} | {n:,.0f} | {n / b:.3f} | {deficits[d]} of {N_GEMEENTEN} |")
    lines += [
        "",
        "## Lots",
        "",
        "| lot | domain | echelon | funding | scope | tariff EUR | unit | statutory | share of domain need |",
        "|---|---|---|---|---|---:|---|---|---:|",
    ]
    for lot in sorted(LOTS, key=lambda l: l.lot):
        lines.append(
            f"| {lot.lot} | {lot.domain} | {lot.echelon} | {lot.funding_form} | {lot.scope} | {lot.tariff_eur:,.2f} | {lot.unit} | {'yes' if lot.statutory else 'no'} | {lot.need_share:.0%} |"
        )
    lines += [
        "",
        "## Tables",
        "",
        "| table | rows |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {n:,} |" for name, n in counts]
    lines += _readme_pooling(pools, use_history)
    lines += _readme_demand(volume)
    lines += _readme_horizon(gemeenten, budgets, volume, budgets_by_year, year_factors)
    lines += [
        "",
        "## What to expect when solving",
        "",
    ]
    if seed == DEFAULT_SEED:
        # figures from `verdeelmodel solve instances/nl-synthetic`; re-run it and update them
        # whenever the data or the model change
        lines += [
            f"The figures are what `verdeelmodel solve instances/{INSTANCE_NAME}` reports for seed {seed}.",
            "",
            "- The 42 regions are independent problems (regional lots, ceilings and contracts stay inside a region).",
            "- Statutory care is provided in full. Need exceeds the budget by a few percent in most gemeenten,",
            "  and the instance protects no share of the non-statutory basis lots (wijkteams), so these are",
            "  cut first: EUR 221.1M of their need is unfunded (jeugd 160.9M, Wmo 60.2M), in 476 of the 684",
            "  budget rows (gemeente x domain). Where that is not enough there is a tekort: EUR 26.9M in 90",
            "  rows (jeugd 24.1M in 60 rows, Wmo 2.8M in 30). In those rows the wijkteam gets only the care",
            "  substituted to it. 202 rows keep headroom, EUR 65.9M in all: budgets do not move between",
            "  gemeenten or domains.",
            "- The expertiseschil (jeugd-GGZ to the jeugd wijkteam, ratio 1.5, 10-25 % of GGZ need) is used in",
            "  284 of the 368 populations, in 273 of them up to the maximum share: EUR 70.6M of GGZ need moves,",
            "  funded in the wijkteam with EUR 47.1M.",
            "- Plafonds are exceeded where they are below need (a plafondoverschrijding, with its shadow",
            "  price), EUR 21.5M in all:",
            "  - jeugd specialistische begeleiding (92-106 % of the region's need, every region): in 23 of the",
            "    42 regions, EUR 12.5M;",
            "  - kortdurend verblijf (85-105 %, 19 regions): in 13, EUR 6.4M;",
            "  - beschermd wonen (90-108 %, 27 regions): in 14, EUR 2.3M;",
            "  - the providers' raamcontracten carry no volume guarantee (seed 001, ch. 5 advice 1) and their",
            "    plafonds add up to 95-115 % of need (in some regions the largest provider has none). On Wmo",
            "    specialistische begeleiding 10 contract plafonds in 4 regions are exceeded (EUR 0.3M). On",
            "    jeugd-GGZ, part of whose need moves to the wijkteam, 9 are at their limit and none is",
            "    exceeded.",
            "- The guaranteed minimum on jeugd verblijf (60-80 % of need) binds in no region.",
            "- Budgets are 75 % objective model and 25 % history, so the reference allocation differs",
            "  from the budgets and the deviation stage has something to do (EUR 259.7M of deviation).",
        ]
    else:
        lines += [
            "- The 42 regions are independent problems (regional lots, ceilings and contracts stay inside a region).",
            "- Statutory care is provided in full. Need exceeds the budget by a few percent in most gemeenten,",
            "  and the instance protects no share of the non-statutory basis lots (wijkteams), so these are",
            "  cut first; where that is not enough the budget row has a tekort.",
            "- Plafonds below need are exceeded (a plafondoverschrijding, with its shadow price).",
            "- Budgets are 75 % objective model and 25 % history, so the reference allocation differs",
            "  from the budgets and the deviation stage has something to do.",
        ]
    lines += [
        "- The hoogspecialistisch lots are pooled in every region: a gemeente's budget row pays its",
        "  charge under the region's agreed rule instead of its own budget for the lot, so a gemeente",
        "  with few clients pays for its neighbours' clients (solidariteit, half of it under the mixed",
        "  key) or for its past use (uitgesteld profijt). The result's pooling table (`Result.pooling`,",
        "  `pooling.csv`) shows per gemeente the charge, the profijt charge (its own allocation) and the",
        "  transfer.",
        "",
    ]
    return "\n".join(lines)


def _readme_pooling(pools, use_history) -> list[str]:
    lines = [
        "",
        "## Risicoverevening",
        "",
        "Every region pools its two hoogspecialistisch lots, one pool per lot (`pools.csv`). The agreed",
        "rule is drawn per pool so that each of " + ", ".join(AGREED_RULES) + " is agreed in a third",
        "of the regions. high_cost_pool and threshold_fund are candidate rules only, agreed nowhere: to",
        "compare with the agreed rules in a settlement (`verdeelmodel pool --rule`, models/pooling.py",
        "`settle`). A threshold fund is settled on realised costs; in a plan (costs at most the need)",
        "it charges exactly profijt.",
        "",
        "| rule | kind | parameters | label |",
        "|---|---|---|---|",
    ]
    for r in sorted(POOLING_RULES, key=lambda r: r["rule"]):
        params = ", ".join(f"{c} {_fmt(r[c])}" for c in POOLING_RULE_COLUMNS if c not in ("rule", "kind", "label") and r.get(c) is not None)
        lines.append(f"| {r['rule']} | {r['kind']} | {params} | {r['label']} |")
    lines += [
        "",
        "The high-cost threshold is EUR 60,000 per client-year rather than the German Risikopool's",
        "EUR 100,000: the generator's jeugd verblijf tariff is EUR 80,000 per client-year and beschermd",
        "wonen costs about EUR 49,000 per client-year, so a 100,000 threshold would never be reached. In a",
        "plan every client costs the tariff: the pool takes 80 % of (80,000 - 60,000) = 20 % of the jeugd",
        "verblijf cost and nothing of beschermd wonen (priced per etmaal).",
        "",
        "Agreed rule per region:",
        "",
        "| region | " + " | ".join(pool for pool, _lot in POOLS) + " |",
        "|---|" + "---|" * len(POOLS),
    ]
    agreed = {(r["region"], r["pool"]): r["rule"] for r in pools}
    for region in sorted({r["region"] for r in pools}):
        lines.append(f"| {region} | " + " | ".join(agreed[(region, pool)] for pool, _lot in POOLS) + " |")
    lines += ["", "| pool | " + " | ".join(AGREED_RULES) + " |", "|---|" + "---:|" * len(AGREED_RULES)]
    for pool, _lot in POOLS:
        lines.append(
            f"| {pool} | "
            + " | ".join(str(sum(1 for r in pools if r["pool"] == pool and r["rule"] == rule)) for rule in AGREED_RULES)
            + " |"
        )
    years = sorted({r["year"] for r in use_history})
    lines += [
        "",
        f"Use history (`use_history.csv`, {years[0]}-{years[-1]}): per gemeente and pooled lot the clients",
        "(client-years) and their cost, derived from the instance year's need volume (see sources.csv).",
        "",
        "| lot | year | clients | cost EUR |",
        "|---|---:|---:|---:|",
    ]
    for _pool, lot in sorted(POOLS, key=lambda x: x[1]):
        for y in years:
            sel = [r for r in use_history if r["lot"] == lot and r["year"] == y]
            lines.append(f"| {lot} | {y} | {math.fsum(r['clients'] for r in sel):,.0f} | {sum(r['cost_eur'] for r in sel):,} |")
    return lines


def _readme_demand(volume) -> list[str]:
    totals: dict[str, list[float]] = {}
    for (_g, _p, lot), v in volume.items():
        totals.setdefault(lot, []).append(v)
    lines = [
        "",
        "## Demand scenarios",
        "",
        "`demand.csv` says how demand per lot fluctuates in the Monte Carlo scenarios of `verdeelmodel",
        "reserves`: per gemeente and lot a client count around need volume / `units_per_client`",
        "(Poisson, negative binomial with size k, or fixed), a cost per client (lognormal with",
        f"coefficient of variation `cost_cv`) and a common shock: one of sd {REGION_SHOCK_SD:.2f} per region,",
        "shared by all client-driven lots of both domains (shock_scope region: the gemeenten of a region",
        "move together), and one of its own on each hoogspecialistisch lot (shock_scope lot). The",
        "parameters are constants of the generator (`DEMAND` in verdeelmodel/synthetic.py), the same in",
        "every region and as synthetic as the rest; they follow the bundled nijmegen-2018 and",
        "westfriesland-2021 instances where the lot is of the same kind. `cost_cv` is used only on the",
        "hoogspecialistisch lots: at tens of thousands of clients a per-client spread adds little and",
        "costs hundreds of millions of draws.",
        "",
        "| lot | distribution | k | units per client | expected clients (national) | cost_cv | shock sd (scope) | why |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for lot in sorted(DEMAND):
        d = DEMAND[lot]
        k = "" if d.dispersion is None else f"{d.dispersion:g}"
        clients = "" if d.distribution == "fixed" else f"{math.fsum(totals.get(lot, [])) / d.units_per_client:,.0f}"
        shock = "none" if d.shock_scope == "none" else f"{d.shock_sd:.2f} ({d.shock_scope})"
        lines.append(
            f"| {lot} | {d.distribution} | {k} | {d.units_per_client:g} {LOT_BY_NAME[lot].unit} | {clients} | {d.cost_cv:g} | {shock} | {d.why} |"
        )
    lines += [
        "",
        "Try it: `verdeelmodel reserves instances/nl-synthetic --scenarios 2000` gives each gemeente's",
        "expected tekort (structural: need a few percent above the budget, it belongs in the begroting)",
        "and its risk (VaR at 90 % of the tekort above that expectation, with its standard error) under",
        "profijt and under the agreed rules. The instance gives no `weerstandscapaciteit_eur` and no",
        "`risks.csv`, so there is no A-F rating (that needs the whole risk profile); the synthetic",
        "`available_reserve_eur` (about EUR 35 per inhabitant, a wide lognormal spread) is shown beside",
        "the risk as the reserve earmarked for the social domain. The pooled hoogspecialistisch lots",
        "carry most of the variance (about 85-90 % in every size class), so the agreed rules lower the",
        "risk markedly; `verdeelmodel fairness instances/nl-synthetic` checks, per region, whether",
        "their split is in the core.",
    ]
    return lines


def _readme_horizon(gemeenten, budgets, volume, budgets_by_year, year_factors) -> list[str]:
    from verdeelmodel.instance.schema import TAAKVELDEN

    def pct(rate: float) -> str:
        return f"{100 * rate:.1f} %"

    lines = [
        "",
        "## Horizon",
        "",
        f"`years.csv` lists {HORIZON[0]} ({HORIZON_LABELS[0]}) and {HORIZON[1]}-{HORIZON[-1]} ({HORIZON_LABELS[1]}):",
        f"`verdeelmodel plan instances/{INSTANCE_NAME}` plans the {len(HORIZON)} years in order (models/horizon.py); its",
        f"first year is the single-year model, so {HORIZON[0]} gives what `verdeelmodel solve` gives (below). The",
        "later years follow synthetic rules, constants of the generator (verdeelmodel/synthetic.py):",
        "",
        "- Budgets (`budgets_by_year.csv`): the national integratie-uitkering of a domain changes by a fixed",
        f"  percentage a year, compounding on the {YEAR} total (jeugd +{pct(BUDGET_GROWTH['jeugd'])}, Wmo +{pct(BUDGET_GROWTH['wmo'])}, nominal). It is",
        f"  split over the gemeenten in proportion to their {YEAR} budget moved by a random walk on the log scale",
        f"  (a step of sd {pct(BUDGET_SHARE_DRIFT_SD)} per gemeente, domain and year, drawn from the generator's seeded",
        "  stream: herverdeling, new maatstaf figures), in whole euros by largest remainder, so the national",
        f"  total is exact. Own funds stay at their {YEAR} amount.",
        f"- Tariffs (`year_factors.csv`, on every row): +{pct(TARIFF_INDEXATION)} a year (loon- en prijsbijstelling, the use",
        "  history's price index), cumulative.",
        f"- Demand (`year_factors.csv`, cumulative): jeugd +{pct(DEMAND_GROWTH['jeugd'])} and Wmo +{pct(DEMAND_GROWTH['wmo'])} volume a year (the domain rows,",
        f"  which the basis lots follow); every specialist lot grows {100 * SPECIALIST_SHIFT:.1f} percentage point a year less",
        "  than its domain (the transformation's modest shift from specialist care to the basis); the pooled",
        "  hoogspecialistisch lots continue the use history's volume growth:",
        "  " + ", ".join(f"{lot} +{pct(g)}" for lot, g in sorted(HISTORY_VOLUME_GROWTH.items())) + ".",
        "- Plafonds, guaranteed minimums and contract sums stay in nominal euros (models/horizon.py), so",
        "  with rising need the plafonds bind more each year.",
        "- Scenario paths (`verdeelmodel plan --paths N`): the region shock lasts into the next year with",
        f"  persistence {SHOCK_PERSISTENCE['region']:.1f}, each hoogspecialistisch lot's own shock with {SHOCK_PERSISTENCE['lot']:.1f} (`demand.csv`",
        "  `shock_persistence`, the AR(1) coefficient of the shock's normal). A path's first year is the",
        "  single-year draw, so `verdeelmodel reserves` is unchanged.",
        "- The reserve path starts from `available_reserve_eur`; the instance sets no `reserve_floor_eur`",
        "  (floor 0).",
        "",
        "National IU and need at the year's tariffs and demand factors (before the model; need / IU as in",
        "the totals above):",
        "",
        "| year | label | IU jeugd EUR | need jeugd EUR | need / IU | IU Wmo EUR | need Wmo EUR | need / IU |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    need_lot: dict[str, list[float]] = {}
    for (_g, _p, lot), v in volume.items():
        need_lot.setdefault(lot, []).append(v * LOT_BY_NAME[lot].tariff_eur)
    for k, (year, label) in enumerate(zip(HORIZON, HORIZON_LABELS)):
        cells = []
        for d in DOMAINS:
            if k == 0:
                iu = sum(budgets[(g.name, d)][0] for g in gemeenten)
            else:
                iu = sum(r["budget_eur"] for r in budgets_by_year if r["domain"] == d and r["year"] == year)
            parts = []
            for lot in LOTS:
                if lot.domain != d:
                    continue
                tf, df = (1.0, 1.0) if k == 0 else _factors_of(year_factors, year, lot)
                parts.append(math.fsum(need_lot[lot.lot]) * tf * df)
            need = math.fsum(parts)
            cells += [f"{iu:,}", f"{need:,.0f}", f"{need / iu:.3f}"]
        lines.append(f"| {year} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Iv3 taakvelden (`lots.csv` `taakveld`; the meerjarenraming of `verdeelmodel plan` is per taakveld):",
        "",
        "| taakveld | Iv3 | lots |",
        "|---|---|---|",
    ]
    for tv in sorted(set(TAAKVELD.values()), key=lambda t: [int(x) for x in t.split(".")]):
        lots = ", ".join(sorted(l for l, t in TAAKVELD.items() if t == tv))
        lines.append(f"| {tv} | {TAAKVELDEN[tv]} | {lots} |")
    return lines


# --------------------------------------------------------------------------- entry points


def generate(out_dir: pathlib.Path, seed: int = DEFAULT_SEED) -> None:
    """Write the complete synthetic instance (instance.yaml, README.md, all CSVs) to out_dir."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    gemeenten = _regions(seed)
    _demography(gemeenten, seed)
    pops = _populations(gemeenten, seed)
    bedragen = _bedragen(pops)
    volume = _need(gemeenten, pops, bedragen, seed)
    need_eur = _need_eur(volume)
    budgets = _budgets(gemeenten, pops, bedragen, need_eur, seed)
    historical = _historical(pops, need_eur, seed)
    regions = sorted({g.region for g in gemeenten})
    region_need = _region_need(gemeenten, need_eur)
    ceilings = _limits(regions, region_need, seed)
    providers, contracts = _providers(regions, region_need, seed)
    substitutions = _substitutions(gemeenten, seed)
    _check(gemeenten, budgets, region_need, ceilings, contracts)
    use_history = _use_history(gemeenten, volume, seed)
    pools = _pools(regions, seed)
    _check_pooling(gemeenten, regions, use_history, pools)
    contract_options = _contract_options(regions, seed)
    _check_demand()
    budgets_by_year = _budgets_by_year(gemeenten, budgets, seed)
    year_factors = _year_factors()
    _check_horizon(gemeenten, budgets, budgets_by_year, year_factors)

    S = SOURCE
    tables: dict[str, str] = {}
    tables["sources"] = _csv(["source", "kind", "description", "reference"], [_source_row(seed)])
    tables["gemeenten"] = _csv(
        ["gemeente", "inhabitants", "available_reserve_eur", "cbs_code", "source"],
        [[g.name, g.inhabitants, g.reserve_eur, "", S] for g in sorted(gemeenten, key=lambda g: g.name)],
    )
    tables["budgets"] = _csv(
        ["gemeente", "domain", "region", "budget_eur", "own_funds_eur", "source"],
        [[g.name, d, g.region, *budgets[(g.name, d)], S] for g in sorted(gemeenten, key=lambda g: g.name) for d in sorted(DOMAINS)],
    )
    pops_sorted = sorted(pops, key=lambda p: (p.gemeente, p.name))
    tables["populations"] = _csv(
        ["gemeente", "population", "kind", "inhabitants", "source"], [[p.gemeente, p.name, p.kind, p.inhabitants, S] for p in pops_sorted]
    )
    tables["maatstaven"] = _csv(
        ["gemeente", "population", "maatstaf", "value", "source"],
        [[p.gemeente, p.name, m, int(p.maatstaven[m]), S] for p in pops_sorted for m in sorted(p.maatstaven)],
    )
    tables["bedragen"] = _csv(
        ["maatstaf", "domain", "bedrag_eur", "source"], [[m, d, float(b), S] for (m, d), b in sorted(bedragen.items())]
    )
    tables["historical"] = _csv(
        ["gemeente", "population", "domain", "historical_eur", "source"], [[g, p, d, v, S] for (g, p, d), v in sorted(historical.items())]
    )
    tables["lots"] = _csv(
        [
            "lot",
            "label",
            "domain",
            "echelon",
            "funding_form",
            "scope",
            "tariff_eur",
            "unit",
            "priority_weight",
            "statutory",
            "category",
            "taakveld",
            "source",
        ],
        [
            [
                l.lot,
                l.label,
                l.domain,
                l.echelon,
                l.funding_form,
                l.scope,
                float(l.tariff_eur),
                l.unit,
                float(l.priority_weight),
                l.statutory,
                "",
                TAAKVELD[l.lot],
                S,
            ]
            for l in sorted(LOTS, key=lambda l: l.lot)
        ],
    )
    tables["need"] = _csv(
        ["gemeente", "population", "lot", "volume", "source"], [[g, p, l, float(v), S] for (g, p, l), v in sorted(volume.items())]
    )
    h = ["provider", "label", "ceiling_eur", "minimum_eur"]
    tables["providers"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(providers, h, ("provider",))])
    h = ["provider", "lot", "region", "gemeente", "ceiling_eur", "minimum_eur"]
    tables["contracts"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(contracts, h, ("provider", "lot", "region", "gemeente"))])
    h = ["lot", "region", "gemeente", "ceiling_eur", "minimum_eur"]
    tables["ceilings"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(ceilings, h, ("lot", "region", "gemeente"))])
    h = ["from_lot", "to_lot", "ratio", "max_share", "gemeente", "population", "label"]
    tables["substitutions"] = _csv(
        h + ["source"], [row + [S] for row in _dict_rows(substitutions, h, ("from_lot", "to_lot", "gemeente", "population"))]
    )
    tables["pooling_rules"] = _csv(list(POOLING_RULE_COLUMNS) + ["source"], [row + [S] for row in _pooling_rule_rows()])
    h = ["region", "pool", "lots", "rule"]
    tables["pools"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(pools, h, ("region", "pool"))])
    h = ["lot", "region", "gemeente", "form", "current", "premium", "corridor_band", "corridor_share", "viability_floor"]
    tables["contract_options"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(contract_options, h, ("lot", "region", "form"))])
    h = ["gemeente", "lot", "year", "clients", "cost_eur"]
    tables["use_history"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(use_history, h, ("gemeente", "lot", "year"))])
    tables["years"] = _csv(["year", "label", "source"], [[y, label, S] for y, label in zip(HORIZON, HORIZON_LABELS)])
    h = ["gemeente", "domain", "year", "budget_eur", "own_funds_eur"]
    tables["budgets_by_year"] = _csv(h + ["source"], [row + [S] for row in _dict_rows(budgets_by_year, h, ("gemeente", "domain", "year"))])
    tables["year_factors"] = _csv(
        ["year", "target", "tariff_factor", "demand_factor", "source"],
        [[r["year"], r["target"], f"{r['tariff_factor']:.4f}", f"{r['demand_factor']:.4f}", S] for r in year_factors],
    )
    tables["demand"] = _csv(
        list(DEMAND_COLUMNS) + ["source"],
        [
            [
                lot,
                d.distribution,
                d.dispersion,
                d.units_per_client,
                d.cost_cv,
                d.shock_sd,
                d.shock_scope,
                SHOCK_PERSISTENCE[d.shock_scope],
                S,
            ]
            for lot, d in sorted(DEMAND.items())
        ],
    )

    need_by_domain = {d: math.fsum(v for k, v in need_eur.items() if LOT_BY_NAME[k[2]].domain == d) for d in DOMAINS}
    deficits = {}
    for d in DOMAINS:
        per_g: dict[str, float] = {}
        for k, v in need_eur.items():
            if LOT_BY_NAME[k[2]].domain == d:
                per_g[k[0]] = per_g.get(k[0], 0.0) + v
        deficits[d] = sum(1 for g in gemeenten if per_g[g.name] > budgets[(g.name, d)][0] + budgets[(g.name, d)][1])
    counts = [(name, text.count("\n") - 1) for name, text in tables.items()]
    region_sizes = [sum(1 for g in gemeenten if g.region == r) for r in regions]

    _write(out_dir / "instance.yaml", _instance_yaml(seed))
    _write(
        out_dir / "README.md",
        _readme(
            seed,
            gemeenten,
            region_sizes,
            budgets,
            need_by_domain,
            deficits,
            counts,
            pools,
            use_history,
            volume,
            budgets_by_year,
            year_factors,
        ),
    )
    for name, text in tables.items():
        _write(out_dir / f"{name}.csv", text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m verdeelmodel.synthetic", description="Write the synthetic national instance (342 gemeenten, 42 regions)."
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--out", type=pathlib.Path, default=pathlib.Path("instances") / INSTANCE_NAME, help="output folder (default instances/nl-synthetic)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    generate(args.out, args.seed)
    files = sorted(args.out.iterdir())
    size = sum(f.stat().st_size for f in files if f.is_file())
    print(f"wrote {len(files)} files ({size / 1e6:.2f} MB) to {args.out} in {time.perf_counter() - start:.2f} s (seed {args.seed})")


if __name__ == "__main__":
    main()
