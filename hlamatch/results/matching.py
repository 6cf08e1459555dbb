"""Results of patient look-up: per line and per patient."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PatientMatch", "LineMatch", "ASSESSABLE", "NOT_ASSESSABLE", "ERROR"]

ASSESSABLE = "assessed"


NOT_ASSESSABLE = "not assessable"


ERROR = "error"


@dataclass(frozen=True)
class LineMatch:
    """How one line compares with one patient.

    Attributes
    ----------
    line : str
    mismatches : int
        Total count under the rules' direction and homozygous count.
    per_locus : dict
        Locus → count.
    mismatched : dict
        Locus → the alleles behind the count: for HvG the line's alleles the patient lacks, for
        GvH the patient's alleles the line lacks, for bidirectional both (``"HvG:…; GvH:…"``).
    matched : bool
        Within the rules (total ≤ k and every per-locus limit).
    within_limits : bool
        Every per-locus limit holds (whatever the total).
    name : str or None
        The line's name when it has one of its own (a lines file's ``name`` column); else None.
    """

    line: str
    mismatches: int
    per_locus: dict[str, int]
    mismatched: dict[str, list[str]]
    matched: bool
    within_limits: bool
    name: str | None = None


@dataclass(frozen=True)
class PatientMatch:
    """Result for one patient: status, reason, and the lines, best first.

    Attributes
    ----------
    lines : tuple of LineMatch
        The lines asked for (``details`` of :func:`match_patients`), best first.
    n_matched : int
        Number of lines matching under the rules.
    best : int or None
        Fewest mismatches among matching lines.
    best_within_limits : int or None
        Fewest mismatches among lines within the per-locus limits, whatever the total.
    """

    id: str
    where: str
    status: str
    reason: str | None = None
    lines: tuple[LineMatch, ...] = field(default=())
    n_matched: int = 0
    best: int | None = None
    best_within_limits: int | None = None

    @property
    def matched(self) -> bool:
        return self.n_matched > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient": self.id,
            "status": self.status,
            "reason": self.reason,
            "matched": self.matched if self.status == ASSESSABLE else None,
            "matching_lines": self.n_matched if self.status == ASSESSABLE else None,
            "best_mismatches": self.best,
            "lines": [
                {
                    "line": m.line,
                    **({"name": m.name} if m.name is not None else {}),
                    "matched": m.matched,
                    "mismatches": m.mismatches,
                    "per_locus": m.per_locus,
                    "mismatched_alleles": m.mismatched,
                }
                for m in self.lines
            ],
        }
