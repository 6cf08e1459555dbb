"""hlamatch in a ``multiprocessing`` fork pool, after a parallel kernel ran in the parent.

numba's threads on GNU OpenMP (its ``omp`` layer on Linux, when tbb is not installed) do not
survive fork(): a parallel kernel in the child aborted it, and ``Pool.map`` waited forever.  A
child forked after those threads started runs the serial twins of the parallel kernels
(``hlamatch._jit._forked_from_omp``), with the same results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import multiprocessing as mp
    import numba
    from hlamatch import _jit, bundled_table, coverage, top_lines
    from hlamatch.compute.dispatch import kernels_only

    table = bundled_table("japanese")
    lines = top_lines(table, 5)

    def run(n):
        with kernels_only():  # the numba kernels, however small the problem
            return coverage(table, lines[:n], max_mismatches=1).to_dicts()

    parent = run(5)  # a parallel kernel runs here: numba's threads start
    layer = numba.threading_layer()

    def job(n):
        return run(n), _jit._forked_from_omp

    with mp.get_context("fork").Pool(1) as pool:
        (child, serial), = pool.map_async(job, [5]).get(timeout=100)
    assert child == parent, (child, parent)
    assert serial == (layer == "omp"), (serial, layer)
    print("OK", layer, serial)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_fork_pool_after_a_parallel_kernel_returns_the_same_results():
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_THREADING_LAYER", "NUMBA_NUM_THREADS")}
    env["NUMBA_NUM_THREADS"] = "2"
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=150, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("OK "), proc.stderr[-3000:]
    assert "Terminating" not in proc.stderr  # numba's abort message in a forked child


def test_parallel_kernels_show_their_dispatcher():
    """The fork-safe wrapper of a parallel kernel is seen as the kernel: name, module, numba attributes."""
    from hlamatch._jit import _ForkSafe
    from hlamatch.kernels import pairs

    kernel = pairs.pair_mass_folds
    assert isinstance(kernel, _ForkSafe)
    assert (kernel.__module__, kernel.__name__) == ("hlamatch.kernels.pairs", "pair_mass_folds")
    assert kernel.py_func is kernel.__wrapped__ and hasattr(kernel, "signatures")
