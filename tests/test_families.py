"""Hand-computed cases, one (or more) per constraint family and objective stage.

The base instance (tests/helpers.py): gemeente A, budget EUR 100 for jeugd, one population,
lot `basis` (tariff 1, need 30, weight 1, not statutory) and lot `spec` (tariff 10, volume 8 ->
need 80, weight 2, statutory: always provided in full). Each test changes one thing and states
the hand calculation.
"""

from __future__ import annotations

import pytest

from verdeelmodel import load_instance, solve

ABS = 1e-4


def run(make, edit=None, meta=None):
    res = solve(load_instance(make(edit, meta)))
    return res


def amt(res, lot, population="jeugd", gemeente="A", col="amount_eur"):
    a = res.allocation
    sel = a[(a.gemeente == gemeente) & (a.population == population) & (a.lot == lot)]
    assert len(sel) == 1, f"no allocation row for {gemeente}/{population}/{lot}"
    return float(sel[col].iloc[0])


def con(res, family, index):
    c = res.constraints
    sel = c[(c.family == family) & (c["index"] == index)]
    assert len(sel) == 1, f"no constraint {family}[{index}] in {sorted(set(c.family))}"
    return sel.iloc[0]


def test_statutory_need_is_provided_and_non_statutory_gets_what_is_left(make):
    # spec (statutory) 80 always; basis gets the remaining 20 of the budget of 100, 10 unmet
    res = run(make)
    assert res.status == "optimal"
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert amt(res, "basis") == pytest.approx(20, abs=ABS)
    assert amt(res, "basis", col="unmet_eur") == pytest.approx(10, abs=ABS)
    assert amt(res, "spec", col="unmet_eur") == 0
    assert list(res.objective)[:2] == ["tekort", "unmet"] and "equal_treatment" in res.objective
    assert res.objective["tekort"] == pytest.approx(0, abs=ABS)
    assert res.objective["unmet"] == pytest.approx(10, abs=ABS)  # weight 1 x 10
    assert res.objective["spend"] == pytest.approx(100, abs=ABS)


def test_statutory_need_beyond_the_budget_is_a_tekort(make):
    # budget 60 < statutory need 80: spec is provided all the same, the tekort is 20, basis gets
    # nothing (unmet 30); one more euro of budget lowers the tekort by one euro
    res = run(make, lambda t: t["budgets"][0].update(budget_eur=60))
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert amt(res, "basis") == pytest.approx(0, abs=ABS)
    b = res.budgets.iloc[0]
    assert b["tekort_eur"] == pytest.approx(20, abs=ABS) and b["headroom_eur"] == 0 and b["allocated_eur"] == pytest.approx(80, abs=ABS)
    assert b["budget_eur"] + b["tekort_eur"] == pytest.approx(b["allocated_eur"] + b["headroom_eur"], abs=ABS)
    assert res.objective["tekort"] == pytest.approx(20, abs=ABS) and res.totals["tekort"] == pytest.approx(20, abs=ABS)
    c = con(res, "budget_per_gemeente", "A|jeugd")
    assert c["shadow_price_stage"] == "tekort" and c["shadow_price_eur"] == pytest.approx(-1.0, abs=1e-6)
    assert c["shadow_price_unit"] == "euro tekort per euro" and c["overrun_eur"] == pytest.approx(20, abs=ABS)


def test_budget_per_gemeente_binding_with_shadow_price(make):
    # budget 100: no tekort (spec 80 fits), so the budget does not matter in the tekort stage; it
    # binds in the unmet stage: one more euro funds one more euro of basis (weight 1)
    res = run(make)
    b = con(res, "budget_per_gemeente", "A|jeugd")
    assert b["binding"] and b["upper_eur"] == 100
    assert b["shadow_price_tekort"] == pytest.approx(0, abs=1e-9)
    assert b["shadow_price_stage"] == "unmet" and b["shadow_price_eur"] == pytest.approx(-1.0, abs=1e-6)
    assert res.budgets["headroom_eur"].sum() == pytest.approx(0, abs=ABS)


