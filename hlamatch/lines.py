"""Donor lines: parsing from text and files, and encoding against a table.

A line is a pair of haplotypes; a homozygous line repeats one.  Text forms:
``A*24:02~B*52:01~DRB1*15:02`` (homozygous) and
``A*02:01~B*07:02~DRB1*15:01/A*24:02~B*52:01~DRB1*15:02`` (two haplotypes).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from ._io import read_rows
from .alleles import at_resolution, is_null, locus_key, mac_alleles, parse_allele
from .nomenclature import NomenclatureError, current_nomenclature
from .errors import AlleleNameError, HlamatchWarning, LineError, UnknownAlleleError

__all__ = ["Line", "parse_line", "read_lines_file", "as_lines", "line_loci", "encode_lines", "EncodedLines", "top_lines"]


@dataclass(frozen=True)
class Line:
    """A donor line: two haplotypes, each a tuple of ``(locus, allele)`` in the order typed.

    Attributes
    ----------
    haplotypes : tuple
        ``(hap1, hap2)``; equal for a homozygous line.
    name : str
        A label (the text it was parsed from, or a name from a lines file).
    where : str or None
        Where it was read (``lines file bank.csv row 3``), for messages; None for a line given as
        text.  Not part of equality.
    """

    haplotypes: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
    name: str
    where: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How messages name the line: ``line NAME``, after the file and row it was read from."""
        return f"line {self.name}" if self.where is None else f"{self.where} (line {self.name})"

    @property
    def homozygous(self) -> bool:
        return self.haplotypes[0] == self.haplotypes[1]

    @property
    def loci(self) -> tuple[str, ...]:
        return tuple(locus for locus, _ in self.haplotypes[0])

    @functools.cached_property
    def by_locus(self) -> tuple[dict[str, str], dict[str, str]]:
        """Per haplotype, allele name by locus key (:func:`~hlamatch.alleles.locus_key`: ``DR`` and
        ``DRB1`` are one locus).  Computed once (a Line is immutable)."""
        return tuple({locus_key(locus): name for locus, name in h} for h in self.haplotypes)  # type: ignore[return-value]

    def text(self, loci: Sequence[str] | None = None, resolution: str | None = None) -> str:
        """``hap`` or ``hap1/hap2``, optionally restricted to ``loci`` and reduced to ``resolution``."""
        def fmt(h: int) -> str:
            d = self.by_locus[h]
            keep = loci if loci is not None else [locus for locus, _ in self.haplotypes[h]]
            return "~".join(_reduce(d[locus_key(locus)], resolution) for locus in keep)
        a = fmt(0)
        if self.homozygous:
            return a
        b = fmt(1)
        return a if a == b else f"{a}/{b}"


def _reduce(name: str, resolution: str | None) -> str:
    """The name at ``resolution`` for display (itself where it cannot be brought there)."""
    if resolution is None:
        return name
    there, _ = at_resolution(name, resolution)
    return name if there is None else there


def _parse_haplotype(text: str, where: str) -> tuple[tuple[str, str], ...]:
    parts = [p for p in text.strip().split("~")]
    if not text.strip() or any(not p.strip() for p in parts):
        raise LineError(f"{where}: empty allele in haplotype {text!r}; write alleles joined by '~'")
    out: list[tuple[str, str]] = []
    for p in parts:
        try:
            a = parse_allele(p)
        except AlleleNameError as e:
            raise AlleleNameError(f"{where}: {e}") from None
        if any(locus == a.locus for locus, _ in out):
            raise LineError(f"{where}: locus {a.locus} appears twice in haplotype {text!r}")
        out.append((a.locus, a.name))
    return tuple(out)


def parse_line(text: str, name: str | None = None, where: str | None = None) -> Line:
    """Parse ``hap`` or ``hap1/hap2`` into a :class:`Line`.

    Parameters
    ----------
    text : str
    name : str, optional
        A label (default: the text).
    where : str, optional
        Where the text was read (``lines file bank.csv row 3``): prefixes messages and is kept in
        :attr:`Line.where`.

    Raises
    ------
    LineError, AlleleNameError
        If the text is malformed, or the two haplotypes are typed at different loci.
    """
    if not isinstance(text, str):
        raise LineError(
            f"{where or 'a line'}: expected a line text like 'A*24:02~B*52:01~DRB1*15:02' (or 'hap1/hap2'), "
            f"got {type(text).__name__} {text!r}"
        )
    shown = where or f"line {text!r}"
    halves = text.split("/")
    if len(halves) > 2:
        raise LineError(f"{shown}: a line has at most two haplotypes separated by '/'")
    h1 = _parse_haplotype(halves[0], shown)
    h2 = _parse_haplotype(halves[1], shown) if len(halves) == 2 else h1
    if sorted(l for l, _ in h1) != sorted(l for l, _ in h2):
        raise LineError(f"{shown}: its two haplotypes are typed at different loci")
    h2 = tuple(sorted(h2, key=lambda la: [l for l, _ in h1].index(la[0])))
    return Line((h1, h2), name or text.strip(), where)


