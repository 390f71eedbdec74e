"""The Python API: load -> AllocationModel (built and compiled once) -> solve -> Result.

    >>> import verdeelmodel as vm
    >>> inst = vm.load_instance("instances/nijmegen-2018")
    >>> model = vm.AllocationModel(inst)
    >>> res = model.solve()
    >>> res.allocation.head()            # pandas DataFrames, one per table
    >>> model.set_limit("ceiling_per_lot_region", ("jeugd_specialistische_begeleiding", "rijk_van_nijmegen"), 5e6)
    >>> res2 = model.solve()             # re-solved without rebuilding (warm start)
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from verdeelmodel._gc import building
from verdeelmodel.instance.validate import Instance
from verdeelmodel.models.allocation import AllocationData, BuildInfo, build_allocation_model, eur, objective_names, prepare
from verdeelmodel.models.manifest import BUSINESS_KINDS, DUAL_STAGE, budget_group, kind_of
from verdeelmodel.solvers.highs import INF, CompiledLP, HighsSession, SolveOutcome, compile_model

#: Slack below which a ceiling or minimum counts as binding (euros).
BINDING_TOL_EUR = 0.5


@dataclass
class SolveOptions:
    time_limit: float | None = None
    threads: int | None = None
    log: bool = False


@dataclass
class Result:
    """Everything a solve produced, as labelled tables."""

    instance: str
    status: str
    objective: dict[str, float]
    timings: dict[str, float]
    allocation: pd.DataFrame
    substitutions: pd.DataFrame
    provider_budgets: pd.DataFrame
    budgets: pd.DataFrame
    constraints: pd.DataFrame
    reference: pd.DataFrame
    explanation: list[str] = field(default_factory=list)
    message: str = ""
    pooling: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    @property
    def binding(self) -> pd.DataFrame:
        """Binding ceilings, minimums and goals with their shadow prices."""
        c = self.constraints
        return c[c["binding"] & c["kind"].isin(BUSINESS_KINDS)].sort_values("shadow_price_unmet", kind="stable")

    def unmet_by_lot(self) -> pd.DataFrame:
        """Per lot: need, need moved away and added by substitution, allocation, unmet need.
        need - substituted_out + substituted_in = amount + unmet (no budget above need)."""
        cols = ["need_eur", "substituted_out_eur", "substituted_in_eur", "amount_eur", "unmet_eur"]
        a = self.allocation
        if a.empty:
            return pd.DataFrame(columns=["lot", "label", *cols])
        return a.groupby(["lot", "label"], as_index=False, sort=True)[cols].sum()


class AllocationModel:
    """The allocation model of one instance: Pyomo model built once, compiled once,
    loaded into HiGHS once; ``solve()`` may be called again after ``set_limit``."""

    def __init__(self, inst: Instance, options: SolveOptions | None = None, reference: pd.DataFrame | None = None):
        """``reference``: a precomputed reference allocation (when ``inst`` is a part of a larger
        instance whose uitkeringsfactor must not change); computed from ``inst`` by default."""
        self.instance = inst
        self.options = options or SolveOptions()
        t0 = time.perf_counter()
        with building():  # many small, long-lived objects: no young-generation GC passes (see _gc.py)
            self.data: AllocationData = prepare(inst, reference)
            self.model, self.info = build_allocation_model(inst, self.data)
            self.info: BuildInfo
            self.build_seconds = time.perf_counter() - t0
            self.lp: CompiledLP = compile_model(self.model, objective_names(self.info))
            t1 = time.perf_counter()
            self.session = HighsSession(self.lp, time_limit=self.options.time_limit, threads=self.options.threads, log=self.options.log)
            self.load_seconds = time.perf_counter() - t1
        self._frames = _ColumnFrames(self.lp)

    @functools.cached_property
    def _rows(self) -> dict[tuple[str, object], int]:
        """Row position of every (family, index); built on first use (set_limit, sweeps)."""
        return self.lp.rows_of()

    @property
    def translate_seconds(self) -> float:
        return self.lp.compile_seconds + self.load_seconds

    def set_limit(self, family: str, index, eur_value: float) -> None:
        """Change one plafond or minimum (by family and index) in the Pyomo model and in
        the loaded HiGHS model, without rebuilding."""
        if isinstance(index, str) and "|" in index and (family, index) not in self._rows:
            index = tuple(index.split("|"))  # the joined form of constraints.csv's index column
        key = (family, index)
        if key not in self._rows:
            raise KeyError(f"no constraint {family}{index!r}; families: {sorted({f for f, _ in self._rows})}")
        row = self._rows[key]
        con = self.lp.row_data[row]
        lo, hi = self.lp.row_lower[row], self.lp.row_upper[row]
        if kind_of(family) == "ceiling":
            hi = float(eur_value)
            con.set_value((None, con.body, hi))
        elif kind_of(family) == "minimum":
            lo = float(eur_value)
            con.set_value((lo, con.body, None))
        else:
            raise ValueError(f"{family} is not a plafond or minimum family")
        self.session.set_row_bounds(row, lo, hi)

    def solve(self) -> Result:
        o = self.instance.options.objective
        order = objective_names(self.info)
        dual_stage = DUAL_STAGE.objective if DUAL_STAGE.objective in order else order[0]
        t0 = time.perf_counter()
        out = self.session.solve(order, tol_rel=o.tolerance_rel, tol_abs=o.tolerance_abs_eur, dual_stages=(dual_stage,))
        t1 = time.perf_counter()
        res = self._result(out, dual_stage)
        res.timings = {
            "build_seconds": self.build_seconds,
            "translate_seconds": self.translate_seconds,
            "solve_seconds": t1 - t0,
            "highs_seconds": out.highs_seconds,
            "extract_seconds": time.perf_counter() - t1,
        }
        return res

    # ------------------------------------------------------------------ results

    @functools.cached_property
    def _layout(self) -> _Layout:
        return _Layout(self)

    def _result(self, out: SolveOutcome, dual_stage: str) -> Result:
        D, inst = self.data, self.instance
        objective = {s.name.removeprefix("objective_"): s.objective for s in out.stages}
        empty = pd.DataFrame()
        if out.status != "optimal":
            from verdeelmodel.explain import explain_infeasible

            expl = explain_infeasible(self, out) if out.status == "infeasible" else [f"HiGHS stopped: {out.message} ({out.status}); no allocation is reported."]
            return Result(inst.name, out.status, objective, {}, empty, empty, empty, empty, empty, D.reference, expl, out.message)
        L, x = self._layout, out.x
        n = len(L.need)

        # substitution: s moves euros of need from (g,p,l) to (g,p,l'), where it adds s / rho
        moved = x[L.arc_col]
        sub_out = _group_sum(L.arc_from, moved, n)
        sub_in = _group_sum(L.arc_to, moved * L.arc_inv_ratio, n)
        subs = L.subs.copy()
        subs["moved_need_eur"] = moved
        subs["added_need_eur"] = moved / L.arc_ratio
        subs = _clean(subs)

        alloc = L.alloc.copy()
        amount = x[L.x_col]
        alloc["substituted_out_eur"] = sub_out
        alloc["substituted_in_eur"] = sub_in
        alloc["amount_eur"] = amount
        alloc["unmet_eur"] = x[L.u_col]
        alloc["above_need_eur"] = np.maximum(amount - (L.need + sub_in - sub_out), 0.0)
        alloc = _clean(alloc)
        amount = alloc["amount_eur"].to_numpy()

        pb = L.providers.copy()
        pb["amount_eur"] = x[L.y_col]

        # budgets: every euro is allocated (own lots + pooled charges) or headroom
        charge = x[L.charge_col]
        spent = _group_sum(L.x_budget_group[L.x_paid], amount[L.x_paid], len(L.budget))
        spent += _group_sum(L.charge_budget_group, charge, len(L.budget))
        budgets = L.budgets.copy()
        budgets["allocated_eur"] = spent
        budgets["headroom_eur"] = L.budget - spent
        budgets = _clean(budgets)

        cons = self._constraint_table(out, dual_stage)
        ref = D.reference.copy()
        if len(ref):
            ref["allocated_eur"] = _group_sum(L.x_ref_group, amount, len(ref) + 1)[:len(ref)]
            ref["deviation_eur"] = ref["allocated_eur"] - ref["reference_eur"]

        pooling = L.pooling.copy()
        if len(pooling):
            pooling["charge_eur"] = x[L.pool_charge_col]
            pooling["profijt_eur"] = _group_sum(L.pool_x_row, amount[L.pool_x], len(pooling))
            pooling["transfer_eur"] = pooling["charge_eur"] - pooling["profijt_eur"]
            pooling = _clean(pooling)
        return Result(inst.name, "optimal", objective, {}, alloc, subs, _clean(pb), budgets, cons, ref, pooling=pooling)

    def _constraint_table(self, out: SolveOutcome, dual_stage: str) -> pd.DataFrame:
        lp = self.lp
        act = out.row_activity
        lo, hi = lp.row_lower, lp.row_upper
        slack = np.minimum(np.where(hi < INF, hi - act, np.inf), np.where(lo > -INF, act - lo, np.inf))
        df = self._layout.constraints.copy()
        df["activity_eur"] = act
        df["lower_eur"] = np.where(lo > -INF, lo, np.nan)
        df["upper_eur"] = np.where(hi < INF, hi, np.nan)
        df["slack_eur"] = slack
        df["shadow_price_unmet"] = out.row_dual[dual_stage]
        df["shadow_price_final"] = out.row_dual["final"]
        df["binding"] = df["slack_eur"] <= BINDING_TOL_EUR
        return _clean(df)


class _Layout:
    """What the result tables take from the model alone: index and label columns, the LP
    column of every variable they report, and the groupings (budget, reference, pool) as
    integer arrays, so a solution fills the tables with a few numpy operations."""

    def __init__(self, am: AllocationModel):
        D, lp, model, info = am.data, am.lp, am.model, am.info
        pos = am._frames.pos
        cols = _LazyColumns(lp, pos)
        keys = D.x_index  # plain tuples: iterating pandas columns is slow
        row_of = {k: r for r, k in enumerate(keys)}
        self.x_col = _columns_of(lp, pos, "allocation", keys, cols)
        self.u_col = _columns_of(lp, pos, "unmet_need", keys, cols)
        self.need = np.array([D.need_eur[k] for k in keys], dtype=float)
        g_, p_, l_ = zip(*keys) if keys else ((), (), ())
        domain = [D.lot_domain[l] for l in l_]
        self.alloc = pd.DataFrame({
            "gemeente": list(g_), "population": list(p_), "lot": list(l_), "label": [D.lot_label[l] for l in l_],
            "domain": domain, "region": [D.region_of.get((g, d), "") for g, d in zip(g_, domain)], "need_eur": self.need,
        })

        arcs = sorted(D.arcs)
        sc = cols["substitution"]
        self.arc_col = np.array([sc[k] for k in arcs], dtype=np.int64)
        self.arc_from = np.array([row_of[k[:3]] for k in arcs], dtype=np.int64)
        self.arc_to = np.array([row_of[(k[0], k[1], k[3])] for k in arcs], dtype=np.int64)
        self.arc_ratio = np.array([D.arcs[k][0] for k in arcs], dtype=float)
        self.arc_inv_ratio = 1.0 / self.arc_ratio
        self.subs = pd.DataFrame(arcs, columns=["gemeente", "population", "from_lot", "to_lot"])
        self.subs["label"] = [D.arcs[k][2] for k in arcs]
        self.subs["ratio"] = self.arc_ratio

        ys = sorted(model.provider_budget.index_set()) if len(model.provider_budget) else []
        yc = cols["provider_budget"]
        self.y_col = np.array([yc[k] for k in ys], dtype=np.int64)
        self.providers = pd.DataFrame(ys, columns=["provider", "lot", "area"])

        # budget groups (g, d) or (g,): own (non-pooled) allocations and pooled charges
        per_domain = D.budget_scope == "per_domain"
        pool_domain = {mp.pool: mp.domain for mp in D.pools}
        groups = sorted(D.budget)
        group_of = {k: i for i, k in enumerate(groups)}
        self.budget = np.array([D.budget[k] for k in groups], dtype=float)
        grp = ["gemeente", "domain"] if per_domain else ["gemeente"]
        self.budgets = pd.DataFrame([list(k) for k in groups], columns=grp) if groups else pd.DataFrame(columns=grp)
        self.budgets["budget_eur"] = self.budget
        nb = len(groups)  # "no budget row": masked out of x_paid and charge_budget_group below
        self.x_budget_group = np.array([group_of.get(budget_group(g, d, D.budget_scope), nb) for g, d in zip(g_, domain)], dtype=np.int64)
        self.x_paid = np.array([(g, l) not in D.pooled for g, l in zip(g_, l_)], dtype=bool) & (self.x_budget_group < nb)
        pc = cols["pooled_charge"]
        charges = list(pc)
        self.charge_col = np.array([pc[k] for k in charges], dtype=np.int64)
        cg = np.array([group_of.get(budget_group(g, pool_domain[pool], D.budget_scope), nb) for g, pool in charges], dtype=np.int64)
        keep = cg < nb
        self.charge_col, self.charge_budget_group = self.charge_col[keep], cg[keep]

        # reference rows per (g, p, d); allocations outside the reference go to a spare bin
        ref = D.reference
        ref_of = {k: i for i, k in enumerate(zip(ref["gemeente"].tolist(), ref["population"].tolist(), ref["domain"].tolist()))} if len(ref) else {}
        spare = len(ref)
        self.x_ref_group = np.array([ref_of.get((g, p, d), spare) for g, p, d in zip(g_, p_, domain)], dtype=np.int64)

        # pooling: per pool, region and member its charge column and the allocations of its pooled lots
        rows, charge_cols, px, prow = [], [], [], []
        if D.pools:
            by_gl: dict[tuple, list[int]] = defaultdict(list)
            for r, (g, l) in enumerate(zip(g_, l_)):
                by_gl[(g, l)].append(r)
            for mp in D.pools:
                for g in mp.members:
                    i = len(rows)
                    rows.append((mp.region, g, mp.pool, ";".join(mp.lots), mp.rule))
                    charge_cols.append(pc[(g, mp.pool)])
                    for l in mp.lots:
                        xr = by_gl.get((g, l), ())
                        px.extend(xr)
                        prow.extend([i] * len(xr))
        order = sorted(range(len(rows)), key=lambda i: (rows[i][2], rows[i][0], rows[i][1]))
        new = np.empty(len(rows), dtype=np.int64)
        new[order] = np.arange(len(rows))
        self.pooling = pd.DataFrame([rows[i] for i in order], columns=["region", "gemeente", "pool", "lot", "rule"])
        for c in ("charge_eur", "profijt_eur", "transfer_eur"):
            self.pooling[c] = 0.0
        self.pool_charge_col = np.array([charge_cols[i] for i in order], dtype=np.int64)
        self.pool_x = np.array(px, dtype=np.int64)
        self.pool_x_row = new[np.array(prow, dtype=np.int64)] if prow else np.array([], dtype=np.int64)

        labels = info.labels
        fam = lp.row_component
        kinds = {f: kind_of(f) for f in set(fam)}
        self.constraints = pd.DataFrame({
            "name": [labels.rows[f][i] for f, i in zip(fam, lp.row_index)],
            "family": fam,
            "kind": [kinds[f] for f in fam],
            "index": [_index_text(i) for i in lp.row_index],
        })


class _LazyColumns(dict):
    """{component: {index: column}}, each component's map built when first asked for."""

    def __init__(self, lp: CompiledLP, pos: dict[str, np.ndarray]):
        super().__init__()
        self.lp, self.pos = lp, pos

    def __missing__(self, comp: str) -> dict:
        j = self.pos.get(comp, np.array([], dtype=np.int64))
        self[comp] = m = dict(zip((self.lp.col_index[i] for i in j), j.tolist()))
        return m


