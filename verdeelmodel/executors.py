"""Where independent work runs: one interface, three backends.

The long computations split into independent tasks that depend only on their own inputs and
seed: reserve scenarios in chunks (chunk c draws from the stream (seed, c)), fairness games,
demand paths over the horizon, joint sizing LPs per region group, allocation blocks. Each task
is ``fn(context, task)``: ``context`` is what every task shares (the demand model, the plan, the
rules), sent to each worker once; ``task`` is small (a chunk number and size, a game).

- :class:`Serial` runs the tasks one after another in this process.
- :class:`Processes` (the default for large work) runs them in local worker processes
  (``forkserver``: a worker never inherits this process's solver threads).
- :class:`DaskCluster` runs them on a Dask distributed cluster: a scheduler at an address
  (``tcp://host:8786``, what an analytics team already runs, also on Kubernetes, YARN or HPC),
  or a LocalCluster of ``workers`` processes on this machine. Needs ``pip install
  verdeelmodel[dask]``.

Results never depend on the backend or the number of workers: a task's result depends only on
``(context, task)``, and the caller places each result by the task's position, whatever order
they finish in (tested: tests/test_executor.py).

Choosing: :func:`executor` from the command line's ``--scheduler``/``--workers``;
``executor.for_work(seconds)`` keeps small work in this process (starting workers costs about a
second) unless a cluster was asked for explicitly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

#: Starting local worker processes costs about a second (forkserver, imports, the context sent);
#: work estimated below this many seconds stays in this process.
PROCESSES_PAY_ABOVE_SECONDS = 2.0

#: How long a Dask scheduler at an address is waited for before the run stops (a usage error).
DASK_CONNECT_SECONDS = 30

_CONTEXT: Any = None  # a worker process's shared context (set once per worker by _init)


def _init(context: Any) -> None:
    global _CONTEXT
    _CONTEXT = context


def _timed(fn: Callable, context: Any, task: Any) -> tuple[Any, float, float]:
    """(result, CPU seconds, the worker's peak memory in MB so far)."""
    import resource

    c0 = time.process_time()
    out = fn(context, task)
    return out, time.process_time() - c0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_worker(fn: Callable, task: Any) -> tuple[Any, float, float]:
    return _timed(fn, _CONTEXT, task)


class Executor:
    """Runs ``fn(context, task)`` for every task. ``worker_cpu_seconds``: CPU time of the tasks
    that ran in other processes (summed over runs); with this process's own CPU time it gives a
    benchmark's CPU beside its wall time."""

    name = "serial"
    explicit = False  # asked for by name (a cluster): used even for small work

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self.worker_cpu_seconds = 0.0
        self.worker_peak_mb = 0.0  # the largest peak memory of a worker process (benchmarks)

    def run(
        self,
        fn: Callable[[Any, Any], Any],
        tasks: Iterable[Any],
        context: Any = None,
        on_result: Callable[[int, Any], None] | None = None,
        weights: list[float] | None = None,
    ) -> None:
        """``on_result(i, result)`` for task i, in the order they finish (place by i).
        ``weights``: relative sizes; the largest tasks are started first."""
        raise NotImplementedError

    def map(self, fn: Callable[[Any, Any], Any], tasks: Iterable[Any], context: Any = None, progress=None, weights=None) -> list:
        """The results in task order; ``progress(done, total)`` as tasks finish."""
        tasks = list(tasks)
        out: list = [None] * len(tasks)
        done = 0

        def put(i: int, r: Any) -> None:
            nonlocal done
            out[i] = r
            done += 1
            if progress is not None:
                progress(done, len(tasks))

        self.run(fn, tasks, context, put, weights)
        return out

    def for_work(self, seconds: float) -> Executor:
        """This executor, or :class:`Serial` when local processes would cost more than they save."""
        if self.explicit or self.workers == 1 or seconds >= PROCESSES_PAY_ABOVE_SECONDS:
            return self
        return Serial()

    def workers_for(self, tasks: int) -> int:
        """How many workers run ``tasks`` tasks at once (1: this process)."""
        return 1 if self.workers == 1 else min(self.workers, tasks)

    def describe(self) -> str:
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _order(n: int, weights: list[float] | None) -> list[int]:
    if weights is None:
        return list(range(n))
    return sorted(range(n), key=lambda i: -weights[i])


class Serial(Executor):
    name = "serial"

    def __init__(self, workers: int = 1):
        super().__init__(1)

    def run(self, fn, tasks, context=None, on_result=None, weights=None) -> None:
        for i, task in enumerate(tasks):
            r = fn(context, task)
            if on_result is not None:
                on_result(i, r)


#: What the forkserver imports before it forks a worker: the modules whose functions run there
#: (imported once in the server, not in every worker).
PRELOAD = [
    "verdeelmodel.executors",
    "verdeelmodel.models.reserves",
    "verdeelmodel.models.fairness",
    "verdeelmodel.models.horizon",
    "verdeelmodel.models.joint",
    "verdeelmodel.workflows",
    "verdeelmodel.solvers.highs",
]


def _forkserver():
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")  # workers never inherit HiGHS threads of this process
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def warm_up(wait: bool = False) -> None:
    """Start the forkserver (and its imports, about a second) now, so that the first pool forks
    its workers at once: in the background (the command line, while it loads and solves), or
    before returning when ``wait`` (a benchmark timing the start on its own)."""
    import threading
    from multiprocessing import forkserver

    _forkserver()
    if wait:
        forkserver.ensure_running()
    else:
        threading.Thread(target=forkserver.ensure_running, name="verdeelmodel-forkserver", daemon=True).start()


class Processes(Executor):
    """Local worker processes; the context is sent to each worker once (its initializer)."""

    name = "processes"

    def __init__(self, workers: int | None = None):
        super().__init__(workers or os.cpu_count() or 1)

    def run(self, fn, tasks, context=None, on_result=None, weights=None) -> None:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        tasks = list(tasks)
        if not tasks:
            return
        if self.workers == 1 or len(tasks) == 1:
            return Serial.run(self, fn, tasks, context, on_result, weights)
        ctx = _forkserver()
        n = min(self.workers, len(tasks))
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init, initargs=(context,)) as ex:
            # at most 2 tasks per worker in flight: results are handed on (and freed) as they come
            order = iter(_order(len(tasks), weights))
            pending: dict = {}

            def submit() -> bool:
                i = next(order, None)
                if i is None:
                    return False
                pending[ex.submit(_in_worker, fn, tasks[i])] = i
                return True

            for _ in range(2 * n):
                if not submit():
                    break
            while pending:
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for f in finished:
                    i = pending.pop(f)
                    r, cpu, peak = f.result()
                    self.worker_cpu_seconds += cpu
                    self.worker_peak_mb = max(self.worker_peak_mb, peak)
                    if on_result is not None:
                        on_result(i, r)
                    submit()


