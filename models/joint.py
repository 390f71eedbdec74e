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
terms) because P_g is one aggregate variable per gemeente. add_reserve_block is the formulation of
record; by default its S x G part (tail columns, ru_tail rows) is not built in Pyomo but appended
to the compiled model from arrays (append_scenario_rows: the same LP, checked by
tests/test_joint_arrays.py), and HiGHS solves it on each gemeente's highest-charge scenario rows,
the only ones whose tail can be positive, with a check of the rest (solve_screened: the same
optimum; with 10,000 scenarios on nl-synthetic a tenth of the rows, ~10x less HiGHS time than the whole LP).

Independent groups of gemeenten (no shared region, provider or pool) are separate problems:
they are solved one by one, or in parallel worker processes, and merged.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.core as pyo

from verdeelmodel.instance.validate import Instance

from .allocation import build_allocation_model, prepare
from .manifest import OBJECTIVE_PREFIX, Stage
from .reference import reference_allocation

JOINT_OBJECTIVE = OBJECTIVE_PREFIX + "joint"
#: HiGHS options for the whole joint LP (solve_group(screen=False)): solve its dual (HiGHS forms it)
#: with the dual simplex method. The simplex pivots about once per tail that ends up positive,
#: G S (1 - alpha) in all, whichever way; on the dual each is cheaper: on nl-synthetic with 10,000
#: scenarios 2-3.5x less HiGHS time per group than the default (the primal simplex, IPX and
#: HiPO-less "hipo", presolve off, devex or other scaling, crash and price strategies were slower
#: or no better), the same optimum.
FULL_LP_HIGHS_OPTIONS: dict[str, object] = {"simplex_dualize_strategy": 1}
#: HiGHS options for the screened joint LP (the default, solve_screened): HiGHS's defaults, faster
#: there than the dualised LP (largest nl-synthetic group, 10,000 scenarios: 0.45 s against 1.15 s CPU).
JOINT_HIGHS_OPTIONS: dict[str, object] = {}


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


def add_reserve_block(
    m: pyo.ConcreteModel, b, K: np.ndarray, gemeenten: list[str], alpha: float, weights: dict[str, float], scenario_rows: bool = True
) -> None:
    """The RU rows and the joint objective (see the module docstring). K: [S, G] in ``gemeenten`` order;
    ``b``: the allocation model's BuildInfo. This is the formulation of record; ``scenario_rows=False``
    leaves out its S x G part (the tail columns, the ru_tail rows and ru_reserve's tail sum), which
    :func:`append_scenario_rows` then adds to the compiled model from arrays, the same rows and columns
    in the same places (tests/test_joint_arrays.py)."""
    D = b.data
    S = K.shape[0]
    m.pays = pyo.Var(gemeenten, domain=pyo.Reals, doc="what g budgets for the modelled lots (EUR)")
    m.eta = pyo.Var(gemeenten, domain=pyo.Reals, doc="value-at-risk level of g's overspend (EUR)")
    m.reserve = pyo.Var(gemeenten, domain=pyo.Reals, doc="required reserve of g: CVaR of its overspend (EUR)")
    if scenario_rows:
        m.tail = pyo.Var([(g, s) for g in gemeenten for s in range(S)], domain=pyo.NonNegativeReals)
    terms = defaultdict(list)
    for (g, _p, l), x in b.x.items():
        if (g, l) not in D.pooled:
            terms[g].append(x)
    for (g, _pool), v in m.pooled_charge.items():
        terms[g].append(v)
    m.pays_definition = pyo.Constraint(gemeenten, rule=lambda _m, g: m.pays[g] - sum(terms[g]) == 0)
    if scenario_rows:
        rows = {(g, s): (m.tail[g, s] + m.pays[g] + m.eta[g] >= float(K[s, i])) for i, g in enumerate(gemeenten) for s in range(S)}
        m.ru_tail = pyo.Constraint(list(rows), rule=lambda _m, g, s: rows[(g, s)])
        c = ru_tail_weight(alpha, S)
        m.ru_reserve = pyo.Constraint(gemeenten, rule=lambda _m, g: m.reserve[g] - m.eta[g] - c * sum(m.tail[g, s] for s in range(S)) == 0)
    else:
        m.ru_reserve = pyo.Constraint(gemeenten, rule=lambda _m, g: m.reserve[g] - m.eta[g] == 0)
    stages = {s.value: m.component(s.objective) for s in Stage}
    expr = sum(m.reserve[g] for g in gemeenten)
    for name, obj in stages.items():
        if obj is not None and weights.get(name):
            expr = expr + weights[name] * obj.expr
            obj.deactivate()
    m.add_component(JOINT_OBJECTIVE, pyo.Objective(expr=expr, sense=pyo.minimize))


