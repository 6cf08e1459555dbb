"""Optional and heavy imports, loaded on first use (polars); numba's environment variables, checked
before numba is imported (:func:`check_numba_environment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


class _LazyPolars:
    """``polars``, imported on first use: a table loaded from the cache (:mod:`hlamatch._cache`)
    needs no polars, and importing it costs a quarter of a second of a command's start-up."""

    def __getattr__(self, name: str) -> Any:
        import polars

        globals()["pl"] = polars
        return getattr(polars, name)


if TYPE_CHECKING:  # polars' own types for the type checker; the lazy stand-in at run time
    import polars as pl
else:
    pl = _LazyPolars()


#: The values of ``NUMBA_THREADING_LAYER`` numba knows (a layer, or a property it picks one by).
THREADING_LAYERS = ("default", "safe", "threadsafe", "forksafe", "tbb", "omp", "workqueue")


def check_numba_environment() -> None:
    """Check the environment variables numba reads when it is imported, before it is.

    numba turns a bad ``NUMBA_NUM_THREADS`` or ``NUMBA_THREADING_LAYER`` into a traceback when the
    first parallel kernel starts (or a warning it then ignores); here each is one error naming the
    variable.

    Raises
    ------
    hlamatch.errors.OptionError
        ``NUMBA_NUM_THREADS`` is set but not a whole number >= 1, or ``NUMBA_THREADING_LAYER``
        names no layer numba knows, or one that cannot be loaded here.
    """
    import os

    from hlamatch.errors import OptionError

    threads = os.environ.get("NUMBA_NUM_THREADS")
    if threads is not None:
        try:
            n = int(threads)
        except ValueError:
            n = 0
        if n < 1:
            raise OptionError(
                f"the environment variable NUMBA_NUM_THREADS is {threads!r}: set it to a whole number "
                f"of threads >= 1 (e.g. {os.cpu_count() or 1}, the cores of this machine), or unset it"
            )
    layer = os.environ.get("NUMBA_THREADING_LAYER")
    if layer is not None and layer not in THREADING_LAYERS:
        raise OptionError(
            f"the environment variable NUMBA_THREADING_LAYER is {layer!r}, not a numba threading layer: "
            f"set it to one of {', '.join(THREADING_LAYERS)}, or unset it"
        )
    if layer is None or layer == "default":
        return
    # A layer asked for by name must load (tbb needs the tbb package): numba's threads start now.
    from numba.np.ufunc import parallel

    try:
        parallel._launch_threads()
    except ValueError as e:
        from hlamatch.errors import OptionError

        hint = " ".join(str(e).split())
        raise OptionError(
            f"the environment variable NUMBA_THREADING_LAYER asks numba for the threading layer {layer!r}, "
            f"which cannot be loaded here ({hint}): install what it needs, or unset the variable"
        ) from None
