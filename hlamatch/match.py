"""Patient look-up: which bank lines suit each patient, and empirical cohort coverage.

Patient typings are unphased, so matching here is at genotype level.  A typing is read from a
GL-string-like text (``A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05``: ``^``
separates loci, ``+`` the two alleles; a single allele means homozygous) or from a table with
two columns per locus (``A_1``, ``A_2`` …; ``A.1``/``A1`` work too; an empty second column means
homozygous), one column per locus named after it (``A``: ``A*24:02+A*02:01``), or a
``typing``/``gl`` column.  A column for a third allele (``A_3``) or a column name given twice is
an error for the whole file (the columns are wrong, so every row would be misread); a row that
cannot be read (an extra field, an unclosed quote, a byte that is not UTF-8) is an error for
that row only.

A typing coarser than the computation's resolution (``A*24`` against two-field lines), or one
missing a locus of the computation, is **not assessable**: reported as such, never guessed.  A
malformed typing (bad allele name, unknown locus, three alleles at a locus) is an error for that
patient only; the rest of a batch is still processed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .alleles import at_resolution, canonical_locus, is_null, locus_at, locus_key, mac_alleles, name_resolution, parse_allele
from .constants import DRB345_GENES, KNOWN_LOCI
from .errors import AlleleNameError, HlamatchError, LineError, OptionError, TypingError, UnknownLocusError
from .lines import Line, as_lines, encode_lines, line_loci, own_names, unique_lines
from .nomenclature import NomenclatureError, current_nomenclature
from .rules import MatchRules

__all__ = [
    "Typing", "parse_typing", "read_patients", "PatientMatch", "LineMatch",
    "match_patients", "cohort_coverage", "cohort_report", "ASSESSABLE", "NOT_ASSESSABLE", "ERROR",
]

ASSESSABLE = "assessed"
NOT_ASSESSABLE = "not assessable"
ERROR = "error"


@dataclass(frozen=True)
class Typing:
    """One patient's unphased typing.

    Attributes
    ----------
    id : str
        Patient identifier (from an ``id`` column, or the row number).
    where : str
        Where it was read (``patients file patients.csv row 4``), for messages.
    alleles : dict
        Locus → (allele1, allele2) normalised names; ``None`` when the typing could not be read.
    error : str or None
        Why the typing is malformed (then ``alleles`` is None).
    """

    id: str
    where: str
    alleles: dict[str, tuple[str, str]] | None
    error: str | None = None


def parse_typing(text: str, id: str = "patient", where: str | None = None) -> Typing:
    """Parse a GL-string-like typing; a malformed one is returned with ``error`` set (never raises)."""
    where = where or f"typing {text!r}"
    try:
        if not isinstance(text, str) or not text.strip():
            raise TypingError("empty typing" if isinstance(text, str) or text is None else
                              f"expected a typing text, got {type(text).__name__} {text!r}")
        alleles: dict[str, tuple[str, str]] = {}
        for part in text.strip().split("^"):
            if not part.strip():
                raise TypingError("empty locus between '^' separators")
            names = [x.strip() for x in part.split("+")]
            _add_locus(alleles, names, part)
        if not alleles:
            raise TypingError("empty typing")
        return Typing(id, where, alleles)
    except HlamatchError as e:
        return Typing(id, where, None, f"{where} (patient {id}): {e}")


def _add_locus(alleles: dict[str, tuple[str, str]], names: list[str], shown: str, column_locus: str | None = None) -> None:
    names = [n for n in names if n]
    if len(names) > 2:
        raise TypingError(f"{len(names)} alleles at one locus ({shown!r}); a typing has at most two per locus")
    if not names:
        raise TypingError(f"no allele in {shown!r}")
    parsed = []
    for n in names:
        try:
            a = parse_allele(n)
        except AlleleNameError as e:
            raise TypingError(str(e)) from None
        parsed.append(a)
    loci = {a.locus for a in parsed}
    if len(loci) != 1:
        raise TypingError(f"alleles of different loci joined by '+' in {shown!r}")
    locus = parsed[0].locus
    if column_locus is not None and locus != column_locus:
        raise TypingError(f"allele {parsed[0].name} is of locus {locus}, found in the {column_locus} columns")
    if locus in alleles:
        raise TypingError(f"locus {locus} is typed twice")
    first = parsed[0].name
    alleles[locus] = (first, parsed[1].name if len(parsed) == 2 else first)


_COLUMN = re.compile(r"^(?P<locus>.+?)[_.\- ]?(?P<k>\d)$")


def _typing_columns(p: Path, columns: Sequence[str], skip: set[int], what: str = "patients file",
                    error: type[HlamatchError] = TypingError) -> dict[str, list[int]]:
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
        if gene in DRB345_GENES or (m and m.group("k") in "12" and
                                    m.group("locus").upper().removeprefix("HLA-") in DRB345_GENES):
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
                raise error(
                    f"{what} {p}: columns {' and '.join(cols)} both hold {held} of locus {locus}; "
                    "keep one"
                )
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
    from ._io import read_rows

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
        pid = cells[id_col] if id_col is not None and cells[id_col] else str(r + 1)
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
                        _add_locus(one, [x.strip() for v in values for x in v.split("+")], "+".join(values),
                                   column_locus=locus)
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


@dataclass(frozen=True)
class LineMatch:
    """How one line compares with one patient.

    Attributes
    ----------
    line : str
    mismatches : int
        Total count under the rules' direction and homozygous count.
    per_locus : dict
        Locus → count.
    mismatched : dict
        Locus → the alleles behind the count: for HvG the line's alleles the patient lacks, for
        GvH the patient's alleles the line lacks, for bidirectional both (``"HvG:…; GvH:…"``).
    matched : bool
        Within the rules (total ≤ k and every per-locus limit).
    within_limits : bool
        Every per-locus limit holds (whatever the total).
    name : str or None
        The line's name when it has one of its own (a lines file's ``name`` column); else None.
    """

    line: str
    mismatches: int
    per_locus: dict[str, int]
    mismatched: dict[str, list[str]]
    matched: bool
    within_limits: bool
    name: str | None = None


@dataclass(frozen=True)
class PatientMatch:
    """Result for one patient: status, reason, and the lines, best first.

    Attributes
    ----------
    lines : tuple of LineMatch
        The lines asked for (``details`` of :func:`match_patients`), best first.
    n_matched : int
        Number of lines matching under the rules.
    best : int or None
        Fewest mismatches among matching lines.
    best_within_limits : int or None
        Fewest mismatches among lines within the per-locus limits, whatever the total.
    """

    id: str
    where: str
    status: str
    reason: str | None = None
    lines: tuple[LineMatch, ...] = field(default=())
    n_matched: int = 0
    best: int | None = None
    best_within_limits: int | None = None

    @property
    def matched(self) -> bool:
        return self.n_matched > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient": self.id,
            "status": self.status,
            "reason": self.reason,
            "matched": self.matched if self.status == ASSESSABLE else None,
            "matching_lines": self.n_matched if self.status == ASSESSABLE else None,
            "best_mismatches": self.best,
            "lines": [
                {"line": m.line, **({"name": m.name} if m.name is not None else {}),
                 "matched": m.matched, "mismatches": m.mismatches,
                 "per_locus": m.per_locus, "mismatched_alleles": m.mismatched}
                for m in self.lines
            ],
        }


def _typing_at(t: Typing, loci: Sequence[str], resolution: str,
               memo: dict[str, tuple[str | None, str | None]] | None = None
               ) -> tuple[list[tuple[str, str]] | None, str | None]:
    """The typing's alleles at ``loci`` reduced to ``resolution``, or (None, why not assessable).

    ``memo`` caches :func:`at_resolution` per allele name over a batch.
    """
    assert t.alleles is not None
    memo = {} if memo is None else memo
    typed = {locus_key(locus): pair for locus, pair in t.alleles.items()}
    out = []
    for locus in loci:
        if locus_key(locus) not in typed:
            return None, f"not typed at {locus}"
        pair = []
        for name in typed[locus_key(locus)]:
            hit = memo.get(name)
            if hit is None:
                hit = memo[name] = at_resolution(name, resolution)
            reduced, why = hit
            if why:
                return None, f"{why}, the lines' resolution"
            pair.append(reduced)
        out.append((pair[0], pair[1]))
    return out, None


def _line_resolution(lines: Sequence[Line]) -> str:
    """The finest resolution every line can be brought to (a line's own kind of names)."""
    classes = {name_resolution(parse_allele(a)) for ln in lines for h in ln.haplotypes for _, a in h} - {None, "MAC"}
    for res in ("antigen", "G", "P", "1-field"):
        if res in classes:
            return res
    return "2-field"


def _mac_error(t: Typing) -> str | None:
    """Why a multiple-allele code of the typing cannot be expanded (no MAC file, or a code it lacks), or None."""
    assert t.alleles is not None
    for pair in t.alleles.values():
        for name in pair:
            try:
                mac_alleles(name)
            except NomenclatureError as e:
                return f"{t.where} (patient {t.id}): {e}"
    return None


def _unknown_allele(t: Typing, nom) -> str | None:  # type: ignore[no-untyped-def]
    """Why the typing is an error under the nomenclature in use (an allele it does not know), or None."""
    if nom is None or t.alleles is None:
        return None
    for pair in t.alleles.values():
        for name in pair:
            for a in mac_alleles(name) or [name]:
                if not nom.known(a):
                    return f"{t.where} (patient {t.id}): allele {a} is not in {nom.release}; check the name"
    return None


def match_patients(
    patients: Iterable[Typing | str],
    lines: Iterable[str | Line],
    *,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    rules: MatchRules | None = None,
    details: str = "all",
    **rule_options: Any,
) -> tuple[list[PatientMatch], tuple[str, ...], str, MatchRules]:
    """Compare every patient typing with every line (genotype level).

    Parameters
    ----------
    patients : iterable of Typing or str
        Typings, or GL-string-like texts.
    lines : iterable of str or Line
    loci : sequence of str, optional
        Default: the loci the lines are typed at.
    resolution : {"2-field", "1-field", "G", "P", "antigen", "broad"}, optional
        Default: the lines' resolution.
    rules : MatchRules, optional
        Or keywords as in :func:`hlamatch.coverage`.
    details : {"matched", "all", "none"}
        Which lines each result lists with per-locus details: the matching ones, every line, or
        none (counts and flags only: fastest, for cohort coverage).

    Returns
    -------
    (results, loci, resolution, rules)
        One :class:`PatientMatch` per patient, in input order.

    Raises
    ------
    HlamatchError
        Bad lines, loci or rules (bad typings do not raise: they come back with status "error").
    """
    from .kernels import _typing_counts

    from .cover import rules_from

    from .problem import loci_argument

    rules = rules_from(rules, rule_options)
    if details not in ("matched", "all", "none"):
        raise OptionError(f"details must be 'matched', 'all' or 'none', got {details!r}")
    bank = unique_lines(as_lines(lines))[0]
    if not bank:
        raise OptionError("no lines given: pass --line, --lines-file or --top")
    typings = _typings(patients)
    loci = loci_argument(loci)
    # The same loci inference and line encoder as coverage: one path, one set of errors.
    use = list(line_loci(bank, KNOWN_LOCI, "the typings") if loci is None else
               [canonical_locus(x, KNOWN_LOCI) for x in loci])
    res = resolution or _line_resolution(bank)
    use = [locus_at(locus, res) for locus in use]
    nom = current_nomenclature()
    limits = rules.locus_limits(use)
    encoded = encode_lines(bank, use, res, [() for _ in use], None)
    lc, ln_null = encoded.codes, encoded.nulls
    vocab = [dict(v) for v in encoded.vocab]  # ours to extend with the patients' names
    line_names = [line.text(use, res) for line in bank]
    results: list[PatientMatch | None] = [None] * len(typings)
    rows, coded, pairs = [], [], []
    memo: dict[str, tuple[str | None, str | None]] = {}
    for i, t in enumerate(typings):
        if t.alleles is None:
            results[i] = PatientMatch(t.id, t.where, ERROR, t.error)
            continue
        bad = _mac_error(t) or _unknown_allele(t, nom)
        if bad is not None:
            results[i] = PatientMatch(t.id, t.where, ERROR, bad)
            continue
        pair, why = _typing_at(t, use, res, memo)
        if pair is None:
            results[i] = PatientMatch(t.id, t.where, NOT_ASSESSABLE, why)
            continue
        rows.append(i)
        pairs.append(pair)
        coded.append([[vocab[l].setdefault(a, len(vocab[l]) + 2) for l, a in enumerate(x)] for x in zip(*pair)])
    if rows:
        pc = np.ascontiguousarray(np.array(coded, dtype=np.int32))
        pn = np.zeros(pc.shape, dtype=np.bool_)
        for l, voc in enumerate(vocab):
            null_of = np.zeros(len(voc) + 2, dtype=np.bool_)
            for name, code in voc.items():
                null_of[code] = is_null(name)
            pn[:, :, l] = null_of[pc[:, :, l]]
        counts = _typing_counts(pc, pn, lc, ln_null, rules.homozygous_count == 2, rules.direction_code)
        totals = counts.sum(axis=2)
        within = (counts <= limits[None, None, :]).all(axis=2)
        ok = within & (totals <= rules.max_mismatches)
        # Per-patient summaries in one pass over the arrays (a batch may hold 10^5 patients).
        none = np.iinfo(totals.dtype).max
        n_matched = ok.sum(axis=1).tolist()
        best = np.where(ok, totals, none).min(axis=1).tolist()
        best_within = np.where(within, totals, none).min(axis=1).tolist()
        donors = [_line_alleles(line, use, res) for line in bank]
        for r, i in enumerate(rows):
            shown = range(len(bank)) if details == "all" else np.flatnonzero(ok[r]) if details == "matched" else ()
            per_line = []
            for t in shown:
                c = counts[r, t]
                mism = _mismatched_alleles(pairs[r], donors[t], use, rules.direction)
                per_line.append(LineMatch(line_names[t], int(totals[r, t]), {u: int(x) for u, x in zip(use, c)},
                                          mism, bool(ok[r, t]), bool(within[r, t]), bank[t].own_name))
            per_line.sort(key=lambda m: (not m.matched, m.mismatches))
            results[i] = PatientMatch(
                typings[i].id, typings[i].where, ASSESSABLE, None, tuple(per_line),
                n_matched=int(n_matched[r]),
                best=None if best[r] == none else int(best[r]),
                best_within_limits=None if best_within[r] == none else int(best_within[r]),
            )
    return [r for r in results if r is not None], tuple(use), res, rules


def _typings(patients: Iterable[Typing | str] | str | None) -> list[Typing]:
    """The patients argument as Typings (a single string is one patient).

    Raises
    ------
    TypingError
        ``patients`` is None or not iterable, or holds something that is neither a string nor a Typing.
    """
    if isinstance(patients, (str, Typing)):
        patients = [patients]
    if patients is None or not isinstance(patients, Iterable):
        raise TypingError(
            "patients must be a list of typings like ['A*24:02+A*02:01^B*52:01^DRB1*15:02'] (or Typing objects "
            f"from read_patients), got {'None' if patients is None else type(patients).__name__ + ' ' + repr(patients)}"
        )
    out = []
    for i, p in enumerate(patients):
        if isinstance(p, Typing):
            out.append(p)
        elif isinstance(p, str):
            out.append(parse_typing(p, str(i + 1)))
        else:
            raise TypingError(
                f"patients[{i}] is {type(p).__name__} {p!r}: each patient is a typing text like "
                "'A*24:02+A*02:01^B*52:01^DRB1*15:02', or a Typing"
            )
    return out


def _line_alleles(line: Line, loci: Sequence[str], res: str) -> list[set[str]]:
    """The line's expressed alleles at each of ``loci``, reduced to ``res``."""
    out = []
    for locus in loci:
        donor = {at_resolution(a, res)[0] or a for h in line.haplotypes for lo, a in h if locus_key(lo) == locus_key(locus)}
        out.append({a for a in donor if not is_null(a)})
    return out


def _mismatched_alleles(pair: Sequence[tuple[str, str]], donors: Sequence[set[str]], loci: Sequence[str],
                        direction: str) -> dict[str, list[str]]:
    """Alleles behind the counts, by locus (expressed alleles only): ``pair`` the patient's reduced
    alleles per locus, ``donors`` the line's (:func:`_line_alleles`)."""
    out: dict[str, list[str]] = {}
    for l, locus in enumerate(loci):
        donor = donors[l]
        patient = {a for a in pair[l] if not is_null(a)}
        hv, gv = sorted(donor - patient), sorted(patient - donor)
        items = hv if direction == "HvG" else gv if direction == "GvH" else [f"HvG:{a}" for a in hv] + [f"GvH:{a}" for a in gv]
        if items:
            out[locus] = items
    return out


def cohort_coverage(results: Sequence[PatientMatch]) -> dict[str, Any]:
    """Empirical coverage of a typed cohort (genotype level, from :func:`match_patients` results).

    Patients with errors are left out.  Not-assessable patients bound the figure: ``lower``
    counts them as unmatched, ``upper`` as matched; ``coverage`` is the lower bound, as
    everywhere in hlamatch, and ``assessed_coverage`` = matched / assessed.

    Returns
    -------
    dict
        ``patients``, ``assessed``, ``not_assessable``, ``errors``, ``matched``, ``coverage``,
        ``lower``, ``upper``, ``assessed_coverage`` and ``distribution``: share of assessed
        patients by the best line's mismatch count (lines within the per-locus limits; ``unmatched``
        when none is).
    """
    assessed = [r for r in results if r.status == ASSESSABLE]
    not_assessable = sum(1 for r in results if r.status == NOT_ASSESSABLE)
    matched = sum(1 for r in assessed if r.matched)
    n = len(assessed)
    denom = n + not_assessable
    counts: dict[str, int] = {}
    for r in assessed:
        best = r.best_within_limits
        key = "unmatched" if best is None else str(best)
        counts[key] = counts.get(key, 0) + 1
    keys = sorted((k for k in counts if k != "unmatched"), key=int) + (["unmatched"] if "unmatched" in counts else [])
    lower = matched / denom if denom else math.nan
    return {
        "patients": len(results),
        "assessed": n,
        "not_assessable": not_assessable,
        "errors": sum(1 for r in results if r.status == ERROR),
        "matched": matched,
        "coverage": lower,
        "lower": lower,
        "upper": (matched + not_assessable) / denom if denom else math.nan,
        "assessed_coverage": matched / n if n else math.nan,
        "distribution": {k: counts[k] / n for k in keys},
    }


def cohort_report(
    patients_file: str | Path,
    lines: Iterable[str | Line],
    *,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    rules: MatchRules | None = None,
) -> tuple[dict[str, Any], list[PatientMatch]]:
    """Empirical coverage of the typed cohort in a file, as one result row.

    Reads the patients (:func:`read_patients`), matches them (:func:`match_patients`) and
    summarises them (:func:`cohort_coverage`).

    Returns
    -------
    (dict, list of PatientMatch)
        The row (the fields of a coverage result where they apply — ``population`` is the file's
        name, ``level`` is genotype, ``table`` is ``cohort:PATH`` — plus the counts of
        :func:`cohort_coverage`), and the per-patient results, whose errors the caller reports.
    """
    path = Path(patients_file)
    bank = unique_lines(as_lines(lines))[0]
    results, used, res, rules = match_patients(read_patients(path), bank, loci=loci, resolution=resolution,
                                               rules=rules, details="none")
    texts = [ln.text(used, res) for ln in bank]
    row = {
        "population": path.name, "level": "genotype", "loci": list(used), "resolution": res,
        "lines": texts,
        **({"line_names": names} if (names := own_names(bank, texts)) is not None else {}),
        **cohort_coverage(results), "unlisted_mass": None, "rule": rules.describe(used), "rules": rules.to_dict(),
        "definition": "empirical cohort coverage (genotype level): share of typed patients whose "
                      "alleles meet the rules for some line; not-assessable patients bound it",
        "table": f"cohort:{patients_file}",
    }
    return row, results
