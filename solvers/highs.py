"""HiGHS for Pyomo models: compile once to matrix form, solve lexicographic stages,
return duals and, for infeasible models, HiGHS's irreducible infeasible subsystem (IIS).

Pyomo's persistent interfaces spend more time translating a large model than HiGHS
spends solving it, so the model is compiled once into matrix form (read straight from the
Pyomo model's linear expressions, which stay the single source of truth; checked against
Pyomo's own ``LinearStandardFormCompiler`` by the tests) and passed to highspy as arrays. Re-solves with changed bounds reuse the loaded model and
its basis (warm start).

This module knows nothing of gemeenten or lots: rows are identified by their Pyomo
component name and index; business wording is added by the caller.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.core as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.var import VarData
from pyomo.core.expr.numeric_expr import (
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    PowExpression,
    ProductExpression,
    SumExpression,
)

INF = highspy.kHighsInf


def _without_banner() -> None:
    """HiGHS prints its copyright banner to the process's stdout when the first solver of the
    process is made, before any option can switch logging off. Make that first one with stdout
    pointed at /dev/null, so a council's console shows our lines only (the licence is in the
    package metadata and README)."""
    import os
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no file descriptor 1 (an embedded interpreter): leave it
        highspy.Highs()
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_without_banner()

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kObjectiveBound: "objective_bound",
}


@dataclass
class SparseMatrix:
    """A sparse matrix in compressed form (numpy arrays, no scipy): column-wise (CSC, as HiGHS
    takes it) or row-wise (CSR); duplicates summed, indices sorted within each column (row)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]
    rowwise: bool = False

    @property
    def nnz(self) -> int:
        return int(len(self.data))

    @classmethod
    def from_triplets(
        cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int], rowwise: bool = False
    ) -> SparseMatrix:
        """Sum duplicate (row, col) entries in the order given (a stable sort), then compress."""
        n_rows, n_cols = shape
        major, minor, n_major, n_minor = (rows, cols, n_rows, n_cols) if rowwise else (cols, rows, n_cols, n_rows)
        key = major.astype(np.int64) * max(n_minor, 1) + minor.astype(np.int64)
        order = np.argsort(key, kind="stable")
        key, vals = key[order], np.asarray(vals, dtype=float)[order]
        if len(key):
            first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            vals, key = np.add.reduceat(vals, first), key[first]
        maj, mino = (key // max(n_minor, 1)), (key % max(n_minor, 1))
        indptr = np.zeros(n_major + 1, dtype=np.int64)
        np.cumsum(np.bincount(maj, minlength=n_major), out=indptr[1:])
        return cls(indptr, mino.astype(np.int32), vals, shape, rowwise)

    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        major = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        return (major, self.indices, self.data) if self.rowwise else (self.indices, major, self.data)

    def tocsr(self) -> SparseMatrix:
        return self if self.rowwise else SparseMatrix.from_triplets(*self.triplets(), self.shape, rowwise=True)

    def tocsc(self) -> SparseMatrix:
        return self if not self.rowwise else SparseMatrix.from_triplets(*self.triplets(), self.shape, rowwise=False)

    def row(self, r: int) -> dict[int, float]:
        """{column: value} of row r (on a row-wise matrix)."""
        if not self.rowwise:
            raise ValueError("row() needs a row-wise matrix (tocsr())")
        lo, hi = self.indptr[r], self.indptr[r + 1]
        return dict(zip(self.indices[lo:hi].tolist(), self.data[lo:hi].tolist()))


@dataclass
class CompiledLP:
    """min c_s x  s.t.  row_lower <= A x <= row_upper, col_lower <= x <= col_upper.

    Bounds are kept in step with the loaded HiGHS model by :class:`HighsSession`; ``A`` is the
    matrix as compiled (coefficient changes are recorded by the session)."""

    A: SparseMatrix  # column-wise (rows x cols)
    costs: dict[str, np.ndarray]  # objective name -> dense cost vector
    hessians: dict[str, tuple[np.ndarray, np.ndarray]]  # objective name -> (columns, Q diagonal): 1/2 x'Qx + c'x
    offsets: dict[str, float]
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_constant: np.ndarray  # constant of each row's Pyomo body (bounds here are net of it)
    col_component: list[str]
    col_index: list[object]
    row_component: list[str]
    row_index: list[object]
    row_data: list[object]  # Pyomo ConstraintData per row (for bound updates)
    col_data: list[object]  # Pyomo VarData per column
    col_of: dict[int, int]  # id(VarData) -> column
    compile_seconds: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def rows_of(self) -> dict[tuple[str, object], int]:
        return {(c, i): r for r, (c, i) in enumerate(zip(self.row_component, self.row_index))}

    def cols_of(self) -> dict[tuple[str, object], int]:
        return {(c, i): j for j, (c, i) in enumerate(zip(self.col_component, self.col_index))}


def compile_model(m: pyo.ConcreteModel, objective_names: list[str]) -> CompiledLP:
    """Compile every active constraint and the named objectives into matrix form.

    Linear expression trees (sums, monomials, negations, constants: what the model builds)
    are read directly, about 3x faster than Pyomo's general ``LinearStandardFormCompiler``;
    any other expression goes through Pyomo's own linear representation, and a nonlinear one
    is refused. ``tests/test_compile.py`` checks the result against Pyomo's compiler."""
    t0 = time.perf_counter()
    with PauseGC():
        col_of: dict[int, int] = {}
        col_component: list[str] = []
        col_index: list[object] = []
        col_data: list[object] = []
        lower_c: list[float] = []
        upper_c: list[float] = []
        for comp in m.component_objects(pyo.Var, active=None, descend_into=True):
            name = comp.name
            for idx, v in comp.items():
                col_of[id(v)] = len(col_component)
                col_component.append(name)
                col_index.append(idx)
                col_data.append(v)
                if v.fixed:
                    lower_c.append(v.value)
                    upper_c.append(v.value)
                else:
                    lb, ub = v.bounds
                    lower_c.append(-INF if lb is None else lb)
                    upper_c.append(INF if ub is None else ub)
        datas, row_component, row_index = [], [], []
        for comp in m.component_objects(pyo.Constraint, active=True, descend_into=True):
            name = comp.name
            for idx, con in comp.items():
                if not con.active:
                    continue
                datas.append(con)
                row_component.append(name)
                row_index.append(idx)
        rows = compile_rows(datas, col_of)
        n_cols = len(col_component)
        A = SparseMatrix.from_triplets(rows.row_of_entry, rows.indices, rows.data, (len(datas), n_cols))
        costs, offsets, hessians = {}, {}, {}
        for name in objective_names:
            obj = m.component(name)
            if obj is None:
                raise ValueError(f"objective {name} not in model")
            cols: list[int] = []
            vals: list[float] = []
            qcols: list[int] = []
            qvals: list[float] = []
            const = _objective(obj.expr, col_of, name, cols, vals, qcols, qvals)
            sign = 1.0 if obj.sense == pyo.minimize else -1.0
            c = np.zeros(n_cols)
            np.add.at(c, np.array(cols, dtype=np.int64), np.array(vals, dtype=float))
            costs[name] = sign * c
            offsets[name] = sign * const
            if qcols:
                q = np.zeros(n_cols)
                np.add.at(q, np.array(qcols, dtype=np.int64), 2.0 * np.array(qvals, dtype=float))  # 1/2 x'Qx: Q = 2w for w v^2
                if sign < 0 or np.any(q < 0):
                    raise ValueError(f"{name}: only a convex quadratic objective (positive squares, minimised) is supported")
                nz = np.flatnonzero(q)
                hessians[name] = (nz, q[nz])
    lp = CompiledLP(
        A=A,
        costs=costs,
        hessians=hessians,
        offsets=offsets,
        col_lower=np.array(lower_c, dtype=float),
        col_upper=np.array(upper_c, dtype=float),
        row_lower=rows.lower,
        row_upper=rows.upper,
        row_constant=rows.constant,
        col_component=col_component,
        col_index=col_index,
        row_component=row_component,
        row_index=row_index,
        row_data=datas,
        col_data=col_data,
        col_of=col_of,
        compile_seconds=0.0,
    )
    lp.compile_seconds = time.perf_counter() - t0
    return lp


# --------------------------------------------------------------------------- parts appended from arrays


class RepeatedName(Sequence):
    """``n`` times the same item: the component name of rows or columns appended from arrays (or
    ``None``, their Pyomo data), without a list of ``n`` entries."""

    __slots__ = ("item", "n")

    def __init__(self, item: object, n: int):
        self.item, self.n = item, int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.item] * len(range(*i.indices(self.n)))
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return self.item

    def __iter__(self):
        return itertools.repeat(self.item, self.n)


