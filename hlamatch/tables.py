"""Haplotype frequency tables: reading, validation, projection, resolution reduction.

One entry point, :func:`load_table`, reads every supported format into one validated,
immutable :class:`HaplotypeTable` of contiguous NumPy arrays.  Kernels never see polars.

Schema (after reading, whatever the format):

=============  ==============================  ===============================================
column         dtype                           meaning
=============  ==============================  ===============================================
``codes``      int32, shape (n, n_loci)        allele code per haplotype and locus (index into
                                               ``alleles[locus]``)
``freqs``      float64, shape (n, n_pops)      haplotype frequency per population (0 = absent)
=============  ==============================  ===============================================

Formats:

* ``nmdp``: CSV with header ``Haplo,Count,Freq`` (NMDP/HaploStats, HLAMatchIt 9-locus files).
* ``grimm``: GRIMM ``.freqs`` (``haplotype,count,freq``, with or without header; plain or ``.gz``).
* ``nmdp2007``: NMDP 2007 long CSV ``pop,haplotype,freq,rank`` without header, ``HLA-`` prefixes.
* ``hfx``: HFX bundle (zip with ``metadata.json`` and a ``Haplo,Count,Freq`` CSV).
* ``pypop``: PyPop ``N-locus-haplo.tsv`` (``popname``, ``loci`` like ``A:C:B``, ``haplotype`` like
  ``02:10~01:02~13:01``, ``haplotype.freq``); one population per ``popname``.
* ``wide``: CSV/TSV/Parquet with one column per locus and one frequency column per population
  (or a single ``frequency`` column, or ``population`` + ``frequency`` columns).  A column named
  ``population``/``pop`` (any case) holds population labels only if it holds text that is not all
  numbers; a numeric ``POP`` column is the frequency column of a population named ``POP``.

In every text format, blank lines are not data (a trailing newline or two is common); line numbers
in messages count them, as an editor does.  A line of spaces is a row, and an error.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .alleles import (
    MAC,
    Allele,
    at_resolution,
    canonical_locus,
    locus_at,
    name_resolution,
    normalise_in_column,
    parse_allele,
    reduce_name,
    unreachable,
)
from .constants import (
    ALL_RESOLUTIONS,
    ANTIGEN,
    DEFAULT_SUM_TOLERANCE,
    KNOWN_LOCI,
    MASS_EPSILON,
    RESOLUTIONS,
    TABLE_FORMATS,
)
from .errors import (
    AlleleNameError,
    DuplicateHaplotypeError,
    EmptyTableError,
    FrequencyError,
    HlamatchWarning,
    OptionError,
    TableFormatError,
    TableSchemaError,
    UnknownLocusError,
)

class _LazyPolars:
    """``polars``, imported on first use: a table loaded from the cache (:mod:`hlamatch._cache`)
    needs no polars, and importing it costs a quarter of a second of a command's start-up."""

    def __getattr__(self, name: str) -> Any:
        import polars

        globals()["pl"] = polars
        return getattr(polars, name)


pl: Any = _LazyPolars()


__all__ = ["HaplotypeTable", "PopulationWarning", "load_table", "table_from_frame", "combine_tables"]

_FREQ_NAMES = ("freq", "frequency", "hf", "haplotype_frequency")
_IGNORED_NAMES = ("count", "rank", "n", "haplo_count")
_POP_NAMES = ("population", "pop")


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
    table read; a pickled copy (the on-disk cache) starts unshown."""

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
        return (f"<HaplotypeTable {self.source!r}: loci {'~'.join(self.loci)}, {self.resolution}, "
                f"population{'s' if len(self.populations) != 1 else ''} {', '.join(self.populations)}, "
                f"{self.n_haplotypes} rows>")

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
                f"table {self.source} holds populations {', '.join(self.populations)}: "
                "choose one with --population"
            )
        for i, p in enumerate(self.populations):
            if p.upper() == population.strip().upper():
                return self._used(i)
        raise OptionError(
            f"population {population!r} is not in table {self.source} "
            f"(it has {', '.join(self.populations)})"
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
        memo = self.__dict__.setdefault("_listed_mass", {})  # tables are immutable: memoise
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
        memo = self.__dict__.setdefault("_row_order", {})  # tables are immutable: memoise
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
            :func:`hlamatch.alleles.unreachable`).  G, P, antigen and broad map through the
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
                    f"{why}" + (f" (choose --resolution {self.resolution} or a coarser one)" if res in RESOLUTIONS else "")
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
                        if "locus" in why:  # a locus without serology: the whole column cannot go there
                            raise OptionError(
                                f"table {self.source}: {why}; leave locus {self.loci[l]} out with --loci"
                            )
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
        freqs = np.stack([np.bincount(inverse, weights=self.freqs[:, p], minlength=uniq.shape[0])
                          for p in range(self.freqs.shape[1])], axis=1)
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
        from .nomenclature import current_nomenclature

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
        memo = self.__dict__.setdefault("_finer", {})  # immutable table: compute once
        if resolution not in memo:
            keep = 2 if resolution == "2-field" else 1
            memo[resolution] = any(
                a.count(":") >= keep for names in self.alleles for a in names if "*" in a and not a.startswith("DRBX")
            )
        return memo[resolution]

    def _locus_indices(self, loci: Sequence[str] | None) -> list[int]:
        if loci is None:
            return list(range(len(self.loci)))
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


# ====================================================================== reading


@dataclass
class _Raw:
    """What a reader hands to the common builder."""

    where: str  # file description for messages
    haplotypes: pl.Series | None  # '~'-joined haplotype strings, or
    columns: dict[str, pl.Series] | None  # locus column -> values (wide formats)
    freqs: dict[str, pl.Series]  # population -> frequency strings or floats
    line_numbers: np.ndarray  # file line of each row, for messages
    pop_rows: dict[str, np.ndarray] | None = None  # long formats: rows of each population
    freq_column: str | None = None  # the file's frequency column, when it is not named after a population


def load_table(
    path: str | Path,
    *,
    format: str = "auto",
    population: str | None = None,
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    strict: bool = False,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
) -> HaplotypeTable:
    """Read and validate a haplotype frequency table.

    Parameters
    ----------
    path : str or Path
        The file (``.csv``, ``.tsv``, ``.freqs``, ``.gz``, ``.hfx``, ``.parquet``).
    format : {"auto", "nmdp", "grimm", "nmdp2007", "hfx", "pypop", "wide"}
        File format; ``auto`` detects it from the name and first line.
    population : str, optional
        Name for the population of a single-population file (default: from the file name,
        e.g. ``freqs.JAPI.csv`` → ``JAPI``, or from HFX metadata).  In a file whose populations
        are named in it (NMDP 2007, PyPop, a wide table with one column per population or a
        population column), the one population to keep, matched ignoring case; an
        :class:`OptionError` if the file does not hold it.
    sum_tolerance : float
        A population whose frequencies sum to at most ``1 + sum_tolerance`` is scaled down to 1
        with a :class:`PopulationWarning`, shown when that population is first used (not for a
        population the caller never asks for); above that it is rejected.  Sums below 1 are kept: the
        remainder is unlisted mass.
    loci, resolution : optional
        Shortcut for ``load_table(...).select(loci, resolution)``.
    strict : bool, default False
        With a nomenclature in use (:func:`hlamatch.use_nomenclature`), allele names it does not
        know are an error instead of a warning.

    Returns
    -------
    HaplotypeTable

    Raises
    ------
    HlamatchError
        :class:`TableFormatError`, :class:`TableSchemaError`, :class:`AlleleNameError`,
        :class:`FrequencyError`, :class:`DuplicateHaplotypeError`, :class:`EmptyTableError`,
        each naming the file and row; :class:`OptionError` for an invalid argument.  Reading
        raises nothing else: I/O, decompression, decoding and parser errors (and a polars panic on
        a corrupt Parquet/Arrow file) become a :class:`TableFormatError` chained to the original.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise OptionError(
            f"a table path must be a str or pathlib.Path, got {type(path).__name__}: give the file's path"
        )
    p = Path(path)
    if not isinstance(format, str) or format not in TABLE_FORMATS:
        raise OptionError(f"unknown table format {format!r} (choose from {', '.join(TABLE_FORMATS)})")
    try:
        is_file = p.is_file()
    except OSError as e:  # e.g. a folder on the way that may not be searched
        raise TableFormatError(_os_error_message(p, e)) from e
    except ValueError:  # a NUL character in the path
        is_file = False
    if not is_file:
        if _is_folder(p):
            raise TableFormatError(f"table file {str(p)!r} is not a file but a folder; give the path of a table file")
        raise TableFormatError(f"table file {str(p)!r} does not exist or is not a file")
    _check_options(population, sum_tolerance)
    fmt = _detect_format(p) if format == "auto" else format
    reader = {
        "nmdp": _read_nmdp,
        "grimm": _read_grimm,
        "nmdp2007": _read_nmdp2007,
        "hfx": _read_hfx,
        "pypop": _read_pypop,
        "wide": _read_wide,
    }[fmt]
    table = _load_cached(p, fmt, reader, population, sum_tolerance, strict)
    return table.select(loci, resolution) if (loci is not None or resolution is not None) else table


