r"""Risicoverevening: how the gemeenten of a region share the cost of a pooled lot (group).

One engine for every use: realised costs, a planned allocation, thousands of scenarios at
once (numpy over ``[..., G]`` arrays, any leading axes), and -- for the rules that are linear
in the costs -- the coefficients the allocation model puts in each gemeente's budget row.

Notation, per pool and region R: C_g pooled cost of clients from gemeente g (profijt), T_R =
sum_g C_g, kappa(g) a key (shares adding up to 1 within R). Every rule's charges add up to
what the region pays for the pool: T_R, plus the fixed costs F (vast_variabel), or
max(T_R, minimum) (onderbenutting); fund rules move money between gemeenten only.

==================  ======================================================================
profijt             charge_g = C_g
solidariteit        charge_g = kappa(g) T_R            (kappa: inhabitants, iu, budget, reference, history)
uitgesteld_profijt  charge_g = kappa_hist(g) T_R       (kappa_hist: share of use over the previous N years)
vast_variabel       charge_g = C_g + kappa(g) F_R      (fixed_eur F per region), or
                    charge_g = (1 - f) C_g + f kappa(g) T_R   (fixed_share f)
mixed               charge_g = w_own C_g + sum_b w_b kappa_b(g) T_R,   w_own + sum_b w_b = 1
onderbenutting      gap_R = max(0, M - T_R); charge_g = C_g + kappa(g) gap_R (inhabitants, budget), or
                    charge_g = C_g (1 + gap_R / T_R)   (surcharge; by inhabitants when T_R = 0)
high_cost_pool      X_g = sum over clients of g of max(0, cost - H); the pool pays q X_g:
                    charge_g = C_g - q X_g + kappa(g) q sum_h X_h
threshold_fund      deficit_g = C_g - E_g (E: expected cost, volume x tariff of need.csv);
                    claim_g = s max(0, deficit_g - X inhabitants_g); fund = min(sum claims, cap);
                    payout_g = claim_g fund / sum claims; contribution_g = kappa(g) fund;
                    charge_g = C_g - payout_g + contribution_g
==================  ======================================================================

The linear rules (all but onderbenutting's surcharge and the threshold fund) are defined
once, by :func:`linear_charge`: charge_g = sum_l a_l C_{g,l} + kappa_g sum_l b_l T_{R,l} + k_g,
with a_l + b_l = 1. :func:`evaluate` computes them from those coefficients; the allocation
model builds its expressions from the same coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from verdeelmodel.instance.problems import InstanceError, Problem
from verdeelmodel.instance.validate import Instance

from .rules import BASES, KIND, KIND_NAMES, PROFIJT, Charges, LinearCharge, Rule, rules_of  # noqa: F401 (the engine's public names)

KINDS = KIND_NAMES  # the registry (models/rules.py) is the one list of kinds


class _NoKey(ValueError):
    """A key that gives no shares: the English message (``str``) and the same in Dutch (``nl``),
    for the problem that reports it."""

    def __init__(self, message: str, nl: str):
        super().__init__(message)
        self.nl = nl


@dataclass
class PoolContext:
    """A pool (lot group) in one or more regions: the gemeenten, their keys and expectations.

    Arrays are over the members G (ordered by region, then gemeente); ``region_index[g]`` is
    the position of g's region in ``regions``.
    """

    pool: str
    lots: tuple[str, ...]
    domain: str
    regions: list[str]
    gemeenten: list[str]
    region_index: np.ndarray
    inhabitants: np.ndarray
    raw_keys: dict[str, np.ndarray]  # basis -> amounts (not yet shares); history per years
    expected_eur: np.ndarray  # [G] expected pooled cost (need.csv)
    expected_by_lot: np.ndarray  # [G, L]
    tariff: np.ndarray  # [L]
    history: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)  # (years, measure) -> [G] average use
    cost_per_client: np.ndarray | None = None  # [L] tariff x units_per_client (demand.csv); default the tariff

    def __post_init__(self) -> None:
        self.onehot = np.zeros((len(self.gemeenten), len(self.regions)))
        self.onehot[np.arange(len(self.gemeenten)), self.region_index] = 1.0
        ri = np.asarray(self.region_index)
        # members are ordered by region: region totals are contiguous slices (np.add.reduceat)
        self._starts = np.flatnonzero(np.r_[True, ri[1:] != ri[:-1]]) if len(ri) else ri
        self._contiguous = len(ri) > 0 and bool(np.all(np.diff(ri) >= 0)) and len(self._starts) == len(self.regions)
        self._keys: dict = {}

    @property
    def n(self) -> int:
        return len(self.gemeenten)

    def total(self, x: np.ndarray) -> np.ndarray:
        """[..., G] -> [..., R]: sum over each region's gemeenten."""
        if self._contiguous:
            return np.add.reduceat(x, self._starts, axis=-1)
        return x @ self.onehot

    def spread(self, t: np.ndarray) -> np.ndarray:
        """[..., R] -> [..., G]: each gemeente gets its region's value."""
        return t[..., self.region_index]

    def shares(self, amounts: np.ndarray, what: str) -> np.ndarray:
        tot = self.total(amounts)
        bad = [self.regions[r] for r in np.flatnonzero(tot <= 0)]
        if bad:
            raise _NoKey(
                f"the {what} key of pool {self.pool} is zero in region(s) {', '.join(bad)}: no shares can be computed",
                f"de sleutel {what} van pool {self.pool} is nul in regio('s) {', '.join(bad)}: er zijn geen aandelen te berekenen",
            )
        return amounts / self.spread(tot)

    def key(self, rule: Rule) -> np.ndarray:
        """kappa: the rule's (mixed) key, shares adding up to 1 within each region (cached per rule)."""
        if rule not in self._keys:
            k = self._key(rule)
            k.flags.writeable = False  # shared between calls: nobody may edit it in place
            self._keys[rule] = k
        return self._keys[rule]

    def _key(self, rule: Rule) -> np.ndarray:
        weights = rule.weights
        total_w = sum(weights.values())
        k = np.zeros(self.n)
        for basis, w in weights.items():
            k += w / total_w * self.shares(self._amounts(basis, rule), basis)
        return k

    def subset(self, regions: list[int]) -> PoolContext:
        """The context of some of the regions (by position in ``regions``), members in the same order."""
        m = np.isin(self.region_index, regions)
        remap = {r: i for i, r in enumerate(regions)}
        return PoolContext(
            self.pool,
            self.lots,
            self.domain,
            [self.regions[r] for r in regions],
            [g for g, k in zip(self.gemeenten, m) if k],
            np.array([remap[r] for r in self.region_index[m]], dtype=int),
            self.inhabitants[m],
            {b: v[m] for b, v in self.raw_keys.items()},
            self.expected_eur[m],
            self.expected_by_lot[m],
            self.tariff,
            {k: v[m] for k, v in self.history.items()},
            self.cost_per_client,
        )

    def _subset_of(self, regions: tuple[int, ...]) -> PoolContext:
        """subset(regions), made once per context and kept (with the keys it caches): pool_charges
        asks for the same ones in every chunk of scenarios."""
        cache = self.__dict__.setdefault("_subsets", {})
        if regions not in cache:
            cache[regions] = self.subset(list(regions))
        return cache[regions]

    def _amounts(self, basis: str, rule: Rule) -> np.ndarray:
        if basis == "history":
            years = rule.years
            key = (years, rule.history_measure)
            if key not in self.history:
                raise _NoKey(
                    f"no use history over {years} year(s) ({rule.history_measure}) for pool {self.pool}",
                    f"geen gebruikshistorie over {years} jaar ({rule.history_measure}) voor pool {self.pool}",
                )
            return self.history[key]
        return self.raw_keys[basis]


