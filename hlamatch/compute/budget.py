"""The memory budget of a request: sizes are estimated from the problem's shape and refused up front.

A request's large arrays (line bitsets and gain matrices: rows × lines, Monte Carlo draws, the
exact plan's patient classes, the supply model's matcher pairs) are estimated before they are
allocated or looped over; past the budget the request ends with one :class:`OptionError` naming
the estimate, the budget and the option to change, instead of a ``MemoryError`` (or hours of work)
later.

The budget, in bytes: the ``memory_budget`` setting (:mod:`hlamatch._settings`), else the
``HLAMATCH_MEMORY_BUDGET`` environment variable (bytes, or with a suffix ``K``, ``M``, ``G``, ``T``:
``8G``), else half the physical memory (4 GiB where it cannot be read).
"""

from __future__ import annotations

import math
import os

from hlamatch.errors import OptionError

__all__ = [
    "ENV",
    "TIME_ENV",
    "budget_bytes",
    "check_bytes",
    "bitset_bytes",
    "check_top_lines",
    "describe",
    "time_budget",
    "check_seconds",
]

#: Environment variable that sets the budget (bytes, or a number with K, M, G or T).
ENV = "HLAMATCH_MEMORY_BUDGET"

#: Environment variable that sets the time budget of sampled computations (seconds).
TIME_ENV = "HLAMATCH_TIME_BUDGET"

#: The default time budget: an hour.
DEFAULT_SECONDS = 3600.0

_FALLBACK = 4 * 2**30
_SUFFIX = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _physical() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 2 * _FALLBACK


def _parse(text: str) -> int:
    t = text.strip().upper()
    t = t[:-2] if t.endswith("IB") else t  # 8GiB reads as 8G
    unit = t[-1:] if t[-1:] in _SUFFIX else ""
    number = t[: len(t) - len(unit)] if unit else t
    try:
        value = float(number) * _SUFFIX[unit]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise OptionError(f"{ENV} must be a number of bytes > 0 (e.g. 8G), got {text!r}")
    return int(value)


def budget_bytes() -> tuple[int, str]:
    """(the budget in bytes, where it comes from: the setting, the environment variable or the default)."""
    from hlamatch._settings import current

    value = current().memory_budget
    if value is not None:
        return int(value), "the memory_budget setting"
    env = os.environ.get(ENV, "").strip()
    if env:
        return _parse(env), ENV
    physical = _physical()
    return max(1, physical // 2), f"half the physical memory; {ENV} changes it"


def describe(n: float) -> str:
    """Bytes in words: ``1.5 GiB``."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_bytes(estimate: float, what: str, change: str, params: tuple[str, ...] = ()) -> None:
    """Refuse a request whose estimated allocation ``estimate`` (bytes) exceeds the budget.

    ``what`` says what would be allocated ("line bitsets of 2,000,000 rows × 5,000 lines"),
    ``change`` which parameter makes it smaller ("fewer candidates (n_candidates)"), naming the
    parameters of ``params`` by their own names (the CLI writes them as flags, see
    :class:`hlamatch.errors.HlamatchError`).
    """
    budget, source = budget_bytes()
    if estimate > budget:
        raise OptionError(
            f"{what} would need about {describe(estimate)} (memory budget {describe(budget)}, {source}): use {change}",
            params=params,
        )


def bitset_bytes(n_rows: int, n_loci: int, n_lines: int) -> int:
    """Bytes of the line bitsets of ``n_rows`` table rows (two planes of ``n_loci`` × words of 64
    lines, as :func:`hlamatch.compute.encode.line_bitsets` makes them, plus the merged copy)
    and of one bool row × line matrix (gains, cover rows)."""
    words = -(-max(int(n_lines), 1) // 64)
    return int(n_rows) * (4 * max(int(n_loci), 1) * words * 8 + int(n_lines))


def check_top_lines(n_lines: int, n_rows: int) -> None:
    """Refuse the ``n_lines`` most frequent haplotypes of a table of ``n_rows`` rows as a bank for
    zero-mismatch genotype-level coverage before the lines are built (a second per 25,000 lines).

    Such lines are table haplotypes, each its own allele class and merged row, so the bitsets
    (:func:`hlamatch.compute.encode.allele_classes`) need at least ``2 × lines × words × 8`` bytes.
    """
    k = min(int(n_lines), int(n_rows)) + 1
    words = -(-max(int(n_lines), 1) // 64)
    check_bytes(
        2 * k * words * 8,
        f"the bitsets of the {n_lines:,} most frequent haplotypes as lines over {n_rows:,} table rows",
        "fewer lines (top), or level 'haplotype'",
        ("top", "level"),
    )


def time_budget() -> tuple[float, str]:
    """(the time budget in seconds, where it comes from: the setting, the environment variable or the default)."""
    from hlamatch._settings import current

    value = current().time_budget
    if value is not None:
        return float(value), "the time_budget setting"
    env = os.environ.get(TIME_ENV, "").strip()
    if env:
        try:
            seconds = float(env)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds <= 0:
            raise OptionError(f"{TIME_ENV} must be a number of seconds > 0 (e.g. 600), got {env!r}")
        return seconds, TIME_ENV
    return DEFAULT_SECONDS, f"one hour by default; {TIME_ENV} changes it"


def seconds_text(t: float) -> str:
    """A duration in words: ``42 s``, ``3.5 min``, ``2.1 h``, ``12 days``."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if t >= size:
            return f"{t / size:.3g} {unit}"
    return f"{t:.2g} s"


def check_seconds(estimate: float, what: str, change: str, params: tuple[str, ...] = ()) -> None:
    """Refuse work projected (from its first steps) to take longer than the time budget (``change``
    and ``params`` as for :func:`check_bytes`)."""
    budget, source = time_budget()
    if estimate > budget:
        raise OptionError(
            f"{what} would take about {seconds_text(estimate)} (time budget {seconds_text(budget)}, "
            f"{source}): use {change}",
            params=params,
        )
