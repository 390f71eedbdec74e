r"""Pooling rule kinds (risicoverevening) as a registry: one small class per kind.

A kind says which columns of pooling_rules.csv it needs (``required``) and checks
(``problems``), which keys it uses (``weights``, ``bases``), how it charges -- as linear
coefficients (``linear_charge``: charge_g = sum_l own_l C_{g,l} + kappa_g sum_l shared_l T_{R,l}
+ k_g, with own_l + shared_l = 1) or by its own evaluation (``evaluate``) -- and what a plan
applies instead when the allocation model cannot (``in_plan``). The schema, the validator, the
pooling engine (models/pooling.py), the allocation model, reserves and sweeps all ask the
registry; adding a kind touches this module and the schema's columns only.

The engine's contexts (``ctx``: members, keys, region totals) are
:class:`verdeelmodel.models.pooling.PoolContext`; this module needs only their methods.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

#: Keys a shared part can be divided by.
BASES = ("inhabitants", "iu", "budget", "reference", "history")


@dataclass(frozen=True)
class Rule:
    """A rule as pooling_rules.csv defines it (``profijt`` is built in)."""

    name: str
    kind: str
    basis: str = "inhabitants"
    years: int = 1
    history_measure: str = "clients"
    w_own: float = 0.0
    w_inhabitants: float = 0.0
    w_iu: float = 0.0
    w_budget: float = 0.0
    w_reference: float = 0.0
    w_history: float = 0.0
    fixed_eur: float | None = None
    fixed_share: float | None = None
    minimum_eur: float | None = None
    gap_basis: str = "inhabitants"
    threshold_eur: float | None = None
    pool_share: float | None = None
    fund_threshold_eur_per_inhabitant: float | None = None
    fund_cap_eur: float | None = None
    compensation_share: float = 1.0
    label: str = ""

    @classmethod
    def from_row(cls, row: dict) -> Rule:
        kw = {f.name: row[f.name] for f in fields(cls) if f.name in row and f.name != "name"}
        kw = {k: (None if isinstance(v, float) and v != v else v) for k, v in kw.items()}
        return cls(name=row["rule"], **kw)

    @property
    def kind_spec(self) -> Kind:
        return KIND[self.kind]

    @property
    def weights(self) -> dict[str, float]:
        """Key weights of the shared part, per basis."""
        return self.kind_spec.weights(self)

    def bases(self) -> set[str]:
        """Every key this rule needs."""
        return self.kind_spec.bases(self)


PROFIJT = Rule(name="profijt", kind="profijt", label="profijt (gebruiker betaalt)")


@dataclass
class LinearCharge:
    """charge_g = sum_l own[l] C_{g,l} + key_g sum_l shared[l] T_{R(g),l} + constant_g (+ key_gap_g gap_R)."""

    own: np.ndarray  # [L]
    shared: np.ndarray  # [L], own + shared = 1
    key: np.ndarray  # [G]
    constant: np.ndarray  # [G]; sums to the fixed costs per region
    gap_minimum: float | None = None  # onderbenutting: gap_R = max(0, minimum - T_R) shared by gap_key
    gap_key: np.ndarray | None = None


@dataclass
class Charges:
    charge: np.ndarray  # [..., G]
    pooled_total: np.ndarray  # [..., R] what the region pays for the pool
    payout: np.ndarray  # [..., G] fund or pool payouts to g
    contribution: np.ndarray  # [..., G] g's contribution to a fund or pool


def _num(v) -> bool:
    return v is not None and not (isinstance(v, float) and v != v)


class Kind:
    """A kind of pooling rule. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    summary: ClassVar[str]
    #: columns of pooling_rules.csv that must have a value
    required: ClassVar[tuple[str, ...]] = ()
    #: the mixed-key weight columns (w_own first) of a kind whose weights can be chosen
    weight_columns: ClassVar[tuple[str, ...]] = ()
    #: charges depend on each client's cost above a threshold (per-client draws in scenarios)
    per_client_threshold: ClassVar[bool] = False
    #: the linear coefficients depend on the lots' tariffs
    tariff_dependent: ClassVar[bool] = False

    def problems(self, row: dict) -> list[tuple[str, str, str, str]]:
        """(column, value, expected, expected in Dutch) for every parameter problem of a pooling_rules.csv row."""
        return [
            (c, "", f"a value: rule kind {self.name} needs {c}", f"een waarde: een verdeelregel van soort {self.name} heeft {c} nodig")
            for c in self.required
            if not _num(row.get(c))
        ]

    def weights(self, rule: Rule) -> dict[str, float]:
        return {rule.basis: 1.0}

    def bases(self, rule: Rule) -> set[str]:
        return set(self.weights(rule))

    def is_linear(self, rule: Rule) -> bool:
        """Charges linear in the costs (the allocation model can put them in a budget row)."""
        return True

    def not_linear_reason(self, rule: Rule) -> str:
        return ""

    def not_linear_reason_nl(self, rule: Rule) -> str:
        """:meth:`not_linear_reason` in Dutch."""
        return ""

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        raise ValueError(f"rule {rule.name} ({self.name}) is not linear in the costs")

    def in_plan(self, rule: Rule, within_need: bool) -> Rule:
        """The rule a plan applies (a planned allocation never exceeds need when
        ``within_need``); the rule itself unless a kind knows better."""
        return rule

    def evaluate(self, rule: Rule, ctx, cost_by_lot: np.ndarray, excess: np.ndarray | None = None) -> Charges:
        """Charges for costs [..., G, L] through the linear coefficients."""
        C = cost_by_lot.sum(-1)
        T = ctx.total(C)
        zero = np.zeros_like(C)
        lc = self.linear_charge(rule, ctx)
        own = cost_by_lot @ lc.own
        shared_R = ctx.total(cost_by_lot @ lc.shared)
        contribution = lc.key * ctx.spread(shared_R)
        charge = own + contribution + lc.constant
        pooled = T + ctx.total(lc.constant)
        if lc.gap_minimum is not None:
            gap = np.maximum(0.0, lc.gap_minimum - T)
            charge = charge + lc.gap_key * ctx.spread(gap)
            pooled = pooled + gap
        return Charges(charge, pooled, zero, zero)