def ru_tail_weight(alpha: float, S: int) -> float:
    """The coefficient of each tail in reserve_g = eta_g + sum_s tail_{g,s} / ((1 - alpha) S)."""
    return 1.0 / ((1.0 - alpha) * S)


def append_scenario_rows(lp, K: np.ndarray, gemeenten: list[str], alpha: float):
    """The S x G part of the RU rows added to a model compiled with ``add_reserve_block(...,
    scenario_rows=False)``, from arrays: the columns tail[g, s] >= 0 after the last column, the rows
    ru_tail[g, s]: tail[g, s] + pays[g] + eta[g] >= K[s, g] just before the ru_reserve rows, and
    -tail[g, s] / ((1 - alpha) S) in ru_reserve[g] -- exactly what the Pyomo formulation compiles to
    (g-major, then s; names "tail" and "ru_tail" with index (g, s), made when read)."""
    from verdeelmodel.solvers.highs import INF, ProductIndex, RepeatedName, extend_lp

    S, G = K.shape
    n_rows, n_cols = lp.shape
    where = {(comp, idx): j for j, (comp, idx) in enumerate(zip(lp.col_component, lp.col_index)) if comp in ("pays", "eta")}
    pays = np.array([where[("pays", g)] for g in gemeenten], dtype=np.int64)
    eta = np.array([where[("eta", g)] for g in gemeenten], dtype=np.int64)
    first = next(r for r, comp in enumerate(lp.row_component) if comp == "ru_reserve")
    ru_reserve = first + np.arange(G, dtype=np.int64)
    if [lp.row_index[r] for r in ru_reserve.tolist()] != list(gemeenten):
        raise ValueError("the compiled model's ru_reserve rows are not one per gemeente in order")
    n = S * G
    k = np.arange(n, dtype=np.int64)  # tail column / ru_tail row k is (g, s) = divmod(k, S)
    g_of = k // S
    new_row, new_col = n_rows + k, n_cols + k
    rows = np.concatenate([new_row, new_row, new_row, ru_reserve[g_of]])
    cols = np.concatenate([new_col, pays[g_of], eta[g_of], new_col])
    vals = np.concatenate([np.ones(3 * n), np.full(n, -ru_tail_weight(alpha, S))])
    return extend_lp(
        lp,
        col_lower=np.zeros(n),
        col_upper=np.full(n, INF),
        col_component=RepeatedName("tail", n),
        col_index=ProductIndex(gemeenten, range(S)),
        row_lower=np.ascontiguousarray(K.T, dtype=float).reshape(-1),
        row_upper=np.full(n, INF),
        row_component=RepeatedName("ru_tail", n),
        row_index=ProductIndex(gemeenten, range(S)),
        entries=(rows, cols, vals),
        row_at=first,
    )


#: Scenario rows kept per gemeente by the screened solve beyond the ceil((1 - alpha) S) whose tail
#: can be positive: 2 for ties at the value-at-risk level plus this share of S.
SCREEN_MARGIN = 0.01
#: A dropped scenario row counts as violated (and is added back) above this many euros.
SCREEN_TOLERANCE = 1e-7


