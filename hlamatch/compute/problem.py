"""The prepared problem: table + lines + rules → per-population arrays, built once.

Every question hlamatch answers (coverage, rank, plan, supply) starts from the same
:class:`Problem`: the table projected to the loci and resolution of the computation, the lines
(bank first, then candidates) encoded against its vocabulary by the one line encoder
(:func:`hlamatch.compute.line_codes.encode_lines`), the match rules with their per-locus limits, and for each
population the rows it lists — most frequent first — with their frequencies, null flags and
unlisted mass.  A new question is a new kernel and a new API function over these arrays, never a
copy of this preparation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hlamatch.compute.arguments import loci_argument
from hlamatch.compute.line_codes import encode_lines
from hlamatch.errors import LineError
from hlamatch.hla.lines import Line, as_lines, line_loci, own_names, unique_lines
from hlamatch.hla.rules import MatchRules
from hlamatch.table.model import HaplotypeTable
from hlamatch.table.populations import Populations, resolve_populations

__all__ = ["PopulationArrays", "Problem", "prepare"]


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
        from hlamatch.compute.encode import allele_nulls

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
        (:func:`~hlamatch.hla.lines.unique_lines`).
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
        from hlamatch.hla.nomenclature import current_nomenclature

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
        names the repeats; :func:`~hlamatch.hla.lines.unique_lines`).
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
    from hlamatch.io.bundled import resolve_table

    tab = resolve_table(table)
    if rules is not None and not isinstance(rules, MatchRules):
        raise TypeError(
            f"rules must be a hlamatch.MatchRules (e.g. MatchRules(max_mismatches=1)) or None, got "
            f"{type(rules).__name__}"
        )
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
        pops.append(
            PopulationArrays(
                population=pop,
                codes=np.ascontiguousarray(sel.codes[rows]),
                freqs=np.ascontiguousarray(sel.freqs[rows, sel.population_index(pop)]),
                unlisted=sel.unlisted_mass(pop),
                alleles=sel.alleles,
            )
        )
    return Problem(
        table=sel,
        source=tab.source,
        lines=bank,
        candidates=cands,
        line_codes=encoded.codes,
        line_nulls=encoded.nulls,
        line_names=tuple(ln.text(sel.loci, sel.resolution) for ln in every),
        rules=rules,
        limits=limits,
        populations=tuple(pops),
        weights=weights,
    )