class DaskCluster(Executor):
    """A Dask distributed cluster: at ``address`` (a running scheduler), or a LocalCluster of
    ``workers`` single-threaded worker processes started here (and stopped by :meth:`close`)."""

    name = "dask"
    explicit = True

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as e:  # the optional extra
            raise RuntimeError("the Dask backend needs dask.distributed: pip install 'verdeelmodel[dask]'") from e
        import logging

        self.address = address
        self._cluster = None
        if address is None:
            self._cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never a clash with a dashboard already running
                silence_logs=logging.ERROR,
            )
            self.client = Client(self._cluster)
        else:
            self.client = Client(address, timeout=DASK_CONNECT_SECONDS)
        super().__init__(max(1, len(self.client.scheduler_info().get("workers", {})) or (workers or 1)))

    def run(self, fn, tasks, context=None, on_result=None, weights=None) -> None:
        from dask.distributed import as_completed

        tasks = list(tasks)
        if not tasks:
            return
        shared = self.client.scatter(context, broadcast=True, hash=False)
        order = _order(len(tasks), weights)
        futures = {}
        for rank, i in enumerate(order):
            fut = self.client.submit(_timed, fn, shared, tasks[i], pure=False, priority=-rank)
            futures[fut] = i
        for fut in as_completed(list(futures)):
            r, cpu, peak = fut.result()
            self.worker_cpu_seconds += cpu
            self.worker_peak_mb = max(self.worker_peak_mb, peak)
            if on_result is not None:
                on_result(futures[fut], r)
            fut.release()

    def describe(self) -> str:
        where = self.address or "LocalCluster"
        return f"dask {where} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def executor(scheduler: str | None = None, workers: int | None = None) -> Executor:
    """The executor the command line asks for. ``scheduler``: None or "processes" (local worker
    processes, ``workers`` of them, default the CPUs), "serial", "dask" (a LocalCluster of
    ``workers``) or a Dask scheduler address ``tcp://host:port``."""
    if scheduler in (None, "processes"):
        return Serial() if workers == 1 else Processes(workers)
    if scheduler == "serial":
        return Serial()
    if scheduler == "dask":
        return DaskCluster(None, workers)
    if "://" in scheduler:
        return DaskCluster(scheduler, workers)
    raise ValueError(f"unknown scheduler {scheduler!r}: expected serial, processes, dask or tcp://host:port")


def as_executor(x: Executor | int | None) -> Executor:
    """An executor from what an API caller gave: an Executor as is, a number of local worker
    processes (1: serial), or None for the default (local processes, when the work pays)."""
    if isinstance(x, Executor):
        return x
    return executor(None, x)
