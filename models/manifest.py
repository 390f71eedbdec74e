"""The formulation's manifest: every constraint family, every objective stage and the budget
groups, declared once.

The schema (``options.families``, objective weights), the validator, the docs generator, the
model builder (``models/allocation.py``), the result layout and parameter changes
(``AllocationModel.set``, sweeps) all read this module; nothing else lists families or stages.
It imports nothing heavy, so the command line can read it before the model stack is loaded.

A family declares:

- ``name``: what ``options.families`` switches and what reports call it;
- ``kind``: what its rows are to a controller -- ``ceiling`` (a plafond or a budget: the row's
  upper bound is a negotiated amount), ``minimum`` (a guaranteed minimum: the lower bound),
  ``goal`` (a policy goal), ``balance`` (an accounting identity: need, links, pooled charges),
  ``need_cap`` (no budget above need) or ``substitution_limit`` (phi); ceilings, minimums and
  goals are the "binding rules" a solution reports;
- ``builder``: the function in ``models/allocation.py`` that adds it (its docstring is the math);
- ``scales``: the inputs that move its bounds or coefficients (:data:`INPUTS`), which is what a
  parameter change must update without rebuilding the model;
- ``components``: the Pyomo constraint components it adds (default: one, named as the family).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

#: Kinds of constraint rows; the first three are the rules a controller negotiates.
ROW_KINDS = ("ceiling", "minimum", "goal", "balance", "need_cap", "substitution_limit")
BUSINESS_KINDS = ("ceiling", "minimum", "goal")

#: Inputs a family's numbers may depend on (``Family.scales``):
#: need (volume x tariff per gemeente, population and lot), tariff, budget (IU + own funds),
#: plafond, minimum, goal (basis share, specialist reduction, vierkant), key_weight (pooling keys
#: and weights), reference (the reference allocation).
INPUTS = ("need", "tariff", "budget", "plafond", "minimum", "goal", "key_weight", "reference")


@dataclass(frozen=True)
class Family:
    name: str
    kind: str
    builder: str
    scales: frozenset[str]
    summary: str
    components: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"family {self.name}: kind {self.kind!r} is not one of {ROW_KINDS}")
        if not self.scales <= set(INPUTS):
            raise ValueError(f"family {self.name}: unknown inputs {sorted(self.scales - set(INPUTS))}")
        if not self.components:
            object.__setattr__(self, "components", (self.name,))


def _f(name: str, kind: str, scales: tuple[str, ...], summary: str, components: tuple[str, ...] = ()) -> Family:
    return Family(name, kind, f"add_{name}", frozenset(scales), summary, components)


#: Every constraint family, in the order the model adds them.
FAMILIES: tuple[Family, ...] = (
    _f("need_coverage", "balance", ("need", "tariff"), "need of every gemeente, population and lot is allocated, substituted or unmet"),
    _f("allocation_within_need", "need_cap", ("need", "tariff"), "no budget above need"),
    _f("substitution_funded", "balance", (), "substituted need is funded in the lighter lot"),
    _f("substitution_max_share", "substitution_limit", ("need", "tariff"), "at most a share phi of a lot's need is substituted"),
    _f("budget_per_gemeente", "ceiling", ("budget",), "what a gemeente pays stays within its budget"),
    _f("ceiling_per_lot_region", "ceiling", ("plafond",), "plafond per lot and region"),
    _f("ceiling_per_lot_gemeente", "ceiling", ("plafond",), "plafond per lot and gemeente"),
    _f("minimum_per_lot_region", "minimum", ("minimum",), "guaranteed minimum (volume guarantee) per lot and region"),
    _f("minimum_per_lot_gemeente", "minimum", ("minimum",), "guaranteed minimum per lot and gemeente"),
    _f("provider_lot_link", "balance", (), "provider budgets add up to the lot budget"),
    _f("ceiling_per_provider_lot", "ceiling", ("plafond",), "plafond per provider and lot"),
    _f("minimum_per_provider_lot", "minimum", ("minimum",), "guaranteed minimum per provider and lot"),
    _f("ceiling_per_provider", "ceiling", ("plafond",), "plafond per provider over all its contracts"),
    _f("minimum_per_provider", "minimum", ("minimum",), "guaranteed minimum per provider over all its contracts"),
    _f("basis_share_goal", "goal", ("goal",), "basis share of a population's budget at least sigma"),
    _f("specialist_reduction_goal", "goal", ("goal", "need", "tariff"), "specialist budget at most (1 - delta) x baseline"),
    _f(
        "funded_share_goal",
        "goal",
        ("goal", "need", "tariff"),
        "protected minimum: at least a share of the need of non-statutory lots is funded",
    ),
    _f("vierkant_band", "goal", ("goal",), "each vierkant category within its planned share +- shift"),
    _f("reference_deviation", "balance", ("reference",), "deviation from the reference allocation"),
    _f(
        "pooling_charge",
        "balance",
        ("key_weight", "tariff", "budget"),
        "risicoverevening: pooled charges replace own use in the budget row",
        ("pooled_total", "onderbenutting_minimum", "pooling_charge"),
    ),
)
FAMILY: dict[str, Family] = {f.name: f for f in FAMILIES}
#: Pyomo constraint component -> the family that adds it.
FAMILY_OF_COMPONENT: dict[str, Family] = {c: f for f in FAMILIES for c in f.components}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILY)


def kind_of(component: str) -> str:
    """The row kind of a constraint component ('' for a component outside the manifest)."""
    f = FAMILY_OF_COMPONENT.get(component)
    return f.kind if f is not None else ""


class Stage(str, Enum):
    """Objective stages, in lexicographic order. Each later stage keeps every earlier stage's
    optimum within ``opt x (1 + tolerance_rel) + tolerance_abs_eur`` (options.objective): a
    later stage can never buy its goal with more than that of an earlier one.

    Member names equal their values, so a stage is also its plain name (``Stage("unmet")``,
    ``Stage.unmet == "unmet"``)."""

    unmet_statutory = "unmet_statutory"
    unmet = "unmet"
    deviation = "deviation"
    spend = "spend"

    @property
    def objective(self) -> str:
        """Name of the Pyomo objective component of the stage."""
        return OBJECTIVE_PREFIX + self.value

    @property
    def summary(self) -> str:
        return _STAGE_SUMMARY[self]

    @property
    def default_weight(self) -> float:
        """Weight of the stage in the weighted mode (options.objective.weights)."""
        return _STAGE_WEIGHT[self]

    @staticmethod
    def tolerance(options) -> tuple[float, float]:
        """(relative, absolute in euros) within which later stages keep this stage's optimum."""
        return float(options.tolerance_rel), float(options.tolerance_abs_eur)

    @classmethod
    def of_objective(cls, name: str) -> Stage:
        """The stage of an objective component name (``objective_unmet`` -> Stage.unmet)."""
        return cls(name.removeprefix(OBJECTIVE_PREFIX))


