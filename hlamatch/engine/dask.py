"""The Dask engine: ranges as tasks on a ``distributed`` cluster, workers checked to run the same code.
"""

from __future__ import annotations

import atexit
import os
from importlib import import_module
from typing import Any, Callable, Sequence

import numpy as np

from hlamatch.engine.setting import LOCAL_WORKERS, Progress, SchedulerError, _import_distributed

__all__ = ['close_clusters']

# ====================================================================== the Dask engine

#: Open Dask clients, by scheduler address (None: the local cluster or Dask's configured address).
_clients: dict[str | None, Any] = {}


def _dask_client(scheduler: str | None) -> Any:
    """The client of ``scheduler`` (None: Dask's configured address, else a local cluster), made on first use.

    Raises
    ------
    SchedulerError
        The scheduler cannot be reached, or no worker joins it, within Dask's
        ``distributed.comm.timeouts.connect`` (30 s unless configured); or a worker cannot import
        hlamatch or runs other hlamatch code (checked on connecting, for the workers present then).
    """
    distributed = _import_distributed()
    import dask
    from dask.utils import parse_timedelta

    client = _clients.get(scheduler)
    if client is not None and client.status == "running":
        return client
    if client is not None:  # the connection was lost: start again
        try:
            _close(scheduler)
        except Exception:  # pragma: no cover - closing a broken client
            pass
    if not _clients:
        atexit.register(close_clusters)
    address = scheduler if scheduler is not None else dask.config.get("scheduler-address", None)
    if address is None:
        env = {}
        if "NUMBA_NUM_THREADS" not in os.environ:  # share the cores between the worker processes
            env["NUMBA_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // LOCAL_WORKERS))
        cluster = distributed.LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", env=env)
        client = distributed.Client(cluster, set_as_default=False)
    else:
        try:
            client = distributed.Client(address, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            reason = " ".join(str(e).split()) or type(e).__name__
            raise SchedulerError(
                f"cannot reach the Dask scheduler at {address}: {reason} (is 'dask scheduler' running there, "
                "and the address tcp://HOST:PORT?)"
            ) from None
    _clients[scheduler] = client
    try:
        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise SchedulerError(f"no Dask worker joined the scheduler at {address} within {timeout:g} s: "
                                 f"start workers with 'dask worker {address}'") from None
        _check_workers(client, address or "the local cluster")
    except SchedulerError:
        _close(scheduler)
        raise
    return client


def _code_fingerprint() -> str:
    """A digest of the kernels' code as this process loaded it (:func:`hlamatch.kernels.code_digest`)."""
    from hlamatch.kernels import code_digest

    return code_digest()


def _worker_version() -> tuple[str, str]:
    """Run on a worker: the hlamatch version it imports, and the digest of its kernels' code."""
    import hlamatch

    return hlamatch.__version__, _code_fingerprint()


def _check_workers(client: Any, where: str) -> None:
    """Every worker imports hlamatch, in this process's version and with the same kernel code."""
    from hlamatch import __version__

    here = (__version__, _code_fingerprint())
    answers = client.run(_worker_version, on_error="return")
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            raise SchedulerError(
                f"Dask worker {worker} of {where} cannot run hlamatch ({type(answer).__name__}: {answer}); "
                f"install hlamatch {__version__} with its dependencies on every worker"
            )
        if not isinstance(answer, tuple) or answer != here:
            version = answer[0] if isinstance(answer, tuple) else answer
            what = (f"hlamatch {version}, this process {__version__}" if version != __version__ else
                    f"other hlamatch kernel code than this process (both version {__version__})")
            raise SchedulerError(
                f"Dask worker {worker} of {where} runs {what}: install the same hlamatch everywhere and "
                "restart the workers (they keep the code they imported)"
            )


def _close(key: str | None) -> None:
    client = _clients.pop(key, None)
    if client is None:
        return
    cluster = client.cluster  # None when connected to a scheduler by address
    client.close()
    if cluster is not None:
        cluster.close()


def close_clusters() -> None:
    """Close every Dask client this process opened, and the local cluster if one was started.

    Called at exit; a later run on the Dask engine connects (or starts a local cluster) again.
    """
    for key in list(_clients):
        _close(key)


def _kernel_ref(kernel: Callable[..., Any]) -> Any:
    """How a kernel travels to a worker: ``(module, name)`` for an hlamatch module attribute, else itself."""
    module, name = getattr(kernel, "__module__", None), getattr(kernel, "__qualname__", None)
    try:
        if module and name and module.startswith("hlamatch.") and getattr(import_module(module), name) is kernel:
            return (module, name)
    except (ImportError, AttributeError):
        pass
    return kernel


def _run_range(kernel_ref: Any, start: int, stop: int, *arrays: Any) -> np.ndarray:
    """Run on a worker: one range of a kernel (looked up by name in the worker's own hlamatch)."""
    kernel = getattr(import_module(kernel_ref[0]), kernel_ref[1]) if isinstance(kernel_ref, tuple) else kernel_ref
    return kernel(*arrays, start, stop)


def _run_dask(client: Any, kernel: Callable[..., np.ndarray], arrays: Sequence[Any],
              ranges: Sequence[tuple[int, int]], progress: Progress | None, label: str) -> list[np.ndarray]:
    """Every range as a task on ``client``'s cluster; the parts in range order."""
    from distributed import as_completed

    args = list(arrays)
    big = [i for i, x in enumerate(args) if isinstance(x, np.ndarray)]
    tasks: list[Any] = []
    ok = False
    try:
        if big:  # each array is sent once per run, to every worker
            for i, future in zip(big, client.scatter([args[i] for i in big], broadcast=True, hash=False)):
                args[i] = future
        ref = _kernel_ref(kernel)
        tasks = [client.submit(_run_range, ref, a, b, *args, pure=False) for a, b in ranges]
        order = {task.key: r for r, task in enumerate(tasks)}
        parts: list[Any] = [None] * len(ranges)
        finished = as_completed(tasks, with_results=True, loop=client.loop)
        for done, (task, part) in enumerate(finished, start=1):
            parts[order[task.key]] = part
            if progress is not None and len(ranges) > 1:
                progress(label, done / len(ranges))
        ok = True
    except OSError as e:  # distributed's CommClosedError is one
        raise SchedulerError(f"lost the Dask scheduler during a run: {' '.join(str(e).split())}") from None
    finally:
        if not ok and tasks:  # an error or an interrupt: stop the ranges still running
            try:
                client.cancel(tasks)
            except Exception:  # pragma: no cover - the connection is gone already
                pass
    return parts
