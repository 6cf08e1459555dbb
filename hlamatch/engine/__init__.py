"""The engine: independent ranges of pair or line work, run locally or on Dask, summed exactly.
"""
