"""Risicoverevening (models/pooling.py): properties over thousands of random pools.

Random contexts (1-4 regions of 1-6 gemeenten, 1-3 lots, random keys, history, expectations and
tariffs), random rules of every kind and random costs (with zeros, whole regions without cost,
magnitudes from cents to billions, leading scenario axes). Fixed seeds: every run is the same.

* conservation: per region, the charges add up to what the region pays -- T, T + F
  (vast_variabel fixed_eur) or max(T, M) (onderbenutting) -- within 1e-9 relative;
* fund and pool payouts equal the contributions per region; payouts never exceed claims or the cap;
* profijt charges the own cost; no rule charges a negative amount;
* linear rules: evaluate() equals the LinearCharge coefficients applied by hand;
* solidariteit, uitgesteld_profijt and mixed with w_own = 0 only see the region totals;
* regions never see each other's costs; leading scenario axes equal per-scenario evaluation.
"""

from __future__ import annotations

import numpy as np
import pytest

from verdeelmodel.models.pooling import BASES, KINDS, PROFIJT, PoolContext, Rule, evaluate, is_linear, linear_charge

CASES = 400  # random contexts per rule kind
RTOL = 1e-9


# --------------------------------------------------------------------------- random data


def random_ctx(rng: np.random.Generator, max_regions: int = 4) -> PoolContext:
    R = int(rng.integers(1, max_regions + 1))
    sizes = rng.integers(1, 7, size=R)
    ridx = np.repeat(np.arange(R), sizes)
    G, L = len(ridx), int(rng.integers(1, 4))

    def amounts(scale: float) -> np.ndarray:
        a = rng.uniform(0, scale, G) * (rng.uniform(size=G) > 0.2)  # some gemeenten weigh nothing
        for r in range(R):  # ... but every region has weight
            idx = np.flatnonzero(ridx == r)
            if a[idx].sum() <= 0:
                a[idx[0]] = scale / 2
        return a

    inh = rng.integers(100, 200_000, G).astype(float)
    raw = {"inhabitants": inh, "iu": amounts(1e7), "budget": amounts(1e7), "reference": amounts(1e7)}
    hist = {(y, m): amounts(100.0 if m == "clients" else 1e6) for y in (1, 2, 3) for m in ("clients", "cost_eur")}
    tariff = 10 ** rng.uniform(1, 5, L)
    exp_by_lot = rng.uniform(0, 1e6, (G, L)) * (rng.uniform(size=(G, L)) > 0.3)
    return PoolContext(
        "p",
        tuple(f"l{j}" for j in range(L)),
        "jeugd",
        [f"R{r}" for r in range(R)],
        [f"g{i}" for i in range(G)],
        ridx,
        inh,
        raw,
        exp_by_lot.sum(1),
        exp_by_lot,
        tariff,
        hist,
    )


def random_cost(rng: np.random.Generator, ctx: PoolContext, lead: tuple[int, ...] = ()) -> np.ndarray:
    shape = lead + (ctx.n, len(ctx.lots))
    scale = 10 ** rng.uniform(0, 9)
    c = rng.uniform(0, scale, shape) * (rng.uniform(size=shape) > 0.3)
    if rng.uniform() < 0.15:  # a whole region without cost
        c[..., ctx.region_index == rng.integers(len(ctx.regions)), :] = 0.0
    if rng.uniform() < 0.05:
        c[...] = 0.0
    return c


