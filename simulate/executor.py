"""One executor interface for independent work: trials, parameter points, initial conditions.

Local processes by default; a dask.distributed cluster when a scheduler address is given
(``"tcp://host:port"``) or ``scheduler="local"`` (a ``LocalCluster`` started and stopped here).

Reproducibility: seeds are derived per *task index* from one root seed with
:class:`numpy.random.SeedSequence`, never per worker, so the same root seed gives the same
results however many workers run the tasks, and results come back in task order.

Examples
--------
>>> from simulate.executor import map_tasks, spawn_seeds
>>> seeds = spawn_seeds(0, 3)
>>> map_tasks(abs, [-1, -2, 3], workers=1, progress=False)
[1, 2, 3]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .validation import ParameterError

__all__ = ["map_tasks", "spawn_seeds", "default_workers"]


def spawn_seeds(seed: int | None, n: int) -> list[int]:
    """Derive ``n`` independent 63-bit integer seeds from one root ``seed``.

    Task ``i`` always receives the same seed for the same root, whatever the number of workers.
    """
    ss = np.random.SeedSequence(seed)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in ss.spawn(n)]


def default_workers() -> int:
    """Number of local worker processes: the ``SNNREDUCE_WORKERS`` variable or the CPU count."""
    env = os.environ.get("SNNREDUCE_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, os.cpu_count() or 1)


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


def map_tasks(
    fn: Callable,
    tasks: Sequence,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    desc: str | None = None,
    on_result: Callable[[int, object], None] | None = None,
) -> list:
    """Apply ``fn`` to every task and return the results in task order.

    Parameters
    ----------
    fn : callable
        A picklable (module-level) function of one argument.
    tasks : sequence
        The arguments, one per task; put each task's seed inside it (see :func:`spawn_seeds`).
    workers : int, optional
        Local processes (default :func:`default_workers`); ``1`` runs in this process.
    scheduler : str, optional
        ``"tcp://host:port"`` of a running dask.distributed scheduler, or ``"local"`` to start a
        local dask cluster with ``workers`` processes for this call.
    progress : bool
        Show a progress bar (stderr).
    desc : str, optional
        Label of the progress bar.
    on_result : callable, optional
        ``on_result(i, result)`` is called in this process as soon as task ``i`` has finished
        (in completion order), e.g. to save each result before the others are done.

    Returns
    -------
    list
        ``[fn(t) for t in tasks]``, computed in parallel.
    """
    tasks = list(tasks)
    n = len(tasks)
    if n == 0:
        return []
    if scheduler is not None:
        return _map_dask(fn, tasks, scheduler, workers, progress, desc, on_result)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ParameterError(f"workers = {workers} is outside the valid range [1, inf)")
    results: list = [None] * n
    if workers == 1 or n == 1:
        for i, t in enumerate(_progress(tasks, n, desc, progress)):
            results[i] = fn(t)
            if on_result is not None:
                on_result(i, results[i])
        return results
    with ProcessPoolExecutor(max_workers=min(workers, n)) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        from concurrent.futures import as_completed

        for fut in _progress(as_completed(futures), n, desc, progress):
            i = futures[fut]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, results[i])
    return results


def _map_dask(fn, tasks, scheduler, workers, progress, desc, on_result=None):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ParameterError("scheduler given but dask.distributed is not installed") from exc
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    elif isinstance(scheduler, str) and scheduler.startswith(("tcp://", "tls://", "inproc://")):
        client = Client(scheduler)
    else:
        raise ParameterError(
            f"scheduler = {scheduler!r} is not a scheduler address; "
            "give 'tcp://host:port' or 'local'"
        )
    try:
        futures = client.map(fn, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(tasks)
        for fut in _progress(as_completed(futures), len(tasks), desc, progress):
            i = index[fut.key]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, results[i])
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
