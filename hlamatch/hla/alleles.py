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

from hlamatch.constants import (
    ANTIGEN,
    ANTIGEN_LOCI,
    BROAD,
    DRB345_GENES,
    MOLECULAR_LOCI,
    NOMENCLATURE_RESOLUTIONS,
    RESOLUTIONS,
)
from hlamatch.errors import AlleleNameError, UnknownLocusError

_MOLECULAR = re.compile(
    r"^(?:HLA-)?(?P<gene>[A-Z]{1,4}[0-9]?)\*(?P<fields>[0-9]{1,4}(?::[0-9]{1,4}){0,3})"
    r"(?P<expr>[NLSCAQ]?)(?P<group>[gGP]?)$"
)
_NO_GENE = re.compile(r"^(?:HLA-)?DRBX\*N+$")
#: An NMDP multiple-allele code: first field, then 2–5 capital letters (``A*24:AB``).
_MAC = re.compile(r"^(?:HLA-)?(?P<gene>[A-Z]{1,4}[0-9]?)\*(?P<first>[0-9]{1,4}):(?P<code>[A-Z]{2,5})$")
#: The resolution class of a multiple-allele code.
MAC = "MAC"
_ANTIGEN = re.compile(r"^(?P<prefix>Cw|DR|DQ|DP|A|B|C)(?P<number>[0-9]{1,4}|-null)$")
#: Antigen label prefix per antigen locus, as the NMDP antigen tables write them (``C7`` is ``Cw7``).
_LABEL_PREFIX = {"A": "A", "B": "B", "C": "Cw", "DR": "DR", "DQ": "DQ", "DP": "DP"}
#: Molecular locus ↔ antigen locus (``--loci A,B,DRB1`` works on an antigen table and back).
_LOCUS_ALIASES = {"DRB1": "DR", "DR": "DRB1", "DQB1": "DQ", "DQ": "DQB1", "CW": "C"}
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
    m = _MAC.match(s)
    if m and m.group("gene") != "DRBX" and _gene_to_locus(m.group("gene")) in MOLECULAR_LOCI:
        return Allele(
            _gene_to_locus(m.group("gene")), f"{m.group('gene')}*{m.group('first').zfill(2)}:{m.group('code')}", 2
        )
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
        n_fields = fields.count(":") + 1
        group = m.group("group")
        # WHO groups keep their suffix: G after three fields, P after two; NMDP's 'g' (and a 'G'
        # after two fields) names an allele group by its first allele and is dropped.
        keep = group if (group == "P" or (group == "G" and n_fields >= 3)) else ""
        if keep and m.group("expr"):
            raise AlleleNameError(f"malformed allele name {text!r}: a {keep} group name has no expression suffix")
        name = f"{gene}*{fields}{m.group('expr')}{keep}"
        return Allele(locus, name, n_fields)
    m = _ANTIGEN.match(s)
    if m:
        locus = _ANTIGEN_PREFIX_TO_LOCUS[m.group("prefix")]
        number = m.group("number")
        label = _LABEL_PREFIX[locus] + (number if number == "-null" else str(int(number)))
        return Allele(locus, label, 0)
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
        raise AlleleNameError(f"value {value!r} in column {locus!r} is an allele of locus {allele.locus!r}")
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
    """Resolution class of a parsed name: ``2-field``, ``1-field``, ``G``, ``P``, ``antigen``, or None
    (``DRBX*NNNN``, the same at every resolution)."""
    if allele.name.startswith("DRBX"):
        return None
    if allele.fields == 0:
        return ANTIGEN
    if _MAC.match(allele.name):
        return MAC
    if allele.name[-1] in "GP":
        return allele.name[-1]
    return "2-field" if allele.fields >= 2 else "1-field"


#: Which resolution classes each resolution can be reached from without guessing.
_REACHABLE_FROM = {
    "2-field": ("2-field",),
    "1-field": ("2-field", "1-field"),
    "G": ("2-field", "G"),
    "P": ("2-field", "P"),
    ANTIGEN: ("2-field", "G", "P", ANTIGEN),
    BROAD: ("2-field", "G", "P", ANTIGEN),
}


def unreachable(cls: str, resolution: str) -> str | None:
    """Why names of class ``cls`` cannot be brought to ``resolution`` (None: they can).

    A class always reaches itself: a table or a name is never refused its own resolution.
    """
    if cls == MAC or cls == resolution or cls in _REACHABLE_FROM.get(resolution, ()):
        return None
    if cls == "1-field" and resolution in NOMENCLATURE_RESOLUTIONS:
        what = "a G group" if resolution == "G" else "a P group" if resolution == "P" else "a serologic antigen"
        return f"one-field names do not determine {what}; type at two fields"
    if cls == ANTIGEN:
        return f"antigen labels cannot be brought to {resolution} (an antigen covers many alleles)"
    if cls in ("G", "P"):
        return f"{cls} group names can be brought only to antigen or broad level, not {resolution}"
    return f"{cls} is coarser than {resolution}"


#: Antigen locus → the molecular locus it is the serology of.
_MOLECULAR_OF = {"DR": "DRB1", "DQ": "DQB1"}


def locus_key(locus: str) -> str:
    """One name per locus across allele and antigen vocabularies (``DR`` → ``DRB1``, ``DQ`` → ``DQB1``)."""
    return _MOLECULAR_OF.get(locus, locus)


def locus_at(locus: str, resolution: str | None) -> str:
    """The locus's name at ``resolution``: ``DRB1`` is ``DR`` and ``DQB1`` is ``DQ`` at antigen and broad level."""
    if resolution in (ANTIGEN, BROAD):
        from hlamatch.hla.nomenclature import ANTIGEN_LOCUS

        return ANTIGEN_LOCUS.get(locus, locus)
    return locus


