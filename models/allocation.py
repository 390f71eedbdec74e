r"""The allocation model (one year, deterministic) as a Pyomo ConcreteModel.

This module is the single source of truth for the formulation. It never reads files:
it takes a validated :class:`~verdeelmodel.instance.validate.Instance`.

Indices: g gemeente, p population, l lot, d domain, R region, k provider, a area
(a region or a gemeente, the level at which a lot is contracted).

Variables (all in euros, >= 0):
  ``allocation[g,p,l]`` x (for a statutory lot: the care provided, always its need after
  substitution), ``unmet_need[g,p,l]`` u (non-statutory lots only: entitlements are open-ended,
  Jeugdwet art. 2.3, Wmo 2015 art. 2.3.5), ``substitution[g,p,l,l']`` s (euros of need of heavier
  lot l moved to lighter lot l'), ``provider_budget[k,l,a]`` y, ``tekort[g(,d)]`` T (what the
  budget cannot carry), ``plafondoverschrijding[rule]`` o (care above a contract plafond on
  statutory care), ``deviation_above_reference[g,p,d]`` e+, ``deviation_below_reference[g,p,d]`` e-.

Each constraint family is a function ``add_<family>`` whose docstring gives its math;
the component carries the family name and every row a business label used in reports
and in infeasibility explanations.

Objective stages (lexicographic by default, each kept within a tolerance by the solver):
  1. ``tekort`` sum of T;
  2. ``plafondoverschrijding`` sum of o (when a plafond covers statutory care);
  3. ``unmet`` sum of w_l u over non-statutory lots;
  4. ``deviation`` sum of e+ + e- (when a reference allocation exists);
  5. ``spend`` sum of x;
  6. ``equal_treatment`` sum of u^2 / c + y^2 / w + s^2 / (phi c) (a strictly convex tie-break: unique shares).

Families and stages are declared once in :mod:`~verdeelmodel.models.manifest` (name, kind,
builder, the inputs that scale them); this module builds them. The model's own state (labels,
variable maps, the bounds that follow need) is kept in a :class:`BuildInfo` beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression, SumExpression

from verdeelmodel.instance.validate import Instance

from .manifest import FAMILIES, FAMILY_OF_COMPONENT, WEIGHTED_OBJECTIVE, Stage, budget_group, index_text
from .reference import reference_allocation

BASIS_ECHELONS = ("nulde_lijn", "basis")
SPECIALIST_ECHELONS = ("specialist",)


def eur(v: float) -> str:
    return f"EUR {v:,.0f}"


@dataclass
class AllocationData:
    """Index sets and parameters derived from an instance (pure data, no Pyomo)."""

    need_eur: dict[tuple, float]  # (g,p,l) -> c
    x_index: list[tuple]  # (g,p,l)
    arcs: dict[tuple, tuple[float, float, str]]  # (g,p,l,l2) -> (ratio, max_share, label)
    lot_domain: dict[str, str]
    lot_label: dict[str, str]
    lot_echelon: dict[str, str]
    lot_weight: dict[str, float]
    lot_statutory: dict[str, bool]
    lot_category: dict[str, str]
    region_of: dict[tuple, str]  # (g,d) -> R
    budget: dict[tuple, float]  # budget group -> euros; group (g,d) or (g,)
    reference: pd.DataFrame
    ceilings_region: list[tuple]  # (lot, R, ceiling|None, minimum|None)
    ceilings_gemeente: list[tuple]  # (lot, g, ceiling|None, minimum|None)
    contracts: list[tuple]  # (k, lot, area, ceiling|None, minimum|None)
    area_kind: dict[tuple, str]  # (lot, area) -> "region"|"gemeente"
    providers: dict[str, tuple]  # k -> (label, ceiling|None, minimum|None)
    basis_goals: dict[tuple, float]  # (g,p,d) -> sigma
    specialist_goals: dict[tuple, float]  # (g,p,d) -> max euros
    vierkant: dict[tuple, tuple[float, float]]  # (g,p,d,cat) -> (share, shift)
    budget_scope: str
    families: dict[str, bool] = field(default_factory=dict)
    pools: list[ModelPool] = field(default_factory=list)
    specialist_from_need: dict = field(default_factory=dict)  # (g,p,d) -> 1 - delta where the baseline is the need
    funded_goals: dict = field(default_factory=dict)  # (g,p,d,lot or "") -> protected share of non-statutory need
    pooled: set = field(default_factory=set)  # (gemeente, lot) whose cost is pooled

    def on(self, family: str) -> bool:
        return self.families.get(family, True)

    def group(self, gemeente: str, domain: str) -> tuple[str, ...]:
        """The budget row of a gemeente's spending in a domain (manifest.budget_group)."""
        return budget_group(gemeente, domain, self.budget_scope)


@dataclass
class ModelPool:
    """A pool in one region with the agreed rule's linear coefficients (models/pooling.py):
    charge_g = sum_l own[l] C_{g,l} + key[g] sum_l shared[l] T_{R,l} + constant[g] + gap_key[g] gap_R."""

    pool: str
    region: str
    domain: str
    lots: tuple[str, ...]
    rule: str
    members: list[str]
    own: dict[str, float]
    shared: dict[str, float]
    key: dict[str, float]
    constant: dict[str, float]
    gap_minimum: float | None
    gap_key: dict[str, float]


def _model_pools(inst: Instance, reference: pd.DataFrame) -> list[ModelPool]:
    """The agreed pooling rules as linear charges, one ModelPool per pool and region."""
    from verdeelmodel.instance.problems import InstanceError, Problem

    from .pooling import check_pooling, linear_charge, pool_setups, rules_of

    if inst.pools.empty:
        return []
    setups = pool_setups(inst, reference)
    check_pooling(inst, setups=setups)
    rules = rules_of(inst)
    within_need = inst.options.families.get("allocation_within_need", True)
    out, problems = [], []
    for s in setups:
        ctx = s.ctx
        # one linear charge per rule, over the regions that agreed it (keys are shares per region)
        by_rule: dict[str, list[int]] = {}
        for i, name in enumerate(s.agreed):
            by_rule.setdefault(name, []).append(i)
        for name, regions in sorted(by_rule.items()):
            rule = rules[name].kind_spec.in_plan(rules[name], within_need)
            if not rule.kind_spec.is_linear(rule):
                for i in regions:
                    problems.append(
                        Problem(
                            "pools.csv",
                            s.rows[i],
                            "rule",
                            name,
                            "a rule the allocation model can apply (charges linear in the allocation); "
                            + rule.kind_spec.not_linear_reason(rule)
                            + " is settled afterwards with `verdeelmodel pool`",
                            "een verdeelregel die het verdeelmodel kan toepassen (bijdragen lineair in de verdeling); "
                            + rule.kind_spec.not_linear_reason_nl(rule)
                            + " wordt achteraf afgerekend met `verdeelmodel pool`",
                        )
                    )
                continue
            sub = ctx.subset(regions)  # the rule sees only the regions that agreed it
            lc = linear_charge(rule, sub)
            own, shared = dict(zip(ctx.lots, lc.own.tolist())), dict(zip(ctx.lots, lc.shared.tolist()))
            key, const = lc.key.tolist(), lc.constant.tolist()
            gap = lc.gap_key.tolist() if lc.gap_key is not None else None
            members: dict[int, list[int]] = {}
            for j, k in enumerate(sub.region_index.tolist()):
                members.setdefault(k, []).append(j)
            for k, i in enumerate(regions):
                idx = members.get(k, [])
                gs = [sub.gemeenten[j] for j in idx]
                out.append(
                    ModelPool(
                        pool=ctx.pool,
                        region=ctx.regions[i],
                        domain=ctx.domain,
                        lots=ctx.lots,
                        rule=name,
                        members=gs,
                        own=own,
                        shared=shared,
                        key={g: key[j] for g, j in zip(gs, idx)},
                        constant={g: const[j] for g, j in zip(gs, idx)},
                        gap_minimum=lc.gap_minimum,
                        gap_key={g: gap[j] for g, j in zip(gs, idx)} if gap is not None else {},
                    )
                )
    if problems:
        raise InstanceError(problems)
    return out


