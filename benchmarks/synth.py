"""Synthetic haplotype frequency tables: seeded, realistic, from 10^4 to 10^7 haplotypes.

Usage (from the repository root)::

    python benchmarks/synth.py --haplotypes 1000000 --seed 0 --out synth_1e6.parquet
    python benchmarks/synth.py --haplotypes 1e4 --loci A,C,B,DRB1,DQB1,DPB1 --out synth.csv

or from Python::

    sys.path.insert(0, "benchmarks")
    from synth import synth_table
    frame = synth_table(100_000, seed=1)                    # a polars DataFrame
    table = hlamatch.table_from_frame(frame, name="synth")

The output is the wide layout hlamatch reads: one String column per locus holding two-field
allele names (``A*24:02``) and one Float64 frequency column named after the population
(``SYN``), most frequent haplotype first.  ``--out`` writes Parquet (``.parquet``, ``.pq``) or
CSV (``.csv``); ``hlamatch.load_table`` reads either.  Real tables cannot be redistributed and
list 10^3 to 10^5 haplotypes; these stand in for them in tests and benchmarks, at any size.

The model
---------
Three features of real HLA haplotype tables matter for coverage work: (1) at each locus a few
alleles are common and most are rare; (2) alleles of neighbouring loci are in strong linkage
disequilibrium: conserved ancestral haplotypes (A*01:01~C*07:01~B*08:01~DRB1*03:01~DQB1*02:01
in Europeans, A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01 in Japanese) carry several percent
each; (3) the haplotype frequency spectrum is heavy-tailed, a steep head and a very long tail.
The generator builds them in four steps.  Defaults in brackets.

1. **Alleles.**  Each locus has ``vocabulary[locus]`` two-field names [A 200, C 150, B 400,
   DRB1 150, DQB1 40, DRB345 40, DQA1 40, DPA1 30, DPB1 150: about the two-field alleles a
   registry of millions of donors sees].  First fields are the locus's real allele groups (A*01,
   A*02, A*03, A*11 ...; DRB345 mixes DRB3, DRB4 and DRB5), each group gets alleles in
   proportion to a random Zipf weight, and second fields count 01, 02, ... within a group: the
   names are distinct and look valid.  The marginal of the allele of popularity rank ``t`` is
   Zipf-Mandelbrot, ``(t + c)**-allele_exponent`` [exponent 2; ``c`` per locus from
   :data:`ALLELE_OFFSET`, e.g. A 4, B 9: B's head is flatter] times a log-uniform jitter
   [``allele_jitter`` 0.5, the standard deviation of the log]; popular ranks go mostly to low
   second fields (``*02:01`` rather than ``*02:37``).
2. **Founders.**  [``founders`` 1,000] ancestral haplotypes drawn allele by allele from the
   marginals; founder ``k`` has weight ``k**-founder_exponent`` [0.8].
3. **Candidates.**  A candidate copies a founder picked by weight, locus by locus along
   chromosome 6.  Between neighbouring loci it switches to a freshly drawn founder (a crossover)
   with probability proportional to their physical distance, [``recombination`` 0.3] crossovers
   per haplotype on average: A | 1.3 Mb | C | 0.08 Mb | B | 1.2 Mb | DRB1 | 0.08 Mb | DQB1, so
   C~B and DRB1~DQB1 stay in tight blocks while A~C and B~DRB1 break up more often, as
   observed.  Then each locus, with probability [``mutation`` 0.25], is redrawn from its
   marginal (mutation, gene conversion and drift in one knob).  Candidates come in chunks of
   2**18, each chunk from its own random stream, until ``n_haplotypes`` distinct ones have
   been seen.  The table keeps the first ``n_haplotypes`` distinct candidates in order of first
   appearance (at chunk granularity; within a chunk by a fixed pseudo-random permutation of the
   haplotypes), so a smaller table's haplotypes are a subset of a larger one's for the same
   seed and model.
4. **Frequencies.**  The kept haplotypes are ranked by how often they were drawn (ties: first
   appearance, then the same permutation), which puts intact common founders first.  Rank ``r``
   gets the Zipf-Mandelbrot weight ``(r + offset)**-exponent`` [``offset`` 3, ``exponent`` 1.1]
   times a log-uniform jitter [``jitter`` 0.3; the jittered weights are sorted, so the jitter
   shapes the spectrum but never the order], scaled to sum to [``listed_mass`` 1]; below 1 the
   rest is unlisted mass.

Why these numbers: the ten NMDP 2020 population tables (HLAMatchIt, reduced to
A~C~B~DRB1~DQB1) have a top haplotype of 1.2-7.9 % (median 4 %), top 10 and top 100
haplotypes holding 7-26 % and 22-52 %, rank-frequency slopes of 0.5-1.0 (ranks 1-10), 0.6-1.0
(10-100) and 0.7-1.2 (100-1000); top alleles A 14-36 %, C 15-29 %, B 9-16 %, DRB1 10-36 %,
DQB1 15-33 %; and for their 100 most frequent haplotypes a median ratio of frequency to the
product of the allele marginals of 40-6,000 (1 without linkage).  With the defaults, 10^4-row
tables (seeds 0-7) give a top haplotype of 3.3-7.3 %, top 10 and top 100 holding 20-26 % and
50-54 %, slopes 0.5-0.8, 0.9-1.1 and 1.1; top alleles A 14-34 %, C 14-36 %, B 10-23 %, DRB1
14-31 %, DQB1 13-36 %; median linkage ratio 4,000-12,000.  At 10^7 rows the smallest
frequency is about 2e-9.  Where they differ: a 10^4-row synthetic table already uses most of
the vocabulary (real ones of that size show about half as many alleles), and its linkage is on
the strong side (as in the Japanese table).

Determinism
-----------
The output depends only on the arguments, not on the machine, the thread count or the NumPy
version: random numbers are the raw 64-bit PCG64 words of ``SeedSequence([seed, part, chunk])``
(stable across NumPy releases) turned into uniforms by hand; categorical draws use alias tables;
all arithmetic is IEEE addition, multiplication, division and comparison (powers and
exponentials use the polynomial ``_log`` and ``_exp`` below, not ``np.power``, whose SIMD
versions differ in the last bit between CPUs); sums are ``math.fsum`` (exactly rounded); and
every order is total (sorts of packed integers, ties resolved explicitly).  The frequencies sum
to ``listed_mass`` up to rounding, never above it.

Cost
----
Vectorised NumPy over chunks of candidates; no Python loop per row.  Distinct haplotypes get
rarer as the table grows: the first 10^4 come within 1.2 * 10^4 candidates (one chunk is drawn
anyway), 10^6 rows take 2.9 candidates a row and 10^7 rows 6, and the candidates' keys are sorted as packed int64 (about 28 bytes per candidate at
the peak).  The CLI prints the time taken; on a 2-core machine 10^6 rows take about 2 s and
0.3 GB, 10^7 rows about 30 s (24 s generating, 3 s writing Parquet) and 1.6 GB.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

__all__ = ["synth_table", "describe", "main", "DEFAULT_LOCI", "DEFAULT_VOCABULARY", "ALLELE_OFFSET"]

DEFAULT_LOCI: tuple[str, ...] = ("A", "C", "B", "DRB1", "DQB1")

#: Two-field alleles per locus: roughly how many a registry of millions of donors observes.
DEFAULT_VOCABULARY: dict[str, int] = {
    "A": 200,
    "C": 150,
    "B": 400,
    "DRB345": 40,
    "DRB1": 150,
    "DQA1": 40,
    "DQB1": 40,
    "DPA1": 30,
    "DPB1": 150,
}

#: Offset ``c`` of each locus's Zipf-Mandelbrot allele marginal ``(t + c)**-allele_exponent``: a
#: larger offset flattens the head (B's five most common alleles are about equally common, A's
#: first allele stands out).
ALLELE_OFFSET: dict[str, float] = {
    "A": 4.0,
    "C": 6.0,
    "B": 9.0,
    "DRB345": 2.0,
    "DRB1": 6.0,
    "DQA1": 3.0,
    "DQB1": 4.0,
    "DPA1": 1.0,
    "DPB1": 3.0,
}


def _groups(prefix: str, fields: str) -> list[str]:
    return [f"{prefix}*{f}" for f in fields.split()]


#: Real first fields (allele groups) of each locus, as ``GENE*FF`` prefixes.
ALLELE_GROUPS: dict[str, list[str]] = {
    "A": _groups("A", "01 02 03 11 23 24 25 26 29 30 31 32 33 34 36 43 66 68 69 74 80"),
    "C": _groups("C", "01 02 03 04 05 06 07 08 12 14 15 16 17 18"),
    "B": _groups(
        "B",
        "07 08 13 14 15 18 27 35 37 38 39 40 41 42 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 67 73 78 81 82 83",
    ),
    "DRB345": _groups("DRB3", "01 02 03") + _groups("DRB4", "01") + _groups("DRB5", "01 02"),
    "DRB1": _groups("DRB1", "01 03 04 07 08 09 10 11 12 13 14 15 16"),
    "DQA1": _groups("DQA1", "01 02 03 04 05 06"),
    "DQB1": _groups("DQB1", "02 03 04 05 06"),
    "DPA1": _groups("DPA1", "01 02 03 04"),
    "DPB1": _groups("DPB1", " ".join(f"{i:02d}" for i in range(1, 121))),
}

#: Approximate start of each gene on chromosome 6 (GRCh38, Mb): crossover odds between adjacent loci.
POSITION_MB: dict[str, float] = {
    "A": 29.94,
    "C": 31.27,
    "B": 31.35,
    "DRB345": 32.45,
    "DRB1": 32.58,
    "DQA1": 32.64,
    "DQB1": 32.66,
    "DPA1": 33.07,
    "DPB1": 33.08,
}

#: Column names hlamatch gives a meaning of its own (a population may not be called so).
_RESERVED = frozenset(
    {
        "freq",
        "frequency",
        "hf",
        "haplotype_frequency",
        "count",
        "rank",
        "n",
        "haplo_count",
        "population",
        "pop",
        "haplo",
        "haplotype",
    }
)

CHUNK = 1 << 18  # candidates per random stream; part of the algorithm (changing it changes tables)
_FIRST_ROUND = 2.0  # candidates per row drawn in the first round
_MAX_CANDIDATES_PER_ROW = 60  # give up when the model cannot produce enough distinct haplotypes

# --------------------------------------------------------------------------- arithmetic
# Deterministic log and exp from IEEE +, -, *, / only (np.log/np.exp/np.power may use SIMD
# implementations that differ in the last bit between CPUs).  Accurate to a few ulp.

_LN2 = 0.6931471805599453
_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2: k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.90821492927058770002e-10
_SQRT_HALF = 0.7071067811865476
_LOG_TERMS = tuple(1.0 / (2 * k + 1) for k in range(12))  # atanh series
_EXP_TERMS = tuple(1.0 / math.factorial(j) for j in range(15))  # Taylor series


def _log(x: np.ndarray) -> np.ndarray:
    """Natural log of positive finite ``x`` (frexp, then 2 atanh((m-1)/(m+1)) on m in [0.707, 1.414))."""
    m, e = np.frexp(np.asarray(x, dtype=np.float64))
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    e = (e - low).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = np.full_like(z, _LOG_TERMS[-1])
    for c in _LOG_TERMS[-2::-1]:
        p = p * z + c
    return e * _LN2 + 2.0 * s * p


def _exp(y: np.ndarray) -> np.ndarray:
    """exp(y) for moderate ``y`` (|y| < 700): y = k ln2 + r, |r| <= ln2/2, Taylor series of exp(r)."""
    y = np.asarray(y, dtype=np.float64)
    k = np.rint(y / _LN2)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _EXP_TERMS[-1])
    for c in _EXP_TERMS[-2::-1]:
        p = p * r + c
    return np.ldexp(p, k.astype(np.int64))


def _pow(x: np.ndarray, a: float) -> np.ndarray:
    """x ** a for positive ``x``, deterministically."""
    return _exp(a * _log(x))


def _uniforms(bits: np.random.PCG64, size: int) -> np.ndarray:
    """``size`` uniforms in [0, 1) from the raw 64-bit stream: the top 53 bits times 2**-53."""
    raw = bits.random_raw(size)
    return (raw >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _bernoulli(bits: np.random.PCG64, size: int, p: float) -> np.ndarray:
    """``size`` draws that are True with probability ``p`` (a raw 64-bit word below p * 2**64)."""
    raw = bits.random_raw(size)
    if p >= 1.0:
        return np.ones(size, dtype=np.bool_)
    return raw < np.uint64(int(p * 18446744073709551616.0))


def _stream(seed: int, *part: int) -> np.random.PCG64:
    return np.random.PCG64(np.random.SeedSequence([seed, *part]))


def _jitter(u: np.ndarray, sd: float) -> np.ndarray:
    """Log-uniform factors whose log has standard deviation ``sd`` (mean 0)."""
    if sd == 0:
        return np.ones_like(u)
    return _exp(sd * math.sqrt(3.0) * (2.0 * u - 1.0))


class _Alias:
    """Walker's alias table (Vose's construction): a categorical draw costs one uniform and O(1)."""

    def __init__(self, weights: np.ndarray) -> None:
        k = int(weights.shape[0])
        scaled = (np.asarray(weights, dtype=np.float64) * (k / math.fsum(weights))).tolist()
        prob = [1.0] * k
        alias = list(range(k))
        small = [i for i, x in enumerate(scaled) if x < 1.0]
        large = [i for i, x in enumerate(scaled) if x >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            prob[s], alias[s] = scaled[s], g
            scaled[g] = (scaled[g] + scaled[s]) - 1.0
            (small if scaled[g] < 1.0 else large).append(g)
        self.size = k
        self.prob = np.asarray(prob)  # entries left over (rounding) keep probability 1
        self.alias = np.asarray(alias, dtype=np.int64)

    def draw(self, u: np.ndarray) -> np.ndarray:
        x = u * self.size
        i = np.minimum(x.astype(np.int64), self.size - 1)
        return np.where(x - i < self.prob[i], i, self.alias[i])


# --------------------------------------------------------------------------- the model


def _vocabulary(locus: str, size: int, bits: np.random.PCG64) -> tuple[list[str], np.ndarray]:
    """``size`` distinct names ``GENE*FF:SS`` for ``locus`` and their popularity order (rank 0 first)."""
    groups = ALLELE_GROUPS[locus]
    g = len(groups)
    # Group popularity: a random order leaning to the listed order (the low, long-known groups
    # such as A*01, A*02, A*03 hold most common alleles); group k of that order has weight 1/k.
    group_rank = np.empty(g, dtype=np.int64)
    group_rank[np.argsort(np.arange(g) / g + 0.5 * _uniforms(bits, g), kind="stable")] = np.arange(g)
    group_weight = 1.0 / (group_rank + 1.0)
    if size <= g:
        per_group = (group_rank < size).astype(np.int64)
    else:
        extra = _Alias(group_weight).draw(_uniforms(bits, size - g))
        per_group = 1 + np.bincount(extra, minlength=g)
    names: list[str] = []
    second: list[int] = []
    rank: list[int] = []
    for prefix, count, r in zip(groups, per_group.tolist(), group_rank.tolist()):
        names += [f"{prefix}:{j:02d}" for j in range(1, count + 1)]
        second += list(range(count))
        rank += [r] * count
    # Popular alleles are mostly the first ones of popular groups (A*02:01 rather than A*80:04 or A*02:37).
    key = (
        np.asarray(second, dtype=np.float64)
        + 4.0 * np.asarray(rank, dtype=np.float64) / g
        + 2.0 * _uniforms(bits, size)
    )
    return names, np.argsort(key, kind="stable")


def _marginal(order: np.ndarray, exponent: float, offset: float, jitter: float, bits: np.random.PCG64) -> np.ndarray:
    """Allele frequencies (summing to 1) for a vocabulary whose popularity order is ``order``."""
    size = order.shape[0]
    w = _pow(np.arange(1.0, size + 1.0) + offset, -exponent) * _jitter(_uniforms(bits, size), jitter)
    p = np.empty(size)
    p[order] = w
    return p / math.fsum(p)


class _Model:
    """Vocabularies, marginals and founders of one seed; draws chunks of candidate haplotypes."""

    def __init__(
        self,
        loci: list[str],
        vocabulary: Mapping[str, int],
        seed: int,
        founders: int,
        founder_exponent: float,
        allele_exponent: float,
        allele_offset: float | None,
        allele_jitter: float,
        mutation: float,
        recombination: float,
    ) -> None:
        setup = _stream(seed, 0)
        self.seed = seed
        self.loci = loci
        self.names: list[list[str]] = []
        self.marginals: list[np.ndarray] = []
        for locus in loci:
            names, order = _vocabulary(locus, vocabulary[locus], setup)
            offset = ALLELE_OFFSET[locus] if allele_offset is None else allele_offset
            self.names.append(names)
            self.marginals.append(_marginal(order, allele_exponent, offset, allele_jitter, setup))
        self.sizes = [len(v) for v in self.names]
        self.key_bits = max(2, (math.prod(self.sizes) - 1).bit_length())
        self.scramble = _Scramble(self.key_bits)
        self.allele_samplers = [_Alias(p) for p in self.marginals]
        self.founder_alleles = [  # one column per locus
            np.ascontiguousarray(a.draw(_uniforms(setup, founders)), dtype=np.int64) for a in self.allele_samplers
        ]
        self.founder_sampler = _Alias(_pow(np.arange(1.0, founders + 1.0), -founder_exponent))
        # Loci in chromosome order; each gap between neighbours has a crossover probability
        # proportional to its physical length, `recombination` crossovers per haplotype on average.
        self.by_position = sorted(range(len(loci)), key=lambda l: POSITION_MB[loci[l]])
        gaps = [
            max(POSITION_MB[loci[b]] - POSITION_MB[loci[a]], 0.005)
            for a, b in zip(self.by_position, self.by_position[1:])
        ]
        total = math.fsum(gaps)
        self.crossover = [min(1.0, recombination * g / total) for g in gaps]
        self.mutation = mutation

    def candidates(self, chunk: int) -> np.ndarray:
        """Scrambled keys (of mixed-radix allele codes) of the CHUNK candidates of chunk ``chunk``."""
        bits = _stream(self.seed, 1, chunk)
        m = CHUNK
        founder = self.founder_sampler.draw(_uniforms(bits, m))
        alleles: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(self.loci)
        for step, l in enumerate(self.by_position):
            if step:  # a crossover before this locus: the rest of the haplotype comes from another founder
                crossed = np.flatnonzero(_bernoulli(bits, m, self.crossover[step - 1]))
                if crossed.size:
                    founder[crossed] = self.founder_sampler.draw(_uniforms(bits, crossed.size))
            allele = self.founder_alleles[l][founder]
            mutated = np.flatnonzero(_bernoulli(bits, m, self.mutation))
            if mutated.size:
                allele[mutated] = self.allele_samplers[l].draw(_uniforms(bits, mutated.size))
            alleles[l] = allele
        key = np.zeros(m, dtype=np.int64)
        for allele, size in zip(alleles, self.sizes):
            key *= size
            key += allele
        return self.scramble.forward(key)


class _Scramble:
    """A fixed bijection of [0, 2**bits) (multiply-xorshift rounds, as in hash finalisers).

    Haplotypes are sorted and tie-broken by their scrambled key, so that no order depends on the
    allele codes (sorting raw mixed-radix keys would favour the first alleles of the first locus).
    """

    _MULTIPLIERS = (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)

    def __init__(self, bits: int) -> None:
        self.bits = max(2, bits)
        self.mask = np.uint64((1 << self.bits) - 1)
        self.shift = np.uint64((self.bits + 1) // 2)  # >= bits/2: each xorshift is its own inverse
        modulus = 1 << self.bits
        self.mul = [np.uint64(m % modulus) for m in self._MULTIPLIERS]
        self.inv = [np.uint64(pow(m % modulus, -1, modulus)) for m in self._MULTIPLIERS]

    def forward(self, key: np.ndarray) -> np.ndarray:
        x = key.astype(np.uint64)
        for m in self.mul:
            x ^= x >> self.shift
            x *= m
            x &= self.mask
        x ^= x >> self.shift
        return x.astype(np.int64)

    def backward(self, scrambled: np.ndarray) -> np.ndarray:
        x = scrambled.astype(np.uint64)
        for m in reversed(self.inv):
            x ^= x >> self.shift
            x *= m
            x &= self.mask
        x ^= x >> self.shift
        return x.astype(np.int64)


def _aggregate(chunks: list[np.ndarray], key_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys of the chunks (sorted), the chunk each one first appears in, and its count.

    Each key is packed with its chunk number into one int64 and the packed values are sorted by
    value (a SIMD sort, several times faster than an argsort); where they do not fit, an argsort
    and a minimum per run of equal keys give the same answer.
    """
    total = sum(c.shape[0] for c in chunks)
    chunk_bits = max(1, (len(chunks) - 1).bit_length())
    if key_bits + chunk_bits <= 63:
        packed = np.empty(total, dtype=np.int64)
        at = 0
        for j, c in enumerate(chunks):
            np.bitwise_or(c << chunk_bits, j, out=packed[at : at + c.shape[0]])
            at += c.shape[0]
        packed.sort()
        keys = packed >> chunk_bits
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        uniq = keys[starts]
        del keys
        first = packed[starts] & ((1 << chunk_bits) - 1)
    else:
        allkeys = np.concatenate(chunks)
        order = np.argsort(allkeys)
        keys = allkeys[order]
        del allkeys
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        uniq = keys[starts]
        del keys
        chunk_of = np.repeat(np.arange(len(chunks), dtype=np.int64), [c.shape[0] for c in chunks])
        first = np.minimum.reduceat(chunk_of[order], starts)
    counts = np.diff(np.append(starts, total))
    return uniq, first, counts