def random_rule(rng: np.random.Generator, kind: str) -> Rule:
    basis = str(rng.choice(BASES))
    common = dict(basis=basis, years=int(rng.integers(1, 4)), history_measure=str(rng.choice(["clients", "cost_eur"])))
    if kind == "profijt":
        return PROFIJT
    if kind in ("solidariteit", "uitgesteld_profijt"):
        return Rule(kind, kind, **common)
    if kind == "vast_variabel":
        if rng.uniform() < 0.5:
            return Rule(kind, kind, fixed_eur=float(rng.choice([0.0, 10 ** rng.uniform(0, 8)])), **common)
        return Rule(kind, kind, fixed_share=float(rng.choice([0.0, 1.0, rng.uniform()])), **common)
    if kind == "onderbenutting":
        gb = str(rng.choice(["inhabitants", "budget", "surcharge"]))
        return Rule(kind, kind, minimum_eur=float(rng.choice([0.0, 10 ** rng.uniform(0, 10)])), gap_basis=gb, **common)
    if kind == "mixed":
        w = rng.dirichlet(np.ones(6)) * (rng.uniform(size=6) > 0.4)
        if w[1:].sum() == 0:
            w[1 + rng.integers(5)] = rng.uniform(0.1, 1)
        w = w / w.sum()
        return Rule(kind, kind, w_own=w[0], **{f"w_{b}": w[i + 1] for i, b in enumerate(BASES)}, **common)
    if kind == "high_cost_pool":
        return Rule(
            kind, kind, threshold_eur=float(10 ** rng.uniform(0, 5)), pool_share=float(rng.choice([0.0, 1.0, rng.uniform()])), **common
        )
    if kind == "threshold_fund":
        cap = None if rng.uniform() < 0.4 else float(rng.choice([0.0, 10 ** rng.uniform(0, 9)]))
        return Rule(
            kind,
            kind,
            fund_threshold_eur_per_inhabitant=float(rng.choice([0.0, rng.uniform(0, 50)])),
            fund_cap_eur=cap,
            compensation_share=float(rng.choice([1.0, rng.uniform()])),
            **common,
        )
    raise AssertionError(kind)


def region_pays(rule: Rule, T: np.ndarray) -> np.ndarray:
    """What each region pays for the pool (module docstring), from the region totals T [..., R]."""
    if rule.kind == "vast_variabel" and rule.fixed_share is None:
        return T + rule.fixed_eur
    if rule.kind == "onderbenutting":
        return np.maximum(T, rule.minimum_eur)
    return T


def per_region(ctx: PoolContext, x: np.ndarray) -> np.ndarray:
    """[..., G] -> [..., R] by explicit masks (independent of ctx.total)."""
    return np.stack([x[..., ctx.region_index == r].sum(-1) for r in range(len(ctx.regions))], -1)


def assert_close(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * (1.0 + scale))


def cases(kind: str, n: int = CASES):
    """(rng, ctx, rule, cost [..., G, L], excess or None) for n random cases of a kind."""
    for seed in range(n):
        rng = np.random.default_rng([KINDS.index(kind), seed])
        ctx = random_ctx(rng)
        rule = random_rule(rng, kind)
        lead = [(), (3,), (2, 3)][seed % 3]
        cost = random_cost(rng, ctx, lead)
        excess = None
        if kind == "high_cost_pool" and rng.uniform() < 0.5:
            excess = cost.sum(-1) * rng.uniform(0, 1, cost.shape[:-1])  # the excess above H is part of the cost
        yield rng, ctx, rule, cost, excess


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("kind", KINDS)
def test_conservation(kind):
    for _rng, ctx, rule, cost, excess in cases(kind):
        ch = evaluate(rule, ctx, cost, excess)
        C = cost.sum(-1)
        T = per_region(ctx, C)
        scale = float(np.abs(cost).sum()) + (rule.fixed_eur or 0) + (rule.minimum_eur or 0)
        expected = region_pays(rule, T)
        assert ch.charge.shape == C.shape and ch.pooled_total.shape == T.shape
        assert_close(ch.pooled_total, expected, scale)
        assert_close(per_region(ctx, ch.charge), expected, scale)
        assert np.all(np.isfinite(ch.charge))
        # no rule charges a negative amount (costs >= 0, excess <= cost)
        assert ch.charge.min() >= -RTOL * (1 + scale)


