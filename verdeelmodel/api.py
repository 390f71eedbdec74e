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

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from pyomo.common.gc_manager import PauseGC
import pandas as pd

from verdeelmodel.instance.validate import Instance
from verdeelmodel.models.allocation import BUSINESS_KINDS, AllocationData, build_allocation_model, eur, prepare
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
        with PauseGC():  # building creates many small objects; the cyclic GC only slows it down
            self.data: AllocationData = prepare(inst, reference)
            self.model = build_allocation_model(inst, self.data)
        self.build_seconds = time.perf_counter() - t0
        names = [f"objective_{s}" for s in self.model.objective_order]
        self.lp: CompiledLP = compile_model(self.model, names)
        t1 = time.perf_counter()
        self.session = HighsSession(self.lp, time_limit=self.options.time_limit, threads=self.options.threads, log=self.options.log)
        self.load_seconds = time.perf_counter() - t1
        self._rows = self.lp.rows_of()
        self._frames = _ColumnFrames(self.lp)

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
        if self.model.labels.kind.get(family) == "ceiling":
            hi = float(eur_value)
            con.set_value((None, con.body, hi))
        elif self.model.labels.kind.get(family) == "minimum":
            lo = float(eur_value)
            con.set_value((lo, con.body, None))
        else:
            raise ValueError(f"{family} is not a plafond or minimum family")
        self.session.set_row_bounds(row, lo, hi)

    def solve(self) -> Result:
        o = self.instance.options.objective
        order = [f"objective_{s}" for s in self.model.objective_order]
        dual_stage = "objective_unmet" if "objective_unmet" in order else order[0]
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

    def _result(self, out: SolveOutcome, dual_stage: str) -> Result:
        D, inst = self.data, self.instance
        objective = {s.name.removeprefix("objective_"): s.objective for s in out.stages}
        empty = pd.DataFrame()
        if out.status != "optimal":
            from verdeelmodel.explain import explain_infeasible

            expl = explain_infeasible(self, out) if out.status == "infeasible" else [f"HiGHS stopped: {out.message} ({out.status}); no allocation is reported."]
            return Result(inst.name, out.status, objective, {}, empty, empty, empty, empty, empty, D.reference, expl, out.message)
        F, x = self._frames, out.x
        xv, uv = F.values("allocation", x), F.values("unmet_need", x)
        alloc = pd.DataFrame(D.x_index, columns=["gemeente", "population", "lot"])
        alloc["amount_eur"] = [xv.get(k, 0.0) for k in D.x_index]
        alloc["unmet_eur"] = [uv.get(k, 0.0) for k in D.x_index]
        alloc["need_eur"] = [D.need_eur[k] for k in D.x_index]
        sv = F.values("substitution", x)
        arcs = sorted(D.arcs)
        subs = pd.DataFrame(arcs, columns=["gemeente", "population", "from_lot", "to_lot"])
        subs["label"] = [D.arcs[k][2] for k in arcs]
        subs["ratio"] = [D.arcs[k][0] for k in arcs]
        subs["moved_need_eur"] = [sv.get(k, 0.0) for k in arcs]
        subs["added_need_eur"] = subs["moved_need_eur"] / subs["ratio"] if len(subs) else 0.0
        out_: dict = defaultdict(float)
        in_: dict = defaultdict(float)
        for k, s_ in zip(arcs, subs["moved_need_eur"].tolist()):
            out_[k[:3]] += s_
            in_[(k[0], k[1], k[3])] += s_ / D.arcs[k][0]
        subs = _clean(subs)
        keys = D.x_index  # the rows of alloc, in order (plain tuples: iterating pandas columns is slow)
        alloc["substituted_out_eur"] = [out_.get(k, 0.0) for k in keys]
        alloc["substituted_in_eur"] = [in_.get(k, 0.0) for k in keys]
        covered_need = alloc["need_eur"] + alloc["substituted_in_eur"] - alloc["substituted_out_eur"]
        alloc["above_need_eur"] = np.maximum(alloc["amount_eur"] - covered_need, 0.0)
        alloc["domain"] = [D.lot_domain[k[2]] for k in keys]
        alloc["region"] = [D.region_of.get((k[0], D.lot_domain[k[2]]), "") for k in keys]
        alloc["label"] = [D.lot_label[k[2]] for k in keys]
        alloc = alloc[["gemeente", "population", "lot", "label", "domain", "region", "need_eur", "substituted_out_eur", "substituted_in_eur", "amount_eur", "unmet_eur", "above_need_eur"]]
        alloc = _clean(alloc)

        yv = F.values("provider_budget", x)
        ys = sorted(self.model.provider_budget.index_set()) if len(self.model.provider_budget) else []
        pb = pd.DataFrame(ys, columns=["provider", "lot", "area"])
        pb["amount_eur"] = [yv.get(k, 0.0) for k in ys]

        # budgets: every euro is allocated (own lots + pooled charges) or headroom
        grp = ["gemeente", "domain"] if D.budget_scope == "per_domain" else ["gemeente"]
        is_pooled = [(k[0], k[2]) in D.pooled for k in D.x_index]
        paid = alloc.loc[~np.array(is_pooled, dtype=bool)] if len(alloc) else alloc
        spent = paid.groupby(grp)["amount_eur"].sum().to_dict()
        cv = self._frames.values("pooled_charge", x)
        for (g, pool), c in cv.items():
            k = (g, self.model.pool_domain[pool]) if D.budget_scope == "per_domain" else g
            spent[k] = spent.get(k, 0.0) + c
        rows = []
        for k, b in sorted(D.budget.items()):
            a = float(spent.get(k if len(k) > 1 else k[0], 0.0))
            rows.append((*k, b, a, b - a))
        budgets = _clean(pd.DataFrame(rows, columns=grp + ["budget_eur", "allocated_eur", "headroom_eur"]))

        cons = self._constraint_table(out, dual_stage)
        ref = D.reference.copy()
        if len(ref):
            by = alloc.groupby(["gemeente", "population", "domain"])["amount_eur"].sum().to_dict()
            ref["allocated_eur"] = [by.get(k, 0.0) for k in zip(ref["gemeente"], ref["population"], ref["domain"])]
            ref["deviation_eur"] = ref["allocated_eur"] - ref["reference_eur"]
        return Result(inst.name, "optimal", objective, {}, alloc, subs, _clean(pb), budgets, cons, ref, pooling=self._pooling_table(alloc, x))

    def _pooling_table(self, alloc: pd.DataFrame, x: np.ndarray) -> pd.DataFrame:
        """Per pool and gemeente: its own cost (profijt), its charge under the agreed rule, the transfer."""
        cols = ["region", "gemeente", "pool", "lot", "rule", "charge_eur", "profijt_eur", "transfer_eur"]
        if not self.data.pools:
            return pd.DataFrame(columns=cols)
        cv = self._frames.values("pooled_charge", x)
        own = alloc.groupby(["gemeente", "lot"])["amount_eur"].sum().to_dict()
        rows = []
        for mp in self.data.pools:
            for g in mp.members:
                c = cv.get((g, mp.pool), 0.0)
                prof = sum(own.get((g, l), 0.0) for l in mp.lots)
                rows.append((mp.region, g, mp.pool, ";".join(mp.lots), mp.rule, c, prof, c - prof))
        return _clean(pd.DataFrame(rows, columns=cols).sort_values(["pool", "region", "gemeente"], kind="stable"))

    def _constraint_table(self, out: SolveOutcome, dual_stage: str) -> pd.DataFrame:
        lp, labels = self.lp, self.model.labels
        act = out.row_activity
        lo, hi = lp.row_lower, lp.row_upper
        slack = np.minimum(np.where(hi < INF, hi - act, np.inf), np.where(lo > -INF, act - lo, np.inf))
        if not hasattr(self, "_row_text"):  # names depend on the model only: computed once
            fam = lp.row_component
            self._row_text = (
                [labels.rows[f][i] for f, i in zip(fam, lp.row_index)],
                fam,
                [labels.kind.get(f, "") for f in fam],
                ["|".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in lp.row_index],
            )
        names, fam, kinds, index = self._row_text
        df = pd.DataFrame({
            "name": names,
            "family": fam,
            "kind": kinds,
            "index": index,
            "activity_eur": act,
            "lower_eur": np.where(lo > -INF, lo, np.nan),
            "upper_eur": np.where(hi < INF, hi, np.nan),
            "slack_eur": slack,
            "shadow_price_unmet": out.row_dual[dual_stage],
            "shadow_price_final": out.row_dual["final"],
        })
        df["binding"] = df["slack_eur"] <= BINDING_TOL_EUR
        return _clean(df)


class _ColumnFrames:
    """Column positions of each variable component in the compiled LP."""

    def __init__(self, lp: CompiledLP):
        pos: dict[str, list[int]] = {}
        for j, c in enumerate(lp.col_component):
            pos.setdefault(c, []).append(j)
        self.pos = {c: np.array(v, dtype=np.int64) for c, v in pos.items()}
        self.index = lp.col_index

    def values(self, comp: str, x: np.ndarray) -> dict:
        """{index: value} of a variable component (columns Pyomo dropped as unused are 0)."""
        j = self.pos.get(comp, np.array([], dtype=np.int64))
        return dict(zip((self.index[i] for i in j), x[j].tolist()))


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
