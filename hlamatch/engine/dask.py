"""The Dask engine: ranges as tasks on a ``distributed`` cluster, workers checked to run the same code."""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

import numpy as np

from hlamatch.engine.setting import LOCAL_WORKERS, Progress, SchedulerError, _import_distributed

__all__ = ["close_clusters"]

# ====================================================================== the Dask engine

#: Open Dask clients, by scheduler address (None: the local cluster or Dask's configured address).
_clients: dict[str | None, Any] = {}

#: Seconds a scheduler has to answer: connecting and Dask's handshake (Dask's
#: ``distributed.comm.timeouts.connect`` when shorter; one more second before the handshake is
#: given up, so that Dask's own connect error comes first).  Dask bounds the connect but not the
#: handshake: a server of another kind at the address (HTTP, say) would keep it waiting forever.
SCHEDULER_TIMEOUT = 10.0

#: Times a range lost with its worker (or cancelled) is submitted again before the run fails.
RANGE_RETRIES = 2

#: Dask settings read as durations (a bad one is a SchedulerError before any connection).
_TIMEOUT_SETTINGS = ("distributed.comm.timeouts.connect", "distributed.comm.timeouts.tcp")


def _config_seconds(key: str) -> float:
    """The Dask duration setting ``key`` in seconds, or SchedulerError naming it."""
    import dask
    from dask.utils import parse_timedelta

    value = dask.config.get(key, None)
    try:
        seconds = parse_timedelta(value)
        if seconds is None or not seconds >= 0 or seconds == float("inf"):
            raise ValueError(value)
    except Exception:  # dask's parser: ValueError, KeyError, IndexError (''), TypeError, ...
        env = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
        raise SchedulerError(
            f"the Dask setting {key} is {value!r}, not a duration: set it to one like '30s' in the Dask "
            f"configuration (or the variable {env}), or remove it"
        ) from None
    return float(seconds)


def _probe(distributed: Any, address: str, seconds: float) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``seconds``, or SchedulerError.

    Run in a thread of its own (its own event loop), so that a caller inside a running event loop
    (a notebook) can use it too.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def handshake() -> None:  # 1 s more than Dask's connect, whose own error (refused...) says more
        comm = await asyncio.wait_for(distributed.comm.connect(address, timeout=seconds), seconds + 1)
        await comm.close()

    def fail(reason: str) -> SchedulerError:
        return SchedulerError(
            f"cannot reach the Dask scheduler at {address}: {reason} (is 'dask scheduler' running there, "
            "and the address tcp://HOST:PORT?)"
        )

    pool = ThreadPoolExecutor(1, thread_name_prefix="hlamatch-probe")
    try:
        pool.submit(asyncio.run, handshake()).result(timeout=seconds + 6)
    except TimeoutError:
        raise fail(f"no answer as a Dask scheduler within {seconds:g} s (something else may listen there)") from None
    except (OSError, ValueError, TypeError) as e:
        raise fail(" ".join(str(e).split()) or type(e).__name__) from None
    except Exception as e:  # garbage read as a Dask message: a MemoryError for a huge length, say
        raise fail(f"it does not answer as a Dask scheduler ({type(e).__name__}: {' '.join(str(e).split())})") from None
    finally:
        pool.shutdown(wait=False)


def _dask_client(scheduler: str | None) -> Any:
    """The client of ``scheduler`` (None: Dask's configured address, else a local cluster), made on first use.

    Raises
    ------
    SchedulerError
        The scheduler cannot be reached or does not answer as a Dask scheduler within
        :data:`SCHEDULER_TIMEOUT` (Dask's ``distributed.comm.timeouts.connect`` when shorter), or no
        worker joins it within that Dask setting (30 s unless configured); a Dask timeout setting
        is not a duration; or a worker cannot import hlamatch or runs other hlamatch code (checked
        on connecting, for the workers present then).
    """
    distributed = _import_distributed()
    import dask

    timeouts = {key: _config_seconds(key) for key in _TIMEOUT_SETTINGS}
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
        cluster = distributed.LocalCluster(
            n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True, dashboard_address=":0", env=env
        )
        client = distributed.Client(cluster, set_as_default=False)
    else:
        deadline = min(timeouts["distributed.comm.timeouts.connect"], SCHEDULER_TIMEOUT)
        _probe(distributed, address, deadline)
        try:
            client = distributed.Client(address, set_as_default=False, timeout=deadline)
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            reason = " ".join(str(e).split()) or type(e).__name__
            raise SchedulerError(
                f"cannot reach the Dask scheduler at {address}: {reason} (is 'dask scheduler' running there, "
                "and the address tcp://HOST:PORT?)"
            ) from None
    _clients[scheduler] = client
    try:
        timeout = timeouts["distributed.comm.timeouts.connect"]
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise SchedulerError(
                f"no Dask worker joined the scheduler at {address} within {timeout:g} s: "
                f"start workers with 'dask worker {address}'"
            ) from None
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
            what = (
                f"hlamatch {version}, this process {__version__}"
                if version != __version__
                else f"other hlamatch kernel code than this process (both version {__version__})"
            )
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


