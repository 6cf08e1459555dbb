"""The one line encoder: donor lines as allele codes of a table (used by coverage, rank, plan, supply and match)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from hlamatch.constants import ALL_RESOLUTIONS, ANTIGEN, BROAD, NOMENCLATURE_RESOLUTIONS
from hlamatch.errors import HlamatchWarning, LineError, UnknownAlleleError
from hlamatch.hla.alleles import at_resolution, is_null, locus_key, mac_alleles, name_resolution, parse_allele
from hlamatch.hla.lines import Line
from hlamatch.hla.nomenclature import SEROLOGY_PREFIX, Nomenclature, NomenclatureError, current_nomenclature

__all__ = ["encode_lines", "EncodedLines"]


class EncodedLines(NamedTuple):
    """Lines as arrays: allele codes, null flags, and the code of every name used.

    Attributes
    ----------
    codes : numpy.ndarray
        int32 array of shape (n_lines, 2, n_loci).
    nulls : numpy.ndarray
        bool array of shape (n_lines, 2, n_loci): the allele is null (not expressed).
    vocab : list of dict
        Per locus, allele name → code: the given vocabulary plus codes past it for names it lacks.
        May be shared with other calls: copy one before adding names to it.
    """

    codes: np.ndarray
    nulls: np.ndarray
    vocab: list[dict[str, int]]


@functools.lru_cache(maxsize=64)
def _vocab(alleles: tuple[str, ...]) -> dict[str, int]:
    """Allele name → code of one locus's vocabulary (shared between calls: never modify it)."""
    return {a: i for i, a in enumerate(alleles)}


def encode_lines(
    lines: Sequence[Line],
    loci: Sequence[str],
    resolution: str,
    alleles: Sequence[Sequence[str]],
    table_name: str | None,
    table_resolution: str | None = None,
) -> EncodedLines:
    """Allele codes of every line at ``loci``, reduced to ``resolution``: the one line encoder.

    Coverage, rank, plan, supply and patient look-up all encode lines here, so a line typed
    coarser than the computation's resolution, lacking one of its loci, or carrying a null
    allele, is the same error everywhere.

    A donor line is typed at the alleles it expresses: it is chosen for the antigens it presents,
    and a null allele (``A*24:02N``) presents none, so it is refused (it would silently match
    every patient at that locus).  ``DRBX*NNNN`` (no DRB3/4/5 gene) is the absence of a gene, not
    a null allele, and stays allowed.  Null alleles stay welcome in tables and patient typings.

    Parameters
    ----------
    lines : sequence of Line
    loci : sequence of str
        The computation's loci.
    resolution : str
        The computation's resolution.
    alleles : sequence of sequence of str
        Allele vocabulary per locus (a table's; empty tuples when there is no table).
    table_name : str or None
        The table, for the warning about alleles it lacks; None: no table, no warning.
    table_resolution : str, optional
        The table's own resolution, so that an error about a line suggests only a ``--resolution``
        the table can be brought to (an antigen table cannot be compared at one field).

    Returns
    -------
    EncodedLines
        An allele absent from the vocabulary gets a code past it (``len(alleles[l]) + 2 + k``, one
        per distinct name), so it equals no listed allele; a warning names such alleles.

    Raises
    ------
    LineError
        A line lacks one of ``loci``, is typed coarser than ``resolution``, or carries a null
        allele; the message names the line (and the file and row it was read from).
    """
    out = np.full((len(lines), 2, len(loci)), -1, dtype=np.int32)
    nulls = np.zeros((len(lines), 2, len(loci)), dtype=np.bool_)
    vocab = [_vocab(tuple(v)) for v in alleles]  # shared: copied before a name is added
    sizes = [len(v) for v in alleles]
    keys = [locus_key(locus) for locus in loci]
    unknown: list[str] = []
    long_names: list[str] = []
    seen: dict[str, tuple[str | None, str | None]] = {}  # at_resolution per distinct name
    nom = current_nomenclature()
    for t, ln in enumerate(lines):
        for h in range(2):
            if h == 1 and ln.homozygous:  # the same haplotype twice: copy its codes
                out[t, 1], nulls[t, 1] = out[t, 0], nulls[t, 0]
                continue
            d = ln.by_locus[h]
            for l, locus in enumerate(loci):
                name = d.get(keys[l])
                if name is None:
                    raise LineError(
                        f"{ln.label} is not typed at {locus}, which the computation uses "
                        f"(loci {'~'.join(loci)}); pass --loci to leave {locus} out"
                    )
                if is_null(name) and not name.startswith("DRBX"):
                    raise LineError(
                        f"{ln.label}: donor lines are chosen for the antigens they express: null allele "
                        f"{name} cannot be part of a line; give the expressed allele"
                    )
                if name not in seen:
                    try:
                        mac_alleles(name)  # a multiple-allele code needs --mac and a code the file lists
                    except NomenclatureError as e:
                        raise LineError(f"{ln.label}: {e}") from None
                    _check_known(name, ln, nom)
                    try:
                        seen[name] = at_resolution(name, resolution)
                    except NomenclatureError as e:  # an allele name on an antigen table, no WMDA files
                        raise LineError(_needs_nomenclature(ln, name, loci, resolution, e)) from None
                    if name.count(":") >= 2:
                        long_names.append(name)
                reduced, why = seen[name]
                if why or reduced is None:  # (None, why not): the name cannot be brought to ``resolution``
                    raise LineError(f"{ln.label}: {why}; {_resolution_fix(name, resolution, table_resolution)}")
                code = vocab[l].get(reduced, -1)
                if code < 0:
                    if len(vocab[l]) == sizes[l]:  # the first name past the table's: a copy of our own
                        vocab[l] = dict(vocab[l])
                    code = vocab[l][reduced] = sizes[l] + 2 + (len(vocab[l]) - sizes[l])
                    if reduced not in unknown:
                        unknown.append(reduced)
                out[t, h, l] = code
                nulls[t, h, l] = is_null(reduced)
    if long_names:
        warnings.warn(
            f"the lines name alleles with three or four fields ({', '.join(long_names[:5])}"
            f"{' …' if len(long_names) > 5 else ''}); compared at {resolution} resolution",
            HlamatchWarning,
            stacklevel=3,
        )
    if unknown and table_name is not None:
        warnings.warn(
            f"allele(s) {', '.join(unknown)} of the lines do not occur in table {table_name} at "
            f"loci {'~'.join(loci)}; lines carrying them match only unlisted chromosomes",
            HlamatchWarning,
            stacklevel=3,
        )
    return EncodedLines(out, nulls, vocab)


