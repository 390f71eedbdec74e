r"""Risk-aware contracting: choose the funding form of each contracted lot and area under demand
uncertainty (verdeelmodel contract).

A lot in an area (a region for a regional lot, a gemeente for a local one) may be contracted under
the forms that ``contract_options.csv`` allows; exactly one is chosen (first stage, binary z_o).
In scenario s gemeente g then pays, for option o (second stage, data of the scenario):

- inspanning: its clients' cost, tariff x units: it carries count and intensity risk;
- output: its clients x a price per client = the expected cost per client x (1 + premium): the
  provider carries the intensity risk (the middelingsprincipe) and asks the premium for it; the
  plan's substitution moves clients as it moves cost (counted at the expected cost per client of
  the lot they leave, divided by the ratio);
- taak: its share (by expected cost) of a lump sum for the area, the offered sum or the expected
  cost x (1 + premium): the provider carries the volume risk. A lump sum below the option's
  viability floor x expected cost is no real option and is never chosen;
- corridor: its share of the expected cost x (1 + premium), plus the gemeenten's share of the
  area's deviation beyond the band (seed 000: overruns and savings shared in bands).

The premium is a loading on the expected cost of what the provider takes over (stated per
option; a function of the risk transferred is a refinement for later). What the gemeente pays for
the other lots (not in contract_options) is its scenario charge as in the reserves.

    pay_{g,s} = other_{g,s} + sum_o z_o P_{o,g,s}
    R_g       = CVaR_alpha(pay_g) - E[pay_g]           (Rockafellar-Uryasev, exact on the samples)
    min  E[sum_g pay_g] + kappa sum_g R_g              (kappa: the cost of capital of a reserve euro)
    or   min  E[sum_g pay_g]  s.t.  R_g <= limit_g     (a reserve limit per gemeente)

The risk is measured on what the gemeente pays (coherent and linear in the choice); the reserves
of ``verdeelmodel reserves`` measure the tekort after the budget, which is not convex in the
choice. The formulation of record is the Pyomo model of ``build_model`` (the extensive form,
``solve_extensive``); the ``Chooser`` solves the same problem by scenario decomposition, a small
master MIP with CVaR cuts (tested equal to the extensive form on random problems): at 1,000
scenarios a region's extensive form has S x G Rockafellar-Uryasev rows and took 3-7 s per HiGHS
solve for Nijmegen, the decomposition 0.01-0.4 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .reserves import var_cvar


@dataclass
class Option:
    lot: str
    area: str
    form: str
    members: list[int]  # gemeente positions (in the ``gemeenten`` of the problem)
    pay: np.ndarray  # [S, len(members)] what each member pays per scenario under this option
    expected_cost: float  # of the area's clients (inspanning), the base of the premium
    viable: bool = True
    current: bool = False  # the form in force today
    price: float | None = None  # the expected payment by the contract's terms (None: the sample mean)
    plafond: float | None = None  # plafond: the area's plafond
    waiting_eur: float = 0.0  # plafond: the expected care that waits (above the plafond), per year
    waiting_weight: float = 0.0  # what a euro waiting counts for in the objective
    variant: str = ""  # tells apart several options of one form (plafond levels, corridor bands, lump sums)

    @property
    def label(self) -> str:
        """The form and its variant: what the chosen forms are named by."""
        return f"{self.form} {self.variant}" if self.variant else self.form

    @property
    def harm(self) -> float:
        """The waiting list in the objective: weight x expected euros waiting."""
        return self.waiting_weight * self.waiting_eur

    @property
    def group(self) -> tuple[str, str]:
        return (self.lot, self.area)


@dataclass
class ContractChoice:
    status: str
    chosen: list[Option]
    objective: float
    expected_pay: np.ndarray  # [G]
    reserve: np.ndarray  # [G] CVaR_alpha(pay) - E[pay]
    table: pd.DataFrame  # one row per option group: the chosen form and its figures


def build_model(options: list[Option], other: np.ndarray, alpha: float, kappa: float | None = None, limit: np.ndarray | None = None):
    """The extensive form as a Pyomo model: binaries per option, one per group, the payments per
    gemeente and scenario, the Rockafellar-Uryasev rows of each gemeente's CVaR."""
    import pyomo.environ as pyo

    S, G = other.shape
    m = pyo.ConcreteModel(name="contracts")
    O = range(len(options))
    m.z = pyo.Var(O, domain=pyo.Binary)
    groups: dict[tuple, list[int]] = {}
    for i, o in enumerate(options):
        groups.setdefault(o.group, []).append(i)
    m.one_form = pyo.Constraint(list(groups), rule=lambda _m, lot, area: sum(m.z[i] for i in groups[(lot, area)]) == 1)
    for i, o in enumerate(options):
        if not o.viable:
            m.z[i].fix(0)
    pay_terms: dict[tuple[int, int], list] = {}
    for i, o in enumerate(options):
        for k, g in enumerate(o.members):
            for s in range(S):
                v = float(o.pay[s, k])
                if v:
                    pay_terms.setdefault((g, s), []).append((v, m.z[i]))

    def pay(g: int, s: int):
        return float(other[s, g]) + sum(v * z for v, z in pay_terms.get((g, s), []))

    m.eta = pyo.Var(range(G), domain=pyo.Reals)
    m.tail = pyo.Var(range(G), range(S), domain=pyo.NonNegativeReals)
    m.ru = pyo.Constraint(range(G), range(S), rule=lambda _m, g, s: m.tail[g, s] >= pay(g, s) - m.eta[g])
    c = 1.0 / ((1.0 - alpha) * S)
    m.reserve = pyo.Expression(
        range(G), rule=lambda _m, g: m.eta[g] + c * sum(m.tail[g, s] for s in range(S)) - sum(pay(g, s) for s in range(S)) / S
    )
    expected = sum(pay(g, s) for g in range(G) for s in range(S)) / S + sum(o.harm * m.z[i] for i, o in enumerate(options) if o.harm)
    # the two parts of the objective, each on its own (the cost of capital weighs them without a rebuild)
    m.expected_pay = pyo.Objective(expr=expected, sense=pyo.minimize)
    m.reserve_total = pyo.Objective(expr=sum(m.reserve[g] for g in range(G)), sense=pyo.minimize)
    m.expected_pay.deactivate()
    m.reserve_total.deactivate()
    if limit is not None:
        m.reserve_limit = pyo.Constraint(range(G), rule=lambda _m, g: m.reserve[g] <= float(limit[g]))
        m.cost = pyo.Objective(expr=expected, sense=pyo.minimize)
    else:
        m.cost = pyo.Objective(expr=expected + float(kappa or 0.0) * sum(m.reserve[g] for g in range(G)), sense=pyo.minimize)
    return m


