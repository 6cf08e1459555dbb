"""Donor lines: parsing from text and files, and encoding against a table.

A line is a pair of haplotypes; a homozygous line repeats one.  Text forms:
``A*24:02~B*52:01~DRB1*15:02`` (homozygous) and
``A*02:01~B*07:02~DRB1*15:01/A*24:02~B*52:01~DRB1*15:02`` (two haplotypes).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hlamatch.constants import NOMENCLATURE_RESOLUTIONS
from hlamatch.errors import AlleleNameError, HlamatchError, HlamatchWarning, LineError
from hlamatch.hla.alleles import at_resolution, is_mac, locus_key, parse_allele
from hlamatch.hla.items import parsed_items

__all__ = ["Line", "parse_line", "as_lines", "unique_lines", "own_names", "line_label", "line_labels", "line_loci"]


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
        """Per haplotype, allele name by locus key (:func:`~hlamatch.hla.alleles.locus_key`: ``DR`` and
        ``DRB1`` are one locus).  Computed once (a Line is immutable)."""
        return tuple({locus_key(locus): name for locus, name in h} for h in self.haplotypes)  # type: ignore[return-value]

    @functools.cached_property
    def _texts(self) -> dict[tuple[tuple[str, ...] | None, str | None], str] | None:
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
    return parsed_items(
        lines,
        Line,
        lambda text, _k: _parse_text(text),
        LineError,
        what,
        "A*24:02~B*52:01~DRB1*15:02",
        "hlamatch.Line objects",
    )


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
    first: dict[tuple[tuple[tuple[str, str], ...], ...], tuple[Line, bool]] = {}
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

    ``DRB1`` and ``DR`` (``DQB1`` and ``DQ``) are one locus (:func:`~hlamatch.hla.alleles.locus_key`):
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