class ProductIndex(Sequence):
    """The indices ``(a, b) for a in outer for b in inner`` (itertools.product order), each made
    when read: the index names of a grid of rows or columns appended from arrays, without a
    tuple per entry held."""

    __slots__ = ("outer", "inner")

    def __init__(self, outer, inner):
        self.outer, self.inner = list(outer), inner

    def __len__(self) -> int:
        return len(self.outer) * len(self.inner)

    def __getitem__(self, i):
        n = len(self)
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(n))]
        if not -n <= i < n:
            raise IndexError(i)
        q, r = divmod(i % n, len(self.inner))
        return (self.outer[q], self.inner[r])

    def __iter__(self):
        return itertools.product(self.outer, self.inner)


class PickedNames(Sequence):
    """The items ``which`` of a sequence, read from it when read: the names of a part of a model
    (its rows or columns ``which``) without a copy of each."""

    __slots__ = ("seq", "which")

    def __init__(self, seq: Sequence, which: np.ndarray):
        self.seq, self.which = seq, np.asarray(which, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.which)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.seq[k] for k in self.which[i].tolist()]
        return self.seq[int(self.which[i])]

    def __iter__(self):
        return (self.seq[k] for k in self.which.tolist())


class ChainedNames(Sequence):
    """Sequences read one after another, in place: the names (or Pyomo data) of a compiled model
    with parts appended from arrays. Slices are lists, as of a list."""

    __slots__ = ("parts", "_ends")

    def __init__(self, parts):
        self.parts = [p for p in parts if len(p)]
        self._ends = list(itertools.accumulate(len(p) for p in self.parts))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, i):
        n = len(self)
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            if step != 1:
                return [self[k] for k in range(start, stop, step)]
            out: list = []
            lo = 0
            for p, hi in zip(self.parts, self._ends):
                if hi > start and lo < stop:
                    out.extend(p[max(start, lo) - lo : min(stop, hi) - lo])
                lo = hi
            return out
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        k = bisect.bisect_right(self._ends, i)
        return self.parts[k][i - (self._ends[k - 1] if k else 0)]

    def __iter__(self):
        return itertools.chain.from_iterable(self.parts)


def extend_lp(
    lp: CompiledLP,
    *,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    col_component: Sequence,
    col_index: Sequence,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    row_component: Sequence,
    row_index: Sequence,
    entries: tuple[np.ndarray, np.ndarray, np.ndarray],
    row_at: int | None = None,
    costs: dict[str, np.ndarray] | None = None,
) -> CompiledLP:
    """``lp`` with columns appended after its last and rows inserted before row ``row_at`` (default:
    after the last), given as arrays instead of Pyomo components: a large regular part of a model
    compiled without building it in Pyomo. ``entries`` are the new matrix entries as (rows,
    columns, values) triplets, numbered as if the new rows and columns came after the old ones
    (old rows 0..n-1, new rows n..n+k-1; the same for columns); they may lie on old rows and
    columns too, and one on an entry the matrix has adds to it. ``costs``: per objective, the new
    columns' costs (default 0). The new rows and columns keep the names given (any sequences, e.g.
    :class:`RepeatedName`, :class:`ProductIndex`: explanations and IIS name them as compiled rows);
    they have no Pyomo data (``None``), no row constant, and no place in ``col_of``."""
    t0 = time.perf_counter()
    n_rows, n_cols = lp.shape
    k, q = len(row_lower), len(col_lower)
    at = n_rows if row_at is None else int(row_at)
    if not 0 <= at <= n_rows:
        raise ValueError(f"row_at {row_at} outside 0..{n_rows}")
    if not (len(row_upper) == len(row_component) == len(row_index) == k and len(col_upper) == len(col_component) == len(col_index) == q):
        raise ValueError("the new rows' (columns') bounds and names differ in length")
    r_old, c_old, v_old = lp.A.triplets()
    r_new, c_new, v_new = (np.asarray(a) for a in entries)
    # the final row numbers: old rows from ``at`` on move down by k, new rows go to at..at+k-1
    r_new = r_new.astype(np.int64)
    r_new = np.where(r_new >= n_rows, r_new - n_rows + at, np.where(r_new >= at, r_new + k, r_new))
    r_old = np.where(r_old >= at, r_old + k, r_old)
    A = SparseMatrix.from_triplets(
        np.concatenate([r_old, r_new]),
        np.concatenate([c_old.astype(np.int64), np.asarray(c_new, dtype=np.int64)]),
        np.concatenate([v_old, np.asarray(v_new, dtype=float)]),
        (n_rows + k, n_cols + q),
    )

    def rows(old, new) -> ChainedNames:
        return ChainedNames([old[:at], new, old[at:]])

    costs = costs or {}
    out = CompiledLP(
        A=A,
        costs={name: np.concatenate([c, np.asarray(costs.get(name, np.zeros(q)), dtype=float)]) for name, c in lp.costs.items()},
        hessians=dict(lp.hessians),
        offsets=dict(lp.offsets),
        col_lower=np.concatenate([lp.col_lower, np.asarray(col_lower, dtype=float)]),
        col_upper=np.concatenate([lp.col_upper, np.asarray(col_upper, dtype=float)]),
        row_lower=np.concatenate([lp.row_lower[:at], np.asarray(row_lower, dtype=float), lp.row_lower[at:]]),
        row_upper=np.concatenate([lp.row_upper[:at], np.asarray(row_upper, dtype=float), lp.row_upper[at:]]),
        row_constant=np.concatenate([lp.row_constant[:at], np.zeros(k), lp.row_constant[at:]]),
        col_component=ChainedNames([lp.col_component, col_component]),
        col_index=ChainedNames([lp.col_index, col_index]),
        row_component=rows(lp.row_component, row_component),
        row_index=rows(lp.row_index, row_index),
        row_data=rows(lp.row_data, RepeatedName(None, k)),
        col_data=ChainedNames([lp.col_data, RepeatedName(None, q)]),
        col_of=lp.col_of,
        compile_seconds=0.0,
    )
    out.compile_seconds = lp.compile_seconds + time.perf_counter() - t0
    return out