class Chooser:
    """The problem of ``build_model`` solved by scenario decomposition (a cutting-plane method on
    the gemeenten's CVaR, Kunzi-Bay & Mayer 2006): a small master MIP over the forms z and one
    theta_g per gemeente, and per gemeente the cuts

        theta_g >= sum_s q_s pay_{g,s}(z)      (q: the tail weights of the CVaR at a choice z)

    each a lower bound on CVaR_alpha(pay_g) (the CVaR is the largest such sum over the weights
    0 <= q_s <= 1 / ((1 - alpha) S), sum q = 1) and exact at the z it was cut at. The master is
    solved, the payments of its choice are evaluated on all scenarios (numpy), the gemeenten whose
    theta falls short of their CVaR get a cut, until none does (to ``tol``: a euro, less on small
    amounts): the choice is
    then optimal for the extensive form (the master is a relaxation that is exact at its
    optimum). The cuts hold for every cost of capital and reserve limit, so a frontier re-uses
    them. Same optimum as the extensive form (tests/test_contracts.py), without its S x G rows.
    """

    def __init__(self, options: list[Option], other: np.ndarray, alpha: float = 0.9, tol: float | None = None):
        self.options, self.other, self.alpha = options, np.asarray(other, dtype=float), alpha
        S, G = self.other.shape
        self.S, self.G, self.O = S, G, len(options)
        # the expected payment per option and gemeente: E_g(z) = E other_g + sum_o z_o mean_{o,g}
        self.mean = np.zeros((self.O, G))
        for i, o in enumerate(options):
            self.mean[i, o.members] = o.pay.mean(axis=0)
        self.other_mean = self.other.mean(axis=0)
        # the master's money unit: a power of ten near the largest expected payment (HiGHS's
        # tolerances are made for numbers of order one)
        top = max(1.0, float(np.abs(self.mean).max(initial=0.0)), float(np.abs(self.other_mean).max(initial=0.0)))
        self.unit = 10.0 ** math.floor(math.log10(top))
        # how far a theta may fall short of its CVaR: a euro, or less on small amounts
        self.tol = tol if tol is not None else min(1.0, 1e-7 * self.unit)
        groups: dict[tuple, list[int]] = {}
        for i, o in enumerate(options):
            groups.setdefault(o.group, []).append(i)
        self.groups = list(groups.values())
        k = min(S - 1, max(0, math.ceil(round(alpha * S, 9)) - 1))  # the VaR's position, as reserves.var_cvar
        cap = 1.0 / ((1.0 - alpha) * S)
        self.q_sorted = np.zeros(S)  # tail weights over the payments sorted in ascending order
        self.q_sorted[k + 1 :] = cap
        self.q_sorted[k] = 1.0 - (S - 1 - k) * cap
        self.cuts: list[tuple[int, np.ndarray, float]] = []  # (g, coefficient per option, constant)
        for g in range(G):  # CVaR >= mean: q uniform
            self.cuts.append((g, self.mean[:, g].copy(), float(self.other_mean[g])))
        self.cut_at: set[tuple[int, tuple[int, ...]]] = set()  # (gemeente, choice) cut so far
        self.iterations = 0

    def pay_of(self, picked: list[int]) -> np.ndarray:
        """What each gemeente pays per scenario [S, G] under the options ``picked``."""
        pay = self.other.copy()
        for i in picked:
            pay[:, self.options[i].members] += self.options[i].pay
        return pay

    def _cut(self, g: int, pay_g: np.ndarray) -> tuple[int, np.ndarray, float]:
        q = np.empty(self.S)
        q[np.argsort(pay_g, kind="stable")] = self.q_sorted
        coef = np.zeros(self.O)
        for i, o in enumerate(self.options):
            if g in o.members:
                coef[i] = q @ o.pay[:, o.members.index(g)]
        return g, coef, float(q @ self.other[:, g])

    def solve(self, kappa: float = 0.0, limit: np.ndarray | None = None, max_iterations: int = 500) -> ContractChoice:
        from verdeelmodel.solvers.highs import solve_milp

        O, G, u = self.O, self.G, self.unit
        kappa = float(kappa)
        # columns: z (O), theta (G); objective (1 - kappa) sum_g E_g(z) + kappa sum_g theta_g
        harm = np.array([o.harm for o in self.options])  # a plafond's waiting list
        cost = np.concatenate([((1.0 - kappa) * self.mean.sum(axis=1) + harm) / u, np.full(G, kappa)])
        lower = np.concatenate([np.zeros(O), np.full(G, -np.inf)])
        upper = np.concatenate([np.array([1.0 if o.viable else 0.0 for o in self.options]), np.full(G, np.inf)])
        integer = np.concatenate([np.ones(O, dtype=np.int32), np.zeros(G, dtype=np.int32)])
        base_r, base_c, base_v, base_lo, base_up = [], [], [], [], []
        for r, grp in enumerate(self.groups):  # one form per lot and area
            base_r += [r] * len(grp)
            base_c += grp
            base_v += [1.0] * len(grp)
            base_lo.append(1.0)
            base_up.append(1.0)
        if limit is not None:  # theta_g - E_g(z) <= limit_g
            for g in range(G):
                r = len(base_lo)
                nz = np.flatnonzero(self.mean[:, g])
                base_r += [r] * (len(nz) + 1)
                base_c += nz.tolist() + [O + g]
                base_v += (-self.mean[nz, g] / u).tolist() + [1.0]
                base_lo.append(-np.inf)
                base_up.append((float(limit[g]) + self.other_mean[g]) / u)
        for _it in range(max_iterations):
            rows, cols, vals = list(base_r), list(base_c), list(base_v)
            lo, up = list(base_lo), list(base_up)
            for g, coef, c0 in self.cuts:  # theta_g - sum_o coef_o z_o >= c0
                r = len(lo)
                nz = np.flatnonzero(coef)
                rows += [r] * (len(nz) + 1)
                cols += nz.tolist() + [O + g]
                vals += (-coef[nz] / u).tolist() + [1.0]
                lo.append(c0 / u)
                up.append(np.inf)
            status, x = solve_milp(cost, lower, upper, rows, cols, vals, lo, up, integer, options={"mip_rel_gap": 1e-9})
            self.iterations += 1
            if status != "optimal":
                return ContractChoice(status, [], float("nan"), np.array([]), np.array([]), pd.DataFrame())
            picked = [i for i in range(O) if x[i] > 0.5]
            pay = self.pay_of(picked)
            _v, cvar = var_cvar(pay, self.alpha)
            short = [int(g) for g in np.flatnonzero(np.asarray(cvar) - x[O:] * u > self.tol)]
            # a gemeente cut at this very choice before is short only by the master's tolerance
            # (HiGHS's, relative to the money unit): its cut is exact here, so the choice stands
            new = [g for g in short if (g, tuple(picked)) not in self.cut_at]
            if not new:
                return _report(self.options, self.alpha, picked, pay, kappa)
            for g in new:
                self.cut_at.add((g, tuple(picked)))
                self.cuts.append(self._cut(g, pay[:, g]))
        raise RuntimeError(f"the contract choice did not converge in {max_iterations} rounds of cuts")