# --------------------------------------------------------------------------- rules


def is_linear(rule: Rule) -> bool:
    """Charges linear in the costs: the allocation model can put them in a budget row."""
    return rule.kind_spec.is_linear(rule)


def linear_charge(rule: Rule, ctx: PoolContext) -> LinearCharge:
    """The one definition of each linear rule (models/rules.py)."""
    return rule.kind_spec.linear_charge(rule, ctx)


def evaluate(rule: Rule, ctx: PoolContext, cost_by_lot: np.ndarray, excess: np.ndarray | None = None) -> Charges:
    """Charges of every gemeente under ``rule`` for costs ``cost_by_lot`` [..., G, L].

    ``excess`` [..., G] (kinds with a per-client threshold): sum over g's clients of
    max(0, cost - H), from per-client costs; without it every client of lot l is taken to cost
    the lot's tariff x units_per_client."""
    return rule.kind_spec.evaluate(rule, ctx, np.asarray(cost_by_lot, dtype=float), excess)


# --------------------------------------------------------------------------- contexts


@dataclass
class PoolSetup:
    """A pool as the instance defines it: its context over the regions that pool these lots,
    and the agreed rule of each region."""

    ctx: PoolContext
    agreed: list[str]  # rule name per region (ctx.regions order)
    rows: list[int]  # pools.csv rows


