"""Brute-force reference implementations of the coverage definitions (not collected as tests).

Everything here is written from ``docs/matching-model.md`` and deliberately shares no code with
``hlamatch``: no bitsets, no collapsing of equivalent haplotypes, no folds, no closed forms
inside the brute force.  It is slow on purpose; the library's kernels are tested against it.

Conventions
-----------
* A haplotype is a tuple of allele names, one per locus, all in one locus order.
* A donor line is a pair ``(hap1, hap2)`` of such tuples; ``hap1 == hap2`` is a homozygous line.
  Line alleles need not occur in the table.
* A patient is an *ordered* pair of independent chromosomes (Hardy–Weinberg): weight
  ``f_h1 * f_h2``.
* Zero HvG mismatches:

  - **genotype level** (unphased): line ``(d1, d2)`` matches patient ``(h1, h2)`` iff at every
    locus ``l`` both ``d1[l]`` and ``d2[l]`` are in ``{h1[l], h2[l]}``;
  - **haplotype level** (phase-aware): it matches iff ``{d1, d2}`` is a subset of ``{h1, h2}``
    as whole haplotypes.

* Unlisted mass ``U = 1 - sum(f)`` is one pseudo-chromosome of weight ``U``.  For the **lower**
  bound it is *novel* (its alleles equal nothing); for the **upper** bound it is a *wildcard*
  (it is whatever haplotype helps: paired with a listed ``h`` the pair is covered iff some
  line matches ``(h, u)`` for some haplotype ``u``; paired with itself it is covered iff the
  bank is non-empty).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "LEVELS",
    "NOVEL",
    "line_matches",
    "bank_matches",
    "wildcard_candidates",
    "naive_coverage",
    "numpy_genotype_coverage",
    "numpy_haplotype_coverage",
    "closed_form_haplotype",
]

LEVELS = ("haplotype", "genotype")


class _Novel:
    """An unlisted chromosome whose allele at every locus equals no other allele (not even its own)."""

    def __getitem__(self, locus: int) -> _Novel:
        return self

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return "NOVEL"


#: The lower bound's unlisted chromosome.
NOVEL = _Novel()


def line_matches(line, h1, h2, level: str) -> bool:
    """True when donor line ``(d1, d2)`` has zero HvG mismatches against patient ``(h1, h2)``.

    ``h1``/``h2`` may be :data:`NOVEL`.  ``level`` is ``"genotype"`` or ``"haplotype"``.
    """
    d1, d2 = line
    if level == "haplotype":
        # {d1, d2} subset of {h1, h2}, comparing whole haplotypes (NOVEL equals nothing).
        return (d1 == h1 or d1 == h2) and (d2 == h1 or d2 == h2)
    if level == "genotype":
        for l in range(len(d1)):
            a1, a2 = h1[l], h2[l]  # the patient's two alleles (NOVEL equals nothing)
            if not ((a1 == d1[l] or a2 == d1[l]) and (a1 == d2[l] or a2 == d2[l])):
                return False
        return True
    raise ValueError(f"unknown level {level!r}")


def bank_matches(lines, h1, h2, level: str) -> bool:
    """True when at least one line of ``lines`` matches patient ``(h1, h2)``."""
    return any(line_matches(line, h1, h2, level) for line in lines)


def wildcard_candidates(lines) -> list[tuple]:
    """Every haplotype an unlisted chromosome could usefully be, for the upper bound.

    For each line, every haplotype whose allele at each locus is ``d1[l]`` or ``d2[l]`` of that
    line (this includes ``d1`` and ``d2`` themselves, which is all the haplotype level can use).
    A haplotype carrying an allele of no line cannot help any line match.
    """
    out = set()
    for d1, d2 in lines:
        for u in itertools.product(*[(a, b) for a, b in zip(d1, d2)]):
            out.add(tuple(u))
    return sorted(out)


def naive_coverage(
    haplotypes: Sequence[tuple],
    freqs: Sequence[float],
    lines: Sequence[tuple[tuple, tuple]],
    level: str,
    unlisted: float = 0.0,
) -> tuple[float, float]:
    """Covered patient mass ``(lower, upper)`` by looping over every ordered chromosome pair.

    Parameters
    ----------
    haplotypes : sequence of tuple of str
        Distinct listed haplotypes (allele names in one locus order).
    freqs : sequence of float
        Their frequencies (``>= 0``).
    lines : sequence of (tuple, tuple)
        The bank: ``(hap1, hap2)`` per line, same locus order; alleles may be absent from the table.
    level : {"haplotype", "genotype"}
    unlisted : float
        Unlisted mass ``U`` (one extra pseudo-chromosome of that weight).

    Returns
    -------
    (float, float)
        ``lower``: the unlisted chromosome is :data:`NOVEL`;
        ``upper``: the unlisted chromosome is the most helpful haplotype, chosen per pair.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    haplotypes = [tuple(h) for h in haplotypes]
    lines = [(tuple(a), tuple(b)) for a, b in lines]
    candidates = wildcard_candidates(lines)
    UNL = "unlisted"  # marker for the pseudo-chromosome in the pair loop
    chromosomes = list(zip(haplotypes, [float(f) for f in freqs]))
    if unlisted > 0:
        chromosomes.append((UNL, float(unlisted)))

    lower_terms, upper_terms = [], []
    for x, fx in chromosomes:
        for y, fy in chromosomes:
            w = fx * fy
            if x is not UNL and y is not UNL:
                covered = bank_matches(lines, x, y, level)
                lo = up = covered
            elif x is UNL and y is UNL:
                lo = bank_matches(lines, NOVEL, NOVEL, level)  # always False
                up = any(bank_matches(lines, u, v, level) for u in candidates for v in candidates)
            else:
                h = y if x is UNL else x
                lo = bank_matches(lines, h, NOVEL, level)
                up = any(bank_matches(lines, h, u, level) for u in candidates)
            if lo:
                lower_terms.append(w)
            if up:
                upper_terms.append(w)
    return math.fsum(lower_terms), math.fsum(upper_terms)


