"""Lines files: one donor line per row (haplotype text, two haplotype columns or per-locus columns)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from hlamatch.errors import HlamatchError, HlamatchWarning, LineError
from hlamatch.hla.lines import Line, parse_line
from hlamatch.io.text import read_rows

__all__ = ["read_lines_file"]

_HEADERLESS = ("haplotype",)


def read_lines_file(path: str | Path) -> list[Line]:
    """Read lines from CSV/TSV/Parquet.

    The columns, one of:

    * ``haplotype`` (or ``line``) holding ``hap`` or ``hap1/hap2``;
    * ``haplotype1`` and ``haplotype2``; an empty ``haplotype2`` means a homozygous line, so one
      file can mix both kinds;
    * per-locus columns, as a patients file has them (:func:`hlamatch.io.patients.read_patients`):
      ``A_1, A_2, B_1, B_2, DRB1_1, DRB1_2`` (``A.1``/``A1`` work too; an empty second column:
      homozygous at that locus), or one column per locus (``A`` holding ``A*24:02`` or
      ``A*24:02+A*02:01``).  The first alleles form one haplotype and the second alleles the
      other; a line heterozygous at two or more loci then has a phase the columns only imply, and
      a warning names such rows (phased lines belong in ``haplotype1``/``haplotype2``).

    An optional ``name`` (or ``id``, ``line_id``) column names lines (:attr:`Line.own_name`; an
    empty cell: the line is named by its text).  A headerless one-column text file of haplotypes
    is accepted too.  The separator (comma, semicolon or tab) is detected; blank rows are skipped.
    Each line remembers its file and row (:attr:`Line.where`), so later errors about it (e.g. a
    locus the computation needs) name them.  Repeated lines are kept here; the computations keep
    the first of each (:func:`unique_lines`).

    Raises
    ------
    HlamatchError
        If the file cannot be read, has none of these columns, or at the first malformed row (the
        message names file and row: an extra field, an unclosed quote, a byte that is not UTF-8,
        an empty or malformed line, three alleles at a locus).
    """
    p = Path(path)
    tab = read_rows(
        p, "lines file", LineError, headerless=lambda first: _HEADERLESS if ("*" in first or "~" in first) else None
    )
    name_col = tab.index(("name", "id", "line_id"))
    pair = (tab.index(("haplotype1",)), tab.index(("haplotype2",)))
    col = tab.index(("haplotype", "line", "haplo"))
    loci: dict[str, list[int]] | None = None
    if None in pair and col is None:
        if pair != (None, None):
            raise LineError(
                f"lines file {p}: a '{'haplotype1' if pair[0] is not None else 'haplotype2'}' column needs its "
                f"partner '{'haplotype2' if pair[0] is not None else 'haplotype1'}' (leave it empty for a "
                "homozygous line); or name one column 'haplotype'"
            )
        from hlamatch.io.patients import _typing_columns  # the patients file's per-locus columns, read the same way

        loci = _typing_columns(p, tab.columns, set() if name_col is None else {name_col}, "lines file", LineError)
        if not loci:
            raise LineError(
                f"lines file {p}: expected a 'haplotype' column (or 'haplotype1' and 'haplotype2', or per-locus "
                f"columns A_1, A_2, B_1, B_2, ...), found {', '.join(tab.columns)}"
            )
    if not tab.rows:
        raise LineError(f"lines file {p} holds no lines: add one haplotype (or 'hap1/hap2') per row")
    out = []
    unphased: list[int] = []
    for row in tab.rows:
        where = f"lines file {p} row {row.number}"
        if row.problem:
            raise LineError(f"{where}: {row.problem}")
        if loci is not None:
            text, het = _per_locus_text(row.cells, loci, where)
            if het > 1:
                unphased.append(row.number)
        elif pair[0] is not None and pair[1] is not None:
            # An empty haplotype2 means a homozygous line, so one file can mix both kinds.
            a, b = row.cells[pair[0]], row.cells[pair[1]]
            if a is None:
                raise LineError(f"{where}: empty haplotype1" + (f" (haplotype2 is {b!r})" if b else ""))
            text = a if b is None else f"{a}/{b}"
        else:
            assert col is not None  # checked above: a 'haplotype' column, both haplotype1/2, or per-locus columns
            cell = row.cells[col]
            if cell is None:
                raise LineError(f"{where}: empty haplotype")
            text = cell
        out.append(parse_line(text, row.cells[name_col] if name_col is not None else None, where))
    if unphased:
        shown = ", ".join(map(str, unphased[:10])) + (f" and {len(unphased) - 10} more" if len(unphased) > 10 else "")
        warnings.warn(
            f"lines file {p} row(s) {shown}: heterozygous at two or more loci in per-locus columns, read as "
            "the haplotype of the first alleles and the haplotype of the second alleles; haplotype-level "
            "results depend on that phase: give phased lines as 'haplotype1' and 'haplotype2' columns",
            HlamatchWarning,
            stacklevel=2,
        )
    return out


def _per_locus_text(cells: Sequence[str | None], loci: dict[str, list[int]], where: str) -> tuple[str, int]:
    """A per-locus row's line text (``hap`` or ``hap1/hap2``) and how many loci are heterozygous."""
    from hlamatch.hla.typing import add_locus

    alleles: dict[str, tuple[str, str]] = {}
    for locus, cols in loci.items():
        values = [v for v in (cells[c] for c in cols) if v]
        if values:
            try:
                add_locus(
                    alleles, [x.strip() for v in values for x in v.split("+")], "+".join(values), column_locus=locus
                )
            except HlamatchError as e:
                raise LineError(f"{where}: {e}") from None
    if not alleles:
        raise LineError(f"{where}: no allele in the per-locus columns")
    first, second = ("~".join(pair[h] for pair in alleles.values()) for h in (0, 1))
    return (first if first == second else f"{first}/{second}"), sum(a != b for a, b in alleles.values())