def solve_extensive(
    options: list[Option], other: np.ndarray, alpha: float = 0.9, kappa: float | None = 0.0, limit: np.ndarray | None = None
) -> ContractChoice:
    """The extensive form of ``build_model`` (the formulation of record, S x G Rockafellar-Uryasev
    rows) compiled and solved as one HiGHS MIP: the reference the Chooser is tested against."""
    from verdeelmodel.solvers.highs import compile_model, solve_compiled_mip

    m = build_model(options, other, alpha, kappa, limit)
    lp = compile_model(m, ["cost"])
    cols = lp.cols_of()
    zcols = np.array([cols[("z", i)] for i in range(len(options))], dtype=np.int64)
    status, x, _obj = solve_compiled_mip(lp, "cost", zcols, options={"mip_rel_gap": 1e-9})
    if status != "optimal":
        return ContractChoice(status, [], float("nan"), np.array([]), np.array([]), pd.DataFrame())
    picked = [i for i in range(len(options)) if x[zcols[i]] > 0.5]
    pay = np.asarray(other, dtype=float).copy()
    for i in picked:
        pay[:, options[i].members] += options[i].pay
    return _report(options, alpha, picked, pay, float(kappa or 0.0))


def choose(
    options: list[Option], other: np.ndarray, alpha: float = 0.9, kappa: float | None = 0.0, limit: np.ndarray | None = None
) -> ContractChoice:
    """The optimal form per group (Chooser: the extensive form by scenario decomposition)."""
    return Chooser(options, other, alpha).solve(float(kappa or 0.0), limit)


