"""Hypothesis strategies shared by the property tests (a helper module, not a test module)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from hlamatch.constants import DIRECTIONS


@st.composite
def frequencies(draw, n: int) -> list[float]:
    """``n`` frequencies >= 0, at least one > 0, summing to exactly 1 or clearly below it.

    Dyadic values (integers / 2^k) are exact in binary, so "sums to 1" really means an unlisted
    mass of 0 (no rounding excess that would trigger the library's rescaling warning).
    """
    weights = draw(st.lists(st.integers(0, 16), min_size=n, max_size=n))
    if sum(weights) == 0:
        weights[0] = 1
    mode = draw(st.sampled_from(["full", "partial", "float"]))
    if mode == "float":
        xs = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
        if sum(xs) == 0:
            xs[0] = 1.0
        target = draw(st.floats(0.05, 0.99))
        return [x / sum(xs) * target for x in xs]
    total = sum(weights)
    # A power of two strictly above the total: unlisted mass >= 1/denominator.
    denominator = 2 ** (total.bit_length() + draw(st.integers(0, 2)))
    if mode == "full":
        weights[0] += denominator - total
    return [w / denominator for w in weights]


def bank(draw, haps, any_hap, max_lines: int, homozygous_only: bool):
    """Draw a bank of lines: haplotypes of the table or any haplotype, one line in three homozygous.

    ``haps`` may be empty (then every line haplotype comes from ``any_hap``).
    """
    line_hap = st.one_of(st.sampled_from(haps), any_hap) if haps else any_hap
    if homozygous_only:
        line = line_hap.map(lambda h: (h, h))
    else:
        line = st.tuples(line_hap, line_hap, st.integers(0, 2)).map(lambda x: (x[0], x[0]) if x[2] == 0 else x[:2])
    # Each line once (hap1/hap2 is hap2/hap1): a repeated line is left out with a warning
    # (hlamatch.hla.lines.unique_lines, tested in test_lines_input.py).
    return draw(st.lists(line, min_size=1, max_size=max_lines, unique_by=frozenset))


# ---- rule problems: small tables with null alleles, and random match rules

LOCI = ("A", "B", "DRB1")


def rule_allele(locus: str, k: int, null: bool = False) -> str:
    return f"{locus}*{k + 1:02d}:{'11N' if null else '01'}"


@st.composite
def rule_problems(draw, max_lines: int = 3, homozygous_only: bool = False, nulls: bool = True):
    """A small table (2–3 loci, ≤ 8 haplotypes, some null alleles) and a bank of lines.

    Per locus 1–3 expressed alleles and maybe one null allele (``A*0k:11N``) in the TABLE.  Line
    alleles are expressed only (a donor line is typed at the alleles it expresses; the line
    encoder refuses null alleles): drawn from the table's expressed alleles plus one expressed
    allele the table lacks, and line haplotypes taken from the table are its rows without a null.
    """
    n_loci = draw(st.integers(2, 3))
    loci = LOCI[:n_loci]
    vocab = []
    for locus in loci:
        n_expr = draw(st.integers(1, 3))
        names = [rule_allele(locus, k) for k in range(n_expr)]
        if nulls and draw(st.booleans()):
            names.append(rule_allele(locus, n_expr, null=True))
        vocab.append(names)
    n_max = min(8, math.prod(len(v) for v in vocab))
    idx = draw(
        st.lists(st.tuples(*[st.integers(0, len(v) - 1) for v in vocab]), min_size=1, max_size=n_max, unique=True)
    )
    haps = [tuple(vocab[l][k] for l, k in enumerate(h)) for h in idx]
    freqs = draw(frequencies(len(haps)))
    # rule_allele(locus, 7) is absent from the table; null alleles never go into lines.
    pool = [[a for a in v if not a.endswith("N")] + [rule_allele(locus, 7)] for v, locus in zip(vocab, loci)]
    any_hap = st.tuples(*[st.sampled_from(p) for p in pool])
    expressed_haps = [h for h in haps if not any(a.endswith("N") for a in h)]
    lines = bank(draw, expressed_haps, any_hap, max_lines, homozygous_only)
    return loci, haps, freqs, lines


@st.composite
def rules(draw, loci):
    k = draw(st.integers(0, 3))
    direction = draw(st.sampled_from(DIRECTIONS))
    hom = draw(st.sampled_from([1, 2]))
    require = draw(st.lists(st.sampled_from(loci), unique=True, max_size=2))
    allow = draw(st.one_of(st.none(), st.lists(st.sampled_from(loci), unique=True, max_size=len(loci))))
    if allow is not None:  # a locus both required and allowed is a contradiction MatchRules refuses
        allow = [x for x in allow if x not in require]
    return dict(
        max_mismatches=k, direction=direction, homozygous_count=hom, require_match=require, allow_mismatch=allow
    )


def limits_of(loci, rule) -> list:
    allow = rule["allow_mismatch"]
    return [
        0 if (locus in rule["require_match"] or (allow is not None and locus not in allow)) else None for locus in loci
    ]
