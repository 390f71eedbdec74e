"""Demand scenarios (models/scenarios.py): known moments of the client and cost distributions,
the common regional shock, reproducibility, and the per-client excess of a high-cost pool.

Monte Carlo bounds: every statistical assertion uses a fixed seed (so the test is
deterministic) and a tolerance of Z = 5 standard errors of the estimator, computed from the
exact distribution (a two-sided 5-sigma band: a correct sampler fails it with probability
< 1e-6 per assertion, a wrong one of the size we care about fails it by far):
- a mean of n draws: se = sd / sqrt(n);
- a sample variance: se = sqrt((mu4 - sigma^4) / n) = sigma^2 sqrt((excess kurtosis + 2) / n);
- a correlation: Fisher's z = atanh(r) has se = 1 / sqrt(n - 3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import build, one_lot, per_client_draws
from scipy import stats

from verdeelmodel.instance.validate import load_instance
from verdeelmodel.models.scenarios import demand_model, sample

Z = 5.0  # standard errors allowed by every Monte Carlo assertion

# --------------------------------------------------------------------------- instance builder


def _var_se(sigma2: float, excess_kurtosis: float, n: int) -> float:
    return sigma2 * math.sqrt((excess_kurtosis + 2.0) / n)


# --------------------------------------------------------------------------- distributions


def test_poisson_clients_have_mean_and_variance_lambda(tmp_path):
    lam, n = 4.0, 200_000
    dm = demand_model(one_lot(tmp_path, lam, distribution="poisson"))
    assert dm.lam[0, 0] == lam and dm.mean_cost[0] == 1.0 and dm.expected_cost[0, 0] == lam
    x = sample(dm, n, seed=11).clients[:, 0, 0].astype(float)
    assert abs(x.mean() - lam) <= Z * math.sqrt(lam / n)
    # Poisson excess kurtosis 1 / lambda
    assert abs(x.var(ddof=1) - lam) <= Z * _var_se(lam, 1 / lam, n)


def test_lots_without_a_demand_row_are_poisson_on_volume(tmp_path):
    lam, n = 6.5, 100_000
    dm = demand_model(one_lot(tmp_path, lam))  # no demand.csv at all
    assert dm.dist[0] == 0 and dm.mean_cost[0] == 1.0 and dm.cv[0] == 0 and dm.n_shocks == 0
    x = sample(dm, n, seed=3).clients[:, 0, 0].astype(float)
    assert abs(x.mean() - lam) <= Z * math.sqrt(lam / n)
    assert abs(x.var(ddof=1) - lam) <= Z * _var_se(lam, 1 / lam, n)


def test_units_per_client_turn_volume_into_clients_and_cost_per_client(tmp_path):
    # 600 hours, 40 hours per client at 75 euro/hour: 15 clients costing 3,000 each
    dm = demand_model(one_lot(tmp_path, 600, tariff=75, distribution="poisson", units_per_client=40))
    assert dm.lam[0, 0] == pytest.approx(15.0) and dm.mean_cost[0] == pytest.approx(3000.0)
    assert dm.expected_cost[0, 0] == pytest.approx(600 * 75)
    b = sample(dm, 1000, seed=5)
    assert np.array_equal(b.cost, b.clients * 3000.0)  # cost_cv 0: every client costs the mean


def test_negbin_variance_is_lambda_plus_lambda_squared_over_k(tmp_path):
    lam, k, n = 20.0, 2.0, 200_000
    dm = demand_model(one_lot(tmp_path, lam, distribution="negbin", dispersion=k))
    x = sample(dm, n, seed=12).clients[:, 0, 0].astype(float)
    ref = stats.nbinom(k, k / (k + lam))  # scipy's (n, p): mean lam, variance lam + lam^2 / k
    mean, var, _, kurt = (float(v) for v in ref.stats(moments="mvsk"))
    assert mean == pytest.approx(lam) and var == pytest.approx(lam + lam**2 / k)
    assert abs(x.mean() - lam) <= Z * math.sqrt(var / n)
    assert abs(x.var(ddof=1) - var) <= Z * _var_se(var, kurt, n)
    # and the whole distribution: P(N <= q) at the 90% quantile, se sqrt(p (1 - p) / n)
    q = ref.ppf(0.9)
    p = ref.cdf(q)
    assert abs((x <= q).mean() - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_lognormal_cost_per_client_has_the_tariff_mean_and_the_set_cv(tmp_path):
    # tariff 500 per unit x 4 units per client = 2,000 per client; cv 0.8.  Scenarios with exactly
    # one client show one client's cost.
    m, cv, n = 2000.0, 0.8, 200_000
    dm = demand_model(one_lot(tmp_path, 4.0, tariff=500, distribution="poisson", units_per_client=4, cost_cv=cv))  # lambda = 1
    assert dm.mean_cost[0] == m and dm.lam[0, 0] == 1.0
    b = sample(dm, n, seed=13)
    one = b.cost[b.clients[:, 0, 0] == 1, 0, 0]
    assert np.all(b.cost[b.clients[:, 0, 0] == 0] == 0.0)
    k = one.size
    sd = cv * m
    w = 1 + cv**2  # lognormal: excess kurtosis w^4 + 2 w^3 + 3 w^2 - 6
    kurt = w**4 + 2 * w**3 + 3 * w**2 - 6
    assert abs(one.mean() - m) <= Z * sd / math.sqrt(k)
    assert abs(one.var(ddof=1) - sd**2) <= Z * _var_se(sd**2, kurt, k)
    assert stats.skew(one) > 1.5  # lognormal (skewness 3 cv + cv^3 = 2.9), not normal
    # the compound total: E[cost] = lambda m, Var = lambda m^2 (1 + cv^2)
    tot = b.cost[:, 0, 0]
    assert abs(tot.mean() - m) <= Z * math.sqrt(m**2 * w / n)


def test_fixed_distribution_has_no_variance(tmp_path):
    dm = demand_model(one_lot(tmp_path, 7, tariff=3, distribution="fixed"))
    b = sample(dm, 500, seed=1)
    assert np.all(b.clients == 7) and np.all(b.cost == 21.0)
    # a non-whole expected volume: clients are the rounded expectation, still constant
    dm = demand_model(one_lot(tmp_path, 7.4, tariff=3, name="j", distribution="fixed"))
    assert np.all(sample(dm, 50, seed=1).clients == 7)


def _three_gemeenten(tmp_path, demand, lots=(("x", 1.0),), vol=100.0):
    """A and B in region R1, C in region R2."""
    gem = [("A", "R1", 1000, 0), ("B", "R1", 1000, 0), ("C", "R2", 1000, 0)]
    need = {(g, l): vol for g, *_ in gem for l, _ in lots}
    return demand_model(load_instance(build(tmp_path / "i", gem, list(lots), need, demand)))


def test_regional_shock_correlates_gemeenten_of_a_region_only(tmp_path):
    lam, s, n = 100.0, 0.3, 50_000
    dm = _three_gemeenten(tmp_path, [{"lot": "x", "distribution": "poisson", "shock_sd": s, "shock_scope": "region"}], vol=lam)
    assert dm.n_shocks == 2 and dm.shock_group[0, 0] == dm.shock_group[1, 0] != dm.shock_group[2, 0]
    x = sample(dm, n, seed=21).clients[:, :, 0].astype(float)
    # mixed Poisson with a mean-1 multiplier of sd s: mean lam, Var = lam + lam^2 s^2, Cov(A, B) = lam^2 s^2
    assert abs(x[:, 0].mean() - lam) <= Z * math.sqrt((lam + lam**2 * s**2) / n)
    corr_ab = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    expected = lam**2 * s**2 / (lam + lam**2 * s**2)  # 0.9
    assert abs(math.atanh(corr_ab) - math.atanh(expected)) <= Z / math.sqrt(n - 3)
    for i, j in ((0, 2), (1, 2)):  # different regions: independent shocks
        assert abs(math.atanh(np.corrcoef(x[:, i], x[:, j])[0, 1])) <= Z / math.sqrt(n - 3)


def test_shock_scope_region_links_lots_and_scope_lot_keeps_them_apart(tmp_path):
    lam, s, n = 100.0, 0.3, 30_000
    expected = lam**2 * s**2 / (lam + lam**2 * s**2)
    for scope, want in (("region", expected), ("lot", 0.0)):
        demand = [{"lot": l, "distribution": "poisson", "shock_sd": s, "shock_scope": scope} for l in ("x", "y")]
        dm = _three_gemeenten(tmp_path / scope, demand, lots=(("x", 1.0), ("y", 2.0)), vol=lam)
        assert dm.n_shocks == (2 if scope == "region" else 4)
        x = sample(dm, n, seed=22).clients[:, 0, :].astype(float)  # gemeente A, lots x and y
        r = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
        assert abs(math.atanh(r) - math.atanh(want)) <= Z / math.sqrt(n - 3), scope


def test_lots_sharing_a_region_shock_keep_their_own_sd(tmp_path):
    # scope region: lots x (sd 0.5) and y (sd 0.1) share one standard normal per region and
    # scenario, each with its own sd: Var_x = lam + lam^2 0.25, Var_y = lam + lam^2 0.01, and the
    # two lots are correlated
    lam, n = 100.0, 40_000
    demand = [{"lot": "x", "distribution": "poisson", "shock_sd": 0.5}, {"lot": "y", "distribution": "poisson", "shock_sd": 0.1}]
    dm = _three_gemeenten(tmp_path, demand, lots=(("x", 1.0), ("y", 1.0)), vol=lam)
    x = sample(dm, n, seed=23).clients[:, 2, :].astype(float)
    for j, sd in enumerate((0.5, 0.1)):
        var = lam + lam**2 * sd**2
        w = 1 + sd**2
        kurt = w**4 + 2 * w**3 + 3 * w**2 - 6  # the lognormal multiplier's excess kurtosis (bounds the se generously)
        assert abs(x[:, j].var(ddof=1) - var) <= Z * _var_se(var, kurt, n)
    assert np.corrcoef(x[:, 0], x[:, 1])[0, 1] > 0.3


def test_no_shock_when_sd_zero_or_scope_none(tmp_path):
    demand = [
        {"lot": "x", "distribution": "poisson", "shock_sd": 0.4, "shock_scope": "none"},
        {"lot": "y", "distribution": "poisson", "shock_sd": 0},
    ]
    dm = _three_gemeenten(tmp_path, demand, lots=(("x", 1.0), ("y", 1.0)))
    assert dm.n_shocks == 0 and np.all(dm.shock_group == -1)


# --------------------------------------------------------------------------- reproducibility


def _mixed_model(tmp_path):
    demand = [
        {"lot": "x", "distribution": "negbin", "dispersion": 3, "cost_cv": 1.2, "shock_sd": 0.2},
        {"lot": "y", "distribution": "poisson", "cost_cv": 0.5, "units_per_client": 2, "shock_sd": 0.1, "shock_scope": "lot"},
    ]
    return _three_gemeenten(tmp_path, demand, lots=(("x", 1000.0), ("y", 50.0)), vol=8.0)


def test_same_seed_same_draws_other_seed_or_chunk_other_draws(tmp_path):
    dm = _mixed_model(tmp_path)
    a = sample(dm, 300, seed=7, thresholds=(500.0, 2000.0))
    b = sample(dm, 300, seed=7, thresholds=(500.0, 2000.0))
    assert np.array_equal(a.clients, b.clients) and np.array_equal(a.cost, b.cost)
    for H in (500.0, 2000.0):
        assert np.array_equal(a.excess(H), b.excess(H))
    # asking for thresholds draws nothing extra: the costs are the same without them
    assert np.array_equal(sample(dm, 300, seed=7).cost, a.cost)
    assert not np.array_equal(sample(dm, 300, seed=8).cost, a.cost)
    assert not np.array_equal(sample(dm, 300, seed=7, chunk=1).cost, a.cost)
    # a chunk's draws depend on (seed, chunk) only
    assert np.array_equal(sample(dm, 300, seed=7, chunk=4).cost, sample(dm, 300, seed=7, chunk=4).cost)


def test_high_cost_excess_equals_a_per_client_recomputation(tmp_path):
    demand = [{"lot": "x", "distribution": "poisson", "cost_cv": 1.5}, {"lot": "y", "distribution": "poisson"}]
    dm = _three_gemeenten(tmp_path, demand, lots=(("x", 100.0), ("y", 30.0)), vol=3.0)
    n, seed, H = 60, 99, (25.0, 150.0)
    b = sample(dm, n, seed, chunk=2, thresholds=H)
    clients, per_client = per_client_draws(dm, n, seed, chunk=2)
    assert np.array_equal(b.clients, clients)
    for (s, g, j), costs in per_client.items():
        assert b.cost[s, g, j] == pytest.approx(sum(costs), rel=1e-6, abs=1e-6)  # the same draws (float32) ...
        for h in H:  # ... and the excess: sum over the cell's clients of max(0, cost - H)
            assert b.excess(h)[s, g, j] == pytest.approx(sum(max(0.0, c - h) for c in costs), rel=1e-6, abs=1e-4)
    assert b.excess(150.0)[:, :, 0].sum() > 0 and np.all(b.excess(150.0)[:, :, 1] == 0)  # y clients cost 30 < H
    assert np.array_equal(b.excess(25.0)[:, :, 1], b.clients[:, :, 1] * 5.0)


# --------------------------------------------------------------------------- grid and bootstrap


def test_historical_bootstrap_draws_a_history_year(make):
    # basis need 30 clients; history 20 and 40 clients (mean 30: relative 2/3 and 4/3); fixed counts
    # -> 30 x 2/3 = 20 or 30 x 4/3 = 40 per scenario, each year with probability 1/2
    from verdeelmodel.models.scenarios import demand_model, sample

    def edit(t):
        t["use_history"] = [
            {"gemeente": "A", "lot": "basis", "year": y, "clients": c, "source": "test"} for y, c in ((2022, 20), (2023, 40))
        ]
        t["demand"] = [{"lot": "basis", "distribution": "fixed", "source": "test"}]

    inst = load_instance(make(edit))
    dm = demand_model(inst)
    b = sample(dm, 4000, seed=1, bootstrap=True)
    basis = b.clients[:, 0, dm.lots.index("basis")]
    assert set(np.unique(basis)) == {20, 40}
    assert abs((basis == 20).mean() - 0.5) < 5 * np.sqrt(0.25 / 4000)
    # a lot without history keeps its own distribution
    spec = b.clients[:, 0, dm.lots.index("spec")]
    assert spec.mean() == pytest.approx(8, abs=5 * np.sqrt(8 / 4000))
    with pytest.raises(ValueError, match="use_history"):
        sample(demand_model(load_instance(make())), 10, seed=1, bootstrap=True)


# --------------------------------------------------------------------------- pinned streams


def _pinned_model():
    """Three gemeenten, five lots: negative binomial with per-client costs (v), Poisson with
    per-client costs (w), Poisson with an intensity shock (x), negative binomial with per-client
    costs and an intensity shock (y), fixed (z); shocks per group, history for the bootstrap."""
    from verdeelmodel.models.scenarios import DemandModel

    lam = np.array([[3.0, 0.0, 5.0, 2.0, 40.0], [1.0, 4.0, 0.5, 0.0, 30.0], [7.0, 2.0, 3.0, 1.0, 0.0]])
    return DemandModel(
        ["a", "b", "c"],
        ["v", "w", "x", "y", "z"],
        lam,
        np.array([1000.0, 50.0, 20000.0, 300.0, 7.0]),
        np.array([1.2, 0.5, 0.0, 0.8, 0.0]),
        np.array([1, 0, 0, 1, 2]),
        np.array([3.0, np.nan, np.nan, 0.7, np.nan]),
        np.array([0.2, 0.1, 0.0, 0.3, 0.1]),
        np.array([[0, 1, -1, 2, 3], [0, 1, -1, 2, 3], [4, 5, -1, -1, 6]]),
        7,
        np.array([[[0.5, 1.0, np.nan, 1.5, 1.0]] * 3, [[1.5, 1.0, np.nan, 0.5, 1.0]] * 3]),
        np.array([0.1, 0.0, 0.2, 0.3, 0.0]),
        np.array([[0, -1, 1, 2, -1], [0, -1, 1, 2, -1], [3, -1, 4, 5, -1]]),
        6,
        np.linspace(0.0, 0.6, 7),
    )


def _plain_sample(dm, n, seed, chunk=0, thresholds=(), bootstrap=False, year=0, prev_z=None):
    """The sampler written out plainly (no in-place tricks): the draws in their documented order."""
    rng = np.random.default_rng([seed, chunk] if year == 0 else [seed, chunk, 1000 + year])
    G, L = dm.lam.shape
    lam = np.broadcast_to(dm.lam, (n, G, L)).copy()
    if bootstrap:
        rel = dm.history[rng.integers(0, dm.history.shape[0], size=n)]
        lam = np.where(np.isnan(rel), lam, lam * np.nan_to_num(rel, nan=1.0))
    z = np.zeros((n, dm.n_shocks + 1))
    z[:, :-1] = rng.standard_normal(size=(n, dm.n_shocks))
    if prev_z is not None:
        z[:, :-1] = dm.persistence * prev_z + np.sqrt(1.0 - dm.persistence**2) * z[:, :-1]
    sig = np.where(dm.shock_group >= 0, np.sqrt(np.log1p(dm.shock_sd**2)), 0.0)
    lam = lam * np.exp(sig * z[:, dm.shock_group] - sig**2 / 2)
    neg = dm.dist == 1
    lam[:, :, neg] *= rng.gamma(dm.k[neg], 1.0 / dm.k[neg], size=(n, G, int(neg.sum())))
    clients = np.where(dm.dist == 2, np.round(lam), rng.poisson(lam)).astype(np.int64)
    zi = np.zeros((n, dm.n_intensity + 1))
    zi[:, :-1] = rng.standard_normal(size=(n, dm.n_intensity))
    isig = np.where(dm.intensity_group >= 0, np.sqrt(np.log1p(dm.intensity_sd**2)), 0.0)
    mean = dm.mean_cost * np.exp(isig * zi[:, dm.intensity_group] - isig**2 / 2)
    cost = clients * mean
    excess = {H: clients * np.maximum(0.0, mean - H) for H in thresholds}
    for j in np.flatnonzero(dm.cv > 0):
        counts = clients[:, :, j].ravel()
        s2 = np.log1p(dm.cv[j] ** 2)
        x = rng.standard_normal(int(counts.sum()), dtype=np.float32)
        per_client = np.exp(x * np.float32(np.sqrt(s2)) + np.float32(np.log(dm.mean_cost[j]) - s2 / 2))
        if dm.intensity_sd[j] > 0:
            per_client = per_client * np.repeat((mean[:, :, j] / dm.mean_cost[j]).ravel(), counts).astype(np.float32)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[counts > 0]
        for out, values in [(cost, per_client)] + [(excess[H], np.maximum(per_client - np.float32(H), np.float32(0))) for H in thresholds]:
            cell = np.zeros(counts.size)
            cell[counts > 0] = np.add.reduceat(values, starts, dtype=np.float64)
            out[:, :, j] = cell.reshape(n, G)
    return clients, cost, excess, z[:, :-1]


def test_pinned_streams_are_bit_identical_to_the_plain_sampler():
    """The draws of a fixed seed are pinned: a faster sampler must give the very same numbers
    (np.array_equal, not approx) as the plain one, and the counts below (first drawn with the
    sampler of issue 15's start) must not move -- a change of the streams or of their order
    fails here."""
    dm = _pinned_model()
    b = sample(dm, 40, seed=2024, chunk=3, thresholds=(500.0, 2500.0), bootstrap=True)
    clients, cost, excess, z = _plain_sample(dm, 40, 2024, 3, (500.0, 2500.0), bootstrap=True)
    assert b.clients.dtype == np.int64 and np.array_equal(b.clients, clients)
    assert np.array_equal(b.cost, cost) and np.array_equal(b.z, z)
    for H in (500.0, 2500.0):
        assert np.array_equal(b.excess(H), excess[H])
    y = sample(dm, 40, seed=2024, chunk=3, year=2, prev_z=b.z)
    yc, ycost, _, yz = _plain_sample(dm, 40, 2024, 3, year=2, prev_z=b.z)
    assert np.array_equal(y.clients, yc) and np.array_equal(y.cost, ycost) and np.array_equal(y.z, yz)
    # the streams themselves (values drawn before any speed-up)
    assert b.clients[0].tolist() == [[1, 0, 9, 1, 35], [1, 3, 0, 0, 26], [4, 3, 2, 0, 0]]
    assert int(b.clients.sum()) == 3954 and int(y.clients.sum()) == 3966
    assert b.z[0].tolist() == pytest.approx(
        [
            1.0923083899624608,
            -0.24279867365576244,
            0.061805106581516306,
            -1.1973120922112062,
            -0.13270506666207021,
            -1.5049699595529527,
            1.2417255037986212,
        ],
        rel=1e-12,
    )
    assert float(b.cost[0, 0, 0]) == pytest.approx(1072.08349609375, rel=1e-6)
    assert float(b.cost[0, 1, 1]) == pytest.approx(113.21705627441406, rel=1e-6)
    assert float(b.cost.sum()) == pytest.approx(6978533.653574673, rel=1e-6)
    assert float(b.excess(2500.0).sum()) == pytest.approx(5675768.881918638, rel=1e-6)
    assert float(y.cost.sum()) == pytest.approx(6583018.21831662, rel=1e-6)
