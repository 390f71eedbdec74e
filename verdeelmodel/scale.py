"""Bigger instances for the scale benchmarks: populations split into sub-areas, as real
populatiebekostiging goes down to wijk or buurt level.

:func:`split_areas` splits every population of an instance into sub-areas (``<population> / buurt k``)
so that each gemeente has about ``areas_per_gemeente`` of them. Inhabitants, maatstaven (counts),
historical spending and need volumes are divided over the sub-areas by seeded random weights (the
same weights for all of one population's numbers, so a sub-area is a smaller copy of its population
with its own size); rows that name a population (substitutions, goals, vierkant) are repeated for
each of its sub-areas. Totals per gemeente are kept exactly (integers and cents by largest
remainder). Everything else of the instance is unchanged. The result is synthetic and says so.

:func:`split_lots` does the same for the lots (percelen): every lot is split into sub-lots
(``<lot> / deel i``), each a smaller copy of its lot with a seeded random weight (the same weight
in every table, so a sub-lot is its lot scaled down). Rows that name a lot are repeated per
sub-lot; amounts that add up over a lot (need volumes, plafonds and minimums, contract sums, use
history, lump sums) are divided by the weights with totals kept exactly; per-unit figures
(tariffs, shares, distribution parameters) are copied. A pool of a lot pools all its sub-lots; a
substitution from lot A to lot B is spread over sub-lot pairs by the north-west corner of the two
weight vectors, each pair's max_share scaled so that every sub-lot of A moves its share of A's
substitutable need and every sub-lot of B receives its share of what B takes over. Any allocation
of the whole instance, each lot's amounts scaled by the weights, is one of the split instance
(and summing the sub-lots of one back), so the linear stages (tekort, plafondoverschrijding)
have the same optimum.
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
    return _labelled(
        out,
        f"{areas_per_gemeente}-gebieden",
        f"Every population split into sub-areas, about {areas_per_gemeente} per gemeente "
        f"(verdeelmodel.scale.split_areas, seed {seed}): a synthetic scale-up for benchmarks, not real wijk or buurt data.",
    )


def _labelled(out, suffix: str, sentence: str):
    """``out`` named and described as the synthetic scale-up it is."""
    meta = out.meta
    meta.name = f"{meta.name}-{suffix}"
    meta.description = f"{meta.description.rstrip()} {sentence}"
    meta.synthetic = True
    return out


#: tables whose rows name one lot (column ``lot``), with the amounts that divide over its
#: sub-lots and their rounding (2: cents, None: not rounded); the other columns are copied
_LOT_AMOUNTS: dict[str, dict[str, int | None]] = {
    "lots": {},
    "need": {"volume": None},
    "contracts": {"ceiling_eur": 2, "minimum_eur": 2},
    "ceilings": {"ceiling_eur": 2, "minimum_eur": 2},
    "goals": {},
    "use_history": {"clients": None, "cost_eur": 2},
    "contract_sums": {"ceiling_eur": 2},
    "contract_options": {"lump_sum_eur": 2, "plafond_eur": 2},
    "demand": {},
}


def _blank(v) -> bool:
    return v is None or v == "" or (isinstance(v, float) and v != v)


def _divide(v, weights: np.ndarray, decimals: int | None) -> list:
    """An amount over the weights (totals kept, see :func:`_split`); blank stays blank in every
    part. Cents only where the amount is in cents (finer amounts are divided unrounded)."""
    if _blank(v):
        return [v] * len(weights)
    v = float(v)
    if decimals is not None and abs(v * 10**decimals - round(v * 10**decimals)) > 1e-6:
        decimals = None
    return [float(x) for x in _split(v, weights, decimals)]


def _pairs(wa: np.ndarray, wb: np.ndarray) -> list[tuple[int, int, float]]:
    """The north-west corner transport plan from weights ``wa`` to ``wb`` (both summing to 1):
    (i, j, t) with sum_j t = wa[i] and sum_i t = wb[j]; at most len(wa) + len(wb) - 1 pairs."""
    ca, cb = np.cumsum(wa), np.cumsum(wb)
    ca[-1] = cb[-1] = 1.0
    cuts = np.unique(np.concatenate(([0.0], ca, cb)))
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        if hi - lo < 1e-12:
            continue
        mid = (lo + hi) / 2
        out.append((int(np.searchsorted(ca, mid)), int(np.searchsorted(cb, mid)), float(hi - lo)))
    return out


def split_lots(inst, lots: int, seed: int = 20261130):
    """A copy of ``inst`` with every lot split into sub-lots, about ``lots`` lots in all (each lot
    into round(lots / the instance's lots) parts, at least 1). ``lots`` below the instance's number
    of lots is refused (ValueError). The same instance, seed and size give the same copy, byte for
    byte."""
    out = inst.copy()
    names = list(out.tables["lots"]["lot"])
    if lots < len(names):
        raise ValueError(f"lots must be at least the instance's {len(names)} lots (got {lots}): lots are only split, never merged")
    k = max(1, round(lots / len(names)))
    if k == 1:
        return out
    rng = np.random.default_rng(seed)
    weights = {lot: rng.dirichlet(np.full(k, 4.0)) for lot in names}
    subs = {lot: [f"{lot} / deel {i + 1}" for i in range(k)] for lot in names}

    def renumber(df: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
        new = pd.DataFrame.from_records(rows, columns=df.columns)
        if "_row" in new.columns:
            new["_row"] = np.arange(2, len(new) + 2)
        return new

    for name, amounts in _LOT_AMOUNTS.items():
        df = out.tables.get(name)
        if df is None or df.empty or "lot" not in df.columns:
            continue
        cols = [c for c in amounts if c in df.columns]
        rows = []
        for rec in df.to_dict("records"):
            lot = rec["lot"]
            if _blank(lot) or lot not in weights:  # a goal for every lot of the domain
                rows.append(rec)
                continue
            parts = {c: _divide(rec[c], weights[lot], amounts[c]) for c in cols}
            for i in range(k):
                new = dict(rec, lot=subs[lot][i], **{c: parts[c][i] for c in cols})
                if name == "lots" and not _blank(rec.get("label")):
                    new["label"] = f"{rec['label']} / deel {i + 1}"
                lo, hi = new.get("minimum_eur"), new.get("ceiling_eur")
                if "minimum_eur" in cols and not _blank(lo) and not _blank(hi) and lo > hi:
                    new["minimum_eur"] = hi  # a cent of rounding must not put the minimum above the plafond
                rows.append(new)
        out.tables[name] = renumber(df, rows)

    sub = out.tables.get("substitutions")
    if sub is not None and not sub.empty:
        rows = []
        for rec in sub.to_dict("records"):
            a, b = rec["from_lot"], rec["to_lot"]
            for i, j, t in _pairs(weights[a], weights[b]):
                share = min(float(rec["max_share"]), float(rec["max_share"]) * t / weights[a][i])
                rows.append(dict(rec, from_lot=subs[a][i], to_lot=subs[b][j], max_share=share))
        out.tables["substitutions"] = renumber(sub, rows)

    pools = out.tables.get("pools")
    if pools is not None and not pools.empty:
        pools = pools.copy()
        pools["lots"] = [
            ";".join(s for x in str(v).split(";") if x.strip() for s in subs.get(x.strip(), [x.strip()])) for v in pools["lots"]
        ]
        out.tables["pools"] = pools

    fac = out.tables.get("year_factors")
    if fac is not None and not fac.empty:  # a factor for a lot holds for each sub-lot (a domain or * as it was)
        rows = [dict(rec, target=s) for rec in fac.to_dict("records") for s in subs.get(rec["target"], [rec["target"]])]
        out.tables["year_factors"] = renumber(fac, rows)

    return _labelled(
        out,
        f"{lots}-percelen",
        f"Every lot split into {k} sub-lots, about {lots} lots in all "
        f"(verdeelmodel.scale.split_lots, seed {seed}): a synthetic scale-up for benchmarks, not real procurement lots.",
    )
