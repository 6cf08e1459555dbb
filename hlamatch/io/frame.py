"""A table's columns as read from any source (a polars frame): locus, frequency and population columns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hlamatch._deps import pl
from hlamatch.constants import DEFAULT_SUM_TOLERANCE, KNOWN_LOCI
from hlamatch.errors import OptionError, TableSchemaError, UnknownLocusError
from hlamatch.hla.alleles import canonical_locus
from hlamatch.table.build import RawTable, build_table
from hlamatch.table.model import HaplotypeTable

__all__ = ["table_from_frame"]

_FREQ_NAMES = ("freq", "frequency", "hf", "haplotype_frequency")


_IGNORED_NAMES = ("count", "rank", "n", "haplo_count")


_POP_NAMES = ("population", "pop")


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
        hint = (
            " (collect it first: frame.collect())"
            if isinstance(frame, pl.LazyFrame)
            else (": build one with polars.DataFrame(data), or polars.from_pandas(df) for a pandas frame")
        )
        raise OptionError(f"table_from_frame needs a polars DataFrame, got {type(frame).__name__}{hint}")
    _check_options(population, sum_tolerance)
    name = str(name)
    raw = _raw_from_frame(frame, name, population, np.arange(frame.height, dtype=np.int64) + 2, default_name=name)
    return build_table(raw, sum_tolerance, source=name, strict=strict)


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


def _is_locus_name(text: str) -> bool:
    try:
        canonical_locus(text, KNOWN_LOCI)
        return True
    except UnknownLocusError:
        return False


def _missing_text(values: pl.Series) -> pl.Series:
    """True where a text cell is null or blank."""
    return values.cast(pl.String).str.strip_chars().fill_null("") == ""


def _population_rows(labels: pl.Series, where: str, column: str, lines: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of each population label, in order of first appearance; a missing label is an error."""
    missing = _missing_text(labels)
    if missing.any():
        i = missing.arg_max() or 0  # (None only for an empty series)
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
) -> RawTable:
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
        return RawTable(
            where, df[hap].cast(pl.String), None, {population or default_name: df[freq]}, lines, freq_column=freq
        )
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
        return RawTable(where, None, locus_cols, {"__long__": df[freq]}, lines, pop_rows, freq_column=freq)
    if freq is not None:
        return RawTable(where, None, locus_cols, {population or default_name: df[freq]}, lines, freq_column=freq)
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
    return RawTable(where, None, locus_cols, {c: df[c] for c in rest}, lines)
