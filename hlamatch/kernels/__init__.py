"""Numba kernels: NumPy arrays in, arrays or scalars out.  No polars, no I/O, no messages.

One module per kernel family; the NumPy twins of a family sit beside it (``*_numpy``) and compute
the same sums for problems too small to be worth loading compiled code.  Kernels are internal: the
drivers in :mod:`hlamatch.compute` validate and normalise inputs (``uint64`` bitsets, ``int32``
codes, ``float64`` frequencies, C-contiguous) so that each kernel compiles once, and choose the
variant (kernel or twin, sweep or pair loop).

Bitset encoding (zero-mismatch rule, built by :mod:`hlamatch.compute.encode`)
---------------------------------------------------------------------------
For patient haplotype ``i``, locus ``l`` and 64-line word ``w``, bit ``t`` of ``b1[w, l, i]``
is set when ``i[l]`` equals allele 1 of line ``t`` at ``l``; ``b2`` likewise for allele 2.  A
pair of chromosomes ``(i, j)`` carries every HvG antigen of line ``t`` iff, at every locus,
both line alleles are among the pair's alleles::

    AND_l (b1[w,l,i] | b1[w,l,j]) & (b2[w,l,i] | b2[w,l,j])   has bit t set.

Haplotype-level matching is the same test on one pseudo-locus whose "allele" is the whole
haplotype.  Inputs are read-only views: kernels never write to them.
"""

from __future__ import annotations

from typing import Any

#: The kernel families (modules of this package with numba kernels), each with the tests that reach
#: its compiled path (``tests/kernels``).
FAMILIES = ("pairs", "sweep", "grouping", "rules", "geno_rule", "hom_rule", "other_merge", "planning")


def code_digest() -> str:
    """A digest of the kernels' code as this process loaded it (not as it lies on disk).

    Bytecode, names and constants of every function of every module of this package (numba kernels
    by their Python function; the NumPy twins too) and the modules' plain constants; file paths are
    left out, so an install at another path gives the same digest.  The Dask engine compares it
    between this process and its workers.
    """
    import hashlib
    import pkgutil
    from importlib import import_module

    digest = hashlib.sha256()

    def feed(code: Any) -> None:
        digest.update(code.co_code)
        digest.update(repr((code.co_names, code.co_varnames)).encode())
        for c in code.co_consts:
            if hasattr(c, "co_code"):
                feed(c)
            else:
                digest.update(repr(c).encode())

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = import_module(f"{__name__}.{info.name}")
        digest.update(f"module {info.name}".encode())
        for name, value in sorted(vars(module).items()):
            fn = getattr(value, "py_func", value)
            if getattr(fn, "__module__", None) == module.__name__ and hasattr(fn, "__code__"):
                digest.update(name.encode())
                feed(fn.__code__)
            elif isinstance(value, (bool, int, float, str)) and not name.startswith("__"):
                digest.update(f"{name}={value!r}".encode())
    return digest.hexdigest()[:16]
