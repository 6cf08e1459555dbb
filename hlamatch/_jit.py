"""The one place where numba options are set.

Every kernel in :mod:`hlamatch.kernels` is decorated with :func:`jit`.  Policy:

* ``cache=True`` by default: the CLI runs in fresh processes, and cached machine code turns a
  multi-second compile into a fast load.  ``HLAMATCH_NUMBA_CACHE=0`` turns caching off (read
  once, at import).  Cached code freezes global values, so kernels read no mutable globals.
* The cache is keyed by the kernels' whole source: numba checks only the file of the jitted function,
  but a kernel's machine code holds the helpers it calls from other files of ``hlamatch/kernels``.
  So each kernel is cached one folder below where numba would put it (``NUMBA_CACHE_DIR`` when set,
  else the package's ``__pycache__`` or the user's cache folder), in ``hlamatch-<digest>``, the
  digest of the source files of ``hlamatch/kernels`` and of this file (:func:`source_digest`): a
  change to any of them starts a fresh folder.  Reading the files costs a millisecond, once per
  process, when the first kernel is decorated.  Each process marks its folder as used; sibling
  ``hlamatch-*`` folders unused for :data:`STALE_CACHE_SECONDS` (30 days) are removed.
* Caching is a speed-up, never a condition: where numba finds no writable cache folder (neither
  the package folder nor the user's cache folder; numba raises ``RuntimeError: cannot cache
  function`` when the kernel is decorated), or writing a cache file fails, the kernels run
  uncached and one :class:`~hlamatch.errors.HlamatchWarning` per process says so
  (``NUMBA_CACHE_DIR`` points numba at a writable folder).  A cache file that cannot be loaded
  (damaged, truncated) is removed and the kernel compiled and saved again, so one bad file costs
  one compile, not a compile in every later process.
* ``fastmath`` off: coverage is a sum of small probabilities compared across versions and
  populations; reproducibility is worth more than a few percent of speed.
* ``nogil=True``: kernels may run in threads of a host application.
* Fork-safe: a parallel kernel is a :class:`_ForkSafe`, which in a process forked after numba's
  GNU OpenMP threads started (they do not survive fork) runs its serial twin instead of aborting.
  numba's environment variables are checked before numba is imported
  (:func:`hlamatch._deps.check_numba_environment`).
* No eager signatures: kernels compile on first call (see :func:`hlamatch.warmup`).
* ``inline=True`` (numba's ``inline="always"``, inlining in numba's own IR) for a helper called
  once per patient pair from a pair loop: LLVM keeps such a call (and the reference counts of its
  array arguments), which costs more than the helper's work (``kernels/geno_rule.py``).
* Compiling is announced: every kernel's cache load is watched, and a load that returns nothing
  (a compile follows) calls :func:`hlamatch._hooks.compiling`, which tells the callback a front
  end set (the CLI prints one line on a terminal), once per process.  The library prints nothing.

A CI check (``.ci/run``) fails if any other file passes ``cache=`` or ``fastmath=`` to numba.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hlamatch._deps import check_numba_environment

check_numba_environment()  # before numba reads its variables: a bad one is one OptionError, not a traceback
import numba
import numpy as np
from numba.core import caching

from hlamatch._hooks import compiling
from hlamatch._settings import claim, defaults

__all__ = ["jit", "CACHE", "prange", "num_threads", "check_threads", "KERNELS", "source_digest", "cache_folder"]

CACHE: bool = os.environ.get("HLAMATCH_NUMBA_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")
prange = numba.prange

#: The decorator factory behind :func:`jit` (a module attribute, so tests can stand in for numba).
_njit = numba.njit
#: The folder of the kernels, whose source files key the cache (:func:`source_digest`).
KERNELS = Path(__file__).resolve().parent / "kernels"


@functools.cache
def source_digest(folder: Path = KERNELS, options_file: Path = Path(__file__)) -> str:
    """A digest of the Python source files of ``folder`` (their names and bytes, in name order) and
    of ``options_file`` (this module: the numba options): 16 hex digits, computed once per folder
    and process."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.py")) + [Path(options_file)]:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def cache_folder(folder: Path = KERNELS) -> str:
    """The name of the folder the kernels of ``folder`` are cached in, below numba's own cache folder."""
    return f"hlamatch-{source_digest(Path(folder))}"


#: A cache folder of other kernel sources not used for this long is removed (:func:`_prune_once`).
STALE_CACHE_SECONDS = 30 * 24 * 3600

_PRUNED: set[str] = set()


