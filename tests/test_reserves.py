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
from helpers import build, one_lot, per_client_draws, pooled_tables, run_main, write_instance
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
        own = [sum(sum(per_client[s, g, j]) for j in range(len(dm.lots)) if j != v) for g in gi]
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
        # and in reserve_table (rounded to cents): the total pooling benefit is never negative
        tab = reserve_table(inst, run, [0.9])
        tot = tab.groupby("rule")["pooling_benefit_eur"].sum()
        assert (tot >= -0.01 * len(dm.gemeenten)).all(), tot
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


def test_reserve_table_rows_ratio_rating_and_benefit(tmp_path):
    t = pooled_tables("solidair")
    t["gemeenten"][0]["available_reserve_eur"] = 20
    t["gemeenten"][1]["available_reserve_eur"] = 5
    inst = load_instance(write_instance(tmp_path / "i", t))
    dm = demand_model(inst)
    run = run_reserves(inst, dm.expected_cost, 3000, seed=9, candidates=["mix", "uitgesteld3"])
    tab = reserve_table(inst, run, [0.8, 0.95])
    assert len(tab) == 3 * 4 * 2  # gemeenten x (profijt, agreed, mix, uitgesteld3) x confidences
    assert not tab.duplicated(["gemeente", "rule", "confidence"]).any()
    for r in tab.itertuples():
        O = run.overspend[r.rule][:, run.gemeenten.index(r.gemeente)]
        var, cvar = var_cvar(O, r.confidence)
        assert r.var_eur == pytest.approx(var, abs=0.005) and r.cvar_eur == pytest.approx(cvar, abs=0.005)
        assert r.required_eur == pytest.approx(max(0.0, cvar), abs=0.005)
        assert r.expected_overspend_eur == pytest.approx(O.mean(), abs=0.005)
        ratio = r.available_eur / max(0.0, cvar) if cvar > 0 else math.inf
        assert r.ratio == pytest.approx(ratio, rel=1e-3) and r.rating == rating(ratio)[0] and r.rating_label == rating(ratio)[1]
    base = tab[tab.rule == "profijt"].set_index(["gemeente", "confidence"])["required_eur"]
    for r in tab.itertuples():
        assert r.pooling_benefit_eur == pytest.approx(base[r.gemeente, r.confidence] - r.required_eur, abs=0.011)
    var_tab = reserve_table(inst, run, [0.9], measure="var")
    assert np.allclose(var_tab["required_eur"], np.maximum(0.0, var_tab["var_eur"]))


# --------------------------------------------------------------------------- the CLI

COLUMNS = ["gemeente", "rule", "confidence", "expected_overspend_eur", "var_eur", "cvar_eur", "available_eur", "ratio", "rating"]
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
    df = pd.read_csv(out / "reserves.csv")
    assert set(COLUMNS) <= set(df.columns) and list(df.columns[:3]) == ["gemeente", "rule", "confidence"]
    assert len(df) == 3 * 3 * 2  # A, B, C x profijt, agreed (solidair), mix x 0.8, 0.95
    assert set(df["rule"]) == {"profijt", "agreed", "mix"} and sorted(set(df["confidence"])) == [0.8, 0.95]
    assert not df.duplicated(["gemeente", "rule", "confidence"]).any()
    assert set(df["rating"]) <= set("ABCDEF")
    base = df[df.rule == "profijt"].set_index(["gemeente", "confidence"])["required_eur"]
    for r in df.itertuples():  # pooling benefit = required(profijt) - required(rule)
        assert r.pooling_benefit_eur == pytest.approx(base[r.gemeente, r.confidence] - r.required_eur, abs=0.011)
        assert r.required_eur == pytest.approx(max(0.0, r.cvar_eur), abs=0.005)
        assert r.cvar_eur >= r.var_eur - 0.01
    assert (df[df.rule == "profijt"]["pooling_benefit_eur"] == 0).all()
    for name in ("overspend_distribution.png", "reserves_by_rule.png", "pooling_benefit.png"):
        data = (out / name).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, name  # a real figure, not an empty canvas
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["scenarios"] == 2000
    tot = df[df.confidence == 0.8].groupby("rule")["required_eur"].sum()
    for rule, v in summary["total_required_eur"]["0.8"].items():
        assert v == pytest.approx(tot[rule], abs=0.05)
    assert "pooling benefit of agreed" in stdout and "pooling benefit of mix" in stdout


def test_cli_same_seed_same_bytes_other_seed_other_numbers(pooled_instance, tmp_path, capsys):
    def run(seed, name):
        out = tmp_path / name
        rc, _, err = run_main(
            ["reserves", str(pooled_instance), "--scenarios", "2000", "--seed", str(seed), "--no-plots", "--out", str(out)], capsys
        )
        assert rc == 0, err
        assert not list(out.glob("*.png"))
        return (out / "reserves.csv").read_bytes()

    first, again, other = run(7, "a"), run(7, "b"), run(8, "c")
    assert first == again
    assert first != other


def test_cli_plan_need_has_zero_expected_overspend_on_average(pooled_instance, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = run_main(
        ["reserves", str(pooled_instance), "--scenarios", "4000", "--plan", "need", "--no-plots", "--measure", "var", "--out", str(out)],
        capsys,
    )
    assert rc == 0, err
    df = pd.read_csv(out / "reserves.csv")
    assert np.allclose(df["required_eur"], np.maximum(0.0, df["var_eur"]), atol=0.005)
    # plan = expected cost: the mean overspend of the region is within 5 se of zero
    inst = load_instance(pooled_instance)
    dm = demand_model(inst)
    run = run_reserves(inst, dm.expected_cost, 4000, seed=20261122)
    tot = run.overspend["profijt"].sum(1)
    assert abs(tot.mean()) <= Z * tot.std() / math.sqrt(len(tot))
    assert df[df.rule == "profijt"]["expected_overspend_eur"].sum() == pytest.approx(tot.mean(), abs=0.05)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--confidence", "1.5"], "--confidence"),
        (["--confidence", "0.3"], "--confidence"),
        (["--scenarios", "0"], "--scenarios"),
        (["--rule", "nonexistent"], "nonexistent"),
        (["--measure", "mean"], "--measure"),
        (["--scenarios", "many"], "--scenarios"),
    ],
)
def test_cli_bad_arguments_exit_2_without_traceback(pooled_instance, tmp_path, capsys, args, needle):
    rc, _, err = run_main(["reserves", str(pooled_instance), "--no-plots", "--out", str(tmp_path / "out"), *args], capsys)
    assert rc == 2, err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