def test_budget_scope_total_moves_money_between_domains(make):
    # jeugd budget 100 (need 110), wmo budget 50 (need 10): per domain 10 jeugd need is unmet;
    # with one budget per gemeente the 40 of wmo headroom covers it
    def edit(t):
        t["budgets"].append({"gemeente": "A", "domain": "wmo", "region": "R", "budget_eur": 50, "own_funds_eur": 0, "source": "test"})
        t["populations"].append({"gemeente": "A", "population": "wmo", "kind": "target_group", "inhabitants": 900, "source": "test"})
        t["lots"].append(
            {
                "lot": "hh",
                "label": "Huishoudelijke hulp",
                "domain": "wmo",
                "echelon": "basis",
                "funding_form": "inspanning",
                "scope": "local",
                "tariff_eur": 1,
                "unit": "hour",
                "source": "test",
            }
        )
        t["need"].append({"gemeente": "A", "population": "wmo", "lot": "hh", "volume": 10, "source": "test"})

    per = run(make, edit)
    assert per.allocation["unmet_eur"].sum() == pytest.approx(10, abs=ABS)
    assert per.budgets.set_index(["gemeente", "domain"]).loc[("A", "wmo"), "headroom_eur"] == pytest.approx(40, abs=ABS)
    tot = run(make, edit, {"options": {"budget_scope": "total"}})
    assert tot.allocation["unmet_eur"].sum() == pytest.approx(0, abs=ABS)
    assert tot.budgets["headroom_eur"].sum() == pytest.approx(30, abs=ABS)  # 150 - 120


def test_allocation_within_need(make):
    # budget 200 > need 110: 90 stays as headroom; the reference (scale gemeente -> 200)
    # would pull the allocation up to 200 when the family is switched off
    def edit(t):
        t["budgets"][0]["budget_eur"] = 200
        t["maatstaven"] = [{"gemeente": "A", "population": "jeugd", "maatstaf": "jongeren", "value": 100, "source": "test"}]
        t["bedragen"] = [{"maatstaf": "jongeren", "domain": "jeugd", "bedrag_eur": 1, "source": "test"}]

    meta = {"options": {"reference": {"scale": "gemeente"}}}
    on = run(make, edit, meta)
    assert on.allocation["amount_eur"].sum() == pytest.approx(110, abs=ABS)
    assert on.allocation["above_need_eur"].sum() == pytest.approx(0, abs=ABS)
    assert on.objective["deviation"] == pytest.approx(90, abs=ABS)
    off = run(make, edit, {"options": {"reference": {"scale": "gemeente"}, "families": {"allocation_within_need": False}}})
    assert off.allocation["amount_eur"].sum() == pytest.approx(200, abs=ABS)
    assert off.allocation["above_need_eur"].sum() == pytest.approx(90, abs=ABS)
    assert off.objective["deviation"] == pytest.approx(0, abs=ABS)


def _arc(t, ratio=2, share=0.5):
    t["substitutions"] = [
        {"from_lot": "spec", "to_lot": "basis", "ratio": ratio, "max_share": share, "label": "expertiseschil", "source": "test"}
    ]


def test_substitution_and_max_share(make):
    # moving s euros of spec need adds s/2 basis need; s <= 0.5 x 80 = 40.
    # Covering all need costs 110 - s/2 <= 100 for s >= 20; the spend stage takes s = 40:
    # x_spec = 40, x_basis = 30 + 20 = 50, spend 90, no unmet need.
    res = run(make, _arc)
    assert res.allocation["unmet_eur"].sum() == pytest.approx(0, abs=ABS)
    assert amt(res, "spec") == pytest.approx(40, abs=ABS)
    assert amt(res, "basis") == pytest.approx(50, abs=ABS)
    s = res.substitutions.iloc[0]
    assert s["moved_need_eur"] == pytest.approx(40, abs=ABS) and s["added_need_eur"] == pytest.approx(20, abs=ABS)
    assert con(res, "substitution_max_share", "A|jeugd|spec|basis")["binding"]
    assert res.objective["spend"] == pytest.approx(90, abs=ABS)


