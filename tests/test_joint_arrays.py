"""The joint LP's scenario rows from arrays (models/joint.py, append_scenario_rows) are the Pyomo
formulation of record (add_reserve_block) compiled: the same matrix, bounds, objective and row and
column names in the same order, and the same solution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import INSTANCES
from test_joint import two_regions

from verdeelmodel import load_instance
from verdeelmodel.models.allocation import build_allocation_model, prepare
from verdeelmodel.models.joint import (
    JOINT_OBJECTIVE,
    add_reserve_block,
    append_scenario_rows,
    groups,
    solve_group,
    solve_joint,
    subset,
)
from verdeelmodel.models.reference import reference_allocation
from verdeelmodel.models.reserves import scenario_charges
from verdeelmodel.solvers.highs import INF, ChainedNames, HighsSession, PickedNames, ProductIndex, RepeatedName, compile_model


def _compiled(inst, gemeenten, K, alpha, arrays):
    """The joint LP of one group as solve_group compiles it."""
    ref = reference_allocation(inst)
    sub = subset(inst, gemeenten) if len(gemeenten) < len(inst.gemeenten) else inst
    D = prepare(sub, ref[ref["gemeente"].isin(set(gemeenten))].reset_index(drop=True))
    m, b = build_allocation_model(sub, D)
    add_reserve_block(m, b, K, gemeenten, alpha, dict(inst.options.objective.weights), scenario_rows=not arrays)
    lp = compile_model(m, [JOINT_OBJECTIVE])
    return append_scenario_rows(lp, K, gemeenten, alpha) if arrays else lp


def _assert_same_lp(fast, ref):
    assert fast.shape == ref.shape
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(fast.A, name), getattr(ref.A, name), err_msg=name)
    for name in ("col_lower", "col_upper", "row_lower", "row_upper", "row_constant"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=name)
    assert fast.costs.keys() == ref.costs.keys() and fast.offsets == ref.offsets
    for name in ref.costs:
        np.testing.assert_array_equal(fast.costs[name], ref.costs[name])
    assert fast.hessians.keys() == ref.hessians.keys()
    for name in ("col_component", "col_index", "row_component", "row_index"):
        assert list(getattr(fast, name)) == list(getattr(ref, name)), name
    # read one by one, sliced and from the end, as explanations and IIS read them
    n_rows, n_cols = ref.shape
    for r in [0, n_rows - 1, -1, *np.linspace(0, n_rows - 1, 23).astype(int).tolist()]:
        assert (fast.row_component[r], fast.row_index[r]) == (ref.row_component[r], ref.row_index[r])
    for j in [0, n_cols - 1, -1, *np.linspace(0, n_cols - 1, 23).astype(int).tolist()]:
        assert (fast.col_component[j], fast.col_index[j]) == (ref.col_component[j], ref.col_index[j])
    assert fast.row_index[n_rows // 3 : n_rows - 2] == ref.row_index[n_rows // 3 : n_rows - 2]
    assert fast.col_index[-7:] == ref.col_index[-7:]
    # the rows and columns made from arrays have no Pyomo objects; the others keep theirs
    assert [d is None for d in fast.row_data] == [c == "ru_tail" for c in ref.row_component]
    assert [d is None for d in fast.col_data] == [c == "tail" for c in ref.col_component]


@pytest.mark.parametrize("S", [5, 37])
@pytest.mark.parametrize("alpha", [0.8, 0.9])
def test_westfriesland_compiles_the_same(S, alpha):
    inst = load_instance(INSTANCES / "westfriesland-2021")
    K, gem = scenario_charges(inst, S, seed=2)
    pos = {g: i for i, g in enumerate(gem)}
    for gs in groups(inst):
        k = K[:, [pos[g] for g in gs]]
        fast, ref = _compiled(inst, gs, k, alpha, True), _compiled(inst, gs, k, alpha, False)
        assert sum(c == "ru_tail" for c in ref.row_component) == S * len(gs)
        _assert_same_lp(fast, ref)


def test_tiny_instance_compiles_and_solves_the_same(tmp_path):
    inst = two_regions(tmp_path)
    K, gem = scenario_charges(inst, 50, seed=7)
    for gs in [*groups(inst), gem]:  # each group, and all gemeenten in one LP
        k = K[:, [gem.index(g) for g in gs]]
        _assert_same_lp(_compiled(inst, gs, k, 0.9, True), _compiled(inst, gs, k, 0.9, False))
        fast, ref = solve_group(inst, gs, k, 0.9, arrays=True), solve_group(inst, gs, k, 0.9, arrays=False)
        assert fast.status == ref.status == "optimal"
        assert fast.objective == ref.objective
        pd.testing.assert_frame_equal(fast.table, ref.table, check_exact=True)


@pytest.mark.parametrize("S", [10, 40])
def test_solve_joint_equals_the_pyomo_formulation(S):
    inst = load_instance(INSTANCES / "westfriesland-2021")
    K, gem = scenario_charges(inst, S, seed=3)
    joint = solve_joint(inst, K, gem, 0.9, executor=1)  # the fast path: the default
    reference = reference_allocation(inst)
    parts = [solve_group(inst, gs, K[:, [gem.index(g) for g in gs]], 0.9, reference, arrays=False) for gs in groups(inst)]
    assert joint.status == "optimal" and all(p.status == "optimal" for p in parts)
    assert joint.objective == sum(p.objective for p in parts)
    ref = pd.concat([p.table for p in parts], ignore_index=True).sort_values("gemeente", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(joint.table, ref, check_exact=True)


def test_iis_names_the_rows_made_from_arrays(tmp_path):
    """An infeasible joint LP (no tail allowed, the VaR level far below every charge): HiGHS's IIS
    holds an ru_tail row, named by component and (gemeente, scenario) as a Pyomo row would be."""
    inst = two_regions(tmp_path)
    K, gem = scenario_charges(inst, 6, seed=1)
    gs = groups(inst)[0]
    lp = _compiled(inst, gs, K[:, [gem.index(g) for g in gs]], 0.9, True)
    tails = np.array([j for j, c in enumerate(lp.col_component) if c == "tail"])
    eta = np.array([j for j, c in enumerate(lp.col_component) if c == "eta"])
    s = HighsSession(lp)
    s.set_col_bounds(tails, 0.0, 0.0)
    s.set_col_bounds(eta, -INF, -1e12)
    out = s.solve([JOINT_OBJECTIVE])
    assert out.status == "infeasible" and out.iis_rows
    named = [(lp.row_component[r], lp.row_index[r]) for r, _b in out.iis_rows]
    ru = [idx for comp, idx in named if comp == "ru_tail"]
    assert ru and all(idx[0] in gs and 0 <= idx[1] < 6 for idx in ru)
    # the screened solve finds it too, its IIS in the whole model's rows
    from verdeelmodel.models.joint import solve_screened

    out, _info = solve_screened(lp, 0.5)  # lp's bounds are the session's: set above
    assert out.status == "infeasible" and out.iis_rows
    assert any(lp.row_component[r] == "ru_tail" and lp.row_index[r][0] in gs for r, _b in out.iis_rows)


def test_name_sequences():
    p = ProductIndex(["a", "b"], range(3))
    assert len(p) == 6 and list(p) == [(g, s) for g in "ab" for s in range(3)]
    assert p[4] == ("b", 1) and p[-1] == ("b", 2) and p[1:4] == [("a", 1), ("a", 2), ("b", 0)] and p[::4] == [("a", 0), ("b", 1)]
    assert p.index(("b", 0)) == 3 and ("c", 0) not in p
    r = RepeatedName("tail", 4)
    assert list(r) == ["tail"] * 4 and r[-4] == "tail" and r[1:3] == ["tail"] * 2
    c = ChainedNames([["x", "y"], [], r, p])
    items = ["x", "y", *["tail"] * 4, *list(p)]
    assert len(c) == 12 and list(c) == items
    assert [c[i] for i in range(-12, 12)] == items + items
    assert c[1:8] == items[1:8] and c[::5] == items[::5] and c[10:100] == items[10:]
    assert c.index("tail") == 2 and c.index(("a", 1)) == 7
    k = PickedNames(c, np.array([0, 6, 11]))
    assert list(k) == ["x", ("a", 0), ("b", 2)] and k[-1] == ("b", 2) and k[1:] == [("a", 0), ("b", 2)] and len(k) == 3
    for seq in (p, r, c, k):
        with pytest.raises(IndexError):
            seq[len(seq)]


# --------------------------------------------------------------------------- the screened solve


@pytest.mark.parametrize("alpha", [0.8, 0.9, 0.95])
def test_screened_solve_is_the_whole_lps_optimum(alpha):
    """HiGHS on each gemeente's highest-charge scenario rows only, checked against the rest, gives
    the whole LP's optimum; started with too few rows it adds the violated ones back until it does."""
    from verdeelmodel.models.joint import solve_screened

    inst = load_instance(INSTANCES / "westfriesland-2021")
    S = 300
    K, gem = scenario_charges(inst, S, seed=4)
    for gs in groups(inst):
        k = K[:, [gem.index(g) for g in gs]]
        whole = solve_group(inst, gs, k, alpha, screen=False)
        screened = solve_group(inst, gs, k, alpha)
        assert screened.timings["lp_rounds"] == 1
        assert whole.status == screened.status == "optimal"
        assert screened.objective == pytest.approx(whole.objective, rel=1e-9)
        for col in ("pays_eur", "eta_eur", "reserve_eur", "empirical_cvar_eur"):
            np.testing.assert_allclose(screened.table[col], whole.table[col], rtol=1e-7, atol=1e-3, err_msg=col)
        lp = _compiled(inst, gs, k, alpha, True)
        out, info = solve_screened(lp, alpha, ranking=np.argsort(k, axis=0).T)  # lowest charges first: violated rows come back
        assert out.status == "optimal" and info["rounds"] > 1
        assert out.stages[-1].objective == pytest.approx(whole.objective, rel=1e-9)
        # in the whole model's columns and rows: every row holds, the dropped tails are 0
        assert len(out.x) == lp.shape[1] and len(out.row_activity) == lp.shape[0]
        act = lp.A.tocsr()
        r, c, v = act.triplets()
        ax = np.bincount(r, weights=v * out.x[c], minlength=lp.shape[0])
        np.testing.assert_allclose(out.row_activity, ax, rtol=1e-9, atol=1e-6)
        scale = np.maximum(1.0, np.abs(lp.row_lower))
        assert np.all(ax >= lp.row_lower - 1e-6 * scale) and np.all(ax <= lp.row_upper + 1e-6 * scale)
        assert np.all(out.x >= lp.col_lower - 1e-6) and np.all(out.x <= lp.col_upper + 1e-6)


