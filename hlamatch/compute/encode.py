"""Turn tables and lines into the fixed-dtype arrays the kernels take (NumPy only).

Kernels compile once per dtype and layout, so everything here returns C-contiguous
``uint64`` bitsets and ``float64`` frequencies.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from hlamatch.compute import dispatch
from hlamatch.compute.budget import check_bytes
from hlamatch.table.rows import group_sums, key_groups, row_groups

__all__ = [
    "MergedBitsets",
    "OtherClasses",
    "line_bitsets",
    "word_count",
    "allele_classes",
    "merged_bitsets",
    "pattern_runs",
    "collapse",
    "flat_layout",
    "identity_codes",
    "allele_nulls",
    "recode_for_lines",
    "other_classes",
    "rule_bitsets",
    "masked_identity_bitsets",
]


def line_bitsets(
    codes: np.ndarray, line_codes: np.ndarray, n_alleles: list[int], line_nulls: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bitsets of line alleles carried by each haplotype.

    Parameters
    ----------
    codes : numpy.ndarray
        int32 array of shape (n, n_loci): patient haplotype allele codes.
    line_codes : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci); codes ≥ ``n_alleles[l]`` are absent from the table.
    n_alleles : list of int
        Vocabulary size per locus.
    line_nulls : numpy.ndarray, optional
        bool array like ``line_codes``: a null line allele is never a mismatch, so its bit is
        set for every haplotype.

    Returns
    -------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (n, n_loci, n_words), ``n_words = ceil(n_lines / 64)``: bit ``t``
        set where the haplotype carries allele 1 (resp. 2) of line ``t`` at that locus; the same
        array when every line is homozygous (read-only use).
    hom : numpy.ndarray
        uint64 array of shape (n_loci, n_words): lines homozygous at each locus.
    """
    classes, slot1, slot2, hom = allele_classes(line_codes, n_alleles, line_nulls, rows=codes.shape[0])
    _check_bitset_bytes(
        (1 if slot2 is slot1 else 2) * codes.shape[0] * codes.shape[1] * slot1[0].shape[1] * 8,
        f"the bitsets of {line_codes.shape[0]:,} lines over {codes.shape[0]:,} table rows",
    )
    b1 = _class_bitsets(codes, classes, slot1)
    return b1, b1 if slot2 is slot1 else _class_bitsets(codes, classes, slot2), hom


