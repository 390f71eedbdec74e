"""One executor interface, three backends (verdeelmodel/executors.py, issue 15): serial, local
worker processes and a Dask distributed cluster (here a LocalCluster on this machine). Whatever
runs the tasks, the results are the same, byte for byte: reserves, the games, demand paths and the
allocation's blocks."""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import INSTANCES, run_main, snapshot

from verdeelmodel import executors as E
from verdeelmodel.api import AllocationModel, SolveOptions
from verdeelmodel.instance.validate import load_instance
from verdeelmodel.models.reserves import run_reserves
from verdeelmodel.workflows import planned_cost

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def dask():
    ex = E.DaskCluster(workers=2)
    yield ex
    ex.close()


@pytest.fixture
def always_parallel(monkeypatch):
    monkeypatch.setattr(E, "PROCESSES_PAY_ABOVE_SECONDS", 0.0)


def _square_plus(context, task):
    return context + task * task, os.getpid()


def test_every_backend_returns_the_results_in_task_order(dask, always_parallel):
    tasks = list(range(23))
    want = [100 + t * t for t in tasks]
    for ex in (E.Serial(), E.Processes(2), dask):
        got = ex.map(_square_plus, tasks, context=100, weights=[t % 5 for t in tasks])
        assert [r for r, _pid in got] == want, ex.describe()
    procs = E.Processes(2).map(_square_plus, tasks, context=100)
    assert {pid for _r, pid in procs} - {os.getpid()}, "the tasks ran in worker processes"


def test_progress_counts_every_task_once(always_parallel):
    seen = []
    E.Processes(2).map(_square_plus, range(7), context=0, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 7) for k in range(1, 8)]


def test_small_work_stays_in_this_process_unless_a_cluster_was_asked_for(dask):
    assert isinstance(E.Processes(2).for_work(0.1), E.Serial)
    assert isinstance(E.Processes(2).for_work(60.0), E.Processes)
    assert isinstance(E.Processes(1).for_work(60.0), E.Processes)  # one worker: run here (its run is serial)
    assert dask.for_work(0.1) is dask
    assert isinstance(E.as_executor(1), E.Serial) and isinstance(E.as_executor(None), E.Processes)
    with pytest.raises(ValueError, match="unknown scheduler"):
        E.executor("yarn")


def test_worker_cpu_time_is_counted(always_parallel):
    ex = E.Processes(2)
    ex.map(_burn, range(4))
    assert ex.worker_cpu_seconds > 0.05


def _burn(_context, task):
    x = np.random.default_rng(task).random(200_000)
    for _ in range(100):
        x = np.sqrt(x + 1.0)
    return float(x.sum())


# --------------------------------------------------------------------------- the computations


@pytest.fixture(scope="module")
def westfriesland():
    from verdeelmodel.api import solve

    inst = load_instance(INSTANCES / "westfriesland-2021")
    return inst, planned_cost(inst, solve(inst))


def _same_run(a, b) -> bool:
    return (
        all(np.array_equal(a.overspend[k], b.overspend[k]) and np.array_equal(a.tekort[k], b.tekort[k]) for k in a.overspend)
        and a.overspend.keys() == b.overspend.keys()
        and ((a.other is None and b.other is None) or np.array_equal(a.other, b.other))
        and a.scenarios == b.scenarios
    )


def test_reserves_are_the_same_on_every_backend(westfriesland, dask, always_parallel):
    inst, planned = westfriesland
    runs = [run_reserves(inst, planned, 2500, seed=5, chunk=400, executor=ex) for ex in (E.Serial(), E.Processes(2), dask)]
    assert runs[0].scenarios == 2500
    assert _same_run(runs[0], runs[1]) and _same_run(runs[0], runs[2])


def test_reserves_to_a_standard_error_are_the_same_on_every_backend(westfriesland, dask, always_parallel):
    inst, planned = westfriesland
    kw = dict(chunk=300, target_se=0.02, target_relative=True, max_scenarios=4000)
    serial = run_reserves(inst, planned, 700, seed=9, executor=E.Serial(), **kw)
    for ex in (E.Processes(2), dask):
        assert _same_run(serial, run_reserves(inst, planned, 700, seed=9, executor=ex, **kw))
    # the doubling goes on from where it stopped: the chunks are numbered on (no chunk drawn twice)
    assert serial.scenarios > 700
    fixed = run_reserves(inst, planned, serial.scenarios, seed=9, chunk=300, executor=E.Serial())
    assert _same_run(serial, fixed) or serial.scenarios % 300 != 0


