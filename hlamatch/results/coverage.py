"""Coverage results: one per population and level, and the report that holds them."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from hlamatch.constants import MASS_EPSILON
from hlamatch.errors import OptionError
from hlamatch.results.definitions import WEIGHTED, Definition
from hlamatch.results.display import Report, distinct, json_ready, percent

if TYPE_CHECKING:
    import polars as pl

__all__ = ["CoverageResult", "CoverageReport"]


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of one bank in one population at one level, with everything needed to read it.

    Attributes
    ----------
    population, level, loci, resolution, lines, rule, table
        What was computed, and how.
    definition : Definition
        The definition followed (:class:`~hlamatch.results.definitions.Definition`): a ``str``
        equal to its text, with its short name (``definition.short_name``).
    coverage : float
        The headline figure: the lower bound (unlisted chromosomes never match).
    lower, upper : float
        Bounds over the unknown make-up of the unlisted mass; equal when it is zero.
    unlisted_mass : float
        1 − listed frequency mass of the population.
    rules : dict
        The match rules, machine-readable (``rule`` says them in words).
    distribution, distribution_upper : dict or None
        Share of patients whose best line has 0, 1, 2 … mismatches (``"unmatched"``: no line
        within the per-locus limits), with unlisted chromosomes as novel (lower scenario) and as
        wildcards (upper scenario).  Present when the rules are not the default or when asked.
    weights : dict or None
        The weights of a weighted mix (population ``"weighted"``).
    nomenclature : str or None
        The nomenclature release in use (``IPD-IMGT/HLA 3.58.0``): it brought the names to a G, P,
        antigen or broad resolution and checked them.  None when none was in use.
    tolerance : float
        0: exact.  ε > 0 (genotype level): patient genotypes were visited most frequent first until
        those left weighed at most ε; they count in ``upper`` only, so ``upper − lower`` ≤ ε plus
        what the unlisted mass leaves open.
    line_names : tuple of str or None
        When some line has a name of its own (a lines file's ``name`` column): each line's name, in
        the order of ``lines`` (its text where it has none).  None otherwise, and then left out of
        :meth:`to_dict`.
    """

    population: str
    level: str
    loci: tuple[str, ...]
    resolution: str
    lines: tuple[str, ...]
    coverage: float
    lower: float
    upper: float
    unlisted_mass: float
    rule: str
    definition: Definition
    table: str
    rules: dict[str, Any] | None = None
    distribution: dict[str, float] | None = None
    distribution_upper: dict[str, float] | None = None
    weights: dict[str, float] | None = None
    nomenclature: str | None = None
    tolerance: float = 0.0
    line_names: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists instead of tuples), ready for JSON; ``line_names`` follows
        ``lines`` when the lines have names."""
        d = asdict(self)
        d["loci"] = list(self.loci)
        d["lines"] = list(self.lines)
        names = d.pop("line_names")
        if names is not None:
            items = list(d.items())
            at = list(d).index("lines") + 1
            d = dict(items[:at] + [("line_names", list(names))] + items[at:])
        return d

    @property
    def exact(self) -> bool:
        """True when lower and upper coincide (no unlisted mass to bound)."""
        return self.upper - self.lower <= MASS_EPSILON


class CoverageReport(Report, Sequence[CoverageResult]):
    """The results of one :func:`coverage` call: one per population and level.

    A sequence of :class:`CoverageResult`; ``to_polars()`` and ``to_dict()`` give the
    ``--format csv`` and ``--format json`` output of ``hlamatch coverage``; notebooks show it as a
    table.
    """

    def __init__(self, results: Iterable[CoverageResult]):
        self._results = tuple(results)

    @overload
    def __getitem__(self, i: int) -> CoverageResult: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[CoverageResult, ...]: ...

    def __getitem__(self, i: int | slice) -> CoverageResult | tuple[CoverageResult, ...]:
        return self._results[i]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[CoverageResult]:
        return iter(self._results)

    def _summary(self) -> str:
        rs = self._results
        if not rs:
            return "0 results"
        cov = [r.coverage for r in rs]
        shown = (
            percent(cov[0])
            if len(set(cov)) == 1
            else f"{percent(min(cov))} to {percent(max(cov))}"
            if all(math.isfinite(c) for c in cov)
            else distinct(percent(c) for c in cov)
        )
        return (
            f"{len(rs)} result{'s' if len(rs) != 1 else ''}, {distinct(r.table for r in rs)} "
            f"{distinct(r.population for r in rs)}, loci {distinct('~'.join(r.loci) for r in rs)}, "
            f"{distinct(r.level for r in rs)} level, coverage {shown}"
        )

    def _table_rows(self) -> list[dict[str, Any]]:
        return self.to_dicts()

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document: ``{"results": rows}``, the rows being what
        ``hlamatch coverage --format json`` prints (:meth:`to_dicts`, non-finite numbers as None)."""
        return {"results": json_ready(self.to_dicts())}

    def get(self, level: str, population: str | None = None, resolution: str | None = None) -> CoverageResult:
        """The result for ``level``, and for ``population`` and ``resolution`` where the report holds several.

        Raises
        ------
        OptionError
            No result matches, or several do: the message names the levels, populations or
            resolutions to choose from (``report.get("genotype", population="JAPI")``).
        """
        asked = {"level": level, "population": population, "resolution": resolution}
        hits = [r for r in self._results if all(v is None or getattr(r, k) == v for k, v in asked.items())]
        if len(hits) == 1:
            return hits[0]

        def choices(rows: Sequence[CoverageResult], key: str) -> list[str]:
            return list(dict.fromkeys(getattr(r, key) for r in rows))

        if not hits:
            held = "; ".join(f"{k}s {', '.join(choices(self._results, k))}" for k in asked)
            shown = ", ".join(f"{k}={v!r}" for k, v in asked.items() if v is not None)
            raise OptionError(f"no result for {shown}: the report holds {held}")
        several = [k for k in ("population", "resolution") if len(choices(hits, k)) > 1]
        which = " and ".join(f"a {k} ({', '.join(choices(hits, k))})" for k in several)
        example = ", ".join([repr(level)] + [f"{k}={choices(hits, k)[0]!r}" for k in several])
        raise OptionError(
            f"the report holds {len(hits)} results for level {level!r}: choose {which}, e.g. report.get({example})"
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per result (:meth:`CoverageResult.to_dict`): full precision, the
        definition in full, ``rules``, ``distribution`` and ``weights`` as dicts."""
        return [r.to_dict() for r in self._results]

    def to_polars(self, flat: bool = True) -> pl.DataFrame:
        """A polars DataFrame with one row per resolution, population and level.

        Parameters
        ----------
        flat : bool, default True
            True: the columns of ``hlamatch coverage --format csv`` (:mod:`hlamatch.results.flat`), so that
            ``report.to_polars().write_csv(path)`` works: shared columns first (``population,
            level, resolution, loci, rule, definition, table``), ``loci`` joined by ``~`` and
            ``lines`` by ``;``, ``rules`` left out (``rule`` says them in words), one column per
            mismatch bin (``mismatches_0`` … ``mismatches_unmatched``, ``mismatches_upper_0`` …) and
            per weight (``weights_JAPI``), and ``definition`` as a short name
            (``Definition.short_name``; the full text is in :meth:`to_dicts`).
            Numbers keep full precision (the CLI's CSV rounds them to 6 significant digits).
            False: the :meth:`to_dicts` rows as they are (lists and structs; ``write_csv`` refuses
            those, ``write_parquet`` and ``write_json`` take them).
        """
        if flat:
            return super().to_polars()
        import polars

        return polars.DataFrame(self.to_dicts(), infer_schema_length=None)


def weighted_results(
    results: Sequence[CoverageResult], weights: dict[str, float], levels: Sequence[str]
) -> list[CoverageResult]:
    """Per level, the weighted mix of per-population results (population ``"weighted"``).

    Coverage, bounds, unlisted mass and distributions of the mix are the weighted sums of the
    populations' figures (a random patient of the mix comes from population p with probability w_p).
    """
    out = []
    for lev in levels:
        rows = [r for r in results if r.level == lev and r.population in weights]
        w = [weights[r.population] for r in rows]

        def mix(get: Callable[[CoverageResult], float], w: list[float] = w, rows: list[CoverageResult] = rows) -> float:
            return math.fsum(wi * get(r) for wi, r in zip(w, rows))

        def mix_dist(key: str, rows: list[CoverageResult] = rows) -> dict[str, float] | None:
            if any(getattr(r, key) is None for r in rows):
                return None
            bins = dict.fromkeys(k for r in rows for k in getattr(r, key))

            def share(r: CoverageResult, b: str) -> float:
                return float(getattr(r, key).get(b, 0.0))

            return {b: mix(functools.partial(share, b=b)) for b in bins}

        r0 = rows[0]
        lower, upper = mix(lambda r: r.lower), mix(lambda r: r.upper)
        out.append(
            dataclasses.replace(
                r0,
                population=WEIGHTED,
                coverage=lower,
                lower=lower,
                upper=upper,
                unlisted_mass=mix(lambda r: r.unlisted_mass),
                weights=dict(weights),
                distribution=mix_dist("distribution"),
                distribution_upper=mix_dist("distribution_upper"),
                definition=r0.definition.mixed(),
            )
        )
    return out


def mismatch_bins(hist: np.ndarray) -> dict[str, float]:
    """Histogram as {"0": share, "1": share, ..., "unmatched": share}."""
    out = {str(m): float(hist[m]) for m in range(hist.shape[0] - 1)}
    out["unmatched"] = float(hist[-1])
    return out
