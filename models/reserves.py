r"""Reserve sizing (weerstandsvermogen): what each gemeente must hold against demand swings,
under each pooling rule.

For rule set r (``profijt``: nothing pooled; ``agreed``: pools.csv; or a candidate rule applied
to every pool), scenario s and gemeente g:

    O_{g,s} = charge_{g,s} - planned_g

charge = cost of g's clients in its non-pooled lots + its charges for the pools under r
(models/pooling.py); planned = the same computed on the plan (the allocation of a solve, or
the expected cost). From the sorted samples, at confidence alpha:

    VaR_alpha  = the alpha-quantile of O_g (the ceil(alpha S)-th smallest value)
    CVaR_alpha = VaR_alpha + mean(max(O_g - VaR_alpha, 0)) / (1 - alpha)

(Rockafellar-Uryasev; for alpha S whole, the mean of the worst (1 - alpha) S scenarios).
Required reserve (benodigde weerstandscapaciteit) = max(0, CVaR) (or VaR); ratio = available
(gemeenten.available_reserve_eur) / required; rating A-F by the table every gemeente uses.
Pooling benefit = required under profijt - required under the rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def var_cvar(samples: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """VaR and CVaR at ``alpha`` of samples [S, ...] (losses: larger is worse), per column."""
    x = np.sort(samples, axis=0)
    S = x.shape[0]
    k = min(S - 1, max(0, math.ceil(round(alpha * S, 9)) - 1))  # round: 0.55 * 100 is 55.000000000000014 in floating point
    var = x[k]
    cvar = var + np.maximum(x - var, 0.0).mean(axis=0) / (1.0 - alpha)
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
    overspend: dict[str, np.ndarray]  # rule set -> [S, G]
    gemeenten: list[str]
    planned: dict[str, np.ndarray]  # rule set -> [G]


def _charges(dm: DemandModel, setups: list[PoolSetup], rs: RuleSet, rules: dict[str, Rule], cost: np.ndarray, excess) -> np.ndarray:
    """Total charge per gemeente [..., G] for costs [..., G, L] under rule set ``rs``."""
    gpos = {g: i for i, g in enumerate(dm.gemeenten)}
    lpos = {l: j for j, l in enumerate(dm.lots)}
    pooled_cells = np.zeros(cost.shape[-2:], dtype=bool)
    total = np.zeros(cost.shape[:-1])
    for s, names in zip(setups, rs.per_setup):
        ctx = s.ctx
        gi = np.array([gpos[g] for g in ctx.gemeenten])
        li = np.array([lpos[l] for l in ctx.lots])
        pooled_cells[np.ix_(gi, li)] = True
        C = cost[..., gi, :][..., li]
        fn = None
        if excess is not None:  # a high-cost pool's per-client excess, summed over the pool's lots

            def fn(rule, sub, li=li):
                rows = [gpos[g] for g in sub.gemeenten]
                return excess(rule.threshold_eur)[..., rows, :][..., li].sum(-1)

        ch = pool_charges(ctx, names, rules, C, fn)
        total[..., gi] += ch.charge
    total += np.where(pooled_cells, 0.0, cost).sum(-1)
    return total


def _thresholds(rules: dict[str, Rule], sets: list[RuleSet]) -> tuple[float, ...]:
    """The high-cost thresholds H of the rules in use: per-client excess is drawn only for these."""
    used = {name for rs in sets for names in rs.per_setup for name in names}
    return tuple(
        sorted(
            {float(rules[n].threshold_eur) for n in used if rules[n].kind_spec.per_client_threshold and rules[n].threshold_eur is not None}
        )
    )


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
) -> ReserveRun:
    """Overspend samples [S, G] per rule set. ``planned_cost`` [G, L]: the plan per gemeente and lot.
    ``pools``: apply the candidate rules only to these pools. ``sets``/``extra_rules``: explicit
    rule sets, with rules that are not in the instance (e.g. variants of a mixed rule)."""
    dm = demand_model(inst)
    setups = pool_setups(inst)
    rules = {**rules_of(inst), **(extra_rules or {})}
    if pools:
        check_pool_names(setups, pools)
    sets = sets if sets is not None else rule_sets(inst, setups, candidates, pools)
    thresholds = _thresholds(rules, sets)
    # a plan's high-cost excess as the scenarios count it: planned clients (plan / cost per client)
    # each costing tariff x units_per_client (not the tariff per unit)
    planned_clients = np.asarray(planned_cost, dtype=float) / dm.mean_cost
    planned_excess = {H: planned_clients * np.maximum(0.0, dm.mean_cost - H) for H in thresholds}
    planned = {rs.name: _charges(dm, setups, rs, rules, planned_cost, lambda H: planned_excess[float(H)]) for rs in sets}
    out = {rs.name: np.empty((scenarios, len(dm.gemeenten))) for rs in sets}
    done, c = 0, 0
    while done < scenarios:
        n = min(chunk, scenarios - done)
        batch = sample(dm, n, seed, c, thresholds, bootstrap=bootstrap)
        for rs in sets:
            out[rs.name][done : done + n] = _charges(dm, setups, rs, rules, batch.cost, batch.excess) - planned[rs.name]
        done += n
        c += 1
        if progress is not None:
            progress(done, scenarios)
    return ReserveRun(out, dm.gemeenten, planned)


def reserve_table(inst: Instance, run: ReserveRun, confidences: list[float], measure: str = "cvar") -> pd.DataFrame:
    """One row per gemeente x rule set x confidence: expected overspend, VaR, CVaR, required
    reserve, available capacity, ratio, rating and pooling benefit against profijt."""
    avail = inst.gemeenten.set_index("gemeente")["available_reserve_eur"].astype(float).reindex(run.gemeenten).to_numpy()
    rows = []
    required_profijt: dict[float, np.ndarray] = {}
    for rule, O in run.overspend.items():
        mean = O.mean(axis=0)
        for a in confidences:
            var, cvar = var_cvar(O, a)
            req = np.maximum(0.0, cvar if measure == "cvar" else var)
            if rule == "profijt":
                required_profijt[a] = req
            for i, g in enumerate(run.gemeenten):
                ratio = avail[i] / req[i] if req[i] > 0 else math.inf
                score, word = rating(ratio)
                rows.append(
                    {
                        "gemeente": g,
                        "rule": rule,
                        "confidence": a,
                        "expected_overspend_eur": mean[i],
                        "var_eur": var[i],
                        "cvar_eur": cvar[i],
                        "required_eur": req[i],
                        "available_eur": avail[i],
                        "ratio": ratio,
                        "rating": score,
                        "rating_label": word,
                        "pooling_benefit_eur": np.nan,
                    }
                )
    df = pd.DataFrame(rows)
    base = {(r["gemeente"], r["confidence"]): r["required_eur"] for r in rows if r["rule"] == "profijt"}
    df["pooling_benefit_eur"] = [base[(g, a)] - q for g, a, q in zip(df["gemeente"], df["confidence"], df["required_eur"])]
    for c in [c for c in df.columns if c.endswith("_eur")]:
        df[c] = np.round(df[c].to_numpy(float), 2) + 0.0
    df["ratio"] = np.round(df["ratio"].to_numpy(float), 4)
    return df


def scenario_charges(inst: Instance, scenarios: int, seed: int, chunk: int = 1000) -> tuple[np.ndarray, list[str]]:
    """K [S, G]: each gemeente's charge per scenario under the agreed rules (profijt where
    nothing is pooled) -- the scenario data of the joint sizing LP (models/joint.py)."""
    dm = demand_model(inst)
    setups = pool_setups(inst)
    rules = rules_of(inst)
    rs = rule_sets(inst, setups, None)[-1]
    thresholds = _thresholds(rules, [rs])
    K = np.empty((scenarios, len(dm.gemeenten)))
    done, c = 0, 0
    while done < scenarios:
        n = min(chunk, scenarios - done)
        batch = sample(dm, n, seed, c, thresholds)
        K[done : done + n] = _charges(dm, setups, rs, rules, batch.cost, batch.excess)
        done += n
        c += 1
    return K, dm.gemeenten
