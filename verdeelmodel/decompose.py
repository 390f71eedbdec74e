"""The allocation solved per independent group of gemeenten (issue 15).

Gemeenten that share no region (in any domain), provider, regional plafond or pool are independent:
no row of the model links them, so the model is block-diagonal and each block can be solved on its
own. :func:`solve_by_groups` finds the groups (``models.joint.groups``), computes the reference
allocation once for the whole instance (the uitkeringsfactor is national), solves each group with its
part of the instance, in worker processes when the work is large enough to pay for them, and
assembles one :class:`Result` in a fixed group order, so the output does not depend on the number of
workers.

What changes against one national model: the lexicographic stage tolerances
(``tolerance_rel``/``tolerance_max_eur``) hold per group, not for the national sum; the stage
objectives add up to the national ones within those tolerances (tested).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from verdeelmodel._results import Result

#: below this many need rows in all, one process solves every group (starting workers costs more
#: than it saves; measured with ``verdeelmodel benchmark --scale``)
PARALLEL_MIN_NEED_ROWS = 20_000


def _solve_part(args) -> Result:
    from verdeelmodel.api import AllocationModel
    from verdeelmodel.models.joint import subset

    inst, gemeenten, reference, options = args
    c0 = time.process_time()
    ref = reference[reference["gemeente"].isin(set(gemeenten))].reset_index(drop=True)
    res = AllocationModel(subset(inst, gemeenten), options, reference=ref).solve()
    res.timings["cpu_seconds"] = time.process_time() - c0  # in whichever process solved it
    return res


def _solve_parts(args) -> list[Result]:
    inst, chunk, reference, options = args
    return [_solve_part((inst, gs, reference, options)) for gs in chunk]


def workers_for(inst, n_groups: int, processes: int | None) -> int:
    """How many worker processes: ``processes`` when given, else the CPUs when the instance is large
    enough (PARALLEL_MIN_NEED_ROWS), else 1."""
    if processes is not None:
        return max(1, min(processes, n_groups))
    if len(inst.need) < PARALLEL_MIN_NEED_ROWS:
        return 1
    return max(1, min(os.cpu_count() or 1, n_groups))


def solve_by_groups(inst, options=None, processes: int | None = None) -> Result:
    """The allocation of ``inst``, each independent group of gemeenten its own model (see the
    module docstring); one group: the ordinary solve."""
    from verdeelmodel.api import AllocationModel
    from verdeelmodel.models.joint import groups
    from verdeelmodel.models.reference import reference_allocation

    parts_of = groups(inst)
    if len(parts_of) <= 1:
        return AllocationModel(inst, options).solve()
    t0 = time.perf_counter()
    reference = reference_allocation(inst)
    n = workers_for(inst, len(parts_of), processes)
    if n == 1:
        parts = [_solve_part((inst, gs, reference, options)) for gs in parts_of]
    else:
        # the largest groups first, dealt round-robin: even work per worker; the order of the results is the groups' order
        order = sorted(range(len(parts_of)), key=lambda i: -len(parts_of[i]))
        chunks: list[list[int]] = [[] for _ in range(n)]
        for k, i in enumerate(order):
            chunks[k % n].append(i)
        ctx = mp.get_context("forkserver")  # workers never inherit HiGHS threads of this process
        ctx.set_forkserver_preload(["verdeelmodel.decompose"])
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as ex:
            results = list(ex.map(_solve_parts, [(inst, [parts_of[i] for i in c], reference, options) for c in chunks if c]))
        by_index = {i: r for c, res in zip([c for c in chunks if c], results) for i, r in zip(c, res)}
        parts = [by_index[i] for i in range(len(parts_of))]
    res = assemble(inst, parts, reference)
    res.timings["wall_seconds"] = time.perf_counter() - t0
    return res


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def assemble(inst, parts: list[Result], reference: pd.DataFrame) -> Result:
    """One Result of the parts, in their order: tables stacked, stage objectives, totals and
    timings added up; the first part without an allocation decides the status (and explains it)."""
    objective: dict[str, float] = {}
    totals: dict[str, float] = {}
    timings: dict[str, float] = {}
    notes: list[str] = []
    for p in parts:
        for k, v in p.objective.items():
            objective[k] = objective.get(k, 0.0) + v
        for k, v in p.totals.items():
            totals[k] = totals.get(k, 0.0) + v
        for k, v in p.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        notes += [n for n in p.notes if n not in notes]
    bad = next((p for p in parts if p.status != "optimal"), None)
    if bad is not None:
        empty = pd.DataFrame()
        return Result(inst.name, bad.status, objective, timings, empty, empty, empty, empty, empty, reference, bad.explanation, bad.message)
    return Result(
        inst.name,
        "optimal",
        objective,
        timings,
        _concat([p.allocation for p in parts]),
        _concat([p.substitutions for p in parts]),
        _concat([p.provider_budgets for p in parts]),
        _concat([p.budgets for p in parts]),
        _concat([p.constraints for p in parts]),
        _concat([p.reference for p in parts]),
        pooling=_concat([p.pooling for p in parts]),
        totals=totals,
        notes=notes,
    )
