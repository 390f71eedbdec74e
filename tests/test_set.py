"""One way to change a loaded model: ``AllocationModel.set``.

Every parameter kind equals a model rebuilt from the changed instance; the Pyomo model (the
formulation of record) and the model loaded in HiGHS stay in step; nothing outside solvers/
touches the HiGHS handle."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import INSTANCES, ROOT, base_tables, pooled_tables, write_instance

from verdeelmodel import AllocationModel, load_instance, solve
from verdeelmodel.instance.problems import InstanceError
from verdeelmodel.models.allocation import objective_names
from verdeelmodel.solvers.highs import compile_model


def _same_objectives(a, b) -> None:
    assert a.status == b.status
    assert a.objective.keys() == b.objective.keys()
    for k, v in b.objective.items():
        assert a.objective[k] == pytest.approx(v, rel=1e-7, abs=1e-3), k


def _in_step(model: AllocationModel) -> None:
    """The Pyomo model, compiled afresh, is the model HiGHS holds: bounds and coefficients."""
    fresh = compile_model(model.model, objective_names(model.info))
    lo, hi, clo, chi = model.session.bounds()
    assert np.array_equal(fresh.row_lower, lo) and np.array_equal(fresh.row_upper, hi)
    assert np.array_equal(fresh.col_lower, clo) and np.array_equal(fresh.col_upper, chi)
    mine, loaded = fresh.A.tocsr(), model.session.matrix().tocsr()
    for r in range(fresh.shape[0]):
        a = {c: v for c, v in mine.row(r).items() if v != 0}
        b = {c: v for c, v in loaded.row(r).items() if v != 0}
        assert a.keys() == b.keys(), (fresh.row_component[r], fresh.row_index[r])
        for c in a:
            assert a[c] == pytest.approx(b[c], rel=1e-12, abs=1e-12)
    # the quadratic stage's squares (weights that follow need and contract plafonds)
    assert fresh.hessians.keys() == model.lp.hessians.keys()
    for name, (cols, q) in fresh.hessians.items():
        held_cols, held_q = model.lp.hessians[name]
        assert np.array_equal(cols, held_cols), name
        assert np.allclose(q, held_q, rtol=1e-12, atol=0), name


def _same_squares(model: AllocationModel, ref: AllocationModel) -> None:
    assert model.lp.hessians.keys() == ref.lp.hessians.keys() and ref.lp.hessians
    for name, (cols, q) in ref.lp.hessians.items():
        held_cols, held_q = model.lp.hessians[name]
        assert np.array_equal(cols, held_cols), name
        assert np.allclose(q, held_q, rtol=1e-12, atol=0), name


def test_contract_plafond_limit_moves_the_equal_treatment_split():
    """A changed contract plafond changes the providers' weights in the equal-treatment stage,
    as the same plafond written in contracts.csv would."""
    inst = load_instance(INSTANCES / "nijmegen-2018")
    model = AllocationModel(inst)
    base = model.solve()
    model.set({"limit:ceiling_per_provider_lot:ggz_b|jeugd_ggz|rijk_van_nijmegen": 2_890_000})
    res = model.solve()
    i2 = _edit(
        inst,
        "contracts",
        "ceiling_eur",
        lambda r: 2_890_000 if (r["provider"], r["lot"]) == ("ggz_b", "jeugd_ggz") else r["ceiling_eur"],
    )
    ref_model = AllocationModel(i2)
    _same_squares(model, ref_model)
    ref = ref_model.solve()
    _same_objectives(res, ref)
    _in_step(model)

    def ggz(r):
        p = r.provider_budgets
        return p[p["lot"] == "jeugd_ggz"].set_index("provider")["amount_eur"]

    pd.testing.assert_series_equal(ggz(res), ggz(ref), atol=0.05, check_exact=False)
    assert ggz(res)["ggz_b"] > ggz(base)["ggz_b"] + 1000  # a larger plafond, a larger share
    model.reset()
    _same_squares(model, AllocationModel(inst))


def _edit(inst, table: str, column: str, fn):
    i2 = inst.copy()
    df = i2.tables[table]
    i2.tables[table] = df.assign(**{column: [fn(r) for r in df.to_dict("records")]})
    return i2


def test_demand_tariff_budget_limit_equal_a_rebuilt_model():
    inst = load_instance(INSTANCES / "nijmegen-2018")
    model = AllocationModel(inst)
    lot = "jeugd_ggz"
    t0 = float(inst.lots.set_index("lot").loc[lot, "tariff_eur"])
    model.set({"demand:wmo": 1.07, f"tariff:{lot}": 1.2 * t0})
    model.set(
        {"budget:Druten|jeugd": 4_000_000, "limit:ceiling_per_lot_region:jeugd_specialistische_begeleiding|rijk_van_nijmegen": 4_500_000}
    )
    assert set(model.parameters) == {
        "demand:wmo",
        f"tariff:{lot}",
        "budget:Druten|jeugd",
        "limit:ceiling_per_lot_region:jeugd_specialistische_begeleiding|rijk_van_nijmegen",
    }
    res = model.solve()
    i2 = _edit(inst, "need", "volume", lambda r: r["volume"] * 1.07 if r["lot"].startswith("wmo_") else r["volume"])
    i2 = _edit(i2, "lots", "tariff_eur", lambda r: 1.2 * t0 if r["lot"] == lot else r["tariff_eur"])
    i2 = _edit(
        i2,
        "budgets",
        "own_funds_eur",
        lambda r: 4_000_000 - r["budget_eur"] if (r["gemeente"], r["domain"]) == ("Druten", "jeugd") else r["own_funds_eur"],
    )
    i2 = _edit(
        i2,
        "ceilings",
        "ceiling_eur",
        lambda r: 4_500_000 if (r["lot"], r["region"]) == ("jeugd_specialistische_begeleiding", "rijk_van_nijmegen") else r["ceiling_eur"],
    )
    ref = solve(i2)
    _same_objectives(res, ref)
    # the equal-treatment squares follow the changed need (1 / need), as a model built afresh
    _same_squares(model, AllocationModel(i2))
    # the tables report the changed need and budget, not the instance's
    assert res.allocation["need_eur"].sum() == pytest.approx(ref.allocation["need_eur"].sum(), rel=1e-12)
    assert res.budgets["budget_eur"].sum() == pytest.approx(ref.budgets["budget_eur"].sum(), rel=1e-12)
    assert res.totals["budget"] == pytest.approx(ref.totals["budget"], rel=1e-12)
    _in_step(model)
    # back to the instance: the same numbers as a fresh model, HiGHS and Pyomo at the base again
    model.reset()
    assert model.parameters == {}
    _same_objectives(model.solve(), solve(inst))
    _in_step(model)


def test_changes_accumulate_and_from_base_replaces(tmp_path):
    inst = load_instance(write_instance(tmp_path / "i", base_tables()))
    model = AllocationModel(inst)
    model.set({"demand:spec": 2.0})
    model.set({"budget:A|jeugd": 150})
    assert model.parameters == {"demand:spec": 2.0, "budget:A|jeugd": 150.0}
    model.set({"demand:spec": 1.5})  # the same name again: replaced, not multiplied
    assert model.parameters == {"demand:spec": 1.5, "budget:A|jeugd": 150.0}
    model.set({"demand:*": 0.5}, from_base=True)
    assert model.parameters == {"demand:*": 0.5}
    res = model.solve()
    # need 30 x 1 + 8 x 10 = 110, halved: 55 within the budget of 100
    assert res.totals["need"] == pytest.approx(55) and res.totals["unmet"] == pytest.approx(0, abs=1e-6)
    _in_step(model)


def test_key_weight_tariff_and_budget_key_of_pools_equal_rebuilt_models(tmp_path):
    """Parameters that move pooling coefficients: the mixed weight, the tariff of a high-cost
    pool's lot (its excess share depends on it) and the budget of a budget-keyed rule."""
    for rule, params, edit in [
        (
            "mix",
            {"w_own:mix": 0.1},
            lambda i: _edit(
                _edit(
                    _edit(i, "pooling_rules", "w_own", lambda r: 0.1 if r["rule"] == "mix" else r["w_own"]),
                    "pooling_rules",
                    "w_inhabitants",
                    lambda r: 0.35 / 0.6 * 0.9 if r["rule"] == "mix" else r["w_inhabitants"],
                ),
                "pooling_rules",
                "w_budget",
                lambda r: 0.25 / 0.6 * 0.9 if r["rule"] == "mix" else r["w_budget"],
            ),
        ),
        (
            "hoog",
            {"tariff:verblijf": 0.5},
            lambda i: _edit(i, "lots", "tariff_eur", lambda r: 0.5 if r["lot"] == "verblijf" else r["tariff_eur"]),
        ),
        (
            "vast_share",
            {"budget:B|jeugd": 90},
            lambda i: _edit(i, "budgets", "own_funds_eur", lambda r: 30 if r["gemeente"] == "B" else r["own_funds_eur"]),
        ),
    ]:
        inst = load_instance(write_instance(tmp_path / rule, pooled_tables(rule)))
        model = AllocationModel(inst)
        base = model.solve()
        model.set(params)
        res = model.solve()
        ref = solve(edit(inst))
        _same_objectives(res, ref)
        assert res.pooling["charge_eur"].tolist() == pytest.approx(ref.pooling["charge_eur"].tolist(), abs=1e-4), rule
        _in_step(model)
        model.reset()
        _same_objectives(model.solve(), base)
        _in_step(model)


