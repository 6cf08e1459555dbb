"""Bank planning: rank expansion candidates, and plan a bank greedily or exactly.

Definitions (the same as :func:`hlamatch.coverage`; every result names its level, loci, resolution
and rule):

* the **gain** of a candidate line is coverage(bank + candidate) − coverage(bank), on the lower
  bound (unlisted chromosomes never match); the upper bound after adding it is reported beside it;
* in a **weighted mix** of populations the coverage is Σ_p w_p · coverage_p and so is the gain;
* the **greedy plan** adds, step by step, the candidate with the largest gain (ties: the candidate
  listed first, i.e. the more frequent one for the default candidates) until a target coverage or
  a number of lines is reached;
* the **exact plan** solves the same selection as an integer programme (HiGHS through SciPy, the
  optional extra ``hlamatch[exact]``) and reports greedy's gap to the optimum.

All gains come from one pass over patient genotypes (never one coverage run per candidate): the
kernels report, for every pair of patient haplotypes that the bank does not cover, every line
that would cover it.  The greedy plan then updates the gains with the pairs each pick newly covers
(:func:`hlamatch.kernels._pick_update`), so a plan costs little more than one ranking pass.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .constants import LEVELS
from .cover import (DEFINITIONS, WEIGHTED, check_tolerance, hom_step, homozygous_hvg, level_arrays, rules_from,
                    uses_bitsets, word_masks)
from .engine import Progress, exact_sum, fold_ranges, run_ranges
from .errors import OptionError
from .lines import Line, as_lines, top_lines
from .problem import Populations, PopulationArrays, Problem, prepare, resolve_populations
from .rules import MatchRules

__all__ = ["RankedCandidate", "RankReport", "PlanStep", "PlanReport", "rank_candidates", "plan_bank",
           "DEFAULT_CANDIDATES"]

#: Candidates when none are given: the N most frequent haplotypes as homozygous lines.
DEFAULT_CANDIDATES = 100


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

    def __init__(self, problem: Problem, pa: PopulationArrays, level: str, chosen: np.ndarray,
                 progress: Progress | None = None, merge: bool = True, tolerance: float = 0.0):
        from .encode import flat_layout, line_bitsets, merged_bitsets, recode_for_lines, word_count
        from .kernels import NOVEL_A, NOVEL_B, WILDCARD, _line_count, _line_masses, _rule_gain_folds

        rules = problem.rules
        lc, ln = problem.line_codes, problem.line_nulls
        self.n_lines = lc.shape[0]
        self.unlisted = pa.unlisted
        self.population = pa.population
        self.chosen = np.array(chosen, dtype=np.bool_)
        self.bitsets = uses_bitsets(rules, level, ln)
        #: Mass of the listed pairs not visited (tolerance; rule path only): they count in upper bounds only.
        self.unvisited = 0.0
        self.hom_args: tuple | None = None  # HvG rules with homozygous lines (see hom_gain_arrays)
        label = f"{pa.population} {level}"
        if self.bitsets:
            c, lcodes, n_al = level_arrays(pa, lc, problem.sizes, level)
            nulls = ln if level == "genotype" else None
            self.n_words, self.n_loci = word_count(self.n_lines), c.shape[1]
            # Merging rows with equal bitsets pays off when lines will be added (pick updates visit
            # pairs); a ranking with an empty bank only needs each line's own mass.
            if merge:
                self.b1, self.b2, self.freqs, self.hom, self.het, _ = merged_bitsets(
                    c, pa.freqs, lcodes, n_al, nulls)
            else:
                b1, b2, self.hom = line_bitsets(c, lcodes, n_al, nulls)
                self.het = bool(not np.array_equal(b1, b2))
                self.b1, self.b2, self.freqs = flat_layout(b1, b2, pa.freqs)
            self.nn = ln.all(axis=(1, 2)) if level == "genotype" else np.zeros(self.n_lines, dtype=np.bool_)
            self.ww = np.ones(self.n_lines, dtype=np.bool_)
            # Each line's mass on its own (mask compression), then the bank's lines added one by
            # one: each removes the pairs it covers from every gain (the greedy step itself).
            self.listed_gain = _line_masses(self.b1, self.b2, self.het, self.n_words, self.n_loci, self.freqs,
                                            np.arange(self.n_lines, dtype=np.int64))
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
            self.rule_tail = (rules.homozygous_count == 2, rules.direction_code, level == "haplotype",
                              problem.limits, rules.max_mismatches)
            k1 = rules.max_mismatches + 1
            self.nn = np.array([_line_count(codes, nulls, NOVEL_A, NOVEL_B, lc, ln, t, *self.rule_tail[:4], k1) >= 0
                                for t in range(self.n_lines)], dtype=np.bool_)
            self.ww = np.array([_line_count(codes, nulls, WILDCARD, WILDCARD, lc, ln, t, *self.rule_tail[:4], k1) >= 0
                                for t in range(self.n_lines)], dtype=np.bool_)
            if level == "genotype" and homozygous_hvg(rules, lc, ln):
                # HvG with homozygous lines: the bit-plane kernels on merged bitset rows.
                self.hom_args = hom_gain_arrays(pa.codes, pa.freqs, lc, ln, problem.sizes, rules, problem.limits,
                                           tolerance)
                self.unvisited = _head(self.hom_args[-2], tolerance)[1]
                totals = self._hom_pass(-1, progress, label)
            else:
                arrays = (codes, nulls, freqs, lc, ln, self.chosen, *self.rule_tail, self.n_head)
                ranges = fold_ranges(freqs.shape[0], self.n_lines * (16 if level == "haplotype" else 1))
                totals = exact_sum(run_ranges(_rule_gain_folds, arrays, ranges, progress, label))
            self.listed_gain, self.listed = totals[: self.n_lines].copy(), float(totals[self.n_lines])
        self._partners()

    # ------------------------------------------------------------------ internals
    def _hom_pass(self, t: int, progress: Progress | None = None, label: str = "") -> np.ndarray:
        """:func:`hlamatch.kernels._hom_gain_folds` summed: gains (t < 0) or line t's pick update."""
        from .kernels import _hom_gain_folds

        b, n_words, n_loci, req, wmask, cstar, f, n_head = self.hom_args
        chosen = np.zeros(n_words, dtype=np.uint64)
        for u in np.flatnonzero(self.chosen):
            chosen[u // 64] |= np.uint64(1) << np.uint64(u % 64)
        arrays = (b, n_words, n_loci, req, wmask, cstar, chosen, t, n_head, f, self.n_lines)
        return exact_sum(run_ranges(_hom_gain_folds, arrays, fold_ranges(f.shape[0], n_words * n_loci / 4),
                                    progress, label))

    def _words(self) -> np.ndarray:
        words = np.zeros(self.n_words, dtype=np.uint64)
        for t in np.flatnonzero(self.chosen):
            words[t // 64] |= np.uint64(1) << np.uint64(t % 64)
        return words

    def _partners(self) -> None:
        """Unlisted-chromosome pairings (novel: lower bound; wildcard: upper bound), recomputed."""
        from .kernels import NOVEL_A, WILDCARD, _partner_gains, _rule_partner_gains

        if self.unlisted <= 0:
            z = np.zeros(self.n_lines)
            self.novel, self.novel_gain, self.wild, self.wild_gain = 0.0, z, 0.0, z
            return
        out = []
        for wildcard in (False, True):
            if self.bitsets:
                r = _partner_gains(self.b1, self.b2, self.hom, self.n_words, self.n_loci, self.freqs,
                                   self._words(), wildcard)
                out.append((float(r[64 * self.n_words]), r[: self.n_lines]))
            else:
                r = _rule_partner_gains(self.codes, self.nulls, self.freqs, *self.rule_args, self.chosen,
                                        *self.rule_tail, WILDCARD if wildcard else NOVEL_A)
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
        lo = (self.listed + self.listed_gain + 2 * u * (self.novel + self.novel_gain)
              + u * u * (has_nn | self.nn))
        hi = (self.listed + self.unvisited + self.listed_gain + 2 * u * (self.wild + self.wild_gain)
              + u * u * (has_ww | self.ww))
        lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        lo[self.chosen], hi[self.chosen] = lower, upper
        return lo, hi

    def add(self, t: int, partners: bool = True) -> None:
        """Put line t in the bank, updating every gain with the pairs it newly covers."""
        from .kernels import _pick_update, _rule_pick_update

        if self.chosen[t]:
            return
        if self.bitsets:
            gains = np.zeros(64 * self.n_words + 1)
            gains[: self.n_lines] = self.listed_gain
            newly = _pick_update(self.b1, self.b2, self.het, self.n_words, self.n_loci, self.freqs,
                                 self._words(), t, gains)
            self.listed_gain = gains[: self.n_lines]
        elif self.hom_args is not None:
            update = self._hom_pass(t)
            self.listed_gain = self.listed_gain + update[: self.n_lines]
            newly = float(update[self.n_lines])
        else:
            newly = _rule_pick_update(self.codes, self.nulls, self.freqs, *self.rule_args, self.chosen, t,
                                      *self.rule_tail, self.n_head, self.listed_gain)
        self.listed += newly
        self.chosen[t] = True
        self.listed_gain[t] = 0.0
        if partners:
            self._partners()

    def classes(self, lines: np.ndarray, max_pairs: int = 5_000_000) -> tuple[np.ndarray, np.ndarray, float]:
        """Patient classes for the exact planner: which of ``lines`` covers each uncovered pair.

        Returns
        -------
        (cover, weight, base)
            ``cover`` bool (n_classes, len(lines)), ``weight`` float64 (n_classes,) lower-bound
            mass of each class (listed pairs and pairings with novel unlisted chromosomes), and
            ``base`` the lower-bound coverage of the bank now.  Pairs with the same covering set
            are merged.
        """
        from .kernels import _cover_rows, _rule_cover_rows

        u = self.unlisted
        if self.bitsets:
            words = self._words()
            args = (self.b1, self.b2, self.het, self.n_words, self.n_loci, self.freqs, words)
            n = _cover_rows(*args, True, np.zeros((0, self.n_words), np.uint64), np.zeros(0))
            _check_size(n, max_pairs)
            cw, wt = np.zeros((n, self.n_words), np.uint64), np.zeros(n)
            _cover_rows(*args, False, cw, wt)
            bits = np.unpackbits(cw.view(np.uint8), axis=1, bitorder="little")[:, : self.n_lines].astype(np.bool_)
        else:
            args = (self.codes, self.nulls, self.freqs, *self.rule_args, self.chosen, *self.rule_tail, self.n_head)
            n = _rule_cover_rows(*args, True, np.zeros((0, self.n_lines), np.bool_), np.zeros(0))
            _check_size(n, max_pairs)
            bits, wt = np.zeros((n, self.n_lines), np.bool_), np.zeros(n)
            _rule_cover_rows(*args, False, bits, wt)
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

    def _partner_rows(self) -> np.ndarray:
        """bool (n, n_lines): lines covering each listed haplotype paired with a novel chromosome."""
        from .kernels import NOVEL_A, _line_count

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
        tail = self.rule_tail
        return np.array([[_line_count(self.codes, self.nulls, i, NOVEL_A, lc, ln, t, *tail[:4], tail[4] + 1) >= 0
                          for t in range(self.n_lines)] for i in range(self.freqs.shape[0])], dtype=np.bool_)


def _head(freqs: np.ndarray, tolerance: float) -> tuple[int, float]:
    """(n_head, unvisited): with rows most frequent first, the fewest leading rows whose pairs
    (i < n_head, any j) leave out at most ``tolerance`` of mass (the pairs of two later rows,
    tail²), and that mass; ``(n, 0.0)`` when the tolerance is 0."""
    n = freqs.shape[0]
    if tolerance <= 0:
        return n, 0.0
    tails = np.append(np.cumsum(freqs[::-1])[::-1], 0.0)
    n_head = int(np.argmax(tails ** 2 <= tolerance))
    return n_head, float(tails[n_head] ** 2)


def hom_gain_arrays(codes: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray,
                    n_alleles: list[int], rules: MatchRules, limits: np.ndarray, tolerance: float) -> tuple:
    """(b, n_words, n_loci, req, wmask, cstar, freqs, n_head) for :func:`hlamatch.kernels._hom_gain_folds`.

    Rows are the zero-mismatch bitsets merged by signature (most frequent first with a
    tolerance); a line is within the rule for a pair when it is covered at ``cstar`` loci or
    more (``n_loci − k // step``, the homozygous count's step per missing allele) and at every
    locus that allows no mismatch.
    """
    from .encode import merged_bitsets, word_count

    b, _, f, _, _, _ = merged_bitsets(codes, freqs, line_codes, n_alleles, line_nulls, by_frequency=tolerance > 0)
    n_loci, n_words = codes.shape[1], word_count(line_codes.shape[0])
    step, req = hom_step(rules, limits)
    cstar = max(0, n_loci - rules.max_mismatches // step)
    return b, n_words, n_loci, req, word_masks(line_codes.shape[0]), cstar, f, _head(f, tolerance)[0]


def _check_size(n: int, max_pairs: int) -> None:
    if n > max_pairs:
        raise OptionError(
            f"the exact plan would have {n:,} patient pairs to model (limit {max_pairs:,}): use fewer "
            "candidates (--candidates), fewer loci, or the greedy plan without --exact"
        )


def _clip(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


def _level(level: str) -> str:
    if level not in LEVELS:
        raise OptionError(f"unknown level {level!r} for ranking and planning (choose from {', '.join(LEVELS)})")
    return level


# ====================================================================== results


@dataclass(frozen=True)
class RankedCandidate:
    """One candidate line's marginal value for the bank.

    Attributes
    ----------
    rank : int
        1 = largest gain (ties: the candidate listed first).
    line, name : str
        The line at the computation's loci and resolution, and its name: its own (a lines file's
        ``name`` column), or ``line`` when it has none.
    population : str
        The population, or ``"weighted"`` for a weighted mix.
    gain : float
        coverage(bank + line) − coverage(bank), lower bound.
    coverage, lower, upper : float
        Coverage after adding the line (``coverage`` = ``lower``).
    frequency : float or None
        Frequency of the line's haplotype (homozygous lines; mixed frequency for a mix).
    p_donor, people_per_donor : float
        Probability that a random person has the line's genotype (HWE, with inbreeding), and
        its inverse: people to type per donor found.
    p_in_registry : float or None
        Probability that a registry of ``registry_size`` typed people holds such a donor.
    coverage_by_population : dict or None
        For a weighted mix, each population's coverage after adding the line.
    """

    rank: int
    line: str
    name: str
    population: str
    gain: float
    coverage: float
    lower: float
    upper: float
    frequency: float | None
    p_donor: float
    people_per_donor: float
    p_in_registry: float | None = None
    coverage_by_population: dict[str, float] | None = None


@dataclass(frozen=True)
class _Context:
    level: str
    loci: tuple[str, ...]
    resolution: str
    rule: str
    rules: dict[str, Any]
    definition: str
    table: str
    bank: tuple[str, ...]
    weights: dict[str, float] | None
    tolerance: float = 0.0
    bank_names: tuple[str, ...] | None = None  # when some line has a name of its own


class _Rows:
    """A report is a sequence of its rows (``_items``) and exposes its context's fields."""

    _items = ""

    def __getattr__(self, name: str) -> Any:
        ctx = self.__dict__.get("context")
        if ctx is not None and name in _Context.__dataclass_fields__:
            return getattr(ctx, name)
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(getattr(self, self._items))

    def __iter__(self):
        return iter(getattr(self, self._items))

    def __getitem__(self, i: int):
        return getattr(self, self._items)[i]


@dataclass(frozen=True)
class RankReport(_Rows):
    """Candidates ranked by marginal coverage gain (one ranking per population, or one for a mix).

    Attributes
    ----------
    candidates : tuple of RankedCandidate
        Best first within each population.
    base : dict
        Population → (lower, upper) coverage of the bank before any candidate.
    level, loci, resolution, rule, rules, definition, table, bank, weights
        What was computed and how.
    registry_size : int or None
    inbreeding : float
    """

    candidates: tuple[RankedCandidate, ...]
    base: dict[str, tuple[float, float]]
    context: _Context
    registry_size: int | None = None
    inbreeding: float = 0.0

    _items = "candidates"

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per candidate, with what was computed (level, loci, rule …) in every row."""
        ctx = asdict(self.context)
        rows = []
        for c in self.candidates:
            base = self.base[c.population]
            rows.append({**asdict(c), "bank_coverage": base[0], "bank_upper": base[1],
                         "registry_size": self.registry_size, "inbreeding": self.inbreeding,
                         **{k: (list(v) if isinstance(v, tuple) else v) for k, v in ctx.items()
                            if k != "bank_names" or v is not None}})
        return rows


@dataclass(frozen=True)
class PlanStep:
    """One step of a plan: the line added and the coverage after it (step 0: the bank as given).

    Attributes
    ----------
    step : int
    line, name : str or None
    population : str
    gain, coverage, lower, upper : float
    coverage_by_population : dict or None
    """

    step: int
    line: str | None
    name: str | None
    population: str
    gain: float
    coverage: float
    lower: float
    upper: float
    coverage_by_population: dict[str, float] | None = None


@dataclass(frozen=True)
class PlanReport(_Rows):
    """A greedy bank plan per population (or one for a weighted mix), optionally with the exact optimum.

    Attributes
    ----------
    steps : tuple of PlanStep
        Step 0 is the bank as given; then one step per line added.
    target, n_lines : float or None, int or None
        The stopping rule asked for.
    reached : dict
        Population → whether the target (or the number of lines) was reached.
    exact : dict or None
        Population → the exact solution (``lines``, ``coverage``, ``optimal``, ``greedy_coverage``,
        ``gap``; for a target: ``n_lines`` and greedy's ``n_lines``).
    """

    steps: tuple[PlanStep, ...]
    context: _Context
    target: float | None
    n_lines: int | None
    reached: dict[str, bool]
    stop_reason: dict[str, str]
    exact: dict[str, dict[str, Any]] | None = None

    _items = "steps"

    def lines_for(self, coverage: float, population: str | None = None) -> int | None:
        """Lines the greedy plan needs to reach ``coverage`` (lower bound), or None if it does not."""
        pops = {s.population for s in self.steps}
        pop = population if population is not None else (pops.pop() if len(pops) == 1 else None)
        if pop is None:
            raise OptionError(f"the plan covers populations {', '.join(sorted(pops))}: name one")
        for s in self.steps:
            if s.population == pop and s.coverage >= coverage:
                return s.step
        return None

    def to_dicts(self) -> list[dict[str, Any]]:
        ctx = asdict(self.context)
        return [{**asdict(s), "target": self.target,
                 **{k: (list(v) if isinstance(v, tuple) else v) for k, v in ctx.items()
                    if k not in ("bank", "bank_names")}}
                for s in self.steps]


# ====================================================================== API


def _candidates(table, candidates, n_candidates, populations, loci, resolution, bank=()) -> list[Line]:
    if candidates is not None:
        cands = as_lines(candidates)
        if not cands:
            raise OptionError("the candidate list is empty: give candidate lines or leave them out for the top haplotypes")
        return cands  # candidates given that repeat a bank line are left out with a warning (prepare)
    if loci is None and bank:  # the default candidates at the loci the bank is typed at
        from .data import resolve_table
        from .lines import line_loci

        tab = resolve_table(table)
        loci = list(line_loci(list(bank), tab.loci, tab.source))
    top = top_lines(table, n_candidates, populations=populations, loci=loci, resolution=resolution,
                    expressed_only=True)
    held = {ln.key for ln in bank}  # the default candidates leave out bank lines quietly: they add nothing
    cands = [ln for ln in top if ln.key not in held]
    if not cands:
        raise OptionError(f"the {len(top)} most frequent haplotypes (the default candidates) are all in the bank: "
                          "take more of them (n_candidates, -n) or give candidates")
    return cands


def _groups(table, populations: Populations) -> list[Populations]:
    """Population groups to rank or plan separately: each population alone, or one weighted mix."""
    from .data import resolve_table

    tab = resolve_table(table)
    names, weights = resolve_populations(tab, populations)
    if weights is not None:
        return [dict(zip(names, weights))]
    return [[n] for n in names]


def _context(problem: Problem, level: str, tolerance: float = 0.0) -> _Context:
    definition = (
        f"gain = coverage(bank + line) − coverage(bank), lower bound; coverage at {DEFINITIONS[level]}"
    )
    if problem.weights is not None:
        definition += "; weighted mix: sum of w_p × coverage_p"
    return _Context(level=level, loci=problem.loci, resolution=problem.resolution,
                    rule=problem.rules.describe(problem.loci), rules=problem.rules.to_dict(),
                    definition=definition, table=problem.source,
                    bank=problem.line_names[: problem.n_bank], weights=problem.weight_map, tolerance=tolerance,
                    bank_names=problem.names[: problem.n_bank] if problem.named else None)


def _states(problem: Problem, level: str, progress: Progress | None, merge: bool = True,
            tolerance: float = 0.0) -> list[BankState]:
    chosen = np.zeros(problem.line_codes.shape[0], dtype=np.bool_)
    chosen[: problem.n_bank] = True
    return [BankState(problem, pa, level, chosen, progress, merge, tolerance) for pa in problem.populations]


def _weights(problem: Problem) -> np.ndarray:
    return np.array(problem.weights if problem.weights is not None else [1.0])


def _group_label(problem: Problem) -> str:
    return WEIGHTED if problem.weights is not None else problem.populations[0].population


def rank_candidates(
    table=None,
    candidates: Iterable[str | Line] | None = None,
    *,
    bank: Iterable[str | Line] = (),
    n_candidates: int = DEFAULT_CANDIDATES,
    level: str = "genotype",
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    populations: Populations = None,
    rules: MatchRules | None = None,
    registry_size: int | None = None,
    inbreeding: float = 0.0,
    threads: int | None = None,
    progress: Progress | None = None,
    tolerance: float = 0.0,
    **rule_options: Any,
) -> RankReport:
    """Marginal coverage gain of every candidate line for a bank, from one pass over patient pairs.

    Parameters
    ----------
    table : HaplotypeTable, bundled name or path, optional
        Default: the bundled default table.
    candidates : iterable of str or Line, optional
        Default: the ``n_candidates`` most frequent haplotypes as homozygous lines (of each
        population, or by weighted frequency for a mix), leaving out haplotypes that carry a
        null allele (see :func:`hlamatch.lines.top_lines`).
    bank : iterable of str or Line
        The existing bank (may be empty).
    n_candidates : int
    level : {"genotype", "haplotype"}
    loci, resolution : optional
        As for :func:`hlamatch.coverage`; default loci: those of the lines, else all table loci.
    populations : str, sequence of str or mapping of str to float, optional
        Several names: one ranking per population; a mapping: one ranking of the weighted mix.
    rules : MatchRules, optional
        Or keywords as in :func:`hlamatch.coverage`.
    registry_size : int, optional
        Also report the probability that a registry of this many typed people holds a donor.
    inbreeding : float
        Excess homozygosity F in [0, 1] for the donor figures.
    threads : int, optional
    progress : callable, optional
    tolerance : float
        ε > 0: for rules other than zero HvG mismatches, visit patient pairs most frequent
        first and leave out pairs of total mass at most ε; they count in the upper bounds only,
        so every ``upper`` grows by at most ε.  The zero-mismatch rule is always exact (its
        kernels cost one pass per line, not one per pair).

    Returns
    -------
    RankReport

    Examples
    --------
    >>> from hlamatch import rank_candidates
    >>> r = rank_candidates("japanese", n_candidates=5, loci=["A", "B", "DRB1"], level="haplotype")
    >>> r[0].line, round(r[0].gain, 4)
    ('A*24:02~B*52:01~DRB1*15:02', 0.1521)
    """
    from ._jit import num_threads
    from .donors import donor_probability, people_per_donor, registry_probability

    rules = rules_from(rules, rule_options)
    level = _level(level)
    tolerance = check_tolerance(tolerance)
    _check_registry(registry_size, inbreeding)
    bank_lines = as_lines(bank)
    rows: list[RankedCandidate] = []
    base: dict[str, tuple[float, float]] = {}
    problem = None
    with num_threads(threads):
        for group in _groups(table, populations):
            cands = _candidates(table, candidates, n_candidates, group, loci, resolution, bank_lines)
            problem = prepare(table, bank_lines, candidates=cands, loci=loci, resolution=resolution,
                              rules=rules, populations=group)
            states = _states(problem, level, progress, merge=problem.n_bank > 0, tolerance=tolerance)
            w = _weights(problem)
            label = _group_label(problem)
            afters = [s.after() for s in states]
            lo = sum(wi * a[0] for wi, a in zip(w, afters))
            hi = sum(wi * a[1] for wi, a in zip(w, afters))
            b = [s.bounds() for s in states]
            base_lo = float(sum(wi * x[0] for wi, x in zip(w, b)))
            base[label] = (base_lo, float(sum(wi * x[1] for wi, x in zip(w, b))))
            nb = problem.n_bank
            idx = np.arange(nb, nb + len(problem.candidates))
            gains = lo[idx] - base_lo
            order = idx[np.lexsort((idx, -np.round(gains, 15)))]
            f1, f2 = _line_frequencies(problem)
            het = ~np.isnan(f2)
            p_all = np.where(het, donor_probability(f1, np.where(het, f2, 0.0), inbreeding),
                             donor_probability(f1, None, inbreeding))
            people = people_per_donor(p_all)
            p_reg = None if registry_size is None else registry_probability(p_all, registry_size)
            for r, t in enumerate(order):
                rows.append(RankedCandidate(
                    rank=r + 1, line=problem.line_names[t], name=problem.names[t],
                    population=label, gain=float(lo[t] - base_lo), coverage=float(lo[t]),
                    lower=float(lo[t]), upper=float(hi[t]),
                    frequency=None if het[t] else float(f1[t]), p_donor=float(p_all[t]),
                    people_per_donor=float(people[t]),
                    p_in_registry=None if p_reg is None else float(p_reg[t]),
                    coverage_by_population=None if problem.weights is None else {
                        s.population: float(a[0][t]) for s, a in zip(states, afters)},
                ))
    assert problem is not None
    return RankReport(tuple(rows), base, _context(problem, level, tolerance), registry_size, float(inbreeding))


def _check_registry(registry_size: int | None, inbreeding: float) -> None:
    from .donors import _check_inbreeding, _check_size

    if registry_size is not None:
        _check_size(registry_size)
    _check_inbreeding(inbreeding)


def _line_frequencies(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies of each line's two haplotypes: float64 arrays (n_lines,); the second is NaN
    for a homozygous line.

    Frequencies are the population's (a mix: the weighted frequency) at the computation's loci
    and resolution; a haplotype the table does not list has frequency 0.
    """
    tab = problem.table
    cols = [tab.population_index(pa.population) for pa in problem.populations]
    mixed = tab.freqs[:, cols] @ _weights(problem)
    index = tab.row_index()
    lc = np.ascontiguousarray(problem.line_codes, dtype=tab.codes.dtype)
    out = np.zeros((2, lc.shape[0]))
    for t in range(lc.shape[0]):
        for h in range(2):
            r = index.get(lc[t, h].tobytes())
            out[h, t] = 0.0 if r is None else mixed[r]
    same = (lc[:, 0] == lc[:, 1]).all(axis=1)
    out[1, same] = np.nan
    return out[0], out[1]


def plan_bank(
    table=None,
    candidates: Iterable[str | Line] | None = None,
    *,
    bank: Iterable[str | Line] = (),
    n_candidates: int = DEFAULT_CANDIDATES,
    target: float | None = None,
    n_lines: int | None = None,
    level: str = "genotype",
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    populations: Populations = None,
    rules: MatchRules | None = None,
    exact: bool = False,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    tolerance: float = 0.0,
    **rule_options: Any,
) -> PlanReport:
    """Greedy bank plan: add the candidate with the largest gain until a target or a number of lines.

    Parameters
    ----------
    target : float, optional
        Stop when the coverage (lower bound; of the mix for weighted populations) reaches it.
    n_lines : int, optional
        Stop after this many added lines.  At least one of ``target`` and ``n_lines``.
    exact : bool
        Also solve the same selection exactly by integer programming (small instances; needs
        the extra ``hlamatch[exact]``) and report greedy's gap to the optimum.
    tolerance : float
        As for :func:`rank_candidates` (greedy plans only).
    Other parameters
        As for :func:`rank_candidates`.

    Returns
    -------
    PlanReport

    Examples
    --------
    >>> from hlamatch import plan_bank
    >>> p = plan_bank("japanese", n_candidates=20, n_lines=3, loci=["A", "B", "DRB1"], level="haplotype")
    >>> [s.step for s in p]
    [0, 1, 2, 3]
    """
    from ._jit import num_threads

    rules = rules_from(rules, rule_options)
    level = _level(level)
    tolerance = check_tolerance(tolerance)
    if exact and tolerance > 0:
        raise OptionError("the exact plan needs every patient pair: drop --tolerance or --exact")
    if target is None and n_lines is None:
        raise OptionError("give a target coverage (--target 0.8) or a number of lines (--lines 50), or both")
    if target is not None and not (isinstance(target, (int, float)) and 0 < float(target) <= 1):
        raise OptionError(f"target coverage must be a number in (0, 1], got {target!r}")
    if n_lines is not None and (not isinstance(n_lines, (int, np.integer)) or isinstance(n_lines, bool) or n_lines < 1):
        raise OptionError(f"the number of lines must be a whole number ≥ 1, got {n_lines!r}")
    bank_lines = as_lines(bank)
    steps: list[PlanStep] = []
    reached: dict[str, bool] = {}
    why: dict[str, str] = {}
    exact_out: dict[str, dict[str, Any]] = {}
    problem = None
    with num_threads(threads):
        for group in _groups(table, populations):
            cands = _candidates(table, candidates, n_candidates, group, loci, resolution, bank_lines)
            problem = prepare(table, bank_lines, candidates=cands, loci=loci, resolution=resolution,
                              rules=rules, populations=group)
            states = _states(problem, level, progress, tolerance=tolerance)
            label = _group_label(problem)
            picked, ok, reason = _greedy(problem, states, label, target, n_lines, steps, progress)
            reached[label], why[label] = ok, reason
            if exact:
                exact_out[label] = _exact(problem, level, states, picked, target, n_lines, time_limit, progress)
    assert problem is not None
    return PlanReport(tuple(steps), _context(problem, level, tolerance), None if target is None else float(target),
                      n_lines, reached, why, exact_out or None)


def _mix(states: Sequence[BankState], w: np.ndarray) -> tuple[float, float, dict[str, float]]:
    b = [s.bounds() for s in states]
    return (float(sum(wi * x[0] for wi, x in zip(w, b))), float(sum(wi * x[1] for wi, x in zip(w, b))),
            {s.population: x[0] for s, x in zip(states, b)})


def _greedy(problem: Problem, states: list[BankState], label: str, target: float | None,
            n_lines: int | None, steps: list[PlanStep], progress: Progress | None = None) -> tuple[list[int], bool, str]:
    w = _weights(problem)
    nb = problem.n_bank
    n_all = problem.line_codes.shape[0]
    weighted = problem.weights is not None
    lower, upper, by_pop = _mix(states, w)
    steps.append(PlanStep(0, None, None, label, 0.0, lower, lower, upper, by_pop if weighted else None))
    picked: list[int] = []
    while True:
        if target is not None and lower >= target:
            return picked, True, f"target {target:.4g} reached"
        if n_lines is not None and len(picked) >= n_lines:
            return picked, target is None, f"{n_lines} line(s) added"
        lo = sum(wi * s.after()[0] for wi, s in zip(w, states))
        gains = lo[nb:] - lower
        gains[np.array([states[0].chosen[t] for t in range(nb, n_all)], dtype=bool)] = -np.inf
        if gains.size == 0 or not np.isfinite(gains).any() or gains.max() <= 1e-15:
            return picked, False, "no candidate adds coverage"
        best = int(np.flatnonzero(gains >= gains.max() - 1e-15 * max(1.0, abs(gains.max())))[0])
        t = nb + best
        for s in states:
            s.add(t)
        new_lower, upper, by_pop = _mix(states, w)
        picked.append(t)
        steps.append(PlanStep(len(picked), problem.line_names[t], problem.names[t], label,
                              new_lower - lower, new_lower, new_lower, upper, by_pop if weighted else None))
        if progress is not None:
            done = len(picked) / n_lines if n_lines is not None else 0.0
            if target is not None:
                done = max(done, min(1.0, new_lower / target))
            progress(f"{label} greedy plan", done)
        lower = new_lower


def _exact(problem: Problem, level: str, states: list[BankState], greedy_picked: list[int], target: float | None,
           n_lines: int | None, time_limit: float | None, progress: Progress | None) -> dict[str, Any]:
    """Solve the plan exactly (HiGHS) on patient classes; compare with the greedy picks."""
    from .optimize import solve_exact

    w = _weights(problem)
    nb = problem.n_bank
    cand = np.arange(nb, problem.line_codes.shape[0])
    fresh = _states(problem, level, None)
    covers, weights, base = [], [], 0.0
    for wi, s in zip(w, fresh):
        c, wt, b = s.classes(cand)
        covers.append(c)
        weights.append(wi * wt)
        base += wi * b
    cover = np.concatenate(covers)
    weight = np.concatenate(weights)
    keep = cover.any(axis=1) & (weight > 0)
    cover, weight = cover[keep], weight[keep]
    if cover.shape[0]:
        uniq, inverse = np.unique(cover, axis=0, return_inverse=True)
        weight = np.bincount(inverse.reshape(-1), weights=weight, minlength=uniq.shape[0])
        cover = uniq
    sol = solve_exact(cover, weight, n_lines=n_lines if target is None else None, target=target, base=base,
                      time_limit=time_limit)
    greedy_cov = _mix(states, w)[0]
    out = {
        "lines": [problem.line_names[nb + c] for c in sol.chosen],
        **({"line_names": [problem.names[nb + c] for c in sol.chosen]} if problem.named else {}),
        "n_lines": len(sol.chosen),
        "coverage": sol.coverage,
        "optimal": sol.optimal,
        "status": sol.status,
        "greedy_lines": len(greedy_picked),
        "greedy_coverage": greedy_cov,
        "gap": sol.coverage - greedy_cov if target is None else len(greedy_picked) - len(sol.chosen),
        "gap_unit": "coverage" if target is None else "lines",
        "patient_classes": int(cover.shape[0]),
    }
    return out