def _lost(future: Any) -> str | None:
    """Why a finished task of a run gave no part: None when it has one (its status is 'finished')."""
    if future.status == "finished":
        return None
    if future.status == "cancelled":
        return "cancelled (its worker or the scheduler was lost)"
    exc = future.exception() if future.status == "error" else None
    if exc is not None and type(exc).__name__ == "KilledWorker":
        return f"lost with its worker ({' '.join(str(exc).split())})"
    if exc is not None:  # the kernel raised: the same error again here
        future.result()
    return f"lost (task status {future.status!r})"


def _run_dask(
    client: Any,
    kernel: Callable[..., np.ndarray],
    arrays: Sequence[Any],
    ranges: Sequence[tuple[int, int]],
    progress: Progress | None,
    label: str,
) -> list[np.ndarray]:
    """Every range as a task on ``client``'s cluster; the parts in range order.

    A range whose task is lost (its worker died more often than Dask allows, or the task was
    cancelled) is submitted again, at most :data:`RANGE_RETRIES` times (with the arrays scattered
    again when they were lost too); then the run fails with one :class:`SchedulerError`.
    """
    from concurrent.futures import CancelledError

    from distributed import as_completed

    args = list(arrays)
    big = [i for i, x in enumerate(args) if isinstance(x, np.ndarray)]
    ref = _kernel_ref(kernel)
    tasks: dict[str, tuple[Any, int]] = {}  # task key: (future, range index)
    tries = [0] * len(ranges)
    ok = False

    def scatter() -> list[Any]:
        sent = list(args)
        if big:  # each array is sent once per run, to every worker
            for i, future in zip(big, client.scatter([args[i] for i in big], broadcast=True, hash=False)):
                sent[i] = future
        return sent

    def fail(what: str) -> SchedulerError:
        where = getattr(client, "scheduler", None)
        where = getattr(where, "address", None) or "the Dask scheduler"
        return SchedulerError(
            f"a Dask run ({label or 'ranges'}) failed on {where}: {what}; check the "
            "workers' logs, their memory and the network, then run again"
        )

    try:
        sent = scatter()

        def submit(r: int) -> Any:
            a, b = ranges[r]
            future = client.submit(_run_range, ref, a, b, *sent, pure=False)
            tasks[future.key] = (future, r)
            return future

        parts: list[Any] = [None] * len(ranges)
        finished = as_completed([submit(r) for r in range(len(ranges))], loop=client.loop)
        done = 0
        for future in finished:
            _, r = tasks.pop(future.key)
            why = _lost(future)
            if why is None:
                try:
                    parts[r] = future.result()
                except (CancelledError, OSError) as e:  # the result was lost on the way
                    why = f"lost while its result was gathered ({type(e).__name__}: {e})"
            if why is not None:
                tries[r] += 1
                a, b = ranges[r]
                if tries[r] > RANGE_RETRIES:
                    raise fail(f"the range {a}..{b} was {why}, {tries[r]} times")
                if client.status != "running":
                    raise fail(
                        f"the range {a}..{b} was {why}, and the client lost the scheduler (status {client.status!r})"
                    )
                if any(getattr(x, "status", "finished") != "finished" for x in sent):
                    sent = scatter()  # the scattered arrays went with the workers that held them
                finished.add(submit(r))
                continue
            done += 1
            if progress is not None and len(ranges) > 1:
                progress(label, done / len(ranges))
        ok = True
    except OSError as e:  # distributed's CommClosedError is one
        raise SchedulerError(f"lost the Dask scheduler during a run: {' '.join(str(e).split())}") from None
    finally:
        if not ok and tasks:  # an error or an interrupt: stop the ranges still running
            try:
                client.cancel([future for future, _ in tasks.values()])
            except Exception:  # pragma: no cover - the connection is gone already
                pass
    return parts
