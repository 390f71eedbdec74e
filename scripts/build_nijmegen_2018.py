"""Rebuilds the data tables of this instance from the assumptions stated in sources.csv.

Run from anywhere: ``python scripts/build_nijmegen_2018.py``. It rewrites gemeenten, budgets, populations,
maatstaven, bedragen, lots, need, providers, contracts, ceilings, substitutions, goals and demand (.csv)
and the horizon tables years, budgets_by_year and year_factors (.csv) in instances/nijmegen-2018, and the
example of realised costs examples/realised-2018.csv (not part of the instance: the loader reads only the top
folder). sources.csv, instance.yaml, README.md, risks.csv and the pooling tables (pooling_rules.csv, pools.csv;
use_history.csv comes from scripts/build_use_history.py) are written by hand.
The loader ignores this file (it reads instance.yaml and *.csv only). Needs numpy.

Corrections to the seed (2026-11), each stated in the instance README and sources.csv:
- Wijchen procures blok B itself from 2018 (seed 001, Inleiding): its jeugd blok B need sits in its own local
  lots ``wijchen_jeugd_*`` instead of the 6 regional percelen; regional plafonds and contracts cover the other 6
  gemeenten only (scaled by their share of the need); Wijchen has no regional Wmo plafond.
- No volume guarantees in blok B (seed 001 ch. 5, advice 1): no minimums on blok B lots or contracts.
- Verblijf-preventing ambulant help stays in the C1 network contract (seed 001 Blok C1, Verbeterpunt 13):
  lot ``jeugd_verblijf_ambulant``, substitution jeugd_verblijf -> jeugd_verblijf_ambulant, network budget
  (plafond and minimum) at provider level over both lots.
- Blok C2 is three one-year subsidies (seed 001 Blok C2): funding_form taak, a lumpsum (tariff = the region's
  subsidies, volume = each gemeente's share, summing to 1), demand fixed.
- About 15,000 clients in blok B (seed 001 Inhoud blok B): units per client scaled so the 9 blok B lot kinds
  together expect 15,000 clients (demand.csv).
- Protected prevention (seed 001 ch. 2 Kerndoelstelling 8, Verbeterpunten 1 and 11): goals.csv funded_share.
- Expertiseschil and sociaal wijkteam are algemene voorzieningen, non-statutory, protected at 100% (basis_protected).

Horizon (meerjarenraming 2018-2021): budgets_by_year = the 2018 budget x the region's IU series year / 2018
(seed 001 Bijlage 2, iu_2019_2021_derived); year_factors = loon- en prijsbijstelling 2% a year on every tariff
(lpb_indexation_assumed) and the transformation's shift from blok B to the basis (demand_trend_transformation);
lots.taakveld = the Iv3 taakveld of each lot (taakveld_iv3, taakveld_iv3_assumed).
"""

import csv
import os
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instances", "nijmegen-2018")
REGION = "rijk_van_nijmegen"
IU = {"jeugd": 62_800_000, "wmo": 39_700_000}

# gemeente, cbs, inhabitants, youths 0-17, 65+, minors low income, single-parent hh, low-income hh, reserve
G = [
    ("Berg en Dal", "GM1945", 34_700, 6_550, 8_500, 330, 850, 1_150, 2_000_000),
    ("Beuningen", "GM0209", 25_700, 5_450, 4_950, 270, 620, 800, 1_500_000),
    ("Druten", "GM0225", 18_700, 4_000, 3_550, 200, 450, 620, 900_000),
    ("Heumen", "GM0252", 16_400, 3_250, 3_950, 120, 380, 480, 1_200_000),
    ("Mook en Middelaar", "GM0944", 7_800, 1_450, 2_050, 50, 160, 230, 500_000),
    ("Nijmegen", "GM0268", 175_900, 29_300, 26_600, 3_700, 5_600, 11_500, 6_000_000),
    ("Wijchen", "GM0296", 40_900, 8_050, 9_000, 420, 1_050, 1_450, 2_500_000),
]
names = [g[0] for g in G]
inh = {g[0]: g[2] for g in G}
youth = {g[0]: g[3] for g in G}
adults = {n: inh[n] - youth[n] for n in names}


def split(total, key):
    """Whole-euro split of total by key; the rounding remainder goes to the largest share."""
    s = sum(key.values())
    out = {n: round(total * key[n] / s) for n in key}
    big = max(key, key=key.get)
    out[big] += total - sum(out.values())
    return out


budget = {"jeugd": split(IU["jeugd"], youth), "wmo": split(IU["wmo"], inh)}

# blok C2: the region's three one-year subsidies to the gecertificeerde instellingen together (assumed amount)
C2_LUMPSUM = 5_500_000

