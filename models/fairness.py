r"""Fairness of a pooling agreement: the regional agreement as a cooperative cost game.

For a pool (its lots) in a region with members N, on the Monte Carlo scenarios s = 1..S:

    X_{i,s}   cost of gemeente i's clients in the pool's lots in scenario s
    X_{C,s}   = sum over i in C of X_{i,s}: what coalition C would carry if it pooled alone
    v(C)      = CVaR_alpha(X_C) = E[X_C] + (CVaR_alpha(X_C) - E[X_C])

v(C) is the coalition's expected cost plus the risk reserve it needs at level alpha when it
pools its risk alone, on the same scenarios. A pooling rule only redistributes the pooled cost
among the members, so v does not depend on the rule; the rule decides each member's share.
CVaR (expected shortfall) is coherent: v is subadditive, pooling never raises a coalition's
need, and the Euler allocation lies in the core (Denault 2001). The game therefore uses CVaR;
VaR is not subadditive and offers no such guarantee.

Allocations of v(N) reported per gemeente:

- **stand-alone** v({i}): what i needs alone (expected cost + reserve);
- **the rule's split** sum_s w_s charge_{i,s}: what the rule charges i in the region's tail
  scenarios (the weights w that give CVaR_alpha(X_N) = sum_s w_s X_{N,s}: the worst
  (1 - alpha) S scenarios, the boundary one counted in part); it adds up to v(N) because the
  charges add up to the pooled cost in every scenario;
- **Euler / Aumann-Shapley** sum_s w_s X_{i,s} = E[X_i | X_N in its tail]: each member's risk
  contribution (the rule's split under profijt); never above stand-alone, in the core;
- **Shapley**: the average marginal cost v(C + i) - v(C) over all orders of joining; exact
  over all 2^n coalitions up to SHAPLEY_EXACT_MAX members, above that the mean over sampled
  orders (permutations from the seed) with its standard error;
- **nucleolus**: the split that makes the largest complaint x(C) - v(C) over coalitions as small
  as possible, then the next, ... (sequential LPs on HiGHS, exhaustive up to
  NUCLEOLUS_MAX members). Only efficiency is imposed, so this is the prenucleolus; when the
  core is not empty (always for CVaR) it is the nucleolus and lies in the core.

**Core check**: the rule's split x is in the core when no coalition pays more together than it
would need alone: x(C) <= v(C) for every C. Exhaustive up to CORE_EXHAUSTIVE_MAX members;
above that a separation MIP on HiGHS finds the coalition with the largest excess over the
scenario samples: max_{z binary, t} sum_i z_i x_i - t - sum_s u_s / ((1 - alpha) S) with
u_s >= sum_i z_i X_{i,s} - t, u_s >= 0 (the Rockafellar-Uryasev form of CVaR, exact on the
samples). The most-blocking coalition and its gain (the excess) are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .reserves import var_cvar

#: Shapley exact (all 2^n coalitions) up to this many members; sampled above.
SHAPLEY_EXACT_MAX = 14
#: The core is checked over all coalitions up to this many members; by the separation MIP above.
CORE_EXHAUSTIVE_MAX = 14
#: The nucleolus is computed (sequential LPs over all coalitions) up to this many members.
NUCLEOLUS_MAX = 12
#: A coalition blocks when it pays more than this (euros) above what it needs alone.
BLOCK_TOLERANCE_EUR = 0.01
#: Coalitions evaluated per block (a [S, block] matrix of coalition sums at a time).
_BLOCK = 256


def tail_weights(x: np.ndarray, alpha: float) -> np.ndarray:
    """Weights w [S] >= 0, summing to 1, with sum_s w_s x_s = CVaR_alpha(x) as var_cvar computes
    it: 1 / ((1 - alpha) S) on the scenarios above VaR, the rest of the mass on the scenarios at
    VaR (shared equally among ties)."""
    S = len(x)
    var, _cvar = var_cvar(x, alpha)
    var = float(np.asarray(var).reshape(-1)[0])
    above = x > var
    w = np.where(above, 1.0 / ((1.0 - alpha) * S), 0.0)
    at = x == var
    rest = 1.0 - w.sum()
    if rest > 0 and at.any():
        w[at] = rest / at.sum()
    return w


def cvar_columns(Y: np.ndarray, alpha: float) -> np.ndarray:
    """CVaR_alpha of each column of Y [S, B] (as var_cvar, without a full sort)."""
    S = Y.shape[0]
    k = min(S - 1, max(0, math.ceil(round(alpha * S, 9)) - 1))
    var = np.partition(Y, k, axis=0)[k]
    return var + np.maximum(Y - var, 0.0).mean(axis=0) / (1.0 - alpha)


def all_values(X: np.ndarray, alpha: float) -> np.ndarray:
    """v(C) for every coalition C (bitmask 0 .. 2^n - 1; v(empty) = 0): CVaR of the coalition's sum."""
    S, n = X.shape
    masks = np.arange(1 << n, dtype=np.int64)
    v = np.zeros(1 << n)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(X.dtype)  # [2^n, n]
    for a in range(1, 1 << n, _BLOCK):
        b = min(1 << n, a + _BLOCK)
        v[a:b] = cvar_columns(X @ bits[a:b].T, alpha)
    return v


