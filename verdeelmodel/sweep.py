"""Parametric runs: re-solve one loaded model over a grid of inputs, never rebuilding it.

Parameters (``NAME=VALUE``; in ``verdeelmodel sweep --param NAME=START:STOP:POINTS``):

- ``demand:<lot|domain|gemeente|*>`` -- multiply the need of a lot, of a domain's lots, of a
  gemeente, or of all;
- ``tariff:<lot>`` -- the lot's tariff in euros (need in euros scales with it);
- ``budget:<gemeente>|<domain>`` (or ``budget:<gemeente>`` with one budget per gemeente) -- the
  money in the budget row, euros: a change of own funds (the IU, and with it the uitkeringsfactor
  and IU keys, stays; refused where an agreed pooling key uses the budget);
- ``limit:<family>:<index>`` -- a plafond or minimum (as in constraints.csv), euros;
- ``w_own:<rule>`` -- the own-cost weight of a mixed pooling rule (the other weights keep
  their proportions and share 1 - w_own).

Each point changes only bounds and coefficients of the HiGHS model loaded once (warm start
from the previous point). Each change is the one a rebuilt model would have: need enters the
need rows' lower bounds, the no-budget-above-need bounds, the substitution limits (phi x need)
and specialist goals whose baseline is the need; ``tests/test_sweep.py`` checks sweep points
against models rebuilt from the changed instance.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from verdeelmodel.api import AllocationModel, SolveOptions
from verdeelmodel.instance.problems import InstanceError, Problem
from verdeelmodel.instance.validate import Instance
from verdeelmodel.solvers.highs import INF
from verdeelmodel.models.allocation import objective_names
from verdeelmodel.models.manifest import kind_of as _kind_of


@dataclass
class _Cell:
    row_need: int
    col_x: int
    row_cap: int | None  # allocation_within_need row, or None when it is the column bound


class Sweep:
    """A loaded model plus the map from parameters to the bounds/coefficients they set."""

    def __init__(self, inst: Instance, options: SolveOptions | None = None):
        self.inst = inst
        self.am = AllocationModel(inst, options)
        lp, D = self.am.lp, self.am.data
        rows = self.am._rows
        cols = {(c, i): j for j, (c, i) in enumerate(zip(lp.col_component, lp.col_index))}
        self.cols = cols
        self.base_row = (lp.row_lower.copy(), lp.row_upper.copy())
        self.base_col = (lp.col_lower.copy(), lp.col_upper.copy())
        self.cells = {k: _Cell(rows.get(("need_coverage", k), -1), cols.get(("allocation", k), -1), rows.get(("allocation_within_need", k))) for k in D.x_index}
        # the model writes these rows with variables left and need right; check it, so a change in
        # the model's form can never make a sweep move the wrong bound silently
        for k, cell in self.cells.items():
            ok = (cell.row_need < 0 or abs(lp.row_lower[cell.row_need] - D.need_eur[k]) <= 1e-6 * max(1.0, D.need_eur[k])) and (
                cell.row_cap is None or abs(lp.row_upper[cell.row_cap] - D.need_eur[k]) <= 1e-6 * max(1.0, D.need_eur[k]))
            if not ok:
                raise RuntimeError(f"need row of {k} is not in the form the sweep expects")
        self.arcs = {a: rows[("substitution_max_share", a)] for a in D.arcs if ("substitution_max_share", a) in rows}
        self.spec = {k: rows[("specialist_reduction_goal", k)] for k in D.specialist_from_need if ("specialist_reduction_goal", k) in rows}
        # the same as arrays over the cells (g, p, l), so a point costs numpy operations only
        keys = list(D.x_index)
        pos = {k: i for i, k in enumerate(keys)}
        self.keys = keys
        self.need = np.array([D.need_eur[k] for k in keys])
        self.cell_lot = np.array([k[2] for k in keys], dtype=object)
        self.cell_domain = np.array([D.lot_domain[k[2]] for k in keys], dtype=object)
        self.cell_gemeente = np.array([k[0] for k in keys], dtype=object)
        c = [self.cells[k] for k in keys]
        self.row_need = np.array([x.row_need for x in c])
        self.row_cap = np.array([-1 if x.row_cap is None else x.row_cap for x in c])
        self.col_cap = np.array([x.col_x if (x.row_cap is None and x.col_x >= 0 and lp.col_upper[x.col_x] < INF) else -1 for x in c])
        self.arc_rows = np.array(list(self.arcs.values()), dtype=np.int64)
        self.arc_cell = np.array([pos[a[:3]] for a in self.arcs], dtype=np.int64)
        self.arc_phi = np.array([D.arcs[a][1] for a in self.arcs])
        self.spec_rows = np.array(list(self.spec.values()), dtype=np.int64)
        self.spec_factor = np.array([D.specialist_from_need[k] for k in self.spec])
        self.spec_cells = [np.array([pos[k] for k in keys if k[0] == g and k[1] == p and D.lot_domain[k[2]] == d and D.lot_echelon[k[2]] == "specialist"], dtype=np.int64) for (g, p, d) in self.spec]
        self.tariff = dict(zip(inst.lots["lot"], inst.lots["tariff_eur"].astype(float)))
        self.coef_base: dict[tuple[int, int], float] = {}
        from verdeelmodel.models.pooling import rules_of

        self.rules = rules_of(inst)
        by_gl: dict[tuple, list[int]] = {}
        for k in D.x_index:
            by_gl.setdefault((k[0], k[2]), []).append(cols[("allocation", k)])
        self.x_cols: dict[tuple, list[int]] = {}  # (gemeente, pool lots) -> allocation columns
        for mp in D.pools:
            for g in mp.members:
                self.x_cols[(g, mp.lots)] = [c for l in mp.lots for c in by_gl.get((g, l), [])]

    # ------------------------------------------------------------------ parameters

    def _multipliers(self, params: dict[str, float]) -> np.ndarray:
        """Need multiplier per cell."""
        D = self.am.data
        mult = np.ones(len(self.keys))
        for name, v in params.items():
            kind, _, what = name.partition(":")
            if kind == "demand":
                if what == "*":
                    mult *= v
                else:
                    mask = (self.cell_lot == what) | (self.cell_domain == what) | (self.cell_gemeente == what)
                    if not mask.any():
                        raise _bad(name, "demand:<lot>, demand:<domain>, demand:<gemeente> or demand:*")
                    mult[mask] *= v
            elif kind == "tariff":
                if what not in self.tariff:
                    raise _bad(name, f"a lot ({', '.join(sorted(self.tariff)[:6])} ...)")
                if any(what in mp.lots and self.rules[mp.rule].kind == "high_cost_pool" for mp in D.pools):
                    raise _bad(name, "a lot outside a high-cost pool (its pool coefficients depend on the tariff: change the instance and re-solve)")
                mult[self.cell_lot == what] *= v / self.tariff[what]
        return mult

    def apply(self, params: dict[str, float]) -> None:
        """Set the model to the base instance changed by ``params``."""
        D, s = self.am.data, self.am.session
        lo, hi = self.base_row[0].copy(), self.base_row[1].copy()
        clo, chi = self.base_col[0].copy(), self.base_col[1].copy()
        mult = self._multipliers(params)
        if np.any(mult != 1.0):
            c = self.need * mult
            ok = self.row_need >= 0
            lo[self.row_need[ok]] = c[ok]
            ok = self.row_cap >= 0
            hi[self.row_cap[ok]] = c[ok]
            ok = self.col_cap >= 0
            chi[self.col_cap[ok]] = c[ok]
            if len(self.arc_rows):
                hi[self.arc_rows] = self.arc_phi * c[self.arc_cell]
            for r, f, cells in zip(self.spec_rows, self.spec_factor, self.spec_cells):
                hi[r] = f * c[cells].sum()
        for name, v in params.items():
            kind, _, what = name.partition(":")
            if kind == "budget":
                if any("budget" in self.rules[mp.rule].bases() for mp in D.pools):
                    raise _bad(name, "an instance whose agreed pooling keys do not use the budget (change own_funds_eur and re-solve)")
                idx = tuple(what.split("|")) if "|" in what else what
                r = self.am._rows.get(("budget_per_gemeente", idx))
                if r is None:
                    raise _bad(name, "budget:<gemeente>|<domain> of budgets.csv")
                hi[r] = v
            elif kind == "limit":
                fam, _, index = what.partition(":")
                idx = tuple(index.split("|")) if "|" in index else index
                r = self.am._rows.get((fam, idx))
                if r is None:
                    raise _bad(name, "limit:<family>:<index> as in constraints.csv")
                kind_of = _kind_of(fam)
                if kind_of == "ceiling":
                    hi[r] = v
                elif kind_of == "minimum":
                    lo[r] = v
                else:
                    raise _bad(name, "a plafond or minimum family")
            elif kind not in ("demand", "tariff", "w_own"):
                raise _bad(name, "demand:, tariff:, budget:, limit: or w_own:")
        changed = np.flatnonzero((lo != self.am.lp.row_lower) | (hi != self.am.lp.row_upper))
        if len(changed):
            s.h.changeRowsBounds(len(changed), changed.astype(np.int32), lo[changed], hi[changed])
            self.am.lp.row_lower[changed], self.am.lp.row_upper[changed] = lo[changed], hi[changed]
        changed = np.flatnonzero((clo != self.am.lp.col_lower) | (chi != self.am.lp.col_upper))
        if len(changed):
            s.h.changeColsBounds(len(changed), changed.astype(np.int32), clo[changed], chi[changed])
            self.am.lp.col_lower[changed], self.am.lp.col_upper[changed] = clo[changed], chi[changed]
        self._key_weights({k: v for k, v in params.items() if k.startswith("w_own:")})

    def _key_weights(self, params: dict[str, float]) -> None:
        """Own-cost weight of mixed rules: coefficients of the pooling charge rows."""
        if not params and not self.coef_base:
            return  # nothing asked, nothing changed earlier: the base coefficients stand
        D, h = self.am.data, self.am.session.h
        rules = {k.partition(":")[2]: v for k, v in params.items()}
        for name in rules:
            r = self.rules.get(name)
            if r is None or r.kind != "mixed" or not any(mp.rule == name for mp in D.pools):
                raise _bad(f"w_own:{name}", "a mixed rule agreed in pools.csv")
        targets: dict[tuple[int, int], float] = {}
        for mp in D.pools:
            rule = self.rules.get(mp.rule)
            if rule is None or rule.kind != "mixed":
                continue
            if rule.w_own >= 1:
                if mp.rule in rules:
                    raise _bad(f"w_own:{mp.rule}", "a mixed rule with a shared part (w_own < 1) in the instance")
                continue
            w = rules.get(mp.rule, rule.w_own)
            for g in mp.members:
                r = self.am._rows[("pooling_charge", (g, mp.pool))]
                for c in self.x_cols.get((g, mp.lots), ()):
                    targets[(r, c)] = -w
                for l in mp.lots:  # key_g is the normalised mixed key; the shared part is 1 - w_own
                    targets[(r, self.cols[("pooled_lot_total", (mp.region, mp.pool, l))])] = -mp.key[g] * (1.0 - w)
        for (r, c), v in targets.items():
            if self.coef_base.get((r, c), None) != v:
                h.changeCoeff(int(r), int(c), float(v))
                self.coef_base[(r, c)] = v

    # ------------------------------------------------------------------ running

    def solve_point(self) -> dict:
        """Solve the current point; light extraction (totals, not every table)."""
        o = self.inst.options.objective
        order = objective_names(self.am.info)
        t0 = time.perf_counter()
        out = self.am.session.solve(order, tol_rel=o.tolerance_rel, tol_abs=o.tolerance_abs_eur)
        row = {"status": out.status, "highs_seconds": out.highs_seconds}
        for st in out.stages:
            row[f"objective_{st.name.removeprefix('objective_')}"] = st.objective
        if out.status == "optimal":
            F = self.am._frames
            x = out.x
            for comp, col in (("allocation", "allocated_eur"), ("unmet_need", "unmet_eur")):
                j = F.pos.get(comp, np.array([], dtype=np.int64))
                row[col] = float(x[j].sum()) if len(j) else 0.0
            row["budget_eur"] = float(sum(self.am.data.budget.values()))
        row["wall_seconds"] = time.perf_counter() - t0
        return row

    def run(self, grid: list[dict[str, float]], progress=None) -> pd.DataFrame:
        rows = []
        for i, params in enumerate(grid):
            t0 = time.perf_counter()
            self.apply(params)
            r = self.solve_point()
            r["wall_seconds"] = time.perf_counter() - t0
            rows.append({**params, **r})
            if progress is not None:
                progress(i + 1, len(grid))
        self.apply({})
        return pd.DataFrame(rows)


def grid_from_specs(specs: list[str]) -> list[dict[str, float]]:
    """``NAME=START:STOP:POINTS`` or ``NAME=V1,V2,...`` per parameter; the full factorial grid."""
    axes = []
    for spec in specs:
        name, eq, values = spec.partition("=")
        if not eq or not name:
            raise _bad(spec, "NAME=START:STOP:POINTS or NAME=V1,V2,...")
        try:
            if ":" in values:
                a, b, n = values.split(":")
                vals = np.linspace(float(a), float(b), int(n)).tolist()
            else:
                vals = [float(v) for v in values.split(",")]
        except ValueError:
            raise _bad(spec, "numbers: START:STOP:POINTS (e.g. 0.8:1.2:5) or V1,V2,...") from None
        if not vals:
            raise _bad(spec, "at least one value")
        axes.append([(name, v) for v in vals])
    return [dict(p) for p in itertools.product(*axes)]


def _bad(value: str, expected: str) -> InstanceError:
    return InstanceError([Problem("--param", None, None, value, expected)])
