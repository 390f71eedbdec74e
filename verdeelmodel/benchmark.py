"""``verdeelmodel benchmark``: where the time of a solve goes, on the national instance.

Prints the time to load and validate the instance (once), then per repetition: build the
Pyomo model (preparation included), translate it (compile to matrix form and load into
HiGHS), HiGHS's own time over all lexicographic stages (its ``run`` calls), extracting the
result tables, and the total wall time from the loaded instance to the result tables; then
the same for a re-solve of the already loaded model (the sweep path: no rebuild), and the
ratios to HiGHS's time. Timings are measured here, not in the test suite.
"""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from pathlib import Path

from verdeelmodel.api import AllocationModel
from verdeelmodel.instance.validate import load_instance

ROOT = Path(__file__).resolve().parents[1]


def _default_instance() -> Path:
    p = ROOT / "instances" / "nl-synthetic"
    if not p.is_dir():
        from verdeelmodel.errors import UsageError

        raise UsageError(
            f"no bundled nl-synthetic instance at {p}; pass an instance path",
            f"geen meegeleverde instantie nl-synthetic in {p}; geef het pad van een instantie op",
        )
    return p


def _peak_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def run_benchmark(instance: str | None = None, repeat: int = 3) -> int:
    path = Path(instance) if instance else _default_instance()
    t0 = time.perf_counter()
    inst = load_instance(path)
    load_s = time.perf_counter() - t0
    AllocationModel(inst)  # warm-up: first-use imports inside Pyomo and scipy are not the model's cost
    rows = []
    model = None
    for _ in range(max(1, repeat)):
        del model
        gc.collect()  # tearing down the previous run's model is not this run's cost
        t0, c0 = time.perf_counter(), time.process_time()
        model = AllocationModel(inst)
        res = model.solve()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        t1 = time.perf_counter()
        res2 = model.solve()
        rewall = time.perf_counter() - t1
        rows.append((res.timings, wall, res2.timings, rewall, cpu))
    n_rows, n_cols = model.lp.shape
    print(
        f"benchmark {inst.name}: {len(inst.gemeenten)} gemeenten, {inst.budgets['region'].nunique()} regions, "
        f"{len(inst.need)} need rows; LP {n_rows} rows x {n_cols} columns, {model.lp.A.nnz} nonzeros, "
        f"{len(model.lp.costs)} stages; status {res.status}"
    )
    print(f"load + validate: {load_s:.3f} s")
    hdr = f"{'run':>4} {'build':>8} {'translate':>10} {'HiGHS':>8} {'extract':>8} {'total':>8} {'total/HiGHS':>12} {'w/o build':>10} | {'re-solve':>9} {'HiGHS':>8} {'ratio':>6}"
    print(hdr)
    for i, (t, wall, t2, rewall, _cpu) in enumerate(rows, 1):
        print(
            f"{i:>4} {t['build_seconds']:>8.3f} {t['translate_seconds']:>10.3f} {t['highs_seconds']:>8.3f} {t['extract_seconds']:>8.3f} "
            f"{wall:>8.3f} {wall / t['highs_seconds']:>12.2f} {(wall - t['build_seconds']) / t['highs_seconds']:>10.2f} | {rewall:>9.3f} {t2['highs_seconds']:>8.3f} {rewall / t2['highs_seconds']:>6.2f}"
        )
    med = lambda xs: statistics.median(xs)  # noqa: E731
    # ratios are taken within a run (wall and HiGHS of the same solve), then summarised: on a
    # noisy machine the ratio of two medians would pair times of different runs
    ratio = [r[1] / r[0]["highs_seconds"] for r in rows]
    nobuild = [(r[1] - r[0]["build_seconds"]) / r[0]["highs_seconds"] for r in rows]
    reratio = [r[3] / r[2]["highs_seconds"] for r in rows]
    print(
        f"median: first solve {med([r[1] for r in rows]):.3f} s wall, HiGHS {med([r[0]['highs_seconds'] for r in rows]):.3f} s; "
        f"total/HiGHS {med(ratio):.2f} (runs {min(ratio):.2f}-{max(ratio):.2f}), {med(nobuild):.2f} without the Pyomo build; "
        f"re-solve {med([r[3] for r in rows]):.3f} s wall = {med(reratio):.2f} x HiGHS; first solve CPU {med([r[4] for r in rows]):.3f} s; "
        f"peak memory {_peak_mb():.0f} MB; load {_loadavg()}"
    )
    return 0


