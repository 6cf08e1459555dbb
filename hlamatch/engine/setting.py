"""The engine setting of the process: local, or Dask (with its scheduler)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hlamatch._settings import current, set_defaults, using
from hlamatch.errors import HlamatchError, MissingExtraError, OptionError

__all__ = ["Progress", "ENGINES", "EngineSetting", "set_engine", "use_engine", "current_engine", "SchedulerError"]

#: Progress callback: ``progress(label, fraction_done)``, fraction in [0, 1].
Progress = Callable[[str, float], None]


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


#: The default setting (``Settings.engine`` None): this process.
_LOCAL = EngineSetting()


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
    if min_ranges is not None and (
        isinstance(min_ranges, (bool, np.bool_)) or not isinstance(min_ranges, (int, np.integer)) or min_ranges < 1
    ):
        raise OptionError(f"min_ranges must be a whole number >= 1 (or None), got {min_ranges!r}")
    if engine == "dask":
        _import_distributed()
    return EngineSetting(
        engine, scheduler.strip() if scheduler else None, None if min_ranges is None else int(min_ranges)
    )


def set_engine(
    engine: str | None = "local", scheduler: str | None = None, *, min_ranges: int | None = None
) -> EngineSetting:
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

    A process setting, seen by every thread (except inside a :class:`use_engine` block of its own).
    """
    return set_defaults(engine=_checked(engine, scheduler, min_ranges)).engine or _LOCAL


class use_engine(using):
    """Context manager: run the block on an engine (see :func:`set_engine`), then restore the previous one.

    The arguments are checked when the manager is made, so an API function can check them
    before doing any work.  Clusters stay up after the block (they are reused); see
    :func:`close_clusters`.  The block's engine holds in this thread only: another thread running
    meanwhile keeps its own (see :mod:`hlamatch._settings`).

    >>> from hlamatch.engine import current_engine, use_engine
    >>> with use_engine("local", min_ranges=3):
    ...     current_engine().min_ranges
    3
    >>> current_engine().min_ranges is None
    True
    """

    def __init__(self, engine: str | None = "local", scheduler: str | None = None, *, min_ranges: int | None = None):
        self.setting = _checked(engine, scheduler, min_ranges)
        super().__init__(engine=self.setting)

    def __enter__(self) -> use_engine:
        super().__enter__()
        return self


def current_engine() -> EngineSetting:
    """The engine setting in force here (see :func:`set_engine` and :class:`use_engine`)."""
    return current().engine or _LOCAL


def _import_distributed() -> Any:
    """The ``distributed`` module, or MissingExtraError naming the extra."""
    try:
        import dask  # noqa: F401  (imported first so that a blocked top-level package is seen)
        import distributed
    except ImportError as e:
        raise MissingExtraError(_MISSING_DASK) from e
    return distributed