def _lexorder(columns: list[np.ndarray]) -> np.ndarray:
    """Indices that sort rows by non-negative integer ``columns`` (most significant first), ties by index.

    The columns and the row index are packed into one int64 and sorted by value where they fit;
    otherwise ``np.lexsort`` (stable) gives the same order.
    """
    n = columns[0].shape[0]
    bits = [max(1, int(c.max()).bit_length()) if n else 1 for c in columns]
    pos_bits = max(1, (n - 1).bit_length())
    if sum(bits) + pos_bits > 63:
        return np.lexsort(columns[::-1])
    packed = np.zeros(n, dtype=np.int64)
    for c, b in zip(columns, bits):
        packed <<= b
        packed |= c
    packed <<= pos_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    return packed & ((1 << pos_bits) - 1)


def _check(n_haplotypes, loci, vocabulary, seed, population, listed_mass, numbers) -> tuple[list[str], dict]:
    if isinstance(n_haplotypes, bool) or not isinstance(n_haplotypes, (int, np.integer)) or n_haplotypes < 1:
        raise ValueError(f"n_haplotypes must be a positive integer, got {n_haplotypes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(loci, str):
        loci = loci.split(",")
    loci = [str(x).strip().upper() for x in loci]
    if not loci:
        raise ValueError("give at least one locus")
    unknown = [x for x in loci if x not in ALLELE_GROUPS]
    if unknown:
        raise ValueError(f"unknown locus {unknown[0]!r}; choose from {', '.join(ALLELE_GROUPS)}")
    if len(set(loci)) != len(loci):
        raise ValueError(f"a locus appears twice in {loci}")
    vocab = dict(DEFAULT_VOCABULARY)
    for k, v in (vocabulary or {}).items():
        k = str(k).upper()
        if k not in ALLELE_GROUPS or isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"vocabulary needs a known locus and a positive size, got {k}: {v!r}")
        vocab[k] = int(v)
    if math.prod(vocab[x] for x in loci) >= 2**62:
        raise ValueError("the product of the vocabulary sizes must stay below 2**62 (haplotype keys are int64)")
    if (
        not isinstance(population, str)
        or not population.strip()
        or population.strip().upper() in ALLELE_GROUPS
        or population.strip().lower() in _RESERVED
        or population.strip().upper() in ("DR", "DQ", "DP")
    ):
        raise ValueError(
            f"population {population!r} must be a non-empty name that is not a locus or a reserved "
            "column name (freq, count, pop ...)"
        )
    if not (isinstance(listed_mass, (int, float)) and 0 < listed_mass <= 1):
        raise ValueError(f"listed_mass must lie in (0, 1], got {listed_mass!r}")
    for name, (value, low, high) in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
            raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return loci, vocab


