"""Reading what users give: one reader per frequency-table format, one text reader for user CSV/TSV
files (lines, patients, weights), the bundled tables, and ``load_table``.
"""
