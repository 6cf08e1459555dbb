"""The engine: how pair work is split into independent ranges, where they run, and how they are summed.

Every pair kernel in :mod:`hlamatch.kernels` has the same calling convention::

    kernel(*arrays, fold_start, fold_stop) -> numpy.ndarray of shape (n_parts, ...)

It covers the patient pairs of folds ``fold_start .. fold_stop`` (fold ``k`` holds rows ``k`` and
``n - 1 - k`` of the triangular pair loop, so every fold has about ``n`` pairs of work) and returns
partial sums, one row per part.  Ranges are independent: they can run in any order, on any worker,
and their parts are summed at the end.  The split depends only on the problem size (never on
whether progress is shown, on the thread count or on the engine), so results are bit-identical
however the work is scheduled.

This module is the only place that decides the schedule.  Two engines run the ranges:

* ``"local"`` (the default): one after the other in this process, each range parallel inside
  over numba threads;
* ``"dask"`` (extra ``hlamatch[distributed]``): each range is a task on a Dask cluster (a local
  cluster of two worker processes, or the scheduler at ``scheduler``).  The arrays are scattered
  to the workers once per :func:`run_ranges` call, the kernel travels by name (the workers import
  :mod:`hlamatch.kernels` themselves) and the parts come back in range order, so
  :func:`exact_sum` sees exactly what the local engine gives it.

The engine is a process setting (:func:`set_engine`, or :class:`use_engine` for a block), read by
:func:`run_ranges` and :func:`fold_ranges`: every computation (coverage, rank, plan, supply) runs
on it without an argument being threaded through each layer.
"""

from __future__ import annotations

import atexit
import math
import os
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable, Sequence

import numpy as np

from .errors import HlamatchError, MissingExtraError, OptionError

__all__ = [
    "Progress", "fold_ranges", "line_ranges", "run_ranges", "exact_sum", "run_pairs", "row_ranges", "stair_stops",
    "ENGINES", "EngineSetting", "set_engine", "use_engine", "current_engine", "close_clusters", "SchedulerError",
]

#: Progress callback: ``progress(label, fraction_done)``, fraction in [0, 1].
Progress = Callable[[str, float], None]

#: Pair evaluations (times the per-pair work factor) per range.
PAIRS_PER_RANGE = 20_000_000
#: Most ranges one run is split into.
MAX_RANGES = 100

#: Engine names: ``local`` (this process) and ``dask`` (a Dask cluster).
ENGINES = ("local", "dask")
#: Worker processes of the local Dask cluster made when no scheduler address is given.
LOCAL_WORKERS = 2

_MISSING_DASK = 'the Dask engine needs Dask: pip install "hlamatch[distributed]"'


class SchedulerError(HlamatchError):
    """The Dask scheduler cannot be reached, or its workers cannot run hlamatch."""


# ====================================================================== the engine setting


@dataclass(frozen=True)
class EngineSetting:
    """Where ranges run: ``name`` (``local`` or ``dask``), the Dask ``scheduler`` address (None:
    a local cluster), and ``min_ranges``, the fewest ranges a run is split into (None: by size).
    """

    name: str = "local"
    scheduler: str | None = None
    min_ranges: int | None = None


_current = EngineSetting()


def _checked(engine: Any, scheduler: Any, min_ranges: Any) -> EngineSetting:
    """An :class:`EngineSetting` from API arguments; imports Dask (or fails) when it is asked for.

    ``engine=None`` is ``dask`` when a scheduler is given, else ``local``.

    Raises
    ------
    OptionError
        An unknown engine, a scheduler with the local engine, a scheduler that is not text, or
        ``min_ranges`` that is not a whole number ≥ 1.
    MissingExtraError
        ``dask`` without Dask installed.
    """
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise OptionError(f"scheduler must be an address like 'tcp://host:8786', got {scheduler!r}")
    if engine is None:
        engine = "local" if scheduler is None else "dask"
    if engine not in ENGINES:
        raise OptionError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "local" and scheduler is not None:
        raise OptionError(f"a scheduler ({scheduler}) needs the dask engine, not {engine!r}")
    if min_ranges is not None and (isinstance(min_ranges, (bool, np.bool_))
                                   or not isinstance(min_ranges, (int, np.integer)) or min_ranges < 1):
        raise OptionError(f"min_ranges must be a whole number >= 1 (or None), got {min_ranges!r}")
    if engine == "dask":
        _import_distributed()
    return EngineSetting(engine, scheduler.strip() if scheduler else None,
                         None if min_ranges is None else int(min_ranges))


