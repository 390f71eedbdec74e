"""Risicoverevening (models/pooling.py), every rule kind worked out by hand.

The standard pool: three gemeenten A, B, C in region R, one lot ``x`` (tariff EUR 1,000),
cost C = (6,000, 3,000, 1,000), T = 10,000. The keys, chosen so that every basis differs:

    inhabitants   10,000 / 30,000 / 60,000   -> 0.1  / 0.3  / 0.6
    iu               200 /    300 /    500   -> 0.2  / 0.3  / 0.5
    budget           800 /    800 /    400   -> 0.4  / 0.4  / 0.2
    reference        500 /    250 /    250   -> 0.5  / 0.25 / 0.25
    history N=1 clients  2 / 6 / 2          -> 0.2  / 0.6  / 0.2
    history N=3 clients  1 / 1 / 2          -> 0.25 / 0.25 / 0.5
    history N=1 cost_eur 1 / 1 / 8          -> 0.1  / 0.1  / 0.8
    expected cost E   4,000 / 3,000 / 2,000 (threshold fund)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from verdeelmodel import load_instance
from verdeelmodel.models.pooling import (
    PROFIJT,
    PoolContext,
    Rule,
    _excess,
    build_context,
    evaluate,
    is_linear,
    linear_charge,
    rules_of,
    settle,
)

COST = np.array([[6000.0], [3000.0], [1000.0]])  # [G, L]: one lot x


def ctx3(tariff=(1000.0,), expected=(4000.0, 3000.0, 2000.0), lots=None, inhabitants=(10_000, 30_000, 60_000)) -> PoolContext:
    """The standard three-gemeente pool (see the module docstring)."""
    L = len(tariff)
    lots = lots or tuple("xyz"[:L])
    exp = np.asarray(expected, float)
    exp_by_lot = np.zeros((3, L))
    exp_by_lot[:, 0] = exp
    inh = np.asarray(inhabitants, float)
    raw = {
        "inhabitants": inh,
        "iu": np.array([200.0, 300.0, 500.0]),
        "budget": np.array([800.0, 800.0, 400.0]),
        "reference": np.array([500.0, 250.0, 250.0]),
    }
    hist = {
        (1, "clients"): np.array([2.0, 6.0, 2.0]),
        (3, "clients"): np.array([1.0, 1.0, 2.0]),
        (1, "cost_eur"): np.array([1.0, 1.0, 8.0]),
    }
    return PoolContext(
        "pool", lots, "jeugd", ["R"], ["A", "B", "C"], np.zeros(3, int), inh, raw, exp, exp_by_lot, np.asarray(tariff, float), hist
    )


def ctx_one(cost_expected=100.0) -> PoolContext:
    """A region of one gemeente (Z, 5,000 inhabitants)."""
    one = np.array([1.0])
    raw = {b: one.copy() for b in ("iu", "budget", "reference")}
    raw["inhabitants"] = np.array([5000.0])
    return PoolContext(
        "pool",
        ("x",),
        "jeugd",
        ["S"],
        ["Z"],
        np.zeros(1, int),
        raw["inhabitants"],
        raw,
        np.array([cost_expected]),
        np.array([[cost_expected]]),
        np.array([1000.0]),
        {(1, "clients"): one.copy(), (3, "clients"): one.copy()},
    )


def ctx_two_regions() -> PoolContext:
    """R = {A, B, C} as in ctx3, S = {D, E} with inhabitants 1,000 / 3,000 (0.25 / 0.75)."""
    c = ctx3()
    inh = np.array([10_000, 30_000, 60_000, 1_000, 3_000], float)
    raw = {
        "inhabitants": inh,
        "iu": np.array([200.0, 300.0, 500.0, 1.0, 1.0]),
        "budget": np.array([800.0, 800.0, 400.0, 1.0, 1.0]),
        "reference": np.array([500.0, 250.0, 250.0, 1.0, 1.0]),
    }
    hist = {k: np.concatenate([v, [1.0, 1.0]]) for k, v in c.history.items()}
    exp = np.array([4000.0, 3000.0, 2000.0, 0.0, 0.0])
    return PoolContext(
        "pool", ("x",), "jeugd", ["R", "S"], list("ABCDE"), np.array([0, 0, 0, 1, 1]), inh, raw, exp, exp[:, None], np.array([1000.0]), hist
    )


def charge(rule: Rule, ctx=None, cost=COST, excess=None) -> np.ndarray:
    return evaluate(rule, ctx or ctx3(), cost, excess).charge


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=1e-9)


# --------------------------------------------------------------------------- each rule kind


def test_profijt_charges_own_cost():
    # charge_g = C_g = 6,000 / 3,000 / 1,000
    ch = evaluate(PROFIJT, ctx3(), COST)
    close(ch.charge, [6000, 3000, 1000])
    close(ch.pooled_total, [10000])
    close(ch.payout, [0, 0, 0])
    close(ch.contribution, [0, 0, 0])


@pytest.mark.parametrize(
    "basis, expected",
    [
        ("inhabitants", [1000, 3000, 6000]),  # 0.1 / 0.3 / 0.6 x 10,000
        ("iu", [2000, 3000, 5000]),  # 0.2 / 0.3 / 0.5 x 10,000
        ("budget", [4000, 4000, 2000]),  # 0.4 / 0.4 / 0.2 x 10,000
        ("reference", [5000, 2500, 2500]),  # 0.5 / 0.25 / 0.25 x 10,000
        ("history", [2000, 6000, 2000]),  # years=1 clients 2/6/2 -> 0.2 / 0.6 / 0.2 x 10,000
    ],
)
def test_solidariteit_each_basis(basis, expected):
    ch = evaluate(Rule("s", "solidariteit", basis=basis), ctx3(), COST)
    close(ch.charge, expected)
    close(ch.pooled_total, [10000])


def test_solidariteit_history_cost_measure():
    # history over 1 year measured in cost_eur: 1 / 1 / 8 -> 0.1 / 0.1 / 0.8 x 10,000
    close(charge(Rule("s", "solidariteit", basis="history", history_measure="cost_eur")), [1000, 1000, 8000])


def test_uitgesteld_profijt_one_year():
    # kappa_hist = use in t-1: 2 / 6 / 2 clients -> 0.2 / 0.6 / 0.2 x 10,000
    close(charge(Rule("u", "uitgesteld_profijt", years=1)), [2000, 6000, 2000])


def test_uitgesteld_profijt_three_years():
    # average use over t-3..t-1: 1 / 1 / 2 -> 0.25 / 0.25 / 0.5 x 10,000
    close(charge(Rule("u", "uitgesteld_profijt", years=3)), [2500, 2500, 5000])


def test_uitgesteld_profijt_ignores_basis_and_needs_history():
    # the key is always the history, whatever `basis` says
    close(charge(Rule("u", "uitgesteld_profijt", basis="iu", years=3)), [2500, 2500, 5000])
    with pytest.raises(ValueError, match="no use history over 2 year"):
        evaluate(Rule("u", "uitgesteld_profijt", years=2), ctx3(), COST)


def test_vast_variabel_fixed_eur():
    # charge = C_g + kappa_inh F, F = 2,000: 6,000 + 200 / 3,000 + 600 / 1,000 + 1,200; the region pays T + F
    ch = evaluate(Rule("v", "vast_variabel", fixed_eur=2000.0), ctx3(), COST)
    close(ch.charge, [6200, 3600, 2200])
    close(ch.pooled_total, [12000])


def test_vast_variabel_fixed_eur_by_iu():
    # F = 2,000 by iu 0.2 / 0.3 / 0.5: 6,400 / 3,600 / 2,000
    close(charge(Rule("v", "vast_variabel", basis="iu", fixed_eur=2000.0)), [6400, 3600, 2000])


def test_vast_variabel_fixed_share():
    # f = 0.4: (1 - f) C_g + f kappa_inh T
    #   A 0.6 x 6,000 + 0.4 x 0.1 x 10,000 = 3,600 +   400 = 4,000
    #   B 0.6 x 3,000 + 0.4 x 0.3 x 10,000 = 1,800 + 1,200 = 3,000
    #   C 0.6 x 1,000 + 0.4 x 0.6 x 10,000 =   600 + 2,400 = 3,000
    ch = evaluate(Rule("v", "vast_variabel", fixed_share=0.4), ctx3(), COST)
    close(ch.charge, [4000, 3000, 3000])
    close(ch.pooled_total, [10000])


@pytest.mark.parametrize(
    "gap_basis, expected",
    [
        ("inhabitants", [6500, 4500, 4000]),  # gap 5,000 x 0.1 / 0.3 / 0.6 = 500 / 1,500 / 3,000 on top of C
        ("budget", [8000, 5000, 2000]),  # gap 5,000 x 0.4 / 0.4 / 0.2 = 2,000 / 2,000 / 1,000 on top of C
        ("surcharge", [9000, 4500, 1500]),  # C x (1 + 5,000 / 10,000) = C x 1.5
    ],
)
def test_onderbenutting(gap_basis, expected):
    # minimum M = 15,000 > T = 10,000: gap 5,000; the region pays max(T, M) = 15,000
    ch = evaluate(Rule("o", "onderbenutting", minimum_eur=15000.0, gap_basis=gap_basis), ctx3(), COST)
    close(ch.charge, expected)
    close(ch.pooled_total, [15000])


def test_onderbenutting_surcharge_reports_surcharge_as_contribution():
    ch = evaluate(Rule("o", "onderbenutting", minimum_eur=15000.0, gap_basis="surcharge"), ctx3(), COST)
    close(ch.contribution, [3000, 1500, 500])


def test_onderbenutting_above_minimum_is_profijt():
    # T = 10,000 > M = 4,000: no gap, charge = C for every gap basis
    for gb in ("inhabitants", "budget", "surcharge"):
        ch = evaluate(Rule("o", "onderbenutting", minimum_eur=4000.0, gap_basis=gb), ctx3(), COST)
        close(ch.charge, [6000, 3000, 1000])
        close(ch.pooled_total, [10000])


def test_mixed_own_inhabitants_iu():
    # w_own 0.5, w_inhabitants 0.3, w_iu 0.2:
    #   A 0.5 x 6,000 + 0.3 x 0.1 x 10,000 + 0.2 x 0.2 x 10,000 = 3,000 +   300 +   400 = 3,700
    #   B 0.5 x 3,000 + 0.3 x 0.3 x 10,000 + 0.2 x 0.3 x 10,000 = 1,500 +   900 +   600 = 3,000
    #   C 0.5 x 1,000 + 0.3 x 0.6 x 10,000 + 0.2 x 0.5 x 10,000 =   500 + 1,800 + 1,000 = 3,300
    r = Rule("m", "mixed", w_own=0.5, w_inhabitants=0.3, w_iu=0.2)
    ch = evaluate(r, ctx3(), COST)
    close(ch.charge, [3700, 3000, 3300])
    close(ch.pooled_total, [10000])


def test_mixed_reference_history_budget():
    # w_own 0.2, w_reference 0.4, w_history 0.3 (N=3), w_budget 0.1:
    #   A 0.2 x 6,000 + (0.4 x 0.5  + 0.3 x 0.25 + 0.1 x 0.4) x 10,000 = 1,200 + 2,000 + 750 +   400 = 4,350
    #   B 0.2 x 3,000 + (0.4 x 0.25 + 0.3 x 0.25 + 0.1 x 0.4) x 10,000 =   600 + 1,000 + 750 +   400 = 2,750
    #   C 0.2 x 1,000 + (0.4 x 0.25 + 0.3 x 0.5  + 0.1 x 0.2) x 10,000 =   200 + 1,000 + 1,500 + 200 = 2,900
    r = Rule("m", "mixed", years=3, w_own=0.2, w_reference=0.4, w_history=0.3, w_budget=0.1)
    close(charge(r), [4350, 2750, 2900])


def test_mixed_extremes_equal_profijt_and_solidariteit():
    close(charge(Rule("m", "mixed", w_own=1.0)), [6000, 3000, 1000])
    close(charge(Rule("m", "mixed", w_inhabitants=1.0)), charge(Rule("s", "solidariteit")))


def test_high_cost_pool_per_client_excess():
    # H irrelevant here: the excess over H per gemeente is given, X = 4,000 / 0 / 0; q = 0.5
    # pool pays q X = 2,000 / 0 / 0; pool total 2,000 shared by inhabitants: 200 / 600 / 1,200
    #   A 6,000 - 2,000 + 200 = 4,200;  B 3,000 + 600 = 3,600;  C 1,000 + 1,200 = 2,200
    r = Rule("h", "high_cost_pool", threshold_eur=50_000.0, pool_share=0.5)
    ch = evaluate(r, ctx3(), COST, excess=np.array([4000.0, 0.0, 0.0]))
    close(ch.charge, [4200, 3600, 2200])
    close(ch.payout, [2000, 0, 0])
    close(ch.contribution, [200, 600, 1200])
    close(ch.pooled_total, [10000])


def test_high_cost_pool_planned_from_tariffs():
    # lots x (tariff 1,000) and y (tariff 10,000); H = 5,000, q = 0.8
    #   e_x = max(0, 1 - 5,000 / 1,000) = 0;  e_y = 1 - 5,000 / 10,000 = 0.5;  pooled share q e_y = 0.4
    # costs A x 1,000 y 5,000;  B x 3,000;  C y 1,000 (C_g = 6,000 / 3,000 / 1,000 as before)
    # payouts 0.4 x y = 2,000 / 0 / 400, pool 2,400 by inhabitants 240 / 720 / 1,440
    #   A 6,000 - 2,000 + 240 = 4,240;  B 3,000 + 720 = 3,720;  C 1,000 - 400 + 1,440 = 2,040
    ctx = ctx3(tariff=(1000.0, 10_000.0))
    cost = np.array([[1000.0, 5000.0], [3000.0, 0.0], [0.0, 1000.0]])
    r = Rule("h", "high_cost_pool", threshold_eur=5000.0, pool_share=0.8)
    ch = evaluate(r, ctx, cost)
    close(ch.charge, [4240, 3720, 2040])
    close(ch.payout, [2000, 0, 400])
    close(ch.contribution, [240, 720, 1440])
    close(ch.pooled_total, [10000])
    lc = linear_charge(r, ctx)
    close(lc.own, [1.0, 0.6])
    close(lc.shared, [0.0, 0.4])


def test_high_cost_pool_planned_equals_per_client_with_tariff_clients():
    # the planned version is the per-client version where every client costs the tariff:
    # y-clients of A: 5,000 / 10,000 = 0.5 client x (10,000 - 5,000) = 2,500 excess; C: 0.1 x 5,000 = 500
    ctx = ctx3(tariff=(1000.0, 10_000.0))
    cost = np.array([[1000.0, 5000.0], [3000.0, 0.0], [0.0, 1000.0]])
    r = Rule("h", "high_cost_pool", threshold_eur=5000.0, pool_share=0.8)
    close(evaluate(r, ctx, cost).charge, evaluate(r, ctx, cost, excess=np.array([2500.0, 0.0, 500.0])).charge)


def test_threshold_fund_without_cap():
    # E = 4,000 / 3,000 / 2,000 -> deficit C - E = 2,000 / 0 / -1,000; X = EUR 0.10 per inhabitant:
    # thresholds 1,000 / 3,000 / 6,000 -> claims 1,000 / 0 / 0; fund 1,000
    # contributions by inhabitants 100 / 300 / 600
    #   A 6,000 - 1,000 + 100 = 5,100;  B 3,000 + 300 = 3,300;  C 1,000 + 600 = 1,600
    r = Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.1)
    ch = evaluate(r, ctx3(), COST)
    close(ch.charge, [5100, 3300, 1600])
    close(ch.payout, [1000, 0, 0])
    close(ch.contribution, [100, 300, 600])
    close(ch.pooled_total, [10000])


def test_threshold_fund_with_cap_is_pro_rata():
    # E = 2,000 / 1,000 / 1,000 -> deficit 4,000 / 2,000 / 0; X = 0.05 -> thresholds 500 / 1,500 / 3,000
    # claims 3,500 / 500 / 0 (sum 4,000); cap 2,000 -> every claim paid at 2,000 / 4,000 = 50 %:
    # payouts 1,750 / 250 / 0; contributions = 2,000 by inhabitants = 200 / 600 / 1,200
    #   A 6,000 - 1,750 + 200 = 4,450;  B 3,000 - 250 + 600 = 3,350;  C 1,000 + 1,200 = 2,200
    ctx = ctx3(expected=(2000.0, 1000.0, 1000.0))
    r = Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.05, fund_cap_eur=2000.0)
    ch = evaluate(r, ctx, COST)
    close(ch.payout, [1750, 250, 0])
    close(ch.contribution, [200, 600, 1200])
    close(ch.charge, [4450, 3350, 2200])
    assert ch.payout.sum() == pytest.approx(2000) and ch.contribution.sum() == pytest.approx(2000)
    # without the cap: payouts 3,500 / 500 / 0, contributions 4,000 x 0.1 / 0.3 / 0.6
    #   A 6,000 - 3,500 + 400 = 2,900;  B 3,000 - 500 + 1,200 = 3,700;  C 1,000 + 2,400 = 3,400
    r2 = Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.05)
    close(evaluate(r2, ctx, COST).charge, [2900, 3700, 3400])


def test_threshold_fund_compensation_share_and_key():
    # as above, compensation 50 %: claims 1,750 / 250 / 0 (sum 2,000), cap 1,000 -> payouts 875 / 125 / 0
    # contributions 1,000 by iu 0.2 / 0.3 / 0.5 = 200 / 300 / 500
    #   A 6,000 - 875 + 200 = 5,325;  B 3,000 - 125 + 300 = 3,175;  C 1,000 + 500 = 1,500
    ctx = ctx3(expected=(2000.0, 1000.0, 1000.0))
    r = Rule("t", "threshold_fund", basis="iu", fund_threshold_eur_per_inhabitant=0.05, fund_cap_eur=1000.0, compensation_share=0.5)
    ch = evaluate(r, ctx, COST)
    close(ch.payout, [875, 125, 0])
    close(ch.charge, [5325, 3175, 1500])


def test_threshold_fund_cap_above_claims_does_not_bind():
    ctx = ctx3(expected=(2000.0, 1000.0, 1000.0))
    capped = Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.05, fund_cap_eur=1e9)
    free = Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.05)
    close(evaluate(capped, ctx, COST).charge, evaluate(free, ctx, COST).charge)


# --------------------------------------------------------------------------- edge cases

ALL_RULES = [
    PROFIJT,
    Rule("s_inh", "solidariteit"),
    Rule("s_iu", "solidariteit", basis="iu"),
    Rule("s_bud", "solidariteit", basis="budget"),
    Rule("s_ref", "solidariteit", basis="reference"),
    Rule("s_hist", "solidariteit", basis="history", years=3),
    Rule("u1", "uitgesteld_profijt", years=1),
    Rule("u3", "uitgesteld_profijt", years=3),
    Rule("v_eur", "vast_variabel", fixed_eur=2000.0),
    Rule("v_share", "vast_variabel", fixed_share=0.4),
    Rule("o_inh", "onderbenutting", minimum_eur=15000.0),
    Rule("o_bud", "onderbenutting", minimum_eur=15000.0, gap_basis="budget"),
    Rule("o_sur", "onderbenutting", minimum_eur=15000.0, gap_basis="surcharge"),
    Rule("m", "mixed", w_own=0.5, w_inhabitants=0.3, w_iu=0.2),
    Rule("h", "high_cost_pool", threshold_eur=500.0, pool_share=0.5),
    Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.05),
    Rule("t_cap", "threshold_fund", fund_threshold_eur_per_inhabitant=0.05, fund_cap_eur=100.0),
]


def region_pays(rule: Rule, T: float) -> float:
    if rule.kind == "vast_variabel" and rule.fixed_eur is not None:
        return T + rule.fixed_eur
    if rule.kind == "onderbenutting":
        return max(T, rule.minimum_eur)
    return T


def test_gemeente_with_zero_use():
    cost = np.array([[6000.0], [0.0], [4000.0]])  # B uses nothing, T = 10,000
    close(charge(PROFIJT, cost=cost), [6000, 0, 4000])
    # solidariteit: B still pays its share 0.3 x 10,000
    close(charge(Rule("s", "solidariteit"), cost=cost), [1000, 3000, 6000])
    # vast_variabel fixed_eur: B pays only its share of the fixed costs, 0.3 x 2,000 (A 6,000 + 200, C 4,000 + 1,200)
    close(charge(Rule("v", "vast_variabel", fixed_eur=2000.0), cost=cost), [6200, 600, 5200])
    # surcharge: gap 5,000 = 50 % of use; B has no use, so no surcharge
    close(charge(Rule("o", "onderbenutting", minimum_eur=15000.0, gap_basis="surcharge"), cost=cost), [9000, 0, 6000])


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_zero_total_cost(rule):
    # T = 0: nothing to share, except the fixed costs (2,000) or the onderbenutting gap (the whole minimum, 15,000)
    zero = np.zeros((3, 1))
    ch = evaluate(rule, ctx3(), zero)
    expected = {
        "v_eur": [200, 600, 1200],  # 2,000 x 0.1 / 0.3 / 0.6
        "o_inh": [1500, 4500, 9000],  # 15,000 x 0.1 / 0.3 / 0.6
        "o_bud": [6000, 6000, 3000],  # 15,000 x 0.4 / 0.4 / 0.2
        "o_sur": [1500, 4500, 9000],  # no use to put a surcharge on: by inhabitants
    }.get(rule.name, [0, 0, 0])
    close(ch.charge, expected)
    close(ch.pooled_total, [region_pays(rule, 0.0)])
    assert np.all(np.isfinite(ch.charge))


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_one_gemeente_region_pays_everything(rule):
    ctx = ctx_one(cost_expected=100.0)
    cost = np.array([[7000.0]])
    ch = evaluate(rule, ctx, cost, excess=np.array([1234.0]) if rule.kind == "high_cost_pool" else None)
    close(ch.charge, [region_pays(rule, 7000.0)])
    close(ch.pooled_total, [region_pays(rule, 7000.0)])


def test_one_gemeente_high_cost_pool_per_client_pays_everything():
    r = Rule("h", "high_cost_pool", threshold_eur=500.0, pool_share=0.7)
    close(evaluate(r, ctx_one(), np.array([[7000.0]]), excess=np.array([5000.0])).charge, [7000])


@pytest.mark.parametrize("gap_basis", ["inhabitants", "budget", "surcharge"])
def test_onderbenutting_gap_exactly_zero(gap_basis):
    # M = T = 10,000: gap 0, every gemeente pays its own cost
    ch = evaluate(Rule("o", "onderbenutting", minimum_eur=10000.0, gap_basis=gap_basis), ctx3(), COST)
    close(ch.charge, [6000, 3000, 1000])
    close(ch.pooled_total, [10000])


def test_client_exactly_at_threshold_has_no_excess():
    # per-client rows: A one client of exactly H = 5,000; B two clients of 4,000 on average; C one client of 5,001
    ctx = ctx3()
    r = Rule("h", "high_cost_pool", threshold_eur=5000.0, pool_share=1.0)
    per_client = pd.DataFrame({"gemeente": ["A", "B", "C"], "lot": ["x"] * 3, "clients": [1, 2, 1], "cost_eur": [5000.0, 8000.0, 5001.0]})
    close(_excess(r, ctx, per_client), [0, 0, 1])
    # planned: tariff exactly H -> e = 0, the pool pays nothing and the rule is profijt
    ctx_h = ctx3(tariff=(5000.0,))
    lc = linear_charge(r, ctx_h)
    close(lc.shared, [0.0])
    close(evaluate(r, ctx_h, COST).charge, [6000, 3000, 1000])


def test_excess_ignores_other_lots_gemeenten_and_empty_rows():
    ctx = ctx3()
    r = Rule("h", "high_cost_pool", threshold_eur=1000.0, pool_share=1.0)
    per_client = pd.DataFrame(
        {
            "gemeente": ["A", "A", "B", "Q", "C"],
            "lot": ["x", "other", "x", "x", "x"],
            "clients": [2, 1, 0, 1, 1],
            "cost_eur": [5000.0, 9000.0, 9000.0, 9000.0, 1500.0],
        }
    )
    # A: 2 clients at 2,500 on average -> 2 x 1,500 = 3,000; the 'other' lot, gemeente Q and B's 0-client row do not count
    close(_excess(r, ctx, per_client), [3000, 0, 500])


def test_fund_too_small_pays_pro_rata_and_collects_the_fund():
    # E = 0: deficits 6,000 / 3,000 / 1,000; X = 0 -> claims = deficits (sum 10,000); cap 1,000 -> 10 %
    ctx = ctx3(expected=(0.0, 0.0, 0.0))
    r = Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.0, fund_cap_eur=1000.0)
    ch = evaluate(r, ctx, COST)
    close(ch.payout, [600, 300, 100])
    close(ch.contribution, [100, 300, 600])
    assert ch.contribution.sum() == pytest.approx(1000.0) == ch.payout.sum()
    close(ch.charge, [5500, 3000, 1500])


def test_fund_without_claims_moves_nothing():
    ctx = ctx3(expected=(1e6, 1e6, 1e6))
    ch = evaluate(Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=0.0, fund_cap_eur=50.0), ctx, COST)
    close(ch.payout, [0, 0, 0])
    close(ch.contribution, [0, 0, 0])
    close(ch.charge, [6000, 3000, 1000])


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_two_regions_never_cross(rule):
    # R = {A, B, C} with the standard costs, S = {D, E}; changing S's costs never changes R's charges
    ctx = ctx_two_regions()
    cost1 = np.array([[6000.0], [3000.0], [1000.0], [100.0], [300.0]])
    cost2 = np.array([[6000.0], [3000.0], [1000.0], [9000.0], [0.0]])
    ex1 = np.array([100.0, 0.0, 50.0, 10.0, 0.0])
    ex2 = np.array([100.0, 0.0, 50.0, 0.0, 3000.0])
    hc = rule.kind == "high_cost_pool"
    ch1 = evaluate(rule, ctx, cost1, ex1 if hc else None)
    ch2 = evaluate(rule, ctx, cost2, ex2 if hc else None)
    close(ch1.charge[:3], ch2.charge[:3])
    # and R's charges equal those of R alone (ctx3)
    close(ch1.charge[:3], evaluate(rule, ctx3(), COST, ex1[:3] if hc else None).charge)
    for ch, c in ((ch1, cost1), (ch2, cost2)):
        TS = c[3:].sum()
        close(ch.pooled_total, [region_pays(rule, 10000.0), region_pays(rule, TS)])
        close([ch.charge[:3].sum(), ch.charge[3:].sum()], ch.pooled_total)


def test_two_regions_by_hand():
    # solidariteit by inhabitants: R as before; S pays T_S = 400 by 0.25 / 0.75 = 100 / 300
    cost = np.array([[6000.0], [3000.0], [1000.0], [400.0], [0.0]])
    close(charge(Rule("s", "solidariteit"), ctx_two_regions(), cost), [1000, 3000, 6000, 100, 300])
    # onderbenutting M = 15,000 per region: R gap 5,000, S gap 14,600 by 0.25 / 0.75 = 3,650 / 10,950
    ch = evaluate(Rule("o", "onderbenutting", minimum_eur=15000.0), ctx_two_regions(), cost)
    close(ch.charge, [6500, 4500, 4000, 4050, 10950])
    close(ch.pooled_total, [15000, 15000])
    # surcharge: S's gap 14,600 on use 400 -> D pays 400 x (1 + 36.5) = 15,000, E pays nothing
    ch = evaluate(Rule("o", "onderbenutting", minimum_eur=15000.0, gap_basis="surcharge"), ctx_two_regions(), cost)
    close(ch.charge, [9000, 4500, 1500, 15000, 0])


def test_interleaved_regions_by_hand():
    # members need not be ordered by region: order A, D, B, E, C with R = {A, B, C}, S = {D, E}
    c = ctx_two_regions()
    p = [0, 3, 1, 4, 2]
    ctx = PoolContext(
        "pool",
        ("x",),
        "jeugd",
        ["R", "S"],
        [c.gemeenten[i] for i in p],
        c.region_index[p],
        c.inhabitants[p],
        {b: v[p] for b, v in c.raw_keys.items()},
        c.expected_eur[p],
        c.expected_by_lot[p],
        c.tariff,
        {k: v[p] for k, v in c.history.items()},
    )
    cost = np.array([[6000.0], [400.0], [3000.0], [0.0], [1000.0]])
    # as test_two_regions_by_hand, in the interleaved order: A 1,000, D 100, B 3,000, E 300, C 6,000
    close(charge(Rule("s", "solidariteit"), ctx, cost), [1000, 100, 3000, 300, 6000])
    ch = evaluate(Rule("o", "onderbenutting", minimum_eur=15000.0), ctx, cost)
    close(ch.charge, [6500, 4050, 4500, 10950, 4000])
    close(ch.pooled_total, [15000, 15000])


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_scenario_axes(rule):
    # evaluate on [S1, S2, G, L] equals evaluate per scenario
    rng = np.random.default_rng(7)
    ctx = ctx_two_regions()
    cost = rng.uniform(0, 10_000, size=(4, 3, 5, 2)) * (rng.uniform(size=(4, 3, 5, 2)) > 0.3)
    cost[0, 0] = 0.0  # one scenario without any cost
    ctx = PoolContext(
        ctx.pool,
        ("x", "y"),
        ctx.domain,
        ctx.regions,
        ctx.gemeenten,
        ctx.region_index,
        ctx.inhabitants,
        ctx.raw_keys,
        ctx.expected_eur,
        np.c_[ctx.expected_by_lot, np.zeros(5)],
        np.array([1000.0, 8000.0]),
        ctx.history,
    )
    excess = rng.uniform(0, 3000, size=(4, 3, 5)) if rule.kind == "high_cost_pool" else None
    for ex in [None, excess] if excess is not None else [None]:
        big = evaluate(rule, ctx, cost, ex)
        for i in range(4):
            for j in range(3):
                one = evaluate(rule, ctx, cost[i, j], None if ex is None else ex[i, j])
                for f in ("charge", "pooled_total", "payout", "contribution"):
                    close(getattr(big, f)[i, j], getattr(one, f))


def test_zero_key_in_a_region_is_an_error():
    ctx = ctx3()
    ctx.raw_keys["iu"] = np.zeros(3)
    with pytest.raises(ValueError, match="iu key of pool pool is zero in region"):
        evaluate(Rule("s", "solidariteit", basis="iu"), ctx, COST)
    # profijt needs no key
    close(evaluate(PROFIJT, ctx, COST).charge, [6000, 3000, 1000])


def test_linear_rules_and_their_coefficients():
    ctx = ctx3()
    assert not is_linear(Rule("o", "onderbenutting", minimum_eur=1.0, gap_basis="surcharge"))
    assert not is_linear(Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=1.0))
    assert is_linear(Rule("o", "onderbenutting", minimum_eur=1.0))
    with pytest.raises(ValueError, match="not linear"):
        linear_charge(Rule("t", "threshold_fund", fund_threshold_eur_per_inhabitant=1.0), ctx)
    lc = linear_charge(Rule("v", "vast_variabel", fixed_eur=2000.0), ctx)
    close(lc.constant, [200, 600, 1200])
    close(lc.own, [1.0])
    close(lc.shared, [0.0])
    lc = linear_charge(Rule("o", "onderbenutting", minimum_eur=15000.0, gap_basis="budget"), ctx)
    assert lc.gap_minimum == 15000.0
    close(lc.gap_key, [0.4, 0.4, 0.2])


def test_rule_from_row_blank_cells_become_none():
    row = {
        "rule": "v",
        "kind": "vast_variabel",
        "basis": "iu",
        "fixed_eur": float("nan"),
        "fixed_share": 0.25,
        "years": 1,
        "label": "x",
        "source": "test",
    }
    r = Rule.from_row(row)
    assert r.name == "v" and r.fixed_eur is None and r.fixed_share == 0.25 and r.basis == "iu"


# --------------------------------------------------------------------------- settle() on an instance


def _pooled_instance(t):
    """A, B, C in region R (jeugd); lot spec (tariff 10) pooled as 'zorg' under the agreed rule 'solid'.

    inhabitants A 1,000 / B 3,000 / C 6,000 -> 0.1 / 0.3 / 0.6
    iu          A   100 / B   300 / C   600 ;  own funds 0
    need spec   A     8 / B     2 / C    10 hours -> expected 80 / 20 / 100
    use history of spec in 2023 (clients) 1 / 1 / 2 -> 0.25 / 0.25 / 0.5
    """
    t["gemeenten"] += [{"gemeente": "B", "inhabitants": 3000, "source": "test"}, {"gemeente": "C", "inhabitants": 6000, "source": "test"}]
    t["budgets"] += [
        {"gemeente": "B", "domain": "jeugd", "region": "R", "budget_eur": 300, "source": "test"},
        {"gemeente": "C", "domain": "jeugd", "region": "R", "budget_eur": 600, "source": "test"},
    ]
    t["populations"] += [{"gemeente": g, "population": "jeugd", "inhabitants": 100, "source": "test"} for g in "BC"]
    t["need"] += [
        {"gemeente": "B", "population": "jeugd", "lot": "spec", "volume": 2, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "spec", "volume": 10, "source": "test"},
    ]
    t["pooling_rules"] = [
        {"rule": "solid", "kind": "solidariteit", "basis": "inhabitants", "source": "test"},
        {"rule": "later", "kind": "uitgesteld_profijt", "years": 1, "source": "test"},
        {"rule": "hcp", "kind": "high_cost_pool", "threshold_eur": 100, "pool_share": 0.5, "source": "test"},
        {"rule": "fund", "kind": "threshold_fund", "fund_threshold_eur_per_inhabitant": 0.01, "source": "test"},
    ]
    t["pools"] = [{"region": "R", "pool": "zorg", "lots": "spec", "rule": "solid", "source": "test"}]
    t["use_history"] = [{"gemeente": g, "lot": "spec", "year": 2023, "clients": c, "source": "test"} for g, c in zip("ABC", (1, 1, 2))]


COST_DF = pd.DataFrame(
    {"gemeente": ["A", "B", "C", "A"], "lot": ["spec", "spec", "spec", "basis"], "cost_eur": [600.0, 300.0, 100.0, 55.0]}
)


def test_build_context_from_instance(make):
    inst = load_instance(make(_pooled_instance))
    ctx = build_context(inst, "zorg", ("spec",), ["R"])
    assert ctx.gemeenten == ["A", "B", "C"]
    close(ctx.inhabitants, [1000, 3000, 6000])
    close(ctx.raw_keys["iu"], [100, 300, 600])
    close(ctx.expected_eur, [80, 20, 100])
    close(ctx.tariff, [10])
    close(ctx.history[(1, "clients")], [1, 1, 2])
    assert (2, "clients") not in ctx.history  # only 2023 is known


def test_settle_agreed_and_profijt(make):
    inst = load_instance(make(_pooled_instance))
    df = settle(inst, COST_DF)
    for col in (
        "region",
        "gemeente",
        "pool",
        "lot",
        "rule",
        "rule_set",
        "charge_eur",
        "profijt_eur",
        "transfer_eur",
        "payout_eur",
        "contribution_eur",
        "inhabitants",
        "charge_per_inhabitant_eur",
        "transfer_per_inhabitant_eur",
        "region_pooled_eur",
    ):
        assert col in df.columns, col
    assert len(df) == 6  # (agreed, profijt) x 3 gemeenten; the basis lot is not pooled
    agreed = df[df["rule_set"] == "agreed"].set_index("gemeente")
    # spec costs 600 / 300 / 100, T = 1,000; solidariteit by inhabitants: 100 / 300 / 600
    close(agreed["charge_eur"], [100, 300, 600])
    close(agreed["profijt_eur"], [600, 300, 100])
    close(agreed["transfer_eur"], [-500, 0, 500])
    close(agreed["charge_per_inhabitant_eur"], [0.1, 0.1, 0.1])
    np.testing.assert_allclose(
        agreed["transfer_per_inhabitant_eur"], [-0.5, 0, 500 / 6000], atol=0.005
    )  # -500 / 1,000; 0; 500 / 6,000 (rounded)
    assert (agreed["rule"] == "solid").all()
    close(agreed["region_pooled_eur"], [1000] * 3)
    cand = df[df["rule_set"] == "candidate"].set_index("gemeente")
    assert (cand["rule"] == "profijt").all()
    close(cand["charge_eur"], [600, 300, 100])
    close(cand["transfer_eur"], [0, 0, 0])
    close(df["transfer_eur"], df["charge_eur"] - df["profijt_eur"])


def test_settle_candidate_rules(make):
    inst = load_instance(make(_pooled_instance))
    per_client = pd.DataFrame({"gemeente": ["A", "C"], "lot": ["spec", "spec"], "clients": [2, 1], "cost_eur": [600.0, 100.0]})
    df = settle(inst, COST_DF, ["later", "hcp", "fund"], per_client=per_client)
    assert set(df["rule"]) == {"solid", "later", "hcp", "fund"}
    assert len(df) == 12
    by = {r: g.set_index("gemeente") for r, g in df[df["rule_set"] == "candidate"].groupby("rule")}
    # later: history 0.25 / 0.25 / 0.5 x 1,000
    close(by["later"]["charge_eur"], [250, 250, 500])
    # hcp: A's 2 clients at 300 each -> excess 2 x 200 = 400, pool pays 0.5 x 400 = 200; C at 100 = H -> 0
    #   pool 200 by inhabitants 20 / 60 / 120: A 600 - 200 + 20 = 420; B 300 + 60 = 360; C 100 + 120 = 220
    close(by["hcp"]["payout_eur"], [200, 0, 0])
    close(by["hcp"]["charge_eur"], [420, 360, 220])
    # fund: deficits 600 - 80 = 520 / 280 / 0; thresholds 0.01 x inh = 10 / 30 / 60 -> claims 510 / 250 / 0 (fund 760)
    #   contributions 76 / 228 / 456: A 600 - 510 + 76 = 166; B 300 - 250 + 228 = 278; C 100 + 456 = 556
    close(by["fund"]["payout_eur"], [510, 250, 0])
    close(by["fund"]["charge_eur"], [166, 278, 556])
    for _, g in df.groupby("rule"):
        assert g["charge_eur"].sum() == pytest.approx(1000.0)


def test_settle_high_cost_pool_without_per_client_uses_tariffs(make):
    inst = load_instance(make(_pooled_instance))
    # tariff 10 < H = 100: in a plan no client is above H, so hcp charges profijt
    df = settle(inst, COST_DF, ["hcp"])
    cand = df[df["rule_set"] == "candidate"].set_index("gemeente")
    close(cand["charge_eur"], [600, 300, 100])


def test_settle_unknown_rule_is_an_instance_error(make):
    from verdeelmodel.instance.problems import InstanceError

    inst = load_instance(make(_pooled_instance))
    with pytest.raises(InstanceError, match="nope"):
        settle(inst, COST_DF, ["nope"])


def test_rules_of_includes_profijt(make):
    inst = load_instance(make(_pooled_instance))
    rules = rules_of(inst)
    assert rules["profijt"] is PROFIJT
    assert rules["later"].kind == "uitgesteld_profijt" and rules["later"].years == 1
    assert rules["hcp"].threshold_eur == 100 and rules["hcp"].pool_share == 0.5


def _two_regions_one_without_history(t):
    """R = {A, B} agrees on uitgesteld profijt; S = {D} pools the same lot under profijt and has no use history."""
    t["gemeenten"] += [{"gemeente": "B", "inhabitants": 3000, "source": "test"}, {"gemeente": "D", "inhabitants": 2000, "source": "test"}]
    t["budgets"] += [
        {"gemeente": "B", "domain": "jeugd", "region": "R", "budget_eur": 300, "source": "test"},
        {"gemeente": "D", "domain": "jeugd", "region": "S", "budget_eur": 300, "source": "test"},
    ]
    t["populations"] += [{"gemeente": g, "population": "jeugd", "inhabitants": 100, "source": "test"} for g in "BD"]
    t["pooling_rules"] = [{"rule": "later", "kind": "uitgesteld_profijt", "years": 1, "source": "test"}]
    t["pools"] = [
        {"region": "R", "pool": "zorg", "lots": "spec", "rule": "later", "source": "test"},
        {"region": "S", "pool": "zorg", "lots": "spec", "rule": "profijt", "source": "test"},
    ]
    t["use_history"] = [{"gemeente": g, "lot": "spec", "year": 2023, "clients": 1, "source": "test"} for g in "AB"]


def test_settle_key_of_a_rule_only_needed_where_it_is_agreed(make):
    inst = load_instance(make(_two_regions_one_without_history))
    cost = pd.DataFrame({"gemeente": ["A", "B", "D"], "lot": ["spec"] * 3, "cost_eur": [100.0, 300.0, 50.0]})
    df = settle(inst, cost)  # each region's rule sees only its own region (was a bug: keys over all regions)
    agreed = df[df["rule_set"] == "agreed"].set_index("gemeente")
    # R: T = 400 by history 1 / 1 -> 200 / 200;  S: profijt 50
    close(agreed["charge_eur"], [200, 200, 50])