def word_count(n_lines: int) -> int:
    """64-bit words per bitset of ``n_lines`` lines (at least one)."""
    return max(1, (n_lines + 63) // 64)


def allele_classes(
    line_codes: np.ndarray, n_alleles: list[int], line_nulls: np.ndarray | None = None, rows: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Alleles grouped by the line bitsets they give (see :func:`line_bitsets`), per locus.

    Class 0 holds every allele no line carries; each allele some line carries is a class of its
    own (a line slot holds one allele, so two such alleles never give the same bitsets).

    ``rows``: table rows that will get bitsets from these classes (at most the product of the class
    counts of the loci, once merged); their bitsets and the classes' are checked against the memory
    budget before anything is allocated.

    Returns
    -------
    classes : list of numpy.ndarray
        Per locus, int32 (n_alleles[l],): each allele's class.
    slot1, slot2 : list of numpy.ndarray
        Per locus, uint64 (n_classes, n_words): the bitsets of each class for line allele 1 and 2
        (a null line allele sets its bit in every class).
    hom : numpy.ndarray
        uint64 (n_loci, n_words): lines homozygous at each locus.
    """
    n_lines, _, n_loci = line_codes.shape
    width = 64 * word_count(n_lines)
    nulls = line_nulls if line_nulls is not None else np.zeros(line_codes.shape, dtype=np.bool_)
    # Homozygous lines only (the usual bank): slot 2 is slot 1.
    both = 1 if np.array_equal(line_codes[:, 0], line_codes[:, 1]) and np.array_equal(nulls[:, 0], nulls[:, 1]) else 2
    # every locus's alleles in one flat vocabulary (locus l from aoff[l]), so that no step loops over loci
    sizes = np.asarray(n_alleles, dtype=np.int64).reshape(-1)
    aoff = np.zeros(n_loci + 1, dtype=np.int64)
    aoff[1:] = np.cumsum(sizes)
    listed = (line_codes >= 0) & (line_codes < sizes) & ~nulls
    flat = line_codes + aoff[:-1]
    seen = np.zeros(aoff[-1], dtype=np.bool_)
    seen[flat[listed]] = True
    running = np.zeros(aoff[-1] + 1, dtype=np.int32)
    np.cumsum(seen, out=running[1:])
    before = running[aoff]  # carried alleles at the loci before each one (and in all, last)
    cls = running[1:] - np.repeat(before[:-1], sizes)
    cls[~seen] = 0  # class k ≥ 1: the k-th allele of its locus some line carries; 0: every other allele
    classes = [cls[aoff[l] : aoff[l + 1]] for l in range(n_loci)]
    offset = np.zeros(n_loci + 1, dtype=np.int64)
    offset[1:] = np.cumsum(np.diff(before) + 1)
    # the bitsets of every class of every locus (rows), one bit per line, set in place: a bit per
    # (class, line), not a byte, so many lines cost 1/8 of a dense membership matrix
    n_words = width // 64
    merged = min(rows, math.prod(int(x) for x in np.diff(offset)))
    _check_bitset_bytes(
        both * (int(offset[-1]) + merged * n_loci) * n_words * 8,
        f"the bitsets of {n_lines:,} lines" + (f" over {rows:,} table rows" if rows else ""),
    )
    words = np.zeros((both, int(offset[-1]), n_words), dtype=np.uint64)
    for h in range(both):
        t, l = np.nonzero(listed[:, h, :])
        _set_bits(words[h], offset[l] + cls[flat[t, h, l]], t)
        for t, l in zip(*np.nonzero(nulls[:, h, :])):  # a null line allele: every class (rare)
            words[h, offset[l] : offset[l + 1], t // 64] |= np.uint64(1) << np.uint64(t % 64)
    slots = [[words[h, offset[l] : offset[l + 1]] for l in range(n_loci)] for h in range(both)]
    same = np.zeros((n_loci, width), dtype=np.bool_)
    same[:, :n_lines] = (line_codes[:, 0] == line_codes[:, 1]).T
    hom = _words(same)
    return classes, slots[0], slots[1] if both == 2 else slots[0], hom


def _set_bits(words: np.ndarray, rows: np.ndarray, lines: np.ndarray) -> None:
    """Set bit ``lines[i]`` of row ``rows[i]`` of ``words`` (uint64 (k, n_words)), for every i."""
    lines = np.asarray(lines, dtype=np.int64)
    if lines.size == 0:
        return
    key = np.asarray(rows, dtype=np.int64) * words.shape[1] + lines // 64
    order = np.argsort(key, kind="stable")
    key, bits = key[order], np.left_shift(np.uint64(1), (lines[order] % 64).astype(np.uint64))
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # one OR per (row, word)
    words.reshape(-1)[key[first]] |= np.bitwise_or.reduceat(bits, first)


def _check_bitset_bytes(estimate: int, what: str) -> None:
    """Refuse bitsets past the memory budget before allocating them (one OptionError naming the option)."""
    check_bytes(
        estimate,
        what,
        "fewer lines or candidates (n_candidates)",
        ("n_candidates",),
    )


def _words(member: np.ndarray) -> np.ndarray:
    """bool (k, 64 · n_words) → uint64 (k, n_words): bit t of word t // 64 set where ``member[:, t]``."""
    packed = np.packbits(member, axis=1, bitorder="little")  # 8 bytes per word, lowest line first
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def _class_bitsets(codes: np.ndarray, classes: list[np.ndarray], tables: list[np.ndarray]) -> np.ndarray:
    """uint64 (n, n_loci, n_words): each row's bitsets through its alleles' classes."""
    n, n_loci = codes.shape
    out = np.empty((n, n_loci, tables[0].shape[1]), dtype=np.uint64)
    for l in range(n_loci):
        out[:, l, :] = tables[l][classes[l][codes[:, l]]]
    return out


class MergedBitsets(NamedTuple):
    """What :func:`merged_bitsets` returns (a tuple: ``b1, b2, freqs, hom, het, patterns = ...`` works)."""

    #: uint64 flat bitsets of the merged rows, as :func:`collapse` lays them out (``b2`` is ``b1``
    #: when not :attr:`het`).
    b1: np.ndarray
    b2: np.ndarray
    #: float64 (m,): each merged row's summed frequency.
    freqs: np.ndarray
    #: uint64 (n_loci, n_words): lines homozygous at each locus (as :func:`line_bitsets` gives it).
    hom: np.ndarray
    #: Some line's two alleles give different bitsets.
    het: bool
    #: int64 (m,): per merged row, bit l set where it carries some line allele at locus l.
    patterns: np.ndarray


def merged_bitsets(
    codes: np.ndarray,
    freqs: np.ndarray,
    line_codes: np.ndarray,
    n_alleles: list[int],
    line_nulls: np.ndarray | None = None,
    by_frequency: bool = False,
    by_pattern: bool = False,
) -> MergedBitsets:
    """:func:`line_bitsets` then :func:`collapse`, without building a bitset per table row.

    Rows are grouped by the classes of their alleles (:func:`allele_classes`), which give equal
    bitsets exactly when the classes are equal, one integer key per row; bitsets are built for
    one row of each group only.

    Parameters
    ----------
    by_frequency : bool
        Merged rows most frequent first (tolerance-bounded runs).
    by_pattern : bool
        Merged rows by decreasing *pattern* (see below; :func:`pattern_runs` then gives the runs of
        columns each row's pattern can pair with).  Default: in merge order (key order for a
        NumPy sort, first-seen order for the hash pass of large tables).

    Returns
    -------
    MergedBitsets
        ``b1, b2, freqs`` as :func:`collapse` returns them (flat layout, merged rows); ``hom`` as
        :func:`line_bitsets` returns it; ``het``: some line's two alleles give different bitsets
        (else ``b2`` is ``b1``); ``patterns``: int64 (m,), per merged row, bit l set where it
        carries some line allele at locus l (n_loci ≤ 62; 0 beyond).
    """
    classes, slot1, slot2, hom = allele_classes(line_codes, n_alleles, line_nulls, rows=codes.shape[0])
    n, n_loci = codes.shape
    sizes = [t.shape[0] for t in slot1]
    fits = math.prod(sizes) < 2**62  # one mixed-radix integer key per row
    most = min(n, math.prod(sizes))  # merged rows at most
    if fits and n >= dispatch.hash_grouping_rows() and most * (most + 1) // 2 > dispatch.small_pairs():
        # large tables whose merged rows may need the kernels anyway: one hash pass in numba
        from hlamatch.kernels.grouping import class_groups

        offsets = np.concatenate([[0], np.cumsum([c.shape[0] for c in classes])]).astype(np.int64)
        rep, inverse, f = class_groups(
            np.ascontiguousarray(codes, dtype=np.int32),
            np.concatenate(classes).astype(np.int64),
            offsets,
            np.asarray(sizes, dtype=np.int64),
            np.ascontiguousarray(freqs),
        )
    else:
        row_classes = np.empty((n, n_loci), dtype=np.int64)
        for l in range(n_loci):
            row_classes[:, l] = classes[l][codes[:, l]]
        # one sort of a mixed-radix key per row (a few where more classes than an int64 key holds,
        # e.g. hundreds of lines at many loci)
        first, inverse = row_groups(row_classes, sizes)
        f = group_sums(inverse, freqs, first.shape[0])
        rep = row_classes[first]
    patterns = np.zeros(rep.shape[0], dtype=np.int64)
    for l in range(min(n_loci, 62)):
        carries = ((slot1[l] | slot2[l]) != 0).any(axis=1)
        patterns |= carries[rep[:, l]].astype(np.int64) << l
    if by_frequency:  # most frequent first (ties in merge order)
        order = np.argsort(-f, kind="stable")
    elif by_pattern:  # the full pattern, which pairs with every row, first
        order = np.argsort(-patterns, kind="stable")
    else:
        order = None
    if order is not None:
        rep, f, patterns = rep[order], f[order], patterns[order]
    het = slot2 is not slot1 and not all(np.array_equal(a, b) for a, b in zip(slot1, slot2))
    _check_bitset_bytes(
        (2 if het else 1) * rep.shape[0] * n_loci * slot1[0].shape[1] * 8,
        f"the bitsets of {line_codes.shape[0]:,} lines over {rep.shape[0]:,} merged table rows",
    )
    b1 = _class_flat(rep, slot1)
    return MergedBitsets(b1, _class_flat(rep, slot2) if het else b1, np.ascontiguousarray(f), hom, het, patterns)


def _class_flat(row_classes: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
    """The flat bitset layout (``(w * n_loci + l) * m + j``) of rows given by their allele classes."""
    m, n_loci = row_classes.shape
    n_words = tables[0].shape[1]
    out = np.empty((n_words, n_loci, m), dtype=np.uint64)
    for l in range(n_loci):
        out[:, l, :] = tables[l][row_classes[:, l]].T
    return out.reshape(-1)


def pattern_runs(
    patterns: np.ndarray | None, n_loci: int, m: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows sorted by decreasing pattern: (row_class, run_first, runs) as
    :func:`hlamatch.kernels.pairs.pair_mass_folds` takes them.

    A pair of rows that both carry no line allele at the same locus is covered by no line, so a
    row of class ``a`` (one class per distinct pattern) is paired only with the runs of columns
    of the classes whose pattern completes its own.  ``patterns`` None (``m`` rows, in any order)
    or more than 16 loci: one class, every pair.
    """
    if patterns is None:
        patterns, n_loci = np.zeros(m or 0, dtype=np.int64), 0
    m = patterns.shape[0]
    if not 0 < n_loci <= 16 or m == 0:
        return np.zeros(m, dtype=np.int32), np.array([0, 1], dtype=np.int64), np.array([[0, m]], dtype=np.int64)
    kinds, counts = np.unique(-patterns, return_counts=True)
    kinds = -kinds
    compat = (kinds[:, None] | kinds[None, :]) == (1 << n_loci) - 1
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # per class, its runs of adjacent compatible classes, as column ranges
    edges = np.diff(np.pad(compat.astype(np.int8), ((0, 0), (1, 1))), axis=1)  # +1: a run starts, -1: it ends
    cls_of_start, first_class = np.nonzero(edges == 1)
    _, last_class = np.nonzero(edges == -1)
    runs = np.ascontiguousarray(np.stack([bounds[first_class], bounds[last_class]], axis=1))
    run_first = np.searchsorted(cls_of_start, np.arange(kinds.shape[0] + 1)).astype(np.int64)
    return np.repeat(np.arange(kinds.shape[0], dtype=np.int32), counts), run_first, runs


def collapse(
    b1: np.ndarray, b2: np.ndarray, freqs: np.ndarray, by_frequency: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge haplotypes with identical bitsets, summing their frequencies; lay out for the kernel.

    Haplotypes that carry the same line alleles at every locus are interchangeable for the
    zero-mismatch rule, so coverage is unchanged and the pair loop shrinks.  Rows are grouped
    by a 64-bit hash of their bitsets (a fast 1-D sort); the grouping is then verified exactly,
    with an exact grouping of the bitsets as the fallback should two signatures ever share a hash.

    Parameters
    ----------
    b1, b2 : numpy.ndarray
        uint64 arrays of shape (n, n_loci, n_words).
    freqs : numpy.ndarray
        float64 array of shape (n,).

    by_frequency : bool
        Order the merged rows most frequent first (else in signature-hash order).

    Returns
    -------
    b1, b2 : numpy.ndarray
        uint64 flat arrays of length n_words * n_loci * m, m ≤ n: struct-of-arrays, index
        ``(w * n_loci + l) * m + j``, as the pair kernel takes them.
    freqs : numpy.ndarray
        float64 array of shape (m,).
    """
    n = b1.shape[0]
    # Homozygous lines only: b2 equals b1, and the signature need not hold it twice.
    sig = (
        b1.reshape(n, -1)
        if b1 is b2 or np.array_equal(b1, b2)
        else np.concatenate([b1.reshape(n, -1), b2.reshape(n, -1)], axis=1)
    )
    with np.errstate(over="ignore"):
        h = np.zeros(n, dtype=np.uint64)
        for c in range(sig.shape[1]):
            h = (h ^ sig[:, c]) * np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
    first, inverse = key_groups(h)
    if not np.array_equal(sig[first][inverse], sig):  # a hash collision: exact grouping instead
        first, inverse = row_groups(sig)
    f = group_sums(inverse, freqs, first.shape[0])
    if by_frequency:  # most frequent first (ties in signature order): for tolerance-bounded runs
        order = np.argsort(-f, kind="stable")
        first, f = first[order], f[order]
    return flat_layout(b1[first], b2[first], f)


def flat_layout(b1: np.ndarray, b2: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bitsets (n, n_loci, n_words) in the kernels' flat struct-of-arrays layout, rows unmerged.

    Returns
    -------
    b1, b2 : numpy.ndarray
        uint64 flat arrays, index ``(w * n_loci + l) * n + j``.
    freqs : numpy.ndarray
        float64 (n,), C-contiguous.
    """
    return (
        np.ascontiguousarray(b1.transpose(2, 1, 0)).reshape(-1),
        np.ascontiguousarray(b2.transpose(2, 1, 0)).reshape(-1),
        np.ascontiguousarray(freqs, dtype=np.float64),
    )


def identity_codes(codes: np.ndarray, line_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Re-encode haplotypes as one pseudo-locus whose allele is the whole haplotype.

    Haplotype-level (phase-aware) matching is zero-mismatch matching at this pseudo-locus.

    Returns
    -------
    codes : numpy.ndarray
        int32 array of shape (n, 1): the row index.
    line_codes : numpy.ndarray
        int32 array of shape (n_lines, 2, 1): row of each line haplotype; an unlisted haplotype
        gets a code past ``n`` (one per distinct haplotype), which equals no row.
    n_alleles : list of int
        ``[n]``.
    """
    n = codes.shape[0]
    # Only rows equal to some line haplotype need a look-up.  Candidates are narrowed locus by
    # locus to rows whose allele some line carries there (one gather per locus over the rows
    # left, no sort and no Python loop over rows: tables have up to 10^7 of them).
    hit = np.arange(n)
    for l in range(codes.shape[1]):
        column = codes[hit, l]
        if column.shape[0] == 0:
            break
        wanted = np.zeros(int(column.max()) + 1, dtype=np.bool_)
        carried = line_codes[:, :, l].reshape(-1)
        wanted[carried[(carried >= 0) & (carried < wanted.shape[0])]] = True
        hit = hit[wanted[column]]
    keys, line_keys = _row_keys(codes[hit], line_codes)
    index = {keys[k].tobytes(): int(i) for k, i in enumerate(hit)}
    unlisted: dict[bytes, int] = {}  # distinct codes past n, one per unlisted line haplotype
    lc = np.empty((line_codes.shape[0], 2, 1), dtype=np.int32)
    for t in range(line_codes.shape[0]):
        for h in range(2):
            key = line_keys[t, h].tobytes()
            code = index.get(key)
            lc[t, h, 0] = code if code is not None else unlisted.setdefault(key, n + 2 + len(unlisted))
    return np.arange(n, dtype=np.int32).reshape(n, 1), lc, [n]


def _row_keys(codes: np.ndarray, line_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One comparable key per haplotype row and per line haplotype (equal keys ⇔ equal codes):
    the codes as one void scalar of all loci (``np.isin`` sorts them as bytes)."""
    width = codes.shape[1] * 4
    as_key = np.dtype((np.void, width))
    rows = np.ascontiguousarray(codes, dtype=np.int32).view(as_key).reshape(-1)
    lines = np.ascontiguousarray(line_codes, dtype=np.int32).view(as_key).reshape(line_codes.shape[0], 2)
    return rows, lines


def allele_nulls(codes: np.ndarray, alleles: list[tuple[str, ...]] | tuple[tuple[str, ...], ...]) -> np.ndarray:
    """bool array of shape (n, n_loci): the haplotype's allele at the locus is null (not expressed)."""
    from hlamatch.hla.alleles import is_null

    out = np.zeros(codes.shape, dtype=np.bool_)
    for l, names in enumerate(alleles):
        flags = np.array([is_null(a) for a in names] + [False], dtype=np.bool_)
        out[:, l] = flags[codes[:, l]]
    return out


def recode_for_lines(
    codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, n_alleles: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge haplotypes that no HvG count can tell apart, summing frequencies.

    HvG counts (either level) depend on a patient allele only through its equality with line
    alleles and through whether it is null.  So alleles carried by no line become one
    "other expressed" code (``n_alleles[l]``) or one "other null" code (``n_alleles[l] + 1``),
    and equal rows are merged.  GvH and bidirectional counts also see whether the patient's two
    other alleles are the same: that changes the count (1 or 2) only when a missing homozygous
    allele counts once, so the merge is exact for them with ``homozygous_count=2`` only.

    Returns
    -------
    codes : int32 (m, n_loci), nulls : bool (m, n_loci), freqs : float64 (m,)
    """
    return _recode(codes, nulls, freqs, line_codes, n_alleles)[:3]


def _other_codes(codes: np.ndarray, nulls: np.ndarray, line_codes: np.ndarray, n_alleles: list[int]) -> np.ndarray:
    """Codes with every allele no line carries replaced by "other expressed" (``n_alleles[l]``) or
    "other null" (``n_alleles[l] + 1``)."""
    out = codes.copy()
    for l in range(codes.shape[1]):
        carried = np.zeros(n_alleles[l], dtype=np.bool_)
        lc = line_codes[:, :, l].ravel()
        carried[lc[lc < n_alleles[l]]] = True
        other = ~carried[codes[:, l]]
        out[other, l] = np.where(nulls[other, l], n_alleles[l] + 1, n_alleles[l])
    return out


def _recode(
    codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, n_alleles: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`recode_for_lines`, plus the class of every input row (int64 (n,)); classes in the
    lexicographic order of (recoded codes, null flags)."""
    out = _other_codes(codes, nulls, line_codes, n_alleles)
    sizes = [a + 2 for a in n_alleles] + [2] * codes.shape[1]
    first, inverse = row_groups(np.concatenate([out, nulls.astype(np.int32)], axis=1), sizes)
    return (
        np.ascontiguousarray(out[first], dtype=np.int32),
        np.ascontiguousarray(nulls[first], dtype=np.bool_),
        np.ascontiguousarray(group_sums(inverse, freqs, first.shape[0]), dtype=np.float64),
        inverse,
    )


class OtherClasses(NamedTuple):
    """What :func:`other_classes` returns: the merged classes, and the class × group masses that
    :func:`hlamatch.kernels.other_merge.other_merge_folds` takes after ``oth`` (:attr:`masses`)."""

    codes: np.ndarray
    nulls: np.ndarray
    freqs: np.ndarray
    oth: np.ndarray
    row_ptr: np.ndarray
    row_grp: np.ndarray
    row_mass: np.ndarray
    grp_ptr: np.ndarray
    grp_cls: np.ndarray
    grp_mass: np.ndarray

    @property
    def masses(self) -> tuple[np.ndarray, ...]:
        """``(row_ptr, row_grp, row_mass, grp_ptr, grp_cls, grp_mass)``, in the kernel's order."""
        return self.row_ptr, self.row_grp, self.row_mass, self.grp_ptr, self.grp_cls, self.grp_mass


def other_classes(
    codes: np.ndarray, nulls: np.ndarray, freqs: np.ndarray, line_codes: np.ndarray, n_alleles: list[int]
) -> OtherClasses:
    """The merge of :func:`recode_for_lines`, with what GvH counts need to stay exact when a missing
    homozygous allele counts once: per locus subset, how each class's mass splits over the
    original alleles it merged.

    For a locus subset s, the haplotypes whose class has the other-expressed code at every locus
    of s are grouped by their original alleles there; ``A_s[I, g]`` is the mass of class I in
    group g, and ``C_s[I, J] = sum_g A_s[I, g] A_s[J, g]`` the mass of class pairs (I, J) whose
    original alleles are equal at every locus of s (see :func:`hlamatch.kernels.other_merge.other_merge_folds`).

    Returns
    -------
    OtherClasses
        These fields:
    codes, nulls, freqs : numpy.ndarray
        The classes, as :func:`recode_for_lines` returns them.
    oth : numpy.ndarray
        int64 (m,): bit l set where the class has the other-expressed code at locus l.
    row_ptr : numpy.ndarray
        int64 (2^n_loci, m + 1): entries of subset s and class I are ``row_ptr[s, I] ..
        row_ptr[s, I + 1]`` of ``row_grp`` (int64 group id, unique over all subsets) and
        ``row_mass`` (float64 A_s[I, g]).
    grp_ptr, grp_cls, grp_mass : numpy.ndarray
        The same entries by group: group g's are ``grp_ptr[g] .. grp_ptr[g + 1]`` of ``grp_cls``
        (int64 class, ascending) and ``grp_mass``.
    """
    ccodes, cnulls, f, inverse = _recode(codes, nulls, freqs, line_codes, n_alleles)
    n_loci = codes.shape[1]
    m = f.shape[0]
    other = (ccodes == np.asarray(n_alleles, dtype=np.int64)[None, :]) & ~cnulls
    oth = (other.astype(np.int64) << np.arange(n_loci, dtype=np.int64)[None, :]).sum(axis=1).astype(np.int64)
    hoth = oth[inverse]
    union = int(np.bitwise_or.reduce(oth)) if m else 0
    row_ptr = np.zeros((1 << n_loci, m + 1), dtype=np.int64)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (class, group, mass) per subset
    n_groups = 0
    n_entries = 0
    for s in range(1, 1 << n_loci):
        row_ptr[s] = n_entries
        if s & union != s:
            continue
        elig = np.flatnonzero(hoth & s == s)
        if elig.size == 0:
            continue
        group = row_groups(codes[np.ix_(elig, np.asarray([l for l in range(n_loci) if s >> l & 1]))])[1]
        n_g = int(group.max()) + 1
        pair = inverse[elig] * n_g + group
        first, at = key_groups(pair)  # class-major
        key = pair[first]
        mass = group_sums(at, freqs[elig], key.shape[0])
        cls = key // n_g
        rows.append((cls, key % n_g + n_groups, mass))
        row_ptr[s] = n_entries + np.searchsorted(cls, np.arange(m + 1))
        n_groups += n_g
        n_entries += key.shape[0]
    cls = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, dtype=np.int64)
    grp = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, dtype=np.int64)
    mass = np.concatenate([r[2] for r in rows]) if rows else np.zeros(0)
    order = np.lexsort((cls, grp))
    grp_ptr = np.searchsorted(grp[order], np.arange(n_groups + 1)).astype(np.int64)
    return OtherClasses(
        ccodes,
        cnulls,
        f,
        oth,
        row_ptr,
        grp,
        np.ascontiguousarray(mass, dtype=np.float64),
        grp_ptr,
        np.ascontiguousarray(cls[order]),
        np.ascontiguousarray(mass[order], dtype=np.float64),
    )


def rule_bitsets(
    codes: np.ndarray, nulls: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray, direction: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bitsets of the bit-sliced genotype-level rule kernel (:func:`hlamatch.kernels.geno_rule.geno_rule_folds`).

    Parameters
    ----------
    codes, nulls : numpy.ndarray
        int32 / bool (n, n_loci): patient haplotypes (after :func:`recode_for_lines` where exact).
    line_codes, line_nulls : numpy.ndarray
        int32 / bool (n_lines, 2, n_loci).
    direction : int
        0 HvG, 1 GvH, 2 bidirectional (which bitsets are needed).

    Returns
    -------
    a1, a2 : numpy.ndarray
        uint64 flat arrays, index ``(i * n_words + w) * n_loci + l`` (row-major: one pair reads
        two short contiguous runs): bit ``t`` set where haplotype ``i``
        carries allele 1 (resp. 2) of line ``t`` at ``l``, or that line allele is null (a null
        line allele is never an HvG mismatch).  Size 1 when not needed (GvH).
    carried : numpy.ndarray
        uint64 flat array like ``a1``: bit ``t`` set where the line carries haplotype ``i``'s
        allele at ``l`` (either copy; the GvH test).  Size 1 when not needed (HvG).
    masks : numpy.ndarray
        uint64 (5, n_loci, n_words): lines heterozygous (two different expressed alleles),
        homozygous (one expressed allele twice), hemizygous (one expressed, one null), carrying
        a null, and (row 4, locus 0) the lines that exist in each word.
    """
    n, n_loci = codes.shape
    n_lines = line_codes.shape[0]
    n_words = word_count(n_lines)
    t = np.arange(n_lines)
    word_of = t // 64
    bit_of = np.left_shift(np.uint64(1), (t % 64).astype(np.uint64))

    def pack(flags: np.ndarray) -> np.ndarray:
        """bool (n, n_lines) → uint64 (n_words, n): one bit per line."""
        out = np.zeros((n_words, flags.shape[0]), dtype=np.uint64)
        for w in range(n_words):
            sel = word_of == w
            out[w] = (flags[:, sel].astype(np.uint64) * bit_of[sel][None, :]).sum(axis=1, dtype=np.uint64)
        return out

    def line_word(flags: np.ndarray) -> np.ndarray:
        return pack(flags[None, :])[:, 0]

    hvg = direction != 1
    gvh = direction != 0
    a1 = np.zeros((n_words, n_loci, n), dtype=np.uint64) if hvg else np.zeros(1, dtype=np.uint64)
    a2 = np.zeros((n_words, n_loci, n), dtype=np.uint64) if hvg else np.zeros(1, dtype=np.uint64)
    carried = np.zeros((n_words, n_loci, n), dtype=np.uint64) if gvh else np.zeros(1, dtype=np.uint64)
    masks = np.zeros((5, n_loci, n_words), dtype=np.uint64)
    for l in range(n_loci):
        d1, d2 = line_codes[:, 0, l], line_codes[:, 1, l]
        e1, e2 = ~line_nulls[:, 0, l], ~line_nulls[:, 1, l]
        masks[0, l] = line_word(e1 & e2 & (d1 != d2))
        masks[1, l] = line_word(e1 & e2 & (d1 == d2))
        masks[2, l] = line_word(e1 ^ e2)
        masks[3, l] = line_word(~(e1 & e2))
        c = codes[:, l][:, None]
        if hvg:
            a1[:, l, :] = pack((c == d1[None, :]) | ~e1[None, :])
            a2[:, l, :] = pack((c == d2[None, :]) | ~e2[None, :])
        if gvh:
            carried[:, l, :] = pack((c == d1[None, :]) | (c == d2[None, :]))
    masks[4, 0] = line_word(np.ones(n_lines, dtype=np.bool_))

    def rows(x: np.ndarray) -> np.ndarray:  # (n_words, n_loci, n) → flat (n, n_words, n_loci)
        return np.ascontiguousarray(x.transpose(2, 0, 1)).reshape(-1) if x.ndim == 3 else x

    return rows(a1), rows(a2), rows(carried), masks


def masked_identity_bitsets(
    codes: np.ndarray, line_codes: np.ndarray, line_nulls: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Haplotype-level bitsets when lines carry null alleles (zero-mismatch rule, homozygous lines).

    One pseudo-locus: bit ``t`` of ``b1[i, 0]`` is set when haplotype ``i`` equals line ``t``'s
    first haplotype at every locus where that haplotype's allele is expressed (a null copy is
    never a mismatch); ``b2`` likewise for the second.  The pair test of the bitset kernels is
    then exactly the phase-aware zero-mismatch test.

    Returns
    -------
    b1, b2 : numpy.ndarray
        uint64 (n, 1, n_words).
    hom : numpy.ndarray
        uint64 (1, n_words): lines whose two haplotypes are the same.
    """
    n = codes.shape[0]
    n_lines = line_codes.shape[0]
    n_words = word_count(n_lines)
    b = [np.zeros((n, 1, n_words), dtype=np.uint64) for _ in range(2)]
    hom = np.zeros((1, n_words), dtype=np.uint64)
    for t in range(n_lines):
        w, bit = t // 64, np.uint64(1) << np.uint64(t % 64)
        for h in range(2):
            expressed = ~line_nulls[t, h]
            match = (codes[:, expressed] == line_codes[t, h, expressed][None, :]).all(axis=1)
            b[h][match, 0, w] |= bit
        if np.array_equal(line_codes[t, 0], line_codes[t, 1]) and np.array_equal(line_nulls[t, 0], line_nulls[t, 1]):
            hom[0, w] |= bit
    return b[0], b[1], hom