def _part(lp, rows: np.ndarray, cols: np.ndarray, entries):
    """The LP on these rows and columns (sorted; ``entries``: the matrix's (row, column, value) on
    both), its names and Pyomo data read from ``lp`` when read (a linear model: no squares)."""
    from verdeelmodel.solvers.highs import CompiledLP, PickedNames, SparseMatrix

    local_r = np.full(lp.shape[0], -1, dtype=np.int64)
    local_r[rows] = np.arange(len(rows))
    local_c = np.full(lp.shape[1], -1, dtype=np.int64)
    local_c[cols] = np.arange(len(cols))
    r, c, v = entries
    return CompiledLP(
        A=SparseMatrix.from_triplets(local_r[r], local_c[c], v, (len(rows), len(cols))),
        costs={k: x[cols] for k, x in lp.costs.items()},
        hessians={},
        offsets=dict(lp.offsets),
        col_lower=lp.col_lower[cols],
        col_upper=lp.col_upper[cols],
        row_lower=lp.row_lower[rows],
        row_upper=lp.row_upper[rows],
        row_constant=lp.row_constant[rows],
        col_component=PickedNames(lp.col_component, cols),
        col_index=PickedNames(lp.col_index, cols),
        row_component=PickedNames(lp.row_component, rows),
        row_index=PickedNames(lp.row_index, rows),
        row_data=PickedNames(lp.row_data, rows),
        col_data=PickedNames(lp.col_data, cols),
        col_of={},
        compile_seconds=0.0,
    )


def solve_screened(lp, alpha: float, options: dict | None = None, keep: int | None = None, ranking: np.ndarray | None = None):
    """Solve the compiled joint LP of one group (its ru_tail rows and tail columns as
    :func:`add_reserve_block` or :func:`append_scenario_rows` place them) on the scenario rows that
    can matter, exactly. tail[g, s] > 0 only where K[s, g] > pays[g] + eta[g], and at the optimum
    eta[g] is the value-at-risk level of K[:, g] - pays[g]: at most ceil((1 - alpha) S) scenarios of g
    have a positive tail, and since pays[g] is one number per gemeente they are g's highest charges.
    So HiGHS gets only the ru_tail rows (and tails) of each gemeente's highest charges (with a
    margin, SCREEN_MARGIN), the rest of the model whole. Its optimum is the full LP's when every
    dropped row holds with tail 0 (K[s, g] <= pays[g] + eta[g]): then the full LP's point with those
    tails 0 has the same objective, and no better one exists (any full point, its reserve lowered
    by the dropped tails' share, is a point of the smaller LP). That is checked; where a dropped row
    is violated, that gemeente keeps twice as many rows and the LP is solved again (up to all).
    Feasibility is the same for both (a point of one gives a point of the other by moving the
    dropped tails' share into reserve), so an IIS found here names full-model rows. The charges
    K[s, g] are read from the ru_tail rows' bounds. ``keep``: the rows kept per gemeente at first
    (default: as above; at least ceil((1 - alpha) S), below which the smaller LP is unbounded);
    ``ranking``: [G, S], the order in which each gemeente's scenarios are kept (default: highest
    charge first; another order only costs more rounds).

    Returns the SolveOutcome in the full model's columns and rows (dropped tails 0, their rows'
    activity pays + eta, their duals 0; ``highs_seconds`` over all LPs solved) and {"rounds": LPs
    solved, "translate_seconds": time to cut them out and load them into HiGHS}."""
    from verdeelmodel.solvers.highs import HighsSession

    if lp.hessians:
        raise ValueError("solve_screened: a linear model only")
    n_rows, n_cols = lp.shape
    row0, col0 = lp.row_component.index("ru_tail"), lp.col_component.index("tail")
    where = {(c, i): j for j, (c, i) in enumerate(zip(lp.col_component[:col0], lp.col_index[:col0])) if c in ("pays", "eta")}
    gemeenten = [i for c, i in where if c == "pays"]
    G = len(gemeenten)
    S = (n_cols - col0) // G  # the tail columns are the last, g-major
    if lp.col_index[col0 + S - 1] != (gemeenten[0], S - 1) or lp.row_index[row0 + S * G - 1] != (gemeenten[-1], S - 1):
        raise ValueError("the ru_tail rows and tail columns are not one per gemeente and scenario, g-major")
    pays = np.array([where[("pays", g)] for g in gemeenten], dtype=np.int64)
    eta = np.array([where[("eta", g)] for g in gemeenten], dtype=np.int64)
    charge = lp.row_lower[row0 : row0 + S * G].reshape(G, S)  # K.T
    rank = np.argsort(-charge, axis=1, kind="stable") if ranking is None else np.asarray(ranking)
    least = int(np.ceil((1.0 - alpha) * S))  # fewest rows with a bounded LP: least / ((1 - alpha) S) >= 1
    least += least * ru_tail_weight(alpha, S) < 1.0
    keep = np.full(G, min(S, max(least, least + 2 + int(SCREEN_MARGIN * S) if keep is None else int(keep))))
    r_all, c_all, v_all = lp.A.triplets()
    info = {"rounds": 0, "translate_seconds": 0.0}
    highs = 0.0
    while True:
        t0 = time.perf_counter()
        info["rounds"] += 1
        kept = np.zeros((G, S), dtype=bool)
        kept[np.repeat(np.arange(G), keep), np.concatenate([rank[g, : keep[g]] for g in range(G)])] = True
        ids = np.flatnonzero(kept.reshape(-1))  # g * S + s, in the model's order
        rows = np.concatenate([np.arange(row0), row0 + ids, np.arange(row0 + S * G, n_rows)])
        cols = np.concatenate([np.arange(col0), col0 + ids, np.arange(col0 + S * G, n_cols)])
        in_rows = np.zeros(n_rows, dtype=bool)
        in_rows[rows] = True
        in_cols = np.zeros(n_cols, dtype=bool)
        in_cols[cols] = True
        sel = in_rows[r_all] & in_cols[c_all]
        part = _part(lp, rows, cols, (r_all[sel], c_all[sel], v_all[sel]))
        session = HighsSession(part, options=options)
        info["translate_seconds"] += time.perf_counter() - t0
        out = session.solve([JOINT_OBJECTIVE])
        highs += out.highs_seconds
        out.highs_seconds = highs
        if out.status != "optimal":
            out.iis_rows = [(int(rows[r]), kind) for r, kind in out.iis_rows]
            out.iis_cols = [(int(cols[c]), kind) for c, kind in out.iis_cols]
            return out, info
        x = np.zeros(n_cols)
        x[cols] = out.x
        level = x[pays] + x[eta]
        violated = ((charge - level[:, None]) > SCREEN_TOLERANCE) & ~kept
        if not violated.any() or bool(np.all(keep == S)):
            break
        keep = np.where(violated.any(axis=1), np.minimum(S, 2 * keep), keep)
    act = np.repeat(level, S)  # a dropped row's activity: pays + eta (its tail is 0)
    act = np.concatenate([np.zeros(row0), act, np.zeros(n_rows - row0 - S * G)])
    act[rows] = out.row_activity
    duals = {}
    for name, d in out.row_dual.items():
        duals[name] = np.zeros(n_rows)
        duals[name][rows] = d
    out.x, out.row_activity, out.row_dual = x, act, duals
    return out, info