def test_most_specific_substitution_row_wins(make):
    """A row for gemeente A (and one for A's population) overrides the general row, whatever
    the order of the rows; gemeente B keeps the general row."""
    from verdeelmodel.models.allocation import prepare

    def edit(t):
        t["gemeenten"].append({**t["gemeenten"][0], "gemeente": "B"})
        t["budgets"].append({**t["budgets"][0], "gemeente": "B"})
        t["populations"].append({**t["populations"][0], "gemeente": "B"})
        t["need"] += [{**r, "gemeente": "B"} for r in t["need"]]
        row = {"from_lot": "spec", "to_lot": "basis", "label": "", "source": "test"}
        t["substitutions"] = [
            {**row, "gemeente": "A", "population": "jeugd", "ratio": 4, "max_share": 0.1},
            {**row, "gemeente": "A", "population": "", "ratio": 3, "max_share": 0.2},
            {**row, "gemeente": "", "population": "", "ratio": 2, "max_share": 0.5},
        ]

    D = prepare(load_instance(make(edit)))
    assert D.arcs[("A", "jeugd", "spec", "basis")][:2] == (4.0, 0.1)
    assert D.arcs[("B", "jeugd", "spec", "basis")][:2] == (2.0, 0.5)
    assert len(D.arcs) == 2


def test_substitution_funded(make):
    # budget 50, s <= 40 of spec moved to basis (ratio 2, adds s/2 there). Funded: x_basis >= s/2,
    # so what A pays >= 80 - s + s/2 = 60 at s = 40: a tekort of 10, basis gets 20 of its 30 + 20.
    # Unfunded, the model could move 40 of statutory need to basis and leave it unmet there:
    # A would pay 40, no tekort -- statutory need hidden as unmet basis need.
    def edit(t):
        _arc(t)
        t["budgets"][0]["budget_eur"] = 50

    on = run(make, edit)
    assert on.objective["tekort"] == pytest.approx(10, abs=ABS)
    assert amt(on, "basis") == pytest.approx(20, abs=ABS) and amt(on, "spec") == pytest.approx(40, abs=ABS)
    off = run(make, edit, {"options": {"families": {"substitution_funded": False}}})
    assert off.objective["tekort"] == pytest.approx(0, abs=ABS)


@pytest.mark.parametrize("first,second", [("A", "B"), ("B", "A")])
def test_a_limited_substitution_is_shared_in_proportion_to_what_each_may_move(make, first, second):
    # Gemeenten `first` (spec need 80) and `second` (spec need 240), each with basis need 30 and a
    # budget of 1000; spec -> basis, ratio 2, up to 50% (40 and 120). A regional plafond of 100 on
    # basis (not statutory: hard) leaves room for 100 - 60 = 40 of added basis need, so at most
    # s1 + s2 = 80 of spec need moves; the spend stage moves all 80 (each euro moved saves 0.5).
    # Who moves it is a tie until equal treatment: min s1^2/40 + s2^2/120 with s1 + s2 = 80 gives
    # s2 = 3 s1, so s1 = 20 and s2 = 60, whichever name comes first and in whatever row order.
    def edit(t):
        _arc(t)
        t["gemeenten"] = [{**t["gemeenten"][0], "gemeente": g} for g in (second, first)]
        t["budgets"] = [{**t["budgets"][0], "gemeente": g, "budget_eur": 1000} for g in (second, first)]
        t["populations"] = [{**t["populations"][0], "gemeente": g} for g in (second, first)]
        need = t["need"]
        t["need"] = [{**r, "gemeente": second, "volume": 24 if r["lot"] == "spec" else r["volume"]} for r in need]
        t["need"] += [{**r, "gemeente": first} for r in need]
        t["ceilings"] = [{"lot": "basis", "region": "R", "ceiling_eur": 100, "source": "test"}]

    res = run(make, edit)
    assert res.objective["tekort"] == pytest.approx(0, abs=ABS)
    assert res.objective["spend"] == pytest.approx(60 + 320 - 40, abs=ABS)
    sub = res.substitutions.set_index("gemeente")["moved_need_eur"]
    assert sub[first] == pytest.approx(20, abs=0.01) and sub[second] == pytest.approx(60, abs=0.01)
    assert amt(res, "spec", gemeente=first) == pytest.approx(60, abs=0.01)
    assert amt(res, "basis", gemeente=second) == pytest.approx(60, abs=0.01)