def _opt(v) -> float | None:
    return None if v is None or (isinstance(v, float) and v != v) else float(v)


def _specificity(g: str, p: str) -> int:
    return (2 if g else 0) + (1 if p else 0)


def prepare(inst: Instance, reference: pd.DataFrame | None = None) -> AllocationData:
    """Turn the instance tables into the model's index sets and parameters.
    ``reference`` overrides the reference allocation computed from ``inst``."""
    lots = inst.lots
    lot_domain = dict(zip(lots["lot"], lots["domain"]))
    lot_label = {l: (lab or l) for l, lab in zip(lots["lot"], lots["label"])}
    tariff = dict(zip(lots["lot"], lots["tariff_eur"].astype(float)))
    need = inst.need
    # .tolist(): iterating pandas columns element by element is slow
    need_eur = {
        (g, p, l): float(v) * tariff[l]
        for g, p, l, v in zip(need["gemeente"].tolist(), need["population"].tolist(), need["lot"].tolist(), need["volume"].tolist())
    }

    # substitution arcs; a row for a gemeente/population overrides a general row
    arcs: dict[tuple, tuple[float, float, str]] = {}
    spec_of: dict[tuple, int] = {}
    sub = inst.substitutions
    by_from: dict[tuple, list] = defaultdict(list)  # (from lot, gemeente or "" for all) -> rows
    for r in sub.itertuples(index=False):
        arc = (float(r.ratio), float(r.max_share), r.label or f"{lot_label[r.from_lot]} -> {lot_label[r.to_lot]}")
        by_from[(r.from_lot, r.gemeente or "")].append((r.population, r.to_lot, _specificity(r.gemeente, r.population), arc))
    if by_from:
        for g, p, l in need_eur:
            for area in (g, ""):
                for rp, to, sp, arc in by_from.get((l, area), ()):
                    if rp and rp != p:
                        continue
                    key = (g, p, l, to)
                    if sp >= spec_of.get(key, -1):
                        spec_of[key] = sp
                        arcs[key] = arc
    x_index = sorted(set(need_eur) | {(g, p, l2) for (g, p, _l, l2) in arcs})
    for k in x_index:
        need_eur.setdefault(k, 0.0)

    bud = inst.budgets
    region_of = {(g, d): R for g, d, R in zip(bud["gemeente"].tolist(), bud["domain"].tolist(), bud["region"].tolist())}
    total = (bud["budget_eur"].astype(float) + bud["own_funds_eur"].astype(float)).tolist()
    budget: dict[tuple, float] = defaultdict(float)
    scope = inst.options.budget_scope
    for g, d, b in zip(bud["gemeente"].tolist(), bud["domain"].tolist(), total):
        budget[budget_group(g, d, scope)] += b

    ceil = inst.ceilings
    ceilings_region = [(r.lot, r.region, _opt(r.ceiling_eur), _opt(r.minimum_eur)) for r in ceil.itertuples(index=False) if r.region]
    ceilings_gemeente = [(r.lot, r.gemeente, _opt(r.ceiling_eur), _opt(r.minimum_eur)) for r in ceil.itertuples(index=False) if r.gemeente]
    con = inst.contracts
    contracts, area_kind = [], {}
    for r in con.itertuples(index=False):
        area = r.region or r.gemeente
        contracts.append((r.provider, r.lot, area, _opt(r.ceiling_eur), _opt(r.minimum_eur)))
        area_kind[(r.lot, area)] = "region" if r.region else "gemeente"
    providers = {
        r.provider: (r.label or r.provider, _opt(r.ceiling_eur), _opt(r.minimum_eur)) for r in inst.providers.itertuples(index=False)
    }

    # goals, most specific row wins per population
    pops_by_gd: dict[tuple, set] = defaultdict(set)
    for g, p, l in x_index:
        pops_by_gd[(g, lot_domain[l])].add(p)
    basis_goals, specialist_goals, specialist_from_need, funded_goals = {}, {}, {}, {}
    spec_goal: dict[tuple, int] = {}
    lot_echelon = dict(zip(lots["lot"], lots["echelon"]))
    for r in inst.goals.itertuples(index=False):
        for (g, d), ps in pops_by_gd.items():
            if d != r.domain or (r.gemeente and r.gemeente != g):
                continue
            for p in ps:
                if r.population and r.population != p:
                    continue
                key, sp = (r.goal, g, p, d, r.lot), _specificity(r.gemeente, r.population)
                if sp < spec_goal.get(key, -1):
                    continue
                spec_goal[key] = sp
                if r.goal == "basis_share":
                    basis_goals[(g, p, d)] = float(r.value)
                elif r.goal == "funded_share":
                    funded_goals[(g, p, d, r.lot)] = float(r.value)
                else:
                    base = _opt(r.baseline_eur)
                    if base is None:
                        base = sum(
                            c
                            for (gg, pp, l), c in need_eur.items()
                            if gg == g and pp == p and lot_domain[l] == d and lot_echelon[l] in SPECIALIST_ECHELONS
                        )
                        specialist_from_need[(g, p, d)] = 1 - float(r.value)
                    else:
                        specialist_from_need.pop((g, p, d), None)
                    specialist_goals[(g, p, d)] = (1 - float(r.value)) * base
    vierkant = {}
    for r in inst.vierkant.itertuples(index=False):
        for p in sorted(pops_by_gd.get((r.gemeente, r.domain), ())):
            if r.population and r.population != p:
                continue
            vierkant[(r.gemeente, p, r.domain, r.category)] = (float(r.planned_share), float(r.max_shift))

    ref_table = reference_allocation(inst) if reference is None else reference
    pools = _model_pools(inst, ref_table) if inst.options.families.get("pooling_charge", True) else []
    pooled = {(g, l) for mp in pools for g in mp.members for l in mp.lots}
    return AllocationData(
        pools=pools,
        pooled=pooled,
        specialist_from_need=specialist_from_need,
        funded_goals=funded_goals,
        need_eur=need_eur,
        x_index=x_index,
        arcs=arcs,
        lot_domain=lot_domain,
        lot_label=lot_label,
        lot_echelon=lot_echelon,
        lot_weight=dict(zip(lots["lot"], lots["priority_weight"].astype(float))),
        lot_statutory=dict(zip(lots["lot"], lots["statutory"].astype(bool))),
        lot_category=dict(zip(lots["lot"], lots["category"])),
        region_of=region_of,
        budget=dict(budget),
        reference=ref_table,
        ceilings_region=ceilings_region,
        ceilings_gemeente=ceilings_gemeente,
        contracts=contracts,
        area_kind=area_kind,
        providers=providers,
        basis_goals=basis_goals,
        specialist_goals=specialist_goals,
        vierkant=vierkant,
        budget_scope=scope,
        families=dict(inst.options.families),
    )