def _report(options, alpha, picked: list[int], pay: np.ndarray, kappa: float) -> ContractChoice:
    _v, cvar = var_cvar(pay, alpha)
    mean = pay.mean(axis=0)
    reserve = np.asarray(cvar) - mean
    pick = [options[i] for i in picked]
    rows = []
    by_group = {o.group: o for o in pick}
    for (lot, area), o in sorted(by_group.items()):
        exp_pay = float(o.pay.mean(axis=0).sum())
        price = o.price if o.price is not None else exp_pay
        rows.append(
            {
                "lot": lot,
                "area": area,
                "form": o.form,
                "variant": o.variant,
                "expected_pay_eur": exp_pay,
                "expected_cost_eur": o.expected_cost,
                "premium_paid_eur": price - o.expected_cost,  # by the contract's terms: 0 for inspanning
                "plafond_eur": o.plafond,
                "expected_waiting_list_eur": o.waiting_eur,
            }
        )
    objective = float(mean.sum() + kappa * reserve.sum() + sum(o.harm for o in pick))
    return ContractChoice("optimal", pick, objective, mean, reserve, pd.DataFrame(rows))


# --------------------------------------------------------------------------- on an instance


@dataclass
class RegionProblem:
    region: str
    gemeenten: list[str]
    options: list[Option]
    other: np.ndarray  # [S, G] what each gemeente pays for everything else (agreed pooling rules)