OBJECTIVE_PREFIX = "objective_"
#: the one objective of the weighted mode (options.objective.mode = weighted)
WEIGHTED_OBJECTIVE = OBJECTIVE_PREFIX + "weighted"


def stage_name(objective: str) -> str:
    """The name a result reports for an objective component: ``objective_unmet`` -> ``unmet``."""
    return objective.removeprefix(OBJECTIVE_PREFIX)


_STAGE_SUMMARY = {
    Stage.unmet_statutory: "priority-weighted unmet need of statutory lots",
    Stage.unmet: "priority-weighted unmet need of all lots",
    Stage.deviation: "deviation from the reference allocation",
    Stage.spend: "total spend",
}
_STAGE_WEIGHT = {Stage.unmet_statutory: 1000.0, Stage.unmet: 100.0, Stage.deviation: 1.0, Stage.spend: 0.01}
STAGE_NAMES: tuple[str, ...] = tuple(s.value for s in Stage)
#: The stage whose duals are reported as ``shadow_price_unmet``.
DUAL_STAGE = Stage.unmet


def budget_group(gemeente: str, domain: str, scope: str) -> tuple[str, ...]:
    """The budget row a gemeente's spending in a domain falls in: (gemeente, domain) when
    budgets are per domain (options.budget_scope = per_domain), else (gemeente,)."""
    return (gemeente, domain) if scope == "per_domain" else (gemeente,)