def run_pooling_benchmark(instance: str | None = None, scenarios: int = 10_000, chunk: int = 200, seed: int = 1) -> int:
    """Charges for ``scenarios`` demand scenarios x every gemeente x every lot under three rules
    (solidariteit by inhabitants, a 50/50 mixed key, a threshold fund of EUR 40 per inhabitant),
    each lot pooled in every region. Scenario costs: Poisson client counts around the expected
    volume times the tariff (a throughput load; issue 4 brings the real scenario generator).
    Scenarios are processed in chunks so memory stays flat."""
    import numpy as np

    from verdeelmodel.models.pooling import Rule, build_context, evaluate

    path = Path(instance) if instance else _default_instance()
    inst = load_instance(path)
    rules = [
        Rule(name="solidariteit_inwoners", kind="solidariteit", basis="inhabitants"),
        Rule(name="mixed_50_50", kind="mixed", w_own=0.5, w_inhabitants=0.5),
        Rule(name="fonds_40", kind="threshold_fund", fund_threshold_eur_per_inhabitant=40.0, basis="inhabitants"),
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    ctxs = []
    for lot, dom in zip(inst.lots["lot"], inst.lots["domain"]):
        regions = sorted(inst.budgets.loc[inst.budgets["domain"] == dom, "region"].unique())
        ctxs.append(build_context(inst, lot, (lot,), regions))
    lams = [ctx.expected_by_lot[:, 0] / ctx.tariff[0] for ctx in ctxs]
    setup = time.perf_counter() - t0
    G = max(c.n for c in ctxs)
    rng = np.random.default_rng(seed)
    gen_s = eval_s = 0.0
    worst = 0.0
    done = 0
    while done < scenarios:
        s = min(chunk, scenarios - done)
        for ctx, lam in zip(ctxs, lams):
            t1 = time.perf_counter()
            cost = rng.poisson(lam, size=(s, ctx.n)) * ctx.tariff[0]
            t2 = time.perf_counter()
            for rule in rules:
                ch = evaluate(rule, ctx, cost[..., None])
                tot = ctx.total(ch.charge)
                worst = max(worst, float(np.max(np.abs(tot - ch.pooled_total) / np.maximum(1.0, np.abs(ch.pooled_total)))))
            t3 = time.perf_counter()
            gen_s += t2 - t1
            eval_s += t3 - t2
        done += s
    wall = time.perf_counter() - t0
    cells = scenarios * G * len(ctxs)
    print(
        f"pooling benchmark {inst.name}: {scenarios} scenarios x {G} gemeenten x {len(ctxs)} lots x {len(rules)} rules "
        f"({cells * len(rules) / 1e6:.0f} M charges), chunks of {chunk}"
    )
    print(
        f"setup {setup:.3f} s; scenario costs {gen_s:.3f} s; charges {eval_s:.3f} s; total {wall:.3f} s wall, "
        f"{time.process_time() - c0:.3f} s CPU; peak memory {_peak_mb():.0f} MB; worst relative conservation error {worst:.1e}; "
        f"load {_loadavg()}"
    )
    return 0


def run_issue4_benchmark(
    instance: str | None = None, scenarios: int = 10_000, joint_scenarios: int = 1_000, sweep_points: int = 100
) -> int:
    """Reserves (given allocation), the joint sizing LP and a parametric sweep on one instance,
    with wall time, HiGHS time and peak memory for each; for the joint LP also the shares of
    build, translate and HiGHS, the CPU time of this process and of the groups' solves (in the
    worker processes when there are several) and the load average."""
    import numpy as np

    from verdeelmodel.api import solve
    from verdeelmodel.models.joint import solve_joint
    from verdeelmodel.models.reserves import reserve_table, run_reserves, scenario_charges
    from verdeelmodel.models.scenarios import demand_model
    from verdeelmodel.workflows import planned_cost, sweep

    path = Path(instance) if instance else _default_instance()
    inst = load_instance(path)
    print(f"benchmark {inst.name}: {len(inst.gemeenten)} gemeenten, {inst.budgets['region'].nunique()} regions, {len(inst.lots)} lots")
    rules = [r for r in ("solidariteit",) if r in set(inst.pooling_rules["rule"])]
    t0 = time.perf_counter()
    res = solve(inst)
    dm = demand_model(inst)
    planned = planned_cost(inst, res)
    from verdeelmodel.executors import Processes

    t1, c1 = time.perf_counter(), time.process_time()
    ex = Processes()
    run = run_reserves(inst, planned, scenarios, seed=1, candidates=rules, executor=ex)
    table = reserve_table(inst, run, [0.9])
    t2, c2 = time.perf_counter(), time.process_time()
    print(
        f"reserves: {scenarios:,} scenarios x {len(dm.gemeenten)} gemeenten x {len(run.overspend)} rule sets ({', '.join(run.overspend)}): "
        f"{t2 - t1:.2f} s wall, CPU {c2 - c1 + ex.worker_cpu_seconds:.1f} s (this process and {ex.workers} workers) "
        f"(+ allocation solve {t1 - t0:.2f} s); peak memory so far {_peak_mb():.0f} MB here, {ex.worker_peak_mb:.0f} MB a worker; "
        f"{len(table)} rows; load {_loadavg()}"
    )
    t3 = time.perf_counter()
    K, gem = scenario_charges(inst, joint_scenarios, seed=1)
    t3b, c3b = time.perf_counter(), time.process_time()
    j = solve_joint(inst, K, gem, 0.9)
    t4, c4 = time.perf_counter(), time.process_time()
    tm = j.timings
    print(
        f"joint sizing LP: {joint_scenarios:,} scenarios, {int(tm['groups'])} independent groups in {int(tm['processes'])} processes: "
        f"{t4 - t3:.2f} s wall (build {tm['build_seconds']:.2f} s, translate {tm['translate_seconds']:.2f} s, HiGHS {tm['highs_seconds']:.2f} s summed over groups); status {j.status}"
    )
    parts = {k: tm[k] for k in ("build_seconds", "translate_seconds", "highs_seconds")}
    total = sum(parts.values()) or 1.0
    share = ", ".join(f"{k.split('_')[0]} {v / total:.0%}" for k, v in parts.items())
    where = "included in this process's" if int(tm["processes"]) == 1 else "in the worker processes, besides this process's"
    print(
        f"  joint LP: scenario charges {t3b - t3:.2f} s, solve_joint {t4 - t3b:.2f} s wall; shares of build + translate + HiGHS "
        f"(summed over groups): {share}; CPU {c4 - c3b:.1f} s in this process, {tm.get('cpu_seconds', float('nan')):.1f} s in the "
        f"groups ({where}); peak memory {_peak_mb():.0f} MB in this process (not the workers'); load {_loadavg()}"
    )
    grid = [{"demand:*": float(m)} for m in np.linspace(0.9, 1.1, sweep_points)]
    ex = Processes()
    t5, c5 = time.perf_counter(), time.process_time()
    out = sweep(inst, grid, executor=ex).table  # slices of the grid in worker processes (each point from a cold start)
    t6, c6 = time.perf_counter(), time.process_time()
    highs = float(out["highs_seconds"].sum())
    print(
        f"sweep: {sweep_points} points of the national allocation, one model built per worker ({ex.workers} workers): "
        f"{t6 - t5:.2f} s wall, CPU {c6 - c5 + ex.worker_cpu_seconds:.1f} s, HiGHS {highs:.2f} s summed: "
        f"{(t6 - t5) * ex.workers / highs:.2f} x HiGHS's own time per worker; peak memory {_peak_mb():.0f} MB here; load {_loadavg()}"
    )
    return 0


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run_startup_benchmark(instance: str | None = None, repeat: int = 5) -> int:
    """Time the command line as a user meets it, each command a fresh process: ``--help``,
    ``validate`` and ``solve`` (with its outputs) on an instance (default nijmegen-2018). Prints
    the median and range of wall and CPU time of ``repeat`` runs, with the machine load."""
    import os
    import shutil
    import subprocess
    import tempfile

    path = Path(instance) if instance else ROOT / "instances" / "nijmegen-2018"
    exe = shutil.which("verdeelmodel", path=str(Path(sys.executable).parent))
    base = [exe] if exe else [sys.executable, "-m", "verdeelmodel.cli"]
    out = tempfile.mkdtemp(prefix="verdeelmodel-startup-")
    commands = {"--help": ["--help"], "validate": ["validate", str(path)], "solve": ["solve", str(path), "--out", out]}
    print(
        f"startup benchmark: {' '.join(base)} on {path.name}, {repeat} runs each; load average before {_loadavg()} ({os.cpu_count()} CPUs)"
    )
    print(f"{'command':>10} {'wall median':>12} {'wall range':>16} {'CPU median':>11}")
    for name, args in commands.items():
        walls, cpus = [], []
        for _ in range(max(1, repeat)):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            done = subprocess.run(base + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            walls.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
            if done.returncode != 0:
                print(f"{name}: exit {done.returncode}: {done.stderr.strip()[:300]}")
                return 1
        print(f"{name:>10} {statistics.median(walls):>10.3f} s {min(walls):>7.3f}-{max(walls):.3f} s {statistics.median(cpus):>9.3f} s")
    shutil.rmtree(out, ignore_errors=True)
    print(f"load average after {_loadavg()}")
    return 0


def run_fairness_benchmark(instance: str | None = None, scenarios: int = 10_000, processes: int | None = None) -> int:
    """Fairness (models/fairness.py) on the instance's largest region alone, then on every region:
    wall and CPU time (this process and its workers) beside the machine load, games by size and method."""
    import os
    import resource

    import numpy as np  # noqa: F401  (imported by the workflow anyway; keeps the timing honest)

    from verdeelmodel.workflows import fairness

    path = Path(instance) if instance else _default_instance()
    inst = load_instance(path)
    bud = inst.budgets.drop_duplicates(["gemeente", "region"])
    sizes = bud.groupby("region").size()
    pooled_regions = set(inst.pools["region"])
    sizes = sizes[sizes.index.isin(pooled_regions)]
    largest = sizes.idxmax()

    def cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return me.ru_utime + me.ru_stime

    print(
        f"benchmark fairness {inst.name}: {len(inst.gemeenten)} gemeenten, {len(sizes)} pooling regions; {os.cpu_count()} CPUs; load {_loadavg()}"
    )
    for label, keep in ((f"region {largest} ({sizes[largest]} gemeenten)", [largest]), (f"all {len(sizes)} regions", None)):
        t0, c0 = time.perf_counter(), cpu()
        fr = fairness(inst, scenarios=scenarios, seed=1, executor=processes, regions=keep)
        wall, used = time.perf_counter() - t0, cpu() - c0
        by = {}
        for pg in fr.games:
            n = len(pg.game.members)
            by.setdefault(n, []).append(pg.game)
        detail = ", ".join(
            f"{len(gs)} x {n} ({'exact' if gs[0].shapley_method.startswith('exact') else 'sampled Shapley'}, "
            f"{'exhaustive core' if gs[0].core.method.startswith('exhaustive') else 'MIP core'})"
            for n, gs in sorted(by.items(), reverse=True)[:4]
        )
        tm = fr.timings
        print(
            f"{label}: {len(fr.games)} games, {scenarios:,} scenarios: {wall:.1f} s wall (allocation solve {tm['solve_seconds']:.1f} s, "
            f"scenarios of all {len(inst.gemeenten)} gemeenten {tm['sampling_seconds']:.1f} s, games {tm['games_seconds']:.1f} s); "
            f"CPU {used:.1f} s in this process + {tm['games_cpu_seconds']:.1f} s in the games; load {_loadavg()}; largest games: {detail}"
        )
    return 0


def run_plan_benchmark(instance: str | None = None, paths: int = 10_000, repeat: int = 3) -> int:
    """The meerjarenraming against the single-year solve: a cold single-year solve (median of
    ``repeat``), the plan over the whole horizon, and ``paths`` scenario paths over it; wall and
    CPU time beside the machine load."""
    import resource
    import statistics

    from verdeelmodel.api import solve
    from verdeelmodel.models.horizon import horizon_years, path_tables, plan, run_paths

    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    path = Path(instance) if instance else _default_instance()
    inst = load_instance(path)
    years = horizon_years(inst)
    print(f"benchmark plan {inst.name}: {len(inst.gemeenten)} gemeenten, horizon {', '.join(map(str, years))}; load {_loadavg()}")
    single = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        solve(inst)
        single.append(time.perf_counter() - t0)
    s = statistics.median(single)
    t0, c0 = time.perf_counter(), cpu()
    p = plan(inst)
    t_plan, c_plan = time.perf_counter() - t0, cpu() - c0
    print(
        f"single-year cold solve: {s:.2f} s (median of {repeat}); plan over {len(years)} years: {t_plan:.2f} s wall, {c_plan:.2f} s CPU "
        f"= {t_plan / s:.2f} x the single year; status {'optimal' if p.optimal else 'not optimal'}"
    )
    t0, c0 = time.perf_counter(), cpu()
    run = run_paths(inst, p, paths, seed=1)
    path_tables(run)
    t_paths, c_paths = time.perf_counter() - t0, cpu() - c0
    print(
        f"scenario paths: {paths:,} paths x {len(years)} years x {len(run.gemeenten)} gemeenten in {run.processes} process(es): "
        f"{t_paths:.1f} s wall, {run.cpu_seconds:.1f} s CPU drawing and charging (+ {c_paths:.1f} s here); "
        f"peak memory {_peak_mb():.0f} MB; load {_loadavg()}"
    )
    return 0


def run_contract_benchmark(instances: list[str] | None = None, scenarios: int = 1000, repeat: int = 3, extensive: bool = True) -> int:
    """verdeelmodel contract per bundled instance with contract options (westfriesland-2021,
    nijmegen-2018, populatiebekostiging-2019, nl-synthetic): wall and CPU time of the whole run
    (plan, scenarios in and out of sample, the choice, the frontier), the median over ``repeat``
    runs with the range, the slowest region's choice with its rounds of cuts; and for the
    regions of the smaller instances the extensive form (the Pyomo formulation of record, one
    HiGHS MIP) beside the decomposition on the same scenarios -- the measurement behind solving by
    decomposition. Beside the machine load."""
    import resource
    import statistics

    from verdeelmodel.models.contracts import Chooser, instance_problems, solve_extensive
    from verdeelmodel.workflows import contract, resolve_plan

    def cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return me.ru_utime + me.ru_stime

    root = _default_instance().parent
    names = ["westfriesland-2021", "nijmegen-2018", "populatiebekostiging-2019", "nl-synthetic"]
    paths = [Path(p) for p in instances] if instances else [root / n for n in names]
    print(f"benchmark contract: {scenarios:,} scenarios, {repeat} run(s) each; load {_loadavg()}")
    for path in paths:
        inst = load_instance(path)
        opts = inst.tables["contract_options"]
        walls, cpus = [], []
        for _ in range(max(1, repeat)):
            t0, c0 = time.perf_counter(), cpu()
            cr = contract(inst, scenarios=scenarios, seed=1)
            walls.append(time.perf_counter() - t0)
            cpus.append(cpu() - c0)
        groups = opts.groupby(["lot", "region", "gemeente"]).ngroups
        regions = cr.frontier["region"].nunique()
        print(
            f"{inst.name}: {len(opts)} options in {groups} lots and areas, {regions} region(s), "
            f"{len(cr.frontier)} frontier points; whole run {statistics.median(walls):.1f} s wall "
            f"(range {min(walls):.1f}-{max(walls):.1f}), {statistics.median(cpus):.1f} s CPU; load {_loadavg()}"
        )
        planned, alloc = resolve_plan(inst, "allocation")
        problems = instance_problems(inst, planned, scenarios, 1, alloc.substitutions)
        slowest = (0.0, "", 0, 0)
        for pr in problems:
            t0 = time.perf_counter()
            ch = Chooser(pr.options, pr.other, 0.9)
            for k in (0.1, 0.0, 0.02, 0.05, 0.2, 0.5, 1.0):
                ch.solve(k)
            t = time.perf_counter() - t0
            slowest = max(slowest, (t, pr.region, ch.iterations, len(ch.cuts)))
        print(
            f"  choice and frontier (7 costs of capital) per region by decomposition: slowest {slowest[1]} {slowest[0]:.2f} s, "
            f"{slowest[2]} master solves, {slowest[3]} cuts"
        )
        if extensive and len(problems) <= 2:
            for pr in problems:
                t0, c0 = time.perf_counter(), cpu()
                ref = solve_extensive(pr.options, pr.other, 0.9, 0.1)
                t_ext, c_ext = time.perf_counter() - t0, cpu() - c0
                t0 = time.perf_counter()
                got = Chooser(pr.options, pr.other, 0.9).solve(0.1)
                t_dec = time.perf_counter() - t0
                rows = len(pr.gemeenten) * pr.other.shape[0]
                print(
                    f"  {pr.region}, cost of capital 0.1: extensive form ({rows:,} Rockafellar-Uryasev rows, {len(pr.options)} binaries) "
                    f"{t_ext:.1f} s wall / {c_ext:.1f} s CPU incl. Pyomo build; decomposition {t_dec:.2f} s; "
                    f"objectives {ref.objective:,.2f} and {got.objective:,.2f}"
                )
    print(f"peak memory {_peak_mb():.0f} MB; load {_loadavg()}")
    return 0


def run_contract_oos(
    instances: list[str] | None = None,
    sizes: tuple[int, ...] = (250, 1000, 4000),
    reps: int = 5,
    fresh: int = 20_000,
    kappas: tuple[float, ...] = (0.1, 1.0),
) -> int:
    """Out-of-sample honesty of the contract choice: for each in-sample size, ``reps`` choices on
    independent samples (seeds 1..reps), each judged on one large fresh sample (``fresh``
    scenarios, another seed). The in-sample objective (expected payments + kappa x reserves) of
    an optimum is biased low (it is fitted to its sample); the gap to the fresh evaluation should
    shrink as the sample grows. Prints mean and standard error over the replications."""
    import statistics

    from verdeelmodel.models.contracts import Chooser, evaluate, instance_problems
    from verdeelmodel.workflows import resolve_plan

    root = _default_instance().parent
    paths = [Path(p) for p in instances] if instances else [root / "westfriesland-2021", root / "nijmegen-2018"]
    print(f"benchmark contract out of sample: {reps} replications per size, {fresh:,} fresh scenarios; load {_loadavg()}")
    for path in paths:
        inst = load_instance(path)
        planned, alloc = resolve_plan(inst, "allocation")
        t0 = time.perf_counter()
        judge = {p.region: p for p in instance_problems(inst, planned, fresh, 999_999, alloc.substitutions)}
        print(f"{inst.name}: fresh sample drawn in {time.perf_counter() - t0:.1f} s")
        rows: dict[tuple[float, int], dict[str, list]] = {}
        for S in sizes:
            for rep in range(1, reps + 1):
                for pr in instance_problems(inst, planned, S, rep, alloc.substitutions):
                    ch = Chooser(pr.options, pr.other, 0.9)
                    for kappa in kappas:
                        c = ch.solve(kappa)
                        picked = [(o.lot, o.area, o.label) for o in c.chosen]
                        f = evaluate(picked, judge[pr.region], 0.9, kappa=kappa)
                        r = rows.setdefault((kappa, S), {"in": [], "out": [], "se": [], "choice": []})
                        r["in"].append(c.objective)
                        r["out"].append(f["objective_eur"])
                        r["se"].append(f["objective_se_eur"])
                        r["choice"].append(tuple(sorted(picked)))
        for kappa in kappas:
            print(f"  cost of capital {kappa}: objective = expected payments + {kappa} x reserves (CVaR 90% - mean)")
            print("    scenarios | in-sample objective | fresh objective (its se) | gap (fresh - in) +- se | distinct choices")
            for S in sizes:
                r = rows[(kappa, S)]
                gaps = [o - i for o, i in zip(r["out"], r["in"])]
                se = statistics.stdev(gaps) / len(gaps) ** 0.5 if len(gaps) > 1 else float("nan")
                print(
                    f"    {S:>9,} | {statistics.mean(r['in']):>19,.0f} | {statistics.mean(r['out']):>15,.0f} "
                    f"({statistics.mean(r['se']):,.0f}) | {statistics.mean(gaps):>12,.0f} +- {se:,.0f} | "
                    f"{len(set(r['choice']))} of {len(r['choice'])}"
                )
    print(f"peak memory {_peak_mb():.0f} MB; load {_loadavg()}")
    return 0


def _scale_point(areas: int, repeat: int, seed: int = 20261130, workers: int = 0) -> dict:
    """One size of the scale benchmark, in this process: nl-synthetic split into about ``areas``
    sub-areas per gemeente, solved ``repeat`` times from scratch (a new model each time); one
    HiGHS model (``workers`` 0) or block by block in that many threads
    (solvers.highs.BlockSession: built once, each independent block its own HiGHS model, in threads)."""
    import os

    from verdeelmodel.api import SolveOptions
    from verdeelmodel.scale import split_areas

    inst = split_areas(load_instance(_default_instance()), areas, seed=seed)
    model = AllocationModel(inst)  # warm-up: first-use imports are not the model's cost; the national LP's size
    rows_cols, nnz = model.lp.shape, int(model.lp.A.nnz)
    runs = []
    for _ in range(max(1, repeat)):
        del model
        model = None
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        model = AllocationModel(inst, SolveOptions(workers=workers or None), blocks=bool(workers))
        res = model.solve()
        runs.append(
            {
                "wall": time.perf_counter() - w0,
                "cpu": time.process_time() - c0,  # the block threads' too
                "build": res.timings["build_seconds"],
                "translate": res.timings["translate_seconds"],
                "highs": res.timings["highs_seconds"],
                "status": res.status,
            }
        )
    rows, cols = rows_cols
    return {
        "areas": areas,
        "populations": len(inst.populations),
        "rows": rows,
        "cols": cols,
        "nnz": nnz,
        "runs": runs,
        "peak_mb": _peak_mb(),
        "load": _loadavg(),
        "workers": f"blocks/{workers}" if workers else "1 model",
        "objective": {k: float(v) for k, v in res.objective.items()},
        "pid": os.getpid(),
    }


def run_scale_benchmark(areas: list[int] | None = None, repeat: int = 3) -> int:
    """The allocation at buurt level (issue 15): nl-synthetic with every population split into
    sub-areas, about N per gemeente, each size in a fresh process (its own peak memory). Prints per
    size the LP, build/translate/HiGHS and whole-solve wall and CPU (medians with ranges over
    ``repeat`` solves), the ratio to HiGHS, peak memory, the machine load and the worker count."""
    import json
    import os
    import subprocess

    areas = areas or [2, 4, 8, 16]
    print(f"scale benchmark: nl-synthetic, populations split into sub-areas (about N per gemeente), {repeat} solve(s) per size")
    print(f"machine: {os.cpu_count()} CPUs, load {_loadavg()} at the start")
    hdr = (
        f"{'areas/gem':>9} {'pops':>6} {'LP rows x cols':>17} {'nnz':>8} {'build':>6} {'transl':>6} {'HiGHS':>7} "
        f"{'wall':>16} {'CPU':>16} {'CPU/HiGHS':>9} {'peak MB':>8} {'load':>15} {'workers':>9}"
    )
    print(hdr)
    med = statistics.median
    for n, w in [(n, w) for n in areas for w in (0, 1, 2)]:
        code = (
            "import json, verdeelmodel.benchmark as b\n"
            f"if __name__ == '__main__':\n    print(json.dumps(b._scale_point({int(n)}, {int(repeat)}, workers={w})))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        p = json.loads(out)
        r = p["runs"]
        wall, cpu, hi = [x["wall"] for x in r], [x["cpu"] for x in r], [x["highs"] for x in r]
        ratio = [x["cpu"] / x["highs"] for x in r]
        print(
            f"{n:>9} {p['populations']:>6} {p['rows']:>8} x {p['cols']:<7} {p['nnz']:>8} {med([x['build'] for x in r]):>6.2f} "
            f"{med([x['translate'] for x in r]):>6.2f} {med(hi):>7.2f} {med(wall):>6.2f} ({min(wall):.1f}-{max(wall):.1f}) "
            f"{med(cpu):>6.2f} ({min(cpu):.1f}-{max(cpu):.1f}) {med(ratio):>9.2f} {p['peak_mb']:>8.0f} {p['load']:>15} {p['workers']:>9}"
        )
    return 0


def _executor_point(backend: str, workers: int, scenarios: int, repeat: int) -> dict:
    """Reserves on nl-synthetic (the agreed and the profijt rule sets, the allocation as plan) with
    one executor, in this process: wall, CPU here and in the workers, peak memory here and of a worker."""
    from verdeelmodel.executors import DaskCluster, Processes, Serial
    from verdeelmodel.models.reserves import run_reserves
    from verdeelmodel.workflows import planned_cost

    inst = load_instance(_default_instance())
    from verdeelmodel.api import solve

    planned = planned_cost(inst, solve(inst))
    w0 = time.perf_counter()
    ex = {"serial": lambda: Serial(), "processes": lambda: Processes(workers), "dask": lambda: DaskCluster(workers=workers)}[backend]()
    if backend == "processes":  # the forkserver and its imports, as the command line starts them while it solves
        from verdeelmodel.executors import warm_up

        warm_up(wait=True)
    start = time.perf_counter() - w0
    runs = []
    try:
        for _ in range(max(1, repeat)):
            gc.collect()
            w0, c0, k0 = time.perf_counter(), time.process_time(), ex.worker_cpu_seconds
            run = run_reserves(inst, planned, scenarios, seed=1, executor=ex)
            runs.append({"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0 + ex.worker_cpu_seconds - k0})
            checksum = float(sum(float(t.sum()) for t in run.tekort.values()))
            del run
    finally:
        ex.close()
    return {
        "backend": backend,
        "workers": ex.workers,
        "gemeenten": len(inst.gemeenten),
        "start": start,
        "runs": runs,
        "peak_mb": _peak_mb(),
        "worker_peak_mb": ex.worker_peak_mb,
        "load": _loadavg(),
        "checksum": checksum,
    }


def run_executor_benchmark(scenarios: int = 10_000, repeat: int = 3, backends: list[str] | None = None, workers: int = 2) -> int:
    """Reserves on nl-synthetic with each executor backend (issue 15): serial, local processes and a
    Dask LocalCluster, each in a fresh process. Per backend: wall and CPU (this process and the
    workers; medians with ranges), the speed-up against serial, the cluster's start, peak memory
    here and of one worker, the load, and a checksum of the tekort samples (the same on every backend)."""
    import json
    import os
    import subprocess

    backends = backends or ["serial", "processes", "dask"]
    print(
        f"executor benchmark: reserves on nl-synthetic, {scenarios:,} scenarios, {repeat} run(s) per backend, "
        f"{workers} workers; {os.cpu_count()} CPUs, load {_loadavg()} at the start"
    )
    print(
        f"{'backend':>10} {'workers':>7} {'start s':>7} {'wall s':>18} {'CPU s':>18} {'speed-up':>8} "
        f"{'peak MB':>8} {'worker MB':>9} {'load':>15} {'checksum':>20}"
    )
    med = statistics.median
    serial_wall = None
    for backend in backends:
        w = 1 if backend == "serial" else workers
        code = (
            "import json, verdeelmodel.benchmark as b\n"
            f"if __name__ == '__main__':\n    print(json.dumps(b._executor_point({backend!r}, {w}, {int(scenarios)}, {int(repeat)})))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        p = json.loads(proc.stdout.strip().splitlines()[-1])
        wall, cpu = [r["wall"] for r in p["runs"]], [r["cpu"] for r in p["runs"]]
        if backend == "serial":
            serial_wall = med(wall)
        speed = f"{serial_wall / med(wall):.2f}x" if serial_wall else "-"
        print(
            f"{backend:>10} {p['workers']:>7} {p['start']:>7.1f} {med(wall):>7.2f} ({min(wall):.1f}-{max(wall):.1f}) "
            f"{med(cpu):>7.2f} ({min(cpu):.1f}-{max(cpu):.1f}) {speed:>8} {p['peak_mb']:>8.0f} {p['worker_peak_mb']:>9.0f} "
            f"{p['load']:>15} {p['checksum']:>20.6e}"
        )
    return 0
