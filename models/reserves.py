r"""Reserve sizing (weerstandsvermogen) as the paragraaf weerstandsvermogen reads it: what each
gemeente must expect (structural, into the begroting) and what it must be able to absorb (risk,
against its weerstandscapaciteit), under each pooling rule.

For rule set r (``profijt``: nothing pooled; ``agreed``: pools.csv; or a candidate rule applied
to every pool), scenario s and gemeente g:

    charge_{g,d,s} = cost of g's clients in its non-pooled lots of domain d + its pool charges
                     under r (models/pooling.py), with the plan's substitution applied and
                     non-statutory lots at most at the plan (PlanView)
    T_{g,s}        = sum over g's budget rows of max(0, charge - budget)      (the tekort)

From the samples, at confidence alpha (VaR_alpha = the ceil(alpha S)-th smallest value,
CVaR_alpha = VaR_alpha + mean(max(x - VaR_alpha, 0)) / (1 - alpha), Rockafellar-Uryasev):

    expected tekort  E[T_g]                      structural: it belongs in the begroting
    risk             VaR_alpha(T_g) - E[T_g]     the spread above it (NARIS: VaR at 90%);
                     CVaR_alpha(T_g) - E[T_g]    the tail-coherent alternative (--measure cvar):
                                                 it sees a rare large tekort that VaR misses
                                                 and is subadditive, so pooling never adds risk
    whole risk       the same measure of (T_g - E[T_g]) + the other risks of risks.csv
    ratio            weerstandscapaciteit (whole, gemeenten.csv) / whole risk -> rating A-F

Every figure carries a batch-means standard error (BATCHES consecutive batches); a ratio
within 2 standard errors of a band edge is flagged. Without a whole weerstandscapaciteit
there is no rating: the social domain alone is half the picture. Pooling benefit = risk under
profijt - risk under the rule. ``overspend`` (charge - the plan's charge, no budgets) stays for
the key-weight and joint LPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from verdeelmodel.instance.validate import Instance

from .pooling import PoolSetup, Rule, check_pool_names, pool_charges, pool_setups, rules_of
from .scenarios import DemandModel, demand_model, sample

#: (lower bound of the ratio, score, rating): the NAR table used by nearly all gemeenten.
RATINGS = (
    (2.0, "A", "uitstekend"),
    (1.4, "B", "ruim voldoende"),
    (1.0, "C", "voldoende"),
    (0.8, "D", "matig"),
    (0.6, "E", "onvoldoende"),
    (-math.inf, "F", "ruim onvoldoende"),
)


def rating(ratio: float) -> tuple[str, str]:
    """Score and rating of a ratio available / required (A above 2.0 ... F below 0.6).

    The table's two strict ends hold (A: > 2.0, F: < 0.6); every other band includes its lower
    bound: 2.0 and 1.4 are B, 1.0 is C (capacity equal to the risk is voldoende), 0.8 D, 0.6 E."""
    for lo, score, word in RATINGS:
        if ratio > lo or (ratio >= lo and score != "A") or lo == -math.inf:
            return score, word
    return "F", "ruim onvoldoende"


#: var_cvar sorts this many columns at a time: the sorted copy is a block, not all the samples
#: (100,000 scenarios x 342 gemeenten: 26 MB instead of 274 MB); sorting is per column, so the
#: figures are the same.
SORT_COLUMNS = 32


def var_cvar(samples, alpha: float, overwrite: bool = False, shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """VaR and CVaR at ``alpha`` of samples [S, ...] (losses: larger is worse), per column.
    ``overwrite``: sort ``samples`` in place (a temporary of the caller's). ``samples`` may be a
    function of a column slice giving those columns' samples (with ``shape`` [S, G]): the samples
    are then never all in memory at once."""
    S = shape[0] if callable(samples) else samples.shape[0]
    k = min(S - 1, max(0, math.ceil(round(alpha * S, 9)) - 1))  # round: 0.55 * 100 is 55.000000000000014 in floating point
    if callable(samples) or (samples.ndim == 2 and samples.shape[1] > SORT_COLUMNS and not overwrite):
        G = shape[1] if callable(samples) else samples.shape[1]
        var, upper = np.empty(G), np.empty((S - k - 1, G))
        for j in range(0, G, SORT_COLUMNS):
            cols = slice(j, j + SORT_COLUMNS)
            x = samples(cols) if callable(samples) else samples[:, cols].copy()
            x.sort(axis=0)
            var[cols], upper[:, cols] = x[k], x[k + 1 :]
    else:
        x = samples if overwrite else samples.copy()
        x.sort(axis=0)
        var, upper = x[k].copy(), x[k + 1 :]
    # sorted: only the rows above k can lie above the VaR, so the mean excess is the tail's sum / S
    tail = upper - var
    np.maximum(tail, 0.0, out=tail)
    cvar = var + tail.sum(axis=0) / S / (1.0 - alpha)
    return var, cvar


@dataclass
class RuleSet:
    name: str  # "profijt", "agreed" or a candidate rule name
    per_setup: list[list[str]]  # rule name per region, per pool setup


def rule_sets(inst: Instance, setups: list[PoolSetup], candidates: list[str] | None, pools: list[str] | None = None) -> list[RuleSet]:
    """profijt, the agreed rules, and each candidate rule -- applied to every pool, or only to
    ``pools`` (the other pools keep their agreed rule)."""
    out = [RuleSet("profijt", [["profijt"] * len(s.ctx.regions) for s in setups])]
    if setups:
        out.append(RuleSet("agreed", [list(s.agreed) for s in setups]))
    for c in candidates or []:
        if c not in ("profijt", "agreed"):
            out.append(RuleSet(c, [[c] * len(s.ctx.regions) if (pools is None or s.ctx.pool in pools) else list(s.agreed) for s in setups]))
    return out


@dataclass
class ReserveRun:
    overspend: dict[str, np.ndarray]  # rule set -> [S, G] total charge - the plan's charge
    gemeenten: list[str]
    planned: dict[str, np.ndarray]  # rule set -> [G] the plan's charge
    tekort: dict[str, np.ndarray] = field(default_factory=dict)  # rule set -> [S, G] tekort per scenario
    plan_tekort: dict[str, np.ndarray] = field(default_factory=dict)  # rule set -> [G] the plan's own tekort
    budget: np.ndarray | None = None  # [G] budget (IU share + own funds) of the modelled lots
    other: np.ndarray | None = None  # [S, G] the gemeente's other risks (risks.csv), drawn; None without
    scenarios: int = 0
    target_se: float | None = None  # the standard error asked for (--target-se), euros or relative
    target_relative: bool = False
    target_reached: bool | None = None

    def __post_init__(self) -> None:
        self.scenarios = self.scenarios or next(iter(self.overspend.values())).shape[0]


def _charges(
    dm: DemandModel,
    setups: list[PoolSetup],
    rs: RuleSet,
    rules: dict[str, Rule],
    cost: np.ndarray,
    excess,
    lot_domain: np.ndarray,
    n_dom: int,
) -> np.ndarray:
    """Charge per gemeente and budget domain [..., G, n_dom] for costs [..., G, L] under rule set
    ``rs``: the gemeente's own cost of its non-pooled lots (in the lot's domain) plus its pool
    charges (in the pool's domain)."""
    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    lpos = {l: j for j, l in enumerate(dm.lots)}
    pooled_cells = np.zeros(cost.shape[-2:], dtype=bool)
    total = np.zeros(cost.shape[:-1] + (n_dom,))
    for s, names in zip(setups, rs.per_setup):
        ctx = s.ctx
        gi = np.array([gpos[g] for g in ctx.gemeenten])
        li = np.array([lpos[l] for l in ctx.lots])
        pooled_cells[np.ix_(gi, li)] = True
        C = _cells(cost, gi, li)
        fn = None
        if excess is not None:  # a high-cost pool's per-client excess, summed over the pool's lots

            def fn(rule, sub, li=li):
                rows = np.array([gpos[g] for g in sub.gemeenten], dtype=np.int64)
                return _cells(excess(rule.threshold_eur), rows, li).sum(-1)

        ch = pool_charges(ctx, names, rules, C, fn)
        total[..., gi, lot_domain[li[0]]] += ch.charge
    if cost.ndim == 3 and cost.flags.c_contiguous:
        for d in range(n_dom):
            total[..., d] += _own_sum(cost, np.flatnonzero(lot_domain == d), pooled_cells)
        return total
    if not cost.flags.c_contiguous:
        cost = np.where(pooled_cells, 0.0, cost)
    for d in range(n_dom):
        # own[..., lot_domain == d] of own = where(pooled_cells, 0, cost), and so the same sums:
        # the same gather from an array of the same layout, its pooled cells zeroed after it
        in_d = lot_domain == d
        part = cost[..., in_d]
        zero = pooled_cells[:, in_d]
        if zero.any():
            part[..., zero] = 0.0
        total[..., d] += part.sum(-1)
    return total


#: Scenarios summed at a time by _own_sum (32 x 342 gemeenten x 15 lots: 1.3 MB, in cache).
_OWN_BLOCK = 32


def _own_sum(cost: np.ndarray, lots: np.ndarray, pooled_cells: np.ndarray) -> np.ndarray:
    """where(pooled_cells, 0, cost)[..., lots].sum(-1) for scenarios cost [n, G, L] (C-ordered),
    and the same sums: numpy gathers those columns lot-major ([k, n, G] in memory) and so sums
    them lot after lot, c_0 + c_1 + ... -- done here on blocks of scenarios that stay in cache,
    without the gathered copy."""
    out = np.zeros(cost.shape[:-1])
    if not len(lots):
        return out
    zero = {int(j): pooled_cells[:, j] for j in lots if pooled_cells[:, j].any()}
    for s0 in range(0, cost.shape[0], _OWN_BLOCK):
        blk, acc = cost[s0 : s0 + _OWN_BLOCK], out[s0 : s0 + _OWN_BLOCK]
        for q, j in enumerate(lots):
            col = blk[:, :, j] if j not in zero else np.where(zero[j], 0.0, blk[:, :, j])
            if q == 0:
                acc[...] = col
            else:
                acc += col
    return out


def _cells(x: np.ndarray, gi: np.ndarray, li: np.ndarray) -> np.ndarray:
    """x[..., gi, :][..., li]: the same values in the same memory layout (its sums and products
    round alike), without copying x[..., gi, :] whole first (scenarios [n, G, L], C-ordered)."""
    if x.ndim != 3 or not x.flags.c_contiguous:
        return x[..., gi, :][..., li]
    out = np.empty((len(li), len(gi), x.shape[0]), dtype=x.dtype).transpose(2, 1, 0)
    out[...] = x[:, gi[:, None], li]
    return out


@dataclass
class PlanView:
    """What the plan does to the scenarios, and the budgets a tekort is measured against.

    - Substitution: the plan moves a share f of a gemeente's need of a heavier lot to a lighter
      one (ratio rho: a euro of need there becomes 1/rho euro here). In every scenario the same
      share of that lot's cost moves, so the plan's own savings are no overspend.
    - Non-statutory lots (no individual entitlement) cost at most what the plan funds: demand
      above it waits (a waiting list), it is no tekort. Statutory care is open-ended.
    - Budgets per budget row (gemeente x domain, or gemeente when options.budget_scope is
      total): IU share + own funds; a domain without a budget row has no tekort (as in the
      allocation model)."""

    sub_from: np.ndarray  # [A] lot index
    sub_to: np.ndarray  # [A]
    share: np.ndarray  # [G, A] share of the from-lot's cost moved
    ratio: np.ndarray  # [A]
    capped: np.ndarray  # [L] non-statutory
    planned: np.ndarray  # [G, L]
    lot_domain: np.ndarray  # [L] domain index
    budget: np.ndarray  # [G, n_dom] (inf: no budget row)
    total_scope: bool  # one budget per gemeente (options.budget_scope = total)

    @property
    def n_dom(self) -> int:
        return self.budget.shape[1]

    def apply(self, cost: np.ndarray, excess: dict | None = None, cap: bool = True) -> tuple[np.ndarray, dict | None]:
        """The scenario costs [..., G, L] as the plan shapes them (and each high-cost excess: the
        moved share of a lot's clients leaves its excess too; the lighter lot they move to is
        counted without a per-client excess, being below a high-cost threshold in practice).
        ``cap=False``: the non-statutory lots not capped at the plan (a contract decides that)."""
        if len(self.sub_from):
            moved = cost[..., :, self.sub_from] * self.share  # [..., G, A]
            keep = 1.0 - _sum_by(self.share, self.sub_from, cost.shape[-1])  # [G, L]
            cost = np.multiply(cost, keep, order="C")  # a new C-ordered array, as cost.copy() was
            for a in range(len(self.sub_from)):
                cost[..., :, self.sub_to[a]] += moved[..., :, a] / self.ratio[a]
            if excess is not None:
                excess = {H: e * keep for H, e in excess.items()}
        else:
            cost = cost.copy()
        if cap:
            for j in np.flatnonzero(self.capped):  # column by column: no boolean gather and scatter
                np.minimum(cost[..., j], self.planned[:, j], out=cost[..., j])
        return cost, excess

    def tekort(self, charge: np.ndarray) -> np.ndarray:
        """Tekort per gemeente [..., G] of charges [..., G, n_dom]: what the budget rows cannot carry."""
        if self.total_scope:
            b = np.where(np.isinf(self.budget), 0.0, self.budget).sum(-1)
            has = ~np.all(np.isinf(self.budget), axis=-1)
            return np.where(has, np.maximum(0.0, charge.sum(-1) - b), 0.0)
        return np.maximum(0.0, charge - self.budget).sum(-1)

    def budget_total(self) -> np.ndarray:
        return np.where(np.isinf(self.budget), 0.0, self.budget).sum(-1)


def _sum_by(share: np.ndarray, idx: np.ndarray, L: int) -> np.ndarray:
    out = np.zeros((share.shape[0], L))
    np.add.at(out.T, idx, share.T)
    return out


def plan_view(inst: Instance, dm: DemandModel, planned_cost: np.ndarray, substitutions: pd.DataFrame | None = None) -> PlanView:
    """The plan's substitution shares (``substitutions``: the result table of a solve), the
    non-statutory lots and the budgets, in the demand model's order."""
    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    lpos = {l: j for j, l in enumerate(dm.lots)}
    lots = inst.lots
    domains = sorted(set(lots["domain"]))
    dpos = {d: i for i, d in enumerate(domains)}
    lot_domain = np.array([dpos[d] for d in lots.set_index("lot").loc[dm.lots, "domain"]])
    statutory = lots.set_index("lot").loc[dm.lots, "statutory"].astype(bool).to_numpy()
    arcs, shares, ratios = [], [], []
    if substitutions is not None and len(substitutions):
        need = dm.expected_cost
        sub = substitutions.groupby(["gemeente", "from_lot", "to_lot"], sort=True).agg(
            moved=("moved_need_eur", "sum"), ratio=("ratio", "first")
        )
        for (fl, tl), grp in sub.groupby(level=["from_lot", "to_lot"], sort=True):
            share = np.zeros(len(dm.gemeenten))
            for (g, _f, _t), r in grp.iterrows():
                n = need[gpos[g], lpos[fl]]
                share[gpos[g]] = min(1.0, r["moved"] / n) if n > 0 else 0.0
            arcs.append((lpos[fl], lpos[tl]))
            shares.append(share)
            ratios.append(float(grp["ratio"].iloc[0]))
    scope_total = inst.options.budget_scope == "total"
    n_dom = len(domains)
    budget = np.full((len(dm.gemeenten), n_dom), np.inf)
    bud = inst.budgets
    for g, d, b, o in zip(bud["gemeente"], bud["domain"], bud["budget_eur"].astype(float), bud["own_funds_eur"].astype(float)):
        if g in gpos and d in dpos:
            i, j = gpos[g], dpos[d]
            budget[i, j] = (0.0 if np.isinf(budget[i, j]) else budget[i, j]) + b + o
    return PlanView(
        np.array([a for a, _ in arcs], dtype=np.int64),
        np.array([b for _, b in arcs], dtype=np.int64),
        np.array(shares).T if shares else np.zeros((len(dm.gemeenten), 0)),
        np.array(ratios),
        ~statutory,
        np.asarray(planned_cost, dtype=float),
        lot_domain,
        budget,
        scope_total,
    )


def _thresholds(rules: dict[str, Rule], sets: list[RuleSet]) -> tuple[float, ...]:
    """The high-cost thresholds H of the rules in use: per-client excess is drawn only for these."""
    used = {name for rs in sets for names in rs.per_setup for name in names}
    return tuple(
        sorted(
            {float(rules[n].threshold_eur) for n in used if rules[n].kind_spec.per_client_threshold and rules[n].threshold_eur is not None}
        )
    )


#: Scenarios are drawn in chunks of this size when a standard error is the target (--target-se),
#: and the run stops at the first whole number of chunks that reaches it.
ADAPTIVE_MAX_SCENARIOS = 200_000


def run_reserves(
    inst: Instance,
    planned_cost: np.ndarray,
    scenarios: int,
    seed: int,
    candidates: list[str] | None = None,
    chunk: int = 1000,
    progress=None,
    pools: list[str] | None = None,
    bootstrap: bool = False,
    sets: list[RuleSet] | None = None,
    extra_rules: dict[str, Rule] | None = None,
    substitutions: pd.DataFrame | None = None,
    target_se: float | None = None,
    target_relative: bool = False,
    confidence: float = 0.9,
    measure: str = "var",
    max_scenarios: int = ADAPTIVE_MAX_SCENARIOS,
    executor=None,
) -> ReserveRun:
    """Samples [S, G] per rule set: the charge above the plan's (``overspend``) and the tekort
    (``tekort``: charge above the budget rows, with the plan's substitution and non-statutory
    lots at the plan, see PlanView). ``planned_cost`` [G, L]: the plan per gemeente and lot.
    ``pools``: apply the candidate rules only to these pools. ``sets``/``extra_rules``: explicit
    rule sets, with rules that are not in the instance (e.g. variants of a mixed rule).

    ``target_se``: draw chunks until every gemeente's risk figure (``measure`` at ``confidence``,
    every rule set) has a batch-means standard error at most this (euros; a fraction of the
    figure when ``target_relative``), from ``scenarios`` up to ``max_scenarios``. The draws of
    chunk c depend only on (seed, c), so a run that stops at S scenarios equals a fixed run of S.

    ``executor`` (verdeelmodel.executors): where the chunks run; default local worker processes
    when the work pays for them. Each chunk's result is placed by its position, so the numbers
    are the same for any backend and number of workers."""
    dm = demand_model(inst)
    setups = pool_setups(inst)
    rules = {**rules_of(inst), **(extra_rules or {})}
    if pools:
        check_pool_names(setups, pools)
    sets = sets if sets is not None else rule_sets(inst, setups, candidates, pools)
    thresholds = _thresholds(rules, sets)
    view = plan_view(inst, dm, planned_cost, substitutions)
    register = risk_register(inst, dm.gemeenten)
    # a plan's high-cost excess as the scenarios count it: planned clients (plan / cost per client)
    # each costing tariff x units_per_client (not the tariff per unit)
    planned_clients = np.asarray(planned_cost, dtype=float) / dm.mean_cost
    planned_excess = {H: planned_clients * np.maximum(0.0, dm.mean_cost - H) for H in thresholds}
    args = (view.lot_domain, view.n_dom)
    plan_charge = {rs.name: _charges(dm, setups, rs, rules, planned_cost, lambda H: planned_excess[float(H)], *args) for rs in sets}
    planned = {k: v.sum(-1) for k, v in plan_charge.items()}
    plan_tekort = {k: view.tekort(v) for k, v in plan_charge.items()}
    ctx = _ChunkContext(dm, setups, sets, rules, view, planned, register, thresholds, bootstrap, seed)
    out = _Samples([rs.name for rs in sets], len(dm.gemeenten), register is not None)
    ex = _executor(executor, len(dm.gemeenten), scenarios if target_se is None else max_scenarios)
    done, c = 0, 0
    goal = scenarios
    reached = None
    while True:
        starts = list(range(done, goal, chunk))
        tasks = [(c + k, min(chunk, goal - s0)) for k, s0 in enumerate(starts)]
        c += len(tasks)
        out.grow(goal)

        def put(i: int, r, starts=starts, tasks=tasks) -> None:
            nonlocal done
            out.put(starts[i], r)
            done += tasks[i][1]
            if progress is not None:
                progress(done, scenarios if target_se is None else max_scenarios)

        ex.run(_reserve_chunk, tasks, ctx, put)
        done = goal
        if target_se is None:
            break
        worst = max(_risk_se(t[:done], confidence, measure, target_relative) for t in out.tekort.values())
        reached = bool(worst <= target_se)
        if reached or done >= max_scenarios:
            break
        goal = min(max_scenarios, done * 2)
    out.trim(done)
    return ReserveRun(
        out.overspend,
        dm.gemeenten,
        planned,
        out.tekort,
        plan_tekort,
        view.budget_total(),
        out.other,
        done,
        target_se,
        target_relative,
        reached,
    )


@dataclass
class _ChunkContext:
    """What every chunk of a reserves run shares: sent to each worker once."""

    dm: DemandModel
    setups: list[PoolSetup]
    sets: list[RuleSet]
    rules: dict[str, Rule]
    view: PlanView
    planned: dict[str, np.ndarray]
    register: RiskRegister | None
    thresholds: tuple[float, ...]
    bootstrap: bool
    seed: int


def _reserve_chunk(ctx: _ChunkContext, task: tuple[int, int]):
    """Chunk c of n scenarios: (overspend per rule set, tekort per rule set, other risks), each [n, G].
    Depends only on (seed, c): the same wherever and in whatever order it runs."""
    c, n = task
    dm, view = ctx.dm, ctx.view
    args = (view.lot_domain, view.n_dom)
    batch = sample(dm, n, ctx.seed, c, ctx.thresholds, bootstrap=ctx.bootstrap)
    cost, excess = view.apply(batch.cost, batch._excess if ctx.thresholds else None)
    ex = (lambda H, e=excess: e[float(H)]) if excess is not None else None
    over, tek = {}, {}
    for rs in ctx.sets:
        ch = _charges(dm, ctx.setups, rs, ctx.rules, cost, ex, *args)
        over[rs.name] = ch.sum(-1) - ctx.planned[rs.name]
        tek[rs.name] = view.tekort(ch)
    other = ctx.register.draw(n, ctx.seed, c) if ctx.register is not None else None
    return over, tek, other


class _Samples:
    """The [S, G] sample arrays of a run, filled chunk by chunk in place (no list of chunks
    concatenated at the end: that would hold every sample twice)."""

    def __init__(self, names: list[str], G: int, other: bool):
        self.names, self.G, self.has_other = names, G, other
        self.overspend = {k: np.empty((0, G)) for k in names}
        self.tekort = {k: np.empty((0, G)) for k in names}
        self.other = np.empty((0, G)) if other else None

    def grow(self, n: int) -> None:
        def g(a: np.ndarray) -> np.ndarray:
            if a.shape[0] >= n:
                return a
            b = np.empty((n, self.G))
            b[: a.shape[0]] = a
            return b

        self.overspend = {k: g(v) for k, v in self.overspend.items()}
        self.tekort = {k: g(v) for k, v in self.tekort.items()}
        if self.other is not None:
            self.other = g(self.other)

    def put(self, s0: int, r) -> None:
        over, tek, other = r
        for k in self.names:
            n = over[k].shape[0]
            self.overspend[k][s0 : s0 + n] = over[k]
            self.tekort[k][s0 : s0 + n] = tek[k]
        if self.other is not None:
            self.other[s0 : s0 + other.shape[0]] = other

    def trim(self, n: int) -> None:
        self.overspend = {k: v[:n] for k, v in self.overspend.items()}
        self.tekort = {k: v[:n] for k, v in self.tekort.items()}
        if self.other is not None:
            self.other = self.other[:n]


#: Seconds per scenario and gemeente of a reserves chunk (measured on nl-synthetic: about 1.4 ms
#: per scenario for 342 gemeenten); decides whether worker processes pay for themselves.
SECONDS_PER_SCENARIO_GEMEENTE = 4e-6


def _executor(executor, G: int, scenarios: int):
    from verdeelmodel.executors import Processes

    ex = executor if executor is not None else Processes()
    return ex.for_work(SECONDS_PER_SCENARIO_GEMEENTE * G * scenarios)


# --------------------------------------------------------------------------- other risks (risks.csv)


@dataclass
class RiskRegister:
    """A gemeente's other risks (risks.csv): each occurs with its probability in a scenario,
    independently of the others and of demand, and then costs its amount (or a triangular
    draw between low, amount and high). Drawn from its own stream of the seed, so adding a
    register never changes the demand draws."""

    gemeente: np.ndarray  # [R] index
    amount: np.ndarray
    probability: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_gemeenten: int

    def draw(self, n: int, seed: int, chunk: int) -> np.ndarray:
        rng = np.random.default_rng([seed, chunk, 1])  # [seed, chunk] is the demand stream
        R = len(self.amount)
        occurs = rng.random((n, R)) < self.probability
        u = rng.random((n, R))
        a, m, b = self.low, self.amount, self.high
        tri = b > a
        # inverse CDF of the triangular distribution (low a, mode m, high b)
        fc = np.where(tri, (m - a) / np.where(tri, b - a, 1.0), 0.0)
        left = a + np.sqrt(u * (b - a) * (m - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - m))
        size = np.where(tri, np.where(u < fc, left, right), m)
        out = np.zeros((n, self.n_gemeenten))
        np.add.at(out.T, self.gemeente, (occurs * size).T)
        return out


def risk_register(inst: Instance, gemeenten: list[str]) -> RiskRegister | None:
    t = inst.tables.get("risks")
    if t is None or t.empty:
        return None
    gpos = {g: i for i, g in enumerate(gemeenten)}
    amount = t["amount_eur"].astype(float).to_numpy()
    low = t["low_eur"].astype(float).to_numpy() if "low_eur" in t else np.full(len(amount), np.nan)
    high = t["high_eur"].astype(float).to_numpy() if "high_eur" in t else np.full(len(amount), np.nan)
    low, high = np.where(np.isnan(low), amount, low), np.where(np.isnan(high), amount, high)  # blank: the amount
    return RiskRegister(
        np.array([gpos[g] for g in t["gemeente"]], dtype=np.int64),
        amount,
        t["probability"].astype(float).to_numpy(),
        low,
        high,
        len(gemeenten),
    )


# --------------------------------------------------------------------------- figures and their standard errors

#: Batch means: the samples are cut into this many consecutive batches; a figure's standard
#: error is the spread of its batch values / sqrt(batches). Used because every figure (a
#: quantile, a tail mean, a ratio) gets one the same way from the same draws, with no
#: resampling and no density estimate; scenarios are independent, so batches are too.
BATCHES = 20
#: The rating table's band edges (ratio): a ratio within 2 standard errors of one is flagged.
BAND_EDGES = (0.6, 0.8, 1.0, 1.4, 2.0)


def _figures(T: np.ndarray, W: np.ndarray | None, alpha: float) -> dict[str, np.ndarray]:
    """Per gemeente, from tekort samples T [n, G] and other risks W [n, G]: the expected tekort,
    the risk (VaR and CVaR of T minus its mean), the other risks alone and the whole profile
    (the spread of T above its mean plus the other risks) at ``alpha``."""
    mean = T.mean(axis=0)
    var, cvar = var_cvar(T, alpha)
    out = {"expected": mean, "risk_var": var - mean, "risk_cvar": cvar - mean}
    if W is not None:
        ov, oc = var_cvar(W, alpha)

        def whole(cols: slice) -> np.ndarray:  # the whole profile's samples, a block of gemeenten at a time
            z = T[:, cols] - mean[cols]
            z += W[:, cols]
            return z

        wv, wc = var_cvar(whole, alpha, shape=T.shape)
        out.update(other_var=ov, other_cvar=oc, whole_var=wv, whole_cvar=wc)
    return out


def _batched(T: np.ndarray, W: np.ndarray | None, alpha: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each figure of _figures on all samples, with its batch-means standard error (nan when
    there are fewer than 10 samples a batch)."""
    full = _figures(T, W, alpha)
    n = T.shape[0]
    if n < 10 * BATCHES:
        return {k: (v, np.full_like(v, np.nan)) for k, v in full.items()}
    edges = np.linspace(0, n, BATCHES + 1).astype(int)
    per = [_figures(T[a:b], None if W is None else W[a:b], alpha) for a, b in zip(edges[:-1], edges[1:])]
    return {k: (v, np.std([p[k] for p in per], axis=0, ddof=1) / np.sqrt(BATCHES)) for k, v in full.items()}


def _risk_se(T: np.ndarray, alpha: float, measure: str, relative: bool) -> float:
    f = _batched(T, None, alpha)
    v, se = f["risk_" + measure]
    if relative:
        return float(np.max(se / np.maximum(np.abs(v), 1.0)))
    return float(np.max(se))


def reserve_table(inst: Instance, run: ReserveRun, confidences: list[float], measure: str = "var") -> pd.DataFrame:
    """One row per gemeente x rule set x confidence, as the paragraaf weerstandsvermogen reads
    it: the plan's tekort and the expected tekort (structural: they belong in the begroting),
    the risk (the spread of the tekort above its expectation at the confidence level, VaR or
    CVaR), the other risks of risks.csv, the whole profile, and the ratio whole capacity / whole
    risk with its NAR rating A-F, each Monte Carlo figure with its standard error."""
    gem = inst.gemeenten.set_index("gemeente").reindex(run.gemeenten)
    avail = gem["available_reserve_eur"].astype(float).to_numpy()
    capacity = (
        gem["weerstandscapaciteit_eur"].astype(float).to_numpy()
        if "weerstandscapaciteit_eur" in gem
        else np.full(len(run.gemeenten), np.nan)
    )
    W = run.other
    rows = []
    for rule, T in run.tekort.items():
        for a in confidences:
            f = _batched(T, W, a)
            risk, risk_se = (np.maximum(0.0, f["risk_" + measure][0]), f["risk_" + measure][1])
            if W is not None:
                whole, whole_se = np.maximum(0.0, f["whole_" + measure][0]), f["whole_" + measure][1]
                other = f["other_" + measure][0]
            else:
                whole, whole_se, other = risk, risk_se, np.zeros(len(risk))
            for i, g in enumerate(run.gemeenten):
                rows.append(
                    {
                        "gemeente": g,
                        "rule": rule,
                        "confidence": a,
                        "measure": measure,
                        "budget_eur": run.budget[i],
                        "plan_charge_eur": run.planned[rule][i],
                        "plan_tekort_eur": run.plan_tekort[rule][i],
                        "expected_tekort_eur": f["expected"][0][i],
                        "expected_tekort_se_eur": f["expected"][1][i],
                        "risk_var_eur": f["risk_var"][0][i],
                        "risk_var_se_eur": f["risk_var"][1][i],
                        "risk_cvar_eur": f["risk_cvar"][0][i],
                        "risk_cvar_se_eur": f["risk_cvar"][1][i],
                        "risk_eur": risk[i],
                        "risk_se_eur": risk_se[i],
                        "other_risks_eur": other[i],
                        "whole_risk_eur": whole[i],
                        "whole_risk_se_eur": whole_se[i],
                        "social_share": math.nan,
                        "weerstandscapaciteit_eur": capacity[i],
                        "ratio": math.nan,
                        "ratio_se": math.nan,
                        "rating": "",
                        "rating_label": "",
                        "near_band_edge": False,
                        "rating_basis": "none",
                        "available_reserve_eur": avail[i],
                        "ratio_social_domain": math.nan,
                        "pooling_benefit_eur": np.nan,
                    }
                )
    df = pd.DataFrame(rows)
    for c in [c for c in df.columns if c.endswith("_eur")]:
        df[c] = np.round(df[c].to_numpy(float), 2) + 0.0
    # the derived figures from the rounded euros, so that a controller recomputes them from the file
    risk, whole, whole_se = df["risk_eur"].to_numpy(float), df["whole_risk_eur"].to_numpy(float), df["whole_risk_se_eur"].to_numpy(float)
    cap, avail = df["weerstandscapaciteit_eur"].to_numpy(float), df["available_reserve_eur"].to_numpy(float)
    has = ~np.isnan(cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has, np.where(whole > 0, cap / whole, math.inf), math.nan)
        ratio_se = np.where(has & (whole > 0), cap * whole_se / whole**2, math.nan)  # delta method
        df["social_share"] = np.round(np.where(whole > 0, risk / whole, math.nan), 4)
        df["ratio_social_domain"] = np.round(np.where(risk > 0, avail / risk, math.inf), 4)
    df["ratio"] = np.round(ratio, 4)
    df["ratio_se"] = np.round(ratio_se, 4)
    scores = [rating(float(x)) if h else ("", "") for x, h in zip(df["ratio"], has)]
    df["rating"] = [sc for sc, _w in scores]
    df["rating_label"] = [w for _sc, w in scores]
    df["rating_basis"] = np.where(has, "whole_profile", "none")
    df["near_band_edge"] = [
        bool(h and se == se and any(abs(x - e) <= 2 * se for e in BAND_EDGES)) for x, se, h in zip(df["ratio"], df["ratio_se"], has)
    ]
    base = {(g, a): q for g, a, q, r in zip(df["gemeente"], df["confidence"], df["risk_eur"], df["rule"]) if r == "profijt"}
    df["pooling_benefit_eur"] = (
        np.round([base.get((g, a), np.nan) - q for g, a, q in zip(df["gemeente"], df["confidence"], df["risk_eur"])], 2) + 0.0
    )
    return df


def scenario_charges(inst: Instance, scenarios: int, seed: int, chunk: int = 1000, executor=None) -> tuple[np.ndarray, list[str]]:
    """K [S, G]: each gemeente's charge per scenario under the agreed rules (profijt where
    nothing is pooled) -- the scenario data of the joint sizing LP (models/joint.py). The chunks
    run where ``executor`` says (verdeelmodel.executors); chunk c depends only on (seed, c)."""
    dm = demand_model(inst)
    setups = pool_setups(inst)
    rules = rules_of(inst)
    rs = rule_sets(inst, setups, None)[-1]
    thresholds = _thresholds(rules, [rs])
    K = np.empty((scenarios, len(dm.gemeenten)))
    starts = list(range(0, scenarios, chunk))
    tasks = [(c, s0, min(chunk, scenarios - s0)) for c, s0 in enumerate(starts)]

    def put(i: int, part: np.ndarray) -> None:
        _c, s0, n = tasks[i]
        K[s0 : s0 + n] = part

    ex = _executor(executor, len(dm.gemeenten), scenarios)
    ex.run(_charge_chunk, tasks, (dm, setups, rs, rules, thresholds, seed), put)
    return K, dm.gemeenten


def _charge_chunk(context, task) -> np.ndarray:
    dm, setups, rs, rules, thresholds, seed = context
    c, _s0, n = task
    batch = sample(dm, n, seed, c, thresholds)
    return _charges(dm, setups, rs, rules, batch.cost, batch.excess, np.zeros(len(dm.lots), dtype=np.int64), 1)[..., 0]
