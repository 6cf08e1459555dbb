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
(:func:`hlamatch.kernels.planning.pick_update`), so a plan costs little more than one ranking pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from hlamatch._deprecation import renamed
from hlamatch.compute.arguments import check_tolerance
from hlamatch.compute.bank import BankState
from hlamatch.compute.candidates import top_lines
from hlamatch.compute.problem import Problem, prepare
from hlamatch.constants import LEVELS
from hlamatch.engine.setting import Progress
from hlamatch.errors import OptionError
from hlamatch.hla.lines import Line, as_lines
from hlamatch.hla.rules import MatchRules, rules_from
from hlamatch.results.definitions import WEIGHTED, Definition
from hlamatch.results.planning import PlanReport, PlanStep, RankedCandidate, RankReport, ReportContext
from hlamatch.table.model import HaplotypeTable
from hlamatch.table.populations import Populations, resolve_populations

__all__ = ["rank_candidates", "plan_bank", "DEFAULT_CANDIDATES"]

#: Candidates when none are given: the N most frequent haplotypes as homozygous lines.
DEFAULT_CANDIDATES = 100


def _level(level: str) -> str:
    if level not in LEVELS:
        raise OptionError(f"unknown level {level!r} for ranking and planning (choose from {', '.join(LEVELS)})")
    return level


# ====================================================================== API


def _check_lines(
    table: HaplotypeTable | str | None, n_lines: int, loci: Sequence[str] | None, change: str, params: tuple[str, ...]
) -> None:
    """Refuse, before any allocation, lines whose bitsets over the table's rows pass the memory budget."""
    from hlamatch.compute.budget import bitset_bytes, check_bytes
    from hlamatch.io.bundled import resolve_table

    tab = resolve_table(table)
    rows, n_loci = int(tab.codes.shape[0]), len(loci) if loci is not None else len(tab.loci)
    check_bytes(bitset_bytes(rows, n_loci, n_lines), f"{n_lines:,} lines over {rows:,} table rows", change, params)


def _candidates(
    table: HaplotypeTable | str | None,
    candidates: Iterable[str | Line] | None,
    n_candidates: int,
    populations: Populations,
    loci: Sequence[str] | None,
    resolution: str | None,
    bank: Sequence[Line] = (),
) -> list[Line]:
    if candidates is not None:
        cands = as_lines(candidates)
        if not cands:
            raise OptionError(
                "the candidate list is empty: give candidate lines or leave them out for the top haplotypes"
            )
        _check_lines(table, len(cands) + len(bank), loci, "fewer candidate lines (candidates)", ("candidates",))
        return cands  # candidates given that repeat a bank line are left out with a warning (prepare)
    if loci is None and bank:  # the default candidates at the loci the bank is typed at
        from hlamatch.hla.lines import line_loci
        from hlamatch.io.bundled import resolve_table

        tab = resolve_table(table)
        loci = list(line_loci(list(bank), tab.loci, tab.source))
    if isinstance(n_candidates, (int, np.integer)) and not isinstance(n_candidates, bool) and n_candidates >= 1:
        _check_lines(table, int(n_candidates) + len(bank), loci, "fewer candidates (n_candidates)", ("n_candidates",))
    top = top_lines(table, n_candidates, populations=populations, loci=loci, resolution=resolution, expressed_only=True)
    held = {ln.key for ln in bank}  # the default candidates leave out bank lines quietly: they add nothing
    cands = [ln for ln in top if ln.key not in held]
    if not cands:
        raise OptionError(
            f"the {len(top)} most frequent haplotypes (the default candidates) are all in the bank: "
            "take more of them (n_candidates) or give candidates",
            params=("n_candidates",),
        )
    return cands


def _groups(table: HaplotypeTable | str | None, populations: Populations) -> list[Populations]:
    """Population groups to rank or plan separately: each population alone, or one weighted mix."""
    from hlamatch.io.bundled import resolve_table

    tab = resolve_table(table)
    names, weights = resolve_populations(tab, populations)
    if weights is not None:
        return [dict(zip(names, weights))]
    return [[n] for n in names]


def _context(problem: Problem, level: str, tolerance: float = 0.0) -> ReportContext:
    definition = Definition.of(level, gain=True, weighted=problem.weights is not None)
    return ReportContext(
        level=level,
        loci=problem.loci,
        resolution=problem.resolution,
        rule=problem.rules.describe(problem.loci),
        rules=problem.rules.to_dict(),
        definition=definition,
        table=problem.source,
        bank=problem.line_names[: problem.n_bank],
        weights=problem.weight_map,
        tolerance=tolerance,
        bank_names=problem.names[: problem.n_bank] if problem.named else None,
    )


