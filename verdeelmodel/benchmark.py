"""``verdeelmodel benchmark``: where the time of a solve goes, on the national instance.

Prints, per repetition, the time to load and validate the instance, build the Pyomo
model, translate it (compile to matrix form and load into HiGHS), HiGHS's own time over
all lexicographic stages, and extracting the result tables; then the same for a re-solve
of the already loaded model (the sweep path: no rebuild), and the ratios to HiGHS's time.
Timings are measured here, not in the test suite.
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
        from verdeelmodel.cli import UsageError

        raise UsageError(f"no bundled nl-synthetic instance at {p}; pass an instance path")
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
        t0 = time.perf_counter()
        model = AllocationModel(inst)
        res = model.solve()
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        res2 = model.solve()
        rewall = time.perf_counter() - t1
        rows.append((res.timings, wall, res2.timings, rewall))
    n_rows, n_cols = model.lp.shape
    print(f"benchmark {inst.name}: {len(inst.gemeenten)} gemeenten, {inst.budgets['region'].nunique()} regions, "
          f"{len(inst.need)} need rows; LP {n_rows} rows x {n_cols} columns, {model.lp.A.nnz} nonzeros, "
          f"{len(model.model.objective_order)} stages; status {res.status}")
    print(f"load + validate: {load_s:.3f} s")
    hdr = f"{'run':>4} {'build':>8} {'translate':>10} {'HiGHS':>8} {'extract':>8} {'total':>8} {'total/HiGHS':>12} {'w/o build':>10} | {'re-solve':>9} {'HiGHS':>8} {'ratio':>6}"
    print(hdr)
    for i, (t, wall, t2, rewall) in enumerate(rows, 1):
        print(f"{i:>4} {t['build_seconds']:>8.3f} {t['translate_seconds']:>10.3f} {t['highs_seconds']:>8.3f} {t['extract_seconds']:>8.3f} "
              f"{wall:>8.3f} {wall / t['highs_seconds']:>12.2f} {(wall - t['build_seconds']) / t['highs_seconds']:>10.2f} | {rewall:>9.3f} {t2['highs_seconds']:>8.3f} {rewall / t2['highs_seconds']:>6.2f}")
    med = lambda xs: statistics.median(xs)  # noqa: E731
    wall_m = med([r[1] for r in rows])
    highs_m = med([r[0]["highs_seconds"] for r in rows])
    re_m = med([r[3] for r in rows])
    rehighs_m = med([r[2]["highs_seconds"] for r in rows])
    nobuild_m = med([(r[1] - r[0]["build_seconds"]) / r[0]["highs_seconds"] for r in rows])
    print(f"median: first solve {wall_m:.3f} s wall = {wall_m / highs_m:.2f} x HiGHS ({highs_m:.3f} s), {nobuild_m:.2f} x without the Pyomo build; "
          f"re-solve {re_m:.3f} s wall = {re_m / rehighs_m:.2f} x HiGHS ({rehighs_m:.3f} s); peak memory {_peak_mb():.0f} MB")
    return 0
