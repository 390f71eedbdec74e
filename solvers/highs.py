"""HiGHS for Pyomo models: compile once to matrix form, solve lexicographic stages,
return duals and, for infeasible models, HiGHS's irreducible infeasible subsystem (IIS).

Pyomo's persistent interfaces spend more time translating a large model than HiGHS
spends solving it, so the model is compiled once with Pyomo's own
``LinearStandardFormCompiler`` (the Pyomo model stays the single source of truth) and
passed to highspy as arrays. Re-solves with changed bounds reuse the loaded model and
its basis (warm start).

This module knows nothing of gemeenten or lots: rows are identified by their Pyomo
component name and index; business wording is added by the caller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import scipy.sparse  # noqa: F401  (loaded at import, not inside the timed compile)
import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

INF = highspy.kHighsInf

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
}


@dataclass
class CompiledLP:
    """min c_s x  s.t.  row_lower <= A x <= row_upper, col_lower <= x <= col_upper."""

    A: object  # scipy.sparse.csc_array (rows x cols)
    costs: dict[str, np.ndarray]  # objective name -> dense cost vector
    offsets: dict[str, float]
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_component: list[str]
    col_index: list[object]
    row_component: list[str]
    row_index: list[object]
    row_data: list[object]  # Pyomo ConstraintData per row (for bound updates)
    compile_seconds: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def rows_of(self) -> dict[tuple[str, object], int]:
        return {(c, i): r for r, (c, i) in enumerate(zip(self.row_component, self.row_index))}


def compile_model(m: pyo.ConcreteModel, objective_names: list[str]) -> CompiledLP:
    """Compile every active constraint and the named objectives into matrix form."""
    t0 = time.perf_counter()
    for o in m.component_data_objects(pyo.Objective, descend_into=True):
        o.activate()
    with PauseGC():
        info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    objs = [o.parent_component().name for o in info.objectives]
    n_cols = len(info.columns)
    c_dense = info.c.toarray() if n_cols else np.zeros((len(objs), 0))
    costs = {name: np.ascontiguousarray(c_dense[i], dtype=float) for i, name in enumerate(objs)}
    offsets = {name: float(info.c_offset[i]) for i, name in enumerate(objs)}
    missing = [n for n in objective_names if n not in costs]
    if missing:
        raise ValueError(f"objectives not in model: {missing}")
    col_lower = np.array([-INF if v.lb is None else v.lb for v in info.columns], dtype=float)
    col_upper = np.array([INF if v.ub is None else v.ub for v in info.columns], dtype=float)
    # mixed form: multiplier 0 = equality, 1 = upper bound row, -1 = lower bound row.
    # A ranged constraint yields two rows: we merge them back into one ranged row.
    rhs = np.asarray(info.rhs, dtype=float)
    keep, lower, upper, datas = [], [], [], []
    seen: dict[int, int] = {}
    for r, (con, mult) in enumerate(info.rows):
        cid = id(con)
        if cid in seen:
            j = seen[cid]
            if mult == -1:
                lower[j] = rhs[r]
            else:
                upper[j] = rhs[r]
            continue
        seen[cid] = len(keep)
        keep.append(r)
        datas.append(con)
        lower.append(rhs[r] if mult in (0, -1) else -INF)
        upper.append(rhs[r] if mult in (0, 1) else INF)
    A = info.A.tocsr()[keep, :].tocsc() if len(keep) != len(info.rows) else info.A.tocsc()
    col_component, col_index = _names_and_indices(m, pyo.Var, info.columns)
    row_component, row_index = _names_and_indices(m, pyo.Constraint, datas)
    lp = CompiledLP(
        A=A, costs=costs, offsets=offsets, col_lower=col_lower, col_upper=col_upper,
        row_lower=np.array(lower, dtype=float), row_upper=np.array(upper, dtype=float),
        col_component=col_component, col_index=col_index,
        row_component=row_component, row_index=row_index, row_data=datas,
        compile_seconds=0.0,
    )
    lp.compile_seconds = time.perf_counter() - t0
    return lp


def _names_and_indices(m: pyo.ConcreteModel, ctype, datas: list) -> tuple[list[str], list[object]]:
    """Component name and index of each Var/Constraint data object, from one pass over the
    model's components (much cheaper than asking every data object for its name)."""
    where: dict[int, tuple[str, object]] = {}
    for comp in m.component_objects(ctype, active=None, descend_into=True):
        name = comp.name
        for idx, d in comp.items():
            where[id(d)] = (name, idx)
    pairs = [where[id(d)] for d in datas]
    return [p[0] for p in pairs], [p[1] for p in pairs]


@dataclass
class StageResult:
    name: str
    objective: float
    status: str
    highs_seconds: float
    iterations: int


@dataclass
class SolveOutcome:
    status: str  # optimal | infeasible | unbounded | time_limit | ...
    stages: list[StageResult]
    x: np.ndarray | None = None
    row_activity: np.ndarray | None = None
    row_dual: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> duals of the model rows
    iis_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, "lower"|"upper"|"boxed")
    iis_cols: list[tuple[int, str]] = field(default_factory=list)
    highs_seconds: float = 0.0
    message: str = ""