def test_no_substitution_where_it_gains_nothing(make):
    # ratio 1: moving need to basis costs as much as leaving it in spec (tariffs per euro of need),
    # so no stage gains from it; equal treatment leaves the need where the indicatie put it
    res = run(make, lambda t: (_arc(t, ratio=1), t["budgets"][0].update(budget_eur=1000)))
    assert res.substitutions["moved_need_eur"].sum() == pytest.approx(0, abs=0.01)
    assert amt(res, "spec") == pytest.approx(80, abs=0.01)


@pytest.mark.parametrize(
    "where,family,index", [("region", "ceiling_per_lot_region", "spec|R"), ("gemeente", "ceiling_per_lot_gemeente", "spec|A")]
)
def test_lot_ceilings_on_statutory_care_are_overrun_not_rationed(make, where, family, index):
    # plafond 60 on spec (statutory): spec is provided in full (80), 20 above the plafond is a
    # plafondoverschrijding; basis gets the 20 left of the budget. One more euro of plafond lowers
    # the overschrijding by one euro.
    def edit(t):
        t["ceilings"] = [{"lot": "spec", where: "R" if where == "region" else "A", "ceiling_eur": 60, "source": "test"}]

    res = run(make, edit)
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert amt(res, "basis") == pytest.approx(20, abs=ABS)
    c = con(res, family, index)
    assert c["binding"] and c["overrun_eur"] == pytest.approx(20, abs=ABS) and c["activity_eur"] == pytest.approx(80, abs=ABS)
    assert c["shadow_price_stage"] == "plafondoverschrijding" and c["shadow_price_eur"] == pytest.approx(-1.0, abs=1e-6)
    assert res.objective["plafondoverschrijding"] == pytest.approx(20, abs=ABS)
    assert res.budgets.iloc[0]["plafondoverschrijding_eur"] == pytest.approx(20, abs=ABS)
    assert res.totals["plafondoverschrijding"] == pytest.approx(20, abs=ABS)


def test_lot_ceiling_on_non_statutory_care_is_a_hard_limit(make):
    # plafond 12 on basis (not statutory): basis 12, unmet 18, 8 of the budget left
    res = run(make, lambda t: t.update(ceilings=[{"lot": "basis", "gemeente": "A", "ceiling_eur": 12, "source": "test"}]))
    assert amt(res, "basis") == pytest.approx(12, abs=ABS)
    c = con(res, "ceiling_per_lot_gemeente", "basis|A")
    assert c["overrun_eur"] == 0 and c["shadow_price_stage"] == "unmet" and c["shadow_price_eur"] == pytest.approx(-1.0, abs=1e-6)
    assert res.budgets.iloc[0]["headroom_eur"] == pytest.approx(8, abs=ABS)


@pytest.mark.parametrize(
    "where,family,index", [("region", "minimum_per_lot_region", "basis|R"), ("gemeente", "minimum_per_lot_gemeente", "basis|A")]
)
def test_lot_minimums(make, where, family, index):
    # budget 90, minimum 25 on basis: spec 80 + basis 25 = 105: a tekort of 15, basis unmet 5;
    # one euro less of the minimum lowers the tekort by one euro
    def edit(t):
        t["budgets"][0]["budget_eur"] = 90
        t["ceilings"] = [{"lot": "basis", where: "R" if where == "region" else "A", "minimum_eur": 25, "source": "test"}]

    res = run(make, edit)
    assert amt(res, "basis") == pytest.approx(25, abs=ABS)
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert res.objective["tekort"] == pytest.approx(15, abs=ABS)
    c = con(res, family, index)
    assert c["binding"] and c["shadow_price_stage"] == "tekort" and c["shadow_price_eur"] == pytest.approx(1.0, abs=1e-6)


def test_funded_share_protects_non_statutory_care(make):
    # budget 90: without a policy basis gets the 10 left after spec; a protected share of 50%
    # funds 15 of basis, 5 of it beyond the budget (a tekort of 5, the policy's stated cost)
    res = run(make, lambda t: t["budgets"][0].update(budget_eur=90))
    assert amt(res, "basis") == pytest.approx(10, abs=ABS) and res.notes and "no protected minimum" in res.notes[0]

    def edit(t):
        t["budgets"][0]["budget_eur"] = 90
        t["goals"] = [{"goal": "funded_share", "domain": "jeugd", "lot": "basis", "value": 0.5, "source": "test"}]

    res = run(make, edit)
    assert amt(res, "basis") == pytest.approx(15, abs=ABS)
    assert res.objective["tekort"] == pytest.approx(5, abs=ABS)
    c = con(res, "funded_share_goal", "A|jeugd|jeugd|basis")
    assert c["binding"] and c["lower_eur"] == pytest.approx(15) and "beschermd minimum" in c["name"]


