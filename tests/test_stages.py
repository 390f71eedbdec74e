"""The objective stages as a controller reads them: shadow prices per stage equal finite
differences of that stage's objective, and no result depends on names or row order."""

from __future__ import annotations

import random

import pytest
from helpers import base_tables, random_instances, write_instance
from hypothesis import HealthCheck, event, given, settings

from verdeelmodel import AllocationModel, load_instance

DELTA = 1.0  # euros added to a rule's bound


def _reference_case(t):
    """Two areas, p1 with need 60 in lot basis and p2 with need 60 in lot b2 (both non-statutory),
    budget 100, references 25 and 75, a plafond of 55 on b2: the unmet stage funds 100 either
    way; the deviation stage would give p2 its 75 but the plafond stops it at 55 (deviation
    20 + 20); one more euro of plafond lowers the deviation by 2."""
    t["populations"] = [
        {"gemeente": "A", "population": "p1", "kind": "area", "inhabitants": 300, "source": "test"},
        {"gemeente": "A", "population": "p2", "kind": "area", "inhabitants": 100, "source": "test"},
    ]
    t["lots"].append({**t["lots"][0], "lot": "b2", "label": "Basis twee"})
    t["need"] = [
        {"gemeente": "A", "population": "p1", "lot": "basis", "volume": 60, "source": "test"},
        {"gemeente": "A", "population": "p2", "lot": "b2", "volume": 60, "source": "test"},
    ]
    t["maatstaven"] = [
        {"gemeente": "A", "population": "p1", "maatstaf": "jongeren", "value": 1, "source": "test"},
        {"gemeente": "A", "population": "p2", "maatstaf": "jongeren", "value": 3, "source": "test"},
    ]
    t["bedragen"] = [{"maatstaf": "jongeren", "domain": "jeugd", "bedrag_eur": 7, "source": "test"}]
    t["ceilings"] = [{"lot": "b2", "gemeente": "A", "ceiling_eur": 55, "source": "test"}]


CASES = {
    "tekort": lambda t: t["budgets"][0].update(budget_eur=60),
    "plafondoverschrijding": lambda t: t.update(ceilings=[{"lot": "spec", "region": "R", "ceiling_eur": 60, "source": "test"}]),
    "unmet": lambda t: t.update(ceilings=[{"lot": "basis", "gemeente": "A", "ceiling_eur": 12, "source": "test"}]),
    "deviation": _reference_case,
}


def _parameter(row) -> str:
    if row["family"] == "budget_per_gemeente":
        return f"budget:{row['index']}"
    return f"limit:{row['family']}:{row['index']}"


@pytest.mark.parametrize("stage", list(CASES))
def test_shadow_price_is_the_finite_difference_in_its_stage(tmp_path, stage):
    """For every binding rule priced in ``stage``: re-solve with its bound one euro looser (plafond,
    budget: +1; minimum: -1) and compare the change of that stage's objective with the price; the
    earlier stages do not move."""
    t = base_tables()
    CASES[stage](t)
    model = AllocationModel(load_instance(write_instance(tmp_path / stage, t)))
    base = model.solve()
    c = base.constraints
    priced = c[(c["shadow_price_stage"] == stage) & c["binding"] & c["kind"].isin(["ceiling", "minimum"])]
    assert len(priced), f"no binding rule priced in {stage}"
    order = list(base.objective)
    for _, row in priced.iterrows():
        step = -DELTA if row["kind"] == "minimum" else DELTA
        bound = row["lower_eur"] if row["kind"] == "minimum" else row["upper_eur"]
        model.set({_parameter(row): bound + step}, from_base=True)
        moved = model.solve()
        for earlier in order[: order.index(stage)]:
            assert moved.objective[earlier] == pytest.approx(base.objective[earlier], abs=1e-6), (row["name"], earlier)
        change = moved.objective[stage] - base.objective[stage]
        assert change == pytest.approx(row["shadow_price_eur"] * step, abs=1e-6), row["name"]
        assert row["shadow_price_eur"] != 0
    model.reset()


def _renamed(tables: dict, rng: random.Random) -> tuple[dict, dict]:
    """The same instance with other gemeente names (sorting the other way round), every table's
    rows shuffled, and an unrelated gemeente in another region added."""
    old = [g["gemeente"] for g in tables["gemeenten"]]
    new = {g: f"Z{len(old) - i:02d}-{g}" for i, g in enumerate(old)}
    out = {}
    for name, rows in tables.items():
        rows = [{k: (new.get(v, v) if k == "gemeente" else v) for k, v in r.items()} for r in rows]
        rng.shuffle(rows)
        out[name] = rows
    extra = "Aaa-unrelated"
    out["gemeenten"].append({"gemeente": extra, "inhabitants": 5000, "source": "s"})
    out["budgets"].append({"gemeente": extra, "domain": "jeugd", "region": "R2", "budget_eur": 123, "own_funds_eur": 0, "source": "s"})
    out["populations"].append({"gemeente": extra, "population": "p0", "inhabitants": 10, "source": "s"})
    lot = tables["lots"][0]["lot"]
    out["need"].append({"gemeente": extra, "population": "p0", "lot": lot, "volume": 77, "source": "s"})
    return out, new


def _rows(res, names: dict | None = None) -> dict:
    names = names or {}
    a = res.allocation
    out = {}
    for r in a.itertuples(index=False):
        out[("alloc", names.get(r.gemeente, r.gemeente), r.population, r.lot)] = (r.amount_eur, r.unmet_eur, r.substituted_out_eur)
    for r in res.budgets.itertuples(index=False):
        out[("budget", names.get(r.gemeente, r.gemeente))] = (r.allocated_eur, r.tekort_eur, r.headroom_eur, r.plafondoverschrijding_eur)
    for r in res.provider_budgets.itertuples(index=False):
        out[("provider", r.provider, r.lot, names.get(r.area, r.area))] = (r.amount_eur,)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=random_instances(modes=("lexicographic",)))
def test_no_result_depends_on_names_row_order_or_other_regions(tmp_path_factory, case):
    tables, meta = case
    rng = random.Random(7)
    res = AllocationModel(load_instance(write_instance(tmp_path_factory.mktemp("a"), tables, meta))).solve()
    if not res.optimal:
        event("infeasible")
        return
    tables2, new = _renamed(tables, rng)
    res2 = AllocationModel(load_instance(write_instance(tmp_path_factory.mktemp("b"), tables2, meta))).solve()
    assert res2.optimal
    if any("did not finish" in n for n in res.notes + res2.notes):
        event("equal treatment not finished: not compared")
        return
    mine = _rows(res, new)
    theirs = {k: v for k, v in _rows(res2).items() if "Aaa-unrelated" not in k}
    assert mine.keys() == theirs.keys()
    for k, v in mine.items():
        assert v == pytest.approx(theirs[k], abs=0.05), k
