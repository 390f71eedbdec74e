"""The allocation solved per independent group of gemeenten (verdeelmodel/decompose.py): the
stage objectives add up to those of one national model, and the output does not depend on the
number of worker processes."""

from __future__ import annotations

import pytest
from helpers import INSTANCES

from verdeelmodel.api import AllocationModel
from verdeelmodel.decompose import solve_by_groups
from verdeelmodel.instance.validate import load_instance
from verdeelmodel.models.joint import groups
from verdeelmodel.scale import split_areas


@pytest.fixture(scope="module")
def national():
    return load_instance(INSTANCES / "nl-synthetic")


@pytest.mark.parametrize("areas", [0, 4], ids=["x1", "x2"])
def test_group_objectives_add_up_to_the_national_model(national, areas):
    inst = split_areas(national, areas) if areas else national
    assert len(groups(inst)) == 42
    whole = AllocationModel(inst).solve()
    parts = solve_by_groups(inst, processes=1)
    assert whole.status == parts.status == "optimal"
    for stage, v in whole.objective.items():
        assert parts.objective[stage] == pytest.approx(v, rel=1e-8, abs=0.05), stage
    # a later stage may give up a cent of an earlier one per model (tolerance_max_eur): per group here
    slack = 0.01 * 42 + 0.05
    for k in ("budget", "need", "tekort", "plafondoverschrijding"):
        assert parts.totals[k] == pytest.approx(whole.totals[k], rel=1e-9, abs=slack), k
    assert len(parts.allocation) == len(whole.allocation) and len(parts.constraints) == len(whole.constraints)
    assert parts.budgets["budget_eur"].sum() == pytest.approx(whole.budgets["budget_eur"].sum(), abs=0.01)


@pytest.mark.slow  # worker processes
def test_the_result_does_not_depend_on_the_number_of_workers(national):
    one = solve_by_groups(national, processes=1)
    two = solve_by_groups(national, processes=2)
    for name in ("allocation", "budgets", "constraints", "pooling", "provider_budgets"):
        assert getattr(one, name).equals(getattr(two, name)), name
    assert one.objective == two.objective
