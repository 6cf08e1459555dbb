"""The bank plan as a picture: cumulative coverage against the number of lines.

Needs the ``plot`` extra (``pip install 'hlamatch[plot]'``).  matplotlib is imported inside
:func:`plot_plan` only, and the figure is drawn on matplotlib's Agg canvas through the
object-oriented :class:`matplotlib.figure.Figure` API: no display is needed, and neither pyplot's
global state nor the caller's chosen backend is touched.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hlamatch.errors import MissingExtraError, OptionError

__all__ = ["PLOT_SUFFIXES", "check_plot_path", "plot_plan", "write_atomically"]

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
_MISSING_MATPLOTLIB = "plots need matplotlib: pip install 'hlamatch[plot]'"
_POP_PREFIX = "coverage_"


def _import_matplotlib() -> tuple[Any, Any, Any]:
    """``(Figure, FigureCanvasAgg, MaxNLocator)``, or MissingExtraError naming the extra."""
    try:
        import matplotlib  # noqa: F401  (first, so that a blocked top-level package is seen)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise MissingExtraError(_MISSING_MATPLOTLIB) from e
    return Figure, FigureCanvasAgg, MaxNLocator


def _fraction(value: Any, key: str, i: int) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= float(value) <= 1.0):
        raise OptionError(f"plan step {i}: {key!r} must be a coverage between 0 and 1, found {value!r}")
    return float(value)


def _curves(steps: Any) -> tuple[list[int], list[float], list[float], list[float], dict[str, list[float]]]:
    """Validate the plan rows; return step numbers and curves in percent, in step order.

    ``(x, coverage, lower, upper, {population: coverage})``; messages give the row's position
    in ``steps``.
    """
    if hasattr(steps, "to_dicts"):  # a polars DataFrame of the plan
        steps = steps.to_dicts()
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        raise OptionError(f"steps must be a sequence of dicts (one per plan step), found {type(steps).__name__}")
    if len(steps) == 0:
        raise OptionError("steps is empty: a plan has at least step 0 (the existing bank)")
    pops: list[str] = []  # in order of first appearance
    parsed = []
    for i, row in enumerate(steps):
        if not isinstance(row, Mapping):
            raise OptionError(f"plan step {i} must be a dict, found {type(row).__name__}")
        for key in ("step", "coverage"):
            if key not in row:
                raise OptionError(f"plan step {i} has no {key!r} value")
        step = row["step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise OptionError(f"plan step {i}: 'step' must be a non-negative integer, found {step!r}")
        cov = _fraction(row["coverage"], "coverage", i)
        # A missing (or None) bound is the coverage itself.
        lo = cov if row.get("lower") is None else _fraction(row["lower"], "lower", i)
        hi = cov if row.get("upper") is None else _fraction(row["upper"], "upper", i)
        if lo > hi:
            raise OptionError(f"plan step {i}: lower bound {lo!r} is above upper bound {hi!r}")
        per_pop = {}
        for key, value in row.items():
            # A nested value (e.g. a ``coverage_by_population`` dict) is not a curve; a column with
            # no value at all (only None) draws nothing.
            if (
                isinstance(key, str)
                and key.startswith(_POP_PREFIX)
                and len(key) > len(_POP_PREFIX)
                and value is not None
                and not isinstance(value, Mapping)
            ):
                pop = key[len(_POP_PREFIX) :]
                if pop not in pops:
                    pops.append(pop)
                per_pop[pop] = _fraction(value, key, i)
        parsed.append((int(step), cov, lo, hi, per_pop))
    numbers_seen = [p[0] for p in parsed]
    if len(set(numbers_seen)) != len(numbers_seen):
        raise OptionError(f"plan steps repeat a step number: {sorted(numbers_seen)}")
    parsed.sort(key=lambda p: p[0])
    return (
        [p[0] for p in parsed],
        [100 * p[1] for p in parsed],
        [100 * p[2] for p in parsed],
        [100 * p[3] for p in parsed],
        {pop: [100 * p[4][pop] if pop in p[4] else math.nan for p in parsed] for pop in pops},
    )


def _check_path(path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    if out.suffix.lower() not in PLOT_SUFFIXES:
        raise OptionError(f"plot file {str(out)!r} must end in .png, .svg or .pdf")
    if not out.parent.is_dir():
        raise OptionError(f"cannot write plot file {str(out)!r}: folder {str(out.parent)!r} does not exist")
    if os.path.lexists(out) and not out.is_file():  # a folder, FIFO, device (/dev/full) or dangling link
        raise OptionError(f"cannot write plot file {str(out)!r}: it exists and is not a regular file")
    if not os.access(out.parent, os.W_OK):
        raise OptionError(f"cannot write plot file {str(out)!r}: folder {str(out.parent)!r} is not writable")
    return out


def write_atomically(out: Path, write: Any) -> Path:
    """Call ``write(temporary_path)``, then move the file onto ``out`` (:func:`os.replace`): ``out`` is
    either left as it was or holds the whole new file, never a partial one.  The temporary file
    lies in the same folder (a rename never crosses file systems) and is removed on failure.

    Raises
    ------
    OptionError
        The file cannot be written (a full disk, a read-only or virtual folder such as ``/proc``);
        the message names ``out`` and the reason.
    """
    import tempfile

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=out.suffix)
        os.close(fd)
        write(tmp)
        os.replace(tmp, out)
        tmp = None
    except OSError as e:
        raise OptionError(f"cannot write plot file {str(out)!r}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return out


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """Check, before a long computation, that :func:`plot_plan` will be able to write ``path``.

    Checks the suffix, that the folder exists, and that matplotlib is installed (so a missing
    extra is reported before the plan is computed, not after).

    Parameters
    ----------
    path : str or path-like
        The plot file to be written.

    Returns
    -------
    pathlib.Path
        ``path`` as a Path.

    Raises
    ------
    OptionError
        The suffix is not ``.png``, ``.svg`` or ``.pdf`` (any case), or the folder does not exist.
    MissingExtraError
        matplotlib is not installed (``pip install 'hlamatch[plot]'``).
    """
    out = _check_path(path)
    _import_matplotlib()
    return out


def plot_plan(
    steps: Sequence[Mapping[str, Any]] | Any,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    target: float | None = None,
) -> Path:
    """Draw the cumulative coverage of a bank plan and write it to ``path``.

    Coverage (in %) is plotted against the number of lines added (step 0 is the existing bank).
    A shaded band shows the ``[lower, upper]`` bounds where they differ (unlisted haplotype mass),
    a dashed horizontal line marks ``target``, and every ``coverage_<POP>`` column adds one curve
    for that population.

    Parameters
    ----------
    steps : sequence of dict, or a polars DataFrame
        One row per plan step with at least ``step`` (int >= 0; 0 = the existing bank) and
        ``coverage`` (float in [0, 1]); optionally ``line`` (str, not drawn), ``lower`` and
        ``upper`` (floats in [0, 1]; a missing one defaults to ``coverage``) and
        ``coverage_<POP>`` per population (a missing or None value leaves a gap; dict values,
        such as a ``coverage_by_population`` column, are not curves and are ignored).  Rows are
        drawn in ``step`` order.
    path : str or path-like
        Output file; its suffix (``.png``, ``.svg`` or ``.pdf``) sets the format.  The folder
        must exist.
    title : str, optional
        Figure title; default ``"Bank plan: cumulative coverage"``.
    target : float, optional
        Coverage goal in [0, 1], drawn as a dashed horizontal line.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OptionError
        ``path`` has another suffix, its folder does not exist or is not writable, it exists and is
        not a regular file, or writing it fails (the file is then left as it was); ``steps`` is empty or a row
        lacks ``step``/``coverage`` or holds a value out of range; ``target`` is outside [0, 1].
    MissingExtraError
        matplotlib is not installed (``pip install 'hlamatch[plot]'``).
    """
    out = _check_path(path)
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, numbers.Real) or not (0.0 <= target <= 1.0)
    ):
        raise OptionError(f"target must be a coverage between 0 and 1, found {target!r}")
    x, cov, lower, upper, per_pop = _curves(steps)
    pops = list(per_pop)

    Figure, FigureCanvasAgg, MaxNLocator = _import_matplotlib()
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if any(hi > lo for lo, hi in zip(lower, upper)):
        ax.fill_between(x, lower, upper, color="C0", alpha=0.2, linewidth=0, label="bounds (unlisted haplotype mass)")
    ax.plot(x, cov, color="C0", marker="o", linewidth=2.2, label="all populations" if pops else "coverage")
    for j, pop in enumerate(pops):
        ax.plot(x, per_pop[pop], color=f"C{(j + 1) % 10}", marker=".", linewidth=1.2, label=pop)
    if target is not None:
        ax.axhline(100 * target, color="0.3", linestyle="--", linewidth=1.2, label=f"target {100 * target:.4g}%")
    ax.set_xlabel("number of lines added to the bank (0 = existing bank)")
    ax.set_ylabel("cumulative coverage (% of patients)")
    ax.set_title(title if title is not None else "Bank plan: cumulative coverage")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # Up to 100% when the curves come near it; otherwise to the next 10% above them, so that a
    # plan reaching 15% is not drawn flat.
    top = max([*upper, *(v for vs in per_pop.values() for v in vs if v == v), 100 * (target or 0.0)])
    ax.set_ylim(0, 100 if top > 60 else max(10, 10 * math.ceil(top * 1.1 / 10)))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return write_atomically(out, lambda tmp: fig.savefig(tmp, format=out.suffix.lower()[1:]))
