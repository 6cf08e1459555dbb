"""A :class:`HaplotypeTable` as plain parts for the on-disk cache (:mod:`hlamatch._cache`): two
NumPy arrays and JSON metadata, and back, with every part checked (types, shapes, dtypes, lengths,
codes in range, frequencies finite and non-negative): parts that are not exactly a table's raise
ValueError, which the cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from hlamatch.constants import ALL_RESOLUTIONS
from hlamatch.table.model import HaplotypeTable, _PendingWarning

__all__ = ["table_parts", "table_from_parts"]

#: The fields :func:`table_parts` stores; a table with any other field set is not cached.
_STORED = {
    "loci",
    "alleles",
    "codes",
    "freqs",
    "populations",
    "resolution",
    "source",
    "scaled_by",
    "population_warnings",
}


def table_parts(table: HaplotypeTable) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(JSON-able metadata, arrays ``codes`` and ``freqs``) of ``table``.

    Raises
    ------
    ValueError
        The table has a field this module does not know how to store (then it is not cached).
    """
    for f in dataclasses.fields(table):
        if f.name not in _STORED and getattr(table, f.name) != f.default:
            raise ValueError(f"field {f.name} is not stored")
    meta = {
        "loci": list(table.loci),
        "alleles": [list(a) for a in table.alleles],
        "populations": list(table.populations),
        "resolution": table.resolution,
        "source": table.source,
        "scaled_by": [float(x) for x in table.scaled_by],
        "population_warnings": [[w.population, w.message] for w in table.population_warnings],
    }
    return meta, {"codes": table.codes, "freqs": table.freqs}


def _strs(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} is not a list of text")
    return tuple(value)


def table_from_parts(meta: Any, arrays: dict[str, np.ndarray]) -> HaplotypeTable:
    """The table :func:`table_parts` gave these parts for.

    Raises
    ------
    ValueError
        Any part is missing or not of the expected type, shape, dtype, length or range.
    """
    if not isinstance(meta, dict) or set(arrays) != {"codes", "freqs"}:
        raise ValueError("not a stored table")
    loci = _strs(meta.get("loci"), "loci")
    alleles_raw = meta.get("alleles")
    if not isinstance(alleles_raw, list) or len(alleles_raw) != len(loci):
        raise ValueError("alleles do not match loci")
    alleles = tuple(_strs(a, "alleles") for a in alleles_raw)
    populations = _strs(meta.get("populations"), "populations")
    resolution, source = meta.get("resolution"), meta.get("source")
    if resolution not in ALL_RESOLUTIONS or not isinstance(source, str):
        raise ValueError("bad resolution or source")
    scaled_by = meta.get("scaled_by")
    if (
        not isinstance(scaled_by, list)
        or len(scaled_by) not in (0, len(populations))
        or not all(type(x) in (int, float) and math.isfinite(x) and x > 0 for x in scaled_by)
    ):
        raise ValueError("bad scaled_by")
    notes = meta.get("population_warnings")
    if not isinstance(notes, list) or not all(
        isinstance(n, list) and len(n) == 2 and isinstance(n[0], str) and isinstance(n[1], str) and n[0] in populations
        for n in notes
    ):
        raise ValueError("bad population warnings")
    codes, freqs = arrays["codes"], arrays["freqs"]
    if codes.dtype != np.int32 or freqs.dtype != np.float64 or codes.ndim != 2 or freqs.ndim != 2:
        raise ValueError("bad array dtype or rank")
    if codes.shape[1] != len(loci) or freqs.shape != (codes.shape[0], len(populations)):
        raise ValueError("array shapes do not match")
    if codes.shape[0]:
        if (codes.min(axis=0) < 0).any() or (codes.max(axis=0) >= np.array([len(a) for a in alleles])).any():
            raise ValueError("allele code out of range")
        if not np.isfinite(freqs).all() or (freqs < 0).any():
            raise ValueError("bad frequency")
    return HaplotypeTable(
        loci=loci,
        alleles=alleles,
        codes=np.ascontiguousarray(codes),
        freqs=np.ascontiguousarray(freqs),
        populations=populations,
        resolution=resolution,
        source=source,
        scaled_by=tuple(float(x) for x in scaled_by),
        population_warnings=tuple(_PendingWarning(p, m) for p, m in notes),
    )