def instance_problems(
    inst, planned_cost: np.ndarray, scenarios: int, seed: int, substitutions=None, chunk: int = 1000
) -> list[RegionProblem]:
    """The contracting problem of each region with contract options, on the reserves' scenarios
    (the plan's substitution and non-statutory lots at the plan applied; models/reserves.py)."""
    from verdeelmodel.errors import UsageError

    from .pooling import pool_setups, rules_of
    from .reserves import _charges, _thresholds, plan_view, rule_sets
    from .scenarios import demand_model, sample

    opts = inst.tables.get("contract_options")
    if opts is None or opts.empty:
        raise UsageError(
            f"instance {inst.name} has no contract_options.csv: there is no contract to choose",
            f"instantie {inst.name} heeft geen contract_options.csv: er is geen contract om uit te kiezen",
        )
    dm = demand_model(inst)
    setups = pool_setups(inst)
    rules = rules_of(inst)
    rs = rule_sets(inst, setups, None)[-1]
    _check_pooled_options(opts, setups, rs, rules)
    thr = _thresholds(rules, [rs])
    view = plan_view(inst, dm, planned_cost, substitutions)
    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    lpos = {l: j for j, l in enumerate(dm.lots)}
    domain_of = dict(zip(inst.lots["lot"], inst.lots["domain"]))
    bud = inst.budgets
    region_of = {(g, d): R for g, d, R in zip(bud["gemeente"], bud["domain"], bud["region"])}
    # the option cells: (gemeente, lot) contracted through an option
    groups = []
    for (lot, region, gemeente), grp in opts.groupby(["lot", "region", "gemeente"], sort=True):
        members = [gemeente] if gemeente else sorted(g for g in dm.gemeenten if region_of.get((g, domain_of[lot])) == region)
        area_region = region or region_of.get((gemeente, domain_of[lot]))
        groups.append((lot, region or gemeente, area_region, members, grp.to_dict("records")))
    cells = np.zeros((len(dm.gemeenten), len(dm.lots)), dtype=bool)
    for lot, _a, _r, members, _rows in groups:
        for g in members:
            cells[gpos[g], lpos[lot]] = True
    costs, clients, others = [], [], []
    done, c = 0, 0
    while done < scenarios:
        n = min(chunk, scenarios - done)
        batch = sample(dm, n, seed, c, thr)
        cost, excess = view.apply(batch.cost, batch._excess if thr else None)
        ex = (lambda H, e=excess: e[float(H)]) if excess is not None else None
        # the option cells without the plan's cap on non-statutory lots: their contract decides
        # what is paid (an open contract pays all demand, a plafond caps it)
        costs.append(view.apply(batch.cost, None, cap=False)[0][:, cells] if view.capped.any() else cost[:, cells].copy())
        # output pays per client at the expected cost per client: the clients' count at that price,
        # shaped by the plan as the cost is (moved clients leave one lot and arrive in another)
        count_cost, _e = view.apply(batch.clients * dm.mean_cost, None, cap=False)
        clients.append(count_cost[:, cells])
        rest = np.where(cells, 0.0, cost)
        others.append(_charges(dm, setups, rs, rules, rest, ex, view.lot_domain, view.n_dom).sum(-1))
        done += n
        c += 1
    C, N, other = np.concatenate(costs), np.concatenate(clients), np.concatenate(others)
    expected_shaped = view.apply(dm.expected_cost[None], None, cap=False)[0][0]  # the plan's expected cost per gemeente and lot
    cell_index = {tuple(x): k for k, x in enumerate(np.argwhere(cells))}
    problems: dict[str, RegionProblem] = {}
    for lot, area, region, members, rows in groups:
        j = lpos[lot]
        gi = [gpos[g] for g in members]
        cols = [cell_index[(i, j)] for i in gi]
        cost_m = C[:, cols]
        # the expected cost of the model (not of the sample): the terms of a contract (a lump sum,
        # the premium's base) do not depend on the scenarios they are judged on
        expected_m = expected_shaped[gi, j]
        exp_cost = float(expected_m.sum())
        share = expected_m / exp_cost if exp_cost > 0 else np.full(len(gi), 1.0 / len(gi))
        prob = problems.setdefault(region, RegionProblem(region, [], [], np.zeros((0, 0))))
        for r in rows:
            form, premium, extra = r["form"], float(r.get("premium") or 0.0), {"variant": str(r.get("variant") or "")}
            price = exp_cost * (1.0 + premium)  # output, corridor: the expected cost and the premium on it
            if form == "inspanning":
                pay, viable, price = cost_m, True, exp_cost
            elif form == "output":
                pay, viable = N[:, cols] * (1.0 + premium), True
            elif form == "corridor":
                band = float(r.get("corridor_band") if r.get("corridor_band") is not None else 0.1)
                gshare = float(r.get("corridor_share") if r.get("corridor_share") is not None else 0.5)
                pay, viable = corridor_pay(cost_m.sum(axis=1), exp_cost, band, gshare, premium)[:, None] * share[None, :], True
            elif form == "plafond":  # care above the area's plafond waits; each gemeente at the same fill rate
                plan_area = float(view.planned[gi, j].sum())
                plafond = _num(r.get("plafond_eur"))
                plafond = plafond if plafond is not None else plan_area * (_num(r.get("plafond_share")) or 1.0)
                total = cost_m.sum(axis=1)
                paid = np.minimum(total, plafond)
                with np.errstate(divide="ignore", invalid="ignore"):
                    fill = np.where(total > 0, paid / np.where(total > 0, total, 1.0), 1.0)
                pay, viable, price = cost_m * fill[:, None], True, exp_cost
                extra.update(plafond=plafond, waiting_eur=float((total - paid).mean()), waiting_weight=_waiting_weight(r))
            else:
                lump = r.get("lump_sum_eur")
                lump = float(lump) if lump is not None and lump == lump else exp_cost * (1.0 + premium)
                floor = float(r.get("viability_floor") if r.get("viability_floor") is not None else 0.9)
                # results-linked withholding (Alphen: 95 % paid monthly, 5 % when the results are met):
                # the withheld part is paid in a scenario with the stated probability (its own stream)
                w, p_met = _num(r.get("withheld_share")) or 0.0, _num(r.get("results_probability"))
                p_met = 1.0 if p_met is None else p_met
                met = np.ones(cost_m.shape[0])
                if w > 0 and p_met < 1:
                    met = (np.random.default_rng([seed, 12, int(r.get("_row") or 0)]).random(cost_m.shape[0]) < p_met).astype(float)
                paid = lump * (1.0 - w + w * met)
                price = lump * (1.0 - w + w * p_met)  # what the provider expects to receive
                pay, viable = paid[:, None] * share[None, :], price >= floor * exp_cost
            members = gi
            p_setups, p_names = _pooled_setups(setups, rs, lot)
            if p_setups:  # a pooled lot: its payments are charged to the pool's gemeenten by the agreed rule
                members, pay = _pool_charges_of(dm, p_setups, p_names, rules, gi, j, pay)
            prob.options.append(Option(lot, area, form, members, pay, exp_cost, viable, bool(r.get("current") or False), price, **extra))
    # regions linked through a pool's charges are one problem
    merged: list[tuple[list[str], set[int], list[Option]]] = []
    for region, prob in sorted(problems.items()):
        gs = {g for o in prob.options for g in o.members}
        linked = [m for m in merged if m[1] & gs]
        names, opts_, gset = [region], list(prob.options), set(gs)
        for m in linked:
            merged.remove(m)
            names, opts_, gset = m[0] + names, m[2] + opts_, gset | m[1]
        merged.append((names, gset, opts_))
    out = []
    for names, gset, options in merged:
        g_all = sorted(gset)
        local = {g: k for k, g in enumerate(g_all)}
        for o in options:
            o.members = [local[g] for g in o.members]
        out.append(RegionProblem(" + ".join(names), [dm.gemeenten[g] for g in g_all], options, other[:, g_all]))
    return out