def test_goals_equal_rebuilt_models(tmp_path):
    t = base_tables()
    t["goals"] = [
        {"goal": "basis_share", "domain": "jeugd", "value": 0.3, "source": "test"},
        {"goal": "specialist_reduction", "domain": "jeugd", "value": 0.1, "source": "test"},
    ]
    # spec is statutory: the goals are met by moving spec need to basis (up to half, ratio 2)
    t["substitutions"] = [{"from_lot": "spec", "to_lot": "basis", "ratio": 2, "max_share": 0.5, "source": "test"}]
    inst = load_instance(write_instance(tmp_path / "i", t))
    model = AllocationModel(inst)
    model.set({"goal:basis_share:jeugd": 0.45, "goal:specialist_reduction:jeugd": 0.25, "demand:spec": 1.2})
    res = model.solve()
    i2 = _edit(inst, "goals", "value", lambda r: 0.45 if r["goal"] == "basis_share" else 0.25)
    i2 = _edit(i2, "need", "volume", lambda r: r["volume"] * 1.2 if r["lot"] == "spec" else r["volume"])
    ref = solve(i2)
    _same_objectives(res, ref)
    # the equal-treatment squares follow the changed need (1 / need), as a model built afresh
    _same_squares(model, AllocationModel(i2))
    # the goal rows carry their new value in their business label
    assert "basisaandeel >= 45% gemeente A population jeugd jeugd" in set(res.constraints["name"])
    _in_step(model)
    # goals back to the instance's, demand still changed: the specialist cap follows the need again
    model.set({"demand:spec": 1.3}, from_base=True)
    res = model.solve()
    i3 = _edit(inst, "need", "volume", lambda r: r["volume"] * 1.3 if r["lot"] == "spec" else r["volume"])
    _same_objectives(res, solve(i3))
    assert "basisaandeel >= 30% gemeente A population jeugd jeugd" in set(res.constraints["name"])
    _in_step(model)


