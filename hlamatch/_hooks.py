"""Process-wide callbacks the library calls and a front end sets (the CLI, a notebook).

Kept apart from :mod:`hlamatch._jit` because setting one must not import numba: the CLI sets the
compile notice before it knows whether a command will compile anything.

* :func:`on_compile`: called once per process, just before the first kernel compiles (numba found
  no cached machine code, or caching is off), with one line saying so.  The library never prints;
  the CLI prints the line on standard error when that is a terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

from collections.abc import Callable

from hlamatch._settings import claim, current, set_defaults

__all__ = ["on_compile", "compiling", "COMPILE_CACHED", "COMPILE_UNCACHED"]

#: What the compile notice says when compiled kernels are cached on disk (the usual case).
COMPILE_CACHED = "compiling kernels (once per installation; later runs load them from the cache)…"
#: … and when they are not (``HLAMATCH_NUMBA_CACHE=0``, or no writable cache folder).
COMPILE_UNCACHED = "compiling kernels (a few seconds; the kernel cache is off, so every run compiles)…"


def on_compile(callback: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Set the compile notice's callback for the process (None: say nothing, the default); returns the
    previous one.  (``hlamatch._settings.using(on_compile=...)`` sets one for a block of one thread.)"""
    return set_defaults(on_compile=callback).on_compile


def compiling(cached: bool) -> None:
    """A kernel is about to compile: call the callback in force with the notice, the first time in the
    process only (whatever the threads)."""
    callback = current().on_compile
    if callback is None or not claim("compile_announced"):
        return
    callback(COMPILE_CACHED if cached else COMPILE_UNCACHED)
