"""Parsers of the command line's values: lists, counts, populations and weights, the table, the
bank's lines and the match rules (each turns option values into library arguments, or one
:class:`~hlamatch.errors.OptionError`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hlamatch.cli.options import _flat, strict_names
from hlamatch.cli.types import INT64_MAX, ascii_count
from hlamatch.constants import DEFAULT_SUM_TOLERANCE
from hlamatch.errors import OptionError


def split_list(values: str | Sequence[str] | None, option: str = "--loci") -> list[str] | None:
    """Comma lists and repeated values as one list: ``("A, B", "DRB1")`` → ``["A", "B", "DRB1"]``.

    Nothing given (None or an empty sequence) is None.

    Raises
    ------
    OptionError
        The values name nothing (``--loci ""``).
    """
    if values is None:
        return None
    raw = [values] if isinstance(values, str) else list(values)
    if not raw:
        return None
    items = _flat(raw)
    if not items:
        raise OptionError(
            f"{option} {raw[0]!r} names nothing: give a comma-separated list (e.g. {option} A,B,DRB1) "
            f"or leave {option} out"
        )
    return items


def parse_counts(values: Sequence[str], option: str) -> list[int]:
    """Whole numbers ≥ 1 from comma lists and repeated values (``-R 15000,24000 -R 160000``).

    Raises
    ------
    OptionError
        A value that is not a whole number ≥ 1, or a value given twice.
    """
    out: list[int] = []
    for item in _flat(values):
        n = ascii_count(item)  # ASCII digits only ('²'.isdigit() is True), at most int64
        if n is None:
            big = ascii_count(item, hi=10 ** len(item)) is not None
            raise OptionError(
                f"{option} {item[:40]!r} is not a whole number ≥ 1" + (f" and ≤ {INT64_MAX}" if big else "")
            )
        if n in out:
            raise OptionError(f"{option} {n} is given twice")
        out.append(n)
    if values and not out:
        raise OptionError(f"{option} {values[0]!r} names no number: give whole numbers (e.g. {option} 15000,24000)")
    return out


def patient_loci(typings: Sequence[Any], table: Any) -> list[str]:
    """The loci of ``table`` that some patient typing is typed at, in table order: where ``--top``
    compares typed patients when ``--loci`` is not given (a cohort typed at A, B and DRB1 is not
    compared at every locus of a five-locus table).

    Raises
    ------
    OptionError
        No patient is typed at a locus of the table.
    """
    from hlamatch.hla.alleles import locus_key

    typed = {locus_key(locus) for t in typings if t.alleles for locus in t.alleles}
    loci = [locus for locus in table.loci if locus_key(locus) in typed]
    if not loci:
        raise OptionError(
            f"the patients are typed at none of the loci of table {table.source} ({', '.join(table.loci)}): "
            "pass --loci to choose the loci to compare"
        )
    return loci


def _weight(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise OptionError(f"{where}: weight {text.strip()!r} is not a number") from None


def _positive_weight(text: str, where: str) -> float:
    w = _weight(text, where)
    if not math.isfinite(w) or w <= 0:
        raise OptionError(f"{where}: weight {text.strip()!r} must be a positive number")
    return w


def parse_populations(
    values: Sequence[str] = (), weights_file: str | None = None
) -> list[str] | dict[str, float] | None:
    """The ``populations`` argument of the library from ``--population`` values and ``--weights``.

    Parameters
    ----------
    values : sequence of str
        ``--population`` values: names (``EUR``), comma lists (``EUR,AFA``) or weighted names
        (``JAPI=0.8``, also in comma lists).
    weights_file : str, optional
        ``--weights`` file (see :func:`read_weights_file`).

    Returns
    -------
    None (every population), a list of names, or a dict name → weight (a weighted mix; the
    library checks the names and that the weights are positive, and normalises them).

    Raises
    ------
    OptionError
        Weighted and unweighted names mixed, a weight that is not a number, an empty name, a
        population weighted twice, or both ``--population`` and ``--weights``.
    """
    items = _flat(values)
    if values and not items:
        raise OptionError(
            f"--population {values[0]!r} names no population: give a name (NAME or NAME=W); "
            "'hlamatch tables NAME' lists a table's populations"
        )
    if weights_file is not None:
        if items:
            raise OptionError("give the populations either with --population or with --weights, not both")
        return read_weights_file(weights_file)
    if not items:
        return None
    weighted = [x for x in items if "=" in x]
    if weighted and len(weighted) != len(items):
        plain = [x for x in items if "=" not in x]
        raise OptionError(
            f"--population mixes weighted and unweighted populations ({weighted[0]} and {plain[0]}): "
            "give every population a weight (NAME=W) or none"
        )
    if not weighted:
        return items
    out: dict[str, float] = {}
    for item in items:
        name, _, w = (s.strip() for s in item.partition("="))
        if not name:
            raise OptionError(f"--population {item!r}: the population name is missing (write NAME=W)")
        if name in out:
            raise OptionError(f"population {name!r} is given twice")
        out[name] = _weight(w, f"--population {item}")
    return out


def read_weights_file(path: str | Path) -> dict[str, float]:
    """Population weights from a CSV/TSV/Parquet file with columns ``population`` and ``weight``.

    Raises
    ------
    OptionError
        Missing or unreadable file, missing columns, an unreadable row, an empty name, a weight
        that is not a positive finite number (NaN, inf, 0 and negative weights are refused, naming
        the row), a population listed twice, or no rows.
    """
    from hlamatch.io.text import read_rows

    p = Path(path)
    tab = read_rows(p, "weights file", OptionError)
    pop_col, weight_col = tab.index(("population",)), tab.index(("weight",))
    if pop_col is None or weight_col is None:
        raise OptionError(
            f"weights file {p}: expected columns 'population' and 'weight', found {', '.join(tab.columns)}"
        )
    out: dict[str, float] = {}
    for row in tab.rows:
        where = f"weights file {p} row {row.number}"
        if row.problem:
            raise OptionError(f"{where}: {row.problem}")
        name, w = row.cells[pop_col], row.cells[weight_col]
        if not name:
            raise OptionError(f"{where}: the population name is empty")
        if name in out:
            raise OptionError(f"{where}: population {name!r} is given twice")
        if w is None:
            raise OptionError(f"{where}: the weight of population {name!r} is empty")
        out[name] = _positive_weight(w, where)
    if not out:
        raise OptionError(f"weights file {p} holds no weights: add rows 'population,weight' below the header")
    return out


def lazy_table(
    table: str | Sequence[str] | None, table_format: str = "auto", sum_tolerance: float = DEFAULT_SUM_TOLERANCE
) -> Callable[[], Any]:
    """A zero-argument function returning the table of ``--table`` (loaded once, on first call).

    Several ``--table`` values are combined into one table of all their populations.  Commands
    that may not need the table (``match`` without ``--top``) never load it.
    """
    if not isinstance(table, str) and table is not None:
        table = None if len(table) == 0 else table[0] if len(table) == 1 else list(table)

    strict = strict_names()

    @functools.cache
    def load():
        from hlamatch.io.bundled import resolve_table

        return resolve_table(table, format=table_format, sum_tolerance=sum_tolerance, strict=strict)

    return load


def bank_lines(
    lines: Sequence[str],
    lines_file: str | None,
    top: int | None,
    *,
    table: Callable[[], Any] | None = None,
    populations: Any = None,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    required: bool = True,
) -> list[Any]:
    """The donor lines of ``--line``, ``--lines-file`` and ``--top``, in that order.

    Parameters
    ----------
    lines, lines_file, top
        The raw option values.
    table : callable, optional
        Returns the table (see :func:`lazy_table`); called only for ``--top``.
    populations, loci, resolution
        Passed to :func:`hlamatch.compute.candidates.top_lines` for ``--top``: with several populations it
        needs weights (the library says so otherwise).

    Raises
    ------
    HlamatchError
        A malformed line or lines file, ``--top`` on several unweighted populations, or no lines
        (when ``required``: rank and plan accept an empty bank).
    """
    from hlamatch.compute.candidates import top_lines
    from hlamatch.hla.lines import as_lines
    from hlamatch.io.lines import read_lines_file

    bank = as_lines(lines)
    if lines_file:
        bank += read_lines_file(lines_file)
    if top:
        if table is None:
            raise OptionError("--top needs a table")
        # Donor lines are chosen for the antigens they express: haplotypes with a null allele are
        # skipped (top_lines' default).
        bank += top_lines(table(), top, populations=populations, loci=loci, resolution=resolution)
    if not bank and required:
        raise OptionError("no lines given: pass --line, --lines-file or --top")
    return bank


def make_rules(
    max_mismatches: int = 0,
    require_match: Sequence[str] = (),
    allow_mismatch: Sequence[str] = (),
    homozygous_count: str | int = 1,
    direction: str = "HvG",
):
    """The :class:`~hlamatch.hla.rules.MatchRules` of the rule options (loci comma-separated or repeated)."""
    from hlamatch.hla.rules import MatchRules

    for option, values in (("--require-match", require_match), ("--allow-mismatch", allow_mismatch)):
        if values and not _flat(values):
            raise OptionError(
                f"{option} {values[0]!r} names no locus: give locus names (e.g. {option} DRB1) or leave {option} out"
            )
    return MatchRules(
        max_mismatches=max_mismatches,
        direction=direction,
        homozygous_count=int(homozygous_count),
        require_match=tuple(_flat(require_match)),
        allow_mismatch=tuple(_flat(allow_mismatch)) if allow_mismatch else None,
    )