def _load_cached(p: Path, fmt: str, reader: Any, population: str | None, sum_tolerance: float,
                 strict: bool) -> HaplotypeTable:
    """Read and build a table once per file version: the built table (and the warnings its
    building gave, shown again on every load) is cached on disk (:mod:`hlamatch._cache`), keyed
    by the file's path, size and time and by every option that shapes it.  Warnings about one
    population travel inside the table (:attr:`HaplotypeTable.population_warnings`) and are shown
    when that population is used."""
    from ._cache import cached
    from .nomenclature import current_nomenclature

    nom = current_nomenclature()
    # The path as given is part of the key: the table and its messages name the file that way.
    role = f"table|{p}|{fmt}|{population}|{sum_tolerance!r}|{strict}|{nom.directory.resolve() if nom else None}"

    def build() -> tuple[HaplotypeTable, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", HlamatchWarning)
            table = _build(reader(p, population), sum_tolerance, source=str(p), strict=strict)
        for w in caught:
            if not issubclass(w.category, HlamatchWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return table, [str(w.message) for w in caught if issubclass(w.category, HlamatchWarning)]

    table, said = cached(p, role, build)
    for message in said:
        warnings.warn(message, HlamatchWarning, stacklevel=3)
    return table


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
    tables = list(tables)
    if not tables:
        raise OptionError("no table given to combine")
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
        freqs[inverse[row: row + n], col: col + k] = t.freqs
        row, col = row + n, col + k
    return HaplotypeTable(
        loci=first.loci, alleles=tuple(vocab), codes=np.ascontiguousarray(uniq, dtype=np.int32),
        freqs=np.ascontiguousarray(freqs), populations=tuple(pops), resolution=first.resolution,
        source="+".join(t.source for t in tables),
        scaled_by=tuple(x for t in tables for x in (t.scaled_by or (1.0,) * len(t.populations))),
        population_warnings=tuple(w for t in tables for w in t.population_warnings),
    )


def table_from_frame(
    frame: pl.DataFrame,
    *,
    name: str = "<frame>",
    population: str | None = None,
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    strict: bool = False,
) -> HaplotypeTable:
    """Build a table from a polars DataFrame in the wide layout (locus columns + frequency columns).

    A single ``Haplo``/``haplotype`` string column with ``~``-joined haplotypes and a ``Freq``
    column is accepted too.

    Raises
    ------
    OptionError
        ``frame`` is not a polars DataFrame, or an argument is invalid.
    HlamatchError
        As :func:`load_table`, naming ``name`` and the row; a column of the wrong type
        (a list column, dates ...) is a :class:`TableSchemaError`.
    """
    if not isinstance(frame, pl.DataFrame):
        hint = " (collect it first: frame.collect())" if isinstance(frame, pl.LazyFrame) else (
            ": build one with polars.DataFrame(data), or polars.from_pandas(df) for a pandas frame"
        )
        raise OptionError(f"table_from_frame needs a polars DataFrame, got {type(frame).__name__}{hint}")
    _check_options(population, sum_tolerance)
    name = str(name)
    raw = _raw_from_frame(frame, name, population, np.arange(frame.height, dtype=np.int64) + 2, default_name=name)
    return _build(raw, sum_tolerance, source=name, strict=strict)


def _is_folder(p: Path) -> bool:
    try:
        return p.is_dir()
    except (OSError, ValueError):
        return False


def _check_options(population: Any, sum_tolerance: Any) -> None:
    if population is not None and not isinstance(population, str):
        raise OptionError(f"population must be a name (str), got {type(population).__name__} {population!r}")
    if (
        isinstance(sum_tolerance, bool)
        or not isinstance(sum_tolerance, (int, float))
        or sum_tolerance < 0
        or not math.isfinite(sum_tolerance)
    ):
        raise OptionError(f"sum tolerance must be a non-negative number, got {sum_tolerance!r}")


def _population_from_name(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".freqs", ".parquet", ".hfx"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    for prefix in ("freqs.", "freqs_"):
        if name.lower().startswith(prefix):
            name = name[len(prefix):]
    return name or p.name


def _os_error_message(p: str | Path, e: OSError) -> str:
    """The message for a file that cannot be opened or read (shared with :mod:`hlamatch.data`)."""
    if isinstance(e, PermissionError):
        return (
            f"cannot read {p}: permission denied; make the file and its folder readable "
            "(e.g. chmod u+r) or copy the table somewhere readable"
        )
    if isinstance(e, IsADirectoryError):
        return f"cannot read {p}: it is a folder, not a table file; give the path of the table file"
    return f"cannot read {p}: {e.strerror or e}; check that the file exists and is readable"


def _read_bytes(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except OSError as e:
        raise TableFormatError(_os_error_message(p, e)) from e


def _decode(data: bytes, where: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); a decoding error names the line and byte."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise TableFormatError(
            f"{where} line {line}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
            "save the table as UTF-8 text"
        ) from e


def _open_text(p: Path) -> str:
    data = _read_bytes(p)
    if data[:2] == b"\x1f\x8b":
        import gzip  # here, not at the top: a command that hits the table cache never needs it

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise TableFormatError(
                f"cannot read {p}: its gzip data is corrupt or truncated ({e}); re-download or re-compress the file"
            ) from e
    return _decode(data, str(p))


def _detect_format(p: Path) -> str:
    import zipfile

    name = p.name.lower()
    if name.endswith(".hfx") or (zipfile.is_zipfile(p) and not name.endswith(".parquet")):
        return "hfx"
    if name.endswith((".parquet", ".pq", ".arrow", ".feather", ".ipc")):
        return "wide"
    text = _open_text(p)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise EmptyTableError(f"table file {p} is empty: expected a header or haplotype rows")
    sep = "\t" if "\t" in first else ","
    cells = [c.strip().strip('"') for c in first.split(sep)]
    low = [c.lower() for c in cells]
    if "haplotype.freq" in low:
        return "pypop"
    if low and low[0] in ("haplo", "haplotype", "haplotypes"):
        return "nmdp"
    if len(cells) == 4 and "~" in cells[1] and "~" not in cells[0]:
        return "nmdp2007"
    if len(cells) in (2, 3) and ("~" in cells[0] or "*" in cells[0]):
        return "grimm"
    if any(_is_locus_name(c) for c in cells):
        return "wide"
    raise TableFormatError(
        f"cannot tell the format of {p}: its first line is {first[:80]!r}; expected an NMDP "
        "'Haplo,Count,Freq' header, GRIMM 'haplotype,count,freq' rows, NMDP 2007 "
        "'pop,haplotype,freq,rank' rows or a wide header with locus columns (give the format: --table-format in the CLI, format= in Python)"
    )


def _is_locus_name(text: str) -> bool:
    try:
        canonical_locus(text, KNOWN_LOCI)
        return True
    except UnknownLocusError:
        return False


def _csv(
    text: str, where: str, has_header: bool, sep: str | None = None, ragged: bool = False
) -> tuple[pl.DataFrame, np.ndarray]:
    """Parse delimited text; return the frame and the file line (1-based) of each of its rows.

    Blank lines are not data: they are dropped before parsing, and the line numbers returned
    count them, so that messages name the line a person sees in an editor.
    """
    lines = text.split("\n")
    keep = [i for i, ln in enumerate(lines) if ln not in ("", "\r")]
    if not keep:
        raise EmptyTableError(f"table file {where} is empty: expected a header or haplotype rows")
    first = lines[keep[0]]
    if sep is None:
        sep = "\t" if "\t" in first else ","
    try:
        df = pl.read_csv(
            io.StringIO("\n".join(lines[i] for i in keep) + "\n"),
            has_header=has_header,
            separator=sep,
            infer_schema=False,
            truncate_ragged_lines=ragged,
        )
    except pl.exceptions.PolarsError as e:
        width = first.count(sep)
        long = next((i for i in keep if lines[i].count(sep) > width), None)
        if long is not None and not ragged:
            raise TableFormatError(
                f"{where} line {long + 1}: {lines[long].count(sep) + 1} fields, line {keep[0] + 1} has "
                f"{width + 1}; every row must have the same fields (remove the extra {sep!r})"
            ) from e
        raise TableFormatError(f"cannot parse {where} as delimited text: {str(e).splitlines()[0]}") from e
    numbers = np.array(keep[1:] if has_header else keep, dtype=np.int64) + 1
    if df.height != numbers.size:  # a quoted field ran over a line break: rows are no longer lines
        odd = next((i for i in keep if lines[i].count('"') % 2), keep[0])
        raise TableFormatError(
            f"{where} line {odd + 1}: a quoted field is not closed on its line; close the quote or remove "
            "the stray '\"'"
        )
    for c in df.columns:
        base, dup, _ = c.rpartition("_duplicated_")
        if dup and base in df.columns:
            raise TableSchemaError(
                f"{where} line {keep[0] + 1}: column {base!r} appears twice in the header; rename or drop one"
            )
    return df, numbers


def _missing_text(values: pl.Series) -> pl.Series:
    """True where a text cell is null or blank."""
    return values.cast(pl.String).str.strip_chars().fill_null("") == ""


def _population_rows(labels: pl.Series, where: str, column: str, lines: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of each population label, in order of first appearance; a missing label is an error."""
    missing = _missing_text(labels)
    if missing.any():
        i = int(missing.arg_max())
        raise TableSchemaError(
            f"{where} line {lines[i]}: missing population label (column {column}); give every row a population label"
        )
    arr = labels.cast(pl.String).str.strip_chars().to_numpy().astype(object)
    uniq, first, inverse = np.unique(arr, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    return {str(uniq[k]): np.flatnonzero(inverse == k) for k in np.argsort(first, kind="stable")}


def _keep_population(pop_rows: dict[str, np.ndarray], population: str | None, where: str) -> dict[str, np.ndarray]:
    if population is None:
        return pop_rows
    key = next((k for k in pop_rows if k.upper() == population.strip().upper()), None)
    if key is None:
        raise OptionError(f"population {population!r} is not in {where} (it has {', '.join(pop_rows)})")
    return {key: pop_rows[key]}


def _read_nmdp(p: Path, population: str | None) -> _Raw:
    return _raw_from_text(_open_text(p), str(p), population or _population_from_name(p))


def _raw_from_text(text: str, where: str, population: str) -> _Raw:
    df, lines = _csv(text, where, has_header=True)
    low = {c.lower().strip(): c for c in df.columns}
    hap = next((low[k] for k in ("haplo", "haplotype", "haplotypes") if k in low), None)
    freq = next((low[k] for k in _FREQ_NAMES if k in low), None)
    if hap is None or freq is None:
        raise TableSchemaError(
            f"{where}: expected columns 'Haplo' and 'Freq' (NMDP format), found {', '.join(df.columns)}"
        )
    return _Raw(where, df[hap], None, {population: df[freq]}, lines, freq_column=freq)


def _read_grimm(p: Path, population: str | None) -> _Raw:
    text = _open_text(p)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first.split(",")[0].strip().lower() in ("haplo", "haplotype"):
        return _raw_from_text(text, str(p), population or _population_from_name(p))
    df, lines = _csv(text, str(p), has_header=False)
    if df.width not in (2, 3):
        raise TableSchemaError(
            f"{p}: GRIMM rows need 'haplotype,count,freq' (or 'haplotype,freq'); found {df.width} columns"
        )
    pop = population or _population_from_name(p)
    return _Raw(str(p), df[:, 0], None, {pop: df[:, df.width - 1]}, lines,
                freq_column=f"column {df.width} (freq)")


def _read_nmdp2007(p: Path, population: str | None) -> _Raw:
    df, lines = _csv(_open_text(p), str(p), has_header=False)
    if df.width < 3:
        raise TableSchemaError(f"{p}: NMDP 2007 rows need 'pop,haplotype,freq[,rank]'; found {df.width} columns")
    pop_rows = _keep_population(_population_rows(df[:, 0], str(p), "1", lines), population, str(p))
    return _Raw(str(p), df[:, 1], None, {"__long__": df[:, 2]}, lines, pop_rows,
                freq_column="column 3 (freq)")


def _read_hfx(p: Path, population: str | None) -> _Raw:
    import lzma
    import zipfile

    member: str | None = None  # the member being read, for messages
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
            csvs = [n for n in names if n.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise TableFormatError(
                    f"{p}: an HFX bundle must hold exactly one frequency CSV, found {csvs or 'none'}"
                )
            member = "metadata.json"
            meta_bytes = z.read(member) if member in names else None
            member = csvs[0]
            data = z.read(member)
    except zipfile.BadZipFile as e:
        raise TableFormatError(
            f"cannot read HFX bundle {p}: it is not a valid zip archive ({e}); re-download the bundle"
        ) from e
    # zipfile: "That compression method is not supported"; a RuntimeError, so caught before those.
    except NotImplementedError as e:
        raise TableFormatError(
            f"cannot read HFX bundle {p}: member {member!r} uses a compression method hlamatch cannot read; "
            "re-pack the bundle with ordinary zip (deflate) compression"
        ) from e
    except RuntimeError as e:  # zipfile's "File ... is encrypted, password required for extraction"
        if "encrypted" not in str(e):
            raise
        raise TableFormatError(
            f"cannot read HFX bundle {p}: member {member!r} is encrypted; give hlamatch an unencrypted bundle"
        ) from e
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
        if member is None and isinstance(e, OSError):
            raise TableFormatError(_os_error_message(p, e)) from e
        raise TableFormatError(
            f"cannot read HFX bundle {p}: member {member!r} is corrupt ({e}); re-download the bundle"
        ) from e
    meta: Any = {}
    if meta_bytes is not None:
        try:
            meta = json.loads(_decode(meta_bytes, f"{p}:metadata.json"))
        except (json.JSONDecodeError, RecursionError) as e:
            raise TableFormatError(
                f"cannot read HFX bundle {p}: metadata.json is not valid JSON ({e}); fix or remove metadata.json"
            ) from e
    if population is None:
        try:
            population = meta["metadata"]["cohortDescription"]["population"][0]["name"]
        except (KeyError, IndexError, TypeError):
            population = None
        if not isinstance(population, str) or not population.strip():
            population = _population_from_name(p)
    where = f"{p}:{member}"
    return _raw_from_text(_decode(data, where), where, population.strip())


def _read_pypop(p: Path, population: str | None) -> _Raw:
    where = str(p)
    df, lines = _csv(_open_text(p), where, has_header=True, sep="\t", ragged=True)
    missing = [c for c in ("popname", "loci", "haplotype", "haplotype.freq") if c not in df.columns]
    if missing:
        raise TableSchemaError(f"{p}: a PyPop haplotype TSV needs columns {', '.join(missing)}")
    if df.height == 0:
        raise EmptyTableError(f"table {p} has no haplotype rows: add rows below the header, or check the file")
    for column in ("loci", "haplotype"):
        gap = _missing_text(df[column])
        if gap.any():
            i = int(gap.arg_max())
            raise TableSchemaError(
                f"{p} line {lines[i]}: missing {column} (column {column!r}); fill it in or drop the row"
            )
    loci_text = df["loci"].str.strip_chars()
    locus_sets = loci_text.unique(maintain_order=True).to_list()
    if len(locus_sets) != 1:
        raise TableSchemaError(
            f"{p} holds haplotypes of several locus sets ({', '.join(map(str, locus_sets))}); "
            "give hlamatch one file per locus set"
        )
    loci = []
    for raw_locus in locus_sets[0].split(":"):
        try:
            locus = canonical_locus(raw_locus, KNOWN_LOCI)
        except UnknownLocusError:
            raise UnknownLocusError(
                f"{p} line {lines[0]}: locus {raw_locus!r} in loci {locus_sets[0]!r} is not a locus hlamatch knows "
                f"(known: {', '.join(KNOWN_LOCI)}); fix the 'loci' column"
            ) from None
        if locus in loci:
            raise TableSchemaError(
                f"{p} line {lines[0]}: loci {locus_sets[0]!r} name locus {locus!r} twice; list each locus once"
            )
        loci.append(locus)
    haps = df["haplotype"].str.strip_chars()
    parts = haps.str.split("~")
    lengths = parts.list.len().to_numpy()
    off = np.flatnonzero(lengths != len(loci))
    if off.size:
        i = int(off[0])
        raise TableSchemaError(
            f"{p} line {lines[i]}: haplotype {haps[i]!r} has {lengths[i]} alleles for loci {locus_sets[0]}"
        )
    columns = {}
    for k, name in enumerate(loci):
        values = parts.list.get(k).str.strip_chars()
        # PyPop writes alleles without the locus prefix: "02:10" under A is A*02:10.
        prefixed = pl.DataFrame({"v": values}).select(
            pl.when(pl.col("v").str.contains("*", literal=True)).then(pl.col("v"))
            .otherwise(pl.lit(f"{name}*") + pl.col("v"))
        )
        columns[name] = prefixed.to_series()
    pop_rows = _keep_population(_population_rows(df["popname"], where, "'popname'", lines), population, where)
    return _Raw(where, None, columns, {"__long__": df["haplotype.freq"]}, lines, pop_rows,
                freq_column="haplotype.freq")


def _read_wide(p: Path, population: str | None) -> _Raw:
    name = p.name.lower()
    kind = "Parquet" if name.endswith((".parquet", ".pq")) else (
        "Arrow IPC" if name.endswith((".arrow", ".feather", ".ipc")) else None
    )
    if kind is None:
        df, lines = _csv(_open_text(p), str(p), has_header=True)
        return _raw_from_frame(df, str(p), population, lines, default_name=_population_from_name(p))
    df = _read_arrow_file(p, kind)
    lines = np.arange(df.height, dtype=np.int64) + 2  # row 1 is the header, as in a CSV export
    return _raw_from_frame(df, str(p), population, lines, default_name=_population_from_name(p))


def _read_arrow_file(p: Path, kind: str) -> pl.DataFrame:
    """A Parquet or Arrow IPC (Feather) file as a polars DataFrame, read by pyarrow.

    pyarrow, not polars, parses the file: on a corrupt file the polars readers can panic, or
    abort the whole process on a huge allocation, where pyarrow raises an exception.  The bytes
    are read first, so that an I/O error keeps its own message.
    """
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    data = _read_bytes(p)
    try:
        # Copy into memory Arrow owns: over the Python bytes object itself (zero-copy), pyarrow
        # threads release it after the read returns, which crashed the process when tracemalloc
        # was stopped meanwhile (as the fuzz tests' per-case bounds do).
        sink = pa.BufferOutputStream()
        sink.write(data)
        source = pa.BufferReader(sink.getvalue())
        table = pq.read_table(source) if kind == "Parquet" else feather.read_table(source)
        table.validate(full=True)  # e.g. text that is not UTF-8, which polars would take on trust
        frame = pl.from_arrow(table)
    except (
        pa.ArrowException, OSError, ValueError, MemoryError, IndexError,
        pl.exceptions.PolarsError, pl.exceptions.PanicException,
    ) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise TableFormatError(f"cannot read {p}: not a valid {kind} file ({reason}); re-export the table") from e
    return frame  # type: ignore[return-value]  # from_arrow gives a DataFrame for a Table


def _dtype_kind(dtype: pl.DataType) -> str:
    """``text``, ``integer``, ``number`` or ``other`` (lists, structs, dates, booleans, binary ...)."""
    if dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum or dtype == pl.Null:
        return "text"
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "number"
    return "other"


def _require_kind(df: pl.DataFrame, column: str, where: str, role: str) -> None:
    kind = _dtype_kind(df[column].dtype)
    if role == "locus" and kind not in ("text", "integer"):
        raise TableSchemaError(
            f"{where}: locus column {column!r} has type {df[column].dtype}; expected text "
            "(allele names such as 'A*24:02'): convert the column to strings"
        )
    if role == "haplotype" and kind != "text":
        raise TableSchemaError(
            f"{where}: haplotype column {column!r} has type {df[column].dtype}; expected text "
            "(haplotypes such as 'A*24:02~B*52:01'): convert the column to strings"
        )
    if role == "frequency" and kind == "other":
        raise TableSchemaError(
            f"{where}: frequency column {column!r} has type {df[column].dtype}; expected numbers (Float64) "
            "or numeric text: convert the column"
        )
    if role == "population" and kind == "other":
        raise TableSchemaError(
            f"{where}: population column {column!r} has type {df[column].dtype}; expected text labels: "
            "convert the column to strings"
        )


def _holds_labels(values: pl.Series) -> bool:
    """True if a column holds text labels: text that is not all numbers (or is all missing)."""
    if _dtype_kind(values.dtype) != "text":
        return False
    text = values.cast(pl.String).str.strip_chars()
    present = text.filter(text.fill_null("") != "")
    return present.len() == 0 or bool(present.cast(pl.Float64, strict=False).is_null().any())


def _raw_from_frame(
    df: pl.DataFrame, where: str, population: str | None, lines: np.ndarray, default_name: str
) -> _Raw:
    """Read a wide frame.  ``population`` (given by the caller) names the population of a single
    frequency column, and selects one population of a table that holds several (one column per
    population, or a population-label column), as in the long formats; ``default_name`` names a
    single frequency column when no population is given."""
    low = {c.lower().strip(): c for c in df.columns}
    hap = next((low[k] for k in ("haplo", "haplotype") if k in low), None)
    freq = next((low[k] for k in _FREQ_NAMES if k in low), None)
    if freq is not None:
        _require_kind(df, freq, where, "frequency")
    if hap is not None and freq is not None:
        _require_kind(df, hap, where, "haplotype")
        return _Raw(where, df[hap].cast(pl.String), None, {population or default_name: df[freq]}, lines,
                    freq_column=freq)
    # A 'population'/'pop' column (any case) holds labels of a long layout, unless it holds
    # numbers: then it is the frequency column of a population named so.
    pop_col = next((low[k] for k in _POP_NAMES if k in low), None)
    if pop_col is not None:
        _require_kind(df, pop_col, where, "population")
        if not _holds_labels(df[pop_col]):
            pop_col = None
    locus_cols: dict[str, pl.Series] = {}
    rest = []
    for c in df.columns:
        if c == pop_col or c == freq:
            continue
        if _is_locus_name(c):
            locus = canonical_locus(c, KNOWN_LOCI)
            if locus in locus_cols:
                raise TableSchemaError(f"{where}: locus {locus!r} appears in two columns")
            _require_kind(df, c, where, "locus")
            locus_cols[locus] = df[c].cast(pl.String)
        elif c.lower().strip() not in _IGNORED_NAMES:
            if df[c].dtype == pl.String and df[c].str.contains("*", literal=True).any():
                raise UnknownLocusError(
                    f"{where}: column {c!r} holds allele names but is not a locus hlamatch knows "
                    f"(known: {', '.join(KNOWN_LOCI)}); rename or drop the column"
                )
            rest.append(c)
    if not locus_cols:
        raise TableSchemaError(
            f"{where}: no locus columns found (columns: {', '.join(df.columns)}); a wide table needs "
            f"columns named after loci ({', '.join(KNOWN_LOCI)}) and frequency columns"
        )
    if pop_col is not None:
        if freq is None:
            raise TableSchemaError(f"{where}: a '{pop_col}' column needs a 'frequency' column beside it")
        pop_rows = _keep_population(_population_rows(df[pop_col], where, repr(pop_col), lines), population, where)
        return _Raw(where, None, locus_cols, {"__long__": df[freq]}, lines, pop_rows, freq_column=freq)
    if freq is not None:
        return _Raw(where, None, locus_cols, {population or default_name: df[freq]}, lines, freq_column=freq)
    if not rest:
        raise TableSchemaError(
            f"{where}: no frequency column found: add a 'frequency' column or one column per population"
        )
    for c in rest:
        if not c.strip():
            raise TableSchemaError(
                f"{where}: a column has no name in the header; name it or drop it (a pandas index column? "
                "write the CSV with index=False)"
            )
    if population is not None:
        key = next((c for c in rest if c.strip().upper() == population.strip().upper()), None)
        if key is None:
            raise OptionError(
                f"population {population!r} is not in {where} (it has {', '.join(c.strip() for c in rest)})"
            )
        rest = [key]
    for c in rest:
        _require_kind(df, c, where, "frequency")
    return _Raw(where, None, locus_cols, {c: df[c] for c in rest}, lines)


# ====================================================================== building


def _parse_freqs(values: pl.Series, where: str, column: str, lines: np.ndarray) -> np.ndarray:
    if values.dtype == pl.String:
        stripped = values.str.strip_chars()
        num = stripped.cast(pl.Float64, strict=False)
        bad = num.is_null()
        if bad.any():
            i = int(bad.arg_max())
            shown = stripped[i]
            what = "missing" if shown in (None, "") else f"non-numeric ({shown!r})"
            raise FrequencyError(
                f"{where} line {lines[i]}: frequency in column {column!r} is {what}; "
                "every frequency must be a number between 0 and 1"
            )
    else:
        try:
            num = values.cast(pl.Float64)
        except pl.exceptions.PolarsError as e:
            raise FrequencyError(f"{where}: column {column!r} is not numeric ({values.dtype})") from e
        if num.null_count():
            i = int(num.is_null().arg_max())
            raise FrequencyError(f"{where} line {lines[i]}: frequency in column {column!r} is missing")
    arr = num.to_numpy().astype(np.float64, copy=True)
    # A single frequency above 1 is invalid whatever the sum tolerance (which absorbs rounding
    # excess of a sum); MASS_EPSILON lets floating-point noise through.
    bad_idx = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr > 1 + MASS_EPSILON))
    if bad_idx.size:
        i = int(bad_idx[0])
        x = float(arr[i])
        what = "not finite" if not math.isfinite(x) else "negative" if x < 0 else "above 1"
        raise FrequencyError(
            f"{where} line {lines[i]}: frequency {x!r} in column {column!r} is {what}; "
            "frequencies must lie in [0, 1]"
        )
    return arr


def _split_haplotypes(raw: _Raw) -> dict[int, pl.Series]:
    s = raw.haplotypes.cast(pl.String)
    if s.null_count():
        i = int(s.is_null().arg_max())
        raise AlleleNameError(f"{raw.where} line {raw.line_numbers[i]}: missing haplotype")
    parts = s.str.strip_chars().str.split("~")
    lengths = parts.list.len().to_numpy()
    width = int(lengths[0])
    off = np.flatnonzero(lengths != width)
    if off.size:
        i = int(off[0])
        raise TableSchemaError(
            f"{raw.where} line {raw.line_numbers[i]}: haplotype {s[i]!r} has {lengths[i]} loci, "
            f"the first row has {width}; every row must list the same loci"
        )
    return {k: parts.list.get(k) for k in range(width)}


def _encode_column(
    values: pl.Series, raw: _Raw, label: str, locus: str | None
) -> tuple[str, list[str], np.ndarray, set[str]]:
    """Parse one locus column; return (locus, vocab, codes, resolution classes)."""
    if values.null_count():
        i = int(values.is_null().arg_max())
        raise AlleleNameError(f"{raw.where} line {raw.line_numbers[i]}: missing allele in {label}")
    text = values.cast(pl.String)
    distinct = text.unique().sort()  # a hash pass, not a sort of every row's text
    uniq = distinct.to_numpy()
    inverse = text.replace_strict(distinct, pl.int_range(distinct.len(), eager=True), return_dtype=pl.Int64).to_numpy()
    parsed: list[Allele] = []
    for k, text in enumerate(uniq.tolist()):
        try:
            a = parse_allele(text) if locus is None else normalise_in_column(text, locus)
        except AlleleNameError as e:
            i = int(np.flatnonzero(inverse == k)[0])
            raise AlleleNameError(f"{raw.where} line {raw.line_numbers[i]}: {e}") from None
        parsed.append(a)
    inverse = inverse.reshape(-1)
    if len({a.locus for a in parsed}) > 1:
        _mixed_loci(parsed, uniq, inverse, raw, label)
    names = [a.name for a in parsed]
    vocab = sorted(set(names))
    lookup = {a: j for j, a in enumerate(vocab)}
    remap = np.array([lookup[a] for a in names], dtype=np.int32)
    classes = {r for a in parsed if (r := name_resolution(a)) is not None}
    if MAC in classes:
        k = next(k for k, a in enumerate(parsed) if name_resolution(a) == MAC)
        i = int(np.flatnonzero(inverse == k)[0])
        raise AlleleNameError(
            f"{raw.where} line {raw.line_numbers[i]}: {parsed[k].name} in {label} is an NMDP multiple-allele "
            "code; a frequency table lists single alleles (expand the code, each allele with its own frequency)"
        )
    return parsed[0].locus, vocab, remap[inverse], classes


def _mixed_loci(parsed: list[Allele], uniq: np.ndarray, inverse: np.ndarray, raw: _Raw, label: str) -> None:
    """Raise for a haplotype position holding alleles of several loci, naming the odd row out.

    The expected locus is the one most rows have there (ties: the first row's); the error names
    the first row, in file order, that differs, and says so when that row names a locus twice.
    """
    names = sorted({a.locus for a in parsed})
    row_locus = np.array([names.index(a.locus) for a in parsed])[inverse]
    counts = np.bincount(row_locus, minlength=len(names))
    expected = int(row_locus[0]) if counts[row_locus[0]] == counts.max() else int(np.argmax(counts))
    i = int(np.flatnonzero(row_locus != expected)[0])
    k = int(inverse[i])
    line = raw.line_numbers[i]
    if raw.haplotypes is not None:
        hap = str(raw.haplotypes[i]).strip()
        seen: list[str] = []
        for part in hap.split("~"):
            try:
                seen.append(parse_allele(part).locus)
            except AlleleNameError:
                continue
        if seen.count(parsed[k].locus) > 1:
            raise TableSchemaError(
                f"{raw.where} line {line}: haplotype {hap!r} names locus {parsed[k].locus!r} twice; "
                "list each locus once, in the order of the other rows"
            )
    raise TableSchemaError(
        f"{raw.where} line {line}: allele {str(uniq[k])!r} in {label} belongs to locus "
        f"{parsed[k].locus!r}, other rows have {names[expected]!r} there; every row must list loci in one order"
    )


def _row_keys(codes: np.ndarray, sizes: Sequence[int]) -> np.ndarray | None:
    """One int64 per row whose order is the rows' lexicographic order (mixed radix ``sizes[l]``),
    or None when the codes do not fit in one (then sort by the columns)."""
    n, k = codes.shape
    radix = [max(int(x), 1) for x in sizes]
    if n == 0 or k == 0 or math.prod(radix) >= 2 ** 62 or codes.min() < 0 or bool(np.any(codes.max(axis=0) >= radix)):
        return None
    key = np.zeros(n, dtype=np.int64)
    for l in range(k):
        key = key * radix[l] + codes[:, l]
    return key


#: From this many rows on, :func:`frequency_order` sorts in polars (multithreaded; three times
#: NumPy's speed on 10^7 rows); below, in NumPy, so that a small command need not import polars.
POLARS_SORT_ROWS = 200_000


def frequency_order(codes: np.ndarray, sizes: Sequence[int], score: np.ndarray) -> np.ndarray:
    """Indices of the rows by decreasing ``score``, ties by their codes (allele names: vocabularies
    are sorted) in lexicographic order: one sort by two keys, not one key per locus."""
    key = _row_keys(codes, sizes)
    if key is None:
        return np.lexsort([codes[:, l] for l in reversed(range(codes.shape[1]))] + [-score])
    if key.shape[0] < POLARS_SORT_ROWS:
        return np.lexsort([key, -score])
    frame = pl.DataFrame({"s": -score, "k": key})
    return frame.select(pl.arg_sort_by(["s", "k"], maintain_order=True))["s"].to_numpy().astype(np.int64)


def unique_rows(codes: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, axis=0, return_inverse=True)``: the distinct rows in lexicographic order
    and each row's index among them (1-d), by one int64 mixed-radix key per row (radix
    ``sizes[l]``, codes in ``0 .. sizes[l]``) where the codes fit in one, which sorts far faster."""
    key = _row_keys(codes, sizes)
    if key is None:
        uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
        return uniq, inverse.reshape(-1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return codes[first], inverse.reshape(-1)


def _build(raw: _Raw, sum_tolerance: float, source: str, strict: bool = False) -> HaplotypeTable:
    n = raw.line_numbers.shape[0]
    if n == 0:
        raise EmptyTableError(f"table {raw.where} has no haplotype rows: add rows below the header, or check the file")
    if raw.haplotypes is not None:
        cols = _split_haplotypes(raw)
        labels = {k: f"position {k + 1} of the haplotype" for k in cols}
        hint: dict[int, str | None] = {k: None for k in cols}
    else:
        cols = dict(enumerate(raw.columns.values()))
        names = list(raw.columns)
        labels = {k: f"column {names[k]!r}" for k in cols}
        hint = {k: names[k] for k in cols}
    loci, alleles, codes, classes = [], [], [], set()
    for k, values in cols.items():
        locus, vocab, c, cls = _encode_column(values, raw, labels[k], hint[k])
        if locus in loci:
            hap = str(raw.haplotypes[0]).strip() if raw.haplotypes is not None else ""
            raise TableSchemaError(
                f"{raw.where} line {raw.line_numbers[0]}: haplotype {hap!r} names locus {locus!r} twice (as does "
                "every row); list each locus once"
            )
        loci.append(locus)
        alleles.append(tuple(vocab))
        codes.append(c)
        classes |= cls
    if ANTIGEN in classes and len(classes) > 1:
        raise TableSchemaError(
            f"{raw.where}: mixes antigen labels (like A24) and molecular allele names (like A*24:02); "
            "use one kind throughout"
        )
    if {"G", "P"} <= classes:
        raise TableSchemaError(f"{raw.where}: mixes G group and P group names; use one kind throughout")
    resolution = next((r for r in (ANTIGEN, "G", "P", "1-field") if r in classes), "2-field")
    code_matrix = np.ascontiguousarray(np.stack(codes, axis=1), dtype=np.int32)

    # Frequencies: wide (one column per population) or long (rows per population).
    if raw.pop_rows is not None:
        values = _parse_freqs(raw.freqs["__long__"], raw.where, raw.freq_column or "frequency", raw.line_numbers)
        pops = list(raw.pop_rows)
        uniq, inverse = unique_rows(code_matrix, [len(v) for v in alleles])
        freqs = np.zeros((uniq.shape[0], len(pops)))
        for p, pop in enumerate(pops):
            rows = raw.pop_rows[pop]
            _check_duplicates(inverse[rows], rows, raw, pop, code_matrix, loci, alleles)
            freqs[inverse[rows], p] = values[rows]
        code_matrix = np.ascontiguousarray(uniq, dtype=np.int32)
    else:
        pops = list(raw.freqs)
        freqs = np.stack(
            [_parse_freqs(v, raw.where, raw.freq_column or pop, raw.line_numbers) for pop, v in raw.freqs.items()],
            axis=1,
        )
        uniq, inverse = unique_rows(code_matrix, [len(v) for v in alleles])
        _check_duplicates(inverse, np.arange(n), raw, pops[0] if len(pops) == 1 else None,
                          code_matrix, loci, alleles)

    seen: dict[str, str] = {}
    for pop in pops:
        other = seen.setdefault(str(pop).strip().upper(), str(pop))
        if other != str(pop):
            raise TableSchemaError(
                f"{raw.where}: populations {other!r} and {str(pop)!r} differ only in case or surrounding spaces "
                "(population names are matched ignoring case); rename one or merge them"
            )
    scaled, pending = [], []
    for p, pop in enumerate(pops):
        total = math.fsum(freqs[:, p])
        if total <= 0:
            raise EmptyTableError(
                f"population {pop!r} of {raw.where} has no haplotype with positive frequency"
            )
        if total > 1 + sum_tolerance:
            raise FrequencyError(
                f"frequencies for population {pop!r} in {raw.where} sum to {total:.6g}, above 1 by more "
                f"than the tolerance {sum_tolerance:g}; fix the table or raise --sum-tolerance"
            )
        if total > 1 + MASS_EPSILON:  # said when the population is used (HaplotypeTable.population_index)
            pending.append(_PendingWarning(
                str(pop).strip(),
                f"frequencies for population {pop!r} in {raw.where} sum to {total:.6g}; scaled down by "
                f"{(1 - 1 / total) * 100:.3g}% to sum to 1 (rounding excess within tolerance {sum_tolerance:g})",
            ))
        if total > 1:  # within MASS_EPSILON: floating-point noise, scaled silently
            freqs[:, p] /= total
            scaled.append(1 / total)
        else:
            scaled.append(1.0)
    table = HaplotypeTable(
        loci=tuple(loci),
        alleles=tuple(alleles),
        codes=code_matrix,
        freqs=np.ascontiguousarray(freqs),
        populations=tuple(str(p).strip() for p in pops),
        resolution=resolution,
        source=source,
        scaled_by=tuple(scaled),
        population_warnings=tuple(pending),
    )
    if resolution == "1-field" and "2-field" in classes:
        warnings.warn(
            f"{raw.where} mixes one-field and two-field allele names; read at one-field resolution "
            "(two-field names reduced, their frequencies summed)",
            HlamatchWarning,
            stacklevel=3,
        )
    # Fields beyond the table's resolution (3rd and 4th fields) are dropped, frequencies summed.
    if resolution == "2-field" and table._finer_than(resolution):
        longest = max((a for names in alleles for a in names if "*" in a), key=lambda a: a.count(":"))
        warnings.warn(
            f"{raw.where} names alleles with three or four fields (e.g. {longest}); "
            f"read at {resolution} resolution (extra fields dropped, frequencies of haplotypes that "
            "became identical summed)",
            HlamatchWarning,
            stacklevel=3,
        )
    # Names are checked as written (A*24:02:01:777 is unknown even though A*24:02 is known).
    _validate_names(table, raw.where, strict)
    return table.select(None, resolution)


def _validate_names(table: HaplotypeTable, where: str, strict: bool) -> None:
    """With a nomenclature in use, report names it does not know, once, with their frequency.

    Raises
    ------
    UnknownAlleleError
        ``strict`` and some name is unknown.
    """
    from .nomenclature import current_nomenclature

    nom = current_nomenclature()
    if nom is None:
        return
    hit = np.zeros(table.n_haplotypes, dtype=np.bool_)
    names: list[str] = []
    for l, vocab in enumerate(table.alleles):
        bad = [c for c, a in enumerate(vocab) if not nom.known(a)]
        if bad:
            names += [vocab[c] for c in bad]
            hit |= np.isin(table.codes[:, l], bad)
    if not names:
        return
    mass = ", ".join(f"{pop} {math.fsum(table.freqs[hit, p]):.3g}" for p, pop in enumerate(table.populations))
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    what = (f"{where}: {len(names)} allele name(s) are not in {nom.release} ({shown}); haplotypes carrying "
            f"them have total frequency {mass}")
    if strict:
        from .errors import UnknownAlleleError

        raise UnknownAlleleError(f"{what}; correct the names, or leave out --strict to keep them with a warning")
    warnings.warn(f"{what}; they are kept (--strict makes this an error)", HlamatchWarning, stacklevel=4)


def _check_duplicates(
    groups: np.ndarray, rows: np.ndarray, raw: _Raw, pop: str | None,
    codes: np.ndarray, loci: list[str], alleles: list[tuple[str, ...]],
) -> None:
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    dup = np.flatnonzero(g[1:] == g[:-1])
    if dup.size:
        first, second = rows[order[dup[0]]], rows[order[dup[0] + 1]]
        hap = "~".join(alleles[l][codes[first, l]] for l in range(len(loci)))
        where_pop = f" for population {pop!r}" if pop else ""
        raise DuplicateHaplotypeError(
            f"{raw.where}: haplotype {hap} is listed twice{where_pop} (lines "
            f"{raw.line_numbers[first]} and {raw.line_numbers[second]}); merge the rows (sum their "
            "frequencies) or remove one"
        )
