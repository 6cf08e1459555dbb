"""Results of patient look-up: per line and per patient."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from hlamatch.results.definitions import Definition
from hlamatch.results.display import Report, json_ready, percent

if TYPE_CHECKING:
    from hlamatch.hla.rules import MatchRules

__all__ = [
    "PatientMatch",
    "LineMatch",
    "MatchReport",
    "CohortReport",
    "line_rows",
    "ASSESSABLE",
    "NOT_ASSESSABLE",
    "ERROR",
]

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
        """True when some line matches under the rules."""
        return self.n_matched > 0

    def to_dict(self) -> dict[str, Any]:
        """The patient's result as ``hlamatch match --format json`` prints it: ``patient``, ``status``,
        ``reason``, ``matched``, ``matching_lines``, ``best_mismatches`` and ``lines`` (each: ``line``,
        ``name`` when it has one, ``matched``, ``mismatches``, ``per_locus``, ``mismatched_alleles``)."""
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


def line_rows(rows: Iterable[Mapping[str, Any]], context: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of ``hlamatch match --format csv``: one per patient and line (one with empty line
    columns for a patient without lines), after the shared columns in ``context`` (loci,
    resolution, rule); ``mismatched_alleles`` as ``LOCUS: a,b; LOCUS: c``.

    Parameters
    ----------
    rows : iterable of dict
        Patients' results (:meth:`PatientMatch.to_dict`).
    context : dict, optional
        Columns every row starts with.

    Examples
    --------
    >>> line_rows([{"patient": "P1", "status": "not assessable", "reason": "not typed at DRB1", "lines": []}])
    [{'patient': 'P1', 'status': 'not assessable', 'reason': 'not typed at DRB1', 'line': None, 'matched': None, \
'mismatches': None, 'mismatched_alleles': None}]
    """
    flat: list[dict[str, Any]] = []
    for r in rows:
        base = {**(context or {}), "patient": r["patient"], "status": r["status"], "reason": r["reason"] or None}
        if not r["lines"]:
            flat.append({**base, "line": None, "matched": None, "mismatches": None, "mismatched_alleles": None})
        for m in r["lines"]:
            flat.append(
                {
                    **base,
                    "line": m["line"],
                    **({"name": m["name"]} if "name" in m else {}),
                    "matched": m["matched"],
                    "mismatches": m["mismatches"],
                    "mismatched_alleles": "; ".join(f"{k}: {','.join(v)}" for k, v in m["mismatched_alleles"].items()),
                }
            )
    return flat


class MatchReport(Report, Sequence[PatientMatch]):
    """The result of :func:`~hlamatch.match_patients`: one :class:`PatientMatch` per patient, in
    input order, and what they were compared under.

    A sequence of :class:`PatientMatch` (it compares equal to a list of the same results);
    ``to_polars()`` gives the ``--format csv`` output of ``hlamatch match`` (one row per patient
    and line, :func:`line_rows`) and ``to_dict()["patients"]`` its ``--format json`` output;
    notebooks show it as a table.

    Attributes
    ----------
    loci : tuple of str
        The loci compared.
    resolution : str
        The resolution the typings and lines were brought to.
    rules : MatchRules
        The match rules.
    lines : tuple of str
        The lines, at ``loci`` and ``resolution``.
    line_names : tuple of str or None
        Each line's name when some line has a name of its own (else None).
    """

    def __init__(
        self,
        results: Iterable[PatientMatch],
        loci: Sequence[str],
        resolution: str,
        rules: MatchRules,
        lines: Sequence[str] = (),
        line_names: Sequence[str] | None = None,
    ):
        self._results = tuple(results)
        self.loci = tuple(loci)
        self.resolution = resolution
        self.rules = rules
        self.lines = tuple(lines)
        self.line_names = None if line_names is None else tuple(line_names)

    @overload
    def __getitem__(self, i: int) -> PatientMatch: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[PatientMatch, ...]: ...

    def __getitem__(self, i: int | slice) -> PatientMatch | tuple[PatientMatch, ...]:
        return self._results[i]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[PatientMatch]:
        return iter(self._results)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MatchReport):
            return self._results == other._results and self.context() == other.context()
        if isinstance(other, (list, tuple)):
            return list(self._results) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @property
    def rule(self) -> str:
        """The match rules in words, at :attr:`loci`."""
        return self.rules.describe(self.loci)

    def context(self) -> dict[str, Any]:
        """What the patients were compared under, JSON-ready: ``level`` (genotype), ``loci``,
        ``resolution``, ``lines``, ``line_names`` (when the lines have names), ``rule`` and ``rules``."""
        return {
            "level": "genotype",
            "loci": list(self.loci),
            "resolution": self.resolution,
            "lines": list(self.lines),
            **({"line_names": list(self.line_names)} if self.line_names is not None else {}),
            "rule": self.rule,
            "rules": self.rules.to_dict(),
        }

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per patient (:meth:`PatientMatch.to_dict`): the rows ``hlamatch match --format json`` prints."""
        return [r.to_dict() for r in self._results]

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document: :meth:`context` and ``patients`` (:meth:`to_dicts`)."""
        out: dict[str, Any] = json_ready({**self.context(), "patients": self.to_dicts()})
        return out

    def _table_rows(self) -> list[dict[str, Any]]:
        context = {"loci": "~".join(self.loci), "resolution": self.resolution, "rule": self.rule}
        return line_rows(self.to_dicts(), context)

    def _summary(self) -> str:
        count = {s: sum(1 for r in self._results if r.status == s) for s in (ASSESSABLE, NOT_ASSESSABLE, ERROR)}
        matched = sum(1 for r in self._results if r.status == ASSESSABLE and r.matched)
        n = len(self._results)
        return (
            f"{n} patient{'s' if n != 1 else ''}, {matched} matched, {count[ASSESSABLE]} assessed, "
            f"{count[NOT_ASSESSABLE]} not assessable, {count[ERROR]} error(s), loci {'~'.join(self.loci)}, "
            f"{self.resolution}, {len(self.lines)} line(s)"
        )