@pytest.mark.parametrize("kind", ["high_cost_pool", "threshold_fund"])
def test_payouts_equal_contributions(kind):
    for _rng, ctx, rule, cost, excess in cases(kind):
        ch = evaluate(rule, ctx, cost, excess)
        scale = float(cost.sum())
        assert_close(per_region(ctx, ch.payout), per_region(ctx, ch.contribution), scale)
        assert ch.payout.min() >= 0 and ch.contribution.min() >= -RTOL * (1 + scale)
        assert_close(ch.charge, cost.sum(-1) - ch.payout + ch.contribution, scale)
        if kind == "threshold_fund":
            deficit = cost.sum(-1) - ctx.expected_eur
            claim = rule.compensation_share * np.maximum(0.0, deficit - rule.fund_threshold_eur_per_inhabitant * ctx.inhabitants)
            assert np.all(ch.payout <= claim + RTOL * (1 + scale))
            fund = per_region(ctx, ch.payout)
            if rule.fund_cap_eur is not None:
                assert np.all(fund <= rule.fund_cap_eur * (1 + RTOL) + RTOL)
                # the fund is as large as the claims allow: min(sum of claims, cap)
                assert_close(fund, np.minimum(per_region(ctx, claim), rule.fund_cap_eur), scale)
            else:
                assert_close(fund, per_region(ctx, claim), scale)