# lot: label, domain, echelon, funding, scope, tariff, unit, weight, statutory, region total need (EUR), decimals
LOTS = [
    (
        "jeugd_preventie",
        "Preventie en opvoedondersteuning (nulde lijn, blok A)",
        "jeugd",
        "nulde_lijn",
        "taak",
        "local",
        80_000,
        "fte",
        0.5,
        False,
        1_500_000,
        1,
    ),
    (
        "jeugd_expertiseschil",
        "Expertiseschil: 2e-lijns jeugdprofessionals bij huisartsen, scholen, kinderopvang",
        "jeugd",
        "basis",
        "taak",
        "local",
        92_000,
        "fte",
        1.0,
        False,
        3_200_000,
        1,
    ),
    ("jeugd_ggz", "Jeugd-GGZ (blok B perceel 1)", "jeugd", "specialist", "inspanning", "regional", 105, "hour", 1.5, True, 6_900_000, 0),
    (
        "jeugd_dagbesteding",
        "Dagbesteding jeugd (blok B perceel 2)",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        48,
        "dagdeel",
        1.0,
        True,
        2_300_000,
        0,
    ),
    (
        "jeugd_begeleiding",
        "Begeleiding jeugd (blok B perceel 3)",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        60,
        "hour",
        1.0,
        True,
        4_500_000,
        0,
    ),
    (
        "jeugd_specialistische_begeleiding",
        "Specialistische begeleiding jeugd (blok B perceel 4)",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        75,
        "hour",
        1.2,
        True,
        4_200_000,
        0,
    ),
    (
        "jeugd_behandeling",
        "Behandeling jeugd (blok B perceel 5)",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        95,
        "hour",
        1.3,
        True,
        3_600_000,
        0,
    ),
    (
        "jeugd_kortdurend_verblijf",
        "Kortdurend verblijf jeugd / logeren (blok B perceel 6)",
        "jeugd",
        "specialist",
        "inspanning",
        "regional",
        160,
        "etmaal",
        1.0,
        True,
        700_000,
        0,
    ),
    (
        "jeugd_dyslexie",
        "Ernstige enkelvoudige dyslexie (EED, apart contract 2017-2021)",
        "jeugd",
        "specialist",
        "output",
        "regional",
        4_200,
        "trajectory",
        0.8,
        True,
        1_900_000,
        0,
    ),
    (
        "jeugd_verblijf",
        "Jeugdhulp met verblijf: pleegzorg, gezinshuizen, residentieel (blok C1)",
        "jeugd",
        "hoogspecialistisch",
        "inspanning",
        "regional",
        48_000,
        "client_year",
        2.0,
        True,
        17_500_000,
        1,
    ),
    (
        "jeugd_jeugdzorg_plus",
        "Jeugdzorg Plus, gesloten jeugdhulp (blok C1)",
        "jeugd",
        "hoogspecialistisch",
        "inspanning",
        "regional",
        175_000,
        "client_year",
        3.0,
        True,
        3_400_000,
        1,
    ),
    (
        "jeugd_jeugdbescherming",
        "Jeugdbescherming en jeugdreclassering: 3 subsidies voor 1 jaar aan gecertificeerde instellingen (blok C2, taakgericht)",
        "jeugd",
        "specialist",
        "taak",
        "regional",
        C2_LUMPSUM,  # one lumpsum = the region's three subsidies; a gemeente's volume is its share
        "lumpsum",
        3.0,
        True,
        C2_LUMPSUM,
        6,
    ),
    (
        "jeugd_overig",
        "Overige IU-lasten jeugd: PGB, landelijk transitiearrangement, Veilig Thuis, uitvoering",
        "jeugd",
        "specialist",
        "taak",
        "local",
        1,
        "eur",
        1.0,
        True,
        10_000_000,
        0,
    ),
    (
        "wmo_ontmoeting",
        "Inloop en ontmoeting (blok A, algemene voorziening)",
        "wmo",
        "nulde_lijn",
        "taak",
        "local",
        1,
        "eur",
        0.5,
        False,
        1_800_000,
        0,
    ),
    (
        "wmo_wijkteam",
        "Sociaal wijkteam: toegang en lichte ondersteuning (blok A)",
        "wmo",
        "basis",
        "taak",
        "local",
        85_000,
        "fte",
        1.0,
        False,
        7_200_000,
        1,
    ),
    (
        "wmo_dagbesteding",
        "Dagbesteding Wmo (blok B, perceel per gemeente)",
        "wmo",
        "specialist",
        "inspanning",
        "local",
        42,
        "dagdeel",
        1.0,
        True,
        6_700_000,
        0,
    ),
    (
        "wmo_begeleiding",
        "Begeleiding Wmo (blok B, perceel per gemeente)",
        "wmo",
        "specialist",
        "inspanning",
        "local",
        55,
        "hour",
        1.0,
        True,
        7_500_000,
        0,
    ),
    (
        "wmo_specialistische_begeleiding",
        "Specialistische begeleiding Wmo (blok B, perceel per gemeente)",
        "wmo",
        "specialist",
        "inspanning",
        "local",
        70,
        "hour",
        1.3,
        True,
        4_600_000,
        0,
    ),
    (
        "wmo_overig",
        "Overige IU-lasten Wmo: blok A maatwerk ouderen, vervoer, arbeidsmatige dagbesteding, PGB, uitvoering",
        "wmo",
        "specialist",
        "taak",
        "local",
        1,
        "eur",
        1.0,
        True,
        12_600_000,
        0,
    ),
]
L = {l[0]: l for l in LOTS}