def test_demand_multipliers_compose(tmp_path):
    """demand: by gemeente, lot, domain and * multiply: basis 30 x 2 x 3 = 180, spec 8 x 10 x 2 = 160."""
    model = AllocationModel(load_instance(write_instance(tmp_path / "i", base_tables())))
    model.set({"demand:A": 2.0, "demand:basis": 3.0})
    res = model.solve()
    need = res.allocation.set_index("lot")["need_eur"]
    assert need["basis"] == pytest.approx(180) and need["spec"] == pytest.approx(160)
    model.set({"demand:jeugd": 0.5, "demand:*": 0.5})
    assert model.solve().totals["need"] == pytest.approx(340 * 0.25)


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("demand:nowhere", 1.1, "demand:<lot>"),
        ("tariff:nolot", 3, "a lot of lots.csv"),
        ("budget:Z|jeugd", 5, "budget:<gemeente>|<domain>"),
        ("limit:need_coverage:A|jeugd|spec", 5, "limit:<family>:<index>"),
        ("goal:basis_share:wmo", 0.2, "goals.csv has"),
        ("w_own:nomix", 0.2, "a mixed rule"),
        ("demand:*", float("nan"), "a finite number >= 0"),
        ("demand:*", float("inf"), "a finite number >= 0"),
        ("budget:A|jeugd", -1, "a finite number >= 0"),
        ("goal:basis_share:jeugd", 1.5, "a share between 0 and 1"),
        ("bogus", 1, "demand:, tariff:"),
    ],
)
@pytest.mark.usefixtures("english")
def test_bad_parameters_are_refused_and_change_nothing(tmp_path, name, value, expected):
    t = base_tables()
    t["goals"] = [{"goal": "basis_share", "domain": "jeugd", "value": 0.2, "source": "test"}]
    model = AllocationModel(load_instance(write_instance(tmp_path / "i", t)))
    before = model.solve().objective
    with pytest.raises(InstanceError) as e:
        model.set({name: value})
    assert expected in str(e.value)
    assert model.parameters == {}
    after = model.solve().objective
    assert after.keys() == before.keys() and all(after[k] == pytest.approx(v, rel=1e-9, abs=1e-6) for k, v in before.items())