# --------------------------------------------------------------------------- model


class Labels:
    """Business label of every constraint row: labels.rows[component][index] -> text."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = defaultdict(dict)
        # variable component -> (indices whose bound is a rule, their label): rules kept as bounds
        self.bound_rules: dict[str, tuple[set, Callable[[object], str]]] = {}

    def bound(self, component: str, index) -> str | None:
        """The rule behind a variable's bound (labels are made when asked for: one per
        variable would cost more than the rows they stand in for)."""
        keys, text = self.bound_rules.get(component, ((), None))
        return text(index) if index in keys else None


@dataclass
class NeedBound:
    """Bounds that follow need: ``value[i] = scale[i] x sum_j need[cells of target i]``, need in
    euros over ``AllocationData.x_index``. A family that scales with need (manifest) states every
    need-dependent bound once, as a NeedBound; the builder takes its numbers from it and a
    parameter change (``AllocationModel.set``) re-evaluates it for the changed need, vectorised.
    Need may enter a family only this way: bounds, never coefficients."""

    family: str  # the family that states the bounds (manifest)
    component: str  # constraint component (target "row") or variable component (target "col")
    target: str  # "row" | "col"
    side: str  # "lower" | "upper"
    keys: list  # index of each target row or column
    scale: np.ndarray  # [targets]
    term_target: np.ndarray  # [terms] position in keys
    term_cell: np.ndarray  # [terms] position in x_index

    def values(self, need: np.ndarray) -> np.ndarray:
        total = np.bincount(self.term_target, weights=need[self.term_cell], minlength=len(self.keys))
        return self.scale * total


@dataclass
class BuildInfo:
    """What the model builder knows besides the Pyomo components: the data, row labels, plain
    views of the variables, the objective stages in order, and the bounds that follow need."""

    data: AllocationData
    labels: Labels = field(default_factory=Labels)
    x: dict = field(default_factory=dict)  # (g,p,l) -> allocation VarData (indexing a Pyomo Var is slow)
    u: dict = field(default_factory=dict)  # (g,p,l) -> unmet_need VarData (non-statutory cells)
    tekort: dict = field(default_factory=dict)  # budget group -> tekort VarData
    overrun: dict = field(default_factory=dict)  # (component, index text) -> plafondoverschrijding VarData
    stages: list[Stage] = field(default_factory=list)
    need_bounds: list[NeedBound] = field(default_factory=list)
    cache: dict = field(default_factory=dict)
    #: rebuild mode (``collect``): rows are returned in ``collected`` instead of added to the model
    collect: bool = False
    collected: dict[str, dict] = field(default_factory=dict)

    @property
    def need_vec(self) -> np.ndarray:
        if "need_vec" not in self.cache:
            self.cache["need_vec"] = np.array([self.data.need_eur[k] for k in self.data.x_index], dtype=float)
        return self.cache["need_vec"]

    @property
    def cell(self) -> dict:
        """(g,p,l) -> position in x_index."""
        if "cell" not in self.cache:
            self.cache["cell"] = {k: i for i, k in enumerate(self.data.x_index)}
        return self.cache["cell"]

    def need_bound(self, family: str, component: str, target: str, side: str, keys: list, scale, cells: list[list[int]]) -> list[float]:
        """Register a NeedBound and return its values for the model's need (plain floats)."""
        term_target = np.repeat(np.arange(len(keys), dtype=np.int64), [len(c) for c in cells])
        term_cell = np.fromiter((j for c in cells for j in c), dtype=np.int64, count=len(term_target))
        nb = NeedBound(
            family,
            component,
            target,
            side,
            list(keys),
            np.broadcast_to(np.asarray(scale, dtype=float), (len(keys),)).copy(),
            term_target,
            term_cell,
        )
        if not self.collect:
            self.need_bounds.append(nb)
        return nb.values(self.need_vec).tolist()


def _add(m: pyo.ConcreteModel, b: BuildInfo, component: str, rows: dict, index=None) -> None:
    """Add a constraint component from {index: (expr, label)}; empty ones are skipped.
    ``index``: a Pyomo Set holding exactly the row keys, shared with other components.
    The component's family (kind, docstring) comes from the manifest."""
    if not rows:
        return
    first = next(iter(rows))
    if isinstance(first, tuple) and len(first) == 1:  # Pyomo flattens 1-tuples to scalars: key the rows the same way
        rows = {k[0]: v for k, v in rows.items()}
    if b.collect:
        b.collected[component] = rows
        return
    if m.component(component) is not None:
        raise ValueError(f"model component {component!r} exists already")
    exprs = {k: v[0] for k, v in rows.items()}
    b.labels.rows[component].update({k: v[1] for k, v in rows.items()})
    if index is None:
        index = list(exprs)
    doc = globals()[FAMILY_OF_COMPONENT[component].builder].__doc__
    setattr(m, component, pyo.Constraint(index, rule=lambda _m, *k: exprs[k if len(k) > 1 else k[0]], doc=doc))


def _sum(variables=(), scaled=()) -> LinearExpression:
    """sum of ``variables`` + sum of c x v over ``scaled`` (c, v) pairs, built as one
    LinearExpression: much faster than adding term by term, and the same expression."""
    args = list(variables)
    if scaled:
        args += [MonomialTermExpression((c, v)) for c, v in scaled]
    return LinearExpression(args)


def _budget_groups(D: AllocationData) -> list[tuple]:
    """Budget groups with something to pay: a non-pooled allocation or a pooled charge."""
    used = {D.group(g, D.lot_domain[l]) for g, _p, l in D.x_index if (g, l) not in D.pooled}
    used |= {D.group(g, mp.domain) for mp in D.pools for g in mp.members}
    return sorted(grp for grp in used if grp in D.budget) if D.on("budget_per_gemeente") else []


