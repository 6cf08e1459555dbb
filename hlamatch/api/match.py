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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hlamatch.compute.line_codes import encode_lines
from hlamatch.constants import KNOWN_LOCI
from hlamatch.errors import OptionError, TypingError
from hlamatch.hla.alleles import (
    at_resolution,
    canonical_locus,
    is_null,
    locus_at,
    locus_key,
    mac_alleles,
    name_resolution,
    parse_allele,
)
from hlamatch.hla.items import parsed_items
from hlamatch.hla.lines import Line, as_lines, line_loci, own_names, unique_lines
from hlamatch.hla.nomenclature import NomenclatureError, current_nomenclature
from hlamatch.hla.rules import MatchRules
from hlamatch.hla.typing import Typing, parse_typing
from hlamatch.io.patients import read_patients
from hlamatch.results.matching import (
    ASSESSABLE,
    ERROR,
    NOT_ASSESSABLE,
    CohortReport,
    LineMatch,
    MatchReport,
    PatientMatch,
    cohort_context,
)

__all__ = ["match_patients", "cohort_coverage", "cohort_report"]


def _typing_at(
    t: Typing, loci: Sequence[str], resolution: str, memo: dict[str, tuple[str | None, str | None]] | None = None
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
        pair: list[str] = []
        for name in typed[locus_key(locus)]:
            hit = memo.get(name)
            if hit is None:
                hit = memo[name] = at_resolution(name, resolution)
            reduced, why = hit
            if why or reduced is None:
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
) -> MatchReport:
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
    MatchReport
        One :class:`PatientMatch` per patient, in input order (a sequence of them), with the
        ``loci``, ``resolution``, ``rules`` and ``lines`` they were compared under; ``to_polars()``
        and ``to_dict()`` give the output of ``hlamatch match``.

    Raises
    ------
    HlamatchError
        Bad lines, loci or rules (bad typings do not raise: they come back with status "error").
    """
    from hlamatch.compute.arguments import loci_argument
    from hlamatch.hla.rules import rules_from
    from hlamatch.kernels.rules import typing_counts

    rules = rules_from(rules, rule_options)
    if details not in ("matched", "all", "none"):
        raise OptionError(f"details must be 'matched', 'all' or 'none', got {details!r}")
    bank = unique_lines(as_lines(lines))[0]
    if not bank:
        raise OptionError("no lines given: pass at least one line")
    typings = _typings(patients)
    loci = loci_argument(loci)
    # The same loci inference and line encoder as coverage: one path, one set of errors.
    use = list(
        line_loci(bank, KNOWN_LOCI, "the typings") if loci is None else [canonical_locus(x, KNOWN_LOCI) for x in loci]
    )
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
        counts = typing_counts(pc, pn, lc, ln_null, rules.homozygous_count == 2, rules.direction_code)
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
            shown: Iterable[int] = (
                range(len(bank)) if details == "all" else np.flatnonzero(ok[r]).tolist() if details == "matched" else ()
            )
            per_line = []
            for j in shown:
                c = counts[r, j]
                mism = _mismatched_alleles(pairs[r], donors[j], use, rules.direction)
                per_line.append(
                    LineMatch(
                        line_names[j],
                        int(totals[r, j]),
                        {u: int(x) for u, x in zip(use, c)},
                        mism,
                        bool(ok[r, j]),
                        bool(within[r, j]),
                        bank[j].own_name,
                    )
                )
            per_line.sort(key=lambda m: (not m.matched, m.mismatches))
            results[i] = PatientMatch(
                typings[i].id,
                typings[i].where,
                ASSESSABLE,
                None,
                tuple(per_line),
                n_matched=int(n_matched[r]),
                best=None if best[r] == none else int(best[r]),
                best_within_limits=None if best_within[r] == none else int(best_within[r]),
            )
    names = own_names(bank, line_names)
    return MatchReport([r for r in results if r is not None], use, res, rules, line_names, names)


def _typings(patients: Iterable[Typing | str] | str | None) -> list[Typing]:
    """The patients argument as Typings (a single string is one patient).

    Raises
    ------
    TypingError
        ``patients`` is None or not iterable, or holds something that is neither a string nor a Typing.
    """
    return parsed_items(
        patients,
        Typing,
        lambda text, k: parse_typing(text, str(k + 1)),
        TypingError,
        "patients",
        "A*24:02+A*02:01^B*52:01^DRB1*15:02",
        "Typing objects from read_patients",
    )


def _line_alleles(line: Line, loci: Sequence[str], res: str) -> list[set[str]]:
    """The line's expressed alleles at each of ``loci``, reduced to ``res``."""
    out = []
    for locus in loci:
        donor = {
            at_resolution(a, res)[0] or a for h in line.haplotypes for lo, a in h if locus_key(lo) == locus_key(locus)
        }
        out.append({a for a in donor if not is_null(a)})
    return out


def _mismatched_alleles(
    pair: Sequence[tuple[str, str]], donors: Sequence[set[str]], loci: Sequence[str], direction: str
) -> dict[str, list[str]]:
    """Alleles behind the counts, by locus (expressed alleles only): ``pair`` the patient's reduced
    alleles per locus, ``donors`` the line's (:func:`_line_alleles`)."""
    out: dict[str, list[str]] = {}
    for l, locus in enumerate(loci):
        donor = donors[l]
        patient = {a for a in pair[l] if not is_null(a)}
        hv, gv = sorted(donor - patient), sorted(patient - donor)
        items = (
            hv
            if direction == "HvG"
            else gv
            if direction == "GvH"
            else [f"HvG:{a}" for a in hv] + [f"GvH:{a}" for a in gv]
        )
        if items:
            out[locus] = items
    return out


def cohort_coverage(results: Sequence[PatientMatch]) -> CohortReport:
    """Empirical coverage of a typed cohort (genotype level, from :func:`match_patients` results).

    Patients with errors are left out.  Not-assessable patients bound the figure: ``lower``
    counts them as unmatched, ``upper`` as matched; ``coverage`` is the lower bound, as
    everywhere in hlamatch, and ``assessed_coverage`` = matched / assessed.

    Returns
    -------
    CohortReport
        A mapping of ``patients``, ``assessed``, ``not_assessable``, ``errors``, ``matched``,
        ``coverage``, ``lower``, ``upper``, ``assessed_coverage`` and ``distribution``: share of
        assessed patients by the best line's mismatch count (lines within the per-locus limits;
        ``unmatched`` when none is).  From a :class:`MatchReport` (what :func:`match_patients`
        returns) it also knows the loci, resolution, lines and rules (its ``to_dict()``).
    """
    if isinstance(results, (str, bytes, Mapping)) or not isinstance(results, Iterable):
        raise TypeError(
            f"results must be the list of PatientMatch that match_patients returns, got {type(results).__name__}"
        )
    context = cohort_context(results) if isinstance(results, MatchReport) else None
    results = list(results)
    for i, r in enumerate(results):
        if not isinstance(r, PatientMatch):
            raise TypeError(f"results[{i}] must be a PatientMatch (from match_patients), got {type(r).__name__}")
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
    figures = {
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
    return CohortReport(figures, context)


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
    results = match_patients(read_patients(path), bank, loci=loci, resolution=resolution, rules=rules, details="none")
    report = cohort_coverage(results).with_context(population=path.name, table=f"cohort:{patients_file}")
    return report.to_dict(), list(results)
