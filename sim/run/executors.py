"""Where independent work runs: in this process, on a process pool, or on a Dask cluster.

Every parallel loop of the package (blocks of patients, PSA draws, sensitivity runs, trial replicates) is a
list of independent tasks whose results are wanted *in task order*. :func:`ordered_results` runs them on
the executor chosen and yields each result in order as soon as it and all earlier ones are done, keeping
only a bounded window of tasks in flight, so that a caller can stream results to files while memory stays
flat. Because every random number is keyed by the task's own ids (:mod:`sim.random`), the results do not
depend on where, in which order or on how many workers the tasks ran.

Executors accepted wherever the package takes an ``executor`` argument:

* ``None``: this process when ``workers == 1``, else a process pool of ``workers`` processes, created and
  shut down here;
* any :class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor`` of your own, a ``ThreadPoolExecutor``);
  it is used as given and left running;
* a ``dask.distributed.Client``: tasks are submitted to its cluster; data shared by every task is sent to
  the workers once (``Client.scatter``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any

from sim.run.pool import worker_pool

__all__ = [
    "ExecutorLike",
    "completed_results",
    "describe_executor",
    "executor_slots",
    "is_dask_client",
    "ordered_results",
]

#: What ``executor`` arguments accept (a ``dask.distributed.Client`` is duck-typed: it needs no import).
ExecutorLike = Any

_SHARED: dict[str, Any] = {}


def is_dask_client(executor: object) -> bool:
    """True for a ``dask.distributed.Client`` (recognised without importing Dask)."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "scatter")


def executor_slots(executor: ExecutorLike, workers: int) -> int:
    """How many tasks can run at once on ``executor`` (``workers`` when it is ``None``)."""
    if executor is None:
        return workers
    if is_dask_client(executor):
        return max(1, sum(executor.nthreads().values()))
    return max(1, getattr(executor, "_max_workers", workers))


def describe_executor(executor: ExecutorLike, workers: int) -> str:
    """A short description for messages: ``"1 process"``, ``"a pool of 4 processes"``, ``"Dask at ..."``."""
    if executor is None:
        return "1 process" if workers == 1 else f"a pool of {workers} processes"
    if is_dask_client(executor):
        return f"Dask scheduler {executor.scheduler.address} ({executor_slots(executor, workers)} threads)"
    return type(executor).__name__


def _init_shared(shared: Any) -> None:
    _SHARED["value"] = shared


def _call_with_pool_shared(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_SHARED["value"], task)


def ordered_results(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    shared: Any = None,
    *,
    executor: ExecutorLike = None,
    workers: int = 1,
    window: int | None = None,
) -> Iterator[Any]:
    """Yield ``fn(shared, task)`` for each task, in task order, computed on ``executor``.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to other processes) of ``(shared, task)``.
    tasks : sequence
        Independent tasks (picklable).
    shared : object
        Data every task needs (the scenario values, the life table, ...): sent to each worker process once
        where the executor allows it, not with every task.
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where to run (see the module docstring).
    workers : int
        Processes of the pool created when ``executor`` is None (1: run here, in order).
    window : int, optional
        Tasks in flight at most (default: four per worker slot). Finished results wait for earlier ones
        inside the window only, so memory is bounded whatever the number of tasks.
    """
    if executor is None and (workers <= 1 or len(tasks) <= 1):
        for task in tasks:
            yield fn(shared, task)
        return
    window = max(1, window or 4 * executor_slots(executor, workers))
    with contextlib.ExitStack() as stack:
        submit = _submitter(stack, fn, shared, executor, workers, len(tasks))
        yield from _windowed(submit, tasks, window)


def completed_results(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    shared: Any = None,
    *,
    executor: ExecutorLike = None,
    workers: int = 1,
    window: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(k, fn(shared, tasks[k]))`` as each task finishes (any order), for checkpoints that record
    every finished task at once. Arguments as :func:`ordered_results`."""
    if executor is None and (workers <= 1 or len(tasks) <= 1):
        for k, task in enumerate(tasks):
            yield k, fn(shared, task)
        return
    window = max(1, window or 4 * executor_slots(executor, workers))
    with contextlib.ExitStack() as stack:
        submit = _submitter(stack, fn, shared, executor, workers, len(tasks))
        wait = _dask_wait if is_dask_client(executor) else _futures_wait
        pending: dict[Any, int] = {}
        todo = iter(enumerate(tasks))
        try:
            for k, task in todo:
                pending[submit(task)] = k
                if len(pending) >= window:
                    break
            while pending:
                for future in wait(list(pending)):
                    k = pending.pop(future)
                    for j, task in todo:
                        pending[submit(task)] = j
                        break
                    yield k, future.result()
        finally:
            for future in pending:
                future.cancel()


def _futures_wait(futures: list) -> list:
    from concurrent.futures import FIRST_COMPLETED, wait

    return list(wait(futures, return_when=FIRST_COMPLETED).done)


def _dask_wait(futures: list) -> list:
    from distributed import wait

    return list(wait(futures, return_when="FIRST_COMPLETED").done)


def _submitter(stack: contextlib.ExitStack, fn, shared, executor, workers: int, n_tasks: int):
    """A function ``task -> future`` on ``executor`` (or on a process pool entered on ``stack``)."""
    if executor is None:
        # A pool whose workers are stopped at once on an error or Ctrl-C and never outlive this process.
        pool = stack.enter_context(
            worker_pool(max_workers=min(workers, n_tasks), initializer=_init_shared, initargs=(shared,))
        )
        return functools.partial(pool.submit, _call_with_pool_shared, fn)
    if is_dask_client(executor):
        shared_future = executor.scatter(shared, broadcast=True, hash=False)
        return functools.partial(_dask_submit, executor, fn, shared_future)
    if isinstance(executor, Executor):
        return functools.partial(executor.submit, fn, shared)
    raise TypeError(
        "executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
        f"got {type(executor).__name__}"
    )


def _dask_submit(client, fn, shared_future, task):
    return client.submit(fn, shared_future, task, pure=False)


def _windowed(submit: Callable[[Any], Any], tasks: Iterable[Any], window: int) -> Iterator[Any]:
    pending: collections.deque = collections.deque()
    it = iter(tasks)
    try:
        for task in it:
            pending.append(submit(task))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            for task in it:  # top the window up before handing the result over
                pending.append(submit(task))
                break
            yield result
    finally:
        for future in pending:  # an error or an abandoned iteration: drop the work not yet collected
            future.cancel()
