"""A growing bank's coverage and every line's gain in one population (the state of rank and plan)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np

from hlamatch.compute.problem import PopulationArrays, Problem
from hlamatch.compute.rule_bounds import hom_step, homozygous_hvg, word_masks
from hlamatch.compute.zero_bounds import level_arrays, uses_bitsets
from hlamatch.engine.ranges import fold_ranges
from hlamatch.engine.run import exact_sum, run_ranges
from hlamatch.engine.setting import Progress
from hlamatch.errors import OptionError
from hlamatch.hla.rules import MatchRules


class RuleTail(NamedTuple):
    """The rule's scalars, in the order the rule kernels of :mod:`hlamatch.kernels.planning` take
    them after ``chosen`` (``*tail``)."""

    hom2: bool
    direction: int
    haplo: bool
    limits: np.ndarray
    #: The rule's largest mismatch count (``max_mismatches``).
    k: int

    @property
    def counts(self) -> tuple[bool, int, bool, np.ndarray]:
        """``(hom2, direction, haplo, limits)``: what :func:`hlamatch.kernels.rules.line_count` takes
        before its cap."""
        return self.hom2, self.direction, self.haplo, self.limits


@dataclass(frozen=True, eq=False)
class HomGainArrays:
    """What :func:`hlamatch.kernels.hom_rule.hom_gain_folds` takes of a population (see
    :func:`hom_gain_arrays`); the bank's words, the line and ``n_lines`` are added per call."""

    b: np.ndarray
    n_words: int
    n_loci: int
    req: np.ndarray
    wmask: np.ndarray
    cstar: int
    freqs: np.ndarray
    n_head: int


#: Most patient pairs (classes before merging) the exact plan models.
MAX_PAIRS = 5_000_000


