"""Pooling inside the allocation model: each gemeente is charged exactly what the standalone
engine (models/pooling.py) computes for the optimal allocation, and the charges sit in its
budget row."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import INSTANCES, base_tables, write_instance
from verdeelmodel import load_instance, solve
from verdeelmodel.models.pooling import evaluate, pool_setups, rules_of

RULES = {
    "solidair": {"kind": "solidariteit", "basis": "inhabitants"},
    "iu": {"kind": "solidariteit", "basis": "iu"},
    "uitgesteld3": {"kind": "uitgesteld_profijt", "years": 3},
    "mix": {"kind": "mixed", "w_own": 0.4, "w_inhabitants": 0.35, "w_budget": 0.25},
    "vast": {"kind": "vast_variabel", "fixed_eur": 12, "basis": "inhabitants"},
    "vast_share": {"kind": "vast_variabel", "fixed_share": 0.3, "basis": "budget"},
    "hoog": {"kind": "high_cost_pool", "threshold_eur": 0.25, "pool_share": 0.8, "basis": "inhabitants"},
    "onder": {"kind": "onderbenutting", "minimum_eur": 90, "gap_basis": "inhabitants"},
    "fonds": {"kind": "threshold_fund", "fund_threshold_eur_per_inhabitant": 0.001, "basis": "inhabitants"},
}


def pooled_tables(rule: str) -> dict:
    """Three gemeenten in region R; lot `verblijf` (tariff 1, statutory) pooled under `rule`."""
    t = base_tables()
    t["gemeenten"] += [{"gemeente": "B", "inhabitants": 3000, "source": "test"}, {"gemeente": "C", "inhabitants": 6000, "source": "test"}]
    t["budgets"] += [{"gemeente": g, "domain": "jeugd", "region": "R", "budget_eur": b, "source": "test"} for g, b in (("B", 60), ("C", 150))]
    t["populations"] += [{"gemeente": g, "population": "jeugd", "inhabitants": 100, "source": "test"} for g in "BC"]
    t["lots"].append({"lot": "verblijf", "domain": "jeugd", "echelon": "hoogspecialistisch", "funding_form": "output", "scope": "regional", "tariff_eur": 1, "unit": "client_year", "statutory": "true", "priority_weight": 3, "source": "test"})
    t["need"] += [
        {"gemeente": "A", "population": "jeugd", "lot": "verblijf", "volume": 50, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "lot": "verblijf", "volume": 10, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "verblijf", "volume": 25, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "lot": "basis", "volume": 40, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "spec", "volume": 9, "source": "test"},
    ]
    t["pooling_rules"] = [{"rule": name, **spec, "source": "test"} for name, spec in RULES.items()]
    t["pools"] = [{"region": "R", "pool": "verblijf", "lots": "verblijf", "rule": rule, "source": "test"}]
    t["use_history"] = [{"gemeente": g, "lot": "verblijf", "year": y, "clients": c + y - 2021, "cost_eur": 0, "source": "test"}
                        for g, c in (("A", 4), ("B", 1), ("C", 2)) for y in (2021, 2022, 2023)]
    return t


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
    # the budget row: allocated = own non-pooled lots + pooled charge, never above the budget
    b = res.budgets.set_index("gemeente")
    for g in ctx.gemeenten:
        own = a[(a.gemeente == g) & (a.lot != "verblijf")]["amount_eur"].sum()
        charge = res.pooling.set_index("gemeente").loc[g, "charge_eur"]
        assert b.loc[g, "allocated_eur"] == pytest.approx(own + charge, abs=0.02)
        assert b.loc[g, "allocated_eur"] <= b.loc[g, "budget_eur"] + 0.01


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
        for i, region in enumerate(ctx.regions):
            rule = rules[s.agreed[i]]
            if rule.kind == "threshold_fund":
                rule = rules["profijt"]
            expected = evaluate(rule, ctx, C).charge
            mask = ctx.region_index == i
            got = np.array([pooling[(ctx.pool, g)] for g in np.array(ctx.gemeenten)[mask]])
            assert got == pytest.approx(expected[mask], rel=1e-7, abs=0.02)
