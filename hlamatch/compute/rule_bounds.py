"""Coverage under mismatch rules: best-line mismatch histograms (general, bit-sliced homozygous,
merged-class and bounded runs).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from hlamatch.compute import dispatch
from hlamatch.compute.encode import word_count
from hlamatch.engine.ranges import row_ranges, stair_stops
from hlamatch.engine.run import exact_sum, run_pairs, run_ranges
from hlamatch.engine.setting import Progress
from hlamatch.hla.rules import MatchRules
from hlamatch.kernels import rules_numpy


def mismatch_histograms(
    codes: np.ndarray,
    nulls: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    line_nulls: np.ndarray,
    n_alleles: list[int],
    rules: MatchRules,
    limits: np.ndarray,
    haplo: bool,
    unlisted: float,
    progress: Progress | None = None,
    label: str = "",
    tolerance: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mass of patient genotypes by the best line's mismatch count, lower and upper scenario.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 (n, n_loci) patient haplotype codes; ``nulls`` bool (n, n_loci) null flags.
    freqs : numpy.ndarray
        float64 (n,).
    line_codes, line_nulls : numpy.ndarray
        int32 / bool (n_lines, 2, n_loci).
    n_alleles : list of int
    rules : MatchRules
    limits : numpy.ndarray
        int64 (n_loci,) per-locus limits.
    haplo : bool
        Haplotype level (phase-aware) instead of genotype level.
    unlisted : float
    tolerance : float
        Genotype level: ε > 0 visits patient genotypes most frequent first and stops once the
        pairs not visited weigh at most ε (unmatched in the first histogram, matched in the second).
        Haplotype level is always exact.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        float64 arrays of shape (2·n_loci + 2,): index m = best line has m mismatches, last =
        no line within the per-locus limits.  The first treats unlisted chromosomes as novel
        (lower bound for coverage), the second as wildcards (upper bound).
    """
    from hlamatch.compute.encode import other_classes, recode_for_lines, rule_bitsets
    from hlamatch.engine.setting import current_engine

    if (
        haplo
        and rules.direction == "GvH"
        and np.array_equal(line_codes[:, 0], line_codes[:, 1])
        and np.array_equal(line_nulls[:, 0], line_nulls[:, 1])
    ):
        # A homozygous line's two haplotypes are the same, so which patient copy is compared with
        # which does not change the GvH count: phase-aware equals unphased (checked exhaustively
        # against the naive counts, nulls and limits included), and the fast kernel applies.
        haplo = False
    n_bins = 2 * codes.shape[1] + 2
    d = rules.direction_code
    # GvH / bidirectional, a missing homozygous allele counting once: exact on merged classes when
    # no line has two different expressed alleles at a locus where both patient alleles are
    # "other" (always for GvH; for bidirectional, lines with ≤ 1 expressed allele per locus), see
    # kernels.other_merge_folds.
    merged = (
        d != 0
        and rules.homozygous_count == 1
        and tolerance == 0
        and (d == 1 or not (~line_nulls[:, 0] & ~line_nulls[:, 1] & (line_codes[:, 0] != line_codes[:, 1])).any())
    )
    if merged:
        classes = other_classes(codes, nulls, freqs, line_codes, n_alleles)
        allow = int(sum(1 << l for l in range(codes.shape[1]) if limits[l] >= 2))
        m = classes.freqs.shape[0]
        if (
            m * (m + 1) // 2 * line_codes.shape[0] * (16 if haplo and d == 2 else 4 if haplo else 1)
            <= dispatch.small_rule_work()
            and current_engine().name == "local"
        ):
            return rules_numpy.other_merge_histograms(
                classes.codes,
                classes.nulls,
                classes.freqs,
                classes.oth,
                classes.row_ptr,
                classes.row_grp,
                classes.row_mass,
                line_codes,
                line_nulls,
                d,
                haplo,
                limits,
                allow,
                n_bins,
                unlisted,
            )
        codes, nulls, freqs = classes.codes, classes.nulls, classes.freqs
    from hlamatch.kernels.geno_rule import geno_rule_folds
    from hlamatch.kernels.other_merge import other_merge_folds
    from hlamatch.kernels.rules import mismatch_hist_folds

    if rules.direction == "HvG" or rules.homozygous_count == 2:
        # Exact merge (see recode_for_lines): HvG never looks at the patient's other alleles, and
        # with homozygous_count=2 two different other alleles count the same as one twice.
        codes, nulls, freqs = recode_for_lines(codes, nulls, freqs, line_codes, n_alleles)
    hom2 = rules.homozygous_count == 2
    args = (line_codes, line_nulls, hom2, d, haplo, limits)
    unvisited = 0.0
    if merged:
        if haplo:
            bits = (
                np.zeros(1, np.uint64),
                np.zeros(1, np.uint64),
                np.zeros(1, np.uint64),
                np.zeros((5, 1, 1), np.uint64),
            )
        else:
            bits = rule_bitsets(codes, nulls, line_codes, line_nulls, d)
        work = line_codes.shape[0] * (16 if haplo else 1) + 2 ** codes.shape[1]
        listed = run_pairs(
            other_merge_folds,
            (
                codes,
                nulls,
                freqs,
                classes.oth,
                allow,
                *classes.masses,
                *bits,
                line_codes,
                line_nulls,
                d,
                haplo,
                np.ascontiguousarray(limits, dtype=np.int64),
                n_bins,
            ),
            freqs.shape[0],
            work,
            progress,
            label,
        )
        listed = np.maximum(listed, 0.0)  # inclusion–exclusion leaves ~1e-19 of rounding in empty bins
    elif haplo:
        listed = run_pairs(
            mismatch_hist_folds,
            (codes, nulls, freqs, *args, n_bins),
            freqs.shape[0],
            line_codes.shape[0] * 16,
            progress,
            label,
        )
    else:
        garr = geno_rule_arrays(codes, nulls, freqs, line_codes, line_nulls, rules, limits, n_bins)
        codes, nulls, freqs = garr.codes, garr.pnull, garr.freqs  # reordered (settled rows last)
        work = word_count(line_codes.shape[0]) * codes.shape[1] / 4
        if tolerance > 0:
            from hlamatch.kernels.geno_rule import geno_rule_rows

            listed, unvisited = _rule_until(geno_rule_rows, garr, n_bins, tolerance, work, progress, label)
        else:
            listed = run_pairs(geno_rule_folds, garr, freqs.shape[0], work, progress, label)
    return _with_unlisted(
        listed, unvisited, codes, nulls, freqs, line_codes, line_nulls, rules, limits, haplo, n_bins, unlisted
    )


