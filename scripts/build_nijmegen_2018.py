"""Rebuilds the data tables of this instance from the assumptions stated in sources.csv.

Run from anywhere: ``python scripts/build_nijmegen_2018.py``. It rewrites gemeenten, budgets, populations,
maatstaven, bedragen, lots, need, providers, contracts, ceilings and substitutions (.csv) next
in instances/nijmegen-2018; sources.csv, instance.yaml and README.md are written by hand. The loader ignores
this file (it reads instance.yaml and *.csv only). Needs numpy.
"""

import csv
import os

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
        True,
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
        "Jeugdbescherming en jeugdreclassering, gecertificeerde instellingen (blok C2)",
        "jeugd",
        "specialist",
        "output",
        "regional",
        9_500,
        "maatregel_year",
        3.0,
        True,
        5_500_000,
        1,
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
        True,
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
w(
    "gemeenten",
    ["gemeente", "inhabitants", "available_reserve_eur", "cbs_code", "source", "source_inhabitants", "source_available_reserve_eur"],
    [(g[0], g[2], g[8], g[1], "cbs_gemeentecodes", "inhabitants_2018_est", "reserve_assumed") for g in G],
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
        "source",
        "source_tariff_eur",
        "source_priority_weight",
        "source_statutory",
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
            "seed_percelen",
            "tariffs_assumed",
            "weights_assumed",
            "weights_assumed",
        )
        for l in LOTS
    ],
)

w(
    "need",
    ["gemeente", "population", "lot", "volume", "source"],
    [(n, L[l][2], l, need_vol[(n, l)], "need_2018_constructed") for n in names for l in L],
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
    ("verblijf_netwerk", "Netwerk jeugdhulp met verblijf (contract 2017-2019)", None, None),
    ("jeugdzorg_plus_a", "Jeugdzorg Plus-instelling", None, None),
    ("wmo_sb_a", "Wmo-aanbieder A specialistische begeleiding (Nijmegen)", None, None),
    ("wmo_sb_b", "Wmo-aanbieder B specialistische begeleiding (Nijmegen)", None, None),
]
w("providers", ["provider", "label", "ceiling_eur", "minimum_eur", "source"], [p + ("providers_illustrative",) for p in PROV])

R = REGION
CON = [
    ("ggz_a", "jeugd_ggz", R, "", 3_500_000, 2_000_000),
    ("ggz_b", "jeugd_ggz", R, "", 2_200_000, 600_000),
    ("ggz_vrijgevestigd", "jeugd_ggz", R, "", 900_000, None),
    ("lvb_a", "jeugd_dagbesteding", R, "", 1_400_000, 400_000),
    ("jeugd_klein", "jeugd_dagbesteding", R, "", None, None),
    ("jeugd_breed_a", "jeugd_begeleiding", R, "", 2_600_000, 1_000_000),
    ("jeugd_klein", "jeugd_begeleiding", R, "", None, None),
    ("lvb_a", "jeugd_specialistische_begeleiding", R, "", 2_600_000, 1_200_000),
    ("jeugd_breed_a", "jeugd_specialistische_begeleiding", R, "", 1_700_000, None),
    ("jeugd_breed_a", "jeugd_behandeling", R, "", 2_000_000, 800_000),
    ("jeugd_klein", "jeugd_behandeling", R, "", None, None),
    ("jeugd_breed_a", "jeugd_kortdurend_verblijf", R, "", 300_000, None),
    ("jeugd_klein", "jeugd_kortdurend_verblijf", R, "", None, None),
    ("dyslexie_a", "jeugd_dyslexie", R, "", 1_000_000, 400_000),
    ("dyslexie_b", "jeugd_dyslexie", R, "", 900_000, 200_000),
    ("verblijf_netwerk", "jeugd_verblijf", R, "", 18_000_000, 15_000_000),
    ("jeugdzorg_plus_a", "jeugd_jeugdzorg_plus", R, "", None, 2_600_000),
    ("wmo_sb_a", "wmo_specialistische_begeleiding", "", "Nijmegen", 1_600_000, 500_000),
    ("wmo_sb_b", "wmo_specialistische_begeleiding", "", "Nijmegen", None, 300_000),
]
w(
    "contracts",
    ["provider", "lot", "region", "gemeente", "ceiling_eur", "minimum_eur", "source"],
    [c + ("providers_illustrative",) for c in CON],
)

CEIL = [
    ("jeugd_specialistische_begeleiding", R, "", 4_000_000, None, "ceilings_assumed"),
    ("jeugd_dyslexie", R, "", 1_750_000, None, "ceilings_assumed"),
    ("jeugd_kortdurend_verblijf", R, "", None, 500_000, "ceilings_assumed"),
]
for n in names:
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
            "jeugd_verblijf",
            "jeugd_behandeling",
            1.3,
            0.1,
            "",
            "",
            "Ambulantisering verblijf (substitutieafspraken contract C1)",
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

print("tables written to", OUT)