@dataclass
class JointResult:
    table: pd.DataFrame  # gemeente, pays_eur, reserve_eur, eta_eur, empirical_cvar_eur
    objective: float
    status: str
    timings: dict[str, float]


def solve_group(
    inst: Instance,
    gemeenten: list[str],
    K: np.ndarray,
    alpha: float,
    reference: pd.DataFrame | None = None,
    *,
    arrays: bool = True,
    screen: bool = True,
    highs_options: dict | None = None,
) -> JointResult:
    """Build and solve the joint LP of one independent group. ``arrays`` (default): the S x G
    scenario rows are added to the compiled model from arrays (:func:`append_scenario_rows`), not
    built in Pyomo -- the same LP, several times faster to make; False: all in Pyomo
    (:func:`add_reserve_block`, the formulation of record). ``screen`` (default): HiGHS solves it on
    the scenario rows that can matter, with a check that the rest hold (:func:`solve_screened`: the
    same optimum); False: the whole LP at once. ``highs_options``: HiGHS options for the solve
    (default JOINT_HIGHS_OPTIONS, or FULL_LP_HIGHS_OPTIONS unscreened)."""
    from verdeelmodel.solvers.highs import compile_model

    t0, c0 = time.perf_counter(), time.process_time()
    sub = subset(inst, gemeenten) if len(gemeenten) < len(inst.gemeenten) else inst
    ref = None if reference is None else reference[reference["gemeente"].isin(set(gemeenten))].reset_index(drop=True)
    D = prepare(sub, ref)
    m, b = build_allocation_model(sub, D)
    weights = dict(inst.options.objective.weights)
    add_reserve_block(m, b, K, gemeenten, alpha, weights, scenario_rows=not arrays)
    t1 = time.perf_counter()
    lp = compile_model(m, [JOINT_OBJECTIVE])
    return _solve_compiled(lp, K, gemeenten, alpha, arrays, screen, highs_options, t1 - t0, t1, c0)


