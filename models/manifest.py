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
    _f("substitution_funded", "balance", ("need", "tariff"), "substituted need is funded in the lighter lot"),
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

    Member names equal their values, so a stage is also its plain name (``Stage("tekort")``,
    ``Stage.tekort == "tekort"``). The order, as a controller can read it aloud, is in
    :data:`STAGE_REASON`."""

    tekort = "tekort"
    plafondoverschrijding = "plafondoverschrijding"
    unmet = "unmet"
    deviation = "deviation"
    spend = "spend"
    equal_treatment = "equal_treatment"

    @property
    def objective(self) -> str:
        """Name of the Pyomo objective component of the stage."""
        return OBJECTIVE_PREFIX + self.value

    @property
    def summary(self) -> str:
        return _STAGE_SUMMARY[self]

    @property
    def reason(self) -> str:
        return STAGE_REASON[self]

    @property
    def default_weight(self) -> float:
        """Weight of the stage in the weighted mode (options.objective.weights)."""
        return _STAGE_WEIGHT[self]

    @property
    def priced(self) -> bool:
        """Its duals are reported as shadow prices (a linear stage whose objective a rule can move)."""
        return self in PRICE_UNIT


OBJECTIVE_PREFIX = "objective_"
#: the one objective of the weighted mode (options.objective.mode = weighted)
WEIGHTED_OBJECTIVE = OBJECTIVE_PREFIX + "weighted"


def stage_name(objective: str) -> str:
    """The name a result reports for an objective component: ``objective_tekort`` -> ``tekort``."""
    return objective.removeprefix(OBJECTIVE_PREFIX)


_STAGE_SUMMARY = {
    Stage.tekort: "tekort: what the budgets cannot carry, summed over gemeenten (euros)",
    Stage.plafondoverschrijding: "plafondoverschrijding: care above contract plafonds, summed over plafonds (euros)",
    Stage.unmet: "priority-weighted unmet need of non-statutory lots (euros x weight)",
    Stage.deviation: "deviation from the reference allocation (euros)",
    Stage.spend: "total spend (euros)",
    Stage.equal_treatment: "equal treatment: sum of unmet^2 / need over non-statutory cells + provider budget^2 / plafond "
    "+ substituted need^2 / what may be substituted",
}
#: Why the stages come in this order, in words a council can follow.
STAGE_REASON = {
    Stage.tekort: "First the law: statutory care (Jeugdwet, Wmo 2015) is always provided in full. What the budget "
    "(IU share and own funds) cannot carry is a tekort, paid from general means or reserves; the model keeps it as small "
    "as the rules allow (substitution to lighter care, no budget above need).",
    Stage.plafondoverschrijding: "Then the contracts: care beyond a provider's or a lot's plafond goes to a provider with "
    "room under the same lot; what no provider can take is a plafondoverschrijding, the amount the gemeente must add to "
    "the contracts, as small as possible. It never leaves a client without care.",
    Stage.unmet: "Then non-statutory care (prevention, algemene voorzieningen): funded from what the budget has left, "
    "the highest priority weight first, and never less than a protected minimum the instance states (funded_share).",
    Stage.deviation: "Then the verdeelmodel: among the allocations that are equally good so far, the one closest to the "
    "reference allocation (maatstaven x bedragen x uitkeringsfactor).",
    Stage.spend: "Then the least total spend: substitute where the rules allow, place no budget that is not needed.",
    Stage.equal_treatment: "Last, equal treatment, a tie-break that can never cost a euro of anything above: where "
    "several allocations are equal in every earlier respect, equal cases get equal shares. A shortfall of non-statutory "
    "care under a shared limit is spread in proportion to need (the same funded share for everyone), and a lot's budget "
    "over its providers in proportion to their contract plafonds (equally where no plafond is given). Need is moved to a "
    "lighter lot only where that gains something above, and a limited substitution is shared in proportion to what each "
    "gemeente may move. So no result "
    "depends on the names of gemeenten or providers, or on the order of rows.",
}
_STAGE_WEIGHT = {
    Stage.tekort: 1000.0,
    Stage.plafondoverschrijding: 500.0,
    Stage.unmet: 100.0,
    Stage.deviation: 1.0,
    Stage.spend: 0.01,
    Stage.equal_treatment: 0.0,
}
#: The unit of a shadow price in each stage whose duals are reported (per euro of the rule's bound).
PRICE_UNIT = {
    Stage.tekort: "euro tekort per euro",
    Stage.plafondoverschrijding: "euro plafondoverschrijding per euro",
    Stage.unmet: "euro gewogen onvervulde vraag per euro",
    Stage.deviation: "euro afwijking van de referentieverdeling per euro",
}
STAGE_NAMES: tuple[str, ...] = tuple(s.value for s in Stage)
#: Stages solved as quadratic programmes (kept out of the weighted mode, solved last).
QUADRATIC_STAGES = (Stage.equal_treatment,)


def index_text(index) -> str:
    """A row index as reports write it (constraints.csv, parameters): tuple members joined by '|'."""
    if index.__class__ is tuple:
        try:
            return "|".join(index)
        except TypeError:  # a member that is not a string
            return "|".join(map(str, index))
    return str(index)


def index_of(text: str):
    """A row index from its written form: 'a|b' -> ('a', 'b'), 'a' -> 'a' (index_text's inverse)."""
    return tuple(text.split("|")) if "|" in text else text


def budget_group(gemeente: str, domain: str, scope: str) -> tuple[str, ...]:
    """The budget row a gemeente's spending in a domain falls in: (gemeente, domain) when
    budgets are per domain (options.budget_scope = per_domain), else (gemeente,)."""
    return (gemeente, domain) if scope == "per_domain" else (gemeente,)
