"""The definitions every result follows (section numbers of the matching model): one enum,
:class:`Definition`, holding each definition's key, short name and text.
"""

from __future__ import annotations

import enum

__all__ = ["Definition", "DEFINITIONS", "DEFINITION_NAMES", "definition_name", "WEIGHTED", "WEIGHTED_DEFINITION"]

#: Population label of a weighted mix's results.
WEIGHTED = "weighted"

_HAPLOTYPE = (
    "haplotype level (phase-aware): each line haplotype is compared, allele by allele, with one of "
    "the patient's two haplotypes; share of HWE patient genotypes that some line matches under the rule"
)
_GENOTYPE = (
    "genotype level (unphased): the line's alleles are compared with the patient's two alleles at "
    "each locus, phase ignored; share of HWE patient genotypes that some line matches under the rule"
)
#: What a weighted mix's coverage results add to their definition.
WEIGHTED_DEFINITION = "; weighted mix of populations: sum of w_p × coverage_p"
#: Rank and plan rows: the gain of a line, then the coverage definition it is measured at.
_GAIN = "gain = coverage(bank + line) − coverage(bank), lower bound; coverage at "
#: What a weighted mix's rank and plan rows add to their definition.
_GAIN_WEIGHTED = "; weighted mix: sum of w_p × coverage_p"
_COHORT = (
    "empirical cohort coverage (genotype level): share of typed patients whose alleles meet the rules for "
    "some line; not-assessable patients bound it"
)


class Definition(str, enum.Enum):
    """A result's definition: its key (the member), short name and text.

    A member *is* its text (a ``str`` equal to :attr:`text`), so a result's ``definition`` reads,
    prints and goes to JSON as the full text, while the short name (:attr:`short_name`, the
    ``definition`` column of CSV output and flat tables) comes from the member itself, never
    from searching the text.

    * ``HAPLOTYPE``, ``GENOTYPE`` (``hwe-haplotype``, ``hwe-genotype``): coverage of
      Hardy–Weinberg patient genotypes at that level;
    * ``GAIN_…`` (``gain-`` before the name): a rank or plan row (gain = coverage(bank + line) −
      coverage(bank), and coverage, at that level);
    * ``…_WEIGHTED`` (``-weighted`` after it): the weighted mix of populations (sum of w_p × coverage_p);
    * ``COHORT_GENOTYPE`` (``cohort-genotype``): empirical coverage of a typed cohort (``coverage --cohort``).

    >>> Definition.of("genotype", weighted=True).short_name
    'hwe-genotype-weighted'
    >>> Definition.GENOTYPE == Definition.GENOTYPE.text
    True
    """

    HAPLOTYPE = ("haplotype", "hwe-haplotype", _HAPLOTYPE)
    GENOTYPE = ("genotype", "hwe-genotype", _GENOTYPE)
    HAPLOTYPE_WEIGHTED = ("haplotype", "hwe-haplotype-weighted", _HAPLOTYPE + WEIGHTED_DEFINITION)
    GENOTYPE_WEIGHTED = ("genotype", "hwe-genotype-weighted", _GENOTYPE + WEIGHTED_DEFINITION)
    GAIN_HAPLOTYPE = ("haplotype", "gain-hwe-haplotype", _GAIN + _HAPLOTYPE)
    GAIN_GENOTYPE = ("genotype", "gain-hwe-genotype", _GAIN + _GENOTYPE)
    GAIN_HAPLOTYPE_WEIGHTED = ("haplotype", "gain-hwe-haplotype-weighted", _GAIN + _HAPLOTYPE + _GAIN_WEIGHTED)
    GAIN_GENOTYPE_WEIGHTED = ("genotype", "gain-hwe-genotype-weighted", _GAIN + _GENOTYPE + _GAIN_WEIGHTED)
    COHORT_GENOTYPE = ("genotype", "cohort-genotype", _COHORT)

    level: str
    short_name: str

    def __new__(cls, level: str, short_name: str, text: str) -> Definition:
        member = str.__new__(cls, text)
        member._value_ = text
        member.level = level
        member.short_name = short_name
        return member

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:  # the text's: a result's repr reads as before
        return repr(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def text(self) -> str:
        """The definition in full (JSON and text output)."""
        return str(self.value)

    @property
    def key(self) -> str:
        """The member's name (``GAIN_GENOTYPE_WEIGHTED``)."""
        return self.name

    @property
    def weighted(self) -> bool:
        """A weighted mix's definition."""
        return self.short_name.endswith("-weighted")

    @property
    def gain(self) -> bool:
        """A rank or plan row's definition."""
        return self.short_name.startswith("gain-")

    @classmethod
    def of(cls, level: str, *, gain: bool = False, weighted: bool = False) -> Definition:
        """The HWE definition at ``level`` (``"haplotype"``, ``"genotype"``): of coverage, or of a
        rank/plan gain; of one population, or of the weighted mix."""
        return cls[("GAIN_" if gain else "") + level.upper() + ("_WEIGHTED" if weighted else "")]

    def mixed(self) -> Definition:
        """The same definition for the weighted mix of populations."""
        return self if self.weighted else Definition.of(self.level, gain=self.gain, weighted=True)


#: The coverage definitions by level (each a :class:`Definition`, equal to its text).
DEFINITIONS: dict[str, Definition] = {"haplotype": Definition.HAPLOTYPE, "genotype": Definition.GENOTYPE}

#: Short names of :data:`DEFINITIONS`: the ``definition`` column of CSV output and flat tables.
DEFINITION_NAMES: dict[str, str] = {level: d.short_name for level, d in DEFINITIONS.items()}


def definition_name(text: str) -> str:
    """The short name of a result's ``definition`` (:attr:`Definition.short_name`), for CSV cells and
    flat tables; a text that is no :class:`Definition` (e.g. a row's definition that went through
    JSON) is looked up by its exact text, and one that is none is returned as it is.

    >>> definition_name(DEFINITIONS["genotype"] + WEIGHTED_DEFINITION)
    'hwe-genotype-weighted'
    """
    if isinstance(text, Definition):
        return text.short_name
    member = Definition._value2member_map_.get(text)
    return member.short_name if isinstance(member, Definition) else text