def pool_setups(inst: Instance, reference: pd.DataFrame | None = None) -> list[PoolSetup]:
    """One setup per (pool, lots) across the regions that define it, in a fixed order.
    ``reference``: the instance's reference allocation when already computed."""
    pools = inst.pools
    if pools.empty:
        return []
    if reference is None:
        from .reference import reference_allocation

        reference = reference_allocation(inst)
    out = []
    groups: dict[tuple, list] = {}
    for r in pools.to_dict("records"):
        groups.setdefault((r["pool"], split_lots(r["lots"])), []).append(r)
    for (pool, lots), rows in sorted(groups.items()):
        rows = sorted(rows, key=lambda r: r["region"])
        ctx = build_context(inst, pool, lots, [r["region"] for r in rows], reference)
        out.append(PoolSetup(ctx, [r["rule"] for r in rows], [int(r.get("_row", 0)) for r in rows]))
    return out


def split_lots(text: str) -> tuple[str, ...]:
    """pools.csv's lots column: one lot, or lots separated by ';'."""
    return tuple(sorted({x.strip() for x in text.split(";") if x.strip()}))


def build_context(
    inst: Instance, pool: str, lots: tuple[str, ...], regions: list[str], reference: pd.DataFrame | None = None
) -> PoolContext:
    # plain lists and dicts: per-call pandas overhead (indexing, reindex, groupby) dominates at this size
    L = inst.lots
    lot_domain = dict(zip(L["lot"].tolist(), L["domain"].tolist()))
    tariff = dict(zip(L["lot"].tolist(), L["tariff_eur"].astype(float).tolist()))
    domain = lot_domain[lots[0]]
    bud = inst.budgets
    by_region: dict[str, list[str]] = {}
    iu: dict[str, float] = {}
    total: dict[str, float] = {}
    for g, d, R, b, o in zip(
        bud["gemeente"].tolist(),
        bud["domain"].tolist(),
        bud["region"].tolist(),
        bud["budget_eur"].astype(float).tolist(),
        bud["own_funds_eur"].astype(float).tolist(),
    ):
        if d == domain:
            by_region.setdefault(R, []).append(g)
            iu[g], total[g] = b, b + o
    members = [(i, g) for i, R in enumerate(regions) for g in sorted(by_region.get(R, []))]
    gem = [g for _, g in members]
    ridx = np.array([i for i, _ in members], dtype=int)
    inh = dict(zip(inst.gemeenten["gemeente"].tolist(), inst.gemeenten["inhabitants"].astype(float).tolist()))
    raw = {
        "inhabitants": np.array([inh.get(g, np.nan) for g in gem], dtype=float),
        "iu": np.array([iu[g] for g in gem], dtype=float),
        "budget": np.array([total[g] for g in gem], dtype=float),
    }
    if reference is None:
        from .reference import reference_allocation

        reference = reference_allocation(inst)
    ref = reference
    if len(ref):
        parts: dict[str, list[float]] = {}
        for g, d, v in zip(ref["gemeente"].tolist(), ref["domain"].tolist(), ref["reference_eur"].astype(float).tolist()):
            if d == domain:
                parts.setdefault(g, []).append(v)
        raw["reference"] = np.array([math.fsum(parts.get(g, ())) for g in gem], dtype=float)
    need = inst.need
    nl = need[need["lot"].isin(lots)]
    exp = np.zeros((len(gem), len(lots)))
    pos = {g: i for i, g in enumerate(gem)}
    lpos = {l: j for j, l in enumerate(lots)}
    cells = [
        (pos[g], lpos[l], float(v) * tariff[l])
        for g, l, v in zip(nl["gemeente"].tolist(), nl["lot"].tolist(), nl["volume"].tolist())
        if g in pos
    ]
    if cells:  # np.add.at adds in row order, like a loop
        r, c, v = zip(*cells)
        np.add.at(exp, (np.array(r), np.array(c)), np.array(v, dtype=float))
    upc = dict(zip(inst.demand["lot"], inst.demand["units_per_client"].astype(float))) if len(inst.demand) else {}
    ctx = PoolContext(
        pool,
        lots,
        domain,
        list(regions),
        gem,
        ridx,
        raw["inhabitants"],
        raw,
        exp.sum(1),
        exp,
        np.array([tariff[l] for l in lots]),
        cost_per_client=np.array([tariff[l] * upc.get(l, 1.0) for l in lots]),
    )
    hist = inst.use_history
    h = hist[hist["lot"].isin(lots)] if len(hist) else hist
    if len(h):
        # use per gemeente and year, once; then the N-year averages for every N whose years are all there
        present = sorted(set(h["year"].astype(int).tolist()))
        ypos = {y: k for k, y in enumerate(present)}
        by_year = {m: np.zeros((len(gem), len(present))) for m in ("clients", "cost_eur")}
        cells = [
            (pos[g], ypos[int(y)], float(c), float(e))
            for g, y, c, e in zip(h["gemeente"].tolist(), h["year"].tolist(), h["clients"].tolist(), h["cost_eur"].tolist())
            if g in pos
        ]
        if cells:
            r, yc, c, e = zip(*cells)
            at = (np.array(r), np.array(yc))
            np.add.at(by_year["clients"], at, np.array(c, dtype=float))
            np.add.at(by_year["cost_eur"], at, np.array(e, dtype=float))
        for years in range(1, 11):
            span = list(range(inst.meta.year - years, inst.meta.year))
            if not set(span) <= ypos.keys():
                break
            cols = [ypos[y] for y in span]
            for measure, table in by_year.items():
                ctx.history[(years, measure)] = table[:, cols].sum(axis=1) / years
    return ctx