def _providers(t, lot_ceiling=None, p1=(50, None), p2=(20, 10), prov_caps=None):
    t["providers"] = [
        {"provider": "P1", "label": "Zorg Een", "ceiling_eur": (prov_caps or {}).get("P1"), "source": "test"},
        {"provider": "P2", "label": "Zorg Twee", "minimum_eur": (prov_caps or {}).get("P2min"), "source": "test"},
    ]
    t["contracts"] = [
        {"provider": "P1", "lot": "spec", "region": "R", "ceiling_eur": p1[0], "minimum_eur": p1[1], "source": "test"},
        {"provider": "P2", "lot": "spec", "region": "R", "ceiling_eur": p2[0], "minimum_eur": p2[1], "source": "test"},
    ]
    if lot_ceiling is not None:
        t["ceilings"] = [{"lot": "spec", "region": "R", "ceiling_eur": lot_ceiling, "source": "test"}]


def test_provider_link_and_provider_lot_ceilings(make):
    # providers can carry 50 + 20 = 70 of spec's 80: 10 above the plafonds (a plafondoverschrijding,
    # the care is provided); equal treatment splits the 80 in proportion to the plafonds, 50 : 20
    res = run(make, _providers)
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    pb = res.provider_budgets.set_index("provider")["amount_eur"]
    assert pb["P1"] == pytest.approx(80 * 50 / 70, abs=0.01) and pb["P2"] == pytest.approx(80 * 20 / 70, abs=0.01)
    assert res.objective["plafondoverschrijding"] == pytest.approx(10, abs=ABS)
    over = res.constraints[res.constraints.family == "ceiling_per_provider_lot"]["overrun_eur"]
    assert over.sum() == pytest.approx(10, abs=1e-3)
    assert con(res, "provider_lot_link", "spec|R")["activity_eur"] == pytest.approx(0, abs=ABS)


def test_care_above_a_plafond_goes_to_a_provider_with_room_first(make):
    # P1 plafond 50, P2 plafond 40: 90 of room for 80 of spec: no overschrijding
    res = run(make, lambda t: _providers(t, p2=(40, None)))
    assert res.objective["plafondoverschrijding"] == pytest.approx(0, abs=ABS)
    pb = res.provider_budgets.set_index("provider")["amount_eur"]
    assert pb.sum() == pytest.approx(80, abs=ABS) and pb["P1"] <= 50 + ABS and pb["P2"] <= 40 + ABS


def test_provider_total_ceiling_and_minimum(make):
    # P1's plafond over all lots 40 (and 50 on its contract), P2 20: 60 of room, 20 above it
    res = run(make, lambda t: _providers(t, prov_caps={"P1": 40, "P2min": 15}))
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert con(res, "ceiling_per_provider", "P1")["binding"]
    assert res.objective["plafondoverschrijding"] == pytest.approx(20, abs=ABS)
    assert con(res, "minimum_per_provider", "P2")["activity_eur"] >= 15 - ABS


def test_provider_minimum_binding(make):
    # budget 60; P2 is guaranteed 30 of a spec budget that is all statutory need anyway -> not binding;
    # on basis: a provider minimum of 25 on basis with budget 90 forces basis >= 25 (as test_lot_minimums)
    def edit(t):
        t["budgets"][0]["budget_eur"] = 90
        t["providers"] = [{"provider": "W", "label": "Welzijn", "source": "test"}]
        t["contracts"] = [{"provider": "W", "lot": "basis", "gemeente": "A", "minimum_eur": 25, "source": "test"}]

    res = run(make, edit)
    assert amt(res, "basis") == pytest.approx(25, abs=ABS)
    assert con(res, "minimum_per_provider_lot", "W|basis|A")["binding"]


