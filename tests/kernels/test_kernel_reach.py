"""Every kernel family has a test that runs its numba kernels.

Small problems take the NumPy twins, so a family can go untested on its compiled path without any
test failing.  This check runs after every other test of the session (``tests/conftest.py`` orders it
last and records, after each test, which families have compiled code): each family of
:data:`hlamatch.kernels.FAMILIES` must have a public kernel of its own module with compiled
signatures (compiled or loaded from the cache) by then.  It needs the whole suite: on a selection
(files, ``-k``, ``-m``, ``--deselect`` ...) or with ``NUMBA_DISABLE_JIT=1`` (nothing compiles) it is
skipped, saying why.
"""

from __future__ import annotations

import os

import pytest


def test_every_kernel_family_is_reached(kernel_reach):
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        pytest.skip("NUMBA_DISABLE_JIT: the kernels are plain Python functions, nothing compiles to check")
    if kernel_reach["subset"]:
        pytest.skip(
            "the kernel-family check needs the whole suite, and only part of it is selected here ("
            + "; ".join(kernel_reach["subset"])
            + ")"
        )
    missing = [f for f in kernel_reach["families"] if f not in kernel_reach["first"]]
    assert not missing, (
        f"no test ran the numba kernels of {', '.join(missing)} (hlamatch/kernels/{missing[0]}.py ...): small "
        "problems take the NumPy twins, so test such a family with the kernel_path fixture (tests/conftest.py) "
        "or through hlamatch.compute.dispatch.kernels_only(); families reached: "
        + (", ".join(f"{f} (first by {t})" for f, t in sorted(kernel_reach["first"].items())) or "none")
    )
