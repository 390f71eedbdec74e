"""Joint sizing LP (models/joint.py): its optimal reserve is the empirical CVaR of the
overspend it leaves; independent groups solved apart (and in parallel) give the whole's optimum."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import INSTANCES, base_tables, pooled_tables, write_instance

from verdeelmodel import load_instance
from verdeelmodel.models.joint import groups, solve_group, solve_joint
from verdeelmodel.models.reserves import scenario_charges, var_cvar


@pytest.mark.parametrize("alpha", [0.8, 0.9, 0.95])
def test_reserve_equals_empirical_cvar(alpha):
    inst = load_instance(INSTANCES / "westfriesland-2021")
    K, gem = scenario_charges(inst, 400, seed=3)
    res = solve_joint(inst, K, gem, alpha, executor=1)
    assert res.status == "optimal"
    t = res.table.set_index("gemeente").loc[gem]
    _var, cvar = var_cvar(K - t["pays_eur"].to_numpy(), alpha)
    rel = np.abs(t["reserve_eur"].to_numpy() - cvar) / np.maximum(1.0, np.abs(cvar))
    assert rel.max() <= 1e-6


def test_hand_computed_two_scenarios(tmp_path):
    # one gemeente, budget 100, one lot with need 80 (tariff 1). Scenarios: cost 70 and 130.
    # alpha 0.5 -> CVaR = mean of the worse half = 130 - P. The unmet stage (weight 100) covers the
    # need: P = 80 -> reserve 50; spending one euro more lowers the reserve by one euro but costs
    # 0.01 (spend weight), so the LP spends the whole budget: P = 100, reserve 30.
    t = base_tables()
    t["need"] = [{"gemeente": "A", "population": "jeugd", "lot": "basis", "volume": 80, "source": "test"}]
    inst = load_instance(write_instance(tmp_path / "i", t, {"options": {"families": {"allocation_within_need": False}}}))
    K = np.array([[70.0], [130.0]])
    r = solve_group(inst, ["A"], K, 0.5)
    assert r.table.loc[0, "pays_eur"] == pytest.approx(100)
    assert r.table.loc[0, "reserve_eur"] == pytest.approx(30)


def two_regions(tmp_path):
    """Region R (A, B, C: a pool under solidarity) and region S (D alone): two groups."""
    t = pooled_tables("solidair")
    t["gemeenten"].append({"gemeente": "D", "inhabitants": 2000, "source": "test"})
    t["budgets"].append({"gemeente": "D", "domain": "jeugd", "region": "S", "budget_eur": 70, "source": "test"})
    t["populations"].append({"gemeente": "D", "population": "jeugd", "inhabitants": 100, "source": "test"})
    t["need"] += [
        {"gemeente": "D", "population": "jeugd", "lot": l, "volume": v, "source": "test"} for l, v in (("basis", 30), ("verblijf", 20))
    ]
    return load_instance(write_instance(tmp_path / "i", t))


@pytest.mark.slow  # worker processes
def test_groups_are_independent_and_parallel_equals_sequential(tmp_path, monkeypatch):
    # two regions that share nothing: two groups; solving them apart (sequentially or in two
    # processes) gives the same reserves as one LP over both
    inst = two_regions(tmp_path)
    assert groups(inst) == [["A", "B", "C"], ["D"]]
    K, gem = scenario_charges(inst, 200, seed=5)
    seq = solve_joint(inst, K, gem, 0.9, executor=1)
    monkeypatch.setattr("verdeelmodel.executors.PROCESSES_PAY_ABOVE_SECONDS", 0.0)
    par = solve_joint(inst, K, gem, 0.9, executor=2)
    assert seq.timings["processes"] == 1 and par.timings["processes"] == 2
    whole = solve_group(inst, gem, K, 0.9)
    assert seq.table["reserve_eur"].to_numpy() == pytest.approx(par.table["reserve_eur"].to_numpy(), rel=1e-9, abs=1e-6)
    assert seq.table["reserve_eur"].sum() == pytest.approx(whole.table["reserve_eur"].sum(), rel=1e-7, abs=1e-4)
    assert seq.objective == pytest.approx(whole.objective, rel=1e-7)


# --------------------------------------------------------------------------- key weights


def _sum_cvar_at(inst, planned, rule, w, S, seed, alpha):
    """Total required reserve with the rule's own weight set to w, by the engine (no LP)."""
    from dataclasses import replace

    from verdeelmodel.models.pooling import BASES, pool_setups, rules_of
    from verdeelmodel.models.reserves import RuleSet, run_reserves

    r = rules_of(inst)[rule]
    tot = sum(getattr(r, f"w_{b}") for b in BASES)
    rw = replace(r, name="trial", w_own=w, **{f"w_{b}": getattr(r, f"w_{b}") / tot * (1 - w) for b in BASES})
    setups = pool_setups(inst)
    run = run_reserves(
        inst, planned, S, seed, sets=[RuleSet("t", [["trial"] * len(s.ctx.regions) for s in setups])], extra_rules={"trial": rw}
    )
    return var_cvar(run.overspend["t"], alpha)[1]