def test_infeasible_minimums_above_need_explained(make):
    # guaranteed minimums 50 (P1) + 40 (P2) on spec = 90 > its need 80 (no budget above need)
    res = run(make, lambda t: _providers(t, p1=(60, 50), p2=(50, 40)))
    assert res.status == "infeasible"
    text = "\n".join(res.explanation)
    assert "gegarandeerd minimum aanbieder Zorg Een Specialistisch R: >= €\xa050" in text
    assert "gegarandeerd minimum aanbieder Zorg Twee Specialistisch R: >= €\xa040" in text
    assert "no budget above need Specialistisch" in text


def test_basis_share_goal(make):
    # sigma 0.25: basis >= 0.25 x (basis + spec) = 0.25 x (basis + 80) -> basis >= 26.67,
    # beyond the 20 the budget leaves: a tekort of 6.67
    def edit(t):
        t["goals"] = [{"goal": "basis_share", "domain": "jeugd", "value": 0.25, "source": "test"}]

    res = run(make, edit)
    assert amt(res, "basis") == pytest.approx(80 / 3, abs=0.01)
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert res.objective["tekort"] == pytest.approx(80 / 3 - 20, abs=0.01)
    assert con(res, "basis_share_goal", "A|jeugd|jeugd")["binding"]


def test_unattainable_basis_share_is_explained(make):
    # sigma 0.5 would need basis >= spec = 80, but basis need is 30 and spec is statutory
    res = run(make, lambda t: t.update(goals=[{"goal": "basis_share", "domain": "jeugd", "value": 0.5, "source": "test"}]))
    assert res.status == "infeasible"
    assert "basisaandeel >= 50%" in "\n".join(res.explanation)


def test_specialist_reduction_goal(make):
    # with substitution (ratio 2, up to 50%): delta 0.25 of the baseline (spec need 80) -> spec <= 60,
    # so at least 20 of spec moves to basis (adding 10 there); explicit baseline 100 -> spec <= 75
    def goal(**kw):
        return lambda t: (
            _arc(t),
            t.update(goals=[{"goal": "specialist_reduction", "domain": "jeugd", "value": 0.25, "source": "test", **kw}]),
        )

    res = run(make, goal())
    assert amt(res, "spec") <= 60 + ABS
    assert con(res, "specialist_reduction_goal", "A|jeugd|jeugd")["upper_eur"] == pytest.approx(60)
    res2 = run(make, goal(baseline_eur=100))
    assert con(res2, "specialist_reduction_goal", "A|jeugd|jeugd")["upper_eur"] == pytest.approx(75)


def test_vierkant_band(make):
    # planned 40% licht / 60% zwaar, +/- 20 points: zwaar (spec, 80, statutory) <= 80% of the
    # vierkant and licht (basis) >= 20% -> basis >= 20, what the budget leaves anyway
    def edit(t):
        t["lots"][0]["category"] = "licht"
        t["lots"][1]["category"] = "zwaar"
        t["vierkant"] = [
            {"gemeente": "A", "domain": "jeugd", "category": "licht", "planned_share": 0.4, "max_shift": 0.2, "source": "test"},
            {"gemeente": "A", "domain": "jeugd", "category": "zwaar", "planned_share": 0.6, "max_shift": 0.2, "source": "test"},
        ]

    # with a shift of 20 points: spec <= 0.8 (spec + basis) -> basis >= 20, within the budget
    res = run(make, edit)
    assert amt(res, "basis") == pytest.approx(20, abs=ABS) and amt(res, "spec") == pytest.approx(80, abs=ABS)
    assert con(res, "vierkant_band", "A|jeugd|jeugd|zwaar|upper")["binding"]