def _num(v) -> float | None:
    """A number cell: None when blank (None or NaN)."""
    return None if v is None or v != v else float(v)


def _waiting_weight(row: dict) -> float:
    w = _num(row.get("waiting_list_weight"))
    return 1.0 if w is None else w


def _pooled_setups(setups, rs, lot: str) -> tuple[list, list]:
    """The pool setups that pool ``lot``, with their agreed rule names per region."""
    pick = [(s, names) for s, names in zip(setups, rs.per_setup) if lot in s.ctx.lots]
    return [s for s, _n in pick], [n for _s, n in pick]


def _check_pooled_options(opts, setups, rs, rules) -> None:
    """Options on a pooled lot: the pool charges what the gemeenten pay under the chosen form
    by the agreed rule, which must be affine in the pooled cost (so each option's charges add to
    the rest's); a per-client threshold (no client costs under a lump sum) or a minimum (a kink)
    is refused with its reason."""
    from verdeelmodel.errors import UsageError

    bad, bad_nl = [], []
    for lot in sorted(set(opts["lot"])):
        for s, names in zip(*_pooled_setups(setups, rs, lot)):
            for name in sorted(set(names)):
                rule = rules[name]
                k = rule.kind_spec
                if k.per_client_threshold:
                    why = "it pays per client above a threshold, and under a lump sum or a price per client there are no client costs"
                    waarom = "die betaalt per cliënt boven een drempel, en bij een vast bedrag of een prijs per cliënt zijn er geen kosten per cliënt"
                elif not k.is_linear(rule):
                    why = f"its charges are not linear in the cost ({k.not_linear_reason(rule)})"
                    waarom = f"de bijdragen zijn niet lineair in de kosten ({k.not_linear_reason_nl(rule)})"
                elif k.linear_charge(rule, s.ctx).gap_minimum is not None:
                    why = "its minimum makes the charges kink where the cost crosses it"
                    waarom = "door het minimum knikken de bijdragen waar de kosten het minimum passeren"
                else:
                    continue
                bad.append(f"lot {lot} is pooled in {s.ctx.pool} under rule {name}: {why}")
                bad_nl.append(f"perceel {lot} zit in pool {s.ctx.pool} met verdeelregel {name}: {waarom}")
    if bad:
        raise UsageError(
            "contract options cannot be chosen on these pooled lots: " + "; ".join(bad),
            "op deze percelen in een pool kunnen geen contractopties worden gekozen: " + "; ".join(bad_nl),
        )


