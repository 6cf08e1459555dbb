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

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hlamatch.constants import DEFAULT_SUM_TOLERANCE, TABLE_FORMATS
from hlamatch.errors import HlamatchWarning, OptionError, TableFormatError
from hlamatch.io.files import _os_error_message
from hlamatch.io.formats import (
    _detect_format,
    _read_grimm,
    _read_hfx,
    _read_nmdp,
    _read_nmdp2007,
    _read_pypop,
    _read_wide,
)
from hlamatch.io.frame import _check_options
from hlamatch.table.build import build_table
from hlamatch.table.model import HaplotypeTable

__all__ = ["load_table"]


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


def _load_cached(
    p: Path, fmt: str, reader: Any, population: str | None, sum_tolerance: float, strict: bool
) -> HaplotypeTable:
    """Read and build a table once per file version: the built table (and the warnings its
    building gave, shown again on every load) is cached on disk (:mod:`hlamatch._cache`, as NumPy
    arrays and JSON, never pickles), keyed by the file's content fingerprint, by every option that
    shapes it and by the nomenclature in use (its release and its files' fingerprints).  Warnings
    about one population travel inside the table (:attr:`HaplotypeTable.population_warnings`) and
    are shown when that population is used."""
    from hlamatch._cache import cached, identity, json_str_list
    from hlamatch.hla.nomenclature import current_nomenclature
    from hlamatch.table.stored import table_from_parts, table_parts

    nom = current_nomenclature()
    # The path as given is part of the key: the table and its messages name the file that way.
    key = [
        str(p),
        fmt,
        repr(population),
        repr(sum_tolerance),
        repr(strict),
        identity(p),
        nom.identity() if nom is not None else "no nomenclature",
    ]

    def build() -> tuple[HaplotypeTable, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", HlamatchWarning)
            table = build_table(reader(p, population), sum_tolerance, source=str(p), strict=strict)
        for w in caught:
            if not issubclass(w.category, HlamatchWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return table, [str(w.message) for w in caught if issubclass(w.category, HlamatchWarning)]

    def dump(value: tuple[HaplotypeTable, list[str]]) -> tuple[Any, Any]:
        meta, arrays = table_parts(value[0])
        return {"table": meta, "said": list(value[1])}, arrays

    def load(meta: Any, arrays: Any) -> tuple[HaplotypeTable, list[str]]:
        if not isinstance(meta, dict):
            raise ValueError("not a stored table")
        return table_from_parts(meta.get("table"), arrays), json_str_list(meta.get("said"))

    table, said = cached("table", key, build, dump, load)
    for message in said:
        warnings.warn(message, HlamatchWarning, stacklevel=3)
    return table


def _is_folder(p: Path) -> bool:
    try:
        return p.is_dir()
    except (OSError, ValueError):
        return False
