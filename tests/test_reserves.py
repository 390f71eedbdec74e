"""Reserve sizing (models/reserves.py, `verdeelmodel reserves`): VaR/CVaR on hand-made samples,
known answers for Poisson / negative binomial / normal demand, the A-F rating table, a
brute-force check of the high-cost pool, subadditivity of the pooled rules, and the CLI.

Monte Carlo bounds (fixed seeds, Z = 5 standard errors, see tests/test_scenarios.py):
- VaR, the ceil(alpha S)-th order statistic: x_(k) lies in [F^-1(alpha - d), F^-1(alpha + d)]
  with d = Z sqrt(alpha (1 - alpha) / S) (the binomial count of samples below a quantile);
- CVaR = VaR + mean((O - VaR)+) / (1 - alpha): once VaR is the true quantile q, its se is
  sd((O - q)+) / (sqrt(S) (1 - alpha)), computed from the exact distribution (or plug-in).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from helpers import INSTANCES, build, one_lot, per_client_draws, pooled_tables, run_main, write_instance
from scipy import stats

from verdeelmodel.instance.validate import load_instance
from verdeelmodel.models.pooling import rules_of
from verdeelmodel.models.reserves import RATINGS, rating, reserve_table, run_reserves, var_cvar
from verdeelmodel.models.scenarios import demand_model, sample

Z = 5.0

# --------------------------------------------------------------------------- var_cvar by hand


def _ru_cvar(x: np.ndarray, alpha: float) -> float:
    """Rockafellar-Uryasev by brute force: min over t of t + mean((x - t)+) / (1 - alpha); the
    function is piecewise linear in t with kinks at the samples, so the minimum is at a sample."""
    return min(t + np.maximum(x - t, 0).mean() / (1 - alpha) for t in x)


def _tail_mean(x: np.ndarray, alpha: float) -> float:
    """Mean of the worst (1 - alpha) S samples, the boundary sample counted fractionally."""
    x = np.sort(x)[::-1]
    m = (1 - alpha) * len(x)
    whole = int(math.floor(m + 1e-9))
    frac = m - whole
    return (x[:whole].sum() + (x[whole] * frac if frac > 1e-9 else 0.0)) / m


def test_var_cvar_on_1_to_100():
    x = np.arange(1, 101, dtype=float)[:, None]
    var, cvar = var_cvar(x, 0.9)
    # VaR: the 90th smallest = 90; CVaR = 90 + (1 + ... + 10) / 100 / 0.1 = 95.5 = mean(91..100)
    assert var[0] == 90 and cvar[0] == pytest.approx(95.5)
    var, cvar = var_cvar(x, 0.95)
    assert var[0] == 95 and cvar[0] == pytest.approx(98.0)  # 95 + 15 / 100 / 0.05 = mean(96..100)
    # alpha S = 55 whole, but 0.55 * 100 = 55.000000000000014 in floating point: still the 55th
    var, cvar = var_cvar(x, 0.55)
    assert var[0] == 55 and cvar[0] == pytest.approx(78.0)  # mean(56..100)


def test_var_cvar_alpha_s_not_whole():
    # S = 10, alpha = 0.85: alpha S = 8.5 -> the 9th smallest = 9; the worst 1.5 samples are
    # 10 and half a 9: CVaR = (10 + 4.5) / 1.5 = 9.667 = 9 + (10 - 9) / 10 / 0.15
    x = np.arange(1, 11, dtype=float)
    var, cvar = var_cvar(x, 0.85)
    assert var == 9 and cvar == pytest.approx(29 / 3)
    # alpha (1 - alpha) S below one sample: VaR = CVaR = the maximum
    var, cvar = var_cvar(x, 0.95)
    assert var == 10 and cvar == pytest.approx(10.0)


def test_var_cvar_ties_and_constants():
    x = np.array([0.0] * 90 + [10.0] * 10)
    var, cvar = var_cvar(x, 0.9)
    assert var == 0 and cvar == pytest.approx(10.0)  # the worst 10% are the ten 10s
    var, cvar = var_cvar(x, 0.8)
    assert var == 0 and cvar == pytest.approx(5.0)  # worst 20: ten 10s and ten 0s
    var, cvar = var_cvar(x, 0.95)
    assert var == 10 and cvar == pytest.approx(10.0)
    var, cvar = var_cvar(np.array([1.0, 2, 2, 2, 3]), 0.5)
    assert var == 2 and cvar == pytest.approx(2.4)  # worst 2.5: 3 + 2 + 0.5 x 2 = 6 -> 6 / 2.5
    for c in (-3.5, 0.0, 1234.0):
        v, cv = var_cvar(np.full((50, 2), c), 0.9)
        assert np.all(v == c) and np.allclose(cv, c)


def test_var_cvar_matches_brute_force_rockafellar_uryasev():
    rng = np.random.default_rng(0)
    for S, alpha in itertools.product((7, 20, 100, 250), (0.5, 0.8, 0.9, 0.95, 0.99)):
        x = np.round(rng.standard_t(3, size=(S, 3)) * 10, 1)  # heavy tails, some ties
        var, cvar = var_cvar(x, alpha)
        for j in range(3):
            col = x[:, j]
            assert cvar[j] == pytest.approx(_ru_cvar(col, alpha), rel=1e-9, abs=1e-9)
            assert cvar[j] == pytest.approx(_tail_mean(col, alpha), rel=1e-9, abs=1e-9)
            assert cvar[j] >= var[j] - 1e-12
            # VaR: the smallest sample with at least alpha S samples at or below it
            srt = np.sort(col)
            k = next(i for i in range(S) if (i + 1) >= alpha * S - 1e-9)
            assert var[j] == srt[k]


# --------------------------------------------------------------------------- rating table


@pytest.mark.parametrize(
    "ratio, score",
    [
        (math.inf, "A"),
        (5.0, "A"),
        (2.0001, "A"),
        (2.0, "B"),  # A is "> 2.0" (DOMAIN.md): 2.0 itself is B
        (1.7, "B"),
        (1.4, "B"),  # the bands B..E include their lower bound
        (1.3999, "C"),
        (1.0, "C"),  # capacity equal to the risk: voldoende
        (0.9999, "D"),
        (0.8, "D"),
        (0.7999, "E"),
        (0.6, "E"),  # F is "< 0.6" (DOMAIN.md): 0.6 itself is E
        (0.5999, "F"),
        (0.0, "F"),
    ],
)
def test_rating_table_boundaries(ratio, score):
    words = {s: w for _, s, w in RATINGS}
    assert rating(ratio) == (score, words[score])
    assert [w for _, _, w in RATINGS] == ["uitstekend", "ruim voldoende", "voldoende", "matig", "onvoldoende", "ruim onvoldoende"]


def test_rating_is_monotone():
    order = "ABCDEF"
    grid = np.linspace(0, 3, 3001)
    scores = [order.index(rating(float(r))[0]) for r in grid]
    assert all(a >= b for a, b in zip(scores, scores[1:]))


# --------------------------------------------------------------------------- known answers


def _var_bounds(dist, alpha, S):
    d = Z * math.sqrt(alpha * (1 - alpha) / S)
    return dist.ppf(alpha - d), dist.ppf(alpha + d)


def _exact_discrete(dist, alpha, shift):
    """Exact VaR and CVaR of N - shift for a discrete N ~ dist, and sd((N - q)+)."""
    q = dist.ppf(alpha)
    n = np.arange(0, int(dist.ppf(1 - 1e-15)) + 2)
    p = dist.pmf(n)
    tail = np.maximum(n - q, 0.0)
    e1, e2 = float((p * tail).sum()), float((p * tail**2).sum())
    return q - shift, q - shift + e1 / (1 - alpha), math.sqrt(e2 - e1**2)


@pytest.mark.parametrize("lam, alpha", [(4.0, 0.9), (4.0, 0.95), (12.5, 0.99), (30.0, 0.8)])
def test_poisson_var_cvar_of_overspend(tmp_path, lam, alpha):
    # one gemeente, one lot: clients ~ Poisson(lam), 1 euro each; plan = expected cost = lam
    S = 100_000
    inst = one_lot(tmp_path, lam, distribution="poisson")
    dm = demand_model(inst)
    run = run_reserves(inst, dm.expected_cost, S, seed=2024)
    O = run.overspend["profijt"][:, 0]
    assert list(run.overspend) == ["profijt"]  # no pools: profijt only
    assert abs(O.mean()) <= Z * math.sqrt(lam / S)
    var, cvar = var_cvar(O, alpha)
    dist = stats.poisson(lam)
    lo, hi = _var_bounds(dist, alpha, S)
    assert lo - lam <= var <= hi - lam
    v_ex, c_ex, sd_tail = _exact_discrete(dist, alpha, lam)
    assert var == v_ex  # the bounds above pin the quantile exactly for these (lam, alpha)
    assert abs(cvar - c_ex) <= Z * sd_tail / (math.sqrt(S) * (1 - alpha))


def test_negbin_var_cvar_of_overspend(tmp_path):
    lam, k, alpha, S = 10.0, 1.5, 0.9, 100_000
    inst = one_lot(tmp_path, 50.0, tariff=200, distribution="negbin", dispersion=k, units_per_client=5)  # 10 clients x 1,000
    dm = demand_model(inst)
    O = run_reserves(inst, dm.expected_cost, S, seed=5).overspend["profijt"][:, 0] / 1000.0  # in clients
    dist = stats.nbinom(k, k / (k + lam))
    var, cvar = var_cvar(O, alpha)
    lo, hi = _var_bounds(dist, alpha, S)
    assert lo - lam <= var <= hi - lam
    _, c_ex, sd_tail = _exact_discrete(dist, alpha, lam)
    assert abs(cvar - c_ex) <= Z * sd_tail / (math.sqrt(S) * (1 - alpha))


def test_large_poisson_cvar_is_the_normal_formula(tmp_path):
    # lambda = 10^6: N - lambda ~ Normal(0, sigma = 1000); CVaR_alpha = sigma phi(z_alpha) / (1 - alpha)
    lam, alpha, S = 1e6, 0.95, 100_000
    inst = one_lot(tmp_path, lam, distribution="poisson")
    dm = demand_model(inst)
    O = run_reserves(inst, dm.expected_cost, S, seed=77).overspend["profijt"][:, 0]
    sigma, z = math.sqrt(lam), stats.norm.ppf(alpha)
    normal_cvar = sigma * stats.norm.pdf(z) / (1 - alpha)  # 2062.7
    # how far the normal is from the exact Poisson (skewness 1 / sqrt(lambda), discreteness): < 1 euro
    _, exact, _ = _exact_discrete(stats.poisson(lam), alpha, lam)
    assert abs(exact - normal_cvar) < 1.0
    var, cvar = var_cvar(O, alpha)
    se = np.maximum(O - var, 0).std() / (math.sqrt(S) * (1 - alpha))  # plug-in se (about 9 euro)
    assert abs(cvar - normal_cvar) <= Z * se + abs(exact - normal_cvar)
    lo, hi = _var_bounds(stats.norm(0, sigma), alpha, S)
    assert lo - 1 <= var <= hi + 1  # +-1: the Poisson is on the integers


def test_profijt_overspend_is_cost_minus_plan_of_the_same_draws(tmp_path):
    demand = [{"lot": "x", "distribution": "negbin", "dispersion": 2, "cost_cv": 0.7, "shock_sd": 0.2}]
    gem = [("A", "R1", 1000, 0), ("B", "R1", 2000, 0), ("C", "R2", 500, 0)]
    inst = load_instance(build(tmp_path / "i", gem, [("x", 300.0)], {("A", "x"): 3, ("B", "x"): 5, ("C", "x"): 2}, demand))
    dm = demand_model(inst)
    plan = dm.expected_cost * 1.1
    run = run_reserves(inst, plan, 500, seed=4, chunk=200)  # chunks 0, 1, 2 of 200, 200, 100
    expect = np.concatenate([sample(dm, n, 4, c).cost.sum(-1) for c, n in enumerate((200, 200, 100))]) - plan.sum(-1)
    assert np.allclose(run.overspend["profijt"], expect)
    seen = []
    run_reserves(inst, plan, 500, seed=4, chunk=200, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(200, 500), (400, 500), (500, 500)]


# --------------------------------------------------------------------------- pooled rules


def test_high_cost_pool_overspend_equals_brute_force(tmp_path):
    # pooled_tables: A, B, C in region R (inhabitants 1000, 3000, 6000) pool lot `verblijf`
    # (tariff 1) under `hoog`: H = 0.25 per client, the pool pays q = 0.8 of the excess by inhabitants.
    t = pooled_tables("hoog")
    t["demand"] = [{"lot": "verblijf", "distribution": "poisson", "cost_cv": 1.5, "source": "test"}]
    inst = load_instance(write_instance(tmp_path / "i", t))
    dm = demand_model(inst)
    S, seed = 40, 31
    run = run_reserves(inst, dm.expected_cost, S, seed, candidates=["hoog", "solidair"], chunk=S)
    clients, per_client = per_client_draws(dm, S, seed)
    gi = [dm.gemeenten.index(g) for g in ("A", "B", "C")]
    v = dm.lots.index("verblijf")
    share = np.array([1000, 3000, 6000]) / 10000
    H, q = 0.25, 0.8
    for s in range(S):
        # non-statutory lots (basis) cost at most the plan: demand above it waits
        own = [
            sum(
                min(sum(per_client[s, g, j]), dm.expected_cost[g, j]) if dm.lots[j] == "basis" else sum(per_client[s, g, j])
                for j in range(len(dm.lots))
                if j != v
            )
            for g in gi
        ]
        C = np.array([sum(per_client[s, g, v]) for g in gi])
        X = np.array([sum(max(0.0, c - H) for c in per_client[s, g, v]) for g in gi])
        # plan: expected clients lam each costing 1 -> excess lam (1 - 0.25)
        lamv = dm.lam[gi, v]
        Xp = lamv * (1 - H)
        P_own = np.array([dm.expected_cost[g].sum() - dm.expected_cost[g, v] for g in gi])
        hoog = own + C - q * X + share * q * X.sum() - (P_own + lamv - q * Xp + share * q * Xp.sum())
        sol = own + share * C.sum() - (P_own + share * lamv.sum())
        assert np.allclose(run.overspend["hoog"][s, gi], hoog)
        assert np.allclose(run.overspend["agreed"][s, gi], hoog)
        assert np.allclose(run.overspend["solidair"][s, gi], sol)
    # the pool moves money between gemeenten only: charges add up to the total cost
    assert np.allclose(run.overspend["hoog"].sum(1), run.overspend["profijt"].sum(1))


def test_deterministic_demand_gives_zero_overspend_under_every_rule(tmp_path):
    # fixed client counts and units_per_client 10 (a client costs 10 x tariff): the plan is met
    # exactly, so no rule -- the high-cost pool included -- may show an overspend
    t = pooled_tables("hoog")
    t["demand"] = [
        {"lot": "verblijf", "distribution": "fixed", "units_per_client": 10, "source": "test"},
        {"lot": "basis", "distribution": "fixed", "source": "test"},
        {"lot": "spec", "distribution": "fixed", "source": "test"},
    ]
    for r in t["need"]:
        r["volume"] = {"A": 50, "B": 10, "C": 30}[r["gemeente"]] if r["lot"] == "verblijf" else r["volume"]
    inst = load_instance(write_instance(tmp_path / "i", t))
    dm = demand_model(inst)
    run = run_reserves(inst, dm.expected_cost, 20, seed=1, candidates=list(rules_of(inst)))
    for rule, O in run.overspend.items():
        assert np.allclose(O, 0.0), rule


def _random_pooled_instance(rng, folder):
    """1-3 regions of 1-4 gemeenten; stochastic lots a, b all pooled (one pool `p` of both lots);
    a non-pooled lot c with distribution fixed and whole volumes (no own risk)."""
    n_reg = int(rng.integers(1, 4))
    gem, need, history = [], {}, []
    for r in range(n_reg):
        for i in range(int(rng.integers(1, 5))):
            g = f"G{r}{i}"
            gem.append((g, f"R{r}", int(rng.integers(500, 50_000)), float(rng.integers(0, 5000)), float(rng.integers(100, 5000))))
            for lot in "ab":
                if rng.random() < 0.85:
                    need[g, lot] = round(float(rng.uniform(0.2, 30)), 2)
            need[g, "c"] = int(rng.integers(0, 20))
            for y in (2021, 2022, 2023):
                history.append((g, "a", y, int(rng.integers(0, 6)) + (1 if i == 0 else 0)))  # every region uses the lot
    demand = []
    for lot in "ab":
        dist = rng.choice(["poisson", "negbin", "fixed"], p=[0.45, 0.45, 0.1])
        row = {
            "lot": lot,
            "distribution": str(dist),
            "cost_cv": float(rng.choice([0.0, 0.5, 2.0])),
            "units_per_client": float(rng.choice([1, 4])),
            "shock_sd": float(rng.choice([0.0, 0.3])),
            "shock_scope": str(rng.choice(["region", "lot"])),
        }
        if dist == "negbin":
            row["dispersion"] = float(rng.choice([0.5, 2.0, 10.0]))
        demand.append(row)
    demand.append({"lot": "c", "distribution": "fixed"})
    w_own = round(float(rng.uniform(0, 0.95)), 2)
    w_inh = round(float(rng.uniform(0, 1 - w_own)), 2)
    rules = [
        {"rule": "sol_inh", "kind": "solidariteit", "basis": "inhabitants"},
        {"rule": "sol_iu", "kind": "solidariteit", "basis": "iu"},
        {"rule": "sol_budget", "kind": "solidariteit", "basis": "budget"},
        {"rule": "uitgesteld", "kind": "uitgesteld_profijt", "years": int(rng.integers(1, 4))},
        {"rule": "mix", "kind": "mixed", "w_own": w_own, "w_inhabitants": w_inh, "w_budget": round(1 - w_own - w_inh, 2)},
        {"rule": "vast_share", "kind": "vast_variabel", "fixed_share": round(float(rng.uniform(0.05, 1)), 2), "basis": "inhabitants"},
    ]
    regions = sorted({g[1] for g in gem})
    pool_regions = [R for R in regions if rng.random() < 0.8] or regions[:1]
    pools = [(R, "p", "a;b", str(rng.choice([r["rule"] for r in rules]))) for R in pool_regions]
    path = build(folder, gem, [("a", float(rng.choice([1.0, 250.0]))), ("b", 40.0), ("c", 10.0)], need, demand, pools, rules, history)
    return load_instance(path), [r["rule"] for r in rules]


def test_pooled_rules_never_need_more_reserve_in_total_than_profijt(tmp_path):
    # charge_g = w C_g + (1 - w) kappa_g T_R (w = 0 solidariteit / uitgesteld, w_own mixed,
    # 1 - f vast_variabel fixed_share): CVaR is positively homogeneous and subadditive, also on
    # the empirical distribution, so sum_g max(0, CVaR_g) under the rule <= under profijt --
    # when every stochastic lot is pooled (own non-pooled risk may diversify differently).
    # Pure solidarity (w = 0) is exact: sum_g kappa_g CVaR(T_R) = CVaR(T_R) whatever the key, so
    # every such rule gives the same total, sum over pooling regions of max(0, CVaR(T_R - plan)).
    rng = np.random.default_rng(20240501)
    alphas = [0.5, 0.8, 0.9, 0.95, 0.99]
    cases, checked, strict = 40, 0, 0
    for case in range(cases):
        inst, names = _random_pooled_instance(rng, tmp_path / f"i{case}")
        dm = demand_model(inst)
        run = run_reserves(inst, dm.expected_cost, 1500, seed=case, candidates=names, chunk=700)
        pooling = set(inst.pools["region"])
        region = inst.budgets.set_index("gemeente")["region"].reindex(dm.gemeenten).to_numpy()
        O_prof = run.overspend["profijt"]
        for a in alphas:
            req = {r: np.maximum(0.0, var_cvar(O, a)[1]) for r, O in run.overspend.items()}
            base = req["profijt"].sum()
            for r in names + ["agreed"]:
                assert req[r].sum() <= base + 1e-9 * max(1.0, base), (case, r, a, req[r].sum(), base)
                strict += req[r].sum() < base - 1e-6
                checked += 1
            own = ~np.isin(region, list(pooling))
            pooled_total = sum(max(0.0, float(var_cvar(O_prof[:, region == R].sum(1), a)[1])) for R in pooling)
            solidarity = pooled_total + req["profijt"][own].sum()
            for r in ("sol_inh", "sol_iu", "sol_budget", "uitgesteld"):
                assert req[r].sum() == pytest.approx(solidarity, rel=1e-9, abs=1e-6), (case, r, a)
        # reserve_table's risk is measured on the tekort (charge above the budget), not on the
        # charge: a budget absorbs part of a swing, so that risk is no coherent measure of the
        # charges and pooling may raise a region's total; the charge-based CVaR above cannot rise
        # (the fairness game, models/fairness.py, plays on the charges).
    assert checked == cases * len(alphas) * 7 and strict > checked / 2  # pooling usually helps strictly


def test_own_unpooled_risk_can_make_a_pooled_rule_need_more_reserve(tmp_path):
    # Why the property above pools every stochastic lot: A has an own lot c and a pooled lot a
    # (both Poisson(400)), B has neither.  Profijt: A alone, CVaR of (c + a) ~ sqrt(2) sigma.
    # Solidarity by inhabitants (1/2 each): A holds c + a / 2 ~ sqrt(1.25) sigma and B a / 2 ~
    # 0.5 sigma: 1.618 sigma in total, 14% more -- A's own risk diversified a better under profijt.
    gem = [("A", "R", 1000, 0), ("B", "R", 1000, 0)]
    need = {("A", "a"): 400, ("A", "c"): 400, ("B", "a"): 0}
    demand = [{"lot": "a", "distribution": "poisson"}, {"lot": "c", "distribution": "poisson"}]
    inst = load_instance(
        build(
            tmp_path / "i",
            gem,
            [("a", 1.0), ("c", 1.0)],
            need,
            demand,
            [("R", "p", "a", "sol")],
            [{"rule": "sol", "kind": "solidariteit", "basis": "inhabitants"}],
        )
    )
    run = run_reserves(inst, demand_model(inst).expected_cost, 20_000, seed=1)
    req = {r: np.maximum(0.0, var_cvar(O, 0.9)[1]).sum() for r, O in run.overspend.items()}
    # MC: a normal CVaR_0.9 estimate from 20,000 samples has relative se 0.8%; the ratio of the two
    # totals at most 1.1% -- 6% is over 5 se, and the gap (14%) is far outside it
    assert req["agreed"] / req["profijt"] == pytest.approx((math.sqrt(1.25) + 0.5) / math.sqrt(2), rel=0.06)
    assert req["agreed"] > 1.08 * req["profijt"]


# --------------------------------------------------------------------------- reserve_table


def test_tekort_is_charge_above_the_budget_of_the_same_draws(tmp_path):
    # one budget row per gemeente (one domain): T = max(0, plan charge + overspend - budget)
    inst = load_instance(write_instance(tmp_path / "i", pooled_tables("solidair")))
    dm = demand_model(inst)
    run = run_reserves(inst, dm.expected_cost, 1500, seed=9, candidates=["mix"])
    budget = np.array([100.0, 60.0, 150.0])
    assert np.allclose(run.budget, budget)
    for rule, O in run.overspend.items():
        charge = run.planned[rule] + O
        assert np.allclose(run.tekort[rule], np.maximum(0.0, charge - budget)), rule
        assert np.allclose(run.plan_tekort[rule], np.maximum(0.0, run.planned[rule] - budget)), rule


def test_reserve_table_expected_tekort_risk_and_benefit(tmp_path):
    t = pooled_tables("solidair")
    t["gemeenten"][0]["available_reserve_eur"] = 20
    t["gemeenten"][1]["available_reserve_eur"] = 5
    inst = load_instance(write_instance(tmp_path / "i", t))
    dm = demand_model(inst)
    run = run_reserves(inst, dm.expected_cost, 3000, seed=9, candidates=["mix", "uitgesteld3"])
    for measure in ("var", "cvar"):
        tab = reserve_table(inst, run, [0.8, 0.95], measure=measure)
        assert len(tab) == 3 * 4 * 2  # gemeenten x (profijt, agreed, mix, uitgesteld3) x confidences
        assert not tab.duplicated(["gemeente", "rule", "confidence"]).any()
        for r in tab.itertuples():
            T = run.tekort[r.rule][:, run.gemeenten.index(r.gemeente)]
            var, cvar = var_cvar(T, r.confidence)
            assert r.expected_tekort_eur == pytest.approx(T.mean(), abs=0.005)
            assert r.risk_var_eur == pytest.approx(var - T.mean(), abs=0.01)
            assert r.risk_cvar_eur == pytest.approx(cvar - T.mean(), abs=0.01)
            chosen = r.risk_var_eur if measure == "var" else r.risk_cvar_eur
            assert r.risk_eur == pytest.approx(max(0.0, chosen), abs=0.01)
            # no risks.csv: the whole profile is the social domain; no capacity: no rating
            assert r.whole_risk_eur == pytest.approx(r.risk_eur, abs=0.01) and r.other_risks_eur == 0
            assert r.rating == "" and r.rating_basis == "none" and math.isnan(r.ratio)
            expected_ratio = r.available_reserve_eur / r.risk_eur if r.risk_eur > 0 else math.inf
            assert r.ratio_social_domain == pytest.approx(expected_ratio, rel=1e-3)
            assert r.risk_se_eur > 0 or r.risk_eur < 1  # a figure below a euro may have se 0.00
        base = tab[tab.rule == "profijt"].set_index(["gemeente", "confidence"])["risk_eur"]
        for r in tab.itertuples():
            assert r.pooling_benefit_eur == pytest.approx(base[r.gemeente, r.confidence] - r.risk_eur, abs=0.011)


def test_deterministic_need_above_budget_is_structural_not_risk(tmp_path):
    # need 150 for a budget of 100, no fluctuation: every scenario has a tekort of 50. It is all
    # expected (structural: into the begroting); the risk is 0, with standard error 0.
    inst = load_instance(
        build(tmp_path / "i", [("A", "R", 1000, 10, 100)], [("x", 1.0)], {("A", "x"): 150}, [{"lot": "x", "distribution": "fixed"}])
    )
    run = run_reserves(inst, demand_model(inst).expected_cost, 400, seed=1)
    tab = reserve_table(inst, run, [0.9])
    r = tab[tab.rule == "profijt"].iloc[0]
    assert r.plan_tekort_eur == 50 and r.expected_tekort_eur == 50
    assert r.risk_eur == 0 and r.risk_se_eur == 0 and r.expected_tekort_se_eur == 0


def test_plan_substitution_is_applied_to_every_scenario(make):
    # spec (statutory, 80) -> basis, ratio 2, up to 50%: the plan moves 40 of spec need to
    # basis (adding 20). With a budget of 50 the plan funds spec 40 and, of basis (non-statutory,
    # own need 30), only the 20 substituted into it (an entitlement): tekort 40 + 20 - 50 = 10.
    # With fixed demand each scenario costs exactly the plan: no overspend, that tekort in every
    # scenario (without the plan's substitution each would cost 40 more).
    from verdeelmodel.workflows import reserves

    def edit(t):
        t["substitutions"] = [{"from_lot": "spec", "to_lot": "basis", "ratio": 2, "max_share": 0.5, "source": "test"}]
        t["budgets"][0]["budget_eur"] = 50
        t["demand"] = [{"lot": l, "distribution": "fixed", "source": "test"} for l in ("spec", "basis")]

    rv = reserves(load_instance(make(edit)), scenarios=200, seed=1)
    assert rv.allocation.substitutions["moved_need_eur"].sum() == pytest.approx(40, abs=0.01)
    assert np.allclose(rv.overspend["profijt"], 0.0, atol=0.02)
    r = rv.table[rv.table.rule == "profijt"].iloc[0]
    assert r.plan_tekort_eur == pytest.approx(10, abs=0.02) and r.expected_tekort_eur == pytest.approx(10, abs=0.02)
    assert r.risk_eur == pytest.approx(0, abs=0.02)


def test_non_statutory_demand_above_the_plan_waits_it_is_no_tekort(tmp_path):
    # one non-statutory lot, need 100 against a budget of 60: the plan funds 60 (40 unmet); in
    # the scenarios demand swings (Poisson) but the lot costs at most the plan: never a tekort
    inst = load_instance(build(tmp_path / "i", [("A", "R", 1000, 0, 60)], [("x", 1.0)], {("A", "x"): 100}))
    tab = inst.tables["lots"]
    inst.tables["lots"] = tab.assign(statutory=False)
    dm = demand_model(inst)
    plan = np.array([[60.0]])
    run = run_reserves(inst, plan, 500, seed=3)
    assert np.all(run.tekort["profijt"] == 0)
    assert run.overspend["profijt"].max() <= 0  # what it costs never exceeds the plan
    assert dm.expected_cost[0, 0] == 100


def _with_risks(tmp_path, risks, capacity=None, volume=1000, name="i"):
    t_path = build(tmp_path / name, [("A", "R", 1000, 10, 5000)], [("x", 1.0)], {("A", "x"): volume})
    import csv

    with (t_path / "risks.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["gemeente", "risk", "amount_eur", "probability", "low_eur", "high_eur", "source"])
        w.writeheader()
        for r in risks:
            w.writerow({"gemeente": "A", "source": "test", **r})
    if capacity is not None:
        g = pd.read_csv(t_path / "gemeenten.csv")
        g["weerstandscapaciteit_eur"] = capacity
        g.to_csv(t_path / "gemeenten.csv", index=False)
    return load_instance(t_path)


def test_other_risks_enter_the_whole_profile_and_the_rating(tmp_path):
    # budget 5000 >> need 1000: the social domain never has a tekort, so the whole profile is the
    # risk register: an event of EUR 1,000 with probability 0.3 (VaR 90% = 1,000) and one of
    # EUR 10,000 with probability 0.02 (below the 10% tail alone). VaR: 1,000 or 11,000 -> at 90%
    # the 90th percentile of {0, 1000, 10000, 11000} with P = 0.686, 0.294, 0.014, 0.006: 1,000.
    # CVaR: mean of the worst 10%: 0.02 of >= 10,000 and 0.08 of 1,000 -> (0.014 * 10000 + 0.006 *
    # 11000 + 0.08 * 1000) / 0.1 = 2,860.
    inst = _with_risks(
        tmp_path,
        [{"risk": "grex", "amount_eur": 1000, "probability": 0.3}, {"risk": "garantie", "amount_eur": 10000, "probability": 0.02}],
        2500,
    )
    run = run_reserves(inst, demand_model(inst).expected_cost, 40_000, seed=5)
    assert np.all(run.tekort["profijt"] == 0) and run.other.shape == (40_000, 1)
    assert run.other.mean() == pytest.approx(0.3 * 1000 + 0.02 * 10000, rel=0.03)
    var = reserve_table(inst, run, [0.9], measure="var").iloc[0]
    assert var.risk_eur == 0 and var.other_risks_eur == 1000 and var.whole_risk_eur == 1000
    assert var.ratio == pytest.approx(2.5) and var.rating == "A" and var.rating_basis == "whole_profile"
    cvar = reserve_table(inst, run, [0.9], measure="cvar").iloc[0]
    assert cvar.whole_risk_eur == pytest.approx(2860, abs=4 * cvar.whole_risk_se_eur + 1)
    assert cvar.ratio == pytest.approx(2500 / cvar.whole_risk_eur, rel=1e-3)
    assert cvar.rating == rating(cvar.ratio)[0]


def test_triangular_risk_has_the_triangular_mean(tmp_path):
    inst = _with_risks(tmp_path, [{"risk": "claim", "amount_eur": 3000, "probability": 1.0, "low_eur": 1000, "high_eur": 8000}])
    run = run_reserves(inst, demand_model(inst).expected_cost, 20_000, seed=2)
    W = run.other[:, 0]
    assert W.min() >= 1000 and W.max() <= 8000
    assert W.mean() == pytest.approx((1000 + 3000 + 8000) / 3, abs=Z * W.std() / math.sqrt(len(W)))
    # the demand draws are those of a run without the register (its own stream)
    plain = one_lot(tmp_path, 1000, name="plain")
    assert np.array_equal(
        run_reserves(plain, demand_model(plain).expected_cost, 20_000, seed=2).overspend["profijt"], run.overspend["profijt"]
    )


@pytest.mark.parametrize(
    "row, column",
    [
        ({"low_eur": 5000}, "low_eur"),
        ({"high_eur": 10}, "high_eur"),
        ({"probability": 1.5}, "probability"),
        ({"gemeente": "Z"}, "gemeente"),
    ],
)
def test_bad_risk_rows_are_refused_with_file_row_and_column(tmp_path, row, column):
    from verdeelmodel.errors import InstanceError

    with pytest.raises(InstanceError) as e:
        _with_risks(tmp_path, [{"risk": "claim", "amount_eur": 3000, "probability": 0.5, **row}])
    assert "risks" in str(e.value) and column in str(e.value)


def _spread_instance(tmp_path):
    # three gemeenten whose demand swings (negative binomial, a common shock), budgets just under
    # need, capacities that put one ratio close to a band edge and the others far from any
    gemeenten = [("A", "R", 1000, 0, 950), ("B", "R", 1000, 0, 1900), ("C", "R", 1000, 0, 470)]
    demand = [{"lot": "x", "distribution": "negbin", "dispersion": 20, "units_per_client": 10, "shock_sd": 0.1, "shock_scope": "region"}]
    path = build(tmp_path / "s", gemeenten, [("x", 1.0)], {("A", "x"): 1000, ("B", "x"): 2000, ("C", "x"): 500}, demand)
    g = pd.read_csv(path / "gemeenten.csv")
    # risks ~267, ~525 and ~146 (VaR 90% of the tekort above its mean): A's ratio sits on the
    # 1.4 edge (B/C), B's at 1.2 and C's at 1.7, each some 4 standard errors from any edge
    g["weerstandscapaciteit_eur"] = [374.0, 630.0, 248.0]
    g.to_csv(path / "gemeenten.csv", index=False)
    return load_instance(path)


def test_standard_errors_match_the_spread_over_30_seeds(tmp_path):
    inst = _spread_instance(tmp_path)
    plan = demand_model(inst).expected_cost
    figures, ses, ratings, near = [], [], [], []
    for seed in range(30):
        tab = reserve_table(inst, run_reserves(inst, plan, 2000, seed=seed), [0.9]).query("rule == 'profijt'")
        figures.append(tab[["expected_tekort_eur", "risk_var_eur", "risk_cvar_eur", "ratio"]].to_numpy())
        ses.append(tab[["expected_tekort_se_eur", "risk_var_se_eur", "risk_cvar_se_eur", "ratio_se"]].to_numpy())
        ratings.append(tab["rating"].tolist())
        near.append(tab["near_band_edge"].tolist())
    spread = np.std(np.array(figures), axis=0, ddof=1)  # [G, 4]: the true Monte Carlo error, measured
    reported = np.mean(np.array(ses), axis=0)
    # batch means with 20 batches: the se estimate itself has ~16% relative error and the
    # spread over 30 seeds ~13%; both together stay well within a factor 1.6
    ratio = spread / reported
    assert np.all((ratio > 1 / 1.6) & (ratio < 1.6)), ratio
    # only a rating flagged near a band edge changes between seeds
    ratings, near = np.array(ratings), np.array(near)
    for g in range(ratings.shape[1]):
        if len(set(ratings[:, g])) > 1:
            assert near[:, g].all(), (g, ratings[:, g], near[:, g])
    assert len(set(ratings[:, 0])) > 1 or near[:, 0].any()  # A sits near an edge (the test would be empty otherwise)
    for g in (1, 2):  # far from an edge: the same rating for every seed, rarely flagged
        assert len(set(ratings[:, g])) == 1 and near[:, g].sum() <= 3, (g, ratings[:, g], near[:, g])


def test_target_se_stops_at_the_first_whole_run_that_reaches_it(tmp_path):
    inst = _spread_instance(tmp_path)
    plan = demand_model(inst).expected_cost
    run = run_reserves(inst, plan, 1000, seed=4, target_se=15.0)
    assert run.target_reached and run.scenarios in (1000, 2000, 4000, 8000, 16000, 32000)
    tab = reserve_table(inst, run, [0.9])
    assert tab["risk_se_eur"].max() <= 15.0
    # the same numbers as a fixed run of that many scenarios
    fixed = reserve_table(inst, run_reserves(inst, plan, run.scenarios, seed=4), [0.9])
    pd.testing.assert_frame_equal(tab, fixed)
    if run.scenarios > 1000:  # and half of them did not reach it
        half = reserve_table(inst, run_reserves(inst, plan, run.scenarios // 2, seed=4), [0.9])
        assert half["risk_se_eur"].max() > 15.0
    capped = run_reserves(inst, plan, 1000, seed=4, target_se=0.01, max_scenarios=4000)
    assert capped.target_reached is False and capped.scenarios == 4000


def test_plan_tekort_under_the_agreed_rules_is_the_solve_tekort():
    # every euro traceable: the reserves' plan under the agreed pooling is the allocation
    from verdeelmodel.workflows import reserves

    rv = reserves(load_instance(INSTANCES / "nijmegen-2018"), scenarios=200, seed=1)
    per = rv.allocation.budgets.groupby("gemeente")["tekort_eur"].sum()
    mine = rv.table[rv.table.rule == "agreed"].set_index("gemeente")["plan_tekort_eur"]
    assert np.allclose(mine.reindex(per.index), per, atol=0.02)


# --------------------------------------------------------------------------- the CLI

COLUMNS = [
    "gemeente",
    "rule",
    "confidence",
    "expected_tekort_eur",
    "risk_var_eur",
    "risk_cvar_eur",
    "risk_eur",
    "risk_se_eur",
    "whole_risk_eur",
    "ratio",
    "rating",
    "near_band_edge",
]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def pooled_instance(tmp_path):
    t = pooled_tables("solidair")
    t["gemeenten"][0]["available_reserve_eur"] = 15
    t["demand"] = [{"lot": "verblijf", "distribution": "negbin", "dispersion": 2, "cost_cv": 0.8, "shock_sd": 0.2, "source": "test"}]
    return write_instance(tmp_path / "inst", t)


def test_cli_writes_reserves_csv_and_three_pngs(pooled_instance, tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = run_main(
        [
            "reserves",
            str(pooled_instance),
            "--scenarios",
            "2000",
            "--seed",
            "3",
            "--rule",
            "mix",
            "--confidence",
            "0.8",
            "--confidence",
            "0.95",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert rc == 0, err
    df = pd.read_csv(out / "reserves.csv", keep_default_na=False, na_values=[""])
    assert set(COLUMNS) <= set(df.columns) and list(df.columns[:3]) == ["gemeente", "rule", "confidence"]
    assert len(df) == 3 * 3 * 2  # A, B, C x profijt, agreed (solidair), mix x 0.8, 0.95
    assert set(df["rule"]) == {"profijt", "agreed", "mix"} and sorted(set(df["confidence"])) == [0.8, 0.95]
    assert not df.duplicated(["gemeente", "rule", "confidence"]).any()
    assert df["rating"].isna().all() and (df["rating_basis"] == "none").all()  # no whole capacity: no rating
    base = df[df.rule == "profijt"].set_index(["gemeente", "confidence"])["risk_eur"]
    for r in df.itertuples():  # pooling benefit = risk(profijt) - risk(rule)
        assert r.pooling_benefit_eur == pytest.approx(base[r.gemeente, r.confidence] - r.risk_eur, abs=0.011)
        assert r.risk_eur == pytest.approx(max(0.0, r.risk_var_eur), abs=0.005)  # VaR by default (NARIS)
        assert r.risk_cvar_eur >= r.risk_var_eur - 0.01
    assert (df[df.rule == "profijt"]["pooling_benefit_eur"] == 0).all()
    for name in ("overspend_distribution.png", "reserves_by_rule.png", "pooling_benefit.png"):
        data = (out / name).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, name  # a real figure, not an empty canvas
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["scenarios"] == 2000 and summary["measure"] == "var"
    tot = df[df.confidence == 0.8].groupby("rule")["risk_eur"].sum()
    for rule, v in summary["total_risk_eur"]["0.8"].items():
        assert v == pytest.approx(tot[rule], abs=0.05)
    # Dutch by default, every confidence level (0.8 and 0.95) on the console
    assert "voordeel van de verevening onder afgesproken regels (80%)" in stdout and "onder mix (95%)" in stdout
    assert "geen waardering" in stdout and "verwacht tekort" in stdout and "95% zekerheid" in stdout
    assert "nan" not in stdout.lower() and max(len(line) for line in stdout.splitlines()) <= 120


def test_cli_same_seed_same_bytes_other_seed_other_numbers(pooled_instance, tmp_path, capsys):
    def run(seed, name, *extra):
        out = tmp_path / name
        rc, _, err = run_main(
            ["reserves", str(pooled_instance), "--scenarios", "2000", "--seed", str(seed), "--no-plots", "--out", str(out), *extra], capsys
        )
        assert rc == 0, err
        assert not list(out.glob("*.png"))
        return (out / "reserves.csv").read_bytes()

    first, again, other = run(7, "a"), run(7, "b"), run(8, "c")
    assert first == again
    assert first != other
    # adaptive: the same bytes on a second run too
    assert run(7, "d", "--target-se", "5%") == run(7, "e", "--target-se", "5%")


def test_cli_target_se_reports_what_it_reached(pooled_instance, tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = run_main(
        [
            "reserves",
            str(pooled_instance),
            "--scenarios",
            "1000",
            "--target-se",
            "0.001",
            "--max-scenarios",
            "2000",
            "--no-plots",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert rc == 0, err
    assert "NIET gehaald" in stdout and "2.000 scenario's" in stdout
    man = json.loads((out / "manifest.json").read_text())
    assert man["options"]["scenarios_used"] == 2000 and man["options"]["target_se"] == "0.001"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target_se"]["reached"] is False


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--confidence", "1.5"], "--confidence"),
        (["--confidence", "0.3"], "--confidence"),
        (["--scenarios", "0"], "--scenarios"),
        (["--rule", "nonexistent"], "nonexistent"),
        (["--measure", "mean"], "--measure"),
        (["--scenarios", "many"], "--scenarios"),
        (["--target-se", "abc"], "--target-se"),
        (["--target-se", "-5"], "--target-se"),
        (["--target-se", "100", "--max-scenarios", "500"], "--max-scenarios"),
    ],
)
def test_cli_bad_arguments_exit_2_without_traceback(pooled_instance, tmp_path, capsys, args, needle):
    rc, _, err = run_main(["reserves", str(pooled_instance), "--no-plots", "--out", str(tmp_path / "out"), *args], capsys)
    assert rc == 2, err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_charges_fast_paths_equal_the_plain_formulas_bit_for_bit():
    """_charges' own-cost sums and pool gathers (issue 15) must give exactly what the plain numpy
    expressions give: where(pooled, 0, cost)[..., domain].sum(-1) and cost[..., gi, :][..., li]."""
    from verdeelmodel.models.reserves import _cells, _own_sum

    rng = np.random.default_rng(15)
    for n, G, L in ((70, 9, 15), (33, 5, 4), (1, 3, 9)):
        cost = rng.lognormal(5.0, 2.0, (n, G, L)) * (rng.random((n, G, L)) < 0.8)
        pooled = rng.random((G, L)) < 0.3
        domain = rng.integers(0, 3, L)
        for d in range(3):
            plain = np.where(pooled, 0.0, cost)[..., domain == d].sum(-1)
            assert np.array_equal(_own_sum(cost, np.flatnonzero(domain == d), pooled), plain)
        gi = np.sort(rng.choice(G, max(1, G // 2), replace=False))
        li = np.sort(rng.choice(L, 2, replace=False))
        plain = cost[..., gi, :][..., li]
        fast = _cells(cost, gi, li)
        assert np.array_equal(fast, plain) and np.array_equal(fast.sum(-1), plain.sum(-1))
        assert np.array_equal(fast @ np.array([0.3, 0.7]), plain @ np.array([0.3, 0.7]))


@pytest.mark.parametrize("S, G", [(2000, 342), (1001, 77), (50, 33), (7, 40), (10, 1)])
def test_figures_sorted_a_block_of_gemeenten_at_a_time_are_the_same(S, G, monkeypatch):
    """var_cvar sorts SORT_COLUMNS gemeenten at a time (and makes the whole profile's samples a
    block at a time): the same figures, bit for bit, as sorting all the samples at once."""
    import verdeelmodel.models.reserves as R

    rng = np.random.default_rng(S * G)
    T = rng.gamma(2.0, 1e5, size=(S, G)) - 1e5
    W = rng.gamma(1.0, 1e4, size=(S, G))
    monkeypatch.setattr(R, "SORT_COLUMNS", 10**9)
    whole = R._figures(T, W, 0.9)
    monkeypatch.setattr(R, "SORT_COLUMNS", 8)
    blocks = R._figures(T, W, 0.9)
    assert whole.keys() == blocks.keys()
    for k in whole:
        assert np.array_equal(whole[k], blocks[k]), k
    # and against the definition: VaR the ceil(alpha S)-th smallest, CVaR = VaR + mean excess / (1 - alpha)
    x = np.sort(T, axis=0)
    k_ = int(np.ceil(0.9 * S)) - 1
    assert np.allclose(blocks["risk_var"] + blocks["expected"], x[k_], rtol=1e-12, atol=1e-6)
    cvar = x[k_] + np.maximum(T - x[k_], 0).mean(axis=0) / 0.1
    assert np.allclose(blocks["risk_cvar"] + blocks["expected"], cvar, rtol=1e-12, atol=1e-6)