class Profijt(Kind):
    name = "profijt"
    summary = "charge_g = C_g (gebruiker betaalt)"

    def weights(self, rule: Rule) -> dict[str, float]:
        return {}

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        L, G = len(ctx.lots), ctx.n
        return LinearCharge(np.ones(L), np.zeros(L), np.zeros(G), np.zeros(G))


class Solidariteit(Kind):
    name = "solidariteit"
    summary = "charge_g = kappa(g) T_R (kappa: inhabitants, iu, budget, reference, history)"

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        L, G = len(ctx.lots), ctx.n
        return LinearCharge(np.zeros(L), np.ones(L), ctx.key(rule), np.zeros(G))


class UitgesteldProfijt(Solidariteit):
    name = "uitgesteld_profijt"
    summary = "charge_g = kappa_hist(g) T_R (share of use over the previous N years)"

    def weights(self, rule: Rule) -> dict[str, float]:
        return {"history": 1.0}


class VastVariabel(Kind):
    name = "vast_variabel"
    summary = "charge_g = C_g + kappa(g) F_R (fixed_eur), or (1 - f) C_g + f kappa(g) T_R (fixed_share)"

    def problems(self, row: dict) -> list[tuple[str, str, str, str]]:
        if _num(row.get("fixed_eur")) == _num(row.get("fixed_share")):
            return [
                (
                    "fixed_eur",
                    "",
                    "exactly one of fixed_eur (fixed costs per region) or fixed_share for kind vast_variabel",
                    "precies één van fixed_eur (vaste kosten per regio) of fixed_share voor soort vast_variabel",
                )
            ]
        return []

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        L, G = len(ctx.lots), ctx.n
        kappa = ctx.key(rule)
        if rule.fixed_share is not None:
            f = float(rule.fixed_share)
            return LinearCharge(np.ones(L) * (1 - f), np.ones(L) * f, kappa, np.zeros(G))
        return LinearCharge(np.ones(L), np.zeros(L), kappa, kappa * float(rule.fixed_eur or 0.0))