def set_engine(engine: str | None = "local", scheduler: str | None = None, *,
               min_ranges: int | None = None) -> EngineSetting:
    """Set where every later computation of this process runs its pair ranges.

    Parameters
    ----------
    engine : {"local", "dask"}, optional
        ``local``: in this process (numba threads).  ``dask``: as tasks on a Dask cluster
        (needs ``pip install "hlamatch[distributed]"``).  None: ``dask`` when ``scheduler`` is
        given, else ``local``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).  Default: the address in
        Dask's configuration (``DASK_SCHEDULER_ADDRESS``) if set, else a local cluster of
        :data:`LOCAL_WORKERS` worker processes, started on first use and kept for the process.
    min_ranges : int, optional
        Split every run into at least this many ranges (at most one per fold), on either engine;
        default: by problem size only.  A different split may change results in the last bits.

    Returns
    -------
    EngineSetting
        The previous setting.

    Raises
    ------
    OptionError
        An unknown engine or a bad argument.
    MissingExtraError
        ``dask`` without Dask installed.

    The cluster is connected on the first run, not here; an unreachable scheduler is a
    :class:`SchedulerError` then.
    """
    global _current
    previous, _current = _current, _checked(engine, scheduler, min_ranges)
    return previous


class use_engine:
    """Context manager: run the block on an engine (see :func:`set_engine`), then restore the previous one.

    The arguments are checked when the manager is made, so an API function can check them
    before doing any work.  Clusters stay up after the block (they are reused); see
    :func:`close_clusters`.

    >>> from hlamatch.engine import current_engine, use_engine
    >>> with use_engine("local", min_ranges=3):
    ...     current_engine().min_ranges
    3
    >>> current_engine().min_ranges is None
    True
    """

    def __init__(self, engine: str | None = "local", scheduler: str | None = None, *,
                 min_ranges: int | None = None):
        self.setting = _checked(engine, scheduler, min_ranges)
        self.previous: EngineSetting | None = None

    def __enter__(self) -> "use_engine":
        global _current
        self.previous, _current = _current, self.setting
        return self

    def __exit__(self, *exc: object) -> None:
        global _current
        if self.previous is not None:
            _current, self.previous = self.previous, None


def current_engine() -> EngineSetting:
    """The engine setting in force (see :func:`set_engine`)."""
    return _current


# ====================================================================== splitting


