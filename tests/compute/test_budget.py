"""The memory budget (hlamatch.compute.budget) and the O(n) dense sums of the exact supply model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hlamatch._settings import using
from hlamatch.compute import budget
from hlamatch.compute.donor_math import _log1m
from hlamatch.compute.registry import _dense_sums
from hlamatch.errors import OptionError


def test_budget_from_setting_env_and_default(monkeypatch):
    monkeypatch.delenv(budget.ENV, raising=False)
    default, source = budget.budget_bytes()
    assert default > 0 and budget.ENV in source
    monkeypatch.setenv(budget.ENV, "1.5M")
    assert budget.budget_bytes() == (int(1.5 * 2**20), budget.ENV)
    monkeypatch.setenv(budget.ENV, "8GiB")
    assert budget.budget_bytes()[0] == 8 * 2**30
    with using(memory_budget=1234):
        assert budget.budget_bytes() == (1234, "the memory_budget setting")


@pytest.mark.parametrize("bad", ["lots", "-5", "0", "nanG"])
def test_bad_env_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv(budget.ENV, bad)
    with pytest.raises(OptionError, match=budget.ENV):
        budget.budget_bytes()


def test_check_bytes_names_estimate_budget_and_option():
    with using(memory_budget=1000):
        budget.check_bytes(1000, "x", "fewer things (n, -n)")  # at the limit: runs
        with pytest.raises(OptionError) as e:
            budget.check_bytes(1001, "some arrays", "fewer things (n, -n)")
    msg = str(e.value)
    assert "some arrays" in msg and "1000 bytes" in msg and "(n, -n)" in msg and "memory_budget" in msg


def _naive(z, q, f, R):
    x = np.exp(R * _log1m(z + q[:, None] + q[None, :]))
    return np.einsum("hk,hg,gk->k", f, x, f)


@pytest.mark.parametrize("R", [1, 2, 3, 7, 40, 64, 200, 1000, 10**6, 10**9])
@pytest.mark.parametrize("seed", range(4))
def test_dense_sums_match_the_pair_sum(R, seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 60)), int(rng.integers(1, 3))
    f = rng.dirichlet(np.ones(n), size=k).T * rng.uniform(0.3, 1.0, size=k)
    p = rng.dirichlet(np.full(n, 0.3)) * rng.uniform(0.01, 1.0)
    z = float(rng.choice([0.0, 0.0, rng.uniform(0, 0.3)]))
    q = p * (1.0 - z)
    if seed == 3:  # a dominant row (big: summed pair by pair)
        q[0] = 0.6 * (1.0 - z)
        q[1:] *= 0.4 / max(q[1:].sum(), 1e-300) * (1.0 - z) if n > 1 else 0.0
    got = np.array([math.fsum(parts) for parts in _dense_sums(z, q, f, R)])
    np.testing.assert_allclose(got, _naive(z, q, f, R), rtol=1e-10, atol=1e-14)