def _columns_of(lp: CompiledLP, pos: dict[str, np.ndarray], comp: str, keys: list, cols: _LazyColumns) -> np.ndarray:
    """LP columns of ``comp[k]`` for k in ``keys``: the component's own column order when it
    matches ``keys`` (a variable indexed by exactly these keys), else looked up one by one."""
    j = pos.get(comp, np.array([], dtype=np.int64))
    if len(j) == len(keys) and (len(j) == 0 or (j[-1] - j[0] == len(j) - 1 and lp.col_index[j[0]:j[-1] + 1] == keys)):
        return j
    c = cols[comp]
    return np.array([c[k] for k in keys], dtype=np.int64)


class _ColumnFrames:
    """Column positions of each variable component in the compiled LP."""

    def __init__(self, lp: CompiledLP):
        pos: dict[str, list[int]] = {}
        for j, c in enumerate(lp.col_component):
            pos.setdefault(c, []).append(j)
        self.pos = {c: np.array(v, dtype=np.int64) for c, v in pos.items()}


def _group_sum(groups: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per group 0..n-1 (floats, also when there is nothing to add)."""
    return np.bincount(groups, weights=weights, minlength=n).astype(float, copy=False)


def _index_text(i) -> str:
    """A row's index as constraints.csv writes it: tuple members joined by '|'."""
    if i.__class__ is tuple:
        try:
            return "|".join(i)
        except TypeError:  # a member that is not a string
            return "|".join(map(str, i))
    return str(i)


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    """Round away solver noise below a cent so reports are stable and readable."""
    for c in df.columns:
        if c.endswith("_eur") or c.startswith("shadow_price"):
            v = df[c].to_numpy(dtype=float)
            v = np.where(np.abs(v) < 1e-6, 0.0, v)
            df[c] = np.round(v, 6) if c.startswith("shadow_price") else np.round(v, 2)
    return df.reset_index(drop=True)


def solve(inst: Instance, options: SolveOptions | None = None) -> Result:
    """Build, compile and solve in one call."""
    return AllocationModel(inst, options).solve()


__all__ = ["AllocationModel", "Result", "SolveOptions", "solve", "eur"]