def _solve_compiled(lp, K, gemeenten, alpha, arrays, screen, highs_options, build: float, t1: float, c0: float) -> JointResult:
    """Solve a group's compiled joint LP (its scenario rows appended from arrays when ``arrays``)
    and read pays, eta and the reserve per gemeente. ``build``: seconds spent building it before
    ``t1``; translate counts from ``t1``."""
    from verdeelmodel.solvers.highs import HighsSession

    if arrays:
        lp = append_scenario_rows(lp, K, gemeenten, alpha)
    if highs_options is None:
        highs_options = JOINT_HIGHS_OPTIONS if screen else FULL_LP_HIGHS_OPTIONS
    if screen:  # the part HiGHS gets is cut out and loaded in solve_screened: translate time too
        t2 = time.perf_counter()
        out, info = solve_screened(lp, alpha, highs_options)
        t3 = time.perf_counter()
        t2 += info["translate_seconds"]
    else:
        session = HighsSession(lp, options=highs_options)
        t2 = time.perf_counter()
        out, info = session.solve([JOINT_OBJECTIVE]), {"rounds": 1}
        t3 = time.perf_counter()
    timings = {"build_seconds": build, "translate_seconds": t2 - t1, "highs_seconds": out.highs_seconds, "solve_seconds": t3 - t2}
    timings["lp_rounds"] = info["rounds"]
    if out.status != "optimal":
        timings["cpu_seconds"] = time.process_time() - c0
        return JointResult(pd.DataFrame(), float("nan"), out.status, timings)
    val = {}
    before_tails = lp.col_component[: lp.col_component.index("tail")]  # the S x G tail columns come last
    for j, comp in enumerate(before_tails):
        if comp in ("pays", "eta", "reserve"):
            val[(comp, lp.col_index[j])] = out.x[j]
    from .reserves import var_cvar

    pays = np.array([val[("pays", g)] for g in gemeenten])
    _var, cvar = var_cvar(K - pays, alpha)
    table = pd.DataFrame(
        {
            "gemeente": gemeenten,
            "pays_eur": pays,
            "eta_eur": [val[("eta", g)] for g in gemeenten],
            "reserve_eur": [val[("reserve", g)] for g in gemeenten],
            "empirical_cvar_eur": cvar,
        }
    )
    timings["cpu_seconds"] = time.process_time() - c0
    return JointResult(table, out.stages[-1].objective, "optimal", timings)