def fold_ranges(n_rows: int, work_per_pair: float = 1.0, *, min_ranges: int | None = None) -> list[tuple[int, int]]:
    """Split the ``(n_rows + 1) // 2`` folds of a pair loop into independent ranges.

    Parameters
    ----------
    n_rows : int
        Rows of the pair loop (patient haplotypes after merging).
    work_per_pair : float
        Relative cost of one pair (e.g. machine words per pair), so that ranges take similar time.
    min_ranges : int, optional
        At least this many ranges (at most one per fold); default: the engine setting's
        (see :func:`set_engine`), normally none.

    Returns
    -------
    list of (int, int)
        ``(fold_start, fold_stop)`` ranges covering every fold once, in order.
    """
    if min_ranges is None:
        min_ranges = _current.min_ranges or 1
    n_folds = (n_rows + 1) // 2
    work = n_rows * (n_rows + 1) / 2 * max(work_per_pair, 1e-9)
    n = int(min(MAX_RANGES, max(1, work // PAIRS_PER_RANGE), max(1, n_folds)))
    n = max(n, min(min_ranges, n_folds))
    return [(b * n_folds // n, (b + 1) * n_folds // n) for b in range(n)]


# ====================================================================== running


def run_ranges(
    kernel: Callable[..., np.ndarray],
    arrays: Sequence[Any],
    ranges: Sequence[tuple[int, int]],
    progress: Progress | None = None,
    label: str = "",
) -> np.ndarray:
    """Run ``kernel(*arrays, start, stop)`` over every range; concatenate the parts (axis 0), in range order.

    The ranges run on the engine in force (:func:`current_engine`): in this process, or as
    tasks on a Dask cluster (always there, even a single range).  ``progress(label, fraction)``
    is called as ranges finish when there is more than one.

    Raises
    ------
    SchedulerError
        Dask engine: the scheduler cannot be reached, or its workers lack hlamatch.
    """
    if _current.name == "dask":
        parts = _run_dask(_dask_client(_current.scheduler), kernel, arrays, ranges, progress, label)
    else:
        parts = []
        for r, (a, b) in enumerate(ranges):
            parts.append(kernel(*arrays, a, b))
            if progress is not None and len(ranges) > 1:
                progress(label, (r + 1) / len(ranges))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def exact_sum(parts: np.ndarray) -> np.ndarray:
    """Sum over axis 0, deterministically and to within an ulp or so.

    Few outputs (coverage, a histogram): ``math.fsum`` per output element, correctly rounded.
    Many outputs (one gain per candidate line): Neumaier's compensated summation, vectorised
    over the outputs (error independent of the number of parts, to first order).

    Parameters
    ----------
    parts : numpy.ndarray
        float64 array of shape (n_parts, ...).

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``parts.shape[1:]`` (a 0-d array for 1-d input).
    """
    flat = parts.reshape(parts.shape[0], -1)
    if flat.shape[1] <= 64:
        out = np.array([math.fsum(flat[:, c].tolist()) for c in range(flat.shape[1])])
    else:
        out = np.zeros(flat.shape[1])
        comp = np.zeros(flat.shape[1])
        for row in flat:
            t = out + row
            big = np.abs(out) >= np.abs(row)
            comp += np.where(big, (out - t) + row, (row - t) + out)
            out = t
        out = out + comp
    return out.reshape(parts.shape[1:])


def run_pairs(
    kernel: Callable[..., np.ndarray],
    arrays: Sequence[Any],
    n_rows: int,
    work_per_pair: float = 1.0,
    progress: Progress | None = None,
    label: str = "",
) -> np.ndarray:
    """Split, run and sum: the exact total of a pair kernel over all folds of ``n_rows`` rows."""
    return exact_sum(run_ranges(kernel, arrays, fold_ranges(n_rows, work_per_pair), progress, label))


# ====================================================================== the Dask engine

#: Open Dask clients, by scheduler address (None: the local cluster or Dask's configured address).
_clients: dict[str | None, Any] = {}


def _import_distributed() -> Any:
    """The ``distributed`` module, or MissingExtraError naming the extra."""
    try:
        import dask  # noqa: F401  (imported first so that a blocked top-level package is seen)
        import distributed
    except ImportError as e:
        raise MissingExtraError(_MISSING_DASK) from e
    return distributed


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
    """A digest of the kernels' code as this process loaded it (not as it lies on disk).

    Bytecode, names and constants of every function of :mod:`hlamatch.kernels` (numba kernels
    by their Python function) and the module's plain constants; file paths are left out, so an
    install at another path gives the same digest.
    """
    import hashlib

    from . import kernels

    digest = hashlib.sha256()

    def feed(code: Any) -> None:
        digest.update(code.co_code)
        digest.update(repr((code.co_names, code.co_varnames)).encode())
        for c in code.co_consts:
            if hasattr(c, "co_code"):
                feed(c)
            else:
                digest.update(repr(c).encode())

    for name, value in sorted(vars(kernels).items()):
        fn = getattr(value, "py_func", value)
        if getattr(fn, "__module__", None) == kernels.__name__ and hasattr(fn, "__code__"):
            digest.update(name.encode())
            feed(fn.__code__)
        elif isinstance(value, (bool, int, float, str)) and not name.startswith("__"):
            digest.update(f"{name}={value!r}".encode())
    return digest.hexdigest()[:16]


def _worker_version() -> tuple[str, str]:
    """Run on a worker: the hlamatch version it imports, and the digest of its kernels' code."""
    import hlamatch

    return hlamatch.__version__, _code_fingerprint()


def _check_workers(client: Any, where: str) -> None:
    """Every worker imports hlamatch, in this process's version and with the same kernel code."""
    from . import __version__

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


def line_ranges(work: np.ndarray, *, min_ranges: int | None = None) -> list[tuple[int, int]]:
    """Split lines ``0 .. len(work)`` into contiguous ranges of about equal work (``work[t]``, in pair
    evaluations, for line t): the ranges of a line sweep (:func:`hlamatch.kernels._line_sweep`).

    The split depends only on ``work`` (never on the thread count or the engine); ``min_ranges``
    as for :func:`fold_ranges`.
    """
    n_lines = int(work.shape[0])
    if n_lines == 0:
        return []
    if min_ranges is None:
        min_ranges = _current.min_ranges or 1
    w = np.asarray(work, dtype=np.float64).tolist()
    left = math.fsum(w)
    n = int(min(MAX_RANGES, max(1, left // PAIRS_PER_RANGE), n_lines))
    n = max(n, min(min_ranges, n_lines))
    # Greedy: close a range once it holds an equal share of the work still to split (a heavy
    # line then takes a range alone without starving the others), or when the lines left are
    # only just enough for the ranges left.
    bounds, acc = [0], 0.0
    for t, x in enumerate(w[:-1]):
        acc += x
        ranges_left = n - (len(bounds) - 1)
        if ranges_left > 1 and (acc >= left / ranges_left or n_lines - (t + 1) == ranges_left - 1):
            bounds.append(t + 1)
            left -= acc
            acc = 0.0
    bounds.append(n_lines)
    return list(zip(bounds[:-1], bounds[1:]))


def row_ranges(n_rows: int, work_per_pair: float = 1.0) -> list[tuple[int, int]]:
    """Split rows ``0 .. n_rows`` into ranges of about equal pair work (row ``i`` pairs with ``j ≥ i``).

    For tolerance-bounded runs, whose rows are ordered most frequent first and visited in order.
    The split depends only on the problem size.
    """
    if n_rows <= 0:
        return []
    total = n_rows * (n_rows + 1) / 2 * max(work_per_pair, 1e-9)
    n = int(min(MAX_RANGES, max(1, total // (PAIRS_PER_RANGE / 4)), n_rows))
    # cumulative work of rows 0..m-1 is m*n_rows - m(m-1)/2: invert it for n equal shares
    bounds = [0]
    for b in range(1, n):
        target = b / n * n_rows * (n_rows + 1) / 2
        m = int(n_rows + 0.5 - math.sqrt(max((n_rows + 0.5) ** 2 - 2 * target, 0.0)))
        bounds.append(min(max(m, bounds[-1] + 1), n_rows))
    bounds.append(n_rows)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def stair_stops(freqs: np.ndarray, tolerance: float) -> tuple[np.ndarray, float]:
    """Which patient genotypes a tolerance-bounded run visits: those of highest probability.

    With rows most frequent first, genotype (i, j) is visited iff f_i f_j ≥ τ, for the largest
    threshold τ found (by bisection) whose left-out ordered pairs weigh
    ``U(τ) = Σ_i f_i · Σ_{j: f_i f_j < τ} f_j`` ≤ ``tolerance``.  Row i then visits the columns
    ``i ≤ j < stops[i]``; rows with ``stops[i] ≤ i`` visit none (they come last).

    Returns
    -------
    (numpy.ndarray, float)
        int64 ``stops`` (n,) and ``U(τ)``, the mass left out.
    """
    f = np.ascontiguousarray(freqs, dtype=np.float64)
    n = f.shape[0]
    tails = np.append(np.cumsum(f[::-1])[::-1], 0.0)
    neg = -f

    def left_out(tau: float) -> tuple[np.ndarray, float]:
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(f > 0, tau / f, np.inf)  # a row of frequency 0 visits nothing
        j = np.searchsorted(neg, -need, side="right")  # count of f_j ≥ τ / f_i
        return j, float(np.dot(f, tails[j]))

    full = np.full(n, n, dtype=np.int64)
    if n == 0 or tolerance <= 0:
        return full, 0.0
    positive = f[f > 0]
    lo, hi = 0.0, float(f[0] * f[0]) * 2.0  # τ = lo leaves nothing out; τ = hi leaves out everything
    if positive.size:
        lo = float(positive[-1] * positive[-1]) * 0.5
    stops, u = left_out(lo)
    if u > tolerance:
        return full, 0.0
    for _ in range(60):  # bisection on a log scale: the largest τ found whose U(τ) ≤ tolerance
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        j, um = left_out(mid)
        if um <= tolerance:
            lo, stops, u = mid, j, um
        else:
            hi = mid
        if hi <= lo * 1.01:  # τ within 1% of the best: a few more genotypes visited, never fewer
            break
    return np.ascontiguousarray(np.maximum(stops, 0), dtype=np.int64), u