def _prune_once(current: str, stale: float = STALE_CACHE_SECONDS) -> None:
    """Once per process and folder: mark ``current`` as used (its modification time) and remove the
    sibling ``hlamatch-<digest>`` folders (kernels of other sources: older versions, edited
    checkouts) not used for ``stale`` seconds.  Another install sharing ``NUMBA_CACHE_DIR`` keeps
    its folder while it runs at least once in that time; a removal that fails is left for later."""
    if current in _PRUNED:
        return
    _PRUNED.add(current)
    try:
        os.utime(current)
        parent, own = os.path.split(current)
        now = time.time()
        for entry in os.scandir(parent):
            if (
                entry.name.startswith("hlamatch-")
                and entry.name != own
                and entry.is_dir(follow_symlinks=False)
                and now - entry.stat(follow_symlinks=False).st_mtime > stale
            ):
                shutil.rmtree(entry.path, ignore_errors=True)
    except OSError:
        pass


class _DigestLocator:
    """numba's cache locator of a kernel, one folder down: :func:`cache_folder`."""

    def __init__(self, inner: Any):
        self._inner = inner
        self._cache_path = os.path.join(inner.get_cache_path(), cache_folder())

    def get_cache_path(self) -> str:
        return self._cache_path

    def ensure_cache_path(self) -> None:
        os.makedirs(self._cache_path, exist_ok=True)
        tempfile.TemporaryFile(dir=self._cache_path).close()  # writable, as numba's locators check
        _prune_once(self._cache_path)

    def get_source_stamp(self) -> Any:
        return self._inner.get_source_stamp()

    def get_disambiguator(self) -> str:
        return self._inner.get_disambiguator()


class _DigestImpl(caching.CompileResultCacheImpl):
    """numba's cache of compile results, in the folder of :class:`_DigestLocator`."""

    def __init__(self, py_func: Callable[..., Any]):
        super().__init__(py_func)  # numba's locator; RuntimeError 'cannot cache function' when none fits
        locator = _DigestLocator(self._locator)
        try:
            locator.ensure_cache_path()
        except OSError as e:
            raise RuntimeError(f"cannot cache function {py_func.__qualname__!r}: {e}") from None
        self._locator = locator


class _DigestCache(caching.FunctionCache):
    _impl_class = _DigestImpl


def _key_by_source(dispatcher: Any) -> None:
    """Give a numba dispatcher made with ``cache=True`` the cache of :class:`_DigestImpl` instead of
    numba's own (a stand-in for numba, or ``NUMBA_DISABLE_JIT``, is left alone)."""
    if isinstance(getattr(dispatcher, "_cache", None), caching.FunctionCache):
        dispatcher._cache = _DigestCache(dispatcher.py_func)


def _no_cache(reason: str) -> None:
    """Stop caching for the rest of the process, saying so once."""
    if not claim("kernel_cache_failed"):
        return
    from hlamatch.errors import HlamatchWarning

    warnings.warn(
        f"numba cannot cache compiled kernels ({reason}); running without a cache, so each new process "
        "compiles again (set NUMBA_CACHE_DIR to a writable folder, or HLAMATCH_NUMBA_CACHE=0 to skip caching)",
        HlamatchWarning,
        stacklevel=4,
    )


def _drop_cache_files(cache: Any) -> None:
    """Remove one kernel's cache index (``NAME.nbi``) and data files (``NAME.N.nbc``) after a failed
    load, so that this process's save writes them afresh and later processes load them again (a
    damaged file would otherwise make every process compile)."""
    index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
    if not isinstance(index, str) or not index.endswith(".nbi"):
        return
    folder, name = os.path.split(index)
    base = name[: -len(".nbi")]
    for entry in os.listdir(folder):
        if entry == name or (entry.startswith(base + ".") and entry.endswith(".nbc")):
            try:
                os.unlink(os.path.join(folder, entry))
            except FileNotFoundError:  # another process removed it first
                pass


def _guard_cache_io(dispatcher: Any, cached: bool = True) -> None:
    """Make cache file errors a cache miss (load) or a skipped save, never a failed call; and announce
    a compile (a load that finds nothing: numba compiles next) through :func:`hlamatch._hooks.compiling`.

    ``cached=False``: a dispatcher without a cache (numba's null cache always finds nothing), whose
    loads are only watched.
    """
    cache: Any = getattr(dispatcher, "_cache", None)  # numba's private cache object (untyped)
    load, save = getattr(cache, "load_overload", None), getattr(cache, "save_overload", None)
    if load is None or save is None:
        return

    def safe_load(*args: Any, **kwargs: Any) -> Any:
        try:
            found = load(*args, **kwargs)
        except Exception as e:  # a corrupt or unreadable cache file: remove it and compile instead
            try:
                _drop_cache_files(cache)  # the save after the compile writes fresh ones
            except OSError as e2:
                _no_cache(f"reading the cache failed: {e}; removing the damaged file failed: {e2}")
            found = None
        if found is None:
            compiling(cached and not defaults().kernel_cache_failed)
        return found

    def safe_save(*args: Any, **kwargs: Any) -> None:
        if defaults().kernel_cache_failed:
            return
        try:
            save(*args, **kwargs)
        except (OSError, RuntimeError) as e:
            _no_cache(f"writing the cache failed: {e}")

    try:
        cache.load_overload = safe_load
        if cached:
            cache.save_overload = safe_save
    except AttributeError:  # pragma: no cover - a numba whose cache objects refuse new attributes
        pass


