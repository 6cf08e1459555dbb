"""Zero-mismatch coverage: the line sweep or the bitset pair loop, exact or bounded, kernel or twin."""

from __future__ import annotations

import numpy as np

from hlamatch.compute import dispatch
from hlamatch.compute.encode import word_count
from hlamatch.compute.problem import PopulationArrays
from hlamatch.engine.ranges import line_ranges, row_ranges, stair_stops
from hlamatch.engine.run import exact_sum, run_pairs, run_ranges
from hlamatch.engine.setting import Progress
from hlamatch.hla.rules import MatchRules
from hlamatch.kernels import pairs_numpy


def uses_bitsets(rules: MatchRules, level: str, line_nulls: np.ndarray, distribution: bool = False) -> bool:
    """Whether the zero-mismatch bitset kernels answer this rule and level exactly.

    They do for the default rule (zero HvG mismatches), except at haplotype level with null line
    alleles (the phase-aware count needs the general kernel there).
    """
    return rules.is_default and not distribution and not (level == "haplotype" and bool(line_nulls.any()))


def level_arrays(pa: PopulationArrays, line_codes: np.ndarray, sizes: list[int], level: str):
    """(codes, line codes, vocabulary sizes) for the bitset kernels at ``level``.

    Haplotype level is zero-mismatch matching at one pseudo-locus whose allele is the whole
    haplotype (:func:`hlamatch.compute.encode.identity_codes`).
    """
    from hlamatch.compute.encode import identity_codes

    if level == "haplotype":
        return identity_codes(pa.codes, line_codes)
    return pa.codes, line_codes, sizes


#: A bank of more than 64 lines is swept line by line (:func:`exact_listed_mass`) only when the
#: sweep's work is below the pair loop's pairs × words divided by this (a sweep's pair costs more:
#: its rows are gathered).
SWEEP_MARGIN = 2.0


def exact_listed_mass(
    b1: np.ndarray,
    b2: np.ndarray,
    het: bool,
    n_words: int,
    n_loci: int,
    f: np.ndarray,
    patterns: np.ndarray | None,
    n_lines: int,
    progress: Progress | None = None,
    label: str = "",
    work: np.ndarray | None = None,
) -> float:
    """Exact listed covered mass under the zero-mismatch HvG rule, by the faster of two kernels.

    * The line sweep (:func:`hlamatch.kernels.line_sweep`): per line, only the pairs it covers,
      each counted by its first covering line.  Its work is the pairs each line covers, which is
      a small share of all pairs for any real bank; always used for up to 64 lines (one word)
      at up to 12 loci (6 with heterozygous lines: :func:`sweep_fits`).
    * The pair loop (:func:`hlamatch.kernels.pair_mass_folds`): every pair whose patterns can
      be covered (:func:`hlamatch.compute.encode.pattern_runs`), all lines at once in machine words; used
      for larger banks when the sweep's measured work (:func:`hlamatch.kernels.line_sweep_work`)
      is over :data:`SWEEP_MARGIN` times smaller than it.

    Both give the same sum (each in fixed point, see :data:`hlamatch.kernels.common.FIXED_UNIT`) up to
    float rounding.  ``patterns`` (rows sorted by decreasing pattern) lets the pair loop skip
    runs; None visits every pair.  ``work``: the sweep's work when the caller has measured it
    (then the sweep runs, split by it).
    """
    from hlamatch.compute.encode import pattern_runs
    from hlamatch.kernels.pairs import pair_mass_folds
    from hlamatch.kernels.sweep import line_sweep

    m = f.shape[0]
    if work is None and n_words > 1:
        work = cheaper_sweep(b1, b2, het, n_words, n_loci, n_lines, m, m * (m + 1) / 2)
    elif work is None and sweep_fits(het, n_loci):
        work = np.full(n_lines, 4 * m * n_loci, dtype=np.int64)  # only to split the lines into ranges
    if work is None:
        classes = pattern_runs(patterns, n_loci, m)
        return float(
            run_pairs(pair_mass_folds, (b1, b2, het, n_words, n_loci, f, *classes), m, n_words / 8, progress, label)
        )
    return float(
        exact_sum(run_ranges(line_sweep, (b1, b2, het, n_words, n_loci, f), line_ranges(work), progress, label))
    )


def cheaper_sweep(
    b1: np.ndarray, b2: np.ndarray, het: bool, n_words: int, n_loci: int, n_lines: int, m: int, rival_pairs: float
) -> np.ndarray | None:
    """The line sweep's work per line (:func:`hlamatch.kernels.line_sweep_work`) when the sweep
    takes the bank and is cheaper than a pair run visiting ``rival_pairs`` pairs of ``n_words``
    words (by :data:`SWEEP_MARGIN`); else None.  The work is measured only when its floor (each
    line reads every row at every locus) leaves the sweep a chance."""
    from hlamatch.kernels.sweep import line_sweep_work

    rival = rival_pairs * n_words
    if not sweep_fits(het, n_loci) or SWEEP_MARGIN * n_lines * m * n_loci >= rival:
        return None
    work = line_sweep_work(b1, b2, het, n_words, n_loci, n_lines)
    return work if SWEEP_MARGIN * float(work.sum()) < rival else None


