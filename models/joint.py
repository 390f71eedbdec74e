r"""Joint sizing: choose the allocation and the reserves together (Rockafellar-Uryasev).

For every gemeente g of a group, with K_{g,s} its charge in scenario s under the agreed
pooling rules (models/reserves.py) and P_g what it budgets for the modelled lots (its own
lots' x plus its pooled charges: the left side of its budget rows), the overspend is
O_{g,s} = K_{g,s} - P_g and

    reserve_g = eta_g + sum_s tail_{g,s} / ((1 - alpha) |S|)
    tail_{g,s} >= K_{g,s} - P_g - eta_g,   tail >= 0

added to the allocation model, minimising  sum_g reserve_g + the weighted allocation objective
(options.objective.weights). At the optimum reserve_g is the empirical CVaR_alpha of O_g
(tests/test_joint.py checks it to 1e-6). Scenario rows are short (tail, P_g, eta_g: three
terms) because P_g is one aggregate variable per gemeente.

Independent groups of gemeenten (no shared region, provider or pool) are separate problems:
they are solved one by one, or in parallel worker processes, and merged.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from verdeelmodel.instance.validate import Instance

from .allocation import build_allocation_model, prepare
from .reference import reference_allocation


def groups(inst: Instance) -> list[list[str]]:
    """Groups of gemeenten that share a region (any domain) or a provider: independent problems."""
    parent = {g: g for g in inst.gemeenten["gemeente"].tolist()}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    members: dict[tuple, list[str]] = defaultdict(list)
    for g, r in zip(inst.budgets["gemeente"].tolist(), inst.budgets["region"].tolist()):
        members[("region", r)].append(g)
    for c in inst.contracts.to_dict("records"):
        members[("provider", c["provider"])] += members.get(("region", c["region"]), []) if c["region"] else [c["gemeente"]]
    for gs in members.values():
        for g in gs[1:]:
            a, b = find(gs[0]), find(g)
            if a != b:
                parent[max(a, b)] = min(a, b)
    out: dict[str, list[str]] = defaultdict(list)
    for g in parent:
        out[find(g)].append(g)
    return sorted((sorted(v) for v in out.values()), key=lambda v: v[0])


def subset(inst: Instance, gemeenten: list[str]) -> Instance:
    """The part of an instance that concerns these gemeenten (their regions' rules included)."""
    gs = set(gemeenten)
    T = inst.tables
    regions = set(T["budgets"].loc[T["budgets"]["gemeente"].isin(gs), "region"])
    tables = dict(T)
    for name in ("gemeenten", "budgets", "populations", "maatstaven", "historical", "need", "vierkant", "use_history"):
        tables[name] = T[name][T[name]["gemeente"].isin(gs)]
    for name in ("substitutions", "goals"):
        tables[name] = T[name][(T[name]["gemeente"] == "") | T[name]["gemeente"].isin(gs)]
    for name in ("contracts", "ceilings"):
        tables[name] = T[name][T[name]["gemeente"].isin(gs) | T[name]["region"].isin(regions)]
    tables["pools"] = T["pools"][T["pools"]["region"].isin(regions)]
    tables["providers"] = T["providers"][T["providers"]["provider"].isin(set(tables["contracts"]["provider"]))]
    return Instance(inst.meta, {k: v.reset_index(drop=True) for k, v in tables.items()}, inst.path, inst.input_hash, inst.input_files)


def add_reserve_block(m: pyo.ConcreteModel, K: np.ndarray, gemeenten: list[str], alpha: float, weights: dict[str, float]) -> None:
    """The RU rows and the joint objective (see the module docstring). K: [S, G] in ``gemeenten`` order."""
    D = m.data
    S = K.shape[0]
    m.pays = pyo.Var(gemeenten, domain=pyo.Reals, doc="what g budgets for the modelled lots (EUR)")
    m.eta = pyo.Var(gemeenten, domain=pyo.Reals, doc="value-at-risk level of g's overspend (EUR)")
    m.reserve = pyo.Var(gemeenten, domain=pyo.Reals, doc="required reserve of g: CVaR of its overspend (EUR)")
    m.tail = pyo.Var([(g, s) for g in gemeenten for s in range(S)], domain=pyo.NonNegativeReals)
    terms = defaultdict(list)
    for (g, p, l), x in m.x_data.items():
        if (g, l) not in D.pooled:
            terms[g].append(x)
    for (g, _pool), v in m.pooled_charge.items():
        terms[g].append(v)
    m.pays_definition = pyo.Constraint(gemeenten, rule=lambda _m, g: m.pays[g] - sum(terms[g]) == 0)
    rows = {(g, s): (m.tail[g, s] + m.pays[g] + m.eta[g] >= float(K[s, i])) for i, g in enumerate(gemeenten) for s in range(S)}
    m.ru_tail = pyo.Constraint(list(rows), rule=lambda _m, g, s: rows[(g, s)])
    c = 1.0 / ((1.0 - alpha) * S)
    m.ru_reserve = pyo.Constraint(gemeenten, rule=lambda _m, g: m.reserve[g] - m.eta[g] - c * sum(m.tail[g, s] for s in range(S)) == 0)
    stages = {s: m.component(f"objective_{s}") for s in ("unmet_statutory", "unmet", "deviation", "spend")}
    expr = sum(m.reserve[g] for g in gemeenten)
    for name, obj in stages.items():
        if obj is not None and weights.get(name):
            expr = expr + weights[name] * obj.expr
            obj.deactivate()
    m.objective_joint = pyo.Objective(expr=expr, sense=pyo.minimize)


@dataclass
class JointResult:
    table: pd.DataFrame  # gemeente, pays_eur, reserve_eur, eta_eur, empirical_cvar_eur
    objective: float
    status: str
    timings: dict[str, float]


def solve_group(inst: Instance, gemeenten: list[str], K: np.ndarray, alpha: float, reference: pd.DataFrame | None = None) -> JointResult:
    """Build and solve the joint LP of one independent group."""
    from verdeelmodel.solvers.highs import HighsSession, compile_model

    t0 = time.perf_counter()
    sub = subset(inst, gemeenten) if len(gemeenten) < len(inst.gemeenten) else inst
    ref = None if reference is None else reference[reference["gemeente"].isin(set(gemeenten))].reset_index(drop=True)
    D = prepare(sub, ref)
    m = build_allocation_model(sub, D)
    weights = dict(inst.options.objective.weights)
    add_reserve_block(m, K, gemeenten, alpha, weights)
    t1 = time.perf_counter()
    lp = compile_model(m, ["objective_joint"])
    session = HighsSession(lp)
    t2 = time.perf_counter()
    out = session.solve(["objective_joint"])
    t3 = time.perf_counter()
    if out.status != "optimal":
        return JointResult(pd.DataFrame(), float("nan"), out.status, {"build_seconds": t1 - t0, "translate_seconds": t2 - t1, "highs_seconds": out.highs_seconds})
    val = {}
    for j, (comp, idx) in enumerate(zip(lp.col_component, lp.col_index)):
        if comp in ("pays", "eta", "reserve"):
            val[(comp, idx)] = out.x[j]
    from .reserves import var_cvar

    pays = np.array([val[("pays", g)] for g in gemeenten])
    _var, cvar = var_cvar(K - pays, alpha)
    table = pd.DataFrame({
        "gemeente": gemeenten, "pays_eur": pays, "eta_eur": [val[("eta", g)] for g in gemeenten],
        "reserve_eur": [val[("reserve", g)] for g in gemeenten], "empirical_cvar_eur": cvar,
    })
    return JointResult(table, out.stages[-1].objective, "optimal", {"build_seconds": t1 - t0, "translate_seconds": t2 - t1, "highs_seconds": out.highs_seconds, "solve_seconds": t3 - t2})


def _work(args) -> list[JointResult]:
    inst, chunk, alpha, reference = args
    return [solve_group(inst, gs, K, alpha, reference) for gs, K in chunk]


def solve_joint(inst: Instance, K: np.ndarray, gemeenten: list[str], alpha: float = 0.9, processes: int | None = None) -> JointResult:
    """Joint LP per independent group, in ``processes`` worker processes (default: CPUs)."""
    t0 = time.perf_counter()
    reference = reference_allocation(inst)
    pos = {g: i for i, g in enumerate(gemeenten)}
    work = [(gs, K[:, [pos[g] for g in gs]]) for gs in groups(inst)]
    n = max(1, min(processes or os.cpu_count() or 1, len(work)))
    if n == 1:
        parts = [solve_group(inst, gs, k, alpha, reference) for gs, k in work]
    else:
        order = sorted(range(len(work)), key=lambda i: -len(work[i][0]))
        chunks: list[list] = [[] for _ in range(n)]
        for k, i in enumerate(order):
            chunks[k % n].append(work[i])
        # forkserver: workers never inherit HiGHS threads of this process (fork after threads is unsafe)
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["verdeelmodel.models.joint"])
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as ex:
            parts = [r for res in ex.map(_work, [(inst, c, alpha, reference) for c in chunks if c]) for r in res]
    status = "optimal" if all(p.status == "optimal" for p in parts) else next(p.status for p in parts if p.status != "optimal")
    table = pd.concat([p.table for p in parts if len(p.table)], ignore_index=True).sort_values("gemeente", kind="stable").reset_index(drop=True) if parts else pd.DataFrame()
    timings: dict[str, float] = defaultdict(float)
    for p in parts:
        for k, v in p.timings.items():
            timings[k] += v
    timings["wall_seconds"] = time.perf_counter() - t0
    timings["groups"] = len(work)
    timings["processes"] = n
    return JointResult(table, sum(p.objective for p in parts), status, dict(timings))
