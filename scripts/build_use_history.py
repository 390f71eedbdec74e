"""Derive use_history.csv for the pooled lots of nijmegen-2018 and westfriesland-2021.

Usage: python scripts/build_use_history.py instances/nijmegen-2018 nijmegen-2018 instances/nijmegen-2018/use_history.csv
(the trend and per-gemeente variations below are the stated assumptions of the instances' sources.csv).

clients[g, l, t] = round(volume[g, l] (need.csv, instance year) x trend[l, t] x var[g, l, t], digits)
cost_eur[g, l, t] = round(clients x tariff[l] / 1.02 ** (year - t))
"""

import sys
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd


def half_up(x: float, digits: int) -> float:
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


SPECS = {
    "nijmegen-2018": dict(
        year=2018,
        digits=1,
        source="use_history_2015_2017",
        trend={  # region trend, relative to the instance year's need
            "jeugd_jeugdzorg_plus": {2015: 1.10, 2016: 1.05, 2017: 1.00},
            "jeugd_verblijf": {2015: 0.94, 2016: 0.97, 2017: 0.99},
        },
        var={  # gemeente variation per year (2015, 2016, 2017)
            "jeugd_jeugdzorg_plus": {
                "Berg en Dal": (0.50, 1.50, 1.00),
                "Beuningen": (1.20, 0.60, 1.20),
                "Druten": (0.00, 0.80, 0.80),
                "Heumen": (2.20, 1.10, 1.10),
                "Mook en Middelaar": (2.50, 0.00, 0.50),
                "Nijmegen": (1.00, 1.05, 1.00),
                "Wijchen": (1.10, 0.80, 0.90),
            },
            "jeugd_verblijf": {
                "Berg en Dal": (0.95, 1.05, 1.00),
                "Beuningen": (1.10, 0.95, 1.00),
                "Druten": (0.85, 0.90, 0.95),
                "Heumen": (1.15, 1.10, 1.05),
                "Mook en Middelaar": (1.30, 0.80, 1.10),
                "Nijmegen": (1.00, 1.00, 1.00),
                "Wijchen": (0.95, 1.00, 1.05),
            },
        },
    ),
    "westfriesland-2021": dict(
        year=2021,
        digits=0,
        source="use_history_2018_2020",
        trend={
            "jeugd_C_hoogcomplex_verblijf": {2018: 0.96, 2019: 0.98, 2020: 1.00},
            "wmo_C_hoogcomplex": {2018: 0.90, 2019: 0.95, 2020: 0.98},
        },
        var={
            "jeugd_C_hoogcomplex_verblijf": {
                "Drechterland": (0.80, 0.90, 1.00),
                "Enkhuizen": (1.30, 1.20, 1.10),
                "Hoorn": (1.00, 1.00, 1.00),
                "Koggenland": (0.70, 0.80, 0.90),
                "Medemblik": (1.05, 1.00, 1.00),
                "Opmeer": (1.50, 0.70, 1.20),
                "Stede Broec": (0.90, 1.10, 1.00),
            },
            "wmo_C_hoogcomplex": {
                "Drechterland": (1.30, 1.00, 1.00),
                "Enkhuizen": (0.80, 1.00, 1.20),
                "Hoorn": (1.00, 1.00, 1.00),
                "Koggenland": (1.00, 0.50, 0.80),
                "Medemblik": (1.10, 1.00, 1.00),
                "Opmeer": (2.00, 1.00, 1.50),
                "Stede Broec": (0.80, 1.00, 1.20),
            },
        },
    ),
}


def build(folder: str, name: str) -> pd.DataFrame:
    s = SPECS[name]
    need = pd.read_csv(f"{folder}/need.csv")
    lots = pd.read_csv(f"{folder}/lots.csv").set_index("lot")
    rows = []
    for lot, trend in s["trend"].items():
        vol = need[need["lot"] == lot].groupby("gemeente")["volume"].sum()
        tariff = float(lots.loc[lot, "tariff_eur"])
        for g in sorted(vol.index):
            for i, t in enumerate(sorted(trend)):
                c = half_up(float(vol[g]) * trend[t] * s["var"][lot][g][i], s["digits"])
                c = int(c) if s["digits"] == 0 else c
                cost = int(half_up(c * tariff / 1.02 ** (s["year"] - t), 0))
                rows.append({"gemeente": g, "lot": lot, "year": t, "clients": c, "cost_eur": cost, "source": s["source"]})
    return pd.DataFrame(rows).sort_values(["gemeente", "lot", "year"])


if __name__ == "__main__":
    folder, name = sys.argv[1], sys.argv[2]
    df = build(folder, name)
    df.to_csv(sys.argv[3] if len(sys.argv) > 3 else sys.stdout, index=False, lineterminator="\n")
