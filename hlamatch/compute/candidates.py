"""The default candidates: the most frequent haplotypes of a table as homozygous lines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hlamatch.hla.alleles import is_null
from hlamatch.hla.lines import Line, parse_line

__all__ = ["top_lines"]


def top_lines(
    table,
    n: int,
    *,
    populations=None,
    loci: Sequence[str] | None = None,
    resolution: str | None = None,
    expressed_only: bool = True,
) -> list[Line]:
    """The ``n`` most frequent haplotypes of a table, as homozygous lines (the default candidates).

    Parameters
    ----------
    table : HaplotypeTable, bundled name or path
    n : int
        How many (fewer when the population lists fewer haplotypes).
    populations : str, sequence of str or mapping of str to float, optional
        One population, or a weighted mix (``{"JAPI": 0.8, "KORI": 0.2}``: haplotypes ordered by
        the weighted frequency).  Needed when the table holds several populations.
    loci, resolution : optional
        Project/reduce the table first (frequencies summed), as the computation will.
    expressed_only : bool, default True
        Skip haplotypes carrying a null allele (``A*24:09N``): a donor line is chosen for the
        antigens it expresses, and the line encoder (:func:`encode_lines`) refuses null alleles in
        lines.  ``DRBX*NNNN`` (no DRB3/4/5 gene) is the absence of a gene, not a null allele, and
        is kept.  False lists every haplotype (lines with a null allele can then be shown, not
        computed with).

    Returns
    -------
    list of Line
        Most frequent first; ties broken by haplotype name.

    Raises
    ------
    OptionError
        ``n`` < 1, or several populations without weights.
    """
    from hlamatch.errors import OptionError
    from hlamatch.io.bundled import resolve_table
    from hlamatch.table.populations import resolve_populations
    from hlamatch.table.rows import frequency_order

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise OptionError(f"the number of top haplotypes must be a whole number ≥ 1, got {n!r}")
    tab = resolve_table(table).select(loci, resolution)
    names, weights = resolve_populations(tab, populations)
    if len(names) > 1 and weights is None:
        a, b = names[0], names[1]
        raise OptionError(
            f"table {tab.source} holds populations {', '.join(names)}: choose one for the most frequent "
            f"haplotypes (--population {a}), or weight them (e.g. --population {a}=0.5,{b}=0.5)"
        )
    w = np.array(weights if weights is not None else [1.0])
    score = tab.freqs[:, [tab.population_index(p) for p in names]] @ w
    ok = score > 0
    if expressed_only:
        for l, names in enumerate(tab.alleles):
            null = np.array([is_null(a) and not a.startswith("DRBX") for a in names], dtype=np.bool_)
            ok &= ~null[tab.codes[:, l]]
    rows = np.flatnonzero(ok)
    if rows.shape[0] > n:  # only the rows that can be among the n first (ties at the n-th included)
        nth = -np.partition(-score[rows], n - 1)[n - 1]
        rows = rows[score[rows] >= nth]
    order = rows[frequency_order(tab.codes[rows], [len(a) for a in tab.alleles], score[rows])][:n]
    return [parse_line(h) for h in tab.haplotype_strings(order)]
