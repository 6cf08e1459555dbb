"""The haplotype frequency table model: :class:`HaplotypeTable`, projection, resolution reduction, combination."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hlamatch._deps import pl
from hlamatch.constants import ALL_RESOLUTIONS, MASS_EPSILON, RESOLUTIONS
from hlamatch.errors import HlamatchWarning, OptionError, TableSchemaError, UnknownLocusError
from hlamatch.hla.alleles import at_resolution, canonical_locus, locus_at, reduce_name, unreachable
from hlamatch.table.rows import frequency_order, group_sums, unique_rows

__all__ = ["HaplotypeTable", "PopulationWarning", "combine_tables"]


class PopulationWarning(HlamatchWarning):
    """A warning about one population of a table (e.g. its rounding excess scaled away).

    It is shown when that population is first used (:meth:`HaplotypeTable.population_index`, through
    which every per-population figure goes), not when the table is read: asking for one population of
    a multi-population table says nothing about the others.

    Attributes
    ----------
    population : str
        The population the warning is about.
    """

    def __init__(self, message: str, population: str):
        super().__init__(message)
        self.population = population


class _PendingWarning:
    """A :class:`PopulationWarning` not shown yet.  Tables derived from a table (``select``,
    ``combine_tables``, ``dataclasses.replace``) share these objects, so each is shown once per
    table read.  A copy sent to another process (pickled for Dask or multiprocessing) starts
    unshown; the on-disk cache keeps only the messages (JSON) and a table read from it shows them again."""

    __slots__ = ("population", "message", "shown")

    def __init__(self, population: str, message: str):
        self.population, self.message, self.shown = population, message, False

    def __reduce__(self) -> tuple[Any, ...]:
        return _PendingWarning, (self.population, self.message)


@dataclass(frozen=True, eq=False)
class HaplotypeTable:
    """A validated haplotype frequency table for one or more populations.

    Attributes
    ----------
    loci : tuple of str
        Locus names in table order, e.g. ``("A", "C", "B", "DRB1", "DQB1")``.
    alleles : tuple of tuple of str
        Allele vocabulary per locus: ``alleles[l][c]`` is the name of code ``c`` at locus ``l``.
    codes : numpy.ndarray
        int32 array of shape (n_haplotypes, n_loci), C-contiguous, read-only.
    freqs : numpy.ndarray
        float64 array of shape (n_haplotypes, n_populations), C-contiguous, read-only.
    populations : tuple of str
        Population labels, one per column of ``freqs``.
    resolution : str
        ``2-field``, ``1-field`` or ``antigen``.
    source : str
        Where the table came from (path or ``bundled:NAME``).
    scaled_by : tuple of float
        Per population, the factor applied to remove rounding excess (1.0 = untouched).
    population_warnings : tuple
        Warnings about one population each, shown as a :class:`PopulationWarning` the first time
        that population is used (see :meth:`population_index`).

    ``repr()`` and ``str()`` give one line: source, loci, resolution, populations and rows.
    """

    loci: tuple[str, ...]
    alleles: tuple[tuple[str, ...], ...]
    codes: np.ndarray
    freqs: np.ndarray
    populations: tuple[str, ...]
    resolution: str
    source: str
    scaled_by: tuple[float, ...] = field(default=())
    population_warnings: tuple[_PendingWarning, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for name in ("codes", "freqs"):
            arr = getattr(self, name)
            if arr.flags.writeable:
                arr.setflags(write=False)

    def __repr__(self) -> str:
        """One line: ``<HaplotypeTable 'bundled:japanese': loci A~C~B~DRB1~DQB1, 2-field, population JAPI,
        100 rows>`` (the arrays are left out)."""
        return (
            f"<HaplotypeTable {self.source!r}: loci {'~'.join(self.loci)}, {self.resolution}, "
            f"population{'s' if len(self.populations) != 1 else ''} {', '.join(self.populations)}, "
            f"{self.n_haplotypes} rows>"
        )

    # ------------------------------------------------------------------ basic facts
    @property
    def n_haplotypes(self) -> int:
        """Number of distinct haplotypes (rows), over all populations."""
        return int(self.codes.shape[0])

    def population_index(self, population: str | None) -> int:
        """Column index of ``population``; the only one when None and the table has one.

        Every per-population figure goes through here, so this is where a population's pending
        warnings (:attr:`population_warnings`) are shown, once.

        Raises
        ------
        OptionError
            If the population is unknown, or None on a multi-population table.
        """
        if population is None:
            if len(self.populations) == 1:
                return self._used(0)
            raise OptionError(
                f"table {self.source} holds populations {', '.join(self.populations)}: choose one with --population"
            )
        for i, p in enumerate(self.populations):
            if p.upper() == population.strip().upper():
                return self._used(i)
        raise OptionError(
            f"population {population!r} is not in table {self.source} (it has {', '.join(self.populations)})"
        )

    def _used(self, p: int) -> int:
        """Column ``p``, after showing the warnings about its population not shown yet."""
        for note in self.population_warnings:
            if not note.shown and note.population == self.populations[p]:
                note.shown = True
                warnings.warn(PopulationWarning(note.message, note.population), stacklevel=4)
        return p

    def listed_mass(self, population: str | None = None) -> float:
        """Sum of listed frequencies of one population (after any rounding-excess scaling)."""
        p = self.population_index(population)
        memo: dict[int, float] = self.__dict__.setdefault("_listed_mass", {})  # tables are immutable: memoise
        if p not in memo:
            memo[p] = float(math.fsum(self.freqs[:, p]))
        return memo[p]

    def unlisted_mass(self, population: str | None = None) -> float:
        """1 − listed mass: chromosomes the table does not describe (never renormalised away)."""
        u = 1.0 - self.listed_mass(population)
        return 0.0 if u < MASS_EPSILON else u

    def haplotype_strings(self, rows: np.ndarray | Sequence[int] | None = None) -> list[str]:
        """Haplotype names (``A*24:02~B*52:01~DRB1*15:02``) of ``rows`` (default: all)."""
        idx = range(self.n_haplotypes) if rows is None else rows
        return ["~".join(self.alleles[l][self.codes[r, l]] for l in range(len(self.loci))) for r in idx]

    def population_rows(self, population: str | None = None) -> np.ndarray:
        """Rows with positive frequency in ``population``, most frequent first (ties by name).

        Returns
        -------
        numpy.ndarray
            int64 array of row indices.
        """
        p = self.population_index(population)
        memo: dict[int, np.ndarray] = self.__dict__.setdefault("_row_order", {})  # tables are immutable: memoise
        if p not in memo:
            f = self.freqs[:, p]
            rows = np.flatnonzero(f > 0)
            memo[p] = rows[frequency_order(self.codes[rows], [len(a) for a in self.alleles], f[rows])]
            memo[p].setflags(write=False)
        return memo[p]

    def row_index(self) -> dict[bytes, int]:
        """Row of each haplotype, keyed by its code row's bytes (memoised: tables are immutable)."""
        memo = self.__dict__.get("_row_index")
        if memo is None:
            memo = {row.tobytes(): r for r, row in enumerate(np.ascontiguousarray(self.codes))}
            self.__dict__["_row_index"] = memo
        return memo

    def top_haplotypes(self, n: int, population: str | None = None) -> list[str]:
        """The ``n`` most frequent haplotypes of ``population`` (ties broken by name)."""
        return self.haplotype_strings(self.population_rows(population)[:n])

    # ------------------------------------------------------------------ transforms
    def select(self, loci: Sequence[str] | None = None, resolution: str | None = None) -> HaplotypeTable:
        """Project to ``loci`` and/or bring to ``resolution``, summing frequencies.

        Parameters
        ----------
        loci : sequence of str, optional
            Subset of ``self.loci`` in the order wanted; case-insensitive; ``DRB1`` and ``DR`` (and
            ``DQB1`` and ``DQ``) name the same locus across allele and antigen tables.
        resolution : {"2-field", "1-field", "G", "P", "antigen", "broad"}, optional
            Target resolution; must be reachable from the table's (see
            :func:`hlamatch.hla.alleles.unreachable`).  G, P, antigen and broad map through the
            nomenclature in use; at antigen and broad level ``DRB1`` is named ``DR`` and ``DQB1``
            ``DQ``.  Haplotypes that become identical have their frequencies summed.  Names the
            nomenclature does not know keep their own name (they then match only themselves),
            with one warning giving their total frequency.

        Raises
        ------
        UnknownLocusError
            A locus is not in the table.
        OptionError
            The resolution cannot be reached from the table's, or a locus has no serology.
        NomenclatureError
            The resolution needs the nomenclature files and none is set.
        """
        idx = self._locus_indices(loci)
        res = self.resolution if resolution is None else resolution
        if res not in ALL_RESOLUTIONS and res != self.resolution:
            raise OptionError(f"unknown resolution {res!r}: choose among {', '.join(ALL_RESOLUTIONS)}")
        same = res == self.resolution
        if not same:
            why = unreachable(self.resolution, res)
            if why:
                raise OptionError(
                    f"table {self.source} is at {self.resolution} resolution and cannot give {res} results: "
                    f"{why}"
                    + (f" (choose --resolution {self.resolution} or a coarser one)" if res in RESOLUTIONS else "")
                )
        if idx == list(range(len(self.loci))) and same and not self._finer_than(res):
            return self
        new_alleles, new_codes, unmapped = [], [], []
        for l in idx:
            names = self.alleles[l]
            if same and res not in RESOLUTIONS:
                reduced = list(names)  # G, P, antigen tables stay as they are
            elif res in RESOLUTIONS:
                reduced = [reduce_name(a, res) for a in names]
            else:
                reduced = []
                for c, a in enumerate(names):
                    there, why = at_resolution(a, res)
                    if there is None:
                        # a locus without serology: the whole column cannot go there
                        if why is not None and "locus" in why:
                            raise OptionError(f"table {self.source}: {why}; leave locus {self.loci[l]} out with --loci")
                        unmapped.append((l, c, a))
                        there = a
                    reduced.append(there)
            vocab = sorted(set(reduced))
            lookup = {a: i for i, a in enumerate(vocab)}
            mapping = np.array([lookup[a] for a in reduced], dtype=np.int32)
            new_alleles.append(tuple(vocab))
            new_codes.append(mapping[self.codes[:, l]])
        if unmapped:
            self._warn_unmapped(unmapped, res)
        codes = np.stack(new_codes, axis=1) if new_codes else np.zeros((self.n_haplotypes, 0), np.int32)
        uniq, inverse = unique_rows(codes, [len(v) for v in new_alleles])
        freqs = group_sums(inverse, self.freqs, uniq.shape[0])
        return HaplotypeTable(
            loci=tuple(locus_at(self.loci[l], res) for l in idx),
            alleles=tuple(new_alleles),
            codes=np.ascontiguousarray(uniq, dtype=np.int32),
            freqs=np.ascontiguousarray(freqs),
            populations=self.populations,
            resolution=res,
            source=self.source,
            scaled_by=self.scaled_by,
            population_warnings=self.population_warnings,
        )

    def _warn_unmapped(self, unmapped: list[tuple[int, int, str]], res: str) -> None:
        """One warning for names the nomenclature cannot bring to ``res``, with their frequency."""
        from hlamatch.hla.nomenclature import current_nomenclature

        nom = current_nomenclature()
        hit = np.zeros(self.n_haplotypes, dtype=np.bool_)
        for l, c, _ in unmapped:
            hit |= self.codes[:, l] == c
        mass = ", ".join(f"{pop} {math.fsum(self.freqs[hit, p]):.3g}" for p, pop in enumerate(self.populations))
        names = sorted({a for _, _, a in unmapped})
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        warnings.warn(
            f"table {self.source}: {len(names)} allele name(s) have no {res} equivalent in "
            f"{nom.release if nom else 'the nomenclature'} ({shown}; total frequency {mass}); they keep "
            "their own names and match only themselves",
            HlamatchWarning,
            stacklevel=3,
        )

    def _finer_than(self, resolution: str) -> bool:
        """True if some allele name has more fields than ``resolution`` keeps."""
        if resolution not in RESOLUTIONS:
            return False
        memo: dict[str, bool] = self.__dict__.setdefault("_finer", {})  # immutable table: compute once
        if resolution not in memo:
            keep = 2 if resolution == "2-field" else 1
            memo[resolution] = any(
                a.count(":") >= keep for names in self.alleles for a in names if "*" in a and not a.startswith("DRBX")
            )
        return memo[resolution]

    def _locus_indices(self, loci: Sequence[str] | None) -> list[int]:
        if loci is None:
            return list(range(len(self.loci)))
        if isinstance(loci, str):  # "A,B,DRB1" or "A~B~DRB1"; never one letter per locus
            loci = [x.strip() for x in loci.replace("~", ",").split(",") if x.strip()]
        elif isinstance(loci, (bytes, Mapping)) or not isinstance(loci, Iterable):
            raise TypeError(
                f"loci must be a list of locus names like ['A', 'B', 'DRB1'] or a text 'A,B,DRB1', "
                f"got {type(loci).__name__}"
            )
        else:
            loci = list(loci)
            for x in loci:
                if not isinstance(x, str):
                    raise TypeError(f"loci must hold locus names (text) like 'DRB1', got {x!r}")
        if len(loci) == 0:
            raise OptionError("no loci given: pass at least one locus, e.g. --loci A,B,DRB1")
        idx = []
        for raw in loci:
            try:
                locus = canonical_locus(raw, self.loci)
            except UnknownLocusError:
                raise UnknownLocusError(
                    f"locus {raw!r} is not in table {self.source} (its loci: "
                    f"{', '.join(self.loci)}); choose --loci among these"
                ) from None
            i = self.loci.index(locus)
            if i in idx:
                raise OptionError(f"locus {locus!r} is given twice in the loci {', '.join(loci)}")
            idx.append(i)
        return idx

    def to_polars(self) -> pl.DataFrame:
        """The table as a polars DataFrame: one column per locus, one per population."""
        data: dict[str, Any] = {
            locus: [self.alleles[l][c] for c in self.codes[:, l]] for l, locus in enumerate(self.loci)
        }
        for p, pop in enumerate(self.populations):
            data[pop] = self.freqs[:, p]
        return pl.DataFrame(data)

    def describe(self) -> dict[str, Any]:
        """Facts about the table, per population: rows, listed and unlisted mass, scaling."""
        pops = []
        for p, pop in enumerate(self.populations):
            pops.append(
                {
                    "population": pop,
                    "haplotypes": int(np.count_nonzero(self.freqs[:, p] > 0)),
                    "listed_mass": self.listed_mass(pop),
                    "unlisted_mass": self.unlisted_mass(pop),
                    "scaled_by": self.scaled_by[p] if self.scaled_by else 1.0,
                }
            )
        return {
            "source": self.source,
            "loci": list(self.loci),
            "resolution": self.resolution,
            "haplotypes": self.n_haplotypes,
            "populations": pops,
        }


