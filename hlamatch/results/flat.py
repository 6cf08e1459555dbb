"""Flat rows: the one layout of every CSV hlamatch writes and of ``to_polars()``.

A result row (a dict, as the ``to_dicts()`` methods give it, with lists and dicts inside)
becomes a *flat* row, every cell a scalar, so that a spreadsheet or ``DataFrame.write_csv`` can
take it:

* **Columns in a stable order.**  The shared leading columns come first, in this order, where the
  rows have them: ``population, level, resolution, loci, rule, definition, table``
  (:data:`LEADING`); then the row's own columns in their order; the long line lists last
  (``lines``, ``line_names``, ``bank``, ``bank_names``, ``exact_lines``, ``exact_line_names``: :data:`TRAILING`).
* **Mismatch distributions, one column per bin.**  ``distribution`` → ``mismatches_0``,
  ``mismatches_1``, …, ``mismatches_unmatched``; ``distribution_upper`` → ``mismatches_upper_0``,
  … (:data:`BINS`).  Every bin from 0 to the largest any row has; a bin missing from a row's
  distribution is a share of 0; a row without a distribution (or an empty one) has blank bins.
  When no row has a distribution, there are no bin columns.
* **Other dicts** (``weights``, ``coverage_by_population``): one column per key
  (``weights_JAPI``); left out when no row has one.
* **Lists joined**: ``loci`` with ``~``, others with ``;`` (a list of dicts as ``k=v`` pairs).
* ``rules`` (machine-readable) is left out where ``rule`` says the rules in words.
* ``definition`` holds a short name, the ``short_name`` of the row's
  :class:`~hlamatch.results.definitions.Definition` (``hwe-genotype``, ``gain-hwe-genotype-weighted``,
  ``cohort-genotype`` …); the full text stays in the JSON and text output and in the ``to_dicts()`` rows.

Numbers keep full precision here; the CLI rounds them when it writes CSV
(:func:`hlamatch.cli.output.csv_text`).  Nothing here imports NumPy or polars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["flat_rows", "LEADING", "TRAILING", "BINS", "DICT_FIELDS"]

#: Shared leading columns, in this order, of every flat row that has them.
LEADING: tuple[str, ...] = ("population", "level", "resolution", "loci", "rule", "definition", "table")
#: Long lists of lines, put last.
TRAILING: tuple[str, ...] = ("lines", "line_names", "bank", "bank_names", "exact_lines", "exact_line_names")
#: Mismatch distributions (dicts bin → share) and the prefix of their one-per-bin columns.
BINS: dict[str, str] = {"distribution": "mismatches", "distribution_upper": "mismatches_upper"}
#: Fields that hold a dict (or None); left out of a flat row when no row has one.
DICT_FIELDS: frozenset[str] = frozenset({*BINS, "weights", "coverage_by_population", "rules"})
#: Machine-readable fields left out when their words are there (``rules`` → ``rule``).
DROPPED: dict[str, str] = {"rules": "rule"}

Row = dict[str, Any]


def flat_rows(rows: Iterable[Mapping[str, Any]], *, order: bool = True) -> list[Row]:
    """Rows with a scalar in every cell and the same columns in every row (see the module's text).

    Parameters
    ----------
    rows : iterable of dict
        Result rows (``to_dicts()``, or a command's rows).
    order : bool
        Put the shared columns first and the line lists last (:data:`LEADING`, :data:`TRAILING`);
        False keeps the columns in order of appearance.

    Returns
    -------
    list of dict
        Flat rows; a missing value (a row without a field, or None) is None.

    Examples
    --------
    >>> flat_rows([{"lines": ["a", "b"], "coverage": 0.5, "population": "JAPI", "loci": ["A", "B"],
    ...             "distribution": {"0": 0.5, "2": 0.25, "unmatched": 0.25}}])
    [{'population': 'JAPI', 'loci': 'A~B', 'coverage': 0.5, 'mismatches_0': 0.5, 'mismatches_1': 0.0, \
'mismatches_2': 0.25, 'mismatches_unmatched': 0.25, 'lines': 'a;b'}]
    """
    rows = list(rows)
    keys = _dict_keys(rows)
    out: list[Row] = []
    columns: dict[str, None] = {}
    for r in rows:
        flat: Row = {}
        for k, v in r.items():
            if k in DROPPED and DROPPED[k] in r:
                continue
            if k in keys:
                flat.update(_spread(k, v, keys[k]))
            elif k in DICT_FIELDS and v is None:
                continue  # a dict field no row has: no columns
            elif k == "definition":
                flat[k] = _definition(v)
            else:
                flat[k] = cell(v, k)
        columns.update(dict.fromkeys(flat))
        out.append(flat)
    names = list(columns)
    if order:
        head = [c for c in LEADING if c in columns]
        tail = [c for c in TRAILING if c in columns]
        names = head + [c for c in names if c not in head and c not in tail] + tail
    return [{c: r.get(c) for c in names} for r in out]


def cell(value: Any, key: str = "") -> Any:
    """One flat cell: lists joined by ';' (``loci`` by '~'), dicts as ``k=v`` pairs, non-finite
    numbers as None; other values as they are."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return ",".join(f"{k}={_text(cell(v))}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        sep = "~" if key == "loci" else ";"
        return sep.join(_text(cell(v)) for v in value)
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _dict_keys(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per dict field some row has: its flat column keys (bins: 0 … largest, then ``unmatched``)."""
    seen: dict[str, dict[str, None]] = {}
    for r in rows:
        for k, v in r.items():
            if isinstance(v, Mapping) and not (k in DROPPED and DROPPED[k] in r):
                seen.setdefault(k, {}).update(dict.fromkeys(map(str, v)))
    out: dict[str, list[str]] = {}
    for k, names in seen.items():
        if k in BINS:
            top = max((int(b) for b in names if b.isdigit()), default=0)
            out[k] = [str(m) for m in range(top + 1)] + ["unmatched"]
        else:
            out[k] = list(names)
    return out


def _spread(field: str, value: Any, keys: list[str]) -> Row:
    """A dict field as one column per key (``weights_JAPI``; bins as ``mismatches_0``)."""
    sub = {str(a): b for a, b in value.items()} if isinstance(value, Mapping) else {}
    bins = field in BINS and bool(sub)  # a distribution lists the bins that hold patients: others are 0
    prefix = BINS.get(field, field)
    return {f"{prefix}_{s}": cell(sub.get(s, 0.0 if bins else None)) for s in keys}


def _definition(value: Any) -> Any:
    """A row's definition as its short name (a :class:`Definition` names itself; a plain text, e.g.
    read back from JSON, by the definition it is)."""
    if not isinstance(value, str):
        return value
    from hlamatch.results.definitions import definition_name

    return definition_name(value)
