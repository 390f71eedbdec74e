"""Shared test helpers: write small instances from Python dicts, so each test states its data;
run the CLI in-process; build compact instances (one lot, a few gemeenten)."""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import numpy as np
import yaml
from hypothesis import strategies as st

from verdeelmodel.instance.validate import load_instance

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"

BASE_META = {
    "name": "tiny",
    "year": 2024,
    "description": "hand-computed test instance",
    "units": {"money": "EUR"},
    "domains": {"jeugd": "Jeugdhulp", "wmo": "Wmo 2015"},
}


def base_tables() -> dict[str, list[dict]]:
    """One gemeente, one population, two jeugd lots; every number easy to follow by hand."""
    return {
        "sources": [{"source": "test", "kind": "assumption", "description": "test data", "reference": ""}],
        "gemeenten": [{"gemeente": "A", "inhabitants": 1000, "available_reserve_eur": 0, "source": "test"}],
        "budgets": [{"gemeente": "A", "domain": "jeugd", "region": "R", "budget_eur": 100, "own_funds_eur": 0, "source": "test"}],
        "populations": [{"gemeente": "A", "population": "jeugd", "kind": "target_group", "inhabitants": 100, "source": "test"}],
        "lots": [
            {
                "lot": "basis",
                "label": "Basis",
                "domain": "jeugd",
                "echelon": "basis",
                "funding_form": "taak",
                "scope": "local",
                "tariff_eur": 1,
                "unit": "eur",
                "priority_weight": 1,
                "statutory": "false",
                "source": "test",
            },
            {
                "lot": "spec",
                "label": "Specialistisch",
                "domain": "jeugd",
                "echelon": "specialist",
                "funding_form": "inspanning",
                "scope": "regional",
                "tariff_eur": 10,
                "unit": "hour",
                "priority_weight": 2,
                "statutory": "true",
                "source": "test",
            },
        ],
        "need": [
            {"gemeente": "A", "population": "jeugd", "lot": "basis", "volume": 30, "source": "test"},
            {"gemeente": "A", "population": "jeugd", "lot": "spec", "volume": 8, "source": "test"},
        ],
    }