def test_the_allocation_blocks_are_the_same_on_dask(dask):
    inst = load_instance(INSTANCES / "nl-synthetic")
    here = AllocationModel(inst, blocks=True).solve()
    there = AllocationModel(inst, SolveOptions(executor=dask), blocks=True).solve()
    assert there.status == here.status == "optimal"
    assert there.objective == here.objective
    assert there.allocation.equals(here.allocation) and there.budgets.equals(here.budgets)
    assert there.binding.equals(here.binding)


def test_an_infeasible_block_is_explained_the_same_on_dask(tmp_path, dask):
    from helpers import base_tables, write_instance

    t = base_tables()  # region S's minimum on lot spec cannot be met from gemeente B's budget (tests/test_blocks.py)
    t["gemeenten"].append({"gemeente": "B", "inhabitants": 500, "available_reserve_eur": 0, "source": "test"})
    t["budgets"].append({"gemeente": "B", "domain": "jeugd", "region": "S", "budget_eur": 40, "own_funds_eur": 0, "source": "test"})
    t["populations"].append({"gemeente": "B", "population": "jeugd", "kind": "target_group", "inhabitants": 50, "source": "test"})
    t["need"].append({"gemeente": "B", "population": "jeugd", "lot": "spec", "volume": 3, "source": "test"})
    t["ceilings"] = [{"lot": "spec", "region": "S", "gemeente": "", "ceiling_eur": None, "minimum_eur": 1000, "source": "test"}]
    inst = load_instance(write_instance(tmp_path / "i", t))
    here = AllocationModel(inst, blocks=True).solve()
    there = AllocationModel(inst, SolveOptions(executor=dask), blocks=True).solve()
    assert there.status == here.status == "infeasible"
    assert there.explanation == here.explanation


@pytest.mark.slow
def test_cli_outputs_are_the_same_bytes_serial_processes_and_dask(tmp_path, capsys):
    inst = str(INSTANCES / "westfriesland-2021")
    outs = {}
    for name, args in {
        "serial": ["--scheduler", "serial"],
        "processes": ["--workers", "2"],
        "dask": ["--scheduler", "dask", "--workers", "2"],
    }.items():
        out = tmp_path / name
        rc, _o, err = run_main(["reserves", inst, "--scenarios", "3000", "--no-plots", "--quiet", "--out", str(out), *args], capsys)
        assert rc == 0, err
        outs[name] = out
    for name in ("processes", "dask"):
        assert snapshot(outs[name]) == snapshot(outs["serial"]), name


def test_cli_refuses_an_unknown_scheduler(capsys):
    rc, _o, err = run_main(["reserves", str(INSTANCES / "westfriesland-2021"), "--scheduler", "yarn"], capsys)
    assert rc == 2 and "tcp://host:8786" in err


def test_a_sweep_is_the_same_on_every_backend(dask, always_parallel):
    from verdeelmodel.workflows import sweep

    inst = load_instance(INSTANCES / "westfriesland-2021")
    grid = [{"demand:*": m} for m in np.linspace(0.8, 1.3, 11)]
    timings = ["wall_seconds", "highs_seconds"]
    tables = [sweep(inst, grid, executor=ex).table.drop(columns=timings) for ex in (E.Serial(), E.Processes(2), dask)]
    assert len(tables[0]) == len(grid) and {"optimal", "infeasible"} == set(tables[0]["status"])  # 0.8: below the minimums
    assert tables[0]["demand:*"].tolist() == [p["demand:*"] for p in grid]
    assert tables[1].equals(tables[0]) and tables[2].equals(tables[0])


def test_vm_executor_is_the_function_even_after_the_module_is_imported():
    import verdeelmodel as vm
    import verdeelmodel.executors  # noqa: F401

    ex = vm.executor("processes", workers=2)
    assert isinstance(ex, E.Processes) and ex.workers == 2


def test_cli_says_when_the_dask_scheduler_cannot_be_reached(capsys, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(E, "DASK_CONNECT_SECONDS", 1)
    rc, _o, err = run_main(
        ["reserves", str(INSTANCES / "westfriesland-2021"), "--scenarios", "200", "--scheduler", f"tcp://127.0.0.1:{port}", "--no-plots"],
        capsys,
    )
    assert rc == 2, err
    assert f"tcp://127.0.0.1:{port}" in err and "Dask" in err
