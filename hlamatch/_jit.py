"""The one place where numba options are set.

Every kernel in :mod:`hlamatch.kernels` is decorated with :func:`jit`.  Policy:

* ``cache=True`` by default: the CLI runs in fresh processes, and cached machine code turns a
  multi-second compile into a fast load.  ``HLAMATCH_NUMBA_CACHE=0`` turns caching off (read
  once, at import).  Cached code freezes global values, so kernels read no mutable globals.
* ``fastmath`` off: coverage is a sum of small probabilities compared across versions and
  populations; reproducibility is worth more than a few percent of speed.
* ``nogil=True``: kernels may run in threads of a host application.
* No eager signatures: kernels compile on first call (see :func:`hlamatch.warmup`).

A CI check (``.ci/run``) fails if any other file passes ``cache=`` or ``fastmath=`` to numba.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numba

__all__ = ["jit", "CACHE", "prange", "num_threads"]

CACHE: bool = os.environ.get("HLAMATCH_NUMBA_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")
prange = numba.prange


def jit(*, parallel: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit`` with the project defaults; ``parallel=True`` for kernels that use ``prange``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        return numba.njit(cache=CACHE, fastmath=False, nogil=True, parallel=parallel)(fn)

    return wrap


class num_threads:
    """Context manager: run kernels with ``n`` numba threads, restoring the previous count.

    ``None`` leaves the count alone.  Raises :class:`hlamatch.errors.OptionError` for a count
    outside ``1 .. numba.config.NUMBA_NUM_THREADS``.
    """

    def __init__(self, n: int | None):
        self.n = n
        self.previous: int | None = None

    def __enter__(self) -> "num_threads":
        if self.n is not None:
            from .errors import OptionError

            limit = numba.config.NUMBA_NUM_THREADS
            if not 1 <= self.n <= limit:
                raise OptionError(f"threads must be between 1 and {limit} on this machine, got {self.n}")
            self.previous = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            numba.set_num_threads(self.previous)
