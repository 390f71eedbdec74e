"""Pooling inside the allocation model: each gemeente is charged exactly what the standalone
engine (models/pooling.py) computes for the optimal allocation, and the charges sit in its
budget row."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import INSTANCES, pooled_tables, write_instance
from helpers import POOL_RULES as RULES

from verdeelmodel import load_instance, solve
from verdeelmodel.models.pooling import evaluate, pool_setups, rules_of


@pytest.mark.parametrize("rule", sorted(RULES))
def test_model_charges_equal_engine(tmp_path, rule):
    inst = load_instance(write_instance(tmp_path / rule, pooled_tables(rule)))
    res = solve(inst)
    assert res.status == "optimal", res.explanation
    (setup,) = pool_setups(inst)
    ctx = setup.ctx
    a = res.allocation
    C = np.array([[a[(a.gemeente == g) & (a.lot == "verblijf")]["amount_eur"].sum()] for g in ctx.gemeenten])
    engine_rule = rules_of(inst)["profijt" if rule == "fonds" else rule]  # the fund pays nothing on a plan
    expected = evaluate(engine_rule, ctx, C).charge
    got = res.pooling.set_index("gemeente").loc[ctx.gemeenten, "charge_eur"].to_numpy()
    assert got == pytest.approx(expected, abs=0.01)
    # conservation: the charges add up to what the region pays for the pool
    assert got.sum() == pytest.approx(float(evaluate(engine_rule, ctx, C).pooled_total.sum()), abs=0.02)
    # the budget row: allocated = own non-pooled lots + pooled charge; above the budget only by
    # the tekort (statutory care is provided whatever the budget)
    b = res.budgets.set_index("gemeente")
    for g in ctx.gemeenten:
        own = a[(a.gemeente == g) & (a.lot != "verblijf")]["amount_eur"].sum()
        charge = res.pooling.set_index("gemeente").loc[g, "charge_eur"]
        assert b.loc[g, "allocated_eur"] == pytest.approx(own + charge, abs=0.02)
        assert b.loc[g, "allocated_eur"] == pytest.approx(
            b.loc[g, "budget_eur"] + b.loc[g, "tekort_eur"] - b.loc[g, "headroom_eur"], abs=0.02
        )


def test_solidarity_changes_the_allocation(tmp_path):
    # profijt: A must pay its 50 of verblijf itself; with solidariteit by inhabitants (1:3:6) A pays 8.5
    # of the 85 and has more room for its own basis need
    no_pool = pooled_tables("solidair")
    del no_pool["pools"]
    prof = solve(load_instance(write_instance(tmp_path / "p", no_pool)))
    sol = solve(load_instance(write_instance(tmp_path / "s", pooled_tables("solidair"))))
    un = lambda r, g: r.allocation.query("gemeente == @g")["unmet_eur"].sum()  # noqa: E731
    assert un(sol, "A") < un(prof, "A")
    assert sol.pooling.set_index("gemeente").loc["A", "charge_eur"] == pytest.approx(8.5, abs=0.01)


@pytest.mark.parametrize("name", ["nijmegen-2018", "westfriesland-2021", "nl-synthetic"])
def test_bundled_instances_charges_equal_engine(name):
    inst = load_instance(INSTANCES / name)
    if inst.pools.empty:
        pytest.skip(f"{name} has no pools yet")
    res = solve(inst)
    assert res.status == "optimal"
    rules = rules_of(inst)
    a = res.allocation.groupby(["gemeente", "lot"])["amount_eur"].sum().to_dict()
    pooling = res.pooling.set_index(["pool", "gemeente"])["charge_eur"]
    for s in pool_setups(inst):
        ctx = s.ctx
        C = np.array([[a.get((g, l), 0.0) for l in ctx.lots] for g in ctx.gemeenten])
        for i, _region in enumerate(ctx.regions):
            rule = rules[s.agreed[i]]
            if rule.kind == "threshold_fund":
                rule = rules["profijt"]
            expected = evaluate(rule, ctx, C).charge
            mask = ctx.region_index == i
            got = np.array([pooling[(ctx.pool, g)] for g in np.array(ctx.gemeenten)[mask]])
            assert got == pytest.approx(expected[mask], rel=1e-7, abs=0.02)
