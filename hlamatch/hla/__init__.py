"""The HLA domain: allele names and resolutions, the WMDA nomenclature, donor lines, patient typings and
match rules.  Knows nothing of tables' arrays or kernels.
"""