class Mixed(Kind):
    name = "mixed"
    summary = "charge_g = w_own C_g + sum_b w_b kappa_b(g) T_R, w_own + sum_b w_b = 1"
    weight_columns = ("w_own", *(f"w_{b}" for b in BASES))

    def problems(self, row: dict) -> list[tuple[str, str, str, str]]:
        total = sum(float(row.get(c) or 0.0) for c in self.weight_columns)
        if abs(total - 1) > 1e-9:
            formula = " + ".join(self.weight_columns) + " = 1"
            return [("w_own", f"weights adding up to {total:g}", formula, f"gewichten die samen 1 zijn: {formula}")]
        return []

    def weights(self, rule: Rule) -> dict[str, float]:
        return {b: getattr(rule, f"w_{b}") for b in BASES if getattr(rule, f"w_{b}") > 0}

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        L, G = len(ctx.lots), ctx.n
        return LinearCharge(
            np.ones(L) * rule.w_own, np.ones(L) * (1 - rule.w_own), ctx.key(rule) if rule.w_own < 1 else np.zeros(G), np.zeros(G)
        )


class Onderbenutting(Kind):
    name = "onderbenutting"
    summary = "gap_R = max(0, M - T_R); charge_g = C_g + kappa(g) gap_R, or C_g (1 + gap_R / T_R) (surcharge)"
    required = ("minimum_eur",)

    def weights(self, rule: Rule) -> dict[str, float]:
        return {"budget" if rule.gap_basis == "budget" else "inhabitants": 1.0}

    def is_linear(self, rule: Rule) -> bool:
        return rule.gap_basis != "surcharge"

    def not_linear_reason(self, rule: Rule) -> str:
        return "onderbenutting with gap_basis surcharge"

    def not_linear_reason_nl(self, rule: Rule) -> str:
        return "onderbenutting met gap_basis surcharge"

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        if not self.is_linear(rule):
            return super().linear_charge(rule, ctx)
        L, G = len(ctx.lots), ctx.n
        return LinearCharge(np.ones(L), np.zeros(L), np.zeros(G), np.zeros(G), float(rule.minimum_eur or 0.0), ctx.key(rule))

    def evaluate(self, rule: Rule, ctx, cost_by_lot: np.ndarray, excess: np.ndarray | None = None) -> Charges:
        if self.is_linear(rule):
            return super().evaluate(rule, ctx, cost_by_lot, excess)
        C = cost_by_lot.sum(-1)
        T = ctx.total(C)
        gap = np.maximum(0.0, float(rule.minimum_eur or 0.0) - T)
        Tg = ctx.spread(T)
        by_inh = ctx.shares(ctx.inhabitants, "inhabitants")
        with np.errstate(divide="ignore", invalid="ignore"):
            surcharge = np.where(Tg > 0, C * ctx.spread(gap) / np.where(Tg > 0, Tg, 1.0), by_inh * ctx.spread(gap))
        return Charges(C + surcharge, T + gap, np.zeros_like(C), surcharge)