# need / budget ratio per gemeente (assumption); Nijmegen closes the region total
RATIO = {
    "jeugd": {"Berg en Dal": 1.035, "Beuningen": 1.04, "Druten": 1.06, "Heumen": 0.955, "Mook en Middelaar": 0.95, "Wijchen": 1.05},
    "wmo": {"Berg en Dal": 1.03, "Beuningen": 0.975, "Druten": 0.98, "Heumen": 0.965, "Mook en Middelaar": 0.96, "Wijchen": 0.985},
}
# lot modifiers on the seed matrix (assumption)
MOD = {
    ("Nijmegen", "jeugd_verblijf"): 1.2,
    ("Nijmegen", "jeugd_jeugdzorg_plus"): 1.2,
    ("Nijmegen", "jeugd_jeugdbescherming"): 1.25,
    ("Nijmegen", "jeugd_ggz"): 1.05,
    ("Nijmegen", "jeugd_dyslexie"): 0.85,
    ("Nijmegen", "jeugd_expertiseschil"): 0.9,
    ("Druten", "jeugd_begeleiding"): 1.1,
    ("Druten", "jeugd_specialistische_begeleiding"): 1.1,
    ("Beuningen", "jeugd_begeleiding"): 1.1,
    ("Beuningen", "jeugd_specialistische_begeleiding"): 1.1,
    ("Wijchen", "jeugd_begeleiding"): 1.1,
    ("Wijchen", "jeugd_specialistische_begeleiding"): 1.1,
    ("Heumen", "jeugd_dyslexie"): 1.15,
    ("Mook en Middelaar", "jeugd_dyslexie"): 1.15,
    ("Berg en Dal", "jeugd_dyslexie"): 1.15,
    ("Nijmegen", "wmo_specialistische_begeleiding"): 1.25,
    ("Nijmegen", "wmo_begeleiding"): 1.1,
    ("Nijmegen", "wmo_overig"): 0.95,
}
for n in ("Berg en Dal", "Heumen", "Mook en Middelaar", "Wijchen"):
    MOD[(n, "wmo_dagbesteding")] = 1.15
    MOD[(n, "wmo_overig")] = 1.1

need_eur = {}
for d in ("jeugd", "wmo"):
    lots = [l for l in LOTS if l[2] == d]
    col_t = np.array([l[10] for l in lots], float)
    row_t = {n: budget[d][n] * RATIO[d][n] for n in names if n != "Nijmegen"}
    row_t["Nijmegen"] = col_t.sum() - sum(row_t.values())
    row_t = np.array([row_t[n] for n in names])
    base = youth if d == "jeugd" else adults
    M = np.array([[base[n] * MOD.get((n, l[0]), 1.0) for l in lots] for n in names], float)
    for _ in range(500):  # iterative proportional fitting to both margins
        M *= (row_t / M.sum(1))[:, None]
        M *= (col_t / M.sum(0))[None, :]
    for i, n in enumerate(names):
        for j, l in enumerate(lots):
            need_eur[(n, l[0])] = M[i, j]

need_vol = {}
for (n, l), e in need_eur.items():
    t, dec = L[l][6], L[l][11]
    v = round(e / t, dec)
    need_vol[(n, l)] = int(v) if dec == 0 else v

# blok C2 is one lumpsum for the region: the gemeenten's shares add up to exactly 1 (remainder to Nijmegen)
need_vol[("Nijmegen", "jeugd_jeugdbescherming")] = round(
    1 - sum(need_vol[(n, "jeugd_jeugdbescherming")] for n in names if n != "Nijmegen"), 6
)

# ---------------- corrections to the seed (2026-11)
# The 19 lots above are the lot kinds of the whole region, fitted to the region totals; two kinds of lot follow.
BLOK_B_JEUGD = [
    "jeugd_ggz",
    "jeugd_dagbesteding",
    "jeugd_begeleiding",
    "jeugd_specialistische_begeleiding",
    "jeugd_behandeling",
    "jeugd_kortdurend_verblijf",
]

# Wijchen procures blok B itself from 2018 (seed 001, Inleiding): its jeugd blok B need moves from the regional
# percelen to lots of its own (local; the same lot kinds, tariffs and weights: Wijchen's own perceel structure
# is not in the seed). Its Wmo blok B need stays in the Wmo lots, which are percelen per gemeente anyway.
WIJCHEN = "Wijchen"
WIJCHEN_LOT = {l: "wijchen_" + l for l in BLOK_B_JEUGD}
EXTRA = []  # lots outside the fit: (lot tuple as in LOTS, row source)
for l in BLOK_B_JEUGD:
    b = L[l]
    label = b[1].split(" (")[0] + " (blok B, eigen inkoop Wijchen)"
    EXTRA.append(((WIJCHEN_LOT[l], label, b[2], b[3], b[4], "local", b[6], b[7], b[8], b[9], None, b[11]), "wijchen_eigen_inkoop"))
    need_vol[(WIJCHEN, WIJCHEN_LOT[l])] = need_vol.pop((WIJCHEN, l))