_BOUND = {-1: "dropped", 0: "null", 1: "free", 2: "lower", 3: "upper", 4: "boxed"}
#: IIS from the LP, reduced to an irreducible set (highspy IisStrategy flags FromLp | Irreducible).
IIS_STRATEGY = 2 | 4


class HighsSession:
    """One loaded HiGHS model, re-solved as often as needed with changed bounds."""

    def __init__(self, lp: CompiledLP, *, time_limit: float | None = None, threads: int | None = None, log: bool = False):
        self.lp = lp
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", bool(log))
        if time_limit is not None:
            self.h.setOptionValue("time_limit", float(time_limit))
        if threads is not None:
            self.h.setOptionValue("threads", int(threads))
        n_rows, n_cols = lp.shape
        first = next(iter(lp.costs.values())) if lp.costs else np.zeros(n_cols)
        A = lp.A
        m = highspy.HighsLp()
        m.num_col_, m.num_row_ = n_cols, n_rows
        m.col_cost_ = np.ascontiguousarray(first, dtype=np.float64)
        m.col_lower_, m.col_upper_ = lp.col_lower, lp.col_upper
        m.row_lower_, m.row_upper_ = lp.row_lower, lp.row_upper
        m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        m.a_matrix_.num_col_, m.a_matrix_.num_row_ = n_cols, n_rows
        m.a_matrix_.start_ = A.indptr.astype(np.int32)
        m.a_matrix_.index_ = A.indices.astype(np.int32)
        m.a_matrix_.value_ = A.data.astype(np.float64)
        self.h.passModel(m)
        self.n_model_rows = n_rows

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        self.lp.row_lower[row], self.lp.row_upper[row] = lower, upper
        self.h.changeRowBounds(int(row), float(lower), float(upper))

    def _drop_stage_rows(self) -> None:
        n = self.h.getNumRow()
        if n > self.n_model_rows:
            idx = np.arange(self.n_model_rows, n, dtype=np.int32)
            self.h.deleteRows(len(idx), idx)

    def solve(self, order: list[str], *, tol_rel: float = 1e-9, tol_abs: float = 1e-6, dual_stages: tuple[str, ...] = ()) -> SolveOutcome:
        """Solve the objectives in ``order`` lexicographically. After each stage a row
        keeps its objective within ``opt x (1 + tol_rel) + tol_abs`` (a stated tolerance:
        later stages may give up at most that much of an earlier optimum)."""
        h, lp = self.h, self.lp
        self._drop_stage_rows()
        n_cols = lp.shape[1]
        all_idx = np.arange(n_cols, dtype=np.int32)
        stages: list[StageResult] = []
        duals: dict[str, np.ndarray] = {}
        total = 0.0
        for i, name in enumerate(order):
            c = lp.costs[name]
            h.changeColsCost(n_cols, all_idx, np.ascontiguousarray(c, dtype=np.float64))
            t0 = time.perf_counter()
            h.run()
            secs = time.perf_counter() - t0
            total += secs
            ms = h.getModelStatus()
            status = _STATUS.get(ms, h.modelStatusToString(ms).lower().replace(" ", "_"))
            info = h.getInfo()
            if status != "optimal":
                out = SolveOutcome(status, stages + [StageResult(name, float("nan"), status, secs, int(info.simplex_iteration_count))], highs_seconds=total, message=h.modelStatusToString(ms))
                if status == "infeasible":
                    self._iis(out)
                return out
            obj = float(info.objective_function_value) + lp.offsets.get(name, 0.0)
            stages.append(StageResult(name, obj, status, secs, int(info.simplex_iteration_count)))
            sol = h.getSolution()
            if name in dual_stages:
                duals[name] = np.array(sol.row_dual[: self.n_model_rows])
            if i < len(order) - 1:
                nz = np.flatnonzero(c)
                bound = obj - lp.offsets.get(name, 0.0)
                h.addRow(-INF, bound + abs(obj) * tol_rel + tol_abs, len(nz), nz.astype(np.int32), c[nz].astype(np.float64))
        sol = h.getSolution()
        out = SolveOutcome("optimal", stages, highs_seconds=total)
        out.x = np.array(sol.col_value)
        out.row_activity = np.array(sol.row_value[: self.n_model_rows])
        duals["final"] = np.array(sol.row_dual[: self.n_model_rows])
        out.row_dual = duals
        return out

    def _iis(self, out: SolveOutcome) -> None:
        """Ask HiGHS for an irreducible infeasible subsystem of the model rows."""
        self._drop_stage_rows()
        try:
            self.h.setOptionValue("iis_strategy", IIS_STRATEGY)
            st, iis = self.h.getIis()
        except Exception as e:  # an old highspy without getIis
            out.message += f"; no IIS available ({e})"
            return
        if st == highspy.HighsStatus.kError or not getattr(iis, "valid_", True):
            out.message += "; HiGHS could not compute an IIS"
            return
        out.iis_rows = [(int(r), _BOUND.get(int(b), str(b))) for r, b in zip(iis.row_index_, iis.row_bound_)]
        out.iis_cols = [(int(c), _BOUND.get(int(b), str(b))) for c, b in zip(iis.col_index_, iis.col_bound_)]