def rule_problems(
    inst: Instance, rule: Rule, setup: PoolSetup, where: tuple[str, int | None, str], regions: list[int] | None = None
) -> list[Problem]:
    """Why ``rule`` cannot be applied to this pool (missing history years, a zero key...) in
    ``regions`` (positions in setup.ctx.regions; default all)."""
    loc, row, col = where
    out = []
    ctx = setup.ctx if regions is None else setup.ctx.subset(regions)
    for basis in rule.bases():
        if basis == "history":
            if (rule.years, rule.history_measure) not in ctx.history:
                need = ", ".join(str(y) for y in range(inst.meta.year - rule.years, inst.meta.year))
                out.append(
                    Problem(
                        "use_history.csv",
                        None,
                        "year",
                        f"pool {ctx.pool}, rule {rule.name}",
                        f"use history of lots {', '.join(ctx.lots)} for every year {need} (uitgesteld profijt over {rule.years} year(s) before {inst.meta.year})",
                        f"gebruikshistorie van percelen {', '.join(ctx.lots)} voor elk jaar {need}"
                        f" (uitgesteld profijt over {rule.years} jaar vóór {inst.meta.year})",
                    )
                )
                continue
        if basis == "reference" and "reference" not in ctx.raw_keys:
            out.append(
                Problem(
                    loc,
                    row,
                    col,
                    rule.name,
                    "a basis other than 'reference': this instance has no reference allocation (maatstaven, bedragen)",
                    "een andere grondslag dan 'reference': deze instantie heeft geen referentieverdeling (maatstaven, bedragen)",
                )
            )
            continue
        try:
            ctx.shares(ctx._amounts(basis, rule), basis)
        except ValueError as e:
            out.append(
                Problem(
                    loc,
                    row,
                    col,
                    rule.name,
                    f"a key with weight in every region ({e})",
                    f"een sleutel met gewicht in elke regio ({getattr(e, 'nl', e)})",
                )
            )
    return out