def shapley_exact(v: np.ndarray, n: int) -> np.ndarray:
    """phi_i = sum over C not holding i of |C|! (n - |C| - 1)! / n! (v(C + i) - v(C))."""
    masks = np.arange(1 << n, dtype=np.int64)
    size = np.array([bin(m).count("1") for m in range(1 << n)])
    weight = np.array([math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) if k < n else 0.0 for k in range(n + 1)])
    phi = np.zeros(n)
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = float(np.sum(weight[size[without]] * (v[without | (1 << i)] - v[without])))
    return phi


def shapley_sampled(X: np.ndarray, alpha: float, permutations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley by sampled orders of joining (antithetic pairs: each order and its reverse), with
    the standard error of each member's mean; every sampled order adds up to v(N) exactly."""
    S, n = X.shape
    rng = np.random.default_rng([seed, 2])
    pairs = max(1, permutations // 2)
    contrib = np.zeros((pairs, n))
    for p in range(pairs):
        order = rng.permutation(n)
        both = np.zeros(n)
        for perm in (order, order[::-1]):
            prefix = np.cumsum(X[:, perm], axis=1)  # [S, n]: the coalition after each joins
            vals = cvar_columns(prefix, alpha)
            marg = np.diff(np.r_[0.0, vals])
            both[perm] += marg / 2.0
        contrib[p] = both
    phi = contrib.mean(axis=0)
    se = contrib.std(axis=0, ddof=1) / math.sqrt(pairs) if pairs > 1 else np.full(n, np.nan)
    return phi, se


@dataclass
class CoreCheck:
    in_core: bool
    method: str  # "exhaustive (2^n coalitions)" | "separation MIP (HiGHS)"
    blocking: list[tuple[tuple[int, ...], float, float]]  # (members, x(C), v(C)), largest excess first
    max_excess: float


def core_check_exhaustive(x: np.ndarray, v: np.ndarray, n: int, keep: int = 10) -> CoreCheck:
    masks = np.arange(1, (1 << n) - 1, dtype=np.int64)  # proper, non-empty coalitions
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(float)
    xs = bits @ x
    excess = xs - v[masks]
    order = np.argsort(-excess, kind="stable")
    blocking = [
        (tuple(int(j) for j in np.flatnonzero(bits[k])), float(xs[k]), float(v[masks[k]]))
        for k in order[:keep]
        if excess[k] > BLOCK_TOLERANCE_EUR
    ]
    mx = float(excess.max()) if len(excess) else 0.0
    return CoreCheck(not blocking, f"exhaustive ({len(masks):,} coalitions)", blocking, mx)


def core_check_mip(x: np.ndarray, X: np.ndarray, alpha: float) -> CoreCheck:
    """The coalition with the largest excess x(C) - v(C), by a MIP over the samples."""
    from verdeelmodel.solvers.highs import solve_milp

    S, n = X.shape
    c_u = 1.0 / ((1.0 - alpha) * S)
    # columns: z_0..z_{n-1} (binary), t (free), u_0..u_{S-1} >= 0; maximise sum x_i z_i - t - c_u sum u
    cost = -np.r_[x, -1.0, np.full(S, -c_u)]  # minimise the negative
    lower = np.r_[np.zeros(n), -np.inf, np.zeros(S)]
    upper = np.r_[np.ones(n), np.inf, np.full(S, np.inf)]
    # rows: u_s - sum_i X_is z_i + t >= 0 ; and sum z >= 1, sum z <= n - 1 (a proper coalition)
    rows, cols, vals = [], [], []
    for i in range(n):
        rows.append(np.arange(S))
        cols.append(np.full(S, i))
        vals.append(-X[:, i])
    rows += [np.arange(S), np.arange(S)]
    cols += [np.full(S, n), n + 1 + np.arange(S)]
    vals += [np.ones(S), np.ones(S)]
    rows.append(np.full(n, S))
    cols.append(np.arange(n))
    vals.append(np.ones(n))
    r, c, v_ = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    row_lo = np.r_[np.zeros(S), 1.0]
    row_hi = np.r_[np.full(S, np.inf), n - 1.0]
    integer = np.r_[np.ones(n, dtype=bool), np.zeros(1 + S, dtype=bool)]
    status, sol = solve_milp(cost, lower, upper, r, c, v_, row_lo, row_hi, integer)
    if status != "optimal":
        raise RuntimeError(f"the core separation MIP ended {status}")
    z = np.round(sol[:n]).astype(int)
    members = tuple(int(j) for j in np.flatnonzero(z))
    xs = float(x[list(members)].sum())
    vC = float(cvar_columns(X[:, list(members)].sum(1, keepdims=True), alpha)[0])
    ex = xs - vC
    blocking = [(members, xs, vC)] if ex > BLOCK_TOLERANCE_EUR else []
    return CoreCheck(not blocking, "separation MIP (HiGHS) over the scenario samples", blocking, ex)


def nucleolus(v: np.ndarray, n: int) -> np.ndarray:
    """The (pre)nucleolus of the cost game v by sequential LPs (Maschler-Peleg-Shapley): minimise
    the largest excess x(C) - v(C); fix the coalitions whose excess is at that level in every
    optimal solution (a positive dual); repeat on the others until x is determined."""
    from verdeelmodel.solvers.highs import solve_lp

    masks = np.arange(1, (1 << n) - 1, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(float)
    free = np.ones(len(masks), dtype=bool)
    fixed_rows: list[np.ndarray] = [np.ones(n)]
    fixed_rhs: list[float] = [float(v[(1 << n) - 1])]
    for _ in range(len(masks) + 1):
        basis = np.array(fixed_rows)
        if np.linalg.matrix_rank(basis) == n:
            break
        # drop coalitions whose incidence is already determined (in the span of the fixed rows)
        idx = np.flatnonzero(free)
        proj = bits[idx] @ np.linalg.pinv(basis) @ basis
        determined = np.all(np.abs(proj - bits[idx]) < 1e-9, axis=1)
        free[idx[determined]] = False
        idx = np.flatnonzero(free)
        if not len(idx):
            break
        # variables x_0..x_{n-1}, eps; minimise eps: x(C) - eps <= v(C) (free C), fixed rows x(C) = rhs
        A = np.vstack([np.c_[bits[idx], -np.ones(len(idx))], np.c_[basis, np.zeros(len(basis))]])
        lo = np.r_[np.full(len(idx), -np.inf), fixed_rhs]
        hi = np.r_[v[masks[idx]], fixed_rhs]
        cost = np.r_[np.zeros(n), 1.0]
        status, sol, row_dual = solve_lp(cost, np.full(n + 1, -np.inf), np.full(n + 1, np.inf), A, lo, hi)
        if status != "optimal":
            raise RuntimeError(f"a nucleolus LP ended {status}")
        eps = sol[n]
        tight = np.abs(row_dual[: len(idx)]) > 1e-9
        if not tight.any():  # numerically no positive dual: fix the coalitions at the level
            tight = np.abs(bits[idx] @ sol[:n] - v[masks[idx]] - eps) < 1e-7
        for k in idx[tight]:
            fixed_rows.append(bits[k])
            fixed_rhs.append(float(v[masks[k]] + eps))
            free[k] = False
    basis, rhs = np.array(fixed_rows), np.array(fixed_rhs)
    x, *_ = np.linalg.lstsq(basis, rhs, rcond=None)
    return x


@dataclass
class GameResult:
    """One game: a pool's members in one region, one rule set."""

    members: list[str]
    value_all: float  # v(N)
    stand_alone: np.ndarray
    rule_split: np.ndarray
    rule_own: np.ndarray  # CVaR of each member's own charge under the rule (its reserve if it holds one alone)
    euler: np.ndarray
    shapley: np.ndarray
    shapley_se: np.ndarray  # 0 when exact
    shapley_method: str
    nucleolus: np.ndarray | None
    core: CoreCheck
    expected: np.ndarray  # E[X_i]
    expected_charge: np.ndarray  # E[charge_i]


def play(X: np.ndarray, charge: np.ndarray, alpha: float, members: list[str], seed: int = 0, permutations: int = 2000) -> GameResult:
    """The game of members with pooled costs X [S, n] and the rule's charges [S, n]."""
    S, n = X.shape
    total = X.sum(axis=1)
    w = tail_weights(total, alpha)
    _v, stand = var_cvar(X, alpha)
    _v, own = var_cvar(charge, alpha)
    vN = float(w @ total)
    split = w @ charge
    euler = w @ X
    v = all_values(X, alpha) if n <= max(SHAPLEY_EXACT_MAX, CORE_EXHAUSTIVE_MAX, NUCLEOLUS_MAX) else None
    if n <= SHAPLEY_EXACT_MAX:
        phi, phi_se, how = shapley_exact(v, n), np.zeros(n), f"exact over {1 << n:,} coalitions"
    else:
        phi, phi_se = shapley_sampled(X, alpha, permutations, seed)
        how = f"sampled: {2 * max(1, permutations // 2):,} orders (antithetic pairs), with standard errors"
    core = core_check_exhaustive(split, v, n) if n <= CORE_EXHAUSTIVE_MAX else core_check_mip(split, X, alpha)
    nuc = nucleolus(v, n) if n <= NUCLEOLUS_MAX and n >= 2 else (np.array([vN]) if n == 1 else None)
    return GameResult(
        members,
        vN,
        np.asarray(stand, dtype=float),
        split,
        np.asarray(own, dtype=float),
        euler,
        phi,
        phi_se,
        how,
        nuc,
        core,
        X.mean(axis=0),
        charge.mean(axis=0),
    )


# --------------------------------------------------------------------------- on an instance


@dataclass
class PoolGame:
    pool: str
    region: str
    rule_set: str  # "agreed" or a candidate rule
    rule: str  # the rule the region applies in it
    game: GameResult


def instance_games(
    inst,
    planned_cost: np.ndarray,
    scenarios: int,
    seed: int,
    alpha: float,
    candidates: list[str] | None = None,
    pools: list[str] | None = None,
    substitutions=None,
    permutations: int = 2000,
    chunk: int = 1000,
    progress=None,
) -> list[PoolGame]:
    """One game per pool x region x rule set (the agreed rule and each candidate), on the same
    scenarios as the reserves (models/reserves.py: the plan's substitution applied)."""
    from .pooling import check_pool_names, pool_charges, pool_setups, rules_of
    from .reserves import RuleSet, _thresholds, plan_view
    from .scenarios import demand_model, sample

    dm = demand_model(inst)
    setups = pool_setups(inst)
    if pools:
        check_pool_names(setups, pools)
        setups = [s for s in setups if s.ctx.pool in pools]
    rules = rules_of(inst)
    names_of = {"agreed": [list(s.agreed) for s in setups]}
    for c in candidates or []:
        if c not in ("agreed", "profijt"):
            names_of[c] = [[c] * len(s.ctx.regions) for s in setups]
    thresholds = _thresholds(rules, [RuleSet(k, v) for k, v in names_of.items()])
    view = plan_view(inst, dm, planned_cost, substitutions)
    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    lpos = {l: j for j, l in enumerate(dm.lots)}
    X = [[] for _ in setups]
    charges = {k: [[] for _ in setups] for k in names_of}
    done, c = 0, 0
    while done < scenarios:
        n = min(chunk, scenarios - done)
        batch = sample(dm, n, seed, c, thresholds)
        cost, excess = view.apply(batch.cost, batch._excess if thresholds else None)
        for k, s in enumerate(setups):
            gi = np.array([gpos[g] for g in s.ctx.gemeenten])
            li = np.array([lpos[l] for l in s.ctx.lots])
            C = cost[:, gi][:, :, li]
            X[k].append(C.sum(-1))
            for name, per in names_of.items():

                def fn(rule, sub, li=li, excess=excess):
                    rows = [gpos[g] for g in sub.gemeenten]
                    return excess[float(rule.threshold_eur)][:, rows][:, :, li].sum(-1)

                ch = pool_charges(s.ctx, per[k], rules, C, fn if excess is not None else None)
                charges[name][k].append(ch.charge)
        done += n
        c += 1
        if progress is not None:
            progress(done, scenarios)
    out = []
    for k, s in enumerate(setups):
        Xk = np.concatenate(X[k])
        for r_idx, region in enumerate(s.ctx.regions):
            members = np.flatnonzero(np.asarray(s.ctx.region_index) == r_idx)
            names = [s.ctx.gemeenten[i] for i in members]
            for name, per in names_of.items():
                if name != "agreed" and per[k][r_idx] == s.agreed[r_idx]:
                    continue  # a candidate that is this region's agreed rule: the same game
                ch = np.concatenate(charges[name][k])[:, members]
                g = play(Xk[:, members], ch, alpha, names, seed=seed, permutations=permutations)
                out.append(PoolGame(s.ctx.pool, region, name, per[k][r_idx], g))
    return out