def national_parts(inst: Instance, K: np.ndarray, gemeenten: list[str], alpha: float, reference: pd.DataFrame | None = None):
    """The joint LP built and compiled once for the whole instance (without its S x G scenario
    rows) and cut into its independent groups: per group (its compiled part, its gemeenten in the
    order of the part's rows, their columns of K). A group is the union of the matrix's connected
    components that hold its gemeenten (solvers.highs.column_blocks); the stage offsets go with the
    first group. The parts carry no Pyomo objects (they pickle: sent to workers as they are)."""
    from verdeelmodel.solvers.highs import column_blocks, compile_model, slice_lp

    D = prepare(inst, reference)
    m, b = build_allocation_model(inst, D)
    add_reserve_block(m, b, K, gemeenten, alpha, dict(inst.options.objective.weights), scenario_rows=False)
    lp = compile_model(m, [JOINT_OBJECTIVE])
    region_groups = groups(inst)
    group_of = {g: k for k, gs in enumerate(region_groups) for g in gs}
    col_group = np.zeros(lp.shape[1], dtype=np.int64)  # a component without a gemeente: the first group's
    for cols in column_blocks(lp.A):
        # a gemeente's pays, eta and reserve (eta and reserve meet pays only in the scenario rows, not yet added)
        owners = {group_of[lp.col_index[j]] for j in cols.tolist() if lp.col_component[j] in ("pays", "eta", "reserve")}
        if len(owners) > 1:
            raise ValueError("a connected part of the joint LP spans two region groups")
        col_group[cols] = owners.pop() if owners else 0
    csr = lp.A.tocsr()
    has = np.diff(csr.indptr) > 0
    row_group = np.zeros(lp.shape[0], dtype=np.int64)
    row_group[has] = col_group[csr.indices[csr.indptr[:-1][has]]]
    pos = {g: i for i, g in enumerate(gemeenten)}
    parts = []
    for k in range(len(region_groups)):
        cols, rows = np.flatnonzero(col_group == k), np.flatnonzero(row_group == k)
        part = slice_lp(lp, cols, rows, offsets=k == 0, pyomo=False)
        order = [idx for comp, idx in zip(part.col_component, part.col_index) if comp == "pays"]
        parts.append((part, order, K[:, [pos[g] for g in order]]))
    return parts


def _part_task(context, task) -> JointResult:
    alpha, screen, highs_options = context
    part, order, K = task
    t1, c0 = time.perf_counter(), time.process_time()
    return _solve_compiled(part, K, order, alpha, True, screen, highs_options, 0.0, t1, c0)


def _group(context, task) -> JointResult:
    inst, alpha, reference = context
    gs, K = task
    return solve_group(inst, gs, K, alpha, reference)


def solve_joint(
    inst: Instance, K: np.ndarray, gemeenten: list[str], alpha: float = 0.9, executor=None, national: bool = True
) -> JointResult:
    """Joint LP per independent group, where ``executor`` runs them (verdeelmodel.executors: an
    Executor, a number of worker processes, or None: local processes when the work pays). The
    groups' tables are merged by gemeente, so the result does not depend on the executor.
    ``national`` (default): built and compiled once for the whole instance and cut into the groups
    (:func:`national_parts`); False: each group built from its own sub-instance (:func:`solve_group`)."""
    from verdeelmodel.executors import as_executor

    t0, c0 = time.perf_counter(), time.process_time()
    reference = reference_allocation(inst)
    pos = {g: i for i, g in enumerate(gemeenten)}
    ex = as_executor(executor)
    if national:
        parts = national_parts(inst, K, gemeenten, alpha, reference)
        built, c_built = time.perf_counter() - t0, time.process_time() - c0
        ex = ex.for_work(SECONDS_PER_SCENARIO_ROW * K.size)
        weights = [float(p[2].size) for p in parts]
        results = ex.map(_part_task, parts, context=(alpha, True, None), weights=weights)
        n_groups = len(parts)
    else:
        work = [(gs, K[:, [pos[g] for g in gs]]) for gs in groups(inst)]
        built, c_built = 0.0, 0.0
        ex = ex.for_work(GROUP_SECONDS * len(work) + SECONDS_PER_SCENARIO_ROW * K.size)
        results = ex.map(_group, work, context=(inst, alpha, reference), weights=[float(k.size) for _gs, k in work])
        n_groups = len(work)
    status = "optimal" if all(p.status == "optimal" for p in results) else next(p.status for p in results if p.status != "optimal")
    table = (
        pd.concat([p.table for p in results if len(p.table)], ignore_index=True)
        .sort_values("gemeente", kind="stable")
        .reset_index(drop=True)
        if results
        else pd.DataFrame()
    )
    timings: dict[str, float] = defaultdict(float)
    for p in results:
        for k, v in p.timings.items():
            timings[k] += v
    timings["build_seconds"] += built  # the national build and cut (the parts' own are 0)
    timings["cpu_seconds"] += c_built
    timings["wall_seconds"] = time.perf_counter() - t0
    timings["groups"] = n_groups
    timings["processes"] = ex.workers_for(n_groups)
    return JointResult(table, sum(p.objective for p in results), status, dict(timings))


