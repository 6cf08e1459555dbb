"""A prepared problem (table + lines + rules → per-population arrays), its encoding, and the drivers
that pick a kernel or its NumPy twin and run it through the engine.
"""