class BankState:
    """Coverage of a growing bank in one population at one level, with every line's gain.

    Built with one pass over all patient pairs; :meth:`add` then updates the gains with the pairs
    the added line newly covers.  Lines are indexed as in ``problem.line_codes`` (bank first).

    Attributes
    ----------
    chosen : numpy.ndarray
        bool (n_lines,): lines in the bank now.
    listed : float
        Mass of listed patient pairs covered.
    listed_gain : numpy.ndarray
        float64 (n_lines,): mass of listed pairs each line would newly cover.
    """

    def __init__(
        self,
        problem: Problem,
        pa: PopulationArrays,
        level: str,
        chosen: np.ndarray,
        progress: Progress | None = None,
        merge: bool = True,
        tolerance: float = 0.0,
    ):
        from hlamatch.compute.encode import flat_layout, line_bitsets, merged_bitsets, recode_for_lines, word_count
        from hlamatch.kernels.common import NOVEL_A, NOVEL_B, WILDCARD
        from hlamatch.kernels.planning import line_masses, rule_gain_folds
        from hlamatch.kernels.rules import line_count

        rules = problem.rules
        lc, ln = problem.line_codes, problem.line_nulls
        self.n_lines = lc.shape[0]
        self.unlisted = pa.unlisted
        self.population = pa.population
        self.chosen = np.array(chosen, dtype=np.bool_)
        self.bitsets = uses_bitsets(rules, level, ln)
        #: Mass of the listed pairs not visited (tolerance; rule path only): they count in upper bounds only.
        self.unvisited = 0.0
        self.hom_args: HomGainArrays | None = None  # HvG rules with homozygous lines
        label = f"{pa.population} {level}"
        if self.bitsets:
            c, lcodes, n_al = level_arrays(pa, lc, problem.sizes, level)
            nulls = ln if level == "genotype" else None
            self.n_words, self.n_loci = word_count(self.n_lines), c.shape[1]
            # Merging rows with equal bitsets pays off when lines will be added (pick updates visit
            # pairs); a ranking with an empty bank only needs each line's own mass.
            if merge:
                m = merged_bitsets(c, pa.freqs, lcodes, n_al, nulls)
                self.b1, self.b2, self.freqs, self.hom, self.het = m.b1, m.b2, m.freqs, m.hom, m.het
            else:
                b1, b2, self.hom = line_bitsets(c, lcodes, n_al, nulls)
                self.het = bool(not np.array_equal(b1, b2))
                self.b1, self.b2, self.freqs = flat_layout(b1, b2, pa.freqs)
            # (a reduction over two axes of a 3-d array is an array; numpy's stubs allow a scalar)
            self.nn = (
                cast(np.ndarray, ln.all(axis=(1, 2))) if level == "genotype" else np.zeros(self.n_lines, dtype=np.bool_)
            )
            self.ww = np.ones(self.n_lines, dtype=np.bool_)
            # Each line's mass on its own (mask compression), then the bank's lines added one by
            # one: each removes the pairs it covers from every gain (the greedy step itself).
            self.listed_gain = line_masses(
                self.b1,
                self.b2,
                self.het,
                self.n_words,
                self.n_loci,
                self.freqs,
                np.arange(self.n_lines, dtype=np.int64),
            )
            self.listed = 0.0
            bank = np.flatnonzero(self.chosen)
            self.chosen[:] = False
            for k, t in enumerate(bank):
                self.add(int(t), partners=False)
                if progress is not None and len(bank) > 20:
                    progress(f"{label} bank", (k + 1) / len(bank))
        else:
            codes, nulls, freqs = pa.codes, pa.nulls, pa.freqs
            if rules.direction == "HvG" or rules.homozygous_count == 2:
                codes, nulls, freqs = recode_for_lines(codes, nulls, freqs, lc, problem.sizes)
            if tolerance > 0:  # rows most frequent first (see _head)
                order = np.argsort(-freqs, kind="stable")
                codes, nulls, freqs = codes[order], nulls[order], np.ascontiguousarray(freqs[order])
            self.n_head, self.unvisited = _head(freqs, tolerance)
            self.codes, self.nulls, self.freqs = codes, nulls, freqs
            self.rule_args = (lc, ln)
            self.rule_tail = RuleTail(
                rules.homozygous_count == 2,
                rules.direction_code,
                level == "haplotype",
                problem.limits,
                rules.max_mismatches,
            )
            counts, k1 = self.rule_tail.counts, rules.max_mismatches + 1
            self.nn = np.array(
                [line_count(codes, nulls, NOVEL_A, NOVEL_B, lc, ln, t, *counts, k1) >= 0 for t in range(self.n_lines)],
                dtype=np.bool_,
            )
            self.ww = np.array(
                [
                    line_count(codes, nulls, WILDCARD, WILDCARD, lc, ln, t, *counts, k1) >= 0
                    for t in range(self.n_lines)
                ],
                dtype=np.bool_,
            )
            if level == "genotype" and homozygous_hvg(rules, lc, ln):
                # HvG with homozygous lines: the bit-plane kernels on merged bitset rows.
                self.hom_args = hom_gain_arrays(
                    pa.codes, pa.freqs, lc, ln, problem.sizes, rules, problem.limits, tolerance
                )
                self.unvisited = _head(self.hom_args.freqs, tolerance)[1]
                totals = self._hom_pass(-1, progress, label)
            else:
                arrays = (codes, nulls, freqs, lc, ln, self.chosen, *self.rule_tail, self.n_head)
                ranges = fold_ranges(freqs.shape[0], self.n_lines * (16 if level == "haplotype" else 1))
                totals = exact_sum(run_ranges(rule_gain_folds, arrays, ranges, progress, label))
            self.listed_gain, self.listed = totals[: self.n_lines].copy(), float(totals[self.n_lines])
        self._partners()

    # ------------------------------------------------------------------ internals
    def _hom_pass(self, t: int, progress: Progress | None = None, label: str = "") -> np.ndarray:
        """:func:`hlamatch.kernels.hom_gain_folds` summed: gains (t < 0) or line t's pick update."""
        from hlamatch.kernels.hom_rule import hom_gain_folds

        h = self.hom_args
        assert h is not None  # called only on the rule path with homozygous lines (hom_args set)
        chosen = np.zeros(h.n_words, dtype=np.uint64)
        for u in np.flatnonzero(self.chosen):
            chosen[u // 64] |= np.uint64(1) << np.uint64(u % 64)
        arrays = (h.b, h.n_words, h.n_loci, h.req, h.wmask, h.cstar, chosen, t, h.n_head, h.freqs, self.n_lines)
        return exact_sum(
            run_ranges(hom_gain_folds, arrays, fold_ranges(h.freqs.shape[0], h.n_words * h.n_loci / 4), progress, label)
        )

    def _words(self) -> np.ndarray:
        words = np.zeros(self.n_words, dtype=np.uint64)
        for t in np.flatnonzero(self.chosen):
            words[t // 64] |= np.uint64(1) << np.uint64(t % 64)
        return words

    def _partners(self) -> None:
        """Unlisted-chromosome pairings (novel: lower bound; wildcard: upper bound), recomputed."""
        from hlamatch.kernels.common import NOVEL_A, WILDCARD
        from hlamatch.kernels.planning import partner_gains, rule_partner_gains

        if self.unlisted <= 0:
            z = np.zeros(self.n_lines)
            self.novel, self.novel_gain, self.wild, self.wild_gain = 0.0, z, 0.0, z
            return
        out = []
        for wildcard in (False, True):
            if self.bitsets:
                r = partner_gains(
                    self.b1, self.b2, self.hom, self.n_words, self.n_loci, self.freqs, self._words(), wildcard
                )
                out.append((float(r[64 * self.n_words]), r[: self.n_lines]))
            else:
                r = rule_partner_gains(
                    self.codes,
                    self.nulls,
                    self.freqs,
                    *self.rule_args,
                    self.chosen,
                    *self.rule_tail,
                    WILDCARD if wildcard else NOVEL_A,
                )
                out.append((float(r[self.n_lines]), r[: self.n_lines]))
        (self.novel, self.novel_gain), (self.wild, self.wild_gain) = out

    # ------------------------------------------------------------------ figures
    def bounds(self) -> tuple[float, float]:
        """(lower, upper) coverage of the bank now."""
        u = self.unlisted
        lower = self.listed + 2 * u * self.novel + (u * u if self.nn[self.chosen].any() else 0.0)
        upper = self.listed + self.unvisited + 2 * u * self.wild + (u * u if self.ww[self.chosen].any() else 0.0)
        return _clip(lower), _clip(upper)

    def after(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) coverage after adding each line alone: float64 arrays (n_lines,)."""
        u = self.unlisted
        lower, upper = self.bounds()
        has_nn, has_ww = self.nn[self.chosen].any(), self.ww[self.chosen].any()
        lo = self.listed + self.listed_gain + 2 * u * (self.novel + self.novel_gain) + u * u * (has_nn | self.nn)
        hi = (
            self.listed
            + self.unvisited
            + self.listed_gain
            + 2 * u * (self.wild + self.wild_gain)
            + u * u * (has_ww | self.ww)
        )
        lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        lo[self.chosen], hi[self.chosen] = lower, upper
        return lo, hi

    def add(self, t: int, partners: bool = True) -> None:
        """Put line t in the bank, updating every gain with the pairs it newly covers."""
        from hlamatch.kernels.planning import pick_update, rule_pick_update

        if self.chosen[t]:
            return
        if self.bitsets:
            gains = np.zeros(64 * self.n_words + 1)
            gains[: self.n_lines] = self.listed_gain
            newly = pick_update(
                self.b1, self.b2, self.het, self.n_words, self.n_loci, self.freqs, self._words(), t, gains
            )
            self.listed_gain = gains[: self.n_lines]
        elif self.hom_args is not None:
            update = self._hom_pass(t)
            self.listed_gain = self.listed_gain + update[: self.n_lines]
            newly = float(update[self.n_lines])
        else:
            newly = rule_pick_update(
                self.codes,
                self.nulls,
                self.freqs,
                *self.rule_args,
                self.chosen,
                t,
                *self.rule_tail,
                self.n_head,
                self.listed_gain,
            )
        self.listed += newly
        self.chosen[t] = True
        self.listed_gain[t] = 0.0
        if partners:
            self._partners()

    def check_exact_size(self, max_pairs: int = MAX_PAIRS) -> None:
        """Refuse an exact plan whose patient pairs a sample puts above ``max_pairs``, before the
        greedy plan or any pass over the pairs (the rules path is counted in :meth:`classes`)."""
        if self.bitsets:
            self._estimate_pairs(self._words(), max_pairs)

    def classes(self, lines: np.ndarray, max_pairs: int = MAX_PAIRS) -> tuple[np.ndarray, np.ndarray, float]:
        """Patient classes for the exact planner: which of ``lines`` covers each uncovered pair.

        Returns
        -------
        (cover, weight, base)
            ``cover`` bool (n_classes, len(lines)), ``weight`` float64 (n_classes,) lower-bound
            mass of each class (listed pairs and pairings with novel unlisted chromosomes), and
            ``base`` the lower-bound coverage of the bank now.  Pairs with the same covering set
            are merged.
        """
        from hlamatch.kernels.planning import cover_rows, rule_cover_rows

        u = self.unlisted
        if self.bitsets:
            words = self._words()
            args: tuple[Any, ...] = (self.b1, self.b2, self.het, self.n_words, self.n_loci, self.freqs, words)
            self._estimate_pairs(words, max_pairs)
            n = cover_rows(*args, True, np.zeros((0, self.n_words), np.uint64), np.zeros(0))
            _check_size(n, max_pairs)
            _check_class_bytes(n, 8 * self.n_words + 8 + self.n_lines)
            cw, wt = np.zeros((n, self.n_words), np.uint64), np.zeros(n)
            cover_rows(*args, False, cw, wt)
            bits = np.unpackbits(cw.view(np.uint8), axis=1, bitorder="little")[:, : self.n_lines].astype(np.bool_)
        else:
            args = (self.codes, self.nulls, self.freqs, *self.rule_args, self.chosen, *self.rule_tail, self.n_head)
            n = rule_cover_rows(*args, True, np.zeros((0, self.n_lines), np.bool_), np.zeros(0))
            _check_size(n, max_pairs)
            _check_class_bytes(n, 8 + 2 * self.n_lines)
            bits, wt = np.zeros((n, self.n_lines), np.bool_), np.zeros(n)
            rule_cover_rows(*args, False, bits, wt)
        rows = [bits[:, lines]]
        weights = [wt]
        if u > 0:
            partner = self._partner_rows()
            rows.append(partner[:, lines])
            # haplotypes whose pairing with a novel chromosome no chosen line covers yet
            weights.append(2 * u * self.freqs * ~(partner & self.chosen[None, :]).any(axis=1))
            if not self.nn[self.chosen].any() and self.nn[lines].any():
                rows.append(self.nn[lines][None, :])
                weights.append(np.array([u * u]))
        cover, weight = np.concatenate(rows), np.concatenate(weights)
        return cover, weight, self.bounds()[0]

    def _estimate_pairs(self, words: np.ndarray, max_pairs: int) -> None:
        """Refuse up front, before the pass over every pair of rows, a pair count that a sample of
        pairs puts confidently above ``max_pairs`` (a fixed seed: the same answer every run)."""
        from hlamatch.kernels.planning import sampled_cover_count

        m = self.freqs.shape[0]
        total = m * (m - 1) // 2  # distinct rows (the m pairs of a row with itself are left out: a lower bound)
        # (small problems sample nothing; the kernel still runs, so that warm-up compiles it)
        size = 200_000 if total > max_pairs else 0
        rng = np.random.default_rng(0)
        i, j = rng.integers(0, m, size=size), rng.integers(0, m - 1, size=size)
        j = np.where(j >= i, j + 1, j)  # uniform over ordered pairs of distinct rows
        hits = int(
            sampled_cover_count(
                self.b1, self.b2, self.het, self.n_words, self.n_loci, m, words, np.minimum(i, j), np.maximum(i, j)
            )
        )
        low = max(0.0, hits - 5.0 * math.sqrt(hits)) / max(size, 1)  # about 5 standard deviations below the estimate
        if size and low * total > max_pairs:
            _check_size(int(hits / size * total), max_pairs, at_least=False, sampled=size)

    def _partner_rows(self) -> np.ndarray:
        """bool (n, n_lines): lines covering each listed haplotype paired with a novel chromosome."""
        from hlamatch.kernels.common import NOVEL_A
        from hlamatch.kernels.rules import line_count

        if self.bitsets:
            n = self.freqs.shape[0]
            out = np.zeros((n, self.n_lines), dtype=np.bool_)
            b1 = self.b1.reshape(self.n_words, self.n_loci, n)
            b2 = self.b2.reshape(self.n_words, self.n_loci, n)
            acc = np.bitwise_and.reduce(b1 & b2, axis=1)  # (n_words, n)
            for t in range(self.n_lines):
                out[:, t] = (acc[t // 64] >> np.uint64(t % 64)) & np.uint64(1) != 0
            return out
        lc, ln = self.rule_args
        counts, cap = self.rule_tail.counts, self.rule_tail.k + 1
        return np.array(
            [
                [
                    line_count(self.codes, self.nulls, i, NOVEL_A, lc, ln, t, *counts, cap) >= 0
                    for t in range(self.n_lines)
                ]
                for i in range(self.freqs.shape[0])
            ],
            dtype=np.bool_,
        )


def _head(freqs: np.ndarray, tolerance: float) -> tuple[int, float]:
    """(n_head, unvisited): with rows most frequent first, the fewest leading rows whose pairs
    (i < n_head, any j) leave out at most ``tolerance`` of mass (the pairs of two later rows,
    tail²), and that mass; ``(n, 0.0)`` when the tolerance is 0."""
    n = freqs.shape[0]
    if tolerance <= 0:
        return n, 0.0
    tails = np.append(np.cumsum(freqs[::-1])[::-1], 0.0)
    n_head = int(np.argmax(tails**2 <= tolerance))
    return n_head, float(tails[n_head] ** 2)


def hom_gain_arrays(
    codes: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    line_nulls: np.ndarray,
    n_alleles: list[int],
    rules: MatchRules,
    limits: np.ndarray,
    tolerance: float,
) -> HomGainArrays:
    """What :func:`hlamatch.kernels.hom_gain_folds` takes of a population (:class:`HomGainArrays`).

    Rows are the zero-mismatch bitsets merged by signature (most frequent first with a
    tolerance); a line is within the rule for a pair when it is covered at ``cstar`` loci or
    more (``n_loci − k // step``, the homozygous count's step per missing allele) and at every
    locus that allows no mismatch.
    """
    from hlamatch.compute.encode import merged_bitsets, word_count

    merged = merged_bitsets(codes, freqs, line_codes, n_alleles, line_nulls, by_frequency=tolerance > 0)
    f = merged.freqs
    n_loci, n_words = codes.shape[1], word_count(line_codes.shape[0])
    step, req = hom_step(rules, limits)
    cstar = max(0, n_loci - rules.max_mismatches // step)
    return HomGainArrays(
        merged.b1, n_words, n_loci, req, word_masks(line_codes.shape[0]), cstar, f, _head(f, tolerance)[0]
    )


def _check_size(n: int, max_pairs: int, at_least: bool = False, sampled: int = 0) -> None:
    if n > max_pairs:
        how = f"about {n:,} (estimated from {sampled:,} sampled pairs)" if sampled else f"{n:,}"
        raise OptionError(
            f"the exact plan would have {'at least ' if at_least else ''}{how} patient pairs to model "
            f"(limit {max_pairs:,}, max_pairs): use fewer candidates (n_candidates), fewer loci (loci), or the greedy "
            "plan alone",
            params=("n_candidates", "loci"),
        )


def _check_class_bytes(n: int, per_pair: int) -> None:
    from hlamatch.compute.budget import check_bytes

    check_bytes(
        n * per_pair,
        f"the exact plan's {n:,} patient pairs",
        "fewer candidates (n_candidates), fewer loci (loci), or the greedy plan alone",
        ("n_candidates", "loci"),
    )


def _clip(x: float) -> float:
    return min(1.0, max(0.0, float(x)))
