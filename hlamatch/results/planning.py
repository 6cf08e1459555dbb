"""Results of rank and plan: ranked candidates, plan steps and their reports."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from hlamatch.errors import OptionError
from hlamatch.results.definitions import Definition
from hlamatch.results.display import Report, distinct, json_ready, percent

__all__ = ["RankedCandidate", "RankReport", "PlanStep", "PlanReport"]

# ====================================================================== results


@dataclass(frozen=True)
class RankedCandidate:
    """One candidate line's marginal value for the bank.

    Attributes
    ----------
    rank : int
        1 = largest gain (ties: the candidate listed first).
    line, name : str
        The line at the computation's loci and resolution, and its name: its own (a lines file's
        ``name`` column), or ``line`` when it has none.
    population : str
        The population, or ``"weighted"`` for a weighted mix.
    gain : float
        coverage(bank + line) − coverage(bank), lower bound.
    coverage, lower, upper : float
        Coverage after adding the line (``coverage`` = ``lower``).
    frequency : float or None
        Frequency of the line's haplotype (homozygous lines; mixed frequency for a mix).
    p_donor, people_per_donor : float
        Probability that a random person has the line's genotype (HWE, with inbreeding), and
        its inverse: people to type per donor found.
    p_in_registry : tuple of float
        Probability that a registry of R typed people holds such a donor, for each of the report's
        ``registry_sizes`` R (empty when none was asked).
    coverage_by_population : dict or None
        For a weighted mix, each population's coverage after adding the line.
    """

    rank: int
    line: str
    name: str
    population: str
    gain: float
    coverage: float
    lower: float
    upper: float
    frequency: float | None
    p_donor: float
    people_per_donor: float
    p_in_registry: tuple[float, ...] = ()
    coverage_by_population: dict[str, float] | None = None


@dataclass(frozen=True)
class ReportContext:
    level: str
    loci: tuple[str, ...]
    resolution: str
    rule: str
    rules: dict[str, Any]
    definition: Definition  # a str equal to its text (Definition.GAIN_…)
    table: str
    bank: tuple[str, ...]
    weights: dict[str, float] | None
    tolerance: float = 0.0
    bank_names: tuple[str, ...] | None = None  # when some line has a name of its own


class _Rows(Report):
    """A report is a sequence of its rows (``_items``) and exposes its context's fields."""

    _items = ""
    context: ReportContext

    def __getattr__(self, name: str) -> Any:
        ctx = self.__dict__.get("context")
        if ctx is not None and name in ReportContext.__dataclass_fields__:
            return getattr(ctx, name)
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(getattr(self, self._items))

    def __iter__(self) -> Iterator[Any]:
        return iter(getattr(self, self._items))

    def __getitem__(self, i: int) -> Any:
        return getattr(self, self._items)[i]

    def _table_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.to_dicts()
        return rows

    def _about(self, noun: str, populations: list[str]) -> str:
        """The start of a summary: count, table and populations, loci, level."""
        n, ctx = len(self), self.context
        return (
            f"{n} {noun}{'s' if n != 1 else ''}, {ctx.table} {distinct(populations)}, "
            f"loci {'~'.join(ctx.loci)}, {ctx.level} level"
        )

    def _context_dict(self) -> dict[str, Any]:
        """The context, JSON-ready (``bank_names`` only when some line has a name)."""
        ctx = asdict(self.context)
        if ctx["bank_names"] is None:
            del ctx["bank_names"]
        out: dict[str, Any] = json_ready(ctx)
        return out


@dataclass(frozen=True, repr=False)
class RankReport(_Rows):
    """Candidates ranked by marginal coverage gain (one ranking per population, or one for a mix).

    Attributes
    ----------
    candidates : tuple of RankedCandidate
        Best first within each population.
    base : dict
        Population → (lower, upper) coverage of the bank before any candidate.
    level, loci, resolution, rule, rules, definition, table, bank, weights
        What was computed and how.
    registry_sizes : tuple of int
        The registry sizes R of each candidate's ``p_in_registry`` (``p_in_registry_R`` in rows).
    inbreeding : float

    ``to_polars()`` and ``to_dict()["candidates"]`` give the ``--format csv`` and ``--format json``
    output of ``hlamatch rank``; notebooks show the report as a table.
    """

    candidates: tuple[RankedCandidate, ...]
    base: dict[str, tuple[float, float]]
    context: ReportContext
    registry_sizes: tuple[int, ...] = ()
    inbreeding: float = 0.0

    _items = "candidates"

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per candidate, with what was computed (level, loci, rule …) in every row."""
        ctx = asdict(self.context)
        rows = []
        for c in self.candidates:
            base = self.base[c.population]
            row = asdict(c)
            p_reg = row.pop("p_in_registry")
            by_population = row.pop("coverage_by_population")
            rows.append(
                {
                    **row,
                    **{f"p_in_registry_{R}": p for R, p in zip(self.registry_sizes, p_reg)},
                    # 0.1.0's columns for one registry size, kept until 0.3.0 (deprecated: see CHANGELOG.md)
                    **(
                        {"registry_size": self.registry_sizes[0], "p_in_registry": p_reg[0]}
                        if len(self.registry_sizes) == 1
                        else {}
                    ),
                    "coverage_by_population": by_population,
                    "bank_coverage": base[0],
                    "bank_upper": base[1],
                    "registry_sizes": list(self.registry_sizes),
                    "inbreeding": self.inbreeding,
                    **{
                        k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in ctx.items()
                        if k != "bank_names" or v is not None
                    },
                }
            )
        return rows

    @property
    def registry_size(self) -> int | None:
        """Deprecated since 0.2.0 (removal in 0.3.0): the first of :attr:`registry_sizes`, or None."""
        warnings.warn(
            "RankReport.registry_size is deprecated since 0.2.0, use registry_sizes (removal in 0.3.0)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.registry_sizes[0] if self.registry_sizes else None

    def _summary(self) -> str:
        best = max((c.gain for c in self.candidates), default=None)
        return self._about("candidate", [c.population for c in self.candidates]) + (
            f", best gain {percent(best)}" if best is not None else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document: what was computed (``level``, ``loci``, ``rule`` …),
        ``registry_sizes``, ``inbreeding``, ``base`` (population → ``{"lower", "upper"}`` coverage of the
        bank before any candidate) and ``candidates``: the rows ``hlamatch rank --format json`` prints
        (:meth:`to_dicts`, non-finite numbers as None)."""
        return {
            **self._context_dict(),
            "registry_sizes": list(self.registry_sizes),
            "inbreeding": self.inbreeding,
            "base": {p: {"lower": lo, "upper": up} for p, (lo, up) in self.base.items()},
            "candidates": json_ready(self.to_dicts()),
        }


