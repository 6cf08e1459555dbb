"""Patients files: one typing per row (GL-string-like text or two columns per locus)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hlamatch.constants import DRB345_GENES, KNOWN_LOCI
from hlamatch.errors import HlamatchError, TypingError, UnknownLocusError
from hlamatch.hla.alleles import canonical_locus
from hlamatch.hla.typing import Typing, add_locus, parse_typing

__all__ = ["read_patients"]

_COLUMN = re.compile(r"^(?P<locus>.+?)[_.\- ]?(?P<k>\d)$")


def _typing_columns(
    p: Path,
    columns: Sequence[str],
    skip: set[int],
    what: str = "patients file",
    error: type[HlamatchError] = TypingError,
) -> dict[str, list[int]]:
    """Locus → indices of its allele columns, in allele order (first, second; or one column).

    A column named after a locus (``A``, ``DRB1``) holds the locus's typing (``A*24:02+A*02:01``);
    ``A_1``/``A_2`` (``A.1``, ``A1`` …) hold one allele each.  Columns of the genes DRB3, DRB4,
    DRB5 (``DRB4``, ``DRB4_1`` …) all feed the DRB345 locus (at most two alleles in all).  Columns
    naming no locus (``id``, ``notes``, ``visit3``) are ignored, except ``XYZ_1``/``XYZ_2``: an
    allele column of an unknown locus is an error.

    Raises
    ------
    UnknownLocusError, TypingError
        A numbered column of an unknown locus; a column numbered other than 1 or 2 (a third
        allele); two columns for the same allele of a locus.  ``what`` names the file in messages
        and ``error`` is the class raised instead of TypingError (a lines file reads its per-locus
        columns here too).
    """
    found: dict[str, dict[int, list[int]]] = {}
    genes: list[int] = []  # DRB3/4/5 columns: one DRB345 locus, whatever the gene
    unknown: list[str] = []
    third: list[str] = []
    for i, raw in enumerate(columns):
        c = raw.strip()
        if i in skip or not c:
            continue
        m = _COLUMN.match(c)
        gene = c.upper().removeprefix("HLA-")
        if gene in DRB345_GENES or (
            m and m.group("k") in "12" and m.group("locus").upper().removeprefix("HLA-") in DRB345_GENES
        ):
            genes.append(i)
            continue
        try:
            found.setdefault(canonical_locus(c, KNOWN_LOCI), {}).setdefault(0, []).append(i)
            continue
        except UnknownLocusError:
            pass
        if not m:
            continue
        k = int(m.group("k"))
        try:
            locus = canonical_locus(m.group("locus"), KNOWN_LOCI)
        except UnknownLocusError:
            if k in (1, 2):  # looks like an allele column (XYZ_1): say so; others (visit3) are not ours
                unknown.append(c)
            continue
        if k not in (1, 2):
            third.append(c)
            continue
        found.setdefault(locus, {}).setdefault(k, []).append(i)
    if unknown:
        raise UnknownLocusError(
            f"{what} {p}: column(s) {', '.join(unknown)} name no locus hlamatch knows "
            f"(known: {', '.join(KNOWN_LOCI)}); rename or drop them"
        )
    if third:
        raise error(
            f"{what} {p}: column(s) {', '.join(third)} would hold a third allele of a locus, but a typing "
            "has two alleles per locus, in columns numbered 1 and 2 (A_1, A_2, B_1, ...); drop or rename them"
        )
    out: dict[str, list[int]] = {}
    for locus, ks in found.items():
        names = {k: [columns[i].strip() for i in v] for k, v in ks.items()}
        for k, cols in names.items():
            if len(cols) > 1:
                held = "the typing" if k == 0 else ("the first", "the second")[k - 1] + " allele"
                raise error(f"{what} {p}: columns {' and '.join(cols)} both hold {held} of locus {locus}; keep one")
        if 0 in ks and len(ks) > 1:
            raise error(
                f"{what} {p}: locus {locus} has both a typing column ({names[0][0]}) and allele columns "
                f"({', '.join(c for k in sorted(names) if k for c in names[k])}); keep one kind"
            )
        out[locus] = [ks[k][0] for k in sorted(ks)]
    if genes:
        out.setdefault("DRB345", []).extend(genes)
    return out


def read_patients(path: str | Path) -> list[Typing]:
    """Read patient typings from CSV/TSV/Parquet.

    Columns: two per locus (``A_1``, ``A_2`` …; ``A.1``/``A1`` work too; an empty second column
    means homozygous), or one per locus named after it (``A`` holding ``A*24:02+A*02:01``), or
    one ``typing``/``gl`` column of GL strings; an optional ``id`` (``patient``, ``name``) column
    names patients (default: their number in the file).  Other columns are ignored.

    A malformed row comes back with ``error`` set, naming the file, row and patient: a bad allele,
    three alleles at a locus, an extra field, a quote that does not close, a byte that is not
    UTF-8.  The other rows are read as usual.  Blank rows are not patients.

    Raises
    ------
    TypingError, UnknownLocusError
        The file is missing or unreadable, has no typing columns, has a column for a third allele
        (``A_3``), two columns for the same allele, a column name twice, or no patient rows.
    """
    from hlamatch.io.text import read_rows

    p = Path(path)
    tab = read_rows(p, "patients file", TypingError)
    id_col = tab.index(("id", "patient", "patient_id", "name"))
    gl_col = tab.index(("typing", "gl", "glstring", "gl_string"))
    pairs: dict[str, list[int]] = {}
    if gl_col is None:
        pairs = _typing_columns(p, tab.columns, {id_col} if id_col is not None else set())
        if not pairs:
            raise TypingError(
                f"patients file {p}: no typing columns found (columns: {', '.join(tab.columns)}); use two "
                "columns per locus (A_1, A_2, B_1, ...) or a 'typing' column of GL strings"
            )
    if not tab.rows:
        raise TypingError(f"patients file {p} holds no patients: add one row per patient below the header")
    out = []
    # Cohorts repeat allele pairs: read each (locus, cells) once.
    seen: dict[tuple[str, tuple[str, ...]], tuple[str, str] | str] = {}
    for r, row in enumerate(tab.rows):
        where = f"patients file {p} row {row.number}"
        cells = row.cells
        pid = (cells[id_col] if id_col is not None else None) or str(r + 1)
        if row.problem:
            out.append(Typing(pid, where, None, f"{where} (patient {pid}): {row.problem}"))
            continue
        if gl_col is not None:
            out.append(parse_typing(cells[gl_col] or "", pid, where))
            continue
        try:
            alleles: dict[str, tuple[str, str]] = {}
            for locus, cols in pairs.items():
                values = tuple(filter(None, [cells[c] for c in cols]))
                if not values:
                    continue  # not typed at this locus
                hit = seen.get((locus, values))
                if hit is None:
                    one: dict[str, tuple[str, str]] = {}
                    try:
                        add_locus(
                            one, [x.strip() for v in values for x in v.split("+")], "+".join(values), column_locus=locus
                        )
                        hit = one[locus]
                    except HlamatchError as e:
                        hit = str(e)
                    seen[(locus, values)] = hit
                if isinstance(hit, str):
                    raise TypingError(hit)
                alleles[locus] = hit
            if not alleles:
                raise TypingError("no allele typed")
            out.append(Typing(pid, where, alleles))
        except HlamatchError as e:
            out.append(Typing(pid, where, None, f"{where} (patient {pid}): {e}"))
    return out
