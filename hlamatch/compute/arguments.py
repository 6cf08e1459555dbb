"""Validation of the arguments every computation shares (loci, resolutions, tolerance)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hlamatch.constants import INT64_MAX
from hlamatch.errors import OptionError

__all__ = ["loci_argument", "check_tolerance", "resolutions_argument", "check_whole", "check_rules"]


def loci_argument(loci: Sequence[str] | str | None) -> list[str] | None:
    """The ``loci`` argument of the API as a list (``"A,B,DRB1"`` and ``"A~B~DRB1"`` are split).

    Raises
    ------
    OptionError
        ``loci`` is neither None, a string, nor a sequence of strings, or names no locus.
    """
    if loci is None:
        return None
    items = (
        loci.replace("~", ",").split(",")
        if isinstance(loci, str)
        else list(loci)
        if isinstance(loci, Iterable) and not isinstance(loci, (bytes, Mapping))
        else None
    )
    if items is None or not all(isinstance(x, str) for x in items):
        raise OptionError(f"loci must be a list of locus names like ['A', 'B', 'DRB1'], got {loci!r}")
    out = [x.strip() for x in items if x.strip()]
    if not out:
        raise OptionError("loci is empty: give the loci to compare, e.g. ['A', 'B', 'DRB1'] (or leave loci out)")
    return out


def check_tolerance(tolerance: Any) -> float:
    """A ``tolerance`` argument, checked: a finite number in [0, 1).

    Raises
    ------
    OptionError
        Not a number, negative, not finite, or ≥ 1.
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating)):
        raise OptionError(f"tolerance must be a number like 1e-6 (0 = exact), got {tolerance!r}")
    t = float(tolerance)
    if not math.isfinite(t) or t < 0 or t >= 1:
        raise OptionError(f"tolerance must be ≥ 0 and below 1 (e.g. 1e-6; 0 = exact), got {tolerance!r}")
    return t


def resolutions_argument(resolution: str | Sequence[str] | None) -> list[str | None]:
    """The ``resolution`` argument of :func:`coverage` as a list (``"2-field,antigen"`` is split).

    Raises
    ------
    OptionError
        An empty list, a repeated resolution, or something that is not text.
    """
    if resolution is None:
        return [None]
    items = (
        resolution.split(",")
        if isinstance(resolution, str)
        else list(resolution)
        if isinstance(resolution, (list, tuple))
        else None
    )
    if items is None or not all(isinstance(x, str) for x in items):
        raise OptionError(f"resolution must be a name like '2-field' or a list of them, got {resolution!r}")
    out = [x.strip() for x in items if x.strip()]
    if not out:
        raise OptionError("resolution is empty: give one, e.g. '2-field', or a list like '2-field,antigen'")
    if len(set(out)) != len(out):
        raise OptionError(f"resolution {resolution!r} names a resolution twice")
    return list(out)


def check_whole(value: Any, name: str, minimum: int = 1, maximum: int = INT64_MAX) -> int:
    """A count argument, checked: a whole number (not a bool, not a float) in ``[minimum, maximum]``
    (at most int64).

    Raises
    ------
    OptionError
        Not a whole number, or out of range; the message names ``name`` and the range.
    """
    params = (name,) if name.isidentifier() else ()  # a parameter's name: the CLI writes its flag
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise OptionError(f"{name} must be a whole number ≥ {minimum}, got {value!r}", params=params)
    if value > maximum:
        raise OptionError(f"{name} must be a whole number ≥ {minimum} and ≤ {maximum}, got {value!r}", params=params)
    return int(value)


def check_rules(rules: Any) -> Any:
    """A ``rules`` argument, checked: None or a :class:`~hlamatch.hla.rules.MatchRules`.

    Raises
    ------
    TypeError
        Anything else (the message says what to pass).
    """
    from hlamatch.hla.rules import MatchRules

    if rules is not None and not isinstance(rules, MatchRules):
        raise TypeError(
            f"rules must be a hlamatch.MatchRules (e.g. MatchRules(max_mismatches=1)) or None, got "
            f"{type(rules).__name__}"
        )
    return rules
