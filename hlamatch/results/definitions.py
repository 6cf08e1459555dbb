"""The coverage definitions every result names (section numbers of the matching model).
"""

from __future__ import annotations

__all__ = ['DEFINITIONS', 'DEFINITION_NAMES', 'definition_name', 'WEIGHTED']

#: Population label of a weighted mix's results.
WEIGHTED = "weighted"


DEFINITIONS: dict[str, str] = {
    "haplotype": (
        "haplotype level (phase-aware): each line haplotype is compared, allele by allele, with one of "
        "the patient's two haplotypes; share of HWE patient genotypes that some line matches under the rule"
    ),
    "genotype": (
        "genotype level (unphased): the line's alleles are compared with the patient's two alleles at "
        "each locus, phase ignored; share of HWE patient genotypes that some line matches under the rule"
    ),
}


#: Short names of :data:`DEFINITIONS`: the ``definition`` column of CSV output and flat tables
#: (see :func:`definition_name`).
DEFINITION_NAMES: dict[str, str] = {"haplotype": "hwe-haplotype", "genotype": "hwe-genotype"}


#: What a weighted mix's results add to their definition.
WEIGHTED_DEFINITION = "; weighted mix of populations: sum of w_p × coverage_p"


def definition_name(text: str) -> str:
    """The short name of a result's ``definition`` text, for CSV cells and flat tables.

    * ``hwe-haplotype``, ``hwe-genotype``: coverage of Hardy–Weinberg patient genotypes at that
      level (:data:`DEFINITIONS`);
    * ``gain-`` before it: a rank or plan row (gain = coverage(bank + line) − coverage(bank), and
      coverage, at that level);
    * ``-weighted`` after it: the weighted mix of populations (sum of w_p × coverage_p);
    * ``cohort-genotype``: empirical coverage of a typed cohort (``coverage --cohort``).

    A text none of these describe is returned as it is.

    >>> definition_name(DEFINITIONS["genotype"] + WEIGHTED_DEFINITION)
    'hwe-genotype-weighted'
    """
    for level, full in DEFINITIONS.items():
        if full in text:
            name = DEFINITION_NAMES[level]
            break
    else:
        return "cohort-genotype" if text.startswith("empirical cohort coverage (genotype level)") else text
    if text.startswith("gain "):
        name = "gain-" + name
    if "weighted mix" in text:
        name += "-weighted"
    return name
