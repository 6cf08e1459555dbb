"""Allowed values shared by library validation and the CLI's ``click.Choice`` options."""

from __future__ import annotations

#: Coverage levels (see docs: haplotype level = phase-aware, genotype level = unphased).
LEVELS: tuple[str, ...] = ("haplotype", "genotype")
LEVEL_CHOICES: tuple[str, ...] = ("haplotype", "genotype", "both")

#: Allele-field resolutions, finest first (a table or name can be brought to a later one by
#: dropping fields).
RESOLUTIONS: tuple[str, ...] = ("2-field", "1-field")
ANTIGEN = "antigen"
BROAD = "broad"
#: Resolutions reached through the WMDA nomenclature files (see :mod:`hlamatch.hla.nomenclature`):
#: G and P groups (ARD level), serologic split antigens, broad antigens.
NOMENCLATURE_RESOLUTIONS: tuple[str, ...] = ("G", "P", ANTIGEN, BROAD)
#: Every resolution a computation can be asked for.
ALL_RESOLUTIONS: tuple[str, ...] = RESOLUTIONS + NOMENCLATURE_RESOLUTIONS

#: Output formats of every CLI command.
FORMATS: tuple[str, ...] = ("text", "json", "csv")

#: Table formats ``load_table`` reads (``auto`` detects).
TABLE_FORMATS: tuple[str, ...] = ("auto", "nmdp", "grimm", "nmdp2007", "hfx", "pypop", "wide")

#: Molecular loci hlamatch knows, in the conventional NMDP order.  ``DRB345`` is the
#: NMDP 9-locus slot holding DRB3, DRB4, DRB5 or ``DRBX*NNNN`` (no such gene).
MOLECULAR_LOCI: tuple[str, ...] = (
    "A",
    "C",
    "B",
    "DRB345",
    "DRB1",
    "DQA1",
    "DQB1",
    "DPA1",
    "DPB1",
)
#: Genes whose alleles live in the DRB345 slot.
DRB345_GENES: frozenset[str] = frozenset({"DRB3", "DRB4", "DRB5", "DRBX"})
#: Serological (antigen-level) loci and the label prefixes they use (``Cw7``, ``DR15``).
ANTIGEN_LOCI: dict[str, tuple[str, ...]] = {
    "A": ("A",),
    "B": ("B",),
    "C": ("Cw", "C"),
    "DR": ("DR",),
    "DQ": ("DQ",),
    "DP": ("DP",),
}
KNOWN_LOCI: tuple[str, ...] = MOLECULAR_LOCI + tuple(locus for locus in ANTIGEN_LOCI if locus not in MOLECULAR_LOCI)

#: Default tolerance on a population's frequency sum above 1 (NMDP 2007 AFA sums to 1.0039).
DEFAULT_SUM_TOLERANCE = 0.01
#: Unlisted mass below this is printed as 0 and bounds closer than this are one value.
MASS_EPSILON = 1e-9

#: Mismatch directions (host-versus-graft is the haplobank default).
DIRECTIONS: tuple[str, ...] = ("HvG", "GvH", "bidirectional")
DEFAULT_DIRECTION = "HvG"
HOMOZYGOUS_COUNTS: tuple[int, ...] = (1, 2)

#: Largest whole number a count argument takes (the kernels and NumPy count in int64).
INT64_MAX = 2**63 - 1

#: Memory the Monte Carlo draws of one ``supply`` call may take (float64 lower and upper bounds per
#: sample and level): ``samples`` above ``SAMPLES_MEMORY_BYTES // 32`` is refused before allocating.
SAMPLES_MEMORY_BYTES = 2**30
MAX_SAMPLES = SAMPLES_MEMORY_BYTES // 32
