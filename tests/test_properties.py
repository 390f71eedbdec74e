"""Properties that must hold on every instance, checked over many random instances.

- statutory need is always provided in full: its unmet need is zero by construction;
- budget + tekort = allocated + headroom for every gemeente, the tekort is what it pays above
  its budget where positive, the headroom what is left where negative;
- every plafond holds, or (on statutory care only) is exceeded by exactly its reported
  plafondoverschrijding; every guaranteed minimum holds;
- unmet need = need (after substitution) - allocation, non-statutory lots only; every euro of
  need is allocated, substituted away or reported unmet;
- an infeasible random instance is always explained (never a bare status).
"""

from __future__ import annotations

from helpers import random_instances, write_instance
from hypothesis import HealthCheck, event, given, settings

from verdeelmodel import load_instance, solve

TOL = 0.12  # reports are rounded to cents; the equal-treatment stage is solved to 0.1 euro


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=random_instances())
def test_invariants_hold_on_random_instances(tmp_path_factory, case):
    tables, meta = case
    path = write_instance(tmp_path_factory.mktemp("rand"), tables, meta)
    inst = load_instance(path)
    res = solve(inst)
    event(res.status)
    if res.status != "optimal":
        assert res.status == "infeasible"
        assert res.explanation and "tegenstrijdige" in res.explanation[0]  # the IIS in Dutch
        return
    a = res.allocation
    statutory = {lot["lot"]: lot["statutory"] for lot in tables["lots"]}
    # budgets: budget + tekort = allocated + headroom; tekort and headroom never both positive
    b = res.budgets
    assert ((b["budget_eur"] + b["tekort_eur"] - b["allocated_eur"] - b["headroom_eur"]).abs() <= TOL).all()
    assert ((b["tekort_eur"] - (b["allocated_eur"] - b["budget_eur"]).clip(lower=0)).abs() <= TOL).all()
    assert ((b["tekort_eur"] > TOL) & (b["headroom_eur"] > TOL)).sum() == 0
    # statutory need is provided in full
    st_ = a[a.statutory]
    assert (st_["unmet_eur"] == 0).all()
    assert ((st_["need_eur"] + st_["substituted_in_eur"] - st_["substituted_out_eur"] - st_["amount_eur"]).abs() <= TOL).all()
    # every row of the model holds, or goes above its bound by its reported tekort / overschrijding
    c = res.constraints
    assert ((c["slack_eur"] + c["overrun_eur"]) >= -TOL).all()
    # plafonds and minimums recomputed from the allocation table
    for ce in tables.get("ceilings", []):
        rows = a[a.lot == ce["lot"]]
        rows = rows[rows.gemeente == ce["gemeente"]] if ce.get("gemeente") else rows
        total = rows["amount_eur"].sum()
        if ce.get("ceiling_eur") is not None and not statutory[ce["lot"]]:
            assert total <= ce["ceiling_eur"] + TOL
        if ce.get("minimum_eur") is not None and len(rows):
            assert total >= ce["minimum_eur"] - TOL
    assert res.totals["plafondoverschrijding"] == __import__("pytest").approx(
        c["overrun_eur"][c.family.str.startswith("ceiling_per")].sum(), abs=TOL
    )
    # unmet need = need after substitution - allocation (no budget above need by default)
    effective = a["need_eur"] + a["substituted_in_eur"] - a["substituted_out_eur"]
    assert ((a["unmet_eur"] - (effective - a["amount_eur"]).clip(lower=0)).abs() <= TOL).all()
    assert (a["above_need_eur"] <= TOL).all()
    # every euro of need: allocated + unmet + moved away = need + added by substitution
    lhs = a["amount_eur"].sum() + a["unmet_eur"].sum() + a["substituted_out_eur"].sum()
    rhs = a["need_eur"].sum() + a["substituted_in_eur"].sum()
    assert abs(lhs - rhs) <= TOL * max(1, len(a))
