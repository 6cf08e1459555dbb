"""The synthetic table generator ``benchmarks/synth.py``: size, validity, determinism, heavy tail,
linkage, and that hlamatch reads what it writes.  Small tables only (a few thousand rows)."""

from __future__ import annotations

import importlib.util
import inspect
import io
import math
import re
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import hlamatch

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "synth.py"
_spec = importlib.util.spec_from_file_location("synth", _PATH)
synth = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("synth", synth)
_spec.loader.exec_module(synth)

N = 2000
LOCI = ["A", "C", "B", "DRB1", "DQB1"]
ALL_LOCI = ["A", "C", "B", "DRB345", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1"]
NAME = re.compile(r"^(?P<gene>[A-Z]+[0-9]?)\*(?P<f1>[0-9]{2,3}):(?P<f2>[0-9]{2,3})$")


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return synth.synth_table(N, seed=0)


def _freqs(df: pl.DataFrame) -> np.ndarray:
    return df[df.columns[-1]].to_numpy()


def _marginals(df: pl.DataFrame) -> list[dict[str, float]]:
    f = df.columns[-1]
    return [dict(df.group_by(locus).agg(pl.col(f).sum()).iter_rows()) for locus in df.columns[:-1]]


def test_exact_row_count_and_layout(frame):
    assert frame.height == N
    assert frame.columns == [*LOCI, "SYN"]
    assert all(frame[c].dtype == pl.String for c in LOCI)
    assert frame["SYN"].dtype == pl.Float64
    assert frame.null_count().sum_horizontal().item() == 0
    for locus in LOCI:
        for name in frame[locus].unique().to_list():
            m = NAME.match(name)
            assert m and m["gene"] == locus, name


def test_rows_are_distinct(frame):
    assert frame.select(LOCI).n_unique() == N
    assert not frame.select(LOCI).is_duplicated().any()


@pytest.mark.parametrize("mass", [1.0, 0.8, 0.05])
def test_frequencies_positive_and_sum_to_listed_mass(mass, frame):
    df = frame if mass == 1.0 else synth.synth_table(N, seed=0, listed_mass=mass)
    f = _freqs(df)
    assert (f > 0).all() and np.isfinite(f).all()
    total = math.fsum(f)
    assert abs(total - mass) <= 1e-12
    assert total <= mass
    assert (np.diff(f) <= 0).all()  # most frequent first


def test_deterministic_for_a_seed(frame):
    again = synth.synth_table(N, seed=0)
    assert again.equals(frame)
    a, b = io.BytesIO(), io.BytesIO()
    frame.write_csv(a)
    again.write_csv(b)
    assert a.getvalue() == b.getvalue()


def test_other_seed_differs(frame):
    other = synth.synth_table(N, seed=1)
    assert other.height == N
    assert not other.equals(frame)
    ours = set(frame.select(LOCI).iter_rows())
    theirs = set(other.select(LOCI).iter_rows())
    assert len(ours & theirs) < N // 2


def test_smaller_table_is_a_subset_of_a_larger_one(frame):
    larger = synth.synth_table(3 * N, seed=0)
    assert set(frame.select(LOCI).iter_rows()) <= set(larger.select(LOCI).iter_rows())


def test_heavy_tail(frame):
    f = _freqs(frame)
    top, median = f[0], float(np.median(f))
    assert 0.01 < top < 0.15  # a few percent, as in real tables
    assert top > 50 * median
    assert f[:10].sum() > 0.1  # a steep head
    assert f[N // 2 :].sum() > 0.01  # and a long tail that still carries mass


def test_linkage(frame):
    """Common haplotypes carry far more than the product of their allele marginals."""
    marginals = _marginals(frame)
    ratios = []
    for row in frame.head(20).iter_rows():
        expected = math.prod(m[a] for m, a in zip(marginals, row[:-1]))
        ratios.append(row[-1] / expected)
    assert max(ratios) > 1000
    assert float(np.median(ratios)) > 10


def test_allele_marginals_realistic(frame):
    """A few common alleles per locus (the top one 5-50 %), many rare ones."""
    for locus, m in zip(LOCI, _marginals(frame)):
        p = np.sort(np.fromiter(m.values(), dtype=float))[::-1]
        assert 0.05 < p[0] < 0.5, locus
        assert len(p) >= 20, locus
        assert p[len(p) // 2] < 0.01, locus


def test_hlamatch_reads_it(frame):
    table = hlamatch.table_from_frame(frame, name="synth")  # warnings are errors in this suite
    assert table.n_haplotypes == N
    assert table.populations == ("SYN",)
    assert table.resolution == "2-field"
    assert list(table.loci) == LOCI
    report = hlamatch.coverage(table, hlamatch.top_lines(table, 5))
    assert len(report) >= 1
    assert all(0 < r.coverage <= 1 for r in report)


def test_all_loci_and_other_population():
    df = synth.synth_table(N, seed=2, loci=ALL_LOCI, population="MYPOP", listed_mass=0.9)
    assert df.columns == [*ALL_LOCI, "MYPOP"] and df.height == N
    genes = {NAME.match(a)["gene"] for a in df["DRB345"].unique().to_list()}
    assert genes <= {"DRB3", "DRB4", "DRB5"}
    table = hlamatch.table_from_frame(df, name="synth9")
    assert table.n_haplotypes == N and table.populations == ("MYPOP",)
    assert abs(math.fsum(table.freqs[:, 0]) - 0.9) <= 1e-12


def test_small_vocabulary_can_be_exhausted():
    df = synth.synth_table(9, seed=0, loci=["A", "B"], vocabulary={"A": 3, "B": 3})
    assert df.height == 9 and df.select(["A", "B"]).n_unique() == 9
    with pytest.raises(ValueError, match="cannot be made"):
        synth.synth_table(10, seed=0, loci=["A", "B"], vocabulary={"A": 3, "B": 3})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_haplotypes": 0},
        {"n_haplotypes": 10.0},
        {"seed": -1},
        {"loci": ["A", "DR"]},
        {"loci": ["A", "A"]},
        {"listed_mass": 1.5},
        {"listed_mass": 0.0},
        {"population": "B"},
        {"population": "freq"},
        {"founders": 0},
        {"mutation": 1.5},
        {"vocabulary": {"A": 0}},
    ],
)
def test_invalid_arguments(kwargs):
    args = {"n_haplotypes": 10, **kwargs}
    n = args.pop("n_haplotypes")
    with pytest.raises(ValueError):
        synth.synth_table(n, **args)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_cli_writes_a_table_hlamatch_loads(suffix, tmp_path, capsys, frame):
    out = tmp_path / f"synth_small{suffix}"
    assert synth.main(["--haplotypes", str(N), "--seed", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{N:,} rows" in printed and "A~C~B~DRB1~DQB1" in printed and "frequency sum" in printed
    table = hlamatch.load_table(out)
    assert table.n_haplotypes == N and table.populations == ("SYN",)
    assert sorted(table.freqs[:, 0].tolist()) == sorted(_freqs(frame).tolist())


def test_cli_refuses_an_unknown_extension(tmp_path):
    with pytest.raises(SystemExit):
        synth.main(["--haplotypes", "10", "--out", str(tmp_path / "t.xlsx")])


def test_deterministic_arithmetic_is_accurate():
    x = np.array([1e-300, 1e-9, 0.3, 1.0, 2.0, 7.5, 1e7, 1e300])
    assert np.allclose(synth._log(x), [math.log(v) for v in x], rtol=1e-15, atol=1e-15)
    y = np.array([-700.0, -20.0, -1.0, 0.0, 0.5, 1.0, 30.0, 700.0])
    assert np.allclose(synth._exp(y), [math.exp(v) for v in y], rtol=2e-15, atol=0)
    assert synth._exp(np.array([0.0]))[0] == 1.0 and synth._log(np.array([1.0]))[0] == 0.0


def test_packed_sorts_match_their_fallbacks():
    rng = np.random.default_rng(5)
    chunks = [rng.integers(0, 5000, 1000) for _ in range(5)]
    packed = synth._aggregate(chunks, 13)
    fallback = synth._aggregate(chunks, 62)  # too wide to pack: argsort path
    assert all((a == b).all() for a, b in zip(packed, fallback))
    assert packed[2].sum() == 5000 and (np.diff(packed[0]) > 0).all()
    a, b = rng.integers(0, 7, 3000), rng.integers(0, 3, 3000)
    assert (synth._lexorder([a, b]) == np.lexsort([b, a])).all()


def test_scramble_is_a_bijection():
    for bits in (2, 5, 11):
        s = synth._Scramble(bits)
        x = np.arange(1 << bits, dtype=np.int64)
        y = s.forward(x)
        assert sorted(y.tolist()) == x.tolist()
        assert (s.backward(y) == x).all()


def test_public_defaults_match_the_generator():
    public = inspect.signature(synth.synth_table).parameters
    private = inspect.signature(synth._generate).parameters
    assert {k: p.default for k, p in public.items()} == {k: p.default for k, p in private.items()}
