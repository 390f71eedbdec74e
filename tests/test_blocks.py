"""The allocation solved block by block (solvers.highs.BlockSession, issue 15): built and compiled
once for the whole instance, each independent block of the model its own HiGHS model. The stage
objectives add up to those of one model; the result does not depend on the number of workers."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import INSTANCES

from verdeelmodel.api import AllocationModel, SolveOptions
from verdeelmodel.instance.validate import load_instance
from verdeelmodel.models.joint import groups
from verdeelmodel.scale import split_areas
from verdeelmodel.solvers.highs import column_blocks


@pytest.fixture(scope="module")
def national():
    return load_instance(INSTANCES / "nl-synthetic")


def test_blocks_are_the_connected_components_of_the_matrix():
    from verdeelmodel.solvers.highs import SparseMatrix

    # columns 0-1 share row 0, 2-3 share row 1, column 4 alone in row 2; row 3 is empty
    A = SparseMatrix.from_triplets(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 3, 2, 4]), np.ones(5), (4, 5))
    assert [b.tolist() for b in column_blocks(A)] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("areas", [0, 4], ids=["x1", "x2"])
def test_block_objectives_add_up_to_one_model(national, areas):
    inst = split_areas(national, areas) if areas else national
    whole = AllocationModel(inst).solve()
    am = AllocationModel(inst, blocks=True)
    parts = am.solve()
    assert len(am.session.blocks) >= len(groups(inst)) == 42  # regions are independent, and some split further
    assert whole.status == parts.status == "optimal"
    for stage, v in whole.objective.items():
        assert parts.objective[stage] == pytest.approx(v, rel=1e-8, abs=0.05), stage
    slack = 0.01 * len(am.session.blocks) + 0.05  # a later stage may give up a cent of an earlier one per model
    for k in ("budget", "need", "tekort", "plafondoverschrijding"):
        assert parts.totals[k] == pytest.approx(whole.totals[k], rel=1e-9, abs=slack), k
    for name in ("allocation", "budgets", "constraints"):  # the same rows, in the same order
        a, b = getattr(whole, name), getattr(parts, name)
        assert a.shape == b.shape and a.iloc[:, 0].equals(b.iloc[:, 0]), name


def test_the_result_does_not_depend_on_the_number_of_workers(national):
    one = AllocationModel(national, SolveOptions(workers=1), blocks=True).solve()
    two = AllocationModel(national, SolveOptions(workers=2), blocks=True).solve()
    for name in ("allocation", "budgets", "constraints", "pooling", "provider_budgets", "substitutions"):
        assert getattr(one, name).equals(getattr(two, name)), name
    assert one.objective == two.objective


def test_an_infeasible_block_is_explained_in_national_terms(tmp_path):
    """The IIS of the block without an allocation, in the rows of the whole model."""
    from helpers import base_tables, write_instance

    import verdeelmodel as vm

    t = base_tables()
    t["gemeenten"].append({"gemeente": "B", "inhabitants": 500, "available_reserve_eur": 0, "source": "test"})
    t["budgets"].append({"gemeente": "B", "domain": "jeugd", "region": "S", "budget_eur": 40, "own_funds_eur": 0, "source": "test"})
    t["populations"].append({"gemeente": "B", "population": "jeugd", "kind": "target_group", "inhabitants": 50, "source": "test"})
    t["need"].append({"gemeente": "B", "population": "jeugd", "lot": "spec", "volume": 3, "source": "test"})
    t["ceilings"] = [{"lot": "spec", "region": "S", "gemeente": "", "ceiling_eur": None, "minimum_eur": 1000, "source": "test"}]
    inst = vm.load_instance(write_instance(tmp_path / "i", t))
    one = vm.solve(inst, blocks=False)
    blocks = vm.solve(inst)
    assert one.status == blocks.status == "infeasible"
    assert blocks.explanation == one.explanation


def test_one_column_parts_of_the_quadratic_stage_equal_the_qp_solver(national, monkeypatch):
    """A one-column part of the quadratic stage is solved in closed form (clip(-c/q) to its
    interval); HiGHS's QP solver finds the same point within its feasibility tolerance (0,1 euro)."""
    import verdeelmodel.solvers.highs as H

    inst = split_areas(national, 8)
    exact = AllocationModel(inst, blocks=True)
    a = exact.solve()
    monkeypatch.setattr(H, "QP_ONE_COLUMN_EXACT", False)
    b = AllocationModel(inst, blocks=True).solve()
    assert a.status == b.status == "optimal"
    assert a.allocation["amount_eur"].to_numpy() == pytest.approx(b.allocation["amount_eur"].to_numpy(), abs=0.1)
    assert a.objective["equal_treatment"] == pytest.approx(b.objective["equal_treatment"], rel=1e-9)
    assert exact.session.quadratic_parts > 100 and not exact.session.quadratic_failures  # most parts are one column at this size


@pytest.mark.parametrize("exact", [True, False], ids=["closed form", "HiGHS QP"])
def test_one_column_quadratic_parts_by_hand(monkeypatch, exact):
    """min 1/2 q x^2 + c x per column, each its own part (hand-computed): x0 in [0, 10] with
    q=2, c=-4 -> 2 (inside); x1 in [0, 1], same q and c -> 1 (its bound); x2 with the row
    3 <= 2 x2 <= 8 and c=0 -> 1.5 (the row's end); x3 with the row -1 <= -x3 <= 0 (a negative
    coefficient: x3 in [0, 1]), q=4, c=-1 -> 0.25 (inside)."""
    import verdeelmodel.solvers.highs as H

    monkeypatch.setattr(H, "QP_ONE_COLUMN_EXACT", exact)
    A = H.SparseMatrix.from_triplets(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]), np.array([1.0, 1.0, 2.0, -1.0]), (4, 4))
    n = 4
    lp = H.CompiledLP(
        A,
        {"lin": np.zeros(n), "quad": np.array([-4.0, -4.0, 0.0, -1.0])},
        {"quad": (np.arange(n), np.array([2.0, 2.0, 2.0, 4.0]))},
        {"lin": 0.0, "quad": 0.0},
        np.array([0.0, 0.0, -100.0, -100.0]),
        np.array([10.0, 1.0, 100.0, 100.0]),
        np.array([-H.INF, -H.INF, 3.0, -1.0]),
        np.array([H.INF, H.INF, 8.0, 0.0]),
        np.zeros(4),
        ["x"] * n,
        list(range(n)),
        ["r"] * 4,
        list(range(4)),
        [],
        [],
        {},
        0.0,
    )
    out = H.HighsSession(lp).solve(["lin", "quad"])
    assert out.status == "optimal"
    assert out.x == pytest.approx([2.0, 1.0, 1.5, 0.25], abs=1e-6)
    want = 0.5 * (2 * 4 + 2 * 1 + 2 * 2.25 + 4 * 0.0625) + (-4 * 2 - 4 * 1 + 0 - 0.25)
    assert out.stages[-1].objective == pytest.approx(want, abs=1e-6)