def homozygous_hvg(rules: MatchRules, line_codes: np.ndarray, line_nulls: np.ndarray) -> bool:
    """Whether :func:`hom_rule_histograms` applies: HvG counts and every line homozygous at every locus."""
    return (
        rules.direction == "HvG"
        and np.array_equal(line_codes[:, 0], line_codes[:, 1])
        and np.array_equal(line_nulls[:, 0], line_nulls[:, 1])
    )


def word_masks(n_lines: int) -> np.ndarray:
    """uint64 (ceil(n_lines / 64),): the bits of the lines that exist, word by word."""
    n_words = word_count(n_lines)
    wmask = np.zeros(n_words, dtype=np.uint64)
    for w in range(n_words):
        k = min(64, n_lines - 64 * w)
        wmask[w] = np.uint64(0xFFFFFFFFFFFFFFFF) if k == 64 else np.uint64((1 << k) - 1)
    return wmask


class HomRuleArrays(NamedTuple):
    """Arguments of :func:`hlamatch.kernels.hom_rule.hom_rule_folds` and ``hom_rule_rows`` before their
    ranges, in their order (``kernel(*arrays, start, stop)``)."""

    b: np.ndarray
    n_words: int
    n_loci: int
    req: np.ndarray
    wmask: np.ndarray
    #: Rows ``n_open`` on are settled (best count 0 with anyone).
    n_open: int
    #: float64 (m + 1,): ``tails[i]`` = mass of rows i and after.
    tails: np.ndarray
    freqs: np.ndarray
    step: int
    n_bins: int


class GenoRuleArrays(NamedTuple):
    """Arguments of :func:`hlamatch.kernels.geno_rule.geno_rule_folds` and ``geno_rule_rows`` before
    their ranges, in their order (``kernel(*arrays, start, stop)``)."""

    a1: np.ndarray
    a2: np.ndarray
    carried: np.ndarray
    masks: np.ndarray
    #: The rows, reordered (open rows most frequent first, settled rows last).
    codes: np.ndarray
    pnull: np.ndarray
    n_open: int
    tails: np.ndarray
    freqs: np.ndarray
    hom2: bool
    direction: int
    limits: np.ndarray
    n_bins: int