def _generate(
    n_haplotypes: int,
    *,
    loci: Sequence[str] = DEFAULT_LOCI,
    seed: int = 0,
    population: str = "SYN",
    listed_mass: float = 1.0,
    vocabulary: Mapping[str, int] | None = None,
    founders: int = 1000,
    founder_exponent: float = 0.8,
    allele_exponent: float = 2.0,
    allele_offset: float | None = None,
    allele_jitter: float = 0.5,
    mutation: float = 0.25,
    recombination: float = 0.3,
    exponent: float = 1.1,
    offset: float = 3.0,
    jitter: float = 0.3,
) -> tuple[pl.DataFrame, dict]:
    loci, vocab = _check(
        n_haplotypes,
        loci,
        vocabulary,
        seed,
        population,
        listed_mass,
        {
            "founders": (founders, 1, 10**6),
            "founder_exponent": (founder_exponent, 0, 5),
            "allele_exponent": (allele_exponent, 0, 5),
            "allele_offset": (0 if allele_offset is None else allele_offset, 0, 1e6),
            "allele_jitter": (allele_jitter, 0, 3),
            "mutation": (mutation, 0, 1),
            "recombination": (recombination, 0, 1),
            "exponent": (exponent, 0, 5),
            "offset": (offset, 0, 1e6),
            "jitter": (jitter, 0, 3),
        },
    )
    if isinstance(founders, bool) or not isinstance(founders, (int, np.integer)):
        raise ValueError(f"founders must be an integer, got {founders!r}")
    n = int(n_haplotypes)
    seed = int(seed)
    possible = math.prod(vocab[x] for x in loci)
    if n > possible:
        raise ValueError(
            f"{n} distinct haplotypes cannot be made from {possible} allele combinations; raise the vocabulary sizes"
        )
    model = _Model(
        loci,
        vocab,
        seed,
        int(founders),
        founder_exponent,
        allele_exponent,
        allele_offset,
        allele_jitter,
        mutation,
        recombination,
    )

    # Draw chunks of candidates until n distinct ones are seen.  Each round plans its number of
    # chunks from the rate of new distinct keys in the previous round (deterministic in the data).
    chunks: list[np.ndarray] = []
    distinct = last_distinct = last_drawn = rounds = 0
    limit = math.ceil(_MAX_CANDIDATES_PER_ROW * n / CHUNK) + 8
    while True:
        if not chunks:
            want = math.ceil(_FIRST_ROUND * n / CHUNK)
        else:
            rate = max((distinct - last_distinct) / (len(chunks) * CHUNK - last_drawn), 1e-6)
            want = math.ceil(1.2 * (n - distinct) / rate / CHUNK)
        if len(chunks) >= limit:
            raise ValueError(
                f"the model found only {distinct} distinct haplotypes in {len(chunks) * CHUNK} candidates, "
                f"fewer than the {n} asked for: raise mutation, recombination, founders or the vocabulary sizes"
            )
        want = max(1, min(want, limit - len(chunks)))
        last_distinct, last_drawn = distinct, len(chunks) * CHUNK
        chunks += [model.candidates(len(chunks) + i) for i in range(want)]
        rounds += 1
        uniq, first, counts = _aggregate(chunks, model.key_bits)
        distinct = uniq.shape[0]
        if distinct >= n:
            break
        del uniq, first, counts
    drawn = len(chunks) * CHUNK
    del chunks

    # The first n distinct candidates in order of first appearance (at chunk granularity; within
    # the last chunk needed, smallest keys first), ranked by draw count, then first appearance, then key.
    if distinct > n:
        last = np.partition(first, n - 1)[n - 1]
        keep = first < last
        boundary = np.flatnonzero(first == last)  # in key order
        keep[boundary[: n - int(np.count_nonzero(keep))]] = True
        uniq, first, counts = uniq[keep], first[keep], counts[keep]
        del keep, boundary
    uniq = uniq[_lexorder([counts.max() - counts, first])]  # uniq is in key order: ties stay so
    del first, counts

    # Zipf-Mandelbrot frequencies by rank with a log-uniform jitter, sorted (the jitter shapes
    # the spectrum, never the order), scaled to listed_mass with exactly rounded sums.
    w = _pow(np.arange(1.0, n + 1.0) + float(offset), -float(exponent))
    w *= _jitter(_uniforms(_stream(seed, 2), n), float(jitter))
    freqs = np.sort(w)[::-1].copy()
    del w
    freqs *= float(listed_mass) / math.fsum(memoryview(freqs))
    for _ in range(64):  # never let rounding take the sum above listed_mass
        excess = math.fsum(memoryview(freqs)) - float(listed_mass)
        if excess <= 0:
            break
        freqs[0] = np.nextafter(freqs[0] - excess, 0.0)

    columns: dict[str, pl.Series] = {}
    codes = []
    rest = model.scramble.backward(uniq)
    for size in reversed(model.sizes):
        codes.append((rest % size).astype(np.int32))
        rest = rest // size
    codes.reverse()
    del rest, uniq
    for locus, names, c in zip(loci, model.names, codes):
        columns[locus] = pl.Series(locus, names, dtype=pl.String).gather(c)
    del codes
    columns[population.strip()] = pl.Series(population.strip(), freqs, dtype=pl.Float64)
    frame = pl.DataFrame(columns)
    info = {"candidates": drawn, "distinct_candidates": distinct, "rounds": rounds}
    return frame, info


