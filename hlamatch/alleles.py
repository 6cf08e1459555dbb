"""HLA allele and antigen names: parsing, normalisation, resolution reduction.

Names are normalised to the NMDP style without the ``HLA-`` prefix: ``A*24:02``,
``DRB1*15:02``, ``DRB4*01:03N``, ``DRBX*NNNN`` (no DRB3/4/5 gene on the haplotype) or, for
antigen-level tables, ``A24``, ``Cw7``, ``DR15``.  A trailing allele-group ``g`` (NMDP 2007:
``A*01:01g``) is dropped: the group is named by its first allele, which is how GRIMM and
HFX copies of the same tables write it.  Each numeric field is padded to at least two digits
(``A*2:01`` is ``A*02:01``, ``DRB1*4:5`` is ``DRB1*04:05``), so that two spellings of one allele
are one allele; longer fields (``B*15:101``) are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .constants import ANTIGEN, ANTIGEN_LOCI, DRB345_GENES, MOLECULAR_LOCI, RESOLUTIONS
from .errors import AlleleNameError, UnknownLocusError

_MOLECULAR = re.compile(
    r"^(?:HLA-)?(?P<gene>[A-Z]{1,4}[0-9]?)\*(?P<fields>[0-9]{1,4}(?::[0-9]{1,4}){0,3})"
    r"(?P<expr>[NLSCAQ]?)(?P<group>[gGP]?)$"
)
_NO_GENE = re.compile(r"^(?:HLA-)?DRBX\*N+$")
_ANTIGEN = re.compile(r"^(?P<prefix>Cw|DR|DQ|DP|A|B|C)(?P<number>[0-9]{1,4})$")
_ANTIGEN_PREFIX_TO_LOCUS = {p: locus for locus, ps in ANTIGEN_LOCI.items() for p in ps}


@dataclass(frozen=True)
class Allele:
    """A parsed allele name.

    Attributes
    ----------
    locus : str
        Locus slot (``A``, ``DRB1``, ``DRB345`` ..., or an antigen locus ``DR``).
    name : str
        Normalised name (``A*24:02``; ``A24`` for antigens).
    fields : int
        Number of fields (0 for antigens and ``DRBX*NNNN``).
    """

    locus: str
    name: str
    fields: int


def _gene_to_locus(gene: str) -> str:
    return "DRB345" if gene in DRB345_GENES else gene


@lru_cache(maxsize=65536)
def parse_allele(text: str) -> Allele:
    """Parse one allele or antigen name.

    Parameters
    ----------
    text : str
        ``A*24:02``, ``HLA-A*01:01g``, ``DRB4*01:03N``, ``DRBX*NNNN`` or an antigen label ``A24``.

    Returns
    -------
    Allele

    Raises
    ------
    AlleleNameError
        If the text is none of these.

    Examples
    --------
    >>> parse_allele("HLA-A*2:01g").name
    'A*02:01'
    >>> parse_allele("B*15:101").name
    'B*15:101'
    """
    s = text.strip()
    if _NO_GENE.match(s):
        return Allele("DRB345", "DRBX*NNNN", 0)
    m = _MOLECULAR.match(s)
    if m:
        gene = m.group("gene")
        if gene == "DRBX":
            raise AlleleNameError(
                f"malformed allele name {text!r}: DRBX names no gene; it is written only 'DRBX*NNNN' "
                "(no DRB3/4/5 gene on the haplotype)"
            )
        locus = _gene_to_locus(gene)
        if locus not in MOLECULAR_LOCI:
            raise AlleleNameError(
                f"allele {text!r} names gene {gene!r}, which hlamatch does not know "
                f"(known: {', '.join(MOLECULAR_LOCI)})"
            )
        # Pad every field to at least two digits: A*2:01 is A*02:01 (three- and four-digit
        # fields such as B*15:101 stay as they are).
        fields = ":".join(f.zfill(2) for f in m.group("fields").split(":"))
        name = f"{gene}*{fields}{m.group('expr')}"
        return Allele(locus, name, fields.count(":") + 1)
    m = _ANTIGEN.match(s)
    if m:
        prefix = m.group("prefix")
        locus = _ANTIGEN_PREFIX_TO_LOCUS[prefix]
        return Allele(locus, f"{prefix}{int(m.group('number'))}", 0)
    raise AlleleNameError(
        f"malformed allele name {text!r}: expected a name like 'A*24:02' (two-field), "
        "'A*24' (one-field) or an antigen label like 'A24'"
    )


def normalise_in_column(value: str, locus: str) -> Allele:
    """Parse a value found in a locus column of a wide table (``24:02`` under ``A`` is ``A*24:02``).

    Raises
    ------
    AlleleNameError
        If the value is malformed or belongs to another locus.
    """
    s = value.strip()
    if s[:1].isdigit():
        # A bare number: a molecular allele under a molecular locus, an antigen under DR/DQ/DP.
        s = f"{locus}*{s}" if locus in MOLECULAR_LOCI and locus != "DRB345" else f"{locus}{s}"
    allele = parse_allele(s)
    if allele.locus != locus:
        raise AlleleNameError(
            f"value {value!r} in column {locus!r} is an allele of locus {allele.locus!r}"
        )
    return allele


@lru_cache(maxsize=65536)
def reduce_name(name: str, resolution: str) -> str:
    """Reduce a normalised allele name to ``resolution`` (``2-field``, ``1-field`` or ``antigen``).

    Fields beyond the requested number are dropped; an expression suffix (``N``, ``L`` ...) is
    kept so that a null allele stays distinguishable from expressed ones.  Antigen labels and
    ``DRBX*NNNN`` are returned unchanged.
    """
    if "*" not in name or name.startswith("DRBX"):
        return name
    keep = 2 if resolution == "2-field" else 1 if resolution == "1-field" else None
    if keep is None:
        raise AlleleNameError(f"cannot reduce allele {name!r} to resolution {resolution!r}")
    gene, rest = name.split("*", 1)
    expr = rest[-1] if rest[-1].isalpha() else ""
    fields = (rest[:-1] if expr else rest).split(":")
    return f"{gene}*{':'.join(fields[:keep])}{expr}"


def name_resolution(allele: Allele) -> str | None:
    """Resolution class of a parsed allele: ``2-field``, ``1-field``, ``antigen`` or None (no gene)."""
    if allele.name.startswith("DRBX"):
        return None
    if allele.fields == 0:
        return ANTIGEN
    return "2-field" if allele.fields >= 2 else "1-field"


def at_resolution(name: str, resolution: str) -> tuple[str | None, str | None]:
    """An allele name at ``resolution``: ``(reduced name, None)``, or ``(None, why not)``.

    A name coarser than ``resolution`` (``A*24`` at two-field) or of the other kind (an antigen
    at allele level, an allele at antigen level) cannot be brought there without guessing.
    """
    cls = name_resolution(parse_allele(name))
    if cls is None:  # DRBX*NNNN: the same at every resolution
        return name, None
    if (resolution == ANTIGEN) != (cls == ANTIGEN):
        kind = "an antigen" if cls == ANTIGEN else "a molecular allele"
        return None, f"{name} is {kind}, not at {resolution} level"
    if resolution in RESOLUTIONS and RESOLUTIONS.index(cls) > RESOLUTIONS.index(resolution):
        return None, f"{name} is {cls}, coarser than {resolution}"
    return (name if resolution == ANTIGEN else reduce_name(name, resolution)), None


@lru_cache(maxsize=65536)
def is_null(name: str) -> bool:
    """True for a non-expressed allele: expression suffix ``N`` (``A*01:11N``) or ``DRBX*NNNN``."""
    return name.startswith("DRBX") or ("*" in name and name.endswith("N"))


def canonical_locus(text: str, known: tuple[str, ...]) -> str:
    """Map user input (``drb1``, ``HLA-DRB1``, ``DRB3/4/5``) to a locus of ``known``.

    Raises
    ------
    UnknownLocusError
        If the locus is not among ``known``.
    """
    s = text.strip().upper().removeprefix("HLA-")
    if s in {"DRB3/4/5", "DRB345", "DRB3-4-5"}:
        s = "DRB345"
    for locus in known:
        if locus.upper() == s:
            return locus
    raise UnknownLocusError(
        f"unknown locus {text!r}: the table has loci {', '.join(known)}; "
        "pass --loci with a subset of these"
    )