@dataclass(frozen=True)
class PlanStep:
    """One step of a plan: the line added and the coverage after it (step 0: the bank as given).

    Attributes
    ----------
    step : int
    line, name : str or None
    population : str
    gain, coverage, lower, upper : float
    coverage_by_population : dict or None
    """

    step: int
    line: str | None
    name: str | None
    population: str
    gain: float
    coverage: float
    lower: float
    upper: float
    coverage_by_population: dict[str, float] | None = None


@dataclass(frozen=True, repr=False)
class PlanReport(_Rows):
    """A greedy bank plan per population (or one for a weighted mix), optionally with the exact optimum.

    Attributes
    ----------
    steps : tuple of PlanStep
        Step 0 is the bank as given; then one step per line added.
    target, n_lines : float or None, int or None
        The stopping rule asked for.
    reached : dict
        Population → whether the target (or the number of lines) was reached.
    exact : dict or None
        Population → the exact solution (``lines``, ``coverage``, ``optimal``, ``greedy_coverage``,
        ``gap``; for a target: ``n_lines`` and greedy's ``n_lines``).

    ``to_polars()`` and ``to_dict()["steps"]`` give the ``--format csv`` and ``--format json``
    output of ``hlamatch plan`` (:meth:`output_rows`); notebooks show the report as a table.
    """

    steps: tuple[PlanStep, ...]
    context: ReportContext
    target: float | None
    n_lines: int | None
    reached: dict[str, bool]
    stop_reason: dict[str, str]
    exact: dict[str, dict[str, Any]] | None = None

    _items = "steps"

    def lines_for(self, coverage: float, population: str | None = None) -> int | None:
        """Lines the greedy plan needs to reach ``coverage`` (lower bound), or None if it does not."""
        pops = {s.population for s in self.steps}
        pop = population if population is not None else (pops.pop() if len(pops) == 1 else None)
        if pop is None:
            raise OptionError(f"the plan covers populations {', '.join(sorted(pops))}: name one")
        for s in self.steps:
            if s.population == pop and s.coverage >= coverage:
                return s.step
        return None

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per step, with what was computed (level, loci, rule …) in every row."""
        ctx = asdict(self.context)
        return [
            {
                **asdict(s),
                "target": self.target,
                **{
                    k: (list(v) if isinstance(v, tuple) else v)
                    for k, v in ctx.items()
                    if k not in ("bank", "bank_names")
                },
            }
            for s in self.steps
        ]

    def output_rows(self) -> list[dict[str, Any]]:
        """The rows ``hlamatch plan`` writes: :meth:`to_dicts` with each step's ``stop_reason`` and,
        when the exact optimum was asked for, its summary (``exact_coverage``, ``exact_optimal`` …,
        ``exact_lines``) on every row of its population."""
        rows = self.to_dicts()
        for r in rows:
            r["stop_reason"] = self.stop_reason[r["population"]]
            ex = (self.exact or {}).get(r["population"])
            if ex is not None:
                r.update({f"exact_{k}": v for k, v in ex.items() if k not in ("lines",)})
                r["exact_lines"] = ex["lines"]
        return rows

    def _table_rows(self) -> list[dict[str, Any]]:
        return self.output_rows()

    def _summary(self) -> str:
        last: dict[str, PlanStep] = {s.population: s for s in self.steps}
        final = distinct(
            f"{p} {percent(s.coverage)}" if len(last) > 1 else percent(s.coverage) for p, s in last.items()
        )
        lines = max((s.step for s in self.steps), default=0)
        return self._about("step", list(last)) + f", {lines} line(s) added, coverage {final}"

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document: what was computed (``level``, ``loci``, ``rule`` …),
        ``bank``, ``target``, ``n_lines``, ``reached``, ``stop_reason``, ``exact`` and ``steps``: the rows
        ``hlamatch plan --format json`` prints (:meth:`output_rows`, non-finite numbers as None)."""
        return {
            **self._context_dict(),
            "target": self.target,
            "n_lines": self.n_lines,
            "reached": dict(self.reached),
            "stop_reason": dict(self.stop_reason),
            "exact": json_ready(self.exact),
            "steps": json_ready(self.output_rows()),
        }
