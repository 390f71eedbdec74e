r"""Meerjarenraming: the allocation planned over a horizon of years, with the reserve path.

An instance may list a horizon in ``years.csv`` (the instance year and the years after it). Year t
is the instance changed by the year's data:

- budgets per gemeente and domain from ``budgets_by_year.csv`` (the instance year: budgets.csv);
- tariffs x ``tariff_factor`` and need x ``demand_factor`` from ``year_factors.csv`` (per lot,
  domain or all lots, the most specific row; cumulative against the instance year: loon- en
  prijsbijstelling, growth, the transformation's shift); plafonds and minimums of lots and
  contracts follow their lot's tariff factor (contract sums are indexed as prices are);
- the ingroeipad of the reference allocation: the instance's cap on a population's change against
  its historical amount (options.reference.ingroeipad_eur_per_inhabitant, per year) counts
  cumulatively, (t - first year + 1) times the cap; ``years.csv`` ``blend_lambda`` may step the
  objective model's weight in the blend year by year;
- the use history extended with the plan's own earlier years: a pooled lot's use in year s < t is
  what the plan provides there (clients = amount / (tariff x units per client), cost = amount),
  so uitgesteld profijt in year t charges the use of the plan's earlier years (and of
  use_history.csv before the horizon).

The single-year model (models/allocation.py, every family and stage) is solved for each year.
The years are linked by the use history (data for a later year: statutory care is provided in
full, so the plan's use is its need after substitution) and by the reserve balance, which decides
nothing in the allocation: no stage of a year depends on another year's variables. The
multi-year model therefore falls apart into its years exactly, and they are solved one by one,
in order; contract sums over several years (contract_sums.csv) do link them, and then the years
are solved as one model (``_joint_results``). The objectives are the single-year stages of each year, summed over the years without
discounting (a euro of tekort in 2021 weighs as much as one in 2018, as in a meerjarenraming in
current prices).

Reserve path per gemeente (the reserve earmarked for the social domain, gemeenten.csv
``available_reserve_eur`` is its opening balance, ``reserve_floor_eur`` the council's floor):

    onttrekking(t) = min(tekort(t), max(0, reserve(t) - floor))       drawn from the reserve
    algemene_middelen(t) = tekort(t) - onttrekking(t)                 what the reserve cannot carry
    dotatie(t) = headroom(t)  (budget not spent; ``surplus_to_reserve``)
    reserve(t + 1) = reserve(t) + dotatie(t) - onttrekking(t)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from verdeelmodel.instance.validate import Instance


def horizon_years(inst: Instance) -> list[int]:
    """The years of the horizon: years.csv, or the instance year alone."""
    y = inst.tables.get("years")
    if y is None or y.empty:
        return [inst.meta.year]
    return sorted(int(v) for v in y["year"])


def _factor(fac: pd.DataFrame, year: int, lot: str, domain: str, column: str) -> float:
    """The most specific factor row of ``year`` for a lot: the lot, else its domain, else *."""
    if fac is None or fac.empty:
        return 1.0
    rows = fac[fac["year"].astype(int) == year]
    for target in (lot, domain, "*"):
        hit = rows[rows["target"] == target]
        if len(hit):
            return float(hit[column].iloc[0])
    return 1.0


def year_instance(inst: Instance, year: int, earlier_use: pd.DataFrame | None = None) -> Instance:
    """The instance as it stands in ``year`` of its horizon, with ``earlier_use`` (gemeente, lot,
    year, clients, cost_eur: the plan's own earlier years) added to the use history."""
    base = inst.meta.year
    out = inst.copy()
    T = out.tables
    out.meta = out.meta.model_copy(update={"year": year})
    # the ingroeipad of the reference allocation: the cap on a population's change against its
    # historical amount grows by the instance's cap every year; years.csv may step the blend
    ref = out.meta.options.reference
    update = {}
    if ref.ingroeipad_eur_per_inhabitant is not None and year != base:
        update["ingroeipad_eur_per_inhabitant"] = ref.ingroeipad_eur_per_inhabitant * (year - base + 1)
    yrs = inst.tables.get("years")
    if yrs is not None and len(yrs) and "blend_lambda" in yrs:
        row = yrs[yrs["year"].astype(int) == year]
        if len(row) and row["blend_lambda"].iloc[0] == row["blend_lambda"].iloc[0] and row["blend_lambda"].iloc[0] is not None:
            update["blend_lambda"] = float(row["blend_lambda"].iloc[0])
    if update:
        opts = out.meta.options.model_copy(update={"reference": ref.model_copy(update=update)})
        out.meta = out.meta.model_copy(update={"options": opts})
    if year != base:
        byy = inst.tables["budgets_by_year"]
        rows = byy[byy["year"].astype(int) == year]
        amounts = {
            (g, d): (float(b), float(o)) for g, d, b, o in zip(rows["gemeente"], rows["domain"], rows["budget_eur"], rows["own_funds_eur"])
        }
        bud = T["budgets"]
        T["budgets"] = bud.assign(
            budget_eur=[amounts[(g, d)][0] for g, d in zip(bud["gemeente"], bud["domain"])],
            own_funds_eur=[amounts[(g, d)][1] for g, d in zip(bud["gemeente"], bud["domain"])],
        )
        fac = inst.tables.get("year_factors")
        lots = T["lots"]
        tf = {l: _factor(fac, year, l, d, "tariff_factor") for l, d in zip(lots["lot"], lots["domain"])}
        df = {l: _factor(fac, year, l, d, "demand_factor") for l, d in zip(lots["lot"], lots["domain"])}
        T["lots"] = lots.assign(tariff_eur=[float(t) * tf[l] for l, t in zip(lots["lot"], lots["tariff_eur"])])
        need = T["need"]
        T["need"] = need.assign(volume=[float(v) * df[l] for l, v in zip(need["lot"], need["volume"])])
        # plafonds and minimums are contract sums in euros: the loon- en prijsbijstelling of their
        # lot applies to them as to the tariff (a provider's overall sum: the mean over its lots)
        for name in ("ceilings", "contracts"):
            t = T.get(name)
            if t is not None and len(t):
                T[name] = t.assign(
                    **{
                        c: [v * tf[l] if v is not None and v == v else v for l, v in zip(t["lot"], t[c])]
                        for c in ("ceiling_eur", "minimum_eur")
                    }
                )
        prov = T.get("providers")
        if prov is not None and len(prov):
            con = T.get("contracts")
            mean = {}
            if con is not None and len(con):
                for k, grp in con.groupby("provider"):
                    mean[k] = float(np.mean([tf[l] for l in grp["lot"]]))
            star = _factor(fac, year, "", "", "tariff_factor")
            T["providers"] = prov.assign(
                **{
                    c: [v * mean.get(k, star) if v is not None and v == v else v for k, v in zip(prov["provider"], prov[c])]
                    for c in ("ceiling_eur", "minimum_eur")
                }
            )
    if earlier_use is not None and len(earlier_use):
        hist = T["use_history"]
        add = earlier_use.assign(source="plan", _row=0)
        T["use_history"] = pd.concat([hist, add[[c for c in hist.columns if c in add.columns]]], ignore_index=True)
    return out


@dataclass
class YearPlan:
    year: int
    result: object  # verdeelmodel Result
    instance: Instance


@dataclass
class Plan:
    """A plan over the horizon: per year the single-year result, and the reserve path."""

    instance: str
    years: list[int]
    plans: list[YearPlan]
    reserve_path: pd.DataFrame  # gemeente, year, opening, tekort, onttrekking, algemene_middelen, dotatie, closing, floor
    meerjarenraming: pd.DataFrame  # gemeente, taakveld, taakveld_label, year, amount_eur
    timings: dict[str, float] = field(default_factory=dict)
    contract_sums: pd.DataFrame = field(default_factory=pd.DataFrame)  # multi-year sums: ceiling, used, overschrijding

    @property
    def optimal(self) -> bool:
        return all(p.result.optimal for p in self.plans)


def _use_of(inst: Instance, res, year: int, pooled_lots: set[str]) -> pd.DataFrame:
    """The plan's use of the pooled lots in ``year``: clients (amount / cost per client) and cost."""
    a = res.allocation
    a = a[a["lot"].isin(pooled_lots)]
    if a.empty:
        return pd.DataFrame(columns=["gemeente", "lot", "year", "clients", "cost_eur"])
    by = a.groupby(["gemeente", "lot"], sort=True)["amount_eur"].sum().reset_index()
    tariff = dict(zip(inst.lots["lot"], inst.lots["tariff_eur"].astype(float)))
    d = inst.tables.get("demand")
    upc = dict(zip(d["lot"], d["units_per_client"].astype(float))) if d is not None and len(d) else {}
    per_client = by["lot"].map(lambda l: tariff[l] * upc.get(l, 1.0))
    return pd.DataFrame(
        {"gemeente": by["gemeente"], "lot": by["lot"], "year": year, "clients": by["amount_eur"] / per_client, "cost_eur": by["amount_eur"]}
    )


def reserve_path(inst: Instance, plans: list[YearPlan], surplus_to_reserve: bool = True) -> pd.DataFrame:
    """The reserve balance per gemeente and year (see the module docstring)."""
    gem = inst.gemeenten.set_index("gemeente")
    opening = gem["available_reserve_eur"].astype(float).to_dict()
    floor = (gem["reserve_floor_eur"].astype(float) if "reserve_floor_eur" in gem else pd.Series(0.0, index=gem.index)).to_dict()
    rows = []
    for p in plans:
        b = p.result.budgets.groupby("gemeente")[["tekort_eur", "headroom_eur"]].sum()
        for g in inst.gemeenten["gemeente"]:
            tek = float(b["tekort_eur"].get(g, 0.0))
            head = float(b["headroom_eur"].get(g, 0.0))
            r = opening[g]
            draw = min(tek, max(0.0, r - floor[g]))
            dot = head if surplus_to_reserve else 0.0
            closing = r + dot - draw
            rows.append(
                {
                    "gemeente": g,
                    "year": p.year,
                    "opening_eur": r,
                    "tekort_eur": tek,
                    "onttrekking_eur": draw,
                    "algemene_middelen_eur": tek - draw,
                    "headroom_eur": head,
                    "dotatie_eur": dot,
                    "closing_eur": closing,
                    "floor_eur": floor[g],
                }
            )
            opening[g] = closing
    return pd.DataFrame(rows)


def meerjarenraming(plans: list[YearPlan]) -> pd.DataFrame:
    """What each gemeente spends per Iv3 taakveld and year: its own allocation of the lots it does
    not pool, booked on the lot's taakveld, and its pooled charges, booked over the pool's lots in
    proportion to the region's pooled cost of each lot."""
    from verdeelmodel.instance.schema import TAAKVELDEN

    rows = []
    for p in plans:
        inst, res = p.instance, p.result
        tv = dict(zip(inst.lots["lot"], inst.lots["taakveld"] if "taakveld" in inst.lots else [None] * len(inst.lots)))
        a = res.allocation
        pooled = set()
        if res.pooling is not None and len(res.pooling):
            pools = inst.pools
            lots_of = {pl: [x.strip() for x in ls.split(";")] for pl, ls in zip(pools["pool"], pools["lots"])}
            # a pooled charge is booked over the pool's lots in proportion to the region's pooled
            # cost of each lot (a pool of verblijf and its ambulant help books on 6.82 and 6.72)
            members = res.pooling.groupby(["region", "pool"])["gemeente"].apply(set).to_dict()
            per_lot = a.groupby(["gemeente", "lot"])["amount_eur"].sum()
            for r in res.pooling.itertuples(index=False):
                lots = lots_of.get(r.pool, [])
                pooled |= {(r.gemeente, l) for l in lots}
                gs = members[(r.region, r.pool)]
                cost = {l: float(sum(per_lot.get((g, l), 0.0) for g in gs)) for l in lots}
                total = sum(cost.values())
                for l in lots:
                    share = cost[l] / total if total > 0 else 1.0 / len(lots)
                    rows.append((r.gemeente, tv.get(l), p.year, float(r.charge_eur) * share))
        for r in a.itertuples(index=False):
            if (r.gemeente, r.lot) in pooled:
                continue
            rows.append((r.gemeente, tv.get(r.lot), p.year, float(r.amount_eur)))
    df = pd.DataFrame(rows, columns=["gemeente", "taakveld", "year", "amount_eur"])
    df["taakveld"] = df["taakveld"].fillna("unmapped")
    out = df.groupby(["gemeente", "taakveld", "year"], sort=True)["amount_eur"].sum().reset_index()
    out.insert(2, "taakveld_label", out["taakveld"].map(lambda t: TAAKVELDEN.get(t, "lot without taakveld in lots.csv")))
    out["amount_eur"] = np.round(out["amount_eur"].to_numpy(float), 2) + 0.0
    return out


def plan(inst: Instance, years: int | None = None, options=None, progress=None, surplus_to_reserve: bool = True) -> Plan:
    """Plan the first ``years`` years of the horizon (default all), one year after the other."""
    import time

    from verdeelmodel.api import solve

    all_years = horizon_years(inst)
    n = len(all_years) if years is None else years
    chosen = all_years[:n]
    pooled_lots = {x.strip() for ls in inst.pools["lots"] for x in ls.split(";")} if len(inst.pools) else set()
    plans: list[YearPlan] = []
    earlier = []
    t0 = time.perf_counter()
    for k, y in enumerate(chosen):
        yi = year_instance(inst, y, pd.concat(earlier, ignore_index=True) if earlier else None)
        res = solve(yi, options)
        plans.append(YearPlan(y, res, yi))
        if progress is not None:
            progress(k + 1, len(chosen))
        if not res.optimal:
            break
        earlier.append(_use_of(yi, res, y, pooled_lots))
    sums = inst.tables.get("contract_sums")
    contract_table = pd.DataFrame()
    if sums is not None and len(sums) and all(yp.result.optimal for yp in plans):
        # contract sums over years link the years: solve them as one model (uitgesteld-profijt
        # keys from the year-by-year plan above)
        inside = sums[(sums["first_year"].astype(int) >= chosen[0]) & (sums["last_year"].astype(int) <= chosen[-1])].reset_index(drop=True)
        if len(inside):
            seq = Plan(inst.name, chosen, plans, pd.DataFrame(), pd.DataFrame())
            results, contract_table = _joint_results(inst, seq, inside, options)
            plans = [YearPlan(yp.year, res, yp.instance) for yp, res in zip(plans, results)]
    solved = [y for y in plans if y.result.optimal]  # the years before the first without an allocation
    path, mjr = reserve_path(inst, solved, surplus_to_reserve), meerjarenraming(solved)
    return Plan(inst.name, chosen, plans, path, mjr, {"seconds": time.perf_counter() - t0}, contract_table)


# --------------------------------------------------------------------------- reserves on scenario paths


@dataclass
class PathRun:
    """Scenario paths over the horizon, per gemeente: the tekort, the headroom and the reserve."""

    gemeenten: list[str]
    years: list[int]
    tekort: np.ndarray  # [Y, S, G]
    headroom: np.ndarray  # [Y, S, G]
    opening: np.ndarray  # [G] the reserve at the start of the horizon
    floor: np.ndarray  # [G]
    cpu_seconds: float = 0.0  # CPU time drawing and charging the paths (in whichever process)
    processes: int = 1


def run_paths(inst: Instance, p: Plan, scenarios: int, seed: int, chunk: int = 1000, progress=None, executor=None) -> PathRun:
    """Demand paths over the plan's years: year t of a path draws from its own stream, its common
    shocks lasting by their persistence (demand.csv ``shock_persistence``); each year charges the
    gemeenten under the agreed rules of that year (uitgesteld profijt keyed on the plan's own
    earlier use) with that year's plan shaping the scenarios (models/reserves.py PlanView), and
    measures the tekort against that year's budgets."""
    from verdeelmodel.executors import as_executor
    from verdeelmodel.workflows import planned_cost

    from .pooling import pool_setups, rules_of
    from .reserves import _thresholds, plan_view, rule_sets
    from .scenarios import demand_model

    years = [yp.year for yp in p.plans]
    per_year = []
    for yp in p.plans:
        yi = yp.instance
        dm = demand_model(yi)
        setups = pool_setups(yi)
        rules = rules_of(yi)
        rs = rule_sets(yi, setups, None)[-1]  # the agreed rules (profijt where nothing is pooled)
        view = plan_view(yi, dm, planned_cost(yi, yp.result), yp.result.substitutions)
        per_year.append((dm, setups, rules, rs, view, _thresholds(rules, [rs])))
    G = len(per_year[0][0].gemeenten)
    T = np.zeros((len(years), scenarios, G))
    H = np.zeros((len(years), scenarios, G))
    starts = list(range(0, scenarios, chunk))
    tasks = [(c, s0, min(chunk, scenarios - s0), seed) for c, s0 in enumerate(starts)]
    ex = as_executor(executor).for_work(PATH_SECONDS_PER_UNIT * scenarios * G * len(years))
    done, cpu = 0, 0.0

    def put(i: int, r) -> None:
        nonlocal done, cpu
        _c, s0, n, _seed = tasks[i]
        t_part, h_part, secs = r
        T[:, s0 : s0 + n] = t_part
        H[:, s0 : s0 + n] = h_part
        cpu += secs
        done += n
        if progress is not None:
            progress(done, scenarios)

    ex.run(_path_chunk, tasks, per_year, put)
    gem = inst.gemeenten.set_index("gemeente").reindex(per_year[0][0].gemeenten)
    floor = gem["reserve_floor_eur"].astype(float).to_numpy() if "reserve_floor_eur" in gem else np.zeros(G)
    run = PathRun(per_year[0][0].gemeenten, years, T, H, gem["available_reserve_eur"].astype(float).to_numpy(), floor)
    run.cpu_seconds, run.processes = cpu, ex.workers_for(len(tasks))
    return run


#: The years' joint model solved block by block (solvers.highs.BlockSession); False: one HiGHS model.
PLAN_BLOCKS = True

#: Seconds per path, year and gemeente of drawing and charging the paths (measured: the national
#: 4-year case, 10,000 paths, 13.7M, about 30 s on one core; worker processes gained 1.8x on 2).
PATH_SECONDS_PER_UNIT = 1e-6


def _path_chunk(per_year, task) -> tuple[np.ndarray, np.ndarray, float]:
    """One chunk of paths over every year: (tekort [Y, n, G], headroom [Y, n, G], CPU seconds);
    the draws of chunk c depend only on (seed, c, year), so the result does not depend on the
    workers."""
    import time

    from .reserves import _charges
    from .scenarios import sample

    c0 = time.process_time()
    c, _s0, n, seed = task
    G = len(per_year[0][0].gemeenten)
    T = np.zeros((len(per_year), n, G))
    H = np.zeros((len(per_year), n, G))
    z = None
    for t, (dm, setups, rules, rs, view, thr) in enumerate(per_year):
        batch = sample(dm, n, seed, c, thr, year=t, prev_z=z)
        z = batch.z
        cost, excess = view.apply(batch.cost, batch._excess if thr else None)
        ex = (lambda H_, e=excess: e[float(H_)]) if excess is not None else None
        ch = _charges(dm, setups, rs, rules, cost, ex, view.lot_domain, view.n_dom)
        T[t] = view.tekort(ch)
        H[t] = _headroom(view, ch)
    return T, H, time.process_time() - c0


def _headroom(view, charge: np.ndarray) -> np.ndarray:
    """Budget not spent per gemeente [..., G] (what a surplus adds to the reserve)."""
    b = np.where(np.isinf(view.budget), 0.0, view.budget)
    has = ~np.isinf(view.budget)
    if view.total_scope:
        return np.where(has.any(-1), np.maximum(0.0, b.sum(-1) - charge.sum(-1)), 0.0)
    return np.where(has, np.maximum(0.0, b - charge), 0.0).sum(-1)


def walk(run: PathRun, opening: np.ndarray | None = None, surplus_to_reserve: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The reserve along every path from ``opening`` (default the instance's): (exhausted [Y, S, G]:
    the year's tekort exceeds what the reserve holds above its floor; closing [Y, S, G])."""
    R = np.broadcast_to(run.opening if opening is None else opening, run.tekort.shape[1:]).astype(float).copy()
    exhausted = np.zeros(run.tekort.shape, dtype=bool)
    closing = np.zeros(run.tekort.shape)
    for t in range(run.tekort.shape[0]):
        draw = np.minimum(run.tekort[t], np.maximum(0.0, R - run.floor))
        exhausted[t] = run.tekort[t] > draw + 1e-9
        R = R + (run.headroom[t] if surplus_to_reserve else 0.0) - draw
        closing[t] = R
    return exhausted, closing


def needed_opening(run: PathRun, surplus_to_reserve: bool = True) -> np.ndarray:
    """Per path and gemeente [S, G], the smallest opening reserve with which no year of the path
    exhausts it: floor + max over years with a tekort of (tekort_t - what earlier years added:
    sum_{k<t} (headroom_k - tekort_k)), and 0 when no year has a tekort."""
    add = (run.headroom if surplus_to_reserve else 0.0) - run.tekort  # [Y, S, G]
    before = np.cumsum(add, axis=0) - add  # sum over k < t
    need = np.where(run.tekort > 0, run.floor + run.tekort - before, -np.inf)
    return np.maximum(0.0, need.max(axis=0))


def path_tables(run: PathRun, level: float = 0.05, surplus_to_reserve: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per gemeente and year: the probability the reserve is exhausted, with its standard error,
    the expected tekort and the reserve at year end; per gemeente: the probability of exhaustion in
    some year from the instance's opening reserve, and the opening reserve that keeps it at most
    ``level``)."""
    from .reserves import var_cvar

    exhausted, closing = walk(run, surplus_to_reserve=surplus_to_reserve)
    S = run.tekort.shape[1]
    rows = []
    for t, y in enumerate(run.years):
        p = exhausted[t].mean(axis=0)
        for i, g in enumerate(run.gemeenten):
            rows.append(
                {
                    "gemeente": g,
                    "year": y,
                    "p_exhausted": p[i],
                    "p_exhausted_se": float(np.sqrt(p[i] * (1 - p[i]) / S)),
                    "expected_tekort_eur": float(run.tekort[t, :, i].mean()),
                    "expected_closing_eur": float(closing[t, :, i].mean()),
                    "closing_p05_eur": float(np.quantile(closing[t, :, i], 0.05)),
                }
            )
    per_year = pd.DataFrame(rows)
    need = needed_opening(run, surplus_to_reserve)
    any_ex = exhausted.any(axis=0).mean(axis=0)
    q, _c = var_cvar(need, 1.0 - level)  # the (1 - level) quantile of the needed opening
    per_g = pd.DataFrame(
        {
            "gemeente": run.gemeenten,
            "opening_eur": run.opening,
            "floor_eur": run.floor,
            "p_exhausted_any_year": any_ex,
            "p_exhausted_any_year_se": np.sqrt(any_ex * (1 - any_ex) / S),
            "level": level,
            "needed_opening_eur": np.asarray(q, dtype=float),
        }
    )
    for df in (per_year, per_g):
        for col in [c for c in df.columns if c.endswith("_eur")]:
            df[col] = np.round(df[col].to_numpy(float), 2) + 0.0
        for col in [c for c in df.columns if c.startswith("p_")]:
            df[col] = np.round(df[col].to_numpy(float), 6)
    return per_year, per_g


# --------------------------------------------------------------------------- close a year (jaarrekening)


@dataclass
class Closing:
    """A closed year: the realised charges and tekort, the reserve, the instance rolled forward to
    the next year (its state: the reserve, the use history), the re-plan and what changed."""

    year: int
    realised: pd.DataFrame  # gemeente, domain, budget, own cost, pool charges, charge, tekort, headroom, taken at plan
    settlement: pd.DataFrame  # the pools settled on the realised costs (agreed rules and profijt)
    reserve: pd.DataFrame  # gemeente: opening, tekort, onttrekking, algemene_middelen, dotatie, closing, floor
    rolled: Instance | None  # the instance from the next year on (None: the horizon ends here)
    previous: Plan
    replan: Plan | None
    changes: pd.DataFrame  # gemeente, year: tekort and reserve at year end, before and after


def close_year(inst: Instance, costs: pd.DataFrame, source_note: str = "", surplus_to_reserve: bool = True) -> Closing:
    """Close the instance's year with its realised costs (gemeente, lot, clients, cost_eur; the
    costs file of ``verdeelmodel pool --costs``): settle the pools, measure the realised tekort
    against the year's budgets, roll the reserve and the use history forward, and re-plan the
    remaining years from that state (voorjaarsnota). Years are closed in order: the instance's
    own year is the one closed; the rolled instance is the next year's instance."""
    from verdeelmodel.models.manifest import budget_group

    from .pooling import pool_setups, settle

    year = inst.meta.year
    years = horizon_years(inst)
    previous = plan(inst, surplus_to_reserve=surplus_to_reserve)
    # lots the costs file does not cover are taken at the plan (a jaarrekening file may give only
    # some lots, e.g. the pooled ones); the realised table says which
    planned = previous.plans[0].result.allocation.groupby(["gemeente", "lot"], sort=True)["amount_eur"].sum()
    given = set(zip(costs["gemeente"], costs["lot"]))
    missing = [(g, l, v) for (g, l), v in planned.items() if (g, l) not in given and v != 0]
    if missing:
        fill = pd.DataFrame({"gemeente": [m[0] for m in missing], "lot": [m[1] for m in missing], "cost_eur": [m[2] for m in missing]})
        tariff = dict(zip(inst.lots["lot"], inst.lots["tariff_eur"].astype(float)))
        d = inst.tables.get("demand")
        upc = dict(zip(d["lot"], d["units_per_client"].astype(float))) if d is not None and len(d) else {}
        fill["clients"] = [v / (tariff[l] * upc.get(l, 1.0)) for l, v in zip(fill["lot"], fill["cost_eur"])]
        fill["year"] = year
        costs = pd.concat([costs, fill[[c for c in costs.columns if c in fill.columns]]], ignore_index=True)
    from_plan = {(g, l) for g, l, _v in missing}
    lots = inst.lots.set_index("lot")
    domain_of = lots["domain"].to_dict()
    scope = inst.options.budget_scope
    # the pools settled on the realised costs: each gemeente's charge under the agreed rule
    settlement = settle(inst, costs) if len(inst.pools) else pd.DataFrame()
    pooled = set()
    charge: dict[tuple, float] = {}
    if len(settlement):
        agreed = settlement[settlement["rule_set"] == "agreed"] if "rule_set" in settlement else settlement
        pool_domain = {s.ctx.pool: s.ctx.domain for s in pool_setups(inst)}
        pool_lots = {s.ctx.pool: s.ctx.lots for s in pool_setups(inst)}
        for r in agreed.itertuples(index=False):
            grp = budget_group(r.gemeente, pool_domain[r.pool], scope)
            charge[grp] = charge.get(grp, 0.0) + float(r.charge_eur)
            pooled |= {(r.gemeente, l) for l in pool_lots[r.pool]}
    own: dict[tuple, float] = {}
    at_plan: dict[tuple, float] = {}
    for g, l, c in zip(costs["gemeente"], costs["lot"], costs["cost_eur"].astype(float)):
        grp = budget_group(g, domain_of[l], scope)
        if (g, l) in from_plan:
            at_plan[grp] = at_plan.get(grp, 0.0) + c
        if (g, l) in pooled:
            continue
        own[grp] = own.get(grp, 0.0) + c
    rows = []
    bud = inst.budgets
    budget: dict[tuple, float] = {}
    for g, d, b, o in zip(bud["gemeente"], bud["domain"], bud["budget_eur"].astype(float), bud["own_funds_eur"].astype(float)):
        grp = budget_group(g, d, scope)
        budget[grp] = budget.get(grp, 0.0) + b + o
    for grp, b in sorted(budget.items()):
        c_own, c_pool = own.get(grp, 0.0), charge.get(grp, 0.0)
        total = c_own + c_pool
        rows.append(
            {
                "gemeente": grp[0],
                "domain": grp[1] if len(grp) > 1 else "",
                "budget_eur": b,
                "own_cost_eur": c_own,
                "pool_charges_eur": c_pool,
                "charge_eur": total,
                "tekort_eur": max(0.0, total - b),
                "headroom_eur": max(0.0, b - total),
                "taken_at_plan_eur": at_plan.get(grp, 0.0),
            }
        )
    realised = pd.DataFrame(rows)
    # the reserve over the closed year
    gem = inst.gemeenten.set_index("gemeente")
    per_g = realised.groupby("gemeente")[["tekort_eur", "headroom_eur"]].sum()
    res_rows = []
    for g in inst.gemeenten["gemeente"]:
        opening = float(gem.loc[g, "available_reserve_eur"])
        floor = float(gem.loc[g, "reserve_floor_eur"]) if "reserve_floor_eur" in gem else 0.0
        tek = float(per_g["tekort_eur"].get(g, 0.0))
        head = float(per_g["headroom_eur"].get(g, 0.0))
        draw = min(tek, max(0.0, opening - floor))
        dot = head if surplus_to_reserve else 0.0
        res_rows.append(
            {
                "gemeente": g,
                "year": year,
                "opening_eur": opening,
                "tekort_eur": tek,
                "onttrekking_eur": draw,
                "algemene_middelen_eur": tek - draw,
                "dotatie_eur": dot,
                "closing_eur": opening + dot - draw,
                "floor_eur": floor,
            }
        )
    reserve = pd.DataFrame(res_rows)
    rolled = roll_forward(inst, costs, reserve, source_note) if len(years) > 1 else None
    replan = plan(rolled, surplus_to_reserve=surplus_to_reserve) if rolled is not None else None
    changes = _changes(previous, replan)
    return Closing(year, realised, settlement, reserve, rolled, previous, replan, changes)


def roll_forward(inst: Instance, costs: pd.DataFrame, reserve: pd.DataFrame, source_note: str = "") -> Instance:
    """The instance of the next year: its budgets from budgets_by_year, tariffs and need at the
    next year's factors (later factors relative to it), the reserve at the closed year's end as
    the opening balance, and the realised use of the pooled lots added to the use history."""
    year = inst.meta.year
    nxt = year + 1
    out = year_instance(inst, nxt)  # budgets, tariffs and need of the next year; meta.year = next
    name = inst.meta.name
    suffix = f"-{year}"
    out.meta = out.meta.model_copy(update={"name": (name[: -len(suffix)] if name.endswith(suffix) else name) + f"-{nxt}"})
    T = out.tables
    src = f"closed_{year}"
    T["sources"] = pd.concat(
        [
            T["sources"],
            pd.DataFrame(
                [
                    {
                        "source": src,
                        "kind": "derived",
                        "description": f"Rolled forward from {inst.meta.name} by `verdeelmodel close` after the jaarrekening {year}: "
                        f"the realised use of {year} in use_history, the social-domain reserve at the end of {year} as the opening "
                        f"balance, budgets, tariffs and need of {nxt} from the horizon tables. {source_note}".strip(),
                        "reference": "",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    # the horizon from the next year on; factors of later years relative to the next year
    yrs = T["years"]
    T["years"] = yrs[yrs["year"].astype(int) > year].reset_index(drop=True)
    byy = T["budgets_by_year"]
    T["budgets_by_year"] = byy[byy["year"].astype(int) > nxt].reset_index(drop=True)
    fac = inst.tables.get("year_factors")
    if fac is not None and len(fac):
        rows = []
        lots = inst.lots
        for y in sorted({int(v) for v in fac["year"]} - {nxt}):
            if y <= nxt:
                continue
            for l, d in zip(lots["lot"], lots["domain"]):
                rows.append(
                    {
                        "year": y,
                        "target": l,
                        "tariff_factor": _factor(fac, y, l, d, "tariff_factor") / _factor(fac, nxt, l, d, "tariff_factor"),
                        "demand_factor": _factor(fac, y, l, d, "demand_factor") / _factor(fac, nxt, l, d, "demand_factor"),
                        "source": src,
                    }
                )
        T["year_factors"] = pd.DataFrame(rows, columns=["year", "target", "tariff_factor", "demand_factor", "source"])
    gem = T["gemeenten"]
    closing = reserve.set_index("gemeente")["closing_eur"]
    T["gemeenten"] = gem.assign(available_reserve_eur=[round(float(closing[g]), 2) for g in gem["gemeente"]])
    # the realised use of the pooled lots
    pooled_lots = {x.strip() for ls in inst.pools["lots"] for x in ls.split(";")} if len(inst.pools) else set()
    used = costs[costs["lot"].isin(pooled_lots)].groupby(["gemeente", "lot"], sort=True)[["clients", "cost_eur"]].sum().reset_index()
    hist = T["use_history"]
    add = used.assign(year=year, source=src)
    T["use_history"] = pd.concat(
        [hist[hist["year"].astype(int) != year], add[[c for c in hist.columns if c in add.columns]]], ignore_index=True
    )
    return out


def _changes(previous: Plan, replan: Plan | None) -> pd.DataFrame:
    """Per gemeente and re-planned year: tekort and reserve at year end in the previous plan and
    in the re-plan."""
    if replan is None:
        return pd.DataFrame(
            columns=["gemeente", "year", "tekort_before_eur", "tekort_after_eur", "closing_before_eur", "closing_after_eur"]
        )
    a = previous.reserve_path.set_index(["gemeente", "year"])
    b = replan.reserve_path.set_index(["gemeente", "year"])
    idx = b.index
    out = pd.DataFrame(
        {
            "tekort_before_eur": a["tekort_eur"].reindex(idx),
            "tekort_after_eur": b["tekort_eur"],
            "closing_before_eur": a["closing_eur"].reindex(idx),
            "closing_after_eur": b["closing_eur"],
        }
    ).reset_index()
    out["tekort_change_eur"] = out["tekort_after_eur"] - out["tekort_before_eur"]
    out["closing_change_eur"] = out["closing_after_eur"] - out["closing_before_eur"]
    for c in [c for c in out.columns if c.endswith("_eur")]:
        out[c] = np.round(out[c].to_numpy(float), 2) + 0.0
    return out


# --------------------------------------------------------------------------- contract sums over years: one joint model


def _joint_results(inst: Instance, p: Plan, sums: pd.DataFrame, options=None) -> tuple[list, pd.DataFrame]:
    """The years of ``p`` solved as one model, linked by the contract sums (contract_sums.csv):
    sum over the years [first, last] of the lot's allocation in the region or gemeente <= the
    sum; for a statutory lot care above it is a plafondoverschrijding (never a client without
    care), for a non-statutory lot the sum is hard. The formulation of record is the year models
    (Pyomo, one per year) and a Pyomo link model whose rows name their variables; HiGHS solves
    them as one LP, stage by stage, the stages summed over the years. (results per year, the
    contract sums with their use.) The uitgesteld-profijt keys are those of the year-by-year plan
    (exact when the sums do not change substitution within a pooled lot)."""
    import pyomo.environ as pyo

    from verdeelmodel.api import AllocationModel
    from verdeelmodel.models.manifest import Stage
    from verdeelmodel.solvers.highs import BlockSession, CompiledLP, HighsSession, SolveOutcome, SparseMatrix, StageResult, compile_rows

    models = [AllocationModel(yp.instance, options) for yp in p.plans]
    lps = [m.lp for m in models]
    col_off = np.cumsum([0] + [lp.shape[1] for lp in lps])
    row_off = np.cumsum([0] + [lp.shape[0] for lp in lps])
    col_of: dict[int, int] = {}
    for t, lp in enumerate(lps):
        for vid, j in lp.col_of.items():
            col_of[vid] = j + int(col_off[t])
    statutory = dict(zip(inst.lots["lot"], inst.lots["statutory"].astype(bool)))
    domain_of = dict(zip(inst.lots["lot"], inst.lots["domain"]))
    link = pyo.ConcreteModel(name="contract_sums")
    keys = list(range(len(sums)))
    link.overrun = pyo.Var([k for k in keys if statutory[sums["lot"].iloc[k]]], domain=pyo.NonNegativeReals)
    n_base = int(col_off[-1])
    for j, k in enumerate(link.overrun):
        col_of[id(link.overrun[k])] = n_base + j
    rows, labels = [], []
    for k in keys:
        r = sums.iloc[k]
        lot, region, gemeente = r["lot"], r.get("region") or "", r.get("gemeente") or ""
        terms = []
        for yp, m in zip(p.plans, models):
            if not int(r["first_year"]) <= yp.year <= int(r["last_year"]):
                continue
            bud = yp.instance.budgets
            region_of = {(g, d): R for g, d, R in zip(bud["gemeente"], bud["domain"], bud["region"])}
            for (g, _p, l), v in m.info.x.items():
                if l == lot and ((gemeente and g == gemeente) or (region and region_of.get((g, domain_of[l])) == region)):
                    terms.append(v)
        body = sum(terms) - (link.overrun[k] if k in link.overrun else 0)
        rows.append(body <= float(r["ceiling_eur"]))
        labels.append(f"contractsom {lot} {region or gemeente} {int(r['first_year'])}-{int(r['last_year'])}")
    link_rows = compile_rows(rows, col_of)
    n_link_cols = len(link.overrun)
    n_cols = n_base + n_link_cols
    # the combined matrix: the years block-diagonal, the link rows below
    rr, cc, vv = [], [], []
    for t, lp in enumerate(lps):
        r_, c_, v_ = lp.A.triplets()
        rr.append(r_ + int(row_off[t]))
        cc.append(c_ + int(col_off[t]))
        vv.append(v_)
    rr.append(link_rows.row_of_entry + int(row_off[-1]))
    cc.append(link_rows.indices)
    vv.append(link_rows.data)
    n_rows = int(row_off[-1]) + len(rows)
    A = SparseMatrix.from_triplets(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), (n_rows, n_cols))
    names = [s.objective for s in Stage if any(s.objective in lp.costs for lp in lps) or (s is Stage.plafondoverschrijding and n_link_cols)]
    costs, offsets, hessians = {}, {}, {}
    for name in names:
        c = np.zeros(n_cols)
        off = 0.0
        for t, lp in enumerate(lps):
            if name in lp.costs:
                c[int(col_off[t]) : int(col_off[t + 1])] = lp.costs[name]
                off += lp.offsets.get(name, 0.0)
        if name == Stage.plafondoverschrijding.objective:
            c[n_base:] = 1.0
        costs[name], offsets[name] = c, off
        hq = [(h[0] + int(col_off[t]), h[1]) for t, lp in enumerate(lps) if (h := lp.hessians.get(name)) is not None]
        if hq:
            hessians[name] = (np.concatenate([h[0] for h in hq]), np.concatenate([h[1] for h in hq]))
    cat = lambda attr: np.concatenate([getattr(lp, attr) for lp in lps])  # noqa: E731
    joint = CompiledLP(
        A=A,
        costs=costs,
        hessians=hessians,
        offsets=offsets,
        col_lower=np.r_[cat("col_lower"), np.zeros(n_link_cols)],
        col_upper=np.r_[cat("col_upper"), np.full(n_link_cols, np.inf)],
        row_lower=np.r_[cat("row_lower"), link_rows.lower],
        row_upper=np.r_[cat("row_upper"), link_rows.upper],
        row_constant=np.r_[cat("row_constant"), link_rows.constant],
        col_component=[c for lp in lps for c in lp.col_component] + ["contract_sum_overrun"] * n_link_cols,
        col_index=[i for lp in lps for i in lp.col_index] + list(link.overrun),
        row_component=[c for lp in lps for c in lp.row_component] + ["contract_sum"] * len(rows),
        row_index=[i for lp in lps for i in lp.row_index] + keys,
        row_data=[d for lp in lps for d in lp.row_data] + [None] * len(rows),
        col_data=[d for lp in lps for d in lp.col_data] + [link.overrun[k] for k in link.overrun],
        col_of=col_of,
        compile_seconds=sum(lp.compile_seconds for lp in lps),
    )
    o = inst.options.objective
    priced = tuple(s.objective for s in Stage if s.priced and s.objective in costs)
    # each independent block of the years together (gemeenten linked by no region, provider,
    # plafond, pool or multi-year contract) its own HiGHS model, as the single-year solve
    session = BlockSession(joint) if PLAN_BLOCKS else HighsSession(joint)
    out = session.solve(names, tol_rel=o.tolerance_rel, tol_abs=o.tolerance_abs_eur, tol_max=o.tolerance_max_eur, dual_stages=priced)
    results = []
    for t, (m, lp) in enumerate(zip(models, lps)):
        cs, ce, rs, re_ = int(col_off[t]), int(col_off[t + 1]), int(row_off[t]), int(row_off[t + 1])
        if out.status != "optimal":
            results.append(m._result(SolveOutcome(out.status, out.stages, message=out.message)))
            continue
        x = out.x[cs:ce]
        stages = []
        for name in [n for n in names if n in lp.costs]:
            val = float(lp.costs[name] @ x) + lp.offsets.get(name, 0.0)
            if name in lp.hessians:
                qc, q = lp.hessians[name]
                val += 0.5 * float(np.sum(q * x[qc] ** 2))
            stages.append(StageResult(name, val, "optimal", 0.0, 0))
        sub = SolveOutcome("optimal", stages, highs_seconds=out.highs_seconds)
        sub.x = x
        sub.row_activity = out.row_activity[rs:re_]
        sub.row_dual = {k: v[rs:re_] for k, v in out.row_dual.items()}
        m.session.quadratic_failures = getattr(session, "quadratic_failures", [])
        m.session.quadratic_parts = getattr(session, "quadratic_parts", 0)
        results.append(m._result(sub))
    table = []
    if out.status == "optimal":
        act = out.row_activity[int(row_off[-1]) :] if len(out.row_activity) > int(row_off[-1]) else None
        over = {k: float(out.x[n_base + j]) for j, k in enumerate(link.overrun)}
        for k, label in zip(keys, labels):
            r = sums.iloc[k]
            used = float(act[k]) + over.get(k, 0.0) if act is not None else float("nan")
            table.append(
                {
                    "lot": r["lot"],
                    "region": r.get("region") or "",
                    "gemeente": r.get("gemeente") or "",
                    "first_year": int(r["first_year"]),
                    "last_year": int(r["last_year"]),
                    "ceiling_eur": float(r["ceiling_eur"]),
                    "used_eur": round(used, 2),
                    "plafondoverschrijding_eur": round(over.get(k, 0.0), 2),
                    "label": label,
                }
            )
    return results, pd.DataFrame(table)
