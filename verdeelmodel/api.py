"""The Python API: load -> AllocationModel (built and compiled once) -> solve -> Result.

>>> import verdeelmodel as vm
>>> inst = vm.load_instance("instances/nijmegen-2018")
>>> model = vm.AllocationModel(inst)
>>> res = model.solve()
>>> res.allocation.head()            # pandas DataFrames, one per table
>>> model.set({"limit:ceiling_per_lot_region:jeugd_specialistische_begeleiding|rijk_van_nijmegen": 5e6})
>>> res2 = model.solve()             # re-solved without rebuilding (warm start)
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from verdeelmodel._gc import building
from verdeelmodel._results import Result
from verdeelmodel.instance.validate import Instance
from verdeelmodel.models.allocation import AllocationData, BuildInfo, build_allocation_model, eur, objective_names, prepare
from verdeelmodel.models.manifest import FAMILIES, PRICE_UNIT, Stage, budget_group, index_of, index_text, kind_of, stage_name
from verdeelmodel.solvers.highs import INF, BlockSession, CompiledLP, HighsSession, SolveOutcome, compile_model

#: Slack below which a ceiling or minimum counts as binding (euros).
BINDING_TOL_EUR = 0.5


@dataclass
class SolveOptions:
    time_limit: float | None = None
    threads: int | None = None
    log: bool = False
    workers: int | None = None  # blocks solved at once (blocks=True); default: the CPUs on a large model
    executor: Any = None  # verdeelmodel.executors: send the blocks there (processes, Dask) instead of threads here


class AllocationModel:
    """The allocation model of one instance: Pyomo model built once, compiled once,
    loaded into HiGHS once; ``solve()`` may be called again after ``set`` changed parameters."""

    def __init__(self, inst: Instance, options: SolveOptions | None = None, reference: pd.DataFrame | None = None, blocks: bool = False):
        """``reference``: a precomputed reference allocation (when ``inst`` is a part of a larger
        instance whose uitkeringsfactor must not change); computed from ``inst`` by default.
        ``blocks``: solve each independent block of the model on its own (solvers.highs.BlockSession;
        built and compiled once, nationally); for a model that is solved, not changed by ``set``."""
        self.instance = inst
        self.options = options or SolveOptions()
        t0 = time.perf_counter()
        with building():  # many small, long-lived objects: no young-generation GC passes (see _gc.py)
            self.data: AllocationData = prepare(inst, reference)
            self._model, self.info = build_allocation_model(inst, self.data)
            self.info: BuildInfo
            self.build_seconds = time.perf_counter() - t0
            self.lp: CompiledLP = compile_model(self._model, objective_names(self.info))
            t1 = time.perf_counter()
            o = self.options
            if blocks:
                self.session = BlockSession(
                    self.lp, time_limit=o.time_limit, threads=o.threads, log=o.log, workers=o.workers, executor=o.executor
                )
            else:
                self.session = HighsSession(self.lp, time_limit=o.time_limit, threads=o.threads, log=o.log)
            self.load_seconds = time.perf_counter() - t1
        self._frames = _ColumnFrames(self.lp)
        lp = self.lp
        self._base = SimpleNamespace(
            row_lower=lp.row_lower.copy(), row_upper=lp.row_upper.copy(), col_lower=lp.col_lower.copy(), col_upper=lp.col_upper.copy()
        )
        self._params: dict = {}
        self._need_now: np.ndarray | None = None  # None: the instance's need
        self._budget_now: dict | None = None
        self._exprs: dict[int, tuple] = {}  # rows rebuilt by a parameter change: (expr, label)
        self._labels_now: dict[int, str] = {}
        self._built_exprs: dict[int, object] = {}
        self._row_const: dict[int, float] = {}  # body constant of a rebuilt row
        self._pending_rows: set[int] = set()
        self._pending_cols: set[int] = set()
        self._pending_exprs: dict[int, object] = {}
        self._pending_objective: list | None = None  # equal-treatment terms changed by set(), for Pyomo

    @functools.cached_property
    def _rows(self) -> dict[tuple[str, object], int]:
        """Row position of every (component, index); built on first use (set, sweeps)."""
        return self.lp.rows_of()

    @property
    def translate_seconds(self) -> float:
        return self.lp.compile_seconds + self.load_seconds

    # ------------------------------------------------------------------ parameters

    @property
    def model(self):
        """The Pyomo model, with every parameter change (``set``) applied: the formulation of
        record, always in step with the model loaded in HiGHS."""
        self._sync()
        return self._model

    @property
    def parameters(self) -> dict[str, float]:
        """The parameters changed from the instance (``set``), by name."""
        return {p.name: v for p, v in self._params.items()}

    def set(self, changes: dict[str, float] | None = None, *, from_base: bool = False, **named: float) -> None:
        """Change parameters of the loaded model without rebuilding it (verdeelmodel.parameters:
        ``demand:<lot|domain|gemeente|*>``, ``tariff:<lot>``, ``budget:<gemeente>|<domain>``,
        ``limit:<family>:<index>``, ``goal:<goal>:<domain>[|<gemeente>[|<population>]]``,
        ``w_own:<rule>``). Changes add to earlier ones (a name set again is replaced);
        ``from_base=True`` starts from the instance. The model then equals one rebuilt from the
        changed instance; HiGHS keeps its basis (warm start).

            model.set({"demand:jeugd": 1.1, "limit:ceiling_per_lot_region:jeugd_ggz|rijk_van_nijmegen": 5e6})
        """
        from verdeelmodel import parameters as P

        params = {} if from_base else dict(self._params)
        for name, v in {**(changes or {}), **named}.items():
            p, v = P.parse(name, v)
            params = {q: w for q, w in params.items() if q.name != p.name}
            params[p] = v
        self._apply(params)
        self._params = params

    def reset(self) -> None:
        """Back to the instance's own parameters."""
        self.set(from_base=True)

    def _apply(self, params: dict) -> None:
        """Set HiGHS (and, lazily, Pyomo) to the instance changed by ``params``."""
        from verdeelmodel import parameters as P
        from verdeelmodel.models.allocation import rebuild_rows
        from verdeelmodel.solvers.highs import compile_rows

        D, lp, info, rows = self.data, self.lp, self.info, self._rows
        base = self._base
        L = self._layout
        mult = np.ones(len(D.x_index))
        lo, hi = base.row_lower.copy(), base.row_upper.copy()
        clo, chi = base.col_lower.copy(), base.col_upper.copy()
        budget_now = dict(D.budget)
        pool_rules = {mp.rule for mp in D.pools}
        rules = self._rules
        for p, v in params.items():
            if p.kind == "demand":
                mask = (
                    np.ones(len(mult), dtype=bool)
                    if p.target == "*"
                    else (L.cell_lot == p.target) | (L.cell_domain == p.target) | (L.cell_gemeente == p.target)
                )
                if not mask.any():
                    raise P.bad(p.name, P.SYNTAX["demand"], P.SYNTAX_NL["demand"])
                mult[mask] *= v
            elif p.kind == "tariff":
                if p.target not in self._tariff:
                    some = ", ".join(sorted(self._tariff)[:6])
                    raise P.bad(
                        p.name, f"tariff:<lot>, a lot of lots.csv ({some} ...)", f"tariff:<perceel>, een perceel uit lots.csv ({some} ...)"
                    )
                mult[L.cell_lot == p.target] *= v / self._tariff[p.target]
            elif p.kind in ("budget", "limit"):
                comp, idx = (
                    ("budget_per_gemeente", p.index)
                    if p.kind == "budget"
                    else (p.target.partition(":")[0], index_of(p.target.partition(":")[2]))
                )
                r = rows.get((comp, idx))
                kind = kind_of(comp)
                if r is None or kind not in ("ceiling", "minimum"):
                    raise P.bad(p.name, P.SYNTAX[p.kind], P.SYNTAX_NL[p.kind])
                if kind == "ceiling":
                    hi[r] = v
                else:
                    lo[r] = v
                if p.kind == "budget":
                    budget_now[idx if isinstance(idx, tuple) else (idx,)] = v
            elif p.kind == "goal":
                if P.goal_key(p) not in self._goal_keys:
                    keys = ", ".join(":".join(k[:2]) + ("|" + "|".join(k[2:]) if any(k[2:]) else "") for k in sorted(self._goal_keys))
                    raise P.bad(
                        p.name,
                        f"{P.SYNTAX['goal']}; goals.csv has {keys or 'none'}",
                        f"{P.SYNTAX_NL['goal']}; goals.csv bevat {keys or 'geen'}",
                    )
            elif p.kind == "w_own":
                rule = rules.get(p.target)
                if rule is None or not rule.kind_spec.weight_columns or p.target not in pool_rules:
                    raise P.bad(
                        p.name,
                        "w_own:<rule>, a mixed rule agreed in pools.csv",
                        "w_own:<regel>, een gemengde verdeelregel afgesproken in pools.csv",
                    )
                if rule.w_own >= 1:
                    raise P.bad(
                        p.name,
                        "a mixed rule with a shared part (w_own < 1) in the instance",
                        "een gemengde verdeelregel met een gedeeld deel (w_own < 1) in de instantie",
                    )
        # which families change beyond bounds set above: the inputs each family scales with
        # (manifest) against the inputs these parameters change; those are rebuilt for the changed data
        changed = set().union(*(P.INPUTS_OF[p.kind] for p in params)) if params else set()
        direct = self._direct_families
        rebuild = {
            f.name
            for f in FAMILIES
            if D.on(f.name) and any(i not in direct.get(f.name, ()) and not self._no_effect(f.name, i, params) for i in f.scales & changed)
        }
        need = L.need * mult
        from verdeelmodel.instance.validate import MAX_AMOUNT_EUR

        too_big = [f"{k}={v:g}" for k, v in (budget_now.items() if params else ()) if abs(float(v)) > MAX_AMOUNT_EUR]
        if params and (len(need) and float(np.max(need)) > MAX_AMOUNT_EUR or too_big):
            names = ", ".join(f"{p.name}={v:g}" for p, v in params.items())
            raise P.bad(
                names,
                "values that keep every amount (need, budget) within 1e13 euros, the supported range",
                "waarden die elk bedrag (behoefte, budget) binnen 1e13 euro houden, het ondersteunde bereik",
            )
        for nb in info.need_bounds:
            bounds = ((clo, chi) if nb.target == "col" else (lo, hi))[nb.side == "upper"]
            bounds[self._nb_index[id(nb)]] = nb.values(need)
        new_exprs: dict[int, tuple] = {}
        coef_rows: dict[int, dict[int, float]] = {}
        new_const: dict[int, float] = {}
        if rebuild:
            inst2 = P.changed_instance(self.instance, params)
            from verdeelmodel.models.allocation import prepare

            D2 = prepare(inst2, D.reference)
            if D2.x_index != D.x_index:
                raise RuntimeError("a parameter change altered the model's structure; rebuild the model")
            D2.need_eur = dict(zip(D.x_index, need.tolist()))
            for fam in sorted(rebuild):
                for comp, comp_rows in rebuild_rows(self._model, info, fam, D2).items():
                    keys = list(comp_rows)
                    rr = [rows.get((comp, k)) for k in keys]
                    if any(r is None for r in rr) or len(keys) != sum(1 for c in lp.row_component if c == comp):
                        raise RuntimeError(f"a parameter change altered the rows of {comp}; rebuild the model")
                    compiled = compile_rows([comp_rows[k][0] for k in keys], lp.col_of)
                    lo[rr], hi[rr] = compiled.lower, compiled.upper
                    for i, (k, r) in enumerate(zip(keys, rr)):
                        new_exprs[r] = comp_rows[k]
                        coef_rows[r] = compiled.entries(i)
                        new_const[r] = float(compiled.constant[i])
        # push what differs from the loaded model
        changed = np.flatnonzero((lo != lp.row_lower) | (hi != lp.row_upper))
        self.session.set_row_bounds(changed, lo[changed], hi[changed])
        self._pending_rows.update(changed.tolist())
        changed = np.flatnonzero((clo != lp.col_lower) | (chi != lp.col_upper))
        self.session.set_col_bounds(changed, clo[changed], chi[changed])
        self._pending_cols.update(changed.tolist())
        csr = self._csr
        changed_coefs: dict[int, dict[int, float]] = defaultdict(dict)
        for (rr, c), v in self.session.coefs.items():
            changed_coefs[rr][c] = v
        r_, c_, v_ = [], [], []
        for r in sorted(set(coef_rows) | set(self._exprs)):
            target = coef_rows.get(r) if r in coef_rows else csr.row(r)
            current = {**csr.row(r), **changed_coefs.get(r, {})}
            for c in set(target) | set(current):
                t = target.get(c, 0.0)
                if t != current.get(c, 0.0):
                    r_.append(r)
                    c_.append(c)
                    v_.append(t)
        self.session.set_coeffs(r_, c_, v_)
        for r in set(self._exprs) - set(new_exprs):  # rows back to their built form
            self._pending_exprs[r] = None
            self._labels_now.pop(r, None)
            self._row_const.pop(r, None)
        self._row_const.update(new_const)
        for r, (expr, label) in new_exprs.items():
            self._pending_exprs[r] = expr
            self._labels_now[r] = label
        self._exprs = new_exprs
        self._need_now = need
        self._budget_now = budget_now
        self._set_equal_treatment(need, params)

    def _set_equal_treatment(self, need: np.ndarray, params: dict) -> None:
        """The equal-treatment squares for the changed need and contract plafonds (their weights
        are 1 / need, 1 / plafond and 1 / what may be substituted), in HiGHS and, lazily, Pyomo."""
        from verdeelmodel.models.allocation import equal_treatment_terms

        name = Stage.equal_treatment.objective
        if name not in self.lp.hessians:
            return
        D = self.data
        plafond = {
            index_of(p.target.partition(":")[2]): v
            for p, v in params.items()
            if p.kind == "limit" and p.target.partition(":")[0] == "ceiling_per_provider_lot"
        }
        terms = equal_treatment_terms(self._model, D, dict(zip(D.x_index, need.tolist())), plafond)
        cols = np.array([self.lp.col_of[id(v)] for _w, v in terms], dtype=np.int64)
        q = 2.0 * np.array([w for w, _v in terms])  # 1/2 x'Qx: Q = 2w for w v^2
        order = np.argsort(cols, kind="stable")
        cols, q = cols[order], q[order]
        held_cols, held_q = self.lp.hessians[name]
        if np.array_equal(cols, held_cols) and np.array_equal(q, held_q):
            return
        self.session.set_hessian(name, cols, q)
        self._pending_objective = terms

    def _sync(self) -> None:
        """Apply pending parameter changes to the Pyomo model (lazily: sweeps never pay for it)."""
        if self._pending_objective is not None:
            from pyomo.core.expr.numeric_expr import SumExpression

            getattr(self._model, Stage.equal_treatment.objective).set_value(SumExpression([w * v**2 for w, v in self._pending_objective]))
            self._pending_objective = None
        if not (self._pending_rows or self._pending_cols or self._pending_exprs):
            return
        lp = self.lp
        for r, expr in self._pending_exprs.items():
            con = lp.row_data[r]
            if r not in self._built_exprs:
                self._built_exprs[r] = con.expr
            con.set_value(self._built_exprs[r] if expr is None else expr)
        # bounds from the loaded model (a restored row may still follow a changed need)
        for r in self._pending_rows | set(self._pending_exprs):
            con, c = lp.row_data[r], self._row_const.get(r, lp.row_constant[r])
            lo, hi = lp.row_lower[r], lp.row_upper[r]
            con.set_value((float(lo + c) if lo > -INF else None, con.body, float(hi + c) if hi < INF else None))
        for j in self._pending_cols:
            v = lp.col_data[j]
            v.setlb(float(lp.col_lower[j]) if lp.col_lower[j] > -INF else None)
            v.setub(float(lp.col_upper[j]) if lp.col_upper[j] < INF else None)
        self._pending_rows, self._pending_cols, self._pending_exprs = set(), set(), {}

    @functools.cached_property
    def _direct_families(self) -> dict[str, set[str]]:
        """family -> the inputs whose changes it follows through bounds alone: need and tariff
        (stated as NeedBounds), and a row's own bound for budgets, plafonds and minimums."""
        out: dict[str, set[str]] = {}
        for f in FAMILIES:
            if "need" in f.scales:  # a family that scales with need states every such bound as a NeedBound
                out.setdefault(f.name, set()).update({"need", "tariff"})
            if f.kind in ("ceiling", "minimum"):
                out.setdefault(f.name, set()).update(f.scales & {"budget", "plafond", "minimum"})
        return out

    def _no_effect(self, family: str, inp: str, params: dict) -> bool:
        """True when a change of ``inp`` provably leaves ``family``'s rows as they are (a rebuild
        would find nothing to change): the pooled charges depend on tariffs only through a
        tariff-dependent kind (the high-cost pool's excess share), on budgets only through a budget key."""
        if family != "pooling_charge":
            return False
        D, rules = self.data, self._rules
        if inp == "tariff":
            lots = {p.target for p in params if p.kind == "tariff"}
            return not any(rules[mp.rule].kind_spec.tariff_dependent and lots & set(mp.lots) for mp in D.pools)
        if inp == "budget":
            return not any("budget" in rules[mp.rule].bases() for mp in D.pools)
        return False

    @functools.cached_property
    def _csr(self):
        return self.lp.A.tocsr()

    @functools.cached_property
    def _nb_index(self) -> dict[int, np.ndarray]:
        """Rows (or columns) of every NeedBound target."""
        cols = None
        out = {}
        for nb in self.info.need_bounds:
            if nb.target == "col":
                cols = cols or self.lp.cols_of()
                out[id(nb)] = np.array([cols[(nb.component, k)] for k in nb.keys], dtype=np.int64)
            else:
                out[id(nb)] = np.array(
                    [self._rows[(nb.component, k if not (isinstance(k, tuple) and len(k) == 1) else k[0])] for k in nb.keys], dtype=np.int64
                )
        return out

    @functools.cached_property
    def _rules(self):
        from verdeelmodel.models.rules import rules_of

        return rules_of(self.instance)

    @functools.cached_property
    def _tariff(self) -> dict[str, float]:
        lots = self.instance.lots
        return dict(zip(lots["lot"].tolist(), lots["tariff_eur"].astype(float).tolist()))

    @functools.cached_property
    def _goal_keys(self) -> set[tuple]:
        g = self.instance.goals
        return set(zip(g["goal"], g["domain"], g["gemeente"], g["population"], g["lot"]))

    def solve(self, tables: bool = True) -> Result:
        """Solve the stages in order. ``tables=False``: status, stage objectives and totals only
        (a sweep point), no result tables."""
        o = self.instance.options.objective
        order = objective_names(self.info)
        priced = tuple(s.objective for s in self.info.stages if s.priced) if tables else ()
        t0 = time.perf_counter()
        out = self.session.solve(
            order, tol_rel=o.tolerance_rel, tol_abs=o.tolerance_abs_eur, tol_max=o.tolerance_max_eur, dual_stages=priced
        )
        t1 = time.perf_counter()
        res = self._result(out) if (tables or out.status != "optimal") else self._totals_only(out)
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

    def _totals_only(self, out: SolveOutcome) -> Result:
        L, x = self._layout, out.x
        need = L.need if self._need_now is None else self._need_now
        budget = sum(self.data.budget.values()) if self._budget_now is None else sum(self._budget_now.values())
        objective = {stage_name(st.name): st.objective for st in out.stages}
        empty = pd.DataFrame()
        totals = {
            "budget": float(budget),
            "need": float(need.sum()),
            "allocated": float(x[L.x_col].sum()),
            "unmet": float(x[L.u_col].sum()),
            "tekort": float(x[L.tekort_col].sum()),
            "plafondoverschrijding": float(x[L.overrun_col].sum()),
        }
        return Result(self.instance.name, out.status, objective, {}, empty, empty, empty, empty, empty, empty, totals=totals)

    def _result(self, out: SolveOutcome) -> Result:
        D, inst = self.data, self.instance
        objective = {stage_name(s.name): s.objective for s in out.stages}
        empty = pd.DataFrame()
        if out.status != "optimal":
            from verdeelmodel.explain import explain_infeasible

            expl = (
                explain_infeasible(self.lp, self.info.labels, out)
                if out.status == "infeasible"
                else [f"HiGHS stopped: {out.message} ({out.status}); no allocation is reported."]
            )
            return Result(inst.name, out.status, objective, {}, empty, empty, empty, empty, empty, D.reference, expl, out.message)
        L, x = self._layout, out.x
        n = len(L.need)
        need = L.need if self._need_now is None else self._need_now
        budget = L.budget if self._budget_now is None else np.array([self._budget_now[k] for k in L.groups], dtype=float)

        # substitution: s moves euros of need from (g,p,l) to (g,p,l'), where it adds s / rho
        moved = x[L.arc_col]
        sub_out = _group_sum(L.arc_from, moved, n)
        sub_in = _group_sum(L.arc_to, moved * L.arc_inv_ratio, n)
        subs = L.subs.copy()
        subs["moved_need_eur"] = moved
        subs["added_need_eur"] = moved / L.arc_ratio
        subs = _clean(subs)

        alloc = L.alloc.copy()
        if self._need_now is not None:
            alloc["need_eur"] = need
        amount = x[L.x_col]
        unmet = np.zeros(n)
        unmet[L.u_cell] = x[L.u_col]
        alloc["substituted_out_eur"] = sub_out
        alloc["substituted_in_eur"] = sub_in
        alloc["amount_eur"] = amount
        alloc["unmet_eur"] = unmet
        alloc["above_need_eur"] = np.maximum(amount - (need + sub_in - sub_out), 0.0)
        alloc = _clean(alloc)
        amount = alloc["amount_eur"].to_numpy()

        pb = L.providers.copy()
        pb["amount_eur"] = x[L.y_col]

        # budgets: budget + tekort = allocated (own lots + pooled charges) + headroom
        charge = x[L.charge_col]
        spent = _group_sum(L.x_budget_group[L.x_paid], amount[L.x_paid], len(L.budget))
        spent += _group_sum(L.charge_budget_group, charge, len(L.budget))
        budgets = L.budgets.copy()
        budgets["budget_eur"] = budget
        budgets["allocated_eur"] = spent
        budgets["headroom_eur"] = np.maximum(budget - spent, 0.0)
        budgets["tekort_eur"] = np.maximum(spent - budget, 0.0)
        cons, over_by_group = self._constraint_table(out)
        budgets["plafondoverschrijding_eur"] = over_by_group
        budgets = _clean(budgets)

        ref = D.reference.copy()
        if len(ref):
            ref["allocated_eur"] = _group_sum(L.x_ref_group, amount, len(ref) + 1)[: len(ref)]
            ref["deviation_eur"] = ref["allocated_eur"] - ref["reference_eur"]

        pooling = L.pooling.copy()
        if len(pooling):
            pooling["charge_eur"] = x[L.pool_charge_col]
            pooling["profijt_eur"] = _group_sum(L.pool_x_row, amount[L.pool_x], len(pooling))
            pooling["transfer_eur"] = pooling["charge_eur"] - pooling["profijt_eur"]
            pooling = _clean(pooling)
        totals = {
            "budget": float(budgets["budget_eur"].sum()),
            "need": float(alloc["need_eur"].sum()),
            "allocated": float(alloc["amount_eur"].sum()),
            "unmet": float(alloc["unmet_eur"].sum()),
            "headroom": float(budgets["headroom_eur"].sum()),
            "tekort": float(budgets["tekort_eur"].sum()),
            "plafondoverschrijding": float(cons["overrun_eur"].to_numpy()[L.overrun_row].sum()),
        }
        return Result(
            inst.name,
            "optimal",
            objective,
            {},
            alloc,
            subs,
            _clean(pb),
            budgets,
            cons,
            ref,
            pooling=pooling,
            totals=totals,
            notes=self._notes(),
        )

    def _notes(self) -> list[str]:
        """What the reader must know: the policy for non-statutory care that shaped the numbers,
        and an equal-treatment stage the solver could not finish everywhere."""
        out = []
        failed = getattr(self.session, "quadratic_failures", [])
        if failed:
            out.append(
                f"equal treatment: HiGHS's quadratic solver did not finish in {len(failed)} of {len(failed) + self.session.quadratic_parts} "
                "independent part(s) of the model; there the solution of the earlier stages stands (optimal in each of them, but where "
                "several allocations are equally good the choice may depend on the order of rows)"
            )
        return out + self._policy_notes()

    def _policy_notes(self) -> list[str]:
        D = self.data
        if not any(not s for s in D.lot_statutory.values()):
            return []
        if D.funded_goals:
            return [f"protected minimums for non-statutory care (goals.csv funded_share): {len(D.funded_goals)} row(s) in the model"]
        return [
            "no protected minimum for non-statutory care (goals.csv funded_share): prevention and algemene voorzieningen are "
            "funded only from what the budget leaves after statutory care (the order of the stages)"
        ]

    def _constraint_table(self, out: SolveOutcome) -> tuple[pd.DataFrame, np.ndarray]:
        """constraints.csv, and the plafondoverschrijding attributed to each budget group.

        A row's activity is what its rule counts (the euros under a plafond, what a gemeente pays),
        without the tekort or plafondoverschrijding that lets it go above its bound; ``overrun_eur``
        is how far above it goes. Shadow prices: the dual of each priced stage, and the one of the
        first stage where the rule matters (a nonzero price), with its stage and unit."""
        lp, L, x = self.lp, self._layout, out.x
        act = out.row_activity.copy()
        np.add.at(act, L.slack_row, x[L.slack_col])  # the row's own tekort / overschrijding back out
        lo, hi = lp.row_lower, lp.row_upper
        slack = np.minimum(np.where(hi < INF, hi - act, np.inf), np.where(lo > -INF, act - lo, np.inf))
        df = L.constraints.copy()
        if self._labels_now:  # rows rebuilt by a parameter change (a goal's label names its value)
            df.loc[list(self._labels_now), "name"] = list(self._labels_now.values())
        df["activity_eur"] = act
        df["lower_eur"] = np.where(lo > -INF, lo, np.nan)
        df["upper_eur"] = np.where(hi < INF, hi, np.nan)
        df["slack_eur"] = slack
        has_slack = np.zeros(len(act), dtype=bool)
        has_slack[L.slack_row] = True  # a budget (tekort) or a plafond on statutory care (overschrijding)
        df["overrun_eur"] = np.where(has_slack, np.maximum(act - np.where(hi < INF, hi, act), 0.0), 0.0)
        df["binding"] = df["slack_eur"] <= BINDING_TOL_EUR
        price = np.zeros(len(act))
        stage = np.full(len(act), "", dtype=object)
        unit = np.full(len(act), "", dtype=object)
        for st in self.info.stages:
            if st.objective not in out.row_dual:
                continue
            d = out.row_dual[st.objective]
            df[f"shadow_price_{st.value}"] = d
            first = (stage == "") & (np.abs(d) > 1e-9)
            price[first], stage[first], unit[first] = d[first], st.value, PRICE_UNIT[st]
        df["shadow_price_eur"] = price
        df["shadow_price_stage"] = stage
        df["shadow_price_unit"] = unit
        return _clean(df), L.overrun_by_group(x, df["overrun_eur"].to_numpy())


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
        ukeys = [k for k in keys if k in info.u]  # non-statutory cells: statutory need is always provided
        self.u_cell = np.array([row_of[k] for k in ukeys], dtype=np.int64)
        self.u_col = _columns_of(lp, pos, "unmet_need", ukeys, cols)
        self.need = np.array([D.need_eur[k] for k in keys], dtype=float)
        g_, p_, l_ = zip(*keys) if keys else ((), (), ())
        domain = [D.lot_domain[l] for l in l_]
        self.cell_lot = np.array(l_, dtype=object)
        self.cell_domain = np.array(domain, dtype=object)
        self.cell_gemeente = np.array(g_, dtype=object)
        self.alloc = pd.DataFrame(
            {
                "gemeente": list(g_),
                "population": list(p_),
                "lot": list(l_),
                "label": [D.lot_label[l] for l in l_],
                "domain": domain,
                "region": [D.region_of.get((g, d), "") for g, d in zip(g_, domain)],
                "statutory": [bool(D.lot_statutory[l]) for l in l_],
                "need_eur": self.need,
            }
        )

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
        self.groups = groups
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
        ref_of = (
            {k: i for i, k in enumerate(zip(ref["gemeente"].tolist(), ref["population"].tolist(), ref["domain"].tolist()))}
            if len(ref)
            else {}
        )
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

        # the tekort and plafondoverschrijding columns, and the one row each of them is in
        self.tekort_col = pos.get("tekort", np.array([], dtype=np.int64))
        self.overrun_col = pos.get("plafondoverschrijding", np.array([], dtype=np.int64))
        A = lp.A
        row_of_col = lambda j: int(A.indices[A.indptr[j]]) if A.indptr[j + 1] > A.indptr[j] else -1  # noqa: E731
        self.slack_col = np.r_[self.tekort_col, self.overrun_col].astype(np.int64)
        self.slack_row = np.array([row_of_col(j) for j in self.slack_col], dtype=np.int64)
        keep = self.slack_row >= 0
        self.slack_col, self.slack_row = self.slack_col[keep], self.slack_row[keep]
        self.overrun_row = np.array([row_of_col(j) for j in self.overrun_col], dtype=np.int64)
        self._overrun_parts = self._attribution(am, row_of, g_, l_, domain, group_of, nb)

        labels = info.labels
        fam = lp.row_component
        kinds = {f: kind_of(f) for f in set(fam)}
        self.constraints = pd.DataFrame(
            {
                "name": [labels.rows[f][i] for f, i in zip(fam, lp.row_index)],
                "family": fam,
                "kind": [kinds[f] for f in fam],
                "index": [index_text(i) for i in lp.row_index],
            }
        )

    def _attribution(self, am, row_of, g_, l_, domain, group_of, nb) -> list[tuple[int, list]]:
        """Per plafond with an overschrijding: its row and its parts, each (budget group, allocation
        columns) -- the euros of a gemeente under the plafond -- to attribute the overschrijding."""
        D, lp = am.data, am.lp
        csr = am._csr
        x_cols = set(self.x_col.tolist())
        cell_of_col = {int(c): i for i, c in enumerate(self.x_col.tolist())}
        cells_of = defaultdict(list)  # (lot, area) -> cells, for a provider's contract in a region or gemeente
        for i, (g, lot, d) in enumerate(zip(g_, l_, domain)):
            cells_of[(lot, g)].append(i)
            cells_of[(lot, D.region_of.get((g, d), ""))].append(i)
        out = []
        for r in self.overrun_row.tolist():
            parts = []
            for c, coef in csr.row(r).items():
                if coef <= 0:
                    continue  # the overschrijding itself
                if c in x_cols:
                    i = cell_of_col[c]
                    parts.append((int(self.x_budget_group[i]), [c], coef))
                elif lp.col_component[c] == "provider_budget":
                    _k, lot, area = lp.col_index[c]
                    for i in cells_of.get((lot, area), []):
                        parts.append((int(self.x_budget_group[i]), [int(self.x_col[i])], coef))
            out.append((r, [p for p in parts if p[0] < nb]))
        return out

    def overrun_by_group(self, x: np.ndarray, overrun_by_row: np.ndarray) -> np.ndarray:
        """The plafondoverschrijding of every plafond, attributed to the budget groups (gemeente and
        domain) in proportion to their euros under that plafond."""
        out = np.zeros(len(self.budget))
        for r, parts in self._overrun_parts:
            o = overrun_by_row[r]
            if o <= 0 or not parts:
                continue
            w = np.zeros(len(self.budget))
            for grp, cols_, coef in parts:
                w[grp] += coef * float(x[cols_].sum())
            if w.sum() > 0:
                out += o * w / w.sum()
        return out


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
    if len(j) == len(keys) and (len(j) == 0 or (j[-1] - j[0] == len(j) - 1 and lp.col_index[j[0] : j[-1] + 1] == keys)):
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


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    """Round away solver noise below a cent so reports are stable and readable."""
    for c in df.columns:
        if (c.endswith("_eur") or c.startswith("shadow_price")) and pd.api.types.is_numeric_dtype(df[c]):
            v = df[c].to_numpy(dtype=float)
            v = np.where(np.abs(v) < 1e-6, 0.0, v)
            df[c] = np.round(v, 6) if c.startswith("shadow_price") else np.round(v, 2)
    return df.reset_index(drop=True)


def solve(inst: Instance, options: SolveOptions | None = None, blocks: bool = True) -> Result:
    """Build, compile and solve in one call: built and compiled once for the whole instance, each
    independent block of the model (gemeenten linked by no region, provider, plafond or pool) solved
    on its own, in threads on a large model (``blocks=False``: one HiGHS model). The stage
    tolerances then hold per block."""
    return AllocationModel(inst, options, blocks=blocks).solve()


__all__ = ["AllocationModel", "Result", "SolveOptions", "solve", "eur"]
