"""Bigger instances for the scale benchmarks: populations split into sub-areas, as real
populatiebekostiging goes down to wijk or buurt level.

:func:`split_areas` splits every population of an instance into sub-areas (``<population> / buurt k``)
so that each gemeente has about ``areas_per_gemeente`` of them. Inhabitants, maatstaven (counts),
historical spending and need volumes are divided over the sub-areas by seeded random weights (the
same weights for all of one population's numbers, so a sub-area is a smaller copy of its population
with its own size); rows that name a population (substitutions, goals, vierkant) are repeated for
each of its sub-areas. Totals per gemeente are kept exactly (integers and cents by largest
remainder). Everything else of the instance is unchanged. The result is synthetic and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: tables whose rows name one population and hold amounts that divide over its sub-areas
_DIVIDED = {"populations": "inhabitants", "maatstaven": "value", "historical": "historical_eur", "need": "volume"}
#: how each divided column is rounded: whole units, cents, or not at all (volumes)
_ROUNDING = {"inhabitants": 0, "value": 0, "historical_eur": 2, "volume": None}


def _split(total: float, weights: np.ndarray, decimals: int | None) -> np.ndarray:
    """``total`` over ``weights`` (summing to 1), rounded to ``decimals`` by largest remainder so
    the parts add up to the total exactly (None: not rounded)."""
    parts = total * weights
    if decimals is None:
        return parts
    scale = 10**decimals
    units = int(round(total * scale))
    floor = np.floor(parts * scale).astype(np.int64)
    rest = units - int(floor.sum())
    order = np.argsort(-(parts * scale - floor), kind="stable")
    floor[order[:rest]] += 1
    return floor / scale


def split_areas(inst, areas_per_gemeente: int, seed: int = 20261130):
    """A copy of ``inst`` with every population split into sub-areas, about ``areas_per_gemeente``
    per gemeente (a population is split into round(areas / the gemeente's populations) parts, at
    least 1). The same instance, seed and size give the same copy, byte for byte."""
    if areas_per_gemeente < 1:
        raise ValueError("areas_per_gemeente must be at least 1")
    out = inst.copy()
    pops = out.tables["populations"]
    per_g = pops.groupby("gemeente")["population"].count().to_dict()
    rng = np.random.default_rng(seed)
    parts: dict[tuple[str, str], int] = {}
    weights: dict[tuple[str, str], np.ndarray] = {}
    for g, p in zip(pops["gemeente"], pops["population"]):
        k = max(1, round(areas_per_gemeente / per_g[g]))
        parts[(g, p)] = k
        weights[(g, p)] = rng.dirichlet(np.full(k, 4.0)) if k > 1 else np.ones(1)
    if all(k == 1 for k in parts.values()):
        return out

    def area(p: str, i: int, k: int) -> str:
        return p if k == 1 else f"{p} / buurt {i + 1}"

    for name, df in out.tables.items():
        if df.empty or "population" not in df.columns or "gemeente" not in df.columns:
            continue
        column = _DIVIDED.get(name)
        rows = []
        for rec in df.to_dict("records"):
            key = (rec["gemeente"], rec["population"])
            k = parts.get(key, 1)
            if (
                k == 1
                or rec["population"] in ("", None)
                or (isinstance(rec["population"], float) and rec["population"] != rec["population"])
            ):
                rows.append(rec)
                continue
            shares = _split(float(rec[column]), weights[key], _ROUNDING[column]) if column else [None] * k
            for i in range(k):
                new = dict(rec, population=area(rec["population"], i, k))
                if column:
                    v = shares[i]
                    new[column] = int(v) if _ROUNDING[column] == 0 else float(v)
                rows.append(new)
        new_df = pd.DataFrame.from_records(rows, columns=df.columns)
        if name == "populations":  # a population must hold someone: the smallest sub-area gets at least 1 inhabitant
            new_df["inhabitants"] = new_df["inhabitants"].clip(lower=1)
        if "_row" in new_df.columns:
            new_df["_row"] = np.arange(2, len(new_df) + 2)
        out.tables[name] = new_df
    meta = out.meta
    meta.name = f"{meta.name}-{areas_per_gemeente}-gebieden"
    meta.description = (
        f"{meta.description.rstrip()} Every population split into sub-areas, about {areas_per_gemeente} per gemeente "
        f"(verdeelmodel.scale.split_areas, seed {seed}): a synthetic scale-up for benchmarks, not real wijk or buurt data."
    )
    meta.synthetic = True
    return out