def synth_table(
    n_haplotypes: int,
    *,
    loci: Sequence[str] = DEFAULT_LOCI,
    seed: int = 0,
    population: str = "SYN",
    listed_mass: float = 1.0,
    vocabulary: Mapping[str, int] | None = None,
    founders: int = 1000,
    founder_exponent: float = 0.8,
    allele_exponent: float = 2.0,
    allele_offset: float | None = None,
    allele_jitter: float = 0.5,
    mutation: float = 0.25,
    recombination: float = 0.3,
    exponent: float = 1.1,
    offset: float = 3.0,
    jitter: float = 0.3,
) -> pl.DataFrame:
    """A synthetic haplotype frequency table of exactly ``n_haplotypes`` distinct rows.

    Parameters
    ----------
    n_haplotypes : int
        Rows of the table (distinct haplotypes).
    loci : sequence of str
        Loci, in column order; any of A, C, B, DRB345, DRB1, DQA1, DQB1, DPA1, DPB1.
    seed : int
        Non-negative seed: the same arguments give the same table on every machine.
    population : str
        Name of the frequency column (the population hlamatch reports).
    listed_mass : float
        Sum of the frequencies, in (0, 1]; the rest is unlisted mass.
    vocabulary : mapping, optional
        Two-field alleles per locus, overriding :data:`DEFAULT_VOCABULARY`.
    founders, founder_exponent, allele_exponent, allele_offset, allele_jitter, mutation,
    recombination, exponent, offset, jitter
        The model's knobs; see the module docstring (``allele_offset=None``: the per-locus
        :data:`ALLELE_OFFSET`).

    Returns
    -------
    polars.DataFrame
        One String column per locus and one Float64 column named ``population``, most frequent
        haplotype first; frequencies positive, summing to ``listed_mass`` (never above).

    Raises
    ------
    ValueError
        An argument is out of range, or the model cannot produce that many distinct haplotypes.
    """
    frame, _ = _generate(
        n_haplotypes,
        loci=loci,
        seed=seed,
        population=population,
        listed_mass=listed_mass,
        vocabulary=vocabulary,
        founders=founders,
        founder_exponent=founder_exponent,
        allele_exponent=allele_exponent,
        allele_offset=allele_offset,
        allele_jitter=allele_jitter,
        mutation=mutation,
        recombination=recombination,
        exponent=exponent,
        offset=offset,
        jitter=jitter,
    )
    return frame


