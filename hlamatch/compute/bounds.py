"""Coverage bounds of any bank of a prepared problem (shared by coverage and supply)."""

from __future__ import annotations

import math

import numpy as np

from hlamatch.compute.problem import PopulationArrays, Problem
from hlamatch.compute.rule_bounds import hom_rule_histograms, homozygous_hvg, mismatch_histograms
from hlamatch.compute.zero_bounds import level_arrays, uses_bitsets, zero_mismatch_bounds
from hlamatch.engine.setting import Progress


def bank_bounds(
    problem: Problem,
    pa: PopulationArrays,
    level: str,
    line_codes: np.ndarray | None = None,
    line_nulls: np.ndarray | None = None,
    distribution: bool = False,
    progress: Progress | None = None,
    tolerance: float = 0.0,
) -> tuple[float, float, np.ndarray | None, np.ndarray | None]:
    """Lower and upper coverage of a bank in one population at one level, under the problem's rules.

    Parameters
    ----------
    problem : Problem
    pa : PopulationArrays
        One of ``problem.populations``.
    level : {"haplotype", "genotype"}
    line_codes, line_nulls : numpy.ndarray, optional
        int32 / bool arrays of shape (n_lines, 2, n_loci) in the problem's codes (default: the
        problem's lines and candidates); e.g. ``problem.bank(extra)``.
    distribution : bool
        Use the general kernel and return the mismatch histograms too.
    tolerance : float
        Genotype level: stop once the patient genotypes not yet visited weigh at most this
        (they widen ``upper`` only); 0 is exact.

    Returns
    -------
    (lower, upper, histogram_lower, histogram_upper)
        The histograms (float64, shape (2·n_loci + 2,)) are None when the bitset path was used.
    """
    rules = problem.rules
    lc = problem.line_codes if line_codes is None else line_codes
    ln = problem.line_nulls if line_nulls is None else line_nulls
    if lc.shape[0] == 0:
        return 0.0, 0.0, None, None
    label = f"{pa.population} {level}"
    if uses_bitsets(rules, level, ln, distribution):
        c, lcodes, n_al = level_arrays(pa, lc, problem.sizes, level)
        lower, upper = zero_mismatch_bounds(
            c,
            pa.freqs,
            lcodes,
            n_al,
            pa.unlisted,
            ln if level == "genotype" else None,
            progress=progress,
            label=label,
            tolerance=tolerance if level == "genotype" else 0.0,
        )
        return lower, upper, None, None
    if (
        level == "haplotype"
        and rules.is_default
        and not distribution
        and bool(ln.any())
        and np.array_equal(lc[:, 0], lc[:, 1])
        and np.array_equal(ln[:, 0], ln[:, 1])
    ):
        # Homozygous lines with null alleles (DRBX*NNNN) at haplotype level, default rule: the
        # bitset kernels on one pseudo-locus "equal at every expressed locus" (exact, and far
        # faster than the general kernel).
        from hlamatch.compute.encode import masked_identity_bitsets

        bits = masked_identity_bitsets(pa.codes, lc, ln)
        lower, upper = zero_mismatch_bounds(
            pa.codes, pa.freqs, lc, [0], pa.unlisted, ln, progress=progress, label=label, bitsets=bits
        )
        return lower, upper, None, None
    if level == "genotype" and homozygous_hvg(rules, lc, ln):
        lo, hi = hom_rule_histograms(
            pa.codes,
            pa.nulls,
            pa.freqs,
            lc,
            ln,
            problem.sizes,
            rules,
            problem.limits,
            pa.unlisted,
            progress=progress,
            label=label,
            tolerance=tolerance,
        )
    else:
        lo, hi = mismatch_histograms(
            pa.codes,
            pa.nulls,
            pa.freqs,
            lc,
            ln,
            problem.sizes,
            rules,
            problem.limits,
            level == "haplotype",
            pa.unlisted,
            progress=progress,
            label=label,
            tolerance=tolerance,
        )
    k = min(rules.max_mismatches, lo.shape[0] - 2)
    lower = min(1.0, max(0.0, math.fsum(lo[: k + 1])))
    upper = min(1.0, max(0.0, math.fsum(hi[: k + 1])))
    return lower, upper, lo, hi
