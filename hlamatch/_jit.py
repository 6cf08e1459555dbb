"""The one place where numba options are set.

Every kernel in :mod:`hlamatch.kernels` is decorated with :func:`jit`.  Policy:

* ``cache=True`` by default: the CLI runs in fresh processes, and cached machine code turns a
  multi-second compile into a fast load.  ``HLAMATCH_NUMBA_CACHE=0`` turns caching off (read
  once, at import).  Cached code freezes global values, so kernels read no mutable globals.
* Caching is a speed-up, never a condition: where numba finds no writable cache folder (neither
  the package folder nor the user's cache folder; numba raises ``RuntimeError: cannot cache
  function`` when the kernel is decorated), or writing or reading a cache file fails, the kernels
  run uncached and one :class:`~hlamatch.errors.HlamatchWarning` per process says so
  (``NUMBA_CACHE_DIR`` points numba at a writable folder).
* ``fastmath`` off: coverage is a sum of small probabilities compared across versions and
  populations; reproducibility is worth more than a few percent of speed.
* ``nogil=True``: kernels may run in threads of a host application.
* No eager signatures: kernels compile on first call (see :func:`hlamatch.warmup`).
* Compiling is announced: every kernel's cache load is watched, and a load that returns nothing
  (a compile follows) calls :func:`hlamatch._hooks.compiling`, which tells the callback a front
  end set (the CLI prints one line on a terminal), once per process.  The library prints nothing.

A CI check (``.ci/run``) fails if any other file passes ``cache=`` or ``fastmath=`` to numba.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import numba
import numpy as np

from hlamatch._hooks import compiling

__all__ = ["jit", "CACHE", "prange", "num_threads", "check_threads"]

CACHE: bool = os.environ.get("HLAMATCH_NUMBA_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")
prange = numba.prange

#: The decorator factory behind :func:`jit` (a module attribute, so tests can stand in for numba).
_njit = numba.njit
#: Whether caching still works in this process (False after the first failure).
_cache_ok = True


def _no_cache(reason: str) -> None:
    """Stop caching for the rest of the process, saying so once."""
    global _cache_ok
    if not _cache_ok:
        return
    _cache_ok = False
    from hlamatch.errors import HlamatchWarning

    warnings.warn(
        f"numba cannot cache compiled kernels ({reason}); running without a cache, so each new process "
        "compiles again (set NUMBA_CACHE_DIR to a writable folder, or HLAMATCH_NUMBA_CACHE=0 to skip caching)",
        HlamatchWarning,
        stacklevel=4,
    )


def _guard_cache_io(dispatcher: Any, cached: bool = True) -> None:
    """Make cache file errors a cache miss (load) or a skipped save, never a failed call; and announce
    a compile (a load that finds nothing: numba compiles next) through :func:`hlamatch._hooks.compiling`.

    ``cached=False``: a dispatcher without a cache (numba's null cache always finds nothing), whose
    loads are only watched.
    """
    cache = getattr(dispatcher, "_cache", None)
    load, save = getattr(cache, "load_overload", None), getattr(cache, "save_overload", None)
    if load is None or save is None:
        return

    def safe_load(*args: Any, **kwargs: Any) -> Any:
        try:
            found = load(*args, **kwargs)
        except Exception as e:  # a corrupt or unreadable cache file: compile instead
            _no_cache(f"reading the cache failed: {e}")
            found = None
        if found is None:
            compiling(cached and _cache_ok)
        return found

    def safe_save(*args: Any, **kwargs: Any) -> None:
        if not _cache_ok:
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


def jit(*, parallel: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit`` with the project defaults; ``parallel=True`` for kernels that use ``prange``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        options = dict(fastmath=False, nogil=True, parallel=parallel)
        if CACHE and _cache_ok:
            try:
                dispatcher = _njit(cache=True, **options)(fn)
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

    return wrap


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

    limit = numba.config.NUMBA_NUM_THREADS
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

    def __enter__(self) -> "num_threads":
        if self.n is not None:
            self.previous = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            numba.set_num_threads(self.previous)
