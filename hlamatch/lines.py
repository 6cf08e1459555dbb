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
from .alleles import at_resolution, is_mac, is_null, locus_key, mac_alleles, name_resolution, parse_allele
from .constants import ALL_RESOLUTIONS, ANTIGEN, BROAD, NOMENCLATURE_RESOLUTIONS
from .nomenclature import SEROLOGY_PREFIX, NomenclatureError, current_nomenclature
from .errors import AlleleNameError, HlamatchError, HlamatchWarning, LineError, UnknownAlleleError

__all__ = ["Line", "parse_line", "read_lines_file", "as_lines", "unique_lines", "own_names", "line_label",
           "line_labels", "line_loci", "encode_lines", "EncodedLines", "top_lines"]


@dataclass(frozen=True)
class Line:
    """A donor line: two haplotypes, each a tuple of ``(locus, allele)`` in the order typed.

    Attributes
    ----------
    haplotypes : tuple
        ``(hap1, hap2)``; equal for a homozygous line.
    name : str
        A label: a name of its own (a lines file's ``name`` column, ``parse_line(text, name)``), or
        the text it was parsed from (:attr:`own_name` tells which).
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
    def key(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """The line's identity, names aside: its distinct haplotypes, each as its sorted
        ``(locus key, allele)`` pairs, sorted; so ``hap1/hap2`` equals ``hap2/hap1``, and the order
        the loci are typed in does not matter.  Two lines with the same key are the same line."""
        return tuple(sorted({tuple(sorted(d.items())) for d in self.by_locus}))

    @functools.cached_property
    def own_name(self) -> str | None:
        """The line's name when it has one of its own (a lines file's ``name`` column); None when
        it is named by its text (a line given as text, a table's haplotype)."""
        if not self.name:
            return None
        try:
            named = _parse_text(self.name)
        except HlamatchError:  # not a line text: a name
            return self.name
        return None if named.key == self.key else self.name

    @functools.cached_property
    def by_locus(self) -> tuple[dict[str, str], dict[str, str]]:
        """Per haplotype, allele name by locus key (:func:`~hlamatch.alleles.locus_key`: ``DR`` and
        ``DRB1`` are one locus).  Computed once (a Line is immutable)."""
        return tuple({locus_key(locus): name for locus, name in h} for h in self.haplotypes)  # type: ignore[return-value]

    @functools.cached_property
    def _texts(self) -> dict[tuple, str] | None:
        """:meth:`text` answers already given, by (loci, resolution); None when they depend on
        a process setting (a multiple-allele code expands through the ``--mac`` file in use)."""
        return None if any(is_mac(name) for h in self.by_locus for name in h.values()) else {}

    def text(self, loci: Sequence[str] | None = None, resolution: str | None = None) -> str:
        """``hap`` or ``hap1/hap2``, optionally restricted to ``loci`` and reduced to ``resolution``."""
        texts = self._texts
        if texts is None or resolution in NOMENCLATURE_RESOLUTIONS:  # through the files in use: not kept
            return self._text(loci, resolution)
        key = (None if loci is None else tuple(loci), resolution)
        done = texts.get(key)
        if done is None:
            done = texts[key] = self._text(loci, resolution)
        return done

    def _text(self, loci: Sequence[str] | None, resolution: str | None) -> str:
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

    The columns, one of:

    * ``haplotype`` (or ``line``) holding ``hap`` or ``hap1/hap2``;
    * ``haplotype1`` and ``haplotype2``; an empty ``haplotype2`` means a homozygous line, so one
      file can mix both kinds;
    * per-locus columns, as a patients file has them (:func:`hlamatch.match.read_patients`):
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
    tab = read_rows(p, "lines file", LineError,
                    headerless=lambda first: _HEADERLESS if ("*" in first or "~" in first) else None)
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
        from .match import _typing_columns  # the patients file's per-locus columns, read the same way

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
        elif None not in pair:
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
    from .match import _add_locus

    alleles: dict[str, tuple[str, str]] = {}
    for locus, cols in loci.items():
        values = [v for v in (cells[c] for c in cols) if v]
        if values:
            try:
                _add_locus(alleles, [x.strip() for v in values for x in v.split("+")], "+".join(values),
                           column_locus=locus)
            except HlamatchError as e:
                raise LineError(f"{where}: {e}") from None
    if not alleles:
        raise LineError(f"{where}: no allele in the per-locus columns")
    first, second = ("~".join(pair[h] for pair in alleles.values()) for h in (0, 1))
    return (first if first == second else f"{first}/{second}"), sum(a != b for a, b in alleles.values())


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


def unique_lines(lines: Sequence[Line], candidates: Sequence[Line] = ()) -> tuple[list[Line], list[Line]]:
    """The bank and the candidates without repeats: each line once, the first kept.

    Two lines are the same when their haplotypes are (:attr:`Line.key`: names aside, ``hap1/hap2``
    equals ``hap2/hap1``).  A repeated bank line counts once; a candidate that repeats a bank line
    (it would add nothing) or an earlier candidate is left out.  One :class:`HlamatchWarning`
    names what was left out, with the file and row of each.  Every computation (coverage, rank,
    plan, supply, patient look-up) passes its lines through here.

    Returns
    -------
    (list of Line, list of Line)
        The bank and the candidates kept, in their order.
    """
    first: dict[tuple, tuple[Line, bool]] = {}
    kept: tuple[list[Line], list[Line]] = ([], [])
    notes: list[str] = []
    for is_candidate, ln in [(False, x) for x in lines] + [(True, x) for x in candidates]:
        seen = first.get(ln.key)
        if seen is None:
            first[ln.key] = (ln, is_candidate)
            kept[is_candidate].append(ln)
            continue
        other, other_is_candidate = seen
        if not is_candidate:
            notes.append(f"{ln.label} repeats {other.label}")
        elif not other_is_candidate:
            notes.append(f"candidate {ln.label} is already in the bank ({other.label})")
        else:
            notes.append(f"candidate {ln.label} repeats candidate {other.label}")
    if notes:
        shown = "; ".join(notes[:8]) + (f"; and {len(notes) - 8} more" if len(notes) > 8 else "")
        warnings.warn(
            f"{len(notes)} repeated line(s) left out, each line counted once (the first is kept; names "
            f"aside, hap1/hap2 is hap2/hap1): {shown}",
            HlamatchWarning,
            stacklevel=3,
        )
    return kept


def line_label(text: str, name: str | None) -> str:
    """How text output shows a line: ``NAME (text)``, or the text alone when the line has no name of
    its own (``name`` None or the text itself).

    >>> line_label("A*24:02~B*52:01~DRB1*15:02", "iPS-1")
    'iPS-1 (A*24:02~B*52:01~DRB1*15:02)'
    >>> line_label("A*24:02~B*52:01~DRB1*15:02", "A*24:02~B*52:01~DRB1*15:02")
    'A*24:02~B*52:01~DRB1*15:02'
    """
    return text if not name or name == text else f"{name} ({text})"


def own_names(lines: Sequence[Line], texts: Sequence[str]) -> list[str] | None:
    """Each line's name for results: its own (:attr:`Line.own_name`), or its text (``texts``, one
    per line) where it has none; None when no line has a name of its own (results then list the
    texts alone, as before names existed)."""
    if not any(ln.own_name for ln in lines):
        return None
    return [ln.own_name or text for ln, text in zip(lines, texts)]


def line_labels(texts: Sequence[str], names: Sequence[str] | None = None) -> list[str]:
    """:func:`line_label` of each text with its name (a result's ``lines`` and ``line_names``, which
    are left out when no line has a name: then the texts alone)."""
    return [line_label(t, n) for t, n in zip(texts, names or texts)]


def line_loci(lines: Sequence[Line], table_loci: Sequence[str], table_name: str) -> tuple[str, ...]:
    """The loci a computation uses when none are given: those of the lines, in table order.

    ``DRB1`` and ``DR`` (``DQB1`` and ``DQ``) are one locus (:func:`~hlamatch.alleles.locus_key`):
    a line typed at ``DRB1`` is typed at an antigen table's ``DR``, whatever its names.

    Raises
    ------
    LineError
        Lines typed at different loci (the message gives the ``--loci`` every line has), or at a
        locus the table lacks.
    """
    table_keys = [locus_key(locus) for locus in table_loci]
    sets: dict[frozenset[str], Line] = {}
    for ln in lines:
        sets.setdefault(frozenset(ln.by_locus[0]), ln)
    if len(sets) > 1:
        common = [locus for locus, k in zip(table_loci, table_keys) if all(k in s for s in sets)]
        raise LineError(
            "the lines are typed at different loci ("
            + "; ".join(sorted(",".join(ln.loci) + f" ({ln.label})" for ln in sets.values()))
            + "): pass --loci to choose the loci to compare"
            + (f", e.g. --loci {','.join(common)} (the loci every line has)" if common else "")
        )
    keys = next(iter(sets))
    for ln in sets.values():  # every line has these loci: the first line typed so names them
        missing = [locus for locus in ln.loci if locus_key(locus) not in table_keys]
        if missing:
            raise LineError(
                f"{ln.label} is typed at {', '.join(missing)}, which table {table_name} lacks "
                f"(table loci: {', '.join(table_loci)}); pass --loci to use a subset"
            )
    out: list[str] = []
    for locus, k in zip(table_loci, table_keys):  # table order; DRB1 and DR name one locus, the first listed wins
        if k in keys and k not in map(locus_key, out):
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
        May be shared with other calls: copy one before adding names to it.
    """

    codes: np.ndarray
    nulls: np.ndarray
    vocab: list[dict[str, int]]


@functools.lru_cache(maxsize=64)
def _vocab(alleles: tuple[str, ...]) -> dict[str, int]:
    """Allele name → code of one locus's vocabulary (shared between calls: never modify it)."""
    return {a: i for i, a in enumerate(alleles)}


def encode_lines(
    lines: Sequence[Line], loci: Sequence[str], resolution: str,
    alleles: Sequence[Sequence[str]], table_name: str | None, table_resolution: str | None = None,
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
    table_resolution : str, optional
        The table's own resolution, so that an error about a line suggests only a ``--resolution``
        the table can be brought to (an antigen table cannot be compared at one field).

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
    vocab = [_vocab(tuple(v)) for v in alleles]  # shared: copied before a name is added
    sizes = [len(v) for v in alleles]
    keys = [locus_key(locus) for locus in loci]
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
                name = d.get(keys[l])
                if name is None:
                    raise LineError(
                        f"{ln.label} is not typed at {locus}, which the computation uses "
                        f"(loci {'~'.join(loci)}); pass --loci to leave {locus} out"
                    )
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
                    try:
                        seen[name] = at_resolution(name, resolution)
                    except NomenclatureError as e:  # an allele name on an antigen table, no WMDA files
                        raise LineError(_needs_nomenclature(ln, name, loci, resolution, e)) from None
                    if name.count(":") >= 2:
                        long_names.append(name)
                reduced, why = seen[name]
                if why:
                    raise LineError(f"{ln.label}: {why}; {_resolution_fix(name, resolution, table_resolution)}")
                code = vocab[l].get(reduced, -1)
                if code < 0:
                    if len(vocab[l]) == sizes[l]:  # the first name past the table's: a copy of our own
                        vocab[l] = dict(vocab[l])
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


def _antigen_guess(name: str | None) -> str | None:
    """An antigen label to show as an example for ``name`` (its first field under the serologic
    prefix: ``DRB1*04:01`` → ``DR4``); an antigen stays itself; None where there is no guess."""
    if name is None:
        return None
    a = parse_allele(name)
    if a.fields == 0:
        return a.name
    prefix = SEROLOGY_PREFIX.get(a.locus)
    first = a.name.split("*", 1)[-1].split(":")[0]
    return f"{prefix}{int(first)}" if prefix and first.isdigit() else None


def _antigen_example(line: Line, loci: Sequence[str]) -> str:
    """`` (e.g. A2~B44~DR4 …)``: the line with antigen labels guessed from first fields, or ``""``."""
    haps = []
    for h in ((0,) if line.homozygous else (0, 1)):
        names = [_antigen_guess(line.by_locus[h].get(locus_key(locus))) for locus in loci]
        if None in names:
            return ""
        haps.append("~".join(names))  # type: ignore[arg-type]
    return f" (e.g. {'/'.join(haps)}, if those are the antigens of its alleles)"


def _needs_nomenclature(line: Line, name: str, loci: Sequence[str], resolution: str, error: Exception) -> str:
    """The message for an allele name in a line compared at a serologic level without WMDA files."""
    if resolution not in (ANTIGEN, BROAD):
        return f"{line.label}: {error}"
    return (f"{line.label}: {name} is an allele name and the computation is at {resolution} level (an antigen "
            f"table): type the line with antigen labels as the table names them{_antigen_example(line, loci)}, "
            f"or have hlamatch bring its alleles to antigens: {error}")


def _resolution_fix(name: str, resolution: str, table_resolution: str | None) -> str:
    """What to do about a line allele that cannot be brought to the computation's ``resolution``.

    A ``--resolution`` is suggested only where both the name and the table can be brought (an
    antigen table has no one-field level); at antigen or broad level the line can be typed with
    antigen labels, or at two fields when the WMDA files are given.
    """
    from .alleles import MAC, unreachable

    allele = parse_allele(name)
    own = name_resolution(allele)
    serologic = resolution in (ANTIGEN, BROAD)
    if serologic and allele.fields and allele.locus not in SEROLOGY_PREFIX:
        return f"leave {allele.locus} out with --loci"
    if own is None or own == MAC or not unreachable(own, resolution):  # the class fits; the files lack the name
        if serologic and own != MAC and allele.fields:
            guess = _antigen_guess(name)
            return f"type the line with its antigen label instead{f' (e.g. {guess})' if guess else ''}"
        return f"type the line at the computation's {resolution} resolution, or pass a coarser --resolution"
    options = [r for r in ALL_RESOLUTIONS if r != resolution and not unreachable(own, r)
               and (table_resolution is None or not unreachable(table_resolution, r))]
    if serologic:
        guess = _antigen_guess(name)
        fix = (f"type it with its antigen label{f' (e.g. {guess})' if guess else ''}, or at two fields"
               + (" (with --nomenclature DIR, which brings alleles to antigens)" if current_nomenclature() is None
                  else ""))
    else:
        fix = f"type the line at the computation's {resolution} resolution"
    if options:
        fix += f", or pass --resolution {' or '.join(options)}"
        if current_nomenclature() is None and all(r in NOMENCLATURE_RESOLUTIONS for r in options):
            fix += " with --nomenclature DIR (the WMDA files)"
    return fix


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
    from .tables import frequency_order

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise OptionError(f"the number of top haplotypes must be a whole number ≥ 1, got {n!r}")
    tab = resolve_table(table).select(loci, resolution)
    names, weights = resolve_populations(tab, populations)
    if len(names) > 1 and weights is None:
        a, b = names[0], names[1]
        raise OptionError(
            f"table {tab.source} holds populations {', '.join(names)}: choose one for the most frequent "
            f"haplotypes (--population {a}), or weight them (e.g. --population {a}=0.5,{b}=0.5)"
        )
    w = np.array(weights if weights is not None else [1.0])
    score = tab.freqs[:, [tab.population_index(p) for p in names]] @ w
    ok = score > 0
    if expressed_only:
        for l, names in enumerate(tab.alleles):
            null = np.array([is_null(a) and not a.startswith("DRBX") for a in names], dtype=np.bool_)
            ok &= ~null[tab.codes[:, l]]
    rows = np.flatnonzero(ok)
    if rows.shape[0] > n:  # only the rows that can be among the n first (ties at the n-th included)
        nth = -np.partition(-score[rows], n - 1)[n - 1]
        rows = rows[score[rows] >= nth]
    order = rows[frequency_order(tab.codes[rows], [len(a) for a in tab.alleles], score[rows])][:n]
    return [parse_line(h) for h in tab.haplotype_strings(order)]