def _overrun_keys(D: AllocationData) -> list[tuple[str, str]]:
    """(component, index text) of every plafond that covers statutory care: there the law lets care
    go above the plafond (a plafondoverschrijding), where for non-statutory care it is a hard limit."""
    keys = []
    lots_in = defaultdict(set)  # (lot, region) and (lot, gemeente) with an allocation
    for g, _p, l in D.x_index:
        lots_in[("gemeente", l, g)].add(g)
        lots_in[("region", l, D.region_of.get((g, D.lot_domain[l])))].add(g)
    if D.on("ceiling_per_lot_region"):
        keys += [
            ("ceiling_per_lot_region", index_text((l, R)))
            for l, R, c, _m in D.ceilings_region
            if c is not None and D.lot_statutory[l] and lots_in.get(("region", l, R))
        ]
    if D.on("ceiling_per_lot_gemeente"):
        keys += [
            ("ceiling_per_lot_gemeente", index_text((l, g)))
            for l, g, c, _m in D.ceilings_gemeente
            if c is not None and D.lot_statutory[l] and lots_in.get(("gemeente", l, g))
        ]
    if D.on("provider_lot_link"):
        if D.on("ceiling_per_provider_lot"):
            keys += [
                ("ceiling_per_provider_lot", index_text((k, l, a)))
                for k, l, a, c, _m in D.contracts
                if c is not None and D.lot_statutory[l]
            ]
        statutory_provider = {k for k, l, _a, _c, _m in D.contracts if D.lot_statutory[l]}
        if D.on("ceiling_per_provider"):
            keys += [("ceiling_per_provider", k) for k, (_lab, c, _m) in D.providers.items() if c is not None and k in statutory_provider]
    return sorted(set(keys))


def build_allocation_model(inst: Instance, data: AllocationData | None = None) -> tuple[pyo.ConcreteModel, BuildInfo]:
    """Build the Pyomo model and its BuildInfo. All stage objectives are declared (and active):
    the solver chooses the order; Pyomo's own solvers need one active objective at a time."""
    D = data or prepare(inst)
    m = pyo.ConcreteModel(name=inst.name)
    b = BuildInfo(D)

    # one index set for x, u and the need rows (building a Pyomo Set verifies every key)
    m.need_index = pyo.Set(
        initialize=D.x_index, dimen=3, ordered=True, doc="(gemeente, population, lot) with need, or need substituted into it"
    )
    m.allocation = pyo.Var(m.need_index, domain=pyo.NonNegativeReals, doc="budget per gemeente x population x lot (EUR)")
    m.unmet_index = pyo.Set(
        initialize=[k for k in D.x_index if not D.lot_statutory[k[2]]], dimen=3, ordered=True, doc="cells of non-statutory lots"
    )
    m.unmet_need = pyo.Var(m.unmet_index, domain=pyo.NonNegativeReals, doc="need of a non-statutory lot not funded (EUR)")
    b.x = dict(m.allocation.items())
    b.u = dict(m.unmet_need.items())
    m.tekort = pyo.Var(_budget_groups(D), domain=pyo.NonNegativeReals, doc="what the budget of g (and domain) cannot carry (EUR)")
    b.tekort = dict(m.tekort.items())
    m.substitution = pyo.Var(
        sorted(D.arcs), domain=pyo.NonNegativeReals, doc="need of a heavier lot moved to a lighter lot (EUR of heavy need)"
    )
    y_index = sorted({(k, l, a) for k, l, a, _c, _m in D.contracts}) if D.on("provider_lot_link") else []
    m.provider_budget = pyo.Var(y_index, domain=pyo.NonNegativeReals, doc="provider budget per lot and area (EUR)")
    ref = D.reference
    dev_index = (
        sorted(
            {(g, p, D.lot_domain[l]) for g, p, l in D.x_index}
            | set(zip(ref["gemeente"].tolist(), ref["population"].tolist(), ref["domain"].tolist()))
        )
        if (len(ref) and D.on("reference_deviation"))
        else []
    )
    m.deviation_index = pyo.Set(
        initialize=dev_index, dimen=3, ordered=True, doc="(gemeente, population, domain) with an allocation or a reference"
    )
    m.deviation_above_reference = pyo.Var(m.deviation_index, domain=pyo.NonNegativeReals)
    m.deviation_below_reference = pyo.Var(m.deviation_index, domain=pyo.NonNegativeReals)

    m.pooled_charge = pyo.Var(
        sorted({(g, mp.pool) for mp in D.pools for g in mp.members}),
        domain=pyo.Reals,
        doc="what g pays for a pool under the agreed rule (EUR)",
    )
    m.pooled_lot_total = pyo.Var(
        sorted({(mp.region, mp.pool, l) for mp in D.pools for l in mp.lots}),
        domain=pyo.NonNegativeReals,
        doc="pooled cost of a lot in a region (EUR)",
    )
    m.plafondoverschrijding = pyo.Var(
        _overrun_keys(D), domain=pyo.NonNegativeReals, doc="statutory care above a plafond: what the gemeente adds to the contract (EUR)"
    )
    b.overrun = dict(m.plafondoverschrijding.items())
    m.onderbenutting_gap = pyo.Var(
        sorted({(mp.region, mp.pool) for mp in D.pools if mp.gap_minimum is not None}),
        domain=pyo.NonNegativeReals,
        doc="region's use below the guaranteed minimum (EUR)",
    )

    for fam, builder in FAMILY_BUILDERS:
        if D.on(fam.name):
            builder(m, b, D)
    _objectives(m, b, D, inst.options.objective)
    return m, b


def rebuild_rows(m: pyo.ConcreteModel, b: BuildInfo, family: str, D: AllocationData) -> dict[str, dict]:
    """The rows a family would have for data ``D`` (e.g. with a changed key weight or goal),
    {component: {index: (expr, label)}}, without touching the model: what a parameter change
    compares with the loaded rows. Families whose bounds follow need are not rebuilt this way
    (their NeedBounds are re-evaluated)."""
    scratch = BuildInfo(D, x=b.x, u=b.u, tekort=b.tekort, overrun=b.overrun, collect=True)
    dict(FAMILY_BUILDERS_BY_NAME)[family](m, scratch, D)
    return scratch.collected


