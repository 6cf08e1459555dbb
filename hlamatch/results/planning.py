"""Results of rank and plan: ranked candidates, plan steps and their reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hlamatch.errors import OptionError
from hlamatch.results.definitions import Definition

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
    p_in_registry : float or None
        Probability that a registry of ``registry_size`` typed people holds such a donor.
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
    p_in_registry: float | None = None
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


class _Rows:
    """A report is a sequence of its rows (``_items``) and exposes its context's fields."""

    _items = ""

    def __getattr__(self, name: str) -> Any:
        ctx = self.__dict__.get("context")
        if ctx is not None and name in ReportContext.__dataclass_fields__:
            return getattr(ctx, name)
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(getattr(self, self._items))

    def __iter__(self):
        return iter(getattr(self, self._items))

    def __getitem__(self, i: int):
        return getattr(self, self._items)[i]


@dataclass(frozen=True)
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
    registry_size : int or None
    inbreeding : float
    """

    candidates: tuple[RankedCandidate, ...]
    base: dict[str, tuple[float, float]]
    context: ReportContext
    registry_size: int | None = None
    inbreeding: float = 0.0

    _items = "candidates"

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per candidate, with what was computed (level, loci, rule …) in every row."""
        ctx = asdict(self.context)
        rows = []
        for c in self.candidates:
            base = self.base[c.population]
            rows.append(
                {
                    **asdict(c),
                    "bank_coverage": base[0],
                    "bank_upper": base[1],
                    "registry_size": self.registry_size,
                    "inbreeding": self.inbreeding,
                    **{
                        k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in ctx.items()
                        if k != "bank_names" or v is not None
                    },
                }
            )
        return rows


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


@dataclass(frozen=True)
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
