"""Building a :class:`HaplotypeTable` from read columns: frequencies, allele encoding, validation."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from hlamatch._deps import pl
from hlamatch.constants import ANTIGEN, MASS_EPSILON
from hlamatch.errors import (
    AlleleNameError,
    DuplicateHaplotypeError,
    EmptyTableError,
    FrequencyError,
    HlamatchWarning,
    TableSchemaError,
)
from hlamatch.hla.alleles import MAC, Allele, name_resolution, normalise_in_column, parse_allele
from hlamatch.table.model import HaplotypeTable, _PendingWarning
from hlamatch.table.rows import unique_rows

# ====================================================================== reading


@dataclass
class RawTable:
    """What a reader hands to the common builder."""

    where: str  # file description for messages
    haplotypes: pl.Series | None  # '~'-joined haplotype strings, or
    columns: dict[str, pl.Series] | None  # locus column -> values (wide formats)
    freqs: dict[str, pl.Series]  # population -> frequency strings or floats
    line_numbers: np.ndarray  # file line of each row, for messages
    pop_rows: dict[str, np.ndarray] | None = None  # long formats: rows of each population
    freq_column: str | None = None  # the file's frequency column, when it is not named after a population


# ====================================================================== building


def _parse_freqs(values: pl.Series, where: str, column: str, lines: np.ndarray) -> np.ndarray:
    if values.dtype == pl.String:
        stripped = values.str.strip_chars()
        num = stripped.cast(pl.Float64, strict=False)
        bad = num.is_null()
        if bad.any():
            i = bad.arg_max() or 0  # (None only for an empty series)
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
            i = num.is_null().arg_max() or 0
            raise FrequencyError(f"{where} line {lines[i]}: frequency in column {column!r} is missing")
    arr: np.ndarray = num.to_numpy().astype(np.float64, copy=True)
    # A single frequency above 1 is invalid whatever the sum tolerance (which absorbs rounding
    # excess of a sum); MASS_EPSILON lets floating-point noise through.
    bad_idx = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr > 1 + MASS_EPSILON))
    if bad_idx.size:
        i = int(bad_idx[0])
        x = float(arr[i])
        what = "not finite" if not math.isfinite(x) else "negative" if x < 0 else "above 1"
        raise FrequencyError(
            f"{where} line {lines[i]}: frequency {x!r} in column {column!r} is {what}; frequencies must lie in [0, 1]"
        )
    return arr


def _split_haplotypes(raw: RawTable) -> dict[int, pl.Series]:
    assert raw.haplotypes is not None  # a long or haplotype-string format
    s = raw.haplotypes.cast(pl.String)
    if s.null_count():
        i = s.is_null().arg_max() or 0  # (None only for an empty series)
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
    values: pl.Series, raw: RawTable, label: str, locus: str | None
) -> tuple[str, list[str], np.ndarray, set[str]]:
    """Parse one locus column; return (locus, vocab, codes, resolution classes)."""
    if values.null_count():
        i = values.is_null().arg_max() or 0  # (None only for an empty series)
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


def _mixed_loci(parsed: list[Allele], uniq: np.ndarray, inverse: np.ndarray, raw: RawTable, label: str) -> None:
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


def build_table(raw: RawTable, sum_tolerance: float, source: str, strict: bool = False) -> HaplotypeTable:
    n = raw.line_numbers.shape[0]
    if n == 0:
        raise EmptyTableError(f"table {raw.where} has no haplotype rows: add rows below the header, or check the file")
    if raw.haplotypes is not None:
        cols = _split_haplotypes(raw)
        labels = {k: f"position {k + 1} of the haplotype" for k in cols}
        hint: dict[int, str | None] = {k: None for k in cols}
    else:
        assert raw.columns is not None  # a wide format: one column per locus
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
        long_freqs = _parse_freqs(raw.freqs["__long__"], raw.where, raw.freq_column or "frequency", raw.line_numbers)
        pops = list(raw.pop_rows)
        uniq, inverse = unique_rows(code_matrix, [len(v) for v in alleles])
        freqs = np.zeros((uniq.shape[0], len(pops)))
        for p, pop in enumerate(pops):
            rows = raw.pop_rows[pop]
            _check_duplicates(inverse[rows], rows, raw, pop, code_matrix, loci, alleles)
            freqs[inverse[rows], p] = long_freqs[rows]
        code_matrix = np.ascontiguousarray(uniq, dtype=np.int32)
    else:
        pops = list(raw.freqs)
        freqs = np.stack(
            [_parse_freqs(v, raw.where, raw.freq_column or pop, raw.line_numbers) for pop, v in raw.freqs.items()],
            axis=1,
        )
        uniq, inverse = unique_rows(code_matrix, [len(v) for v in alleles])
        _check_duplicates(inverse, np.arange(n), raw, pops[0] if len(pops) == 1 else None, code_matrix, loci, alleles)

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
            raise EmptyTableError(f"population {pop!r} of {raw.where} has no haplotype with positive frequency")
        if total > 1 + sum_tolerance:
            raise FrequencyError(
                f"frequencies for population {pop!r} in {raw.where} sum to {total:.6g}, above 1 by more "
                f"than the tolerance {sum_tolerance:g}; fix the table or raise --sum-tolerance"
            )
        if total > 1 + MASS_EPSILON:  # said when the population is used (HaplotypeTable.population_index)
            pending.append(
                _PendingWarning(
                    str(pop).strip(),
                    f"frequencies for population {pop!r} in {raw.where} sum to {total:.6g}; scaled down by "
                    f"{(1 - 1 / total) * 100:.3g}% to sum to 1 (rounding excess within tolerance {sum_tolerance:g})",
                )
            )
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
    from hlamatch.hla.nomenclature import current_nomenclature

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
    what = (
        f"{where}: {len(names)} allele name(s) are not in {nom.release} ({shown}); haplotypes carrying "
        f"them have total frequency {mass}"
    )
    if strict:
        from hlamatch.errors import UnknownAlleleError

        raise UnknownAlleleError(f"{what}; correct the names, or leave out --strict to keep them with a warning")
    warnings.warn(f"{what}; they are kept (--strict makes this an error)", HlamatchWarning, stacklevel=4)


def _check_duplicates(
    groups: np.ndarray,
    rows: np.ndarray,
    raw: RawTable,
    pop: str | None,
    codes: np.ndarray,
    loci: list[str],
    alleles: list[tuple[str, ...]],
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