def _antigen_guess(name: str | None) -> str | None:
    """An antigen label to show as an example for ``name`` (its first field under the serologic
    prefix: ``DRB1*04:01`` → ``DR4``); an antigen stays itself; None where there is no guess."""
    if name is None:
        return None
    a = parse_allele(name)
    if a.fields == 0:
        return a.name
    prefix = SEROLOGY_PREFIX.get(a.locus)
    first = a.name.split("*", 1)[-1].split(":")[0]
    return f"{prefix}{int(first)}" if prefix and first.isdigit() else None


def _antigen_example(line: Line, loci: Sequence[str]) -> str:
    """`` (e.g. A2~B44~DR4 …)``: the line with antigen labels guessed from first fields, or ``""``."""
    haps = []
    for h in (0,) if line.homozygous else (0, 1):
        names = [_antigen_guess(line.by_locus[h].get(locus_key(locus))) for locus in loci]
        if None in names:
            return ""
        haps.append("~".join(names))  # type: ignore[arg-type]
    return f" (e.g. {'/'.join(haps)}, if those are the antigens of its alleles)"


def _needs_nomenclature(line: Line, name: str, loci: Sequence[str], resolution: str, error: Exception) -> str:
    """The message for an allele name in a line compared at a serologic level without WMDA files."""
    if resolution not in (ANTIGEN, BROAD):
        return f"{line.label}: {error}"
    return (
        f"{line.label}: {name} is an allele name and the computation is at {resolution} level (an antigen "
        f"table): type the line with antigen labels as the table names them{_antigen_example(line, loci)}, "
        f"or have hlamatch bring its alleles to antigens: {error}"
    )


def _resolution_fix(name: str, resolution: str, table_resolution: str | None) -> str:
    """What to do about a line allele that cannot be brought to the computation's ``resolution``.

    A ``--resolution`` is suggested only where both the name and the table can be brought (an
    antigen table has no one-field level); at antigen or broad level the line can be typed with
    antigen labels, or at two fields when the WMDA files are given.
    """
    from hlamatch.hla.alleles import MAC, unreachable

    allele = parse_allele(name)
    own = name_resolution(allele)
    serologic = resolution in (ANTIGEN, BROAD)
    if serologic and allele.fields and allele.locus not in SEROLOGY_PREFIX:
        return f"leave {allele.locus} out with --loci"
    if own is None or own == MAC or not unreachable(own, resolution):  # the class fits; the files lack the name
        if serologic and own != MAC and allele.fields:
            guess = _antigen_guess(name)
            return f"type the line with its antigen label instead{f' (e.g. {guess})' if guess else ''}"
        return f"type the line at the computation's {resolution} resolution, or pass a coarser --resolution"
    options = [
        r
        for r in ALL_RESOLUTIONS
        if r != resolution
        and not unreachable(own, r)
        and (table_resolution is None or not unreachable(table_resolution, r))
    ]
    if serologic:
        guess = _antigen_guess(name)
        fix = f"type it with its antigen label{f' (e.g. {guess})' if guess else ''}, or at two fields" + (
            " (with --nomenclature DIR, which brings alleles to antigens)" if current_nomenclature() is None else ""
        )
    else:
        fix = f"type the line at the computation's {resolution} resolution"
    if options:
        fix += f", or pass --resolution {' or '.join(options)}"
        if current_nomenclature() is None and all(r in NOMENCLATURE_RESOLUTIONS for r in options):
            fix += " with --nomenclature DIR (the WMDA files)"
    return fix


def _check_known(name: str, line: Line, nom: Nomenclature | None) -> None:
    """With a nomenclature in use, a name it does not know is an error naming the line and its row."""
    if nom is None:
        return
    for a in mac_alleles(name) or [name]:
        if not nom.known(a):
            raise UnknownAlleleError(
                f"{line.label}: allele {a} is not in {nom.release}"
                + (f" (from {name})" if a != name else "")
                + "; check the name against the nomenclature files"
            )