def test_no_highspy_outside_solvers():
    """Only solvers/ talks to HiGHS: no highspy import and no use of a session's handle."""
    offenders = []
    for path in [*ROOT.glob("verdeelmodel/**/*.py"), *ROOT.glob("models/*.py")]:
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(import|from) highspy\b", text, re.M) or re.search(
            r"session\.h\b|\.h\.(change|get|run|set|pass|add|delete)", text
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize("source", ["nijmegen-2018", "substitution-and-goals"])
def test_need_enters_only_as_need_bounds(tmp_path, source):
    """The contract set() relies on: more need changes bounds only, and exactly the bounds the
    families declared as NeedBounds, to the values the NeedBounds give."""
    from verdeelmodel.models.allocation import build_allocation_model

    if source == "nijmegen-2018":
        inst = load_instance(INSTANCES / source)
    else:
        t = base_tables()
        t["substitutions"] = [{"from_lot": "spec", "to_lot": "basis", "ratio": 2, "max_share": 0.5, "source": "test"}]
        t["goals"] = [{"goal": "specialist_reduction", "domain": "jeugd", "value": 0.1, "source": "test"}]
        inst = load_instance(write_instance(tmp_path / "i", t))
    m1, b1 = build_allocation_model(inst)
    m2, _b2 = build_allocation_model(_edit(inst, "need", "volume", lambda r: r["volume"] * 1.3))
    lp1, lp2 = compile_model(m1, objective_names(b1)), compile_model(m2, objective_names(b1))
    a1, a2 = lp1.A.tocsr(), lp2.A.tocsr()
    assert np.array_equal(a1.indptr, a2.indptr) and np.array_equal(a1.indices, a2.indices) and np.array_equal(a1.data, a2.data)
    rows, cols = lp1.rows_of(), lp1.cols_of()
    lo, hi, clo, chi = lp1.row_lower.copy(), lp1.row_upper.copy(), lp1.col_lower.copy(), lp1.col_upper.copy()
    need = b1.need_vec * 1.3
    for nb in b1.need_bounds:
        where = [cols[(nb.component, k)] for k in nb.keys] if nb.target == "col" else [rows[(nb.component, k)] for k in nb.keys]
        arr = (clo if nb.side == "lower" else chi) if nb.target == "col" else (lo if nb.side == "lower" else hi)
        arr[where] = nb.values(need)
    assert np.allclose(lo, lp2.row_lower, rtol=1e-12) and np.allclose(hi, lp2.row_upper, rtol=1e-12)
    assert np.allclose(clo, lp2.col_lower, rtol=1e-12) and np.allclose(chi, lp2.col_upper, rtol=1e-12)