def _pool_charges_of(dm, setups, names, rules, gi, j, pay) -> tuple[list[int], np.ndarray]:
    """What the gemeenten pay when the payments ``pay`` [S, len(gi)] of lot ``j`` go through its
    pools (``setups`` with their agreed rule names per region): the charges of that cost minus
    the charges of none (the rules are affine; their constant parts are in the other payments
    already); a gemeente outside the pools pays its own. Returns the gemeenten charged and their
    payments. Each pool is evaluated on its own gemeenten and lots (as reserves._charges does)."""
    from .pooling import pool_charges

    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    out = np.zeros((pay.shape[0], len(dm.gemeenten)))
    covered: set[int] = set()
    for setup, rule_names in zip(setups, names):
        ctx = setup.ctx
        local = {gpos[g]: k for k, g in enumerate(ctx.gemeenten)}
        li = list(ctx.lots).index(dm.lots[j])
        cost = np.zeros((pay.shape[0], ctx.n, len(ctx.lots)))
        for k, g in enumerate(gi):
            if g in local:
                cost[:, local[g], li] = pay[:, k]
                covered.add(g)
        charge = pool_charges(ctx, rule_names, rules, cost).charge - pool_charges(ctx, rule_names, rules, cost[:1] * 0.0).charge
        out[:, [gpos[g] for g in ctx.gemeenten]] += charge
    for k, g in enumerate(gi):
        if g not in covered:
            out[:, g] += pay[:, k]
    members = sorted(set(np.flatnonzero(np.abs(out).max(axis=0) > 0).tolist()) | set(gi))
    return members, out[:, members]


