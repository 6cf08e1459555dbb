"""Patient typings: GL-string-like text parsed into per-locus allele pairs."""

from __future__ import annotations

from dataclasses import dataclass

from hlamatch.errors import AlleleNameError, HlamatchError, TypingError
from hlamatch.hla.alleles import parse_allele

__all__ = ["Typing", "parse_typing"]


@dataclass(frozen=True)
class Typing:
    """One patient's unphased typing.

    Attributes
    ----------
    id : str
        Patient identifier (from an ``id`` column, or the row number).
    where : str
        Where it was read (``patients file patients.csv row 4``), for messages.
    alleles : dict
        Locus → (allele1, allele2) normalised names; ``None`` when the typing could not be read.
    error : str or None
        Why the typing is malformed (then ``alleles`` is None).
    """

    id: str
    where: str
    alleles: dict[str, tuple[str, str]] | None
    error: str | None = None


def parse_typing(text: str, id: str = "patient", where: str | None = None) -> Typing:
    """Parse a GL-string-like typing; a malformed one is returned with ``error`` set (never raises)."""
    where = where or f"typing {text!r}"
    try:
        if not isinstance(text, str) or not text.strip():
            raise TypingError(
                "empty typing"
                if isinstance(text, str) or text is None
                else f"expected a typing text, got {type(text).__name__} {text!r}"
            )
        alleles: dict[str, tuple[str, str]] = {}
        for part in text.strip().split("^"):
            if not part.strip():
                raise TypingError("empty locus between '^' separators")
            names = [x.strip() for x in part.split("+")]
            add_locus(alleles, names, part)
        if not alleles:
            raise TypingError("empty typing")
        return Typing(id, where, alleles)
    except HlamatchError as e:
        return Typing(id, where, None, f"{where} (patient {id}): {e}")


def add_locus(
    alleles: dict[str, tuple[str, str]], names: list[str], shown: str, column_locus: str | None = None
) -> None:
    names = [n for n in names if n]
    if len(names) > 2:
        raise TypingError(f"{len(names)} alleles at one locus ({shown!r}); a typing has at most two per locus")
    if not names:
        raise TypingError(f"no allele in {shown!r}")
    parsed = []
    for n in names:
        try:
            a = parse_allele(n)
        except AlleleNameError as e:
            raise TypingError(str(e)) from None
        parsed.append(a)
    loci = {a.locus for a in parsed}
    if len(loci) != 1:
        raise TypingError(f"alleles of different loci joined by '+' in {shown!r}")
    locus = parsed[0].locus
    if column_locus is not None and locus != column_locus:
        raise TypingError(f"allele {parsed[0].name} is of locus {locus}, found in the {column_locus} columns")
    if locus in alleles:
        raise TypingError(f"locus {locus} is typed twice")
    first = parsed[0].name
    alleles[locus] = (first, parsed[1].name if len(parsed) == 2 else first)
