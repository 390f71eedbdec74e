"""Sweeps re-solve one loaded model; every point equals a model rebuilt from the changed instance."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import INSTANCES, pooled_tables, run_main, write_instance

from verdeelmodel import load_instance, solve
from verdeelmodel.instance.problems import InstanceError
from verdeelmodel.parameters import grid_from_specs
from verdeelmodel.workflows import Sweep


def _objectives_equal(point: dict, res) -> None:
    assert point["status"] == res.status
    for k, v in res.objective.items():
        assert point[f"objective_{k}"] == pytest.approx(v, rel=1e-7, abs=1e-3), k


def _scaled(inst, lots: set[str], m: float):
    i2 = inst.copy()
    i2.tables["need"] = i2.need.assign(volume=[v * m if l in lots else v for l, v in zip(i2.need["lot"], i2.need["volume"])])
    return i2


def _nijmegen(tmp_path):
    # the committed instance without optional tables a parallel change might be adding
    return load_instance(INSTANCES / "nijmegen-2018")


@pytest.mark.parametrize("what,m", [("jeugd", 0.9), ("jeugd", 1.15), ("jeugd_verblijf", 1.3), ("*", 0.95)])
def test_demand_points_equal_rebuilt_models(tmp_path, what, m):
    inst = _nijmegen(tmp_path)
    sw = Sweep(inst)
    sw.apply({f"demand:{what}": m})
    point = sw.solve_point()
    lots = set(inst.lots["lot"]) if what == "*" else set(inst.lots.loc[(inst.lots["domain"] == what) | (inst.lots["lot"] == what), "lot"])
    _objectives_equal(point, solve(_scaled(inst, lots, m)))


def test_substitution_and_specialist_goal_follow_demand(tmp_path):
    def edit(t):
        t["substitutions"] = [{"from_lot": "spec", "to_lot": "basis", "ratio": 2, "max_share": 0.5, "source": "test"}]
        t["goals"] = [{"goal": "specialist_reduction", "domain": "jeugd", "value": 0.1, "source": "test"}]

    from helpers import base_tables

    t = base_tables()
    edit(t)
    inst = load_instance(write_instance(tmp_path / "i", t))
    sw = Sweep(inst)
    for m in (0.7, 1.0, 1.4):
        sw.apply({"demand:spec": m})
        _objectives_equal(sw.solve_point(), solve(_scaled(inst, {"spec"}, m)))


def test_tariff_budget_and_limit_points(tmp_path):
    inst = _nijmegen(tmp_path)
    sw = Sweep(inst)
    lot = "jeugd_ggz"
    t0 = float(inst.lots.set_index("lot").loc[lot, "tariff_eur"])
    sw.apply(
        {
            f"tariff:{lot}": t0 * 1.2,
            "budget:Druten|jeugd": 4_000_000.0,
            "limit:ceiling_per_lot_region:jeugd_specialistische_begeleiding|rijk_van_nijmegen": 4_500_000.0,
        }
    )
    point = sw.solve_point()
    i2 = inst.copy()
    i2.tables["lots"] = i2.lots.assign(tariff_eur=[v * 1.2 if l == lot else v for l, v in zip(i2.lots["lot"], i2.lots["tariff_eur"])])
    # the budget parameter moves the money in the budget row: own funds (the IU and its keys stay)
    i2.tables["budgets"] = i2.budgets.assign(
        own_funds_eur=[
            4_000_000.0 - b if (g, d) == ("Druten", "jeugd") else o
            for g, d, b, o in zip(i2.budgets["gemeente"], i2.budgets["domain"], i2.budgets["budget_eur"], i2.budgets["own_funds_eur"])
        ]
    )
    i2.tables["ceilings"] = i2.ceilings.assign(
        ceiling_eur=[
            4_500_000.0 if (l, r) == ("jeugd_specialistische_begeleiding", "rijk_van_nijmegen") else c
            for l, r, c in zip(i2.ceilings["lot"], i2.ceilings["region"], i2.ceilings["ceiling_eur"])
        ]
    )
    _objectives_equal(point, solve(i2))
    sw.apply({})  # back to the base instance
    _objectives_equal(sw.solve_point(), solve(inst))


def test_key_weight_points(tmp_path):
    inst = load_instance(write_instance(tmp_path / "i", pooled_tables("mix")))
    sw = Sweep(inst)
    for w in (0.0, 0.4, 0.9):
        sw.apply({"w_own:mix": w})
        point = sw.solve_point()
        i2 = inst.copy()
        rest = {"w_inhabitants": 0.35 / 0.6 * (1 - w), "w_budget": 0.25 / 0.6 * (1 - w)}
        i2.tables["pooling_rules"] = i2.pooling_rules.assign(
            **{
                "w_own": [w if r == "mix" else v for r, v in zip(i2.pooling_rules["rule"], i2.pooling_rules["w_own"])],
                **{c: [x if r == "mix" else v for r, v in zip(i2.pooling_rules["rule"], i2.pooling_rules[c])] for c, x in rest.items()},
            }
        )
        _objectives_equal(point, solve(i2))


def test_grid_and_bad_params(tmp_path, capsys):
    g = grid_from_specs(["demand:*=0.9:1.1:3", "budget:A|jeugd=90,100"])
    assert len(g) == 6 and g[0] == {"demand:*": 0.9, "budget:A|jeugd": 90.0}
    with pytest.raises(InstanceError):
        grid_from_specs(["demand:*=a:b:c"])
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    rc, out, err = run_main(["sweep", str(inst), "--param", "demand:*=0.8:1.2:5", "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    df = pd.read_csv(tmp_path / "o" / "sweep.csv")
    assert len(df) == 5 and set(df["status"]) == {"optimal"}
    assert df["objective_unmet"].is_monotonic_increasing  # more demand, never less unmet need
    rc, _o, err = run_main(["sweep", str(inst), "--param", "nonsense:x=1"], capsys)
    assert rc == 2 and "--param" in err and "Traceback" not in err


def test_gemeente_demand_point(tmp_path):
    inst = _nijmegen(tmp_path)
    sw = Sweep(inst)
    sw.apply({"demand:Druten": 1.25})
    point = sw.solve_point()
    i2 = inst.copy()
    i2.tables["need"] = i2.need.assign(volume=[v * 1.25 if g == "Druten" else v for g, v in zip(i2.need["gemeente"], i2.need["volume"])])
    _objectives_equal(point, solve(i2))


def test_a_point_after_an_infeasible_one_is_the_same_as_alone():
    """The IIS search of an infeasible point left HiGHS in a state that changed the last digits of
    the next point (found when the sweep was cut into slices for worker processes)."""
    from helpers import INSTANCES

    from verdeelmodel.instance.validate import load_instance
    from verdeelmodel.workflows import Sweep

    inst = load_instance(INSTANCES / "westfriesland-2021")

    def run(points):
        return Sweep(inst).run([{"demand:*": m} for m in points]).drop(columns=["wall_seconds", "highs_seconds"]).iloc[-1]

    alone, after = run([0.95]), run([0.8, 0.95])
    assert run([0.8])["status"] == "infeasible"
    assert alone.equals(after)
