"""Workflows of the public API: pool (settle pooled costs), reserves (Monte Carlo reserve sizing,
optionally the joint sizing LP and a key-weight choice), fairness (the pooling agreement as a
cooperative game) and sweep (parametric runs: one loaded
model re-solved over a grid of parameters, never rebuilt -- each point is the instance changed by
the point's parameters, ``AllocationModel.set(point, from_base=True)``, solved warm from the
previous point). Each returns
a result object whose tables are DataFrames, with a short summary as its repr and
``to_frames()``; the command line is a thin shell over these functions, and
``verdeelmodel.reports.write_all`` writes any of them.

    import verdeelmodel as vm
    inst = vm.load_instance("instances/westfriesland-2021")
    st = vm.pool(inst, rules=["solidariteit_inwoners"])      # settlement on planned costs
    rv = vm.reserves(inst, scenarios=5000, rules=["solidariteit_inwoners"])
    rv.table, rv.tekort["agreed"]                              # per gemeente, and the tekort samples
    fr = vm.fairness(inst, rules=["mixed_eigen_inwoners"])     # alone, the rule's split, Shapley, core
    sw = vm.sweep(inst, [{"demand:jeugd": m} for m in (0.9, 1.0, 1.1)])
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from verdeelmodel._results import Summarised, eur
from verdeelmodel.errors import UsageError
from verdeelmodel.instance.validate import Instance
from verdeelmodel.models.manifest import OBJECTIVE_PREFIX


def planned_cost(inst: Instance, res) -> np.ndarray:
    """[G, L] what each gemeente budgets per lot under an allocation result, in the order of the
    demand model (gemeenten and lots of the instance)."""
    from verdeelmodel.models.scenarios import demand_model

    dm = demand_model(inst)
    amt = res.allocation.groupby(["gemeente", "lot"])["amount_eur"].sum().to_dict()
    return np.array([[amt.get((g, l), 0.0) for l in dm.lots] for g in dm.gemeenten])


def resolve_plan(inst: Instance, plan: str | np.ndarray, dm=None, allow_array: bool = True):
    """(planned cost [G, L], the solve Result or None) of a plan: ``"allocation"`` solves the
    instance (raises :class:`NoAllocation` when there is none), ``"need"`` is the expected cost
    of the demand model ``dm``, an array is taken as given (when ``allow_array``)."""
    if hasattr(plan, "allocation") and hasattr(plan, "optimal"):  # an allocation solved already (the report)
        if not plan.optimal:
            raise NoAllocation(plan)
        return planned_cost(inst, plan), plan
    if isinstance(plan, str) and plan == "allocation":
        from verdeelmodel.api import solve

        alloc = solve(inst)
        if not alloc.optimal:
            raise NoAllocation(alloc)
        return planned_cost(inst, alloc), alloc
    if isinstance(plan, str) and plan == "need":
        if dm is None:
            from verdeelmodel.models.scenarios import demand_model

            dm = demand_model(inst)
        return dm.expected_cost, None
    if isinstance(plan, str) or not allow_array:
        raise UsageError(
            "plan must be allocation, need or an array of planned cost per gemeente and lot"
            if allow_array
            else "plan must be allocation or need",
            "plan moet allocation, need of een array met geplande kosten per gemeente en perceel zijn"
            if allow_array
            else "plan moet allocation of need zijn",
        )
    return np.asarray(plan, dtype=float), None


# --------------------------------------------------------------------------- pool


@dataclass(repr=False)
class PoolResult(Summarised):
    """A settlement statement: per rule set, pool and gemeente the charge, own use (profijt) and
    the solidarity transfer."""

    TABLES: ClassVar[tuple[str, ...]] = ("settlement", "comparison")
    EXTRA_FILES: ClassVar[tuple[str, ...]] = ("settlement.png",)

    instance: str
    basis: str  # what was settled: planned or realised costs, and the year
    year: int
    settlement: pd.DataFrame
    comparison: pd.DataFrame  # charges side by side: one column per rule (set)
    totals: pd.DataFrame  # per rule set, rule and pool: charge, profijt, payout, contribution

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {"settlement": self.settlement, "comparison": self.comparison}

    def summary(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "pools": sorted(self.settlement["pool"].unique().tolist()) if len(self.settlement) else [],
            "totals_eur": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in self.totals.to_dict("records")],
        }

    def summary_lines(self) -> list[str]:
        s = self.settlement
        if s.empty:
            return [f"{self.instance}: nothing pooled"]
        agreed = s[s["rule_set"] == "agreed"]
        moved = float(agreed["transfer_eur"].clip(lower=0).sum())
        return [
            f"{self.instance}: settlement of {self.basis}",
            f"{s['pool'].nunique()} pool(s), {s['gemeente'].nunique()} gemeenten, rules {', '.join(sorted(s['rule'].unique()))}",
            f"agreed rules move {eur(moved)} between gemeenten",
        ]


def pool(
    inst: Instance,
    costs: str | Path | pd.DataFrame | None = None,
    rules: list[str] | None = None,
    pools: list[str] | None = None,
    year: int | None = None,
) -> PoolResult:
    """Settle pooled costs under the agreed rules and candidate ``rules`` (profijt is built in).

    ``costs``: realised costs (a CSV path with gemeente, lot, year, clients, cost_eur -- one row
    per client allowed, for an exact high-cost pool -- or such a DataFrame); default the planned
    costs (need.csv volume x tariff). ``pools``: only these pools (for candidate rules whose
    amounts belong to one pool)."""
    from verdeelmodel.instance.costs import load_costs, planned_costs
    from verdeelmodel.models.pooling import settle

    if inst.pools.empty:
        raise UsageError(
            f"instance {inst.name} has no pools.csv: nothing is pooled, every gemeente pays its own use (profijt)",
            f"instantie {inst.name} heeft geen pools.csv: er wordt niets verevend, elke gemeente betaalt haar eigen gebruik (profijt)",
        )
    if costs is None:
        c, year = planned_costs(inst), inst.meta.year
        basis = f"planned costs (need.csv volume x tariff), {year}"
        table = settle(inst, c, rules, pools=pools)
    else:
        if isinstance(costs, pd.DataFrame):
            c = costs if year is None else costs[costs["year"].astype(int) == year]
            year = int(c["year"].iloc[0]) if year is None and "year" in c and len(c) else (year or inst.meta.year)
            name = "the given costs"
        else:
            c, year = load_costs(costs, inst, year)
            name = Path(costs).name
        basis = f"realised costs {name}, year {year}"
        table = settle(inst, c, rules, per_client=c, pools=pools)
    comp = table.pivot_table(
        index=["pool", "region", "gemeente"], columns=["rule_set", "rule"], values="charge_eur", aggfunc="sum", sort=True
    )
    comp.columns = [f"{rule}_eur" if rs == "candidate" else f"{rule}_agreed_eur" for rs, rule in comp.columns]
    comp = comp.reset_index()
    totals = table.groupby(["rule_set", "rule", "pool"], as_index=False)[
        ["charge_eur", "profijt_eur", "payout_eur", "contribution_eur"]
    ].sum()
    return PoolResult(inst.name, basis, int(year), table, comp, totals)


# --------------------------------------------------------------------------- reserves


class NoAllocation(Exception):
    """The plan the reserves need (an allocation) does not exist; ``result`` explains why."""

    def __init__(self, result):
        self.result = result
        super().__init__(f"no allocation possible ({result.status})")


@dataclass(repr=False)
class ReservesResult(Summarised):
    """Reserves (weerstandsvermogen) per gemeente and rule set from Monte Carlo scenarios."""

    TABLES: ClassVar[tuple[str, ...]] = ("reserves", "joint", "key_weight")
    EXTRA_FILES: ClassVar[tuple[str, ...]] = ("overspend_distribution.png", "reserves_by_rule.png", "pooling_benefit.png")

    instance: str
    scenarios: int
    seed: int
    confidences: list[float]
    measure: str  # var (NARIS) | cvar
    plan: str  # allocation | need
    table: pd.DataFrame  # gemeente x rule set x confidence
    overspend: dict[str, np.ndarray]  # rule set -> [S, G] samples of charge - plan
    gemeenten: list[str]
    planned: pd.DataFrame  # per gemeente: expected cost of need and what the plan budgets (modelled lots)
    seconds: float
    allocation: Any = None  # the solve Result when plan = allocation
    joint: Any = None  # models.joint.JointResult
    key: Any = None  # models.joint.KeyWeightResult
    timings: dict[str, float] = field(default_factory=dict)
    tekort: dict[str, np.ndarray] = field(default_factory=dict)  # rule set -> [S, G] tekort per scenario
    other: np.ndarray | None = None  # [S, G] other risks drawn (risks.csv)
    target: dict[str, Any] | None = None  # --target-se: asked, reached

    @property
    def rule_sets(self) -> list[str]:
        return list(self.overspend)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        out = {"reserves": self.table}
        if self.joint is not None and self.joint.status == "optimal":
            jt = self.joint.table.copy()
            for c in [c for c in jt.columns if c.endswith("_eur")]:
                jt[c] = np.round(jt[c].to_numpy(float), 2) + 0.0
            out["joint"] = jt
        if self.key is not None and self.key.status == "optimal":
            kt = self.key.table.copy()
            kt.insert(0, "rule", self.key.rule)
            kt.insert(1, "w_own_optimal", round(self.key.weight, 6))
            kt.insert(2, "w_own_instance", self.key.agreed_weight)
            if self.key.core_interval is not None:
                kt["core_w_own_from"], kt["core_w_own_to"] = (round(float(v), 6) for v in self.key.core_interval)
            for c in [c for c in kt.columns if c.endswith("_eur")]:
                kt[c] = np.round(kt[c].to_numpy(float), 2) + 0.0
            out["key_weight"] = kt
        return out

    def total(self, column: str = "risk_eur", confidence: float | None = None) -> pd.Series:
        """Sum over gemeenten of a column of the table per rule set (euros), e.g. ``risk_eur``
        or ``expected_tekort_eur``."""
        a = self.confidences[0] if confidence is None else confidence
        t = self.table[self.table["confidence"] == a]
        return t.groupby("rule", sort=False)[column].sum()

    def summary(self) -> dict[str, Any]:
        t = self.table
        first = t[t["confidence"] == self.confidences[0]]
        return {
            "instance": self.instance,
            "scenarios": self.scenarios,
            "seed": self.seed,
            "measure": self.measure,
            "seconds": round(self.seconds, 3),
            "target_se": self.target,
            "total_expected_tekort_eur": {r: round(float(v), 2) for r, v in self.total("expected_tekort_eur").items()},
            "total_plan_tekort_eur": {r: round(float(v), 2) for r, v in self.total("plan_tekort_eur").items()},
            "total_risk_eur": {f"{a:g}": {r: round(float(v), 2) for r, v in self.total("risk_eur", a).items()} for a in self.confidences},
            # None: too few scenarios for a standard error (fewer than 10 per batch)
            "largest_risk_se_eur": round(float(np.nanmax(first["risk_se_eur"])), 2) if first["risk_se_eur"].notna().any() else None,
            "ratings": "whole profile (weerstandscapaciteit_eur and risks.csv)"
            if (first["rating_basis"] == "whole_profile").any()
            else "none: gemeenten.csv gives no weerstandscapaciteit_eur for the whole begroting",
            "near_band_edge": sorted(
                {f"{g} ({r})" for g, r in zip(first.loc[first["near_band_edge"], "gemeente"], first.loc[first["near_band_edge"], "rule"])}
            ),
        }

    def summary_lines(self) -> list[str]:
        a = self.confidences[0]
        tot = self.total("risk_eur", a)
        lines = [
            f"{self.instance}: {self.scenarios:,} scenarios (seed {self.seed}), risk = {self.measure.upper()} at {a:.0%} above the expected tekort, plan = {self.plan}",
            "expected tekort (structural): " + ", ".join(f"{r} {eur(v)}" for r, v in self.total("expected_tekort_eur", a).items()),
            "risk: " + ", ".join(f"{r} {eur(v)}" for r, v in tot.items()),
        ]
        if self.joint is not None:
            lines.append(f"joint sizing: {self.joint.status}")
        if self.key is not None:
            lines.append(
                f"key weight of {self.key.rule} (split in the core): {self.key.status}"
                + (f", w_own = {self.key.weight:.4f}" if self.key.status == "optimal" else "")
            )
        return lines


def reserves(
    inst: Instance,
    scenarios: int = 10_000,
    seed: int = 20261122,
    confidence: float | list[float] = 0.9,
    rules: list[str] | None = None,
    pools: list[str] | None = None,
    plan: str | np.ndarray = "allocation",
    bootstrap: bool = False,
    measure: str = "var",
    joint: bool = False,
    executor=None,
    optimise_key: tuple[str, float, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    target_se: float | None = None,
    target_relative: bool = False,
    max_scenarios: int | None = None,
) -> ReservesResult:
    """Size the reserves each gemeente needs under profijt, the agreed rules and candidate ``rules``.

    ``plan``: what the gemeenten budgeted -- ``"allocation"`` (the optimal allocation; raises
    :class:`NoAllocation` when there is none), an allocation solved already (a solve Result),
    ``"need"`` (the expected cost) or an array [G, L] in the demand model's order. ``joint``: also choose allocation and reserves together (the
    Rockafellar-Uryasev LP per independent region group); ``optimise_key``: (mixed rule, lo, hi),
    the own-cost weight within agreed bounds that minimises the total reserve, no gemeente worse
    off than alone. ``measure``: the risk measure, ``var`` (NARIS practice) or ``cvar``.
    ``target_se``: draw more scenarios (from ``scenarios``, doubling, up to ``max_scenarios``)
    until every risk figure's standard error is at most this many euros (a fraction of the
    figure when ``target_relative``)."""
    from verdeelmodel.models.pooling import check_pooling
    from verdeelmodel.models.reserves import reserve_table, run_reserves
    from verdeelmodel.models.scenarios import demand_model

    conf = sorted(set([confidence] if isinstance(confidence, (int, float)) else confidence))
    if scenarios < 10:
        raise UsageError("scenarios (--scenarios) must be at least 10", "het aantal scenario's (--scenarios) moet minstens 10 zijn")
    if any(not 0.5 <= a < 1 for a in conf):
        raise UsageError(
            "confidence levels (--confidence) must be between 0.5 and 1 (e.g. 0.9)",
            "de zekerheidsniveaus (--confidence) moeten tussen 0.5 en 1 liggen (bijv. 0.9)",
        )
    if measure not in ("cvar", "var"):
        raise UsageError("measure must be cvar or var", "de risicomaat (measure) moet cvar of var zijn")
    if bootstrap and inst.use_history.empty:
        raise UsageError(
            f"a historical bootstrap (--bootstrap) needs use_history.csv in {inst.name}",
            f"een historische bootstrap (--bootstrap) heeft use_history.csv nodig in {inst.name}",
        )
    if joint:
        raise UsageError(
            "--joint is withdrawn: choosing the allocation and the reserves together decides nothing (the scenario costs do not "
            "depend on the plan, so the optimal reserve is CVaR - plan and every planned euro lowers it by one). The decisions "
            "that move a gemeente's risk are contractual: use `verdeelmodel contract` (contract_options.csv)",
            "--joint bestaat niet meer: de verdeling en de reserves samen kiezen beslist niets (de kosten in de scenario's hangen "
            "niet af van het plan, dus de optimale reserve is CVaR - plan en elke geplande euro verlaagt die met één). De "
            "beslissingen die het risico van een gemeente veranderen zijn contractueel: gebruik `verdeelmodel contract` "
            "(contract_options.csv)",
        )
    check_pooling(inst, rules)
    t0 = time.perf_counter()
    dm = demand_model(inst)
    planned, alloc = resolve_plan(inst, plan, dm)
    if target_se is not None and not target_se > 0:
        raise UsageError(
            "--target-se must be positive (euros, or a percentage such as 1%)",
            "--target-se moet positief zijn (euro's, of een percentage zoals 1%)",
        )
    from verdeelmodel.models.reserves import ADAPTIVE_MAX_SCENARIOS

    cap = max_scenarios or ADAPTIVE_MAX_SCENARIOS
    if target_se is not None and cap < scenarios:
        raise UsageError(
            f"--max-scenarios ({cap:,}) must be at least --scenarios ({scenarios:,})",
            f"--max-scenarios ({cap}) moet minstens --scenarios ({scenarios}) zijn",
        )
    run = run_reserves(
        inst,
        planned,
        scenarios,
        seed,
        rules,
        progress=progress,
        pools=pools,
        bootstrap=bootstrap,
        substitutions=alloc.substitutions if alloc is not None else None,
        target_se=target_se,
        target_relative=target_relative,
        confidence=conf[0],
        executor=executor,
        measure=measure,
        max_scenarios=cap,
    )
    scenarios = run.scenarios
    table = reserve_table(inst, run, conf, measure)
    secs = time.perf_counter() - t0
    jr = None
    if joint:
        from verdeelmodel.models.joint import solve_joint
        from verdeelmodel.models.reserves import scenario_charges

        K, gem = scenario_charges(inst, scenarios, seed, executor=executor)
        jr = solve_joint(inst, K, gem, conf[0], executor=executor)
    key = None
    if optimise_key is not None:
        from verdeelmodel.models.joint import optimise_key_weight

        name, lo, hi = optimise_key
        try:
            key = optimise_key_weight(inst, planned, name, (lo, hi), scenarios, seed, conf[0], pools=pools)
        except ValueError as e:
            raise UsageError(f"--optimise-key: {e}", f"optie --optimise-key: {e}") from None
    plan_df = pd.DataFrame({"gemeente": dm.gemeenten, "expected_cost_eur": dm.expected_cost.sum(1), "planned_eur": planned.sum(1)})
    return ReservesResult(
        inst.name,
        scenarios,
        seed,
        conf,
        measure,
        plan if isinstance(plan, str) else "allocation" if hasattr(plan, "allocation") else "given",
        table,
        run.overspend,
        run.gemeenten,
        plan_df,
        secs,
        alloc,
        jr,
        key,
        tekort=run.tekort,
        other=run.other,
        target=None
        if target_se is None
        else {
            "target_se": target_se,
            "relative": target_relative,
            "reached": run.target_reached,
            "scenarios": run.scenarios,
            "max_scenarios": cap,
        },
    )


# --------------------------------------------------------------------------- fairness


@dataclass(repr=False)
class FairnessResult(Summarised):
    """The regional agreement as a cooperative game (models/fairness.py): per pool, region and
    rule set, each gemeente's stand-alone need, the rule's split, Shapley, Euler and nucleolus,
    and the core verdict with the blocking coalitions."""

    TABLES: ClassVar[tuple[str, ...]] = ("fairness", "coalitions")
    EXTRA_FILES: ClassVar[tuple[str, ...]] = ("fairness.png",)

    instance: str
    scenarios: int
    seed: int
    confidence: float
    plan: str
    games: list  # models.fairness.PoolGame
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # solve, sampling, games (wall), games CPU

    def to_frames(self) -> dict[str, pd.DataFrame]:
        rows, coal = [], []
        for pg in self.games:
            g = pg.game
            nuc = g.nucleolus if g.nucleolus is not None else np.full(len(g.members), np.nan)
            for i, m in enumerate(g.members):
                rows.append(
                    {
                        "pool": pg.pool,
                        "region": pg.region,
                        "rule_set": pg.rule_set,
                        "rule": pg.rule,
                        "gemeente": m,
                        "expected_cost_eur": g.expected[i],
                        "stand_alone_eur": g.stand_alone[i],
                        "rule_split_eur": g.rule_split[i],
                        "rule_own_eur": g.rule_own[i],
                        "euler_eur": g.euler[i],
                        "shapley_eur": g.shapley[i],
                        "shapley_se_eur": g.shapley_se[i],
                        "nucleolus_eur": nuc[i],
                        "gain_vs_alone_eur": g.stand_alone[i] - g.rule_split[i],
                        "in_core": g.core.in_core,
                    }
                )
            for k, (members, pays, alone) in enumerate(g.core.blocking):
                se = g.core.excess_se[k] if k < len(g.core.excess_se) else float("nan")
                coal.append(
                    {
                        "pool": pg.pool,
                        "region": pg.region,
                        "rule_set": pg.rule_set,
                        "rule": pg.rule,
                        "members": ";".join(g.members[j] for j in members),
                        "size": len(members),
                        "pays_eur": pays,
                        "alone_eur": alone,
                        "excess_eur": pays - alone,
                        "excess_se_eur": se,
                        "beyond_noise": bool(pays - alone > 2 * se) if se == se else None,
                        "method": g.core.method,
                    }
                )
        f = pd.DataFrame(rows)
        c = pd.DataFrame(
            coal,
            columns=[
                "pool",
                "region",
                "rule_set",
                "rule",
                "members",
                "size",
                "pays_eur",
                "alone_eur",
                "excess_eur",
                "excess_se_eur",
                "beyond_noise",
                "method",
            ],
        )
        for df in (f, c):
            for col in [x for x in df.columns if x.endswith("_eur")]:
                df[col] = np.round(df[col].to_numpy(float), 2) + 0.0
        return {"fairness": f, "coalitions": c}

    def summary(self) -> dict[str, Any]:
        games = []
        for pg in self.games:
            g = pg.game
            top = g.core.blocking[0] if g.core.blocking else None
            games.append(
                {
                    "pool": pg.pool,
                    "region": pg.region,
                    "rule_set": pg.rule_set,
                    "rule": pg.rule,
                    "gemeenten": len(g.members),
                    "value_all_eur": round(g.value_all, 2),
                    "stand_alone_total_eur": round(float(g.stand_alone.sum()), 2),
                    "pooling_benefit_eur": round(float(g.stand_alone.sum() - g.value_all), 2),
                    "in_core": g.core.in_core,
                    "core_method": g.core.method,
                    "largest_excess_eur": round(g.core.max_excess, 2),
                    "most_blocking": None
                    if top is None
                    else {
                        "members": [g.members[j] for j in top[0]],
                        "gain_eur": round(top[1] - top[2], 2),
                        "gain_se_eur": round(g.core.excess_se[0], 2)
                        if g.core.excess_se and g.core.excess_se[0] == g.core.excess_se[0]
                        else None,
                    },
                    "shapley": g.shapley_method,
                    "nucleolus": "computed" if g.nucleolus is not None else "not computed (more members than the exhaustive limit)",
                }
            )
        return {
            "instance": self.instance,
            "scenarios": self.scenarios,
            "seed": self.seed,
            "confidence": self.confidence,
            "measure": "cvar",
            "plan": self.plan,
            "seconds": round(self.seconds, 3),
            "games": games,
        }

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.instance}: fairness of the pooling agreement, {self.scenarios:,} scenarios (seed {self.seed}), CVaR at {self.confidence:.0%}"
        ]
        for pg in self.games:
            g = pg.game
            verdict = "in the core" if g.core.in_core else f"NOT in the core (largest excess {eur(g.core.max_excess)})"
            lines.append(f"{pg.pool} / {pg.region} / {pg.rule_set} ({pg.rule}): {verdict}")
        return lines


def fairness(
    inst: Instance,
    scenarios: int = 10_000,
    seed: int = 20261122,
    confidence: float = 0.9,
    rules: list[str] | None = None,
    pools: list[str] | None = None,
    plan: str | np.ndarray = "allocation",
    permutations: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    executor=None,
    regions: list[str] | None = None,
    game_progress: Callable[[int, int], None] | None = None,
) -> FairnessResult:
    """Each pool's agreement as a cooperative cost game (models/fairness.py): v(C) = CVaR at
    ``confidence`` of coalition C's pooled cost (expected cost + reserve), per region, for the
    agreed rule and each candidate in ``rules``."""
    from verdeelmodel.models.fairness import instance_games
    from verdeelmodel.models.pooling import check_pooling
    from verdeelmodel.models.scenarios import demand_model

    if inst.pools.empty:
        raise UsageError(
            f"instance {inst.name} has no pools.csv: there is no agreement to assess",
            f"instantie {inst.name} heeft geen pools.csv: er is geen vereveningsafspraak om te beoordelen",
        )
    if scenarios < 100:
        raise UsageError("scenarios (--scenarios) must be at least 100", "het aantal scenario's (--scenarios) moet minstens 100 zijn")
    if not 0.5 <= confidence < 1:
        raise UsageError(
            "the confidence level (--confidence) must be between 0.5 and 1 (e.g. 0.9)",
            "het zekerheidsniveau (--confidence) moet tussen 0.5 en 1 liggen (bijv. 0.9)",
        )
    if permutations < 2:
        raise UsageError("--permutations must be at least 2", "--permutations moet minstens 2 zijn")
    check_pooling(inst, rules)
    if regions:
        known = sorted(set(inst.pools["region"]))
        unknown = [r for r in regions if r not in known]
        if unknown:
            raise UsageError(
                f"--region {', '.join(unknown)}: not a region of pools.csv ({', '.join(known[:8])}{' ...' if len(known) > 8 else ''})",
                f"--region {', '.join(unknown)}: geen regio van pools.csv ({', '.join(known[:8])}{' ...' if len(known) > 8 else ''})",
            )
    t0 = time.perf_counter()
    dm = demand_model(inst)
    planned, alloc = resolve_plan(inst, plan, dm, allow_array=False)
    subs = alloc.substitutions if alloc is not None else None
    timings = {"solve_seconds": time.perf_counter() - t0}
    games = instance_games(
        inst,
        planned,
        scenarios,
        seed,
        confidence,
        rules,
        pools,
        subs,
        permutations,
        progress=progress,
        executor=executor,
        timings=timings,
        regions=regions,
        game_progress=game_progress,
    )
    shown = plan if isinstance(plan, str) else "allocation"
    return FairnessResult(inst.name, scenarios, seed, confidence, shown, games, time.perf_counter() - t0, timings)


# --------------------------------------------------------------------------- plan (meerjarenraming)


@dataclass(repr=False)
class PlanResult(Summarised):
    """A plan over the horizon (models/horizon.py): the single-year tables with a year column, the
    reserve path and the meerjarenraming per Iv3 taakveld."""

    TABLES: ClassVar[tuple[str, ...]] = (
        "allocation",
        "budgets",
        "pooling",
        "reserve_path",
        "meerjarenraming",
        "contract_sums",
        "exhaustion",
        "reserve_needed",
    )

    instance: str
    plan: Any  # models.horizon.Plan
    exhaustion: pd.DataFrame | None = None  # per gemeente and year on the scenario paths
    reserve_needed: pd.DataFrame | None = None  # per gemeente: the opening reserve for the level
    paths: dict[str, Any] | None = None  # scenarios, seed, level, seconds

    @property
    def optimal(self) -> bool:
        return self.plan.optimal

    def _stacked(self, name: str) -> pd.DataFrame:
        parts = []
        for yp in self.plan.plans:
            df = getattr(yp.result, name)
            if df is not None and len(df):
                parts.append(df.assign(year=yp.year)[["year", *df.columns]])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_frames(self) -> dict[str, pd.DataFrame]:
        out = {name: self._stacked(name) for name in ("allocation", "budgets", "pooling")}
        rp = self.plan.reserve_path.copy()
        for c in [c for c in rp.columns if c.endswith("_eur")]:
            rp[c] = np.round(rp[c].to_numpy(float), 2) + 0.0
        out["reserve_path"] = rp
        out["meerjarenraming"] = self.plan.meerjarenraming
        out["contract_sums"] = self.plan.contract_sums
        if self.exhaustion is not None:
            out["exhaustion"] = self.exhaustion
            out["reserve_needed"] = self.reserve_needed
        return {k: v for k, v in out.items() if len(v)}

    def summary(self) -> dict[str, Any]:
        years = []
        for yp in self.plan.plans:
            r = yp.result
            years.append(
                {
                    "year": yp.year,
                    "status": r.status,
                    "objective": {k: round(float(v), 2) for k, v in r.objective.items()},
                    "tekort_eur": round(float(r.budgets["tekort_eur"].sum()), 2) if r.optimal else None,
                    "plafondoverschrijding_eur": round(float(r.budgets["plafondoverschrijding_eur"].sum()), 2) if r.optimal else None,
                }
            )
        rp = self.plan.reserve_path
        return {
            "instance": self.instance,
            "years": self.plan.years,
            "status": "optimal" if self.optimal else "not optimal",
            "per_year": years,
            "total_over_years": {
                "objective": {
                    k: round(float(sum(yp.result.objective.get(k, 0.0) for yp in self.plan.plans)), 2)
                    for k in self.plan.plans[0].result.objective
                    if k != "equal_treatment"
                },
                "tekort_eur": round(float(rp["tekort_eur"].sum()), 2),
                "onttrekking_eur": round(float(rp["onttrekking_eur"].sum()), 2),
                "algemene_middelen_eur": round(float(rp["algemene_middelen_eur"].sum()), 2),
            },
            "contract_sums": None
            if not len(self.plan.contract_sums)
            else {
                "solved_as_one_model": True,
                "plafondoverschrijding_eur": round(float(self.plan.contract_sums["plafondoverschrijding_eur"].sum()), 2),
            },
            "discounting": "none: every year counts in current prices, as a meerjarenraming does",
            "paths": self.paths,
            "seconds": round(self.plan.timings.get("seconds", 0.0), 3),
        }

    def summary_lines(self) -> list[str]:
        rp = self.plan.reserve_path
        lines = [f"{self.instance}: plan over {', '.join(map(str, self.plan.years))}"]
        for y, grp in rp.groupby("year"):
            lines.append(
                f"{y}: tekort {eur(grp['tekort_eur'].sum())}, from the reserves {eur(grp['onttrekking_eur'].sum())}, "
                f"algemene middelen {eur(grp['algemene_middelen_eur'].sum())}"
            )
        return lines


def plan(
    inst: Instance,
    years: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    paths: int = 0,
    seed: int = 20261122,
    level: float = 0.05,
    path_progress: Callable[[int, int], None] | None = None,
    executor=None,
) -> PlanResult:
    """Plan the horizon of years.csv (the first ``years`` years; default all), one year after the
    other (models/horizon.py): per year the single-year allocation, and the reserve path. With
    ``paths`` > 0 also that many demand scenario paths over the years: per gemeente and year the
    probability the reserve is exhausted, and the opening reserve that keeps the probability of
    exhaustion in some year at most ``level``."""
    from verdeelmodel.models.horizon import horizon_years, path_tables, run_paths
    from verdeelmodel.models.horizon import plan as run_plan

    avail = horizon_years(inst)
    if years is not None and not 1 <= years <= len(avail):
        raise UsageError(
            f"--years must be between 1 and {len(avail)} (the horizon of years.csv: {', '.join(map(str, avail))})",
            f"--years moet tussen 1 en {len(avail)} liggen (de horizon van years.csv: {', '.join(map(str, avail))})",
        )
    if paths and paths < 100:
        raise UsageError("--paths must be at least 100 (or 0: no scenario paths)", "--paths moet minstens 100 zijn (of 0: geen vraagpaden)")
    if not 0 < level < 0.5:
        raise UsageError(
            "--level must be between 0 and 0.5 (e.g. 0.05: exhausted in at most 5% of the paths)",
            "--level moet tussen 0 en 0.5 liggen (bijv. 0.05: de reserve is uitgeput in hoogstens 5% van de paden)",
        )
    p = run_plan(inst, years, progress=progress)
    out = PlanResult(inst.name, p)
    if paths and p.optimal:
        t0 = time.perf_counter()
        run = run_paths(inst, p, paths, seed, progress=path_progress, executor=executor)
        out.exhaustion, out.reserve_needed = path_tables(run, level)
        out.paths = {"scenarios": paths, "seed": seed, "level": level, "seconds": round(time.perf_counter() - t0, 3)}
    return out


@dataclass(repr=False)
class CloseResult(Summarised):
    """A closed year (jaarrekening, models/horizon.py close_year): the realised charges and tekort,
    the pools settled, the reserve, the re-plan of the remaining years and what changed."""

    TABLES: ClassVar[tuple[str, ...]] = ("realised", "settlement", "reserve", "changes", "replan_reserve_path", "replan_meerjarenraming")

    instance: str
    closing: Any  # models.horizon.Closing

    def to_frames(self) -> dict[str, pd.DataFrame]:
        c = self.closing
        out = {"realised": c.realised.copy(), "settlement": c.settlement, "reserve": c.reserve.copy(), "changes": c.changes}
        if c.replan is not None:
            out["replan_reserve_path"] = c.replan.reserve_path.copy()
            out["replan_meerjarenraming"] = c.replan.meerjarenraming
        for df in out.values():
            for col in [x for x in df.columns if x.endswith("_eur")]:
                df[col] = np.round(df[col].to_numpy(float), 2) + 0.0
        return {k: v for k, v in out.items() if len(v)}

    def summary(self) -> dict[str, Any]:
        c = self.closing
        return {
            "instance": self.instance,
            "closed_year": c.year,
            "realised_tekort_eur": round(float(c.realised["tekort_eur"].sum()), 2),
            "planned_tekort_eur": round(float(c.previous.reserve_path.query("year == @c.year")["tekort_eur"].sum()), 2),
            "onttrekking_eur": round(float(c.reserve["onttrekking_eur"].sum()), 2),
            "algemene_middelen_eur": round(float(c.reserve["algemene_middelen_eur"].sum()), 2),
            "replanned_years": c.replan.years if c.replan is not None else [],
        }

    def summary_lines(self) -> list[str]:
        s = self.summary()
        return [
            f"{self.instance}: closed {s['closed_year']}: tekort {eur(s['realised_tekort_eur'])} (planned {eur(s['planned_tekort_eur'])}), "
            f"from the reserves {eur(s['onttrekking_eur'])}, algemene middelen {eur(s['algemene_middelen_eur'])}"
        ]


def close(inst: Instance, costs: str | Path | pd.DataFrame, year: int | None = None) -> CloseResult:
    """Close the instance's year (jaarrekening) with its realised costs and re-plan the remaining
    years of the horizon from the closed state (voorjaarsnota); ``.closing.rolled`` is the
    instance of the next year (write it with ``verdeelmodel.instance.io.write_folder``)."""
    from verdeelmodel.instance.costs import load_costs
    from verdeelmodel.models.horizon import close_year

    if year is not None and year != inst.meta.year:
        raise UsageError(
            f"--year {year}: years are closed in order, and {inst.name} is the instance of {inst.meta.year}; close {inst.meta.year} "
            f"first, then the instance it writes for {inst.meta.year + 1}",
            f"--year {year}: jaren worden op volgorde afgesloten, en {inst.name} is de instantie van {inst.meta.year}; sluit eerst "
            f"{inst.meta.year} af, daarna de instantie die dat afsluiten schrijft voor {inst.meta.year + 1}",
        )
    if isinstance(costs, pd.DataFrame):
        c, note = costs, "realised costs given as a table"
    else:
        c, _y = load_costs(costs, inst, inst.meta.year)
        note = f"Realised costs: {Path(costs).name}."
    if c.empty:
        raise UsageError(f"the costs have no rows for {inst.meta.year}", f"de kosten hebben geen rijen voor {inst.meta.year}")
    return CloseResult(inst.name, close_year(inst, c, note))


# --------------------------------------------------------------------------- contract


@dataclass(repr=False)
class ContractResult(Summarised):
    """The funding form per contracted lot and area (models/contracts.py), at a cost of capital
    (or a reserve limit), and the frontier of expected cost against reserve over the cost of capital."""

    TABLES: ClassVar[tuple[str, ...]] = ("contracts", "frontier", "frontier_gemeenten", "out_of_sample", "gemeenten_today_vs_chosen")
    EXTRA_FILES: ClassVar[tuple[str, ...]] = ("frontier.png",)

    instance: str
    scenarios: int
    seed: int
    confidence: float
    kappa: float | None
    limit: float | None
    contracts: pd.DataFrame
    frontier: pd.DataFrame
    seconds: float
    out_of_sample: pd.DataFrame = field(default_factory=pd.DataFrame)  # in-sample vs fresh scenarios, with se
    per_gemeente: pd.DataFrame = field(default_factory=pd.DataFrame)  # expected payment and reserve, today vs chosen
    frontier_gemeenten: pd.DataFrame = field(default_factory=pd.DataFrame)  # each frontier point per gemeente

    def to_frames(self) -> dict[str, pd.DataFrame]:
        out = {
            "contracts": self.contracts.copy(),
            "frontier": self.frontier.copy(),
            "frontier_gemeenten": self.frontier_gemeenten.copy(),
            "out_of_sample": self.out_of_sample.copy(),
            "gemeenten_today_vs_chosen": self.per_gemeente.copy(),
        }
        for df in out.values():
            for c in [c for c in df.columns if c.endswith("_eur")]:
                df[c] = np.round(df[c].to_numpy(float), 2) + 0.0
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "scenarios": self.scenarios,
            "seed": self.seed,
            "confidence": self.confidence,
            "cost_of_capital": self.kappa,
            "reserve_limit_eur": self.limit,
            "risk_measure": "CVaR of each gemeente's payment minus its expectation",
            "seconds": round(self.seconds, 3),
        }

    def summary_lines(self) -> list[str]:
        return [f"{self.instance}: {len(self.contracts)} contracted lots and areas, {self.scenarios:,} scenarios"]


#: The fresh scenarios of the out-of-sample evaluation come from seed + this.
OUT_OF_SAMPLE_SEED_OFFSET = 1_000_003


def contract(
    inst: Instance,
    scenarios: int = 1000,
    seed: int = 20261122,
    confidence: float = 0.9,
    risk_aversion: float = 0.1,
    reserve_limit: float | None = None,
    frontier: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
) -> ContractResult:
    """Choose the funding form of each lot and area of contract_options.csv (models/contracts.py):
    minimise expected payments + ``risk_aversion`` x the gemeenten's reserves (CVaR at
    ``confidence`` of the payment minus its expectation), or expected payments with every
    gemeente's reserve at most ``reserve_limit``; and the frontier over the cost of capital."""
    from verdeelmodel.models.contracts import Chooser, evaluate, instance_problems, per_gemeente, today

    if scenarios < 50:
        raise UsageError("scenarios (--scenarios) must be at least 50", "het aantal scenario's (--scenarios) moet minstens 50 zijn")
    if not 0.5 <= confidence < 1:
        raise UsageError(
            "the confidence level (--confidence) must be between 0.5 and 1",
            "het zekerheidsniveau (--confidence) moet tussen 0.5 en 1 liggen",
        )
    if risk_aversion < 0 or (reserve_limit is not None and reserve_limit < 0):
        raise UsageError(
            "--risk-aversion and --reserve-limit must not be negative", "--risk-aversion en --reserve-limit mogen niet negatief zijn"
        )
    t0 = time.perf_counter()
    planned, alloc = resolve_plan(inst, "allocation")
    problems = instance_problems(inst, planned, scenarios, seed, alloc.substitutions)
    # fresh scenarios (another seed) to judge the chosen forms out of sample
    fresh = {p.region: p for p in instance_problems(inst, planned, scenarios, seed + OUT_OF_SAMPLE_SEED_OFFSET, alloc.substitutions)}
    rows, front, oos, per_g, front_g = [], [], [], [], []
    for pr in problems:
        limit = None if reserve_limit is None else np.full(len(pr.gemeenten), float(reserve_limit))
        chooser = Chooser(pr.options, pr.other, confidence)  # built once, solved for every cost of capital
        c = chooser.solve(0.0, limit) if limit is not None else chooser.solve(risk_aversion)
        if c.status != "optimal":
            raise UsageError(
                f"region {pr.region}: no choice of forms meets the reserve limit ({c.status})",
                f"regio {pr.region}: geen keuze van contractvormen blijft binnen de reservegrens (--reserve-limit) ({c.status})",
            )
        now = today(pr.options)
        now_fig = evaluate(now, pr, confidence)
        a = per_gemeente(now, pr, confidence).rename(
            columns={"expected_pay_eur": "expected_pay_today_eur", "reserve_eur": "reserve_today_eur"}
        )
        b = per_gemeente([(o.lot, o.area, o.label) for o in c.chosen], pr, confidence)
        per_g.append(
            a.merge(
                b.rename(columns={"expected_pay_eur": "expected_pay_chosen_eur", "reserve_eur": "reserve_chosen_eur"}), on="gemeente"
            ).assign(region=pr.region)
        )
        for r in c.table.itertuples(index=False):
            rows.append({"region": pr.region, **r._asdict()})
        picked = [(o.lot, o.area, o.label) for o in c.chosen]
        for label, prob in (("in sample", pr), ("out of sample", fresh[pr.region])):
            oos.append({"region": pr.region, "scenarios": label, **evaluate(picked, prob, confidence, kappa=risk_aversion or 0.0)})
        for k in frontier:
            f = chooser.solve(k)
            for g, e, r in zip(pr.gemeenten, f.expected_pay, f.reserve):
                front_g.append({"region": pr.region, "cost_of_capital": k, "gemeente": g, "expected_pay_eur": e, "reserve_eur": r})
            front.append(
                {
                    "region": pr.region,
                    "cost_of_capital": k,
                    "expected_pay_eur": float(f.expected_pay.sum()),
                    "reserve_eur": float(f.reserve.sum()),
                    "forms": ";".join(f"{o.lot}@{o.area}={o.label}" for o in f.chosen),
                }
            )
        front.append(
            {
                "region": pr.region,
                "cost_of_capital": float("nan"),
                "expected_pay_eur": now_fig["expected_pay_eur"],
                "reserve_eur": now_fig["reserve_eur"],
                "forms": "today: " + ";".join(f"{lot}@{area}={form}" for lot, area, form in now),
            }
        )
    return ContractResult(
        inst.name, scenarios, seed, confidence, None if reserve_limit is not None else risk_aversion, reserve_limit,
        pd.DataFrame(rows), pd.DataFrame(front), time.perf_counter() - t0, pd.DataFrame(oos),
        pd.concat(per_g, ignore_index=True) if per_g else pd.DataFrame(), pd.DataFrame(front_g),
    )  # fmt: skip


