"""The NumPy twins of the zero-mismatch kernels (small problems) equal the kernels."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import both_paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hlamatch
from hlamatch.compute.encode import collapse, line_bitsets, merged_bitsets, pattern_runs
from hlamatch.engine.run import run_pairs
from hlamatch.kernels import pairs_numpy as small
from hlamatch.kernels.pairs import pair_mass_folds, unlisted_partner_mass


@both_paths
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    n_loci=st.integers(1, 4),
    n_lines=st.integers(1, 130),
    het=st.booleans(),
)
def test_numpy_twins_equal_kernels(seed, n, n_loci, n_lines, het):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, n_loci)).astype(np.int32)
    lc = rng.integers(0, 5, size=(n_lines, 2, n_loci)).astype(np.int32)
    if not het:
        lc[:, 1] = lc[:, 0]
    freqs = rng.random(n) / n
    b1, b2, hom = line_bitsets(codes, lc, [4] * n_loci)
    is_het = not np.array_equal(b1, b2)
    n_words = b1.shape[2]
    f1, f2, f = collapse(b1, b2, freqs)
    m = f.shape[0]
    one_class = (np.zeros(m, dtype=np.int32), np.array([0, 1], dtype=np.int64), np.array([[0, m]], dtype=np.int64))
    every_pair = run_pairs(pair_mass_folds, (f1, f2, is_het, n_words, n_loci, f, *one_class), m, 1.0)
    p1, p2, pf, _, _, patterns = merged_bitsets(codes, freqs, lc, [4] * n_loci, by_pattern=True)
    assert np.all(np.diff(patterns) <= 0)
    skipping = run_pairs(
        pair_mass_folds, (p1, p2, is_het, n_words, n_loci, pf, *pattern_runs(patterns, n_loci)), pf.shape[0], 1.0
    )
    want = small.pair_mass(f1, f2, is_het, n_words, n_loci, f)
    assert want == pytest.approx(float(every_pair), abs=1e-15)
    assert want == pytest.approx(float(skipping), abs=1e-15)
    for wildcard in (False, True):
        assert small.unlisted_partner_mass(f1, f2, hom, n_words, n_loci, f, wildcard) == pytest.approx(
            unlisted_partner_mass(f1, f2, hom, n_words, n_loci, f, wildcard), abs=1e-15
        )


def test_small_problems_never_import_numba():
    import subprocess
    import sys

    code = (
        "import sys, hlamatch\n"
        "r = hlamatch.coverage('japanese', ['A*24:02~B*52:01~DRB1*15:02'])\n"
        "print(round(r[0].lower, 4), 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["0.1521", "False"]
    assert hlamatch.coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02"])[0].lower == pytest.approx(0.1521, abs=5e-5)


def test_one_line_on_a_large_table_never_imports_numba():
    """Merging the rows of a large table (the hash pass is numba) is kept to runs whose merged rows
    may be many: one line on 6,000 haplotypes merges to a few rows, NumPy only."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, polars as pl, hlamatch\n"
        "from hlamatch.io.frame import table_from_frame\n"
        "rng = np.random.default_rng(0)\n"
        "cols = {l: [f'{l}*{k:02d}:01' for k in rng.integers(1, 60, 9000)] for l in ('A', 'B', 'DRB1')}\n"
        "frame = pl.DataFrame(cols).unique(maintain_order=True)\n"
        "frame = frame.with_columns(P=pl.Series(np.full(frame.height, 0.9 / frame.height)))\n"
        "t = table_from_frame(frame, name='big')\n"
        "assert t.codes.shape[0] > 6000\n"
        "r = hlamatch.coverage(t, ['A*01:01~B*02:01~DRB1*03:01'], level='genotype')\n"
        "print(r[0].lower > 0, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "False"]