# Blok C1: the verblijf-preventing and -shortening ambulant help is part of the network contract (seed 001,
# Blok C1 and Verbeterpunt 13); it has no need of its own here (the seed gives no size), only the need that
# substitution moves to it from jeugd_verblijf.
C1_AMBULANT = "jeugd_verblijf_ambulant"
EXTRA.append(
    (
        (
            C1_AMBULANT,
            "Verblijfvoorkomende en -verkortende ambulante hulp (blok C1, binnen het netwerkcontract verblijf)",
            "jeugd",
            "specialist",
            "inspanning",
            "regional",
            95,
            "hour",
            2.0,
            True,
            None,
            0,
        ),
        "seed_percelen",
    )
)
for lot, _src in EXTRA:
    L[lot[0]] = lot
ALL_LOTS = LOTS + [lot for lot, _src in EXTRA]
LOT_SOURCE = {l[0]: "seed_percelen" for l in LOTS} | {lot[0]: src for lot, src in EXTRA}

# the 6 gemeenten of the regional blok B jeugd percelen: their share of each lot's need (scales regional limits)
need_e = {k: v * L[k[1]][6] for k, v in need_vol.items()}
share6 = {
    l: sum(need_e[(n, l)] for n in names if n != WIJCHEN)
    / (sum(need_e[(n, l)] for n in names if n != WIJCHEN) + need_e[(WIJCHEN, WIJCHEN_LOT[l])])
    for l in BLOK_B_JEUGD
}


def r4(x):
    """Round to 10,000 (plafonds)."""
    return int(round(x, -4))


