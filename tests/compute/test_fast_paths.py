"""Fast paths equal the general kernel they replace (exactly the same figures)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hlamatchit

import hlamatch
from hlamatch.compute.bounds import bank_bounds
from hlamatch.compute.problem import PopulationArrays, prepare
from hlamatch.compute.rule_bounds import mismatch_histograms


@pytest.mark.real_data
def test_haplotype_level_lines_with_nulls_equal_general_kernel():
    """Homozygous lines carrying DRBX*NNNN at haplotype level (default rule): masked-identity bitsets."""
    path = hlamatchit("JAPI")
    if not path.exists():
        pytest.skip(f"NMDP JAPI table not found at {path}")
    table = hlamatch.load_table(path, loci=["A", "C", "B", "DRB345", "DRB1"])
    p = prepare(table, hlamatch.top_lines(table, 20))
    assert p.line_nulls.any()  # some lines carry DRBX*NNNN
    pa = p.populations[0]
    sub = PopulationArrays(
        pa.population, pa.codes[:800].copy(), pa.freqs[:800].copy(), 1 - float(pa.freqs[:800].sum()), pa.alleles
    )
    lower, upper, _, _ = bank_bounds(p, sub, "haplotype")
    lo, hi = mismatch_histograms(
        sub.codes, sub.nulls, sub.freqs, p.line_codes, p.line_nulls, p.sizes, p.rules, p.limits, True, sub.unlisted
    )
    assert lower == pytest.approx(lo[0], abs=1e-14) and upper == pytest.approx(hi[0], abs=1e-14)


def test_haplotype_gvh_of_homozygous_lines_equals_general_kernel():
    """Haplotype-level GvH with homozygous lines runs in the genotype kernel: same listed histogram."""
    from hlamatch.engine.run import run_pairs
    from hlamatch.kernels.rules import mismatch_hist_folds

    table = hlamatch.bundled_table("japanese").select(["A", "B", "DRB1"])
    for hom in (1, 2):
        rules = hlamatch.MatchRules(direction="GvH", max_mismatches=1, homozygous_count=hom)
        p = prepare(table, hlamatch.top_lines(table, 8), rules=rules)
        pa = p.populations[0]
        fast, _ = mismatch_histograms(
            pa.codes, pa.nulls, pa.freqs, p.line_codes, p.line_nulls, p.sizes, rules, p.limits, True, 0.0
        )
        n_bins = 2 * pa.codes.shape[1] + 2
        general = run_pairs(
            mismatch_hist_folds,
            (pa.codes, pa.nulls, pa.freqs, p.line_codes, p.line_nulls, hom == 2, 1, True, p.limits, n_bins),
            pa.freqs.shape[0],
        )
        assert np.allclose(fast, general, atol=1e-14)