def _states(
    problem: Problem, level: str, progress: Progress | None, merge: bool = True, tolerance: float = 0.0
) -> list[BankState]:
    chosen = np.zeros(problem.line_codes.shape[0], dtype=np.bool_)
    chosen[: problem.n_bank] = True
    return [BankState(problem, pa, level, chosen, progress, merge, tolerance) for pa in problem.populations]


def _weights(problem: Problem) -> np.ndarray:
    return np.array(problem.weights if problem.weights is not None else [1.0])


def _group_label(problem: Problem) -> str:
    return WEIGHTED if problem.weights is not None else problem.populations[0].population


@renamed(registry_size="registry_sizes", since="0.2.0", removal="0.3.0")
def rank_candidates(
    table: HaplotypeTable | str | None = None,
    candidates: Iterable[str | Line] | None = None,
    *,
    bank: Iterable[str | Line] = (),
    n_candidates: int = DEFAULT_CANDIDATES,
    level: str = "genotype",
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    populations: Populations = None,
    rules: MatchRules | None = None,
    registry_sizes: Sequence[int] | int = (),
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
        null allele (see :func:`hlamatch.compute.candidates.top_lines`).
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
    registry_sizes : int or sequence of int
        Registry sizes R (whole numbers ≥ 1, each once): also report, for each, the probability
        that a registry of R typed people holds a donor (``p_in_registry``).  Formerly
        ``registry_size`` (one int; deprecated since 0.2.0, removal in 0.3.0).
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
    from hlamatch._jit import num_threads
    from hlamatch.compute.donor_math import donor_probability, people_per_donor, registry_probability

    rules = rules_from(rules, rule_options)
    level = _level(level)
    tolerance = check_tolerance(tolerance)
    sizes = _check_registry(registry_sizes, inbreeding)
    bank_lines = as_lines(bank)
    rows: list[RankedCandidate] = []
    base: dict[str, tuple[float, float]] = {}
    problem = None
    with num_threads(threads):
        for group in _groups(table, populations):
            cands = _candidates(table, candidates, n_candidates, group, loci, resolution, bank_lines)
            problem = prepare(
                table, bank_lines, candidates=cands, loci=loci, resolution=resolution, rules=rules, populations=group
            )
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
            p_all = np.where(
                het, donor_probability(f1, np.where(het, f2, 0.0), inbreeding), donor_probability(f1, None, inbreeding)
            )
            people = people_per_donor(p_all)
            p_reg = [registry_probability(p_all, R) for R in sizes]
            for r, t in enumerate(order):
                rows.append(
                    RankedCandidate(
                        rank=r + 1,
                        line=problem.line_names[t],
                        name=problem.names[t],
                        population=label,
                        gain=float(lo[t] - base_lo),
                        coverage=float(lo[t]),
                        lower=float(lo[t]),
                        upper=float(hi[t]),
                        frequency=None if het[t] else float(f1[t]),
                        p_donor=float(p_all[t]),
                        people_per_donor=float(people[t]),
                        p_in_registry=tuple(float(p[t]) for p in p_reg),
                        coverage_by_population=None
                        if problem.weights is None
                        else {s.population: float(a[0][t]) for s, a in zip(states, afters)},
                    )
                )
    assert problem is not None
    return RankReport(tuple(rows), base, _context(problem, level, tolerance), sizes, float(inbreeding))


def _check_registry(registry_sizes: Sequence[int] | int | None, inbreeding: float) -> tuple[int, ...]:
    from hlamatch.api.supply import registry_sizes_argument
    from hlamatch.compute.donor_math import check_inbreeding

    sizes = registry_sizes_argument(() if registry_sizes is None else registry_sizes)
    check_inbreeding(inbreeding)
    return sizes


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


@renamed(n_lines="max_lines", since="0.2.0", removal="0.3.0")
def plan_bank(
    table: HaplotypeTable | str | None = None,
    candidates: Iterable[str | Line] | None = None,
    *,
    bank: Iterable[str | Line] = (),
    n_candidates: int = DEFAULT_CANDIDATES,
    target: float | None = None,
    max_lines: int | None = None,
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

    The parameters not listed below are those of :func:`rank_candidates`.

    Parameters
    ----------
    target : float, optional
        Stop when the coverage (lower bound; of the mix for weighted populations) reaches it.
    max_lines : int, optional
        Stop after this many added lines.  At least one of ``target`` and ``max_lines``.  Formerly
        ``n_lines`` (deprecated since 0.2.0, removal in 0.3.0).
    exact : bool
        Also solve the same selection exactly by integer programming (small instances; needs
        the extra ``hlamatch[exact]``) and report greedy's gap to the optimum.
    tolerance : float
        As for :func:`rank_candidates` (greedy plans only).

    Returns
    -------
    PlanReport

    Examples
    --------
    >>> from hlamatch import plan_bank
    >>> p = plan_bank("japanese", n_candidates=20, max_lines=3, loci=["A", "B", "DRB1"], level="haplotype")
    >>> [s.step for s in p]
    [0, 1, 2, 3]
    """
    from hlamatch._jit import num_threads

    rules = rules_from(rules, rule_options)
    level = _level(level)
    tolerance = check_tolerance(tolerance)
    if exact and tolerance > 0:
        raise OptionError(
            "the integer-programming plan needs every patient pair: drop tolerance or exact",
            params=("tolerance", "exact"),
        )
    if target is None and max_lines is None:
        raise OptionError(
            "give target (a coverage, e.g. 0.8), max_lines (a number of lines, e.g. 50), or both",
            params=("target", "max_lines"),
        )
    if target is not None and not (isinstance(target, (int, float)) and 0 < float(target) <= 1):
        raise OptionError(f"target coverage must be a number in (0, 1], got {target!r}")
    if max_lines is not None and (
        not isinstance(max_lines, (int, np.integer)) or isinstance(max_lines, bool) or max_lines < 1
    ):
        raise OptionError(f"max_lines must be a whole number ≥ 1, got {max_lines!r}", params=("max_lines",))
    bank_lines = as_lines(bank)
    steps: list[PlanStep] = []
    reached: dict[str, bool] = {}
    why: dict[str, str] = {}
    exact_out: dict[str, dict[str, Any]] = {}
    problem = None
    with num_threads(threads):
        for group in _groups(table, populations):
            cands = _candidates(table, candidates, n_candidates, group, loci, resolution, bank_lines)
            problem = prepare(
                table, bank_lines, candidates=cands, loci=loci, resolution=resolution, rules=rules, populations=group
            )
            states = _states(problem, level, progress, tolerance=tolerance)
            if exact:  # a plan too large to solve exactly is refused before the greedy plan runs
                for s in states:
                    s.check_exact_size()
            label = _group_label(problem)
            picked, ok, reason = _greedy(problem, states, label, target, max_lines, steps, progress)
            reached[label], why[label] = ok, reason
            if exact:
                exact_out[label] = _exact(problem, level, states, picked, target, max_lines, time_limit, progress)
    assert problem is not None
    return PlanReport(
        tuple(steps),
        _context(problem, level, tolerance),
        None if target is None else float(target),
        max_lines,
        reached,
        why,
        exact_out or None,
    )


def _mix(states: Sequence[BankState], w: np.ndarray) -> tuple[float, float, dict[str, float]]:
    b = [s.bounds() for s in states]
    return (
        float(sum(wi * x[0] for wi, x in zip(w, b))),
        float(sum(wi * x[1] for wi, x in zip(w, b))),
        {s.population: x[0] for s, x in zip(states, b)},
    )


def _greedy(
    problem: Problem,
    states: list[BankState],
    label: str,
    target: float | None,
    n_lines: int | None,
    steps: list[PlanStep],
    progress: Progress | None = None,
) -> tuple[list[int], bool, str]:
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
        steps.append(
            PlanStep(
                len(picked),
                problem.line_names[t],
                problem.names[t],
                label,
                new_lower - lower,
                new_lower,
                new_lower,
                upper,
                by_pop if weighted else None,
            )
        )
        if progress is not None:
            done = len(picked) / n_lines if n_lines is not None else 0.0
            if target is not None:
                done = max(done, min(1.0, new_lower / target))
            progress(f"{label} greedy plan", done)
        lower = new_lower


def _exact(
    problem: Problem,
    level: str,
    states: list[BankState],
    greedy_picked: list[int],
    target: float | None,
    n_lines: int | None,
    time_limit: float | None,
    progress: Progress | None,
) -> dict[str, Any]:
    """Solve the plan exactly (HiGHS) on patient classes; compare with the greedy picks."""
    from hlamatch.compute.optimize import solve_exact

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
    sol = solve_exact(
        cover, weight, n_lines=n_lines if target is None else None, target=target, base=base, time_limit=time_limit
    )
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