_HEADERLESS = ("haplotype",)


def read_lines_file(path: str | Path) -> list[Line]:
    """Read lines from CSV/TSV/Parquet.

    The file needs a ``haplotype`` (or ``line``) column holding ``hap`` or ``hap1/hap2``, or two
    columns ``haplotype1``/``haplotype2`` (an empty ``haplotype2``: a homozygous line); an optional
    ``name`` (or ``id``) column labels lines.  A headerless one-column text file of haplotypes is
    accepted too.  Blank rows are skipped.  Each line remembers its file and row
    (:attr:`Line.where`), so later errors about it (e.g. a locus the computation needs) name them.

    Raises
    ------
    HlamatchError
        If the file cannot be read, or at the first malformed row (the message names file and row:
        an extra field, an unclosed quote, a byte that is not UTF-8, an empty or malformed line).
    """
    p = Path(path)
    tab = read_rows(p, "lines file", LineError,
                    headerless=lambda first: _HEADERLESS if ("*" in first or "~" in first) else None)
    name_col = tab.index(("name", "id", "line_id"))
    pair = (tab.index(("haplotype1",)), tab.index(("haplotype2",)))
    col = tab.index(("haplotype", "line", "haplo"))
    if None in pair and col is None:
        raise LineError(
            f"lines file {p}: expected a 'haplotype' column (or 'haplotype1' and 'haplotype2'), "
            f"found {', '.join(tab.columns)}"
        )
    if not tab.rows:
        raise LineError(f"lines file {p} holds no lines: add one haplotype (or 'hap1/hap2') per row")
    out = []
    for row in tab.rows:
        where = f"lines file {p} row {row.number}"
        if row.problem:
            raise LineError(f"{where}: {row.problem}")
        if None not in pair:
            # An empty haplotype2 means a homozygous line, so one file can mix both kinds.
            a, b = row.cells[pair[0]], row.cells[pair[1]]  # type: ignore[index]
            if a is None:
                raise LineError(f"{where}: empty haplotype1" + (f" (haplotype2 is {b!r})" if b else ""))
            text = a if b is None else f"{a}/{b}"
        else:
            text = row.cells[col]  # type: ignore[index]
            if text is None:
                raise LineError(f"{where}: empty haplotype")
        out.append(parse_line(text, row.cells[name_col] if name_col is not None else None, where))
    return out


#: :func:`parse_line` of a bare text, remembered (a Line is immutable; sweeps parse the same texts often).
_parse_text = functools.lru_cache(maxsize=4096)(parse_line)


def as_lines(lines: Iterable[str | Line] | str | Line | None, what: str = "lines") -> list[Line]:
    """Parse every string of ``lines``; pass :class:`Line` objects through.

    A single string or Line is one line.

    Raises
    ------
    LineError
        ``lines`` is None or not iterable, or holds something that is neither a string nor a Line.
    """
    if isinstance(lines, (str, Line)):
        lines = [lines]
    if lines is None or not isinstance(lines, Iterable):
        raise LineError(
            f"{what} must be a list of line texts like ['A*24:02~B*52:01~DRB1*15:02'] (or hlamatch.Line "
            f"objects), got {'None' if lines is None else type(lines).__name__ + ' ' + repr(lines)}"
        )
    out = []
    for k, ln in enumerate(lines):
        if isinstance(ln, Line):
            out.append(ln)
        elif isinstance(ln, str):
            out.append(_parse_text(ln))
        else:
            raise LineError(
                f"{what}[{k}] is {type(ln).__name__} {ln!r}: each line is a text like "
                "'A*24:02~B*52:01~DRB1*15:02' (or 'hap1/hap2'), or a hlamatch.Line"
            )
    return out


