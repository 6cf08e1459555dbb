"""The prepared problem: table + lines + rules → per-population arrays, built once.

Every question hlamatch answers (coverage, rank, plan, supply) starts from the same
:class:`Problem`: the table projected to the loci and resolution of the computation, the lines
(bank first, then candidates) encoded against its vocabulary by the one line encoder
(:func:`hlamatch.lines.encode_lines`), the match rules with their per-locus limits, and for each
population the rows it lists — most frequent first — with their frequencies, null flags and
unlisted mass.  A new question is a new kernel and a new API function over these arrays, never a
copy of this preparation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np

from .errors import LineError, OptionError
from .lines import Line, as_lines, encode_lines, line_loci, own_names, unique_lines
from .rules import MatchRules
from .tables import HaplotypeTable

__all__ = ["PopulationArrays", "Problem", "prepare", "resolve_populations", "loci_argument", "Populations"]

#: Populations as the API takes them: names, or names with weights for a weighted mix.
Populations = Sequence[str] | Mapping[str, float] | str | None


@dataclass(frozen=True, eq=False)
class PopulationArrays:
    """One population's share of a prepared problem.

    Attributes
    ----------
    population : str
    codes : numpy.ndarray
        int32 array of shape (n, n_loci): the rows listed with positive frequency, most frequent first.
    freqs : numpy.ndarray
        float64 array of shape (n,).
    unlisted : float
        1 − listed mass (never renormalised away).
    alleles : tuple of tuple of str
        The table's allele vocabulary per locus (to derive null flags).
    """

    population: str
    codes: np.ndarray
    freqs: np.ndarray
    unlisted: float
    alleles: tuple[tuple[str, ...], ...]

    @cached_property
    def nulls(self) -> np.ndarray:
        """bool array of shape (n, n_loci): the allele is null (not expressed); computed once."""
        from .encode import allele_nulls

        return allele_nulls(self.codes, self.alleles)


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything a computation needs, as arrays (see the module docstring).

    Attributes
    ----------
    table : HaplotypeTable
        The table projected to ``loci`` and reduced to ``resolution``.
    source : str
        The original table's source (file or ``bundled:NAME``).
    lines, candidates : tuple of Line
        The bank, and the candidate lines of rank/plan (may be empty); each line once
        (:func:`~hlamatch.lines.unique_lines`).
    line_codes, line_nulls : numpy.ndarray
        int32 / bool arrays of shape (n_lines + n_candidates, 2, n_loci): bank lines first.
    line_names : tuple of str
        Text of each line (bank, then candidates) at the computation's loci and resolution
        (:attr:`names` gives their names).
    rules : MatchRules
    limits : numpy.ndarray
        int64 (n_loci,) per-locus mismatch limits.
    populations : tuple of PopulationArrays
    weights : tuple of float or None
        Weights of a weighted mix (summing to 1), one per population; None when not mixed.
    """

    table: HaplotypeTable
    source: str
    lines: tuple[Line, ...]
    candidates: tuple[Line, ...]
    line_codes: np.ndarray
    line_nulls: np.ndarray
    line_names: tuple[str, ...]
    rules: MatchRules
    limits: np.ndarray
    populations: tuple[PopulationArrays, ...]
    weights: tuple[float, ...] | None

    @property
    def loci(self) -> tuple[str, ...]:
        return self.table.loci

    @property
    def nomenclature(self) -> str | None:
        """The release of the nomenclature in use (None: none), as results report it."""
        from .nomenclature import current_nomenclature

        nom = current_nomenclature()
        return None if nom is None else nom.release

    @property
    def resolution(self) -> str:
        return self.table.resolution

    @property
    def sizes(self) -> list[int]:
        """Vocabulary size per locus."""
        return [len(a) for a in self.table.alleles]

    @property
    def n_bank(self) -> int:
        return len(self.lines)

    @cached_property
    def _own_names(self) -> list[str] | None:
        return own_names(self.lines + self.candidates, self.line_names)

    @property
    def names(self) -> tuple[str, ...]:
        """Each line's name (bank, then candidates): its own (:attr:`Line.own_name`, e.g. a lines
        file's ``name`` column), or its text (:attr:`line_names`) when it has none."""
        return tuple(self._own_names or self.line_names)

    @property
    def named(self) -> bool:
        """Some line has a name of its own (results then list the lines' names beside their texts)."""
        return self._own_names is not None

    @property
    def weight_map(self) -> dict[str, float] | None:
        """``{population: weight}`` of a weighted mix, or None."""
        if self.weights is None:
            return None
        return {p.population: w for p, w in zip(self.populations, self.weights)}

    def bank(self, extra: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Codes and null flags of the bank plus the candidates numbered ``extra`` (0-based)."""
        idx = list(range(self.n_bank)) + [self.n_bank + int(c) for c in extra]
        return (np.ascontiguousarray(self.line_codes[idx]), np.ascontiguousarray(self.line_nulls[idx]))


def resolve_populations(table: HaplotypeTable, populations: Populations) -> tuple[tuple[str, ...], tuple[float, ...] | None]:
    """Population names of ``table`` and, for a weighted mix, their weights (normalised to sum 1).

    Parameters
    ----------
    table : HaplotypeTable
    populations : None, str, sequence of str, or mapping of str to float
        None: every population of the table.  A string may be a comma list (``"EUR,AFA"``).  A
        mapping gives weights (``{"JAPI": 0.8, "KORI": 0.2}``); weights must be positive and
        finite, and are normalised to sum to 1 (the results show the weights used).

    Raises
    ------
    OptionError
        Unknown or repeated population, or a weight that is not a positive number.
    """
    if populations is None:
        return table.populations, None
    if isinstance(populations, str):
        populations = [populations]
    if isinstance(populations, Mapping):
        items = list(populations.items())
    else:
        items = [(p, None) for raw in populations for p in str(raw).split(",") if p.strip()]
    if not items:
        raise OptionError(f"no population given: choose among {', '.join(table.populations)}")
    names: list[str] = []
    weights: list[float] = []
    for raw, w in items:
        name = table.populations[table.population_index(str(raw))]
        if name in names:
            raise OptionError(f"population {name!r} is given twice")
        names.append(name)
        if w is not None:
            try:
                wf = float(w)
            except (TypeError, ValueError):
                raise OptionError(f"weight {w!r} of population {name!r} is not a number") from None
            if not math.isfinite(wf) or wf <= 0:
                raise OptionError(f"weight {w!r} of population {name!r} must be a positive number")
            weights.append(wf)
    if not weights:
        return tuple(names), None
    total = math.fsum(weights)
    return tuple(names), tuple(w / total for w in weights)


def loci_argument(loci: Sequence[str] | str | None) -> list[str] | None:
    """The ``loci`` argument of the API as a list (``"A,B,DRB1"`` and ``"A~B~DRB1"`` are split).

    Raises
    ------
    OptionError
        ``loci`` is neither None, a string, nor a sequence of strings, or names no locus.
    """
    if loci is None:
        return None
    items = loci.replace("~", ",").split(",") if isinstance(loci, str) else list(loci) if isinstance(loci, Iterable) else None
    if items is None or not all(isinstance(x, str) for x in items):
        raise OptionError(f"loci must be a list of locus names like ['A', 'B', 'DRB1'], got {loci!r}")
    out = [x.strip() for x in items if x.strip()]
    if not out:
        raise OptionError("loci is empty: give the loci to compare, e.g. ['A', 'B', 'DRB1'] (or leave loci out)")
    return out


def prepare(
    table: HaplotypeTable | str | None,
    lines: Iterable[str | Line] = (),
    *,
    candidates: Iterable[str | Line] = (),
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    rules: MatchRules | None = None,
    populations: Populations = None,
) -> Problem:
    """Build the :class:`Problem` shared by coverage, rank, plan and supply.

    Parameters
    ----------
    table : HaplotypeTable, bundled name or path
    lines : iterable of str or Line
        The bank (may be empty for rank and plan).  A line given twice counts once (one warning
        names the repeats; :func:`~hlamatch.lines.unique_lines`).
    candidates : iterable of str or Line
        Candidate lines (rank, plan), encoded after the bank.  A candidate that is a bank line or
        repeats an earlier candidate is left out (in the same warning).
    loci : sequence of str, optional
        Default: the loci the lines (and candidates) are typed at, in table order; all table loci
        when there are none.
    resolution : str, optional
        Default: the table's own.
    rules : MatchRules, optional
        Default: zero HvG mismatches.
    populations : see :func:`resolve_populations`

    Raises
    ------
    HlamatchError
        Bad lines, loci, resolution, rules or populations; candidates that are all bank lines.
    """
    from .data import resolve_table

    tab = resolve_table(table)
    rules = rules if rules is not None else MatchRules()
    given = as_lines(candidates, "candidates")
    kept_bank, kept_cands = unique_lines(as_lines(lines), given)
    if given and not kept_cands:
        raise LineError(
            f"every candidate ({len(given)}) is already in the bank: there is nothing to rank or add; give "
            "candidates the bank does not hold"
        )
    bank, cands = tuple(kept_bank), tuple(kept_cands)
    every = bank + cands
    loci = loci_argument(loci)
    if loci is not None:
        use_loci = tuple(loci)
    elif every:
        use_loci = line_loci(every, tab.loci, tab.source)
    else:
        use_loci = None
    sel = tab.select(use_loci, resolution)
    limits = rules.locus_limits(sel.loci)
    encoded = encode_lines(every, sel.loci, sel.resolution, sel.alleles, sel.source, tab.resolution)
    names, weights = resolve_populations(tab, populations)
    pops = []
    for pop in names:
        rows = sel.population_rows(pop)
        pops.append(PopulationArrays(
            population=pop,
            codes=np.ascontiguousarray(sel.codes[rows]),
            freqs=np.ascontiguousarray(sel.freqs[rows, sel.population_index(pop)]),
            unlisted=sel.unlisted_mass(pop),
            alleles=sel.alleles,
        ))
    return Problem(
        table=sel, source=tab.source, lines=bank, candidates=cands,
        line_codes=encoded.codes, line_nulls=encoded.nulls,
        line_names=tuple(ln.text(sel.loci, sel.resolution) for ln in every),
        rules=rules, limits=limits, populations=tuple(pops), weights=weights,
    )