@dataclass
class CompiledRows:
    """Rows in triplet form: entry e is (row_of_entry[e], indices[e], data[e]); a variable met
    twice in a row gives two entries (summed when the matrix is formed)."""

    row_of_entry: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    constant: np.ndarray

    def entries(self, r: int) -> dict[int, float]:
        """{column: coefficient} of row r, duplicates summed."""
        out: dict[int, float] = {}
        for c, v in zip(self.indices[self.row_of_entry == r].tolist(), self.data[self.row_of_entry == r].tolist()):
            out[c] = out.get(c, 0.0) + v
        return out


def compile_rows(cons, col_of: dict[int, int]) -> CompiledRows:
    """Compile constraints (ConstraintData, or relational expressions) over the columns ``col_of``."""
    indptr, indices, data = [0], [], []
    row_lower, row_upper, consts = [], [], []
    scratch = None
    for con in cons:
        if not hasattr(con, "to_bounded_expression"):  # a relational expression: read it as a constraint would
            if scratch is None:
                from pyomo.core.base.constraint import ConstraintData

                scratch = ConstraintData(component=None)
            scratch.set_value(con)
            con = scratch
        lb, body, ub = con.to_bounded_expression()
        if body.__class__ is LinearExpression:  # what the model builds: read inline
            const = 0.0
            for a in body._args_[: body._nargs]:
                acls = a.__class__
                if acls is VarData and not a.fixed:
                    indices.append(col_of[id(a)])
                    data.append(1.0)
                elif acls is MonomialTermExpression and a._args_[0].__class__ in _NATIVE and not a._args_[1].fixed:
                    indices.append(col_of[id(a._args_[1])])
                    data.append(a._args_[0])
                else:
                    const += _linear(a, col_of, con, indices, data)
        else:
            const = _linear(body, col_of, con, indices, data)
        indptr.append(len(indices))
        row_lower.append(-INF if lb is None else (lb if lb.__class__ is float else pyo.value(lb)) - const)
        row_upper.append(INF if ub is None else (ub if ub.__class__ is float else pyo.value(ub)) - const)
        consts.append(const)
    n = len(row_lower)
    row_of_entry = np.repeat(np.arange(n, dtype=np.int64), np.diff(np.array(indptr, dtype=np.int64)))
    return CompiledRows(
        row_of_entry,
        np.array(indices, dtype=np.int64),
        np.array(data, dtype=float),
        np.array(row_lower, dtype=float),
        np.array(row_upper, dtype=float),
        np.array(consts, dtype=float),
    )


_NATIVE = (int, float)


def _objective(expr, col_of, where, cols, vals, qcols, qvals) -> float:
    """Linear terms of an objective into cols/vals and squares w x v^2 (a diagonal quadratic
    part, what the equal-treatment stage uses) into qcols/qvals; returns the constant."""
    args = expr._args_[: expr._nargs] if expr.__class__ is SumExpression else [expr]
    lin = []
    for a in args:
        if a.__class__ is ProductExpression and a._args_[0].__class__ in _NATIVE and a._args_[1].__class__ is PowExpression:
            w, p = a._args_[0], a._args_[1]
        elif a.__class__ is PowExpression:
            w, p = 1.0, a
        else:
            lin.append(a)
            continue
        v, e = p._args_
        if e != 2 or not getattr(v, "is_variable_type", lambda: False)():
            raise ValueError(f"{getattr(where, 'name', where)}: the model must be linear or have squares of variables in an objective")
        if v.fixed:
            lin.append(float(w) * v.value**2)
            continue
        qcols.append(col_of[id(v)])
        qvals.append(float(w))
    if len(lin) == len(args):
        return _linear(expr, col_of, where, cols, vals)
    return sum(_linear(a, col_of, where, cols, vals) for a in lin)


def _linear(expr, col_of: dict[int, int], where, cols: list[int], vals: list[float]) -> float:
    """Append the (column, coefficient) terms of a linear expression to ``cols``/``vals`` (a
    variable may appear more than once) and return its constant (``where``: the constraint or
    objective, named only in an error). Sums of variables and numeric monomials (what the
    model builds) are read in one flat loop; anything else is walked recursively."""
    const = 0.0
    stack = [(expr, 1.0)]
    while stack:
        e, mult = stack.pop()
        cls = e.__class__
        if cls is LinearExpression or cls is SumExpression:
            for a in e._args_[: e._nargs]:
                acls = a.__class__
                if acls is VarData:
                    if not a.fixed:
                        cols.append(col_of[id(a)])
                        vals.append(mult)
                        continue
                elif acls is MonomialTermExpression:
                    c, v = a._args_
                    if c.__class__ in _NATIVE and not v.fixed:
                        cols.append(col_of[id(v)])
                        vals.append(mult * c)
                        continue
                elif acls in _NATIVE:
                    const += mult * a
                    continue
                stack.append((a, mult))
        elif cls in _NATIVE:
            const += mult * e
        elif cls is MonomialTermExpression and e._args_[0].__class__ in _NATIVE:
            c, v = e._args_
            if v.fixed:
                const += mult * c * v.value
            else:
                cols.append(col_of[id(v)])
                vals.append(mult * c)
        elif cls is NegationExpression:
            stack.append((e.args[0], -mult))
        elif cls is ProductExpression and e._args_[0].__class__ in _NATIVE:  # c x (linear expression)
            stack.append((e._args_[1], mult * e._args_[0]))
        elif getattr(e, "is_variable_type", lambda: False)():
            if e.fixed:
                const += mult * e.value
            else:
                cols.append(col_of[id(e)])
                vals.append(mult)
        else:  # anything else: Pyomo's own linear representation
            from pyomo.repn.standard_repn import generate_standard_repn  # the rare path: imported when met

            repn = generate_standard_repn(e, compute_values=True, quadratic=False)
            if not repn.is_linear():
                raise ValueError(f"{getattr(where, 'name', where)}: the model must be linear; found a nonlinear term")
            const += mult * pyo.value(repn.constant)
            for v, c in zip(repn.linear_vars, repn.linear_coefs):
                cols.append(col_of[id(v)])
                vals.append(mult * pyo.value(c))
    return const


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