def check_pooling(inst: Instance, extra_rules: list[str] | None = None, setups: list[PoolSetup] | None = None) -> None:
    """Raise InstanceError when an agreed (or requested) rule cannot be applied."""
    rules = rules_of(inst)
    setups = pool_setups(inst) if setups is None else setups
    problems: list[Problem] = []
    for name in extra_rules or []:
        if name not in rules:
            known = ", ".join(sorted(rules))
            problems.append(
                Problem(
                    "--rule",
                    None,
                    None,
                    name,
                    f"a rule of pooling_rules.csv or profijt ({known})",
                    f"een verdeelregel uit pooling_rules.csv of profijt ({known})",
                )
            )
    for s in setups:
        by_rule: dict[str, list[int]] = {}
        for i, name in enumerate(s.agreed):
            if name in rules:
                by_rule.setdefault(name, []).append(i)
        for name, regions in by_rule.items():
            # all regions of a rule at once; region by region (for the pools.csv row) only on a problem
            if len(regions) == 1 or rule_problems(inst, rules[name], s, ("pools.csv", None, "rule"), regions):
                for i in regions:
                    problems += rule_problems(inst, rules[name], s, ("pools.csv", s.rows[i], "rule"), [i])
        for name in extra_rules or []:
            if name in rules:
                problems += rule_problems(inst, rules[name], s, ("--rule", None, None))
    if problems:
        seen, uniq = set(), []
        for p in problems:
            if p not in seen:
                seen.add(p)
                uniq.append(p)
        raise InstanceError(uniq)


def pool_charges(ctx: PoolContext, names: list[str], rules: dict[str, Rule], cost_by_lot: np.ndarray, excess_fn=None) -> Charges:
    """Charges of a pool whose regions agreed (possibly) different rules: ``names[i]`` is the
    rule of region i. Each rule sees only its own regions. ``cost_by_lot`` [..., G, L];
    ``excess_fn(rule, sub_context)`` gives a high-cost pool's per-client excess [..., G_sub]."""
    lead = cost_by_lot.shape[:-2]
    charge, payout, contrib = (np.zeros((*lead, ctx.n)) for _ in range(3))
    pooled = np.zeros((*lead, len(ctx.regions)))
    for rname in sorted(set(names)):
        rule = rules[rname]
        regions_mask = np.array([n == rname for n in names])
        gmask = regions_mask[ctx.region_index]
        sub = ctx._subset_of(tuple(i for i, n in enumerate(names) if n == rname))
        excess = excess_fn(rule, sub) if (excess_fn is not None and rule.kind_spec.per_client_threshold) else None
        ch = evaluate(rule, sub, cost_by_lot[..., gmask, :], excess)
        if regions_mask.all():  # one rule for the whole pool: plain copies, no masked scatter
            charge[...], payout[...], contrib[...], pooled[...] = ch.charge, ch.payout, ch.contribution, ch.pooled_total
            continue
        charge[..., gmask], payout[..., gmask], contrib[..., gmask] = ch.charge, ch.payout, ch.contribution
        pooled[..., regions_mask] = ch.pooled_total
    return Charges(charge, pooled, payout, contrib)


def check_pool_names(setups: list[PoolSetup], pools: list[str]) -> None:
    """Raise InstanceError for names in ``pools`` that no pool of pools.csv has (--pool)."""
    known = {s.ctx.pool for s in setups}
    unknown = [p for p in pools if p not in known]
    if unknown:
        names = ", ".join(sorted(known))
        raise InstanceError(
            [Problem("--pool", None, None, p, f"a pool of pools.csv ({names})", f"een pool uit pools.csv ({names})") for p in unknown]
        )