def describe(frame: pl.DataFrame) -> dict:
    """Summary figures of a table in this layout (locus columns, then one frequency column).

    ``top_alleles`` maps each locus to (most frequent allele, its marginal frequency, number of
    alleles); ``linkage`` and ``linkage_median`` are the largest and the median ratio of a
    haplotype's frequency to the product of its alleles' marginal frequencies over the 100 most
    frequent haplotypes (1 under linkage equilibrium).
    """
    freq_col = frame.columns[-1]
    loci = frame.columns[:-1]
    f = frame[freq_col].to_numpy()
    top_alleles = {}
    product = np.ones(min(100, frame.height))
    head = frame.head(100)
    for locus in loci:
        marg = frame.group_by(locus).agg(pl.col(freq_col).sum().alias("p")).sort(["p", locus], descending=[True, False])
        top_alleles[locus] = (marg[locus][0], float(marg["p"][0]), marg.height)
        product *= head.join(marg, on=locus, how="left", maintain_order="left")["p"].to_numpy()
    return {
        "rows": frame.height,
        "loci": list(loci),
        "population": freq_col,
        "sum": math.fsum(memoryview(np.ascontiguousarray(f))),
        "top": float(f.max()),
        "median": float(np.median(f)),
        "min": float(f.min()),
        "top_alleles": top_alleles,
        "linkage": float(np.max(head[freq_col].to_numpy() / product)),
        "linkage_median": float(np.median(head[freq_col].to_numpy() / product)),
    }