def line_loci(lines: Sequence[Line], table_loci: Sequence[str], table_name: str) -> tuple[str, ...]:
    """The loci a computation uses when none are given: those of the lines, in table order.

    Raises
    ------
    LineError
        Lines typed at different loci, or at a locus the table lacks.
    """
    sets = {frozenset(ln.loci) for ln in lines}
    if len(sets) > 1:
        raise LineError(
            "the lines are typed at different loci ("
            + "; ".join(sorted(",".join(sorted(s)) for s in sets))
            + "): pass --loci to choose the loci to compare"
        )
    keys = {locus_key(locus) for locus in next(iter(sets))}
    table_keys = {locus_key(locus) for locus in table_loci}
    for ln in lines:
        missing = [locus for locus in ln.loci if locus_key(locus) not in table_keys]
        if missing:
            raise LineError(
                f"{ln.label} is typed at {', '.join(missing)}, which table {table_name} lacks "
                f"(table loci: {', '.join(table_loci)}); pass --loci to use a subset"
            )
    out: list[str] = []
    for locus in table_loci:  # table order; DRB1 and DR name one locus, the first listed wins
        if locus_key(locus) in keys and locus_key(locus) not in map(locus_key, out):
            out.append(locus)
    return tuple(out)


class EncodedLines(NamedTuple):
    """Lines as arrays: allele codes, null flags, and the code of every name used.

    Attributes
    ----------
    codes : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci).
    nulls : numpy.ndarray
        bool array of shape (n_lines, 2, n_loci): the allele is null (not expressed).
    vocab : list of dict
        Per locus, allele name → code: the given vocabulary plus codes past it for names it lacks.
    """

    codes: np.ndarray
    nulls: np.ndarray
    vocab: list[dict[str, int]]


def encode_lines(
    lines: Sequence[Line], loci: Sequence[str], resolution: str,
    alleles: Sequence[Sequence[str]], table_name: str | None,
) -> EncodedLines:
    """Allele codes of every line at ``loci``, reduced to ``resolution``: the one line encoder.

    Coverage, rank, plan, supply and patient look-up all encode lines here, so a line typed
    coarser than the computation's resolution, lacking one of its loci, or carrying a null
    allele, is the same error everywhere.

    A donor line is typed at the alleles it expresses: it is chosen for the antigens it presents,
    and a null allele (``A*24:02N``) presents none, so it is refused (it would silently match
    every patient at that locus).  ``DRBX*NNNN`` (no DRB3/4/5 gene) is the absence of a gene, not
    a null allele, and stays allowed.  Null alleles stay welcome in tables and patient typings.

    Parameters
    ----------
    lines : sequence of Line
    loci : sequence of str
        The computation's loci.
    resolution : str
        The computation's resolution.
    alleles : sequence of sequence of str
        Allele vocabulary per locus (a table's; empty tuples when there is no table).
    table_name : str or None
        The table, for the warning about alleles it lacks; None: no table, no warning.

    Returns
    -------
    EncodedLines
        An allele absent from the vocabulary gets a code past it (``len(alleles[l]) + 2 + k``, one
        per distinct name), so it equals no listed allele; a warning names such alleles.

    Raises
    ------
    LineError
        A line lacks one of ``loci``, is typed coarser than ``resolution``, or carries a null
        allele; the message names the line (and the file and row it was read from).
    """
    out = np.full((len(lines), 2, len(loci)), -1, dtype=np.int32)
    nulls = np.zeros((len(lines), 2, len(loci)), dtype=np.bool_)
    vocab = [{a: i for i, a in enumerate(v)} for v in alleles]
    sizes = [len(v) for v in alleles]
    unknown: list[str] = []
    long_names: list[str] = []
    seen: dict[str, tuple[str | None, str | None]] = {}  # at_resolution per distinct name
    nom = current_nomenclature()
    for t, ln in enumerate(lines):
        for h in range(2):
            if h == 1 and ln.homozygous:  # the same haplotype twice: copy its codes
                out[t, 1], nulls[t, 1] = out[t, 0], nulls[t, 0]
                continue
            d = ln.by_locus[h]
            for l, locus in enumerate(loci):
                if locus_key(locus) not in d:
                    raise LineError(
                        f"{ln.label} is not typed at {locus}, which the computation uses "
                        f"(loci {'~'.join(loci)}); pass --loci to leave {locus} out"
                    )
                name = d[locus_key(locus)]
                if is_null(name) and not name.startswith("DRBX"):
                    raise LineError(
                        f"{ln.label}: donor lines are chosen for the antigens they express: null allele "
                        f"{name} cannot be part of a line; give the expressed allele"
                    )
                if name not in seen:
                    try:
                        mac_alleles(name)  # a multiple-allele code needs --mac and a code the file lists
                    except NomenclatureError as e:
                        raise LineError(f"{ln.label}: {e}") from None
                    _check_known(name, ln, nom)
                    seen[name] = at_resolution(name, resolution)
                    if name.count(":") >= 2:
                        long_names.append(name)
                reduced, why = seen[name]
                if why:
                    raise LineError(
                        f"{ln.label}: {why}; type the line at the computation's {resolution} "
                        "resolution, or pass a coarser --resolution"
                    )
                code = vocab[l].get(reduced, -1)
                if code < 0:
                    code = vocab[l][reduced] = sizes[l] + 2 + (len(vocab[l]) - sizes[l])
                    if reduced not in unknown:
                        unknown.append(reduced)
                out[t, h, l] = code
                nulls[t, h, l] = is_null(reduced)
    if long_names:
        warnings.warn(
            f"the lines name alleles with three or four fields ({', '.join(long_names[:5])}"
            f"{' …' if len(long_names) > 5 else ''}); compared at {resolution} resolution",
            HlamatchWarning,
            stacklevel=3,
        )
    if unknown and table_name is not None:
        warnings.warn(
            f"allele(s) {', '.join(unknown)} of the lines do not occur in table {table_name} at "
            f"loci {'~'.join(loci)}; lines carrying them match only unlisted chromosomes",
            HlamatchWarning,
            stacklevel=3,
        )
    return EncodedLines(out, nulls, vocab)