#: Keys of a cohort row before the counts, and after them (:meth:`CohortReport.to_dict`).
_HEAD = ("population", "level", "loci", "resolution", "lines", "line_names")
_TAIL = ("unlisted_mass", "rule", "rules", "definition", "table")


class CohortReport(Report, Mapping[str, Any]):
    """The result of :func:`~hlamatch.cohort_coverage`: empirical coverage of a typed cohort.

    A mapping with the counts and figures (``patients``, ``assessed``, ``not_assessable``,
    ``errors``, ``matched``, ``coverage``, ``lower``, ``upper``, ``assessed_coverage``,
    ``distribution``: ``report["lower"]``); ``to_dict()`` adds what was computed (when known:
    ``population``, ``loci``, ``resolution``, ``lines``, ``rule``, ``definition``, ``table`` …) and
    is the row ``hlamatch coverage --cohort FILE --format json`` prints; ``to_polars()`` gives its
    ``--format csv`` output; notebooks show it as a table.
    """

    def __init__(self, figures: Mapping[str, Any], context: Mapping[str, Any] | None = None):
        self._figures = dict(figures)
        self._context = dict(context or {})

    def __getitem__(self, key: str) -> Any:
        return self._figures[key]

    def __len__(self) -> int:
        return len(self._figures)

    def __iter__(self) -> Iterator[str]:
        return iter(self._figures)

    def with_context(self, **context: Any) -> CohortReport:
        """The same figures with more of what was computed (``population``, ``table`` …)."""
        return CohortReport(self._figures, {**self._context, **context})

    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready row: what was computed (where known), then the figures (non-finite numbers as None)."""
        ctx = self._context
        row = {
            **{k: ctx[k] for k in _HEAD if k in ctx},
            **self._figures,
            **{k: ctx[k] for k in _TAIL if k in ctx},
            **{k: v for k, v in ctx.items() if k not in _HEAD and k not in _TAIL},
        }
        out: dict[str, Any] = json_ready(row)
        return out

    def _table_rows(self) -> list[dict[str, Any]]:
        return [self.to_dict()]

    def _summary(self) -> str:
        f, where = self._figures, self._context.get("population")
        return (
            f"{f'{where}, ' if where else ''}{f['patients']} patients, {f['assessed']} assessed, "
            f"{f['not_assessable']} not assessable, {f['errors']} error(s), {f['matched']} matched, "
            f"coverage {percent(f['coverage'])} [{percent(f['lower'])}, {percent(f['upper'])}]"
        )


def cohort_context(report: MatchReport) -> dict[str, Any]:
    """What a cohort's coverage was computed under, from the patients' :class:`MatchReport`: its
    :meth:`~MatchReport.context`, no unlisted mass and the cohort definition."""
    return {**report.context(), "unlisted_mass": None, "definition": Definition.COHORT_GENOTYPE}