def settle(
    inst: Instance,
    cost: pd.DataFrame,
    rule_names: list[str] | None = None,
    per_client: pd.DataFrame | None = None,
    pools: list[str] | None = None,
) -> pd.DataFrame:
    """Settlement statement: per rule, pool and gemeente the charge, the profijt charge and the
    solidarity transfer (charge - profijt). ``cost``: columns gemeente, lot, cost_eur.
    ``rule_names``: candidate rules applied to every pool; default: the agreed rules and profijt.
    ``per_client``: optional rows gemeente, lot, clients, cost_eur for the high-cost pool's excess.
    ``pools``: only these pools (candidate rules with amounts meant for one pool, e.g. a minimum)."""
    rules = rules_of(inst)
    setups = pool_setups(inst)
    if pools:
        check_pool_names(setups, pools)
        setups = [s for s in setups if s.ctx.pool in pools]
    check_pooling(inst, rule_names, setups)
    rows = []
    for s in setups:
        ctx = s.ctx
        C = np.zeros((ctx.n, len(ctx.lots)))
        pos = {g: i for i, g in enumerate(ctx.gemeenten)}
        lpos = {l: j for j, l in enumerate(ctx.lots)}
        sel = cost[cost["lot"].isin(ctx.lots) & cost["gemeente"].isin(pos)]
        for g, l, v in zip(sel["gemeente"].tolist(), sel["lot"].tolist(), sel["cost_eur"].tolist()):
            C[pos[g], lpos[l]] += float(v)
        candidates = [("agreed", None)] + [("candidate", n) for n in (rule_names or ["profijt"])]
        profijt = C.sum(1)
        for _how, name in candidates:
            names = s.agreed if name is None else [name] * len(ctx.regions)
            excess_fn = (lambda rule, sub: _excess(rule, sub, per_client)) if per_client is not None else None
            ch = pool_charges(ctx, names, rules, C, excess_fn)
            charge, payout, contrib, pooled = ch.charge, ch.payout, ch.contribution, ch.pooled_total
            for i, g in enumerate(ctx.gemeenten):
                rname = names[ctx.region_index[i]]
                rows.append(
                    {
                        "region": ctx.regions[ctx.region_index[i]],
                        "gemeente": g,
                        "pool": ctx.pool,
                        "lot": ";".join(ctx.lots),
                        "rule": rname,
                        "rule_set": "agreed" if name is None else "candidate",
                        "charge_eur": charge[i],
                        "profijt_eur": profijt[i],
                        "transfer_eur": charge[i] - profijt[i],
                        "payout_eur": payout[i],
                        "contribution_eur": contrib[i],
                        "inhabitants": int(ctx.inhabitants[i]),
                        "charge_per_inhabitant_eur": charge[i] / ctx.inhabitants[i],
                        "transfer_per_inhabitant_eur": (charge[i] - profijt[i]) / ctx.inhabitants[i],
                        "region_pooled_eur": pooled[ctx.region_index[i]],
                    }
                )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    for c in [c for c in df.columns if c.endswith("_eur")]:
        df[c] = np.round(df[c].to_numpy(float), 4 if "per_inhabitant" in c else 2) + 0.0
    return df


def _excess(rule: Rule, ctx: PoolContext, per_client: pd.DataFrame) -> np.ndarray:
    """sum over g's client rows of clients x max(0, cost per client - H): rows with more than
    one client are taken at their average cost per client."""
    H = float(rule.threshold_eur)
    pos = {g: i for i, g in enumerate(ctx.gemeenten)}
    sel = per_client[per_client["lot"].isin(ctx.lots) & per_client["gemeente"].isin(pos)]
    X = np.zeros(ctx.n)
    for g, n, c in zip(sel["gemeente"].tolist(), sel["clients"].tolist(), sel["cost_eur"].tolist()):
        n = float(n)
        if n > 0:
            X[pos[g]] += n * max(0.0, float(c) / n - H)
    return X
