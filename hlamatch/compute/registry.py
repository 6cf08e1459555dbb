"""Registry models of donor supply: exact (haplotype level) and seeded Monte Carlo."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hlamatch.compute.budget import check_seconds
from hlamatch.compute.donor_math import (
    _log1m,
    donor_probability,
    expected_distinct,
    people_per_donor,
    registry_probability,
)
from hlamatch.compute.problem import PopulationArrays, Problem
from hlamatch.engine.setting import Progress
from hlamatch.results.definitions import WEIGHTED
from hlamatch.results.supply import CandidateSupply, LevelSupply, RegistrySupply
from hlamatch.table.rows import group_sums, key_groups, row_groups

#: z-value of a two-sided 95% normal interval.
_Z95 = 1.959963984540054


#: Elements of one chunk of the O(n²) pair sum (float64: 16 MB).
_CHUNK_ELEMENTS = 2_000_000


# ====================================================================== registry models


@dataclass(frozen=True, eq=False)
class _Registry:
    """A registry's people and the patients its bank serves.

    rows : int64 (n,) table rows a homozygous person can be found for (p > 0);
    p : float64 (n,) homozygosity probability of each;
    freqs : float64 (n, k) frequency of each row in each patient population;
    pops : the k patient populations, with ``weights`` (k,) summing to 1.
    """

    label: str
    rows: np.ndarray
    p: np.ndarray
    freqs: np.ndarray
    pops: tuple[PopulationArrays, ...]
    weights: np.ndarray


def registry_models(problem: Problem, F: float) -> list[_Registry]:
    tab = problem.table
    out = []
    for pa in problem.populations:
        rows = np.asarray(tab.population_rows(pa.population), dtype=np.int64)
        f = tab.freqs[rows, tab.population_index(pa.population)]
        out.append(
            _Registry(
                pa.population,
                rows,
                np.asarray(donor_probability(f, inbreeding=F), dtype=np.float64),
                np.ascontiguousarray(f[:, None]),
                (pa,),
                np.ones(1),
            )
        )
    if problem.weights is not None:
        cols = [tab.population_index(pa.population) for pa in problem.populations]
        w = np.asarray(problem.weights, dtype=np.float64)
        p_all = np.asarray(donor_probability(tab.freqs[:, cols], inbreeding=F)) @ w
        rows = np.flatnonzero(p_all > 0)
        out.append(
            _Registry(
                WEIGHTED,
                rows,
                p_all[rows],
                np.ascontiguousarray(tab.freqs[np.ix_(rows, np.asarray(cols))]),
                problem.populations,
                w,
            )
        )
    return out


# ====================================================================== exact (haplotype level)


def _matcher_structure(codes: np.ndarray, nulls: np.ndarray, p: np.ndarray):
    """Who matches whom at haplotype level under zero HvG mismatches, as probability masses.

    A homozygous line d matches chromosome h iff at every locus d's allele is null or equals
    h's.  Without null alleles that is d = h.

    Parameters
    ----------
    codes : int32 (n, n_loci); nulls : bool (n, n_loci); p : float64 (n,)
        The registry's rows, their null flags and homozygosity probabilities.

    Returns
    -------
    z : float
        p-mass of rows with no expressed allele (they match every chromosome, listed or not).
    q : float64 (n,)
        ``Q_h − z``: p-mass of the other rows whose line matches h (h itself included).
    pairs : (int64 (m,), int64 (m,), float64 (m,))
        Ordered pairs (h, g), h ≠ g, whose matcher sets share rows other than the all-null ones,
        and the p-mass they share.
    """
    n = codes.shape[0]
    any_null = nulls.any(axis=1)
    all_null = nulls.all(axis=1)
    z = math.fsum(p[all_null].tolist())
    q = np.where(any_null, 0.0, p)
    partial = np.flatnonzero(any_null & ~all_null)
    hs: list[np.ndarray] = []
    gs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    n_pairs = 0
    if partial.size:
        from hlamatch.compute.budget import check_bytes

        masks = nulls[partial]
        first, which = row_groups(masks)
        for kind, mask in enumerate(masks[first]):
            expressed = np.flatnonzero(~mask)
            # Group every row by its alleles at the loci where these lines are expressed: a line
            # matches exactly the rows of its own group.
            group = row_groups(codes[:, expressed])[1]
            order = np.argsort(group, kind="stable")
            sorted_group = group[order]
            for d in partial[which == kind]:
                lo, hi = np.searchsorted(sorted_group, [group[d], group[d] + 1])
                members = order[lo:hi]
                q[members] += p[d]
                if members.size > 1:
                    n_pairs += members.size * (members.size - 1)
                    check_bytes(
                        48 * n_pairs,
                        f"the exact supply model's {n_pairs:,} pairs of haplotypes that "
                        "lines with null alleles match together",
                        "fewer loci (loci) or method 'monte-carlo'",
                        ("loci", "method"),
                    )
                    hh, gg = np.meshgrid(members, members, indexing="ij")
                    off = hh != gg
                    hs.append(hh[off])
                    gs.append(gg[off])
                    ws.append(np.full(int(off.sum()), p[d]))
    if hs:
        key = np.concatenate(hs) * n + np.concatenate(gs)
        first, inv = key_groups(key)
        uniq = key[first]
        pairs = (uniq // n, uniq % n, group_sums(inv, np.concatenate(ws), first.shape[0]))
    else:
        empty = np.zeros(0, dtype=np.int64)
        pairs = (empty, empty, np.zeros(0))
    return z, q, pairs


#: Rows whose matcher mass u = q / (1 − z) is above this are summed pair by pair in
#: :func:`_dense_sums` (at most 1 / _BIG of them without null alleles: Σ u ≤ 1); the others by a
#: binomial expansion whose ratio u / (1 − u) is then at most 1/3.
_BIG = 0.25

#: The expansion stops when a bound on the rest of its terms is below this.
_TAIL = 1e-18


def _dense_sums(z: float, q: np.ndarray, f: np.ndarray, R: int) -> list[list[float]]:
    """Σ_{h,g} f_h f_g (1 − z − q_h − q_g)^R per column of ``f`` (h = g included), in O(n) passes.

    With c = 1 − z and u = q / c the term is c^R (1 − u_h − u_g)^R.  Rows with u ≤ 1/4
    ("small"): since 1 − u_h − u_g = (1 − u_h)(1 − u_g) − u_h u_g, the binomial theorem gives
    Σ_{h,g} f_h f_g (1 − u_h − u_g)^R = Σ_k (−1)^k C(R, k) M_k²  with
    M_k = Σ_h f_h u_h^k (1 − u_h)^(R−k): separable terms, one O(n) pass each.  Term k is at most
    M_k in size (C(R, k)·M_k = Σ_h f_h Binomial(k; R, u_h) ≤ 1), and
    Σ_{k≥K} M_k ≤ Σ_h f_h (1 − u_h)^R r_h^K / (1 − r_h), r = u / (1 − u) ≤ 1/3: terms are added
    until that bound is below :data:`_TAIL` (about 40 passes at most, fewer for large R).  Pairs
    with a "big" row (few: Σ u ≤ 1 without null alleles) are summed directly, chunked, with the
    same ``_log1m`` as the corrections of :func:`_exact_haplotype`.

    Returns
    -------
    list of list of float
        Per column, the parts to ``math.fsum``.
    """
    n, k = f.shape
    out: list[list[float]] = [[] for _ in range(k)]
    c = 1.0 - z
    if n == 0 or c <= 0.0:
        return out
    u = q / c
    big = u > _BIG
    small = np.flatnonzero(~big)
    scale = math.exp(R * math.log1p(-z)) if z < 1.0 else 0.0
    if small.size and scale > 0.0:
        fs, us = f[small], u[small]
        with np.errstate(divide="ignore"):
            lu = np.log(us)
            l1 = np.log1p(-us)
            lr = lu - l1
        w = fs.max(axis=1)
        lg_r = math.lgamma(R + 1)
        for kk in range(R + 1):
            log_m = (kk * lu if kk else 0.0) + (R - kk) * l1
            m = np.exp(log_m) @ fs  # M_k per column
            lc = lg_r - math.lgamma(kk + 1) - math.lgamma(R - kk + 1)
            binom = np.exp(lc + log_m) @ fs  # C(R, k)·M_k ≤ 1
            term = (binom * m) * (scale if kk % 2 == 0 else -scale)
            for j in range(k):
                out[j].append(float(term[j]))
            nxt = kk + 1
            if nxt > R:
                break
            with np.errstate(under="ignore"):
                rest = float(np.sum(w * np.exp(R * l1 + nxt * lr) / (1.0 - np.exp(lr))))
            if rest * scale < _TAIL:
                break
    rows = np.flatnonzero(big)
    if rows.size:
        # Σ_{h big, g any} twice, less Σ_{h, g big} (counted twice), so every pair with a big row once.
        step = max(1, _CHUNK_ELEMENTS // n)
        for start in range(0, rows.size, step):
            hb = rows[start : start + step]
            x = np.exp(R * _log1m(z + q[hb, None] + q[None, :]))  # (chunk, n)
            whole = np.einsum("ck,ck->k", f[hb], x @ f)
            both = np.einsum("ck,ck->k", f[hb], x[:, rows] @ f[rows])
            for j in range(k):
                out[j] += [2.0 * float(whole[j]), -float(both[j])]
    return out


def _exact_haplotype(
    reg: _Registry, nulls: np.ndarray, codes: np.ndarray, sizes: Sequence[int], progress: Progress | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact E[lower] and E[upper] haplotype-level coverage of a registry's bank (default rule).

    Parameters
    ----------
    reg : _Registry
    nulls, codes : numpy.ndarray
        bool / int32 (n, n_loci) of the registry's rows.
    sizes : sequence of int
        Registry sizes.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        float64 arrays of shape (len(sizes), k): per registry size and patient population.
    """
    z, q, (ph, pg, shared) = _matcher_structure(codes, nulls, reg.p)
    f = reg.freqs
    n, k = f.shape
    sizes = [int(R) for R in sizes]
    # dense[i][j]: parts of Σ_{h,g} f_h f_g (1 − z − q_h − q_g)^R over ALL ordered pairs (h = g too).
    label = f"{reg.label} supply (exact)"
    dense: list[list[list[float]]] = []
    for i, R in enumerate(sizes):
        dense.append(_dense_sums(z, q, f, R))
        if progress is not None:
            progress(label, (i + 1) / len(sizes))
    lower = np.empty((len(sizes), k))
    upper = np.empty((len(sizes), k))
    unlisted = np.array([pa.unlisted for pa in reg.pops])
    total_p = math.fsum(reg.p.tolist())
    for i, R in enumerate(sizes):
        a = np.exp(R * _log1m(z + q))  # P(h unmatched)
        e_diag = np.exp(R * _log1m(z + 2.0 * q))  # dense's h = g term
        e_pair = np.exp(R * _log1m(z + q[ph] + q[pg]))  # dense's term for shared pairs
        b_pair = np.exp(R * _log1m(z + q[ph] + q[pg] - shared))  # P(h and g unmatched)
        p_empty = float(np.exp(R * _log1m(np.float64(total_p))))
        p_novel = float(np.exp(R * _log1m(np.float64(z))))  # P(an unlisted chromosome unmatched)
        for j in range(k):
            fj = f[:, j]
            t2 = math.fsum(
                dense[i][j] + (fj * fj * (a - e_diag)).tolist() + (fj[ph] * fj[pg] * (b_pair - e_pair)).tolist()
            )  # E[T²]
            ta = math.fsum((fj * a).tolist())  # E[T]
            U = float(unlisted[j])
            lower[i, j] = 1.0 - (t2 + 2.0 * U * ta + U * U * p_novel)
            upper[i, j] = 1.0 - t2 - p_empty * (1.0 - (1.0 - U) ** 2)
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


