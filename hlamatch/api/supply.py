"""Donor supply: how many people to type to find homozygous donors, and what a registry holds.

Definitions (section "Donor supply" of ``docs/matching-model.md``; every report carries them):

* A random person is **homozygous** for haplotype h with probability
  ``p_h = (1 − F)·f_h² + F·f_h`` under Hardy–Weinberg equilibrium with inbreeding coefficient F
  (default 0: plain HWE, ``p_h = f_h²``; F = 1: every person is homozygous, ``p_h = f_h``).  A
  person has the heterozygous genotype (d1, d2) with probability ``2·(1 − F)·f_d1·f_d2``.
* **People to type per donor found**: ``1 / p`` (infinite when p = 0).
* **Probability that a registry of R typed people holds at least one**: ``1 − (1 − p)^R``.
* **Expected distinct homozygous lines** in a registry of R: ``Σ_h [1 − (1 − p_h)^R]`` over the
  haplotypes the table LISTS for the population.  Unlisted haplotypes also give homozygous
  people, in unknown number, so this is a lower bound on the distinct homozygous haplotypes.
* **Expected coverage of the registry's bank**: the R people are independent draws, so the
  numbers of people homozygous for each listed haplotype, and of everybody else, are
  multinomial.  The bank B is the set of listed haplotypes with at least one homozygous person;
  the figure is E[coverage(B)] at haplotype and/or genotype level, under the match rules.

How the expectation is computed (each result says which):

* **exact** (haplotype level, default rule of zero HvG mismatches).  A patient chromosome h is
  matched by the bank iff B holds a haplotype of ``C(h)``, the listed haplotypes whose line
  matches h: h itself and any haplotype equal to h at every locus where it carries an expressed
  allele (a null allele is never a mismatch).  With ``T`` the listed mass of unmatched
  chromosomes and U the unlisted mass, coverage(B) = ``1 − (U + T)²`` (lower bound: unlisted
  chromosomes never match, unless B holds a line with no expressed allele at all), so
  E[coverage] = ``1 − E[(U + T)²]`` needs only P(h unmatched) = ``(1 − Q_h)^R`` and
  P(h and g unmatched) = ``(1 − Q_h − Q_g + Q_hg)^R`` with ``Q_h = Σ_{d∈C(h)} p_d`` and
  ``Q_hg`` the p-mass of ``C(h) ∩ C(g)`` (zero unless null alleles are involved).  Summing over
  all pairs in chunks is O(n²) and exact up to rounding.  Upper bound: unlisted chromosomes as
  wildcards that match whenever possible, as :func:`hlamatch.coverage` defines it for a bank:
  coverage(B) = ``1 − T²`` when B is not empty (0 when it is), so
  E[upper] = ``1 − E[T²] − P(B = ∅)·(1 − L²)``, L = 1 − U, P(B = ∅) = ``(1 − Σ_h p_h)^R``.
* **Monte Carlo** (genotype level, any other rule, or when asked): ``samples`` multinomial draws
  of the registry with ``numpy.random.default_rng(seed)``; each gives B, whose coverage bounds
  :func:`hlamatch.compute.bounds.bank_bounds` computes exactly.  The report gives the mean, its standard
  error (sample standard deviation / √samples) and the normal 95% interval mean ± 1.96·SE,
  clipped to [0, 1].  Every registry size and population starts from the same seed, and both
  levels are evaluated on the same draws.

Both bounds concern the bank of LISTED homozygous haplotypes: lines homozygous for unlisted
haplotypes are unknown and not counted (at haplotype level they can only match patients carrying
an unlisted chromosome, which the upper bound already counts as matched).

A **weighted mix** of populations (weights w_p): per population, the report describes a registry
of that population alone; the ``"weighted"`` rows describe one registry drawn from the mix (a
person comes from population p with probability w_p, so ``p_h = Σ_p w_p·p_h,p``) whose bank
serves the mix of patients: E[Σ_p w_p·coverage_p(B)].
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hlamatch._deprecation import renamed
from hlamatch.compute.candidates import top_lines
from hlamatch.compute.donor_math import check_inbreeding, check_registry_size
from hlamatch.compute.problem import prepare
from hlamatch.compute.registry import candidate_rows, registry_models, registry_rows
from hlamatch.constants import LEVEL_CHOICES, LEVELS
from hlamatch.engine.setting import Progress
from hlamatch.errors import OptionError
from hlamatch.hla.lines import Line, as_lines
from hlamatch.hla.rules import MatchRules
from hlamatch.results.supply import SUPPLY_DEFINITIONS, CandidateSupply, RegistrySupply, SupplyReport
from hlamatch.table.model import HaplotypeTable
from hlamatch.table.populations import Populations

__all__ = ["METHODS", "supply"]

#: How expected registry coverage may be computed: ``auto`` = exact where it can be, Monte Carlo
#: elsewhere; ``exact`` = exact or an error; ``monte-carlo`` = Monte Carlo everywhere.
METHODS: tuple[str, ...] = ("auto", "exact", "monte-carlo")


#: Label of a weighted mix's rows (the same as :data:`hlamatch.results.definitions.WEIGHTED`).


# ====================================================================== the API


def _whole(value: object, name: str, minimum: int) -> int:
    from hlamatch.compute.arguments import check_whole

    return check_whole(value, name, minimum)


def registry_sizes_argument(registry_sizes: Sequence[int] | int) -> tuple[int, ...]:
    """Registry sizes as a tuple of distinct ints ≥ 1 (one int: a one-size tuple).

    Raises
    ------
    OptionError
        A size that is not a whole number ≥ 1, or one given twice.
    """
    sizes: Sequence[Any] = (
        (registry_sizes,)
        if isinstance(registry_sizes, (int, np.integer)) or not isinstance(registry_sizes, Iterable)
        else list(registry_sizes)
    )
    out: list[int] = []
    for raw in sizes:
        R = check_registry_size(raw)
        if R in out:
            raise OptionError(f"registry size {R} is given twice")
        out.append(R)
    return tuple(out)


def _check_sizes(
    tab: HaplotypeTable,
    candidates: Iterable[str | Line] | None,
    top: int,
    populations: Populations,
    loci: Sequence[str] | None,
    sizes: tuple[int, ...],
    monte_carlo: bool,
) -> None:
    """Refuse, before any allocation, a request whose line bitsets pass the memory budget: the
    candidates (``n_candidates`` per population), and each Monte Carlo draw's bank (up to R lines)."""
    from hlamatch.compute.budget import bitset_bytes, check_bytes
    from hlamatch.table.populations import resolve_populations

    rows, n_loci = int(tab.codes.shape[0]), len(loci) if loci is not None else len(tab.loci)
    if candidates is None:
        names, weights = resolve_populations(tab, populations)
        n_lines = top if weights is not None else top * len(names)
        check_bytes(
            bitset_bytes(rows, n_loci, n_lines),
            f"the top {top:,} haplotypes as lines over {rows:,} table rows",
            "fewer candidates (n_candidates)",
            ("n_candidates",),
        )
    if monte_carlo and sizes:
        bank = min(max(sizes), rows)
        check_bytes(
            bitset_bytes(rows, n_loci, bank),
            f"a Monte Carlo draw's bank of up to {bank:,} lines over {rows:,} table rows",
            "smaller registry sizes (registry_sizes) or level 'haplotype'",
            ("registry_sizes", "level"),
        )