def corridor_pay(cost: np.ndarray, expected: float, band: float, share: float, premium: float) -> np.ndarray:
    """What the area pays under a risk corridor (seed 000: overruns and savings shared in bands):
    the expected cost x (1 + premium), and ``share`` of the deviation beyond +/- ``band`` x the
    expected cost (the provider carries the deviation within the band and the rest beyond it)."""
    d = cost - expected
    beyond = np.sign(d) * np.maximum(0.0, np.abs(d) - band * expected)
    return expected * (1.0 + premium) + share * beyond


def evaluate(
    chosen: list[tuple[str, str, str]], problem: RegionProblem, alpha: float, batches: int = 20, kappa: float = 0.0
) -> dict[str, float]:
    """The chosen forms ((lot, area, form label)) on a problem's scenarios: the region's expected
    payments, reserve (sum over gemeenten of CVaR - mean of their payment) and the objective
    (expected payments + ``kappa`` x reserve), each with a batch-means standard error (the
    reserves' method)."""

    keys = set(chosen)
    pay = problem.other.copy()
    for o in problem.options:
        if (o.lot, o.area, o.label) in keys:
            pay[:, o.members] += o.pay

    def figures(p: np.ndarray) -> tuple[float, float]:
        _v, c = var_cvar(p, alpha)
        return float(p.mean(axis=0).sum()), float((np.asarray(c) - p.mean(axis=0)).sum())

    e, r = figures(pay)
    S = pay.shape[0]
    se_e = se_r = se_o = float("nan")
    if S >= 10 * batches:
        edges = np.linspace(0, S, batches + 1).astype(int)
        per = np.array([figures(pay[a:b]) for a, b in zip(edges[:-1], edges[1:])])
        se_e, se_r = (per.std(axis=0, ddof=1) / np.sqrt(batches)).tolist()
        se_o = float((per[:, 0] + kappa * per[:, 1]).std(ddof=1) / np.sqrt(batches))
    return {
        "expected_pay_eur": e,
        "expected_pay_se_eur": se_e,
        "reserve_eur": r,
        "reserve_se_eur": se_r,
        "objective_eur": e + kappa * r,
        "objective_se_eur": se_o,
    }


def today(options: list[Option]) -> list[tuple[str, str, str]]:
    """The forms in force today: per lot and area the option marked current, else inspanning."""
    groups: dict[tuple, list[Option]] = {}
    for o in options:
        groups.setdefault(o.group, []).append(o)
    out = []
    for (lot, area), opts in sorted(groups.items()):
        cur = [o for o in opts if o.current] or [o for o in opts if o.form == "inspanning"] or opts[:1]
        out.append((lot, area, cur[0].label))
    return out


def per_gemeente(chosen: list[tuple[str, str, str]], problem: RegionProblem, alpha: float) -> pd.DataFrame:
    """Per gemeente of the region: the expected payment and the reserve (CVaR - mean of its
    payment) under the given forms."""
    keys = set(chosen)
    pay = problem.other.copy()
    for o in problem.options:
        if (o.lot, o.area, o.label) in keys:
            pay[:, o.members] += o.pay
    _v, c = var_cvar(pay, alpha)
    mean = pay.mean(axis=0)
    return pd.DataFrame({"gemeente": problem.gemeenten, "expected_pay_eur": mean, "reserve_eur": np.asarray(c) - mean})