def test_built_once_nationally_and_cut_equals_built_per_group(tmp_path):
    """solve_joint's default builds and compiles the joint LP once for the whole instance and cuts
    it into the region groups (national_parts): the same groups, tables and objective as building
    each group from its own sub-instance."""
    from verdeelmodel.models.joint import national_parts

    inst = two_regions(tmp_path)
    K, gem = scenario_charges(inst, 300, seed=11)
    parts = national_parts(inst, K, gem, 0.9)
    assert [sorted(order) for _p, order, _k in parts] == [sorted(gs) for gs in groups(inst)]
    for part, order, k in parts:
        assert [idx for comp, idx in zip(part.col_component, part.col_index) if comp == "reserve"] == order
        assert k.shape == (300, len(order))
    once = solve_joint(inst, K, gem, 0.9, executor=1)
    per_group = solve_joint(inst, K, gem, 0.9, executor=1, national=False)
    assert once.status == per_group.status == "optimal"
    assert once.objective == pytest.approx(per_group.objective, rel=1e-9)
    assert once.table["gemeente"].tolist() == per_group.table["gemeente"].tolist()
    cols = ["pays_eur", "eta_eur", "reserve_eur", "empirical_cvar_eur"]
    assert once.table[cols].to_numpy() == pytest.approx(per_group.table[cols].to_numpy(), rel=1e-7, abs=1e-4)