# --------------------------------------------------------------------------- CLI


def _count(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/synth.py",
        description="Write a seeded synthetic HLA haplotype frequency table (wide layout) for hlamatch.",
        epilog="The model and its parameters are described in the module docstring (pydoc benchmarks/synth.py).",
    )
    parser.add_argument(
        "--haplotypes", type=_count, required=True, help="rows (distinct haplotypes), e.g. 1000000 or 1e6"
    )
    parser.add_argument("--out", type=Path, required=True, help="output file: .parquet/.pq or .csv")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--loci", default=",".join(DEFAULT_LOCI), help="comma-separated loci (default A,C,B,DRB1,DQB1)")
    parser.add_argument("--population", default="SYN", help="frequency column / population name (default SYN)")
    parser.add_argument("--listed-mass", type=float, default=1.0, help="sum of the frequencies, in (0, 1] (default 1)")
    parser.add_argument("--founders", type=int, default=1000, help="ancestral haplotypes (default 1000)")
    parser.add_argument("--mutation", type=float, default=0.25, help="per-locus redraw probability (default 0.25)")
    parser.add_argument("--recombination", type=float, default=0.3, help="mean crossovers per haplotype (default 0.3)")
    parser.add_argument("--exponent", type=float, default=1.1, help="rank-frequency exponent (default 1.1)")
    parser.add_argument("--offset", type=float, default=3.0, help="rank offset of the Zipf-Mandelbrot law (default 3)")
    parser.add_argument("--jitter", type=float, default=0.3, help="log-sd of the frequency jitter (default 0.3)")
    parser.add_argument("--quiet", action="store_true", help="print only the line saying what was written")
    args = parser.parse_args(argv)
    suffix = args.out.name.lower()
    if not suffix.endswith((".parquet", ".pq", ".csv")):
        parser.error(f"--out must end in .parquet, .pq or .csv, got {args.out.name!r}")

    t0 = time.perf_counter()
    try:
        frame, info = _generate(
            args.haplotypes,
            loci=args.loci.split(","),
            seed=args.seed,
            population=args.population,
            listed_mass=args.listed_mass,
            founders=args.founders,
            mutation=args.mutation,
            recombination=args.recombination,
            exponent=args.exponent,
            offset=args.offset,
            jitter=args.jitter,
        )
    except ValueError as e:
        parser.error(str(e))
    t1 = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix.endswith(".csv"):
        frame.write_csv(args.out)
    else:
        frame.write_parquet(args.out)
    t2 = time.perf_counter()
    freq = frame[frame.columns[-1]].to_numpy()
    total = math.fsum(memoryview(np.ascontiguousarray(freq)))
    print(
        f"wrote {args.out}: {frame.height:,} rows, loci {'~'.join(frame.columns[:-1])}, population "
        f"{frame.columns[-1]}, frequency sum {total:.15f}, seed {args.seed}; "
        f"{t2 - t0:.2f} s ({t1 - t0:.2f} s generating {info['candidates']:,} candidates, {t2 - t1:.2f} s writing)"
    )
    if not args.quiet:
        d = describe(frame)
        alleles = ", ".join(f"{name} {p:.1%} (of {k})" for name, p, k in d["top_alleles"].values())
        print(
            f"frequencies: top {d['top']:.3g}, median {d['median']:.3g}, smallest {d['min']:.3g}; "
            f"top alleles: {alleles}; linkage (max f/prod of marginals, top 100): {d['linkage']:.3g}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
