"""The direct matrix compiler (solvers/highs.py) agrees with Pyomo's own
LinearStandardFormCompiler on every row, bound and objective of the bundled models."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import INSTANCES, pooled_tables, write_instance
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
from pyomo.repn.standard_repn import generate_standard_repn

from verdeelmodel import load_instance
from verdeelmodel.models.allocation import build_allocation_model, objective_names
from verdeelmodel.models.manifest import QUADRATIC_STAGES
from verdeelmodel.solvers.highs import INF, compile_model

QUADRATIC = {s.objective for s in QUADRATIC_STAGES}


def _pyomo_rows(m):
    """{id(constraint): ({id(var): coef}, lower, upper)} from Pyomo's compiler (linear objectives;
    the quadratic stage is checked against Pyomo's standard representation below)."""
    for o in m.component_data_objects(pyo.Objective):
        o.activate()
    for name in QUADRATIC:
        if m.component(name) is not None:
            m.component(name).deactivate()
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    A = info.A.tocsr()
    var_ids = [id(v) for v in info.columns]
    rows: dict[int, list] = {}
    for r, (con, mult) in enumerate(info.rows):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        coefs = {var_ids[j]: v for j, v in zip(A.indices[lo:hi], A.data[lo:hi])}
        entry = rows.setdefault(id(con), [coefs, -INF, INF])
        if mult in (0, -1):
            entry[1] = info.rhs[r]
        if mult in (0, 1):
            entry[2] = info.rhs[r]
    C = info.c.toarray()
    costs = {o.parent_component().name: {var_ids[j]: v for j, v in enumerate(C[i]) if v != 0} for i, o in enumerate(info.objectives)}
    return rows, costs


@pytest.mark.parametrize("source", ["nijmegen-2018", "westfriesland-2021", "pooled-onderbenutting"])
def test_direct_compiler_matches_pyomo(tmp_path, source):
    path = write_instance(tmp_path / "i", pooled_tables("onder")) if source.startswith("pooled") else INSTANCES / source
    inst = load_instance(path)
    m, b = build_allocation_model(inst)
    names = objective_names(b)
    lp = compile_model(m, names)
    var_of_col = []
    for comp in m.component_objects(pyo.Var):
        var_of_col += [id(v) for v in comp.values()]
    ref_rows, ref_costs = _pyomo_rows(m)
    A = lp.A.tocsr()
    assert len(lp.row_data) == len(ref_rows)
    for r, con in enumerate(lp.row_data):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        mine = {var_of_col[j]: v for j, v in zip(A.indices[lo:hi], A.data[lo:hi]) if v != 0}
        coefs, rlo, rhi = ref_rows[id(con)]
        assert mine.keys() == {k for k, v in coefs.items() if v != 0}, con.name
        for k, v in coefs.items():
            assert mine.get(k, 0.0) == pytest.approx(v, rel=1e-12, abs=1e-12), con.name
        assert lp.row_lower[r] == pytest.approx(rlo, rel=1e-12, abs=1e-9) and lp.row_upper[r] == pytest.approx(rhi, rel=1e-12, abs=1e-9), (
            con.name
        )
    for name in names:
        mine = {var_of_col[j]: v for j, v in enumerate(lp.costs[name]) if v != 0}
        if name in QUADRATIC:
            # 1/2 x'Qx with Q diagonal: Q_jj = 2 x the coefficient of x_j^2 in Pyomo's representation
            repn = generate_standard_repn(m.component(name).expr, quadratic=True)
            ref_q = {id(a): 2 * c for (a, b), c in zip(repn.quadratic_vars, repn.quadratic_coefs) if a is b}
            assert len(ref_q) == len(repn.quadratic_vars) and not mine
            cols, q = lp.hessians[name]
            assert {var_of_col[j]: v for j, v in zip(cols.tolist(), q.tolist())} == pytest.approx(ref_q, rel=1e-12)
            continue
        assert mine == pytest.approx(ref_costs[name], rel=1e-12), name
    # column bounds are the variables' bounds
    for j, _vid in enumerate(var_of_col):
        assert lp.col_lower[j] in (0.0, -INF)
    assert np.all(lp.col_upper >= lp.col_lower)


def test_nonlinear_model_is_refused():
    m = pyo.ConcreteModel()
    m.x = pyo.Var()
    m.c = pyo.Constraint(expr=m.x * m.x <= 1)
    m.o = pyo.Objective(expr=m.x)
    with pytest.raises(ValueError, match="must be linear"):
        compile_model(m, ["o"])


def test_every_expression_form_compiles_like_pyomo():
    """Duplicated variables, c x (sum), negation, fixed variables, constants and a mutable
    parameter (Pyomo's general path) give the same rows and objective as Pyomo's compiler."""
    from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 10))
    m.y = pyo.Var(bounds=(-5, None))
    m.z = pyo.Var()
    m.w = pyo.Var()
    m.w.fix(3.0)
    m.p = pyo.Param(initialize=1.5, mutable=True)
    # x twice, a constant and a fixed variable inside a LinearExpression
    m.c1 = pyo.Constraint(
        expr=LinearExpression([m.x, m.x, MonomialTermExpression((2.0, m.y)), 1.0, m.w, MonomialTermExpression((0.5, m.w))]) <= 7
    )
    m.c2 = pyo.Constraint(expr=2.0 * (m.x + 3.0 * m.y) - (m.y - m.z) + 4.0 >= 1.0)
    m.c3 = pyo.Constraint(expr=m.w * 2.0 + m.z + m.w == 5.0)  # fixed w moves to the bound
    m.c4 = pyo.Constraint(expr=m.p * m.x + m.y <= 2.0)  # a parameter coefficient: Pyomo's own path
    m.o = pyo.Objective(expr=2.5 * LinearExpression([m.x, m.z]) + sum([m.y, m.y]) + 1.0)
    lp = compile_model(m, ["o"])
    var_of_col = [id(v) for comp in m.component_objects(pyo.Var) for v in comp.values()]
    ref_rows, ref_costs = _pyomo_rows(m)
    A = lp.A.tocsr()
    expected = {
        "c1": {id(m.x): 2.0, id(m.y): 2.0},
        "c2": {id(m.x): 2.0, id(m.y): 5.0, id(m.z): 1.0},
        "c3": {id(m.z): 1.0},
        "c4": {id(m.x): 1.5, id(m.y): 1.0},
    }
    for r, con in enumerate(lp.row_data):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        mine = {var_of_col[j]: v for j, v in zip(A.indices[lo:hi], A.data[lo:hi]) if v != 0}
        coefs, rlo, rhi = ref_rows[id(con)]
        assert mine == pytest.approx({k: v for k, v in coefs.items() if v != 0}) == expected[con.name], con.name
        assert (lp.row_lower[r], lp.row_upper[r]) == pytest.approx((rlo, rhi)), con.name
    assert (lp.row_upper[0], lp.row_lower[1], lp.row_upper[2], lp.row_lower[2]) == (1.5, -3.0, -4.0, -4.0)
    mine = {var_of_col[j]: v for j, v in enumerate(lp.costs["o"]) if v != 0}
    assert mine == pytest.approx(ref_costs["o"]) == {id(m.x): 2.5, id(m.z): 2.5, id(m.y): 2.0}
    assert lp.offsets["o"] == 1.0