def jit(*, parallel: bool = False, inline: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit`` with the project defaults; ``parallel=True`` for kernels that use ``prange``;
    ``inline=True`` for a helper inlined into its jitted callers (numba's ``inline="always"``)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        options: dict[str, Any] = dict(fastmath=False, nogil=True, parallel=parallel)
        if inline:
            options["inline"] = "always"
        if CACHE and not defaults().kernel_cache_failed:
            try:
                dispatcher = _njit(cache=True, **options)(fn)
                _key_by_source(dispatcher)
            except RuntimeError as e:
                if "cannot cache" not in str(e):
                    raise
                _no_cache("no writable cache folder was found")
            else:
                _guard_cache_io(dispatcher)
                return dispatcher
        dispatcher = _njit(cache=False, **options)(fn)
        _guard_cache_io(dispatcher, cached=False)
        return dispatcher

    if parallel:
        return lambda fn: _ForkSafe(wrap(fn))
    return wrap


# ---------------------------------------------------------------------- fork safety
# numba's threads on GNU OpenMP (its ``omp`` layer on Linux, chosen when tbb is not installed) do
# not survive fork(): a parallel kernel in a process forked after they started (a ``multiprocessing``
# fork pool, say) aborts that process, and ``Pool.map`` waits forever for its answer.  tbb and
# workqueue survive fork (workqueue is not thread-safe, and kernels run in threads of a host
# application: it is not chosen here).  So a child forked from such a process runs the serial twin
# of each parallel kernel (compiled there on first use, uncached: numba's cache index does not tell
# a serial compile from a parallel one), with the same results on one thread.

#: True in a process forked after numba's threads started on GNU OpenMP (set at fork).
_forked_from_omp = False


def _omp_threads_started() -> bool:
    """numba's threads started, on GNU OpenMP (which a forked child cannot use)."""
    import sys

    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is None or not getattr(parallel, "_is_initialized", False):
        return False
    if getattr(parallel, "_threading_layer", None) != "omp":
        return False
    omppool = sys.modules.get("numba.np.ufunc.omppool")
    return getattr(omppool, "openmp_vendor", "GNU") == "GNU"


def _at_fork_in_child() -> None:
    global _forked_from_omp
    _forked_from_omp = _forked_from_omp or _omp_threads_started()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_at_fork_in_child)


class _ForkSafe:
    """A parallel kernel: its numba dispatcher (whose attributes it shows), or in a child forked
    after GNU OpenMP threads started (:data:`_forked_from_omp`) a serial twin of it."""

    def __init__(self, dispatcher: Any):
        self._dispatcher = dispatcher
        self._serial: Any = None
        functools.update_wrapper(self, getattr(dispatcher, "py_func", dispatcher))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_dispatcher", "_serial"):
            raise AttributeError(name)
        return getattr(self._dispatcher, name)

    def __repr__(self) -> str:
        return f"<parallel kernel {self.__module__}.{self.__qualname__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not _forked_from_omp:
            return self._dispatcher(*args, **kwargs)
        if self._serial is None:
            self._serial = _njit(cache=False, fastmath=False, nogil=True, parallel=False)(self.__wrapped__)
            _guard_cache_io(self._serial, cached=False)
        return self._serial(*args, **kwargs)


def check_threads(n: Any) -> int | None:
    """A ``threads`` argument, checked: None (numba's default, all cores) or a whole number ≥ 1.

    Raises
    ------
    hlamatch.errors.OptionError
        ``n`` is not None or an int (a bool, float or string is refused), or lies outside
        ``1 .. numba.config.NUMBA_NUM_THREADS``.
    """
    if n is None:
        return None
    from hlamatch.errors import OptionError

    # set by numba.core.config at import (from the environment), so unknown to its type information
    limit: int = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise OptionError(
            f"threads must be a whole number between 1 and {limit} on this machine (or None for all cores), "
            f"got {type(n).__name__} {n!r}"
        )
    if not 1 <= n <= limit:
        raise OptionError(f"threads must be between 1 and {limit} on this machine, got {n}")
    return int(n)


class num_threads:
    """Context manager: run kernels with ``n`` numba threads, restoring the previous count.

    ``None`` leaves the count alone.  The count is checked when the manager is made (see
    :func:`check_threads`), so an API function can check it before doing any work.
    """

    def __init__(self, n: int | None):
        self.n = check_threads(n)
        self.previous: int | None = None

    def __enter__(self) -> num_threads:
        if self.n is not None:
            self.previous = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            numba.set_num_threads(self.previous)