class HighCostPool(Kind):
    name = "high_cost_pool"
    summary = "the pool pays q of each client's cost above H; charge_g = C_g - q X_g + kappa(g) q sum_h X_h"
    required = ("threshold_eur", "pool_share")
    per_client_threshold = True
    tariff_dependent = True

    @staticmethod
    def excess_share(rule: Rule, ctx) -> np.ndarray:
        """e_l = max(0, 1 - H / cost_per_client_l): the part of a planned client's cost above H, per
        lot (in a plan every client of lot l costs tariff x units_per_client, demand.csv)."""
        per_client = ctx.tariff if ctx.cost_per_client is None else ctx.cost_per_client
        return np.clip(1.0 - float(rule.threshold_eur) / per_client, 0.0, None)

    def linear_charge(self, rule: Rule, ctx) -> LinearCharge:
        e = self.excess_share(rule, ctx) * float(rule.pool_share)
        return LinearCharge(1 - e, e, ctx.key(rule), np.zeros(ctx.n))

    def evaluate(self, rule: Rule, ctx, cost_by_lot: np.ndarray, excess: np.ndarray | None = None) -> Charges:
        C = cost_by_lot.sum(-1)
        T = ctx.total(C)
        if excess is not None:  # per-client costs: the pool pays q of each client's cost above H
            pool_g = float(rule.pool_share) * np.asarray(excess, dtype=float)
            contribution = ctx.key(rule) * ctx.spread(ctx.total(pool_g))
            return Charges(C - pool_g + contribution, T, pool_g, contribution)
        ch = super().evaluate(rule, ctx, cost_by_lot)
        lc = self.linear_charge(rule, ctx)
        payout = cost_by_lot @ lc.shared
        return Charges(ch.charge, ch.pooled_total, payout, lc.key * ctx.spread(ctx.total(payout)))


class ThresholdFund(Kind):
    name = "threshold_fund"
    summary = "gemeenten whose deficit exceeds X per inhabitant are compensated from a fund all pay into by a key"
    required = ("fund_threshold_eur_per_inhabitant",)

    def is_linear(self, rule: Rule) -> bool:
        return False

    def not_linear_reason(self, rule: Rule) -> str:
        return "threshold_fund with allocation_within_need switched off"

    def not_linear_reason_nl(self, rule: Rule) -> str:
        return "threshold_fund met allocation_within_need uitgeschakeld"

    def in_plan(self, rule: Rule, within_need: bool) -> Rule:
        # planned cost never exceeds expected cost (no budget above need): no deficit, no claim,
        # no fund -- in a plan the threshold fund charges exactly profijt
        return PROFIJT if within_need else rule

    def evaluate(self, rule: Rule, ctx, cost_by_lot: np.ndarray, excess: np.ndarray | None = None) -> Charges:
        C = cost_by_lot.sum(-1)
        T = ctx.total(C)
        X = float(rule.fund_threshold_eur_per_inhabitant or 0.0)
        deficit = C - ctx.expected_eur
        claim = float(rule.compensation_share) * np.maximum(0.0, deficit - X * ctx.inhabitants)
        claims_R = ctx.total(claim)
        fund_R = claims_R if rule.fund_cap_eur is None else np.minimum(claims_R, float(rule.fund_cap_eur))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale_R = np.where(claims_R > 0, fund_R / np.where(claims_R > 0, claims_R, 1.0), 0.0)
        payout = claim * ctx.spread(scale_R)
        contribution = ctx.key(rule) * ctx.spread(fund_R)
        return Charges(C - payout + contribution, T, payout, contribution)


#: The registry: every kind once, by name, in the order the docs list them.
KIND: dict[str, Kind] = {
    k.name: k
    for k in (Profijt(), Solidariteit(), UitgesteldProfijt(), VastVariabel(), Onderbenutting(), Mixed(), HighCostPool(), ThresholdFund())
}
KIND_NAMES: tuple[str, ...] = tuple(KIND)


def rules_of(inst) -> dict[str, Rule]:
    """The instance's rules by name, with the built-in profijt."""
    out = {"profijt": PROFIJT}
    for row in inst.pooling_rules.to_dict("records"):
        out[row["rule"]] = Rule.from_row(row)
    return out