def _chunked_pair_mass(eq1: np.ndarray, eq2: np.ndarray, freqs: np.ndarray, chunk: int | None) -> float:
    """Covered ordered-pair mass given per-haplotype equality flags.

    ``eq1[t, i, l]`` (resp. ``eq2``) says haplotype ``i`` carries allele 1 (resp. 2) of line ``t``
    at (pseudo-)locus ``l``.  Pair ``(i, j)`` is covered by line ``t`` iff, at every ``l``,
    ``eq1[t,i,l] | eq1[t,j,l]`` and ``eq2[t,i,l] | eq2[t,j,l]``.

    The flags of one haplotype and line are packed into an integer, two bits per locus
    (bit ``2l``: eq1, bit ``2l + 1``: eq2), so that the test for every locus at once reads
    ``m[i] | m[j] == all bits set``.  Each chunk of first chromosomes gets its full
    (chunk × n) matrix of covered pairs.
    """
    n_lines, n, n_loci = eq1.shape
    if n_loci > 31:
        raise ValueError("at most 31 loci (two bits each in a uint64)")
    f = np.asarray(freqs, dtype=np.float64)
    shifts = (2 * np.arange(n_loci, dtype=np.uint64))[None, None, :]
    masks = ((eq1.astype(np.uint64) << shifts) | (eq2.astype(np.uint64) << (shifts + np.uint64(1)))).sum(
        axis=2, dtype=np.uint64
    )  # (n_lines, n): disjoint bits, so the sum is an OR
    full = np.uint64((1 << (2 * n_loci)) - 1)
    chunk = chunk or max(1, (1 << 20) // max(1, n))  # about 8 MB per uint64 temporary
    parts = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        covered = np.zeros((stop - start, n), dtype=bool)
        for t in range(n_lines):
            covered |= (masks[t, start:stop, None] | masks[t, None, :]) == full
        parts.append(float(f[start:stop] @ (covered @ f)))
    return math.fsum(parts)


def numpy_genotype_coverage(codes, freqs, line_codes, chunk: int | None = None) -> float:
    """Genotype-level (unphased) covered mass over all listed ordered pairs, no unlisted mass.

    A plain vectorised NumPy brute force: for each chunk of first chromosomes ``h1`` it builds the
    full (chunk × n) boolean matrix of covered pairs, line by line, then sums
    ``f_h1 f_h2`` over it.  Memory stays bounded by the chunk size (no collapsing of equivalent
    haplotypes, no symmetry: every ordered pair is tested).

    Parameters
    ----------
    codes : numpy.ndarray
        int array of shape (n, n_loci): allele code per haplotype and locus (codes ``>= 0``).
    freqs : numpy.ndarray
        float64 array of shape (n,).
    line_codes : numpy.ndarray
        int array of shape (n_lines, 2, n_loci); a negative code is an allele no haplotype carries.
    chunk : int, optional
        Rows of ``h1`` per step (default: about 2^20 / n, an ~8 MB temporary).

    Returns
    -------
    float
        ``sum_{h1, h2} f_h1 f_h2 [some line's alleles at every locus are among {h1[l], h2[l]}]``.
    """
    codes = np.asarray(codes)
    line_codes = np.asarray(line_codes)
    n, n_loci = codes.shape
    if line_codes.shape[0] == 0 or n == 0:
        return 0.0
    # eq[t, i, l]: haplotype i carries allele k of line t at locus l (negative codes never match).
    eq1 = codes[None, :, :] == line_codes[:, 0, None, :]
    eq2 = codes[None, :, :] == line_codes[:, 1, None, :]
    return _chunked_pair_mass(eq1, eq2, freqs, chunk)


def numpy_haplotype_coverage(codes, freqs, line_codes, chunk: int | None = None) -> float:
    """Haplotype-level (phase-aware) covered mass over all listed ordered pairs, no unlisted mass.

    Same brute force as :func:`numpy_genotype_coverage`, but a line haplotype is "carried" only by
    a chromosome equal to it at *every* locus: pair ``(h1, h2)`` is covered iff for some line both
    ``d1`` and ``d2`` are among ``{h1, h2}``.  Rows of ``codes`` must be distinct.

    Returns
    -------
    float
        ``sum_{h1, h2} f_h1 f_h2 [{d1, d2} ⊆ {h1, h2} for some line]``.
    """
    codes = np.asarray(codes)
    line_codes = np.asarray(line_codes)
    n, _ = codes.shape
    if line_codes.shape[0] == 0 or n == 0:
        return 0.0
    eq1 = (codes[None, :, :] == line_codes[:, 0, None, :]).all(axis=2)[:, :, None]
    eq2 = (codes[None, :, :] == line_codes[:, 1, None, :]).all(axis=2)[:, :, None]
    return _chunked_pair_mass(eq1, eq2, freqs, chunk)


def plain_numpy_genotype_coverage(codes, freqs, line_codes, chunk: int = 256) -> float:
    """Genotype-level covered mass by the most direct NumPy broadcast (no bit packing).

    For each chunk of first chromosomes and each line, the (chunk × n × loci) boolean array
    "both line alleles are among the pair's alleles" is built and reduced over loci.  This is
    the straightforward vectorised reading of the definition; :func:`numpy_genotype_coverage`
    is the same brute force with the flags packed into integers (about 50× faster).  The
    benchmark reports hlamatch against both.
    """
    codes = np.asarray(codes)
    line_codes = np.asarray(line_codes)
    f = np.asarray(freqs, dtype=np.float64)
    n = codes.shape[0]
    parts = []
    for start in range(0, n, chunk):
        a = codes[start : start + chunk, None, :]  # (c, 1, L)
        b = codes[None, :, :]  # (1, n, L)
        covered = np.zeros((a.shape[0], n), dtype=bool)
        for d1, d2 in line_codes:
            ok1 = (a == d1) | (b == d1)
            ok2 = (a == d2) | (b == d2)
            covered |= (ok1 & ok2).all(axis=2)
        parts.append(float(f[start : start + chunk] @ (covered @ f)))
    return math.fsum(parts)


def closed_form_haplotype(freqs_of_bank_haplotypes: Sequence[float], unlisted: float = 0.0) -> tuple[float, float]:
    """Haplotype-level ``(lower, upper)`` coverage of a non-empty bank of homozygous lines, closed form.

    Parameters
    ----------
    freqs_of_bank_haplotypes : sequence of float
        Frequency of each *distinct* bank haplotype in the table (0 for one the table does not list).
    unlisted : float
        Unlisted mass ``U``.

    Returns
    -------
    (float, float)
        With ``F = sum f_d``: a patient is uncovered iff neither chromosome is a bank haplotype, so
        ``lower = 1 - (1 - F)**2`` (an unlisted chromosome is never a bank haplotype) and
        ``upper = 1 - (1 - F - U)**2`` (an unlisted chromosome may be one).
    """
    F = math.fsum(freqs_of_bank_haplotypes)
    return 1.0 - (1.0 - F) ** 2, 1.0 - (1.0 - F - unlisted) ** 2


# ==========================================================================================
# Match rules: mismatch counts, directions, homozygous count, per-locus limits
# ==========================================================================================
#
# Written from the definitions of the match rules (docs/matching-model.md and the project's
# rule definitions), again sharing no code with hlamatch:
#
# * Genotype level (unphased), one locus: HvG = the donor's *expressed* alleles absent from the
#   patient's alleles; GvH = the patient's expressed alleles absent from the donor's;
#   bidirectional = the larger of the two.  Null alleles (names ending in ``N``, and
#   ``DRBX*NNNN``) are not expressed and never count.
#   - homozygous_count=1: a set difference (a missing allele counts once, however many copies).
#   - homozygous_count=2: a missing allele of a typing that is homozygous *by expression* counts
#     2: both copies the same expressed allele -> 2; one expressed allele and one null
#     (hemizygous) -> 2 only if the other typing carries no null, else 1.
# * Haplotype level (phase-aware): each donor copy is compared with ONE patient haplotype chosen
#   by an assignment sigma (any of the 4 maps {copy 1, copy 2} -> {h1, h2}); a copy's allele is
#   missing when it differs from that haplotype's allele.  Where the donor is homozygous (both
#   copies the same expressed allele) missing counts 1, or 2 with homozygous_count=2 when both
#   copies miss (1 if only one does).  Null copies never count.  GvH is the same with the roles
#   swapped (assignment tau of patient copies to donor haplotypes); bidirectional takes, for
#   each (sigma, tau), the per-locus max, summed over loci; the best (sigma, tau) is taken.
# * A line matches when the total over the loci is <= k and every per-locus limit holds.
# * Unlisted mass: lower scenario = novel chromosomes (alleles equal nothing, two unlisted
#   chromosomes differ from each other too, expressed); upper scenario = wildcard: for the line
#   under consideration, the unlisted chromosome carries at each locus d1[l] or d2[l] of that
#   line, whichever helps (tried independently per locus).

DIRECTIONS_RULES = ("HvG", "GvH", "bidirectional")


def naive_is_null(allele) -> bool:
    """Null (non-expressed) allele: a name ending in ``N`` after the ``*``, or ``DRBX*NNNN``.

    Anything that is not a string (e.g. a novel unlisted allele) is expressed.
    """
    if not isinstance(allele, str):
        return False
    return allele.startswith("DRBX") or ("*" in allele and allele.endswith("N"))


def _carries(typing, allele) -> bool:
    """``allele`` equals one of the two alleles of ``typing`` (explicit ``==``, no sets: novel
    alleles are equal to nothing, not even themselves)."""
    return any(allele == x for x in typing)


def _absent(x_pair, y_pair, homozygous_count: int, null) -> int:
    """Expressed alleles of typing ``x_pair`` absent from typing ``y_pair`` (one locus, unphased)."""
    x1, x2 = x_pair
    expressed = [a for a in (x1, x2) if not null(a)]
    if not expressed:
        return 0
    if len(expressed) == 2 and not (x1 == x2):
        # heterozygous: each distinct expressed allele counts once when missing
        return sum(0 if _carries(y_pair, a) else 1 for a in expressed)
    x = expressed[0]  # homozygous (x, x) or hemizygous (x, null)
    if _carries(y_pair, x):
        return 0
    if homozygous_count == 1:
        return 1
    if len(expressed) == 2:  # homozygous by two expressed copies
        return 2
    return 1 if any(null(y) for y in y_pair) else 2


def naive_locus_count(donor_pair, patient_pair, direction: str, homozygous_count: int = 1, null=naive_is_null) -> int:
    """Genotype-level mismatch count at one locus between a donor typing and a patient typing.

    Parameters
    ----------
    donor_pair, patient_pair : (allele, allele)
        The two alleles of each typing at the locus (a homozygous typing repeats one).
    direction : {"HvG", "GvH", "bidirectional"}
    homozygous_count : {1, 2}
    null : callable
        ``null(allele) -> bool``: the allele is not expressed.
    """
    hv = _absent(donor_pair, patient_pair, homozygous_count, null)
    gv = _absent(patient_pair, donor_pair, homozygous_count, null)
    if direction == "HvG":
        return hv
    if direction == "GvH":
        return gv
    if direction == "bidirectional":
        return max(hv, gv)
    raise ValueError(f"unknown direction {direction!r}")


def _phased_missing(copies, compared, homozygous_count: int, null) -> int:
    """Phase-aware count at one locus: copy ``copies[i]`` is compared with ``compared[i]``.

    Null copies never count themselves; a hemizygous copy (X with a null copy) missing counts 1,
    or ``homozygous_count`` when the allele compared with the null copy is expressed.
    """
    a, b = copies
    miss_a = (not null(a)) and not (a == compared[0])
    miss_b = (not null(b)) and not (b == compared[1])
    if (not null(a)) and (not null(b)):
        if a == b:  # homozygous expressed copies
            if miss_a and miss_b:
                return homozygous_count
            return 1 if (miss_a or miss_b) else 0
        return int(miss_a) + int(miss_b)
    if null(a) and null(b):
        return 0
    missing = miss_a or miss_b  # the one expressed copy
    null_partner = compared[1] if not null(a) else compared[0]
    if not missing:
        return 0
    return homozygous_count if not null(null_partner) else 1


def _limit_ok(limits, l: int, count: int) -> bool:
    return limits is None or limits[l] is None or count <= limits[l]


def naive_phased_count(donor, patient, direction: str, homozygous_count: int = 1, limits=None, null=naive_is_null):
    """Fewest phase-aware mismatches of donor line ``(d1, d2)`` against patient ``(h1, h2)``.

    Every assignment sigma (donor copy -> patient haplotype, 4 maps) and tau (patient copy ->
    donor haplotype, 4 maps) is tried; for each, the per-locus count (HvG, GvH or their max) is
    summed over loci; assignments breaking a per-locus limit are discarded.

    Parameters
    ----------
    donor, patient : (haplotype, haplotype)
        Haplotypes are sequences of alleles in one locus order.
    limits : sequence of (int or None), optional
        Most mismatches allowed per locus (None: no limit).

    Returns
    -------
    int or None
        The best total, or None when no assignment meets the limits.
    """
    d = tuple(donor)
    p = tuple(patient)
    n_loci = len(d[0])
    best = None
    for sigma in itertools.product((0, 1), repeat=2):
        for tau in itertools.product((0, 1), repeat=2):
            total = 0
            ok = True
            for l in range(n_loci):
                hv = _phased_missing((d[0][l], d[1][l]), (p[sigma[0]][l], p[sigma[1]][l]), homozygous_count, null)
                gv = _phased_missing((p[0][l], p[1][l]), (d[tau[0]][l], d[tau[1]][l]), homozygous_count, null)
                c = {"HvG": hv, "GvH": gv, "bidirectional": max(hv, gv)}[direction]
                if not _limit_ok(limits, l, c):
                    ok = False
                    break
                total += c
            if ok and (best is None or total < best):
                best = total
    return best


def naive_genotype_count(donor, patient, direction: str, homozygous_count: int = 1, limits=None, null=naive_is_null):
    """Unphased mismatch count of line ``(d1, d2)`` against patient ``(h1, h2)``; None if a
    per-locus limit is broken."""
    d1, d2 = donor
    h1, h2 = patient
    total = 0
    for l in range(len(d1)):
        c = naive_locus_count((d1[l], d2[l]), (h1[l], h2[l]), direction, homozygous_count, null)
        if not _limit_ok(limits, l, c):
            return None
        total += c
    return total


def naive_line_count(
    line, h1, h2, level: str, direction: str, homozygous_count: int = 1, limits=None, null=naive_is_null
):
    """Mismatch count of one line against one patient at ``level`` (None: outside the limits)."""
    if level == "haplotype":
        return naive_phased_count(line, (h1, h2), direction, homozygous_count, limits, null)
    if level == "genotype":
        return naive_genotype_count(line, (h1, h2), direction, homozygous_count, limits, null)
    raise ValueError(f"unknown level {level!r}")


class _NovelChromosome:
    """An unlisted chromosome whose alleles equal nothing (not those of another novel one)."""

    def __getitem__(self, locus: int) -> _Novel:
        return _Novel()


def _best_over_lines(lines, h1, h2, level, direction, homozygous_count, limits, null):
    """Best count over the bank for patient (h1, h2); the strings ``"W"`` mark wildcard chromosomes."""
    best = None
    for line in lines:
        d1, d2 = line
        options = list(itertools.product(*[(a, b) for a, b in zip(d1, d2)]))  # wildcard haplotypes
        firsts = options if h1 == "W" else [h1]
        seconds = options if h2 == "W" else [h2]
        for x in firsts:
            for y in seconds:
                c = naive_line_count(line, x, y, level, direction, homozygous_count, limits, null)
                if c is not None and (best is None or c < best):
                    best = c
    return best


def naive_rule_histograms(
    haplotypes,
    freqs,
    lines,
    level: str,
    direction: str = "HvG",
    homozygous_count: int = 1,
    limits=None,
    unlisted: float = 0.0,
    null=naive_is_null,
) -> tuple[dict, dict]:
    """Share of ordered patient pairs by their best line's mismatch count, lower and upper scenario.

    Keys ``"0" .. str(2 * n_loci)`` and ``"unmatched"`` (no line within the per-locus limits).
    Pure Python over every ordered pair of chromosomes, the unlisted mass being one extra
    pseudo-chromosome of weight ``unlisted`` (novel in the first dict, wildcard in the second).
    """
    haplotypes = [tuple(h) for h in haplotypes]
    lines = [(tuple(a), tuple(b)) for a, b in lines]
    n_loci = len(lines[0][0])
    keys = [str(m) for m in range(2 * n_loci + 1)] + ["unmatched"]
    UNL = "unlisted"
    chromosomes = list(zip(haplotypes, [float(f) for f in freqs]))
    if unlisted > 0:
        chromosomes.append((UNL, float(unlisted)))
    terms_lo = {key: [] for key in keys}
    terms_hi = {key: [] for key in keys}
    args = (level, direction, homozygous_count, limits, null)
    for x, fx in chromosomes:
        for y, fy in chromosomes:
            w = fx * fy
            # lower: each unlisted chromosome of the pair is a fresh novel one
            lx = _NovelChromosome() if x is UNL else x
            ly = _NovelChromosome() if y is UNL else y
            lo = _best_over_lines(lines, lx, ly, *args)
            hx = "W" if x is UNL else x
            hy = "W" if y is UNL else y
            hi = _best_over_lines(lines, hx, hy, *args)
            terms_lo["unmatched" if lo is None else str(lo)].append(w)
            terms_hi["unmatched" if hi is None else str(hi)].append(w)
    return ({k: math.fsum(v) for k, v in terms_lo.items()}, {k: math.fsum(v) for k, v in terms_hi.items()})


def naive_rule_coverage(
    haplotypes,
    freqs,
    lines,
    level: str,
    k: int = 0,
    direction: str = "HvG",
    homozygous_count: int = 1,
    limits=None,
    unlisted: float = 0.0,
    null=naive_is_null,
) -> tuple[float, float, dict]:
    """Coverage under match rules by brute force: ``(lower, upper, distribution_lower)``.

    Parameters
    ----------
    haplotypes, freqs, lines, level, unlisted
        As in :func:`naive_coverage`.
    k : int
        Most mismatches in total.
    direction : {"HvG", "GvH", "bidirectional"}
    homozygous_count : {1, 2}
    limits : sequence of (int or None), optional
        Per-locus limits (``require_match`` -> 0 at that locus; ``allow_mismatch`` -> 0 at every
        other locus).
    null : callable
        Which allele names are not expressed.

    Returns
    -------
    (float, float, dict)
        Covered mass with unlisted chromosomes novel (lower) and wildcard (upper), and the
        lower scenario's distribution of the best line's count.
    """
    lo, hi = naive_rule_histograms(haplotypes, freqs, lines, level, direction, homozygous_count, limits, unlisted, null)
    covered = [str(m) for m in range(k + 1) if str(m) in lo]
    return math.fsum(lo[m] for m in covered), math.fsum(hi[m] for m in covered), lo


__all__ += [
    "naive_is_null",
    "naive_locus_count",
    "naive_phased_count",
    "naive_genotype_count",
    "naive_line_count",
    "naive_rule_histograms",
    "naive_rule_coverage",
]


# ==================================================================== bank planning (rank, greedy)
# Written from the definitions only: a candidate's gain is coverage(bank + candidate) minus
# coverage(bank), each computed by the brute force above; the greedy plan repeats "add the best";
# the optimum is a search over every subset.


def naive_gains(
    haplotypes,
    freqs,
    bank,
    candidates,
    level: str,
    k: int = 0,
    direction: str = "HvG",
    homozygous_count: int = 1,
    limits=None,
    unlisted: float = 0.0,
) -> list[tuple[float, float]]:
    """Per candidate, ``(lower, upper)`` coverage of ``bank + [candidate]`` by brute force."""
    out = []
    for c in candidates:
        lo, hi, _ = naive_rule_coverage(
            haplotypes, freqs, list(bank) + [c], level, k, direction, homozygous_count, limits, unlisted
        )
        out.append((lo, hi))
    return out


def naive_bank_coverage(haplotypes, freqs, bank, level: str, unlisted: float = 0.0, **rule) -> float:
    """Lower-bound coverage of ``bank`` (0 for an empty bank)."""
    if not bank:
        return 0.0
    return naive_rule_coverage(haplotypes, freqs, list(bank), level, unlisted=unlisted, **rule)[0]


def naive_best_subset(
    haplotypes, freqs, bank, candidates, n_lines: int, level: str, unlisted: float = 0.0, **rule
) -> float:
    """Highest lower-bound coverage of ``bank`` plus at most ``n_lines`` candidates (every subset)."""
    best = naive_bank_coverage(haplotypes, freqs, bank, level, unlisted, **rule)
    for size in range(1, n_lines + 1):
        for subset in itertools.combinations(range(len(candidates)), size):
            lines = list(bank) + [candidates[i] for i in subset]
            best = max(best, naive_bank_coverage(haplotypes, freqs, lines, level, unlisted, **rule))
    return best


__all__ += ["naive_gains", "naive_bank_coverage", "naive_best_subset"]


# ==================================================================== donor supply (hlamatch.api.supply)
# Written from "Donor supply" in docs/matching-model.md only: per-person probabilities by their
# formulas, sums term by term, and the expected coverage of a registry's bank by ENUMERATING every
# registry of R people (each person: homozygous for one listed haplotype, or anything else),
# weighting each by its probability and taking the brute-force coverage of its bank.  No
# pair-probability algebra, no log1p/expm1, no Monte Carlo.
#
# The haplotype level at zero HvG mismatches has its own small brute force here (the general
# naive_rule_coverage is slow enough to limit the examples; tests check that both agree).


def naive_homozygous_probability(f: float, inbreeding: float = 0.0) -> float:
    """``(1 - F) f^2 + F f``: a random person carries haplotype ``h`` on both chromosomes."""
    return (1.0 - inbreeding) * f * f + inbreeding * f


def naive_registry_probability(p: float, registry_size: int) -> float:
    """``1 - (1 - p)^R`` as written (plain power)."""
    return 1.0 - (1.0 - p) ** registry_size


def naive_expected_distinct(freqs: Sequence[float], registry_size: int, inbreeding: float = 0.0) -> float:
    """``sum_h [1 - (1 - p_h)^R]`` over the haplotypes listed (frequency > 0), term by term."""
    return math.fsum(
        naive_registry_probability(naive_homozygous_probability(f, inbreeding), registry_size) for f in freqs if f > 0
    )


def naive_haplotype_bank_coverage(haplotypes, freqs, bank, unlisted: float = 0.0) -> tuple[float, float]:
    """``(lower, upper)`` haplotype-level coverage of homozygous lines under zero HvG mismatches.

    A line homozygous for ``d`` has no HvG mismatch with a patient when one of the patient's two
    chromosomes carries, at every locus, d's allele, or d's allele there is null (not expressed,
    never a mismatch).  Chromosomes: the listed haplotypes and one unlisted pseudo-chromosome of
    weight ``unlisted``: :data:`NOVEL` for the lower bound (matched only by a line with no expressed
    allele), a wildcard for the upper bound (matched by any line).  Loops over ordered pairs.

    Parameters
    ----------
    haplotypes : sequence of tuple
    freqs : sequence of float
    bank : sequence of tuple
        The haplotypes ``d`` of the homozygous lines (empty: covers nothing).
    unlisted : float
    """

    def matched(h) -> bool:
        return any(all(naive_is_null(a) or a == h[l] for l, a in enumerate(d)) for d in bank)

    out = []
    for wildcard in (False, True):
        chromosomes = [(f, matched(h)) for h, f in zip(haplotypes, freqs)]
        chromosomes.append((unlisted, bool(bank) if wildcard else matched(NOVEL)))
        out.append(math.fsum(fx * fy for fx, mx in chromosomes for fy, my in chromosomes if mx or my))
    return out[0], out[1]


def naive_registry_coverage(
    haplotypes, pop_freqs, registry_size: int, level: str, weights=None, inbreeding: float = 0.0, **rule
) -> tuple[float, float]:
    """Expected ``(lower, upper)`` coverage of the bank a registry of ``R`` people holds, by enumeration.

    Parameters
    ----------
    haplotypes : sequence of tuple
        Every haplotype of the table (tuples of allele names).
    pop_freqs : sequence of sequence of float
        One frequency list per population (aligned with ``haplotypes``).
    registry_size : int
        R; every one of the ``(n + 1)^R`` ordered registries is visited, so keep ``n`` and R tiny.
    level : {"haplotype", "genotype"}
    weights : sequence of float, optional
        Mix weights (normalised here); default: one population.  A person comes from population
        p with probability ``w_p``; the bank serves the mix of patients: ``sum_p w_p cov_p``.
    inbreeding : float
    **rule
        Match-rule keywords of :func:`naive_rule_coverage` (``k``, ``direction`` ...).  Without
        them, the haplotype level uses :func:`naive_haplotype_bank_coverage`.

    Returns
    -------
    (float, float)
        ``sum over registries P(registry) * coverage(bank)``; the bank holds a homozygous line
        for each haplotype with at least one homozygous person; an empty bank covers nothing.
    """
    weights = [1.0] * len(pop_freqs) if weights is None else list(weights)
    total_w = math.fsum(weights)
    weights = [w / total_w for w in weights]
    n = len(haplotypes)
    person = [
        math.fsum(w * naive_homozygous_probability(f[h], inbreeding) for w, f in zip(weights, pop_freqs))
        for h in range(n)
    ]
    other = 1.0 - math.fsum(person)
    categories = [(h, person[h]) for h in range(n) if person[h] > 0] + [(None, other)]
    cache: dict = {}
    lo_terms, hi_terms = [], []
    for registry in itertools.product(categories, repeat=registry_size):
        prob = math.prod(p for _, p in registry)
        bank = frozenset(h for h, _ in registry if h is not None)
        if bank not in cache:
            lines = [(haplotypes[h], haplotypes[h]) for h in sorted(bank)]
            lo = hi = 0.0
            for w, f in zip(weights, pop_freqs):
                u = max(0.0, 1.0 - math.fsum(f))
                if level == "haplotype" and not rule:
                    c_lo, c_hi = naive_haplotype_bank_coverage(haplotypes, f, [haplotypes[h] for h in sorted(bank)], u)
                elif lines:
                    c_lo, c_hi, _ = naive_rule_coverage(haplotypes, f, lines, level, unlisted=u, **rule)
                else:
                    c_lo = c_hi = 0.0
                lo += w * c_lo
                hi += w * c_hi
            cache[bank] = (lo, hi)
        lo_terms.append(prob * cache[bank][0])
        hi_terms.append(prob * cache[bank][1])
    return math.fsum(lo_terms), math.fsum(hi_terms)


__all__ += [
    "naive_haplotype_bank_coverage",
    "naive_homozygous_probability",
    "naive_registry_probability",
    "naive_expected_distinct",
    "naive_registry_coverage",
]