# ====================================================================== Monte Carlo


#: Distinct banks whose coverage a Monte Carlo run remembers (repeats cost nothing).
_SEEN_MAX = 100_000


def _monte_carlo(
    problem: Problem,
    reg: _Registry,
    codes: np.ndarray,
    nulls: np.ndarray,
    R: int,
    levels: Sequence[str],
    samples: int,
    seed: int,
    progress: Progress | None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weighted lower and upper coverage of ``samples`` registries' banks, per level.

    Returns
    -------
    dict
        level → (lower, upper), float64 arrays of shape (samples,): Σ_p w_p·coverage_p per draw.
    """
    from hlamatch.compute.bounds import bank_bounds

    rng = np.random.default_rng(seed)
    pvals = np.append(reg.p, max(0.0, 1.0 - math.fsum(reg.p.tolist())))
    out = {lev: (np.empty(samples), np.empty(samples)) for lev in levels}
    seen: dict[bytes, dict[str, tuple[float, float]]] = {}
    label = f"{reg.label} supply R={R} (monte carlo)"
    every = max(1, samples // 50)
    start, checked = 0.0, False
    for s in range(samples):
        if s == 1:  # the clock starts after the first draw, which may compile kernels
            start = time.perf_counter()
        elif not checked and s > 1 and (time.perf_counter() - start > 1.0 or s == 65):
            # project the whole run from its first draws (new banks cost the most: an over-estimate)
            checked = True
            check_seconds(
                (time.perf_counter() - start) / (s - 1) * samples,
                f"Monte Carlo with {samples:,} draws (R={R:,}; measured over the first {s - 1})",
                "fewer draws (samples)",
                ("samples",),
            )
        if len(seen) >= _SEEN_MAX:  # memory O(n + _SEEN_MAX), whatever the number of samples
            seen.clear()
        # One draw at a time (memory O(n)); the stream is the same as one call with size=samples.
        bank = np.flatnonzero(rng.multinomial(R, pvals)[:-1] > 0)
        key = bank.tobytes()
        if key not in seen:
            lc = np.ascontiguousarray(np.repeat(codes[bank][:, None, :], 2, axis=1), dtype=np.int32)
            ln = np.ascontiguousarray(np.repeat(nulls[bank][:, None, :], 2, axis=1))
            got = {}
            for lev in levels:
                lo = hi = 0.0
                for w, pa in zip(reg.weights, reg.pops):
                    lower, upper, _, _ = bank_bounds(problem, pa, lev, lc, ln)
                    lo += float(w) * lower
                    hi += float(w) * upper
                got[lev] = (lo, hi)
            seen[key] = got
        for lev in levels:
            out[lev][0][s], out[lev][1][s] = seen[key][lev]
        if progress is not None and ((s + 1) % every == 0 or s + 1 == samples):
            progress(label, (s + 1) / samples)
    return out


def _summary(level: str, lower: np.ndarray, upper: np.ndarray, method: str) -> LevelSupply:
    mean = float(np.mean(lower))
    se = float(np.std(lower, ddof=1) / math.sqrt(lower.shape[0])) if lower.shape[0] > 1 else math.nan
    lo, hi = (mean - _Z95 * se, mean + _Z95 * se) if math.isfinite(se) else (math.nan, math.nan)
    return LevelSupply(
        level=level,
        expected_coverage=mean,
        expected_upper=float(np.mean(upper)),
        standard_error=se,
        ci_low=max(0.0, lo) if math.isfinite(lo) else lo,
        ci_high=min(1.0, hi) if math.isfinite(hi) else hi,
        method=method,
    )


# ====================================================================== candidates


def candidate_rows(
    problem: Problem,
    reg_pops: Sequence[PopulationArrays],
    weights: np.ndarray,
    label: str,
    which: Sequence[int],
    sizes: Sequence[int],
    F: float,
) -> list[CandidateSupply]:
    tab = problem.table
    index = {tuple(c): r for r, c in enumerate(tab.codes.tolist())}
    cols = [tab.population_index(pa.population) for pa in reg_pops]
    out = []
    for c in which:
        t = problem.n_bank + c
        h1, h2 = (tuple(problem.line_codes[t, h].tolist()) for h in (0, 1))
        homozygous = h1 == h2
        f1 = np.array([tab.freqs[index[h1], col] if h1 in index else 0.0 for col in cols])
        f2 = np.array([tab.freqs[index[h2], col] if h2 in index else 0.0 for col in cols])
        p = donor_probability(f1, None if homozygous else f2, inbreeding=F)
        p_mix = float(np.dot(weights, p))
        out.append(
            CandidateSupply(
                population=label,
                line=problem.line_names[t],
                homozygous=homozygous,
                frequency=float(np.dot(weights, f1)),
                frequency_2=None if homozygous else float(np.dot(weights, f2)),
                p_donor=p_mix,
                people_per_donor=float(people_per_donor(p_mix)),
                p_in_registry=tuple(float(registry_probability(p_mix, R)) for R in sizes),
                name=problem.names[t] if problem.named else None,
            )
        )
    return out


def registry_rows(
    problem: Problem,
    reg: _Registry,
    sizes: Sequence[int],
    levels: Sequence[str],
    exact_levels: Sequence[str],
    samples: int,
    seed: int,
    progress: Progress | None,
) -> list[RegistrySupply]:
    """Expected distinct lines and bank coverage of one registry model, per registry size."""
    from hlamatch.compute.encode import allele_nulls

    codes = np.ascontiguousarray(problem.table.codes[reg.rows])
    nulls = allele_nulls(codes, problem.table.alleles)
    results: dict[tuple[int, str], LevelSupply] = {}
    if exact_levels:
        lower, upper = _exact_haplotype(reg, nulls, codes, sizes, progress)
        for i, R in enumerate(sizes):
            lo, hi = float(reg.weights @ lower[i]), float(reg.weights @ upper[i])
            results[(R, "haplotype")] = LevelSupply("haplotype", lo, hi, 0.0, lo, lo, "exact")
    mc_levels = tuple(lv for lv in levels if lv not in exact_levels)
    p_total = np.float64(math.fsum(reg.p.tolist()))
    out = []
    for R in sizes:
        if mc_levels:
            draws = _monte_carlo(problem, reg, codes, nulls, R, mc_levels, samples, seed, progress)
            for lev, (lo_s, hi_s) in draws.items():
                results[(R, lev)] = _summary(lev, lo_s, hi_s, f"monte carlo ({samples} samples, seed {seed})")
        out.append(
            RegistrySupply(
                population=reg.label,
                registry_size=R,
                expected_distinct_lines=expected_distinct(reg.p, R),
                p_no_line=float(np.exp(R * _log1m(p_total))),
                levels=tuple(results[(R, lev)] for lev in levels),
            )
        )
    return out