#: (name, two- or one-field resolution) → :func:`at_resolution`'s answer: it depends on the name alone.
_FIELD_LEVEL: dict[tuple[str, str], tuple[str | None, str | None]] = {}


def _at_field_level(name: str, cls: str | None, resolution: str) -> tuple[str | None, str | None]:
    """:func:`at_resolution` at ``2-field`` or ``1-field`` for a name of class ``cls`` (not a MAC)."""
    if cls is None:
        return name, None
    if cls == ANTIGEN:
        return None, f"{name} is an antigen, not at {resolution} level"
    if cls in ("G", "P"):
        return None, f"{name}: {unreachable(cls, resolution)}"
    if RESOLUTIONS.index(cls) > RESOLUTIONS.index(resolution):
        return None, f"{name} is {cls}, coarser than {resolution}"
    return reduce_name(name, resolution), None


def at_resolution(name: str, resolution: str) -> tuple[str | None, str | None]:
    """A normalised name at ``resolution``: ``(name there, None)``, or ``(None, why not)``.

    Two-field and one-field drop fields; G, P, antigen and broad map through the nomenclature in
    use (:func:`hlamatch.hla.nomenclature.current_nomenclature`).  A name coarser than
    ``resolution`` (``A*24`` at two-field, ``B*15`` at antigen level), of another kind (an
    antigen at allele level), at a locus without serology, or absent from the nomenclature files
    cannot be brought there without guessing.  Null alleles stay null: their two-field name at G
    and P level, the null label (``A-null``) at antigen and broad level.

    Raises
    ------
    NomenclatureError
        ``resolution`` needs the nomenclature files and none is set.
    """
    known = _FIELD_LEVEL.get((name, resolution))
    if known is not None:
        return known
    allele = parse_allele(name)
    cls = name_resolution(allele)
    if cls == MAC:
        return _mac_at(name, resolution)
    if resolution in RESOLUTIONS:  # names alone decide: remember the answer
        if len(_FIELD_LEVEL) > 100_000:
            _FIELD_LEVEL.clear()
        _FIELD_LEVEL[name, resolution] = out = _at_field_level(name, cls, resolution)
        return out
    if resolution not in NOMENCLATURE_RESOLUTIONS:
        raise AlleleNameError(f"unknown resolution {resolution!r}")
    serologic = resolution in (ANTIGEN, BROAD)
    if serologic and allele.locus not in ANTIGEN_LOCI and allele.locus not in ("DRB1", "DQB1"):
        return None, f"{name}: locus {allele.locus} has no serologic antigens (antigen-level loci: A, C, B, DRB1, DQB1)"
    if cls is None or cls == resolution:
        # Already there: an antigen at antigen level, a G group at G level need no files.
        return name, None
    why = unreachable(cls, resolution)
    if why:
        return None, f"{name}: {why}"
    from hlamatch.hla.nomenclature import current_nomenclature, is_null_label

    nom = current_nomenclature(f"resolution {resolution}")
    assert nom is not None
    if resolution in ("G", "P"):
        if is_null(name):
            return reduce_name(name, "2-field"), None
        group = nom.group(name, resolution)
        if group is None:
            return None, f"{name} is not in the {resolution} groups of {nom.release}"
        return group, None
    label: str | None
    if cls == ANTIGEN:
        label = name
    else:
        first = nom.group_members(cls).get(name) if cls in ("G", "P") else name
        label = nom.antigen(first) if first is not None else None
        if label is None:
            return None, f"{name} has no serologic equivalent in {nom.release} (rel_dna_ser.txt)"
    if resolution == BROAD and not is_null_label(label):
        label = nom.broad(label)
    return label, None


def _mac_at(name: str, resolution: str) -> tuple[str | None, str | None]:
    """A multiple-allele code at ``resolution``: the one name all its alleles share there."""
    from hlamatch.hla.nomenclature import current_mac

    there = set()
    alleles = current_mac(name).expand(name) or []
    for a in alleles:
        x, why = at_resolution(parse_allele(a).name, resolution)
        if x is None:
            return None, f"{name} (= {'/'.join(alleles)}): {why}"
        there.add(x)
    if len(there) > 1:
        return None, (
            f"{name} stands for {'/'.join(alleles)}, which differ at {resolution} level "
            f"({', '.join(sorted(there))}); it cannot be used without guessing"
        )
    return there.pop(), None


def is_mac(name: str) -> bool:
    """Whether ``name`` is written as a multiple-allele code (``A*24:AB``)."""
    return _MAC.match(name) is not None


def mac_alleles(name: str) -> list[str] | None:
    """The alleles a multiple-allele code stands for (None for any other name); needs ``--mac``."""
    if not is_mac(name):
        return None
    from hlamatch.hla.nomenclature import current_mac

    return [parse_allele(a).name for a in current_mac(name).expand(name) or []]


@lru_cache(maxsize=65536)
def is_null(name: str) -> bool:
    """True for a non-expressed allele: expression suffix ``N`` (``A*01:11N``), ``DRBX*NNNN``, or the
    antigen-level null label (``A-null``).  A multiple-allele code ending in N (``A*24:AN``: a
    letters-only second field) is not a null allele."""
    if name.startswith("DRBX") or name.endswith("-null"):
        return True
    return "*" in name and name.endswith("N") and _MAC.match(name) is None


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
    for candidate in (s, _LOCUS_ALIASES.get(s)):
        for locus in known:
            if candidate is not None and locus.upper() == candidate:
                return locus
    raise UnknownLocusError(
        f"unknown locus {text!r}: the table has loci {', '.join(known)}; pass --loci with a subset of these"
    )
