"""The haplotype frequency table: :class:`~hlamatch.table.model.HaplotypeTable` (C-contiguous arrays and
the allele vocabulary), its building and validation, row operations and populations.
"""
