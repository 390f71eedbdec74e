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
import time
from dataclasses import dataclass, field

import numpy as np

from .reserves import var_cvar

#: Shapley exact (all 2^n coalitions) up to this many members; sampled above (all 2^16 coalition
#: values over 10,000 scenarios take ~6 s; 2^20 would take ~100 s).
SHAPLEY_EXACT_MAX = 16
#: The core is checked over all coalitions up to this many members; by the separation MIP above.
CORE_EXHAUSTIVE_MAX = 16
#: The nucleolus is computed (sequential LPs over all coalitions) up to this many members.
NUCLEOLUS_MAX = 16
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
    return cvar_rows(np.ascontiguousarray(Y.T), alpha)


def cvar_rows(Y: np.ndarray, alpha: float) -> np.ndarray:
    """CVaR_alpha of each row of Y [B, S] (C order: each row's samples contiguous, the fast layout)."""
    S = Y.shape[1]
    k = min(S - 1, max(0, math.ceil(round(alpha * S, 9)) - 1))
    var = np.partition(Y, k, axis=1)[:, k]
    return var + np.maximum(Y - var[:, None], 0.0).mean(axis=1) / (1.0 - alpha)


def all_values(X: np.ndarray, alpha: float) -> np.ndarray:
    """v(C) for every coalition C (bitmask 0 .. 2^n - 1; v(empty) = 0): CVaR of the coalition's sum."""
    S, n = X.shape
    XT = np.ascontiguousarray(X.T)
    masks = np.arange(1 << n, dtype=np.int64)
    v = np.zeros(1 << n)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(X.dtype)  # [2^n, n]
    for a in range(1, 1 << n, _BLOCK):
        b = min(1 << n, a + _BLOCK)
        v[a:b] = cvar_rows(bits[a:b] @ XT, alpha)
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
    XT = np.ascontiguousarray(X.T)
    rng = np.random.default_rng([seed, 2])
    pairs = max(1, permutations // 2)
    contrib = np.zeros((pairs, n))
    for p in range(pairs):
        order = rng.permutation(n)
        both = np.zeros(n)
        for perm in (order, order[::-1]):
            prefix = np.cumsum(XT[perm], axis=0)  # [n, S]: the coalition after each joins
            vals = cvar_rows(prefix, alpha)
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
    excess_se: list[float] = field(default_factory=list)  # Monte Carlo standard error of each blocking excess


def excess_se(charge: np.ndarray, X: np.ndarray, alpha: float, members: tuple[int, ...], batches: int = 20) -> float:
    """Batch-means standard error of a group's excess x(C) - v(C) (the rule's split in the
    region's tail minus the group's CVaR), as the reserves' figures get theirs: the scenarios cut
    into ``batches`` consecutive batches, the excess computed on each."""
    S = X.shape[0]
    if S < 10 * batches:
        return math.nan
    cols = list(members)
    edges = np.linspace(0, S, batches + 1).astype(int)
    vals = []
    for a, b in zip(edges[:-1], edges[1:]):
        w = tail_weights(X[a:b].sum(1), alpha)
        xs = float(w @ charge[a:b, cols].sum(1))
        vals.append(xs - float(cvar_rows(X[a:b, cols].sum(1)[None, :], alpha)[0]))
    return float(np.std(vals, ddof=1) / math.sqrt(batches))


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


def _excess(x: np.ndarray, X: np.ndarray, alpha: float, C: np.ndarray) -> float:
    if not C.any() or C.all():
        return -math.inf
    return float(x[C].sum() - cvar_columns(X[:, C].sum(1, keepdims=True), alpha)[0])


def best_coalition_local(x: np.ndarray, X: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """A coalition with a large excess x(C) - v(C), by greedy addition and then single flips
    until no flip improves (a heuristic: the MIP's first incumbent)."""
    n = len(x)
    C = np.zeros(n, dtype=bool)
    best = -math.inf
    while True:  # greedy: add the member that raises the excess most
        cand = [(i, _excess(x, X, alpha, C | (np.arange(n) == i))) for i in np.flatnonzero(~C)]
        cand = [(i, e) for i, e in cand if e > -math.inf]
        if not cand:
            break
        i, e = max(cand, key=lambda t: (t[1], -t[0]))
        if e <= best and C.any():
            break
        C[i], best = True, e
    improved = True
    while improved:  # single flips
        improved = False
        for i in range(n):
            D = C.copy()
            D[i] = not D[i]
            e = _excess(x, X, alpha, D)
            if e > best + 1e-9:
                C, best, improved = D, e, True
    return C, best


def _tail(y: np.ndarray, alpha: float) -> np.ndarray:
    """The scenarios at or above VaR_alpha of y (those CVaR averages)."""
    var = float(np.asarray(var_cvar(y, alpha)[0]).reshape(-1)[0])
    return np.flatnonzero(y >= var)


def _separation_mip(x, X, alpha, keep, start_C, cutoff) -> tuple[str, np.ndarray | None, float]:
    """max over proper coalitions z and t of x z - t - c sum_{s in keep} (X_s z - t)+, with
    c = 1 / ((1 - alpha) S) for the full S: dropping scenarios only lowers the CVaR term, so the
    optimum bounds the true largest excess from above. (status, z, optimum)."""
    from verdeelmodel.solvers.highs import solve_milp

    S, n = X.shape
    K = len(keep)
    Xk = X[keep]
    c_u = 1.0 / ((1.0 - alpha) * S)
    t_hi = float(np.asarray(var_cvar(X.sum(1), alpha)[0]).reshape(-1)[0])
    # columns: z_0..z_{n-1} (binary), t in [0, VaR(X_N)] (the VaR of any coalition lies there:
    # costs are >= 0 and X_C <= X_N), u_k >= 0; minimise -(x z - t - c_u sum u)
    cost = np.r_[-x, 1.0, np.full(K, c_u)]
    lower = np.r_[np.zeros(n), 0.0, np.zeros(K)]
    upper = np.r_[np.ones(n), t_hi, np.full(K, np.inf)]
    rows = [np.repeat(np.arange(K), n), np.arange(K), np.arange(K), np.full(n, K)]
    cols = [np.tile(np.arange(n), K), np.full(K, n), n + 1 + np.arange(K), np.arange(n)]
    vals = [-Xk.ravel(), np.ones(K), np.ones(K), np.ones(n)]
    row_lo = np.r_[np.zeros(K), 1.0]
    row_hi = np.r_[np.full(K, np.inf), n - 1.0]
    integer = np.r_[np.ones(n, dtype=bool), np.zeros(1 + K, dtype=bool)]
    start = None
    if start_C is not None:
        y = Xk[:, start_C].sum(1)
        t0 = min(t_hi, max(0.0, float(np.asarray(var_cvar(X[:, start_C].sum(1), alpha)[0]).reshape(-1)[0])))
        start = np.r_[start_C.astype(float), t0, np.maximum(y - t0, 0.0)]
    options = {"presolve": "off", "objective_bound": -cutoff}
    status, sol = solve_milp(
        cost,
        lower,
        upper,
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        row_lo,
        row_hi,
        integer,
        start=start,
        options=options,
    )
    if status != "optimal":
        return status, None, math.nan
    z = np.round(sol[:n]).astype(bool)
    return status, z, float(-(cost @ sol))


def core_check_mip(x: np.ndarray, X: np.ndarray, alpha: float) -> CoreCheck:
    """The coalition with the largest excess x(C) - v(C), by a MIP over the samples, with the
    scenarios added as they are needed (row generation).

    It starts from the local search's coalition and from the scenarios in the tails of the
    region and of that coalition. Each round the MIP over the kept scenarios bounds the largest
    excess from above (fewer scenarios, lower CVaR); its coalition's true excess (all
    scenarios) bounds it from below. When they meet the coalition is the most-blocking one;
    otherwise that coalition's tail scenarios are added. Branches that cannot exceed
    BLOCK_TOLERANCE_EUR are pruned (HiGHS objective_bound), so a split in the core is proved
    without enumerating. HiGHS presolve is off (on this model it costs more than it saves)."""
    S, n = X.shape
    C0, e0 = best_coalition_local(x, X, alpha)
    keep = np.union1d(_tail(X.sum(1), alpha), _tail(X[:, C0].sum(1), alpha))
    best_C, best_e = C0, e0
    how = "separation MIP (HiGHS) over the scenario samples"
    rounds = 0
    while True:
        rounds += 1
        if rounds > 50:
            raise RuntimeError("the core separation did not converge in 50 rounds")
        cutoff = max(BLOCK_TOLERANCE_EUR, best_e)
        status, z, bound = _separation_mip(x, X, alpha, keep, best_C if best_e > BLOCK_TOLERANCE_EUR else None, cutoff)
        if status in ("infeasible", "objective_bound"):  # no coalition above the cutoff: best_C is optimal
            break
        if status != "optimal":
            raise RuntimeError(f"the core separation MIP ended {status}")
        e = _excess(x, X, alpha, z)
        if e > best_e:
            best_C, best_e = z, e
        if bound <= best_e + 1e-6 * max(1.0, abs(best_e)):
            break
        keep = np.union1d(keep, _tail(X[:, z].sum(1), alpha))
    how += f" ({rounds} round{'s' if rounds > 1 else ''}, {len(keep):,} of {S:,} scenarios kept)"
    if best_e <= BLOCK_TOLERANCE_EUR:
        return CoreCheck(True, how + f"; the largest excess found is {best_e:,.2f}", [], best_e)
    members = tuple(int(j) for j in np.flatnonzero(best_C))
    xs = float(x[list(members)].sum())
    return CoreCheck(False, how, [(members, xs, xs - best_e)], best_e)


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
        rank = np.linalg.matrix_rank(np.array(fixed_rows))
        for k in idx[tight]:
            free[k] = False
            # only rows that add a dimension: a dependent row holds already (it is tight at this
            # level), and fixing it too would make the next LP infeasible by rounding alone
            if np.linalg.matrix_rank(np.vstack([fixed_rows, bits[k]])) > rank:
                fixed_rows.append(bits[k])
                fixed_rhs.append(float(v[masks[k]] + eps))
                rank += 1
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
    cpu_seconds: float = 0.0  # CPU time of the game (in whichever process played it)


def play(X: np.ndarray, charge: np.ndarray, alpha: float, members: list[str], seed: int = 0, permutations: int = 1000) -> GameResult:
    """The game of members with pooled costs X [S, n] and the rule's charges [S, n]."""
    c0 = time.process_time()
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
    core.excess_se = [excess_se(charge, X, alpha, members) for members, _p, _a in core.blocking]
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
        time.process_time() - c0,
    )


# --------------------------------------------------------------------------- on an instance


@dataclass
class PoolGame:
    pool: str
    region: str
    rule_set: str  # "agreed" or a candidate rule
    rule: str  # the rule the region applies in it
    game: GameResult
    samples: np.ndarray | None = None  # X [S, members], when asked for (keep_samples)


def instance_games(
    inst,
    planned_cost: np.ndarray,
    scenarios: int,
    seed: int,
    alpha: float,
    candidates: list[str] | None = None,
    pools: list[str] | None = None,
    substitutions=None,
    permutations: int = 1000,
    chunk: int = 1000,
    progress=None,
    executor=None,
    timings: dict | None = None,
    sets: dict[str, list[list[str]]] | None = None,
    extra_rules: dict | None = None,
    keep_samples: bool = False,
    game_progress=None,
    regions: list[str] | None = None,
) -> list[PoolGame]:
    """One game per pool x region x rule set (the agreed rule and each candidate), on the same
    scenarios as the reserves (models/reserves.py: the plan's substitution applied)."""
    from .pooling import check_pool_names, pool_setups, rules_of
    from .reserves import RuleSet, _thresholds, plan_view
    from .scenarios import demand_model

    dm = demand_model(inst)
    setups = pool_setups(inst)
    if pools:
        check_pool_names(setups, pools)
        setups = [s for s in setups if s.ctx.pool in pools]
    rules = {**rules_of(inst), **(extra_rules or {})}
    names_of = {"agreed": [list(s.agreed) for s in setups]}
    for c in candidates or []:
        if c not in ("agreed", "profijt"):
            names_of[c] = [[c] * len(s.ctx.regions) for s in setups]
    if sets is not None:  # explicit rule sets (rule names per setup and region), e.g. variants of a mixed rule
        names_of = {k: [list(v) for v in per] for k, per in sets.items()}
    thresholds = _thresholds(rules, [RuleSet(k, v) for k, v in names_of.items()])
    view = plan_view(inst, dm, planned_cost, substitutions)
    X = [[] for _ in setups]
    charges = {k: [[] for _ in setups] for k in names_of}
    t_sampling = time.perf_counter()
    from verdeelmodel.executors import as_executor

    from .reserves import SECONDS_PER_SCENARIO_GEMEENTE

    starts = list(range(0, scenarios, chunk))
    tasks = [(c, min(chunk, scenarios - s0)) for c, s0 in enumerate(starts)]
    parts: list = [None] * len(tasks)
    done = 0

    def put(i: int, r) -> None:
        nonlocal done
        parts[i] = r
        done += tasks[i][1]
        if progress is not None:
            progress(done, scenarios)

    ex = as_executor(executor).for_work(SECONDS_PER_SCENARIO_GEMEENTE * len(dm.gemeenten) * scenarios)
    ex.run(_game_chunk, tasks, (dm, setups, names_of, rules, view, thresholds, seed), put)
    for x_part, ch_part in parts:  # in chunk order, whatever order they finished in
        for k in range(len(setups)):
            X[k].append(x_part[k])
            for name in names_of:
                charges[name][k].append(ch_part[name][k])
    parts.clear()
    meta, work = [], []
    for k, s in enumerate(setups):
        Xk = np.concatenate(X[k])
        for r_idx, region in enumerate(s.ctx.regions):
            if regions is not None and region not in regions:
                continue
            members = np.flatnonzero(np.asarray(s.ctx.region_index) == r_idx)
            names = [s.ctx.gemeenten[i] for i in members]
            for name, per in names_of.items():
                if sets is None and name != "agreed" and per[k][r_idx] == s.agreed[r_idx]:
                    continue  # a candidate that is this region's agreed rule: the same game
                ch = np.concatenate(charges[name][k])[:, members]
                meta.append((s.ctx.pool, region, name, per[k][r_idx]))
                work.append((Xk[:, members], ch, alpha, names, seed, permutations))
    t_games = time.perf_counter()
    games = play_all(work, executor, game_progress)
    if timings is not None:
        timings["sampling_seconds"] = t_games - t_sampling
        timings["games_seconds"] = time.perf_counter() - t_games
        timings["games_cpu_seconds"] = sum(g.cpu_seconds for g in games)
    return [PoolGame(*m, g, w[0] if keep_samples else None) for m, g, w in zip(meta, games, work)]


def _cost(n: int) -> float:
    """Rough seconds of a game of n members on 10,000 scenarios (measured on 2 cores)."""
    return 1e-4 * 2**n if n <= SHAPLEY_EXACT_MAX else 12.0


def _game_chunk(context, task):
    """Chunk c of the games' scenarios: per setup the cost of its gemeenten [n, members] and
    their charge under each rule set. Depends only on (seed, c)."""
    from .pooling import pool_charges
    from .scenarios import sample

    dm, setups, names_of, rules, view, thresholds, seed = context
    c, n = task
    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    lpos = {l: j for j, l in enumerate(dm.lots)}
    batch = sample(dm, n, seed, c, thresholds)
    cost, excess = view.apply(batch.cost, batch._excess if thresholds else None)
    X, charges = [], {name: [] for name in names_of}
    for k, s in enumerate(setups):
        gi = np.array([gpos[g] for g in s.ctx.gemeenten])
        li = np.array([lpos[l] for l in s.ctx.lots])
        C = cost[:, gi][:, :, li]
        X.append(C.sum(-1))
        for name, per in names_of.items():

            def fn(rule, sub, li=li, excess=excess):
                rows = [gpos[g] for g in sub.gemeenten]
                return excess[float(rule.threshold_eur)][:, rows][:, :, li].sum(-1)

            charges[name].append(pool_charges(s.ctx, per[k], rules, C, fn if excess is not None else None).charge)
    return X, charges


def _play(_context, args):
    return play(*args[:4], seed=args[4], permutations=args[5])


def play_all(work: list[tuple], executor=None, progress=None) -> list[GameResult]:
    """Play independent games where ``executor`` runs them (verdeelmodel.executors: an Executor,
    a number of worker processes, or None: local processes when the work pays for them); the
    results, in the order given, do not depend on the executor or the number of workers (each
    game is deterministic). ``progress(done, total)`` after each game."""
    from verdeelmodel.executors import as_executor

    est = sum(_cost(w[0].shape[1]) * w[0].shape[0] / 10_000 for w in work)
    ex = as_executor(executor).for_work(est)
    weights = [float(w[0].shape[1]) for w in work]  # the largest first
    return ex.map(_play, work, progress=progress, weights=weights)


def core_weight_interval(x0: np.ndarray, x1: np.ndarray, X: np.ndarray, alpha: float) -> tuple[float, float, str]:
    """The weights w in [0, 1] for which the split x0 + w (x1 - x0) is in the core of the game on
    X: an interval, because the core is convex and the split affine in w. Exhaustive up to
    CORE_EXHAUSTIVE_MAX members (each coalition bounds w from one side); above, each end by cuts
    from the separation MIP. (lo, hi, method); lo > hi when no weight in [0, 1] is in the core."""
    S, n = X.shape
    if n <= CORE_EXHAUSTIVE_MAX:
        v = all_values(X, alpha)
        masks = np.arange(1, (1 << n) - 1, dtype=np.int64)
        bits = ((masks[:, None] >> np.arange(n)) & 1).astype(float)
        a, b, cap = bits @ x0, bits @ (x1 - x0), v[masks]
        lo, hi = 0.0, 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            up = b > 1e-12
            down = b < -1e-12
            if up.any():
                hi = min(hi, float(np.min((cap[up] - a[up]) / b[up])))
            if down.any():
                lo = max(lo, float(np.max((cap[down] - a[down]) / b[down])))
        flat = ~up & ~down
        if np.any(a[flat] > cap[flat]):
            return 1.0, 0.0, "exhaustive"
        return lo, hi, "exhaustive"

    d = x1 - x0

    def edge(w: float, up: bool) -> float | None:
        """From ``w``, the nearest weight in the core in one direction, by cuts: the MIP's most
        blocking group C gives a + w b <= v(C) (a = x0(C), b = d(C)); move w to that group's
        bound and check again. Each cut is a true condition, so the first weight in the core is
        the interval's end, exactly."""
        for _ in range(100):
            chk = core_check_mip(x0 + w * d, X, alpha)
            if chk.in_core:
                return w
            members, _pays, alone = chk.blocking[0]
            a, b = float(x0[list(members)].sum()), float(d[list(members)].sum())
            cap = alone  # the group's bound itself: there its excess is 0, below the tolerance
            if up and b < -1e-12:
                w_new = (cap - a) / b
            elif not up and b > 1e-12:
                w_new = (cap - a) / b
            else:
                return None  # this group blocks at every weight on that side
            if not 0.0 <= w_new <= 1.0 or (w_new <= w if up else w_new >= w):
                return None
            w = w_new
        raise RuntimeError("the core interval did not converge in 100 cuts")

    lo = edge(0.0, up=True)
    hi = edge(1.0, up=False)
    if lo is None or hi is None or lo > hi:
        return 1.0, 0.0, "separation MIP with cuts (no weight in the core)"
    return lo, hi, "separation MIP with cuts (exact)"