def test_reference_deviation(make):
    # two populations, one lot (tariff 1), need 60 each, budget 100; maatstaf 3 vs 1 ->
    # references 75 and 25 (factor 100 / 4 = 25). Unmet stage: 20 unmet either way.
    # Deviation stage: x1 <= 60 (need), so x1 = 60, x2 = 40: deviation 15 + 15 = 30.
    def edit(t):
        t["populations"] = [
            {"gemeente": "A", "population": "p1", "kind": "area", "inhabitants": 300, "source": "test"},
            {"gemeente": "A", "population": "p2", "kind": "area", "inhabitants": 100, "source": "test"},
        ]
        t["need"] = [
            {"gemeente": "A", "population": "p1", "lot": "basis", "volume": 60, "source": "test"},
            {"gemeente": "A", "population": "p2", "lot": "basis", "volume": 60, "source": "test"},
        ]
        t["maatstaven"] = [
            {"gemeente": "A", "population": "p1", "maatstaf": "jongeren", "value": 3, "source": "test"},
            {"gemeente": "A", "population": "p2", "maatstaf": "jongeren", "value": 1, "source": "test"},
        ]
        t["bedragen"] = [{"maatstaf": "jongeren", "domain": "jeugd", "bedrag_eur": 7, "source": "test"}]

    res = run(make, edit)
    ref = res.reference.set_index("population")["reference_eur"]
    assert ref["p1"] == pytest.approx(75) and ref["p2"] == pytest.approx(25)
    assert amt(res, "basis", "p1") == pytest.approx(60, abs=ABS)
    assert amt(res, "basis", "p2") == pytest.approx(40, abs=ABS)
    assert res.objective["deviation"] == pytest.approx(30, abs=ABS)


def test_weighted_mode(make):
    # one objective: 1000 x tekort + 100 x unmet + 0.01 x spend: same allocation as lexicographic here
    res = run(make, meta={"options": {"objective": {"mode": "weighted"}}})
    assert list(res.objective) == ["weighted"]
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)
    # 100 x (weight 1 x unmet 10) + 0.01 x spend 100
    assert res.objective["weighted"] == pytest.approx(100 * 10 + 0.01 * 100, abs=1e-3)


def test_family_switch_off_removes_rows(make):
    res = run(
        make,
        lambda t: t.update(ceilings=[{"lot": "spec", "region": "R", "ceiling_eur": 60, "source": "test"}]),
        {"options": {"families": {"ceiling_per_lot_region": False}}},
    )
    assert "ceiling_per_lot_region" not in set(res.constraints["family"])
    assert amt(res, "spec") == pytest.approx(80, abs=ABS)


def test_set_limit_resolves_without_rebuild(make):
    from verdeelmodel import AllocationModel

    inst = load_instance(make(lambda t: t.update(ceilings=[{"lot": "spec", "region": "R", "ceiling_eur": 60, "source": "test"}])))
    model = AllocationModel(inst)
    r1 = model.solve()
    model.set({"limit:ceiling_per_lot_region:spec|R": 70})
    r2 = model.solve()
    assert amt(r1, "spec") == pytest.approx(80, abs=ABS) and amt(r2, "spec") == pytest.approx(80, abs=ABS)
    # the overschrijding fell by shadow price x raise = 1 x 10
    assert r1.objective["plafondoverschrijding"] - r2.objective["plafondoverschrijding"] == pytest.approx(10, abs=ABS)
    # the Pyomo model was updated too: rebuilding from it would agree
    assert model.model.ceiling_per_lot_region["spec", "R"].upper == 70


def test_protected_share_counts_the_lots_own_need_and_moved_need_is_provided(make):
    # spec -> basis substitution (ratio 2, up to 40 of spec's 80, adding 20 to basis), budget 70.
    # Need moved out of statutory spec stays an entitlement in basis: at least 20 of basis is
    # provided. Without a policy: spec 40 + basis 30 = 70, 20 of basis's own 30 unmet, no tekort.
    # Protected at 100%: basis funds its own 30 and the moved 20 -> 50, spec 40: a tekort of 20.
    def edit(t, share=None):
        _arc(t)
        t["budgets"][0]["budget_eur"] = 70
        if share is not None:
            t["goals"] = [{"goal": "funded_share", "domain": "jeugd", "lot": "basis", "value": share, "source": "test"}]

    res = run(make, edit)
    assert amt(res, "spec") == pytest.approx(40, abs=ABS) and amt(res, "basis") == pytest.approx(30, abs=ABS)
    assert amt(res, "basis", col="unmet_eur") == pytest.approx(20, abs=ABS) and res.objective["tekort"] == pytest.approx(0, abs=ABS)
    res = run(make, lambda t: edit(t, 1.0))
    assert amt(res, "basis") == pytest.approx(50, abs=ABS) and amt(res, "basis", col="unmet_eur") == pytest.approx(0, abs=ABS)
    assert res.objective["tekort"] == pytest.approx(20, abs=ABS)