def add_need_coverage(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Need: x[g,p,l] + u[g,p,l] + sum_l' s[g,p,l->l'] >= c[g,p,l] + sum_l'' s[g,p,l''->l] / rho[l''->l],
    without u for a statutory lot: its need is always provided (with allocation_within_need the
    row holds with equality), whatever the budget or a plafond."""
    out, inn = _flows(m, b, D)
    xs, us, lot_label = b.x, b.u, D.lot_label
    # variables left, need right: the row's lower bound is the need (a NeedBound)
    need = b.need_bound("need_coverage", "need_coverage", "row", "lower", D.x_index, 1.0, [[i] for i in range(len(D.x_index))])
    rows = {}
    for k, c in zip(D.x_index, need):
        g, p, l = k
        terms = [xs[k], us[k]] if k in us else [xs[k]]
        if k in out:
            terms += out[k]
        if k in inn:
            terms += [MonomialTermExpression((-c_, s)) for s, c_ in inn[k]]
        rows[k] = (LinearExpression(terms) >= c, f"need {lot_label[l]} gemeente {g} population {p}")
    _add(m, b, "need_coverage", rows, index=m.need_index)


def _flows(m, b: BuildInfo, D: AllocationData) -> tuple[dict, dict]:
    """Substitution flows per (g,p,l): out = euros of l-need moved away, in = (s, 1/rho) pairs."""
    if "flows" in b.cache:
        return b.cache["flows"]
    out, inn = defaultdict(list), defaultdict(list)
    for (g, p, l, l2), (rho, _phi, _lab) in D.arcs.items():
        out[(g, p, l)].append(m.substitution[g, p, l, l2])
        inn[(g, p, l2)].append((m.substitution[g, p, l, l2], 1.0 / rho))
    b.cache["flows"] = (dict(out), dict(inn))  # plain dicts: a lookup never adds a key
    return b.cache["flows"]


def add_allocation_within_need(m, b: BuildInfo, D: AllocationData) -> None:
    r"""No budget above need: x[g,p,l] + sum_l' s[g,p,l->l'] <= c[g,p,l] + sum_l'' s[g,p,l''->l] / rho.
    Money not needed stays with the gemeente as headroom (switch off to let the reference
    deviation stage place budget above need, e.g. for lumpsum populatiebekostiging).
    Where no substitution touches (g,p,l) this is the variable bound x[g,p,l] <= c[g,p,l]
    (the same rule, without a constraint row)."""
    out, inn = _flows(m, b, D)
    cell = b.cell

    def label(k) -> str:
        return f"no budget above need {D.lot_label[k[2]]} gemeente {k[0]} population {k[1]}"

    as_bound = [k for k in D.x_index if k not in out and k not in inn]
    as_row = [k for k in D.x_index if k in out or k in inn] if (out or inn) else []
    if not b.collect:
        for k, c in zip(
            as_bound, b.need_bound("allocation_within_need", "allocation", "col", "upper", as_bound, 1.0, [[cell[k]] for k in as_bound])
        ):
            b.x[k].setub(c)
        b.labels.bound_rules["allocation"] = (set(as_bound), label)
    rows = {}
    for k, c in zip(
        as_row, b.need_bound("allocation_within_need", "allocation_within_need", "row", "upper", as_row, 1.0, [[cell[k]] for k in as_row])
    ):
        terms = [b.x[k], *out.get(k, ())]
        terms += [MonomialTermExpression((-c_, s)) for s, c_ in inn.get(k, ())]
        rows[k] = (LinearExpression(terms) <= c, label(k))
    _add(m, b, "allocation_within_need", rows)


def add_substitution_funded(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Substitution only counts when the lighter lot funds it: x[g,p,l'] >= sum_l s[g,p,l->l'] / rho[l->l'].
    Without it, moving need to a lighter lot and leaving it unmet there would hide unmet need.
    Where the lighter lot is not statutory, its unmet need is at most its own need,
    u[g,p,l'] <= c[g,p,l'] (a variable bound): need moved there from a statutory lot stays an
    entitlement and is provided in full, whatever the lot's own protected share."""
    _out, inn = _flows(m, b, D)
    light = [k for k in D.x_index if inn.get(k) and k in b.u]
    if light and not b.collect:
        for k, c in zip(light, b.need_bound("substitution_funded", "unmet_need", "col", "upper", light, 1.0, [[b.cell[k]] for k in light])):
            b.u[k].setub(c)
        b.labels.bound_rules["unmet_need"] = (
            set(light),
            lambda k: f"substituted statutory need is provided in full {D.lot_label[k[2]]} gemeente {k[0]} population {k[1]}",
        )
    rows = {
        k: (_sum([b.x[k]], [(-c, s) for s, c in inn[k]]) >= 0, f"substitution funded {D.lot_label[k[2]]} gemeente {k[0]} population {k[1]}")
        for k in D.x_index
        if inn.get(k)
    }
    _add(m, b, "substitution_funded", rows)