def _ranges(indptr: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Positions of the entries of the rows (columns) ``which`` of a compressed matrix, concatenated."""
    starts, ends = indptr[which], indptr[which + 1]
    counts = ends - starts
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    before = np.cumsum(counts) - counts
    return np.arange(total) + np.repeat(starts - before, counts)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


_BOUND = {-1: "dropped", 0: "null", 1: "free", 2: "lower", 3: "upper", 4: "boxed"}
#: The quadratic (equal-treatment) stage is solved in thousands of euros (amounts run to 1e8 euros)
#: to a feasibility of 0.1 euro: HiGHS's active-set QP solver is accurate to about 1e-10 relative,
#: which on a plafond of 1e7 euros is a few cents, and it checks feasibility absolutely. A rule may
#: thus be met to within 0.1 euro in the final solution (amounts are reported in cents).
QP_SCALE = 1e-3
QP_FEASIBILITY_TOLERANCE = 1e-4
#: Q of the squares added on the columns outside the stage's objective (per euro squared): 1e-12 x
#: (1e6 euros)^2 = 1, against u^2 / c of about 1e4 -- it only decides what nothing above decided.
QP_REGULARISATION = 1e-12
#: A dual or reduced cost below this counts as zero (the optimal face of a stage).
DUAL_ZERO = 1e-9
#: A deterministic cap on the active-set iterations of one part (it never cycles then).
QP_ITERATION_LIMIT = 20_000
#: IIS from the LP, reduced to an irreducible set (highspy IisStrategy flags FromLp | Irreducible).
IIS_STRATEGY = 2 | 4

#: HiGHS simplex strategy: the first stage as the session was made (HiGHS's default: dual simplex); every later
#: stage starts from the previous stage's optimal basis with only the costs changed and a row
#: added that the point satisfies, so the basis stays primal feasible and primal simplex goes on
#: from it (dual simplex first repairs dual feasibility it lost). Measured on nl-synthetic at
#: buurt level (x8, 62k rows): the later stages' iterations 45k -> 22k, their HiGHS time 2.1 -> 0.7 s.
LATER_STAGE_STRATEGY = 4

#: A part of the quadratic stage with one column is min 1/2 q x^2 + c x on the interval its rows
#: and bounds leave: x = clip(-c / q), exact, without a QP solver (390 of 474 parts of
#: nl-synthetic at x8: 0.7 s of HiGHS set-up and runs). tests/test_blocks.py compares with HiGHS.
QP_ONE_COLUMN_EXACT = True


class HighsSession:
    """One loaded HiGHS model, re-solved as often as needed with changed bounds."""

    def __init__(
        self,
        lp: CompiledLP,
        *,
        time_limit: float | None = None,
        threads: int | None = None,
        log: bool = False,
        options: dict | None = None,
    ):
        """``options``: further HiGHS options (name: value), e.g. a strategy chosen by measurement."""
        self.lp = lp
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", bool(log))
        if time_limit is not None:
            self.h.setOptionValue("time_limit", float(time_limit))
        if threads is not None:
            self.h.setOptionValue("threads", int(threads))
        for name, value in (options or {}).items():
            self.h.setOptionValue(name, value)
        first = self.h.getOptionValue("simplex_strategy")
        self._first_strategy = int(first[1] if isinstance(first, tuple) else first)
        n_rows, n_cols = lp.shape
        first = next(iter(lp.costs.values())) if lp.costs else np.zeros(n_cols)
        A = lp.A
        # the arrays overload of passModel (numpy buffers; filling a HighsLp attribute by
        # attribute converts element by element, about 5x slower at this size)
        status = self.h.passModel(
            n_cols,
            n_rows,
            int(A.nnz),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.ascontiguousarray(first, dtype=np.float64),
            _f64(lp.col_lower),
            _f64(lp.col_upper),
            _f64(lp.row_lower),
            _f64(lp.row_upper),
            A.indptr.astype(np.int32),
            A.indices.astype(np.int32),
            _f64(A.data),
            np.zeros(n_cols, dtype=np.int32),  # every column continuous (an LP)
        )
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the compiled model (passModel)")
        self.n_model_rows = n_rows

        self.coefs: dict[tuple[int, int], float] = {}  # (row, col) -> coefficient changed since compile
        self._matrix: tuple[SparseMatrix, SparseMatrix] | None = None  # _current_matrix, while no coefficient changes

    def set_row_bounds(self, rows, lower, upper) -> None:
        """Change the bounds of model rows (arrays), in HiGHS and in ``lp``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        lower, upper = _f64(np.broadcast_to(lower, rows.shape)), _f64(np.broadcast_to(upper, rows.shape))
        self.lp.row_lower[rows], self.lp.row_upper[rows] = lower, upper
        self.h.changeRowsBounds(len(rows), rows.astype(np.int32), lower, upper)

    def set_col_bounds(self, cols, lower, upper) -> None:
        """Change the bounds of columns (arrays), in HiGHS and in ``lp``."""
        cols = np.asarray(cols, dtype=np.int64)
        if not len(cols):
            return
        lower, upper = _f64(np.broadcast_to(lower, cols.shape)), _f64(np.broadcast_to(upper, cols.shape))
        self.lp.col_lower[cols], self.lp.col_upper[cols] = lower, upper
        self.h.changeColsBounds(len(cols), cols.astype(np.int32), lower, upper)

    def set_coeffs(self, rows, cols, values) -> None:
        """Change matrix coefficients (0 removes an entry); recorded in ``coefs``."""
        for r, c, v in zip(np.asarray(rows).tolist(), np.asarray(cols).tolist(), np.asarray(values, dtype=float).tolist()):
            self.h.changeCoeff(int(r), int(c), float(v))
            self.coefs[(int(r), int(c))] = float(v)
            self._matrix = None

    def set_hessian(self, name: str, cols, q) -> None:
        """Change the squares of a quadratic stage (1/2 x'Qx, Q diagonal: ``q`` on ``cols``), in
        ``lp``; the quadratic stage is built from it at each solve."""
        if name not in self.lp.hessians:
            raise ValueError(f"{name}: not a quadratic stage")
        cols, q = np.asarray(cols, dtype=np.int64), _f64(np.asarray(q, dtype=float))
        if np.any(q < 0):
            raise ValueError(f"{name}: only a convex quadratic objective (positive squares) is supported")
        self.lp.hessians[name] = (cols, q)

    def matrix(self) -> SparseMatrix:
        """The loaded model's matrix as HiGHS holds it (column-wise), read back from HiGHS."""
        lp = self.h.getLp()
        a = lp.a_matrix_
        n_rows, n_cols = self.lp.shape
        rowwise = a.format_ == highspy.MatrixFormat.kRowwise
        shape = (lp.num_row_, n_cols)
        held = SparseMatrix(
            np.array(a.start_, dtype=np.int64), np.array(a.index_, dtype=np.int32), np.array(a.value_), shape, rowwise=rowwise
        )
        r, c, v = held.triplets()
        keep = r < n_rows  # the model rows, not the rows that keep earlier stages
        return SparseMatrix.from_triplets(r[keep], c[keep], v[keep], (n_rows, n_cols))

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(row lower, row upper, col lower, col upper) of the model rows as HiGHS holds them."""
        lp = self.h.getLp()
        n = self.n_model_rows
        return np.array(lp.row_lower_)[:n], np.array(lp.row_upper_)[:n], np.array(lp.col_lower_), np.array(lp.col_upper_)

    def cold_start(self) -> None:
        """Forget the basis and solution: the next solve starts as the first did (a sweep point
        that does not depend on the points before it)."""
        self.h.clearSolver()

    def _drop_stage_rows(self) -> None:
        n = self.h.getNumRow()
        if n > self.n_model_rows:
            idx = np.arange(self.n_model_rows, n, dtype=np.int32)
            self.h.deleteRows(len(idx), idx)

    def solve(
        self,
        order: list[str],
        *,
        tol_rel: float = 1e-9,
        tol_abs: float = 1e-6,
        dual_stages: tuple[str, ...] = (),
        tol_max: float = 0.01,
    ) -> SolveOutcome:
        """Solve the objectives in ``order`` lexicographically. After each stage a row
        keeps its objective within ``opt + min(|opt| x tol_rel, tol_max) + tol_abs`` (a stated
        tolerance: later stages may give up at most that much of an earlier optimum; ``tol_max``
        keeps it below a cent however large the objective)."""
        h, lp = self.h, self.lp
        self._drop_stage_rows()
        self._faces: list[tuple[np.ndarray, np.ndarray]] = []
        n_cols = lp.shape[1]
        all_idx = np.arange(n_cols, dtype=np.int32)
        stages: list[StageResult] = []
        duals: dict[str, np.ndarray] = {}
        total = 0.0
        for i, name in enumerate(order):
            c = lp.costs[name]
            if name in lp.hessians:  # a quadratic tie-break: solved per independent part of the model
                if i != len(order) - 1:
                    raise ValueError(f"{name}: a quadratic stage must be the last (its optimum cannot be kept by a linear row)")
                t0 = time.perf_counter()
                x, obj, status = self._solve_quadratic(name)
                secs = self.quadratic_run_seconds  # HiGHS's own time; building the parts is ours
                total += secs
                if status != "optimal":
                    return SolveOutcome(
                        status, stages + [StageResult(name, float("nan"), status, secs, 0)], highs_seconds=total, message=status
                    )
                stages.append(StageResult(name, obj, status, secs, 0))
                out = SolveOutcome("optimal", stages, highs_seconds=total)
                out.x = x
                out.row_activity = self._activity(x)
                out.row_dual = duals
                return out
            h.changeColsCost(n_cols, all_idx, np.ascontiguousarray(c, dtype=np.float64))
            h.setOptionValue("simplex_strategy", self._first_strategy if i == 0 else LATER_STAGE_STRATEGY)
            t0 = time.perf_counter()
            h.run()
            secs = time.perf_counter() - t0
            total += secs
            ms = h.getModelStatus()
            status = _STATUS.get(ms, h.modelStatusToString(ms).lower().replace(" ", "_"))
            info = h.getInfo()
            if status != "optimal":
                out = SolveOutcome(
                    status,
                    stages + [StageResult(name, float("nan"), status, secs, int(info.simplex_iteration_count))],
                    highs_seconds=total,
                    message=h.modelStatusToString(ms),
                )
                if status == "infeasible":
                    self._iis(out)
                return out
            obj = float(info.objective_function_value) + lp.offsets.get(name, 0.0)
            stages.append(StageResult(name, obj, status, secs, int(info.simplex_iteration_count)))
            sol = h.getSolution()
            if name in dual_stages:
                duals[name] = np.array(sol.row_dual[: self.n_model_rows])
            if lp.hessians.get(order[-1]) is not None:  # a quadratic last stage keeps each stage's optimal face
                self._faces.append((np.array(sol.row_dual[: self.n_model_rows]), np.array(sol.col_dual)))
            if i < len(order) - 1:
                nz = np.flatnonzero(c)
                bound = obj - lp.offsets.get(name, 0.0)
                slack = min(abs(obj) * tol_rel, tol_max) + tol_abs
                h.addRow(-INF, bound + slack, len(nz), nz.astype(np.int32), c[nz].astype(np.float64))
        sol = h.getSolution()
        out = SolveOutcome("optimal", stages, highs_seconds=total)
        out.x = np.array(sol.col_value)
        out.row_activity = np.array(sol.row_value[: self.n_model_rows])
        out.row_dual = duals
        return out

    def _current_matrix(self) -> tuple[SparseMatrix, SparseMatrix]:
        """The model rows' matrix as loaded (the compiled one with coefficient changes applied),
        column- and row-wise; kept until a coefficient changes."""
        if self._matrix is None:
            A = self._with_coefs()
            self._matrix = (A, A.tocsr())
        return self._matrix

    def _with_coefs(self) -> SparseMatrix:
        if not self.coefs:
            return self.lp.A
        r, c, v = self.lp.A.triplets()
        keep = np.ones(len(v), dtype=bool)
        pos = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(r.tolist(), c.tolist())) if (int(a), int(b)) in self.coefs}
        for i in pos.values():
            keep[i] = False
        extra = list(self.coefs.items())
        rr = np.r_[r[keep], [k[0] for k, _ in extra]].astype(np.int64)
        cc = np.r_[c[keep], [k[1] for k, _ in extra]].astype(np.int64)
        vv = np.r_[v[keep], [w for _, w in extra]].astype(float)
        nz = vv != 0
        return SparseMatrix.from_triplets(rr[nz], cc[nz], vv[nz], self.lp.shape)

    def _components(self, csr: SparseMatrix, free: np.ndarray) -> np.ndarray:
        """Independent parts of the model among the ``free`` columns: the connected components
        of the columns (two are connected when a row holds both), a component number per column
        (a column that is not free keeps its own number)."""
        key = (tuple(sorted((k, v != 0) for k, v in self.coefs.items())), free.tobytes())  # the matrix's pattern
        if getattr(self, "_comp_key", None) == key:
            return self._comp
        comp = column_labels(csr, free)
        self._comp_key, self._comp = key, comp
        return comp

    def _activity(self, x: np.ndarray) -> np.ndarray:
        """A x for the model rows (the loaded matrix)."""
        csr = self._current_matrix()[1]
        r, c, v = csr.triplets()
        return np.bincount(r, weights=v * x[c], minlength=csr.shape[0])

    def _solve_quadratic(self, name: str) -> tuple[np.ndarray, float, str]:
        """The last, quadratic stage. Its feasible set is the optimal face of every earlier stage,
        given by complementary slackness with that stage's duals (columns with a reduced cost and
        rows with a dual keep their values), so every point of it is optimal in every earlier
        stage, exactly. It is solved per independent part of the model (parts that share no row
        are independent problems: much faster than one QP over the whole model, the same
        solution), in thousands of euros, with a tiny square on every column (strictly convex:
        one optimal value per variable). Parts HiGHS's active-set solver does not finish keep the
        linear solution (counted in ``quadratic_failures``)."""
        lp = self.lp
        x = np.array(self.h.getSolution().col_value)
        self.quadratic_failures, self.quadratic_parts, self.quadratic_run_seconds = [], 0, 0.0
        free = np.ones(lp.shape[1], dtype=bool)
        # the optimal face of every earlier stage, by complementary slackness with its duals: a
        # column with a reduced cost stays where it is, a row with a dual stays at its activity.
        # Every point of that set is optimal in every earlier stage, exactly (no tolerance rows)
        act = self._activity(x)
        pinned_row = np.zeros(lp.shape[0], dtype=bool)
        for row_dual, col_dual in self._faces:
            free &= np.abs(col_dual) <= DUAL_ZERO
            pinned_row |= np.abs(row_dual) > DUAL_ZERO
        row_lo = np.where(pinned_row, act, lp.row_lower)
        row_hi = np.where(pinned_row, act, lp.row_upper)
        csc, csr = self._current_matrix()
        comp = self._components(csr, free)
        qcols, q = lp.hessians[name]
        q_full = np.full(lp.shape[1], QP_REGULARISATION)
        q_full[qcols] = q
        members: dict[int, list[int]] = {}
        for j in np.flatnonzero(free).tolist():
            members.setdefault(int(comp[j]), []).append(j)
        local = np.full(lp.shape[1], -1, dtype=np.int64)  # global column -> position in its part
        options = {"output_flag": False, "primal_feasibility_tolerance": QP_FEASIBILITY_TOLERANCE, "qp_iteration_limit": QP_ITERATION_LIMIT}
        for opt in ("time_limit", "threads"):
            val = self.h.getOptionValue(opt)
            options[opt] = val[1] if isinstance(val, tuple) else val
        for root in np.unique(comp[qcols[free[qcols]]]).tolist():
            cols = np.array(members[root], dtype=np.int64)
            local[cols] = np.arange(len(cols))
            rows = np.unique(csc.indices[_ranges(csc.indptr, cols)])
            idx = _ranges(csr.indptr, rows)
            row_e = np.repeat(np.arange(len(rows)), csr.indptr[rows + 1] - csr.indptr[rows])
            col_e, val_e = csr.indices[idx].astype(np.int64), csr.data[idx]
            mine = local[col_e] >= 0
            # what the columns outside the part contribute to each of its rows: constants
            const = np.bincount(row_e[~mine], weights=val_e[~mine] * x[col_e[~mine]], minlength=len(rows))
            n_r, n_c = len(rows), len(cols)
            sub_cols = local[col_e[mine]]
            local[cols] = -1
            if n_c == 1 and QP_ONE_COLUMN_EXACT:  # one column (most parts at buurt level): a parabola's minimum on an interval
                j = int(cols[0])
                a = val_e[mine]
                lo_r, hi_r = (row_lo[rows] - const)[row_e[mine]], (row_hi[rows] - const)[row_e[mine]]
                with np.errstate(divide="ignore", invalid="ignore"):
                    lo = max([float(lp.col_lower[j]), *np.where(a > 0, lo_r / a, hi_r / a).tolist()])
                    hi = min([float(lp.col_upper[j]), *np.where(a > 0, hi_r / a, lo_r / a).tolist()])
                lo, hi = min(lo, x[j]), max(hi, x[j])  # the linear stages' point is feasible: within tolerances, keep it inside
                best = float(np.clip(-lp.costs[name][j] / q_full[j], lo, hi))
                if np.isfinite(best):
                    x[j] = best
                    self.quadratic_parts += 1
                else:
                    self.quadratic_failures.append("unbounded")
                continue
            sub = SparseMatrix.from_triplets(row_e[mine], sub_cols, val_e[mine], (n_r, n_c))
            h = highspy.Highs()  # a fresh solver per part: one reused keeps state that changes results
            for opt, val in options.items():
                h.setOptionValue(opt, val)
            status = h.passModel(
                n_c, n_r, sub.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), 0.0,
                _f64(lp.costs[name][cols] / QP_SCALE), _f64(lp.col_lower[cols] * QP_SCALE), _f64(lp.col_upper[cols] * QP_SCALE),
                _f64((row_lo[rows] - const) * QP_SCALE), _f64((row_hi[rows] - const) * QP_SCALE),
                sub.indptr.astype(np.int32), sub.indices.astype(np.int32), _f64(sub.data), np.zeros(n_c, dtype=np.int32),
            )  # fmt: skip
            if status == highspy.HighsStatus.kError:
                raise RuntimeError("HiGHS refused a component of the quadratic stage")
            # the stage's squares, and a tiny square on every other column: a strictly convex
            # problem, so every variable has one optimal value (and the active-set solver no
            # degenerate null space to cycle in)
            diag = q_full[cols] / QP_SCALE**2
            H = highspy.HighsHessian()
            H.dim_ = n_c
            H.format_ = highspy.HessianFormat.kTriangular
            H.start_ = np.arange(n_c + 1, dtype=np.int32)
            H.index_ = np.arange(n_c, dtype=np.int32)
            H.value_ = diag
            h.passHessian(H)
            t_run = time.perf_counter()
            h.run()
            self.quadratic_run_seconds += time.perf_counter() - t_run
            ms = h.getModelStatus()
            if ms != highspy.HighsModelStatus.kOptimal:
                # HiGHS's active-set solver can cycle on a degenerate part: there the linear
                # stages' solution stands (it is optimal in every earlier stage) and it is reported
                self.quadratic_failures.append(h.modelStatusToString(ms))
                continue
            x[cols] = np.array(h.getSolution().col_value)[:n_c] / QP_SCALE
            self.quadratic_parts += 1
        total = float(lp.costs[name] @ x + 0.5 * np.sum(q * x[qcols] ** 2))
        return x, total + lp.offsets.get(name, 0.0), "optimal"

    def _iis(self, out: SolveOutcome) -> None:
        """Ask HiGHS for an irreducible infeasible subsystem of the model rows."""
        self._drop_stage_rows()
        try:
            _ok, before = self.h.getOptionValue("iis_strategy")
        except Exception:  # an old highspy without the option
            before = None
        try:
            self.h.setOptionValue("iis_strategy", IIS_STRATEGY)
            st, iis = self.h.getIis()
        except Exception as e:  # an old highspy without getIis
            out.message += f"; no IIS available ({e})"
            return
        finally:
            if before is not None:
                self.h.setOptionValue("iis_strategy", before)
            # the IIS search leaves HiGHS in a state that changes the last digits of later solves
            # (a sweep's next point); the model passed again starts from what it holds now
            self.h.passModel(self.h.getLp())
        if st == highspy.HighsStatus.kError or not getattr(iis, "valid_", True):
            out.message += "; HiGHS could not compute an IIS"
            return
        out.iis_rows = [(int(r), _BOUND.get(int(b), str(b))) for r, b in zip(iis.row_index_, iis.row_bound_)]
        out.iis_cols = [(int(c), _BOUND.get(int(b), str(b))) for c, b in zip(iis.col_index_, iis.col_bound_)]


# --------------------------------------------------------------------------- small LPs and MIPs from arrays


def _run_arrays(
    cost, lower, upper, rows, cols, vals, row_lower, row_upper, integer=None, time_limit: float | None = None, start=None, options=None
):
    n_rows, n_cols = len(row_lower), len(cost)
    A = SparseMatrix.from_triplets(np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float), (n_rows, n_cols))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    fix = lambda a: _f64(np.clip(a, -INF, INF))  # noqa: E731  (HiGHS's infinity)
    status = h.passModel(
        n_cols, n_rows, A.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), 0.0,
        _f64(np.asarray(cost, dtype=float)), fix(np.asarray(lower, dtype=float)), fix(np.asarray(upper, dtype=float)),
        fix(np.asarray(row_lower, dtype=float)), fix(np.asarray(row_upper, dtype=float)),
        A.indptr.astype(np.int32), A.indices.astype(np.int32), _f64(A.data),
        np.asarray(integer, dtype=np.int32) if integer is not None else np.zeros(n_cols, dtype=np.int32),
    )  # fmt: skip
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model")
    for k, v in (options or {}).items():
        h.setOptionValue(k, v)
    if start is not None:  # a feasible point: the MIP's first incumbent
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    ms = h.getModelStatus()
    return h, _STATUS.get(ms, h.modelStatusToString(ms).lower().replace(" ", "_"))


def solve_lp(cost, lower, upper, A: np.ndarray, row_lower, row_upper) -> tuple[str, np.ndarray, np.ndarray]:
    """Minimise cost x over lower <= x <= upper, row_lower <= A x <= row_upper (A dense, small):
    (status, x, row duals)."""
    r, c = np.nonzero(A)
    h, status = _run_arrays(cost, lower, upper, r, c, A[r, c], row_lower, row_upper)
    sol = h.getSolution()
    return status, np.array(sol.col_value), np.array(sol.row_dual)


def solve_milp(
    cost, lower, upper, rows, cols, vals, row_lower, row_upper, integer, time_limit: float | None = None, start=None, options=None
) -> tuple[str, np.ndarray]:
    """Minimise cost x with the columns flagged ``integer`` integral; the matrix as triplets:
    (status, x). ``start``: a feasible point (first incumbent); ``options``: HiGHS options."""
    h, status = _run_arrays(cost, lower, upper, rows, cols, vals, row_lower, row_upper, integer, time_limit, start, options)
    return status, np.array(h.getSolution().col_value)


def solve_compiled_mip(
    lp: CompiledLP,
    objective: str | dict[str, float],
    integer_cols: np.ndarray,
    time_limit: float | None = None,
    options: dict | None = None,
) -> tuple[str, np.ndarray, float]:
    """Solve a compiled model (Pyomo, compile_model) as a MIP with ``integer_cols`` integral and
    the linear objective ``objective``, or a weighted sum of compiled objectives ({name: weight}):
    (status, x, objective value). ``options``: HiGHS options (e.g. mip_rel_gap)."""
    weights = {objective: 1.0} if isinstance(objective, str) else objective
    cost = sum(w * lp.costs[k] for k, w in weights.items())
    offset = sum(w * lp.offsets.get(k, 0.0) for k, w in weights.items())
    r, c, v = lp.A.triplets()
    integer = np.zeros(lp.shape[1], dtype=np.int32)
    integer[np.asarray(integer_cols, dtype=np.int64)] = 1
    h, status = _run_arrays(cost, lp.col_lower, lp.col_upper, r, c, v, lp.row_lower, lp.row_upper, integer, time_limit, options=options)
    x = np.array(h.getSolution().col_value)
    obj = float(cost @ x) + offset if status == "optimal" else float("nan")
    return status, x, obj


def column_labels(csr: SparseMatrix, free: np.ndarray | None = None) -> np.ndarray:
    """The connected components of the (``free``) columns of a row-wise matrix -- two columns are
    connected when a row holds both -- as the smallest column of its component per column (a
    column that is not free keeps its own number)."""
    n_rows, n_cols = csr.shape
    # edges: each (free) column of a row to the row's first (free) column
    r, c = np.repeat(np.arange(n_rows), np.diff(csr.indptr)), csr.indices.astype(np.int64)
    if free is not None:
        keep = free[c]
        r, c = r[keep], c[keep]
    first = np.full(n_rows, -1, dtype=np.int64)
    first[r[::-1]] = c[::-1]
    a_, b_ = first[r], c
    label = np.arange(n_cols)
    while True:  # smallest label over each component: propagate along edges, then jump pointers
        old = label.copy()
        m = np.minimum(label[a_], label[b_])
        np.minimum.at(label, a_, m)
        np.minimum.at(label, b_, m)
        label = label[label]
        if np.array_equal(label, old):
            break
    return label


def column_blocks(A: SparseMatrix) -> list[np.ndarray]:
    """The independent blocks of a model: the connected components of its columns (two columns
    are connected when a row holds both), each as sorted column numbers, in the order of their
    first column."""
    label = column_labels(A.tocsr())
    order = np.argsort(label, kind="stable")
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    return [np.sort(b) for b in np.split(order, cuts)]


def slice_lp(lp: CompiledLP, cols: np.ndarray, rows: np.ndarray, offsets: bool, entries=None, pyomo: bool = True) -> CompiledLP:
    """The part of ``lp`` on these columns and rows (a block: no row outside it holds its
    columns); the stage offsets only where ``offsets``. ``entries``: the block's (rows, cols,
    values) of the matrix when already picked out (else taken from ``lp.A``). ``pyomo=False``:
    without the Pyomo rows and variables (a part to solve elsewhere: arrays and names pickle)."""
    local = np.full(lp.shape[1], -1, dtype=np.int64)
    local[cols] = np.arange(len(cols))
    rlocal = np.full(lp.shape[0], -1, dtype=np.int64)
    rlocal[rows] = np.arange(len(rows))
    if entries is None:
        r, c, v = lp.A.triplets()
        keep = local[c] >= 0
        entries = (r[keep], c[keep], v[keep])
    r, c, v = entries
    A = SparseMatrix.from_triplets(rlocal[r], local[c], v, (len(rows), len(cols)))
    hess = {}
    for name, (qc, q) in lp.hessians.items():
        mine = local[qc] >= 0
        hess[name] = (local[qc[mine]], q[mine])
    pick = lambda xs, idx: [xs[i] for i in idx.tolist()]  # noqa: E731
    return CompiledLP(
        A,
        {k: v[cols] for k, v in lp.costs.items()},
        hess,
        dict(lp.offsets) if offsets else {k: 0.0 for k in lp.offsets},
        lp.col_lower[cols].copy(),
        lp.col_upper[cols].copy(),
        lp.row_lower[rows].copy(),
        lp.row_upper[rows].copy(),
        lp.row_constant[rows].copy(),
        pick(lp.col_component, cols),
        pick(lp.col_index, cols),
        pick(lp.row_component, rows),
        pick(lp.row_index, rows),
        pick(lp.row_data, rows) if pyomo else [],
        pick(lp.col_data, cols) if pyomo else [],
        {},
        0.0,
    )


class BlockSession:
    """The model solved block by block: each independent block (no row links it to another) its own
    HiGHS model, the stages in order within it. The same optimum as one model (the stage
    tolerances hold per block); each block's problem is smaller, so HiGHS is faster overall, and
    no block waits for another. Solve-only: parameter changes (``set``, sweeps) use
    :class:`HighsSession`."""

    #: below this many rows in all, the blocks are solved one after another (threads cost more than they save)
    PARALLEL_MIN_ROWS = 20_000

    def __init__(
        self,
        lp: CompiledLP,
        *,
        time_limit: float | None = None,
        threads: int | None = None,
        log: bool = False,
        workers: int | None = None,
        executor=None,
    ):
        """``workers``: blocks solved at once, in threads (HiGHS releases the GIL while it runs);
        default: the CPUs when the model has PARALLEL_MIN_ROWS rows, else 1. ``executor``
        (verdeelmodel.executors): the blocks are sent to it instead (local processes, a Dask
        cluster), each loaded into HiGHS where it runs. The result is the same for any number of
        workers and any executor: each block is its own HiGHS model, merged in block order."""
        import os

        self.lp = lp
        self.executor = executor
        self._options = {"time_limit": time_limit, "threads": threads, "log": log}
        self.n_model_rows = lp.shape[0]
        if workers is None:
            workers = (os.cpu_count() or 1) if lp.shape[0] >= self.PARALLEL_MIN_ROWS else 1
        self.workers = max(1, int(workers))
        blocks = column_blocks(lp.A)
        csr = lp.A.tocsr()
        row_block = np.full(lp.shape[0], 0, dtype=np.int64)  # a row with no entries: the first block's
        col_block = np.empty(lp.shape[1], dtype=np.int64)
        for k, cols in enumerate(blocks):
            col_block[cols] = k
        has = np.diff(csr.indptr) > 0
        row_block[has] = col_block[csr.indices[csr.indptr[:-1][has]]]
        order = np.argsort(row_block, kind="stable")
        row_cuts = np.searchsorted(row_block[order], np.arange(len(blocks) + 1))
        self.blocks = [(cols, np.sort(order[row_cuts[k] : row_cuts[k + 1]])) for k, cols in enumerate(blocks)]
        r, c, v = lp.A.triplets()  # the matrix's entries by block, once (not a pass over the whole matrix per block)
        eb = col_block[c]
        eorder = np.argsort(eb, kind="stable")
        ecuts = np.searchsorted(eb[eorder], np.arange(len(blocks) + 1))
        self.sessions = []
        for k, (cols, rows) in enumerate(self.blocks):
            pick = eorder[ecuts[k] : ecuts[k + 1]]
            # sent to an executor: arrays and names only (no Pyomo objects: they stay here and do not pickle)
            part = slice_lp(lp, cols, rows, offsets=k == 0, entries=(r[pick], c[pick], v[pick]), pyomo=executor is None)
            self.sessions.append(part if executor is not None else HighsSession(part, time_limit=time_limit, threads=threads, log=log))
        self.quadratic_failures: list[str] = []
        self.quadratic_parts = 0

    def solve(self, order: list[str], **kw) -> SolveOutcome:
        n_rows, n_cols = self.lp.shape
        x, act = np.zeros(n_cols), np.zeros(n_rows)
        duals: dict[str, np.ndarray] = {}
        stages: list[StageResult] = []
        total = 0.0
        self.quadratic_failures, self.quadratic_parts = [], 0
        if self.executor is not None:  # the blocks' LPs go where the executor runs them
            weights = [float(part.A.nnz) for part in self.sessions]
            done = self.executor.map(_solve_block, self.sessions, context=(order, kw, self._options), weights=weights)
            outs = [o for o, _q in done]
            quad = [q for _o, q in done]
        elif self.workers > 1 and len(self.sessions) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.workers, len(self.sessions))) as ex:
                outs = list(ex.map(lambda s: s.solve(order, **kw), self.sessions))
        else:
            outs = [s.solve(order, **kw) for s in self.sessions]
        if self.executor is None:
            quad = [(getattr(s, "quadratic_failures", []), getattr(s, "quadratic_parts", 0)) for s in self.sessions]
        for (cols, rows), (q_fail, q_parts), out in zip(self.blocks, quad, outs):
            total += out.highs_seconds
            if out.status != "optimal":  # the first block without an optimum speaks for the whole
                out.iis_rows = [(int(rows[r]), kind) for r, kind in out.iis_rows]
                out.iis_cols = [(int(cols[c]), kind) for c, kind in out.iis_cols]
                out.highs_seconds = total
                return out
            x[cols] = out.x
            act[rows] = out.row_activity
            for name, d in out.row_dual.items():
                duals.setdefault(name, np.zeros(n_rows))[rows] = d
            if not stages:
                stages = [StageResult(st.name, st.objective, st.status, st.highs_seconds, st.iterations) for st in out.stages]
            else:
                for i, st in enumerate(out.stages):
                    a = stages[i]
                    stages[i] = StageResult(
                        a.name, a.objective + st.objective, a.status, a.highs_seconds + st.highs_seconds, a.iterations + st.iterations
                    )
            self.quadratic_failures += q_fail
            self.quadratic_parts += q_parts
        res = SolveOutcome("optimal", stages, highs_seconds=total)
        res.x, res.row_activity, res.row_dual = x, act, duals
        return res


def _solve_block(context, part: CompiledLP):
    """One block, where an executor runs it: loaded into HiGHS there and solved stage by stage."""
    order, kw, options = context
    s = HighsSession(part, **options)
    out = s.solve(order, **kw)
    return out, (list(getattr(s, "quadratic_failures", [])), int(getattr(s, "quadratic_parts", 0)))