@renamed(top="n_candidates", since="0.2.0", removal="0.3.0")
def supply(
    table: HaplotypeTable | str | Path | None = None,
    candidates: Iterable[str | Line] | None = None,
    *,
    n_candidates: int = 20,
    registry_sizes: Sequence[int] | int = (),
    inbreeding: float = 0.0,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    populations: Populations = None,
    level: str = "both",
    rules: MatchRules | None = None,
    samples: int = 200,
    seed: int = 0,
    method: str = "auto",
    threads: int | None = None,
    progress: Progress | None = None,
) -> SupplyReport:
    """Donor-supply figures: people to type per donor, and what registries of R people hold.

    Parameters
    ----------
    table : HaplotypeTable, bundled name or path, optional
        Default: the default bundled table.
    candidates : iterable of str or Line, optional
        Lines to report per-donor figures for (homozygous or heterozygous).  Default: the
        ``n_candidates`` most frequent haplotypes as homozygous lines (:func:`hlamatch.compute.candidates.top_lines`): of each
        population; of the weighted frequency for a weighted mix.
    n_candidates : int
        How many default candidates (≥ 1).  Formerly ``top`` (deprecated since 0.2.0, removal in 0.3.0).
    registry_sizes : int or sequence of int
        Registry sizes R (whole numbers ≥ 1, each once) for ``p_in_registry``, the expected
        distinct lines and the expected coverage.
    inbreeding : float
        Inbreeding coefficient F in [0, 1].
    loci, resolution : optional
        Loci and resolution of the computation (default: the candidates' loci, all table loci
        without candidates; the table's resolution).
    populations : str, sequence of str or mapping of str to float, optional
        Default: every population.  A mapping weights a mix (normalised to sum 1): the report then
        also holds population ``"weighted"`` rows (see the module docstring).
    level : {"haplotype", "genotype", "both"}
    rules : MatchRules, optional
        Match rules of the coverage expectation (default zero HvG mismatches).
    samples, seed : int
        Monte Carlo draws (≥ 1) and the seed of ``numpy.random.default_rng`` (≥ 0).
    method : {"auto", "exact", "monte-carlo"}
        ``auto``: exact at haplotype level under the default rule, Monte Carlo otherwise;
        ``exact``: an error where exact is not available; ``monte-carlo``: Monte Carlo everywhere
        (e.g. to check the exact figures).
    threads : int, optional
        Numba threads for this call (restored afterwards).  Monte Carlo evaluates one small bank
        per draw: on small tables one thread avoids the parallel start-up cost of every call.
    progress : callable, optional
        ``progress(label, fraction_done)`` during long computations.

    Returns
    -------
    SupplyReport

    Raises
    ------
    OptionError
        A bad argument (the message names it and the value).
    HlamatchError
        Bad table, candidates, loci, resolution, populations or rules.
    """
    from hlamatch.io.bundled import resolve_table
    from hlamatch.table.populations import resolve_populations

    top = _whole(n_candidates, "n_candidates", 1)
    sizes = registry_sizes_argument(registry_sizes)
    F = check_inbreeding(inbreeding)
    samples = _whole(samples, "samples", 1)
    seed = _whole(seed, "seed", 0)
    if not isinstance(level, str) or level not in LEVEL_CHOICES:
        raise OptionError(f"unknown level {level!r} (choose from {', '.join(LEVEL_CHOICES)})")
    levels = LEVELS if level == "both" else (level,)
    from hlamatch._jit import check_threads
    from hlamatch.compute.arguments import check_rules
    from hlamatch.constants import SAMPLES_MEMORY_BYTES

    check_rules(rules)
    check_threads(threads)
    if sizes and 16 * len(levels) * samples > SAMPLES_MEMORY_BYTES:
        raise OptionError(
            f"samples {samples} would need {16 * len(levels) * samples / 2**30:.3g} GiB for the Monte Carlo draws "
            f"(limit {SAMPLES_MEMORY_BYTES / 2**30:g} GiB): use samples ≤ {SAMPLES_MEMORY_BYTES // (16 * len(levels))}",
            params=("samples",),
        )
    if not isinstance(method, str) or method not in METHODS:
        raise OptionError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    rules = rules if rules is not None else MatchRules()
    exact_levels = (
        () if method == "monte-carlo" else tuple(lv for lv in levels if lv == "haplotype" and rules.is_default)
    )
    if method == "exact" and len(exact_levels) < len(levels):
        raise OptionError(
            "the exact method covers the haplotype level under the default rule (zero HvG mismatches) only; "
            f"use method 'auto' or 'monte-carlo' for level {level!r} with rule '{rules.describe()}'"
        )

    tab = resolve_table(table)
    _check_sizes(tab, candidates, top, populations, loci, sizes, len(exact_levels) < len(levels))
    # Candidates: given, or each population's top haplotypes (the weighted top for a mix).
    if candidates is not None:
        cand_lines = as_lines(candidates)
        per_label = None
    else:
        names, weights = resolve_populations(tab, populations)
        if weights is not None:
            cand_lines = top_lines(tab, top, populations=dict(zip(names, weights)), loci=loci, resolution=resolution)
            per_label = None
        else:
            tops = {
                pop: [ln.text() for ln in top_lines(tab, top, populations=pop, loci=loci, resolution=resolution)]
                for pop in names
            }
            texts = list(dict.fromkeys(t for ts in tops.values() for t in ts))
            cand_lines = as_lines(texts)
            per_label = {pop: [texts.index(t) for t in ts] for pop, ts in tops.items()}
    problem = prepare(
        tab, (), candidates=cand_lines, loci=loci, resolution=resolution, rules=rules, populations=populations
    )

    regs = registry_models(problem, F)
    all_cands = list(range(len(problem.candidates)))
    cand_rows: list[CandidateSupply] = []
    for reg in regs:
        which = all_cands if per_label is None or reg.label not in per_label else per_label[reg.label]
        cand_rows += candidate_rows(problem, reg.pops, reg.weights, reg.label, which, sizes, F)

    registries: list[RegistrySupply] = []
    if sizes:
        from hlamatch._jit import num_threads

        with num_threads(threads):
            for reg in regs:
                registries += registry_rows(problem, reg, sizes, levels, exact_levels, samples, seed, progress)

    from hlamatch.results.definitions import Definition

    return SupplyReport(
        table=problem.source,
        loci=problem.loci,
        resolution=problem.resolution,
        rule=rules.describe(problem.loci),
        rules=rules.to_dict(),
        inbreeding=F,
        registry_sizes=sizes,
        levels=tuple(levels),
        method=method,
        samples=samples,
        seed=seed,
        weights=problem.weight_map,
        unlisted_mass={pa.population: pa.unlisted for pa in problem.populations},
        definitions={**SUPPLY_DEFINITIONS, **{lev: Definition.of(lev) for lev in levels}},
        candidates=tuple(cand_rows),
        registries=tuple(registries),
    )