def hom_rule_arrays(
    codes: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    line_nulls: np.ndarray,
    n_alleles: list[int],
    rules: MatchRules,
    limits: np.ndarray,
    n_bins: int,
) -> HomRuleArrays:
    """Arguments of :func:`hlamatch.kernels.hom_rule_folds` (before the fold range).

    Rows are the zero-mismatch bitsets merged by signature (exact: with homozygous lines an HvG
    count sees a patient allele only through which line alleles it equals), open rows most
    frequent first, then the *settled* rows, which carry every allele of some line alone.
    """
    from hlamatch.compute.encode import merged_bitsets

    merged = merged_bitsets(codes, freqs, line_codes, n_alleles, line_nulls, by_frequency=True)
    b, f = merged.b1, merged.freqs
    n_lines, n_loci = line_codes.shape[0], codes.shape[1]
    m = f.shape[0]
    n_words = word_count(n_lines)
    wmask = word_masks(n_lines)
    cube = b.reshape(n_words, n_loci, m)
    settled = ((np.bitwise_and.reduce(cube, axis=1) & wmask[:, None]) != 0).any(axis=0)
    order = np.lexsort((np.arange(m), settled))  # open rows first (kept most frequent first), settled last
    b = np.ascontiguousarray(cube[:, :, order]).reshape(-1)
    f = np.ascontiguousarray(f[order])
    tails = np.ascontiguousarray(np.append(np.cumsum(f[::-1])[::-1], 0.0))
    step, req = hom_step(rules, limits)
    return HomRuleArrays(b, n_words, n_loci, req, wmask, int(m - settled.sum()), tails, f, step, n_bins)


def hom_step(rules: MatchRules, limits: np.ndarray) -> tuple[int, np.ndarray]:
    """The bit-plane kernels' view of a rule with homozygous lines: the count a missing allele
    adds (2 with ``homozygous_count=2``), and the loci (bool, C-contiguous) that allow none."""
    step = 2 if rules.homozygous_count == 2 else 1
    return step, np.ascontiguousarray(np.asarray(limits) < step)