def _check_known(name: str, line: Line, nom) -> None:  # type: ignore[no-untyped-def]
    """With a nomenclature in use, a name it does not know is an error naming the line and its row."""
    if nom is None:
        return
    for a in mac_alleles(name) or [name]:
        if not nom.known(a):
            raise UnknownAlleleError(
                f"{line.label}: allele {a} is not in {nom.release}"
                + (f" (from {name})" if a != name else "")
                + "; check the name against the nomenclature files"
            )


def top_lines(
    table, n: int, *, populations=None, loci: Sequence[str] | None = None, resolution: str | None = None,
    expressed_only: bool = True,
) -> list[Line]:
    """The ``n`` most frequent haplotypes of a table, as homozygous lines (the default candidates).

    Parameters
    ----------
    table : HaplotypeTable, bundled name or path
    n : int
        How many (fewer when the population lists fewer haplotypes).
    populations : str, sequence of str or mapping of str to float, optional
        One population, or a weighted mix (``{"JAPI": 0.8, "KORI": 0.2}``: haplotypes ordered by
        the weighted frequency).  Needed when the table holds several populations.
    loci, resolution : optional
        Project/reduce the table first (frequencies summed), as the computation will.
    expressed_only : bool, default True
        Skip haplotypes carrying a null allele (``A*24:09N``): a donor line is chosen for the
        antigens it expresses, and the line encoder (:func:`encode_lines`) refuses null alleles in
        lines.  ``DRBX*NNNN`` (no DRB3/4/5 gene) is the absence of a gene, not a null allele, and
        is kept.  False lists every haplotype (lines with a null allele can then be shown, not
        computed with).

    Returns
    -------
    list of Line
        Most frequent first; ties broken by haplotype name.

    Raises
    ------
    OptionError
        ``n`` < 1, or several populations without weights.
    """
    from .data import resolve_table
    from .errors import OptionError
    from .problem import resolve_populations

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise OptionError(f"the number of top haplotypes must be a whole number ≥ 1, got {n!r}")
    tab = resolve_table(table).select(loci, resolution)
    names, weights = resolve_populations(tab, populations)
    if len(names) > 1 and weights is None:
        raise OptionError(
            f"table {tab.source} holds populations {', '.join(names)}: choose one for the most frequent "
            "haplotypes, or weight them (e.g. --population JAPI=0.8 --population KORI=0.2)"
        )
    w = np.array(weights if weights is not None else [1.0])
    score = tab.freqs[:, [tab.population_index(p) for p in names]] @ w
    ok = score > 0
    if expressed_only:
        for l, names in enumerate(tab.alleles):
            null = np.array([is_null(a) and not a.startswith("DRBX") for a in names], dtype=np.bool_)
            ok &= ~null[tab.codes[:, l]]
    rows = np.flatnonzero(ok)
    keys = [tab.codes[rows, l] for l in reversed(range(len(tab.loci)))] + [-score[rows]]
    order = rows[np.lexsort(keys)][:n]
    return [parse_line(h) for h in tab.haplotype_strings(order)]