def sweep_fits(het: bool, n_loci: int) -> bool:
    """Whether the line sweep takes the bank: its masks (a bit per locus, two for heterozygous
    banks) are at most :data:`hlamatch.kernels.grouping.SWEEP_MASK_BITS` wide."""
    from hlamatch.kernels.grouping import SWEEP_MASK_BITS

    return (2 if het else 1) * n_loci <= SWEEP_MASK_BITS


def zero_mismatch_bounds(
    codes: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    n_alleles: list[int],
    unlisted: float,
    line_nulls: np.ndarray | None = None,
    progress: Progress | None = None,
    label: str = "",
    tolerance: float = 0.0,
    bitsets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Lower and upper covered mass under the zero-mismatch HvG rule.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 array of shape (n, n_loci).
    freqs : numpy.ndarray
        float64 array of shape (n,).
    line_codes : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci).
    n_alleles : list of int
        Vocabulary size per locus.
    unlisted : float
        Unlisted mass U.
    line_nulls : numpy.ndarray, optional
        bool (n_lines, 2, n_loci): null line alleles, never mismatches.
    progress, label : optional
        Progress callback and the label it is given.
    tolerance : float
        0: exact.  ε > 0: visit patient genotypes most frequent first and stop once the pairs
        not yet visited weigh at most ε; they count in ``upper`` only, so ``upper − lower`` grows
        by at most ε.  When the exact line sweep's measured work is below the bounded run's
        (by :data:`SWEEP_MARGIN`), the exact value is computed instead (the width grows by 0).
    bitsets : (b1, b2, hom), optional
        Precomputed line bitsets (default: :func:`hlamatch.compute.encode.line_bitsets` of the codes).

    Returns
    -------
    (float, float)
        ``lower = listed + 2U·novel`` and ``upper = listed + 2U·wildcard + U²``, clipped to [0, 1].
    """
    from hlamatch.compute.encode import collapse, merged_bitsets
    from hlamatch.engine.setting import current_engine

    if line_codes.shape[0] == 0:
        return 0.0, 0.0
    if bitsets is None:
        # exact runs: rows by pattern, so that the pair loop (when it is the one that runs) skips
        # the pairs no line can cover in runs
        b1, b2, f, hom, het, patterns = merged_bitsets(
            codes, freqs, line_codes, n_alleles, line_nulls, by_frequency=tolerance > 0, by_pattern=tolerance == 0
        )
        n_loci, n_words = codes.shape[1], word_count(line_codes.shape[0])
    else:
        b1, b2, hom = bitsets
        n_loci, n_words = b1.shape[1], b1.shape[2]
        het = not np.array_equal(b1, b2)
        b1, b2, f = collapse(b1, b2, freqs, by_frequency=tolerance > 0)
        patterns = None  # one class: every pair
    n = f.shape[0]
    if tolerance == 0 and n * (n + 1) // 2 <= dispatch.small_pairs() and current_engine().name == "local":
        # Few pairs after merging: NumPy computes them faster than numba loads its kernels.
        unlisted_partner_mass = pairs_numpy.unlisted_partner_mass
        listed = pairs_numpy.pair_mass(b1, b2, het, n_words, n_loci, f)
        lower, upper = listed, listed
    elif tolerance > 0:
        from hlamatch.kernels.pairs import pair_mass_rows, unlisted_partner_mass

        # patient genotypes most probable first: exactly those of probability ≥ a threshold
        stops, left_out = stair_stops(f, tolerance)
        rows = np.arange(f.shape[0])
        n_visit = int(np.count_nonzero(stops > rows))
        visited = float(np.maximum(stops - rows, 0).sum())
        work = cheaper_sweep(b1, b2, het, n_words, n_loci, line_codes.shape[0], n, visited)
        if work is not None:
            # the exact line sweep does less work than the bounded run: exact, upper − lower = 0 ≤ ε
            listed = exact_listed_mass(
                b1, b2, het, n_words, n_loci, f, None, line_codes.shape[0], progress, label, work=work
            )
            lower, upper = listed, listed
        else:
            parts = (
                run_ranges(
                    pair_mass_rows,
                    (b1, b2, het, n_words, n_loci, f, stops),
                    row_ranges(n_visit, n_words / 8),
                    progress,
                    label,
                )
                if n_visit
                else np.zeros(0)
            )
            listed = float(exact_sum(parts)) if parts.shape[0] else 0.0
            lower, upper = listed, listed + left_out
    else:
        from hlamatch.kernels.pairs import unlisted_partner_mass

        listed = exact_listed_mass(b1, b2, het, n_words, n_loci, f, patterns, line_codes.shape[0], progress, label)
        lower, upper = listed, listed
    if unlisted > 0:
        lower += 2.0 * unlisted * unlisted_partner_mass(b1, b2, hom, n_words, n_loci, f, False)
        if line_nulls is not None and line_nulls.all(axis=(1, 2)).any():
            # A line with no expressed allele at these loci matches every patient, even two
            # unlisted chromosomes.
            lower += unlisted * unlisted
        upper += 2.0 * unlisted * unlisted_partner_mass(b1, b2, hom, n_words, n_loci, f, True)
        upper += unlisted * unlisted
    return min(1.0, max(0.0, lower)), min(1.0, max(0.0, upper))