def combine_tables(tables: Sequence[HaplotypeTable]) -> HaplotypeTable:
    """One table holding the populations of several tables (e.g. two bundled single-population tables).

    Haplotypes are matched across tables by name; a haplotype a table does not list has frequency
    0 there.  Every population keeps its own listed and unlisted mass.

    Raises
    ------
    TableSchemaError
        The tables differ in loci or resolution.
    OptionError
        Two tables hold a population of the same name, or no table is given.
    """
    if (
        isinstance(tables, (str, bytes, HaplotypeTable))
        or not isinstance(tables, Iterable)
        or isinstance(tables, Mapping)
    ):
        raise TypeError(
            f"tables must be a sequence of HaplotypeTable (e.g. [table1, table2]), got {type(tables).__name__}"
        )
    tables = list(tables)
    if not tables:
        raise OptionError("no table given to combine")
    for i, t in enumerate(tables):
        if not isinstance(t, HaplotypeTable):
            raise TypeError(
                f"tables[{i}] must be a HaplotypeTable (from load_table, bundled_table ...), got {type(t).__name__}"
            )
    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    pops: list[str] = []
    for t in tables:
        if set(t.loci) != set(first.loci):
            raise TableSchemaError(
                f"tables {first.source} and {t.source} hold different loci ({'~'.join(first.loci)} vs "
                f"{'~'.join(t.loci)}); combine tables typed at the same loci"
            )
        if t.resolution != first.resolution:
            raise TableSchemaError(
                f"tables {first.source} and {t.source} are at different resolutions ({first.resolution} vs "
                f"{t.resolution}); combine tables of one resolution"
            )
        for p in t.populations:
            if p.upper() in (q.upper() for q in pops):
                raise OptionError(f"population {p!r} appears in two of the tables combined; rename one")
            pops.append(p)
    tables = [t.select(first.loci) for t in tables]
    vocab = [tuple(sorted(set().union(*(t.alleles[l] for t in tables)))) for l in range(len(first.loci))]
    lookup = [{a: i for i, a in enumerate(v)} for v in vocab]
    codes = []
    for t in tables:
        maps = [np.array([lookup[l][a] for a in t.alleles[l]], dtype=np.int32) for l in range(len(first.loci))]
        codes.append(np.stack([maps[l][t.codes[:, l]] for l in range(len(first.loci))], axis=1))
    uniq, inverse = unique_rows(np.concatenate(codes), [len(v) for v in vocab])
    freqs = np.zeros((uniq.shape[0], len(pops)))
    row = col = 0
    for t in tables:
        n, k = t.freqs.shape
        freqs[inverse[row : row + n], col : col + k] = t.freqs
        row, col = row + n, col + k
    return HaplotypeTable(
        loci=first.loci,
        alleles=tuple(vocab),
        codes=np.ascontiguousarray(uniq, dtype=np.int32),
        freqs=np.ascontiguousarray(freqs),
        populations=tuple(pops),
        resolution=first.resolution,
        source="+".join(t.source for t in tables),
        scaled_by=tuple(x for t in tables for x in (t.scaled_by or (1.0,) * len(t.populations))),
        population_warnings=tuple(w for t in tables for w in t.population_warnings),
    )