# --------------------------------------------------------------------------- sweep


class Sweep:
    """A loaded model and the loop over points."""

    def __init__(self, inst: Instance, options=None):
        self.inst = inst
        from verdeelmodel.api import AllocationModel

        self.am = AllocationModel(inst, options)

    def apply(self, params: dict[str, float]) -> None:
        """Set the model to the base instance changed by ``params``, solved from a cold start: a
        point's result never depends on the points before it (no basis carried over)."""
        self.am.set(params, from_base=True)
        self.am.session.cold_start()

    def solve_point(self) -> dict:
        """Solve the current point: status, stage objectives and totals (no result tables)."""
        t0 = time.perf_counter()
        res = self.am.solve(tables=False)
        row = {"status": res.status, "highs_seconds": res.timings["highs_seconds"]}
        for stage, v in res.objective.items():
            row[OBJECTIVE_PREFIX + stage] = v
        if res.optimal:
            row["allocated_eur"] = res.totals["allocated"]
            row["unmet_eur"] = res.totals["unmet"]
            row["budget_eur"] = res.totals["budget"]
        row["wall_seconds"] = time.perf_counter() - t0
        return row

    def run(self, grid: list[dict[str, float]], progress=None) -> pd.DataFrame:
        rows = []
        for i, params in enumerate(grid):
            t0 = time.perf_counter()
            self.apply(params)
            r = self.solve_point()
            r["wall_seconds"] = time.perf_counter() - t0
            rows.append({**params, **r})
            if progress is not None:
                progress(i + 1, len(grid))
        self.apply({})
        return pd.DataFrame(rows)