def half_up(x, digits):
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def w(name, header, rows):
    with open(os.path.join(OUT, name + ".csv"), "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(header)
        for r in rows:
            wr.writerow(["" if x is None else x for x in r])


def fmt(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


# ---------------- tables
# weerstandscapaciteit (weerstandscapaciteit_assumed): the social-domain reserve + EUR 150 per inhabitant, that part
# rounded to EUR 10,000
w(
    "gemeenten",
    [
        "gemeente",
        "inhabitants",
        "available_reserve_eur",
        "weerstandscapaciteit_eur",
        "cbs_code",
        "source",
        "source_inhabitants",
        "source_available_reserve_eur",
        "source_weerstandscapaciteit_eur",
    ],
    [
        (
            g[0],
            g[2],
            g[8],
            g[8] + r4(150 * g[2]),
            g[1],
            "cbs_gemeentecodes",
            "inhabitants_2018_est",
            "reserve_assumed",
            "weerstandscapaciteit_assumed",
        )
        for g in G
    ],
)

w(
    "budgets",
    ["gemeente", "domain", "region", "budget_eur", "own_funds_eur", "source"],
    [(n, d, REGION, budget[d][n], 0, "iu_2018_split") for n in names for d in ("jeugd", "wmo")],
)

w(
    "populations",
    ["gemeente", "population", "kind", "inhabitants", "source"],
    [
        r
        for n in names
        for r in (
            (n, "jeugd", "target_group", youth[n], "population_2018_est"),
            (n, "wmo", "target_group", adults[n], "population_2018_est"),
        )
    ],
)

rows = []
for g in G:
    n = g[0]
    rows += [
        (n, "jeugd", "jongeren_0_17", g[3], "population_2018_est"),
        (n, "jeugd", "minderjarigen_laag_inkomen", g[5], "social_2018_est"),
        (n, "jeugd", "eenouderhuishoudens", g[6], "social_2018_est"),
        (n, "wmo", "inwoners_18plus", adults[n], "population_2018_est"),
        (n, "wmo", "ouderen_65plus", g[4], "population_2018_est"),
        (n, "wmo", "huishoudens_laag_inkomen", g[7], "social_2018_est"),
    ]
w("maatstaven", ["gemeente", "population", "maatstaf", "value", "source"], rows)

w(
    "bedragen",
    ["maatstaf", "domain", "bedrag_eur", "source"],
    [
        ("jongeren_0_17", "jeugd", 800, "bedragen_assumed"),
        ("minderjarigen_laag_inkomen", "jeugd", 1_500, "bedragen_assumed"),
        ("eenouderhuishoudens", "jeugd", 800, "bedragen_assumed"),
        ("inwoners_18plus", "wmo", 70, "bedragen_assumed"),
        ("ouderen_65plus", "wmo", 260, "bedragen_assumed"),
        ("huishoudens_laag_inkomen", "wmo", 450, "bedragen_assumed"),
    ],
)

# statutory by law (Jeugdwet art. 2.3, Wmo 2015 art. 2.3.5: care once access is granted; prevention and
# algemene voorzieningen, the expertiseschil and the wijkteam included, are no individual entitlement); the
# residual lots' flags are a modelling choice
STATUTORY_CHOICE = {"jeugd_overig", "wmo_overig"}

# Iv3 taakveld per lot kind (taakveld_iv3: by the Iv3 definitions; taakveld_iv3_assumed: a choice where the lot
# does not fall plainly under one taakveld). Wijchen's own blok B lots take the taakveld of their kind.
TAAKVELD = {
    "jeugd_preventie": ("6.1", "taakveld_iv3_assumed"),
    "jeugd_expertiseschil": ("6.2", "taakveld_iv3_assumed"),
    "jeugd_ggz": ("6.72", "taakveld_iv3"),
    "jeugd_dagbesteding": ("6.72", "taakveld_iv3"),
    "jeugd_begeleiding": ("6.72", "taakveld_iv3"),
    "jeugd_specialistische_begeleiding": ("6.72", "taakveld_iv3"),
    "jeugd_behandeling": ("6.72", "taakveld_iv3"),
    "jeugd_kortdurend_verblijf": ("6.82", "taakveld_iv3_assumed"),
    "jeugd_dyslexie": ("6.72", "taakveld_iv3"),
    "jeugd_verblijf": ("6.82", "taakveld_iv3"),
    "jeugd_jeugdzorg_plus": ("6.82", "taakveld_iv3"),
    "jeugd_jeugdbescherming": ("6.82", "taakveld_iv3"),
    "jeugd_overig": ("6.72", "taakveld_iv3_assumed"),
    "jeugd_verblijf_ambulant": ("6.72", "taakveld_iv3"),
    "wmo_ontmoeting": ("6.1", "taakveld_iv3"),
    "wmo_wijkteam": ("6.2", "taakveld_iv3"),
    "wmo_dagbesteding": ("6.71", "taakveld_iv3"),
    "wmo_begeleiding": ("6.71", "taakveld_iv3"),
    "wmo_specialistische_begeleiding": ("6.71", "taakveld_iv3"),
    "wmo_overig": ("6.71", "taakveld_iv3_assumed"),
}
for _l in BLOK_B_JEUGD:
    TAAKVELD[WIJCHEN_LOT[_l]] = TAAKVELD[_l]
w(
    "lots",
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
        "source_tariff_eur",
        "source_priority_weight",
        "source_statutory",
        "source_taakveld",
    ],
    [
        (
            l[0],
            l[1],
            l[2],
            l[3],
            l[4],
            l[5],
            l[6],
            l[7],
            l[8],
            fmt(l[9]),
            "",
            TAAKVELD[l[0]][0],
            LOT_SOURCE[l[0]],
            "need_2018_constructed" if l[0] == "jeugd_jeugdbescherming" else "tariffs_assumed",
            "weights_assumed",
            "weights_assumed" if l[0] in STATUTORY_CHOICE else "statutory_by_law",
            TAAKVELD[l[0]][1],
        )
        for l in ALL_LOTS
    ],
)

w(
    "need",
    ["gemeente", "population", "lot", "volume", "source"],
    [(n, L[l][2], l, need_vol[(n, l)], "need_2018_constructed") for n in names for l in L if (n, l) in need_vol],
)

PROV = [
    ("ggz_a", "Jeugd-GGZ-instelling A", None, None),
    ("ggz_b", "Jeugd-GGZ-instelling B", None, None),
    ("ggz_vrijgevestigd", "Vrijgevestigde jeugd-GGZ-praktijken (raamcontracten, gebundeld)", None, None),
    ("jeugd_breed_a", "Brede jeugdhulpaanbieder A (begeleiding, behandeling, logeren)", 5_800_000, None),
    ("lvb_a", "LVB-aanbieder A (dagbesteding, specialistische begeleiding)", 3_800_000, None),
    ("jeugd_klein", "Kleine jeugdhulpaanbieders (raamcontracten, gebundeld)", None, None),
    ("dyslexie_a", "Dyslexiezorgaanbieder A (EED)", None, None),
    ("dyslexie_b", "Dyslexiezorgaanbieder B (EED)", None, None),
    # the C1 network's budget covers verblijf and the ambulant help in the contract: "binnen hun budget switchen"
    (
        "verblijf_netwerk",
        "Netwerk jeugdhulp met verblijf en verblijfvoorkomende ambulante hulp (contract 2017-2019)",
        18_000_000,
        15_000_000,
    ),
    ("jeugdzorg_plus_a", "Jeugdzorg Plus-instelling", None, None),
    ("wmo_sb_a", "Wmo-aanbieder A specialistische begeleiding (Nijmegen)", None, None),
    ("wmo_sb_b", "Wmo-aanbieder B specialistische begeleiding (Nijmegen)", None, None),
]

R = REGION
# (provider, lot, region, gemeente, plafond, minimum) as drawn up for the 7 gemeenten; blok B has no minimums
# (seed 001 ch. 5, advice 1: raamcontracten, "geen garanties over het productievolume")
CON = [
    ("ggz_a", "jeugd_ggz", R, "", 3_500_000, None),
    ("ggz_b", "jeugd_ggz", R, "", 2_200_000, None),
    ("ggz_vrijgevestigd", "jeugd_ggz", R, "", 900_000, None),
    ("lvb_a", "jeugd_dagbesteding", R, "", 1_400_000, None),
    ("jeugd_klein", "jeugd_dagbesteding", R, "", None, None),
    ("jeugd_breed_a", "jeugd_begeleiding", R, "", 2_600_000, None),
    ("jeugd_klein", "jeugd_begeleiding", R, "", None, None),
    ("lvb_a", "jeugd_specialistische_begeleiding", R, "", 2_600_000, None),
    ("jeugd_breed_a", "jeugd_specialistische_begeleiding", R, "", 1_700_000, None),
    ("jeugd_breed_a", "jeugd_behandeling", R, "", 2_000_000, None),
    ("jeugd_klein", "jeugd_behandeling", R, "", None, None),
    ("jeugd_breed_a", "jeugd_kortdurend_verblijf", R, "", 300_000, None),
    ("jeugd_klein", "jeugd_kortdurend_verblijf", R, "", None, None),
    ("dyslexie_a", "jeugd_dyslexie", R, "", 1_000_000, 400_000),
    ("dyslexie_b", "jeugd_dyslexie", R, "", 900_000, 200_000),
    ("verblijf_netwerk", "jeugd_verblijf", R, "", None, None),
    ("verblijf_netwerk", C1_AMBULANT, R, "", None, None),
    ("jeugdzorg_plus_a", "jeugd_jeugdzorg_plus", R, "", None, 2_600_000),
    ("wmo_sb_a", "wmo_specialistische_begeleiding", "", "Nijmegen", 1_600_000, None),
    ("wmo_sb_b", "wmo_specialistische_begeleiding", "", "Nijmegen", None, None),
]
# the regional blok B jeugd contracts serve 6 gemeenten (Wijchen buys its own): plafond x the 6 gemeenten' share of
# the lot's need, rounded to 10,000; a provider's overall plafond moves with the sum of its contract plafonds
CON = [(k, l, a, g, (r4(c * share6[l]) if c is not None and l in share6 else c), m) for k, l, a, g, c, m in CON]
PLAFOND_7 = {  # contract plafonds before the scaling, for the providers' overall plafonds
    "jeugd_breed_a": 2_600_000 + 1_700_000 + 2_000_000 + 300_000,
    "lvb_a": 1_400_000 + 2_600_000,
}
PLAFOND_6 = {k: sum(c for kk, _l, _a, _g, c, _m in CON if kk == k and c is not None) for k in PLAFOND_7}
PROV = [(k, lab, (r4(c * PLAFOND_6[k] / PLAFOND_7[k]) if k in PLAFOND_7 and c is not None else c), m) for k, lab, c, m in PROV]
w("providers", ["provider", "label", "ceiling_eur", "minimum_eur", "source"], [p + ("providers_illustrative",) for p in PROV])
w(
    "contracts",
    ["provider", "lot", "region", "gemeente", "ceiling_eur", "minimum_eur", "source"],
    [c + ("providers_illustrative",) for c in CON],
)

# lot plafonds; no minimum on kortdurend verblijf (blok B: no volume guarantee). The regional plafond on jeugd
# specialistische begeleiding keeps its ratio to need (EUR 4.0M for the 7 gemeenten) for the 6 of the percelen;
# Wmo specialistische begeleiding: a plafond per gemeente of the regional framework, so none for Wijchen.
CEIL = [
    ("jeugd_specialistische_begeleiding", R, "", r4(4_000_000 * share6["jeugd_specialistische_begeleiding"]), None, "ceilings_assumed"),
    ("jeugd_dyslexie", R, "", 1_750_000, None, "ceilings_assumed"),
]
for n in names:
    if n == WIJCHEN:
        continue
    e = need_vol[(n, "wmo_specialistische_begeleiding")] * L["wmo_specialistische_begeleiding"][6]
    CEIL.append(("wmo_specialistische_begeleiding", "", n, int(round(e / 1.04, -4)), None, "ceilings_assumed"))
w("ceilings", ["lot", "region", "gemeente", "ceiling_eur", "minimum_eur", "source"], CEIL)

w(
    "substitutions",
    ["from_lot", "to_lot", "ratio", "max_share", "gemeente", "population", "label", "source"],
    [
        (
            "jeugd_ggz",
            "jeugd_expertiseschil",
            1.5,
            0.2,
            "",
            "",
            "Expertiseschil: jeugd-GGZ-professional bij huisarts en school",
            "substitution_assumed",
        ),
        (
            WIJCHEN_LOT["jeugd_ggz"],
            "jeugd_expertiseschil",
            1.5,
            0.2,
            WIJCHEN,
            "",
            "Expertiseschil: jeugd-GGZ-professional bij huisarts en school (Wijchen, eigen inkoop GGZ)",
            "substitution_assumed",
        ),
        (
            "jeugd_verblijf",
            C1_AMBULANT,
            1.3,
            0.1,
            "",
            "",
            "Ambulantisering binnen het netwerkcontract C1 (substitutieafspraken: binnen het budget switchen naar ambulante zorg)",
            "substitution_assumed",
        ),
        (
            "wmo_begeleiding",
            "wmo_wijkteam",
            1.25,
            0.1,
            "",
            "",
            "Lichte ondersteuning door wijkteam / algemene voorziening",
            "substitution_assumed",
        ),
    ],
)

# protected prevention: the seed's "preventie voor curatie" (funded_share, share an assumption: full planned need);
# the basisinfrastructuur (expertiseschil, wijkteam) protected at its planned formation (basis_protected)
w(
    "goals",
    ["goal", "domain", "value", "gemeente", "population", "lot", "baseline_eur", "source"],
    [
        ("funded_share", "jeugd", 1.0, "", "", "jeugd_preventie", "", "prevention_protected"),
        ("funded_share", "wmo", 1.0, "", "", "wmo_ontmoeting", "", "prevention_protected"),
        ("funded_share", "jeugd", 1.0, "", "", "jeugd_expertiseschil", "", "basis_protected"),
        ("funded_share", "wmo", 1.0, "", "", "wmo_wijkteam", "", "basis_protected"),
    ],
)

# ---------------- demand.csv
# blok B: about 15,000 clients in the region (seed 001, Inhoud blok B). The split over the 9 lot kinds keeps the
# relative intensities of the earlier assumption (hours, dagdelen, etmalen per client below); their level is
# scaled so that the expected clients of the 7 gemeenten add up to 15,000, then rounded to whole units.
BLOK_B_CLIENTS = 15_000
UPC_RELATIVE = {
    "jeugd_ggz": 30,
    "jeugd_dagbesteding": 140,
    "jeugd_begeleiding": 80,
    "jeugd_specialistische_begeleiding": 100,
    "jeugd_behandeling": 50,
    "jeugd_kortdurend_verblijf": 30,
    "wmo_dagbesteding": 120,
    "wmo_begeleiding": 100,
    "wmo_specialistische_begeleiding": 120,
}


def kind_volume(kind):
    """Region volume of a blok B lot kind, Wijchen's own lot included."""
    lots = {kind, WIJCHEN_LOT.get(kind, kind)}
    return sum(v for (n, l), v in need_vol.items() if l in lots)


scale = sum(kind_volume(k) / u for k, u in UPC_RELATIVE.items()) / BLOK_B_CLIENTS
UPC = {k: int(half_up(u * scale, 0)) for k, u in UPC_RELATIVE.items()}
blok_b_clients = sum(kind_volume(k) / u for k, u in UPC.items())
CV = {
    "jeugd_ggz": 0.8,
    "jeugd_dagbesteding": 0.5,
    "jeugd_begeleiding": 0.7,
    "jeugd_specialistische_begeleiding": 0.7,
    "jeugd_behandeling": 0.8,
    "jeugd_kortdurend_verblijf": 0.6,
    "wmo_dagbesteding": 0.5,
    "wmo_begeleiding": 0.7,
    "wmo_specialistische_begeleiding": 0.7,
}
KIND = {l: l for l in UPC} | {v: k for k, v in WIJCHEN_LOT.items()}
ASSUMED = ("demand_count_assumed", "demand_units_per_client_assumed", "demand_cost_cv_assumed", "demand_shock_assumed")
rows = []
for l in ALL_LOTS:
    lot = l[0]
    if lot == "jeugd_jeugdbescherming":  # one lumpsum; technical unit: a millionth of it (volumes have 6 decimals)
        rows.append((lot, "fixed", "", "0.000001", 0, 0, "none") + ("demand_taak_fixed",) * 4)
    elif l[4] == "taak":  # technical unit: 0.1 fte or 1 euro
        rows.append((lot, "fixed", "", 0.1 if l[7] == "fte" else 1, 0, 0, "none") + ("demand_taak_fixed",) * 4)
    elif lot in KIND:
        k = KIND[lot]
        rows.append((lot, "poisson", "", UPC[k], CV[k], 0.05, "region", ASSUMED[0], "demand_units_per_client_blok_b") + ASSUMED[2:])
    elif lot == "jeugd_dyslexie":
        rows.append((lot, "poisson", "", 1, 0, 0.05, "region", ASSUMED[0], "demand_units_per_client_derived") + ASSUMED[2:])
    elif lot == "jeugd_verblijf":
        rows.append((lot, "negbin", 50, 1, 0.8, 0.08, "lot", ASSUMED[0], "demand_units_per_client_derived") + ASSUMED[2:])
    elif lot == "jeugd_jeugdzorg_plus":
        rows.append((lot, "negbin", 10, 1, 0.5, 0.1, "lot", ASSUMED[0], "demand_units_per_client_derived") + ASSUMED[2:])
    elif lot == C1_AMBULANT:
        rows.append((lot, "poisson", "", 100, 0.8, 0.05, "region") + ASSUMED)
    else:
        raise ValueError(f"no demand row for {lot}")
w(
    "demand",
    [
        "lot",
        "distribution",
        "dispersion",
        "units_per_client",
        "cost_cv",
        "shock_sd",
        "shock_scope",
        "source",
        "source_units_per_client",
        "source_cost_cv",
        "source_shock_sd",
    ],
    rows,
)

# ---------------- horizon (meerjarenraming) 2018-2021
# years.csv: the instance year and the years of the seed's IU table after it (seed 001 Bijlage 2 runs to 2021)
YEARS = [(2018, "begroting"), (2019, "meerjarenraming"), (2020, "meerjarenraming"), (2021, "meerjarenraming")]
w("years", ["year", "label", "source"], [(y, lab, "horizon_2018_2021") for y, lab in YEARS])

# budgets_by_year.csv (iu_2019_2021_derived): the 2018 budget x the region's IU ratio year / 2018 per domain (seed 001
# Bijlage 2, EUR mln), half up to whole euros; the rounding remainder goes to Nijmegen (the largest share, as in
# iu_2018_split) so the region totals are the seed's figures exactly. Own funds as in 2018 (0).
IU_SERIES = {
    "jeugd": {2018: "62.8", 2019: "62.8", 2020: "62.9", 2021: "63.2"},
    "wmo": {2018: "39.7", 2019: "39.3", 2020: "39.2", 2021: "39.1"},
}
rows = []
for y, _lab in YEARS[1:]:
    for d in ("jeugd", "wmo"):
        ratio = Decimal(IU_SERIES[d][y]) / Decimal(IU_SERIES[d][2018])
        b = {n: int((Decimal(budget[d][n]) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for n in names}
        b["Nijmegen"] += int(Decimal(IU_SERIES[d][y]) * 1_000_000) - sum(b.values())
        rows += [(n, d, y, b[n], 0, "iu_2019_2021_derived") for n in names]
rows.sort(key=lambda r: (r[2], names.index(r[0]), r[1]))
w("budgets_by_year", ["gemeente", "domain", "year", "budget_eur", "own_funds_eur", "source"], rows)

# year_factors.csv: every tariff x 1.02 a year, cumulative, rounded to 4 decimals (lpb_indexation_assumed); need of
# the 9 blok B lot kinds (the 6 regional jeugd percelen, Wijchen's own 6 lots and the 3 Wmo lots) -1% a year and of
# the basis (expertiseschil, wijkteam) +2% a year, both cumulative against 2018 (demand_trend_transformation); the
# other lots' need unchanged. A lot row carries the indexation too (the most specific row applies as a whole).
LPB = 0.02
BLOK_B_ALL = (
    BLOK_B_JEUGD + [WIJCHEN_LOT[l] for l in BLOK_B_JEUGD] + ["wmo_dagbesteding", "wmo_begeleiding", "wmo_specialistische_begeleiding"]
)
BASIS = ["jeugd_expertiseschil", "wmo_wijkteam"]
rows = []
for k, (y, _lab) in enumerate(YEARS[1:], start=1):
    t = round((1 + LPB) ** k, 4)
    rows.append((y, "*", t, 1.0, "lpb_indexation_assumed", "lpb_indexation_assumed", "demand_trend_transformation"))
    rows += [
        (y, l, t, round(1 - 0.01 * k, 2), "demand_trend_transformation", "lpb_indexation_assumed", "demand_trend_transformation")
        for l in BLOK_B_ALL
    ]
    rows += [
        (y, l, t, round(1 + 0.02 * k, 2), "demand_trend_transformation", "lpb_indexation_assumed", "demand_trend_transformation")
        for l in BASIS
    ]
w("year_factors", ["year", "target", "tariff_factor", "demand_factor", "source", "source_tariff_factor", "source_demand_factor"], rows)

# ---------------- examples/realised-2018.csv (synthetic; `verdeelmodel pool --costs`)
# One row per gemeente and pooled lot, 2018. Rule (realised_2018_example): realised = need.csv x a stated
# synthetic factor per gemeente; in the C1 pool 8% of the verblijf need is replaced by ambulant help at the
# substitution ratio 1.3 (the plan allows 10%).
F_JZP = {"Berg en Dal": 1.0, "Beuningen": 0.6, "Druten": 1.6, "Heumen": 0.0, "Mook en Middelaar": 2.5, "Nijmegen": 1.1, "Wijchen": 0.9}
F_VERBLIJF = {
    "Berg en Dal": 1.02,
    "Beuningen": 0.97,
    "Druten": 1.08,
    "Heumen": 0.95,
    "Mook en Middelaar": 1.25,
    "Nijmegen": 1.04,
    "Wijchen": 0.98,
}
SUBSTITUTED = 0.08
amb_upc = 100
real = []
for n in names:
    c = half_up(need_vol[(n, "jeugd_jeugdzorg_plus")] * F_JZP[n], 1)
    real.append((n, "jeugd_jeugdzorg_plus", 2018, c, int(half_up(c * L["jeugd_jeugdzorg_plus"][6], 0)), "realised_2018_example"))
    v = need_vol[(n, "jeugd_verblijf")] * F_VERBLIJF[n]
    c = half_up(v * (1 - SUBSTITUTED), 1)
    real.append((n, "jeugd_verblijf", 2018, c, int(half_up(c * L["jeugd_verblijf"][6], 0)), "realised_2018_example"))
    e = int(half_up(v * SUBSTITUTED * L["jeugd_verblijf"][6] / 1.3, 0))
    real.append((n, C1_AMBULANT, 2018, int(half_up(e / (L[C1_AMBULANT][6] * amb_upc), 0)), e, "realised_2018_example"))
os.makedirs(os.path.join(OUT, "examples"), exist_ok=True)
w(os.path.join("examples", "realised-2018"), ["gemeente", "lot", "year", "clients", "cost_eur", "source"], real)

print("tables written to", OUT)
print(f"blok B: units per client {UPC}; expected clients {blok_b_clients:,.0f}")
print("regional share of the 6 gemeenten per blok B jeugd lot:", {k: round(v, 4) for k, v in share6.items()})