#: A group's joint LP: about this many seconds to build and load, and this many per scenario row
#: (gemeente x scenario) to solve (nl-synthetic, 2 cores); decides whether worker processes pay.
GROUP_SECONDS = 0.05
SECONDS_PER_SCENARIO_ROW = 1e-6


# --------------------------------------------------------------------------- key weights


@dataclass
class KeyWeightResult:
    rule: str
    weight: float  # optimal w_own
    agreed_weight: float
    bounds: tuple[float, float]
    table: pd.DataFrame  # gemeente, required at the instance's weight, at the optimum, alone (profijt)
    total_required: float
    status: str
    core: pd.DataFrame | None = None  # per pool and region: the weights whose split is in the core
    core_interval: tuple[float, float] | None = None  # all games together (lo > hi: none)


def optimise_key_weight(
    inst: Instance,
    planned_cost: np.ndarray,
    rule_name: str,
    bounds: tuple[float, float],
    scenarios: int,
    seed: int,
    alpha: float = 0.9,
    pools: list[str] | None = None,
    no_worse_than_alone: bool = True,
    in_core: bool = True,
) -> KeyWeightResult:
    r"""The own-cost weight w of a mixed rule, within agreed ``bounds``, that minimises the sum of
    the gemeenten's required reserves (CVaR) for a given allocation -- optionally with no gemeente
    needing more than alone (profijt).

    The mixed charge is affine in w, so is the overspend: O(w) = O(0) + w (O(1) - O(0)), where O(0)
    and O(1) are computed by the pooling engine with the rule's weight set to 0 and 1 (the other
    weights keep their proportions). The LP (Rockafellar-Uryasev):

        min sum_g r_g   s.t.  tail_{g,s} >= O(0)_{g,s} + w B_{g,s} - eta_g,  tail >= 0,
        r_g = eta_g + sum_s tail_{g,s} / ((1 - alpha) S),  lo <= w <= hi,  (r_g <= alone_g)

    The rule is varied where it is agreed (pools.csv), or, for a candidate rule, on every pool (or
    ``pools``). ``in_core``: only weights whose split is in the core of each pool's game
    (models/fairness.py: no group of gemeenten pays more together than it needs alone); the
    split is affine in w, so these weights form an interval, intersected with ``bounds``; when
    it is empty the status says so ("core_empty")."""
    from dataclasses import replace

    from verdeelmodel.solvers.highs import HighsSession, compile_model

    from .pooling import BASES, pool_setups, rules_of
    from .reserves import RuleSet, run_reserves, var_cvar

    rules = rules_of(inst)
    rule = rules.get(rule_name)
    if rule is None or not rule.kind_spec.weight_columns:
        raise ValueError(f"{rule_name} is not a mixed pooling rule")
    lo, hi = bounds
    if not 0 <= lo <= hi <= 1:
        raise ValueError("bounds must satisfy 0 <= lo <= hi <= 1")
    shares = {b: getattr(rule, f"w_{b}") for b in BASES}
    total = sum(shares.values())
    if total <= 0:
        raise ValueError(f"{rule_name} has no key besides its own-cost weight")
    r0 = replace(rule, name=f"{rule_name}@w=0", w_own=0.0, **{f"w_{b}": v / total for b, v in shares.items()})
    r1 = replace(rule, name=f"{rule_name}@w=1", w_own=1.0, **{f"w_{b}": 0.0 for b in BASES})
    setups = pool_setups(inst)
    agreed_somewhere = any(rule_name in s.agreed for s in setups)

    def variant(name: str) -> list[list[str]]:
        if agreed_somewhere:
            return [[name if n == rule_name else n for n in s.agreed] for s in setups]
        return [[name] * len(s.ctx.regions) if (pools is None or s.ctx.pool in pools) else list(s.agreed) for s in setups]

    sets = [
        RuleSet("profijt", [["profijt"] * len(s.ctx.regions) for s in setups]),
        RuleSet("w0", variant(r0.name)),
        RuleSet("w1", variant(r1.name)),
    ]
    run = run_reserves(inst, planned_cost, scenarios, seed, sets=sets, extra_rules={r0.name: r0, r1.name: r1})
    A, B = run.overspend["w0"], run.overspend["w1"] - run.overspend["w0"]
    involved = sorted(
        {g for s, names in zip(setups, sets[1].per_setup) for i, g in enumerate(s.ctx.gemeenten) if names[s.ctx.region_index[i]] == r0.name}
    )
    core_table, core_iv = None, None
    if in_core:
        from .fairness import core_weight_interval, instance_games

        games = instance_games(
            inst,
            planned_cost,
            scenarios,
            seed,
            alpha,
            sets={"w0": [list(n) for n in sets[1].per_setup], "w1": [list(n) for n in sets[2].per_setup]},
            extra_rules={r0.name: r0, r1.name: r1},
            keep_samples=True,
        )
        pairs: dict[tuple, dict] = {}
        for pg in games:
            if pg.rule in (r0.name, r1.name):
                pairs.setdefault((pg.pool, pg.region), {})[pg.rule_set] = pg
        rows = []
        lo_all, hi_all = 0.0, 1.0
        for (pool, region), gs in sorted(pairs.items()):
            p0, p1 = gs["w0"], gs["w1"]
            wlo, whi, how = core_weight_interval(p0.game.rule_split, p1.game.rule_split, p0.samples, alpha)
            rows.append({"pool": pool, "region": region, "core_w_own_from": wlo, "core_w_own_to": whi, "method": how})
            lo_all, hi_all = max(lo_all, wlo), min(hi_all, whi)
        core_table, core_iv = pd.DataFrame(rows), (lo_all, hi_all)
        lo, hi = max(lo, lo_all), min(hi, hi_all)
        if lo > hi + 1e-12:
            return KeyWeightResult(
                rule_name, float("nan"), rule.w_own, bounds, pd.DataFrame(), float("nan"), "core_empty", core_table, core_iv
            )
    cols = [run.gemeenten.index(g) for g in involved]
    A, B = A[:, cols], B[:, cols]
    _v, alone = var_cvar(run.overspend["profijt"][:, cols], alpha)
    S = A.shape[0]
    m = pyo.ConcreteModel()
    m.w = pyo.Var(bounds=(lo, hi))
    m.eta = pyo.Var(involved, domain=pyo.Reals)
    m.r = pyo.Var(involved, domain=pyo.Reals)
    m.tail = pyo.Var([(g, s) for g in involved for s in range(S)], domain=pyo.NonNegativeReals)
    rows = {(g, s): (m.tail[g, s] + m.eta[g] - float(B[s, i]) * m.w >= float(A[s, i])) for i, g in enumerate(involved) for s in range(S)}
    m.ru_tail = pyo.Constraint(list(rows), rule=lambda _m, g, s: rows[(g, s)])
    c = 1.0 / ((1.0 - alpha) * S)
    m.ru_reserve = pyo.Constraint(involved, rule=lambda _m, g: m.r[g] - m.eta[g] - c * sum(m.tail[g, s] for s in range(S)) == 0)
    if no_worse_than_alone:
        m.no_worse_than_alone = pyo.Constraint(
            involved, rule=lambda _m, g: m.r[g] <= float(alone[involved.index(g)]) + 1e-6 * max(1.0, abs(float(alone[involved.index(g)])))
        )
    m.total_reserve = pyo.Objective(expr=sum(m.r[g] for g in involved), sense=pyo.minimize)
    lp = compile_model(m, ["total_reserve"])
    out = HighsSession(lp).solve(["total_reserve"])
    if out.status != "optimal":
        return KeyWeightResult(rule_name, float("nan"), rule.w_own, bounds, pd.DataFrame(), float("nan"), out.status)
    w = float(out.x[lp.col_component.index("w")])
    _v, at_opt = var_cvar(A + w * B, alpha)
    _v, at_agreed = var_cvar(A + rule.w_own * B, alpha)
    table = pd.DataFrame(
        {
            "gemeente": involved,
            "required_alone_eur": alone,
            "required_instance_weight_eur": at_agreed,
            "required_optimal_weight_eur": at_opt,
        }
    )
    return KeyWeightResult(rule_name, w, rule.w_own, bounds, table, float(out.stages[-1].objective), "optimal", core_table, core_iv)
