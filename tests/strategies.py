"""Hypothesis strategies shared by the property tests (a helper module, not a test module)."""

from __future__ import annotations

from hypothesis import strategies as st


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
    """Draw a bank of lines: haplotypes of the table or any haplotype, one line in three homozygous."""
    line_hap = st.one_of(st.sampled_from(haps), any_hap)
    if homozygous_only:
        line = line_hap.map(lambda h: (h, h))
    else:
        line = st.tuples(line_hap, line_hap, st.integers(0, 2)).map(lambda x: (x[0], x[0]) if x[2] == 0 else x[:2])
    return draw(st.lists(line, min_size=1, max_size=max_lines))
