r"""Risk-aware contracting: choose the funding form of each contracted lot and area under demand
uncertainty (verdeelmodel contract).

A lot in an area (a region for a regional lot, a gemeente for a local one) may be contracted under
the forms that ``contract_options.csv`` allows; exactly one is chosen (first stage, binary z_o).
In scenario s gemeente g then pays, for option o (second stage, data of the scenario):

- inspanning: its clients' cost, tariff x units: it carries count and intensity risk;
- output: its clients x a price per client = the expected cost per client x (1 + premium): the
  provider carries the intensity risk (the middelingsprincipe) and asks the premium for it;
- taak: its share (by expected cost) of a lump sum for the area, the offered sum or the expected
  cost x (1 + premium): the provider carries the volume risk. A lump sum below the option's
  viability floor x expected cost is no real option and is never chosen.

The premium is a loading on the expected cost of what the provider takes over (stated per
option; a function of the risk transferred is a refinement for later). What the gemeente pays for
the other lots (not in contract_options) is its scenario charge as in the reserves.

    pay_{g,s} = other_{g,s} + sum_o z_o P_{o,g,s}
    R_g       = CVaR_alpha(pay_g) - E[pay_g]           (Rockafellar-Uryasev, exact on the samples)
    min  E[sum_g pay_g] + kappa sum_g R_g              (kappa: the cost of capital of a reserve euro)
    or   min  E[sum_g pay_g]  s.t.  R_g <= limit_g     (a reserve limit per gemeente)

The risk is measured on what the gemeente pays (coherent and linear in the choice); the reserves
of ``verdeelmodel reserves`` measure the tekort after the budget, which is not convex in the
choice. The formulation of record is the Pyomo model of ``build_model``; HiGHS solves it as a MIP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Option:
    lot: str
    area: str
    form: str
    members: list[int]  # gemeente positions (in the ``gemeenten`` of the problem)
    pay: np.ndarray  # [S, len(members)] what each member pays per scenario under this option
    expected_cost: float  # of the area's clients (inspanning), the base of the premium
    viable: bool = True

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
    expected = sum(pay(g, s) for g in range(G) for s in range(S)) / S
    if limit is not None:
        m.reserve_limit = pyo.Constraint(range(G), rule=lambda _m, g: m.reserve[g] <= float(limit[g]))
        m.cost = pyo.Objective(expr=expected, sense=pyo.minimize)
    else:
        m.cost = pyo.Objective(expr=expected + float(kappa or 0.0) * sum(m.reserve[g] for g in range(G)), sense=pyo.minimize)
    return m


def choose(
    options: list[Option], other: np.ndarray, alpha: float = 0.9, kappa: float | None = 0.0, limit: np.ndarray | None = None
) -> ContractChoice:
    """Solve the extensive form (HiGHS MIP) and report the chosen form per group."""
    from verdeelmodel.solvers.highs import compile_model, solve_compiled_mip

    from .reserves import var_cvar

    m = build_model(options, other, alpha, kappa, limit)
    lp = compile_model(m, ["cost"])
    cols = lp.cols_of()
    zcols = np.array([cols[("z", i)] for i in range(len(options))], dtype=np.int64)
    status, x, obj = solve_compiled_mip(lp, "cost", zcols)
    if status != "optimal":
        return ContractChoice(status, [], float("nan"), np.array([]), np.array([]), pd.DataFrame())
    pick = [o for i, o in enumerate(options) if x[zcols[i]] > 0.5]
    S, G = other.shape
    pay = other.copy()
    for o in pick:
        pay[:, o.members] += o.pay
    _v, cvar = var_cvar(pay, alpha)
    reserve = np.asarray(cvar) - pay.mean(axis=0)
    rows = []
    by_group = {o.group: o for o in pick}
    for (lot, area), o in sorted(by_group.items()):
        exp_pay = float(o.pay.mean(axis=0).sum())
        rows.append(
            {
                "lot": lot,
                "area": area,
                "form": o.form,
                "expected_pay_eur": exp_pay,
                "expected_cost_eur": o.expected_cost,
                "premium_paid_eur": exp_pay - o.expected_cost,
            }
        )
    return ContractChoice(status, pick, obj, pay.mean(axis=0), reserve, pd.DataFrame(rows))