def test_profijt_charges_own_cost():
    for _rng, ctx, rule, cost, _excess in cases("profijt"):
        ch = evaluate(rule, ctx, cost)
        np.testing.assert_array_equal(ch.charge, cost.sum(-1))


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "threshold_fund"])
def test_linear_rules_follow_their_coefficients(kind):
    """evaluate() = sum_l own_l C_gl + key_g sum_l shared_l T_Rl + constant_g + gap_key_g max(0, M - T_R), by loops."""
    for _rng, ctx, rule, cost, _excess in cases(kind, CASES // 4):
        if not is_linear(rule):
            continue
        lc = linear_charge(rule, ctx)
        np.testing.assert_allclose(lc.own + lc.shared, 1.0, rtol=1e-12)
        assert np.all(lc.own >= 0) and np.all(lc.shared >= 0)
        for r in range(len(ctx.regions)):  # keys add up to 1 (or 0 when unused) per region; constants to F
            m = ctx.region_index == r
            assert lc.key[m].sum() == pytest.approx(1.0) or not lc.key.any()
            assert lc.constant[m].sum() == pytest.approx(
                rule.fixed_eur if rule.kind == "vast_variabel" and rule.fixed_share is None else 0.0
            )
        flat = cost.reshape(-1, ctx.n, len(ctx.lots))
        got = evaluate(rule, ctx, cost).charge.reshape(-1, ctx.n)
        for s in range(flat.shape[0]):
            c = flat[s]
            want = np.zeros(ctx.n)
            for g in range(ctx.n):
                members = np.flatnonzero(ctx.region_index == ctx.region_index[g])
                T_Rl = c[members].sum(0)
                want[g] = sum(lc.own[l] * c[g, l] + lc.key[g] * lc.shared[l] * T_Rl[l] for l in range(len(ctx.lots))) + lc.constant[g]
                if lc.gap_minimum is not None:
                    want[g] += lc.gap_key[g] * max(0.0, lc.gap_minimum - T_Rl.sum())
            assert_close(got[s], want, float(c.sum()) + (rule.minimum_eur or 0))


@pytest.mark.parametrize("kind", ["solidariteit", "uitgesteld_profijt", "mixed", "vast_variabel"])
def test_only_region_totals_matter_without_own_part(kind):
    """With w_own = 0 (fixed_share = 1) the charges depend on the region totals, not on who used the care."""
    n = 0
    for rng, ctx, rule, cost, _excess in cases(kind):
        if kind == "mixed":
            w = {f"w_{b}": getattr(rule, f"w_{b}") for b in BASES}
            tot = sum(w.values())
            rule = Rule(
                "m", "mixed", years=rule.years, history_measure=rule.history_measure, w_own=0.0, **{k: v / tot for k, v in w.items()}
            )
        if kind == "vast_variabel":
            rule = Rule("v", "vast_variabel", basis=rule.basis, years=rule.years, history_measure=rule.history_measure, fixed_share=1.0)
        # split each region's per-lot total over its gemeenten at random
        moved = np.zeros_like(cost)
        for r in range(len(ctx.regions)):
            m = ctx.region_index == r
            w = rng.dirichlet(np.ones(m.sum()), size=cost.shape[:-2] + (len(ctx.lots),))  # [..., L, Gr]
            moved[..., m, :] = np.swapaxes(w, -1, -2) * cost[..., m, :].sum(-2, keepdims=True)
        a, b = evaluate(rule, ctx, cost).charge, evaluate(rule, ctx, moved).charge
        assert_close(a, b, float(cost.sum()))
        n += 1
    assert n == CASES


@pytest.mark.parametrize("kind", KINDS)
def test_regions_never_cross(kind):
    for rng, ctx, rule, cost, excess in cases(kind, CASES // 4):
        if len(ctx.regions) < 2:
            continue
        r = int(rng.integers(len(ctx.regions)))
        m = ctx.region_index == r
        other = cost.copy()
        other[..., m, :] = rng.uniform(0, 1e6, other[..., m, :].shape)
        ex2 = None
        if excess is not None:
            ex2 = excess.copy()
            ex2[..., m] = other[..., m, :].sum(-1) * 0.5
        a, b = evaluate(rule, ctx, cost, excess), evaluate(rule, ctx, other, ex2)
        np.testing.assert_array_equal(a.charge[..., ~m], b.charge[..., ~m])
        np.testing.assert_array_equal(np.delete(a.pooled_total, r, -1), np.delete(b.pooled_total, r, -1))


@pytest.mark.parametrize("kind", KINDS)
def test_scenario_axes_equal_per_scenario(kind):
    for _rng, ctx, rule, cost, excess in cases(kind, CASES // 4):
        if cost.ndim == 2:
            continue
        big = evaluate(rule, ctx, cost, excess)
        for idx in np.ndindex(cost.shape[:-2]):
            one = evaluate(rule, ctx, cost[idx], None if excess is None else excess[idx])
            for f in ("charge", "pooled_total", "payout", "contribution"):
                np.testing.assert_allclose(getattr(big, f)[idx], getattr(one, f), rtol=1e-12, atol=1e-6)


def test_one_region_context_equals_its_part_of_a_larger_one():
    """A region evaluated alone gets the same charges as inside a multi-region context."""
    for seed in range(CASES // 4):
        rng = np.random.default_rng([99, seed])
        ctx = random_ctx(rng)
        kind = KINDS[seed % len(KINDS)]
        rule = random_rule(rng, kind)
        cost = random_cost(rng, ctx)
        r = int(rng.integers(len(ctx.regions)))
        m = ctx.region_index == r
        sub = PoolContext(
            ctx.pool,
            ctx.lots,
            ctx.domain,
            [ctx.regions[r]],
            [g for g, k in zip(ctx.gemeenten, m) if k],
            np.zeros(m.sum(), int),
            ctx.inhabitants[m],
            {b: v[m] for b, v in ctx.raw_keys.items()},
            ctx.expected_eur[m],
            ctx.expected_by_lot[m],
            ctx.tariff,
            {k: v[m] for k, v in ctx.history.items()},
        )
        np.testing.assert_allclose(evaluate(rule, ctx, cost).charge[m], evaluate(rule, sub, cost[m]).charge, rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_order_of_gemeenten_does_not_matter(kind):
    """Shuffling the members (so regions are no longer contiguous slices) permutes the charges."""
    for rng, ctx, rule, cost, excess in cases(kind, CASES // 8):
        p = rng.permutation(ctx.n)
        shuffled = PoolContext(
            ctx.pool,
            ctx.lots,
            ctx.domain,
            ctx.regions,
            [ctx.gemeenten[i] for i in p],
            ctx.region_index[p],
            ctx.inhabitants[p],
            {b: v[p] for b, v in ctx.raw_keys.items()},
            ctx.expected_eur[p],
            ctx.expected_by_lot[p],
            ctx.tariff,
            {k: v[p] for k, v in ctx.history.items()},
        )
        a = evaluate(rule, ctx, cost, excess)
        b = evaluate(rule, shuffled, cost[..., p, :], None if excess is None else excess[..., p])
        scale = float(cost.sum()) + (rule.fixed_eur or 0) + (rule.minimum_eur or 0)
        for f in ("charge", "payout", "contribution"):
            assert_close(getattr(b, f), getattr(a, f)[..., p], scale)
        assert_close(b.pooled_total, a.pooled_total, scale)
