"""Parametric runs: re-solve one loaded model over a grid of parameters, never rebuilding it.

A point is a dict of parameters in the vocabulary of :mod:`verdeelmodel.parameters`
(``demand:``, ``tariff:``, ``budget:``, ``limit:``, ``goal:``, ``w_own:``); on the command line
``verdeelmodel sweep --param NAME=START:STOP:POINTS`` (or ``NAME=V1,V2,...``), repeated for a
full grid. Each point is the instance changed by the point's parameters
(``AllocationModel.set(point, from_base=True)``), solved warm from the previous point;
``tests/test_sweep.py`` checks points against models rebuilt from the changed instance.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd

from verdeelmodel.api import AllocationModel, SolveOptions
from verdeelmodel.instance.problems import InstanceError, Problem
from verdeelmodel.instance.validate import Instance
from verdeelmodel.parameters import parse


class Sweep:
    """A loaded model and the loop over points."""

    def __init__(self, inst: Instance, options: SolveOptions | None = None):
        self.inst = inst
        self.am = AllocationModel(inst, options)

    def apply(self, params: dict[str, float]) -> None:
        """Set the model to the base instance changed by ``params``."""
        self.am.set(params, from_base=True)

    def solve_point(self) -> dict:
        """Solve the current point: status, stage objectives and totals (no result tables)."""
        t0 = time.perf_counter()
        res = self.am.solve(tables=False)
        row = {"status": res.status, "highs_seconds": res.timings["highs_seconds"]}
        for stage, v in res.objective.items():
            row[f"objective_{stage}"] = v
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


def grid_from_specs(specs: list[str]) -> list[dict[str, float]]:
    """``NAME=START:STOP:POINTS`` or ``NAME=V1,V2,...`` per parameter; the full factorial grid."""
    axes = []
    for spec in specs:
        name, eq, values = spec.partition("=")
        if not eq or not name:
            raise _bad(spec, "NAME=START:STOP:POINTS or NAME=V1,V2,...")
        try:
            if ":" in values:
                a, b, n = values.split(":")
                vals = np.linspace(float(a), float(b), int(n)).tolist()
            else:
                vals = [float(v) for v in values.split(",")]
        except ValueError:
            raise _bad(spec, "numbers: START:STOP:POINTS (e.g. 0.8:1.2:5) or V1,V2,...") from None
        if not vals:
            raise _bad(spec, "at least one value")
        for v in vals:
            try:
                parse(name, v)
            except InstanceError as e:
                raise _bad(f"{name}={v:g}", e.problems[0].expected) from None
        axes.append([(name, v) for v in vals])
    return [dict(p) for p in itertools.product(*axes)]


def _bad(value: str, expected: str) -> InstanceError:
    return InstanceError([Problem("--param", None, None, value, expected)])