def write_instance(folder: Path, tables: dict[str, list[dict]], meta: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    m = copy.deepcopy(BASE_META)
    for k, v in (meta or {}).items():
        if isinstance(v, dict) and isinstance(m.get(k), dict):
            m[k] = {**m[k], **v}
        else:
            m[k] = v
    (folder / "instance.yaml").write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    for name, rows in tables.items():
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({c: "" if r.get(c) is None else r.get(c, "") for c in cols})
    return folder


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from verdeelmodel.cli import main

    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


POOL_RULES = {
    "solidair": {"kind": "solidariteit", "basis": "inhabitants"},
    "iu": {"kind": "solidariteit", "basis": "iu"},
    "uitgesteld3": {"kind": "uitgesteld_profijt", "years": 3},
    "mix": {"kind": "mixed", "w_own": 0.4, "w_inhabitants": 0.35, "w_budget": 0.25},
    "vast": {"kind": "vast_variabel", "fixed_eur": 12, "basis": "inhabitants"},
    "vast_share": {"kind": "vast_variabel", "fixed_share": 0.3, "basis": "budget"},
    "hoog": {"kind": "high_cost_pool", "threshold_eur": 0.25, "pool_share": 0.8, "basis": "inhabitants"},
    "onder": {"kind": "onderbenutting", "minimum_eur": 90, "gap_basis": "inhabitants"},
    "fonds": {"kind": "threshold_fund", "fund_threshold_eur_per_inhabitant": 0.001, "basis": "inhabitants"},
}


def pooled_tables(rule: str) -> dict:
    """Three gemeenten in region R; lot `verblijf` (tariff 1, statutory) pooled under `rule`."""
    t = base_tables()
    t["gemeenten"] += [{"gemeente": "B", "inhabitants": 3000, "source": "test"}, {"gemeente": "C", "inhabitants": 6000, "source": "test"}]
    t["budgets"] += [
        {"gemeente": g, "domain": "jeugd", "region": "R", "budget_eur": b, "source": "test"} for g, b in (("B", 60), ("C", 150))
    ]
    t["populations"] += [{"gemeente": g, "population": "jeugd", "inhabitants": 100, "source": "test"} for g in "BC"]
    t["lots"].append(
        {
            "lot": "verblijf",
            "domain": "jeugd",
            "echelon": "hoogspecialistisch",
            "funding_form": "output",
            "scope": "regional",
            "tariff_eur": 1,
            "unit": "client_year",
            "statutory": "true",
            "priority_weight": 3,
            "source": "test",
        }
    )
    t["need"] += [
        {"gemeente": "A", "population": "jeugd", "lot": "verblijf", "volume": 50, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "lot": "verblijf", "volume": 10, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "verblijf", "volume": 25, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "lot": "basis", "volume": 40, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "spec", "volume": 9, "source": "test"},
    ]
    t["pooling_rules"] = [{"rule": name, **spec, "source": "test"} for name, spec in POOL_RULES.items()]
    t["pools"] = [{"region": "R", "pool": "verblijf", "lots": "verblijf", "rule": rule, "source": "test"}]
    t["use_history"] = [
        {"gemeente": g, "lot": "verblijf", "year": y, "clients": c + y - 2021, "cost_eur": 0, "source": "test"}
        for g, c in (("A", 4), ("B", 1), ("C", 2))
        for y in (2021, 2022, 2023)
    ]
    return t


def build(folder: Path, gemeenten, lots, need, demand=(), pools=(), rules=(), history=(), domain="jeugd") -> Path:
    """An instance from compact specs, every lot in one domain.

    gemeenten: (name, region, inhabitants, available_reserve_eur[, budget_eur]);
    lots: (lot, tariff_eur); need: {(gemeente, lot): volume};
    demand: dicts of demand.csv (lot, distribution, ...); pools: (region, pool, lots, rule);
    rules: dicts of pooling_rules.csv; history: (gemeente, lot, year, clients)."""
    src = "test"
    t = {
        "sources": [{"source": src, "kind": "assumption", "description": "test data", "reference": ""}],
        "gemeenten": [{"gemeente": g[0], "inhabitants": g[2], "available_reserve_eur": g[3], "source": src} for g in gemeenten],
        "budgets": [
            {
                "gemeente": g[0],
                "domain": domain,
                "region": g[1],
                "budget_eur": g[4] if len(g) > 4 else 1000,
                "own_funds_eur": 0,
                "source": src,
            }
            for g in gemeenten
        ],
        "populations": [
            {"gemeente": g[0], "population": "p", "kind": "target_group", "inhabitants": 100, "source": src} for g in gemeenten
        ],
        "lots": [
            {
                "lot": l,
                "label": l,
                "domain": domain,
                "echelon": "specialist",
                "funding_form": "output",
                "scope": "regional",
                "tariff_eur": tar,
                "unit": "client_year",
                "priority_weight": 1,
                "statutory": "true",
                "source": src,
            }
            for l, tar in lots
        ],
        "need": [{"gemeente": g, "population": "p", "lot": l, "volume": v, "source": src} for (g, l), v in need.items()],
    }
    if demand:
        cols = ["lot", "distribution", "dispersion", "units_per_client", "cost_cv", "shock_sd", "shock_scope"]
        t["demand"] = [{**{c: None for c in cols}, **d, "source": src} for d in demand]
    if rules:
        t["pooling_rules"] = [{**r, "source": src} for r in rules]
    if pools:
        t["pools"] = [{"region": R, "pool": p, "lots": ls, "rule": r, "source": src} for R, p, ls, r in pools]
    if history:
        t["use_history"] = [{"gemeente": g, "lot": l, "year": y, "clients": c, "cost_eur": 0, "source": src} for g, l, y, c in history]
    return write_instance(folder, t)


def one_lot(tmp_path: Path, volume: float, tariff: float = 1.0, name: str = "i", **demand) -> object:
    """One gemeente, one lot `x` with need `volume` and the given demand.csv row (loaded instance)."""
    d = [{"lot": "x", **demand}] if demand else ()
    return load_instance(build(tmp_path / name, [("A", "R", 1000, 0)], [("x", tariff)], {("A", "x"): volume}, d))


def per_client_draws(dm, n, seed, chunk=0):
    """Recompute one batch client by client, from the generator order documented in sample():
    (shocks), (gamma), Poisson counts of every cell, then per lot with cost_cv > 0 one float32
    standard normal per client, cells in (scenario, gemeente) order, turned into a lognormal cost
    with the lot's mean and cv.  Only Poisson lots without shocks."""
    assert dm.n_shocks == 0 and np.all(dm.dist == 0)
    rng = np.random.default_rng([seed, chunk])
    G, L = dm.lam.shape
    clients = rng.poisson(np.broadcast_to(dm.lam, (n, G, L)).copy())
    per_client = {}  # (s, g, j) -> list of client costs
    for s in range(n):
        for g in range(G):
            for j in range(L):
                per_client[s, g, j] = [float(dm.mean_cost[j])] * int(clients[s, g, j])
    for j in range(L):
        if dm.cv[j] <= 0:
            continue
        s2 = math.log1p(dm.cv[j] ** 2)
        z = rng.standard_normal(int(clients[:, :, j].sum()), dtype=np.float32)
        draws = iter(float(v) for v in np.exp(z * np.float32(math.sqrt(s2)) + np.float32(math.log(dm.mean_cost[j]) - s2 / 2)))
        for s in range(n):
            for g in range(G):
                per_client[s, g, j] = [next(draws) for _ in range(int(clients[s, g, j]))]
    return clients, per_client


ECHELONS = ["nulde_lijn", "basis", "specialist", "hoogspecialistisch"]


@st.composite
def random_instances(draw, modes=("lexicographic", "lexicographic", "weighted")):
    """A small random instance: (tables, meta) for write_instance."""
    n_g = draw(st.integers(1, 4))
    n_lots = draw(st.integers(2, 4))
    gem = [f"G{i}" for i in range(n_g)]
    t = {
        "sources": [{"source": "s", "kind": "synthetic", "description": "hypothesis", "reference": ""}],
        "gemeenten": [{"gemeente": g, "inhabitants": draw(st.integers(1000, 200000)), "source": "s"} for g in gem],
        "budgets": [
            {
                "gemeente": g,
                "domain": "jeugd",
                "region": "R",
                "budget_eur": draw(st.integers(0, 5000)),
                "own_funds_eur": draw(st.sampled_from([0, 0, 250])),
                "source": "s",
            }
            for g in gem
        ],
        "populations": [],
        "lots": [],
        "need": [],
    }
    for g in gem:
        for p in range(draw(st.integers(1, 2))):
            t["populations"].append({"gemeente": g, "population": f"p{p}", "inhabitants": draw(st.integers(0, 5000)), "source": "s"})
    echelons = {}
    for i in range(n_lots):
        e = draw(st.sampled_from(ECHELONS))
        echelons[f"L{i}"] = e
        t["lots"].append(
            {
                "lot": f"L{i}",
                "domain": "jeugd",
                "echelon": e,
                "funding_form": "inspanning",
                "scope": draw(st.sampled_from(["local", "regional"])),
                "tariff_eur": draw(st.sampled_from([1, 2.5, 10, 40])),
                "unit": "hour",
                "priority_weight": draw(st.sampled_from([0.5, 1, 2, 3])),
                "statutory": draw(st.booleans()),
                "source": "s",
            }
        )
    for pop in t["populations"]:
        for lot in t["lots"]:
            if draw(st.booleans()):
                t["need"].append(
                    {
                        "gemeente": pop["gemeente"],
                        "population": pop["population"],
                        "lot": lot["lot"],
                        "volume": draw(st.integers(0, 300)),
                        "source": "s",
                    }
                )
    if not t["need"]:
        t["need"].append({"gemeente": gem[0], "population": "p0", "lot": "L0", "volume": 10, "source": "s"})
    ceilings = []
    for lot in t["lots"]:
        if draw(st.booleans()):
            ceilings.append({"lot": lot["lot"], "region": "R", "ceiling_eur": draw(st.integers(0, 4000)), "source": "s"})
        if draw(st.integers(0, 3)) == 0:
            g = draw(st.sampled_from(gem))
            lo = draw(st.integers(0, 400))
            ceilings.append(
                {"lot": lot["lot"], "gemeente": g, "minimum_eur": lo, "ceiling_eur": lo + draw(st.integers(0, 2000)), "source": "s"}
            )
    if ceilings:
        t["ceilings"] = ceilings
    heavy = sorted(echelons, key=lambda l: ECHELONS.index(echelons[l]))
    subs = []
    for a in heavy:
        for b in heavy:
            if ECHELONS.index(echelons[b]) < ECHELONS.index(echelons[a]) and draw(st.integers(0, 2)) == 0:
                subs.append(
                    {
                        "from_lot": a,
                        "to_lot": b,
                        "ratio": draw(st.sampled_from([1, 1.5, 3])),
                        "max_share": draw(st.sampled_from([0.1, 0.5, 1])),
                        "source": "s",
                    }
                )
    if subs:
        t["substitutions"] = subs
    mode = draw(st.sampled_from(list(modes)))
    return t, {"options": {"objective": {"mode": mode}}}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder but the timings of summary.json (they differ run to run)."""
    import json

    out = {}
    for p in sorted(folder.iterdir()):
        data = p.read_bytes()
        if p.name == "summary.json":
            s = json.loads(data)
            s = {k: v for k, v in s.items() if not (k == "seconds" or k.endswith("_seconds"))}
            data = json.dumps(s, sort_keys=True).encode()
        out[p.name] = data
    return out