def test_key_weight_is_the_best_in_its_bounds_and_its_reserve_is_the_cvar():
    from verdeelmodel.models.joint import optimise_key_weight
    from verdeelmodel.models.scenarios import demand_model

    inst = load_instance(INSTANCES / "westfriesland-2021")
    planned = demand_model(inst).expected_cost
    S, seed, alpha = 600, 4, 0.9
    res = optimise_key_weight(inst, planned, "mixed_eigen_inwoners", (0.0, 1.0), S, seed, alpha, in_core=False)
    assert res.status == "optimal" and 0.0 <= res.weight <= 1.0
    # the LP's total reserve is the empirical CVaR sum at the chosen weight
    at_w = _sum_cvar_at(inst, planned, "mixed_eigen_inwoners", res.weight, S, seed, alpha)
    assert res.total_required == pytest.approx(at_w.sum(), rel=1e-6)
    # no weight on a grid does better, and no gemeente needs more than alone
    for w in np.linspace(0, 1, 11):
        assert _sum_cvar_at(inst, planned, "mixed_eigen_inwoners", w, S, seed, alpha).sum() >= res.total_required * (1 - 1e-6)
    assert (res.table["required_optimal_weight_eur"] <= res.table["required_alone_eur"] * (1 + 1e-6) + 1e-3).all()
    # bounds bind: the unconstrained optimum lies near full solidarity here, so [0.4, 0.9] gives 0.4
    low = optimise_key_weight(inst, planned, "mixed_eigen_inwoners", (0.4, 0.9), S, seed, alpha, in_core=False)
    assert low.weight == pytest.approx(0.4, abs=1e-6)
    with pytest.raises(ValueError, match="not a mixed"):
        optimise_key_weight(inst, planned, "solidariteit_inwoners", (0, 1), S, seed, alpha)


def test_key_weight_within_the_core():
    """With the core constraints the weight is the best one whose split no group of gemeenten
    blocks; the weights in the core form an interval (the split is affine in w, the core
    convex); when the agreed bounds miss it the status says the core is empty there."""
    from verdeelmodel.models import fairness as F
    from verdeelmodel.models.joint import optimise_key_weight
    from verdeelmodel.models.scenarios import demand_model

    inst = load_instance(INSTANCES / "westfriesland-2021")
    planned = demand_model(inst).expected_cost
    S, seed, alpha = 600, 4, 0.9
    res = optimise_key_weight(inst, planned, "mixed_eigen_inwoners", (0.0, 1.0), S, seed, alpha)
    assert res.status == "optimal"
    lo, hi = res.core_interval
    assert 0.0 < lo <= res.weight <= hi <= 1.0  # here full solidarity (w = 0) is outside the core
    free = optimise_key_weight(inst, planned, "mixed_eigen_inwoners", (0.0, 1.0), S, seed, alpha, in_core=False)
    assert free.weight < lo and free.total_required <= res.total_required  # the core costs reserve
    for w in np.linspace(lo, hi, 6):  # the best weight inside the core
        assert _sum_cvar_at(inst, planned, "mixed_eigen_inwoners", w, S, seed, alpha).sum() >= res.total_required * (1 - 1e-6)
    # the split at the chosen weight is in the core of each pool's game; just below the interval it is not
    from verdeelmodel.models.fairness import instance_games

    def split_in_core(w):
        rules = {**__import__("verdeelmodel").rules_of(inst)}
        r = rules["mixed_eigen_inwoners"]
        keys = {c: getattr(r, c) for c in r.kind_spec.weight_columns if c != "w_own"}
        tot = sum(keys.values())
        from dataclasses import replace

        variant = replace(r, name="variant", w_own=w, **{c: v / tot * (1 - w) for c, v in keys.items()})
        from verdeelmodel.models.pooling import pool_setups

        sets = {"v": [["variant"] * len(s.ctx.regions) for s in pool_setups(inst)]}
        games = instance_games(inst, planned, S, seed, alpha, sets=sets, extra_rules={"variant": variant}, keep_samples=True)
        return all(
            F.core_check_exhaustive(pg.game.rule_split, F.all_values(pg.samples, alpha), len(pg.game.members)).in_core for pg in games
        )

    assert split_in_core(res.weight)
    assert not split_in_core(lo - 0.02)
    # bounds that miss the interval: no weight in the core there
    none = optimise_key_weight(inst, planned, "mixed_eigen_inwoners", (0.0, lo / 2), S, seed, alpha)
    assert none.status == "core_empty" and none.core_interval == pytest.approx((lo, hi))
