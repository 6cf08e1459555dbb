"""Match rules: how many mismatches, at which loci, in which direction, counted how.

A patient is matched by a line when the total mismatch count over the loci is at most
``max_mismatches`` and every per-locus limit holds.  Counts follow the matching model:

* **HvG** (default): line alleles the patient lacks; **GvH**: patient alleles the line lacks;
  **bidirectional**: the larger of the two, per locus.
* A missing homozygous allele counts once (``homozygous_count=1``, default) or twice
  (``homozygous_count=2``), as in the 2010 and 2016 consensus tables.
* Null (non-expressed) alleles, e.g. ``A*01:11N`` or ``DRBX*NNNN``, are never mismatches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hlamatch.constants import DEFAULT_DIRECTION, DIRECTIONS, HOMOZYGOUS_COUNTS
from hlamatch.errors import OptionError, UnknownLocusError
from hlamatch.hla.alleles import canonical_locus

__all__ = ["MatchRules"]

_UNLIMITED = 1 << 20


def _loci_tuple(value: Any, name: str) -> tuple[str, ...]:
    """Loci of a rule keyword: a list of names, or one string (``"A,B"`` is two loci); None: none."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    try:
        items = list(items)
    except TypeError:
        items = None
    if items is None or not all(isinstance(x, str) for x in items):
        raise OptionError(f"{name} must be a list of locus names like ['DRB1'], got {value!r}")
    out = tuple(x.strip() for x in items if x.strip())
    if items and not out:  # "," or [""]: names no locus, never read as "no rule"
        raise OptionError(f"{name} {value!r} names no locus: give locus names like ['DRB1'] (or leave {name} out)")
    return out