@dataclass(repr=False)
class SweepResult(Summarised):
    """One row per point: its parameters, status, stage objectives and totals, and timings."""

    TABLES: ClassVar[tuple[str, ...]] = ("sweep",)

    instance: str
    table: pd.DataFrame
    build_seconds: float
    wall_seconds: float

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {"sweep": self.table}

    @property
    def highs_seconds(self) -> float:
        return float(self.table["highs_seconds"].sum()) if len(self.table) else 0.0

    def summary_lines(self) -> list[str]:
        n = len(self.table)
        ok = int((self.table["status"] == "optimal").sum()) if n else 0
        return [
            f"{self.instance}: {n} points ({ok} optimal)",
            f"model built once in {self.build_seconds:.2f} s; {self.wall_seconds:.2f} s in all",
        ]


def sweep(
    inst: Instance,
    grid: list[dict[str, float]],
    progress: Callable[[int, int], None] | None = None,
    options=None,
    executor=None,
) -> SweepResult:
    """Re-solve one loaded model over ``grid``: each point a dict of parameters
    (verdeelmodel.parameters), applied to the instance (not to the previous point), solved from a
    cold start. ``executor`` (verdeelmodel.executors): when the points' work pays for it, the grid
    is cut into contiguous slices, each re-solved by a model built once in its worker; every point
    is solved from a cold start, so the table is the same for any executor and number of workers."""
    from verdeelmodel.executors import as_executor
    from verdeelmodel.parameters import check_amounts

    check_amounts(inst, grid)  # every point, before any work
    t0 = time.perf_counter()
    sw = Sweep(inst, options)
    build = time.perf_counter() - t0
    if not grid:
        return SweepResult(inst.name, sw.run(grid), build, time.perf_counter() - t0)
    first = sw.run(grid[:1])  # also times a point: does sending the rest to workers pay?
    if progress is not None:
        progress(1, len(grid))
    rest = grid[1:]
    point = float(first["wall_seconds"].iloc[0])
    ex = as_executor(executor)
    ex = ex.for_work(point * len(rest) - build * ex.workers)
    if ex.workers == 1 or len(rest) < 2:
        table = pd.concat([first, sw.run(rest, progress=None if progress is None else lambda d, n: progress(d + 1, n + 1))])
    else:
        k = min(len(rest), ex.workers * 2)  # two slices a worker: a slow slice does not hold the rest up
        cuts = [round(i * len(rest) / k) for i in range(k + 1)]
        slices = [rest[cuts[i] : cuts[i + 1]] for i in range(k)]
        parts: list = [None] * k
        done = [1]

        def put(i: int, r) -> None:
            parts[i] = r
            done[0] += len(slices[i])
            if progress is not None:
                progress(done[0], len(grid))

        ex.run(_sweep_slice, slices, (inst, options), put)
        table = pd.concat([first, *[pd.DataFrame(p) for p in parts]])
    return SweepResult(inst.name, table.reset_index(drop=True), build, time.perf_counter() - t0)


_SWEEP: list = []  # a worker's (context, loaded model) of the sweep it works on: built once per worker


def _sweep_slice(context, points: list[dict[str, float]]) -> list[dict]:
    """Points of a sweep in a worker: the model built once there (per context), each point from a cold start."""
    if not _SWEEP or _SWEEP[0] is not context:  # the context is held, so `is` never mistakes a new one for it
        inst, options = context
        _SWEEP[:] = [context, Sweep(inst, options)]
    return _SWEEP[1].run(points).to_dict("records")
