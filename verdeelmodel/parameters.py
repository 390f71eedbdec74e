"""Parameters of a loaded model that can change without a rebuild: one vocabulary for
``AllocationModel.set``, sweeps (``verdeelmodel sweep --param``) and notebooks.

==============================  =============================================================
``demand:<lot|domain|gemeente|*>``  multiplier of the need of a lot, of a domain's lots, of a
                                 gemeente, or of all (several multiply)
``tariff:<lot>``                 the lot's tariff in euros (need in euros scales with it)
``budget:<gemeente>|<domain>``   the money in the budget row, euros (``budget:<gemeente>`` with
                                 one budget per gemeente): a change of own funds; the IU, the
                                 uitkeringsfactor and IU keys stay
``limit:<family>:<index>``       a plafond or guaranteed minimum, euros, by the family and index
                                 of constraints.csv
``goal:<goal>:<domain>[|<gemeente>[|<population>[|<lot>]]]``  the value (sigma, delta, the
                                 protected share) of a row of goals.csv, by its key
``w_own:<rule>``                 the own-cost weight of a mixed pooling rule; the other weights
                                 keep their proportions and share 1 - w_own
==============================  =============================================================

Which rows and coefficients a parameter moves follows from the formulation's manifest
(``Family.scales``); the numbers come from the same code that built them (NeedBounds, or the
family rebuilt for the changed data), so a changed model equals a rebuilt one.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from verdeelmodel.fmt import t
from verdeelmodel.instance.problems import InstanceError, Problem
from verdeelmodel.models.manifest import index_of

KINDS = ("demand", "tariff", "budget", "limit", "goal", "w_own")
#: the formulation inputs (manifest.INPUTS) each kind of parameter changes
INPUTS_OF = {
    "demand": {"need"},
    "tariff": {"need", "tariff"},
    "budget": {"budget"},
    "limit": {"plafond", "minimum"},
    "goal": {"goal"},
    "w_own": {"key_weight"},
}
SYNTAX = {
    "demand": "demand:<lot>, demand:<domain>, demand:<gemeente> or demand:*",
    "tariff": "tariff:<lot>",
    "budget": "budget:<gemeente>|<domain> (budget:<gemeente> when budget_scope is total)",
    "limit": "limit:<family>:<index> as in constraints.csv",
    "goal": "goal:<goal>:<domain>[|<gemeente>[|<population>[|<lot>]]] as in goals.csv",
    "w_own": "w_own:<rule> of a mixed pooling rule",
}
#: the same in Dutch, for what a controller reads (``Problem.nl``)
SYNTAX_NL = {
    "demand": "demand:<perceel>, demand:<domein>, demand:<gemeente> of demand:*",
    "tariff": "tariff:<perceel>",
    "budget": "budget:<gemeente>|<domein> (budget:<gemeente> als budget_scope total is)",
    "limit": "limit:<familie>:<index> zoals in constraints.csv",
    "goal": "goal:<doel>:<domein>[|<gemeente>[|<populatie>[|<perceel>]]] zoals in goals.csv",
    "w_own": "w_own:<regel> van een gemengde verdeelregel",
}


@dataclass(frozen=True)
class Parameter:
    name: str  # as given, e.g. "demand:jeugd"
    kind: str
    target: str  # what follows the kind

    @property
    def index(self):
        """The target as a row index: 'a|b' -> ('a', 'b'), 'a' -> 'a'."""
        return index_of(self.target)


def bad(name: str, expected: str, nl: str) -> InstanceError:
    """A bad parameter: ``expected`` in English (stable), ``nl`` the same in Dutch."""
    return InstanceError([Problem("parameter", None, None, name, expected, nl)])


def parse(name: str, value) -> tuple[Parameter, float]:
    """A parameter name and value, checked for form (not yet against a model)."""
    kind, sep, target = str(name).partition(":")
    if not sep or kind not in KINDS or not target:
        raise bad(
            str(name),
            "demand:, tariff:, budget:, limit:, goal: or w_own: followed by what it changes",
            "demand:, tariff:, budget:, limit:, goal: of w_own:, gevolgd door wat het verandert",
        )
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise bad(f"{name}={value}", "a number", "een getal") from None
    if not math.isfinite(v) or v < 0:
        raise bad(f"{name}={value}", "a finite number >= 0", "een eindig getal >= 0")
    if kind in ("goal", "w_own") and v > 1:
        raise bad(f"{name}={value}", "a share between 0 and 1", "een aandeel tussen 0 en 1")
    if kind == "tariff" and v <= 0:
        raise bad(f"{name}={value}", "a tariff > 0", "een tarief > 0")
    if kind in ("budget", "limit", "tariff") and v > MAX_AMOUNT_EUR:
        raise bad(
            f"{name}={value}",
            "an amount of at most 1e13 euros (the supported range)",
            "een bedrag van hoogstens 1e13 euro (het ondersteunde bereik)",
        )
    return Parameter(str(name), kind, target), v


def check_amounts(inst, grid: list[dict[str, float]]) -> None:
    """Every point of a sweep keeps each need within the supported range (checked before any
    solve: a sweep never stops half-way on a point it could have refused at the start)."""
    need = inst.need.merge(inst.lots[["lot", "domain", "tariff_eur"]], on="lot", how="left")
    if need.empty:
        return
    volume = need["volume"].to_numpy(dtype=float)
    lots, domains, gemeenten = need["lot"].to_numpy(), need["domain"].to_numpy(), need["gemeente"].to_numpy()
    for point in grid:
        tariff = need["tariff_eur"].to_numpy(dtype=float).copy()
        mult = np.ones(len(need))
        for name, value in point.items():
            p, v = parse(name, value)
            if p.kind == "demand":
                mult[(p.target == "*") | (lots == p.target) | (domains == p.target) | (gemeenten == p.target)] *= v
            elif p.kind == "tariff":
                tariff[lots == p.target] = v
        if float(np.max(volume * tariff * mult)) > MAX_AMOUNT_EUR:
            shown = ", ".join(f"{k}={v:g}" for k, v in point.items())
            raise bad(
                shown,
                "values that keep every need within 1e13 euros (the supported range); this point goes beyond it",
                "waarden die elke behoefte binnen 1e13 euro houden (het ondersteunde bereik); dit punt gaat erboven",
            )


def goal_key(p: Parameter) -> tuple[str, str, str, str, str]:
    """(goal, domain, gemeente, population, lot): the key of goals.csv a goal parameter names."""
    goal, sep, rest = p.target.partition(":")
    parts = rest.split("|") if sep else []
    if not sep or not 1 <= len(parts) <= 4:
        raise bad(p.name, SYNTAX["goal"], SYNTAX_NL["goal"])
    parts += [""] * (4 - len(parts))
    return goal, parts[0], parts[1], parts[2], parts[3]


def changed_instance(inst, params: dict[Parameter, float]):
    """A copy of ``inst`` with the tables changed as the parameters say (tariffs, own funds,
    goals, mixed-rule weights; need is not edited here: the model scales it itself)."""
    from verdeelmodel.models.rules import rules_of

    out = inst.copy()
    T = out.tables
    for p, v in params.items():
        if p.kind == "tariff":
            T["lots"] = T["lots"].assign(tariff_eur=[v if l == p.target else t for l, t in zip(T["lots"]["lot"], T["lots"]["tariff_eur"])])
        elif p.kind == "budget":
            key = p.index if isinstance(p.index, tuple) else (p.index,)
            if len(key) != 2:
                raise bad(
                    p.name,
                    "budget:<gemeente>|<domain> where a pooling key uses the budget (change own_funds_eur in budgets.csv when budget_scope is total)",
                    "budget:<gemeente>|<domein> waar een verdeelsleutel het budget gebruikt"
                    " (pas own_funds_eur in budgets.csv aan als budget_scope total is)",
                )
            b = T["budgets"]
            T["budgets"] = b.assign(
                own_funds_eur=[
                    v - iu if (g, d) == key else o for g, d, iu, o in zip(b["gemeente"], b["domain"], b["budget_eur"], b["own_funds_eur"])
                ]
            )
        elif p.kind == "goal":
            k = goal_key(p)
            g = T["goals"]
            keys = zip(g["goal"], g["domain"], g["gemeente"], g["population"], g["lot"])
            T["goals"] = g.assign(value=[v if key == k else x for key, x in zip(keys, g["value"])])
        elif p.kind == "w_own":
            rule = rules_of(inst)[p.target]
            others = {c: getattr(rule, c) for c in rule.kind_spec.weight_columns if c != "w_own"}
            total = sum(others.values())
            pr = T["pooling_rules"]
            new = {c: [x / total * (1 - v) if r == p.target else x for r, x in zip(pr["rule"], pr[c])] for c in others}
            new["w_own"] = [v if r == p.target else x for r, x in zip(pr["rule"], pr["w_own"])]
            T["pooling_rules"] = pr.assign(**new)
    return out


#: the largest amount the model takes (as verdeelmodel.instance.validate.MAX_AMOUNT_EUR)
MAX_AMOUNT_EUR = 1e13

#: the most points a sweep grid may have (each is a solve of the allocation)
MAX_POINTS = 100_000


def grid_from_specs(specs: list[str], notes: list[str] | None = None) -> list[dict[str, float]]:
    """``NAME=START:STOP:POINTS`` or ``NAME=V1,V2,...`` (or ``V1;V2`` with decimal commas) per
    parameter; the full factorial grid. ``notes``: where a list could be read two ways (``0,9``:
    the points 0 and 9, or the Dutch 0.9), the reading taken is said here."""
    axes = []
    total = 1
    seen: set[str] = set()
    for spec in specs:
        name, eq, values = spec.partition("=")
        if not eq or not name:
            raise _bad(spec, "NAME=START:STOP:POINTS or NAME=V1,V2,...", "NAAM=BEGIN:EIND:PUNTEN of NAAM=W1,W2,...")
        if name in seen:  # a second --param of one name would silently replace the first in every point
            raise _bad(
                spec,
                f"each parameter once ({name} is given twice); list all its values in one --param",
                f"elke parameter één keer ({name} staat er twee keer); zet al zijn waarden in één --param",
            )
        seen.add(name)
        try:
            if ":" in values:
                a, b, n = values.split(":")
                if not 1 <= int(n) <= MAX_POINTS:
                    raise _bad(spec, f"POINTS from 1 to {MAX_POINTS:,}", f"PUNTEN van 1 tot en met {MAX_POINTS}")
                vals = np.linspace(float(a), float(b), int(n)).tolist()
            else:
                if ";" in values:  # V1;V2 with Dutch decimal commas
                    vals = [float(v.strip().replace(",", ".")) for v in values.split(";") if v.strip()]
                else:
                    vals = [float(v) for v in values.split(",")]
                    if notes is not None and re.fullmatch(r"\d+,\d{1,2}", values.strip()):
                        a, b = values.strip().split(",")
                        notes.append(
                            t(
                                f"--param {spec}: gelezen als de twee punten {a} en {b}; bedoelt u het getal {a},{b}, schrijf dan {name}={a}.{b}",
                                f"--param {spec}: read as the two points {a} and {b}; for the number {a}.{b} write {name}={a}.{b}",
                            )
                        )
        except ValueError:
            raise _bad(
                spec,
                "numbers: START:STOP:POINTS (e.g. 0.8:1.2:5) or V1,V2,...",
                "getallen: BEGIN:EIND:PUNTEN (bijv. 0.8:1.2:5) of W1,W2,...",
            ) from None
        if not vals:
            raise _bad(spec, "at least one value", "minstens één waarde")
        total *= len(vals)
        if total > MAX_POINTS:  # each point is a solve: a grid this size is a typing mistake (and would exhaust memory)
            raise _bad(
                " ".join(specs),
                f"a grid of at most {MAX_POINTS:,} points (this one has {total:,} or more); sweep fewer values",
                f"een rooster van hoogstens {MAX_POINTS} punten (dit heeft er {total} of meer); neem minder waarden",
            )
        for v in vals:
            try:
                parse(name, v)
            except InstanceError as e:
                raise _bad(f"{name}={v:g}", e.problems[0].expected, e.problems[0].nl) from None
        axes.append([(name, v) for v in vals])
    return [dict(p) for p in itertools.product(*axes)]


def _bad(value: str, expected: str, nl: str) -> InstanceError:
    return InstanceError([Problem("--param", None, None, value, expected, nl)])