@dataclass(frozen=True)
class MatchRules:
    """Rules for matching a patient with a donor line.

    Attributes
    ----------
    max_mismatches : int
        Most mismatches in total over the loci (k); 0 = full match.
    direction : {"HvG", "GvH", "bidirectional"}
    homozygous_count : {1, 2}
        What a missing homozygous allele counts.
    require_match : tuple of str
        Loci that must match (0 mismatches there).
    allow_mismatch : tuple of str or None
        If given, mismatches are allowed only at these loci; every other locus must match.
    """

    max_mismatches: int = 0
    direction: str = DEFAULT_DIRECTION
    homozygous_count: int = 1
    require_match: tuple[str, ...] = field(default=())
    allow_mismatch: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        k = self.max_mismatches
        if not isinstance(k, (int, np.integer)) or isinstance(k, (bool, np.bool_)) or k < 0:
            raise OptionError(f"max_mismatches must be a whole number ≥ 0, got {k!r}")
        object.__setattr__(self, "max_mismatches", int(k))
        d = {x.lower(): x for x in DIRECTIONS}.get(self.direction.lower()) if isinstance(self.direction, str) else None
        if d is None:
            raise OptionError(f"unknown direction {self.direction!r} (choose from {', '.join(DIRECTIONS)})")
        object.__setattr__(self, "direction", d)
        h = self.homozygous_count
        if isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)) or h not in HOMOZYGOUS_COUNTS:
            raise OptionError(f"homozygous_count must be one of {', '.join(map(str, HOMOZYGOUS_COUNTS))}, got {h!r}")
        object.__setattr__(self, "homozygous_count", int(h))
        object.__setattr__(self, "require_match", _loci_tuple(self.require_match, "require_match"))
        if self.allow_mismatch is not None:
            object.__setattr__(self, "allow_mismatch", _loci_tuple(self.allow_mismatch, "allow_mismatch"))
            both = sorted(
                {x.upper() for x in self.require_match} & {x.upper() for x in self.allow_mismatch},
                key=lambda x: [y.upper() for y in self.require_match].index(x),
            )
            if both:
                raise OptionError(
                    f"contradictory rules: locus {', '.join(both)} is both in require_match (must match) "
                    f"and in allow_mismatch (may mismatch); name each locus in one of them"
                )

    @property
    def is_default(self) -> bool:
        """Zero HvG mismatches and no locus rules: the foundation rule (fast bitset path)."""
        return self.max_mismatches == 0 and self.direction == DEFAULT_DIRECTION

    @property
    def direction_code(self) -> int:
        return DIRECTIONS.index(self.direction)

    def locus_limits(self, loci: Sequence[str]) -> np.ndarray:
        """Most mismatches allowed at each of ``loci`` (int64 array).

        Raises
        ------
        UnknownLocusError
            A locus of ``require_match`` or ``allow_mismatch`` is not among ``loci``.
        """
        limits = np.full(len(loci), _UNLIMITED, dtype=np.int64)
        for name, group in (("require-match", self.require_match), ("allow-mismatch", self.allow_mismatch or ())):
            for raw in group:
                try:
                    canonical_locus(raw, tuple(loci))
                except UnknownLocusError:
                    raise UnknownLocusError(
                        f"--{name} names locus {raw!r}, which the computation does not use (loci {'~'.join(loci)})"
                    ) from None
        required = {canonical_locus(x, tuple(loci)) for x in self.require_match}
        allowed = (
            None if self.allow_mismatch is None else {canonical_locus(x, tuple(loci)) for x in self.allow_mismatch}
        )
        for l, locus in enumerate(loci):
            if locus in required or (allowed is not None and locus not in allowed):
                limits[l] = 0
        return limits

    def describe(self, loci: Sequence[str] | None = None) -> str:
        """One line saying the rule, e.g. ``HvG mismatches ≤ 1; DRB1 must match; homozygous mismatch counts 1``."""
        parts = [f"{self.direction} mismatches {'= 0' if self.max_mismatches == 0 else f'≤ {self.max_mismatches}'}"]
        if self.max_mismatches > 0 and loci and not self.locus_limits(loci).any():
            # Every locus the computation uses must match: the result is the zero-mismatch one; say so.
            parts[0] = (
                f"{self.direction} mismatches = 0 (≤ {self.max_mismatches} asked, but no locus of "
                f"{'~'.join(loci)} may mismatch)"
            )
        if self.max_mismatches > 0 or self.require_match or self.allow_mismatch is not None:
            if self.require_match:
                parts.append(f"{','.join(self.require_match)} must match")
            if self.allow_mismatch is not None:
                parts.append(f"mismatch allowed only at {','.join(self.allow_mismatch) or 'no locus'}")
        if self.max_mismatches > 0 or self.homozygous_count != 1:
            parts.append(f"homozygous mismatch counts {self.homozygous_count}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_mismatches": int(self.max_mismatches),
            "direction": self.direction,
            "homozygous_count": self.homozygous_count,
            "require_match": list(self.require_match),
            "allow_mismatch": None if self.allow_mismatch is None else list(self.allow_mismatch),
        }


def rules_from(rules: MatchRules | None, rule_options: dict[str, Any]) -> MatchRules:
    """The match rules of an API call: a MatchRules object or keywords, not both.

    Raises
    ------
    OptionError
        A keyword that is no match-rule keyword (the message lists them), ``rules`` that is not
        a MatchRules, or both ``rules`` and keywords.
    """
    keywords = [f.name for f in dataclasses.fields(MatchRules)]
    unknown = [k for k in rule_options if k not in keywords]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise OptionError(
            f"unknown argument{'s' if len(unknown) > 1 else ''} {names} (match-rule keywords: {', '.join(keywords)})"
        )
    if rules is None:
        return MatchRules(**rule_options)
    if not isinstance(rules, MatchRules):
        raise OptionError(
            f"rules must be a hlamatch.MatchRules (e.g. MatchRules(max_mismatches=1)), got {type(rules).__name__} "
            f"{rules!r}; or give the rules as keywords ({', '.join(keywords)})"
        )
    if rule_options:
        raise OptionError("give match rules either as a MatchRules object or as keywords, not both")
    return rules