def add_substitution_max_share(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Substitution: s[g,p,l->l'] <= phi[l->l'] x c[g,p,l]."""
    arcs = list(D.arcs)
    caps = b.need_bound(
        "substitution_max_share",
        "substitution_max_share",
        "row",
        "upper",
        arcs,
        [D.arcs[k][1] for k in arcs],
        [[b.cell[k[:3]]] for k in arcs],
    )
    rows = {
        k: (m.substitution[k] <= cap, f"max share substitution '{D.arcs[k][2]}' gemeente {k[0]} population {k[1]}")
        for k, cap in zip(arcs, caps)
    }
    _add(m, b, "substitution_max_share", rows)


def add_budget_per_gemeente(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Budget: what g pays <= B + T: sum of x over its non-pooled lots (of the domain, when budgets
    are per domain) + its pooled charges (pooling_charge); T >= 0 is the tekort, what the budget
    (IU share and own funds) cannot carry, paid from general means or reserves."""
    terms = defaultdict(list)
    for g, p, l in D.x_index:
        if (g, l) in D.pooled:
            continue
        terms[D.group(g, D.lot_domain[l])].append(b.x[(g, p, l)])
    pool_domain = {mp.pool: mp.domain for mp in D.pools}
    for (g, pool), v in m.pooled_charge.items():
        terms[D.group(g, pool_domain[pool])].append(v)
    rows = {
        grp: (
            _sum(t, [(-1.0, b.tekort[grp if len(grp) > 1 else grp[0]])]) <= D.budget[grp],
            f"budget gemeente {grp[0]}" + (f" {grp[1]}" if len(grp) > 1 else ""),
        )
        for grp, t in terms.items()
        if grp in D.budget
    }
    _add(m, b, "budget_per_gemeente", rows)


def _lot_area_terms(m, b: BuildInfo, D: AllocationData) -> tuple[dict, dict]:
    """Allocation variables per (lot, region) and per (lot, gemeente); computed once per model."""
    if "lot_area" not in b.cache:
        by_region, by_gemeente = defaultdict(list), defaultdict(list)
        for k, x in b.x.items():
            g, p, l = k
            by_gemeente[(l, g)].append(x)
            by_region[(l, D.region_of[(g, D.lot_domain[l])])].append(x)
        b.cache["lot_area"] = (by_region, by_gemeente)
    return b.cache["lot_area"]


def _overrun_of(b: BuildInfo, component: str) -> dict:
    """index text -> the plafondoverschrijding variable of each plafond of ``component`` that covers statutory care."""
    return {key: v for (comp, key), v in b.overrun.items() if comp == component}


def _bounded(variables: list, bound: float, which: int, over=None):
    """sum(variables) <= bound (a plafond, minus its overschrijding where it has one) or >= bound (a minimum)."""
    if which == 1:
        return _sum(variables) >= bound
    return (_sum(variables, [(-1.0, over)]) if over is not None else _sum(variables)) <= bound


def _limit_rows(D, items, terms, which: int, label, over: dict | None = None) -> dict:
    rows = {}
    over = over or {}
    for lot, area, ceiling, minimum in items:
        bound = (ceiling, minimum)[which]
        t = terms.get((lot, area))
        if bound is None or not t:
            continue
        rows[(lot, area)] = (_bounded(t, bound, which, over.get(index_text((lot, area)))), label(D.lot_label[lot], area))
    return rows


def add_ceiling_per_lot_region(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Plafond per lot and region: sum_{g in R, p} x[g,p,l] <= plafond[l,R] (+ o[l,R], the
    plafondoverschrijding, when the lot is statutory: the care is provided all the same)."""
    rows = _limit_rows(
        D,
        D.ceilings_region,
        _lot_area_terms(m, b, D)[0],
        0,
        lambda lot, R: f"plafond {lot} regio {R}",
        _overrun_of(b, "ceiling_per_lot_region"),
    )
    _add(m, b, "ceiling_per_lot_region", rows)


def add_ceiling_per_lot_gemeente(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Plafond per lot and gemeente: sum_p x[g,p,l] <= plafond[l,g] (+ o[l,g] when the lot is statutory)."""
    rows = _limit_rows(
        D,
        D.ceilings_gemeente,
        _lot_area_terms(m, b, D)[1],
        0,
        lambda lot, g: f"plafond {lot} gemeente {g}",
        _overrun_of(b, "ceiling_per_lot_gemeente"),
    )
    _add(m, b, "ceiling_per_lot_gemeente", rows)


def add_minimum_per_lot_region(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Guaranteed minimum (volume guarantee) per lot and region: sum_{g in R, p} x[g,p,l] >= minimum[l,R]."""
    rows = _limit_rows(D, D.ceilings_region, _lot_area_terms(m, b, D)[0], 1, lambda lot, R: f"gegarandeerd minimum {lot} regio {R}")
    _add(m, b, "minimum_per_lot_region", rows)


def add_minimum_per_lot_gemeente(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Guaranteed minimum per lot and gemeente: sum_p x[g,p,l] >= minimum[l,g]."""
    rows = _limit_rows(D, D.ceilings_gemeente, _lot_area_terms(m, b, D)[1], 1, lambda lot, g: f"gegarandeerd minimum {lot} gemeente {g}")
    _add(m, b, "minimum_per_lot_gemeente", rows)


def add_provider_lot_link(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Providers carry the lot budget: sum_k y[k,l,a] = sum_{g in a, p} x[g,p,l] for every contracted (l, a)."""
    by_region, by_gemeente = _lot_area_terms(m, b, D)
    ys = defaultdict(list)
    for k, l, a in m.provider_budget:
        ys[(l, a)].append(m.provider_budget[k, l, a])
    rows = {}
    for (l, a), yl in ys.items():
        xs = (by_region if D.area_kind[(l, a)] == "region" else by_gemeente).get((l, a), [])
        rows[(l, a)] = (
            _sum(yl, [(-1.0, x) for x in xs]) == 0,
            f"aanbiedersbudgetten {D.lot_label[l]} {'regio' if D.area_kind[(l, a)] == 'region' else 'gemeente'} {a} = perceelbudget",
        )
    _add(m, b, "provider_lot_link", rows)


def _contract_rows(m, D, which: int, word: str, over: dict | None = None) -> dict:
    rows = {}
    if not len(m.provider_budget):
        return rows
    over = over or {}
    for k, l, a, ceiling, minimum in D.contracts:
        bound = (ceiling, minimum)[which]
        if bound is None:
            continue
        y = m.provider_budget[k, l, a]
        rows[(k, l, a)] = (
            _bounded([y], bound, which, over.get(index_text((k, l, a)))),
            f"{word} aanbieder {D.providers[k][0]} {D.lot_label[l]} {a}",
        )
    return rows


def add_ceiling_per_provider_lot(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Plafond per provider and lot: y[k,l,a] <= plafond[k,l,a] (+ o[k,l,a] when the lot is statutory;
    care beyond the plafond goes first to a provider with room, stage plafondoverschrijding)."""
    _add(m, b, "ceiling_per_provider_lot", _contract_rows(m, D, 0, "plafond", _overrun_of(b, "ceiling_per_provider_lot")))


def add_minimum_per_provider_lot(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Guaranteed minimum per provider and lot: y[k,l,a] >= minimum[k,l,a]."""
    _add(m, b, "minimum_per_provider_lot", _contract_rows(m, D, 1, "gegarandeerd minimum"))


def _provider_rows(m, D, which: int, word: str, over: dict | None = None) -> dict:
    ys = defaultdict(list)
    for k, l, a in m.provider_budget:
        ys[k].append(m.provider_budget[k, l, a])
    rows = {}
    over = over or {}
    for k, (label, ceiling, minimum) in D.providers.items():
        bound = (ceiling, minimum)[which]
        if bound is None or not ys.get(k):
            continue
        rows[k] = (_bounded(ys[k], bound, which, over.get(k)), f"{word} aanbieder {label} (alle percelen)")
    return rows


def add_ceiling_per_provider(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Plafond per provider: sum_{l,a} y[k,l,a] <= plafond[k] (+ o[k] when it contracts statutory care)."""
    _add(m, b, "ceiling_per_provider", _provider_rows(m, D, 0, "plafond", _overrun_of(b, "ceiling_per_provider")))


def add_minimum_per_provider(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Guaranteed minimum per provider: sum_{l,a} y[k,l,a] >= minimum[k]."""
    _add(m, b, "minimum_per_provider", _provider_rows(m, D, 1, "gegarandeerd minimum"))


def _domain_terms(m, b: BuildInfo, D, echelons=None, category=None) -> dict:
    """Allocation variables per (g, p, domain), optionally only some echelons or one category."""
    key = ("domain", echelons, category)
    if key not in b.cache:
        terms = defaultdict(list)
        for k, x in b.x.items():
            l = k[2]
            if echelons is not None and D.lot_echelon[l] not in echelons:
                continue
            if category is not None and D.lot_category[l] != category:
                continue
            terms[(k[0], k[1], D.lot_domain[l])].append(x)
        b.cache[key] = terms
    return b.cache[key]


def add_basis_share_goal(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Substitution goal: sum_{l basis} x[g,p,l] >= sigma x sum_{l in d} x[g,p,l] (basis = nulde lijn + basis)."""
    if not D.basis_goals:
        return
    allx, basis = _domain_terms(m, b, D), _domain_terms(m, b, D, BASIS_ECHELONS)
    rows = {
        k: (
            _sum(basis.get(k, ()), [(-sigma, x) for x in allx[k]]) >= 0,
            f"basisaandeel >= {sigma:.0%} gemeente {k[0]} population {k[1]} {k[2]}",
        )
        for k, sigma in D.basis_goals.items()
        if k in allx
    }
    _add(m, b, "basis_share_goal", rows)


def add_specialist_reduction_goal(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Substitution goal: sum_{l specialist} x[g,p,l] <= (1 - delta) x baseline[g,p,d]
    (baseline: the goal's baseline_eur, or the population's specialist need)."""
    if not D.specialist_goals:
        return
    spec = _domain_terms(m, b, D, SPECIALIST_ECHELONS)
    keys = [k for k in D.specialist_goals if spec.get(k)]
    from_need = [k for k in keys if k in D.specialist_from_need]
    cells: dict[tuple, list[int]] = defaultdict(list)
    if from_need:
        wanted = set(from_need)
        for _i, (g, p, l) in enumerate(D.need_eur):  # the need table's order: sums as the goal was stated
            k = (g, p, D.lot_domain[l])
            if k in wanted and D.lot_echelon[l] in SPECIALIST_ECHELONS:
                cells[k].append(b.cell[(g, p, l)])
    caps = dict(
        zip(
            from_need,
            b.need_bound(
                "specialist_reduction_goal",
                "specialist_reduction_goal",
                "row",
                "upper",
                from_need,
                [D.specialist_from_need[k] for k in from_need],
                [cells[k] for k in from_need],
            ),
        )
    )
    rows = {
        k: (_sum(spec[k]) <= caps.get(k, D.specialist_goals[k]), f"specialistisch budget gemeente {k[0]} population {k[1]} {k[2]}")
        for k in keys
    }
    _add(m, b, "specialist_reduction_goal", rows)


def add_funded_share_goal(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Protected minimum for non-statutory care (prevention, algemene voorzieningen):
    sum_{l in L} (x[g,p,l] - sum_l'' s[g,p,l''->l] / rho) >= share x sum_{l in L} c[g,p,l] (the
    funding of the lots' own need, beside need substituted into them), L = the goal's lot, or every
    non-statutory lot of the domain. Funded even where that adds to the tekort: the policy is the
    gemeente's (or region's) stated choice, not the model's."""
    if not D.funded_goals:
        return
    _out, inn = _flows(m, b, D)
    by_gp: dict[tuple, list[int]] = defaultdict(list)
    for i, (g, p, _l) in enumerate(D.x_index):
        by_gp[(g, p)].append(i)
    keys, shares, cells = [], [], []
    for (g, p, d, lot), share in sorted(D.funded_goals.items()):
        scope = [
            i
            for i in by_gp.get((g, p), ())
            if (D.x_index[i][2] == lot if lot else (D.lot_domain[D.x_index[i][2]] == d and not D.lot_statutory[D.x_index[i][2]]))
        ]
        if scope:
            keys.append((g, p, d, lot))
            shares.append(share)
            cells.append(scope)
    bounds = b.need_bound("funded_share_goal", "funded_share_goal", "row", "lower", keys, shares, cells)
    rows = {}
    for (g, p, d, lot), share, scope, bound in zip(keys, shares, cells, bounds):
        what = D.lot_label[lot] if lot else f"niet-wettelijke percelen {d}"
        # the share counts the funding of the lot's own need: need moved into it is provided in full anyway
        moved_in = [(-c, s_) for i in scope for s_, c in inn.get(D.x_index[i], ())]
        rows[(g, p, d, lot)] = (
            _sum([b.x[D.x_index[i]] for i in scope], moved_in) >= bound,
            f"beschermd minimum {what} >= {share:.0%} van de vraag gemeente {g} population {p}",
        )
    _add(m, b, "funded_share_goal", rows)


def add_vierkant_band(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Vierkant: (share - shift) x T <= sum_{l in cat} x[g,p,l] <= (share + shift) x T, T = sum over the vierkant's categories."""
    cats_of = defaultdict(set)
    for g, p, d, c in D.vierkant:
        cats_of[(g, p, d)].add(c)
    rows = {}
    for (g, p, d, c), (share, shift) in D.vierkant.items():
        inside = [v for cc in sorted(cats_of[(g, p, d)]) for v in _domain_terms(m, b, D, category=cc).get((g, p, d), [])]
        mine = _domain_terms(m, b, D, category=c).get((g, p, d), [])
        if not inside:
            continue
        total, part = sum(inside), sum(mine)
        rows[(g, p, d, c, "upper")] = (
            part - (share + shift) * total <= 0,
            f"vierkant {c} <= {share + shift:.0%} gemeente {g} population {p} {d}",
        )
        rows[(g, p, d, c, "lower")] = (
            part - max(share - shift, 0.0) * total >= 0,
            f"vierkant {c} >= {max(share - shift, 0):.0%} gemeente {g} population {p} {d}",
        )
    _add(m, b, "vierkant_band", rows)


def add_pooling_charge(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Risicoverevening (models/pooling.py): for every pool, region R and member g
    charge[g] = sum_l own_l sum_p x[g,p,l] + key_g sum_l shared_l T[R,l] + k_g (+ gapkey_g gap[R]),
    T[R,l] = sum_{g in R, p} x[g,p,l], and for onderbenutting gap[R] >= minimum - sum_l T[R,l].
    The charge replaces the pooled lots' x in the gemeente's budget row."""
    if not D.pools:
        return
    xs = _lot_area_terms(m, b, D)[1]  # (lot, g) -> x[g, p, lot] over p
    charge_rows, total_rows, gap_rows = {}, {}, {}
    for mp in D.pools:
        T = {l: m.pooled_lot_total[mp.region, mp.pool, l] for l in mp.lots}
        for l in mp.lots:
            total_rows[(mp.region, mp.pool, l)] = (
                _sum([T[l]], [(-1.0, x) for g in mp.members for x in xs.get((l, g), ())]) == 0,
                f"verevening {mp.pool}: totaal {D.lot_label[l]} regio {mp.region}",
            )
        gap = m.onderbenutting_gap[mp.region, mp.pool] if mp.gap_minimum is not None else None
        if gap is not None:
            gap_rows[(mp.region, mp.pool)] = (
                _sum([gap, *T.values()]) >= mp.gap_minimum,
                f"onderbenutting {mp.pool} regio {mp.region}: gegarandeerd minimum",
            )
        for g in mp.members:
            # charge - own part - key x shared part (- gap key x gap) = constant
            terms = [(-mp.own[l], x) for l in mp.lots if mp.own[l] for x in xs.get((l, g), ())]
            if mp.key[g]:
                terms += [(-(mp.key[g] * mp.shared[l]), T[l]) for l in mp.lots if mp.shared[l]]
            if gap is not None and mp.gap_key.get(g):
                terms.append((-mp.gap_key[g], gap))
            charge_rows[(g, mp.pool)] = (
                _sum([m.pooled_charge[g, mp.pool]], terms) == mp.constant[g],
                f"verevening {mp.pool} ({mp.rule}) gemeente {g}",
            )
    _add(m, b, "pooled_total", total_rows)
    _add(m, b, "onderbenutting_minimum", gap_rows)
    _add(m, b, "pooling_charge", charge_rows)


def add_reference_deviation(m, b: BuildInfo, D: AllocationData) -> None:
    r"""Reference deviation: sum_{l in d} x[g,p,l] - ref[g,p,d] = e+[g,p,d] - e-[g,p,d]."""
    if not len(m.deviation_above_reference):
        return
    allx = _domain_terms(m, b, D)
    R = D.reference
    ref = {
        (g, p, d): float(v)
        for g, p, d, v in zip(R["gemeente"].tolist(), R["population"].tolist(), R["domain"].tolist(), R["reference_eur"].tolist())
    }
    rows = {}
    above, below = dict(m.deviation_above_reference.items()), dict(m.deviation_below_reference.items())
    for k in above:
        e = _sum([*allx.get(k, ()), below[k]], [(-1.0, above[k])])
        rows[k] = (e == ref.get(k, 0.0), f"referentieverdeling gemeente {k[0]} population {k[1]} {k[2]}")
    _add(m, b, "reference_deviation", rows)


def _builders() -> tuple[tuple, ...]:
    """(family, builder) in the manifest's order; a family without a builder here, or an
    ``add_`` function no family names, is an error at import."""
    names = {f.builder for f in FAMILIES}
    orphans = sorted(n for n in globals() if n.startswith("add_") and n not in names)
    missing = sorted(n for n in names if n not in globals())
    if orphans or missing:
        raise ImportError(
            f"models/manifest.py and models/allocation.py disagree: builders without a family {orphans}, families without a builder {missing}"
        )
    return tuple((f, globals()[f.builder]) for f in FAMILIES)


FAMILY_BUILDERS = _builders()
FAMILY_BUILDERS_BY_NAME = tuple((f.name, fn) for f, fn in FAMILY_BUILDERS)


def _objectives(m, b: BuildInfo, D: AllocationData, o) -> None:
    """The stages of the objective (manifest.Stage, in its order; see STAGE_REASON)."""

    def linear(terms: list[tuple[float, object]]) -> LinearExpression:
        """sum of coef x var (a plain variable where the coefficient is 1)."""
        return _sum([v for c, v in terms if c == 1.0], [(c, v) for c, v in terms if c != 1.0])

    def sum_product(terms: list) -> object:
        return SumExpression([e if w == 1.0 else w * e for w, e in terms])

    stages: dict[Stage, object] = {}
    if b.tekort:
        stages[Stage.tekort] = _sum(list(b.tekort.values()))
    if b.overrun:
        stages[Stage.plafondoverschrijding] = _sum(list(b.overrun.values()))
    if b.u:
        # sum_l w_l (sum of u over lot l): one term per lot, so the weights read at a glance
        by_lot: dict[str, list] = defaultdict(list)
        for k, u in b.u.items():
            by_lot[k[2]].append(u)
        stages[Stage.unmet] = sum_product([(D.lot_weight[l], _sum(us)) for l, us in sorted(by_lot.items())])
    if len(m.deviation_above_reference):
        stages[Stage.deviation] = linear(
            [(1.0, v) for k in m.deviation_above_reference for v in (m.deviation_above_reference[k], m.deviation_below_reference[k])]
        )
    stages[Stage.spend] = linear([(1.0, x) for x in b.x.values()] + [(1.0, g) for g in m.onderbenutting_gap.values()])
    fair = _equal_treatment_terms(m, b, D)
    if o.mode == "weighted":
        m.add_component(
            WEIGHTED_OBJECTIVE, pyo.Objective(expr=sum(o.weights.get(s.value, 0.0) * e for s, e in stages.items()), sense=pyo.minimize)
        )
        b.stages = []
    else:
        if fair:
            stages[Stage.equal_treatment] = SumExpression([w * v**2 for w, v in fair])
        for s, e in stages.items():
            setattr(m, s.objective, pyo.Objective(expr=e, sense=pyo.minimize))
        b.stages = list(stages)


def _equal_treatment_terms(m, b: BuildInfo, D: AllocationData) -> list[tuple[float, object]]:
    return equal_treatment_terms(m, D, D.need_eur)


def equal_treatment_terms(m, D: AllocationData, need_eur: dict, plafond: dict | None = None) -> list[tuple[float, object]]:
    r"""(weight, variable) of the equal-treatment stage: sum_cells u^2 / c + sum_k y^2 / w_k
    + sum_arcs s^2 / (phi c), for the need ``need_eur`` (euros per cell) and contract plafonds
    (``plafond``: (provider, lot, area) -> euros, where a parameter changed the instance's).

    Minimising sum u^2 / c under a shared limit gives unmet need in proportion to need (its
    optimality conditions: 2 u / c equal for every cell the limit binds), the same funded share for
    everyone; minimising sum y^2 / w splits a lot's budget over its providers in proportion to w,
    their contract plafond (providers of the same lot and area without one: the mean plafond of
    the others, or 1 when none has one); minimising sum s^2 / (phi c) moves need by substitution
    only where an earlier stage gains from it, and a limited substitution in proportion to what
    each gemeente may move (phi c: the arc's max share of the need it leaves). Strictly convex in
    u, y and s, so their values are unique and follow no name or row order."""
    out = [(1.0 / max(need_eur[k], 1.0), u) for k, u in m.unmet_need.items()]
    for k, s in m.substitution.items():
        out.append((1.0 / max(D.arcs[k][1] * need_eur[k[:3]], 1.0), s))
    if len(m.provider_budget):
        given = {(k, l, a): c for k, l, a, c, _m in D.contracts}
        given.update(plafond or {})
        by_area = defaultdict(list)
        for k, l, a in m.provider_budget:
            by_area[(l, a)].append(given.get((k, l, a)))
        mean = {la: (sum(v for v in cs if v) / sum(1 for v in cs if v)) if any(cs) else 1.0 for la, cs in by_area.items()}
        for (k, l, a), y in m.provider_budget.items():
            w = given.get((k, l, a)) or mean[(l, a)] or 1.0
            out.append((1.0 / w, y))
    return out


def objective_names(b: BuildInfo) -> list[str]:
    """The objective components to solve, in order (one: ``objective_weighted`` in weighted mode)."""
    return [s.objective for s in b.stages] if b.stages else [WEIGHTED_OBJECTIVE]