def hom_rule_histograms(
    codes: np.ndarray,
    nulls: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    line_nulls: np.ndarray,
    n_alleles: list[int],
    rules: MatchRules,
    limits: np.ndarray,
    unlisted: float,
    progress: Progress | None = None,
    label: str = "",
    tolerance: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mismatch_histograms` at genotype level for HvG counts and homozygous lines.

    Same arguments and result; the pair loop is :func:`hlamatch.kernels.hom_rule_folds`
    (bit planes over 64 lines, vectorised over columns) instead of the general rule kernel.
    """
    from hlamatch.compute.encode import recode_for_lines
    from hlamatch.kernels.hom_rule import hom_rule_folds, hom_rule_rows

    n_bins = 2 * codes.shape[1] + 2
    harr = hom_rule_arrays(codes, freqs, line_codes, line_nulls, n_alleles, rules, limits, n_bins)
    work = harr.n_words * harr.n_loci / 4
    unvisited = 0.0
    if tolerance > 0:
        listed, unvisited = _rule_until(hom_rule_rows, harr, n_bins, tolerance, work, progress, label)
    else:
        listed = run_pairs(hom_rule_folds, harr, harr.freqs.shape[0], work, progress, label)
    codes, nulls, freqs = recode_for_lines(codes, nulls, freqs, line_codes, n_alleles)
    return _with_unlisted(
        listed, unvisited, codes, nulls, freqs, line_codes, line_nulls, rules, limits, False, n_bins, unlisted
    )


def _with_unlisted(
    listed: np.ndarray,
    unvisited: float,
    codes: np.ndarray,
    nulls: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    line_nulls: np.ndarray,
    rules: MatchRules,
    limits: np.ndarray,
    haplo: bool,
    n_bins: int,
    unlisted: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) histograms: listed pairs, pairs not visited (tolerance) and unlisted-mass terms."""
    from hlamatch.kernels.common import NOVEL_A, NOVEL_B, WILDCARD
    from hlamatch.kernels.rules import mismatch_hist_partner, pair_best

    args = (line_codes, line_nulls, rules.homozygous_count == 2, rules.direction_code, haplo, limits)
    lo, hi = listed.copy(), listed.copy()
    lo[n_bins - 1] += unvisited  # pairs not visited (tolerance): unmatched in the lower scenario,
    hi[0] += unvisited  # matched with no mismatch in the upper one
    if unlisted > 0:
        for hist, solo, pair in ((lo, NOVEL_A, (NOVEL_A, NOVEL_B)), (hi, WILDCARD, (WILDCARD, WILDCARD))):
            hist += 2.0 * unlisted * mismatch_hist_partner(codes, nulls, freqs, *args, n_bins, solo)
            b = pair_best(codes, nulls, pair[0], pair[1], *args)
            hist[n_bins - 1 if b < 0 else b] += unlisted * unlisted
    return lo, hi


def _rule_until(
    kernel,
    arrays: HomRuleArrays | GenoRuleArrays,
    n_bins: int,
    tolerance: float,
    work: float,
    progress: Progress | None,
    label: str,
) -> tuple[np.ndarray, float]:
    """Tolerance-bounded histogram of a row kernel whose rows from ``arrays.n_open`` on are settled
    (best count 0 with anyone): (listed histogram, mass of the pairs not visited)."""
    n_open, tails, freqs = arrays.n_open, arrays.tails, arrays.freqs
    hist = np.zeros(n_bins)
    settled = freqs[n_open:]
    # settled rows (best count 0 with anyone): pairs among them, exactly
    hist[0] += math.fsum(settled * (2.0 * tails[n_open:-1] - settled))
    # open rows: the most probable patient genotypes first (engine.stair_stops)
    stops, left_out = stair_stops(freqs[:n_open], tolerance)
    n_visit = int(np.count_nonzero(stops > np.arange(n_open)))
    if n_visit:
        hist += exact_sum(run_ranges(kernel, (*arrays, stops), row_ranges(n_visit, work), progress, label))
    # open rows not visited at all: their pairs with settled rows are still exact (best count 0)
    hist[0] += 2.0 * math.fsum(freqs[n_visit:n_open]) * tails[n_open]
    return hist, left_out


def geno_rule_arrays(
    codes: np.ndarray,
    nulls: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    line_nulls: np.ndarray,
    rules: MatchRules,
    limits: np.ndarray,
    n_bins: int,
) -> GenoRuleArrays:
    """Arguments of :func:`hlamatch.kernels.geno_rule_folds` (before the fold range)."""
    from hlamatch.compute.encode import rule_bitsets

    d = rules.direction_code
    n, n_loci = codes.shape
    a1, a2, carried, masks = rule_bitsets(codes, nulls, line_codes, line_nulls, d)
    n_open = n
    if d != 0:  # no settled rows: most frequent first (for tolerance-bounded runs)
        order = np.argsort(-freqs, kind="stable")
        codes, nulls, freqs = codes[order], nulls[order], freqs[order]
        a1 = np.ascontiguousarray(a1.reshape(n, -1)[order]).reshape(-1) if a1.size > 1 else a1
        a2 = np.ascontiguousarray(a2.reshape(n, -1)[order]).reshape(-1) if a2.size > 1 else a2
        carried = np.ascontiguousarray(carried.reshape(n, -1)[order]).reshape(-1) if carried.size > 1 else carried
    if d == 0:
        # HvG: a haplotype carrying all of some homozygous line's alleles settles every pair it is
        # in (best count 0); such rows go last, where the kernel sums them without a pair loop.
        n_words = masks.shape[2]
        both = (a1 & a2).reshape(n, n_words, n_loci)
        settled = ((np.bitwise_and.reduce(both, axis=2) & masks[4, 0][None, :]) != 0).any(axis=1)
        order = np.lexsort((-freqs, settled))  # open rows most frequent first, settled rows last
        codes, nulls, freqs = codes[order], nulls[order], freqs[order]
        a1 = np.ascontiguousarray(a1.reshape(n, -1)[order]).reshape(-1)
        a2 = np.ascontiguousarray(a2.reshape(n, -1)[order]).reshape(-1)
        n_open = int(n - settled.sum())
    tails = np.ascontiguousarray(np.append(np.cumsum(freqs[::-1])[::-1], 0.0))
    return GenoRuleArrays(
        a1,
        a2,
        carried,
        np.ascontiguousarray(masks),
        np.ascontiguousarray(codes),
        np.ascontiguousarray(nulls),
        n_open,
        tails,
        np.ascontiguousarray(freqs),
        rules.homozygous_count == 2,
        d,
        np.ascontiguousarray(limits, dtype=np.int64),
        n_bins,
    )
